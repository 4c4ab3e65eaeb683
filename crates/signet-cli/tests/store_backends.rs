//! The CLI on PostgreSQL (`--database-url`), and crash safety of the issuance cycle.

mod common;

use std::process::Command;

use common::*;
use signet_store::prelude::*;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

#[test]
fn postgres_store_through_the_cli() {
    let url = postgres_database("cli");

    let data = tempdir();
    let work = tempdir();
    ok(signet(data.path()).args(["--database-url", &url, "init", "--base-url", BASE_URL]));
    assert!(
        !data.path().join("signet.db").exists(),
        "SQLite was used although PostgreSQL was asked for"
    );
    let request = csr(work.path(), "k", KEYS[3].1);
    let id = identity(work.path(), true);
    let out = ok(signet(data.path())
        .args([
            "--database-url",
            &url,
            "issue",
            "--profile",
            "smime-sponsor-multipurpose",
            "--validity-months",
            "24",
            "--csr",
        ])
        .arg(&request)
        .arg("--subject")
        .arg(&id));
    let cert = work.path().join("c.pem");
    std::fs::write(&cert, &out.stdout).expect("write");
    openssl_verify(
        &data.path().join("ca/root.pem"),
        &data.path().join("ca/smime.pem"),
        &cert,
    );

    let counts = block_on(async {
        signet_store::PostgresStore::open(&url)
            .await
            .expect("open")
            .counts()
            .await
            .expect("counts")
    });
    // 7 CA certificates (root; class 3, S/MIME and staff CAs with their OCSP responders), the
    // TSA's and 1 subscriber certificate.
    assert_eq!((counts.issued, counts.intents), (9, 0));

    // A second CA in the same database is refused.
    let other = tempdir();
    let out =
        run(signet(other.path()).args(["--database-url", &url, "init", "--base-url", BASE_URL]));
    assert!(
        !out.status.success() && text(&out.stderr).contains("already holds certificates"),
        "{}",
        text(&out.stderr)
    );
    drop_postgres_database(&url);
}

#[test]
fn a_crash_after_signing_leaves_the_certificate_accounted_for() {
    let data = tempdir();
    let work = tempdir();
    ok(signet(data.path()).args(["init", "--base-url", BASE_URL]));
    let request = csr(work.path(), "k", KEYS[2].1);
    let id = identity(work.path(), true);
    let issue = |crash: bool| {
        let mut cmd = issue_cmd(data.path(), "class3-auth", "12", &request, &id);
        if crash {
            cmd.env("SIGNET_TEST_CRASH_AFTER_SIGNING", "1");
        }
        run(&mut cmd)
    };
    let crashed = issue(true);
    assert!(!crashed.status.success(), "the crash point did not fire");
    assert!(
        crashed.stdout.is_empty(),
        "a certificate escaped before it was recorded"
    );

    let url = format!("sqlite://{}", data.path().join("signet.db").display());
    let open = block_on(async {
        signet_store::SqliteStore::open(&url)
            .await
            .expect("open")
            .unfinished_intents()
            .await
            .expect("intents")
    });
    assert_eq!(
        open.len(),
        1,
        "the signed-but-unrecorded certificate has no intent"
    );
    let intent = &open[0];
    assert_eq!(intent.profile, "class3-auth");
    assert!(
        intent.subject.contains("CN=Anna Peeters"),
        "{}",
        intent.subject
    );
    // The intent holds the exact to-be-signed certificate: openssl can read it.
    let tbs = work.path().join("tbs.der");
    std::fs::write(&tbs, &intent.tbs_der).expect("write tbs");
    let parsed = ok(Command::new("openssl")
        .args(["asn1parse", "-inform", "DER", "-in"])
        .arg(&tbs));
    assert!(text(&parsed.stdout).contains("Anna Peeters"));

    // The next start reports the interrupted issuance, and issuance goes on.
    let next = issue(false);
    assert!(next.status.success(), "{}", text(&next.stderr));
    assert!(
        text(&next.stderr).contains(&intent.serial.to_hex()),
        "no warning about the open intent: {}",
        text(&next.stderr)
    );
}

#[test]
fn a_crash_in_a_batch_after_signing_leaves_every_certificate_accounted_for() {
    let data = tempdir();
    let work = tempdir();
    ok(signet(data.path()).args(["init", "--base-url", BASE_URL]));
    let (requests, out_dir) = batch_of_requests(work.path(), 5);
    let crashed = run(issue_batch_cmd(data.path(), &requests, &out_dir)
        .env("SIGNET_TEST_CRASH_AFTER_SIGNING", "1"));
    assert!(!crashed.status.success(), "the crash point did not fire");
    assert!(
        !text(&crashed.stdout).contains("issued"),
        "{}",
        text(&crashed.stdout)
    );
    assert_eq!(
        std::fs::read_dir(&out_dir).map_or(0, |d| d.count()),
        0,
        "a certificate escaped before it was recorded"
    );

    // All five were recorded as intents before any was signed; each holds its exact TBS.
    let open = with_store(data.path(), async |store| {
        store.unfinished_intents().await.expect("intents")
    });
    assert_eq!(open.len(), 5, "every signed certificate has its intent");
    for (n, intent) in open.iter().enumerate() {
        assert!(!intent.tbs_der.is_empty(), "intent {n} holds no TBS");
    }

    // Once the claim time has passed, reconciliation closes them all as revoked, since each
    // may have been signed: all five on the shard's CRL, which is signed once for the pass
    // (not once per serial: a crash in a large batch leaves thousands).
    let crl_number = || {
        with_store(data.path(), async |store| {
            store
                .latest_crl("class3", 0)
                .await
                .expect("crl")
                .map_or(0, |c| c.number)
        })
    };
    let before = crl_number();
    let later = [("SIGNET_TEST_CLOCK_OFFSET_SECONDS", "3600")];
    ok(signet(data.path())
        .args(["jobs", "--only", "reconcile"])
        .envs(later));
    assert_eq!(crl_number(), before + 1, "one CRL for the pass");
    let crl = with_store(data.path(), async |store| {
        store
            .latest_crl("class3", 0)
            .await
            .expect("crl")
            .expect("a CRL")
    });
    std::fs::write(work.path().join("class3.crl"), &crl.der).expect("write");
    let listed = text(
        &ok(Command::new("openssl")
            .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
            .arg(work.path().join("class3.crl")))
        .stdout,
    );
    for intent in &open {
        assert!(
            listed.contains(&intent.serial.to_hex()),
            "{} is not on the CRL",
            intent.serial
        );
    }
    let (left, revoked) = with_store(data.path(), async |store| {
        let mut revoked = 0;
        for intent in &open {
            let c = store
                .certificate(&intent.serial)
                .await
                .expect("read")
                .expect("record");
            revoked += usize::from(c.revoked_at.is_some());
        }
        (
            store.unfinished_intents().await.expect("intents").len(),
            revoked,
        )
    });
    assert_eq!((left, revoked), (0, 5));
    let closed = audit_log(data.path())
        .iter()
        .filter(|e| e.action == "reconcile.intent_closed")
        .count();
    assert_eq!(closed, 5);
}

#[test]
fn a_store_failing_in_a_batch_stops_the_run_and_says_which_lines_were_not_issued() {
    let data = tempdir();
    let work = tempdir();
    ok(signet(data.path()).args(["init", "--base-url", BASE_URL]));
    let (requests, out_dir) = batch_of_requests(work.path(), 8);
    // The database refuses every certificate after the fourth of the run, as a full disk would.
    let db = data.path().join("signet.db");
    let python = |sql: &str| {
        ok(Command::new("python3").args([
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()",
        ])
        .arg(&db)
        .arg(sql));
    };
    let before = with_store(data.path(), async |store| {
        store.counts().await.expect("counts")
    });
    python(&format!(
        "CREATE TRIGGER full_disk BEFORE INSERT ON certificates \
         WHEN (SELECT count(*) FROM certificates) >= {} \
         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
        before.issued + 4
    ));
    let started =
        text(&ok(Command::new("date").args(["-u", "-d", "-1 min", "+%Y-%m-%dT%H:%M:%SZ"])).stdout)
            .trim()
            .to_owned();
    let out = run(issue_batch_cmd(data.path(), &requests, &out_dir).args(["--batch-size", "2"]));
    let stdout = text(&out.stdout);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("the run stopped: the store failed"),
        "{}",
        text(&out.stderr)
    );
    for n in 1..=4 {
        assert!(
            stdout.contains(&format!("line {n}: issued serial ")),
            "line {n}:\n{stdout}"
        );
    }
    for n in 5..=6 {
        let line = batch_outcome(&stdout, n, "refused:");
        assert!(
            line.contains("the batch stopped") && line.contains("disk is full"),
            "{line}"
        );
    }
    for n in 7..=8 {
        assert!(
            stdout.contains(&format!("line {n}: refused: not attempted")),
            "line {n}:\n{stdout}"
        );
    }
    assert_eq!(std::fs::read_dir(&out_dir).expect("out").count(), 4);
    // A certificate issued and recorded whose file went missing (a run killed between the
    // commit and the write) is written again by `signet issued`; the others are left alone.
    let lost = std::fs::read_dir(&out_dir)
        .expect("out")
        .next()
        .expect("a file")
        .expect("entry")
        .path();
    std::fs::remove_file(&lost).expect("remove");
    let listed = ok(signet(data.path())
        .args(["issued", "--since", &started])
        .arg("--out")
        .arg(&out_dir));
    let listing = text(&listed.stdout);
    assert_eq!(listing.lines().count(), 4, "{listing}");
    assert_eq!(listing.matches("(already in").count(), 3, "{listing}");
    assert!(listing.contains("CN=Anna Peeters"), "{listing}");
    assert!(lost.is_file(), "the lost certificate was not written again");
    // The failed group's intents were never committed: nothing is open, nothing half-done.
    python("DROP TRIGGER full_disk;");
    let (open, counts) = with_store(data.path(), async |store| {
        (
            store.unfinished_intents().await.expect("intents").len(),
            store.counts().await.expect("counts"),
        )
    });
    assert_eq!((open, counts.issued), (0, before.issued + 4));
    ok(signet(data.path()).args(["audit", "verify"]));
}
