//! Rows of the workflow tables, as the application reads and writes them.

use signet_domain::certificate::RevocationReason;
use signet_domain::config::Channel;
use signet_domain::credentials::{OrderNumber, TokenPurpose};
use signet_domain::key::KeyChoice;
use signet_domain::notices::AlertKind;
use signet_domain::order::{DocumentKind, OrderKind, OrderStatus};
use signet_domain::role::Role;
use signet_domain::serial::Serial;
use time::OffsetDateTime;

/// An account to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    /// The log-in address, lower case (design §1); [`crate::accounts::AccountWrites::create_account`] refuses one that
    /// has an account, whatever its case.
    pub email: String,
    /// The person's name as given at sign-up or invitation; shown to staff, masked where design §1
    /// says.
    pub name: String,
    /// What the account may do.
    pub role: Role,
    /// An agent's region, an upper-case ISO 3166 code; `None` for every other role.
    pub region: Option<String>,
    /// Argon2id PHC string; `None` for an invited staff account until its link sets a password.
    pub password_hash: Option<String>,
    /// Whether the address was confirmed by its mailed link (invitations confirm it on use).
    pub email_confirmed: bool,
    /// When the account was created.
    pub created_at: OffsetDateTime,
}

/// A stored account. The password hash is an Argon2id PHC string; `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// The account's id, assigned by the store; what orders, sessions and `account:ID` audit
    /// actors name.
    pub id: i64,
    /// The log-in address, lower case (older accounts that collide in case keep theirs; see
    /// [`crate::accounts::AccountReads::accounts_sharing_an_address`]).
    pub email: String,
    /// The person's name, as given.
    pub name: String,
    /// What the account may do.
    pub role: Role,
    /// An agent's region (ISO 3166 code, upper case); `None` for other roles.
    pub region: Option<String>,
    /// Argon2id PHC string; `None` until a password is set.
    pub password_hash: Option<String>,
    /// Whether the address was confirmed by its mailed link.
    pub email_confirmed: bool,
    /// Failed log-ins counted since the last success or lock (a lock follows at
    /// `signet_domain::guard::LOGIN_LOCK_AFTER`).
    pub failed_logins: u32,
    /// When the last failed log-in was counted.
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
    /// Failed attempts counted so far, this one included.
    pub failures: u32,
    /// Log-ins are refused until then, when the account is locked.
    pub locked_until: Option<OffsetDateTime>,
    /// Locks since the last successful log-in: the next lock lasts longer
    /// (`signet_domain::guard::lock_duration`).
    pub lock_count: u32,
}

/// A mailed token (stored by its hash only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// What the token does; it does nothing else.
    pub purpose: TokenPurpose,
    /// The account it acts on (confirmation, password reset, invitation).
    pub account_id: Option<i64>,
    /// The order it acts on (approval e-mail confirmation, pickup).
    pub order_number: Option<OrderNumber>,
    /// When it stops working: minted at + the purpose's lifetime.
    pub expires_at: OffsetDateTime,
}

/// An order with its locked details. The pickup password is an Argon2id hash; `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct OrderRecord {
    /// The order number (R-ORD-1).
    pub order_number: OrderNumber,
    /// The product's name in the policy, e.g. `personal-3-pro`.
    pub product: String,
    /// The identity as JSON (the locked subject details).
    pub identity_json: String,
    /// The address the certificate names (R-ORD-2); locked like the rest.
    pub approval_email: String,
    /// Whether the approval e-mail's confirmation link was followed (R-ORD-2).
    pub approval_confirmed: bool,
    /// Argon2id PHC string of the pickup password (R-ORD-3); the password itself is never stored.
    pub pickup_password_hash: String,
    /// The validity asked for, in calendar months (R-CRT-2).
    pub validity_months: u32,
    /// A key type Signet generates at pickup, or the subscriber's own CSR (R-KEY-1, R-KEY-2).
    pub key_type: KeyChoice,
    /// Self-service or agent, from the country when the order was placed (R-ORD-8).
    pub channel: Channel,
    /// The subject's country, upper case: agents of this region see and act on the order.
    pub country: String,
    /// The account that placed it: the subscriber, or the agent for agent-channel orders.
    pub placed_by: i64,
    /// The agent who attested the in-person check, if any.
    pub attested_by: Option<i64>,
    /// Where the order stands.
    pub status: OrderStatus,
    /// When it became ready for pickup: the start of the owner's 7-day cancel window (R-ORD-7).
    pub ready_since: Option<OffsetDateTime>,
    /// Wrong pickup passwords so far; the pickup locks at
    /// `signet_domain::guard::PICKUP_LOCK_AFTER` (R-KEY-4).
    pub pickup_failures: u32,
    /// The certificate picked up for it, once issued.
    pub certificate_serial: Option<Serial>,
    /// The order it was made from: the one reordered, or the certificate's order for a reissue or
    /// renewal.
    pub previous_order: Option<OrderNumber>,
    /// When the order was placed.
    pub created_at: OffsetDateTime,
    /// When the row last changed.
    pub updated_at: OffsetDateTime,
    /// New, reissue, renewal or reorder.
    pub order_kind: OrderKind,
    /// A reissue keeps the end date of the certificate it replaces.
    pub fixed_not_after: Option<OffsetDateTime>,
    /// A pickup in progress: the serial being issued…
    pub claimed_serial: Option<Serial>,
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
    /// The document's id, assigned by the store (ignored when attaching).
    pub id: i64,
    /// The order it belongs to.
    pub order_number: OrderNumber,
    /// What it is (R-ORD-5).
    pub kind: DocumentKind,
    /// Lower-case hex SHA-256 of the content: the key its content is stored under.
    pub sha256: String,
    /// `application/pdf`, `image/png` or `image/jpeg`, read from the content (R-ORD-5).
    pub media_type: String,
    /// Size of the content in bytes, at most 10 MiB.
    pub size: u64,
    /// The account that uploaded it.
    pub uploaded_by: i64,
    /// When it was uploaded (kept when the document is carried over to a reorder).
    pub created_at: OffsetDateTime,
}

/// One line of an order's history: a status change, a message, an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEventRecord {
    /// The account that caused it; `None` for what no account did (a message through the public
    /// support form).
    pub actor: Option<i64>,
    /// What happened, e.g. `created`, `support_request`, `order.pickup_unlocked` or a status change.
    pub kind: String,
    /// Text that goes with it: a reason, a question, an answer.
    pub message: Option<String>,
    /// When it happened.
    pub created_at: OffsetDateTime,
}

/// One audit record; `hash` commits to `prev_hash` and every other field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the chain, from 1 without gaps.
    pub seq: i64,
    /// When it was recorded, to the second (the hash covers Unix seconds).
    pub at: OffsetDateTime,
    /// Who acted: `account:ID`, `operator:cli`, `job:NAME`, `anonymous` …
    pub actor: String,
    /// What was done, dotted: `order.cancelled`, `certificate.issued` …
    pub action: String,
    /// What it was done to: `order:NUMBER`, `certificate:SERIAL`, `account:ID` …
    pub subject: String,
    /// JSON text with the particulars.
    pub detail: String,
    /// The previous record's `hash`, or `signet_domain::audit::GENESIS` for the first.
    pub prev_hash: String,
    /// `signet_domain::audit::record_hash` of this record, lower-case hex.
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
    /// When it happened; stored to the second.
    pub at: OffsetDateTime,
    /// Who acted: `account:ID`, `operator:cli`, `job:NAME`, `anonymous` …
    pub actor: String,
    /// What was done, dotted: `order.cancelled`, `certificate.issued` …
    pub action: String,
    /// What it was done to: `order:NUMBER`, `certificate:SERIAL`, `account:ID` …
    pub subject: String,
    /// JSON text.
    pub detail: String,
}

/// One signed CRL of a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlRecord {
    /// The signing CA's name (`root`, `class3`, `smime` …).
    pub issuer: String,
    /// The shard, 0 to the configured count − 1 (R-CRT-6).
    pub shard: u32,
    /// The cRLNumber, allocated by [`crate::revocation::RevocationData::crl_snapshot`]; grows per shard.
    pub number: u64,
    /// thisUpdate: when the CRL was signed; it is reissued when 3 days old
    /// (`signet_domain::crl::CRL_REFRESH_AFTER`) and after a revocation in its shard.
    pub this_update: OffsetDateTime,
    /// nextUpdate, 7 days after thisUpdate (`signet_domain::crl::CRL_VALIDITY`).
    pub next_update: OffsetDateTime,
    /// The signed CRL, as served at `/crl/{ca}/{shard}.crl`.
    pub der: Vec<u8>,
    /// The revocation epoch its snapshot was taken at: it lists every revocation up to it.
    pub covers_epoch: i64,
}

/// What a CRL snapshot passes along: stored DER entries (concatenated), or a revoked
/// certificate from before entries were stored, to encode.
#[derive(Debug)]
pub enum CrlChunk<'a> {
    /// DER revokedCertificates entries of several certificates, concatenated as stored at
    /// revocation: append them as they are.
    Encoded(&'a [u8]),
    /// A certificate revoked before entries were stored with it: encode its entry.
    Unencoded(RevokedRecord),
}

/// A CRL number allocated together with the snapshot of what the CRL lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrlSnapshot {
    /// The cRLNumber allocated for the CRL being made.
    pub number: u64,
    /// The revocation epoch the snapshot was read at; store it in [`CrlRecord::covers_epoch`].
    pub covers_epoch: i64,
    /// How many entries were passed on.
    pub entries: u64,
}

/// A message to queue.
#[derive(Clone, PartialEq, Eq)]
pub struct NewMail {
    /// The recipient's address.
    pub to: String,
    /// The subject line, as the recipient sees it.
    pub subject: String,
    /// Bodies carry single-use links: `Debug` hides them.
    pub body: String,
    /// (file name, media type, content).
    pub attachment: Option<(String, String, Vec<u8>)>,
    /// When it was queued.
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

/// Where a queued message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailState {
    /// Waiting for its first attempt or for a retry.
    Queued,
    /// Delivered to the relay (or written to the outbox folder).
    Sent,
    /// Given up after `signet_domain::guard::MAIL_ATTEMPTS` failures; an administrator can retry
    /// it.
    Dead,
}

impl MailState {
    /// Every state, in the order a message passes through them.
    pub const ALL: [MailState; 3] = [MailState::Queued, MailState::Sent, MailState::Dead];

    /// The stored name: `queued`, `sent` or `dead`.
    pub fn as_str(self) -> &'static str {
        match self {
            MailState::Queued => "queued",
            MailState::Sent => "sent",
            MailState::Dead => "dead",
        }
    }

    /// Reads a stored name.
    pub fn parse(text: &str) -> Option<MailState> {
        MailState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for MailState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, not `write_str`: a column width (`{:<8}`) applies.
        f.pad(self.as_str())
    }
}

/// A queued message and its delivery state.
#[derive(Clone, PartialEq, Eq)]
pub struct MailRecord {
    /// The outbox id; `.eml` files of the file outbox are named by it.
    pub id: i64,
    /// The message as queued.
    pub mail: NewMail,
    /// Queued, sent, or dead.
    pub state: MailState,
    /// Delivery attempts so far; after `signet_domain::guard::MAIL_ATTEMPTS` failures it is dead.
    pub attempts: u32,
    /// When it is next due (for a queued message).
    pub next_attempt_at: OffsetDateTime,
    /// Why the last attempt failed, for administrators.
    pub last_error: Option<String>,
    /// When it was delivered.
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
    /// The serial.
    pub serial: Serial,
    /// The shard named in its CDP, fixed at issuance.
    pub crl_shard: u32,
    /// When it was revoked: the entry's revocationDate.
    pub revoked_at: OffsetDateTime,
    /// The RFC 5280 reason; `None` or `unspecified` puts no reason code in the CRL.
    pub reason: Option<RevocationReason>,
}

/// What an OCSP response states about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRecord {
    /// The serial.
    pub serial: Serial,
    /// The issuing CA's name: which responder signs.
    pub issuer: String,
    /// When it was revoked; `None`: good.
    pub revoked_at: Option<OffsetDateTime>,
    /// The RFC 5280 reason, when revoked.
    pub reason: Option<RevocationReason>,
}

/// A pre-signed OCSP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspRecord {
    /// The serial, upper-case hex.
    pub serial: String,
    /// The issuing CA's name.
    pub issuer: String,
    /// thisUpdate: when it was signed; re-signed when 3 days old
    /// (`signet_domain::ocsp::OCSP_REFRESH_AFTER`).
    pub this_update: OffsetDateTime,
    /// nextUpdate, 7 days after thisUpdate.
    pub next_update: OffsetDateTime,
    /// The DER OCSPResponse, served as it is.
    pub der: Vec<u8>,
    /// Whether it says "revoked" (a "good" one is never stored once the certificate is revoked).
    pub revoked: bool,
}

/// A system alert (R-AUX-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRecord {
    /// The alert's id, assigned by the store.
    pub id: i64,
    /// What it announces.
    pub kind: AlertKind,
    /// The headline, 1 to 120 characters.
    pub title: String,
    /// The text, at most 4000 characters.
    pub body: String,
    /// When it starts to show.
    pub starts_at: OffsetDateTime,
    /// When it stops showing; `None`: until an administrator ends it.
    pub ends_at: Option<OffsetDateTime>,
    /// The administrator who posted it.
    pub created_by: i64,
    /// When it was posted.
    pub created_at: OffsetDateTime,
}

/// A service that accepts Signet's certificates, and from / until when (R-AUX-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingServiceRecord {
    /// The service's id, assigned by the store.
    pub id: i64,
    /// The service's name as shown on `/services`.
    pub name: String,
    /// Its web address (`http://` or `https://`).
    pub url: String,
    /// From when it accepts the certificate.
    pub accepts_from: OffsetDateTime,
    /// When it stopped (or stops) accepting it; `None`: no end known.
    pub accepts_until: Option<OffsetDateTime>,
    /// Free text shown with it (what the service is, how to use the certificate there).
    pub note: String,
    /// When it was listed.
    pub created_at: OffsetDateTime,
}

/// A message to support (R-AUX-6), with the replies it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportRequestRecord {
    /// The request's id, assigned by the store.
    pub id: i64,
    /// The writer's name, as given.
    pub name: String,
    /// Where the answer goes.
    pub email: String,
    /// The order the writer cited; the request and its answers join that order's history.
    pub order_number: Option<OrderNumber>,
    /// What they wrote.
    pub message: String,
    /// When it was sent.
    pub created_at: OffsetDateTime,
    /// When support last answered; `None` while unanswered.
    pub answered_at: Option<OffsetDateTime>,
}

/// A discovery job (R-AUX-2) and its schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryJobRecord {
    /// Assigned by the store.
    pub id: i64,
    /// What to scan, how, and who hears of it.
    pub spec: signet_domain::discovery::JobSpec,
    /// Who defined it (an email, or `cli`).
    pub created_by: String,
    /// When.
    pub created_at: OffsetDateTime,
    /// When it is due next in `serve`; `None`: only when started.
    pub next_run_at: Option<OffsetDateTime>,
    /// A node runs it until then.
    pub lease_until: Option<OffsetDateTime>,
    /// Which node.
    pub lease_node: Option<String>,
}

/// One run of a discovery job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryRunRecord {
    /// Assigned by the store.
    pub id: i64,
    /// The job run.
    pub job_id: i64,
    /// The job's name (read with the run).
    pub job_name: String,
    /// Who started it: an email, `cli`, or `schedule`.
    pub started_by: String,
    /// When it started.
    pub started_at: OffsetDateTime,
    /// When it ended; `None` while it runs (or if its node died: the lease tells).
    pub finished_at: Option<OffsetDateTime>,
    /// Endpoints (address × port) to try.
    pub endpoints: u64,
    /// Endpoints tried so far.
    pub done: u64,
    /// Endpoints that answered with TLS.
    pub answered: u64,
    /// Distinct leaf certificates seen.
    pub certificates: u64,
    /// Targets the allowlist refused at this run (host names resolving outside it).
    pub refused: String,
    /// `finished`, or what stopped it.
    pub outcome: Option<String>,
}

/// A certificate discovery has seen, once by its SHA-256 fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredCertificateRecord {
    /// SHA-256 of the DER, lowercase hex.
    pub fingerprint: String,
    /// The certificate.
    pub der: Vec<u8>,
    /// Subject DN (RFC 4514).
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// subjectAltName DNS names and addresses.
    pub names: Vec<String>,
    /// e.g. `RSA 2048`.
    pub key: String,
    /// Serial number, hex.
    pub serial: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Signet issued it: its serial in Signet's records.
    pub signet_serial: Option<Serial>,
    /// When discovery first saw it.
    pub first_seen: OffsetDateTime,
}

/// A place a certificate is served at: an address, a port and the SNI name sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryPlaceRecord {
    /// Assigned by the store.
    pub id: i64,
    /// The host as the job names it (a name, or the address).
    pub host: String,
    /// The address connected to.
    pub address: std::net::IpAddr,
    /// The port.
    pub port: u16,
    /// The SNI name sent, when reached by name.
    pub sni: Option<String>,
    /// The job that scanned it last.
    pub job_id: Option<i64>,
    /// The leaf served (at the last scan that got an answer).
    pub fingerprint: String,
    /// Fingerprints of the chain as served, leaf first.
    pub chain: Vec<String>,
    /// First scan that saw it.
    pub first_seen: OffsetDateTime,
    /// Last scan that got an answer.
    pub last_seen: OffsetDateTime,
    /// It answered at the last scan.
    pub answering: bool,
    /// Its alerts at the last scan.
    pub alerts: Vec<signet_domain::discovery::Alert>,
}

/// Something that happened at a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryEventRecord {
    /// Assigned by the store.
    pub id: i64,
    /// Where.
    pub place_id: i64,
    /// Seen by which run.
    pub run_id: Option<i64>,
    /// When.
    pub at: OffsetDateTime,
    /// What.
    pub kind: signet_domain::discovery::PlaceEvent,
    /// The leaf before.
    pub old_fingerprint: Option<String>,
    /// The leaf after.
    pub new_fingerprint: Option<String>,
}
