//! Time-stamp tokens judged by OpenSSL: a request made by `openssl ts -query`, a token signed by
//! a TSA certificate under a Signet root (P-256, P-384 and RSA keys), verified by
//! `openssl ts -verify` against the query and against the data, with and without the
//! certificate in the token; the TSA certificate passes pkilint; rejections read back.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use const_oid::ObjectIdentifier;
use der::Decode;
use signet_domain::key::CaKeyAlgorithm;
use signet_domain::serial::Serial;
use signet_domain::validity::Period;
use signet_pki::file_key::FileKey;
use signet_pki::hierarchy::{root_certificate, tsa_certificate};
use signet_pki::issuance::{Issuer, IssuerUrls};
use signet_pki::keys::{CaSigner, KeyBackend};
use signet_pki::name::ca_name;
use signet_pki::tsp::{TimeStampAuthority, TimeStampRequest, rejection_response};

const POLICY: &str = "1.3.6.1.4.1.32473.7.9";

fn run(args: &[&str], dir: &Path) -> std::process::Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", args[0]));
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn pem(der: &[u8]) -> String {
    signet_pki::certificate_pem(der)
}

/// A root and a TSA certificate under it; the TSA ready to sign.
fn tsa(dir: &Path, algorithm: CaKeyAlgorithm) -> TimeStampAuthority {
    let now = time::OffsetDateTime::now_utc();
    let (root_key, _) = FileKey::generate(CaKeyAlgorithm::EcP384, b"pw").expect("root key");
    let signer = CaSigner::new(Arc::new(root_key)).expect("signer");
    let root_der = root_certificate(
        &signer,
        &ca_name("DE", "Signet Test", "Signet Test Root").expect("name"),
        &Serial::from_entropy([1; 16]),
        Period::months_from(now, 24).expect("period"),
    )
    .expect("prepare")
    .issue()
    .expect("sign");
    let urls = IssuerUrls {
        crl_base: "http://pki.example.com/crl/root".into(),
        crl_shards: 1,
        ca_issuers: "http://pki.example.com/repository/root.der".into(),
        ocsp: None,
    };
    let root = Issuer::new("root", root_der.clone(), signer, urls).expect("issuer");
    let (tsa_key, _) = FileKey::generate(algorithm, b"pw").expect("TSA key");
    let spki = spki::SubjectPublicKeyInfoOwned::from_der(tsa_key.public_key_der()).expect("spki");
    let tsa_der = tsa_certificate(
        &root,
        &spki,
        &ca_name("DE", "Signet Test", "Signet Test TSA").expect("name"),
        &Serial::from_entropy([2; 16]),
        Period::months_from(now, 12).expect("period"),
    )
    .expect("prepare")
    .issue()
    .expect("sign");
    std::fs::write(dir.join("root.pem"), pem(&root_der)).expect("write");
    std::fs::write(dir.join("tsa.pem"), pem(&tsa_der)).expect("write");
    std::fs::write(dir.join("tsa.der"), &tsa_der).expect("write");
    let key: Arc<dyn KeyBackend> = Arc::new(tsa_key);
    TimeStampAuthority::new(key, &tsa_der, &[], ObjectIdentifier::new_unwrap(POLICY)).expect("TSA")
}

#[test]
fn openssl_verifies_signet_time_stamp_tokens() {
    for algorithm in [
        CaKeyAlgorithm::EcP256,
        CaKeyAlgorithm::EcP384,
        CaKeyAlgorithm::Rsa4096,
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        let tsa = tsa(d, algorithm);
        std::fs::write(d.join("data.txt"), b"a contract, signed on Thursday").expect("write");
        for (n, cert) in [(1u8, true), (2u8, false)] {
            let query = format!("q{n}.tsq");
            let reply = format!("r{n}.tsr");
            let mut args = vec![
                "openssl", "ts", "-query", "-data", "data.txt", "-sha256", "-out", &query,
            ];
            if cert {
                args.push("-cert");
            }
            run(&args, d);
            let request = TimeStampRequest::parse(
                &std::fs::read(d.join(&query)).expect("query"),
                tsa.policy(),
            )
            .expect("accepted");
            let response = tsa
                .grant(request, u64::from(n), time::OffsetDateTime::now_utc())
                .expect("token");
            std::fs::write(d.join(&reply), response).expect("write");
            let text = run(&["openssl", "ts", "-reply", "-in", &reply, "-text"], d);
            let text = String::from_utf8_lossy(&text.stdout);
            assert!(text.contains("Status: Granted."), "{text}");
            assert!(text.contains(POLICY), "{text}");
            assert!(text.contains("Accuracy: 0x01 seconds"), "{text}");
            assert!(text.contains("Nonce: 0x"), "the nonce is echoed: {text}");
            // Without the certificate in the token, the verifier is given it.
            let untrusted = if cert { "root.pem" } else { "tsa.pem" };
            for against in [["-queryfile", query.as_str()], ["-data", "data.txt"]] {
                let out = run(
                    &[
                        "openssl",
                        "ts",
                        "-verify",
                        "-in",
                        &reply,
                        against[0],
                        against[1],
                        "-CAfile",
                        "root.pem",
                        "-untrusted",
                        untrusted,
                    ],
                    d,
                );
                assert!(
                    String::from_utf8_lossy(&out.stdout).contains("Verification: OK"),
                    "{algorithm:?} cert={cert} {against:?}"
                );
            }
        }
        // Other data does not verify against the token.
        std::fs::write(d.join("other.txt"), b"another contract").expect("write");
        let out = Command::new("openssl")
            .args(["ts", "-verify", "-in", "r1.tsr", "-data", "other.txt"])
            .args(["-CAfile", "root.pem", "-untrusted", "root.pem"])
            .current_dir(d)
            .output()
            .expect("openssl");
        assert!(!out.status.success(), "{algorithm:?}: other data verified");
    }
}

#[test]
fn the_tsa_certificate_passes_pkilint() {
    let Some(bin) = std::env::var_os("PKILINT_BIN") else {
        panic!("set PKILINT_BIN to the directory with lint_pkix_cert (scripts/test does)");
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    tsa(d, CaKeyAlgorithm::EcP256);
    let out = Command::new(Path::new(&bin).join("lint_pkix_cert"))
        .args(["lint", "-s", "WARNING", "tsa.pem"])
        .current_dir(d)
        .output()
        .expect("lint_pkix_cert");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && report.trim().is_empty(),
        "pkilint: {report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_rejection_reads_back_with_its_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let tsa = tsa(d, CaKeyAlgorithm::EcP256);
    run(
        &[
            "openssl",
            "ts",
            "-query",
            "-digest",
            &"00".repeat(20),
            "-sha1",
            "-out",
            "sha1.tsq",
        ],
        d,
    );
    let rejection = TimeStampRequest::parse(
        &std::fs::read(d.join("sha1.tsq")).expect("query"),
        tsa.policy(),
    )
    .expect_err("SHA-1 is refused");
    std::fs::write(d.join("rejected.tsr"), rejection_response(&rejection)).expect("write");
    let out = run(
        &["openssl", "ts", "-reply", "-in", "rejected.tsr", "-text"],
        d,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Status: Rejected"), "{text}");
    assert!(
        text.contains("unrecognized or unsupported algorithm"),
        "{text}"
    );
}
