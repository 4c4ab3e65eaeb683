//! The OCSP responder judged by `openssl ocsp` and pkilint: good, then revoked with the reason
//! after a revocation through the REST API and through `signet revoke`; unknown for a serial
//! never issued; GET with RFC 5019 caching headers; malformed, random, truncated, multi-request
//! and foreign-issuer requests answered with OCSP error statuses while the server stays up.

mod common;

use std::path::Path;
use std::process::Command;

use base64::Engine;
use common::*;
use reqwest::StatusCode;
use serde_json::json;

/// `openssl ocsp` against the server; returns its combined output.
fn ocsp(server: &Server, d: &Path, chain: &Path, target: &[&str], respout: &Path) -> String {
    let out = ok(Command::new("openssl")
        .args(["ocsp", "-no_nonce", "-issuer"])
        .arg(d.join("ca/class3.pem"))
        .args(target)
        .arg("-url")
        .arg(server.url("/ocsp"))
        .arg("-CAfile")
        .arg(chain)
        .arg("-respout")
        .arg(respout));
    text(&out.stdout) + &text(&out.stderr)
}

const MALFORMED: [u8; 5] = [0x30, 0x03, 0x0a, 0x01, 0x01];
const UNAUTHORIZED: [u8; 5] = [0x30, 0x03, 0x0a, 0x01, 0x06];

#[test]
fn ocsp_answers_good_revoked_unknown_and_errors() {
    let data = tempdir();
    let work = tempdir();
    let (d, w) = (data.path(), work.path());
    let server = ca_with_staff(d, &[("vetting", "vera@ca.example.com", None)]);
    let api = Api::new(&server);
    let vetting = api.staff_login(d, "vera@ca.example.com");
    let max = api.subscriber(d, "max@example.de");
    let chain = w.join("chain.pem");
    let pem = |n: &str| std::fs::read_to_string(d.join(format!("ca/{n}.pem"))).expect("ca");
    std::fs::write(&chain, pem("class3") + &pem("root")).expect("chain");

    // Certificate A through the workflow, B through the operator command.
    let number = api.order(&max, "max@example.de", "p-256");
    let token = api.to_pickup(d, &number, &max, &vetting, "max@example.de");
    let (status, picked) = api.post(
        &format!("/api/v1/pickups/{token}"),
        None,
        json!({"pickup_password": "pickup-secret-42"}),
    );
    assert_eq!(status, StatusCode::OK, "{picked}");
    let a = w.join("a.pem");
    std::fs::write(&a, picked["certificate"].as_str().expect("pem")).expect("write");
    let serial_a = picked["serial"].as_str().expect("serial").to_owned();
    let out = ok(&mut issue_cmd(
        d,
        "class3-auth",
        "12",
        &csr(w, "b", KEYS[0].1),
        &identity(w, true),
    ));
    let b = w.join("b.pem");
    std::fs::write(&b, &out.stdout).expect("write");

    for cert in [&a, &b] {
        let resp = w.join("good.der");
        let said = ocsp(
            &server,
            d,
            &chain,
            &["-cert", cert.to_str().expect("path")],
            &resp,
        );
        assert!(
            said.contains("Response verify OK") && said.contains(": good"),
            "{said}"
        );
        lint("lint_ocsp_response", &[], &resp);
    }

    // GET with the request in the path, and RFC 5019 caching headers.
    let req = w.join("req.der");
    ok(Command::new("openssl")
        .args(["ocsp", "-no_nonce", "-issuer"])
        .arg(d.join("ca/class3.pem"))
        .arg("-cert")
        .arg(&a)
        .arg("-reqout")
        .arg(&req));
    let b64 = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&req).expect("req"));
    let encoded = b64
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let res = reqwest::blocking::get(server.url(&format!("/ocsp/{encoded}"))).expect("GET");
    assert_eq!(res.status(), 200);
    let headers = res.headers().clone();
    assert_eq!(headers["content-type"], "application/ocsp-response");
    let cache = headers["cache-control"].to_str().expect("cache-control");
    assert!(
        cache.contains("max-age=") && cache.contains("public"),
        "{cache}"
    );
    for h in ["expires", "last-modified", "etag"] {
        assert!(headers.contains_key(h), "missing {h}");
    }
    let resp = w.join("get.der");
    std::fs::write(&resp, res.bytes().expect("body")).expect("write");
    let said = ok(Command::new("openssl")
        .args(["ocsp", "-no_nonce", "-respin"])
        .arg(&resp)
        .arg("-issuer")
        .arg(d.join("ca/class3.pem"))
        .arg("-cert")
        .arg(&a)
        .arg("-CAfile")
        .arg(&chain));
    assert!(
        text(&said.stdout).contains(": good"),
        "{}",
        text(&said.stdout)
    );

    // Revoked with the reason, through the REST API (same process: the cached "good" is dropped
    // at once) and through the operator command.
    let (status, body) = api.post(
        &format!("/api/v1/certificates/{serial_a}/revoke"),
        Some(&max),
        json!({"reason": "key_compromise"}),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let resp = w.join("revoked-a.der");
    let said = ocsp(
        &server,
        d,
        &chain,
        &["-cert", a.to_str().expect("path")],
        &resp,
    );
    assert!(
        said.contains(": revoked") && said.contains("Reason: keyCompromise"),
        "{said}"
    );
    lint("lint_ocsp_response", &[], &resp);
    let serial_b = text(
        &ok(Command::new("openssl")
            .args(["x509", "-noout", "-serial", "-in"])
            .arg(&b))
        .stdout,
    )
    .trim()
    .trim_start_matches("serial=")
    .to_owned();
    ok(signet(d).args(["revoke", &serial_b, "--reason", "superseded"]));
    // Another process revoked B while the server holds B's "good" in its cache: the server
    // learns of it from the store's revocation epoch, which it polls twice a second.
    let mut said = String::new();
    for _ in 0..50 {
        said = ocsp(
            &server,
            d,
            &chain,
            &["-cert", b.to_str().expect("path")],
            &w.join("revoked-b.der"),
        );
        if !said.contains(": good") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        said.contains(": revoked") && said.contains("Reason: superseded"),
        "{said}"
    );

    // A serial this CA never issued: unknown, never good.
    let resp = w.join("unknown.der");
    let said = ocsp(
        &server,
        d,
        &chain,
        &["-serial", "0x4242424242424242"],
        &resp,
    );
    assert!(said.contains(": unknown"), "{said}");
    lint("lint_ocsp_response", &[], &resp);

    // Bad requests: OCSP error statuses, never a crash.
    let client = reqwest::blocking::Client::new();
    let post = |body: Vec<u8>| {
        let res = client
            .post(server.url("/ocsp"))
            .header("content-type", "application/ocsp-request")
            .body(body)
            .send()
            .expect("POST");
        assert_eq!(res.status(), 200);
        res.bytes().expect("body").to_vec()
    };
    let good_req = std::fs::read(&req).expect("req");
    let mut seed: u64 = 0x2545f4914f6cdd1d;
    for i in 0..200 {
        let len = (i * 7) % 600;
        let random: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        assert_eq!(post(random), MALFORMED);
    }
    for cut in 0..good_req.len() {
        assert_eq!(
            post(good_req[..cut].to_vec()),
            MALFORMED,
            "truncated to {cut} bytes"
        );
    }
    assert_eq!(post(vec![0x30; 5000]), MALFORMED, "oversized");
    let multi = w.join("multi.der");
    ok(Command::new("openssl")
        .args(["ocsp", "-no_nonce", "-issuer"])
        .arg(d.join("ca/class3.pem"))
        .args(["-serial", "1", "-serial", "2", "-reqout"])
        .arg(&multi));
    assert_eq!(post(std::fs::read(&multi).expect("multi")), MALFORMED);
    let foreign = w.join("foreign.der");
    ok(Command::new("openssl")
        .args(["ocsp", "-no_nonce", "-issuer"])
        .arg(d.join("ca/root.pem"))
        .args(["-serial", "1", "-reqout"])
        .arg(&foreign));
    assert_eq!(
        post(std::fs::read(&foreign).expect("foreign")),
        UNAUTHORIZED
    );
    let res = reqwest::blocking::get(server.url("/ocsp/not*base64")).expect("GET");
    assert_eq!(res.bytes().expect("body").to_vec(), MALFORMED);
    assert_eq!(
        reqwest::blocking::get(server.url("/healthz"))
            .expect("health")
            .status(),
        200
    );
}
