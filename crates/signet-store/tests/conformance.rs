//! One story, run against SQLite and PostgreSQL: whatever one backend does, the other must too.

use std::str::FromStr;
use std::sync::Arc;

use signet_domain::serial::Serial;
use signet_store::{
    AuditEntry, CrlRecord, DocumentRecord, IssuanceIntent, IssuanceState, NewAccount, OcspRecord,
    OrderEventRecord, OrderRecord, PostgresStore, SqliteStore, Store, StoreError, TokenRecord,
};
use time::OffsetDateTime;

fn serial(n: u8) -> Serial {
    let mut e = [0x11u8; 16];
    e[15] = n;
    Serial::from_entropy(e)
}

fn intent(n: u8) -> IssuanceIntent {
    let now = OffsetDateTime::from_unix_timestamp(1_795_000_000).expect("time");
    IssuanceIntent {
        serial: serial(n),
        issuer: "class3".into(),
        profile: "class3-auth".into(),
        subject: "C=BE, O=Example, CN=Anna Peeters".into(),
        not_before: now,
        not_after: now + time::Duration::days(30),
        tbs_der: vec![0x30, 0x03, 0x02, 0x01, n],
        created_at: now,
        crl_shard: u32::from(n % 4),
    }
}

async fn story(store: Arc<dyn Store>) {
    let at = OffsetDateTime::from_unix_timestamp(1_795_000_100).expect("time");
    assert_eq!(store.counts().await.expect("counts"), Default::default());

    // Intent, then completion.
    store
        .record_issuance_intent(&intent(1))
        .await
        .expect("intent 1");
    let open = store.unfinished_intents().await.expect("unfinished");
    assert_eq!(open, vec![intent(1)]);
    store
        .record_issued(&serial(1), b"certificate-der", at)
        .await
        .expect("issued");
    let rec = store
        .certificate(&serial(1))
        .await
        .expect("read")
        .expect("present");
    assert_eq!(rec.state, IssuanceState::Issued);
    assert_eq!(rec.der.as_deref(), Some(&b"certificate-der"[..]));
    assert_eq!(rec.intent, intent(1));

    // A serial is never reused, whatever state its row is in.
    match store.record_issuance_intent(&intent(1)).await {
        Err(StoreError::SerialTaken(s)) => assert_eq!(s, serial(1).to_hex()),
        other => panic!("expected SerialTaken, got {other:?}"),
    }
    // Completing twice, or completing what was never intended, is refused.
    assert!(matches!(
        store.record_issued(&serial(1), b"x", at).await,
        Err(StoreError::NoOpenIntent(_))
    ));
    assert!(matches!(
        store.record_issued(&serial(9), b"x", at).await,
        Err(StoreError::NoOpenIntent(_))
    ));

    // An intent left open (a crash before signing finished) is listed; abandoning closes it.
    store
        .record_issuance_intent(&intent(2))
        .await
        .expect("intent 2");
    assert_eq!(
        store.unfinished_intents().await.expect("unfinished"),
        vec![intent(2)]
    );
    store
        .abandon_intent(&serial(2), "HSM unavailable", at)
        .await
        .expect("abandon");
    let rec = store
        .certificate(&serial(2))
        .await
        .expect("read")
        .expect("present");
    assert_eq!(
        (rec.state, rec.note.as_deref(), rec.der),
        (IssuanceState::Abandoned, Some("HSM unavailable"), None)
    );
    assert!(
        store
            .unfinished_intents()
            .await
            .expect("unfinished")
            .is_empty()
    );

    let counts = store.counts().await.expect("counts");
    assert_eq!((counts.intents, counts.issued, counts.abandoned), (0, 1, 1));
    assert!(store.certificate(&serial(7)).await.expect("read").is_none());
    workflow_story(store).await;
}

fn t(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_000_000 + secs).expect("time")
}

async fn workflow_story(store: Arc<dyn Store>) {
    // Accounts: unique e-mail, login failures, password.
    let new = NewAccount {
        email: "anna@example.be".into(),
        name: "Anna".into(),
        role: "subscriber".into(),
        region: None,
        password_hash: Some("$argon2id$fake".into()),
        email_confirmed: false,
        created_at: t(0),
    };
    let id = store.create_account(&new).await.expect("account");
    assert!(matches!(
        store.create_account(&new).await,
        Err(StoreError::Duplicate(_))
    ));
    store.record_login_failure(id, t(1)).await.expect("failure");
    store.record_login_failure(id, t(2)).await.expect("failure");
    let a = store
        .account_by_email("anna@example.be")
        .await
        .expect("read")
        .expect("present");
    assert_eq!(
        (
            a.id,
            a.failed_logins,
            a.last_failed_login,
            a.email_confirmed
        ),
        (id, 2, Some(t(2)), false)
    );
    store.confirm_account_email(id).await.expect("confirm");
    store.clear_login_failures(id).await.expect("clear");
    assert_eq!(
        store
            .account(id)
            .await
            .expect("read")
            .expect("present")
            .failed_logins,
        0
    );

    // Sessions expire.
    store
        .create_session("s1", id, t(100), t(0))
        .await
        .expect("session");
    assert_eq!(
        store.session_account("s1", t(50)).await.expect("read"),
        Some(id)
    );
    assert_eq!(
        store.session_account("s1", t(100)).await.expect("read"),
        None
    );
    store.end_session("s1").await.expect("end");

    // Tokens work once, and only before expiry; concurrent users: exactly one wins.
    let token = TokenRecord {
        purpose: "pickup".into(),
        account_id: None,
        order_number: Some("AAAAA-BBBBB".into()),
        expires_at: t(100),
    };
    store.create_token("h1", &token, t(0)).await.expect("token");
    assert_eq!(
        store.live_token("h1", "pickup", t(1)).await.expect("live"),
        Some(token.clone())
    );
    assert_eq!(
        store
            .live_token("h1", "password_reset", t(1))
            .await
            .expect("live"),
        None
    );
    let (a, b) = tokio::join!(
        store.use_token("h1", "pickup", t(2)),
        store.use_token("h1", "pickup", t(2))
    );
    assert_eq!(
        a.expect("use").is_some() as u8 + b.expect("use").is_some() as u8,
        1,
        "exactly one use"
    );
    assert_eq!(
        store.use_token("h1", "pickup", t(3)).await.expect("use"),
        None
    );
    store.restore_token("h1").await.expect("restore");
    assert_eq!(
        store.use_token("h1", "pickup", t(200)).await.expect("use"),
        None,
        "expired"
    );

    // Orders: compare-and-set transitions.
    let order = OrderRecord {
        order_number: "AAAAA-BBBBB".into(),
        product: "personal-3-pro".into(),
        identity_json: "{}".into(),
        approval_email: "anna@example.be".into(),
        approval_confirmed: false,
        pickup_password_hash: "$argon2id$fake".into(),
        validity_months: 12,
        key_type: "p-256".into(),
        channel: "self_service".into(),
        country: "DE".into(),
        placed_by: id,
        attested_by: None,
        status: "awaiting_documents".into(),
        ready_since: None,
        pickup_failures: 0,
        certificate_serial: None,
        previous_order: None,
        created_at: t(0),
        updated_at: t(0),
        order_kind: "new".into(),
        fixed_not_after: None,
    };
    store.create_order(&order).await.expect("order");
    assert!(matches!(
        store.create_order(&order).await,
        Err(StoreError::Duplicate(_))
    ));
    store
        .transition_order(
            "AAAAA-BBBBB",
            "awaiting_documents",
            "in_review",
            None,
            None,
            t(5),
        )
        .await
        .expect("move");
    assert!(matches!(
        store
            .transition_order(
                "AAAAA-BBBBB",
                "awaiting_documents",
                "in_review",
                None,
                None,
                t(6)
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    store
        .transition_order(
            "AAAAA-BBBBB",
            "in_review",
            "ready_for_pickup",
            Some(t(7)),
            None,
            t(7),
        )
        .await
        .expect("approve");
    store
        .confirm_approval_email("AAAAA-BBBBB", t(8))
        .await
        .expect("confirm");
    store
        .record_attestation("AAAAA-BBBBB", 42, t(8))
        .await
        .expect("attest");
    assert_eq!(
        store
            .record_pickup_failure("AAAAA-BBBBB")
            .await
            .expect("failure"),
        1
    );
    assert_eq!(
        store
            .record_pickup_failure("AAAAA-BBBBB")
            .await
            .expect("failure"),
        2
    );
    let o = store
        .order("AAAAA-BBBBB")
        .await
        .expect("read")
        .expect("present");
    assert_eq!(
        (
            o.status.as_str(),
            o.ready_since,
            o.approval_confirmed,
            o.attested_by,
            o.pickup_failures
        ),
        ("ready_for_pickup", Some(t(7)), true, Some(42), 2)
    );
    assert_eq!(store.orders_placed_by(id).await.expect("list").len(), 1);
    assert_eq!(store.orders_in_country("DE").await.expect("list").len(), 1);
    assert_eq!(
        store
            .orders_with_status("ready_for_pickup")
            .await
            .expect("list")
            .len(),
        1
    );
    assert!(
        store
            .orders_with_status("in_review")
            .await
            .expect("list")
            .is_empty()
    );

    // Documents are stored once per content hash.
    let doc = DocumentRecord {
        id: 0,
        order_number: "AAAAA-BBBBB".into(),
        kind: "id_copy".into(),
        sha256: "ab".repeat(32),
        media_type: "application/pdf".into(),
        size: 3,
        uploaded_by: id,
        created_at: t(9),
    };
    store.attach_document(&doc, b"pdf").await.expect("doc");
    store
        .attach_document(&doc, b"pdf")
        .await
        .expect("same content again");
    assert_eq!(store.documents("AAAAA-BBBBB").await.expect("docs").len(), 2);
    assert_eq!(
        store.blob(&"ab".repeat(32)).await.expect("blob"),
        Some(b"pdf".to_vec())
    );

    let ev = OrderEventRecord {
        actor: Some(id),
        kind: "message".into(),
        message: Some("hello".into()),
        created_at: t(10),
    };
    store
        .add_order_event("AAAAA-BBBBB", &ev)
        .await
        .expect("event");
    assert_eq!(
        store.order_events("AAAAA-BBBBB").await.expect("events"),
        vec![ev]
    );

    // Audit: sequence numbers are unique, so concurrent appends cannot fork the chain.
    let entry = AuditEntry {
        seq: 1,
        at: t(11),
        actor: "account:1".into(),
        action: "login".into(),
        subject: "account:1".into(),
        detail: "{}".into(),
        prev_hash: "0".repeat(64),
        hash: "1".repeat(64),
    };
    store.append_audit(&entry).await.expect("append");
    assert!(matches!(
        store.append_audit(&entry).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.last_audit_entry().await.expect("last"),
        Some(entry.clone())
    );
    assert_eq!(store.audit_entries().await.expect("all"), vec![entry]);

    // Revocation happens once, to issued certificates only; expiring certificates are found.
    store
        .record_issuance_intent(&intent(20))
        .await
        .expect("intent");
    assert!(matches!(
        store
            .revoke_certificate(&serial(20), "superseded", t(12), b"0")
            .await,
        Err(StoreError::Conflict(_))
    ));
    store
        .record_issued(&serial(20), b"der", t(12))
        .await
        .expect("issued");
    let epoch = store.revocation_epoch().await.expect("epoch");
    let soon = store
        .certificates_expiring(t(0), t(40 * 86_400))
        .await
        .expect("expiring");
    assert!(soon.iter().any(|c| c.intent.serial == serial(20)));
    store
        .revoke_certificate(&serial(20), "key_compromise", t(13), &[0x30, 0x01, 0x20])
        .await
        .expect("revoke");
    assert!(matches!(
        store
            .revoke_certificate(&serial(20), "superseded", t(14), b"0")
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.revocation_epoch().await.expect("epoch"),
        epoch + 1,
        "one revocation moves the epoch once; a refused one does not"
    );
    let rec = store
        .certificate(&serial(20))
        .await
        .expect("read")
        .expect("present");
    assert_eq!(
        (rec.revoked_at, rec.revocation_reason.as_deref()),
        (Some(t(13)), Some("key_compromise"))
    );
    assert!(
        !store
            .certificates_expiring(t(0), t(40 * 86_400))
            .await
            .expect("expiring")
            .iter()
            .any(|c| c.intent.serial == serial(20))
    );
    assert!(
        store
            .record_reminder("AB", "expiry", t(1))
            .await
            .expect("reminder")
    );
    assert!(
        !store
            .record_reminder("AB", "expiry", t(2))
            .await
            .expect("reminder")
    );
    store
        .transition_order(
            "AAAAA-BBBBB",
            "ready_for_pickup",
            "issued",
            None,
            Some(&serial(20).to_hex()),
            t(15),
        )
        .await
        .expect("issue");
    assert_eq!(
        store
            .order_for_certificate(&serial(20).to_hex())
            .await
            .expect("order")
            .map(|o| o.order_number),
        Some("AAAAA-BBBBB".into())
    );
    let mut reorder = order.clone();
    reorder.order_number = "CCCCC-DDDDD".into();
    store.create_order(&reorder).await.expect("reorder");
    assert_eq!(
        store
            .copy_documents("AAAAA-BBBBB", "CCCCC-DDDDD")
            .await
            .expect("copy"),
        2
    );
    assert_eq!(store.documents("CCCCC-DDDDD").await.expect("docs").len(), 2);

    // CRL numbers only go up, per shard, even when asked concurrently.
    let (a, b) = tokio::join!(
        store.next_crl_number("class3", 0),
        store.next_crl_number("class3", 0)
    );
    let mut got = [a.expect("number"), b.expect("number")];
    got.sort();
    assert_eq!(got, [1, 2]);
    assert_eq!(store.next_crl_number("class3", 1).await.expect("number"), 1);
    assert_eq!(store.next_crl_number("class3", 0).await.expect("number"), 3);
    let crl = |number: u64| CrlRecord {
        issuer: "class3".into(),
        shard: 0,
        number,
        this_update: t(20),
        next_update: t(30),
        der: vec![number as u8],
    };
    store.store_crl(&crl(2)).await.expect("crl");
    store.store_crl(&crl(3)).await.expect("crl");
    assert!(matches!(
        store.store_crl(&crl(3)).await,
        Err(StoreError::Duplicate(_))
    ));
    assert_eq!(
        store.latest_crl("class3", 0).await.expect("latest"),
        Some(crl(3))
    );
    assert_eq!(store.latest_crl("class3", 1).await.expect("latest"), None);
    let revoked = store.revoked_certificates("class3").await.expect("revoked");
    assert_eq!(revoked.len(), 1);
    assert_eq!(
        (revoked[0].serial.as_str(), revoked[0].reason.as_deref()),
        (serial(20).to_hex().as_str(), Some("key_compromise"))
    );
    assert_eq!(revoked[0].crl_shard, 0, "the shard recorded at issuance");
    let mut chunks = Vec::new();
    let passed = store
        .for_each_crl_entry_chunk("class3", 0, &mut |c| {
            chunks.extend_from_slice(c);
            std::ops::ControlFlow::Continue(())
        })
        .await
        .expect("chunks");
    assert_eq!(
        (passed, chunks),
        (1, vec![0x30, 0x01, 0x20]),
        "the stored entry"
    );
    let passed = store
        .for_each_revoked_in_shard("class3", 0, &mut |_| std::ops::ControlFlow::Continue(()))
        .await
        .expect("stream");
    assert_eq!(
        passed, 0,
        "only certificates without a stored entry are streamed"
    );
    let passed = store
        .for_each_crl_entry_chunk("class3", 1, &mut |_| std::ops::ControlFlow::Continue(()))
        .await
        .expect("chunks");
    assert_eq!(passed, 0, "another shard lists nothing");

    // OCSP: issued certificates without a fresh response are found; storing replaces.
    let needing = store
        .certificates_needing_ocsp(t(0), t(0), "", 100)
        .await
        .expect("needing");
    assert!(needing.iter().any(|c| c.serial == serial(1).to_hex()));
    let revoked_status = needing
        .iter()
        .find(|c| c.serial == serial(20).to_hex())
        .expect("the revoked certificate needs a response too");
    assert_eq!(
        (revoked_status.revoked_at, revoked_status.reason.as_deref()),
        (Some(t(13)), Some("key_compromise"))
    );
    for c in &needing {
        let rec = store
            .certificate(&Serial::from_str(&c.serial).expect("serial"))
            .await
            .expect("read")
            .expect("present");
        assert_eq!(rec.state, IssuanceState::Issued);
    }
    // Pages continue after the last serial handed out, in serial order.
    let first = store
        .certificates_needing_ocsp(t(0), t(0), "", 1)
        .await
        .expect("page");
    let rest = store
        .certificates_needing_ocsp(t(0), t(0), &first[0].serial, 100)
        .await
        .expect("page");
    assert_eq!([first, rest].concat(), needing);
    let response = |secs: i64, der: u8| OcspRecord {
        serial: serial(1).to_hex(),
        issuer: "class3".into(),
        this_update: t(secs),
        next_update: t(secs + 100),
        der: vec![der],
    };
    store
        .store_ocsp_response(&response(10, 1))
        .await
        .expect("store");
    let fresh = store
        .certificates_needing_ocsp(t(5), t(0), "", 100)
        .await
        .expect("needing");
    assert!(!fresh.iter().any(|c| c.serial == serial(1).to_hex()));
    let stale = store
        .certificates_needing_ocsp(t(11), t(0), "", 100)
        .await
        .expect("needing");
    assert!(stale.iter().any(|c| c.serial == serial(1).to_hex()));
    store
        .store_ocsp_responses(&[response(20, 2)])
        .await
        .expect("replace");
    assert_eq!(
        store
            .ocsp_response(&serial(1).to_hex())
            .await
            .expect("read"),
        Some(response(20, 2))
    );
    assert_eq!(store.ocsp_response("00").await.expect("read"), None);
}

#[tokio::test]
async fn sqlite_story() {
    let dir = tempfile_dir();
    let url = format!("sqlite://{}/signet.db", dir.display());
    story(Arc::new(
        SqliteStore::open(&url).await.expect("open sqlite"),
    ))
    .await;
    // Re-opening runs no migration twice and keeps the data.
    let again = SqliteStore::open(&url).await.expect("reopen");
    assert_eq!(again.counts().await.expect("counts").issued, 2);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn postgres_story() {
    let admin_url = std::env::var("SIGNET_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let db = format!("signet_store_{}", std::process::id());
    let admin = sqlx::PgPool::connect(&admin_url)
        .await
        .expect("PostgreSQL must answer at SIGNET_TEST_POSTGRES_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}")))
        .execute(&admin)
        .await
        .expect("drop");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&admin)
        .await
        .expect("create");
    let url = format!(
        "{}/{db}",
        admin_url.rsplit_once('/').expect("url has a database").0
    );
    let store = PostgresStore::open(&url).await.expect("open postgres");
    story(Arc::new(store.clone())).await;
    drop(store);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {db} WITH (FORCE)"
    )))
    .execute(&admin)
    .await
    .expect("drop");
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "signet-store-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
