//! Officers' signed decisions (issue 15, item 3), judged by openssl: a statement signed with
//! `openssl dgst -sign` (the API client's way, item 4) and in WebCrypto's r‖s form is wrapped as
//! CMS SignedData that `openssl cms -verify` accepts against the staff CA, and reads back; a
//! signature over another statement, or by another key, is refused.

use std::path::Path;
use std::process::Command;

use der::DecodePem;
use signet_domain::statement::DecisionStatement;
use signet_pki::decision::{read_decision, wrap_decision};
use x509_cert::Certificate;

fn openssl(d: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(d)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn pem_cert(d: &Path, name: &str) -> Certificate {
    Certificate::from_pem(std::fs::read(d.join(name)).expect("read")).expect("certificate")
}

/// A staff CA and an officer with a P-256 key and a client-authentication certificate.
fn staff(d: &Path) {
    let cmd = |line: String| openssl(d, &line.split_whitespace().collect::<Vec<_>>());
    let p256 = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    cmd(format!(
        "req -x509 {p256} -keyout ca.key -out ca.pem -subj /CN=Staff-CA -days 2 \
         -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign"
    ));
    for who in ["officer", "other"] {
        cmd(format!(
            "req -new {p256} -keyout {who}.key -out {who}.csr -subj /CN={who}@ca.example.com"
        ));
        std::fs::write(
            d.join("ext.cnf"),
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
        )
        .expect("ext");
        cmd(format!(
            "x509 -req -in {who}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
             -extfile ext.cnf -out {who}.pem"
        ));
    }
}

fn statement() -> DecisionStatement {
    DecisionStatement {
        order_number: "7K2PQ-4XW9D".into(),
        details_fingerprint: "9f2c".into(),
        decision: "approve".into(),
        message: "ID and register extract match; approved.".into(),
        documents: vec!["a".repeat(64)],
        at: "2026-12-04T10:00:00Z".into(),
        officer: "officer@ca.example.com".into(),
    }
}

/// DER ECDSA-Sig-Value → r‖s, 32 octets each, as WebCrypto signs.
fn p1363(der: &[u8]) -> Vec<u8> {
    let parsed = openssl_asn1_integers(der);
    let mut out = Vec::new();
    for int in parsed {
        let trimmed: Vec<u8> = int.iter().copied().skip_while(|b| *b == 0).collect();
        out.extend(std::iter::repeat_n(0, 32 - trimmed.len()));
        out.extend(trimmed);
    }
    out
}

fn openssl_asn1_integers(der: &[u8]) -> Vec<Vec<u8>> {
    // SEQUENCE { INTEGER r, INTEGER s } with short lengths (P-256).
    let mut at = 2;
    let mut ints = Vec::new();
    while at < der.len() {
        assert_eq!(der[at], 0x02);
        let len = der[at + 1] as usize;
        ints.push(der[at + 2..at + 2 + len].to_vec());
        at += 2 + len;
    }
    ints
}

#[test]
fn a_signed_decision_verifies_with_openssl_cms_and_reads_back() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    staff(d);
    let statement = statement().canonical();
    std::fs::write(d.join("statement.json"), &statement).expect("write");
    // The API client's way (item 4): openssl signs the canonical statement with the file key.
    let der_signature = openssl(
        d,
        &["dgst", "-sha256", "-sign", "officer.key", "statement.json"],
    );
    let officer = pem_cert(d, "officer.pem");
    let ca = pem_cert(d, "ca.pem");

    for (form, signature) in [
        ("DER", der_signature.clone()),
        ("r‖s", p1363(&der_signature)),
    ] {
        let cms = wrap_decision(&statement, &signature, &officer, std::slice::from_ref(&ca))
            .unwrap_or_else(|e| panic!("{form}: {e}"));
        std::fs::write(d.join("decision.cms"), &cms).expect("write");
        let content = openssl(
            d,
            &[
                "cms",
                "-verify",
                "-inform",
                "DER",
                "-in",
                "decision.cms",
                "-CAfile",
                "ca.pem",
                "-purpose",
                "any",
            ],
        );
        assert_eq!(
            content, statement,
            "{form}: openssl's content is the statement"
        );
        let read = read_decision(&cms).expect("reads back");
        assert_eq!(read.statement, statement);
        assert_eq!(read.officer, officer);
        assert!(read.time_stamped_at.is_none());
        assert_eq!(
            DecisionStatement::from_canonical(&read.statement).expect("canonical"),
            self::statement()
        );
    }

    // A signature over another statement, or by another officer's key, is refused.
    let mut altered = self::statement();
    altered.decision = "reject".into();
    assert!(
        wrap_decision(
            &altered.canonical(),
            &der_signature,
            &officer,
            std::slice::from_ref(&ca)
        )
        .is_err()
    );
    let other = openssl(
        d,
        &["dgst", "-sha256", "-sign", "other.key", "statement.json"],
    );
    assert!(wrap_decision(&statement, &other, &officer, std::slice::from_ref(&ca)).is_err());
    assert!(
        wrap_decision(
            &statement,
            &der_signature[..20],
            &officer,
            std::slice::from_ref(&ca)
        )
        .is_err()
    );

    // A stored decision whose statement was altered is named by the reader, and by openssl.
    let cms = wrap_decision(&statement, &der_signature, &officer, &[ca]).expect("wrap");
    let at = cms
        .windows(b"approve".len())
        .position(|w| w == b"approve")
        .expect("statement inside");
    let mut tampered = cms.clone();
    tampered[at..at + 7].copy_from_slice(b"reprove");
    assert!(read_decision(&tampered).is_err());
    std::fs::write(d.join("tampered.cms"), &tampered).expect("write");
    let refused = Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            "tampered.cms",
            "-CAfile",
            "ca.pem",
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ])
        .current_dir(d)
        .output()
        .expect("openssl");
    assert!(!refused.status.success());
}
