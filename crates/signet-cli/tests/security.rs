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
    // The cookie alone reads, but changes nothing: a cross-site form could send it.
    let session_cookie = cookie.split(';').next().expect("name=value").to_owned();
    let read = api
        .client
        .get(server.url("/api/v1/orders"))
        .header("cookie", &session_cookie)
        .send()
        .expect("read");
    assert_eq!(read.status(), StatusCode::OK);
    let before = read.json::<serde_json::Value>().expect("json");
    let forged = api
        .client
        .post(server.url("/api/v1/orders"))
        .header("cookie", &session_cookie)
        .json(&json!({
            "product": "personal-3-pro",
            "subject": {"given_name": "Max", "surname": "Muster", "email": "max@example.de", "organization": "Muster GmbH", "country": "DE"},
            "approval_email": "max@example.de",
            "pickup_password": "pickup-secret-42",
            "validity_months": 12,
            "key_type": "p-256",
        }))
        .send()
        .expect("forged");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(forged.text().expect("body").contains("Bearer"));
    assert_eq!(
        api.get("/api/v1/orders", &token).1,
        before,
        "no order was placed"
    );
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
    api.log_in("max@example.de", "a brand new password");

    // Guessing from one client is throttled before it can lock the account…
    let wrong = json!({"email": "max@example.de", "password": "wrong password!!"});
    let right = json!({"email": "max@example.de", "password": "a brand new password"});
    let statuses: Vec<_> = (0..10)
        .map(|_| api.post("/api/v1/sessions", None, wrong.clone()).0)
        .collect();
    assert_eq!(statuses[..8], [StatusCode::UNAUTHORIZED; 8], "{statuses:?}");
    assert_eq!(
        statuses[8..],
        [StatusCode::TOO_MANY_REQUESTS; 2],
        "{statuses:?}"
    );
    // …so the owner, elsewhere, still gets in (and the failures are cleared).
    let owner = Api::from_address(&server, "127.0.0.9");
    let max = owner.log_in("max@example.de", "a brand new password");
    // Guesses from many clients lock it for a while: the right password then gets the answer
    // a wrong one gets, an unknown address gets it too, and the owner is told by mail.
    for i in 0..10 {
        let guesser = Api::from_address(&server, &format!("127.0.1.{i}"));
        assert_eq!(
            guesser.post("/api/v1/sessions", None, wrong.clone()).0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (status, locked) = owner.post("/api/v1/sessions", None, right.clone());
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the right password must not bypass the lock"
    );
    let (_, guessed) = owner.post("/api/v1/sessions", None, wrong.clone());
    let (_, unknown) = owner.post(
        "/api/v1/sessions",
        None,
        json!({"email": "nobody@example.de", "password": "wrong password!!"}),
    );
    assert_eq!(locked["detail"], guessed["detail"]);
    assert_eq!(locked["detail"], unknown["detail"]);
    let notice = link_in_mail(d, "max@example.de", "locked for a while");
    assert!(notice.starts_with("/reset"), "{notice}");
    // A reset lifts the lock at once and ends every other session.
    assert_eq!(api.get("/api/v1/orders", &max).0, StatusCode::OK);
    let (status, _) = owner.post(
        "/api/v1/password-resets",
        None,
        json!({"email": "max@example.de"}),
    );
    assert_eq!(status, StatusCode::ACCEPTED);
    let fresh = owner.set_password_and_log_in(
        d,
        "max@example.de",
        "Reset your Signet password",
        "a third good password",
    );
    assert_eq!(
        api.get("/api/v1/orders", &max).0,
        StatusCode::UNAUTHORIZED,
        "a password reset ends the other sessions"
    );
    let max = fresh;

    // Uploads: a disguised executable and an oversized file are refused.
    let number = api.order(&max, "max@example.de", "csr");
    assert_eq!(
        api.upload(&number, &max, "id_copy", b"MZ\x90\x00 pretending")
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // A text file behind a PDF header is read, and refused.
    let (status, body) = api.upload(&number, &max, "id_copy", b"%PDF-1.7\nonly text, no PDF\n");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("cannot be read"), "{body}");
    // Over 10 MiB: 413, as a problem document.
    let mut big = PDF.to_vec();
    big.resize(11 * 1024 * 1024, b' ');
    let (status, body) = api.upload(&number, &max, "id_copy", &big);
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["status"], 413, "{body}");
    let mut just_over = PDF.to_vec();
    just_over.resize(10 * 1024 * 1024 + 1, b' ');
    let (status, _) = api.upload(&number, &max, "id_copy", &just_over);
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // A multipart body that breaks off mid-way is refused before its content is read.
    let broken = api
        .client
        .post(server.url(&format!("/api/v1/orders/{number}/documents")))
        .bearer_auth(&max)
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body("--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n%PDF-1.4 and then nothing")
        .send()
        .expect("broken multipart");
    assert_eq!(broken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: serde_json::Value = broken.json().expect("problem document");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("file")),
        "{problem}"
    );
    // Each refused upload is audited with its reason, and stored nothing.
    let refused: Vec<String> = audit_log(d)
        .into_iter()
        .filter(|e| e.action == "order.document_upload.refused")
        .map(|e| e.detail)
        .collect();
    assert_eq!(refused.len(), 5, "{refused:?}");
    assert!(
        refused.iter().any(|r| r.contains("cannot be read")),
        "{refused:?}"
    );
    assert_eq!(
        refused.iter().filter(|r| r.contains("10 MiB")).count(),
        2,
        "{refused:?}"
    );
    assert!(
        api.get(&format!("/api/v1/orders/{number}"), &max).1["documents"]
            .as_array()
            .is_some_and(Vec::is_empty)
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

/// Staff who can cause issuance or revocation need a TOTP code (RFC 6238) after their
/// password: set up on first use, single-use codes, wrong codes counted like wrong passwords,
/// the shared secret sealed in the database. Agents and subscribers are not asked.
#[test]
fn vetting_staff_log_in_with_a_second_factor() {
    let data = tempdir();
    let d = data.path();
    let server = ca_with_staff(
        d,
        &[
            ("vetting", "vera@ca.example.com", None),
            ("agent", "kbo@agent.example.nl", Some("NL")),
        ],
    );
    let api = Api::new(&server);
    let set_password = |email: &str| {
        let link = link_in_mail(d, email, "staff account");
        let token = link.rsplit('/').next().expect("token").to_owned();
        let (status, body) = api.post(
            &format!("/api/v1/password-resets/{token}"),
            None,
            json!({"password": STAFF_PASSWORD}),
        );
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    };
    set_password("vera@ca.example.com");
    set_password("kbo@agent.example.nl");
    let login = |code: Option<&str>| {
        api.post(
            "/api/v1/sessions",
            None,
            json!({"email": "vera@ca.example.com", "password": STAFF_PASSWORD, "totp_code": code}),
        )
    };

    // The password alone: told to set up a second factor; no session.
    let (status, body) = login(None);
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("second factor"),
        "{body}"
    );
    // A registration agent cannot cause issuance alone and logs in with the password.
    let (status, body) = api.post(
        "/api/v1/sessions",
        None,
        json!({"email": "kbo@agent.example.nl", "password": STAFF_PASSWORD}),
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = api.post(
        "/api/v1/second-factor",
        None,
        json!({"email": "vera@ca.example.com", "password": "not the password"}),
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    let (status, enrolled) = api.post(
        "/api/v1/second-factor",
        None,
        json!({"email": "vera@ca.example.com", "password": STAFF_PASSWORD}),
    );
    assert_eq!(status, StatusCode::CREATED, "{enrolled}");
    let secret = enrolled["secret"].as_str().expect("secret").to_owned();
    assert!(
        enrolled["otpauth_uri"]
            .as_str()
            .is_some_and(|u| u.starts_with("otpauth://totp/Signet:") && u.contains(&secret)),
        "{enrolled}"
    );
    authenticator()
        .lock()
        .expect("lock")
        .insert("vera@ca.example.com".into(), (secret.clone(), 0));

    // A wrong code gets the answer a wrong password gets.
    let (status, body) = login(Some("000000"));
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (_, wrong_password) = api.post(
        "/api/v1/sessions",
        None,
        json!({"email": "vera@ca.example.com", "password": "not the password", "totp_code": "000000"}),
    );
    assert_eq!(body["detail"], wrong_password["detail"]);
    let code = totp_code(d, "vera@ca.example.com");
    let (status, body) = login(Some(&code));
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = login(Some(&code));
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a code works once: {body}"
    );
    let (status, body) = login(None);
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("6-digit code"),
        "{body}"
    );
    let (status, body) = api.post(
        "/api/v1/second-factor",
        None,
        json!({"email": "vera@ca.example.com", "password": STAFF_PASSWORD}),
    );
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "no silent re-enrolment: {body}"
    );
    let (status, body) = login(Some(&totp_code(d, "vera@ca.example.com")));
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The shared secret is nowhere in the database in clear, and the sealing key file is 0600.
    let raw = totp_rs::Secret::try_from_base32(&secret).expect("base32");
    for (path, bytes) in snapshot_with_database(d) {
        assert!(
            !bytes
                .windows(raw.as_bytes().len())
                .any(|w| w == raw.as_bytes())
                || path.ends_with("totp-sealing.key"),
            "the TOTP secret is in clear in {}",
            path.display()
        );
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the base32 TOTP secret is in {}",
            path.display()
        );
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(d.join("secrets/totp-sealing.key"))
        .expect("sealing key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // The audit chain, with the failed and successful logins, still verifies.
    ok(signet(d).args(["audit", "verify"]));
}
