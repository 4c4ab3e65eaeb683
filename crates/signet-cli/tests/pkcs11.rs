//! End to end with CA keys inside a SoftHSM2 token initialized by the test: the same matrix as
//! the file backend, and the keys are sensitive, non-extractable and never in the data directory.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

const MODULE: &str = SOFTHSM_MODULE;
const PIN: &str = "84271923";

/// A private SoftHSM2 configuration with one fresh token labelled `signet`.
fn softhsm(dir: &Path) -> Vec<(&'static str, String)> {
    let mut env = softhsm_token(dir, "signet", PIN);
    env.push(("SIGNET_PKCS11_PIN", PIN.to_owned()));
    env
}

#[test]
fn pkcs11_backend_issues_standards_clean_certificates() {
    let hsm = tempdir();
    let data = tempdir();
    let work = tempdir();
    let env = softhsm(hsm.path());
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut init = signet(data.path());
    init.envs(env_refs.iter().copied()).args([
        "init",
        "--base-url",
        BASE_URL,
        "--key-backend",
        "pkcs11",
        "--pkcs11-module",
        MODULE,
    ]);
    ok(&mut init);

    // No key material and no passphrase in the data directory.
    assert!(!data.path().join("keys").exists());
    assert!(!data.path().join("secrets").exists());
    for (path, bytes) in snapshot(data.path()) {
        assert!(
            !text(&bytes).contains("PRIVATE KEY"),
            "{} holds a private key",
            path.display()
        );
    }
    let config = std::fs::read_to_string(data.path().join("signet.toml")).expect("config");
    assert!(
        config.contains("backend = \"pkcs11\"") && !config.contains(PIN),
        "{config}"
    );

    // The token holds the eight private keys (the staff CA's and the TSA's too), sensitive and
    // never extractable.
    let listing = ok(Command::new("pkcs11-tool")
        .envs(env_refs.iter().copied())
        .args([
            "--module",
            MODULE,
            "--token-label",
            "signet",
            "--login",
            "--pin",
            PIN,
            "--list-objects",
            "--type",
            "privkey",
        ]));
    let listing = text(&listing.stdout);
    for name in [
        "root",
        "class3",
        "smime",
        "class3-ocsp",
        "smime-ocsp",
        "staff",
        "staff-ocsp",
        "tsa",
    ] {
        assert!(
            listing.contains(&format!("label:      signet-{name}\n")),
            "signet-{name} missing:\n{listing}"
        );
    }
    assert_eq!(listing.matches("never extractable").count(), 8, "{listing}");
    assert_eq!(listing.matches("always sensitive").count(), 8, "{listing}");

    issue_matrix(data.path(), work.path(), &env_refs);

    // The time-stamping authority signs with its key in the token.
    let server = Server::start_with_env(data.path(), &[], &env_refs);
    std::fs::write(work.path().join("data.txt"), b"dated by an HSM").expect("write");
    let (status, _, reply) = time_stamp(&server, work.path(), "data.txt", "q.tsq");
    assert_eq!(status, 200);
    std::fs::write(work.path().join("r.tsr"), reply).expect("write");
    verify_time_stamp(
        work.path(),
        "r.tsr",
        "q.tsq",
        &data.path().join("ca/root.pem"),
    );
    drop(server);

    // A wrong PIN is a clear error.
    let request = csr(work.path(), "k", KEYS[2].1);
    let id = identity(work.path(), true);
    let out = run(issue_cmd(data.path(), "class3-auth", "12", &request, &id)
        .envs(env_refs.iter().copied())
        .env("SIGNET_PKCS11_PIN", "00000000"));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("wrong PIN"),
        "{}",
        text(&out.stderr)
    );
}
