//! Account and pickup security over HTTP: login throttling and lockout, password reset by a
//! single-use link, logout, pickup lockout after wrong passwords (support needed), pickup with
//! a CSR (no key leaves the subscriber), oversized and disguised uploads, cookie attributes.

mod common;

use std::process::Command;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

#[test]
fn accounts_and_pickup_resist_guessing() {
    let data = tempdir();
    let work = tempdir();
    let d = data.path();
    let server = ca_with_staff(d, &[("vetting", "vera@ca.example.com", None)]);
    let api = Api::new(&server);
    let vetting = api.staff_login(d, "vera@ca.example.com");
    api.subscriber(d, "max@example.de");

    // The session cookie is HttpOnly and SameSite; logout ends the session.
    let res = api
        .client
        .post(server.url("/api/v1/sessions"))
        .json(&json!({"email": "max@example.de", "password": "a long enough password"}))
        .send()
        .expect("login");
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let token = res.json::<serde_json::Value>().expect("json")["token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(api.get("/api/v1/orders", &token).0, StatusCode::OK);
    let res = api
        .client
        .delete(server.url("/api/v1/sessions"))
        .bearer_auth(&token)
        .send()
        .expect("logout");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        api.get("/api/v1/orders", &token).0,
        StatusCode::UNAUTHORIZED
    );

    // Password reset: answers the same for unknown addresses; the link works once.
    assert_eq!(
        api.post(
            "/api/v1/password-resets",
            None,
            json!({"email": "nobody@example.de"})
        )
        .0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        api.post(
            "/api/v1/password-resets",
            None,
            json!({"email": "max@example.de"})
        )
        .0,
        StatusCode::ACCEPTED
    );
    let link = link_in_mail(d, "max@example.de", "Reset your Signet password");
    let reset_token = link.rsplit('/').next().expect("token");
    assert_eq!(
        api.post(
            &format!("/api/v1/password-resets/{reset_token}"),
            None,
            json!({"password": "short"})
        )
        .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        api.post(
            &format!("/api/v1/password-resets/{reset_token}"),
            None,
            json!({"password": "a brand new password"})
        )
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.post(
            &format!("/api/v1/password-resets/{reset_token}"),
            None,
            json!({"password": "yet another password"})
        )
        .0,
        StatusCode::GONE
    );
    let max = api.log_in("max@example.de", "a brand new password");

    // Failed logins slow down, then lock the account.
    let mut statuses = Vec::new();
    for _ in 0..11 {
        statuses.push(
            api.post(
                "/api/v1/sessions",
                None,
                json!({"email": "max@example.de", "password": "wrong password!!"}),
            )
            .0,
        );
    }
    assert_eq!(
        statuses[..10]
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(statuses[10], StatusCode::LOCKED);
    let (status, body) = api.post(
        "/api/v1/sessions",
        None,
        json!({"email": "max@example.de", "password": "a brand new password"}),
    );
    assert_eq!(
        status,
        StatusCode::LOCKED,
        "the right password must not bypass the lock: {body}"
    );

    // Uploads: a disguised executable and an oversized file are refused.
    let number = api.order(&max, "max@example.de", "csr");
    assert_eq!(
        api.upload(&number, &max, "id_copy", b"MZ\x90\x00 pretending")
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut big = b"%PDF-1.4\n".to_vec();
    big.resize(10 * 1024 * 1024 + 1, b' ');
    let (status, _) = api.upload(&number, &max, "id_copy", &big);
    assert!(
        status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::PAYLOAD_TOO_LARGE,
        "{status}"
    );

    // Pickup with a CSR: the key never leaves the subscriber; no PKCS#12 comes back.
    let token = api.to_pickup(d, &number, &max, &vetting, "max@example.de");
    let (status, body) = api.post(
        &format!("/api/v1/pickups/{token}"),
        None,
        json!({"pickup_password": "pickup-secret-42"}),
    );
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an order for a CSR needs one: {body}"
    );
    let csr_path = csr(work.path(), "sub", KEYS[3].1);
    let csr_pem = std::fs::read_to_string(&csr_path).expect("csr");
    let (status, body) = api.post(
        &format!("/api/v1/pickups/{token}"),
        None,
        json!({"pickup_password": "pickup-secret-42", "csr": csr_pem}),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("pkcs12").is_none() && body.get("pkcs12_password").is_none());
    let cert = work.path().join("csr-cert.pem");
    std::fs::write(&cert, body["certificate"].as_str().expect("pem")).expect("write");
    let pubkey = ok(Command::new("openssl")
        .args(["req", "-noout", "-pubkey", "-in"])
        .arg(&csr_path));
    let certkey = ok(Command::new("openssl")
        .args(["x509", "-noout", "-pubkey", "-in"])
        .arg(&cert));
    assert_eq!(
        pubkey.stdout, certkey.stdout,
        "the certificate is not for the CSR's key"
    );

    // Wrong pickup passwords lock the pickup after five tries.
    let second = api.order(&max, "max@example.de", "p-256");
    let token = api.to_pickup(d, &second, &max, &vetting, "max@example.de");
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            api.post(
                &format!("/api/v1/pickups/{token}"),
                None,
                json!({"pickup_password": "not it at all"}),
            )
            .0,
        );
    }
    assert_eq!(statuses[..4], [StatusCode::FORBIDDEN; 4], "{statuses:?}");
    assert_eq!(statuses[4], StatusCode::LOCKED);
    let (status, body) = api.post(
        &format!("/api/v1/pickups/{token}"),
        None,
        json!({"pickup_password": "pickup-secret-42"}),
    );
    assert_eq!(
        status,
        StatusCode::LOCKED,
        "a locked pickup must stay locked: {body}"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("contact support")
    );
}
