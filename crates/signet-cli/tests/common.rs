//! Helpers for tests that drive the `signet` binary and judge its output with outside tools.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};

use reqwest::StatusCode;
use reqwest::blocking::{Client, multipart};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub const BASE_URL: &str = "http://pki.example.com";

pub fn signet(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_signet"));
    cmd.arg("--data-dir")
        .arg(data_dir)
        .env("SIGNET_TEST_CLOCK_FILE", clock_file(data_dir))
        .env("SIGNET_LOG", "warn")
        .env_remove("SIGNET_CA_PASSPHRASE")
        .env_remove("SIGNET_DATABASE_URL");
    cmd
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

pub fn ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed:\nstdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("signet-test-")
        .tempdir()
        .expect("tempdir")
}

/// A pkilint command from the venv `scripts/test` installs (PKILINT_BIN), else from PATH.
pub fn pkilint(tool: &str) -> Command {
    let bin = std::env::var("PKILINT_BIN").map(PathBuf::from).ok();
    let path = bin
        .map(|b| b.join(tool))
        .unwrap_or_else(|| PathBuf::from(tool));
    Command::new(path)
}

/// Runs a pkilint linter at WARNING level; any finding fails the test with the linter's words.
pub fn lint(tool: &str, extra: &[&str], file: &Path) {
    let mut cmd = pkilint(tool);
    cmd.arg("lint")
        .args(extra)
        .args(["-s", "WARNING"])
        .arg(file);
    let out = run(&mut cmd);
    assert!(
        out.status.success() && text(&out.stdout).trim().is_empty(),
        "{tool} reports findings for {}:\n{}{}",
        file.display(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

pub fn openssl_verify(root: &Path, intermediate: &Path, leaf: &Path) {
    let out = ok(Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(root)
        .arg("-untrusted")
        .arg(intermediate)
        .arg(leaf));
    assert!(text(&out.stdout).contains(": OK"), "{}", text(&out.stdout));
}

/// Subscriber key types and the openssl arguments that make them.
pub const KEYS: [(&str, &[&str]); 4] = [
    ("rsa-2048", &["-newkey", "rsa:2048"]),
    ("rsa-3072", &["-newkey", "rsa:3072"]),
    (
        "p-256",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    ),
    (
        "p-384",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
    ),
];

/// Makes a CSR with openssl; the private key goes to /dev/null.
pub fn csr(dir: &Path, name: &str, key_args: &[&str]) -> PathBuf {
    let path = dir.join(format!("{name}.csr"));
    ok(Command::new("openssl")
        .args([
            "req",
            "-new",
            "-nodes",
            "-keyout",
            "/dev/null",
            "-subj",
            "/CN=ignored",
        ])
        .args(key_args)
        .arg("-out")
        .arg(&path));
    path
}

pub fn identity(dir: &Path, with_org_id: bool) -> PathBuf {
    let path = dir.join(if with_org_id {
        "identity.json"
    } else {
        "identity-no-orgid.json"
    });
    let mut id = serde_json::json!({
        "given_name": "Anna", "surname": "Peeters", "email": "anna.peeters@example.be",
        "organization": "Example NV", "country": "BE", "title": "Director"
    });
    if with_org_id {
        id["organization_identifier"] = "VATBE-0123456789".into();
    }
    std::fs::write(&path, id.to_string()).expect("write identity");
    path
}

/// Profiles, their issuing CA, the validity asked for, and the linter command that judges them.
pub const PROFILES: [(&str, &str, &str, &[&str]); 2] = [
    ("class3-auth", "class3", "39", &["lint_pkix_cert"]),
    (
        "smime-sponsor-multipurpose",
        "smime",
        "27",
        &["lint_cabf_smime_cert", "-d"],
    ),
];

/// `signet issue` for a profile, validity, CSR and identity file.
pub fn issue_cmd(
    data_dir: &Path,
    profile: &str,
    months: &str,
    csr: &Path,
    subject: &Path,
) -> Command {
    let mut cmd = signet(data_dir);
    cmd.args([
        "issue",
        "--profile",
        profile,
        "--validity-months",
        months,
        "--csr",
    ])
    .arg(csr)
    .arg("--subject")
    .arg(subject);
    cmd
}

/// Issues one certificate per profile × subscriber key, verifies each chain with openssl and
/// lints it with pkilint; lints the CA certificates too.
pub fn issue_matrix(data_dir: &Path, work: &Path, extra_env: &[(&str, &str)]) {
    let ca = data_dir.join("ca");
    for name in ["root", "class3", "smime", "class3-ocsp", "smime-ocsp"] {
        lint("lint_pkix_cert", &[], &ca.join(format!("{name}.pem")));
    }
    let id = identity(work, true);
    for (key, args) in KEYS {
        let request = csr(work, key, args);
        for (profile, issuer, months, linter) in PROFILES {
            let mut cmd = issue_cmd(data_dir, profile, months, &request, &id);
            let out = ok(cmd.envs(extra_env.iter().copied()));
            let pem = text(&out.stdout);
            assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
            let cert = work.join(format!("{profile}-{key}.pem"));
            std::fs::write(&cert, &pem).expect("write cert");
            openssl_verify(
                &ca.join("root.pem"),
                &ca.join(format!("{issuer}.pem")),
                &cert,
            );
            lint(linter[0], &linter[1..], &cert);
        }
    }
}

/// Every file under `dir` but the database, with its contents, to show that nothing changed.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    files_under(dir, false)
}

/// Every file under `dir`, the database and its write-ahead log included.
pub fn snapshot_with_database(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    files_under(dir, true)
}

fn files_under(dir: &Path, with_database: bool) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if with_database || !path.to_string_lossy().contains("signet.db") {
                let bytes = std::fs::read(&path).expect("read");
                out.push((path, bytes));
            }
        }
    }
    out.sort();
    out
}

/// A running `signet serve`, killed when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// Its data directory (and so its clock: see [`advance_clock`]).
    pub data_dir: PathBuf,
    pub addr: String,
    /// `http` or `https`, as the server said.
    pub scheme: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `signet serve` on a free loopback port and waits until it listens.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
        Server::start_with_env(data_dir, extra, &[])
    }

    /// Starts `signet serve` with extra environment variables.
    pub fn start_with_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        Server::start_at(data_dir, "127.0.0.1:0", extra, env)
    }

    /// Starts `signet serve` listening at `listen` (the address of a base URL that must be
    /// reached, see [`free_port`]).
    pub fn start_at(data_dir: &Path, listen: &str, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = signet(data_dir)
            .args(["serve", "--listen", listen, "--base-url", BASE_URL])
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let (mut addr, mut scheme) = (String::new(), String::new());
        for line in lines.by_ref() {
            let line = line.expect("line");
            if let Some((s, rest)) = line
                .strip_prefix("Signet listening on ")
                .and_then(|l| l.split_once("://"))
            {
                (scheme, addr) = (s.to_owned(), rest.trim().to_owned());
                break;
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        assert!(!addr.is_empty(), "serve never said where it listens");
        Server {
            data_dir: data_dir.to_owned(),
            child,
            addr,
            scheme,
        }
    }

    /// SIGTERM, as systemd stops a service.
    pub fn terminate(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }

    /// Waits up to `limit` for the process to end; its status if it did.
    pub fn wait_for_exit(
        &mut self,
        limit: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// SIGKILL, as a power cut or the OOM killer would (no clean-up of any kind).
    pub fn kill_9(&self) {
        let _ = Command::new("kill")
            .args(["-9", &self.child.id().to_string()])
            .status();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }
}

/// The password staff set from their invitation in tests.
pub const STAFF_PASSWORD: &str = "staff member password";

/// A fresh, empty PostgreSQL database for one test (on the server of
/// `SIGNET_TEST_POSTGRES_URL`, dropped first if an earlier run left it); its URL.
pub fn postgres_database(name: &str) -> String {
    let admin = postgres_admin_url();
    let db = format!("signet_{name}_{}", std::process::id());
    ok(Command::new("psql").arg(&admin).args([
        "-q",
        "-c",
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    ]));
    ok(Command::new("psql")
        .arg(&admin)
        .args(["-q", "-c", &format!("CREATE DATABASE {db}")]));
    format!(
        "{}/{db}",
        admin.rsplit_once('/').expect("database in url").0
    )
}

/// Drops a database `postgres_database` made.
pub fn drop_postgres_database(url: &str) {
    let db = url.rsplit_once('/').expect("database in url").1;
    ok(Command::new("psql").arg(postgres_admin_url()).args([
        "-q",
        "-c",
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    ]));
}

fn postgres_admin_url() -> String {
    std::env::var("SIGNET_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The status (`good`, `revoked`, `unknown`, or `none`) `openssl ocsp` gets from the server for a
/// serial of the class 3 issuing CA, the response checked against the root and the OCSP signer.
pub fn ocsp_status(server: &Server, d: &Path, serial: &str) -> String {
    ocsp_status_at(&server.url(""), d, serial)
}

/// The class 3 OCSP status of `serial` as whatever serves `base` answers it (`openssl ocsp`,
/// the response verified): good, revoked, unknown, or none.
pub fn ocsp_status_at(base: &str, d: &Path, serial: &str) -> String {
    let out = run(Command::new("openssl")
        .args(["ocsp", "-no_nonce", "-issuer"])
        .arg(d.join("ca/class3.pem"))
        .args([
            "-serial",
            &format!("0x{serial}"),
            "-url",
            &format!("{base}/ocsp"),
            "-CAfile",
        ])
        .arg(d.join("ca/root.pem"))
        .arg("-VAfile")
        .arg(d.join("ca/class3-ocsp.pem")));
    if !out.status.success() {
        eprintln!("openssl ocsp failed: {}", text(&out.stderr));
        return "none".to_owned();
    }
    let t = text(&out.stdout);
    ["good", "revoked", "unknown"]
        .into_iter()
        .find(|s| t.contains(&format!(": {s}")))
        .unwrap_or("none")
        .to_owned()
}

/// A CA whose staff (role, e-mail, region) were invited, and `signet serve` running on it.
pub fn ca_with_staff(data_dir: &Path, staff: &[(&str, &str, Option<&str>)]) -> Server {
    ok(signet(data_dir).args(["init", "--base-url", BASE_URL]));
    invite_and_serve(data_dir, staff)
}

/// Invites the staff (role, e-mail, region) to the CA of `data_dir` and starts `signet serve`.
pub fn invite_and_serve(data_dir: &Path, staff: &[(&str, &str, Option<&str>)]) -> Server {
    for (role, email, region) in staff {
        let mut cmd = signet(data_dir);
        cmd.args(["user", "add", "--role", role, "--email", email]);
        if let Some(r) = region {
            cmd.args(["--region", r]);
        }
        ok(&mut cmd);
    }
    Server::start(data_dir, &[])
}

/// Opens the SQLite store of a data directory (alongside a running server, as an operator's
/// command would) and asks it one thing.
pub fn with_store<T>(data_dir: &Path, ask: impl AsyncFnOnce(&dyn signet_store::Store) -> T) -> T {
    let url = format!("sqlite://{}", data_dir.join("signet.db").display());
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let store = signet_store::SqliteStore::open(&url)
                .await
                .expect("open store");
            ask(&store).await
        })
}

/// The audit log of a SQLite data directory, oldest first.
pub fn audit_log(data_dir: &Path) -> Vec<signet_store::AuditEntry> {
    with_store(data_dir, async |store| {
        store.audit_entries().await.expect("audit")
    })
}

/// Mails in the outbox, oldest first: (to, subject, body).
pub fn mails(data_dir: &Path) -> Vec<(String, String, String)> {
    let dir = data_dir.join("outbox");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default();
    // Named by the outbox's message id: in the order the messages were queued.
    files.sort();
    files
        .iter()
        .map(|p| {
            let raw = std::fs::read_to_string(p).expect("read mail");
            let (head, body) = raw
                .split_once("\r\n\r\n")
                .or_else(|| raw.split_once("\n\n"))
                .expect("headers");
            let header = |name: &str| {
                head.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(|v| v.trim().to_owned())
                    .unwrap_or_default()
            };
            let body = body.replace("\r\n", "\n");
            let body = if head.contains("quoted-printable") {
                decode_quoted_printable(&body)
            } else {
                body
            };
            (header("To:"), header("Subject:"), body)
        })
        .collect()
}

/// `/metrics` of `server`, fetched with the scraper's bearer token; every sample line is
/// checked to parse as the text format's `name{labels} value`.
pub fn scrape(server: &Server, token: &str) -> String {
    let metrics = Client::new()
        .get(server.url("/metrics"))
        .bearer_auth(token)
        .send()
        .expect("metrics")
        .text()
        .expect("text");
    for line in metrics
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (_, v) = line.rsplit_once(' ').expect("name value");
        assert!(v.parse::<f64>().is_ok(), "a sample: {line}");
    }
    metrics
}

/// The value of the first sample of `metrics` whose line contains every one of `parts`.
pub fn sample(metrics: &str, parts: &[&str]) -> f64 {
    metrics
        .lines()
        .find(|l| !l.starts_with('#') && parts.iter().all(|p| l.contains(p)))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("{parts:?} in {metrics}"))
}

/// Starts every command at once (as several nodes or cron jobs would run them) and returns
/// what each printed, once each has succeeded.
pub fn at_once(commands: impl IntoIterator<Item = Command>) -> Vec<String> {
    let running: Vec<Child> = commands
        .into_iter()
        .map(|mut c| {
            c.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    running
        .into_iter()
        .map(|p| {
            let out = p.wait_with_output().expect("wait");
            assert!(out.status.success(), "{}", text(&out.stderr));
            text(&out.stdout)
        })
        .collect()
}

/// A loopback port free at the moment, for a server whose address must be known before it
/// starts (a base URL that certificates point at).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The base URL in the data directory's signet.toml (mail links start with it).
pub fn base_url(data_dir: &Path) -> String {
    let config = std::fs::read_to_string(data_dir.join("signet.toml")).expect("signet.toml");
    config
        .lines()
        .find_map(|l| l.strip_prefix("base_url = "))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .expect("base_url in signet.toml")
}

/// The path of the last link under the CA's base URL in the newest mail to `to` whose subject
/// contains `subject`.
pub fn link_in_mail(data_dir: &Path, to: &str, subject: &str) -> String {
    // Mail leaves through the outbox after the commit: give it a moment to arrive.
    try_link_in_mail(data_dir, to, subject, std::time::Duration::from_secs(15)).unwrap_or_else(
        || {
            panic!(
                "no mail to {to} about `{subject}`; outbox: {:?}",
                mails(data_dir)
                    .iter()
                    .map(|m| (m.0.clone(), m.1.clone()))
                    .collect::<Vec<_>>()
            )
        },
    )
}

/// [`link_in_mail`], waiting at most `wait` for the mail; `None` when it did not come.
pub fn try_link_in_mail(
    data_dir: &Path,
    to: &str,
    subject: &str,
    wait: std::time::Duration,
) -> Option<String> {
    let base = base_url(data_dir);
    let deadline = std::time::Instant::now() + wait;
    let body = loop {
        if let Some((_, _, body)) = mails(data_dir)
            .into_iter()
            .rev()
            .find(|(t, s, _)| t.contains(to) && s.contains(subject))
        {
            break body;
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let start = body
        .rfind(&base)
        .unwrap_or_else(|| panic!("no link in the mail about `{subject}`: {body}"));
    Some(
        body[start + base.len()..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect(),
    )
}

/// Undoes quoted-printable transfer encoding (RFC 2045 §6.7), as a mail client would.
pub fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'=')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A real 1×1 greyscale PNG: images are decoded at upload.
pub const PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00\x3a\x7e\x9b\x55\x00\x00\x00\x0a\x49\x44\x41\x54\x78\x9c\x63\x68\x00\x00\x00\x82\x00\x81\x77\xcd\x72\xb6\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";

/// A real one-page PDF (qpdf --check passes): uploads are parsed, not only sniffed.
pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\nxref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n164\n%%EOF\n";

#[derive(Debug)]
pub struct Api {
    pub client: Client,
    /// Where requests go: a server's URL, or a load balancer's in front of several.
    pub base: String,
    /// The data directory the servers share (its clock and its mail).
    pub data_dir: PathBuf,
}

impl Api {
    pub fn new(server: &Server) -> Api {
        Api::at(&server.url(""), &server.data_dir)
    }

    /// A client of whatever serves `base` (e.g. a load balancer) for the CA in `data_dir`.
    pub fn at(base: &str, data_dir: &Path) -> Api {
        Api {
            client: Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            data_dir: data_dir.to_owned(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client that connects from another loopback address (another client, as far as
    /// per-client limits go).
    pub fn from_address(server: &Server, ip: &str) -> Api {
        Api {
            client: Client::builder()
                .local_address(Some(ip.parse().expect("address")))
                .build()
                .expect("client"),
            ..Api::new(server)
        }
    }

    /// Follows the invitation mailed to a staff member and logs in.
    pub fn staff_login(&self, data_dir: &Path, email: &str) -> String {
        self.set_password_and_log_in(data_dir, email, "Your Signet staff account", STAFF_PASSWORD)
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut req = self.client.post(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().expect("request");
        let status = res.status();
        (status, res.json().unwrap_or(Value::Null))
    }

    pub fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let res = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .expect("request");
        let status = res.status();
        (status, res.json().unwrap_or(Value::Null))
    }

    pub fn upload(
        &self,
        number: &str,
        token: &str,
        kind: &str,
        content: &[u8],
    ) -> (StatusCode, Value) {
        let form = multipart::Form::new().text("kind", kind.to_owned()).part(
            "file",
            multipart::Part::bytes(content.to_vec()).file_name("form.pdf"),
        );
        let res = self
            .client
            .post(self.url(&format!("/api/v1/orders/{number}/documents")))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .expect("upload");
        let status = res.status();
        (status, res.json().unwrap_or(Value::Null))
    }

    /// Follows an invitation or reset link: sets the password; then logs in.
    pub fn set_password_and_log_in(
        &self,
        data: &Path,
        email: &str,
        subject: &str,
        password: &str,
    ) -> String {
        let link = link_in_mail(data, email, subject);
        let token = link.rsplit('/').next().expect("token");
        let (status, body) = self.post(
            &format!("/api/v1/password-resets/{token}"),
            None,
            json!({"password": password}),
        );
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        self.log_in(email, password)
    }

    /// Logs in over the API. Vetting, support and admin staff get a second factor the first
    /// time (the test keeps the TOTP secret, as their authenticator app would) and a fresh code
    /// every time after.
    pub fn log_in(&self, email: &str, password: &str) -> String {
        let enrolled = authenticator().lock().expect("lock").contains_key(email);
        let first = if enrolled {
            json!({"email": email, "password": password, "totp_code": totp_code(&self.data_dir, email)})
        } else {
            json!({"email": email, "password": password})
        };
        let (mut status, mut body) = self.post("/api/v1/sessions", None, first);
        if status == StatusCode::FORBIDDEN
            && body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("second factor"))
        {
            let (s, enrolled) = self.post(
                "/api/v1/second-factor",
                None,
                json!({"email": email, "password": password}),
            );
            assert_eq!(s, StatusCode::CREATED, "{enrolled}");
            authenticator().lock().expect("lock").insert(
                email.to_owned(),
                (enrolled["secret"].as_str().expect("secret").to_owned(), 0),
            );
        }
        if status != StatusCode::CREATED
            && !enrolled
            && authenticator().lock().expect("lock").contains_key(email)
        {
            (status, body) = self.post(
                "/api/v1/sessions",
                None,
                json!({"email": email, "password": password, "totp_code": totp_code(&self.data_dir, email)}),
            );
        }
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().expect("token").to_owned()
    }

    pub fn subscriber(&self, data: &Path, email: &str) -> String {
        let (status, _) = self.post(
            "/api/v1/accounts",
            None,
            json!({"email": email, "password": "a long enough password", "name": "Max Muster"}),
        );
        assert_eq!(status, StatusCode::ACCEPTED);
        let link = link_in_mail(data, email, "Confirm your Signet account");
        let token = link.rsplit('/').next().expect("token");
        let (status, body) = self.post(&format!("/api/v1/confirmations/{token}"), None, json!({}));
        assert_eq!(
            (status, body["confirmed"].as_str()),
            (StatusCode::OK, Some("account"))
        );
        self.log_in(email, "a long enough password")
    }

    pub fn order(&self, token: &str, email: &str, key_type: &str) -> String {
        self.place(
            token,
            json!({
                "product": "personal-3-pro",
                "subject": {"given_name": "Max", "surname": "Muster", "email": email, "organization": "Muster GmbH", "country": "DE"},
                "approval_email": email,
                "pickup_password": "pickup-secret-42",
                "validity_months": 24,
                "key_type": key_type,
            }),
        )
    }

    /// Places an order with the given body; returns its number.
    pub fn place(&self, token: &str, order: Value) -> String {
        let (status, body) = self.post("/api/v1/orders", Some(token), order);
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["status"], "awaiting_documents");
        assert!(
            !body.to_string().contains("pickup-secret-42"),
            "the pickup password leaked: {body}"
        );
        body["order_number"].as_str().expect("number").to_owned()
    }

    /// Follows the approval-address confirmation mailed to `approver` for the order.
    pub fn confirm_approval(&self, data: &Path, number: &str, approver: &str) {
        let link = link_in_mail(
            data,
            approver,
            &format!("Confirm the approval e-mail address for order {number}"),
        );
        let token = link.rsplit('/').next().expect("token");
        let (status, body) = self.post(&format!("/api/v1/confirmations/{token}"), None, json!({}));
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// Upload the signed form, confirm the approval e-mail, approve; returns the pickup token.
    pub fn to_pickup(
        &self,
        data: &Path,
        number: &str,
        owner: &str,
        vetting: &str,
        email: &str,
    ) -> String {
        let (status, body) = self.upload(number, owner, "signed_agreement", PDF);
        assert_eq!(status, StatusCode::CREATED, "{body}");
        self.confirm_approval(data, number, email);
        let (status, body) = self.post(
            &format!("/api/v1/orders/{number}/decision"),
            Some(vetting),
            json!({"action": "approve"}),
        );
        assert_eq!(
            (status, body["status"].as_str()),
            (StatusCode::OK, Some("ready_for_pickup")),
            "{body}"
        );
        pickup_token(data, email, number)
    }

    /// Picks up a ready order through its one-time link.
    pub fn pick_up(&self, token: &str, body: Value) -> (StatusCode, Value) {
        self.post(&format!("/api/v1/pickups/{token}"), None, body)
    }
}

/// The token of the pickup link mailed to `email` for the order.
pub fn pickup_token(data: &Path, email: &str, number: &str) -> String {
    link_in_mail(
        data,
        email,
        &format!("Your certificate is ready: order {number}"),
    )
    .rsplit('/')
    .next()
    .expect("t")
    .to_owned()
}

/// Imports a PFX into a new NSS database with pk12util; returns `certutil -L`'s listing.
pub fn nss_import(pfx: &Path, password: &str, work: &Path) -> String {
    let nss = work.join("nss");
    std::fs::create_dir_all(&nss).expect("nss dir");
    ok(Command::new("certutil")
        .args(["-N", "--empty-password", "-d"])
        .arg(format!("sql:{}", nss.display())));
    ok(Command::new("pk12util")
        .arg("-i")
        .arg(pfx)
        .arg("-d")
        .arg(format!("sql:{}", nss.display()))
        .args(["-W", password]));
    let listing = ok(Command::new("certutil")
        .args(["-L", "-d"])
        .arg(format!("sql:{}", nss.display())));
    text(&listing.stdout)
}

/// The tests' authenticator app: TOTP secrets by e-mail, with the last time step used.
pub fn authenticator() -> &'static std::sync::Mutex<std::collections::HashMap<String, (String, u64)>>
{
    static APP: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<String, (String, u64)>>,
    > = std::sync::OnceLock::new();
    APP.get_or_init(Default::default)
}

/// The file the commands and the server of a data directory read their clock offset from
/// (debug builds, `SIGNET_TEST_CLOCK_FILE`): a test moves time forward instead of sleeping.
pub fn clock_file(data_dir: &Path) -> PathBuf {
    data_dir.join("test-clock-offset")
}

/// How far (seconds) the data directory's clock stands ahead of the real one.
pub fn clock_offset(data_dir: &Path) -> i64 {
    std::fs::read_to_string(clock_file(data_dir))
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

/// Moves the data directory's clock `seconds` forward, for the server and every command.
pub fn advance_clock(data_dir: &Path, seconds: i64) {
    let offset = clock_offset(data_dir) + seconds;
    std::fs::write(clock_file(data_dir), offset.to_string()).expect("clock file");
}

/// A code the server has not seen yet: the current step's, or the next one's (within the
/// one-step skew the server allows) when the current step was used already; when both were,
/// the server's clock moves on to the next step (no sleeping).
pub fn totp_code(data_dir: &Path, email: &str) -> String {
    let mut app = authenticator().lock().expect("lock");
    let (secret, last) = app.get_mut(email).expect("enrolled");
    let real = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs(),
    )
    .expect("seconds");
    let server_now = real + clock_offset(data_dir);
    let step = (server_now / 30).max(i64::try_from(*last).expect("step") + 1);
    if step > server_now / 30 + 1 {
        // Into the middle of the step before, so the code stays good for a while.
        advance_clock(data_dir, (step - 1) * 30 + 15 - server_now);
    }
    *last = u64::try_from(step).expect("step");
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret.as_str()).expect("base32"))
        .build()
        .expect("totp");
    totp.generate(*last * 30).to_string()
}

/// A CA in a fresh data directory with `signet serve` running on it: the start of a scenario.
#[derive(Debug)]
pub struct Ca {
    /// Declared before `data`: the server stops before its directory is removed.
    pub server: Server,
    pub data: tempfile::TempDir,
    /// Kept for the next scenario to copy.
    _initialised: std::sync::Arc<tempfile::TempDir>,
}

impl Ca {
    /// A copy of a freshly initialised CA, its staff (role, e-mail, region) invited and logged
    /// in: the CA and their tokens, in order. Each address gets a number of its own
    /// (`vera@ca.example.com` becomes `vera-3@ca.example.com`): the tests of a binary share the
    /// tests' authenticator app, which knows staff by e-mail.
    pub fn with_staff<const N: usize>(staff: [(&str, &str, Option<&str>); N]) -> (Ca, [String; N]) {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let emails = staff.map(|(_, email, _)| {
            let (name, domain) = email.split_once('@').expect("address");
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            format!("{name}-{n}@{domain}")
        });
        let invited: Vec<_> = staff
            .iter()
            .zip(&emails)
            .map(|(&(role, _, region), email)| (role, email.as_str(), region))
            .collect();
        let initialised = initialised_ca();
        let data = tempdir();
        ok(Command::new("cp")
            .arg("-a")
            .arg(initialised.path().join("."))
            .arg(data.path()));
        let server = invite_and_serve(data.path(), &invited);
        let tokens = {
            let api = Api::new(&server);
            emails.map(|email| api.staff_login(data.path(), &email))
        };
        let ca = Ca {
            server,
            data,
            _initialised: initialised,
        };
        (ca, tokens)
    }

    pub fn dir(&self) -> &Path {
        self.data.path()
    }

    pub fn api(&self) -> Api {
        Api::new(&self.server)
    }
}

/// A data directory that `signet init` made, for scenarios to copy rather than each wait for
/// `init`; removed when the last scenario holding it ends (and made again if one starts later).
fn initialised_ca() -> std::sync::Arc<tempfile::TempDir> {
    static SHARED: std::sync::Mutex<std::sync::Weak<tempfile::TempDir>> =
        std::sync::Mutex::new(std::sync::Weak::new());
    let mut shared = SHARED.lock().expect("lock");
    if let Some(dir) = shared.upgrade() {
        return dir;
    }
    let dir = std::sync::Arc::new(tempdir());
    ok(signet(dir.path()).args(["init", "--base-url", BASE_URL]));
    *shared = std::sync::Arc::downgrade(&dir);
    dir
}

/// Asks the server's TSA to time-stamp `data` (an `openssl ts -query`, SHA-256, certificate
/// requested) and returns the HTTP status, the content type and the reply's DER.
pub fn time_stamp(server: &Server, work: &Path, data: &str, query: &str) -> (u16, String, Vec<u8>) {
    ok(Command::new("openssl")
        .args([
            "ts", "-query", "-data", data, "-sha256", "-cert", "-out", query,
        ])
        .current_dir(work));
    let res = reqwest::blocking::Client::new()
        .post(server.url("/tsa"))
        .header("content-type", "application/timestamp-query")
        .body(std::fs::read(work.join(query)).expect("query"))
        .send()
        .expect("POST /tsa");
    let status = res.status().as_u16();
    let kind = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, kind, res.bytes().expect("body").to_vec())
}

/// `openssl ts -verify` of a reply against its query and the CA's root.
pub fn verify_time_stamp(work: &Path, reply: &str, query: &str, root: &Path) {
    let out = ok(Command::new("openssl")
        .args([
            "ts",
            "-verify",
            "-in",
            reply,
            "-queryfile",
            query,
            "-CAfile",
        ])
        .arg(root)
        .current_dir(work));
    assert!(
        text(&out.stdout).contains("Verification: OK"),
        "{}",
        text(&out.stdout)
    );
}

/// One line of a `signet issue-batch` requests file.
pub fn batch_line(profile: &str, csr_pem: &str, n: usize, months: u32) -> String {
    json!({
        "profile": profile,
        "csr": csr_pem,
        "subject": {
            "given_name": "Anna", "surname": format!("Peeters {n}"),
            "email": format!("anna.peeters.{n}@example.be"), "organization": "Example NV",
            "country": "BE", "organization_identifier": "VATBE-0123456789"
        },
        "validity_months": months,
    })
    .to_string()
}

/// `signet issue-batch REQUESTS --out OUT` on a data directory.
pub fn issue_batch_cmd(data_dir: &Path, requests: &Path, out: &Path) -> Command {
    let mut cmd = signet(data_dir);
    cmd.arg("issue-batch").arg(requests).arg("--out").arg(out);
    cmd
}

/// The line `signet issue-batch` printed for request line `n` with `outcome` (`issued serial`
/// or `refused:`); fails the test when there is none.
pub fn batch_outcome<'a>(stdout: &'a str, n: usize, outcome: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(&format!("line {n}: {outcome} ")))
        .unwrap_or_else(|| panic!("no `line {n}: {outcome}` in:\n{stdout}"))
}

/// A requests file of `count` class3-auth requests (one CSR, a surname per line), and the
/// directory `signet issue-batch` is to write to.
pub fn batch_of_requests(work: &Path, count: usize) -> (PathBuf, PathBuf) {
    let pem = std::fs::read_to_string(csr(work, "batch", KEYS[2].1)).expect("csr");
    let lines: Vec<String> = (0..count)
        .map(|n| batch_line("class3-auth", &pem, n, 12))
        .collect();
    let requests = work.join("requests.jsonl");
    std::fs::write(&requests, lines.join("\n")).expect("write requests");
    (requests, work.join("out"))
}

/// The SoftHSM module the tests use as a PKCS#11 token.
pub const SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// A fresh SoftHSM token `label` with user PIN `pin`, kept under `dir` (its own configuration and
/// token directory): the environment that reaches it.
pub fn softhsm_token(dir: &Path, label: &str, pin: &str) -> Vec<(&'static str, String)> {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).expect("token dir");
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .expect("softhsm conf");
    let env = vec![("SOFTHSM2_CONF", conf.display().to_string())];
    ok(Command::new("softhsm2-util")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["--init-token", "--free", "--label", label])
        .args(["--so-pin", "1234567890", "--pin", pin]));
    env
}

/// A signed decision (base64 CMS from `GET …/decisions`) checked by `openssl cms -verify`
/// against the CA's root: the content it vouches for, the signed statement.
pub fn openssl_verified_decision(data_dir: &Path, work: &Path, cms_base64: &str) -> String {
    use base64::Engine;
    let cms = base64::engine::general_purpose::STANDARD
        .decode(cms_base64)
        .expect("base64");
    let file = work.join("decision.cms");
    std::fs::write(&file, cms).expect("write");
    let verified = ok(Command::new("openssl")
        .args(["cms", "-verify", "-inform", "DER", "-purpose", "any", "-in"])
        .arg(&file)
        .arg("-CAfile")
        .arg(data_dir.join("ca/root.pem")));
    text(&verified.stdout)
}
