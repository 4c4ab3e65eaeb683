//! After issuance, over HTTP, in scenarios that each start a server of their own: certificate and
//! public-key downloads, expiry reminders, reissue (new key, same end date, old one revoked),
//! renewal, revocation by the owner and by the operator command, reorder with carried-over
//! evidence and support's expedite, and the agent channel (orders through an agent, reissue only
//! through support, no renewal).

mod common;

use std::process::Command;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

const MAX: &str = "max@example.de";

type Staff = (&'static str, &'static str, Option<&'static str>);
const VETTING: Staff = ("vetting", "vera@ca.example.com", None);
const SUPPORT: Staff = ("support", "sam@ca.example.com", None);
const AGENT: Staff = ("agent", "kbo@agent.example.be", Some("BE"));

/// The subscribers Max and Eve, signed up and logged in: their tokens.
fn subscribers(ca: &Ca) -> [String; 2] {
    let api = ca.api();
    [MAX, "eve@example.de"].map(|email| api.subscriber(ca.dir(), email))
}

/// Picks up with the pickup password, which must work: the answer.
fn pick_up(api: &Api, token: &str, pickup_password: &str) -> serde_json::Value {
    let (status, picked) = api.pick_up(token, json!({"pickup_password": pickup_password}));
    assert_eq!(status, StatusCode::OK, "{picked}");
    picked
}

/// A CA with a vetting officer, and the subscribers Max and Eve, all logged in; Max holds a
/// one-month certificate, vetted and picked up.
struct Issued {
    ca: Ca,
    max: String,
    eve: String,
    serial: String,
}

fn issued() -> Issued {
    let (ca, [vetting]) = Ca::with_staff([VETTING]);
    let [max, eve] = subscribers(&ca);
    let serial = {
        let api = ca.api();
        let number = api.place(
            &max,
            json!({"product": "personal-3-pro", "subject": {"given_name": "Max", "surname": "Muster", "email": MAX, "organization": "Muster GmbH", "country": "DE"},
                   "approval_email": MAX, "pickup_password": "pickup-secret-42", "validity_months": 1, "key_type": "p-256"}),
        );
        let token = api.to_pickup(ca.dir(), &number, &max, &vetting, MAX);
        let picked = pick_up(&api, &token, "pickup-secret-42");
        picked["serial"].as_str().expect("serial").to_owned()
    };
    Issued {
        ca,
        max,
        eve,
        serial,
    }
}

/// Max reissues his certificate, the old one revoked as superseded, and picks the new one up:
/// its serial.
fn reissued(o: &Issued, api: &Api) -> String {
    let (status, re) = api.post(
        &format!("/api/v1/certificates/{}/reissue", o.serial),
        Some(&o.max),
        json!({"pickup_password": "another-secret", "revoke_previous": "superseded"}),
    );
    assert_eq!(
        (status, re["status"].as_str()),
        (StatusCode::CREATED, Some("ready_for_pickup")),
        "{re}"
    );
    let reissue_number = re["order_number"].as_str().expect("number");
    let token = pickup_token(o.ca.dir(), MAX, reissue_number);
    let picked = pick_up(api, &token, "another-secret");
    picked["serial"].as_str().expect("serial").to_owned()
}

/// The owner downloads (PEM, DER, public key); others get 404.
#[test]
fn the_owner_downloads_the_certificate_and_its_public_key_and_nobody_else() {
    let o = issued();
    let work = tempdir();
    let api = o.ca.api();
    let serial = &o.serial;
    let (status, cert) = api.get(&format!("/api/v1/certificates/{serial}"), &o.max);
    assert_eq!(
        (status, cert["status"].as_str()),
        (StatusCode::OK, Some("valid")),
        "{cert}"
    );
    assert_eq!(
        api.get(&format!("/api/v1/certificates/{serial}"), &o.eve).0,
        StatusCode::NOT_FOUND
    );
    let der = api
        .client
        .get(
            o.ca.server
                .url(&format!("/api/v1/certificates/{serial}/certificate.der")),
        )
        .bearer_auth(&o.max)
        .send()
        .expect("der");
    assert_eq!(der.headers()["content-type"], "application/pkix-cert");
    let der_path = work.path().join("c.der");
    std::fs::write(&der_path, der.bytes().expect("body")).expect("write");
    let parsed = ok(Command::new("openssl")
        .args(["x509", "-inform", "DER", "-noout", "-serial", "-in"])
        .arg(&der_path));
    assert!(
        text(&parsed.stdout)
            .to_uppercase()
            .contains(serial.as_str()),
        "{}",
        text(&parsed.stdout)
    );
    let key = cert["public_key"].as_str().expect("public key").to_owned();
    assert!(key.starts_with("-----BEGIN PUBLIC KEY-----"));
}

/// A one-month certificate: five days later its reminder is due, whatever the month's length;
/// it is sent once.
#[test]
fn an_expiry_reminder_is_sent_once_per_certificate() {
    let o = issued();
    let d = o.ca.dir();
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
    assert!(link_in_mail(d, MAX, "Your certificate expires on").contains(&o.serial));
}

/// Only the owner reissues, revoking the old certificate only as superseded; the new
/// certificate has a new key and the same end date.
#[test]
fn a_reissue_keeps_the_end_date_and_revokes_the_old_certificate() {
    let o = issued();
    let api = o.ca.api();
    let serial = &o.serial;
    let cert = api.get(&format!("/api/v1/certificates/{serial}"), &o.max).1;
    let (status, re) = api.post(
        &format!("/api/v1/certificates/{serial}/reissue"),
        Some(&o.eve),
        json!({"pickup_password": "another-secret"}),
    );
    assert_eq!(status, StatusCode::NOT_FOUND, "{re}");
    let (status, re) = api.post(
        &format!("/api/v1/certificates/{serial}/reissue"),
        Some(&o.max),
        json!({"pickup_password": "another-secret", "revoke_previous": "affiliation_changed"}),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{re}");
    let serial2 = reissued(&o, &api);
    let new = api
        .get(&format!("/api/v1/certificates/{serial2}"), &o.max)
        .1;
    assert_eq!(
        new["not_after"], cert["not_after"],
        "a reissue keeps the end date"
    );
    assert_ne!(
        new["public_key"], cert["public_key"],
        "a reissue has a new key"
    );
    let old = api.get(&format!("/api/v1/certificates/{serial}"), &o.max).1;
    assert_eq!(
        (old["status"].as_str(), old["revocation_reason"].as_str()),
        (Some("revoked"), Some("superseded"))
    );
}

/// Renewing a reissued certificate: a new order pre-filled, the documents carried over.
#[test]
fn a_renewal_is_a_prefilled_order_with_the_evidence_carried_over() {
    let o = issued();
    let api = o.ca.api();
    let serial2 = reissued(&o, &api);
    let (status, renewal) = api.post(
        &format!("/api/v1/certificates/{serial2}/renew"),
        Some(&o.max),
        json!({"pickup_password": "renewal-secret", "validity_months": 12}),
    );
    assert_eq!(status, StatusCode::CREATED, "{renewal}");
    let view = api
        .get(
            &format!(
                "/api/v1/orders/{}",
                renewal["order_number"].as_str().expect("n")
            ),
            &o.max,
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
}

/// Bad reasons get 422 and other accounts 404; after the operator command revoked it, the
/// owner's revocation is a conflict and the operator's reason stands.
#[test]
fn after_the_operator_revoked_a_certificate_the_owners_revocation_is_a_conflict() {
    let o = issued();
    let api = o.ca.api();
    let serial = &o.serial;
    let revoke = |token: &str, reason: &str| {
        api.post(
            &format!("/api/v1/certificates/{serial}/revoke"),
            Some(token),
            json!({"reason": reason}),
        )
        .0
    };
    assert_eq!(revoke(&o.max, "because"), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(revoke(&o.eve, "key_compromise"), StatusCode::NOT_FOUND);
    ok(signet(o.ca.dir()).args(["revoke", serial, "--reason", "key_compromise"]));
    assert_eq!(revoke(&o.max, "key_compromise"), StatusCode::CONFLICT);
    assert_eq!(
        api.get(&format!("/api/v1/certificates/{serial}"), &o.max).1["revocation_reason"],
        "key_compromise"
    );
}

/// Reorder: only the owner; the old order is cancelled; with the identity unchanged the evidence
/// carries over and support may expedite, with a corrected identity not.
#[test]
fn a_reorder_cancels_the_old_order_and_support_expedites_it_only_with_the_same_identity() {
    let (ca, [support]) = Ca::with_staff([SUPPORT]);
    let [max, eve] = &subscribers(&ca);
    let api = ca.api();
    let expedite = |number: &str, token: &str| {
        api.post(
            &format!("/api/v1/orders/{number}/expedite"),
            Some(token),
            json!({}),
        )
        .0
    };
    let o3 = api.order(max, MAX, "p-256");
    assert_eq!(
        api.upload(&o3, max, "signed_agreement", PDF).0,
        StatusCode::CREATED
    );
    assert_eq!(
        api.post(
            &format!("/api/v1/orders/{o3}/reorder"),
            Some(eve),
            json!({"pickup_password": "new-pickup-pw"})
        )
        .0,
        StatusCode::NOT_FOUND
    );
    let (status, o4) = api.post(
        &format!("/api/v1/orders/{o3}/reorder"),
        Some(max),
        json!({"pickup_password": "new-pickup-pw", "key_type": "p-384"}),
    );
    assert_eq!(status, StatusCode::CREATED, "{o4}");
    assert_eq!(
        api.get(&format!("/api/v1/orders/{o3}"), max).1["status"],
        "cancelled"
    );
    let o4 = o4["order_number"].as_str().expect("n").to_owned();
    assert_eq!(expedite(&o4, max), StatusCode::FORBIDDEN);
    assert_eq!(expedite(&o4, &support), StatusCode::OK);
    assert_eq!(
        api.get(&format!("/api/v1/orders/{o4}"), max).1["status"],
        "in_review"
    );
    let mut corrected = json!({"pickup_password": "new-pickup-pw", "subject": {"given_name": "Maximilian", "surname": "Muster", "email": MAX, "organization": "Muster GmbH", "country": "DE"}});
    let (status, o5) = api.post(
        &format!("/api/v1/orders/{o4}/reorder"),
        Some(max),
        corrected.take(),
    );
    assert_eq!(status, StatusCode::CREATED, "{o5}");
    let o5 = o5["order_number"].as_str().expect("n").to_owned();
    assert_eq!(expedite(&o5, &support), StatusCode::CONFLICT);
}

/// The agent orders and attests; the S/MIME certificate lints clean; the agent can neither renew
/// nor reissue it, support can reissue it.
#[test]
fn the_agent_channel_reissues_only_through_support_and_has_no_renewal() {
    let (ca, [vetting, support, agent]) = Ca::with_staff([VETTING, SUPPORT, AGENT]);
    let work = tempdir();
    let api = ca.api();
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
    let token = api.to_pickup(ca.dir(), &be, &agent, &vetting, "anna@example.be");
    let picked = pick_up(&api, &token, "pickup-secret-42");
    let cert = work.path().join("anna.pem");
    std::fs::write(&cert, picked["certificate"].as_str().expect("pem")).expect("write");
    lint("lint_cabf_smime_cert", &["-d"], &cert);
    let serial3 = picked["serial"].as_str().expect("serial").to_owned();
    let ask = |what: &str, token: &str| {
        api.post(
            &format!("/api/v1/certificates/{serial3}/{what}"),
            Some(token),
            json!({"pickup_password": "renewal-secret"}),
        )
    };
    assert_eq!(ask("renew", &agent).0, StatusCode::FORBIDDEN);
    assert_eq!(ask("reissue", &agent).0, StatusCode::FORBIDDEN);
    let (status, body) = ask("reissue", &support);
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
