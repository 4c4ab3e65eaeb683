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
use signet_domain::certificate::RevocationReason;
use signet_domain::config::Channel;
use signet_domain::credentials::{OrderNumber, TokenPurpose};
use signet_domain::key::KeyChoice;
use signet_domain::notices::AlertKind;
use signet_domain::order::{DocumentKind, OrderKind, OrderStatus};
use signet_domain::role::Role;
use signet_domain::serial::Serial;
use sqlx::Row;
use sqlx::pool::PoolConnection;
use time::OffsetDateTime;

use crate::accounts::*;
use crate::audit::*;
use crate::discovery::*;
use crate::issuance::*;
use crate::model::{
    Account, AlertRecord, AuditEntry, AuditRecord, CrlChunk, CrlRecord, CrlSnapshot,
    DiscoveredCertificateRecord, DiscoveryEventRecord, DiscoveryJobRecord, DiscoveryPlaceRecord,
    DiscoveryRunRecord, DocumentRecord, LoginAttempt, MailRecord, MailState, NewAccount, NewMail,
    OcspRecord, OrderEventRecord, OrderRecord, RelyingServiceRecord, RevokedRecord, StatusRecord,
    SupportRequestRecord, TokenRecord,
};
use crate::operations::*;
use crate::orders::*;
use crate::outbox::*;
use crate::revocation::*;
use crate::signing::*;
use crate::support::*;
use crate::{
    CertificateRecord, Counts, DumpKind, IssuanceIntent, IssuanceState, Store, StoreError, Tx,
};

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

/// Reads a stored name into the domain's type: a value the domain does not name is a corrupt
/// row, never a default.
fn stored<T, E>(
    column: &str,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    parse(text).map_err(|_| StoreError::Corrupt(format!("unknown {column} `{text}`")))
}

/// [`stored`] for the domain's `parse` functions that answer with an `Option`.
fn named<T>(
    column: &str,
    text: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, StoreError> {
    stored(column, text, |t| parse(t).ok_or(()))
}

/// Names the row a corrupt value was found in, so that an operator can find it.
fn in_row<T>(row: impl FnOnce() -> String, read: Result<T, StoreError>) -> Result<T, StoreError> {
    read.map_err(|e| match e {
        StoreError::Corrupt(what) => StoreError::Corrupt(format!("{}: {what}", row())),
        other => other,
    })
}

fn opt_stored<T, E>(
    column: &str,
    text: Option<String>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    text.map(|t| stored(column, &t, parse)).transpose()
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
        revocation_reason: in_row(
            || format!("certificate {serial}"),
            opt_stored(
                "revocation reason",
                row.try_get("revocation_reason")?,
                RevocationReason::parse,
            ),
        )?,
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
            /// SQLite takes one writer at a time and makes the others retry after sleeps that
            /// grow, so under load some wait seconds while later ones go first: this process's
            /// units of work queue here instead, first come first served.
            turn: Option<Arc<tokio::sync::Mutex<()>>>,
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
            /// This unit of work's turn to write (SQLite), given back when it ends.
            turn: Option<tokio::sync::OwnedMutexGuard<()>>,
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
                // The turn is given back once the rollback is done.
                let turn = self.turn.take();
                // Rolled back before the connection goes back to the pool; one that failed a
                // statement, or cannot roll back, is closed instead (the database undoes it).
                match tokio::runtime::Handle::try_current() {
                    Ok(runtime) => {
                        runtime.spawn(async move {
                            let rolled_back = sqlx::query("ROLLBACK").execute(&mut *conn).await.is_ok();
                            if poisoned || !rolled_back {
                                let _ = conn.close().await;
                            }
                            drop(turn);
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

            async fn all(
                &mut self,
                q: sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments>,
            ) -> Result<Vec<$row>, StoreError> {
                let r = q.fetch_all(self.c()).await;
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
                    // BEGIN IMMEDIATE: SQLite, one writer at a time.
                    turn: $begin
                        .starts_with("BEGIN IMMEDIATE")
                        .then(|| Arc::new(tokio::sync::Mutex::new(()))),
                    pool,
                    failures,
                    url: Url(url.to_owned()),
                })
            }

            async fn start(&self) -> Result<$txname, StoreError> {
                // As long as SQLite's own wait for the lock (busy_timeout): a unit of work that
                // waited longer fails as it did, rather than waiting for ever.
                let turn = match &self.turn {
                    Some(t) => Some(
                        tokio::time::timeout(WRITE_TURN_WAIT, t.clone().lock_owned())
                            .await
                            .map_err(|_| {
                                StoreError::Conflict(format!(
                                    "the database stayed busy with other writes for {} s; try again",
                                    WRITE_TURN_WAIT.as_secs()
                                ))
                            })?,
                    ),
                    None => None,
                };
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
                    turn,
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

        }

        #[async_trait]
        impl Store for $name {
            async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
                Ok(Box::new(self.start().await?))
            }
        }

        #[async_trait]
        impl Tx for $txname {
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

        crate::issuance::issuance_sql!($name, $txname, $db, $row, $concat_entries, $lock, $share, $skip_locked, $read_only_check);
        crate::accounts::accounts_sql!($name, $txname, $db, $row, $concat_entries, $lock, $share, $skip_locked, $read_only_check);
        crate::orders::orders_sql!($name, $txname, $db, $row, $concat_entries, $lock, $share, $skip_locked, $read_only_check);
        crate::revocation::revocation_sql!($name, $txname, $db, $row, $concat_entries, $lock, $share, $skip_locked, $read_only_check);
        crate::audit::audit_sql!($name, $txname, $db, $row, $concat_entries, $lock, $share, $skip_locked, $read_only_check);
        crate::support::support_sql!($name, $txname, $db, $row, $concat_entries, $lock, $share, $skip_locked, $read_only_check);
        crate::signing::signing_sql!($name, $txname, $db, $row, $concat_entries, $lock, $share, $skip_locked, $read_only_check);
        crate::outbox::outbox_sql!($name, $txname, $db, $row, $concat_entries, $lock, $share, $skip_locked, $read_only_check);
        crate::discovery::discovery_sql!($name, $txname, $db, $row, $concat_entries, $lock, $share, $skip_locked, $read_only_check);
        crate::operations::operations_sql!($name, $txname, $db, $row, $concat_entries, $lock, $share, $skip_locked, $read_only_check);
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

/// How long a unit of work waits for its turn to write on SQLite (its busy timeout too).
const WRITE_TURN_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

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
            .busy_timeout(WRITE_TURN_WAIT)
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
