//! Signet's storage: one [`Store`] trait with intent-named methods; SQLite (the embedded
//! default) and PostgreSQL (for several nodes) implement it with the same SQL, each with its
//! own migrations.
#![forbid(unsafe_code)]

mod backends;
mod error;

use std::sync::Arc;

use async_trait::async_trait;
use signet_domain::serial::Serial;
use time::OffsetDateTime;

pub use backends::{PostgresStore, SqliteStore};
pub use error::StoreError;

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
