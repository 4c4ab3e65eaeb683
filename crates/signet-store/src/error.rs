//! The one error type of the store.

use thiserror::Error;

/// Why the store could not read or write. Some variants are answers the caller acts on
/// ([`StoreError::Conflict`]: someone else moved first; [`StoreError::SerialTaken`]: draw another
/// serial); the rest are failures. A database failure inside a unit of work poisons it: it can
/// then only be undone ([`StoreError::Aborted`]).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The serial is already recorded; draw another.
    #[error("serial {0} is already in use")]
    SerialTaken(String),
    /// No open intent exists for the serial: it was never recorded, or already completed.
    #[error("no open issuance intent for serial {0}")]
    NoOpenIntent(String),
    /// A unique value is taken (an e-mail address, an order number).
    #[error("{0} already exists")]
    Duplicate(String),
    /// The row changed under us: another request moved it first.
    #[error("{0}")]
    Conflict(String),
    /// A statement of the unit of work failed earlier: it can only be undone.
    #[error("the transaction was aborted by an earlier error; nothing was changed")]
    Aborted,
    /// A unit of work was committed without an audit record (a bug: every state change is
    /// recorded).
    #[error("refusing to commit a state change without an audit record")]
    Unaudited,
    /// The database takes no writes now (read-only, a standby).
    #[error("the database takes no writes (read-only or a standby)")]
    ReadOnly,
    /// A restore needs an empty database.
    #[error("the database {0} is not empty: restore into a new, empty database")]
    NotEmpty(String),
    /// An outside tool (pg_dump, psql) failed.
    #[error("{0}")]
    Tool(String),
    /// The database URL is not one Signet understands.
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://USER@HOST/DB")]
    BadUrl(String),
    /// A stored value cannot be read back.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Any other database failure, from the driver; the unit of work it happened in is poisoned.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the migrations at open failed; the store is not usable.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// A write broke a constraint of the schema (a value the domain does not name, a row that
    /// points nowhere): a bug to report, not an outage to wait out.
    pub fn is_constraint_violation(&self) -> bool {
        let StoreError::Database(sqlx::Error::Database(e)) = self else {
            return false;
        };
        // PostgreSQL's class 23 (integrity constraint violation); SQLite's SQLITE_CONSTRAINT
        // (19) and its extended codes, among them the triggers that stand in for constraints.
        let code = e.code().unwrap_or_default();
        code.starts_with("23") || code.parse::<i32>().is_ok_and(|c| c & 0xff == 19)
    }
}
