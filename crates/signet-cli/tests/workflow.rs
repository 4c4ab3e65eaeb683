//! The order workflow end to end over HTTP against `signet serve`, reading mail from the outbox
//! like a user: sign-up, order, documents, vetting, one-time pickup of a PFX judged by openssl,
//! NSS pk12util and pkilint; the private key is nowhere on disk; the audit chain verifies and a
//! tampered row is caught.

mod common;

use std::path::Path;
use std::process::Command;

use base64::Engine;
use common::*;
use reqwest::StatusCode;
use serde_json::json;

fn sqlite_exec(db: &Path, sql: &str) {
    ok(Command::new("python3").args(["-c", &format!("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"{sql}\"); c.commit()")]).arg(db));
}

#[test]
fn order_vet_and_pick_up_over_http() {
    let data = tempdir();
    let work = tempdir();
    let d = data.path();
    let server = ca_with_staff(d, &[("vetting", "vera@ca.example.com", None)]);
    let api = Api::new(&server);
    let vetting = api.staff_login(d, "vera@ca.example.com");

    // Sign-up with confirmation; an unconfirmed account cannot log in.
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
    let max = api.subscriber(d, "max@example.de");
    let other = api.subscriber(d, "eve@example.de");

    // Orders: created locked; another account sees nothing; changes get 409.
    let number = api.order(&max, "max@example.de", "p-256");
    assert_eq!(
        api.get(&format!("/api/v1/orders/{number}"), &other).0,
        StatusCode::NOT_FOUND
    );
    let res = api
        .client
        .patch(server.url(&format!("/api/v1/orders/{number}")))
        .bearer_auth(&max)
        .json(&json!({"validity_months": 39}))
        .send()
        .expect("patch");
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(
        res.text()
            .expect("body")
            .contains("cancel this order and place a new one")
    );
    // Belgium is on the agent channel: no self-service order.
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

    // The request form: a valid PDF with the locked details and the fingerprint, which vetting can check.
    let res = api
        .client
        .get(server.url(&format!("/api/v1/orders/{number}/agreement.pdf")))
        .bearer_auth(&max)
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
    let view = api.get(&format!("/api/v1/orders/{number}"), &max).1;
    let fingerprint = view["fingerprint"].as_str().expect("fingerprint");
    for expected in [
        number.as_str(),
        fingerprint,
        "Muster GmbH",
        "max@example.de",
        "Notary or Chamber of Commerce",
    ] {
        assert!(
            pdf_text.contains(expected),
            "the form lacks `{expected}`:\n{pdf_text}"
        );
    }
    assert_eq!(
        api.get(&format!("/api/v1/orders/{number}/agreement.pdf"), &other)
            .0,
        StatusCode::NOT_FOUND
    );
    let check = |fp: &str| {
        api.post(
            &format!("/api/v1/orders/{number}/fingerprint-check"),
            Some(&vetting),
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
            Some(&max),
            json!({"fingerprint": fingerprint})
        )
        .0,
        StatusCode::FORBIDDEN
    );

    // Vetting cannot begin before the signed form; uploads are checked by content.
    let (status, _) = api.post(
        &format!("/api/v1/orders/{number}/decision"),
        Some(&vetting),
        json!({"action": "approve"}),
    );
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = api.upload(&number, &max, "signed_agreement", b"MZ not a pdf");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = api.upload(&number, &other, "signed_agreement", PDF);
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = api.upload(&number, &max, "signed_agreement", PDF);
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        api.get(&format!("/api/v1/orders/{number}"), &max).1["status"],
        "in_review"
    );
    let (status, queue) = api.get("/api/v1/vetting/queue", &vetting);
    assert_eq!(status, StatusCode::OK);
    assert!(
        queue
            .as_array()
            .expect("list")
            .iter()
            .any(|i| i["order_number"] == number.as_str())
    );
    assert_eq!(
        api.get("/api/v1/vetting/queue", &max).0,
        StatusCode::FORBIDDEN
    );

    // Request information; the subscriber answers; approval waits for the approval e-mail.
    let (status, _) = api.post(
        &format!("/api/v1/orders/{number}/decision"),
        Some(&vetting),
        json!({"action": "request_info", "message": "Please add your ID copy"}),
    );
    assert_eq!(status, StatusCode::OK);
    assert!(link_in_mail(d, "max@example.de", "needs more information").contains(&number));
    let (status, _) = api.post(
        &format!("/api/v1/orders/{number}/messages"),
        Some(&max),
        json!({"message": "ID copy follows"}),
    );
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get(&format!("/api/v1/orders/{number}"), &max).1["status"],
        "in_review"
    );
    let (status, _) = api.post(
        &format!("/api/v1/orders/{number}/decision"),
        Some(&vetting),
        json!({"action": "request_info", "message": "The ID copy is still missing"}),
    );
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api.upload(&number, &max, "id_copy", PNG);
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        api.get(&format!("/api/v1/orders/{number}"), &max).1["status"],
        "in_review"
    );
    let (status, body) = api.post(
        &format!("/api/v1/orders/{number}/decision"),
        Some(&vetting),
        json!({"action": "approve"}),
    );
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("approval e-mail")
    );
    let pickup = api.to_pickup(d, &number, &max, &vetting, "max@example.de");

    // Pickup: wrong password counted; right one gives the PFX once.
    let (status, body) = api.post(
        &format!("/api/v1/pickups/{pickup}"),
        None,
        json!({"pickup_password": "wrong password"}),
    );
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = api.post(
        &format!("/api/v1/pickups/{pickup}"),
        None,
        json!({"pickup_password": "pickup-secret-42", "compatibility": "modern"}),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = api.post(
        &format!("/api/v1/pickups/{pickup}"),
        None,
        json!({"pickup_password": "pickup-secret-42"}),
    );
    assert_eq!(status, StatusCode::GONE, "a pickup link worked twice");
    assert_eq!(
        api.get(&format!("/api/v1/orders/{number}"), &max).1["status"],
        "issued"
    );

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

    // The private key is nowhere in the data directory or the database.
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

    // Two concurrent pickups of one link: exactly one succeeds.
    let second = api.order(&max, "max@example.de", "rsa-2048");
    let token = api.to_pickup(d, &second, &max, &vetting, "max@example.de");
    let results: Vec<StatusCode> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    api.post(
                        &format!("/api/v1/pickups/{token}"),
                        None,
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

    // Cancel: only the owner; others get 404 (they cannot see the order).
    let third = api.order(&max, "max@example.de", "p-384");
    assert_eq!(
        api.post(
            &format!("/api/v1/orders/{third}/cancel"),
            Some(&other),
            json!({})
        )
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.post(
            &format!("/api/v1/orders/{third}/cancel"),
            Some(&max),
            json!({})
        )
        .0,
        StatusCode::OK
    );
    assert_eq!(
        api.post(
            &format!("/api/v1/orders/{third}/cancel"),
            Some(&max),
            json!({})
        )
        .0,
        StatusCode::CONFLICT
    );

    // The audit log verifies; a tampered row is named.
    drop(server);
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
