//! `signet serve` on an empty data directory: it initializes first, then answers health checks
//! and serves the CA certificates at the URLs written into certificates (AIA caIssuers).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use common::*;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A plain HTTP/1.1 GET; returns status line, headers (lower-cased names) and body.
fn get(addr: &str, path: &str) -> (String, Vec<(String, String)>, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = text(&raw[..split]);
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, raw[split + 4..].to_vec())
}

#[test]
fn serve_initializes_an_empty_directory_and_serves_the_repository() {
    let data = tempdir();
    let mut child = signet(data.path())
        .env("SIGNET_LOG", "info")
        .args(["serve", "--listen", "127.0.0.1:0", "--base-url", BASE_URL])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut addr = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(rest) = line.strip_prefix("Signet listening on http://") {
            addr = rest.trim().to_owned();
            break;
        }
    }
    assert!(!addr.is_empty(), "serve never said where it listens");
    assert!(
        data.path().join("signet.toml").exists(),
        "serve did not initialize the CA"
    );

    let (status, _, body) = get(&addr, "/healthz");
    assert!(status.contains("200"), "{status}");
    assert_eq!(text(&body), "ok\n");

    let (status, headers, der) = get(&addr, "/repository/class3.der");
    assert!(status.contains("200"), "{status}");
    assert!(
        headers.contains(&("content-type".into(), "application/pkix-cert".into())),
        "{headers:?}"
    );
    // The DER served is the certificate in ca/, as openssl reads it.
    let file = data.path().join("served.der");
    std::fs::write(&file, &der).expect("write");
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

    let (status, _, index) = get(&addr, "/repository/");
    assert!(status.contains("200"), "{status}");
    let fingerprint = text(&on_disk.stdout)
        .trim()
        .rsplit('=')
        .next()
        .unwrap_or_default()
        .replace(':', "");
    assert!(
        text(&index).contains(&fingerprint),
        "the index lacks the SHA-256 fingerprint {fingerprint}"
    );

    let (status, _, _) = get(&addr, "/repository/nope.der");
    assert!(status.contains("404"), "{status}");
    drop(server);
}
