//! End to end, file-key backend: init, then every profile × subscriber key, judged by openssl
//! and pkilint; CA keys encrypted at rest; RSA-4096 CAs.

mod common;

use std::process::Command;

use common::*;

#[test]
fn file_backend_issues_standards_clean_certificates() {
    let data = tempdir();
    let work = tempdir();
    let out = ok(signet(data.path()).args(["init", "--base-url", BASE_URL]));
    assert!(text(&out.stdout).contains("Created the CA"));
    issue_matrix(data.path(), work.path(), &[]);
}

#[test]
fn ca_keys_are_encrypted_at_rest_and_the_passphrase_file_is_private() {
    let data = tempdir();
    ok(signet(data.path()).args(["init", "--base-url", BASE_URL]));
    let passphrase = data.path().join("secrets/ca-passphrase");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&passphrase)
        .expect("passphrase file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "passphrase file mode");
    for name in ["root", "class3", "smime", "class3-ocsp", "smime-ocsp"] {
        let key = data.path().join(format!("keys/{name}.key.pem"));
        let pem = std::fs::read_to_string(&key).expect("key file");
        assert!(
            pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "{name} is not encrypted"
        );
        // openssl decrypts it with the passphrase, and only with it.
        ok(Command::new("openssl")
            .args(["pkey", "-noout", "-in"])
            .arg(&key)
            .arg("-passin")
            .arg(format!("file:{}", passphrase.display())));
        let wrong = run(Command::new("openssl")
            .args(["pkey", "-noout", "-in"])
            .arg(&key)
            .args(["-passin", "pass:wrong"]));
        assert!(
            !wrong.status.success(),
            "{name} decrypts with a wrong passphrase"
        );
    }
    // Nothing in the data directory is an unencrypted private key.
    for (path, bytes) in snapshot(data.path()) {
        assert!(
            !text(&bytes).contains("BEGIN PRIVATE KEY"),
            "{} holds a clear private key",
            path.display()
        );
    }
    // Without the passphrase the CA does not open; with it in the environment it does.
    std::fs::rename(&passphrase, data.path().join("moved")).expect("move passphrase");
    let work = tempdir();
    let request = csr(work.path(), "k", KEYS[2].1);
    let id = identity(work.path(), true);
    let issue = |env: &[(&str, &str)]| {
        run(issue_cmd(data.path(), "class3-auth", "12", &request, &id).envs(env.iter().copied()))
    };
    let refused = issue(&[]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("SIGNET_CA_PASSPHRASE"),
        "{}",
        text(&refused.stderr)
    );
    // A wrong passphrase stops the command before it writes anything (key files are decrypted
    // when the CA opens for a command that signs, not at its first signature).
    let before = audit_log(data.path()).len();
    let wrong = issue(&[("SIGNET_CA_PASSPHRASE", "not the passphrase")]);
    assert!(!wrong.status.success());
    assert!(
        text(&wrong.stderr).contains("wrong passphrase"),
        "{}",
        text(&wrong.stderr)
    );
    assert_eq!(audit_log(data.path()).len(), before, "nothing written");
    let secret = std::fs::read_to_string(data.path().join("moved")).expect("passphrase");
    let issued = issue(&[("SIGNET_CA_PASSPHRASE", secret.trim())]);
    assert!(issued.status.success(), "{}", text(&issued.stderr));
    let env = [("SIGNET_CA_PASSPHRASE", secret.trim())];

    // A key file that does not hold its certificate's key stops `serve` at start: the TSA's
    // too, which no request may need for days.
    let tsa_key = data.path().join("keys/tsa.key.pem");
    std::fs::copy(data.path().join("keys/class3-ocsp.key.pem"), &tsa_key).expect("swap key");
    let serve = run(signet(data.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .envs(env));
    assert!(!serve.status.success());
    assert!(
        text(&serve.stderr).contains("TSA") && text(&serve.stderr).contains("does not hold"),
        "{}",
        text(&serve.stderr)
    );
}

#[test]
fn rsa_4096_hierarchy_issues_clean_certificates() {
    let data = tempdir();
    let work = tempdir();
    ok(signet(data.path()).args([
        "init",
        "--base-url",
        BASE_URL,
        "--ca-key-algorithm",
        "rsa-4096",
    ]));
    let out = ok(Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(data.path().join("ca/class3.pem")));
    assert!(text(&out.stdout).contains("Public-Key: (4096 bit)"));
    let id = identity(work.path(), true);
    let request = csr(work.path(), "k", KEYS[0].1);
    for (profile, issuer, months, linter) in PROFILES {
        let out = ok(&mut issue_cmd(data.path(), profile, months, &request, &id));
        let cert = work.path().join(format!("{profile}.pem"));
        std::fs::write(&cert, &out.stdout).expect("write");
        openssl_verify(
            &data.path().join("ca/root.pem"),
            &data.path().join(format!("ca/{issuer}.pem")),
            &cert,
        );
        lint(linter[0], &linter[1..], &cert);
    }
    for name in ["root", "class3", "smime"] {
        lint(
            "lint_pkix_cert",
            &[],
            &data.path().join(format!("ca/{name}.pem")),
        );
    }
    // CA RSA keys below 4096 bits cannot be chosen.
    let other = tempdir();
    let refused = run(signet(other.path()).args(["init", "--ca-key-algorithm", "rsa-2048"]));
    assert!(!refused.status.success());
}
