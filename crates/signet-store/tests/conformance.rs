//! One story, run against SQLite and PostgreSQL: whatever one backend does, the other must too.

use std::sync::Arc;

use signet_domain::serial::Serial;
use signet_store::{IssuanceIntent, IssuanceState, PostgresStore, SqliteStore, Store, StoreError};
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
    assert_eq!(again.counts().await.expect("counts").issued, 1);
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
