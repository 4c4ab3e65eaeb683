//! The order workflow end to end over HTTP against `signet serve`, reading mail from the outbox
//! like a user, in scenarios that each start a server of their own: sign-up with confirmation;
//! orders locked, invisible to other accounts and cancelled only by their owner; no self-service
//! order for a country of the agent channel; the request form and its fingerprint; vetting with
//! the signed form, requested information and the approval e-mail; the one-time pickup of a PFX
//! judged by openssl, NSS pk12util and pkilint, whose private key is nowhere on disk; the audit
//! chain verifies and a tampered row is caught.

mod common;

use std::path::Path;
use std::process::Command;

use base64::Engine;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const MAX: &str = "max@example.de";

fn sqlite_exec(db: &Path, sql: &str) {
    ok(Command::new("python3").args(["-c", &format!("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"{sql}\"); c.commit()")]).arg(db));
}

/// A CA with a vetting officer, and two subscribers, Max and another account, all logged in.
struct Shop {
    ca: Ca,
    vetting: String,
    max: String,
    other: String,
}

fn shop() -> Shop {
    let (ca, [vetting]) = Ca::with_staff([("vetting", "vera@ca.example.com", None)]);
    let api = ca.api();
    let max = api.subscriber(ca.dir(), MAX);
    let other = api.subscriber(ca.dir(), "eve@example.de");
    Shop {
        ca,
        vetting,
        max,
        other,
    }
}

/// Max orders a certificate with this key type and vetting approves it: the order's number and
/// the token of its pickup link.
fn ready(s: &Shop, api: &Api, key_type: &str) -> (String, String) {
    let number = api.order(&s.max, MAX, key_type);
    let token = api.to_pickup(s.ca.dir(), &number, &s.max, &s.vetting, MAX);
    (number, token)
}

/// The right pickup password, asking for the modern PFX encryption.
fn right_password() -> Value {
    json!({"pickup_password": "pickup-secret-42", "compatibility": "modern"})
}

#[test]
fn an_unconfirmed_account_cannot_log_in() {
    let (ca, []) = Ca::with_staff([]);
    let api = ca.api();
    let (status, _) = api.post(
        "/api/v1/accounts",
        None,
        json!({"email": "late@example.de", "password": "a long enough password", "name": "Late"}),
    );
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, body) = api.post(
        "/api/v1/sessions",
        None,
        json!({"email": "late@example.de", "password": "a long enough password"}),
    );
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

/// An order is locked once placed; another account sees nothing of it (404); only the owner
/// cancels it, once.
#[test]
fn an_order_is_locked_and_only_its_owner_sees_or_cancels_it() {
    let s = shop();
    let api = s.ca.api();
    let number = api.order(&s.max, MAX, "p-384");
    assert_eq!(
        api.get(&format!("/api/v1/orders/{number}"), &s.other).0,
        StatusCode::NOT_FOUND
    );
    let res = api
        .client
        .patch(s.ca.server.url(&format!("/api/v1/orders/{number}")))
        .bearer_auth(&s.max)
        .json(&json!({"validity_months": 39}))
        .send()
        .expect("patch");
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(
        res.text()
            .expect("body")
            .contains("cancel this order and place a new one")
    );
    assert_eq!(
        api.get(&format!("/api/v1/orders/{number}/agreement.pdf"), &s.other)
            .0,
        StatusCode::NOT_FOUND
    );
    let (status, _) = api.upload(&number, &s.other, "signed_agreement", PDF);
    assert_eq!(status, StatusCode::NOT_FOUND);
    let cancel = |token: &str| {
        api.post(
            &format!("/api/v1/orders/{number}/cancel"),
            Some(token),
            json!({}),
        )
        .0
    };
    assert_eq!(cancel(&s.other), StatusCode::NOT_FOUND);
    assert_eq!(cancel(&s.max), StatusCode::OK);
    assert_eq!(cancel(&s.max), StatusCode::CONFLICT);
}

#[test]
fn countries_of_the_agent_channel_get_no_self_service_order() {
    let (ca, []) = Ca::with_staff([]);
    let api = ca.api();
    let max = api.subscriber(ca.dir(), MAX);
    // Belgium is on the agent channel.
    let (status, body) = api.post(
        "/api/v1/orders",
        Some(&max),
        json!({"product": "personal-3-pro", "subject": {"given_name": "A", "surname": "B", "email": "a@example.be", "organization": "O", "country": "BE"},
               "approval_email": "a@example.be", "pickup_password": "pickup-secret-42", "validity_months": 12, "key_type": "p-256"}),
    );
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("registration agent")
    );
}

/// A valid PDF with the locked details and the fingerprint, which vetting can check.
#[test]
fn the_request_form_carries_the_locked_details_and_a_fingerprint_vetting_checks() {
    let s = shop();
    let work = tempdir();
    let api = s.ca.api();
    let number = api.order(&s.max, MAX, "p-256");
    let res = api
        .client
        .get(
            s.ca.server
                .url(&format!("/api/v1/orders/{number}/agreement.pdf")),
        )
        .bearer_auth(&s.max)
        .send()
        .expect("pdf");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let pdf_path = work.path().join("agreement.pdf");
    std::fs::write(&pdf_path, res.bytes().expect("pdf")).expect("write pdf");
    if let Ok(dir) = std::env::var("SIGNET_TEST_ARTIFACTS") {
        std::fs::copy(&pdf_path, Path::new(&dir).join("agreement.pdf")).expect("keep artifact");
    }
    ok(Command::new("qpdf").arg("--check").arg(&pdf_path));
    let pdf_text = text(&ok(Command::new("pdftotext").arg(&pdf_path).arg("-")).stdout);
    let view = api.get(&format!("/api/v1/orders/{number}"), &s.max).1;
    let fingerprint = view["fingerprint"].as_str().expect("fingerprint");
    for expected in [
        number.as_str(),
        fingerprint,
        "Muster GmbH",
        MAX,
        "Notary or Chamber of Commerce",
    ] {
        assert!(
            pdf_text.contains(expected),
            "the form lacks `{expected}`:\n{pdf_text}"
        );
    }
    let check = |fp: &str| {
        api.post(
            &format!("/api/v1/orders/{number}/fingerprint-check"),
            Some(&s.vetting),
            json!({"fingerprint": fp}),
        )
    };
    assert_eq!(check(&fingerprint.to_lowercase()).1["matches"], true);
    assert_eq!(
        check("0000 0000 0000 0000 0000 0000 0000 0000").1["matches"],
        false
    );
    assert_eq!(
        api.post(
            &format!("/api/v1/orders/{number}/fingerprint-check"),
            Some(&s.max),
            json!({"fingerprint": fingerprint})
        )
        .0,
        StatusCode::FORBIDDEN
    );
}

/// Vetting cannot begin before the signed form (uploads are checked by content); it may ask for
/// information, which the subscriber answers; approval waits for the approval e-mail.
#[test]
fn vetting_approves_only_after_the_signed_form_and_the_approval_address() {
    let s = shop();
    let api = s.ca.api();
    let (d, max, vetting) = (s.ca.dir(), &s.max, &s.vetting);
    let number = api.order(max, MAX, "p-256");
    let (status, _) = api.post(
        &format!("/api/v1/orders/{number}/decision"),
        Some(vetting),
        json!({"action": "approve"}),
    );
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = api.upload(&number, max, "signed_agreement", b"MZ not a pdf");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = api.upload(&number, max, "signed_agreement", PDF);
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        api.get(&format!("/api/v1/orders/{number}"), max).1["status"],
        "in_review"
    );
    let (status, queue) = api.get("/api/v1/vetting/queue", vetting);
    assert_eq!(status, StatusCode::OK);
    assert!(
        queue
            .as_array()
            .expect("list")
            .iter()
            .any(|i| i["order_number"] == number.as_str())
    );
    assert_eq!(
        api.get("/api/v1/vetting/queue", max).0,
        StatusCode::FORBIDDEN
    );

    // Request information; the subscriber answers, by message or by upload.
    let (status, _) = api.post(
        &format!("/api/v1/orders/{number}/decision"),
        Some(vetting),
        json!({"action": "request_info", "message": "Please add your ID copy"}),
    );
    assert_eq!(status, StatusCode::OK);
    assert!(link_in_mail(d, MAX, "needs more information").contains(&number));
    let (status, _) = api.post(
        &format!("/api/v1/orders/{number}/messages"),
        Some(max),
        json!({"message": "ID copy follows"}),
    );
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get(&format!("/api/v1/orders/{number}"), max).1["status"],
        "in_review"
    );
    let (status, _) = api.post(
        &format!("/api/v1/orders/{number}/decision"),
        Some(vetting),
        json!({"action": "request_info", "message": "The ID copy is still missing"}),
    );
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api.upload(&number, max, "id_copy", PNG);
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        api.get(&format!("/api/v1/orders/{number}"), max).1["status"],
        "in_review"
    );

    // Approval waits for the approval e-mail; once confirmed, the order is ready for pickup.
    let (status, body) = api.post(
        &format!("/api/v1/orders/{number}/decision"),
        Some(vetting),
        json!({"action": "approve"}),
    );
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("approval e-mail")
    );
    api.to_pickup(d, &number, max, vetting, MAX);
}

/// A wrong password is refused; the right one gives the PFX once, even to two concurrent
/// pickups of one link.
#[test]
fn a_pickup_link_gives_the_pfx_once() {
    let s = shop();
    let api = s.ca.api();
    let (number, pickup) = ready(&s, &api, "p-256");
    let (status, body) = api.pick_up(&pickup, json!({"pickup_password": "wrong password"}));
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = api.pick_up(&pickup, right_password());
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = api.pick_up(&pickup, json!({"pickup_password": "pickup-secret-42"}));
    assert_eq!(status, StatusCode::GONE, "a pickup link worked twice");
    assert_eq!(
        api.get(&format!("/api/v1/orders/{number}"), &s.max).1["status"],
        "issued"
    );

    // Two concurrent pickups of one link: exactly one succeeds.
    let (_, token) = ready(&s, &api, "rsa-2048");
    let results: Vec<StatusCode> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    api.pick_up(
                        &token,
                        json!({"pickup_password": "pickup-secret-42", "compatibility": "legacy"}),
                    )
                    .0
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(
        results.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{results:?}"
    );
}

/// The PFX opens with its password in openssl (AES-256-CBC) and NSS, its certificate chains and
/// lints clean, and its private key is nowhere in the data directory or the database.
#[test]
fn the_pfx_is_sound_and_its_private_key_is_kept_nowhere() {
    let s = shop();
    let work = tempdir();
    let api = s.ca.api();
    let d = s.ca.dir();
    let (_, pickup) = ready(&s, &api, "p-256");
    let (status, body) = api.pick_up(&pickup, right_password());
    assert_eq!(status, StatusCode::OK, "{body}");

    let password = body["pkcs12_password"].as_str().expect("password");
    assert_eq!(password.len(), 20);
    let pfx = base64::engine::general_purpose::STANDARD
        .decode(body["pkcs12"].as_str().expect("pkcs12"))
        .expect("base64");
    let pfx_path = work.path().join("max.p12");
    std::fs::write(&pfx_path, &pfx).expect("write pfx");
    let info = ok(Command::new("openssl")
        .args(["pkcs12", "-info", "-noout", "-passin"])
        .arg(format!("pass:{password}"))
        .arg("-in")
        .arg(&pfx_path));
    assert!(
        text(&info.stderr).contains("AES-256-CBC"),
        "{}",
        text(&info.stderr)
    );
    let listing = nss_import(&pfx_path, password, work.path());
    assert!(listing.contains("Max Muster"), "{listing}");

    let cert = work.path().join("max.pem");
    std::fs::write(&cert, body["certificate"].as_str().expect("cert")).expect("write");
    openssl_verify(&d.join("ca/root.pem"), &d.join("ca/class3.pem"), &cert);
    lint("lint_pkix_cert", &[], &cert);

    let key = ok(Command::new("openssl")
        .args(["pkcs12", "-nocerts", "-nodes", "-passin"])
        .arg(format!("pass:{password}"))
        .arg("-in")
        .arg(&pfx_path));
    let key_pem = text(&key.stdout);
    assert!(
        key_pem.contains("friendlyName: Max Muster (Personal Class 3 Pro)"),
        "no friendly name: {key_pem}"
    );
    let key_path = work.path().join("key.pem");
    std::fs::write(&key_path, key_pem.as_bytes()).expect("write");
    let der = ok(Command::new("openssl")
        .args(["pkey", "-outform", "DER", "-in"])
        .arg(&key_path))
    .stdout;
    // The private scalar of a P-256 PKCS#8 key: the 32 octets after `04 20` in the ECPrivateKey.
    let at = der
        .windows(2)
        .position(|w| w == [0x04, 0x20])
        .expect("private scalar");
    let scalar = &der[at + 2..at + 34];
    for (path, bytes) in snapshot_with_database(d) {
        assert!(
            !bytes.windows(32).any(|w| w == scalar),
            "the private key is in {}",
            path.display()
        );
        assert!(
            !bytes.windows(der.len()).any(|w| w == der.as_slice()),
            "the PKCS#8 key is in {}",
            path.display()
        );
    }
}

/// The audit log of an order taken to pickup verifies; a tampered row is named.
#[test]
fn the_audit_log_verifies_and_names_a_tampered_row() {
    let s = shop();
    {
        let api = s.ca.api();
        let (_, pickup) = ready(&s, &api, "p-256");
        let (status, body) = api.pick_up(&pickup, right_password());
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    drop(s.ca.server);
    let d = s.ca.data.path();
    let out = ok(signet(d).args(["audit", "verify"]));
    assert!(
        text(&out.stdout).contains("audit log intact"),
        "{}",
        text(&out.stdout)
    );
    sqlite_exec(
        &d.join("signet.db"),
        "UPDATE audit_log SET actor = 'someone else' WHERE seq = 5",
    );
    let out = run(signet(d).args(["audit", "verify"]));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("broken at record 5"),
        "{}",
        text(&out.stderr)
    );
}
