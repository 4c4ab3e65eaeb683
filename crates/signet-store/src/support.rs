//! Support requests and their answers, system alerts (R-AUX-1) and relying services (R-AUX-4).
//!
//! The traits here are what the application sees; `support_sql!` implements them for both
//! backends with the same SQL (see [`crate::backends`]).

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::StoreError;
use crate::model::*;

/// Reads of support requests, alerts and relying services.
#[async_trait]
pub trait SupportReads: Send + Sync {
    /// Unanswered requests first (oldest first), then answered ones (newest first), at most
    /// `limit`.
    async fn support_requests(&self, limit: u32) -> Result<Vec<SupportRequestRecord>, StoreError>;
    /// One support request by id.
    async fn support_request(&self, id: i64) -> Result<Option<SupportRequestRecord>, StoreError>;
    /// The newest alerts first, at most `limit`.
    async fn alerts(&self, limit: u32) -> Result<Vec<AlertRecord>, StoreError>;
    /// Every relying service, by name.
    async fn relying_services(&self) -> Result<Vec<RelyingServiceRecord>, StoreError>;
}

/// Changes to support requests, alerts and relying services, inside a unit of work.
#[async_trait]
pub trait SupportWrites: Send {
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
}

/// Implements the traits above for a backend (called by `sql_store!`).
macro_rules! support_sql {
    ($name:ident, $txname:ident, $db:ty, $row:ty, $concat_entries:literal, $lock:literal, $share:literal, $skip_locked:literal, $read_only_check:literal) => {
        impl $name {
            fn support_row(r: &$row) -> Result<SupportRequestRecord, StoreError> {
                Ok(SupportRequestRecord {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    email: r.try_get("email")?,
                    order_number: opt_stored("order number", r.try_get("order_number")?, OrderNumber::from_stored)?,
                    message: r.try_get("message")?,
                    created_at: time(r.try_get("created_at")?)?,
                    answered_at: opt_time(r.try_get("answered_at")?)?,
                })
            }

            fn alert_row(r: &$row) -> Result<AlertRecord, StoreError> {
                Ok(AlertRecord {
                    id: r.try_get("id")?,
                    kind: stored("alert kind", &r.try_get::<String, _>("kind")?, AlertKind::parse)?,
                    title: r.try_get("title")?,
                    body: r.try_get("body")?,
                    starts_at: time(r.try_get("starts_at")?)?,
                    ends_at: opt_time(r.try_get("ends_at")?)?,
                    created_by: r.try_get("created_by")?,
                    created_at: time(r.try_get("created_at")?)?,
                })
            }
        }

        #[async_trait]
        impl SupportReads for $name {
            async fn support_requests(&self, limit: u32) -> Result<Vec<SupportRequestRecord>, StoreError> {
                let rows = sqlx::query(concat!(
                    "SELECT id, name, email, order_number, message, created_at, answered_at FROM support_requests ",
                    "ORDER BY CASE WHEN answered_at IS NULL THEN 0 ELSE 1 END, ",
                    "CASE WHEN answered_at IS NULL THEN created_at ELSE -created_at END LIMIT $1"
                ))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::support_row).collect()
            }

            async fn support_request(&self, id: i64) -> Result<Option<SupportRequestRecord>, StoreError> {
                let row = sqlx::query(
                    "SELECT id, name, email, order_number, message, created_at, answered_at FROM support_requests WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(Self::support_row).transpose()
            }

            async fn alerts(&self, limit: u32) -> Result<Vec<AlertRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, kind, title, body, starts_at, ends_at, created_by, created_at FROM alerts \
                     ORDER BY starts_at DESC, id DESC LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::alert_row).collect()
            }

            async fn relying_services(&self) -> Result<Vec<RelyingServiceRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, name, url, accepts_from, accepts_until, note, created_at FROM relying_services ORDER BY name",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(RelyingServiceRecord {
                            id: r.try_get("id")?,
                            name: r.try_get("name")?,
                            url: r.try_get("url")?,
                            accepts_from: time(r.try_get("accepts_from")?)?,
                            accepts_until: opt_time(r.try_get("accepts_until")?)?,
                            note: r.try_get("note")?,
                            created_at: time(r.try_get("created_at")?)?,
                        })
                    })
                    .collect()
            }
        }

        #[async_trait]
        impl SupportWrites for $txname {
            async fn create_support_request(
                &mut self,
                r: &SupportRequestRecord,
            ) -> Result<i64, StoreError> {
                let row = self
                    .one(
                        sqlx::query(
                            "INSERT INTO support_requests (name, email, order_number, message, created_at) \
                             VALUES ($1, $2, $3, $4, $5) RETURNING id",
                        )
                        .bind(&r.name)
                        .bind(&r.email)
                        .bind(r.order_number.as_ref().map(OrderNumber::as_str))
                        .bind(&r.message)
                        .bind(r.created_at.unix_timestamp()),
                    )
                    .await?;
                Ok(row.try_get("id")?)
            }

            async fn add_support_reply(
                &mut self,
                request_id: i64,
                answered_by: i64,
                message: &str,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                self.exec(
                    sqlx::query(
                        "INSERT INTO support_replies (request_id, answered_by, message, created_at) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(request_id)
                    .bind(answered_by)
                    .bind(message)
                    .bind(at.unix_timestamp()),
                )
                .await?;
                let n = self
                    .exec(
                        sqlx::query("UPDATE support_requests SET answered_at = $1 WHERE id = $2")
                            .bind(at.unix_timestamp())
                            .bind(request_id),
                    )
                    .await?;
                conflict(n, "no such support request")
            }

            async fn create_alert(&mut self, a: &AlertRecord) -> Result<i64, StoreError> {
                let row = self
                    .one(
                        sqlx::query(
                            "INSERT INTO alerts (kind, title, body, starts_at, ends_at, created_by, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                        )
                        .bind(a.kind.as_str())
                        .bind(&a.title)
                        .bind(&a.body)
                        .bind(a.starts_at.unix_timestamp())
                        .bind(a.ends_at.map(OffsetDateTime::unix_timestamp))
                        .bind(a.created_by)
                        .bind(a.created_at.unix_timestamp()),
                    )
                    .await?;
                Ok(row.try_get("id")?)
            }

            async fn end_alert(&mut self, id: i64, at: OffsetDateTime) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query("UPDATE alerts SET ends_at = $1 WHERE id = $2")
                            .bind(at.unix_timestamp())
                            .bind(id),
                    )
                    .await?;
                conflict(n, "no such alert")
            }

            async fn create_relying_service(
                &mut self,
                s: &RelyingServiceRecord,
            ) -> Result<i64, StoreError> {
                let row = self
                    .one(
                        sqlx::query(
                            "INSERT INTO relying_services (name, url, accepts_from, accepts_until, note, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                        )
                        .bind(&s.name)
                        .bind(&s.url)
                        .bind(s.accepts_from.unix_timestamp())
                        .bind(s.accepts_until.map(OffsetDateTime::unix_timestamp))
                        .bind(&s.note)
                        .bind(s.created_at.unix_timestamp()),
                    )
                    .await?;
                Ok(row.try_get("id")?)
            }
        }

    };
}
pub(crate) use support_sql;
