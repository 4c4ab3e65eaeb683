//! Bad input: a clear message, a non-zero exit, and nothing changed in the store or on disk.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use signet_store::Counts;

fn counts(data: &Path) -> Counts {
    with_store(data, async |store| store.counts().await.expect("counts"))
}

#[test]
fn bad_requests_are_refused_and_change_nothing() {
    let data = tempdir();
    let work = tempdir();
    let w = work.path();
    ok(signet(data.path()).args(["init", "--base-url", BASE_URL]));
    let id = identity(w, true);
    let id_without_org_id = identity(w, false);
    let good = csr(w, "good", KEYS[2].1);

    let garbage = w.join("garbage.csr");
    std::fs::write(&garbage, b"this is not a certificate request").expect("write");
    let good_pem = std::fs::read_to_string(&good).expect("read");
    let truncated = w.join("truncated.csr");
    std::fs::write(&truncated, &good_pem[..good_pem.len() / 2]).expect("write");
    // A CSR whose signature was altered: flip the last octet of the DER.
    let der_path = w.join("good.der");
    ok(Command::new("openssl")
        .args(["req", "-in"])
        .arg(&good)
        .args(["-outform", "DER", "-out"])
        .arg(&der_path));
    let mut der = std::fs::read(&der_path).expect("read der");
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let bad_sig = w.join("bad-signature.der");
    std::fs::write(&bad_sig, der).expect("write");
    let weak = csr(w, "rsa1024", &["-newkey", "rsa:1024"]);
    let bad_json = w.join("bad.json");
    std::fs::write(&bad_json, br#"{"given_name":"A"}"#).expect("write");
    let bad_country = w.join("bad-country.json");
    std::fs::write(
        &bad_country,
        br#"{"given_name":"A","surname":"B","email":"a@example.be","organization":"O","country":"XX"}"#,
    )
    .expect("write");

    let cases: Vec<(&str, &Path, &Path, &str, &str)> = vec![
        (
            "class3-auth",
            garbage.as_path(),
            id.as_path(),
            "12",
            "the CSR cannot be read",
        ),
        (
            "class3-auth",
            truncated.as_path(),
            id.as_path(),
            "12",
            "the CSR cannot be read",
        ),
        (
            "class3-auth",
            bad_sig.as_path(),
            id.as_path(),
            "12",
            "signature does not verify",
        ),
        (
            "class3-auth",
            weak.as_path(),
            id.as_path(),
            "12",
            "RSA key of 1024 bits is too weak",
        ),
        (
            "class3-auth",
            good.as_path(),
            id.as_path(),
            "40",
            "exceeds the maximum of 39 months",
        ),
        (
            "smime-sponsor-multipurpose",
            good.as_path(),
            id.as_path(),
            "28",
            "exceeds the maximum of 825 days",
        ),
        (
            "class3-auth",
            good.as_path(),
            id.as_path(),
            "0",
            "at least 1 month",
        ),
        (
            "no-such-profile",
            good.as_path(),
            id.as_path(),
            "12",
            "unknown profile `no-such-profile`",
        ),
        (
            "smime-sponsor-multipurpose",
            good.as_path(),
            id_without_org_id.as_path(),
            "12",
            "requires `organization_identifier`",
        ),
        (
            "class3-auth",
            good.as_path(),
            bad_json.as_path(),
            "12",
            "missing field",
        ),
        (
            "class3-auth",
            good.as_path(),
            bad_country.as_path(),
            "12",
            "not an ISO 3166-1 alpha-2 country code",
        ),
    ];
    let before_files = snapshot(data.path());
    let before = counts(data.path());
    for (profile, request, subject, months, expected) in cases {
        let out = run(&mut issue_cmd(
            data.path(),
            profile,
            months,
            request,
            subject,
        ));
        let stderr = text(&out.stderr);
        assert!(
            !out.status.success(),
            "{profile} {} {months} was accepted",
            request.display()
        );
        assert!(
            out.stdout.is_empty(),
            "a refused request printed something: {}",
            text(&out.stdout)
        );
        assert!(
            stderr.contains(expected),
            "expected `{expected}` in: {stderr}"
        );
        assert_eq!(
            counts(data.path()),
            before,
            "the store changed after: {expected}"
        );
    }
    assert_eq!(
        snapshot(data.path()),
        before_files,
        "files in the data directory changed"
    );

    // Every refusal the CA saw is in the audit log with its reason (the malformed JSON is refused
    // by the command line before the CA is opened).
    let refused = audit_log(data.path());
    let refused: Vec<_> = refused
        .iter()
        .filter(|e| e.action == "certificate.issue.refused")
        .collect();
    assert_eq!(refused.len(), 10, "{refused:?}");
    assert!(
        refused
            .iter()
            .any(|e| e.detail.contains("1024 bits is too weak"))
    );
    ok(signet(data.path()).args(["audit", "verify"]));

    // A second init refuses and changes nothing.
    let out = run(signet(data.path()).args(["init", "--base-url", BASE_URL]));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("refusing to overwrite"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(snapshot(data.path()), before_files);
    assert_eq!(counts(data.path()), before);

    // A good request still works afterwards, and is recorded.
    ok(&mut issue_cmd(data.path(), "class3-auth", "12", &good, &id));
    assert_eq!(counts(data.path()).issued, before.issued + 1);
    assert_eq!(counts(data.path()).intents, 0);
}
