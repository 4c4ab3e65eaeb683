//! The schema holds only what the domain names (migration 0012), on SQLite and PostgreSQL: every
//! value of a domain enum is accepted, any other value and any row pointing nowhere is refused,
//! and the refusal is told apart from an outage (`is_constraint_violation`: a bug, not a 503).
//! The store's rows carry the domain's types, so a value the domain does not name can only reach
//! the database past the store: those writes go through a raw connection.

mod support;

use std::sync::Arc;

use signet_domain::certificate::RevocationReason;
use signet_domain::config::Channel;
use signet_domain::credentials::{OrderNumber, TokenPurpose};
use signet_domain::key::KeyChoice;
use signet_domain::notices::AlertKind;
use signet_domain::order::{DocumentKind, OrderKind, OrderStatus};
use signet_domain::role::Role;
use signet_domain::serial::Serial;
use signet_store::prelude::*;
use signet_store::{
    AlertRecord, AuditRecord, DocumentRecord, IssuanceIntent, MailState, NewAccount, NewMail,
    OrderRecord, PostgresStore, SqliteStore, StoreError, TokenRecord,
};
use support::Raw;
use time::OffsetDateTime;

fn t0() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH
}

fn number(s: &str) -> OrderNumber {
    OrderNumber::parse(s).expect("order number")
}

/// The `i`th order number of a series (`STAT0-00000`, `STAT0-00001` …).
fn nth(series: &str, i: usize) -> OrderNumber {
    number(&format!("{series}-{i:05}"))
}

fn account(email: &str, role: Role) -> NewAccount {
    NewAccount {
        email: email.into(),
        name: "Someone".into(),
        role,
        region: None,
        password_hash: None,
        email_confirmed: true,
        created_at: t0(),
    }
}

fn order(order_number: OrderNumber, placed_by: i64) -> OrderRecord {
    OrderRecord {
        order_number,
        product: "personal-3-pro".into(),
        identity_json: "{}".into(),
        approval_email: "a@example.com".into(),
        approval_confirmed: false,
        pickup_password_hash: "$argon2id$fake".into(),
        validity_months: 12,
        key_type: KeyChoice::parse("p-256").expect("key choice"),
        channel: Channel::SelfService,
        country: "DE".into(),
        placed_by,
        attested_by: None,
        status: OrderStatus::AwaitingDocuments,
        ready_since: None,
        pickup_failures: 0,
        certificate_serial: None,
        previous_order: None,
        created_at: t0(),
        updated_at: t0(),
        order_kind: OrderKind::New,
        fixed_not_after: None,
        claimed_serial: None,
        claim_expires_at: None,
    }
}

/// A change that makes an order invalid.
type Spoil = fn(&mut OrderRecord);

/// The columns `create_order` writes.
const ORDER_COLUMNS: [&str; 21] = [
    "order_number",
    "product",
    "identity_json",
    "approval_email",
    "approval_confirmed",
    "pickup_password_hash",
    "validity_months",
    "key_type",
    "channel",
    "country",
    "placed_by",
    "attested_by",
    "status",
    "ready_since",
    "pickup_failures",
    "certificate_serial",
    "previous_order",
    "created_at",
    "updated_at",
    "order_kind",
    "fixed_not_after",
];

/// SQL that inserts a copy of the order `from`, numbered `to`, with `value` in `column`.
fn copy_order_with(from: &OrderNumber, to: &OrderNumber, column: &str, value: &str) -> String {
    let values = ORDER_COLUMNS
        .iter()
        .map(|c| match *c {
            "order_number" => format!("'{to}'"),
            c if c == column => format!("'{value}'"),
            c => c.to_owned(),
        })
        .collect::<Vec<_>>();
    format!(
        "INSERT INTO orders ({}) SELECT {} FROM orders WHERE order_number = '{from}'",
        ORDER_COLUMNS.join(", "),
        values.join(", ")
    )
}

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

/// A statement run past the store must be refused by the schema.
async fn refused_raw(raw: &Raw, what: &str, sql: &str) {
    refused(&format!("{what} ({sql})"), raw.exec(sql).await);
}

async fn story(store: Arc<dyn Store>, raw: &Raw) {
    // Every role the domain names is accepted; another is not.
    let mut ids = Vec::new();
    for role in Role::ALL {
        let email = format!("{}@example.com", role.as_str());
        ids.push(
            write(&store, async |tx| {
                tx.create_account(&account(&email, role)).await
            })
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", role.as_str())),
        );
    }
    let owner = ids[0];
    refused_raw(
        raw,
        "role superuser",
        "INSERT INTO accounts (email, name, role, email_confirmed, created_at) \
         VALUES ('root@example.com', 'Root', 'superuser', 1, 0)",
    )
    .await;
    refused_raw(
        raw,
        "role changed to superuser",
        &format!("UPDATE accounts SET role = 'superuser' WHERE id = {owner}"),
    )
    .await;

    // Orders: every status, channel and key choice the domain names; no other; an owner that
    // exists.
    for (i, status) in OrderStatus::ALL.into_iter().enumerate() {
        let mut o = order(nth("STAT0", i), owner);
        o.status = status;
        write(&store, async |tx| tx.create_order(&o).await)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", status.as_str()));
    }
    let stat0 = nth("STAT0", 0);
    for (i, key) in KeyChoice::ALL.into_iter().enumerate() {
        let mut o = order(nth("KEY00", i), owner);
        o.key_type = key;
        o.channel = Channel::Agent;
        write(&store, async |tx| tx.create_order(&o).await)
            .await
            .unwrap_or_else(|e| panic!("{key}: {e}"));
    }
    for (i, kind) in OrderKind::ALL.into_iter().enumerate() {
        let mut o = order(nth("KND00", i), owner);
        o.order_kind = kind;
        o.previous_order = Some(stat0.clone());
        write(&store, async |tx| tx.create_order(&o).await)
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
    // A value the domain does not name, written as a new order or into an existing one.
    let bad_values = [
        ("status", "status", "approved"),
        ("channel", "channel", "Agent"),
        ("key type", "key_type", "dsa-1024"),
        ("order kind", "order_kind", "gift"),
    ];
    for (i, (what, column, value)) in bad_values.into_iter().enumerate() {
        refused_raw(
            raw,
            what,
            &copy_order_with(&stat0, &nth("BAD00", i), column, value),
        )
        .await;
        refused_raw(
            raw,
            &format!("{what} changed"),
            &format!("UPDATE orders SET {column} = '{value}' WHERE order_number = '{stat0}'"),
        )
        .await;
    }
    // Rows that point nowhere, written through the store.
    let nowhere = number("NNNNN-00000");
    let bad_orders: [(&str, Spoil); 3] = [
        ("owner", |o| o.placed_by = 999_999),
        ("attester", |o| o.attested_by = Some(999_999)),
        ("previous order", |o| {
            o.previous_order = Some(number("NNNNN-00000"))
        }),
    ];
    for (i, (what, spoil)) in bad_orders.into_iter().enumerate() {
        let mut o = order(nth("BAD10", i), owner);
        spoil(&mut o);
        refused(
            what,
            write(&store, async |tx| tx.create_order(&o).await).await,
        );
    }
    refused_raw(
        raw,
        "transition to an unknown status",
        &format!(
            "UPDATE orders SET status = 'approved' WHERE order_number = '{stat0}' \
             AND status = 'awaiting_documents'"
        ),
    )
    .await;
    assert_eq!(
        store
            .order(&stat0)
            .await
            .expect("read")
            .expect("present")
            .status,
        OrderStatus::AwaitingDocuments,
        "nothing refused changed the order"
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
        let doc = document(&stat0, kind, owner, i);
        write(&store, async |tx| tx.attach_document(&doc, b"%PDF-").await)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", kind.as_str()));
    }
    let stray = document(&nowhere, DocumentKind::IdCopy, owner, 9);
    refused(
        "document of no order",
        write(&store, async |tx| {
            tx.attach_document(&stray, b"%PDF-").await
        })
        .await,
    );
    refused_raw(
        raw,
        "document kind",
        &format!(
            "INSERT INTO documents (order_number, kind, sha256, media_type, size, uploaded_by, \
             created_at) VALUES ('{stat0}', 'selfie', '{:064}', 'application/pdf', 5, {owner}, 0)",
            0
        ),
    )
    .await;
    refused_raw(
        raw,
        "document kind changed",
        "UPDATE documents SET kind = 'selfie'",
    )
    .await;

    // Tokens: every purpose, no other.
    for (i, purpose) in TokenPurpose::ALL.into_iter().enumerate() {
        let token = TokenRecord {
            purpose,
            account_id: Some(owner),
            order_number: Some(stat0.clone()),
            expires_at: t0(),
        };
        write(&store, async |tx| {
            tx.create_token(&format!("token-{i}"), &token, t0()).await
        })
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", purpose.as_str()));
    }
    refused_raw(
        raw,
        "token purpose",
        "INSERT INTO tokens (hash, purpose, expires_at, created_at) VALUES ('token-x', 'login', 0, 0)",
    )
    .await;
    refused_raw(
        raw,
        "token purpose changed",
        "UPDATE tokens SET purpose = 'login'",
    )
    .await;

    // Alerts: every kind, no other.
    for kind in [
        AlertKind::Incident,
        AlertKind::Maintenance,
        AlertKind::Information,
    ] {
        let alert = AlertRecord {
            id: 0,
            kind,
            title: kind.as_str().into(),
            body: "body".into(),
            starts_at: t0(),
            ends_at: None,
            created_by: owner,
            created_at: t0(),
        };
        write(&store, async |tx| tx.create_alert(&alert).await)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", kind.as_str()));
    }
    refused_raw(
        raw,
        "alert kind",
        &format!(
            "INSERT INTO alerts (kind, title, body, starts_at, created_by, created_at) \
             VALUES ('party', 'Party', 'body', 0, {owner}, 0)"
        ),
    )
    .await;
    refused_raw(
        raw,
        "alert kind changed",
        "UPDATE alerts SET kind = 'party'",
    )
    .await;

    // Mail: every state a message passes through, no other.
    for to in ["queued@example.org", "sent@example.org", "dead@example.org"] {
        let mail = NewMail {
            to: to.into(),
            subject: "Hello".into(),
            body: "link".into(),
            attachment: None,
            created_at: t0(),
        };
        write(&store, async |tx| tx.enqueue_mail(&mail).await)
            .await
            .expect("queue");
    }
    let claimed = store
        .claim_mail(t0(), time::Duration::minutes(2), 10)
        .await
        .expect("claim");
    for m in &claimed {
        match m.mail.to.as_str() {
            "sent@example.org" => store.mail_sent(m.id, t0()).await.expect("sent"),
            "dead@example.org" => store.mail_failed(m.id, "no", None).await.expect("dead"),
            _ => store
                .mail_failed(m.id, "later", Some(t0()))
                .await
                .expect("queued"),
        }
    }
    let mut states = store
        .mail_state_counts()
        .await
        .expect("states")
        .into_iter()
        .map(|(state, _)| state.as_str())
        .collect::<Vec<_>>();
    states.sort_unstable();
    let mut all = MailState::ALL.map(MailState::as_str);
    all.sort_unstable();
    assert_eq!(states, all, "every mail state is stored");
    refused_raw(
        raw,
        "mail state",
        "INSERT INTO mail_outbox (created_at, to_addr, subject, body, state, attempts, \
         next_attempt_at) VALUES (0, 'lost@example.org', 'Hello', 'link', 'lost', 0, 0)",
    )
    .await;
    refused_raw(
        raw,
        "mail state changed",
        "UPDATE mail_outbox SET state = 'lost'",
    )
    .await;

    // Revocation reasons: every reason the domain names is stored, no other.
    let reasons = [
        RevocationReason::Unspecified,
        RevocationReason::KeyCompromise,
        RevocationReason::AffiliationChanged,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
    ];
    for (i, reason) in reasons.into_iter().enumerate() {
        assert_eq!(RevocationReason::parse(reason.as_str()), Ok(reason));
        let serial = serial(i);
        let intent = IssuanceIntent {
            serial: serial.clone(),
            issuer: "class3".into(),
            profile: "class3-auth".into(),
            subject: "CN=Someone".into(),
            not_before: t0(),
            not_after: t0(),
            tbs_der: vec![0x30, 0x00],
            created_at: t0(),
            crl_shard: 0,
            origin: "operator".into(),
        };
        write(&store, async |tx| {
            tx.record_issuance_intent(&intent).await?;
            tx.complete_issuance(&serial, b"der", t0()).await?;
            tx.revoke_certificate(&serial, reason, t0(), &[0x30, 0x00])
                .await
        })
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", reason.as_str()));
        assert_eq!(
            store
                .certificate(&serial)
                .await
                .expect("read")
                .expect("present")
                .revocation_reason,
            Some(reason)
        );
    }
    refused_raw(
        raw,
        "revocation reason changed",
        "UPDATE certificates SET revocation_reason = 'lost_it'",
    )
    .await;
}

fn serial(i: usize) -> Serial {
    let mut e = [0x22u8; 16];
    e[15] = u8::try_from(i).expect("small");
    Serial::from_entropy(e)
}

fn document(order_number: &OrderNumber, kind: DocumentKind, by: i64, n: usize) -> DocumentRecord {
    DocumentRecord {
        id: 0,
        order_number: order_number.clone(),
        kind,
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
    let store = SqliteStore::open(&url).await.expect("open");
    let raw = Raw::connect(&url).await;
    story(Arc::new(store), &raw).await;
    raw.close().await;
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn postgresql_holds_only_domain_values() {
    let (db, url) = support::new_postgres_database("constraints").await;
    let store = PostgresStore::open(&url).await.expect("open");
    let raw = Raw::connect(&url).await;
    story(Arc::new(store.clone()), &raw).await;
    raw.close().await;
    drop(store);
    support::drop_postgres_database(&db).await;
}
