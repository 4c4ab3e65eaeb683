//! The SQLite and PostgreSQL stores. Both run the same SQL (numbered `$n` placeholders, each used
//! once, in order, which both engines accept), so one macro writes both implementations; the few
//! differences (how a transaction starts, row locks) are its parameters.
//!
//! Every write runs on a connection of its own: a connection whose write failed is closed rather
//! than returned to the pool, so a database that failed and recovered (a restart, a failover, a
//! spell of read-only) is usable again without restarting Signet.

use std::ops::ControlFlow;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;

use async_trait::async_trait;
use signet_domain::audit::{Record, record_hash};
use signet_domain::serial::Serial;
use sqlx::Row;
use sqlx::pool::PoolConnection;
use time::OffsetDateTime;

use crate::model::{
    Account, AlertRecord, AuditEntry, AuditRecord, CrlChunk, CrlRecord, CrlSnapshot,
    DocumentRecord, LoginAttempt, MailRecord, NewAccount, NewMail, OcspRecord, OrderEventRecord,
    OrderRecord, RelyingServiceRecord, RevokedRecord, StatusRecord, SupportRequestRecord,
    TokenRecord,
};
use crate::{
    CertificateRecord, Counts, DumpKind, IssuanceIntent, IssuanceState, Store, StoreError, Tx,
};

macro_rules! select_accounts {
    ($where:literal) => {
        concat!(
            "SELECT id, email, name, role, region, password_hash, email_confirmed, failed_logins, last_failed_login, ",
            "totp_secret, totp_enabled, totp_last_step, locked_until, lock_count ",
            "FROM accounts ",
            $where
        )
    };
}
macro_rules! select_orders {
    ($where:literal) => {
        concat!(
            "SELECT order_number, product, identity_json, approval_email, approval_confirmed, pickup_password_hash, ",
            "validity_months, key_type, channel, country, placed_by, attested_by, status, ready_since, pickup_failures, ",
            "certificate_serial, previous_order, created_at, updated_at, order_kind, fixed_not_after, ",
            "claimed_serial, claim_expires_at FROM orders ",
            $where
        )
    };
}
macro_rules! select_tokens {
    ($where:literal) => {
        concat!(
            "SELECT purpose, account_id, order_number, expires_at FROM tokens ",
            $where
        )
    };
}
macro_rules! select_mail {
    ($where:literal) => {
        concat!(
            "SELECT id, created_at, to_addr, subject, body, attachment_name, attachment_type, attachment, state, ",
            "attempts, next_attempt_at, last_error, sent_at FROM mail_outbox ",
            $where
        )
    };
}
macro_rules! select_certificates {
    ($where:literal) => {
        concat!(
            "SELECT serial, issuer, profile, subject, not_before, not_after, tbs, der, state, note, created_at, ",
            "revoked_at, revocation_reason, crl_shard, origin ",
            "FROM certificates ",
            $where
        )
    };
}
const INSERT_ORDER: &str = "INSERT INTO orders (order_number, product, identity_json, approval_email, approval_confirmed, \
    pickup_password_hash, validity_months, key_type, channel, country, placed_by, attested_by, status, ready_since, \
    pickup_failures, certificate_serial, previous_order, created_at, updated_at, order_kind, fixed_not_after) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) \
    ON CONFLICT (order_number) DO NOTHING";
const INSERT_INTENT: &str = "INSERT INTO certificates \
    (serial, issuer, profile, subject, not_before, not_after, tbs, state, created_at, updated_at, crl_shard, origin) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, 'intent', $8, $9, $10, $11) ON CONFLICT (serial) DO NOTHING";
const SELECT_BY_SERIAL: &str = select_certificates!("WHERE serial = $1");
const SELECT_UNFINISHED: &str = select_certificates!("WHERE state = 'intent' ORDER BY created_at");
const SELECT_UNLINKED: &str = select_certificates!(
    "WHERE state = 'issued' AND origin LIKE 'order:%' AND NOT EXISTS \
     (SELECT 1 FROM orders o WHERE o.certificate_serial = certificates.serial) ORDER BY created_at"
);
const UPSERT_OCSP_CONFLICT: &str = " ON CONFLICT (serial) DO UPDATE SET issuer = excluded.issuer, \
    this_update = excluded.this_update, next_update = excluded.next_update, der = excluded.der, \
    revoked = excluded.revoked";
/// Rows per multi-row statement (6 parameters each; far below either engine's parameter limit).
const OCSP_ROWS_PER_STATEMENT: usize = 200;
/// Entries per chunk of a CRL (about 50 bytes each).
const CRL_CHUNK: i64 = 50_000;
// Keyset pagination (`c.serial > $3`): each batch starts where the last ended instead of
// rescanning the rows already refreshed.
const SELECT_NEEDING_OCSP: &str = concat!(
    "SELECT c.serial, c.issuer, c.revoked_at, c.revocation_reason FROM certificates c ",
    "LEFT JOIN ocsp_responses o ON o.serial = c.serial ",
    "WHERE c.state = 'issued' AND c.profile NOT LIKE 'ca:%' AND c.not_after > $1 ",
    "AND (o.serial IS NULL OR o.this_update < $2) AND c.serial > $3 ORDER BY c.serial LIMIT $4"
);
const SELECT_EXPIRING: &str = select_certificates!(
    "WHERE state = 'issued' AND revoked_at IS NULL AND not_after >= $1 AND not_after < $2 AND profile NOT LIKE 'ca:%' ORDER BY not_after"
);
const COUNT_STATES: &str = "SELECT state, COUNT(*) AS n FROM certificates GROUP BY state";
const SHARDS_BEHIND: &str = concat!(
    "SELECT c.issuer, c.crl_shard FROM certificates c WHERE c.revoked_at IS NOT NULL ",
    "GROUP BY c.issuer, c.crl_shard HAVING MAX(c.revocation_seq) > COALESCE((SELECT r.covers_epoch FROM crls r ",
    "WHERE r.issuer = c.issuer AND r.shard = c.crl_shard ORDER BY r.number DESC LIMIT 1), -2) ",
    "ORDER BY c.issuer, c.crl_shard"
);
const BUMP_EPOCH: &str =
    "UPDATE revocation_epoch SET value = value + 1 WHERE id = 1 RETURNING value";

/// When a write last failed. A failed write (a restart, a failover, a spell of read-only) can
/// leave every pooled connection useless in ways a ping does not show (a read-only session
/// default, say): connections opened before the last failure are not handed out again.
#[derive(Debug)]
struct WriteFailures {
    base: Instant,
    /// Nanoseconds after `base` of the last failure; 0 when none.
    last: AtomicU64,
}

impl WriteFailures {
    fn new() -> WriteFailures {
        WriteFailures {
            base: Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    fn record(&self) {
        let now = u64::try_from(self.base.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        self.last.fetch_max(now, Ordering::Relaxed);
    }

    /// Whether a write failed in the last minute.
    fn recent(&self) -> bool {
        let last = self.last.load(Ordering::Relaxed);
        last != 0
            && u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
                < last.saturating_add(60_000_000_000)
    }

    /// Whether a connection of this age was opened after the last failure.
    fn opened_since_last_failure(&self, age: Duration) -> bool {
        let last = self.last.load(Ordering::Relaxed);
        if last == 0 {
            return true;
        }
        let opened = self.base.elapsed().saturating_sub(age);
        u64::try_from(opened.as_nanos()).unwrap_or(u64::MAX) > last
    }
}

fn time(secs: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {secs}: {e}")))
}

fn opt_time(secs: Option<i64>) -> Result<Option<OffsetDateTime>, StoreError> {
    secs.map(time).transpose()
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn conflict(rows: u64, what: &str) -> Result<(), StoreError> {
    if rows == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict(what.to_owned()))
    }
}

/// The start of the fixed window `now` falls in.
fn window_start(now: OffsetDateTime, window: time::Duration) -> i64 {
    let w = window.whole_seconds().max(1);
    now.unix_timestamp().div_euclid(w) * w
}

fn record<R: Row>(row: &R) -> Result<CertificateRecord, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Vec<u8>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<Vec<u8>>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let serial: String = row.try_get("serial")?;
    let state: String = row.try_get("state")?;
    let state = match state.as_str() {
        "intent" => IssuanceState::Intent,
        "issued" => IssuanceState::Issued,
        "abandoned" => IssuanceState::Abandoned,
        other => {
            return Err(StoreError::Corrupt(format!(
                "unknown state `{other}` for serial {serial}"
            )));
        }
    };
    Ok(CertificateRecord {
        intent: IssuanceIntent {
            serial: Serial::from_str(&serial).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            issuer: row.try_get("issuer")?,
            profile: row.try_get("profile")?,
            subject: row.try_get("subject")?,
            not_before: time(row.try_get("not_before")?)?,
            not_after: time(row.try_get("not_after")?)?,
            tbs_der: row.try_get("tbs")?,
            created_at: time(row.try_get("created_at")?)?,
            crl_shard: count(row.try_get("crl_shard")?),
            origin: row
                .try_get::<Option<String>, _>("origin")?
                .unwrap_or_else(|| "operator".to_owned()),
        },
        state,
        der: row.try_get("der")?,
        note: row.try_get("note")?,
        revoked_at: opt_time(row.try_get("revoked_at")?)?,
        revocation_reason: row.try_get("revocation_reason")?,
    })
}

macro_rules! sql_store {
    (
        $name:ident,
        $txname:ident,
        $db:ty,
        $options:ty,
        $row:ty,
        $migrations:literal,
        $concat_entries:literal,
        $begin:literal,
        $lock:literal,
        $share:literal,
        $skip_locked:literal,
        $read_only_check:literal,
        $doc:literal
    ) => {
        #[doc = $doc]
        #[derive(Debug, Clone)]
        pub struct $name {
            pool: sqlx::Pool<$db>,
            failures: Arc<WriteFailures>,
            /// For `pg_dump` (SQLite's backup runs through the pool).
            #[allow(dead_code)]
            url: Url,
        }

        /// A unit of work on one connection of its own. Dropped without a commit, its
        /// connection is closed (the database rolls back) instead of going back to the pool.
        pub struct $txname {
            /// Taken by a drop without commit, which rolls back on a task of its own.
            conn: Option<PoolConnection<$db>>,
            failures: Arc<WriteFailures>,
            audits: Vec<AuditRecord>,
            mails: usize,
            /// A statement failed: the transaction can only be undone.
            poisoned: bool,
            committed: bool,
        }

        impl std::fmt::Debug for $txname {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($txname))
                    .field("audits", &self.audits.len())
                    .field("mails", &self.mails)
                    .field("poisoned", &self.poisoned)
                    .finish_non_exhaustive()
            }
        }

        impl Drop for $txname {
            fn drop(&mut self) {
                if self.committed {
                    return;
                }
                let Some(mut conn) = self.conn.take() else { return };
                let poisoned = self.poisoned;
                // Rolled back before the connection goes back to the pool; one that failed a
                // statement, or cannot roll back, is closed instead (the database undoes it).
                match tokio::runtime::Handle::try_current() {
                    Ok(runtime) => {
                        runtime.spawn(async move {
                            let rolled_back = sqlx::query("ROLLBACK").execute(&mut *conn).await.is_ok();
                            if poisoned || !rolled_back {
                                let _ = conn.close().await;
                            }
                        });
                    }
                    Err(_) => conn.close_on_drop(),
                }
            }
        }

        impl $txname {
            fn c(&mut self) -> &mut <$db as sqlx::Database>::Connection {
                self.conn.as_mut().expect("a unit of work holds its connection until it ends")
            }

            /// Passes a statement's result on; a failed statement poisons the unit of work.
            fn check<T>(&mut self, r: Result<T, sqlx::Error>) -> Result<T, StoreError> {
                if r.is_err() {
                    self.poisoned = true;
                    self.failures.record();
                }
                Ok(r?)
            }

            async fn exec(
                &mut self,
                q: sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments>,
            ) -> Result<u64, StoreError> {
                let r = q.execute(self.c()).await.map(|d| d.rows_affected());
                self.check(r)
            }

            async fn one(
                &mut self,
                q: sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments>,
            ) -> Result<$row, StoreError> {
                let r = q.fetch_one(self.c()).await;
                self.check(r)
            }

            async fn maybe(
                &mut self,
                q: sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments>,
            ) -> Result<Option<$row>, StoreError> {
                let r = q.fetch_optional(self.c()).await;
                self.check(r)
            }

            /// Gives a revocation the next epoch. The epoch row stays locked until commit, so
            /// revocations commit in epoch order and a CRL snapshot that read epoch E lists
            /// every revocation numbered E or lower.
            async fn number_revocation(&mut self, serial: &Serial) -> Result<(), StoreError> {
                let row = self.one(sqlx::query(BUMP_EPOCH)).await?;
                let seq: i64 = row.try_get("value")?;
                self.exec(
                    sqlx::query("UPDATE certificates SET revocation_seq = $1 WHERE serial = $2")
                        .bind(seq)
                        .bind(serial.to_hex()),
                )
                .await?;
                Ok(())
            }

            /// Commits without audit records: only for the store's own bookkeeping.
            async fn finish(&mut self) -> Result<(), StoreError> {
                if self.poisoned {
                    return Err(StoreError::Aborted);
                }
                self.exec(sqlx::query("COMMIT")).await?;
                self.committed = true;
                Ok(())
            }

            /// Appends the audit records after the chain's head, which this transaction locks
            /// until it commits: concurrent appenders wait their turn instead of racing.
            async fn chain_audit(&mut self) -> Result<(), StoreError> {
                let head = self
                    .one(sqlx::query(concat!(
                        "SELECT seq, hash FROM audit_head WHERE id = 1",
                        $lock
                    )))
                    .await?;
                let mut seq: i64 = head.try_get("seq")?;
                let mut prev: String = head.try_get("hash")?;
                for a in std::mem::take(&mut self.audits) {
                    seq += 1;
                    let hash = record_hash(&Record {
                        seq,
                        at: a.at.unix_timestamp(),
                        actor: &a.actor,
                        action: &a.action,
                        subject: &a.subject,
                        detail: &a.detail,
                        prev_hash: &prev,
                    });
                    self.exec(
                        sqlx::query(
                            "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        )
                        .bind(seq)
                        .bind(a.at.unix_timestamp())
                        .bind(&a.actor)
                        .bind(&a.action)
                        .bind(&a.subject)
                        .bind(&a.detail)
                        .bind(&prev)
                        .bind(&hash),
                    )
                    .await?;
                    prev = hash;
                }
                self.exec(
                    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                        .bind(seq)
                        .bind(&prev),
                )
                .await?;
                Ok(())
            }
        }

        impl $name {
            /// Connects and applies pending migrations.
            pub async fn open(url: &str) -> Result<Self, StoreError> {
                let options = <$options>::from_str(url)?;
                let failures = Arc::new(WriteFailures::new());
                let watch = failures.clone();
                let pool = Self::pool_options()
                    .before_acquire(move |_, meta| {
                        let keep = watch.opened_since_last_failure(meta.age);
                        Box::pin(async move { Ok(keep) })
                    })
                    .connect_with(Self::tune(options))
                    .await?;
                sqlx::migrate!($migrations).run(&pool).await?;
                Ok($name {
                    pool,
                    failures,
                    url: Url(url.to_owned()),
                })
            }

            async fn start(&self) -> Result<$txname, StoreError> {
                let mut tries = 0;
                let mut conn = loop {
                    let mut conn = self.pool.acquire().await?;
                    // Shortly after a failed write, a connection may have been opened while the
                    // database took no writes (its session stays read-only): such connections
                    // are closed, and a few others tried, before the unit of work starts.
                    if $read_only_check.is_empty() || !self.failures.recent() {
                        break conn;
                    }
                    let state: Result<String, _> =
                        sqlx::query_scalar($read_only_check).fetch_one(&mut *conn).await;
                    match state {
                        Ok(s) if s == "off" => break conn,
                        _ => {
                            conn.close_on_drop();
                            tries += 1;
                            if tries == 3 {
                                return Err(StoreError::ReadOnly);
                            }
                        }
                    }
                };
                if let Err(e) = sqlx::query($begin).execute(&mut *conn).await {
                    self.failures.record();
                    conn.close_on_drop();
                    return Err(e.into());
                }
                Ok($txname {
                    failures: self.failures.clone(),
                    conn: Some(conn),
                    audits: Vec::new(),
                    mails: 0,
                    poisoned: false,
                    committed: false,
                })
            }

            /// One write statement on a connection of its own (closed if the write fails).
            async fn write(
                &self,
                q: sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments>,
            ) -> Result<u64, StoreError> {
                let mut conn = self.pool.acquire().await?;
                match q.execute(&mut *conn).await {
                    Ok(done) => Ok(done.rows_affected()),
                    Err(e) => {
                        self.failures.record();
                        conn.close_on_drop();
                        Err(e.into())
                    }
                }
            }

            fn account_row(row: &$row) -> Result<Account, StoreError> {
                Ok(Account {
                    id: row.try_get("id")?,
                    email: row.try_get("email")?,
                    name: row.try_get("name")?,
                    role: row.try_get("role")?,
                    region: row.try_get("region")?,
                    password_hash: row.try_get("password_hash")?,
                    email_confirmed: row.try_get::<i64, _>("email_confirmed")? != 0,
                    failed_logins: count(row.try_get("failed_logins")?),
                    last_failed_login: opt_time(row.try_get("last_failed_login")?)?,
                    totp_secret: row.try_get("totp_secret")?,
                    totp_enabled: row.try_get::<i64, _>("totp_enabled")? != 0,
                    totp_last_step: row.try_get("totp_last_step")?,
                    locked_until: opt_time(row.try_get("locked_until")?)?,
                    lock_count: count(row.try_get("lock_count")?),
                })
            }

            fn support_row(r: &$row) -> Result<SupportRequestRecord, StoreError> {
                Ok(SupportRequestRecord {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    email: r.try_get("email")?,
                    order_number: r.try_get("order_number")?,
                    message: r.try_get("message")?,
                    created_at: time(r.try_get("created_at")?)?,
                    answered_at: opt_time(r.try_get("answered_at")?)?,
                })
            }

            fn order_row(row: &$row) -> Result<OrderRecord, StoreError> {
                Ok(OrderRecord {
                    order_number: row.try_get("order_number")?,
                    product: row.try_get("product")?,
                    identity_json: row.try_get("identity_json")?,
                    approval_email: row.try_get("approval_email")?,
                    approval_confirmed: row.try_get::<i64, _>("approval_confirmed")? != 0,
                    pickup_password_hash: row.try_get("pickup_password_hash")?,
                    validity_months: count(row.try_get("validity_months")?),
                    key_type: row.try_get("key_type")?,
                    channel: row.try_get("channel")?,
                    country: row.try_get("country")?,
                    placed_by: row.try_get("placed_by")?,
                    attested_by: row.try_get("attested_by")?,
                    status: row.try_get("status")?,
                    ready_since: opt_time(row.try_get("ready_since")?)?,
                    pickup_failures: count(row.try_get("pickup_failures")?),
                    certificate_serial: row.try_get("certificate_serial")?,
                    previous_order: row.try_get("previous_order")?,
                    created_at: time(row.try_get("created_at")?)?,
                    updated_at: time(row.try_get("updated_at")?)?,
                    order_kind: row.try_get("order_kind")?,
                    fixed_not_after: opt_time(row.try_get("fixed_not_after")?)?,
                    claimed_serial: row.try_get("claimed_serial")?,
                    claim_expires_at: opt_time(row.try_get("claim_expires_at")?)?,
                })
            }

            fn token_row(row: &$row) -> Result<TokenRecord, StoreError> {
                Ok(TokenRecord {
                    purpose: row.try_get("purpose")?,
                    account_id: row.try_get("account_id")?,
                    order_number: row.try_get("order_number")?,
                    expires_at: time(row.try_get("expires_at")?)?,
                })
            }

            fn document_row(row: &$row) -> Result<DocumentRecord, StoreError> {
                Ok(DocumentRecord {
                    id: row.try_get("id")?,
                    order_number: row.try_get("order_number")?,
                    kind: row.try_get("kind")?,
                    sha256: row.try_get("sha256")?,
                    media_type: row.try_get("media_type")?,
                    size: unsigned(row.try_get("size")?),
                    uploaded_by: row.try_get("uploaded_by")?,
                    created_at: time(row.try_get("created_at")?)?,
                })
            }

            fn audit_row(row: &$row) -> Result<AuditEntry, StoreError> {
                Ok(AuditEntry {
                    seq: row.try_get("seq")?,
                    at: time(row.try_get("at")?)?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    subject: row.try_get("subject")?,
                    detail: row.try_get("detail")?,
                    prev_hash: row.try_get("prev_hash")?,
                    hash: row.try_get("hash")?,
                })
            }

            fn mail_row(row: &$row) -> Result<MailRecord, StoreError> {
                let name: Option<String> = row.try_get("attachment_name")?;
                let media_type: Option<String> = row.try_get("attachment_type")?;
                let content: Option<Vec<u8>> = row.try_get("attachment")?;
                Ok(MailRecord {
                    id: row.try_get("id")?,
                    mail: NewMail {
                        to: row.try_get("to_addr")?,
                        subject: row.try_get("subject")?,
                        body: row.try_get("body")?,
                        attachment: match (name, media_type, content) {
                            (Some(n), Some(t), Some(c)) => Some((n, t, c)),
                            _ => None,
                        },
                        created_at: time(row.try_get("created_at")?)?,
                    },
                    state: row.try_get("state")?,
                    attempts: count(row.try_get("attempts")?),
                    next_attempt_at: time(row.try_get("next_attempt_at")?)?,
                    last_error: row.try_get("last_error")?,
                    sent_at: opt_time(row.try_get("sent_at")?)?,
                })
            }

            fn alert_row(r: &$row) -> Result<AlertRecord, StoreError> {
                Ok(AlertRecord {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    title: r.try_get("title")?,
                    body: r.try_get("body")?,
                    starts_at: time(r.try_get("starts_at")?)?,
                    ends_at: opt_time(r.try_get("ends_at")?)?,
                    created_by: r.try_get("created_by")?,
                    created_at: time(r.try_get("created_at")?)?,
                })
            }

            async fn orders_where(
                &self,
                query: &'static str,
                value: &str,
            ) -> Result<Vec<OrderRecord>, StoreError> {
                let rows = sqlx::query(query).bind(value).fetch_all(&self.pool).await?;
                rows.iter().map(Self::order_row).collect()
            }

            async fn certificates_where(
                &self,
                query: &'static str,
            ) -> Result<Vec<CertificateRecord>, StoreError> {
                let rows = sqlx::query(query).fetch_all(&self.pool).await?;
                rows.iter().map(record).collect()
            }
        }

        #[async_trait]
        impl Store for $name {
            async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
                Ok(Box::new(self.start().await?))
            }

            async fn certificate(
                &self,
                serial: &Serial,
            ) -> Result<Option<CertificateRecord>, StoreError> {
                let row = sqlx::query(SELECT_BY_SERIAL)
                    .bind(serial.to_hex())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(record).transpose()
            }

            async fn unfinished_intents(&self) -> Result<Vec<IssuanceIntent>, StoreError> {
                Ok(self
                    .certificates_where(SELECT_UNFINISHED)
                    .await?
                    .into_iter()
                    .map(|c| c.intent)
                    .collect())
            }

            async fn counts(&self) -> Result<Counts, StoreError> {
                let rows = sqlx::query(COUNT_STATES).fetch_all(&self.pool).await?;
                let mut counts = Counts::default();
                for row in rows {
                    let state: String = row.try_get("state")?;
                    let n = unsigned(row.try_get("n")?);
                    match state.as_str() {
                        "intent" => counts.intents = n,
                        "issued" => counts.issued = n,
                        _ => counts.abandoned = n,
                    }
                }
                Ok(counts)
            }

            async fn unlinked_certificates(&self) -> Result<Vec<CertificateRecord>, StoreError> {
                self.certificates_where(SELECT_UNLINKED).await
            }

            async fn account(&self, id: i64) -> Result<Option<Account>, StoreError> {
                let row = sqlx::query(select_accounts!("WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::account_row).transpose()
            }

            async fn account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
                let row = sqlx::query(select_accounts!(
                    "WHERE lower(email) = lower($1) ORDER BY email = $1 DESC, id LIMIT 1"
                ))
                .bind(email)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(Self::account_row).transpose()
            }

            async fn accounts_sharing_an_address(&self) -> Result<Vec<String>, StoreError> {
                let rows = sqlx::query(
                    "SELECT lower(email) AS address FROM accounts GROUP BY lower(email) \
                     HAVING count(*) > 1 ORDER BY 1",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| Ok(r.try_get("address")?))
                    .collect()
            }

            async fn session_account(
                &self,
                hash: &str,
                now: OffsetDateTime,
            ) -> Result<Option<i64>, StoreError> {
                let row = sqlx::query(
                    "SELECT account_id FROM sessions WHERE hash = $1 AND expires_at > $2",
                )
                .bind(hash)
                .bind(now.unix_timestamp())
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|r| r.try_get("account_id")).transpose()?)
            }

            async fn live_sessions(
                &self,
                account: i64,
                now: OffsetDateTime,
            ) -> Result<u64, StoreError> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM sessions WHERE account_id = $1 AND expires_at > $2",
                )
                .bind(account)
                .bind(now.unix_timestamp())
                .fetch_one(&self.pool)
                .await?;
                Ok(unsigned(n))
            }

            async fn live_token(
                &self,
                hash: &str,
                purpose: &str,
                now: OffsetDateTime,
            ) -> Result<Option<TokenRecord>, StoreError> {
                let row = sqlx::query(select_tokens!(
                    "WHERE hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3"
                ))
                .bind(hash)
                .bind(purpose)
                .bind(now.unix_timestamp())
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(Self::token_row).transpose()
            }

            async fn order(&self, order_number: &str) -> Result<Option<OrderRecord>, StoreError> {
                Ok(self
                    .orders_where(select_orders!("WHERE order_number = $1"), order_number)
                    .await?
                    .into_iter()
                    .next())
            }

            async fn orders_placed_by(&self, account: i64) -> Result<Vec<OrderRecord>, StoreError> {
                let rows = sqlx::query(select_orders!(
                    "WHERE placed_by = $1 ORDER BY created_at DESC"
                ))
                .bind(account)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::order_row).collect()
            }

            async fn orders_in_country(&self, country: &str) -> Result<Vec<OrderRecord>, StoreError> {
                self.orders_where(
                    select_orders!("WHERE country = $1 ORDER BY created_at DESC"),
                    country,
                )
                .await
            }

            async fn orders_with_status(&self, status: &str) -> Result<Vec<OrderRecord>, StoreError> {
                self.orders_where(
                    select_orders!("WHERE status = $1 ORDER BY created_at"),
                    status,
                )
                .await
            }

            async fn lapsed_pickup_claims(
                &self,
                now: OffsetDateTime,
            ) -> Result<Vec<OrderRecord>, StoreError> {
                let rows = sqlx::query(select_orders!(
                    "WHERE claimed_serial IS NOT NULL AND claim_expires_at < $1 ORDER BY claim_expires_at"
                ))
                .bind(now.unix_timestamp())
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::order_row).collect()
            }

            async fn documents(&self, order_number: &str) -> Result<Vec<DocumentRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, order_number, kind, sha256, media_type, size, uploaded_by, created_at FROM documents \
                     WHERE order_number = $1 ORDER BY id",
                )
                .bind(order_number)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::document_row).collect()
            }

            async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
                let row = sqlx::query("SELECT content FROM blobs WHERE sha256 = $1")
                    .bind(sha256)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.try_get("content")).transpose()?)
            }

            async fn order_events(
                &self,
                order_number: &str,
            ) -> Result<Vec<OrderEventRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT actor, kind, message, created_at FROM order_events WHERE order_number = $1 ORDER BY id",
                )
                .bind(order_number)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(OrderEventRecord {
                            actor: r.try_get("actor")?,
                            kind: r.try_get("kind")?,
                            message: r.try_get("message")?,
                            created_at: time(r.try_get("created_at")?)?,
                        })
                    })
                    .collect()
            }

            async fn order_for_certificate(
                &self,
                serial: &str,
            ) -> Result<Option<OrderRecord>, StoreError> {
                Ok(self
                    .orders_where(select_orders!("WHERE certificate_serial = $1"), serial)
                    .await?
                    .into_iter()
                    .next())
            }

            async fn last_audit_entry(&self) -> Result<Option<AuditEntry>, StoreError> {
                let row = sqlx::query(concat!(
                    "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log ",
                    "ORDER BY seq DESC LIMIT 1"
                ))
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(Self::audit_row).transpose()
            }

            async fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError> {
                let rows = sqlx::query(concat!(
                    "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log ",
                    "ORDER BY seq"
                ))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::audit_row).collect()
            }

            async fn recent_audit(
                &self,
                prefix: &str,
                limit: u32,
            ) -> Result<Vec<AuditEntry>, StoreError> {
                // Taken as written: no LIKE patterns (action names hold underscores), and the
                // same case rule on both backends.
                let rows = sqlx::query(concat!(
                    "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log ",
                    "WHERE substr(action, 1, length($1)) = $1 ORDER BY seq DESC LIMIT $2"
                ))
                .bind(prefix)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::audit_row).collect()
            }

            async fn certificates_expiring(
                &self,
                from: OffsetDateTime,
                to: OffsetDateTime,
            ) -> Result<Vec<CertificateRecord>, StoreError> {
                let rows = sqlx::query(SELECT_EXPIRING)
                    .bind(from.unix_timestamp())
                    .bind(to.unix_timestamp())
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(record).collect()
            }

            async fn crl_snapshot(
                &self,
                issuer: &str,
                shard: u32,
                each: &mut (dyn for<'b> FnMut(CrlChunk<'b>) -> ControlFlow<()> + Send),
            ) -> Result<CrlSnapshot, StoreError> {
                let mut tx = self.start().await?;
                // The number row stays locked until this transaction ends: the next snapshot
                // of the shard starts after this one, and sees at least what it saw.
                let row = tx
                    .one(
                        sqlx::query(
                            "INSERT INTO crl_numbers (issuer, shard, last_number) VALUES ($1, $2, 1) \
                             ON CONFLICT (issuer, shard) DO UPDATE SET last_number = crl_numbers.last_number + 1 \
                             RETURNING last_number",
                        )
                        .bind(issuer)
                        .bind(i64::from(shard)),
                    )
                    .await?;
                let number = unsigned(row.try_get("last_number")?);
                // The epoch first: a revocation that commits after this read but before the
                // entries are read is listed, and the CRL claims one epoch too few (a harmless
                // rebuild), never the reverse.
                let epoch_row = tx
                    .one(sqlx::query("SELECT value FROM revocation_epoch WHERE id = 1"))
                    .await?;
                let covers_epoch: i64 = epoch_row.try_get("value")?;
                let mut entries = 0u64;
                let mut after = String::new();
                let mut stopped = false;
                while !stopped {
                    // Keyset chunks, concatenated by the database: a million entries cross the
                    // driver as a few dozen values instead of a million rows.
                    let row = tx
                        .one(
                            sqlx::query(concat!(
                                "SELECT ", $concat_entries, ", MAX(serial), COUNT(*) FROM (",
                                "SELECT serial, crl_entry FROM certificates WHERE issuer = $1 AND crl_shard = $2 ",
                                "AND revoked_at IS NOT NULL AND crl_entry IS NOT NULL AND serial > $3 ",
                                "ORDER BY serial LIMIT $4) chunk"
                            ))
                            .bind(issuer)
                            .bind(i64::from(shard))
                            .bind(&after)
                            .bind(CRL_CHUNK),
                        )
                        .await?;
                    let n: i64 = row.try_get(2)?;
                    if n == 0 {
                        break;
                    }
                    entries += unsigned(n);
                    let der: Vec<u8> = row.try_get(0)?;
                    stopped = each(CrlChunk::Encoded(&der)).is_break();
                    after = row.try_get(1)?;
                }
                // Certificates revoked before entries were stored are encoded by the caller.
                if !stopped {
                    let mut failed = None;
                    {
                        let mut rows = sqlx::query(
                            "SELECT serial, revoked_at, revocation_reason FROM certificates \
                             WHERE issuer = $1 AND crl_shard = $2 AND revoked_at IS NOT NULL AND crl_entry IS NULL",
                        )
                        .bind(issuer)
                        .bind(i64::from(shard))
                        .fetch(tx.c());
                        loop {
                            let r = match rows.try_next().await {
                                Ok(Some(r)) => r,
                                Ok(None) => break,
                                Err(e) => {
                                    failed = Some(e);
                                    break;
                                }
                            };
                            entries += 1;
                            // By position: a million rows make the name lookups show.
                            let record = RevokedRecord {
                                serial: r.try_get(0)?,
                                crl_shard: shard,
                                revoked_at: time(r.try_get(1)?)?,
                                reason: r.try_get(2)?,
                            };
                            if each(CrlChunk::Unencoded(record)).is_break() {
                                break;
                            }
                        }
                    }
                    if let Some(e) = failed {
                        tx.check::<()>(Err(e))?;
                    }
                }
                tx.finish().await?;
                Ok(CrlSnapshot { number, covers_epoch, entries })
            }

            async fn store_crl(&self, c: &CrlRecord) -> Result<(), StoreError> {
                let q = sqlx::query(
                    "INSERT INTO crls (issuer, shard, number, this_update, next_update, der, covers_epoch) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (issuer, shard, number) DO NOTHING",
                )
                .bind(&c.issuer)
                .bind(i64::from(c.shard))
                .bind(i64::try_from(c.number).unwrap_or(i64::MAX))
                .bind(c.this_update.unix_timestamp())
                .bind(c.next_update.unix_timestamp())
                .bind(&c.der)
                .bind(c.covers_epoch);
                if self.write(q).await? != 1 {
                    return Err(StoreError::Duplicate(format!(
                        "CRL {} of {}/{}",
                        c.number, c.issuer, c.shard
                    )));
                }
                Ok(())
            }

            async fn latest_crl(&self, issuer: &str, shard: u32) -> Result<Option<CrlRecord>, StoreError> {
                let row = sqlx::query(
                    "SELECT number, this_update, next_update, der, covers_epoch FROM crls \
                     WHERE issuer = $1 AND shard = $2 ORDER BY number DESC LIMIT 1",
                )
                .bind(issuer)
                .bind(i64::from(shard))
                .fetch_optional(&self.pool)
                .await?;
                row.map(|r| {
                    Ok(CrlRecord {
                        issuer: issuer.to_owned(),
                        shard,
                        number: unsigned(r.try_get("number")?),
                        this_update: time(r.try_get("this_update")?)?,
                        next_update: time(r.try_get("next_update")?)?,
                        der: r.try_get("der")?,
                        covers_epoch: r.try_get("covers_epoch")?,
                    })
                })
                .transpose()
            }

            async fn shards_behind_revocations(&self) -> Result<Vec<(String, u32)>, StoreError> {
                let rows = sqlx::query(SHARDS_BEHIND).fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|r| Ok((r.try_get("issuer")?, count(r.try_get("crl_shard")?))))
                    .collect()
            }

            async fn revoked_certificates(&self, issuer: &str) -> Result<Vec<RevokedRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT serial, revoked_at, revocation_reason, crl_shard FROM certificates \
                     WHERE issuer = $1 AND revoked_at IS NOT NULL ORDER BY serial",
                )
                .bind(issuer)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(RevokedRecord {
                            serial: r.try_get("serial")?,
                            crl_shard: count(r.try_get("crl_shard")?),
                            revoked_at: time(r.try_get("revoked_at")?)?,
                            reason: r.try_get("revocation_reason")?,
                        })
                    })
                    .collect()
            }

            async fn staff_accounts(&self) -> Result<Vec<Account>, StoreError> {
                let rows = sqlx::query(select_accounts!("WHERE role <> 'subscriber' ORDER BY email"))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::account_row).collect()
            }

            async fn support_requests(&self, limit: u32) -> Result<Vec<SupportRequestRecord>, StoreError> {
                let rows = sqlx::query(concat!(
                    "SELECT id, name, email, order_number, message, created_at, answered_at FROM support_requests ",
                    "ORDER BY CASE WHEN answered_at IS NULL THEN 0 ELSE 1 END, ",
                    "CASE WHEN answered_at IS NULL THEN created_at ELSE -created_at END LIMIT $1"
                ))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::support_row).collect()
            }

            async fn support_request(&self, id: i64) -> Result<Option<SupportRequestRecord>, StoreError> {
                let row = sqlx::query(
                    "SELECT id, name, email, order_number, message, created_at, answered_at FROM support_requests WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(Self::support_row).transpose()
            }

            async fn alerts(&self, limit: u32) -> Result<Vec<AlertRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, kind, title, body, starts_at, ends_at, created_by, created_at FROM alerts \
                     ORDER BY starts_at DESC, id DESC LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::alert_row).collect()
            }

            async fn relying_services(&self) -> Result<Vec<RelyingServiceRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, name, url, accepts_from, accepts_until, note, created_at FROM relying_services ORDER BY name",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(RelyingServiceRecord {
                            id: r.try_get("id")?,
                            name: r.try_get("name")?,
                            url: r.try_get("url")?,
                            accepts_from: time(r.try_get("accepts_from")?)?,
                            accepts_until: opt_time(r.try_get("accepts_until")?)?,
                            note: r.try_get("note")?,
                            created_at: time(r.try_get("created_at")?)?,
                        })
                    })
                    .collect()
            }

            async fn order_status_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
                let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM orders GROUP BY status ORDER BY status")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| Ok((r.try_get("status")?, unsigned(r.try_get("n")?))))
                    .collect()
            }

            async fn issuance_times_since(&self, since: OffsetDateTime) -> Result<Vec<OffsetDateTime>, StoreError> {
                let rows: Vec<i64> = sqlx::query_scalar(
                    "SELECT not_before FROM certificates WHERE state = 'issued' AND profile NOT LIKE 'ca:%' AND not_before >= $1",
                )
                .bind(since.unix_timestamp())
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(time).collect()
            }

            async fn revocation_epoch(&self) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar("SELECT value FROM revocation_epoch WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn store_ocsp_responses(&self, responses: &[OcspRecord]) -> Result<(), StoreError> {
                let mut tx = self.start().await?;
                for rows in responses.chunks(OCSP_ROWS_PER_STATEMENT) {
                    // The certificates' rows are locked (shared) first: a revocation that is
                    // under way finishes before, and its removal of the old response stands;
                    // a later one waits for this transaction and removes what it stores.
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "SELECT serial FROM certificates WHERE revoked_at IS NOT NULL AND serial IN (",
                    );
                    let mut list = q.separated(", ");
                    for r in rows {
                        list.push_bind(r.serial.as_str());
                    }
                    q.push(")");
                    q.push($share);
                    let fetched = q.build().fetch_all(tx.c()).await;
                    let revoked: std::collections::HashSet<String> = tx
                        .check(fetched)?
                        .iter()
                        .map(|r| r.try_get::<String, _>("serial"))
                        .collect::<Result<_, _>>()?;
                    let keep: Vec<&OcspRecord> = rows
                        .iter()
                        .filter(|r| r.revoked || !revoked.contains(&r.serial))
                        .collect();
                    if keep.is_empty() {
                        continue;
                    }
                    // Multi-row upserts: per-statement overhead, not the rows, bounded the refresh job.
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO ocsp_responses (serial, issuer, this_update, next_update, der, revoked) ",
                    );
                    q.push_values(keep, |mut b, r| {
                        b.push_bind(r.serial.as_str())
                            .push_bind(r.issuer.as_str())
                            .push_bind(r.this_update.unix_timestamp())
                            .push_bind(r.next_update.unix_timestamp())
                            .push_bind(r.der.as_slice())
                            .push_bind(i64::from(r.revoked));
                    });
                    q.push(UPSERT_OCSP_CONFLICT);
                    let done = q.build().execute(tx.c()).await;
                    tx.check(done)?;
                }
                tx.finish().await
            }

            async fn ocsp_response(&self, serial: &str) -> Result<Option<OcspRecord>, StoreError> {
                let row = sqlx::query(
                    "SELECT issuer, this_update, next_update, der, revoked FROM ocsp_responses WHERE serial = $1",
                )
                .bind(serial)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|r| {
                    Ok(OcspRecord {
                        serial: serial.to_owned(),
                        issuer: r.try_get("issuer")?,
                        this_update: time(r.try_get("this_update")?)?,
                        next_update: time(r.try_get("next_update")?)?,
                        der: r.try_get("der")?,
                        revoked: r.try_get::<i64, _>("revoked")? != 0,
                    })
                })
                .transpose()
            }

            async fn certificates_needing_ocsp(
                &self,
                stale_before: OffsetDateTime,
                now: OffsetDateTime,
                after: &str,
                limit: u32,
            ) -> Result<Vec<StatusRecord>, StoreError> {
                let rows = sqlx::query(SELECT_NEEDING_OCSP)
                    .bind(now.unix_timestamp())
                    .bind(stale_before.unix_timestamp())
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(StatusRecord {
                            serial: r.try_get("serial")?,
                            issuer: r.try_get("issuer")?,
                            revoked_at: opt_time(r.try_get("revoked_at")?)?,
                            reason: r.try_get("revocation_reason")?,
                        })
                    })
                    .collect()
            }

            async fn claim_mail(
                &self,
                now: OffsetDateTime,
                lease: time::Duration,
                limit: u32,
            ) -> Result<Vec<MailRecord>, StoreError> {
                let mut tx = self.start().await?;
                // The due rows are locked (others skip them) before they are marked claimed.
                let q = sqlx::query(concat!(
                    "WITH due AS (SELECT id FROM mail_outbox WHERE state = 'queued' AND next_attempt_at <= $1 ",
                    "AND (claimed_until IS NULL OR claimed_until <= $2) ORDER BY id LIMIT $3", $skip_locked, ") ",
                    "UPDATE mail_outbox SET claimed_until = $4 FROM due WHERE mail_outbox.id = due.id ",
                    "RETURNING mail_outbox.id, created_at, to_addr, subject, body, attachment_name, attachment_type, ",
                    "attachment, state, attempts, next_attempt_at, last_error, sent_at"
                ))
                .bind(now.unix_timestamp())
                .bind(now.unix_timestamp())
                .bind(i64::from(limit))
                .bind((now + lease).unix_timestamp());
                let rows = q.fetch_all(tx.c()).await;
                let rows = tx.check(rows)?;
                tx.finish().await?;
                let mut claimed: Vec<MailRecord> =
                    rows.iter().map(Self::mail_row).collect::<Result<_, _>>()?;
                claimed.sort_by_key(|m| m.id);
                Ok(claimed)
            }

            async fn mail_sent(&self, id: i64, at: OffsetDateTime) -> Result<(), StoreError> {
                self.write(
                    sqlx::query(
                        "UPDATE mail_outbox SET state = 'sent', sent_at = $1, attempts = attempts + 1, \
                         claimed_until = NULL, last_error = NULL WHERE id = $2",
                    )
                    .bind(at.unix_timestamp())
                    .bind(id),
                )
                .await
                .map(|_| ())
            }

            async fn mail_failed(
                &self,
                id: i64,
                error: &str,
                retry_at: Option<OffsetDateTime>,
            ) -> Result<(), StoreError> {
                self.write(
                    sqlx::query(
                        "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $1, state = $2, \
                         next_attempt_at = COALESCE($3, next_attempt_at), claimed_until = NULL WHERE id = $4",
                    )
                    .bind(error)
                    .bind(if retry_at.is_some() { "queued" } else { "dead" })
                    .bind(retry_at.map(OffsetDateTime::unix_timestamp))
                    .bind(id),
                )
                .await
                .map(|_| ())
            }

            async fn retry_mail_now(
                &self,
                id: Option<i64>,
                now: OffsetDateTime,
            ) -> Result<u64, StoreError> {
                let q = match id {
                    Some(id) => sqlx::query(
                        "UPDATE mail_outbox SET state = 'queued', next_attempt_at = $1, claimed_until = NULL \
                         WHERE state IN ('queued', 'dead') AND id = $2 \
                         AND (claimed_until IS NULL OR claimed_until <= $1)",
                    )
                    .bind(now.unix_timestamp())
                    .bind(id),
                    None => sqlx::query(
                        "UPDATE mail_outbox SET state = 'queued', next_attempt_at = $1, claimed_until = NULL \
                         WHERE state IN ('queued', 'dead') \
                         AND (claimed_until IS NULL OR claimed_until <= $1)",
                    )
                    .bind(now.unix_timestamp()),
                };
                self.write(q).await
            }

            async fn recent_mail(&self, limit: u32) -> Result<Vec<MailRecord>, StoreError> {
                let rows = sqlx::query(select_mail!("ORDER BY id DESC LIMIT $1"))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        let mut m = Self::mail_row(r)?;
                        m.mail.attachment = None;
                        Ok(m)
                    })
                    .collect()
            }

            async fn mail_state_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
                let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM mail_outbox GROUP BY state ORDER BY state")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| Ok((r.try_get("state")?, unsigned(r.try_get("n")?))))
                    .collect()
            }

            async fn hit(
                &self,
                key: &str,
                window: time::Duration,
                now: OffsetDateTime,
            ) -> Result<u64, StoreError> {
                let start = window_start(now, window);
                let mut conn = self.pool.acquire().await?;
                let row = sqlx::query(
                    "INSERT INTO rate_limits (key, window_start, hits) VALUES ($1, $2, 1) \
                     ON CONFLICT (key) DO UPDATE SET \
                     hits = CASE WHEN rate_limits.window_start = excluded.window_start THEN rate_limits.hits + 1 ELSE 1 END, \
                     window_start = excluded.window_start RETURNING hits",
                )
                .bind(key)
                .bind(start)
                .fetch_one(&mut *conn)
                .await;
                match row {
                    Ok(r) => Ok(unsigned(r.try_get("hits")?)),
                    Err(e) => {
                        self.failures.record();
                        conn.close_on_drop();
                        Err(e.into())
                    }
                }
            }

            async fn forgive(
                &self,
                key: &str,
                window: time::Duration,
                now: OffsetDateTime,
            ) -> Result<(), StoreError> {
                self.write(
                    sqlx::query(
                        "UPDATE rate_limits SET hits = hits - 1 WHERE key = $1 AND window_start = $2 AND hits > 0",
                    )
                    .bind(key)
                    .bind(window_start(now, window)),
                )
                .await
                .map(|_| ())
            }

            async fn hits(
                &self,
                key: &str,
                window: time::Duration,
                now: OffsetDateTime,
            ) -> Result<u64, StoreError> {
                let row = sqlx::query("SELECT window_start, hits FROM rate_limits WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match row {
                    Some(r) if r.try_get::<i64, _>("window_start")? == window_start(now, window) => {
                        unsigned(r.try_get("hits")?)
                    }
                    _ => 0,
                })
            }

            async fn dump(&self, to: &std::path::Path) -> Result<DumpKind, StoreError> {
                self.dump_to(to).await
            }

            async fn probe(&self, node: &str, now: OffsetDateTime) -> Result<(), StoreError> {
                let mut tx = self.start().await?;
                tx.exec(
                    sqlx::query(
                        "INSERT INTO probes (node, at) VALUES ($1, $2) \
                         ON CONFLICT (node) DO UPDATE SET at = excluded.at",
                    )
                    .bind(node)
                    .bind(now.unix_timestamp()),
                )
                .await?;
                tx.finish().await
            }
        }

        #[async_trait]
        impl Tx for $txname {
            async fn record_issuance_intent(&mut self, i: &IssuanceIntent) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(INSERT_INTENT)
                            .bind(i.serial.to_hex())
                            .bind(&i.issuer)
                            .bind(&i.profile)
                            .bind(&i.subject)
                            .bind(i.not_before.unix_timestamp())
                            .bind(i.not_after.unix_timestamp())
                            .bind(&i.tbs_der)
                            .bind(i.created_at.unix_timestamp())
                            .bind(i.created_at.unix_timestamp())
                            .bind(i64::from(i.crl_shard))
                            .bind(&i.origin),
                    )
                    .await?;
                if n != 1 {
                    return Err(StoreError::SerialTaken(i.serial.to_hex()));
                }
                Ok(())
            }

            async fn complete_issuance(
                &mut self,
                serial: &Serial,
                der: &[u8],
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE certificates SET der = $1, state = 'issued', updated_at = $2 \
                             WHERE serial = $3 AND state = 'intent'",
                        )
                        .bind(der)
                        .bind(at.unix_timestamp())
                        .bind(serial.to_hex()),
                    )
                    .await?;
                if n != 1 {
                    return Err(StoreError::NoOpenIntent(serial.to_hex()));
                }
                Ok(())
            }

            async fn abandon_intent(
                &mut self,
                serial: &Serial,
                note: &str,
                at: OffsetDateTime,
                revocation: Option<(&str, &[u8])>,
            ) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE certificates SET state = 'abandoned', note = $1, updated_at = $2, revoked_at = $3, \
                             revocation_reason = $4, crl_entry = $5 WHERE serial = $6 AND state = 'intent'",
                        )
                        .bind(note)
                        .bind(at.unix_timestamp())
                        .bind(revocation.map(|_| at.unix_timestamp()))
                        .bind(revocation.map(|(reason, _)| reason))
                        .bind(revocation.map(|(_, entry)| entry))
                        .bind(serial.to_hex()),
                    )
                    .await?;
                if n != 1 {
                    return Err(StoreError::NoOpenIntent(serial.to_hex()));
                }
                if revocation.is_some() {
                    self.number_revocation(serial).await?;
                }
                Ok(())
            }

            async fn revoke_certificate(
                &mut self,
                serial: &Serial,
                reason: &str,
                at: OffsetDateTime,
                crl_entry: &[u8],
            ) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE certificates SET revoked_at = $1, revocation_reason = $2, updated_at = $3, \
                             crl_entry = $4 WHERE serial = $5 AND state = 'issued' AND revoked_at IS NULL",
                        )
                        .bind(at.unix_timestamp())
                        .bind(reason)
                        .bind(at.unix_timestamp())
                        .bind(crl_entry)
                        .bind(serial.to_hex()),
                    )
                    .await?;
                conflict(n, "the certificate is not issued or is already revoked")?;
                self.number_revocation(serial).await?;
                // The "good" response must not outlive the revocation, even if re-signing it
                // fails: until a new one is stored, the responder signs from this row.
                self.exec(sqlx::query("DELETE FROM ocsp_responses WHERE serial = $1").bind(serial.to_hex()))
                    .await?;
                Ok(())
            }

            async fn create_account(&mut self, a: &NewAccount) -> Result<i64, StoreError> {
                let row = self
                    .maybe(
                        sqlx::query(
                            "INSERT INTO accounts (email, name, role, region, password_hash, email_confirmed, created_at) \
                             SELECT lower($1), $2, $3, $4, $5, $6, $7 \
                             WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE lower(email) = lower($1)) \
                             ON CONFLICT (email) DO NOTHING RETURNING id",
                        )
                        .bind(&a.email)
                        .bind(&a.name)
                        .bind(&a.role)
                        .bind(&a.region)
                        .bind(&a.password_hash)
                        .bind(i64::from(a.email_confirmed))
                        .bind(a.created_at.unix_timestamp()),
                    )
                    .await?;
                match row {
                    Some(r) => Ok(r.try_get("id")?),
                    None => Err(StoreError::Duplicate(format!("an account for {}", a.email))),
                }
            }

            async fn confirm_account_email(&mut self, id: i64) -> Result<(), StoreError> {
                let n = self
                    .exec(sqlx::query("UPDATE accounts SET email_confirmed = 1 WHERE id = $1").bind(id))
                    .await?;
                conflict(n, "no such account")
            }

            async fn set_password(&mut self, id: i64, password_hash: &str) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE accounts SET password_hash = $1, email_confirmed = 1, failed_logins = 0, \
                             locked_until = NULL WHERE id = $2",
                        )
                        .bind(password_hash)
                        .bind(id),
                    )
                    .await?;
                conflict(n, "no such account")
            }

            async fn count_login_attempt(
                &mut self,
                id: i64,
                at: OffsetDateTime,
            ) -> Result<LoginAttempt, StoreError> {
                let row = self
                    .maybe(
                        sqlx::query(
                            "UPDATE accounts SET failed_logins = failed_logins + 1, last_failed_login = $1 \
                             WHERE id = $2 RETURNING failed_logins, locked_until, lock_count",
                        )
                        .bind(at.unix_timestamp())
                        .bind(id),
                    )
                    .await?
                    .ok_or_else(|| StoreError::Conflict("no such account".into()))?;
                Ok(LoginAttempt {
                    failures: count(row.try_get("failed_logins")?),
                    locked_until: opt_time(row.try_get("locked_until")?)?,
                    lock_count: count(row.try_get("lock_count")?),
                })
            }

            async fn lock_account(&mut self, id: i64, until: OffsetDateTime) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE accounts SET locked_until = $1, lock_count = lock_count + 1, failed_logins = 0 \
                             WHERE id = $2",
                        )
                        .bind(until.unix_timestamp())
                        .bind(id),
                    )
                    .await?;
                conflict(n, "no such account")
            }

            async fn clear_login_failures(&mut self, id: i64) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query("UPDATE accounts SET failed_logins = 0, lock_count = 0 WHERE id = $1")
                            .bind(id),
                    )
                    .await?;
                conflict(n, "no such account")
            }

            async fn unlock_account(&mut self, id: i64) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE accounts SET failed_logins = 0, locked_until = NULL WHERE id = $1",
                        )
                        .bind(id),
                    )
                    .await?;
                conflict(n, "no such account")
            }

            async fn create_session(
                &mut self,
                hash: &str,
                account: i64,
                expires_at: OffsetDateTime,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                self.exec(
                    sqlx::query(
                        "INSERT INTO sessions (hash, account_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(hash)
                    .bind(account)
                    .bind(expires_at.unix_timestamp())
                    .bind(at.unix_timestamp()),
                )
                .await
                .map(|_| ())
            }

            async fn end_session(&mut self, hash: &str) -> Result<(), StoreError> {
                self.exec(sqlx::query("DELETE FROM sessions WHERE hash = $1").bind(hash))
                    .await
                    .map(|_| ())
            }

            async fn end_sessions_of(&mut self, account: i64) -> Result<u64, StoreError> {
                self.exec(sqlx::query("DELETE FROM sessions WHERE account_id = $1").bind(account))
                    .await
            }

            async fn create_token(
                &mut self,
                hash: &str,
                t: &TokenRecord,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                self.exec(
                    sqlx::query(
                        "INSERT INTO tokens (hash, purpose, account_id, order_number, expires_at, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(hash)
                    .bind(&t.purpose)
                    .bind(t.account_id)
                    .bind(&t.order_number)
                    .bind(t.expires_at.unix_timestamp())
                    .bind(at.unix_timestamp()),
                )
                .await
                .map(|_| ())
            }

            async fn use_token(
                &mut self,
                hash: &str,
                purpose: &str,
                now: OffsetDateTime,
            ) -> Result<Option<TokenRecord>, StoreError> {
                let row = self
                    .maybe(
                        sqlx::query(
                            "UPDATE tokens SET used_at = $1 WHERE hash = $2 AND purpose = $3 AND used_at IS NULL \
                             AND expires_at > $4 RETURNING purpose, account_id, order_number, expires_at",
                        )
                        .bind(now.unix_timestamp())
                        .bind(hash)
                        .bind(purpose)
                        .bind(now.unix_timestamp()),
                    )
                    .await?;
                row.as_ref().map($name::token_row).transpose()
            }

            async fn retire_tokens(
                &mut self,
                purpose: &str,
                order_number: Option<&str>,
                account: Option<i64>,
                now: OffsetDateTime,
            ) -> Result<u64, StoreError> {
                self.exec(
                    sqlx::query(
                        "UPDATE tokens SET used_at = $1 WHERE purpose = $2 AND used_at IS NULL \
                         AND (order_number = $3 OR account_id = $4)",
                    )
                    .bind(now.unix_timestamp())
                    .bind(purpose)
                    .bind(order_number)
                    .bind(account),
                )
                .await
            }

            async fn create_order(&mut self, o: &OrderRecord) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(INSERT_ORDER)
                            .bind(&o.order_number)
                            .bind(&o.product)
                            .bind(&o.identity_json)
                            .bind(&o.approval_email)
                            .bind(i64::from(o.approval_confirmed))
                            .bind(&o.pickup_password_hash)
                            .bind(i64::from(o.validity_months))
                            .bind(&o.key_type)
                            .bind(&o.channel)
                            .bind(&o.country)
                            .bind(o.placed_by)
                            .bind(o.attested_by)
                            .bind(&o.status)
                            .bind(o.ready_since.map(OffsetDateTime::unix_timestamp))
                            .bind(i64::from(o.pickup_failures))
                            .bind(&o.certificate_serial)
                            .bind(&o.previous_order)
                            .bind(o.created_at.unix_timestamp())
                            .bind(o.updated_at.unix_timestamp())
                            .bind(&o.order_kind)
                            .bind(o.fixed_not_after.map(OffsetDateTime::unix_timestamp)),
                    )
                    .await?;
                if n != 1 {
                    return Err(StoreError::Duplicate(format!("order {}", o.order_number)));
                }
                Ok(())
            }

            async fn transition_order(
                &mut self,
                order_number: &str,
                from: &str,
                to: &str,
                ready_since: Option<OffsetDateTime>,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE orders SET status = $1, ready_since = COALESCE($2, ready_since), updated_at = $3 \
                             WHERE order_number = $4 AND status = $5 AND claimed_serial IS NULL",
                        )
                        .bind(to)
                        .bind(ready_since.map(OffsetDateTime::unix_timestamp))
                        .bind(at.unix_timestamp())
                        .bind(order_number)
                        .bind(from),
                    )
                    .await?;
                conflict(n, "the order changed meanwhile (or a pickup is under way); reload it and try again")
            }

            async fn claim_pickup(
                &mut self,
                order_number: &str,
                serial: &str,
                token_hash: &str,
                until: OffsetDateTime,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE orders SET claimed_serial = $1, claim_token = $2, claim_expires_at = $3, \
                             pickup_failures = 0, updated_at = $4 \
                             WHERE order_number = $5 AND status = 'ready_for_pickup' AND claimed_serial IS NULL",
                        )
                        .bind(serial)
                        .bind(token_hash)
                        .bind(until.unix_timestamp())
                        .bind(at.unix_timestamp())
                        .bind(order_number),
                    )
                    .await?;
                conflict(n, "this order is not ready for pickup, or a pickup of it is under way")
            }

            async fn complete_pickup(
                &mut self,
                order_number: &str,
                serial: &str,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE orders SET status = 'issued', certificate_serial = $1, claimed_serial = NULL, \
                             claim_token = NULL, claim_expires_at = NULL, updated_at = $2 \
                             WHERE order_number = $3 AND claimed_serial = $4 AND status = 'ready_for_pickup'",
                        )
                        .bind(serial)
                        .bind(at.unix_timestamp())
                        .bind(order_number)
                        .bind(serial),
                    )
                    .await?;
                conflict(n, "the pickup's claim on the order was released meanwhile")
            }

            async fn release_pickup(
                &mut self,
                order_number: &str,
                serial: &str,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                self.exec(
                    sqlx::query(
                        "UPDATE tokens SET used_at = NULL WHERE hash = \
                         (SELECT claim_token FROM orders WHERE order_number = $1 AND claimed_serial = $2)",
                    )
                    .bind(order_number)
                    .bind(serial),
                )
                .await?;
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE orders SET claimed_serial = NULL, claim_token = NULL, claim_expires_at = NULL, \
                             updated_at = $1 WHERE order_number = $2 AND claimed_serial = $3",
                        )
                        .bind(at.unix_timestamp())
                        .bind(order_number)
                        .bind(serial),
                    )
                    .await?;
                conflict(n, "the pickup's claim on the order was released meanwhile")
            }

            async fn confirm_approval_email(
                &mut self,
                order_number: &str,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE orders SET approval_confirmed = 1, updated_at = $1 WHERE order_number = $2",
                        )
                        .bind(at.unix_timestamp())
                        .bind(order_number),
                    )
                    .await?;
                conflict(n, "no such order")
            }

            async fn record_attestation(
                &mut self,
                order_number: &str,
                agent: i64,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE orders SET attested_by = $1, updated_at = $2 \
                             WHERE order_number = $3 AND attested_by IS NULL",
                        )
                        .bind(agent)
                        .bind(at.unix_timestamp())
                        .bind(order_number),
                    )
                    .await?;
                conflict(n, "the order is attested already (or does not exist)")
            }

            async fn hold_for_pickup(&mut self, order_number: &str) -> Result<u32, StoreError> {
                let row = self
                    .maybe(
                        sqlx::query(concat!(
                            "SELECT pickup_failures FROM orders WHERE order_number = $1",
                            $lock
                        ))
                        .bind(order_number),
                    )
                    .await?
                    .ok_or_else(|| StoreError::Conflict("no such order".into()))?;
                Ok(count(row.try_get("pickup_failures")?))
            }

            async fn count_pickup_attempt(&mut self, order_number: &str) -> Result<u32, StoreError> {
                let row = self
                    .maybe(
                        sqlx::query(
                            "UPDATE orders SET pickup_failures = pickup_failures + 1 WHERE order_number = $1 \
                             RETURNING pickup_failures",
                        )
                        .bind(order_number),
                    )
                    .await?
                    .ok_or_else(|| StoreError::Conflict("no such order".into()))?;
                Ok(count(row.try_get("pickup_failures")?))
            }

            async fn reset_pickup_failures(&mut self, order_number: &str) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query("UPDATE orders SET pickup_failures = 0 WHERE order_number = $1")
                            .bind(order_number),
                    )
                    .await?;
                conflict(n, "no such order")
            }

            async fn attach_document(
                &mut self,
                d: &DocumentRecord,
                content: &[u8],
            ) -> Result<i64, StoreError> {
                self.exec(
                    sqlx::query(
                        "INSERT INTO blobs (sha256, content) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING",
                    )
                    .bind(&d.sha256)
                    .bind(content),
                )
                .await?;
                let row = self
                    .one(
                        sqlx::query(
                            "INSERT INTO documents (order_number, kind, sha256, media_type, size, uploaded_by, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                        )
                        .bind(&d.order_number)
                        .bind(&d.kind)
                        .bind(&d.sha256)
                        .bind(&d.media_type)
                        .bind(i64::try_from(d.size).unwrap_or(i64::MAX))
                        .bind(d.uploaded_by)
                        .bind(d.created_at.unix_timestamp()),
                    )
                    .await?;
                Ok(row.try_get("id")?)
            }

            async fn copy_documents(&mut self, from: &str, to: &str) -> Result<u64, StoreError> {
                self.exec(
                    sqlx::query(
                        "INSERT INTO documents (order_number, kind, sha256, media_type, size, uploaded_by, created_at) \
                         SELECT $1, kind, sha256, media_type, size, uploaded_by, created_at FROM documents WHERE order_number = $2",
                    )
                    .bind(to)
                    .bind(from),
                )
                .await
            }

            async fn add_order_event(
                &mut self,
                order_number: &str,
                e: &OrderEventRecord,
            ) -> Result<(), StoreError> {
                self.exec(
                    sqlx::query(
                        "INSERT INTO order_events (order_number, actor, kind, message, created_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(order_number)
                    .bind(e.actor)
                    .bind(&e.kind)
                    .bind(&e.message)
                    .bind(e.created_at.unix_timestamp()),
                )
                .await
                .map(|_| ())
            }

            async fn record_reminder(
                &mut self,
                serial: &str,
                kind: &str,
                at: OffsetDateTime,
            ) -> Result<bool, StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "INSERT INTO reminders (serial, kind, sent_at) VALUES ($1, $2, $3) \
                             ON CONFLICT (serial, kind) DO NOTHING",
                        )
                        .bind(serial)
                        .bind(kind)
                        .bind(at.unix_timestamp()),
                    )
                    .await?;
                Ok(n == 1)
            }

            async fn clear_totp(&mut self, id: i64) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE accounts SET totp_secret = NULL, totp_enabled = 0, totp_last_step = NULL WHERE id = $1",
                        )
                        .bind(id),
                    )
                    .await?;
                conflict(n, "no such account")
            }

            async fn set_totp_secret(&mut self, id: i64, sealed: &[u8]) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE accounts SET totp_secret = $1, totp_enabled = 0, totp_last_step = NULL WHERE id = $2",
                        )
                        .bind(sealed)
                        .bind(id),
                    )
                    .await?;
                conflict(n, "no such account")
            }

            async fn accept_totp_step(&mut self, id: i64, step: i64) -> Result<bool, StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE accounts SET totp_last_step = $1, totp_enabled = 1 WHERE id = $2 \
                             AND totp_secret IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < $3)",
                        )
                        .bind(step)
                        .bind(id)
                        .bind(step),
                    )
                    .await?;
                Ok(n == 1)
            }

            async fn create_support_request(
                &mut self,
                r: &SupportRequestRecord,
            ) -> Result<i64, StoreError> {
                let row = self
                    .one(
                        sqlx::query(
                            "INSERT INTO support_requests (name, email, order_number, message, created_at) \
                             VALUES ($1, $2, $3, $4, $5) RETURNING id",
                        )
                        .bind(&r.name)
                        .bind(&r.email)
                        .bind(&r.order_number)
                        .bind(&r.message)
                        .bind(r.created_at.unix_timestamp()),
                    )
                    .await?;
                Ok(row.try_get("id")?)
            }

            async fn add_support_reply(
                &mut self,
                request_id: i64,
                answered_by: i64,
                message: &str,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                self.exec(
                    sqlx::query(
                        "INSERT INTO support_replies (request_id, answered_by, message, created_at) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(request_id)
                    .bind(answered_by)
                    .bind(message)
                    .bind(at.unix_timestamp()),
                )
                .await?;
                let n = self
                    .exec(
                        sqlx::query("UPDATE support_requests SET answered_at = $1 WHERE id = $2")
                            .bind(at.unix_timestamp())
                            .bind(request_id),
                    )
                    .await?;
                conflict(n, "no such support request")
            }

            async fn create_alert(&mut self, a: &AlertRecord) -> Result<i64, StoreError> {
                let row = self
                    .one(
                        sqlx::query(
                            "INSERT INTO alerts (kind, title, body, starts_at, ends_at, created_by, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                        )
                        .bind(&a.kind)
                        .bind(&a.title)
                        .bind(&a.body)
                        .bind(a.starts_at.unix_timestamp())
                        .bind(a.ends_at.map(OffsetDateTime::unix_timestamp))
                        .bind(a.created_by)
                        .bind(a.created_at.unix_timestamp()),
                    )
                    .await?;
                Ok(row.try_get("id")?)
            }

            async fn end_alert(&mut self, id: i64, at: OffsetDateTime) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query("UPDATE alerts SET ends_at = $1 WHERE id = $2")
                            .bind(at.unix_timestamp())
                            .bind(id),
                    )
                    .await?;
                conflict(n, "no such alert")
            }

            async fn create_relying_service(
                &mut self,
                s: &RelyingServiceRecord,
            ) -> Result<i64, StoreError> {
                let row = self
                    .one(
                        sqlx::query(
                            "INSERT INTO relying_services (name, url, accepts_from, accepts_until, note, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                        )
                        .bind(&s.name)
                        .bind(&s.url)
                        .bind(s.accepts_from.unix_timestamp())
                        .bind(s.accepts_until.map(OffsetDateTime::unix_timestamp))
                        .bind(&s.note)
                        .bind(s.created_at.unix_timestamp()),
                    )
                    .await?;
                Ok(row.try_get("id")?)
            }

            async fn enqueue_mail(&mut self, m: &NewMail) -> Result<(), StoreError> {
                let (name, media_type, content) = match &m.attachment {
                    Some((n, t, c)) => (Some(n.as_str()), Some(t.as_str()), Some(c.as_slice())),
                    None => (None, None, None),
                };
                self.exec(
                    sqlx::query(
                        "INSERT INTO mail_outbox (created_at, to_addr, subject, body, attachment_name, attachment_type, \
                         attachment, state, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', 0, $8)",
                    )
                    .bind(m.created_at.unix_timestamp())
                    .bind(&m.to)
                    .bind(&m.subject)
                    .bind(&m.body)
                    .bind(name)
                    .bind(media_type)
                    .bind(content)
                    .bind(m.created_at.unix_timestamp()),
                )
                .await?;
                self.mails += 1;
                Ok(())
            }

            fn audit(&mut self, record: AuditRecord) {
                self.audits.push(record);
            }

            fn pending(&self) -> (usize, usize) {
                (self.audits.len(), self.mails)
            }

            async fn rollback(mut self: Box<Self>) -> Result<(), StoreError> {
                self.exec(sqlx::query("ROLLBACK")).await?;
                self.committed = true;
                Ok(())
            }

            async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
                if self.poisoned {
                    return Err(StoreError::Aborted);
                }
                if self.audits.is_empty() {
                    return Err(StoreError::Unaudited);
                }
                self.chain_audit().await?;
                self.finish().await
            }
        }
    };
}

sql_store!(
    SqliteStore,
    SqliteTx,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteConnectOptions,
    sqlx::sqlite::SqliteRow,
    "./migrations/sqlite",
    // group_concat appends by length, so NUL octets in the entries survive; the cast keeps the bytes.
    "CAST(string_agg(crl_entry, '') AS BLOB)",
    // Take the write lock at once: a transaction that read first and wrote later could not wait
    // for another writer (SQLite answers "busy" at the upgrade), it would have to start over.
    "BEGIN IMMEDIATE",
    "",
    "",
    "",
    "",
    "The embedded default: one SQLite file in the data directory."
);
sql_store!(
    PostgresStore,
    PostgresTx,
    sqlx::Postgres,
    sqlx::postgres::PgConnectOptions,
    sqlx::postgres::PgRow,
    "./migrations/postgres",
    "string_agg(crl_entry, ''::bytea)",
    "BEGIN",
    " FOR UPDATE",
    " FOR SHARE",
    " FOR UPDATE SKIP LOCKED",
    "SHOW transaction_read_only",
    "PostgreSQL, for several Signet nodes sharing one database."
);

/// A database URL; `Debug` hides its password.
#[derive(Clone)]
struct Url(String);

impl std::fmt::Debug for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::redact(&self.0))
    }
}

impl SqliteStore {
    /// SQLite's online backup: a consistent copy while writers go on.
    async fn dump_to(&self, to: &std::path::Path) -> Result<DumpKind, StoreError> {
        let target = to
            .to_str()
            .ok_or_else(|| StoreError::Tool(format!("{}: not a UTF-8 path", to.display())))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.pool)
            .await?;
        Ok(DumpKind::Sqlite)
    }

    fn pool_options() -> sqlx::pool::PoolOptions<sqlx::Sqlite> {
        sqlx::pool::PoolOptions::new().max_connections(8)
    }

    fn tune(options: sqlx::sqlite::SqliteConnectOptions) -> sqlx::sqlite::SqliteConnectOptions {
        // WAL + full sync: a committed intent survives a power cut. Writers queue for the lock
        // (each holds it for milliseconds) rather than fail.
        options
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(30))
    }
}

impl PostgresStore {
    /// `pg_dump` (one consistent snapshot) as a plain SQL script.
    async fn dump_to(&self, to: &std::path::Path) -> Result<DumpKind, StoreError> {
        // The password goes in the environment, not the process list.
        let (target, password) = crate::libpq_target(&self.url.0);
        let out = tokio::process::Command::new("pg_dump")
            .args(["--no-owner", "--no-privileges", "--format=plain", "--file"])
            .arg(to)
            .arg(&target)
            .envs(password.map(|p| ("PGPASSWORD", p)))
            .output()
            .await
            .map_err(|e| {
                StoreError::Tool(format!("pg_dump: {e} (install the PostgreSQL client)"))
            })?;
        if !out.status.success() {
            return Err(StoreError::Tool(format!(
                "pg_dump failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(DumpKind::Postgresql)
    }

    fn pool_options() -> sqlx::pool::PoolOptions<sqlx::Postgres> {
        // A connection is checked before use, so one a restart or failover broke is replaced.
        sqlx::pool::PoolOptions::new()
            .max_connections(16)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .test_before_acquire(true)
    }

    fn tune(options: sqlx::postgres::PgConnectOptions) -> sqlx::postgres::PgConnectOptions {
        options.application_name("signet")
    }
}
