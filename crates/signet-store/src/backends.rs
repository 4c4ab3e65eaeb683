//! The SQLite and PostgreSQL stores. Both run the same SQL (numbered `$n` placeholders, each used
//! once, in order, which both engines accept), so one macro writes both implementations.

use std::ops::ControlFlow;
use std::str::FromStr;

use futures_util::TryStreamExt;

use async_trait::async_trait;
use signet_domain::serial::Serial;
use sqlx::Row;
use time::OffsetDateTime;

use crate::model::{
    Account, AlertRecord, AuditEntry, CrlRecord, DocumentRecord, NewAccount, OcspRecord,
    OrderEventRecord, OrderRecord, RelyingServiceRecord, RevokedRecord, StatusRecord,
    SupportRequestRecord, TokenRecord,
};
use crate::{CertificateRecord, Counts, IssuanceIntent, IssuanceState, Store, StoreError};

macro_rules! select_accounts {
    ($where:literal) => {
        concat!(
            "SELECT id, email, name, role, region, password_hash, email_confirmed, failed_logins, last_failed_login, ",
            "totp_secret, totp_enabled, totp_last_step ",
            "FROM accounts ",
            $where
        )
    };
}
macro_rules! select_orders {
    ($where:literal) => {
        concat!(
            "SELECT order_number, product, identity_json, approval_email, approval_confirmed, pickup_password_hash, ",
            "validity_months, key_type, channel, country, placed_by, attested_by, status, ready_since, pickup_failures, ",
            "certificate_serial, previous_order, created_at, updated_at, order_kind, fixed_not_after FROM orders ",
            $where
        )
    };
}
macro_rules! select_tokens {
    ($where:literal) => {
        concat!(
            "SELECT purpose, account_id, order_number, expires_at FROM tokens ",
            $where
        )
    };
}
const INSERT_ORDER: &str = "INSERT INTO orders (order_number, product, identity_json, approval_email, approval_confirmed, \
    pickup_password_hash, validity_months, key_type, channel, country, placed_by, attested_by, status, ready_since, \
    pickup_failures, certificate_serial, previous_order, created_at, updated_at, order_kind, fixed_not_after) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)";

fn opt_time(secs: Option<i64>) -> Result<Option<OffsetDateTime>, StoreError> {
    secs.map(time).transpose()
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn duplicate(e: sqlx::Error, what: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Duplicate(what.to_owned())
        }
        _ => StoreError::Database(e),
    }
}

const INSERT_INTENT: &str = "INSERT INTO certificates \
    (serial, issuer, profile, subject, not_before, not_after, tbs, state, created_at, updated_at, crl_shard) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, 'intent', $8, $9, $10)";
const CLOSE_INTENT: &str = "UPDATE certificates SET der = $1, note = $2, state = $3, updated_at = $4 \
    WHERE serial = $5 AND state = 'intent'";

macro_rules! select_certificates {
    ($where:literal) => {
        concat!(
            "SELECT serial, issuer, profile, subject, not_before, not_after, tbs, der, state, note, created_at, ",
            "revoked_at, revocation_reason, crl_shard ",
            "FROM certificates ",
            $where
        )
    };
}
const SELECT_BY_SERIAL: &str = select_certificates!("WHERE serial = $1");
const SELECT_UNFINISHED: &str = select_certificates!("WHERE state = 'intent' ORDER BY created_at");
const UPSERT_OCSP_CONFLICT: &str = " ON CONFLICT (serial) DO UPDATE SET issuer = excluded.issuer, \
    this_update = excluded.this_update, next_update = excluded.next_update, der = excluded.der";
/// Rows per multi-row upsert (5 parameters each; far below either engine's parameter limit).
const OCSP_ROWS_PER_STATEMENT: usize = 200;
/// Entries per chunk of a CRL (about 50 bytes each).
const CRL_CHUNK: i64 = 50_000;
// Keyset pagination (`c.serial > $3`): each batch starts where the last ended instead of
// rescanning the rows already refreshed.
const SELECT_NEEDING_OCSP: &str = concat!(
    "SELECT c.serial, c.issuer, c.revoked_at, c.revocation_reason FROM certificates c ",
    "LEFT JOIN ocsp_responses o ON o.serial = c.serial ",
    "WHERE c.state = 'issued' AND c.profile NOT LIKE 'ca:%' AND c.not_after > $1 ",
    "AND (o.serial IS NULL OR o.this_update < $2) AND c.serial > $3 ORDER BY c.serial LIMIT $4"
);
const SELECT_EXPIRING: &str = select_certificates!(
    "WHERE state = 'issued' AND revoked_at IS NULL AND not_after >= $1 AND not_after < $2 AND profile NOT LIKE 'ca:%' ORDER BY not_after"
);
const COUNT_STATES: &str = "SELECT state, COUNT(*) AS n FROM certificates GROUP BY state";

fn time(secs: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {secs}: {e}")))
}

fn record<R: Row>(row: &R) -> Result<CertificateRecord, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Vec<u8>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<Vec<u8>>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let serial: String = row.try_get("serial")?;
    let state: String = row.try_get("state")?;
    let state = match state.as_str() {
        "intent" => IssuanceState::Intent,
        "issued" => IssuanceState::Issued,
        "abandoned" => IssuanceState::Abandoned,
        other => {
            return Err(StoreError::Corrupt(format!(
                "unknown state `{other}` for serial {serial}"
            )));
        }
    };
    Ok(CertificateRecord {
        intent: IssuanceIntent {
            serial: Serial::from_str(&serial).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            issuer: row.try_get("issuer")?,
            profile: row.try_get("profile")?,
            subject: row.try_get("subject")?,
            not_before: time(row.try_get("not_before")?)?,
            not_after: time(row.try_get("not_after")?)?,
            tbs_der: row.try_get("tbs")?,
            created_at: time(row.try_get("created_at")?)?,
            crl_shard: count(row.try_get("crl_shard")?),
        },
        state,
        der: row.try_get("der")?,
        note: row.try_get("note")?,
        revoked_at: opt_time(row.try_get("revoked_at")?)?,
        revocation_reason: row.try_get("revocation_reason")?,
    })
}

fn unique_violation(e: sqlx::Error, serial: &Serial) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::SerialTaken(serial.to_hex())
        }
        _ => StoreError::Database(e),
    }
}

macro_rules! sql_store {
    ($name:ident, $pool:ty, $options:ty, $row:ty, $migrations:literal, $concat_entries:literal, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone)]
        pub struct $name {
            pool: $pool,
        }

        impl $name {
            /// Connects and applies pending migrations.
            pub async fn open(url: &str) -> Result<Self, StoreError> {
                let options = <$options>::from_str(url)?;
                let pool = <$pool>::connect_with(Self::tune(options)).await?;
                sqlx::migrate!($migrations).run(&pool).await?;
                Ok($name { pool })
            }

            /// Completes or abandons an open intent; refuses if none is open for the serial.
            async fn close_intent(
                &self,
                serial: &Serial,
                der: Option<&[u8]>,
                note: Option<&str>,
                state: &str,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                let done = sqlx::query(CLOSE_INTENT)
                    .bind(der)
                    .bind(note)
                    .bind(state)
                    .bind(at.unix_timestamp())
                    .bind(serial.to_hex())
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::NoOpenIntent(serial.to_hex()));
                }
                Ok(())
            }

            fn account_row(row: &$row) -> Result<Account, StoreError> {
                Ok(Account {
                    id: row.try_get("id")?,
                    email: row.try_get("email")?,
                    name: row.try_get("name")?,
                    role: row.try_get("role")?,
                    region: row.try_get("region")?,
                    password_hash: row.try_get("password_hash")?,
                    email_confirmed: row.try_get::<i64, _>("email_confirmed")? != 0,
                    failed_logins: count(row.try_get("failed_logins")?),
                    last_failed_login: opt_time(row.try_get("last_failed_login")?)?,
                    totp_secret: row.try_get("totp_secret")?,
                    totp_enabled: row.try_get::<i64, _>("totp_enabled")? != 0,
                    totp_last_step: row.try_get("totp_last_step")?,
                })
            }

            fn support_row(r: &$row) -> Result<SupportRequestRecord, StoreError> {
                Ok(SupportRequestRecord {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    email: r.try_get("email")?,
                    order_number: r.try_get("order_number")?,
                    message: r.try_get("message")?,
                    created_at: time(r.try_get("created_at")?)?,
                    answered_at: opt_time(r.try_get("answered_at")?)?,
                })
            }

            fn order_row(row: &$row) -> Result<OrderRecord, StoreError> {
                Ok(OrderRecord {
                    order_number: row.try_get("order_number")?,
                    product: row.try_get("product")?,
                    identity_json: row.try_get("identity_json")?,
                    approval_email: row.try_get("approval_email")?,
                    approval_confirmed: row.try_get::<i64, _>("approval_confirmed")? != 0,
                    pickup_password_hash: row.try_get("pickup_password_hash")?,
                    validity_months: count(row.try_get("validity_months")?),
                    key_type: row.try_get("key_type")?,
                    channel: row.try_get("channel")?,
                    country: row.try_get("country")?,
                    placed_by: row.try_get("placed_by")?,
                    attested_by: row.try_get("attested_by")?,
                    status: row.try_get("status")?,
                    ready_since: opt_time(row.try_get("ready_since")?)?,
                    pickup_failures: count(row.try_get("pickup_failures")?),
                    certificate_serial: row.try_get("certificate_serial")?,
                    previous_order: row.try_get("previous_order")?,
                    created_at: time(row.try_get("created_at")?)?,
                    updated_at: time(row.try_get("updated_at")?)?,
                    order_kind: row.try_get("order_kind")?,
                    fixed_not_after: opt_time(row.try_get("fixed_not_after")?)?,
                })
            }

            fn token_row(row: &$row) -> Result<TokenRecord, StoreError> {
                Ok(TokenRecord {
                    purpose: row.try_get("purpose")?,
                    account_id: row.try_get("account_id")?,
                    order_number: row.try_get("order_number")?,
                    expires_at: time(row.try_get("expires_at")?)?,
                })
            }

            fn document_row(row: &$row) -> Result<DocumentRecord, StoreError> {
                Ok(DocumentRecord {
                    id: row.try_get("id")?,
                    order_number: row.try_get("order_number")?,
                    kind: row.try_get("kind")?,
                    sha256: row.try_get("sha256")?,
                    media_type: row.try_get("media_type")?,
                    size: u64::try_from(row.try_get::<i64, _>("size")?).unwrap_or(0),
                    uploaded_by: row.try_get("uploaded_by")?,
                    created_at: time(row.try_get("created_at")?)?,
                })
            }

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

            async fn orders_where(&self, query: &'static str, value: &str) -> Result<Vec<OrderRecord>, StoreError> {
                let rows = sqlx::query(query).bind(value).fetch_all(&self.pool).await?;
                rows.iter().map(Self::order_row).collect()
            }

            async fn execute_one(&self, query: sqlx::query::Query<'_, <$pool as PoolDatabase>::Db, <<$pool as PoolDatabase>::Db as sqlx::Database>::Arguments>, what: &str) -> Result<(), StoreError> {
                let done = query.execute(&self.pool).await?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Conflict(what.to_owned()));
                }
                Ok(())
            }
        }

        #[async_trait]
        impl Store for $name {
            async fn record_issuance_intent(&self, i: &IssuanceIntent) -> Result<(), StoreError> {
                sqlx::query(INSERT_INTENT)
                    .bind(i.serial.to_hex())
                    .bind(&i.issuer)
                    .bind(&i.profile)
                    .bind(&i.subject)
                    .bind(i.not_before.unix_timestamp())
                    .bind(i.not_after.unix_timestamp())
                    .bind(&i.tbs_der)
                    .bind(i.created_at.unix_timestamp())
                    .bind(i.created_at.unix_timestamp())
                    .bind(i64::from(i.crl_shard))
                    .execute(&self.pool)
                    .await
                    .map_err(|e| unique_violation(e, &i.serial))?;
                Ok(())
            }

            async fn record_issued(
                &self,
                serial: &Serial,
                der: &[u8],
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                self.close_intent(serial, Some(der), None, "issued", at)
                    .await
            }

            async fn abandon_intent(
                &self,
                serial: &Serial,
                reason: &str,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                self.close_intent(serial, None, Some(reason), "abandoned", at)
                    .await
            }

            async fn certificate(
                &self,
                serial: &Serial,
            ) -> Result<Option<CertificateRecord>, StoreError> {
                let row = sqlx::query(SELECT_BY_SERIAL)
                    .bind(serial.to_hex())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(record).transpose()
            }

            async fn unfinished_intents(&self) -> Result<Vec<IssuanceIntent>, StoreError> {
                let rows = sqlx::query(SELECT_UNFINISHED).fetch_all(&self.pool).await?;
                rows.iter().map(|r| record(r).map(|c| c.intent)).collect()
            }

            async fn counts(&self) -> Result<Counts, StoreError> {
                let rows = sqlx::query(COUNT_STATES).fetch_all(&self.pool).await?;
                let mut counts = Counts::default();
                for row in rows {
                    let state: String = row.try_get("state")?;
                    let n = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
                    match state.as_str() {
                        "intent" => counts.intents = n,
                        "issued" => counts.issued = n,
                        _ => counts.abandoned = n,
                    }
                }
                Ok(counts)
            }

            async fn create_account(&self, a: &NewAccount) -> Result<i64, StoreError> {
                let row = sqlx::query(
                    "INSERT INTO accounts (email, name, role, region, password_hash, email_confirmed, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(&a.email)
                .bind(&a.name)
                .bind(&a.role)
                .bind(&a.region)
                .bind(&a.password_hash)
                .bind(i64::from(a.email_confirmed))
                .bind(a.created_at.unix_timestamp())
                .fetch_one(&self.pool)
                .await
                .map_err(|e| duplicate(e, &format!("an account for {}", a.email)))?;
                Ok(row.try_get("id")?)
            }

            async fn account(&self, id: i64) -> Result<Option<Account>, StoreError> {
                let row = sqlx::query(select_accounts!("WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(Self::account_row).transpose()
            }

            async fn account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
                let row = sqlx::query(select_accounts!("WHERE email = $1")).bind(email).fetch_optional(&self.pool).await?;
                row.as_ref().map(Self::account_row).transpose()
            }

            async fn confirm_account_email(&self, id: i64) -> Result<(), StoreError> {
                let q = sqlx::query("UPDATE accounts SET email_confirmed = 1 WHERE id = $1").bind(id);
                self.execute_one(q, "no such account").await
            }

            async fn set_password(&self, id: i64, password_hash: &str) -> Result<(), StoreError> {
                let q = sqlx::query(
                    "UPDATE accounts SET password_hash = $1, email_confirmed = 1, failed_logins = 0 WHERE id = $2",
                )
                .bind(password_hash)
                .bind(id);
                self.execute_one(q, "no such account").await
            }

            async fn record_login_failure(&self, id: i64, at: OffsetDateTime) -> Result<(), StoreError> {
                let q = sqlx::query(
                    "UPDATE accounts SET failed_logins = failed_logins + 1, last_failed_login = $1 WHERE id = $2",
                )
                .bind(at.unix_timestamp())
                .bind(id);
                self.execute_one(q, "no such account").await
            }

            async fn clear_login_failures(&self, id: i64) -> Result<(), StoreError> {
                let q = sqlx::query("UPDATE accounts SET failed_logins = 0 WHERE id = $1").bind(id);
                self.execute_one(q, "no such account").await
            }

            async fn create_session(&self, hash: &str, account: i64, expires_at: OffsetDateTime, at: OffsetDateTime) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO sessions (hash, account_id, expires_at, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(hash)
                    .bind(account)
                    .bind(expires_at.unix_timestamp())
                    .bind(at.unix_timestamp())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn session_account(&self, hash: &str, now: OffsetDateTime) -> Result<Option<i64>, StoreError> {
                let row = sqlx::query("SELECT account_id FROM sessions WHERE hash = $1 AND expires_at > $2")
                    .bind(hash)
                    .bind(now.unix_timestamp())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.try_get("account_id")).transpose()?)
            }

            async fn end_session(&self, hash: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM sessions WHERE hash = $1").bind(hash).execute(&self.pool).await?;
                Ok(())
            }

            async fn create_token(&self, hash: &str, t: &TokenRecord, at: OffsetDateTime) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO tokens (hash, purpose, account_id, order_number, expires_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(hash)
                .bind(&t.purpose)
                .bind(t.account_id)
                .bind(&t.order_number)
                .bind(t.expires_at.unix_timestamp())
                .bind(at.unix_timestamp())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn live_token(&self, hash: &str, purpose: &str, now: OffsetDateTime) -> Result<Option<TokenRecord>, StoreError> {
                let row = sqlx::query(select_tokens!("WHERE hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3"))
                    .bind(hash)
                    .bind(purpose)
                    .bind(now.unix_timestamp())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::token_row).transpose()
            }

            async fn use_token(&self, hash: &str, purpose: &str, now: OffsetDateTime) -> Result<Option<TokenRecord>, StoreError> {
                let row = sqlx::query(
                    "UPDATE tokens SET used_at = $1 WHERE hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $4 \
                     RETURNING purpose, account_id, order_number, expires_at",
                )
                .bind(now.unix_timestamp())
                .bind(hash)
                .bind(purpose)
                .bind(now.unix_timestamp())
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(Self::token_row).transpose()
            }

            async fn restore_token(&self, hash: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE tokens SET used_at = NULL WHERE hash = $1").bind(hash).execute(&self.pool).await?;
                Ok(())
            }

            async fn create_order(&self, o: &OrderRecord) -> Result<(), StoreError> {
                sqlx::query(INSERT_ORDER)
                    .bind(&o.order_number)
                    .bind(&o.product)
                    .bind(&o.identity_json)
                    .bind(&o.approval_email)
                    .bind(i64::from(o.approval_confirmed))
                    .bind(&o.pickup_password_hash)
                    .bind(i64::from(o.validity_months))
                    .bind(&o.key_type)
                    .bind(&o.channel)
                    .bind(&o.country)
                    .bind(o.placed_by)
                    .bind(o.attested_by)
                    .bind(&o.status)
                    .bind(o.ready_since.map(OffsetDateTime::unix_timestamp))
                    .bind(i64::from(o.pickup_failures))
                    .bind(&o.certificate_serial)
                    .bind(&o.previous_order)
                    .bind(o.created_at.unix_timestamp())
                    .bind(o.updated_at.unix_timestamp())
                    .bind(&o.order_kind)
                    .bind(o.fixed_not_after.map(OffsetDateTime::unix_timestamp))
                    .execute(&self.pool)
                    .await
                    .map_err(|e| duplicate(e, &format!("order {}", o.order_number)))?;
                Ok(())
            }

            async fn order(&self, order_number: &str) -> Result<Option<OrderRecord>, StoreError> {
                let row = sqlx::query(select_orders!("WHERE order_number = $1"))
                    .bind(order_number)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::order_row).transpose()
            }

            async fn orders_placed_by(&self, account: i64) -> Result<Vec<OrderRecord>, StoreError> {
                let rows = sqlx::query(select_orders!("WHERE placed_by = $1 ORDER BY created_at DESC"))
                    .bind(account)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::order_row).collect()
            }

            async fn orders_in_country(&self, country: &str) -> Result<Vec<OrderRecord>, StoreError> {
                self.orders_where(select_orders!("WHERE country = $1 ORDER BY created_at DESC"), country).await
            }

            async fn orders_with_status(&self, status: &str) -> Result<Vec<OrderRecord>, StoreError> {
                self.orders_where(select_orders!("WHERE status = $1 ORDER BY created_at"), status).await
            }

            async fn transition_order(
                &self,
                order_number: &str,
                from: &str,
                to: &str,
                ready_since: Option<OffsetDateTime>,
                certificate_serial: Option<&str>,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                let q = sqlx::query(
                    "UPDATE orders SET status = $1, ready_since = COALESCE($2, ready_since), \
                     certificate_serial = COALESCE($3, certificate_serial), updated_at = $4 \
                     WHERE order_number = $5 AND status = $6",
                )
                .bind(to)
                .bind(ready_since.map(OffsetDateTime::unix_timestamp))
                .bind(certificate_serial)
                .bind(at.unix_timestamp())
                .bind(order_number)
                .bind(from);
                self.execute_one(q, "the order changed meanwhile; reload it and try again").await
            }

            async fn confirm_approval_email(&self, order_number: &str, at: OffsetDateTime) -> Result<(), StoreError> {
                let q = sqlx::query("UPDATE orders SET approval_confirmed = 1, updated_at = $1 WHERE order_number = $2")
                    .bind(at.unix_timestamp())
                    .bind(order_number);
                self.execute_one(q, "no such order").await
            }

            async fn record_attestation(&self, order_number: &str, agent: i64, at: OffsetDateTime) -> Result<(), StoreError> {
                let q = sqlx::query("UPDATE orders SET attested_by = $1, updated_at = $2 WHERE order_number = $3")
                    .bind(agent)
                    .bind(at.unix_timestamp())
                    .bind(order_number);
                self.execute_one(q, "no such order").await
            }

            async fn record_pickup_failure(&self, order_number: &str) -> Result<u32, StoreError> {
                let row = sqlx::query(
                    "UPDATE orders SET pickup_failures = pickup_failures + 1 WHERE order_number = $1 RETURNING pickup_failures",
                )
                .bind(order_number)
                .fetch_one(&self.pool)
                .await?;
                Ok(count(row.try_get("pickup_failures")?))
            }

            async fn reset_pickup_failures(&self, order_number: &str) -> Result<(), StoreError> {
                let q = sqlx::query("UPDATE orders SET pickup_failures = 0 WHERE order_number = $1").bind(order_number);
                self.execute_one(q, "no such order").await
            }

            async fn attach_document(&self, d: &DocumentRecord, content: &[u8]) -> Result<i64, StoreError> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("INSERT INTO blobs (sha256, content) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING")
                    .bind(&d.sha256)
                    .bind(content)
                    .execute(&mut *tx)
                    .await?;
                let row = sqlx::query(
                    "INSERT INTO documents (order_number, kind, sha256, media_type, size, uploaded_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(&d.order_number)
                .bind(&d.kind)
                .bind(&d.sha256)
                .bind(&d.media_type)
                .bind(i64::try_from(d.size).unwrap_or(i64::MAX))
                .bind(d.uploaded_by)
                .bind(d.created_at.unix_timestamp())
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(row.try_get("id")?)
            }

            async fn documents(&self, order_number: &str) -> Result<Vec<DocumentRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, order_number, kind, sha256, media_type, size, uploaded_by, created_at FROM documents \
                     WHERE order_number = $1 ORDER BY id",
                )
                .bind(order_number)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::document_row).collect()
            }

            async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
                let row = sqlx::query("SELECT content FROM blobs WHERE sha256 = $1").bind(sha256).fetch_optional(&self.pool).await?;
                Ok(row.map(|r| r.try_get("content")).transpose()?)
            }

            async fn add_order_event(&self, order_number: &str, e: &OrderEventRecord) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO order_events (order_number, actor, kind, message, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(order_number)
                    .bind(e.actor)
                    .bind(&e.kind)
                    .bind(&e.message)
                    .bind(e.created_at.unix_timestamp())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn order_events(&self, order_number: &str) -> Result<Vec<OrderEventRecord>, StoreError> {
                let rows = sqlx::query("SELECT actor, kind, message, created_at FROM order_events WHERE order_number = $1 ORDER BY id")
                    .bind(order_number)
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

            async fn last_audit_entry(&self) -> Result<Option<AuditEntry>, StoreError> {
                let row = sqlx::query(concat!(
                    "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log ",
                    "ORDER BY seq DESC LIMIT 1"
                ))
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(Self::audit_row).transpose()
            }

            async fn append_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(e.seq)
                .bind(e.at.unix_timestamp())
                .bind(&e.actor)
                .bind(&e.action)
                .bind(&e.subject)
                .bind(&e.detail)
                .bind(&e.prev_hash)
                .bind(&e.hash)
                .execute(&self.pool)
                .await
                .map_err(|err| match duplicate(err, "audit record") {
                    StoreError::Duplicate(_) => StoreError::Conflict(format!("audit record {} was appended concurrently", e.seq)),
                    other => other,
                })?;
                Ok(())
            }

            async fn revoke_certificate(&self, serial: &Serial, reason: &str, at: OffsetDateTime, crl_entry: &[u8]) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(
                    "UPDATE certificates SET revoked_at = $1, revocation_reason = $2, updated_at = $3, crl_entry = $4 \
                     WHERE serial = $5 AND state = 'issued' AND revoked_at IS NULL",
                )
                .bind(at.unix_timestamp())
                .bind(reason)
                .bind(at.unix_timestamp())
                .bind(crl_entry)
                .bind(serial.to_hex())
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Conflict("the certificate is not issued or is already revoked".to_owned()));
                }
                sqlx::query("UPDATE revocation_epoch SET value = value + 1 WHERE id = 1")
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn staff_accounts(&self) -> Result<Vec<Account>, StoreError> {
                let rows = sqlx::query(select_accounts!("WHERE role <> 'subscriber' ORDER BY email"))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::account_row).collect()
            }

            async fn clear_totp(&self, id: i64) -> Result<(), StoreError> {
                let q = sqlx::query(
                    "UPDATE accounts SET totp_secret = NULL, totp_enabled = 0, totp_last_step = NULL WHERE id = $1",
                )
                .bind(id);
                self.execute_one(q, "no such account").await
            }

            async fn set_totp_secret(&self, id: i64, sealed: &[u8]) -> Result<(), StoreError> {
                let q = sqlx::query(
                    "UPDATE accounts SET totp_secret = $1, totp_enabled = 0, totp_last_step = NULL WHERE id = $2",
                )
                .bind(sealed)
                .bind(id);
                self.execute_one(q, "no such account").await
            }

            async fn accept_totp_step(&self, id: i64, step: i64) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE accounts SET totp_last_step = $1, totp_enabled = 1 WHERE id = $2 \
                     AND totp_secret IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < $3)",
                )
                .bind(step)
                .bind(id)
                .bind(step)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn create_support_request(&self, r: &SupportRequestRecord) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar(
                    "INSERT INTO support_requests (name, email, order_number, message, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(&r.name)
                .bind(&r.email)
                .bind(&r.order_number)
                .bind(&r.message)
                .bind(r.created_at.unix_timestamp())
                .fetch_one(&self.pool)
                .await?)
            }

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

            async fn add_support_reply(
                &self,
                request_id: i64,
                answered_by: i64,
                message: &str,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO support_replies (request_id, answered_by, message, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(request_id)
                .bind(answered_by)
                .bind(message)
                .bind(at.unix_timestamp())
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE support_requests SET answered_at = $1 WHERE id = $2")
                    .bind(at.unix_timestamp())
                    .bind(request_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn create_alert(&self, a: &AlertRecord) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar(
                    "INSERT INTO alerts (kind, title, body, starts_at, ends_at, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(&a.kind)
                .bind(&a.title)
                .bind(&a.body)
                .bind(a.starts_at.unix_timestamp())
                .bind(a.ends_at.map(OffsetDateTime::unix_timestamp))
                .bind(a.created_by)
                .bind(a.created_at.unix_timestamp())
                .fetch_one(&self.pool)
                .await?)
            }

            async fn end_alert(&self, id: i64, at: OffsetDateTime) -> Result<(), StoreError> {
                let q = sqlx::query("UPDATE alerts SET ends_at = $1 WHERE id = $2")
                    .bind(at.unix_timestamp())
                    .bind(id);
                self.execute_one(q, "no such alert").await
            }

            async fn alerts(&self, limit: u32) -> Result<Vec<AlertRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, kind, title, body, starts_at, ends_at, created_by, created_at FROM alerts \
                     ORDER BY starts_at DESC, id DESC LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(AlertRecord {
                            id: r.try_get("id")?,
                            kind: r.try_get("kind")?,
                            title: r.try_get("title")?,
                            body: r.try_get("body")?,
                            starts_at: time(r.try_get("starts_at")?)?,
                            ends_at: opt_time(r.try_get("ends_at")?)?,
                            created_by: r.try_get("created_by")?,
                            created_at: time(r.try_get("created_at")?)?,
                        })
                    })
                    .collect()
            }

            async fn create_relying_service(&self, s: &RelyingServiceRecord) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar(
                    "INSERT INTO relying_services (name, url, accepts_from, accepts_until, note, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(&s.name)
                .bind(&s.url)
                .bind(s.accepts_from.unix_timestamp())
                .bind(s.accepts_until.map(OffsetDateTime::unix_timestamp))
                .bind(&s.note)
                .bind(s.created_at.unix_timestamp())
                .fetch_one(&self.pool)
                .await?)
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

            async fn order_status_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
                let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM orders GROUP BY status ORDER BY status")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| Ok((r.try_get("status")?, r.try_get::<i64, _>("n")?.unsigned_abs())))
                    .collect()
            }

            async fn issuance_times_since(&self, since: OffsetDateTime) -> Result<Vec<OffsetDateTime>, StoreError> {
                let rows: Vec<i64> = sqlx::query_scalar(
                    "SELECT not_before FROM certificates WHERE state = 'issued' AND profile NOT LIKE 'ca:%' AND not_before >= $1",
                )
                .bind(since.unix_timestamp())
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(time).collect()
            }

            async fn revocation_epoch(&self) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar("SELECT value FROM revocation_epoch WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn order_for_certificate(&self, serial: &str) -> Result<Option<OrderRecord>, StoreError> {
                Ok(self.orders_where(select_orders!("WHERE certificate_serial = $1"), serial).await?.into_iter().next())
            }

            async fn certificates_expiring(&self, from: OffsetDateTime, to: OffsetDateTime) -> Result<Vec<CertificateRecord>, StoreError> {
                let rows = sqlx::query(SELECT_EXPIRING)
                    .bind(from.unix_timestamp())
                    .bind(to.unix_timestamp())
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(record).collect()
            }

            async fn record_reminder(&self, serial: &str, kind: &str, at: OffsetDateTime) -> Result<bool, StoreError> {
                let done = sqlx::query("INSERT INTO reminders (serial, kind, sent_at) VALUES ($1, $2, $3) ON CONFLICT (serial, kind) DO NOTHING")
                    .bind(serial)
                    .bind(kind)
                    .bind(at.unix_timestamp())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn copy_documents(&self, from: &str, to: &str) -> Result<u64, StoreError> {
                let done = sqlx::query(
                    "INSERT INTO documents (order_number, kind, sha256, media_type, size, uploaded_by, created_at) \
                     SELECT $1, kind, sha256, media_type, size, uploaded_by, created_at FROM documents WHERE order_number = $2",
                )
                .bind(to)
                .bind(from)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            }

            async fn next_crl_number(&self, issuer: &str, shard: u32) -> Result<u64, StoreError> {
                let row = sqlx::query(
                    "INSERT INTO crl_numbers (issuer, shard, last_number) VALUES ($1, $2, 1) \
                     ON CONFLICT (issuer, shard) DO UPDATE SET last_number = crl_numbers.last_number + 1 \
                     RETURNING last_number",
                )
                .bind(issuer)
                .bind(i64::from(shard))
                .fetch_one(&self.pool)
                .await?;
                Ok(u64::try_from(row.try_get::<i64, _>("last_number")?).unwrap_or(0))
            }

            async fn store_crl(&self, c: &CrlRecord) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO crls (issuer, shard, number, this_update, next_update, der) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&c.issuer)
                .bind(i64::from(c.shard))
                .bind(i64::try_from(c.number).unwrap_or(i64::MAX))
                .bind(c.this_update.unix_timestamp())
                .bind(c.next_update.unix_timestamp())
                .bind(&c.der)
                .execute(&self.pool)
                .await
                .map_err(|e| duplicate(e, &format!("CRL {} of {}/{}", c.number, c.issuer, c.shard)))?;
                Ok(())
            }

            async fn latest_crl(&self, issuer: &str, shard: u32) -> Result<Option<CrlRecord>, StoreError> {
                let row = sqlx::query(
                    "SELECT number, this_update, next_update, der FROM crls WHERE issuer = $1 AND shard = $2 \
                     ORDER BY number DESC LIMIT 1",
                )
                .bind(issuer)
                .bind(i64::from(shard))
                .fetch_optional(&self.pool)
                .await?;
                row.map(|r| {
                    Ok(CrlRecord {
                        issuer: issuer.to_owned(),
                        shard,
                        number: u64::try_from(r.try_get::<i64, _>("number")?).unwrap_or(0),
                        this_update: time(r.try_get("this_update")?)?,
                        next_update: time(r.try_get("next_update")?)?,
                        der: r.try_get("der")?,
                    })
                })
                .transpose()
            }

            async fn revoked_certificates(&self, issuer: &str) -> Result<Vec<RevokedRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT serial, revoked_at, revocation_reason, crl_shard FROM certificates \
                     WHERE issuer = $1 AND revoked_at IS NOT NULL ORDER BY serial",
                )
                .bind(issuer)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(RevokedRecord {
                            serial: r.try_get("serial")?,
                            crl_shard: count(r.try_get("crl_shard")?),
                            revoked_at: time(r.try_get("revoked_at")?)?,
                            reason: r.try_get("revocation_reason")?,
                        })
                    })
                    .collect()
            }

            async fn for_each_revoked_in_shard(
                &self,
                issuer: &str,
                shard: u32,
                each: &mut (dyn FnMut(RevokedRecord) -> ControlFlow<()> + Send),
            ) -> Result<u64, StoreError> {
                let mut rows = sqlx::query(
                    "SELECT serial, revoked_at, revocation_reason FROM certificates \
                     WHERE issuer = $1 AND crl_shard = $2 AND revoked_at IS NOT NULL AND crl_entry IS NULL",
                )
                .bind(issuer)
                .bind(i64::from(shard))
                .fetch(&self.pool);
                let mut passed = 0;
                while let Some(r) = rows.try_next().await? {
                    passed += 1;
                    // By position: a million rows make the name lookups show.
                    let record = RevokedRecord {
                        serial: r.try_get(0)?,
                        crl_shard: shard,
                        revoked_at: time(r.try_get(1)?)?,
                        reason: r.try_get(2)?,
                    };
                    if each(record).is_break() {
                        break;
                    }
                }
                Ok(passed)
            }

            async fn for_each_crl_entry_chunk(
                &self,
                issuer: &str,
                shard: u32,
                each: &mut (dyn for<'b> FnMut(&'b [u8]) -> ControlFlow<()> + Send),
            ) -> Result<u64, StoreError> {
                // Keyset chunks, concatenated by the database: a million entries cross the driver
                // as a few dozen values instead of a million rows.
                let mut after = String::new();
                let mut passed = 0;
                loop {
                    let row = sqlx::query(concat!(
                        "SELECT ", $concat_entries, ", MAX(serial), COUNT(*) FROM (",
                        "SELECT serial, crl_entry FROM certificates WHERE issuer = $1 AND crl_shard = $2 ",
                        "AND revoked_at IS NOT NULL AND crl_entry IS NOT NULL AND serial > $3 ",
                        "ORDER BY serial LIMIT $4) chunk"
                    ))
                    .bind(issuer)
                    .bind(i64::from(shard))
                    .bind(&after)
                    .bind(CRL_CHUNK)
                    .fetch_one(&self.pool)
                    .await?;
                    let n: i64 = row.try_get(2)?;
                    if n == 0 {
                        return Ok(passed);
                    }
                    passed += n.unsigned_abs();
                    let der: Vec<u8> = row.try_get(0)?;
                    if each(&der).is_break() {
                        return Ok(passed);
                    }
                    after = row.try_get(1)?;
                }
            }

            async fn store_ocsp_response(&self, r: &OcspRecord) -> Result<(), StoreError> {
                self.store_ocsp_responses(std::slice::from_ref(r)).await
            }

            async fn store_ocsp_responses(&self, responses: &[OcspRecord]) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await?;
                // Multi-row upserts: per-statement overhead, not the rows, bounded the refresh job.
                for rows in responses.chunks(OCSP_ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<<$pool as PoolDatabase>::Db>::new(
                        "INSERT INTO ocsp_responses (serial, issuer, this_update, next_update, der) ",
                    );
                    q.push_values(rows, |mut b, r| {
                        b.push_bind(r.serial.as_str())
                            .push_bind(r.issuer.as_str())
                            .push_bind(r.this_update.unix_timestamp())
                            .push_bind(r.next_update.unix_timestamp())
                            .push_bind(r.der.as_slice());
                    });
                    q.push(UPSERT_OCSP_CONFLICT);
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn ocsp_response(&self, serial: &str) -> Result<Option<OcspRecord>, StoreError> {
                let row = sqlx::query("SELECT issuer, this_update, next_update, der FROM ocsp_responses WHERE serial = $1")
                    .bind(serial)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| {
                    Ok(OcspRecord {
                        serial: serial.to_owned(),
                        issuer: r.try_get("issuer")?,
                        this_update: time(r.try_get("this_update")?)?,
                        next_update: time(r.try_get("next_update")?)?,
                        der: r.try_get("der")?,
                    })
                })
                .transpose()
            }

            async fn certificates_needing_ocsp(
                &self,
                stale_before: OffsetDateTime,
                now: OffsetDateTime,
                after: &str,
                limit: u32,
            ) -> Result<Vec<StatusRecord>, StoreError> {
                let rows = sqlx::query(SELECT_NEEDING_OCSP)
                    .bind(now.unix_timestamp())
                    .bind(stale_before.unix_timestamp())
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(StatusRecord {
                            serial: r.try_get("serial")?,
                            issuer: r.try_get("issuer")?,
                            revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(time).transpose()?,
                            reason: r.try_get("revocation_reason")?,
                        })
                    })
                    .collect()
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
        }
    };
}

sql_store!(
    SqliteStore,
    sqlx::SqlitePool,
    sqlx::sqlite::SqliteConnectOptions,
    sqlx::sqlite::SqliteRow,
    "./migrations/sqlite",
    // group_concat appends by length, so NUL octets in the entries survive; the cast keeps the bytes.
    "CAST(string_agg(crl_entry, '') AS BLOB)",
    "The embedded default: one SQLite file in the data directory."
);
sql_store!(
    PostgresStore,
    sqlx::PgPool,
    sqlx::postgres::PgConnectOptions,
    sqlx::postgres::PgRow,
    "./migrations/postgres",
    "string_agg(crl_entry, ''::bytea)",
    "PostgreSQL, for several Signet nodes sharing one database."
);

impl SqliteStore {
    fn tune(options: sqlx::sqlite::SqliteConnectOptions) -> sqlx::sqlite::SqliteConnectOptions {
        // WAL + full sync: a committed intent survives a power cut.
        options
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
            .foreign_keys(true)
    }
}

impl PostgresStore {
    fn tune(options: sqlx::postgres::PgConnectOptions) -> sqlx::postgres::PgConnectOptions {
        options.application_name("signet")
    }
}

/// The database type behind a pool, for helper signatures.
trait PoolDatabase {
    type Db: sqlx::Database;
}

impl<DB: sqlx::Database> PoolDatabase for sqlx::Pool<DB> {
    type Db = DB;
}
