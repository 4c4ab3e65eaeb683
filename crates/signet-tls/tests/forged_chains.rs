//! A chain is trusted only through signatures: an intermediate that borrows a root's name, signed
//! with SHA-1 by another key and without key identifiers, must not pass for one the root issued.

use std::path::Path;
use std::process::Command;

use der::Decode;
use signet_tls::chain::{judge, read_certificates};
use x509_cert::Certificate;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn der(dir: &Path, pem: &str) -> Vec<u8> {
    let certificates =
        read_certificates(&std::fs::read(dir.join(pem)).expect("pem")).expect("cert");
    der::Encode::to_der(&certificates[0]).expect("der")
}

#[test]
fn an_intermediate_borrowing_the_roots_name_is_not_trusted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(
        d.join("ext.cnf"),
        "[ca]\nbasicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n\
         [leaf]\nsubjectAltName=DNS:localhost\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n",
    )
    .expect("ext");
    // The real root, the anchor.
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.pem",
            "-days",
            "30",
            "-subj",
            "/CN=Real Root",
        ],
    );
    // The attacker's intermediate: issuer name "Real Root", signed with SHA-1 by the attacker's key.
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "fake-root.key",
            "-out",
            "fake-root.pem",
            "-days",
            "30",
            "-subj",
            "/CN=Real Root",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "inter.key",
            "-out",
            "inter.csr",
            "-subj",
            "/CN=Forged Intermediate",
        ],
    );
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-sha1",
            "-in",
            "inter.csr",
            "-CA",
            "fake-root.pem",
            "-CAkey",
            "fake-root.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            "ext.cnf",
            "-extensions",
            "ca",
            "-out",
            "inter.pem",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "inter.pem",
            "-CAkey",
            "inter.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            "ext.cnf",
            "-extensions",
            "leaf",
            "-out",
            "leaf.pem",
        ],
    );
    let anchors = vec![Certificate::from_der(&der(d, "root.pem")).expect("root")];
    let served = vec![der(d, "leaf.pem"), der(d, "inter.pem")];
    let report = judge(
        &served,
        "localhost",
        &anchors,
        time::OffsetDateTime::now_utc(),
        &|_| None,
    )
    .expect("a report");
    assert!(!report.trusted, "a forged intermediate passed: {report:?}");
    assert_eq!(report.anchor, None);
    // The same chain with the intermediate really signed (SHA-1) by the root is trusted: the
    // legacy verifier reads it, and the SHA-1 signature is reported.
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-sha1",
            "-in",
            "inter.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            "ext.cnf",
            "-extensions",
            "ca",
            "-out",
            "inter.pem",
        ],
    );
    let served = vec![der(d, "leaf.pem"), der(d, "inter.pem")];
    let report = judge(
        &served,
        "localhost",
        &anchors,
        time::OffsetDateTime::now_utc(),
        &|_| None,
    )
    .expect("a report");
    assert!(report.trusted, "{report:?}");
    assert_eq!(report.weak_signatures, ["CN=Forged Intermediate"]);
}
