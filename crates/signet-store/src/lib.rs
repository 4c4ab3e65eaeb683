//! Signet's storage: a [`Store`] that reads, and units of work ([`Tx`]) that change state. Every
//! change goes through a `Tx`, which commits its rows, its audit records (chained under the
//! domain's rule, inside the same transaction) and the mail it sends, all or nothing. SQLite (the
//! embedded default) and PostgreSQL (several nodes) implement both with the same SQL, each with
//! its own migrations.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod backends;
mod error;
pub mod model;

use std::ops::ControlFlow;
use std::sync::Arc;

use async_trait::async_trait;
use signet_domain::serial::Serial;
use time::OffsetDateTime;

pub use backends::{PostgresStore, SqliteStore};
pub use error::StoreError;
pub use model::*;

/// What Signet is about to sign, recorded before the signature exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuanceIntent {
    /// The serial drawn for it (R-CRT-4): unique across every certificate Signet signs, CA
    /// certificates included.
    pub serial: Serial,
    /// Name of the issuing CA.
    pub issuer: String,
    /// Profile name, or `ca:<name>` for a CA certificate.
    pub profile: String,
    /// The subject DN as text, for people reading the store.
    pub subject: String,
    /// notBefore, as in the TBS.
    pub not_before: OffsetDateTime,
    /// notAfter (inclusive), as in the TBS.
    pub not_after: OffsetDateTime,
    /// The to-be-signed certificate: with the issuer key, it is all a signed certificate adds.
    pub tbs_der: Vec<u8>,
    /// When the intent was recorded, before anything was signed.
    pub created_at: OffsetDateTime,
    /// The CRL shard named in the certificate's CDP.
    pub crl_shard: u32,
    /// Why it exists: `order:NUMBER`, `operator` or `ca`.
    pub origin: String,
}

/// Where a certificate stands in the issuance cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuanceState {
    /// Recorded, not (known to be) signed.
    Intent,
    /// Signed and recorded with its DER; the certificate exists.
    Issued,
    /// Nothing was delivered under this serial. When it may have been signed (its process
    /// died, or recording the result failed) it is also listed as revoked.
    Abandoned,
}

/// A certificate row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRecord {
    /// What was recorded before signing.
    pub intent: IssuanceIntent,
    /// Where it stands in the issuance cycle.
    pub state: IssuanceState,
    /// The signed certificate; present once issued, never for an intent or an abandoned serial.
    pub der: Option<Vec<u8>>,
    /// Why an intent was abandoned (reconciliation, a failed pickup), for operators.
    pub note: Option<String>,
    /// When it was revoked (or, for an abandoned serial that may have been signed, listed as
    /// revoked).
    pub revoked_at: Option<OffsetDateTime>,
    /// RFC 5280 reason, snake_case.
    pub revocation_reason: Option<String>,
}

/// Row counts, for operators and for tests that assert nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Certificates recorded as intents and not (yet) completed or abandoned.
    pub intents: u64,
    /// Certificates signed and recorded.
    pub issued: u64,
    /// Intents closed without a delivered certificate.
    pub abandoned: u64,
}

/// Reads, and the writes that are not state changes of the workflow (derived data: pre-signed
/// OCSP responses and CRLs, the mail queue's delivery bookkeeping, rate-limit counters,
/// readiness probes). State changes go through [`Store::begin`].
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Starts a unit of work. Nothing it does is visible to others, or stays, until
    /// [`Tx::commit`]; dropping it undoes everything.
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError>;

    /// The certificate row for a serial, in any state.
    async fn certificate(&self, serial: &Serial) -> Result<Option<CertificateRecord>, StoreError>;
    /// Intents never completed nor abandoned: issuance in progress, or interrupted.
    async fn unfinished_intents(&self) -> Result<Vec<IssuanceIntent>, StoreError>;
    /// How many certificates are in each issuance state.
    async fn counts(&self) -> Result<Counts, StoreError>;
    /// Issued subscriber certificates that no order names and that no operator issued: none
    /// should exist; reconciliation reports and revokes any it finds.
    async fn unlinked_certificates(&self) -> Result<Vec<CertificateRecord>, StoreError>;

    // Accounts and sessions.
    /// The account with this id.
    async fn account(&self, id: i64) -> Result<Option<Account>, StoreError>;
    /// The account for an address, its case ignored (an exact match first, should an old
    /// database still hold addresses that differ only in case).
    async fn account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError>;
    /// Addresses (lower case) held by more than one account: left from before addresses were
    /// compared without case; an operator merges or closes them.
    async fn accounts_sharing_an_address(&self) -> Result<Vec<String>, StoreError>;
    /// The account of a live session.
    async fn session_account(
        &self,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<i64>, StoreError>;
    /// How many live sessions an account has.
    async fn live_sessions(&self, account: i64, now: OffsetDateTime) -> Result<u64, StoreError>;
    /// The token if it is unused and unexpired, without using it.
    async fn live_token(
        &self,
        hash: &str,
        purpose: &str,
        now: OffsetDateTime,
    ) -> Result<Option<TokenRecord>, StoreError>;

    // Orders.
    /// The order with this number (normalized, `XXXXX-XXXXX`).
    async fn order(&self, order_number: &str) -> Result<Option<OrderRecord>, StoreError>;
    /// Orders placed by an account, newest first.
    async fn orders_placed_by(&self, account: i64) -> Result<Vec<OrderRecord>, StoreError>;
    /// Orders for a country (an agent's region), newest first.
    async fn orders_in_country(&self, country: &str) -> Result<Vec<OrderRecord>, StoreError>;
    /// Orders in a status, oldest first (the vetting queue).
    async fn orders_with_status(&self, status: &str) -> Result<Vec<OrderRecord>, StoreError>;
    /// Orders whose pickup claim lapsed before `now` (its process died or hung).
    async fn lapsed_pickup_claims(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<OrderRecord>, StoreError>;
    /// The documents attached to an order, in upload order (copied ones included).
    async fn documents(&self, order_number: &str) -> Result<Vec<DocumentRecord>, StoreError>;
    /// A document's content, by the lower-case hex SHA-256 it was stored under (R-ORD-5).
    async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// An order's history, oldest first.
    async fn order_events(&self, order_number: &str) -> Result<Vec<OrderEventRecord>, StoreError>;
    /// The order a certificate was picked up for.
    async fn order_for_certificate(&self, serial: &str) -> Result<Option<OrderRecord>, StoreError>;

    // Audit log.
    /// The newest record of the audit log, if any.
    async fn last_audit_entry(&self) -> Result<Option<AuditEntry>, StoreError>;
    /// The whole audit log in sequence order, for `signet audit verify`.
    async fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError>;
    /// The newest records whose action starts with `prefix` exactly (case and all; no pattern
    /// characters), at most `limit`.
    async fn recent_audit(&self, prefix: &str, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;

    // Certificate lifecycle.
    /// Issued, unrevoked certificates whose notAfter falls in [from, to).
    async fn certificates_expiring(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<CertificateRecord>, StoreError>;

    // CRLs.
    /// Allocates a shard's next CRL number and reads what it must list, in one transaction
    /// that holds the shard's number row: a CRL numbered higher never lists less. `each` gets
    /// the stored entries concatenated in chunks and may stop early.
    async fn crl_snapshot(
        &self,
        issuer: &str,
        shard: u32,
        each: &mut (dyn for<'b> FnMut(CrlChunk<'b>) -> ControlFlow<()> + Send),
    ) -> Result<CrlSnapshot, StoreError>;
    /// Stores a signed CRL (numbers may arrive out of order; the highest is served).
    async fn store_crl(&self, crl: &CrlRecord) -> Result<(), StoreError>;
    /// The newest CRL of a shard.
    async fn latest_crl(&self, issuer: &str, shard: u32) -> Result<Option<CrlRecord>, StoreError>;
    /// Shards (issuer, shard) with a revocation that their newest CRL does not cover.
    async fn shards_behind_revocations(&self) -> Result<Vec<(String, u32)>, StoreError>;
    /// Every revoked certificate an issuer signed.
    async fn revoked_certificates(&self, issuer: &str) -> Result<Vec<RevokedRecord>, StoreError>;
    /// Every account that is not a subscriber, by e-mail address.
    async fn staff_accounts(&self) -> Result<Vec<Account>, StoreError>;

    // Support, alerts, relying services, dashboard figures.
    /// Unanswered requests first (oldest first), then answered ones (newest first), at most
    /// `limit`.
    async fn support_requests(&self, limit: u32) -> Result<Vec<SupportRequestRecord>, StoreError>;
    /// One support request by id.
    async fn support_request(&self, id: i64) -> Result<Option<SupportRequestRecord>, StoreError>;
    /// The newest alerts first, at most `limit`.
    async fn alerts(&self, limit: u32) -> Result<Vec<AlertRecord>, StoreError>;
    /// Every relying service, by name.
    async fn relying_services(&self) -> Result<Vec<RelyingServiceRecord>, StoreError>;
    /// How many orders are in each status.
    async fn order_status_counts(&self) -> Result<Vec<(String, u64)>, StoreError>;
    /// When each subscriber certificate issued since `since` became valid (its notBefore).
    async fn issuance_times_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<OffsetDateTime>, StoreError>;
    /// A number that grows with every revocation (any node, any process).
    async fn revocation_epoch(&self) -> Result<i64, StoreError>;

    // OCSP (derived data).
    /// Stores (or replaces) many responses in one transaction. A response signed before the
    /// certificate's latest revocation is dropped rather than stored: it would say "good".
    async fn store_ocsp_responses(&self, responses: &[OcspRecord]) -> Result<(), StoreError>;
    /// The pre-signed OCSP response for a serial (upper-case hex), if one is stored.
    async fn ocsp_response(&self, serial: &str) -> Result<Option<OcspRecord>, StoreError>;
    /// Unexpired subscriber certificates whose response is missing or was signed before
    /// `stale_before`, in serial order after `after`, at most `limit`.
    async fn certificates_needing_ocsp(
        &self,
        stale_before: OffsetDateTime,
        now: OffsetDateTime,
        after: &str,
        limit: u32,
    ) -> Result<Vec<StatusRecord>, StoreError>;

    // The mail outbox (delivery bookkeeping; messages are queued by a Tx).
    /// Claims up to `limit` due messages for `lease` so that no other worker or node sends them
    /// meanwhile.
    async fn claim_mail(
        &self,
        now: OffsetDateTime,
        lease: time::Duration,
        limit: u32,
    ) -> Result<Vec<MailRecord>, StoreError>;
    /// Records a delivery: the message is `sent` and its claim released.
    async fn mail_sent(&self, id: i64, at: OffsetDateTime) -> Result<(), StoreError>;
    /// Records a failed attempt: tried again at `retry_at`, or dead (given up) when `None`.
    async fn mail_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError>;
    /// Makes dead or waiting messages due now (an administrator's "retry now"); how many.
    async fn retry_mail_now(&self, id: Option<i64>, now: OffsetDateTime)
    -> Result<u64, StoreError>;
    /// The newest messages (without bodies' attachments), at most `limit`.
    async fn recent_mail(&self, limit: u32) -> Result<Vec<MailRecord>, StoreError>;
    /// Messages per state.
    async fn mail_state_counts(&self) -> Result<Vec<(String, u64)>, StoreError>;

    // Rate limits and readiness.
    /// Counts one hit on `key` in a fixed window of `window` and returns the hits in the current
    /// window, this one included (atomic: concurrent hits all count).
    async fn hit(
        &self,
        key: &str,
        window: time::Duration,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;
    /// Takes one hit back from `key`'s current window (an attempt that turned out fine).
    async fn forgive(
        &self,
        key: &str,
        window: time::Duration,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The hits on `key` in its current window, without counting one.
    async fn hits(
        &self,
        key: &str,
        window: time::Duration,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;
    /// Writes a consistent copy of the whole database to `to` while it keeps serving: SQLite's
    /// online backup (`VACUUM INTO`, a database file) or PostgreSQL's `pg_dump` (a SQL script).
    async fn dump(&self, to: &std::path::Path) -> Result<DumpKind, StoreError>;
    /// Writes a row and reads it back: the store accepts writes.
    async fn probe(&self, node: &str, now: OffsetDateTime) -> Result<(), StoreError>;
}

/// One unit of work: state changes that commit together with their audit records and mail, or
/// not at all. Each change that depends on the current state is a compare-and-set and fails
/// with [`StoreError::Conflict`] when someone else changed it first.
#[async_trait]
pub trait Tx: Send {
    // Issuance.
    /// Records the plan to sign; fails with [`StoreError::SerialTaken`] if the serial was used.
    async fn record_issuance_intent(&mut self, intent: &IssuanceIntent) -> Result<(), StoreError>;
    /// Completes an open intent with the signed certificate.
    async fn complete_issuance(
        &mut self,
        serial: &Serial,
        der: &[u8],
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Closes an open intent whose certificate was not delivered. With `revocation` (reason,
    /// DER CRL entry) the serial is also listed as revoked, because it may have been signed.
    async fn abandon_intent(
        &mut self,
        serial: &Serial,
        note: &str,
        at: OffsetDateTime,
        revocation: Option<(&str, &[u8])>,
    ) -> Result<(), StoreError>;
    /// Revokes an issued certificate once, keeping its DER-encoded CRL entry and dropping its
    /// pre-signed OCSP response; [`StoreError::Conflict`] if it is not issued or already revoked.
    async fn revoke_certificate(
        &mut self,
        serial: &Serial,
        reason: &str,
        at: OffsetDateTime,
        crl_entry: &[u8],
    ) -> Result<(), StoreError>;

    // Accounts and sessions.
    /// Fails with [`StoreError::Duplicate`] when the e-mail address has an account.
    async fn create_account(&mut self, account: &NewAccount) -> Result<i64, StoreError>;
    /// Marks the account's address confirmed; [`StoreError::Conflict`] if there is no such
    /// account.
    async fn confirm_account_email(&mut self, id: i64) -> Result<(), StoreError>;
    /// Sets the password and lifts any lock and failure count.
    async fn set_password(&mut self, id: i64, password_hash: &str) -> Result<(), StoreError>;
    /// Counts one log-in attempt that has not succeeded (yet): the failures so far, this one
    /// included, and any lock. Concurrent attempts all count.
    async fn count_login_attempt(
        &mut self,
        id: i64,
        at: OffsetDateTime,
    ) -> Result<LoginAttempt, StoreError>;
    /// Locks log-ins until `until`, counts the lock and clears the failure count.
    async fn lock_account(&mut self, id: i64, until: OffsetDateTime) -> Result<(), StoreError>;
    /// A successful log-in: failures and lock history cleared.
    async fn clear_login_failures(&mut self, id: i64) -> Result<(), StoreError>;
    /// Lifts a lock (staff unlock) and clears the failures.
    async fn unlock_account(&mut self, id: i64) -> Result<(), StoreError>;
    /// Stores a session by the SHA-256 of its token (the token itself is never stored), valid
    /// until `expires_at`.
    async fn create_session(
        &mut self,
        hash: &str,
        account: i64,
        expires_at: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Ends one session (log-out); ending one that does not exist is not an error.
    async fn end_session(&mut self, hash: &str) -> Result<(), StoreError>;
    /// Ends every session of an account; returns how many.
    async fn end_sessions_of(&mut self, account: i64) -> Result<u64, StoreError>;

    // Mailed single-use tokens, stored by hash.
    /// Stores a mailed single-use token by its hash (the token itself only goes into the mail).
    async fn create_token(
        &mut self,
        hash: &str,
        token: &TokenRecord,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Uses the token: exactly one caller gets it, once.
    async fn use_token(
        &mut self,
        hash: &str,
        purpose: &str,
        now: OffsetDateTime,
    ) -> Result<Option<TokenRecord>, StoreError>;
    /// Spends every live token of a purpose for an order or an account (a fresh link replaces
    /// them); returns how many.
    async fn retire_tokens(
        &mut self,
        purpose: &str,
        order_number: Option<&str>,
        account: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;

    // Orders.
    /// Stores a new order with its locked details (R-ORD-1); [`StoreError::Duplicate`] if the
    /// number is taken (draw another).
    async fn create_order(&mut self, order: &OrderRecord) -> Result<(), StoreError>;
    /// Moves an order from `from` to `to` if it is still in `from` and no pickup holds it.
    async fn transition_order(
        &mut self,
        order_number: &str,
        from: &str,
        to: &str,
        ready_since: Option<OffsetDateTime>,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Claims a ready order for one pickup: the serial being issued, the link spent, until when.
    /// Fails with [`StoreError::Conflict`] unless the order is ready and unclaimed. A lapsed
    /// claim refuses too: its serial may have been signed, so reconciliation releases it (and
    /// revokes that serial) before the order can be claimed again. Resets the wrong-password
    /// count.
    async fn claim_pickup(
        &mut self,
        order_number: &str,
        serial: &str,
        token_hash: &str,
        until: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The claimed pickup succeeded: the order is issued with this serial.
    async fn complete_pickup(
        &mut self,
        order_number: &str,
        serial: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Gives up a claim (still held by `serial`) and makes its link usable again.
    async fn release_pickup(
        &mut self,
        order_number: &str,
        serial: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Marks the order's approval e-mail confirmed (R-ORD-2); [`StoreError::Conflict`] if there is
    /// no such order.
    async fn confirm_approval_email(
        &mut self,
        order_number: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Records the agent who attested the in-person check, once: a compare-and-set on "not yet
    /// attested", so of two agents attesting at the same instant one gets
    /// [`StoreError::Conflict`].
    async fn record_attestation(
        &mut self,
        order_number: &str,
        agent: i64,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Holds the order's row until this unit of work ends (concurrent pickup attempts on it
    /// wait) and returns its count of wrong pickup passwords.
    async fn hold_for_pickup(&mut self, order_number: &str) -> Result<u32, StoreError>;
    /// Counts one pickup attempt that failed; returns the count so far.
    async fn count_pickup_attempt(&mut self, order_number: &str) -> Result<u32, StoreError>;
    /// Sets the wrong-pickup-password count back to 0: support unlocks a locked pickup (R-KEY-4).
    async fn reset_pickup_failures(&mut self, order_number: &str) -> Result<(), StoreError>;
    /// Stores the content once per SHA-256 and attaches it to the order.
    async fn attach_document(
        &mut self,
        doc: &DocumentRecord,
        content: &[u8],
    ) -> Result<i64, StoreError>;
    /// Attaches the documents of one order to another (evidence carried over); how many.
    async fn copy_documents(&mut self, from: &str, to: &str) -> Result<u64, StoreError>;
    /// Adds a line to an order's history.
    async fn add_order_event(
        &mut self,
        order_number: &str,
        event: &OrderEventRecord,
    ) -> Result<(), StoreError>;
    /// Records that a reminder was sent; false if it had been sent before.
    async fn record_reminder(
        &mut self,
        serial: &str,
        kind: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    // Second factor.
    /// Removes an account's TOTP secret: its next log-in sets up a new one.
    async fn clear_totp(&mut self, id: i64) -> Result<(), StoreError>;
    /// Stores a new (sealed) TOTP secret; the second factor is off until a code verifies.
    async fn set_totp_secret(&mut self, id: i64, sealed: &[u8]) -> Result<(), StoreError>;
    /// Accepts a TOTP time step once: true (and the second factor enabled) only if the step is
    /// later than every step accepted before, so a code cannot be replayed.
    async fn accept_totp_step(&mut self, id: i64, step: i64) -> Result<bool, StoreError>;

    // Support, alerts, relying services.
    /// Stores a support request (its `id` is ignored) and returns its id.
    async fn create_support_request(&mut self, r: &SupportRequestRecord)
    -> Result<i64, StoreError>;
    /// Records a reply and marks the request answered.
    async fn add_support_reply(
        &mut self,
        request_id: i64,
        answered_by: i64,
        message: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Stores an alert (its `id` is ignored) and returns its id.
    async fn create_alert(&mut self, alert: &AlertRecord) -> Result<i64, StoreError>;
    /// Sets an alert's end (ends it now, or moves the end).
    async fn end_alert(&mut self, id: i64, at: OffsetDateTime) -> Result<(), StoreError>;
    /// Stores a relying service (its `id` is ignored) and returns its id.
    async fn create_relying_service(&mut self, s: &RelyingServiceRecord)
    -> Result<i64, StoreError>;

    // Mail and audit.
    /// Queues a message; the outbox worker delivers it once this unit of work commits.
    async fn enqueue_mail(&mut self, mail: &NewMail) -> Result<(), StoreError>;
    /// Adds an audit record; at commit it is chained after the log's last record.
    fn audit(&mut self, record: AuditRecord);
    /// How many audit records and mails this unit of work holds so far.
    fn pending(&self) -> (usize, usize);
    /// Undoes everything (dropping a unit of work does too, at the cost of its connection).
    async fn rollback(self: Box<Self>) -> Result<(), StoreError>;
    /// Commits everything, the audit records chained in order. Refuses (and undoes) a unit of
    /// work without an audit record: no state change goes unrecorded.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// What a database dump is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DumpKind {
    /// A SQLite database file.
    Sqlite,
    /// A `pg_dump` SQL script.
    Postgresql,
}

/// Loads a PostgreSQL dump into the empty database `url` names (`psql`, one transaction).
pub async fn restore_postgres(url: &str, script: &std::path::Path) -> Result<(), StoreError> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    if tables > 0 {
        return Err(StoreError::NotEmpty(redact(url)));
    }
    let (target, password) = libpq_target(url);
    let out = tokio::process::Command::new("psql")
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "--single-transaction",
            "-f",
        ])
        .arg(script)
        .arg(&target)
        .envs(password.map(|p| ("PGPASSWORD", p)))
        .output()
        .await
        .map_err(|e| StoreError::Tool(format!("psql: {e} (install the PostgreSQL client)")))?;
    if !out.status.success() {
        return Err(StoreError::Tool(format!(
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Opens the store a URL names: `postgres://…` or `sqlite://PATH`; migrations run on open.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else {
        Err(StoreError::BadUrl(redact(url)))
    }
}

/// A URL with any password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// How to hand a PostgreSQL URL to `psql` or `pg_dump` without its password in their
/// arguments (which every local user can read in the process list): the URL without the
/// password, and the password (percent-decoded) for `PGPASSWORD`.
pub(crate) fn libpq_target(url: &str) -> (String, Option<String>) {
    let (Some(scheme_end), Some(at)) = (url.find("://"), url.rfind('@')) else {
        return (url.to_owned(), None);
    };
    if at < scheme_end {
        return (url.to_owned(), None);
    }
    let userinfo = &url[scheme_end + 3..at];
    let Some((user, password)) = userinfo.split_once(':') else {
        return (url.to_owned(), None);
    };
    let mut decoded = Vec::with_capacity(password.len());
    let bytes = password.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                decoded.push(b);
                i += 3;
            }
            (b, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    (
        format!("{}{user}{}", &url[..scheme_end + 3], &url[at..]),
        Some(String::from_utf8_lossy(&decoded).into_owned()),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_leave_the_url_for_the_environment() {
        assert_eq!(
            super::libpq_target("postgres://u:s%40cret@h:5432/db"),
            (
                "postgres://u@h:5432/db".to_owned(),
                Some("s@cret".to_owned())
            )
        );
        assert_eq!(
            super::libpq_target("postgres://u@h/db"),
            ("postgres://u@h/db".to_owned(), None)
        );
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact("sqlite://x.db"), "sqlite://x.db");
    }
}
