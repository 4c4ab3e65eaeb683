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
