//! Rows of the workflow tables, as the application reads and writes them.

use time::OffsetDateTime;

/// An account to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub email: String,
    pub name: String,
    pub role: String,
    pub region: Option<String>,
    pub password_hash: Option<String>,
    pub email_confirmed: bool,
    pub created_at: OffsetDateTime,
}

/// A stored account. The password hash is an Argon2id PHC string; `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub region: Option<String>,
    pub password_hash: Option<String>,
    pub email_confirmed: bool,
    pub failed_logins: u32,
    pub last_failed_login: Option<OffsetDateTime>,
    /// The TOTP secret, sealed by the application (never in clear here).
    pub totp_secret: Option<Vec<u8>>,
    /// A first code verified: the second factor is in force.
    pub totp_enabled: bool,
    /// The last accepted TOTP time step (codes are single-use).
    pub totp_last_step: Option<i64>,
    /// Log-ins are refused until then.
    pub locked_until: Option<OffsetDateTime>,
    /// How often the account was locked since its last successful log-in (locks grow).
    pub lock_count: u32,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// A log-in attempt as counted: the failures so far and the account's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginAttempt {
    pub failures: u32,
    pub locked_until: Option<OffsetDateTime>,
    pub lock_count: u32,
}

/// A mailed token (stored by its hash only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub purpose: String,
    pub account_id: Option<i64>,
    pub order_number: Option<String>,
    pub expires_at: OffsetDateTime,
}

/// An order with its locked details. The pickup password is an Argon2id hash; `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct OrderRecord {
    pub order_number: String,
    pub product: String,
    /// The identity as JSON (the locked subject details).
    pub identity_json: String,
    pub approval_email: String,
    pub approval_confirmed: bool,
    pub pickup_password_hash: String,
    pub validity_months: u32,
    pub key_type: String,
    pub channel: String,
    pub country: String,
    pub placed_by: i64,
    pub attested_by: Option<i64>,
    pub status: String,
    pub ready_since: Option<OffsetDateTime>,
    pub pickup_failures: u32,
    pub certificate_serial: Option<String>,
    pub previous_order: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// `new`, `reissue`, `renewal` or `reorder`.
    pub order_kind: String,
    /// A reissue keeps the end date of the certificate it replaces.
    pub fixed_not_after: Option<OffsetDateTime>,
    /// A pickup in progress: the serial being issued…
    pub claimed_serial: Option<String>,
    /// …until when, if its process died.
    pub claim_expires_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for OrderRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderRecord")
            .field("order_number", &self.order_number)
            .field("product", &self.product)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// A document attached to an order; its content is stored once per SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRecord {
    pub id: i64,
    pub order_number: String,
    pub kind: String,
    pub sha256: String,
    pub media_type: String,
    pub size: u64,
    pub uploaded_by: i64,
    pub created_at: OffsetDateTime,
}

/// One line of an order's history: a status change, a message, an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEventRecord {
    pub actor: Option<i64>,
    pub kind: String,
    pub message: Option<String>,
    pub created_at: OffsetDateTime,
}

/// One audit record; `hash` commits to `prev_hash` and every other field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// The record as the domain hashes it, and the hash stored with it: what
    /// `signet_domain::audit::verify` takes.
    pub fn as_chained(&self) -> (signet_domain::audit::Record<'_>, &str) {
        (
            signet_domain::audit::Record {
                seq: self.seq,
                at: self.at.unix_timestamp(),
                actor: &self.actor,
                action: &self.action,
                subject: &self.subject,
                detail: &self.detail,
                prev_hash: &self.prev_hash,
            },
            &self.hash,
        )
    }
}

/// An audit record before it is chained (the store numbers and hashes it at commit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub subject: String,
    /// JSON text.
    pub detail: String,
}

/// One signed CRL of a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlRecord {
    pub issuer: String,
    pub shard: u32,
    pub number: u64,
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
    pub der: Vec<u8>,
    /// The revocation epoch its snapshot was taken at: it lists every revocation up to it.
    pub covers_epoch: i64,
}

/// What a CRL snapshot passes along: stored DER entries (concatenated), or a revoked
/// certificate from before entries were stored, to encode.
#[derive(Debug)]
pub enum CrlChunk<'a> {
    Encoded(&'a [u8]),
    Unencoded(RevokedRecord),
}

/// A CRL number allocated together with the snapshot of what the CRL lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrlSnapshot {
    pub number: u64,
    pub covers_epoch: i64,
    pub entries: u64,
}

/// A message to queue.
#[derive(Clone, PartialEq, Eq)]
pub struct NewMail {
    pub to: String,
    pub subject: String,
    /// Bodies carry single-use links: `Debug` hides them.
    pub body: String,
    /// (file name, media type, content).
    pub attachment: Option<(String, String, Vec<u8>)>,
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for NewMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewMail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// A queued message and its delivery state: `queued`, `sent` or `dead` (given up).
#[derive(Clone, PartialEq, Eq)]
pub struct MailRecord {
    pub id: i64,
    pub mail: NewMail,
    pub state: String,
    pub attempts: u32,
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub sent_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for MailRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailRecord")
            .field("id", &self.id)
            .field("mail", &self.mail)
            .field("state", &self.state)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// A revoked certificate, as a CRL lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedRecord {
    pub serial: String,
    pub crl_shard: u32,
    pub revoked_at: OffsetDateTime,
    pub reason: Option<String>,
}

/// What an OCSP response states about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRecord {
    pub serial: String,
    pub issuer: String,
    pub revoked_at: Option<OffsetDateTime>,
    pub reason: Option<String>,
}

/// A pre-signed OCSP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspRecord {
    pub serial: String,
    pub issuer: String,
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
    pub der: Vec<u8>,
    /// Whether it says "revoked" (a "good" one is never stored once the certificate is revoked).
    pub revoked: bool,
}

/// A system alert (R-AUX-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRecord {
    pub id: i64,
    /// `incident`, `maintenance` or `information`.
    pub kind: String,
    pub title: String,
    pub body: String,
    pub starts_at: OffsetDateTime,
    pub ends_at: Option<OffsetDateTime>,
    pub created_by: i64,
    pub created_at: OffsetDateTime,
}

/// A service that accepts Signet's certificates, and from / until when (R-AUX-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingServiceRecord {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub accepts_from: OffsetDateTime,
    pub accepts_until: Option<OffsetDateTime>,
    pub note: String,
    pub created_at: OffsetDateTime,
}

/// A message to support (R-AUX-6), with the replies it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportRequestRecord {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub order_number: Option<String>,
    pub message: String,
    pub created_at: OffsetDateTime,
    pub answered_at: Option<OffsetDateTime>,
}
