//! `signet serve` on an empty data directory: it initializes first, then answers health checks
//! and serves the CA certificates at the URLs written into certificates (AIA caIssuers).

mod common;

use std::process::Command;

use common::*;

#[test]
fn serve_initializes_an_empty_directory_and_serves_the_repository() {
    let data = tempdir();
    let server = Server::start(data.path(), &[]);
    assert!(
        data.path().join("signet.toml").exists(),
        "serve did not initialize the CA"
    );
    let client = reqwest::blocking::Client::new();
    let get = |path: &str| client.get(server.url(path)).send().expect("GET");

    let res = get("/healthz");
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().expect("body"), "ok\n");

    let res = get("/repository/class3.der");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pkix-cert");
    // The DER served is the certificate in ca/, as openssl reads it.
    let file = data.path().join("served.der");
    std::fs::write(&file, res.bytes().expect("body")).expect("write");
    let served = ok(Command::new("openssl")
        .args([
            "x509",
            "-inform",
            "DER",
            "-noout",
            "-fingerprint",
            "-sha256",
            "-in",
        ])
        .arg(&file));
    let on_disk = ok(Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(data.path().join("ca/class3.pem")));
    assert_eq!(text(&served.stdout), text(&on_disk.stdout));

    let res = get("/repository/");
    assert_eq!(res.status(), 200);
    let fingerprint = text(&on_disk.stdout)
        .trim()
        .rsplit('=')
        .next()
        .unwrap_or_default()
        .replace(':', "");
    assert!(
        res.text().expect("body").contains(&fingerprint),
        "the index lacks the SHA-256 fingerprint {fingerprint}"
    );

    assert_eq!(get("/repository/nope.der").status(), 404);
    // The first administrator was told how to get in: a single-use link, mailed to the outbox.
    assert!(
        link_in_mail(
            data.path(),
            "admin@signet.example",
            "Your Signet staff account"
        )
        .starts_with("/reset/")
    );
}

/// `serve --tls-cert --tls-key` speaks HTTPS (rustls) with the given certificate; with an
/// https base URL the session and CSRF cookies are Secure and browsers are told to stay on HTTPS.
#[test]
fn serves_https_with_a_given_certificate() {
    let data = tempdir();
    let work = tempdir();
    let (d, w) = (data.path(), work.path());
    ok(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-days",
            "2",
        ])
        .arg("-keyout")
        .arg(w.join("tls.key"))
        .arg("-out")
        .arg(w.join("tls.pem")));
    ok(signet(d).args(["init", "--base-url", "https://pki.example.com"]));
    let cert = w.join("tls.pem");
    let key = w.join("tls.key");
    let server = Server::start(
        d,
        &[
            "--tls-cert",
            cert.to_str().expect("path"),
            "--tls-key",
            key.to_str().expect("path"),
        ],
    );
    assert_eq!(server.scheme, "https");
    let curl = |extra: &[&str], path: &str| {
        run(Command::new("curl")
            .args(["-sS", "--cacert"])
            .arg(&cert)
            .args(extra)
            .arg(server.url(path)))
    };
    let health = curl(&[], "/healthz");
    assert!(health.status.success(), "{}", text(&health.stderr));
    assert_eq!(text(&health.stdout), "ok\n");
    let login = curl(&["-D", "-", "-o", "/dev/null"], "/login");
    let headers = text(&login.stdout).to_ascii_lowercase();
    assert!(
        headers.contains("set-cookie: signet_csrf=") && headers.contains("; secure"),
        "{headers}"
    );
    assert!(
        headers.contains("strict-transport-security: max-age="),
        "{headers}"
    );
    // Plain HTTP to the TLS port gets no page.
    let plain = run(Command::new("curl")
        .args(["-sS", "--max-time", "5"])
        .arg(format!("http://{}/healthz", server.addr)));
    assert_ne!(text(&plain.stdout), "ok\n");
    // A key that does not exist: a clear error, no server.
    let refused = run(signet(d).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().expect("path"),
        "--tls-key",
        "/nonexistent/key.pem",
    ]));
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("TLS certificate"),
        "{}",
        text(&refused.stderr)
    );
}

#[test]
fn every_request_has_an_id_that_its_json_log_lines_carry() {
    use std::io::{BufRead, BufReader};
    let data = tempdir();
    ok(signet(data.path()).args(["init", "--base-url", BASE_URL]));
    let port = free_port();
    let mut child = signet(data.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("SIGNET_LOG_FORMAT", "json")
        .env("SIGNET_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("serve");
    let stderr = child.stderr.take().expect("stderr");
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let client = reqwest::blocking::Client::new();
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let health = loop {
        match client.get(url("/healthz")).send() {
            Ok(r) => break r,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => panic!("serve never answered: {e}"),
        }
    };
    let id = health.headers()["x-request-id"]
        .to_str()
        .expect("id")
        .to_owned();
    assert_eq!(id.len(), 16, "a fresh id: {id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    // A proxy's plain id is kept; one with text of the client's choosing is replaced.
    let kept = client
        .get(url("/healthz"))
        .header("x-request-id", "proxy-0001-abcdef")
        .send()
        .expect("GET");
    assert_eq!(kept.headers()["x-request-id"], "proxy-0001-abcdef");
    let replaced = client
        .get(url("/healthz"))
        .header("x-request-id", "evil\" injected")
        .send()
        .expect("GET");
    assert_ne!(replaced.headers()["x-request-id"], "evil\" injected");
    // A form without its CSRF token is refused with a warning: the log line names the request.
    let refused = client
        .post(url("/admin/alerts"))
        .header("x-request-id", "csrf-test-000001")
        .form(&[("csrf", "wrong"), ("kind", "incident"), ("title", "x")])
        .send()
        .expect("POST");
    assert_eq!(refused.status(), 403);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let line = loop {
        let line = received
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .expect("a log line about the refused form");
        if line.contains("form refused") {
            break line;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let entry: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(entry["span"]["request_id"], "csrf-test-000001", "{line}");
    assert_eq!(entry["span"]["route"], "/admin/alerts", "{line}");
}

#[test]
fn sigterm_lets_requests_in_flight_finish_and_takes_no_new_ones() {
    let data = tempdir();
    ok(signet(data.path()).args(["init", "--base-url", BASE_URL]));
    let mut server =
        Server::start_with_env(data.path(), &[], &[("SIGNET_TLS_TEST_ALLOW", "loopback")]);
    let api = Api::new(&server);
    let token = api.subscriber(data.path(), "slow@example.org");
    // A "server" that accepts and never answers: a TLS test of it takes seconds.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let target = silent.local_addr().expect("address").to_string();
    let url = server.url(&format!("/api/v1/tls-tests/{target}"));
    let in_flight = std::thread::spawn(move || {
        reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .expect("client")
            .get(url)
            .bearer_auth(token)
            .send()
            .map(|r| r.status())
    });
    // The request is in flight once the test has connected to the silent server.
    let (_held, _) = silent.accept().expect("the TLS test connects");
    server.terminate();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        reqwest::blocking::get(server.url("/healthz")).is_err(),
        "no new connection is taken after SIGTERM"
    );
    let status = in_flight
        .join()
        .expect("thread")
        .expect("the request in flight got its answer");
    assert!(
        status.is_client_error() || status.is_success(),
        "answered, not dropped: {status}"
    );
    let exit = server
        .wait_for_exit(std::time::Duration::from_secs(30))
        .expect("serve ends after its last request");
    assert!(exit.success(), "{exit:?}");
}
