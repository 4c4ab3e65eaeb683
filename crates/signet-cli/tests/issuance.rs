//! End to end, file-key backend: init, then every profile × subscriber key, judged by openssl
//! and pkilint; CA keys encrypted at rest; RSA-4096 CAs.

mod common;

use std::path::PathBuf;
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

#[test]
fn a_batch_issues_every_good_request_and_refuses_each_bad_one_alone() {
    let data = tempdir();
    let work = tempdir();
    ok(signet(data.path()).args(["init", "--base-url", BASE_URL]));
    let ca = data.path().join("ca");

    // Every profile × subscriber key, then one request wrong in each way, each on its line.
    let mut lines = Vec::new();
    let mut good = Vec::new(); // (line number, issuer, linter)
    for (key, args) in KEYS {
        let pem = std::fs::read_to_string(csr(work.path(), key, args)).expect("csr");
        for (profile, issuer, months, linter) in PROFILES {
            let months = months.parse().expect("months");
            lines.push(batch_line(profile, &pem, lines.len(), months));
            good.push((lines.len(), issuer, linter));
        }
    }
    let pem = std::fs::read_to_string(csr(work.path(), "bad", KEYS[2].1)).expect("csr");
    let bad = [
        ("{\"profile\": \"class3-auth\",".to_owned(), "not a request"),
        (
            batch_line("no-such-profile", &pem, 90, 12),
            "no-such-profile",
        ),
        (
            batch_line(
                "class3-auth",
                "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n",
                91,
                12,
            ),
            "CSR",
        ),
        (batch_line("class3-auth", &pem, 92, 400), "400"),
        // A control sequence in the input reaches the terminal escaped, never raw.
        (batch_line("x\u{1b}[2J", &pem, 93, 12), "x\\u{1b}[2J"),
    ];
    let mut refused_lines = Vec::new();
    for (line, why) in &bad {
        lines.push(line.clone());
        refused_lines.push((lines.len(), *why));
    }
    lines.push(String::new()); // blank lines are skipped
    let requests = work.path().join("requests.jsonl");
    std::fs::write(&requests, lines.join("\n")).expect("write requests");

    let out_dir = work.path().join("certificates");
    let out = run(issue_batch_cmd(data.path(), &requests, &out_dir).args(["--batch-size", "3"]));
    let stdout = text(&out.stdout);
    assert!(!out.status.success(), "refused lines must fail the command");
    assert!(
        text(&out.stderr).contains(&format!(
            "5 of {} requests not issued or not written",
            good.len() + 5
        )),
        "{}",
        text(&out.stderr)
    );

    let mut serials = Vec::new();
    for (n, issuer, linter) in &good {
        let line = batch_outcome(&stdout, *n, "issued serial");
        let path = PathBuf::from(line.rsplit_once(" → ").expect("path").1);
        openssl_verify(
            &ca.join("root.pem"),
            &ca.join(format!("{issuer}.pem")),
            &path,
        );
        lint(linter[0], &linter[1..], &path);
        serials.push(
            path.file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned(),
        );
    }
    for (n, why) in &refused_lines {
        let line = batch_outcome(&stdout, *n, "refused:");
        assert!(line.contains(why), "line {n} should name {why}: {line}");
    }
    assert!(
        !stdout.contains('\u{1b}'),
        "a raw escape reached the terminal"
    );
    assert_eq!(
        std::fs::read_dir(&out_dir).expect("out").count(),
        good.len(),
        "one file per certificate issued, none for a refusal"
    );

    // Each certificate has its intent, its record and its pre-signed OCSP response; nothing
    // is left open; each refusal that reached the CA is audited (the malformed line did not).
    let (open, responses) = with_store(data.path(), async |store| {
        let mut responses = 0;
        for s in &serials {
            responses += usize::from(store.ocsp_response(s).await.expect("ocsp").is_some());
        }
        (
            store.unfinished_intents().await.expect("intents").len(),
            responses,
        )
    });
    assert_eq!((open, responses), (0, good.len()));
    let audit = audit_log(data.path());
    let count = |action: &str| audit.iter().filter(|e| e.action == action).count();
    assert_eq!(count("certificate.issue.refused"), 4);
    for s in &serials {
        for action in ["certificate.intent", "certificate.issued"] {
            assert!(
                audit
                    .iter()
                    .any(|e| e.action == action && e.subject == format!("certificate:{s}")),
                "no {action} for {s}"
            );
        }
    }
    ok(signet(data.path()).args(["audit", "verify"]));
}
