//! Log-in at a relying party: Debian's nginx, configured with the snippet that
//! `signet relying-party nginx` prints (nothing hand-written but the server around it), lets in a
//! person presenting the certificate picked up as a PFX, and refuses it once it is revoked through
//! the REST API: at once with OCSP (nginx asks the running Signet), after the CRL refresh script
//! and a reload with CRLs (shard CRLs of every CA in one file). A certificate from a CA that
//! copies the issuing CA's name, and no certificate at all, are refused. The CA's base URL is the
//! running server, so that the URLs in its certificates and snippets reach it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use common::*;
use reqwest::StatusCode;
use serde_json::json;

const NGINX: &str = "/usr/sbin/nginx";
const MAX: &str = "max@example.de";
const VERA: &str = "vera@ca.example.com";
/// What nginx answers (with 400) when a client certificate fails verification or is missing.
const BAD_CERTIFICATE: &str = "The SSL certificate error";
const NO_CERTIFICATE: &str = "No required SSL certificate was sent";
/// What nginx logs (at info) when verification found the certificate revoked.
const REVOKED: &str = "certificate revoked";

/// A client's certificate and key in PEM, as curl takes them.
struct Client {
    cert: PathBuf,
    key: PathBuf,
    serial: String,
}

/// An nginx running from its own prefix directory on a loopback port, stopped when dropped.
struct Nginx {
    child: Child,
    prefix: PathBuf,
    port: u16,
    /// The server's self-signed certificate, which curl trusts.
    server_cert: PathBuf,
}

impl Nginx {
    /// nginx with one TLS server whose client authentication is the `snippet`, included as
    /// `signet relying-party` printed it.
    fn start(prefix: &Path, snippet: &Path) -> Nginx {
        assert!(
            Path::new(NGINX).exists(),
            "{NGINX} is missing: scripts/test installs Debian's nginx"
        );
        std::fs::create_dir_all(prefix.join("tmp")).expect("nginx prefix");
        let (server_cert, server_key) = (prefix.join("server.pem"), prefix.join("server.key"));
        ok(Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
            ])
            .args(["-addext", "subjectAltName=IP:127.0.0.1"])
            .args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
            .arg("-keyout")
            .arg(&server_key)
            .arg("-out")
            .arg(&server_cert));
        let port = free_port();
        let p = prefix.display();
        let conf = prefix.join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "worker_processes 1;
pid {p}/nginx.pid;
error_log {p}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {p}/access.log;
    client_body_temp_path {p}/tmp/body;
    proxy_temp_path {p}/tmp/proxy;
    fastcgi_temp_path {p}/tmp/fastcgi;
    uwsgi_temp_path {p}/tmp/uwsgi;
    scgi_temp_path {p}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        include {snippet};
        default_type text/plain;
        location / {{ return 200 \"$ssl_client_verify $ssl_client_s_dn\\n\"; }}
    }}
}}
",
                cert = server_cert.display(),
                key = server_key.display(),
                snippet = snippet.display(),
            ),
        )
        .expect("nginx.conf");
        let test = run(Command::new(NGINX)
            .arg("-t")
            .arg("-p")
            .arg(prefix)
            .arg("-c")
            .arg(&conf));
        assert!(
            test.status.success(),
            "nginx refuses the configuration with the snippet {}:\n{}\n{}",
            snippet.display(),
            text(&test.stderr),
            std::fs::read_to_string(snippet).unwrap_or_default()
        );
        let child = Command::new(NGINX)
            .arg("-p")
            .arg(prefix)
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn nginx");
        let mut nginx = Nginx {
            child,
            prefix: prefix.to_owned(),
            port,
            server_cert,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            let exited = nginx.child.try_wait().expect("nginx status");
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "nginx did not start listening ({exited:?}); error.log:\n{}",
                nginx.error_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.prefix.join("error.log")).unwrap_or_default()
    }

    /// How many times nginx found a client certificate revoked.
    fn revocations_seen(&self) -> usize {
        self.error_log().matches(REVOKED).count()
    }

    /// `nginx -s reload`, as a cron job after the CRL refresh would.
    /// The worker processes of this nginx now.
    fn workers(&self) -> Vec<String> {
        let out = run(Command::new("pgrep").args(["-P", &self.child.id().to_string()]));
        text(&out.stdout).lines().map(str::to_owned).collect()
    }

    /// Reloads the configuration and waits until the old workers are gone: until then they
    /// still accept connections with the old CRL (a reload is graceful).
    fn reload(&self) {
        let old = self.workers();
        ok(Command::new(NGINX)
            .arg("-p")
            .arg(&self.prefix)
            .arg("-c")
            .arg(self.prefix.join("nginx.conf"))
            .args(["-s", "reload"]));
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.workers().iter().any(|w| old.contains(w)) {
            assert!(
                Instant::now() < deadline,
                "nginx's old workers never stopped"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// curl with this client certificate (or none): the HTTP status and the body.
    fn log_in(&self, client: Option<&Client>) -> (u16, String) {
        let body = self.prefix.join("body");
        let _ = std::fs::remove_file(&body);
        let mut curl = Command::new("curl");
        curl.args(["--silent", "--show-error", "--max-time", "20"])
            .arg("--cacert")
            .arg(&self.server_cert)
            .args(["--write-out", "%{http_code}", "--output"])
            .arg(&body);
        if let Some(c) = client {
            curl.arg("--cert").arg(&c.cert).arg("--key").arg(&c.key);
        }
        let out = run(curl.arg(format!("https://127.0.0.1:{}/", self.port)));
        let status = text(&out.stdout).trim().parse().unwrap_or(0);
        let said = std::fs::read_to_string(&body).unwrap_or_default();
        (status, said + &text(&out.stderr))
    }

    fn assert_let_in(&self, client: &Client, why: &str) {
        let (status, body) = self.log_in(Some(client));
        assert!(
            status == 200 && body.starts_with("SUCCESS "),
            "{why}: nginx answered {status}: {body}\nerror.log:\n{}",
            self.error_log()
        );
    }

    fn assert_refused(&self, client: Option<&Client>, answer: &str, why: &str) {
        let (status, body) = self.log_in(client);
        assert!(
            status == 400 && body.contains(answer),
            "{why}: nginx answered {status}, not 400 \"{answer}\": {body}\nerror.log:\n{}",
            self.error_log()
        );
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM to the master, which stops its workers (SIGKILL would leave them serving).
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Max orders a certificate, vetting approves it, Max picks it up as a PFX (modern encryption)
/// and turns it into the PEM certificate and key that curl takes.
fn picked_up(api: &Api, d: &Path, w: &Path, max: &str, vetting: &str, name: &str) -> Client {
    let number = api.order(max, MAX, "p-256");
    let token = api.to_pickup(d, &number, max, vetting, MAX);
    let (status, body) = api.pick_up(
        &token,
        json!({"pickup_password": "pickup-secret-42", "compatibility": "modern"}),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let pfx = w.join(format!("{name}.p12"));
    std::fs::write(
        &pfx,
        base64::engine::general_purpose::STANDARD
            .decode(body["pkcs12"].as_str().expect("pkcs12"))
            .expect("base64"),
    )
    .expect("write pfx");
    let password = format!(
        "pass:{}",
        body["pkcs12_password"].as_str().expect("password")
    );
    let (cert, key) = (w.join(format!("{name}.pem")), w.join(format!("{name}.key")));
    for (what, out) in [("-clcerts", &cert), ("-nocerts", &key)] {
        ok(Command::new("openssl")
            .args(["pkcs12", "-nodes", what, "-passin", &password, "-in"])
            .arg(&pfx)
            .arg("-out")
            .arg(out));
    }
    Client {
        cert,
        key,
        serial: body["serial"].as_str().expect("serial").to_owned(),
    }
}

/// A certificate for Max from a CA made with openssl under the very name of Signet's class 3
/// issuing CA: only its signature tells it apart.
fn impostor(d: &Path, w: &Path) -> Client {
    let name = text(
        &ok(Command::new("openssl")
            .args(["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in"])
            .arg(d.join("ca/class3.pem")))
        .stdout,
    );
    let name = name.trim().trim_start_matches("subject=");
    let subject: String = name.rsplit(',').map(|rdn| format!("/{rdn}")).collect();
    let (ca, ca_key) = (w.join("impostor-ca.pem"), w.join("impostor-ca.key"));
    ok(Command::new("openssl")
        .args(["req", "-x509", "-nodes", "-days", "2", "-subj", &subject])
        .args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"])
        .arg("-keyout")
        .arg(&ca_key)
        .arg("-out")
        .arg(&ca));
    let (csr, cert, key) = (
        w.join("impostor.csr"),
        w.join("impostor.pem"),
        w.join("impostor.key"),
    );
    ok(Command::new("openssl")
        .args([
            "req",
            "-new",
            "-nodes",
            "-subj",
            "/C=DE/O=Muster GmbH/CN=Max Muster",
        ])
        .args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&csr));
    let ext = w.join("client.ext");
    std::fs::write(
        &ext,
        "extendedKeyUsage = clientAuth\nkeyUsage = critical, digitalSignature\n",
    )
    .expect("ext");
    ok(Command::new("openssl")
        .args(["x509", "-req", "-days", "1", "-in"])
        .arg(&csr)
        .arg("-CA")
        .arg(&ca)
        .arg("-CAkey")
        .arg(&ca_key)
        .arg("-extfile")
        .arg(&ext)
        .arg("-out")
        .arg(&cert));
    Client {
        cert,
        key,
        serial: String::new(),
    }
}

/// `signet relying-party nginx --revocation REVOCATION --out-dir DIR`: the snippet it printed,
/// saved as a file for nginx to include.
fn snippet(d: &Path, dir: &Path, revocation: &str) -> PathBuf {
    let out = ok(signet(d)
        .args([
            "relying-party",
            "nginx",
            "--revocation",
            revocation,
            "--out-dir",
        ])
        .arg(dir));
    let path = dir.join(format!("signet-{revocation}.conf"));
    std::fs::write(&path, &out.stdout).expect("snippet");
    path
}

fn revoke(api: &Api, owner: &str, client: &Client) {
    let (status, body) = api.post(
        &format!("/api/v1/certificates/{}/revoke", client.serial),
        Some(owner),
        json!({"reason": "key_compromise"}),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[test]
fn nginx_lets_a_picked_up_certificate_in_until_it_is_revoked() {
    let data = tempdir();
    let work = tempdir();
    let (d, w) = (data.path(), work.path());
    // The base URL is the server's own address: nginx fetches OCSP answers and the refresh
    // script CRLs from the URLs Signet writes into certificates and snippets.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    ok(signet(d).args(["init", "--base-url", &base, "--crl-shards", "2"]));
    ok(signet(d).args(["user", "add", "--role", "vetting", "--email", VERA]));
    let server = Server::start_at(d, &format!("127.0.0.1:{port}"), &[], &[]);
    let api = Api::new(&server);
    let vetting = api.staff_login(d, VERA);
    let max = api.subscriber(d, MAX);
    let a = picked_up(&api, d, w, &max, &vetting, "a");
    let b = picked_up(&api, d, w, &max, &vetting, "b");
    let impostor = impostor(d, w);
    // Certificates and CRLs are dated by the server's clock, which a second factor may have
    // moved ahead; OpenSSL takes neither from the future.
    let ahead = clock_offset(d);
    if ahead > 0 {
        std::thread::sleep(Duration::from_secs(ahead.unsigned_abs() + 1));
    }

    // OCSP: nginx asks the responder at every log-in; a revocation counts at once.
    let nginx = Nginx::start(
        &w.join("nginx-ocsp"),
        &snippet(d, &w.join("rp-ocsp"), "ocsp"),
    );
    nginx.assert_let_in(&a, "A, good, over OCSP");
    nginx.assert_let_in(&b, "B, good, over OCSP");
    nginx.assert_refused(None, NO_CERTIFICATE, "no certificate");
    nginx.assert_refused(Some(&impostor), BAD_CERTIFICATE, "another CA's certificate");
    revoke(&api, &max, &a);
    nginx.assert_refused(Some(&a), BAD_CERTIFICATE, "A, revoked, over OCSP");
    assert_eq!(nginx.revocations_seen(), 1, "{}", nginx.error_log());
    nginx.assert_let_in(&b, "B, still good, over OCSP");
    drop(nginx);

    // CRLs: nginx reads them from the file the refresh script builds, at start and at reload.
    let rp = w.join("rp-crl");
    let conf = snippet(d, &rp, "crl");
    let refresh = rp.join("refresh-crls.sh");
    ok(&mut Command::new(&refresh));
    let crls = text(
        &ok(Command::new("openssl")
            .args(["storeutl", "-noout", "-crls"])
            .arg(rp.join("signet-crls.pem")))
        .stdout,
    );
    assert!(
        crls.contains("Total found: 7"),
        "the root's CRL and two shards of each issuing CA: {crls}"
    );
    let nginx = Nginx::start(&w.join("nginx-crl"), &conf);
    nginx.assert_let_in(&b, "B, good, with CRLs");
    nginx.assert_refused(Some(&a), BAD_CERTIFICATE, "A, revoked, with CRLs");
    assert_eq!(nginx.revocations_seen(), 1, "{}", nginx.error_log());
    nginx.assert_refused(None, NO_CERTIFICATE, "no certificate, with CRLs");
    nginx.assert_refused(Some(&impostor), BAD_CERTIFICATE, "another CA's, with CRLs");
    revoke(&api, &max, &b);
    nginx.assert_let_in(&b, "B, revoked, before nginx has the new CRL");
    ok(&mut Command::new(&refresh));
    nginx.reload();
    // The reload replaces the workers shortly after the signal.
    let deadline = Instant::now() + Duration::from_secs(15);
    while nginx.log_in(Some(&b)).0 == 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    nginx.assert_refused(Some(&b), BAD_CERTIFICATE, "B, revoked, after the refresh");
    assert!(nginx.revocations_seen() >= 2, "{}", nginx.error_log());
}

/// `--apache` (and `apache`) print Apache's directives; with an https base URL the OCSP
/// responder is named over plain HTTP, which is all nginx's and Apache's OCSP clients speak; the
/// refresh script fetches every shard; the help page tells a service operator what is needed.
#[test]
fn apache_snippets_and_the_help_page() {
    let data = tempdir();
    let work = tempdir();
    let (d, w) = (data.path(), work.path());
    ok(signet(d).args([
        "init",
        "--base-url",
        "https://pki.example.com",
        "--crl-shards",
        "3",
    ]));
    let print = |args: &[&str]| {
        text(
            &ok(signet(d)
                .arg("relying-party")
                .args(args)
                .arg("--out-dir")
                .arg(w))
            .stdout,
        )
    };
    let ocsp = print(&["--apache"]);
    assert_eq!(ocsp, print(&["apache", "--revocation", "ocsp"]));
    let bundle = w.join("signet-client-cas.pem").display().to_string();
    for line in [
        "SSLVerifyClient require".to_owned(),
        format!("SSLCACertificateFile \"{bundle}\""),
        "SSLVerifyDepth 2".to_owned(),
        "SSLOCSPEnable leaf".to_owned(),
        "SSLOCSPDefaultResponder http://pki.example.com/ocsp".to_owned(),
        "SSLOCSPOverrideResponder on".to_owned(),
        "SSLOCSPUseRequestNonce off".to_owned(),
    ] {
        assert!(ocsp.lines().any(|l| l == line), "no `{line}` in:\n{ocsp}");
    }
    let crl = print(&["--apache", "--revocation", "crl"]);
    for line in [
        format!(
            "SSLCARevocationFile \"{}\"",
            w.join("signet-crls.pem").display()
        ),
        "SSLCARevocationCheck chain".to_owned(),
    ] {
        assert!(crl.lines().any(|l| l == line), "no `{line}` in:\n{crl}");
    }
    assert!(
        !crl.contains("SSLOCSP"),
        "OCSP in the CRL configuration:\n{crl}"
    );
    let script = std::fs::read_to_string(w.join("refresh-crls.sh")).expect("script");
    let mut shards = vec!["root/0".to_owned()];
    for ca in ["class3", "smime"] {
        shards.extend((0..3).map(|s| format!("{ca}/{s}")));
    }
    for url in shards {
        assert!(
            script.contains(&format!("'https://pki.example.com/crl/{url}.crl'")),
            "{url} is not fetched:\n{script}"
        );
    }
    let nginx = print(&["--nginx", "--install-dir", "/etc/nginx/signet"]);
    for line in [
        "ssl_client_certificate \"/etc/nginx/signet/signet-client-cas.pem\";",
        "ssl_ocsp_responder http://pki.example.com/ocsp;",
    ] {
        assert!(nginx.lines().any(|l| l == line), "no `{line}` in:\n{nginx}");
    }
    let relative = run(signet(d).args(["relying-party", "nginx", "--install-dir", "signet"]));
    assert!(
        !relative.status.success() && text(&relative.stderr).contains("absolute"),
        "{}",
        text(&relative.stderr)
    );
    let help = text(&ok(signet(d).args(["relying-party", "--help"])).stdout);
    for needed in [
        "verify depth",
        "ocsp:",
        "crl:",
        "refresh-crls.sh",
        "subject",
    ] {
        assert!(
            help.contains(needed),
            "the help page lacks `{needed}`:\n{help}"
        );
    }
}
