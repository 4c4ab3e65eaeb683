//! Certificate discovery (R-AUX-2) against real servers on addresses of 127.0.0.0/8 (Linux
//! answers on all of them): openssl s_server, nginx and an SMTP server with STARTTLS, serving
//! certificates that are fine, expire in five days, expired, self-signed, RSA-1024, SHA-1,
//! served without their intermediate, from an unknown root, for another name, and one Signet
//! issued and then revoked. The inventory and the alerts must list exactly what each place has;
//! a changed certificate and a server that stops are events at the next scan; alerts are mailed
//! once; a target outside the allowlist is refused naming the setting; the portal, the CSV
//! export and /metrics show the same inventory.

mod common;
mod servers;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;

use common::{
    Api, BASE_URL, Server, audit_log, free_port, identity, issue_cmd, mails, ok, run, signet,
    tempdir, text, with_store,
};
use serde_json::Value;
use servers::{Pki, Process, nginx, serve_on, workspace};

/// The addresses the servers listen on: 127.0.7.1 … 127.0.7.11.
fn address(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 7, n)
}

const PORT: u16 = 8443;
const SMTP_PORT: u16 = 2525;
/// A CSRF token of the portal's form (64 hex digits), sent as cookie and as form field.
const CSRF: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// openssl s_server on `n`:8443 with a certificate, its key, and the chain it sends with it
/// (`-cert` alone sends only the first certificate of a file).
fn s_server(
    pki: &Pki,
    n: u8,
    cert: &str,
    key: &str,
    chain: Option<&str>,
    extra: &[&str],
) -> Process {
    s_server_at(pki, address(n), PORT, cert, key, chain, extra)
}

/// openssl s_server on `ip`:`port`.
fn s_server_at(
    pki: &Pki,
    ip: Ipv4Addr,
    port: u16,
    cert: &str,
    key: &str,
    chain: Option<&str>,
    extra: &[&str],
) -> Process {
    let accept = format!("{ip}:{port}");
    serve_on(
        &format!("s_server {cert} on {accept}"),
        Command::new("openssl")
            .current_dir(&pki.dir)
            .args(["s_server", "-accept", &accept, "-www", "-quiet"])
            .args(["-cert", cert, "-key", key])
            .args(chain.map(|c| ["-cert_chain", c]).into_iter().flatten())
            .args(extra),
        ip,
        port,
    )
}

/// `openssl ca` dates: now moved by `days`.
fn date(days: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::days(days);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A leaf signed by `issuer` (openssl x509 -req) with the given subjectAltName and more
/// extension lines.
fn leaf_for(pki: &Pki, name: &str, issuer: &str, san: &str, more: &str) {
    pki.request(
        name,
        &["ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        &format!("/CN={name}"),
    );
    std::fs::write(
        pki.dir.join(format!("{name}.ext")),
        format!(
            "basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName={san}\n{more}"
        ),
    )
    .expect("ext");
    ok(Command::new("openssl").current_dir(&pki.dir).args([
        "x509",
        "-req",
        "-in",
        &format!("{name}.csr"),
        "-CA",
        &format!("{issuer}.pem"),
        "-CAkey",
        &format!("{issuer}.key"),
        "-CAcreateserial",
        "-days",
        "200",
        "-extfile",
        &format!("{name}.ext"),
        "-out",
        &format!("{name}.pem"),
    ]));
}

/// A certificate `signet issue` makes for a new key `NAME.key`, written to `NAME.pem`; its
/// serial (hex, as openssl prints it).
fn signet_issued(pki: &Pki, d: &Path, work: &Path, name: &str) -> String {
    pki.request(
        name,
        &["ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "/CN=ignored",
    );
    let issued = ok(&mut issue_cmd(
        d,
        "class3-auth",
        "12",
        &pki.path(&format!("{name}.csr")),
        &identity(work, true),
    ));
    let pem = pki.path(&format!("{name}.pem"));
    std::fs::write(&pem, &issued.stdout).expect("issued certificate");
    let serial = ok(Command::new("openssl")
        .args(["x509", "-noout", "-serial", "-in"])
        .arg(&pem));
    text(&serial.stdout)
        .trim()
        .trim_start_matches("serial=")
        .to_owned()
}

fn concat(pki: &Pki, out: &str, parts: &[&str]) {
    let mut all = Vec::new();
    for part in parts {
        all.extend(std::fs::read(pki.dir.join(part)).expect("part"));
    }
    std::fs::write(pki.dir.join(out), all).expect("chain");
}

fn discover(d: &Path, args: &[&str]) -> std::process::Output {
    ok(signet(d).arg("discover").args(args))
}

fn inventory(d: &Path) -> Vec<Value> {
    let out = discover(d, &["inventory", "--json"]);
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap_or_else(|e| panic!("inventory is not JSON ({e}): {}", text(&out.stdout)))
        .as_array()
        .expect("an array")
        .clone()
}

/// "address:port" → (alerts, the certificate's subject, issued by Signet) for every place.
fn places(items: &[Value]) -> BTreeMap<String, (BTreeSet<String>, String, bool)> {
    let mut out = BTreeMap::new();
    for item in items {
        for place in item["places"].as_array().expect("places") {
            let alerts = place["alerts"]
                .as_array()
                .expect("alerts")
                .iter()
                .map(|a| a.as_str().expect("id").to_owned())
                .collect();
            out.insert(
                format!("{}:{}", place["address"].as_str().unwrap(), place["port"]),
                (
                    alerts,
                    item["subject"].as_str().unwrap().to_owned(),
                    item["issued_by_signet"].as_bool().unwrap(),
                ),
            );
        }
    }
    out
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

fn expect_alerts(
    found: &BTreeMap<String, (BTreeSet<String>, String, bool)>,
    place: &str,
    ids: &[&str],
) {
    let (alerts, subject, _) = found
        .get(place)
        .unwrap_or_else(|| panic!("{place} is not in the inventory: {found:?}"));
    assert_eq!(alerts, &set(ids), "alerts at {place} ({subject})");
}

#[test]
fn discovery_finds_every_certificate_and_exactly_its_alerts_and_notices_changes() {
    let work = tempdir();
    let d = work.path().join("data");
    ok(signet(&d).args(["init", "--base-url", BASE_URL]));
    ok(signet(&d).args([
        "user",
        "add",
        "--role",
        "admin",
        "--email",
        "admin@discovery.example",
    ]));
    let pki_dir = work.path().join("pki");
    std::fs::create_dir_all(&pki_dir).expect("pki");
    let pki = Pki::new(&pki_dir);
    // The test root is the organization's own: trusted through [discovery] trust_file.
    let mut config = std::fs::read_to_string(d.join("signet.toml")).expect("toml");
    config.push_str(&format!(
        "\n[discovery]\nallowed_targets = [\"127.0.0.0/8\"]\nexpiring_days = 14\ntrust_file = \"{}\"\n",
        pki.path("root.pem").display()
    ));
    std::fs::write(d.join("signet.toml"), config).expect("toml");

    // The certificates.
    pki.leaf("soon", "rsa:2048", Some((&date(-1), &date(5))));
    pki.leaf("good2", "rsa:2048", None);
    pki.leaf("alone", "rsa:2048", None);
    pki.leaf("nginx", "rsa:2048", None);
    pki.leaf("mail", "rsa:2048", None);
    pki.request("sha1", &["rsa:2048"], "/CN=localhost");
    pki.sign_with("sha1", "inter", "leaf_ext", None, "sha1");
    ok(Command::new("openssl").current_dir(&pki.dir).args([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "other.key",
        "-out",
        "other.pem",
        "-days",
        "365",
        "-subj",
        "/CN=Unknown Root",
        "-addext",
        "basicConstraints=critical,CA:true",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]));
    leaf_for(&pki, "stranger", "other", "DNS:stranger.example", "");
    leaf_for(&pki, "wrongname", "inter", "DNS:www.example.org", "");
    // Revoked by its CA (not Signet): found through the CRL it names, served on 127.0.7.12.
    leaf_for(
        &pki,
        "crlrevoked",
        "inter",
        "DNS:crl.example",
        &format!(
            "crlDistributionPoints=URI:http://{}:8080/inter.crl
",
            address(12)
        ),
    );
    pki.revoke("crlrevoked");
    pki.publish_crl();
    for leaf in ["soon", "good2", "nginx", "mail", "sha1", "wrongname"] {
        concat(
            &pki,
            &format!("{leaf}-chain.pem"),
            &[&format!("{leaf}.pem"), "inter.pem"],
        );
    }
    concat(&pki, "stranger-chain.pem", &["stranger.pem", "other.pem"]);
    // One Signet issued (a class 3 certificate on a server: s_server does not mind its EKU),
    // then revoked.
    let serial = signet_issued(&pki, &d, work.path(), "signet").to_lowercase();
    std::fs::copy(d.join("ca/class3.pem"), pki.path("class3.pem")).expect("class3");
    ok(signet(&d).args(["revoke", &serial, "--reason", "key_compromise"]));

    // The servers.
    let weak = ["-cipher", "DEFAULT@SECLEVEL=0"];
    let mut first = Some(s_server(
        &pki,
        1,
        "leaf.pem",
        "leaf.key",
        Some("inter.pem"),
        &[],
    ));
    let _s2 = s_server(&pki, 2, "soon.pem", "soon.key", Some("inter.pem"), &[]);
    let mut expired = Some(s_server(
        &pki,
        3,
        "expired.pem",
        "expired.key",
        Some("inter.pem"),
        &[],
    ));
    let _s4 = s_server(&pki, 4, "self.pem", "self.key", None, &[]);
    let _s5 = s_server(
        &pki,
        5,
        "rsa1024.pem",
        "rsa1024.key",
        Some("inter.pem"),
        &weak,
    );
    let _s6 = s_server(&pki, 6, "sha1.pem", "sha1.key", Some("inter.pem"), &weak);
    let _s7 = s_server(&pki, 7, "alone.pem", "alone.key", None, &[]);
    let _s8 = nginx(
        &work.path().join("nginx"),
        &format!(
            "server {{ listen {a}:{PORT} ssl; ssl_certificate {chain}; ssl_certificate_key {key};\n\
             ssl_protocols TLSv1.2 TLSv1.3; location / {{ return 200 \"ok\\n\"; }} }}\n",
            a = address(8),
            chain = pki.path("nginx-chain.pem").display(),
            key = pki.path("nginx.key").display(),
        ),
        address(8),
        PORT,
    );
    let _s9 = s_server(&pki, 9, "signet.pem", "signet.key", Some("class3.pem"), &[]);
    let _crl = serve_on(
        "CRL web server",
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                "8080",
                "--bind",
                &address(12).to_string(),
                "--directory",
            ])
            .arg(&pki.dir),
        address(12),
        8080,
    );
    let _s13 = s_server(
        &pki,
        13,
        "crlrevoked.pem",
        "crlrevoked.key",
        Some("inter.pem"),
        &[],
    );
    let _s10 = s_server(
        &pki,
        10,
        "stranger.pem",
        "stranger.key",
        Some("other.pem"),
        &[],
    );
    let smtp_python = std::env::var("SMTP_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| workspace().join(".tools/venv/bin/python"));
    let _s11 = serve_on(
        "SMTP STARTTLS server",
        Command::new(&smtp_python)
            .arg(workspace().join("tests/tls/smtp_starttls_server.py"))
            .args([
                "--host",
                &address(11).to_string(),
                "--port",
                &SMTP_PORT.to_string(),
            ])
            .arg("--cert")
            .arg(pki.path("mail-chain.pem"))
            .arg("--key")
            .arg(pki.path("mail.key")),
        address(11),
        SMTP_PORT,
    );
    let named_port = free_port();
    let _s12 = s_server_at(
        &pki,
        Ipv4Addr::LOCALHOST,
        named_port,
        "wrongname.pem",
        "wrongname.key",
        Some("inter.pem"),
        &[],
    );

    // A target outside the allowlist is refused, naming the setting; nothing is stored.
    let refused = run(signet(&d).args([
        "discover",
        "job",
        "add",
        "--name",
        "outside",
        "--targets",
        "10.0.0.0/24",
    ]));
    assert!(!refused.status.success());
    let why = text(&refused.stderr);
    assert!(why.contains("allowed_targets"), "{why}");
    assert!(why.contains("10.0.0.0/24"), "{why}");
    assert!(text(&discover(&d, &["job", "list"]).stdout).is_empty());
    let bad_name = run(signet(&d).args([
        "discover",
        "job",
        "add",
        "--name",
        "a b",
        "--targets",
        "127.0.7.1",
    ]));
    assert!(!bad_name.status.success());

    discover(
        &d,
        &[
            "job",
            "add",
            "--name",
            "lab",
            "--targets",
            "127.0.7.0/28",
            "--ports",
            &format!("{PORT},{SMTP_PORT}"),
            "--starttls",
            &format!("{SMTP_PORT}=smtp"),
            "--contacts",
            "pki@discovery.example",
        ],
    );
    discover(
        &d,
        &[
            "job",
            "add",
            "--name",
            "named",
            "--targets",
            "localhost",
            "--ports",
            &named_port.to_string(),
            "--every",
            "24h",
        ],
    );
    let listed = text(&discover(&d, &["job", "list"]).stdout);
    assert!(
        listed.contains("lab") && listed.contains("every 1d"),
        "{listed}"
    );

    let summary: Value =
        serde_json::from_slice(&discover(&d, &["run", "--job", "lab", "--json"]).stdout)
            .expect("run summary");
    assert_eq!(
        summary["endpoints"],
        14 * 2,
        "a /28 has 14 hosts, on two ports"
    );
    assert_eq!(summary["answered"], 12, "{summary}");
    discover(&d, &["run", "--job", "named", "--quiet"]);

    // Exactly the expected findings at every place.
    let items = inventory(&d);
    let found = places(&items);
    let at = |n: u8, port: u16| format!("{}:{port}", address(n));
    expect_alerts(&found, &at(1, PORT), &[]);
    expect_alerts(&found, &at(2, PORT), &["expiring"]);
    expect_alerts(&found, &at(3, PORT), &["expired"]);
    expect_alerts(&found, &at(4, PORT), &["self_signed"]);
    expect_alerts(&found, &at(5, PORT), &["weak_key"]);
    expect_alerts(&found, &at(6, PORT), &["sha1_signature"]);
    expect_alerts(&found, &at(7, PORT), &["incomplete_chain"]);
    expect_alerts(&found, &at(8, PORT), &[]);
    expect_alerts(&found, &at(9, PORT), &["revoked"]);
    expect_alerts(&found, &at(10, PORT), &["unknown_issuer"]);
    expect_alerts(&found, &at(11, SMTP_PORT), &[]);
    expect_alerts(&found, &at(13, PORT), &["revoked"]);
    expect_alerts(
        &found,
        &format!("127.0.0.1:{named_port}"),
        &["name_mismatch"],
    );
    assert_eq!(found.len(), 13, "no other place: {found:?}");
    assert!(found[&at(9, PORT)].2, "Signet's certificate is recognized");
    assert_eq!(found.values().filter(|p| p.2).count(), 1);
    let signet_item = items
        .iter()
        .find(|i| i["issued_by_signet"] == true)
        .expect("Signet's");
    assert_eq!(signet_item["signet"]["status"], "revoked");
    assert_eq!(
        signet_item["signet"]["serial"]
            .as_str()
            .map(str::to_lowercase),
        Some(serial.clone())
    );
    let named_place = &items
        .iter()
        .find(|i| i["subject"] == "CN=wrongname")
        .expect("named")["places"][0];
    assert_eq!(named_place["sni"], "localhost");
    assert_eq!(named_place["host"], "localhost");
    for item in &items {
        let fp = item["fingerprint_sha256"].as_str().expect("fingerprint");
        assert_eq!(fp.len(), 64);
        assert!(item["not_after"].is_string() && item["issuer"].is_string());
        for key in ["host", "address", "port", "sni", "first_seen", "last_seen"] {
            assert!(item["places"][0].get(key).is_some(), "{key} in {item}");
        }
    }

    // The CSV has a row per place, under a header.
    let csv = text(&discover(&d, &["inventory", "--csv"]).stdout);
    assert!(
        csv.starts_with("fingerprint_sha256,subject,issuer,not_after"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 1 + 13, "{csv}");

    // Alerts were mailed once to the job's contact: one message, one line per alert.
    let deliver = || {
        ok(signet(&d).args(["jobs", "--only", "mail"]));
    };
    deliver();
    let sent: Vec<_> = mails(&d)
        .into_iter()
        .filter(|(to, _, _)| to.contains("pki@discovery.example"))
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let body = &sent[0].2;
    for id in [
        "expires soon",
        "has expired",
        "self-signed",
        "weak key",
        "SHA-1",
        "without its intermediate",
        "revoked",
        "unknown issuer",
    ] {
        assert!(body.contains(id), "{id} in {body}");
    }
    assert_eq!(
        body.lines().filter(|l| l.starts_with("- ")).count(),
        9,
        "{body}"
    );

    // A new certificate at one place, another place gone: both are events at the next scan.
    drop(first.take());
    let _s1b = s_server(&pki, 1, "good2.pem", "good2.key", Some("inter.pem"), &[]);
    drop(expired.take());
    discover(&d, &["run", "--job", "lab", "--quiet"]);
    let found = places(&inventory(&d));
    expect_alerts(&found, &at(1, PORT), &["changed"]);
    expect_alerts(&found, &at(3, PORT), &["not_answering"]);
    assert_eq!(found[&at(1, PORT)].1, "CN=localhost");
    let events = with_store(&d, async |store| {
        store.discovery_events(100).await.expect("events")
    });
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "changed").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "not_answering").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "new").count(),
        13,
        "{kinds:?}"
    );
    deliver();
    let sent: Vec<_> = mails(&d)
        .into_iter()
        .filter(|(to, _, _)| to.contains("pki@discovery.example"))
        .collect();
    assert_eq!(sent.len(), 2, "the change is mailed");
    assert_eq!(
        sent[1].2.lines().filter(|l| l.starts_with("- ")).count(),
        2,
        "{}",
        sent[1].2
    );

    // Nothing new: no mail; the change is no longer news, the lost place still is.
    discover(&d, &["run", "--job", "lab", "--quiet"]);
    deliver();
    let found = places(&inventory(&d));
    expect_alerts(&found, &at(1, PORT), &[]);
    expect_alerts(&found, &at(3, PORT), &["not_answering"]);
    assert_eq!(
        mails(&d)
            .iter()
            .filter(|(to, _, _)| to.contains("pki@discovery.example"))
            .count(),
        2
    );

    // Every run is audited with who started it; the refusal too.
    let audit = audit_log(&d);
    let started: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "discovery.run.started")
        .collect();
    assert_eq!(started.len(), 4);
    assert!(started.iter().all(|e| e.actor == "operator:cli"));
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "discovery.run.finished")
            .count(),
        4
    );
    assert!(
        audit.iter().any(
            |e| e.action == "discovery.job.add.refused" && e.detail.contains("allowed_targets")
        )
    );

    // The portal, the CSV export and the metrics show the same inventory.
    const METRICS_TOKEN: &str = "metrics-token-for-the-discovery-test";
    let server = Server::start_with_env(&d, &[], &[("SIGNET_METRICS_TOKEN", METRICS_TOKEN)]);
    let api = Api::new(&server);
    let token = api.staff_login(&d, "admin@discovery.example");
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let cookie = format!("signet_session={token}; signet_csrf={CSRF}");
    let page = client
        .get(server.url("/admin/discovery"))
        .header("cookie", &cookie)
        .send()
        .expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().expect("html");
    for shown in [
        "CN=wrongname",
        "not answering",
        "<svg",
        "Run now",
        "lab",
        "named",
    ] {
        assert!(html.contains(shown), "{shown} on the page");
    }
    // The administrators' dashboard counts the alerts and links to them.
    let dashboard = client
        .get(server.url("/admin"))
        .header("cookie", &cookie)
        .send()
        .expect("dashboard")
        .text()
        .expect("html");
    assert!(dashboard.contains("Certificate discovery"), "{dashboard}");
    assert!(
        dashboard.contains("href=\"/admin/discovery?alert=revoked\"")
            && dashboard.contains("revoked: 2"),
        "{dashboard}"
    );
    let filtered = client
        .get(server.url("/admin/discovery?alert=weak_key"))
        .header("cookie", &cookie)
        .send()
        .expect("filtered")
        .text()
        .expect("html");
    assert!(filtered.contains("CN=localhost") && !filtered.contains("CN=wrongname"));
    let exported = client
        .get(server.url("/admin/discovery/inventory.csv?alert=revoked&q=crl.example"))
        .header("cookie", &cookie)
        .send()
        .expect("csv");
    assert_eq!(
        exported.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert_eq!(exported.text().expect("csv").lines().count(), 2);
    // A job added and run from the portal; its run is audited under the admin's name.
    let added = client
        .post(server.url("/admin/discovery/jobs"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", CSRF),
            ("name", "portal"),
            ("targets", "127.0.7.2"),
            ("ports", "8443"),
        ])
        .send()
        .expect("add");
    assert_eq!(added.status(), 200, "{}", added.text().unwrap_or_default());
    let ran = client
        .post(server.url("/admin/discovery/jobs/portal/run"))
        .header("cookie", &cookie)
        .form(&[("csrf", CSRF)])
        .send()
        .expect("run");
    assert_eq!(ran.status(), 200);
    assert!(
        ran.text().expect("html").contains("http-equiv=\"refresh\""),
        "the page follows the run"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !audit_log(&d)
        .iter()
        .any(|e| e.action == "discovery.run.finished" && e.actor == "admin@discovery.example")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the portal's run finishes"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // Subscribers and anonymous visitors see nothing of it.
    let anonymous = client
        .get(server.url("/admin/discovery/inventory.csv"))
        .send()
        .expect("csv");
    assert_ne!(anonymous.status(), 200);
    let subscriber = api.subscriber(&d, "someone@discovery.example");
    let as_subscriber = format!("signet_session={subscriber}; signet_csrf={CSRF}");
    for path in ["/admin/discovery", "/admin/discovery/inventory.csv"] {
        let refused = client
            .get(server.url(path))
            .header("cookie", &as_subscriber)
            .send()
            .expect("page");
        assert_eq!(refused.status(), 403, "{path} for a subscriber");
    }
    let refused = client
        .post(server.url("/admin/discovery/jobs/lab/run"))
        .header("cookie", &as_subscriber)
        .form(&[("csrf", CSRF)])
        .send()
        .expect("run");
    assert_eq!(refused.status(), 403, "a subscriber cannot start a run");
    let forged = client
        .post(server.url("/admin/discovery/jobs/lab/remove"))
        .header("cookie", &cookie)
        .form(&[("csrf", "0".repeat(64).as_str())])
        .send()
        .expect("remove");
    assert_eq!(
        forged.status(),
        403,
        "a form without the CSRF token is refused"
    );
    let listed = text(&discover(&d, &["job", "list"]).stdout);
    assert!(
        listed.contains("lab") && listed.contains("last run"),
        "{listed}"
    );
    let history = text(&discover(&d, &["runs", "--job", "lab"]).stdout);
    assert_eq!(history.lines().count(), 3, "three runs of lab: {history}");
    assert!(
        history
            .lines()
            .all(|l| l.contains("by operator:cli") && l.contains("finished"))
    );
    assert!(
        audit_log(&d)
            .iter()
            .any(|e| e.action == "discovery.run.refused" && e.actor == "someone@discovery.example")
    );

    // Metrics: only for the scraper with the token.
    let no_token = client.get(server.url("/metrics")).send().expect("metrics");
    assert_eq!(no_token.status(), 401);
    let metrics = common::scrape(&server, METRICS_TOKEN);
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|rest| rest.trim().parse().ok())
            })
            .unwrap_or_else(|| panic!("{name} in {metrics}"))
    };
    assert_eq!(
        value("signet_discovery_certificates{state=\"revoked\"}"),
        2.0
    );
    assert_eq!(
        value("signet_discovery_certificates{state=\"expiring\"}"),
        1.0
    );
    assert_eq!(value("signet_discovery_places{answering=\"false\"}"), 1.0);
    let soon = metrics
        .lines()
        .find(|l| {
            l.starts_with("signet_discovery_expiry_days{")
                && l.contains(&format!("address=\"{}\"", address(2)))
        })
        .expect("expiry of the place");
    let days: f64 = soon.rsplit(' ').next().unwrap().parse().expect("days");
    assert!((4.0..=5.0).contains(&days), "{soon}");
    // The edge's own metrics: requests by route template and status, their latency, and the
    // store's gauges.
    let sample = |parts: &[&str]| common::sample(&metrics, parts);
    assert!(
        sample(&[
            "signet_http_requests_total{",
            "route=\"/admin/discovery\"",
            "method=\"GET\"",
            "status=\"200\""
        ]) >= 2.0
    );
    assert!(
        sample(&[
            "signet_http_requests_total{",
            "route=\"/admin/discovery\"",
            "status=\"403\""
        ]) >= 1.0
    );
    assert!(
        sample(&[
            "signet_http_request_duration_seconds_count{",
            "route=\"/admin/discovery/inventory.csv\""
        ]) >= 1.0
    );
    assert!(
        sample(&[
            "signet_http_request_duration_seconds_bucket{",
            "le=\"+Inf\""
        ]) >= 1.0
    );
    assert!(sample(&["signet_certificates{state=\"issued\"}"]) >= 2.0);
    assert!(sample(&["signet_mail{state=\"sent\"}"]) >= 2.0);
    assert!(sample(&["signet_crl_age_seconds{ca=\"class3\""]) >= 0.0);
    assert!(sample(&["signet_crl_seconds_to_next_update{ca=\"root\""]) > 0.0);
    assert_eq!(sample(&["signet_ocsp_stale_responses "]), 0.0);
    // One class 3 certificate signed by the CLI so far, and revoked.
    assert_eq!(
        sample(&["signet_certificates_by_profile{profile=\"class3-auth\",state=\"signed\"}"]),
        1.0
    );
    assert_eq!(
        sample(&["signet_certificates_by_profile{profile=\"class3-auth\",state=\"revoked\"}"]),
        1.0
    );

    // A certificate signed by Signet's CA that its records lack (an old backup restored, or the
    // key used behind its back): the run still records everything and audits it.
    let ghost_serial = signet_issued(&pki, &d, work.path(), "ghost").to_uppercase();
    ok(Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('DELETE FROM certificates WHERE upper(serial) = ?', (sys.argv[2],)); c.commit()",
        ])
        .arg(d.join("signet.db"))
        .arg(&ghost_serial));
    let _s14 = s_server(&pki, 14, "ghost.pem", "ghost.key", Some("class3.pem"), &[]);
    let summary: Value =
        serde_json::from_slice(&discover(&d, &["run", "--job", "lab", "--json"]).stdout)
            .expect("summary");
    assert!(summary["answered"].as_u64() >= Some(11), "{summary}");
    let found = places(&inventory(&d));
    let (_, _, by_signet) = &found[&at(14, PORT)];
    assert!(
        !by_signet,
        "not counted as Signet's: Signet has no record of it"
    );
    assert!(audit_log(&d).iter().any(|e| {
        e.action == "discovery.unrecorded_certificate"
            && e.detail.to_uppercase().contains(&ghost_serial)
    }));
}

/// The runs recorded in the store at `url`.
fn runs(url: &str) -> Vec<signet_store::DiscoveryRunRecord> {
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let store = signet_store::open(url).await.expect("store");
            store.discovery_runs(100).await.expect("runs")
        })
}

#[test]
fn a_due_job_runs_once_however_many_nodes_look_for_it() {
    let work = tempdir();
    let d = work.path().join("data");
    let url = common::postgres_database("discovery_nodes");
    let with_db = |cmd: &mut Command| {
        cmd.env("SIGNET_DATABASE_URL", &url);
    };
    let mut init = signet(&d);
    with_db(&mut init);
    ok(init.args(["init", "--base-url", BASE_URL]));
    let mut config = std::fs::read_to_string(d.join("signet.toml")).expect("toml");
    config.push_str("\n[discovery]\nallowed_targets = [\"127.0.8.0/24\"]\n");
    std::fs::write(d.join("signet.toml"), config).expect("toml");
    let pki_dir = work.path().join("pki");
    std::fs::create_dir_all(&pki_dir).expect("pki");
    let pki = Pki::new(&pki_dir);
    let ip = Ipv4Addr::new(127, 0, 8, 1);
    let accept = format!("{ip}:{PORT}");
    let _server = s_server_at(
        &pki,
        ip,
        PORT,
        "leaf.pem",
        "leaf.key",
        Some("inter.pem"),
        &[],
    );
    for name in ["by-cron", "by-serve"] {
        let mut add = signet(&d);
        with_db(&mut add);
        ok(add.args([
            "discover",
            "job",
            "add",
            "--name",
            name,
            "--targets",
            &accept[..9],
            "--ports",
            &PORT.to_string(),
            "--every",
            "24h",
        ]));
    }

    // Three cron-driven passes at once on three "nodes": one runs the job.
    let said = common::at_once((0..3).map(|_| {
        let mut pass = signet(&d);
        with_db(&mut pass);
        pass.args(["jobs", "--only", "discovery"]);
        pass
    }));
    let by_job = |runs: &[signet_store::DiscoveryRunRecord], job: &str| {
        runs.iter().filter(|r| r.job_name == job).count()
    };
    let after_cron = runs(&url);
    assert_eq!(by_job(&after_cron, "by-cron"), 1, "{said:?}");
    assert_eq!(
        by_job(&after_cron, "by-serve"),
        1,
        "both were due: {said:?}"
    );

    // Three serving nodes: the schedule finds nothing due until a job is.
    let mut add = signet(&d);
    with_db(&mut add);
    ok(add.args([
        "discover",
        "job",
        "add",
        "--name",
        "scheduled",
        "--targets",
        &accept[..9],
        "--ports",
        &PORT.to_string(),
        "--every",
        "24h",
    ]));
    let env = [("SIGNET_DATABASE_URL", url.as_str())];
    let nodes: Vec<Server> = (0..3)
        .map(|_| Server::start_with_env(&d, &[], &env))
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let all = runs(&url);
        if all
            .iter()
            .any(|r| r.job_name == "scheduled" && r.finished_at.is_some())
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve runs the due job"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    let all = runs(&url);
    assert_eq!(by_job(&all, "scheduled"), 1, "one node ran it");
    assert_eq!(by_job(&all, "by-cron"), 1, "not due again for a day");
    let run = all.iter().find(|r| r.job_name == "scheduled").expect("run");
    assert_eq!(run.started_by, "schedule");
    assert_eq!(run.answered, 1);
    drop(nodes);
    common::drop_postgres_database(&url);
}
