//! Officers sign their decisions (issue 15, items 3 and 4), as an API client with no browser
//! does it: a key in a file, a CSR and signatures made by `openssl`, the evidence judged by
//! `openssl cms -verify` and `signet audit verify --decisions`.

mod common;

use std::path::Path;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const VETTING: (&str, &str, Option<&str>) = ("vetting", "vera@ca.example.com", None);
const SUPPORT: (&str, &str, Option<&str>) = ("support", "sam@ca.example.com", None);
const ADMIN: (&str, &str, Option<&str>) = ("admin", "ada@ca.example.com", None);
const AUDITOR: (&str, &str, Option<&str>) = ("auditor", "otto@ca.example.com", None);

fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    ok(Command::new("openssl").args(args).current_dir(dir)).stdout
}

/// A P-256 key in `{name}.key` and a CSR for it in `{name}.csr`; returns the CSR (PEM).
fn key_and_csr(dir: &Path, name: &str) -> String {
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            &format!("{name}.key"),
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            "/CN=officer",
            "-out",
            &format!("{name}.csr"),
        ],
    );
    std::fs::read_to_string(dir.join(format!("{name}.csr"))).expect("csr")
}

/// The statement for a decision, fetched and signed with `{key}.key` as the documentation
/// shows (`jq -j .canonical | openssl dgst -sha256 -sign`): (statement, base64 signature).
fn signed(
    api: &Api,
    token: &str,
    dir: &Path,
    number: &str,
    query: &str,
    key: &str,
) -> (String, String) {
    let (status, body) = api.get(&format!("/api/v1/orders/{number}/statement?{query}"), token);
    assert_eq!(status, StatusCode::OK, "{body}");
    let canonical = body["canonical"].as_str().expect("canonical").to_owned();
    assert_eq!(body["statement"]["order_number"], number);
    std::fs::write(dir.join("statement.json"), &canonical).expect("write");
    let signature = openssl(
        dir,
        &[
            "dgst",
            "-sha256",
            "-sign",
            &format!("{key}.key"),
            "statement.json",
        ],
    );
    (canonical, B64.encode(signature))
}

/// A 4xx whose problem document says `words`.
fn refused(status: StatusCode, body: &Value, words: &str) {
    assert!(
        status.is_client_error() && body["detail"].as_str().is_some_and(|t| t.contains(words)),
        "expected a refusal saying `{words}`: {status} {body}"
    );
}

fn enrol(api: &Api, token: &str, csr: &str) -> (StatusCode, Value) {
    api.post(
        "/api/v1/staff/signing-key",
        Some(token),
        json!({"csr": csr}),
    )
}

fn settle(api: &Api, admin: &str, id: &Value, verdict: &str) -> (StatusCode, Value) {
    api.post(
        &format!("/api/v1/staff/signing-keys/{id}/{verdict}"),
        Some(admin),
        json!({}),
    )
}

/// Fetches the approval statement, signs it with `{key}.key` and sends the signed approval.
fn signed_approval(
    api: &Api,
    token: &str,
    dir: &Path,
    number: &str,
    key: &str,
) -> (StatusCode, Value) {
    let (statement, signature) = signed(api, token, dir, number, "decision=approve", key);
    decide(
        api,
        token,
        number,
        json!({"action": "approve", "statement": statement, "signature": signature}),
    )
}

fn decide(api: &Api, token: &str, number: &str, body: Value) -> (StatusCode, Value) {
    api.post(
        &format!("/api/v1/orders/{number}/decision"),
        Some(token),
        body,
    )
}

fn reveal(api: &Api, token: &str, number: &str, body: Value) -> (StatusCode, Value) {
    api.post(
        &format!("/api/v1/orders/{number}/personal-data"),
        Some(token),
        body,
    )
}

/// An order of Max's with its signed form and confirmed approval address: ready for a decision.
fn order_in_review(api: &Api, dir: &Path, email: &str) -> String {
    let max = api.subscriber(dir, email);
    let number = api.order(&max, email, "p-256");
    let (status, body) = api.upload(&number, &max, "signed_agreement", PDF);
    assert_eq!(status, StatusCode::CREATED, "{body}");
    api.confirm_approval(dir, &number, email);
    number
}

const MODULE: &str = SOFTHSM_MODULE;
const PIN: &str = "84271923";

/// A SoftHSM token holding the private key of `key_file` (id 01): the environment to reach it.
fn softhsm_with_key(dir: &Path, key_file: &str) -> Vec<(&'static str, String)> {
    let env = softhsm_token(dir, "officer", PIN);
    openssl(
        dir,
        &[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            key_file,
            "-outform",
            "DER",
            "-out",
            "token-key.der",
        ],
    );
    ok(Command::new("pkcs11-tool")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args([
            "--module",
            MODULE,
            "--login",
            "--pin",
            PIN,
            "--token-label",
            "officer",
        ])
        .args([
            "--write-object",
            "token-key.der",
            "--type",
            "privkey",
            "--id",
            "01",
            "--label",
            "officer",
        ])
        .current_dir(dir));
    env
}

/// The staff CA's OCSP answer for the certificate in `file` (PEM, under `work`): good or revoked.
fn staff_ocsp(server: &Server, d: &Path, work: &Path, file: &str) -> String {
    let out = openssl(
        work,
        &[
            "ocsp",
            "-no_nonce",
            // The tests move the server's clock a month ahead.
            "-validity_period",
            "5000000",
            "-issuer",
            &d.join("ca/staff.pem").display().to_string(),
            "-cert",
            file,
            "-url",
            &server.url("/ocsp"),
            "-CAfile",
            &d.join("ca/root.pem").display().to_string(),
            "-VAfile",
            &d.join("ca/staff-ocsp.pem").display().to_string(),
        ],
    );
    let said = text(&out);
    ["good", "revoked"]
        .into_iter()
        .find(|s| said.contains(&format!(": {s}")))
        .unwrap_or_else(|| panic!("no status in {said}"))
        .to_owned()
}

/// The first certificate of a PEM chain, to `file` under `work`.
fn save_leaf(work: &Path, pem_chain: &Value, file: &str) {
    std::fs::write(work.join("chain.pem"), pem_chain.as_str().expect("pem")).expect("write");
    openssl(work, &["x509", "-in", "chain.pem", "-out", file]);
}

fn audit_verify(dir: &Path) -> std::process::Output {
    run(signet(dir).args(["audit", "verify", "--decisions"]))
}

#[test]
fn an_api_client_signs_each_decision_with_a_key_in_a_file_and_openssl_checks_the_evidence() {
    let (ca, [vera, ada, otto]) = Ca::with_staff([VETTING, ADMIN, AUDITOR]);
    let api = ca.api();
    let d = ca.dir();
    let work = tempdir();
    let w = work.path();
    let number = order_in_review(&api, d, "max@muster.example");

    // Enrolment: a P-256 key in a file; the first key is certified at once (201).
    let csr = key_and_csr(w, "vera");
    let (status, key) = enrol(&api, &vera, &csr);
    assert_eq!(status, StatusCode::CREATED, "{key}");
    assert_eq!(key["state"], "active");
    std::fs::write(
        w.join("vera.pem"),
        key["certificate_pem"].as_str().expect("pem"),
    )
    .expect("write");
    let printed = text(&openssl(w, &["x509", "-in", "vera.pem", "-noout", "-text"]));
    assert!(
        printed.contains("TLS Web Client Authentication"),
        "{printed}"
    );
    assert!(
        printed.contains("1.3.6.1.4.1.32473.15.1"),
        "the decision-signing purpose: {printed}"
    );
    assert!(printed.contains("Digital Signature"), "{printed}");
    // The staff certificate and the staff CA pass pkilint, and chain to the root.
    openssl(w, &["x509", "-in", "vera.pem", "-out", "vera-cert.pem"]);
    lint("lint_pkix_cert", &[], &w.join("vera-cert.pem"));
    lint("lint_pkix_cert", &[], &d.join("ca/staff.pem"));
    openssl_verify(
        &d.join("ca/root.pem"),
        &d.join("ca/staff.pem"),
        &w.join("vera-cert.pem"),
    );
    // An RSA key, or a CSR that is not one, is refused.
    openssl(
        w,
        &[
            "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa.key", "-subj", "/CN=x",
            "-out", "rsa.csr",
        ],
    );
    let rsa = std::fs::read_to_string(w.join("rsa.csr")).expect("csr");
    let (status, body) = enrol(&api, &vera, &rsa);
    refused(status, &body, "P-256");
    // The portal's enrolment form answers a script: a malformed form gets a problem document.
    let form = api
        .client
        .post(api.url("/staff/signing-key"))
        .form(&[("csr", "no csrf field")])
        .send()
        .expect("request");
    assert_eq!(form.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        form.headers()["content-type"],
        "application/problem+json",
        "a problem document"
    );

    // Once Vera has a key, an unsigned decision is refused, and the refusal audited.
    let (status, body) = decide(&api, &vera, &number, json!({"action": "approve"}));
    assert!(status.is_client_error(), "{status} {body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|t| t.contains("must be signed")),
        "{body}"
    );
    assert!(
        audit_log(d)
            .iter()
            .any(|e| e.action == "order.decision_signature.refused")
    );

    // A signature for another decision, over an altered statement, or by a foreign key: refused.
    let (statement, signature) = signed(&api, &vera, w, &number, "decision=approve", "vera");
    let (status, body) = decide(
        &api,
        &vera,
        &number,
        json!({"action": "reject", "message": "no", "statement": statement, "signature": signature}),
    );
    refused(status, &body, "decision");
    advance_clock(d, 1);
    let (later, _) = signed(&api, &vera, w, &number, "decision=approve", "vera");
    assert_ne!(later, statement, "a second later, another statement");
    let (status, body) = decide(
        &api,
        &vera,
        &number,
        json!({"action": "approve", "statement": later, "signature": signature}),
    );
    refused(status, &body, "does not check out");
    key_and_csr(w, "mallory");
    let (_, foreign) = signed(&api, &vera, w, &number, "decision=approve", "mallory");
    let (status, body) = decide(
        &api,
        &vera,
        &number,
        json!({"action": "approve", "statement": statement, "signature": foreign}),
    );
    refused(status, &body, "does not check out");
    let (status, body) = decide(
        &api,
        &vera,
        &number,
        json!({"action": "approve", "statement": statement}),
    );
    assert!(status.is_client_error(), "half a signature: {body}");

    // The signed approval goes through; a replay of it is refused.
    let (status, body) = decide(
        &api,
        &vera,
        &number,
        json!({"action": "approve", "statement": statement, "signature": signature}),
    );
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ready_for_pickup")),
        "{body}"
    );
    let (status, _) = decide(
        &api,
        &vera,
        &number,
        json!({"action": "approve", "statement": statement, "signature": signature}),
    );
    assert!(status.is_client_error());

    // The evidence: CMS SignedData that openssl verifies against the root, whose content is the
    // statement, with a signature time-stamp from the CA's TSA; an auditor reads it.
    let (status, decisions) = api.get(&format!("/api/v1/orders/{number}/decisions"), &otto);
    assert_eq!(status, StatusCode::OK, "{decisions}");
    let [decision] = decisions.as_array().expect("list").as_slice() else {
        panic!("one decision: {decisions}")
    };
    assert_eq!(
        (decision["decision"].as_str(), decision["officer"].as_str()),
        (
            Some("approve"),
            Some(key["officer"].as_str().expect("officer"))
        )
    );
    assert!(decision["time_stamped_at"].is_string(), "{decision}");
    assert_eq!(
        openssl_verified_decision(d, w, decision["cms"].as_str().expect("cms")),
        statement
    );
    let printed = text(&openssl(
        w,
        &[
            "cms",
            "-cmsout",
            "-print",
            "-inform",
            "DER",
            "-in",
            "decision.cms",
        ],
    ));
    assert!(printed.contains("id-smime-aa-timeStampToken"), "{printed}");
    let audited = audit_log(d);
    assert!(audited.iter().any(|e| {
        e.action == "order.decision_signed"
            && e.detail
                .contains(decision["cms_sha256"].as_str().expect("sha"))
    }));
    let out = audit_verify(d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("signed decisions intact: 1 checked"),
        "{}",
        text(&out.stdout)
    );

    // A second key (another machine) waits for an administrator; Vera cannot approve it, Ada can.
    let csr2 = key_and_csr(w, "vera2");
    let (status, pending) = enrol(&api, &vera, &csr2);
    assert_eq!(
        (status, pending["state"].as_str()),
        (StatusCode::ACCEPTED, Some("pending")),
        "{pending}"
    );
    let id = pending["id"].as_i64().expect("id");
    let (status, _) = settle(&api, &vera, &json!(id), "approve");
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, waiting) = api.get("/api/v1/staff/signing-keys?pending=true", &ada);
    assert_eq!(status, StatusCode::OK);
    assert!(
        waiting
            .as_array()
            .expect("list")
            .iter()
            .any(|k| k["id"] == id),
        "{waiting}"
    );
    let (status, approved) = settle(&api, &ada, &json!(id), "approve");
    assert_eq!(
        (status, approved["state"].as_str()),
        (StatusCode::OK, Some("active")),
        "{approved}"
    );
    let (status, _) = settle(&api, &ada, &json!(id), "approve");
    assert_eq!(status, StatusCode::CONFLICT, "settled once");
    // The replaced key's certificate is revoked (superseded); the new one is good.
    save_leaf(w, &approved["certificate_pem"], "vera2-cert.pem");
    assert_eq!(staff_ocsp(&ca.server, d, w, "vera-cert.pem"), "revoked");
    assert_eq!(staff_ocsp(&ca.server, d, w, "vera2-cert.pem"), "good");
    assert!(
        audit_log(d)
            .iter()
            .any(|e| e.action == "staff.signing_key_approved")
    );

    // The first key no longer signs; the second does (a request for information on a new order).
    let second = order_in_review(&api, d, "moritz@muster.example");
    // A message of two lines: signed with LF, sent as a form sends it (CR LF).
    let query = "decision=request_info&message=Please%20upload%0Athe%20register%20extract";
    let (statement, old) = signed(&api, &vera, w, &second, query, "vera");
    assert!(statement.contains(r"upload\nthe register"), "{statement}");
    let ask = |signature: &str| json!({"action": "request_info", "message": "Please upload\r\nthe register extract", "statement": statement, "signature": signature});
    let (status, body) = decide(&api, &vera, &second, ask(&old));
    assert!(status.is_client_error(), "{body}");
    let (_, new) = signed(&api, &vera, w, &second, query, "vera2");
    let (status, body) = decide(&api, &vera, &second, ask(&new));
    assert_eq!(status, StatusCode::OK, "{body}");

    // Thirty-one days on the certificate has expired: signing is refused until Vera renews by
    // enrolling the same key again (certified at once).
    advance_clock(d, 31 * 86_400);
    let vera = api.log_in(key["officer"].as_str().expect("officer"), STAFF_PASSWORD);
    let third = order_in_review(&api, d, "mia@muster.example");
    let (status, body) = signed_approval(&api, &vera, w, &third, "vera2");
    refused(status, &body, "expired");
    let (status, body) = decide(&api, &vera, &third, json!({"action": "approve"}));
    assert!(status.is_client_error(), "no unsigned fallback: {body}");
    let (status, renewed) = enrol(&api, &vera, &csr2);
    assert_eq!(
        (status, renewed["id"].as_i64()),
        (StatusCode::CREATED, Some(id)),
        "{renewed}"
    );
    save_leaf(w, &renewed["certificate_pem"], "vera2-renewed.pem");
    assert_eq!(staff_ocsp(&ca.server, d, w, "vera2-cert.pem"), "revoked");
    assert_eq!(staff_ocsp(&ca.server, d, w, "vera2-renewed.pem"), "good");
    let (status, body) = signed_approval(&api, &vera, w, &third, "vera2");
    assert_eq!(status, StatusCode::OK, "{body}");

    // A staff certificate revoked for key compromise signs nothing more, and its key is never
    // certified again; the officer's new key, approved by an administrator, takes over.
    save_leaf(w, &renewed["certificate_pem"], "revoke-me.pem");
    let serial = text(&openssl(
        w,
        &["x509", "-in", "revoke-me.pem", "-noout", "-serial"],
    ));
    let serial = serial.trim().trim_start_matches("serial=");
    ok(signet(d).args(["revoke", "--reason", "key_compromise", serial]));
    let fourth = order_in_review(&api, d, "mats@muster.example");
    let (status, body) = signed_approval(&api, &vera, w, &fourth, "vera2");
    refused(status, &body, "revoked");
    let (status, body) = enrol(&api, &vera, &csr2);
    refused(status, &body, "revoked");
    let csr3 = key_and_csr(w, "vera3");
    let (status, pending) = enrol(&api, &vera, &csr3);
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    let admin_email = with_store(d, async |store| {
        store.staff_accounts().await.expect("staff")
    })
    .into_iter()
    .find(|a| a.role == signet_domain::role::Role::Admin)
    .expect("the administrator")
    .email;
    let ada = api.log_in(&admin_email, STAFF_PASSWORD);
    let (status, body) = settle(&api, &ada, &pending["id"], "approve");
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = signed_approval(&api, &vera, w, &fourth, "vera3");
    assert_eq!(status, StatusCode::OK, "{body}");
    // The compromised key stays out for good, also once it is no longer Vera's latest.
    let (status, body) = enrol(&api, &vera, &csr2);
    refused(status, &body, "revoked");
    // A key an administrator refused is not offered again as if nothing happened.
    let csr4 = key_and_csr(w, "vera4");
    let (status, pending) = enrol(&api, &vera, &csr4);
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    // An action that is not approve or refuse changes nothing.
    let (status, _) = settle(&api, &ada, &pending["id"], "delete");
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = settle(&api, &ada, &pending["id"], "refuse");
    assert_eq!(
        (status, body["state"].as_str()),
        (StatusCode::OK, Some("refused")),
        "{body}"
    );
    let (status, body) = enrol(&api, &vera, &csr4);
    refused(status, &body, "refused");

    // A decision whose statement was altered in the store is named by the verifier.
    let out = audit_verify(d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("4 checked"),
        "{}",
        text(&out.stdout)
    );
    ok(Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); \
             row = c.execute('SELECT id, cms FROM signed_decisions ORDER BY id LIMIT 1').fetchone(); \
             c.execute('UPDATE signed_decisions SET cms = ? WHERE id = ?', (bytes(row[1]).replace(b'approve', b'reprove'), row[0])); c.commit()",
        ])
        .arg(d.join("signet.db")));
    let out = audit_verify(d);
    assert!(!out.status.success());
    let said = text(&out.stderr);
    assert!(
        said.contains(&format!("on order {number}")) && said.contains("does not verify"),
        "{said}"
    );
}

#[test]
fn a_reveal_of_personal_data_is_signed_like_a_decision() {
    let (ca, [sam]) = Ca::with_staff([SUPPORT]);
    let api = ca.api();
    let d = ca.dir();
    let work = tempdir();
    let w = work.path();
    let number = order_in_review(&api, d, "max@muster.example");

    // Before Sam has a key a reveal needs no signature (unless the CA requires signatures).
    let (status, body) = reveal(&api, &sam, &number, json!({}));
    assert_eq!(status, StatusCode::OK, "{body}");

    let csr = key_and_csr(w, "sam");
    let (status, body) = enrol(&api, &sam, &csr);
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = reveal(&api, &sam, &number, json!({}));
    refused(status, &body, "must be signed");
    let (status, body) = reveal(&api, &sam, &number, json!({"statement": "{}"}));
    refused(status, &body, "send both");
    assert!(
        audit_log(d)
            .iter()
            .any(|e| e.action == "order.decision_signature.refused"
                && e.detail.contains("send both")),
        "the refusal is audited"
    );

    // Sam's key sits in a PKCS#11 token (SoftHSM): the token signs the statement.
    let token = softhsm_with_key(w, "sam.key");
    let (_, _) = signed(&api, &sam, w, &number, "decision=reveal", "sam");
    let statement = std::fs::read_to_string(w.join("statement.json")).expect("statement");
    // SoftHSM signs with plain CKM_ECDSA over a digest (it has no ECDSA-SHA256 mechanism), as
    // many tokens do: the hash is made beside it.
    openssl(
        w,
        &[
            "dgst",
            "-sha256",
            "-binary",
            "-out",
            "statement.sha256",
            "statement.json",
        ],
    );
    ok(Command::new("pkcs11-tool")
        .envs(token.iter().map(|(k, v)| (*k, v.as_str())))
        .args([
            "--module", MODULE, "--login", "--pin", PIN, "--id", "01", "--sign",
        ])
        .args(["--mechanism", "ECDSA", "--signature-format", "openssl"])
        .args([
            "--input-file",
            "statement.sha256",
            "--output-file",
            "token.sig",
        ])
        .current_dir(w));
    let signature = B64.encode(std::fs::read(w.join("token.sig")).expect("signature"));
    assert!(statement.contains("\"decision\":\"reveal\""));
    // The signed reveal sent eight times at once counts once; the others are told it was used.
    let body = json!({"statement": statement, "signature": signature});
    let answers: Vec<(StatusCode, Value)> = std::thread::scope(|scope| {
        let sent: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| reveal(&api, &sam, &number, body.clone())))
            .collect();
        sent.into_iter()
            .map(|t| t.join().expect("request"))
            .collect()
    });
    let revealed: Vec<_> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .collect();
    assert_eq!(revealed.len(), 1, "{answers:?}");
    assert_eq!(revealed[0].1["personal_data_masked"], false);
    for (status, body) in answers.iter().filter(|(s, _)| *s != StatusCode::OK) {
        refused(*status, body, "used already");
    }
    let (status, body) = reveal(&api, &sam, &number, body.clone());
    refused(status, &body, "used already");

    let (status, decisions) = api.get(&format!("/api/v1/orders/{number}/decisions"), &sam);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(decisions.as_array().map(Vec::len), Some(1), "{decisions}");
    assert_eq!(decisions[0]["decision"], "reveal");
    let out = audit_verify(d);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// A CA made before the staff CA existed gets one with `signet staff-ca init` (once); with
/// `[staff] require_signed_decisions = true` an officer who has no key yet cannot decide
/// unsigned either.
#[test]
fn an_older_ca_gets_a_staff_ca_and_can_require_every_decision_signed() {
    let data = tempdir();
    let d = data.path();
    ok(signet(d).args(["init", "--base-url", BASE_URL]));
    // What a data directory from before the staff CA looks like.
    let config = std::fs::read_to_string(d.join("signet.toml")).expect("config");
    let start = config
        .find("[issuers.staff]")
        .expect("the staff CA's table");
    let end = start + 1 + config[start + 1..].find("\n[").expect("the next table");
    std::fs::write(
        d.join("signet.toml"),
        format!("{}{}", &config[..start], &config[end..]),
    )
    .expect("write");
    for file in [
        "ca/staff.pem",
        "ca/staff-ocsp.pem",
        "keys/staff.key.pem",
        "keys/staff-ocsp.key.pem",
    ] {
        std::fs::remove_file(d.join(file)).expect("remove");
    }

    let added = ok(signet(d).args(["staff-ca", "init", "--policy-oid", "1.3.6.1.4.1.32473.7.3"]));
    assert!(
        text(&added.stdout).contains("staff CA added"),
        "{}",
        text(&added.stdout)
    );
    lint("lint_pkix_cert", &[], &d.join("ca/staff.pem"));
    lint("lint_pkix_cert", &[], &d.join("ca/staff-ocsp.pem"));
    let again = run(signet(d).args(["staff-ca", "init"]));
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("already has a staff CA"),
        "{}",
        text(&again.stderr)
    );

    let mut config = std::fs::read_to_string(d.join("signet.toml")).expect("config");
    assert!(config.contains("[issuers.staff]"));
    config.push_str("\n[staff]\nrequire_signed_decisions = true\n");
    std::fs::write(d.join("signet.toml"), config).expect("write");
    let server = invite_and_serve(d, &[("vetting", "vida@ca.example.com", None)]);
    let api = Api::new(&server);
    let vida = api.staff_login(d, "vida@ca.example.com");
    let number = order_in_review(&api, d, "max@muster.example");
    let work = tempdir();
    let w = work.path();

    // No key yet, and still no unsigned decision.
    let (status, body) = decide(&api, &vida, &number, json!({"action": "approve"}));
    refused(status, &body, "must be signed");
    let csr = key_and_csr(w, "vida");
    let (status, key) = enrol(&api, &vida, &csr);
    assert_eq!(status, StatusCode::CREATED, "{key}");
    std::fs::write(
        w.join("vida.pem"),
        key["certificate_pem"].as_str().expect("pem"),
    )
    .expect("write");
    openssl(w, &["x509", "-in", "vida.pem", "-out", "vida-cert.pem"]);
    openssl_verify(
        &d.join("ca/root.pem"),
        &d.join("ca/staff.pem"),
        &w.join("vida-cert.pem"),
    );
    let (status, body) = signed_approval(&api, &vida, w, &number, "vida");
    assert_eq!(status, StatusCode::OK, "{body}");
    let out = audit_verify(d);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Six first keys of one officer sent at once: one is certified; the others are refused or
/// wait for an administrator, and no certificate is left valid that the officer does not use.
#[test]
fn first_keys_sent_at_once_certify_one() {
    let (ca, [vera]) = Ca::with_staff([VETTING]);
    let api = ca.api();
    let d = ca.dir();
    let work = tempdir();
    let w = work.path();
    let csrs: Vec<String> = (0..6).map(|n| key_and_csr(w, &format!("k{n}"))).collect();
    let answers: Vec<(StatusCode, Value)> = std::thread::scope(|scope| {
        let sent: Vec<_> = csrs
            .iter()
            .map(|csr| {
                let (api, vera) = (&api, &vera);
                scope.spawn(move || {
                    api.post("/api/v1/staff/signing-key", Some(vera), json!({"csr": csr}))
                })
            })
            .collect();
        sent.into_iter()
            .map(|t| t.join().expect("request"))
            .collect()
    });
    let certified: Vec<_> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .collect();
    assert_eq!(certified.len(), 1, "{answers:?}");
    for (status, body) in &answers {
        assert!(
            [
                StatusCode::CREATED,
                StatusCode::ACCEPTED,
                StatusCode::CONFLICT
            ]
            .contains(status),
            "{status} {body}"
        );
    }
    let (_, keys) = api.get("/api/v1/staff/signing-keys", &vera);
    let active: Vec<_> = keys
        .as_array()
        .expect("keys")
        .iter()
        .filter(|k| k["state"] == "active")
        .collect();
    assert_eq!(active.len(), 1, "{keys}");
    assert_eq!(active[0]["id"], certified[0].1["id"]);
    // Every staff certificate but the active key's is revoked.
    let issued = with_store(d, async |store| store.counts().await.expect("counts"));
    let staff_certificates = audit_log(d)
        .iter()
        .filter(|e| e.action == "certificate.issued" && e.detail.contains("staff-decision"))
        .count();
    let revoked = audit_log(d)
        .iter()
        .filter(|e| e.action == "certificate.revoked")
        .count();
    assert_eq!(staff_certificates, revoked + 1, "{issued:?}");
    let out = audit_verify(d);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
