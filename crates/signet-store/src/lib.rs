//! Signet's storage: a [`Store`] that reads, and units of work ([`Tx`]) that change state. Every
//! change goes through a `Tx`, which commits its rows, its audit records (chained under the
//! domain's rule, inside the same transaction) and the mail it sends, all or nothing. SQLite (the
//! embedded default) and PostgreSQL (several nodes) implement both with the same SQL, each with
//! its own migrations.
//!
//! The store is split by area, each in its own module with its traits and its SQL:
//! [`issuance`], [`accounts`], [`orders`], [`revocation`] (CRLs and OCSP), [`audit`],
//! [`support`] (and alerts, relying services), [`outbox`] (mail) and [`operations`] (rate
//! limits, backups, probes). [`Reads`] is every read and nothing else: code that only looks
//! takes a `&dyn Reads`. Rows carry the domain's types; a stored value the domain does not name
//! is [`StoreError::Corrupt`], never a default.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod accounts;
pub mod audit;
mod backends;
pub mod discovery;
mod error;
pub mod issuance;
pub mod model;
pub mod operations;
pub mod orders;
pub mod outbox;
pub mod revocation;
pub mod signing;
pub mod support;

use std::sync::Arc;

use async_trait::async_trait;

pub use backends::{PostgresStore, SqliteStore};
pub use error::StoreError;
pub use issuance::{CertificateRecord, Counts, IssuanceIntent, IssuanceState};
pub use model::*;
pub use prelude::*;

/// The store's traits, for `use signet_store::prelude::*`: a method of an area's trait is only
/// callable with the trait in scope.
pub mod prelude {
    pub use crate::accounts::{AccountReads, AccountWrites};
    pub use crate::audit::AuditReads;
    pub use crate::discovery::{DiscoveryLeases, DiscoveryReads, DiscoveryWrites};
    pub use crate::issuance::{IssuanceReads, IssuanceWrites};
    pub use crate::operations::Operations;
    pub use crate::orders::{OrderReads, OrderWrites};
    pub use crate::outbox::{MailDelivery, MailReads};
    pub use crate::revocation::{RevocationData, RevocationReads, RevocationWrites};
    pub use crate::signing::{SigningReads, SigningWrites};
    pub use crate::support::{SupportReads, SupportWrites};
    pub use crate::{Reads, Store, Tx};
}

/// Every read of every area, and nothing that writes.
pub trait Reads:
    IssuanceReads
    + AccountReads
    + OrderReads
    + RevocationReads
    + AuditReads
    + SupportReads
    + SigningReads
    + MailReads
    + DiscoveryReads
{
}

impl<T> Reads for T where
    T: IssuanceReads
        + AccountReads
        + OrderReads
        + RevocationReads
        + AuditReads
        + SupportReads
        + SigningReads
        + MailReads
        + DiscoveryReads
        + ?Sized
{
}

/// Reads, and the writes that are not state changes of the workflow (derived data: pre-signed
/// OCSP responses and CRLs, the mail queue's delivery bookkeeping, rate-limit counters,
/// readiness probes). State changes go through [`Store::begin`].
#[async_trait]
pub trait Store:
    Reads + RevocationData + MailDelivery + Operations + DiscoveryLeases + std::fmt::Debug
{
    /// Starts a unit of work. Nothing it does is visible to others, or stays, until
    /// [`Tx::commit`]; dropping it undoes everything.
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError>;
}

/// One unit of work: state changes that commit together with their audit records and mail, or
/// not at all. Each change that depends on the current state is a compare-and-set and fails
/// with [`StoreError::Conflict`] when someone else changed it first.
#[async_trait]
pub trait Tx:
    IssuanceWrites
    + AccountWrites
    + OrderWrites
    + RevocationWrites
    + SupportWrites
    + SigningWrites
    + DiscoveryWrites
    + Send
{
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
