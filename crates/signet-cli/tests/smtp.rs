//! Mail through a real SMTP server on loopback (aiosmtpd from the test venv) when
//! `[mail] smtp_host` is configured, instead of the outbox.

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
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
    let _smtpd = Smtpd(
        Command::new(python())
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd (pip install aiosmtpd in the test venv)"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "aiosmtpd did not start");
        std::thread::sleep(Duration::from_millis(100));
    }

    let data = tempdir();
    let d = data.path();
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
        .replace("smtp_port = 25", &format!("smtp_port = {port}"));
    std::fs::write(d.join("signet.toml"), config).expect("write config");
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
