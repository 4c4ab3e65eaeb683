//! The audit log, read back (records are written by a unit of work; see [`crate::Tx::audit`]).
//!
//! The traits here are what the application sees; `audit_sql!` implements them for both
//! backends with the same SQL (see [`crate::backends`]).

use async_trait::async_trait;

use crate::StoreError;
use crate::model::*;

/// Reads of the audit log.
#[async_trait]
pub trait AuditReads: Send + Sync {
    /// The newest record of the audit log, if any.
    async fn last_audit_entry(&self) -> Result<Option<AuditEntry>, StoreError>;
    /// The whole audit log in sequence order, for `signet audit verify`.
    async fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError>;
    /// The newest records whose action starts with `prefix` exactly (case and all; no pattern
    /// characters), at most `limit`.
    async fn recent_audit(&self, prefix: &str, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;
}

/// Implements the traits above for a backend (called by `sql_store!`).
macro_rules! audit_sql {
    ($name:ident, $txname:ident, $db:ty, $row:ty, $concat_entries:literal, $lock:literal, $share:literal, $skip_locked:literal, $read_only_check:literal) => {
        impl $name {
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
        }

        #[async_trait]
        impl AuditReads for $name {
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
        }

    };
}
pub(crate) use audit_sql;
