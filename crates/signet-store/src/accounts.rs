//! Accounts and sessions: log-in addresses, passwords and their locks, sessions, mailed single-use tokens and the second factor.
//!
//! The traits here are what the application sees; `accounts_sql!` implements them for both
//! backends with the same SQL (see [`crate::backends`]).

use async_trait::async_trait;
use signet_domain::credentials::{OrderNumber, TokenPurpose};
use time::OffsetDateTime;

use crate::StoreError;
use crate::model::*;

/// Reads of accounts, sessions and tokens.
#[async_trait]
pub trait AccountReads: Send + Sync {
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
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<TokenRecord>, StoreError>;
    /// Every account that is not a subscriber, by e-mail address.
    async fn staff_accounts(&self) -> Result<Vec<Account>, StoreError>;
}

/// Changes to accounts, sessions, tokens and second factors, inside a unit of work.
#[async_trait]
pub trait AccountWrites: Send {
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
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<TokenRecord>, StoreError>;
    /// Spends every live token of a purpose for an order or an account (a fresh link replaces
    /// them); returns how many.
    async fn retire_tokens(
        &mut self,
        purpose: TokenPurpose,
        order_number: Option<&OrderNumber>,
        account: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;
    /// Removes an account's TOTP secret: its next log-in sets up a new one.
    async fn clear_totp(&mut self, id: i64) -> Result<(), StoreError>;
    /// Stores a new (sealed) TOTP secret; the second factor is off until a code verifies.
    async fn set_totp_secret(&mut self, id: i64, sealed: &[u8]) -> Result<(), StoreError>;
    /// Accepts a TOTP time step once: true (and the second factor enabled) only if the step is
    /// later than every step accepted before, so a code cannot be replayed.
    async fn accept_totp_step(&mut self, id: i64, step: i64) -> Result<bool, StoreError>;
}

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
pub(crate) use select_accounts;

macro_rules! select_tokens {
    ($where:literal) => {
        concat!(
            "SELECT purpose, account_id, order_number, expires_at FROM tokens ",
            $where
        )
    };
}
pub(crate) use select_tokens;

/// Implements the traits above for a backend (called by `sql_store!`).
macro_rules! accounts_sql {
    ($name:ident, $txname:ident, $db:ty, $row:ty, $concat_entries:literal, $lock:literal, $share:literal, $skip_locked:literal, $read_only_check:literal) => {
        impl $name {
            fn account_row(row: &$row) -> Result<Account, StoreError> {
                let key: i64 = row.try_get("id")?;
                in_row(|| format!("account {key}"), (|| Ok(Account {
                    id: row.try_get("id")?,
                    email: row.try_get("email")?,
                    name: row.try_get("name")?,
                    role: named("role", &row.try_get::<String, _>("role")?, Role::parse)?,
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
                }))())
            }

            fn token_row(row: &$row) -> Result<TokenRecord, StoreError> {
                Ok(TokenRecord {
                    purpose: named("token purpose", &row.try_get::<String, _>("purpose")?, TokenPurpose::parse)?,
                    account_id: row.try_get("account_id")?,
                    order_number: opt_stored("order number", row.try_get("order_number")?, OrderNumber::from_stored)?,
                    expires_at: time(row.try_get("expires_at")?)?,
                })
            }
        }

        #[async_trait]
        impl AccountReads for $name {
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
                purpose: TokenPurpose,
                now: OffsetDateTime,
            ) -> Result<Option<TokenRecord>, StoreError> {
                let row = sqlx::query(select_tokens!(
                    "WHERE hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3"
                ))
                .bind(hash)
                .bind(purpose.as_str())
                .bind(now.unix_timestamp())
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(Self::token_row).transpose()
            }

            async fn staff_accounts(&self) -> Result<Vec<Account>, StoreError> {
                let rows = sqlx::query(select_accounts!("WHERE role <> 'subscriber' ORDER BY email"))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::account_row).collect()
            }
        }

        #[async_trait]
        impl AccountWrites for $txname {
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
                        .bind(a.role.as_str())
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
                    .bind(t.purpose.as_str())
                    .bind(t.account_id)
                    .bind(t.order_number.as_ref().map(OrderNumber::as_str))
                    .bind(t.expires_at.unix_timestamp())
                    .bind(at.unix_timestamp()),
                )
                .await
                .map(|_| ())
            }

            async fn use_token(
                &mut self,
                hash: &str,
                purpose: TokenPurpose,
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
                        .bind(purpose.as_str())
                        .bind(now.unix_timestamp()),
                    )
                    .await?;
                row.as_ref().map($name::token_row).transpose()
            }

            async fn retire_tokens(
                &mut self,
                purpose: TokenPurpose,
                order_number: Option<&OrderNumber>,
                account: Option<i64>,
                now: OffsetDateTime,
            ) -> Result<u64, StoreError> {
                self.exec(
                    sqlx::query(
                        "UPDATE tokens SET used_at = $1 WHERE purpose = $2 AND used_at IS NULL \
                         AND (order_number = $3 OR account_id = $4)",
                    )
                    .bind(now.unix_timestamp())
                    .bind(purpose.as_str())
                    .bind(order_number.map(OrderNumber::as_str))
                    .bind(account),
                )
                .await
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
        }

    };
}
pub(crate) use accounts_sql;
