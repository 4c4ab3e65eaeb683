//! The schema holds only what the domain names (migration 0012), on SQLite and PostgreSQL: every
//! value of a domain enum is accepted, any other value and any row pointing nowhere is refused,
//! and the refusal is told apart from an outage (`is_constraint_violation`: a bug, not a 503).

mod support;

use std::sync::Arc;

use signet_domain::certificate::RevocationReason;
use signet_domain::config::Channel;
use signet_domain::key::KeyChoice;
use signet_domain::order::{DocumentKind, OrderKind, OrderStatus};
use signet_domain::role::Role;
use signet_store::{
    AuditRecord, DocumentRecord, NewAccount, OrderRecord, PostgresStore, SqliteStore, Store,
    StoreError,
};
use time::OffsetDateTime;

fn t0() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH
}

fn account(email: &str, role: &str) -> NewAccount {
    NewAccount {
        email: email.into(),
        name: "Someone".into(),
        role: role.into(),
        region: None,
        password_hash: None,
        email_confirmed: true,
        created_at: t0(),
    }
}

fn order(number: &str, placed_by: i64) -> OrderRecord {
    OrderRecord {
        order_number: number.into(),
        product: "personal-3-pro".into(),
        identity_json: "{}".into(),
        approval_email: "a@example.com".into(),
        approval_confirmed: false,
        pickup_password_hash: "$argon2id$fake".into(),
        validity_months: 12,
        key_type: "p-256".into(),
        channel: Channel::SelfService.as_str().into(),
        country: "DE".into(),
        placed_by,
        attested_by: None,
        status: OrderStatus::AwaitingDocuments.as_str().into(),
        ready_since: None,
        pickup_failures: 0,
        certificate_serial: None,
        previous_order: None,
        created_at: t0(),
        updated_at: t0(),
        order_kind: "new".into(),
        fixed_not_after: None,
        claimed_serial: None,
        claim_expires_at: None,
    }
}

/// A change that makes an order invalid.
type Spoil = fn(&mut OrderRecord);

fn note() -> AuditRecord {
    AuditRecord {
        at: t0(),
        actor: "test".into(),
        action: "test.constraint".into(),
        subject: "test".into(),
        detail: "{}".into(),
    }
}

/// Runs one write in a unit of work of its own and commits it.
async fn write<T>(
    store: &Arc<dyn Store>,
    op: impl AsyncFnOnce(&mut dyn signet_store::Tx) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut tx = store.begin().await.expect("begin");
    let result = op(&mut *tx).await;
    match result {
        Ok(value) => {
            tx.audit(note());
            tx.commit().await.expect("commit");
            Ok(value)
        }
        Err(e) => {
            tx.rollback().await.ok();
            Err(e)
        }
    }
}

fn refused<T: std::fmt::Debug>(what: &str, result: Result<T, StoreError>) {
    match result {
        Err(e) => assert!(
            e.is_constraint_violation(),
            "{what}: refused, but not as a constraint violation: {e}"
        ),
        Ok(v) => panic!("{what}: accepted ({v:?})"),
    }
}

async fn story(store: Arc<dyn Store>) {
    // Every role the domain names is accepted; another is not.
    let mut ids = Vec::new();
    for role in Role::ALL {
        let email = format!("{}@example.com", role.as_str());
        ids.push(
            write(&store, async |tx| {
                tx.create_account(&account(&email, role.as_str())).await
            })
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", role.as_str())),
        );
    }
    let owner = ids[0];
    refused(
        "role superuser",
        write(&store, async |tx| {
            tx.create_account(&account("root@example.com", "superuser"))
                .await
        })
        .await,
    );

    // Orders: every status, channel and key choice the domain names; no other; an owner that
    // exists.
    for (i, status) in OrderStatus::ALL.into_iter().enumerate() {
        let mut o = order(&format!("STAT{i}"), owner);
        o.status = status.as_str().into();
        write(&store, async |tx| tx.create_order(&o).await)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", status.as_str()));
    }
    let keys: Vec<String> = KeyChoice::ALL
        .into_iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    for (i, key) in keys.iter().enumerate() {
        let mut o = order(&format!("KEY{i}"), owner);
        o.key_type = key.clone();
        o.channel = Channel::Agent.as_str().into();
        write(&store, async |tx| tx.create_order(&o).await)
            .await
            .expect(key);
    }
    for kind in OrderKind::ALL.map(OrderKind::as_str) {
        let mut o = order(&format!("KIND-{kind}"), owner);
        o.order_kind = kind.into();
        o.previous_order = Some("STAT0".into());
        write(&store, async |tx| tx.create_order(&o).await)
            .await
            .expect(kind);
    }
    let bad_orders: [(&str, Spoil); 7] = [
        ("status", |o| o.status = "approved".into()),
        ("channel", |o| o.channel = "Agent".into()),
        ("key type", |o| o.key_type = "dsa-1024".into()),
        ("order kind", |o| o.order_kind = "gift".into()),
        ("owner", |o| o.placed_by = 999_999),
        ("attester", |o| o.attested_by = Some(999_999)),
        ("previous order", |o| o.previous_order = Some("NOPE".into())),
    ];
    for (what, spoil) in bad_orders {
        let mut o = order(&format!("BAD-{}", what.replace(' ', "-")), owner);
        spoil(&mut o);
        refused(
            what,
            write(&store, async |tx| tx.create_order(&o).await).await,
        );
    }
    refused(
        "transition to an unknown status",
        write(&store, async |tx| {
            tx.transition_order("STAT0", "awaiting_documents", "approved", None, t0())
                .await
        })
        .await,
    );

    // Documents: every kind, only for an order that exists.
    for (i, kind) in [
        DocumentKind::IdCopy,
        DocumentKind::SignedAgreement,
        DocumentKind::BusinessRegistration,
        DocumentKind::Other,
    ]
    .into_iter()
    .enumerate()
    {
        let doc = document("STAT0", kind.as_str(), owner, i);
        write(&store, async |tx| tx.attach_document(&doc, b"%PDF-").await)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", kind.as_str()));
    }
    let stray = document("NOPE", "id_copy", owner, 9);
    refused(
        "document of no order",
        write(&store, async |tx| {
            tx.attach_document(&stray, b"%PDF-").await
        })
        .await,
    );
    let odd = document("STAT0", "selfie", owner, 10);
    refused(
        "document kind",
        write(&store, async |tx| tx.attach_document(&odd, b"%PDF-").await).await,
    );

    // Revocation reasons are checked where they are written (`revoke_certificate` parses none);
    // the names the domain uses are the ones the schema lists.
    for reason in [
        RevocationReason::Unspecified,
        RevocationReason::KeyCompromise,
        RevocationReason::AffiliationChanged,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
    ] {
        assert_eq!(RevocationReason::parse(reason.as_str()), Ok(reason));
    }
}

fn document(order_number: &str, kind: &str, by: i64, n: usize) -> DocumentRecord {
    DocumentRecord {
        id: 0,
        order_number: order_number.into(),
        kind: kind.into(),
        sha256: format!("{n:064}"),
        media_type: "application/pdf".into(),
        size: 5,
        uploaded_by: by,
        created_at: t0(),
    }
}

#[tokio::test]
async fn sqlite_holds_only_domain_values() {
    let dir = std::env::temp_dir().join(format!("signet-constraints-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let url = format!("sqlite://{}/signet.db", dir.display());
    story(Arc::new(SqliteStore::open(&url).await.expect("open"))).await;
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn postgresql_holds_only_domain_values() {
    let (db, url) = support::new_postgres_database("constraints").await;
    let store = PostgresStore::open(&url).await.expect("open");
    story(Arc::new(store.clone())).await;
    drop(store);
    support::drop_postgres_database(&db).await;
}
