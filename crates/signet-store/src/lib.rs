//! Signet's storage: one [`Store`] trait with intent-named methods; SQLite (the embedded
//! default) and PostgreSQL (for several nodes) implement it with the same SQL, each with its
//! own migrations.
#![forbid(unsafe_code)]

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
    pub serial: Serial,
    /// Name of the issuing CA.
    pub issuer: String,
    /// Profile name, or `ca:<name>` for a CA certificate.
    pub profile: String,
    /// The subject DN as text, for people reading the store.
    pub subject: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// The to-be-signed certificate: with the issuer key, it is all a signed certificate adds.
    pub tbs_der: Vec<u8>,
    pub created_at: OffsetDateTime,
    /// The CRL shard named in the certificate's CDP.
    pub crl_shard: u32,
}

/// Where a certificate stands in the issuance cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuanceState {
    /// Recorded, not (known to be) signed.
    Intent,
    Issued,
    /// Signing failed; nothing was issued under this serial.
    Abandoned,
}

/// A certificate row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRecord {
    pub intent: IssuanceIntent,
    pub state: IssuanceState,
    pub der: Option<Vec<u8>>,
    pub note: Option<String>,
    pub revoked_at: Option<OffsetDateTime>,
    /// RFC 5280 reason, snake_case.
    pub revocation_reason: Option<String>,
}

/// Row counts, for operators and for tests that assert nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub intents: u64,
    pub issued: u64,
    pub abandoned: u64,
}

/// Everything Signet keeps. Methods say what happened, not which rows change.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Records the plan to sign; fails with [`StoreError::SerialTaken`] if the serial was used.
    async fn record_issuance_intent(&self, intent: &IssuanceIntent) -> Result<(), StoreError>;
    /// Completes an intent with the signed certificate.
    async fn record_issued(
        &self,
        serial: &Serial,
        der: &[u8],
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Marks an intent whose signing failed, with the reason.
    async fn abandon_intent(
        &self,
        serial: &Serial,
        reason: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    async fn certificate(&self, serial: &Serial) -> Result<Option<CertificateRecord>, StoreError>;
    /// Intents never completed nor abandoned: a crash between recording and signing.
    async fn unfinished_intents(&self) -> Result<Vec<IssuanceIntent>, StoreError>;
    async fn counts(&self) -> Result<Counts, StoreError>;

    // Accounts and sessions.
    /// Fails with [`StoreError::Duplicate`] when the e-mail address has an account.
    async fn create_account(&self, account: &NewAccount) -> Result<i64, StoreError>;
    async fn account(&self, id: i64) -> Result<Option<Account>, StoreError>;
    async fn account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError>;
    async fn confirm_account_email(&self, id: i64) -> Result<(), StoreError>;
    async fn set_password(&self, id: i64, password_hash: &str) -> Result<(), StoreError>;
    async fn record_login_failure(&self, id: i64, at: OffsetDateTime) -> Result<(), StoreError>;
    async fn clear_login_failures(&self, id: i64) -> Result<(), StoreError>;
    async fn create_session(
        &self,
        hash: &str,
        account: i64,
        expires_at: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The account of a live session.
    async fn session_account(
        &self,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<i64>, StoreError>;
    async fn end_session(&self, hash: &str) -> Result<(), StoreError>;

    // Mailed single-use tokens, stored by hash.
    async fn create_token(
        &self,
        hash: &str,
        token: &TokenRecord,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The token if it is unused and unexpired, without using it.
    async fn live_token(
        &self,
        hash: &str,
        purpose: &str,
        now: OffsetDateTime,
    ) -> Result<Option<TokenRecord>, StoreError>;
    /// Uses the token: exactly one caller gets it, once.
    async fn use_token(
        &self,
        hash: &str,
        purpose: &str,
        now: OffsetDateTime,
    ) -> Result<Option<TokenRecord>, StoreError>;
    /// Makes a used token usable again (the work it guarded failed before completing).
    async fn restore_token(&self, hash: &str) -> Result<(), StoreError>;

    // Orders.
    async fn create_order(&self, order: &OrderRecord) -> Result<(), StoreError>;
    async fn order(&self, order_number: &str) -> Result<Option<OrderRecord>, StoreError>;
    /// Orders placed by an account, newest first.
    async fn orders_placed_by(&self, account: i64) -> Result<Vec<OrderRecord>, StoreError>;
    /// Orders for a country (an agent's region), newest first.
    async fn orders_in_country(&self, country: &str) -> Result<Vec<OrderRecord>, StoreError>;
    /// Orders in a status, oldest first (the vetting queue).
    async fn orders_with_status(&self, status: &str) -> Result<Vec<OrderRecord>, StoreError>;
    /// Moves an order from `from` to `to` if it is still in `from`; fails with
    /// [`StoreError::Conflict`] if someone else moved it first.
    async fn transition_order(
        &self,
        order_number: &str,
        from: &str,
        to: &str,
        ready_since: Option<OffsetDateTime>,
        certificate_serial: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    async fn confirm_approval_email(
        &self,
        order_number: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    async fn record_attestation(
        &self,
        order_number: &str,
        agent: i64,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Counts a wrong pickup password; returns the new count.
    async fn record_pickup_failure(&self, order_number: &str) -> Result<u32, StoreError>;
    async fn reset_pickup_failures(&self, order_number: &str) -> Result<(), StoreError>;

    // Documents and history.
    /// Stores the content once per SHA-256 and attaches it to the order.
    async fn attach_document(
        &self,
        doc: &DocumentRecord,
        content: &[u8],
    ) -> Result<i64, StoreError>;
    async fn documents(&self, order_number: &str) -> Result<Vec<DocumentRecord>, StoreError>;
    async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn add_order_event(
        &self,
        order_number: &str,
        event: &OrderEventRecord,
    ) -> Result<(), StoreError>;
    async fn order_events(&self, order_number: &str) -> Result<Vec<OrderEventRecord>, StoreError>;

    // Audit log.
    async fn last_audit_entry(&self) -> Result<Option<AuditEntry>, StoreError>;
    /// Appends; fails with [`StoreError::Conflict`] if `seq` is taken (a concurrent append won).
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    async fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError>;

    // Certificate lifecycle.
    /// Revokes an issued certificate once, keeping its DER-encoded CRL entry;
    /// [`StoreError::Conflict`] if it is not issued or already revoked.
    async fn revoke_certificate(
        &self,
        serial: &Serial,
        reason: &str,
        at: OffsetDateTime,
        crl_entry: &[u8],
    ) -> Result<(), StoreError>;
    /// The order a certificate was picked up for.
    async fn order_for_certificate(&self, serial: &str) -> Result<Option<OrderRecord>, StoreError>;
    /// Issued, unrevoked certificates whose notAfter falls in [from, to).
    async fn certificates_expiring(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<CertificateRecord>, StoreError>;
    /// Records that a reminder was sent; false if it had been sent before.
    async fn record_reminder(
        &self,
        serial: &str,
        kind: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Attaches the documents of one order to another (evidence carried over on reorder/renewal).
    async fn copy_documents(&self, from: &str, to: &str) -> Result<u64, StoreError>;

    // CRLs.
    /// The next CRL number of a shard (1, 2, …), atomically: concurrent callers never get the same.
    async fn next_crl_number(&self, issuer: &str, shard: u32) -> Result<u64, StoreError>;
    async fn store_crl(&self, crl: &CrlRecord) -> Result<(), StoreError>;
    /// The newest CRL of a shard.
    async fn latest_crl(&self, issuer: &str, shard: u32) -> Result<Option<CrlRecord>, StoreError>;
    /// Every revoked certificate an issuer signed.
    async fn revoked_certificates(&self, issuer: &str) -> Result<Vec<RevokedRecord>, StoreError>;
    /// Passes the stored CRL entries of one shard to `each`, concatenated in chunks of
    /// thousands; `each` may stop early. Returns how many entries were passed.
    async fn for_each_crl_entry_chunk(
        &self,
        issuer: &str,
        shard: u32,
        each: &mut (dyn for<'b> FnMut(&'b [u8]) -> ControlFlow<()> + Send),
    ) -> Result<u64, StoreError>;
    /// Streams the revoked certificates of one CRL shard that have no stored CRL entry (revoked
    /// before entries were stored) into `each`; `each` may stop early. Returns how many rows
    /// were passed.
    async fn for_each_revoked_in_shard(
        &self,
        issuer: &str,
        shard: u32,
        each: &mut (dyn FnMut(RevokedRecord) -> ControlFlow<()> + Send),
    ) -> Result<u64, StoreError>;
    /// Every account that is not a subscriber, by e-mail address.
    async fn staff_accounts(&self) -> Result<Vec<Account>, StoreError>;
    /// Removes an account's TOTP secret: its next log-in sets up a new one.
    async fn clear_totp(&self, id: i64) -> Result<(), StoreError>;
    /// Stores a new (sealed) TOTP secret; the second factor is off until a code verifies.
    async fn set_totp_secret(&self, id: i64, sealed: &[u8]) -> Result<(), StoreError>;
    /// Accepts a TOTP time step once: true (and the second factor enabled) only if the step is
    /// later than every step accepted before, so a code cannot be replayed.
    async fn accept_totp_step(&self, id: i64, step: i64) -> Result<bool, StoreError>;
    // Support.
    /// Stores a support request (its `id` is ignored) and returns its id.
    async fn create_support_request(&self, r: &SupportRequestRecord) -> Result<i64, StoreError>;
    /// Unanswered requests first (oldest first), then answered ones (newest first), at most `limit`.
    async fn support_requests(&self, limit: u32) -> Result<Vec<SupportRequestRecord>, StoreError>;
    async fn support_request(&self, id: i64) -> Result<Option<SupportRequestRecord>, StoreError>;
    /// Records a reply and marks the request answered.
    async fn add_support_reply(
        &self,
        request_id: i64,
        answered_by: i64,
        message: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    // Alerts, relying services, dashboard figures.
    /// Stores an alert (its `id` is ignored) and returns its id.
    async fn create_alert(&self, alert: &AlertRecord) -> Result<i64, StoreError>;
    /// Sets an alert's end (ends it now, or moves the end).
    async fn end_alert(&self, id: i64, at: OffsetDateTime) -> Result<(), StoreError>;
    /// The newest alerts first, at most `limit`.
    async fn alerts(&self, limit: u32) -> Result<Vec<AlertRecord>, StoreError>;
    /// Stores a relying service (its `id` is ignored) and returns its id.
    async fn create_relying_service(&self, s: &RelyingServiceRecord) -> Result<i64, StoreError>;
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

    // OCSP.
    /// Stores (or replaces) the pre-signed response for a certificate.
    async fn store_ocsp_response(&self, response: &OcspRecord) -> Result<(), StoreError>;
    /// Stores (or replaces) many responses in one transaction (the refresh job's batches).
    async fn store_ocsp_responses(&self, responses: &[OcspRecord]) -> Result<(), StoreError>;
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

#[cfg(test)]
mod tests {
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
