//! Mail through a real SMTP server on loopback (aiosmtpd from the test venv) when
//! `[mail] smtp_host` is configured, instead of the outbox.

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

struct Smtpd(Child);

impl Drop for Smtpd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python() -> PathBuf {
    std::env::var("PKILINT_BIN")
        .map(|b| PathBuf::from(b).join("python"))
        .unwrap_or_else(|_| PathBuf::from("python3"))
}

#[test]
fn mail_goes_through_smtp_when_configured() {
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mail_root = tempdir();
    // aiosmtpd's Mailbox handler creates the Maildir itself.
    let maildir = mail_root.path().join("maildir");
    let _smtpd = relay("ok", port, &maildir);

    let data = tempdir();
    let d = data.path();
    init_with_relay(d, port, 10);
    let outbox_before = mails(d).len();

    ok(signet(d).args([
        "user",
        "add",
        "--role",
        "support",
        "--email",
        "sam@ca.example.com",
    ]));
    let new = maildir.join("new");
    let deadline = Instant::now() + Duration::from_secs(20);
    let message = loop {
        let found = std::fs::read_dir(&new)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(Result::ok);
        if let Some(entry) = found {
            break std::fs::read_to_string(entry.path()).expect("read message");
        }
        assert!(
            Instant::now() < deadline,
            "no message reached the SMTP server"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(message.contains("To: sam@ca.example.com"), "{message}");
    assert!(
        message.contains("Subject: Your Signet staff account"),
        "{message}"
    );
    assert!(
        decode_quoted_printable(&message.replace("\r\n", "\n"))
            .contains(&format!("{BASE_URL}/reset/")),
        "{message}"
    );
    assert_eq!(
        mails(d).len(),
        outbox_before,
        "with SMTP configured nothing goes to the outbox"
    );
}

/// A relay on `port`: `refuse` or `hang` (tests/tools/bad_relay.py), or a real one (aiosmtpd
/// writing to `maildir`).
fn relay(mode: &str, port: u16, maildir: &std::path::Path) -> Smtpd {
    let mut cmd = Command::new(python());
    match mode {
        "ok" => cmd
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(maildir),
        bad => cmd
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/tools/bad_relay.py"))
            .args([bad, &port.to_string()]),
    };
    let child = Smtpd(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("relay"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the {mode} relay did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// (To, Subject) of every message the real relay received.
fn received(maildir: &std::path::Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(maildir.join("new"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| std::fs::read_to_string(e.path()).expect("message"))
                .map(|m| {
                    let header = |name: &str| {
                        m.lines()
                            .find_map(|l| l.strip_prefix(name))
                            .unwrap_or_default()
                            .trim()
                            .to_owned()
                    };
                    (header("To:"), header("Subject:"))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// A request that must not wait for the relay: it answers within a few seconds (a hung relay
/// would hold it for ever; the relay timeout is 2 s and delivery runs off the request path).
fn quick<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{what} took {:?} while the relay misbehaved",
        started.elapsed()
    );
    out
}

#[test]
fn mail_survives_a_relay_that_refuses_then_hangs() {
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mail_root = tempdir();
    let maildir = mail_root.path().join("maildir");
    let data = tempdir();
    let d = data.path();
    init_with_relay(d, port, 2);

    // Refused: the staff account is created, its invitation stays queued.
    let refusing = relay("refuse", port, &maildir);
    let out = ok(signet(d).args([
        "user",
        "add",
        "--role",
        "support",
        "--email",
        "sam@ca.example.com",
    ]));
    assert!(
        text(&out.stderr).contains("stay queued"),
        "{}",
        text(&out.stderr)
    );
    let server = Server::start(d, &[]);
    let api = Api::new(&server);
    let sign_up = |i: usize| {
        let (status, body) = Api::from_address(&server, &format!("127.0.5.{i}")).post(
            "/api/v1/accounts",
            None,
            serde_json::json!({"email": format!("user{i}@example.org"), "password": "a long enough password", "name": "User"}),
        );
        assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
    };
    for i in 0..3 {
        quick("sign-up", || sign_up(i));
    }
    quick("reset", || {
        let (status, _) = api.post(
            "/api/v1/password-resets",
            None,
            serde_json::json!({"email": "user0@example.org"}),
        );
        assert_eq!(status, reqwest::StatusCode::ACCEPTED);
    });
    drop(refusing);

    // Hanging: requests, health and revocation status still answer at once.
    let _hanging = relay("hang", port, &maildir);
    for i in 3..5 {
        quick("sign-up", || sign_up(i));
    }
    std::thread::sleep(Duration::from_secs(3));
    for path in [
        "/healthz",
        "/readyz",
        "/crl/class3/0.crl",
        "/api/v1/openapi.json",
    ] {
        let status = quick(path, || {
            reqwest::blocking::get(server.url(path))
                .expect(path)
                .status()
        });
        assert_eq!(status, reqwest::StatusCode::OK, "{path}");
    }
    let status = ok(signet(d).args(["mail", "status"]));
    let listing = text(&status.stdout);
    // Only init's invitation went out (to the outbox, before SMTP was configured).
    assert!(listing.contains("queued   7\nsent     1"), "{listing}");
    drop(_hanging);

    // Recovered: an administrator's retry sends what waits; the worker would too. Every
    // message arrives, once.
    let _ok = relay("ok", port, &maildir);
    ok(signet(d).args(["mail", "retry"]));
    // sam's invitation, 5 confirmations, 1 reset (init wrote the admin's to the outbox).
    let expected = 7;
    let deadline = Instant::now() + Duration::from_secs(60);
    while received(&maildir).len() < expected {
        assert!(
            Instant::now() < deadline,
            "mail did not arrive after recovery: {:?}",
            received(&maildir)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Longer than the worker's next retries: nothing arrives twice.
    std::thread::sleep(Duration::from_secs(12));
    let got = received(&maildir);
    let mut unique = got.clone();
    unique.dedup();
    assert_eq!(got, unique, "a message arrived twice");
    assert_eq!(got.len(), expected, "{got:?}");
    assert!(
        got.iter()
            .any(|(to, s)| to.contains("sam@ca.example.com") && s.contains("staff account"))
    );
    let status = text(&ok(signet(d).args(["mail", "status"])).stdout);
    assert!(
        status.contains(&format!("sent     {}", expected + 1)),
        "{status}"
    );
    assert!(!status.contains("queued  "), "{status}");
    drop(server);
}

/// A new CA in `d` whose mail goes to an SMTP relay on loopback `port`.
fn init_with_relay(d: &Path, port: u16, timeout_seconds: u32) {
    ok(signet(d).args([
        "init",
        "--base-url",
        BASE_URL,
        "--admin-email",
        "root@ca.example.com",
    ]));
    let config = std::fs::read_to_string(d.join("signet.toml")).expect("config");
    let config = config
        .replace("[mail]\n", "[mail]\nsmtp_host = \"127.0.0.1\"\n")
        .replace("smtp_port = 25", &format!("smtp_port = {port}"))
        .replace(
            "smtp_timeout_seconds = 10",
            &format!("smtp_timeout_seconds = {timeout_seconds}"),
        );
    std::fs::write(d.join("signet.toml"), config).expect("write config");
}
