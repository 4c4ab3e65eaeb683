//! What a signed decision costs the CA (issue 15): checking an officer's signature and wrapping
//! it as CMS SignedData (`check_decision` + `wrap`, without the TSA's token, which
//! `scripts/bench-tsa` measures), and reading one back with the officer's certificate checked
//! against the staff CA (`read_decision` + `verify_issued_by`, what `signet audit verify
//! --decisions` does per decision besides the store). Beside it, openssl on the same objects:
//! `openssl dgst -verify` of the signature and `openssl cms -verify` of the CMS, one process
//! each.
//!
//!   cargo bench -p signet-pki --bench decisions [-- DECISIONS]
//!
//! Prints `STEP PER_DECISION_US DECISIONS_PER_S` lines.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use der::DecodePem;
use signet_domain::statement::DecisionStatement;
use signet_pki::decision::{check_decision, read_decision};
use signet_pki::signed_data::verify_issued_by;
use x509_cert::Certificate;

fn openssl(dir: &Path, line: &str) {
    let status = Command::new("openssl")
        .args(line.split_whitespace())
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl");
    assert!(status.success(), "openssl {line}");
}

fn report(step: &str, decisions: usize, seconds: f64) {
    println!(
        "{step} {:.1} {:.0}",
        seconds * 1e6 / decisions as f64,
        decisions as f64 / seconds
    );
}

fn main() {
    let decisions: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(500);
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    // A staff CA like init's (P-384) and an officer key like the browser's (P-256).
    openssl(
        d,
        "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout ca.key -out ca.pem -subj /CN=Staff-CA -days 2 -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign",
    );
    openssl(
        d,
        "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out officer.key",
    );
    openssl(
        d,
        "pkcs8 -topk8 -nocrypt -in officer.key -outform DER -out officer.p8",
    );
    openssl(
        d,
        "req -new -key officer.key -subj /CN=officer -out officer.csr",
    );
    openssl(
        d,
        "x509 -req -in officer.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -out officer.pem",
    );
    openssl(d, "pkey -in officer.key -pubout -out officer.pub");
    let read = |name: &str| std::fs::read(d.join(name)).expect(name);
    let ca = Certificate::from_pem(read("ca.pem")).expect("CA");
    let officer = Certificate::from_pem(read("officer.pem")).expect("officer");
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &read("officer.p8"))
        .expect("key");
    let rng = SystemRandom::new();
    let statements: Vec<Vec<u8>> = (0..decisions)
        .map(|n| {
            DecisionStatement {
                order_number: format!("7K2PQ-{n:05}"),
                details_fingerprint: "9F2C 01AB 77E0 1D2C 3B4A 5C6D 7E8F 9A0B".into(),
                decision: "approve".into(),
                message: String::new(),
                documents: vec![format!("{n:064x}")],
                at: "2026-12-04T10:00:00Z".into(),
                officer: "vera@ca.example.com".into(),
            }
            .canonical()
        })
        .collect();
    // r‖s, as WebCrypto gives it.
    let signatures: Vec<Vec<u8>> = statements
        .iter()
        .map(|s| key.sign(&rng, s).expect("sign").as_ref().to_vec())
        .collect();

    let start = Instant::now();
    let objects: Vec<Vec<u8>> = statements
        .iter()
        .zip(&signatures)
        .map(|(s, sig)| {
            check_decision(s, sig, &officer)
                .expect("checks")
                .wrap(std::slice::from_ref(&ca), None)
                .expect("wraps")
        })
        .collect();
    report(
        "signet-check-and-wrap",
        decisions,
        start.elapsed().as_secs_f64(),
    );

    let start = Instant::now();
    for object in &objects {
        let decision = read_decision(object).expect("reads");
        verify_issued_by(&decision.officer, &ca).expect("chains");
    }
    report(
        "signet-read-and-chain",
        decisions,
        start.elapsed().as_secs_f64(),
    );

    // openssl, one process per object, on a sample (process start-up dominates).
    let sample = decisions.min(100);
    for (n, ((statement, object), signature)) in statements
        .iter()
        .zip(&objects)
        .zip(&signatures)
        .take(sample)
        .enumerate()
    {
        std::fs::write(d.join(format!("s{n}.json")), statement).expect("write");
        std::fs::write(d.join(format!("d{n}.cms")), object).expect("write");
        // openssl dgst wants DER: convert r‖s.
        let (r, s) = signature.split_at(32);
        let int = |v: &[u8]| {
            let v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
            let mut out = if v.first().is_some_and(|b| b & 0x80 != 0) {
                vec![0]
            } else {
                vec![]
            };
            out.extend(v);
            let mut der = vec![0x02, out.len() as u8];
            der.extend(out);
            der
        };
        let body = [int(r), int(s)].concat();
        let mut der = vec![0x30, body.len() as u8];
        der.extend(body);
        std::fs::write(d.join(format!("s{n}.sig")), der).expect("write");
    }
    let start = Instant::now();
    for n in 0..sample {
        openssl(
            d,
            &format!("dgst -sha256 -verify officer.pub -signature s{n}.sig s{n}.json"),
        );
    }
    report("openssl-dgst-verify", sample, start.elapsed().as_secs_f64());
    let start = Instant::now();
    for n in 0..sample {
        openssl(
            d,
            &format!(
                "cms -verify -inform DER -in d{n}.cms -CAfile ca.pem -purpose any -out /dev/null"
            ),
        );
    }
    report("openssl-cms-verify", sample, start.elapsed().as_secs_f64());
}
