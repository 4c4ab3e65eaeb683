//! The mail outbox: messages are queued by a unit of work ([`crate::Tx::enqueue_mail`]); delivery bookkeeping and reading back are here.
//!
//! The traits here are what the application sees; `outbox_sql!` implements them for both
//! backends with the same SQL (see [`crate::backends`]).

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::StoreError;
use crate::model::*;

/// Reads of the outbox.
#[async_trait]
pub trait MailReads: Send + Sync {
    /// The newest messages (without bodies' attachments), at most `limit`.
    async fn recent_mail(&self, limit: u32) -> Result<Vec<MailRecord>, StoreError>;
    /// Messages per state.
    async fn mail_state_counts(&self) -> Result<Vec<(MailState, u64)>, StoreError>;
}

/// The outbox worker's bookkeeping: claims, deliveries, failures and retries.
#[async_trait]
pub trait MailDelivery: Send + Sync {
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
}

macro_rules! select_mail {
    ($where:literal) => {
        concat!(
            "SELECT id, created_at, to_addr, subject, body, attachment_name, attachment_type, attachment, state, ",
            "attempts, next_attempt_at, last_error, sent_at FROM mail_outbox ",
            $where
        )
    };
}
pub(crate) use select_mail;

/// Implements the traits above for a backend (called by `sql_store!`).
macro_rules! outbox_sql {
    ($name:ident, $txname:ident, $db:ty, $row:ty, $concat_entries:literal, $lock:literal, $share:literal, $skip_locked:literal, $read_only_check:literal) => {
        impl $name {
            fn mail_row(row: &$row) -> Result<MailRecord, StoreError> {
                let name: Option<String> = row.try_get("attachment_name")?;
                let media_type: Option<String> = row.try_get("attachment_type")?;
                let content: Option<Vec<u8>> = row.try_get("attachment")?;
                Ok(MailRecord {
                    id: row.try_get("id")?,
                    mail: NewMail {
                        to: row.try_get("to_addr")?,
                        subject: row.try_get("subject")?,
                        body: row.try_get("body")?,
                        attachment: match (name, media_type, content) {
                            (Some(n), Some(t), Some(c)) => Some((n, t, c)),
                            _ => None,
                        },
                        created_at: time(row.try_get("created_at")?)?,
                    },
                    state: named("mail state", &row.try_get::<String, _>("state")?, MailState::parse)?,
                    attempts: count(row.try_get("attempts")?),
                    next_attempt_at: time(row.try_get("next_attempt_at")?)?,
                    last_error: row.try_get("last_error")?,
                    sent_at: opt_time(row.try_get("sent_at")?)?,
                })
            }
        }

        #[async_trait]
        impl MailReads for $name {
            async fn recent_mail(&self, limit: u32) -> Result<Vec<MailRecord>, StoreError> {
                let rows = sqlx::query(select_mail!("ORDER BY id DESC LIMIT $1"))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        let mut m = Self::mail_row(r)?;
                        m.mail.attachment = None;
                        Ok(m)
                    })
                    .collect()
            }

            async fn mail_state_counts(&self) -> Result<Vec<(MailState, u64)>, StoreError> {
                let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM mail_outbox GROUP BY state ORDER BY state")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        let state = named("mail state", &r.try_get::<String, _>("state")?, MailState::parse)?;
                        Ok((state, unsigned(r.try_get("n")?)))
                    })
                    .collect()
            }
        }

        #[async_trait]
        impl MailDelivery for $name {
            async fn claim_mail(
                &self,
                now: OffsetDateTime,
                lease: time::Duration,
                limit: u32,
            ) -> Result<Vec<MailRecord>, StoreError> {
                let mut tx = self.start().await?;
                // The due rows are locked (others skip them) before they are marked claimed.
                let q = sqlx::query(concat!(
                    "WITH due AS (SELECT id FROM mail_outbox WHERE state = 'queued' AND next_attempt_at <= $1 ",
                    "AND (claimed_until IS NULL OR claimed_until <= $2) ORDER BY id LIMIT $3", $skip_locked, ") ",
                    "UPDATE mail_outbox SET claimed_until = $4 FROM due WHERE mail_outbox.id = due.id ",
                    "RETURNING mail_outbox.id, created_at, to_addr, subject, body, attachment_name, attachment_type, ",
                    "attachment, state, attempts, next_attempt_at, last_error, sent_at"
                ))
                .bind(now.unix_timestamp())
                .bind(now.unix_timestamp())
                .bind(i64::from(limit))
                .bind((now + lease).unix_timestamp());
                let rows = q.fetch_all(tx.c()).await;
                let rows = tx.check(rows)?;
                tx.finish().await?;
                let mut claimed: Vec<MailRecord> =
                    rows.iter().map(Self::mail_row).collect::<Result<_, _>>()?;
                claimed.sort_by_key(|m| m.id);
                Ok(claimed)
            }

            async fn mail_sent(&self, id: i64, at: OffsetDateTime) -> Result<(), StoreError> {
                self.write(
                    sqlx::query(
                        "UPDATE mail_outbox SET state = 'sent', sent_at = $1, attempts = attempts + 1, \
                         claimed_until = NULL, last_error = NULL WHERE id = $2",
                    )
                    .bind(at.unix_timestamp())
                    .bind(id),
                )
                .await
                .map(|_| ())
            }

            async fn mail_failed(
                &self,
                id: i64,
                error: &str,
                retry_at: Option<OffsetDateTime>,
            ) -> Result<(), StoreError> {
                self.write(
                    sqlx::query(
                        "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $1, state = $2, \
                         next_attempt_at = COALESCE($3, next_attempt_at), claimed_until = NULL WHERE id = $4",
                    )
                    .bind(error)
                    .bind(if retry_at.is_some() { "queued" } else { "dead" })
                    .bind(retry_at.map(OffsetDateTime::unix_timestamp))
                    .bind(id),
                )
                .await
                .map(|_| ())
            }

            async fn retry_mail_now(
                &self,
                id: Option<i64>,
                now: OffsetDateTime,
            ) -> Result<u64, StoreError> {
                let q = match id {
                    Some(id) => sqlx::query(
                        "UPDATE mail_outbox SET state = 'queued', next_attempt_at = $1, claimed_until = NULL \
                         WHERE state IN ('queued', 'dead') AND id = $2 \
                         AND (claimed_until IS NULL OR claimed_until <= $1)",
                    )
                    .bind(now.unix_timestamp())
                    .bind(id),
                    None => sqlx::query(
                        "UPDATE mail_outbox SET state = 'queued', next_attempt_at = $1, claimed_until = NULL \
                         WHERE state IN ('queued', 'dead') \
                         AND (claimed_until IS NULL OR claimed_until <= $1)",
                    )
                    .bind(now.unix_timestamp()),
                };
                self.write(q).await
            }
        }

    };
}
pub(crate) use outbox_sql;
