//! After issuance, over HTTP: certificate and public-key downloads, expiry reminders, reissue
//! (new key, same end date, old one revoked), renewal, revocation by the owner and by the
//! operator command, reorder with carried-over evidence and support's expedite, and the agent
//! channel (orders through an agent, reissue only through support, no renewal).

mod common;

use std::process::Command;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

#[test]
fn certificate_lifecycle_over_http() {
    let data = tempdir();
    let work = tempdir();
    let d = data.path();
    let server = ca_with_staff(
        d,
        &[
            ("vetting", "vera@ca.example.com", None),
            ("support", "sam@ca.example.com", None),
            ("agent", "kbo@agent.example.be", Some("BE")),
        ],
    );
    let api = Api::new(&server);
    let vetting = api.staff_login(d, "vera@ca.example.com");
    let support = api.staff_login(d, "sam@ca.example.com");
    let agent = api.staff_login(d, "kbo@agent.example.be");
    let max = api.subscriber(d, "max@example.de");
    let eve = api.subscriber(d, "eve@example.de");

    // A one-month certificate: five days later its reminder is due, whatever the month's length.
    let number = api.place(
        &max,
        json!({"product": "personal-3-pro", "subject": {"given_name": "Max", "surname": "Muster", "email": "max@example.de", "organization": "Muster GmbH", "country": "DE"},
               "approval_email": "max@example.de", "pickup_password": "pickup-secret-42", "validity_months": 1, "key_type": "p-256"}),
    );
    let token = api.to_pickup(d, &number, &max, &vetting, "max@example.de");
    let (status, picked) = api.post(
        &format!("/api/v1/pickups/{token}"),
        None,
        json!({"pickup_password": "pickup-secret-42"}),
    );
    assert_eq!(status, StatusCode::OK, "{picked}");
    let serial = picked["serial"].as_str().expect("serial").to_owned();

    // Downloads: owner yes (PEM, DER, public key), others no.
    let (status, cert) = api.get(&format!("/api/v1/certificates/{serial}"), &max);
    assert_eq!(
        (status, cert["status"].as_str()),
        (StatusCode::OK, Some("valid")),
        "{cert}"
    );
    assert_eq!(
        api.get(&format!("/api/v1/certificates/{serial}"), &eve).0,
        StatusCode::NOT_FOUND
    );
    let der = api
        .client
        .get(server.url(&format!("/api/v1/certificates/{serial}/certificate.der")))
        .bearer_auth(&max)
        .send()
        .expect("der");
    assert_eq!(der.headers()["content-type"], "application/pkix-cert");
    let der_path = work.path().join("c.der");
    std::fs::write(&der_path, der.bytes().expect("body")).expect("write");
    let parsed = ok(Command::new("openssl")
        .args(["x509", "-inform", "DER", "-noout", "-serial", "-in"])
        .arg(&der_path));
    assert!(
        text(&parsed.stdout).to_uppercase().contains(&serial),
        "{}",
        text(&parsed.stdout)
    );
    let old_key = cert["public_key"].as_str().expect("public key").to_owned();
    assert!(old_key.starts_with("-----BEGIN PUBLIC KEY-----"));

    // Expiry reminders: once per certificate (the clock five days on).
    let reminders = || {
        let mut cmd = signet(d);
        cmd.args(["jobs", "--only", "reminders"]);
        cmd
    };
    let later = || {
        let mut cmd = reminders();
        cmd.env("SIGNET_TEST_CLOCK_OFFSET_SECONDS", (5 * 86_400).to_string());
        cmd
    };
    assert!(text(&ok(&mut later()).stdout).contains("expiry reminders sent: 1"));
    assert!(text(&ok(&mut later()).stdout).contains("expiry reminders sent: 0"));
    assert!(link_in_mail(d, "max@example.de", "Your certificate expires on").contains(&serial));

    // Reissue: a new key, the same end date; the old certificate revoked as superseded.
    let (status, re) = api.post(
        &format!("/api/v1/certificates/{serial}/reissue"),
        Some(&eve),
        json!({"pickup_password": "another-secret"}),
    );
    assert_eq!(status, StatusCode::NOT_FOUND, "{re}");
    let (status, re) = api.post(
        &format!("/api/v1/certificates/{serial}/reissue"),
        Some(&max),
        json!({"pickup_password": "another-secret", "revoke_previous": "affiliation_changed"}),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{re}");
    let (status, re) = api.post(
        &format!("/api/v1/certificates/{serial}/reissue"),
        Some(&max),
        json!({"pickup_password": "another-secret", "revoke_previous": "superseded"}),
    );
    assert_eq!(
        (status, re["status"].as_str()),
        (StatusCode::CREATED, Some("ready_for_pickup")),
        "{re}"
    );
    let reissue_number = re["order_number"].as_str().expect("number");
    let token = link_in_mail(
        d,
        "max@example.de",
        &format!("Your certificate is ready: order {reissue_number}"),
    )
    .rsplit('/')
    .next()
    .expect("t")
    .to_owned();
    let (status, picked) = api.post(
        &format!("/api/v1/pickups/{token}"),
        None,
        json!({"pickup_password": "another-secret"}),
    );
    assert_eq!(status, StatusCode::OK, "{picked}");
    let serial2 = picked["serial"].as_str().expect("serial").to_owned();
    let new = api.get(&format!("/api/v1/certificates/{serial2}"), &max).1;
    assert_eq!(
        new["not_after"], cert["not_after"],
        "a reissue keeps the end date"
    );
    assert_ne!(
        new["public_key"], cert["public_key"],
        "a reissue has a new key"
    );
    let old = api.get(&format!("/api/v1/certificates/{serial}"), &max).1;
    assert_eq!(
        (old["status"].as_str(), old["revocation_reason"].as_str()),
        (Some("revoked"), Some("superseded"))
    );

    // Renewal: a new order pre-filled, documents carried over.
    let (status, renewal) = api.post(
        &format!("/api/v1/certificates/{serial2}/renew"),
        Some(&max),
        json!({"pickup_password": "renewal-secret", "validity_months": 12}),
    );
    assert_eq!(status, StatusCode::CREATED, "{renewal}");
    let view = api
        .get(
            &format!(
                "/api/v1/orders/{}",
                renewal["order_number"].as_str().expect("n")
            ),
            &max,
        )
        .1;
    assert_eq!(
        (view["status"].as_str(), view["validity_months"].as_u64()),
        (Some("awaiting_documents"), Some(12))
    );
    assert!(
        !view["documents"].as_array().expect("docs").is_empty(),
        "evidence not carried over: {view}"
    );

    // Revocation: the operator command, then the owner's second try is a conflict; bad reasons 422.
    assert_eq!(
        api.post(
            &format!("/api/v1/certificates/{serial2}/revoke"),
            Some(&max),
            json!({"reason": "because"})
        )
        .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        api.post(
            &format!("/api/v1/certificates/{serial2}/revoke"),
            Some(&eve),
            json!({"reason": "key_compromise"})
        )
        .0,
        StatusCode::NOT_FOUND
    );
    ok(signet(d).args(["revoke", &serial2, "--reason", "key_compromise"]));
    assert_eq!(
        api.post(
            &format!("/api/v1/certificates/{serial2}/revoke"),
            Some(&max),
            json!({"reason": "key_compromise"})
        )
        .0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        api.get(&format!("/api/v1/certificates/{serial2}"), &max).1["revocation_reason"],
        "key_compromise"
    );

    // Reorder: the old order is cancelled; unchanged identity carries evidence; support expedites.
    let o3 = api.order(&max, "max@example.de", "p-256");
    assert_eq!(
        api.upload(&o3, &max, "signed_agreement", PDF).0,
        StatusCode::CREATED
    );
    assert_eq!(
        api.post(
            &format!("/api/v1/orders/{o3}/reorder"),
            Some(&eve),
            json!({"pickup_password": "new-pickup-pw"})
        )
        .0,
        StatusCode::NOT_FOUND
    );
    let (status, o4) = api.post(
        &format!("/api/v1/orders/{o3}/reorder"),
        Some(&max),
        json!({"pickup_password": "new-pickup-pw", "key_type": "p-384"}),
    );
    assert_eq!(status, StatusCode::CREATED, "{o4}");
    assert_eq!(
        api.get(&format!("/api/v1/orders/{o3}"), &max).1["status"],
        "cancelled"
    );
    let o4 = o4["order_number"].as_str().expect("n").to_owned();
    assert_eq!(
        api.post(
            &format!("/api/v1/orders/{o4}/expedite"),
            Some(&max),
            json!({})
        )
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        api.post(
            &format!("/api/v1/orders/{o4}/expedite"),
            Some(&support),
            json!({})
        )
        .0,
        StatusCode::OK
    );
    assert_eq!(
        api.get(&format!("/api/v1/orders/{o4}"), &max).1["status"],
        "in_review"
    );
    let mut corrected = json!({"pickup_password": "new-pickup-pw", "subject": {"given_name": "Maximilian", "surname": "Muster", "email": "max@example.de", "organization": "Muster GmbH", "country": "DE"}});
    let (status, o5) = api.post(
        &format!("/api/v1/orders/{o4}/reorder"),
        Some(&max),
        corrected.take(),
    );
    assert_eq!(status, StatusCode::CREATED, "{o5}");
    let o5 = o5["order_number"].as_str().expect("n").to_owned();
    assert_eq!(
        api.post(
            &format!("/api/v1/orders/{o5}/expedite"),
            Some(&support),
            json!({})
        )
        .0,
        StatusCode::CONFLICT
    );

    // Agent channel: the agent orders and attests; reissue only via support; no renewal.
    let be = api.place(
        &agent,
        json!({"product": "personal-smime", "subject": {"given_name": "Anna", "surname": "Peeters", "email": "anna@example.be", "organization": "Example NV", "country": "BE", "organization_identifier": "VATBE-0123456789"},
               "approval_email": "anna@example.be", "pickup_password": "pickup-secret-42", "validity_months": 24, "key_type": "rsa-2048"}),
    );
    assert_eq!(
        api.post(
            &format!("/api/v1/orders/{be}/attestation"),
            Some(&agent),
            json!({})
        )
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.get(&format!("/api/v1/orders/{be}"), &agent).1["attested"],
        true
    );
    let token = api.to_pickup(d, &be, &agent, &vetting, "anna@example.be");
    let (status, picked) = api.post(
        &format!("/api/v1/pickups/{token}"),
        None,
        json!({"pickup_password": "pickup-secret-42"}),
    );
    assert_eq!(status, StatusCode::OK, "{picked}");
    let cert = work.path().join("anna.pem");
    std::fs::write(&cert, picked["certificate"].as_str().expect("pem")).expect("write");
    lint("lint_cabf_smime_cert", &["-d"], &cert);
    let serial3 = picked["serial"].as_str().expect("serial").to_owned();
    assert_eq!(
        api.post(
            &format!("/api/v1/certificates/{serial3}/renew"),
            Some(&agent),
            json!({"pickup_password": "renewal-secret"})
        )
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        api.post(
            &format!("/api/v1/certificates/{serial3}/reissue"),
            Some(&agent),
            json!({"pickup_password": "renewal-secret"})
        )
        .0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = api.post(
        &format!("/api/v1/certificates/{serial3}/reissue"),
        Some(&support),
        json!({"pickup_password": "renewal-secret"}),
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
