//! Orders and their documents: the locked order (R-ORD-1), its status moves, the pickup claim, uploaded evidence (R-ORD-5) and its history.
//!
//! The traits here are what the application sees; `orders_sql!` implements them for both
//! backends with the same SQL (see [`crate::backends`]).

use async_trait::async_trait;
use signet_domain::credentials::OrderNumber;
use signet_domain::order::OrderStatus;
use signet_domain::serial::Serial;
use time::OffsetDateTime;

use crate::StoreError;
use crate::model::*;

/// Reads of orders, their documents and history.
#[async_trait]
pub trait OrderReads: Send + Sync {
    /// The order with this number.
    async fn order(&self, order_number: &OrderNumber) -> Result<Option<OrderRecord>, StoreError>;
    /// Orders placed by an account, newest first.
    async fn orders_placed_by(&self, account: i64) -> Result<Vec<OrderRecord>, StoreError>;
    /// Orders for a country (an agent's region), newest first.
    async fn orders_in_country(&self, country: &str) -> Result<Vec<OrderRecord>, StoreError>;
    /// Orders in a status, oldest first (the vetting queue).
    async fn orders_with_status(&self, status: OrderStatus)
    -> Result<Vec<OrderRecord>, StoreError>;
    /// Orders whose pickup claim lapsed before `now` (its process died or hung).
    async fn lapsed_pickup_claims(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<OrderRecord>, StoreError>;
    /// The documents attached to an order, in upload order (copied ones included).
    async fn documents(
        &self,
        order_number: &OrderNumber,
    ) -> Result<Vec<DocumentRecord>, StoreError>;
    /// A document's content, by the lower-case hex SHA-256 it was stored under (R-ORD-5).
    async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// An order's history, oldest first.
    async fn order_events(
        &self,
        order_number: &OrderNumber,
    ) -> Result<Vec<OrderEventRecord>, StoreError>;
    /// The order a certificate was picked up for.
    async fn order_for_certificate(
        &self,
        serial: &Serial,
    ) -> Result<Option<OrderRecord>, StoreError>;
    /// How many orders are in each status.
    async fn order_status_counts(&self) -> Result<Vec<(OrderStatus, u64)>, StoreError>;
}

/// Changes to orders and their documents, inside a unit of work.
#[async_trait]
pub trait OrderWrites: Send {
    /// Stores a new order with its locked details (R-ORD-1); [`StoreError::Duplicate`] if the
    /// number is taken (draw another).
    async fn create_order(&mut self, order: &OrderRecord) -> Result<(), StoreError>;
    /// Moves an order from `from` to `to` if it is still in `from` and no pickup holds it.
    async fn transition_order(
        &mut self,
        order_number: &OrderNumber,
        from: OrderStatus,
        to: OrderStatus,
        ready_since: Option<OffsetDateTime>,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Claims a ready order for one pickup: the serial being issued, the link spent, until when.
    /// Fails with [`StoreError::Conflict`] unless the order is ready and unclaimed. A lapsed
    /// claim refuses too: its serial may have been signed, so reconciliation releases it (and
    /// revokes that serial) before the order can be claimed again. Resets the wrong-password
    /// count.
    async fn claim_pickup(
        &mut self,
        order_number: &OrderNumber,
        serial: &Serial,
        token_hash: &str,
        until: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The claimed pickup succeeded: the order is issued with this serial.
    async fn complete_pickup(
        &mut self,
        order_number: &OrderNumber,
        serial: &Serial,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Gives up a claim (still held by `serial`) and makes its link usable again.
    async fn release_pickup(
        &mut self,
        order_number: &OrderNumber,
        serial: &Serial,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Marks the order's approval e-mail confirmed (R-ORD-2); [`StoreError::Conflict`] if there is
    /// no such order.
    async fn confirm_approval_email(
        &mut self,
        order_number: &OrderNumber,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Records the agent who attested the in-person check, once: a compare-and-set on "not yet
    /// attested", so of two agents attesting at the same instant one gets
    /// [`StoreError::Conflict`].
    async fn record_attestation(
        &mut self,
        order_number: &OrderNumber,
        agent: i64,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Holds the order's row until this unit of work ends (concurrent pickup attempts on it
    /// wait) and returns its count of wrong pickup passwords.
    async fn hold_for_pickup(&mut self, order_number: &OrderNumber) -> Result<u32, StoreError>;
    /// Counts one pickup attempt that failed; returns the count so far.
    async fn count_pickup_attempt(&mut self, order_number: &OrderNumber)
    -> Result<u32, StoreError>;
    /// Sets the wrong-pickup-password count back to 0: support unlocks a locked pickup (R-KEY-4).
    async fn reset_pickup_failures(&mut self, order_number: &OrderNumber)
    -> Result<(), StoreError>;
    /// Stores the content once per SHA-256 and attaches it to the order.
    async fn attach_document(
        &mut self,
        doc: &DocumentRecord,
        content: &[u8],
    ) -> Result<i64, StoreError>;
    /// Attaches the documents of one order to another (evidence carried over); how many.
    async fn copy_documents(
        &mut self,
        from: &OrderNumber,
        to: &OrderNumber,
    ) -> Result<u64, StoreError>;
    /// Adds a line to an order's history.
    async fn add_order_event(
        &mut self,
        order_number: &OrderNumber,
        event: &OrderEventRecord,
    ) -> Result<(), StoreError>;
}

macro_rules! select_orders {
    ($where:literal) => {
        concat!(
            "SELECT order_number, product, identity_json, approval_email, approval_confirmed, pickup_password_hash, ",
            "validity_months, key_type, channel, country, placed_by, attested_by, status, ready_since, pickup_failures, ",
            "certificate_serial, previous_order, created_at, updated_at, order_kind, fixed_not_after, ",
            "claimed_serial, claim_expires_at FROM orders ",
            $where
        )
    };
}
pub(crate) use select_orders;

pub(crate) const INSERT_ORDER: &str = "INSERT INTO orders (order_number, product, identity_json, approval_email, approval_confirmed, \
    pickup_password_hash, validity_months, key_type, channel, country, placed_by, attested_by, status, ready_since, \
    pickup_failures, certificate_serial, previous_order, created_at, updated_at, order_kind, fixed_not_after) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) \
    ON CONFLICT (order_number) DO NOTHING";

/// Implements the traits above for a backend (called by `sql_store!`).
macro_rules! orders_sql {
    ($name:ident, $txname:ident, $db:ty, $row:ty, $concat_entries:literal, $lock:literal, $share:literal, $skip_locked:literal, $read_only_check:literal) => {
        impl $name {
            fn order_row(row: &$row) -> Result<OrderRecord, StoreError> {
                let key: String = row.try_get("order_number")?;
                in_row(|| format!("order {key}"), (|| Ok(OrderRecord {
                    order_number: stored("order number", &row.try_get::<String, _>("order_number")?, OrderNumber::from_stored)?,
                    product: row.try_get("product")?,
                    identity_json: row.try_get("identity_json")?,
                    approval_email: row.try_get("approval_email")?,
                    approval_confirmed: row.try_get::<i64, _>("approval_confirmed")? != 0,
                    pickup_password_hash: row.try_get("pickup_password_hash")?,
                    validity_months: count(row.try_get("validity_months")?),
                    key_type: stored("key type", &row.try_get::<String, _>("key_type")?, KeyChoice::parse)?,
                    channel: stored("channel", &row.try_get::<String, _>("channel")?, Channel::from_stored)?,
                    country: row.try_get("country")?,
                    placed_by: row.try_get("placed_by")?,
                    attested_by: row.try_get("attested_by")?,
                    status: named("order status", &row.try_get::<String, _>("status")?, OrderStatus::parse)?,
                    ready_since: opt_time(row.try_get("ready_since")?)?,
                    pickup_failures: count(row.try_get("pickup_failures")?),
                    certificate_serial: opt_stored("serial", row.try_get("certificate_serial")?, Serial::from_str)?,
                    previous_order: opt_stored("order number", row.try_get("previous_order")?, OrderNumber::from_stored)?,
                    created_at: time(row.try_get("created_at")?)?,
                    updated_at: time(row.try_get("updated_at")?)?,
                    order_kind: named("order kind", &row.try_get::<String, _>("order_kind")?, OrderKind::parse)?,
                    fixed_not_after: opt_time(row.try_get("fixed_not_after")?)?,
                    claimed_serial: opt_stored("serial", row.try_get("claimed_serial")?, Serial::from_str)?,
                    claim_expires_at: opt_time(row.try_get("claim_expires_at")?)?,
                }))())
            }

            fn document_row(row: &$row) -> Result<DocumentRecord, StoreError> {
                let key: i64 = row.try_get("id")?;
                in_row(|| format!("document {key}"), (|| Ok(DocumentRecord {
                    id: row.try_get("id")?,
                    order_number: stored("order number", &row.try_get::<String, _>("order_number")?, OrderNumber::from_stored)?,
                    kind: named("document kind", &row.try_get::<String, _>("kind")?, DocumentKind::parse)?,
                    sha256: row.try_get("sha256")?,
                    media_type: row.try_get("media_type")?,
                    size: unsigned(row.try_get("size")?),
                    uploaded_by: row.try_get("uploaded_by")?,
                    created_at: time(row.try_get("created_at")?)?,
                }))())
            }

            async fn orders_where(
                &self,
                query: &'static str,
                value: &str,
            ) -> Result<Vec<OrderRecord>, StoreError> {
                let rows = sqlx::query(query).bind(value).fetch_all(&self.pool).await?;
                rows.iter().map(Self::order_row).collect()
            }
        }

        #[async_trait]
        impl OrderReads for $name {
            async fn order(&self, order_number: &OrderNumber) -> Result<Option<OrderRecord>, StoreError> {
                Ok(self
                    .orders_where(select_orders!("WHERE order_number = $1"), order_number.as_str())
                    .await?
                    .into_iter()
                    .next())
            }

            async fn orders_placed_by(&self, account: i64) -> Result<Vec<OrderRecord>, StoreError> {
                let rows = sqlx::query(select_orders!(
                    "WHERE placed_by = $1 ORDER BY created_at DESC"
                ))
                .bind(account)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::order_row).collect()
            }

            async fn orders_in_country(&self, country: &str) -> Result<Vec<OrderRecord>, StoreError> {
                self.orders_where(
                    select_orders!("WHERE country = $1 ORDER BY created_at DESC"),
                    country,
                )
                .await
            }

            async fn orders_with_status(&self, status: OrderStatus) -> Result<Vec<OrderRecord>, StoreError> {
                self.orders_where(
                    select_orders!("WHERE status = $1 ORDER BY created_at"),
                    status.as_str(),
                )
                .await
            }

            async fn lapsed_pickup_claims(
                &self,
                now: OffsetDateTime,
            ) -> Result<Vec<OrderRecord>, StoreError> {
                let rows = sqlx::query(select_orders!(
                    "WHERE claimed_serial IS NOT NULL AND claim_expires_at < $1 ORDER BY claim_expires_at"
                ))
                .bind(now.unix_timestamp())
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::order_row).collect()
            }

            async fn documents(&self, order_number: &OrderNumber) -> Result<Vec<DocumentRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, order_number, kind, sha256, media_type, size, uploaded_by, created_at FROM documents \
                     WHERE order_number = $1 ORDER BY id",
                )
                .bind(order_number.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::document_row).collect()
            }

            async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
                let row = sqlx::query("SELECT content FROM blobs WHERE sha256 = $1")
                    .bind(sha256)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.try_get("content")).transpose()?)
            }

            async fn order_events(
                &self,
                order_number: &OrderNumber,
            ) -> Result<Vec<OrderEventRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT actor, kind, message, created_at FROM order_events WHERE order_number = $1 ORDER BY id",
                )
                .bind(order_number.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(OrderEventRecord {
                            actor: r.try_get("actor")?,
                            kind: r.try_get("kind")?,
                            message: r.try_get("message")?,
                            created_at: time(r.try_get("created_at")?)?,
                        })
                    })
                    .collect()
            }

            async fn order_for_certificate(
                &self,
                serial: &Serial,
            ) -> Result<Option<OrderRecord>, StoreError> {
                Ok(self
                    .orders_where(select_orders!("WHERE certificate_serial = $1"), &serial.to_hex())
                    .await?
                    .into_iter()
                    .next())
            }

            async fn order_status_counts(&self) -> Result<Vec<(OrderStatus, u64)>, StoreError> {
                let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM orders GROUP BY status ORDER BY status")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        let status = named("order status", &r.try_get::<String, _>("status")?, OrderStatus::parse)?;
                        Ok((status, unsigned(r.try_get("n")?)))
                    })
                    .collect()
            }
        }

        #[async_trait]
        impl OrderWrites for $txname {
            async fn create_order(&mut self, o: &OrderRecord) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(INSERT_ORDER)
                            .bind(o.order_number.as_str())
                            .bind(&o.product)
                            .bind(&o.identity_json)
                            .bind(&o.approval_email)
                            .bind(i64::from(o.approval_confirmed))
                            .bind(&o.pickup_password_hash)
                            .bind(i64::from(o.validity_months))
                            .bind(o.key_type.as_str())
                            .bind(o.channel.as_str())
                            .bind(&o.country)
                            .bind(o.placed_by)
                            .bind(o.attested_by)
                            .bind(o.status.as_str())
                            .bind(o.ready_since.map(OffsetDateTime::unix_timestamp))
                            .bind(i64::from(o.pickup_failures))
                            .bind(o.certificate_serial.as_ref().map(Serial::to_hex))
                            .bind(o.previous_order.as_ref().map(OrderNumber::as_str))
                            .bind(o.created_at.unix_timestamp())
                            .bind(o.updated_at.unix_timestamp())
                            .bind(o.order_kind.as_str())
                            .bind(o.fixed_not_after.map(OffsetDateTime::unix_timestamp)),
                    )
                    .await?;
                if n != 1 {
                    return Err(StoreError::Duplicate(format!("order {}", o.order_number)));
                }
                Ok(())
            }

            async fn transition_order(
                &mut self,
                order_number: &OrderNumber,
                from: OrderStatus,
                to: OrderStatus,
                ready_since: Option<OffsetDateTime>,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE orders SET status = $1, ready_since = COALESCE($2, ready_since), updated_at = $3 \
                             WHERE order_number = $4 AND status = $5 AND claimed_serial IS NULL",
                        )
                        .bind(to.as_str())
                        .bind(ready_since.map(OffsetDateTime::unix_timestamp))
                        .bind(at.unix_timestamp())
                        .bind(order_number.as_str())
                        .bind(from.as_str()),
                    )
                    .await?;
                conflict(n, "the order changed meanwhile (or a pickup is under way); reload it and try again")
            }

            async fn claim_pickup(
                &mut self,
                order_number: &OrderNumber,
                serial: &Serial,
                token_hash: &str,
                until: OffsetDateTime,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE orders SET claimed_serial = $1, claim_token = $2, claim_expires_at = $3, \
                             pickup_failures = 0, updated_at = $4 \
                             WHERE order_number = $5 AND status = 'ready_for_pickup' AND claimed_serial IS NULL",
                        )
                        .bind(serial.to_hex())
                        .bind(token_hash)
                        .bind(until.unix_timestamp())
                        .bind(at.unix_timestamp())
                        .bind(order_number.as_str()),
                    )
                    .await?;
                conflict(n, "this order is not ready for pickup, or a pickup of it is under way")
            }

            async fn complete_pickup(
                &mut self,
                order_number: &OrderNumber,
                serial: &Serial,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE orders SET status = 'issued', certificate_serial = $1, claimed_serial = NULL, \
                             claim_token = NULL, claim_expires_at = NULL, updated_at = $2 \
                             WHERE order_number = $3 AND claimed_serial = $4 AND status = 'ready_for_pickup'",
                        )
                        .bind(serial.to_hex())
                        .bind(at.unix_timestamp())
                        .bind(order_number.as_str())
                        .bind(serial.to_hex()),
                    )
                    .await?;
                conflict(n, "the pickup's claim on the order was released meanwhile")
            }

            async fn release_pickup(
                &mut self,
                order_number: &OrderNumber,
                serial: &Serial,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                self.exec(
                    sqlx::query(
                        "UPDATE tokens SET used_at = NULL WHERE hash = \
                         (SELECT claim_token FROM orders WHERE order_number = $1 AND claimed_serial = $2)",
                    )
                    .bind(order_number.as_str())
                    .bind(serial.to_hex()),
                )
                .await?;
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE orders SET claimed_serial = NULL, claim_token = NULL, claim_expires_at = NULL, \
                             updated_at = $1 WHERE order_number = $2 AND claimed_serial = $3",
                        )
                        .bind(at.unix_timestamp())
                        .bind(order_number.as_str())
                        .bind(serial.to_hex()),
                    )
                    .await?;
                conflict(n, "the pickup's claim on the order was released meanwhile")
            }

            async fn confirm_approval_email(
                &mut self,
                order_number: &OrderNumber,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE orders SET approval_confirmed = 1, updated_at = $1 WHERE order_number = $2",
                        )
                        .bind(at.unix_timestamp())
                        .bind(order_number.as_str()),
                    )
                    .await?;
                conflict(n, "no such order")
            }

            async fn record_attestation(
                &mut self,
                order_number: &OrderNumber,
                agent: i64,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE orders SET attested_by = $1, updated_at = $2 \
                             WHERE order_number = $3 AND attested_by IS NULL",
                        )
                        .bind(agent)
                        .bind(at.unix_timestamp())
                        .bind(order_number.as_str()),
                    )
                    .await?;
                conflict(n, "the order is attested already (or does not exist)")
            }

            async fn hold_for_pickup(&mut self, order_number: &OrderNumber) -> Result<u32, StoreError> {
                let row = self
                    .maybe(
                        sqlx::query(concat!(
                            "SELECT pickup_failures FROM orders WHERE order_number = $1",
                            $lock
                        ))
                        .bind(order_number.as_str()),
                    )
                    .await?
                    .ok_or_else(|| StoreError::Conflict("no such order".into()))?;
                Ok(count(row.try_get("pickup_failures")?))
            }

            async fn count_pickup_attempt(&mut self, order_number: &OrderNumber) -> Result<u32, StoreError> {
                let row = self
                    .maybe(
                        sqlx::query(
                            "UPDATE orders SET pickup_failures = pickup_failures + 1 WHERE order_number = $1 \
                             RETURNING pickup_failures",
                        )
                        .bind(order_number.as_str()),
                    )
                    .await?
                    .ok_or_else(|| StoreError::Conflict("no such order".into()))?;
                Ok(count(row.try_get("pickup_failures")?))
            }

            async fn reset_pickup_failures(&mut self, order_number: &OrderNumber) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query("UPDATE orders SET pickup_failures = 0 WHERE order_number = $1")
                            .bind(order_number.as_str()),
                    )
                    .await?;
                conflict(n, "no such order")
            }

            async fn attach_document(
                &mut self,
                d: &DocumentRecord,
                content: &[u8],
            ) -> Result<i64, StoreError> {
                self.exec(
                    sqlx::query(
                        "INSERT INTO blobs (sha256, content) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING",
                    )
                    .bind(&d.sha256)
                    .bind(content),
                )
                .await?;
                let row = self
                    .one(
                        sqlx::query(
                            "INSERT INTO documents (order_number, kind, sha256, media_type, size, uploaded_by, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                        )
                        .bind(d.order_number.as_str())
                        .bind(d.kind.as_str())
                        .bind(&d.sha256)
                        .bind(&d.media_type)
                        .bind(i64::try_from(d.size).unwrap_or(i64::MAX))
                        .bind(d.uploaded_by)
                        .bind(d.created_at.unix_timestamp()),
                    )
                    .await?;
                Ok(row.try_get("id")?)
            }

            async fn copy_documents(&mut self, from: &OrderNumber, to: &OrderNumber) -> Result<u64, StoreError> {
                self.exec(
                    sqlx::query(
                        "INSERT INTO documents (order_number, kind, sha256, media_type, size, uploaded_by, created_at) \
                         SELECT $1, kind, sha256, media_type, size, uploaded_by, created_at FROM documents WHERE order_number = $2",
                    )
                    .bind(to.as_str())
                    .bind(from.as_str()),
                )
                .await
            }

            async fn add_order_event(
                &mut self,
                order_number: &OrderNumber,
                e: &OrderEventRecord,
            ) -> Result<(), StoreError> {
                self.exec(
                    sqlx::query(
                        "INSERT INTO order_events (order_number, actor, kind, message, created_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(order_number.as_str())
                    .bind(e.actor)
                    .bind(&e.kind)
                    .bind(&e.message)
                    .bind(e.created_at.unix_timestamp()),
                )
                .await
                .map(|_| ())
            }
        }

    };
}
pub(crate) use orders_sql;
