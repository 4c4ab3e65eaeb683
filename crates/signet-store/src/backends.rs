//! The SQLite and PostgreSQL stores. Both run the same SQL (numbered `$n` placeholders, each used
//! once, in order, which both engines accept), so one macro writes both implementations.

use std::str::FromStr;

use async_trait::async_trait;
use signet_domain::serial::Serial;
use sqlx::Row;
use time::OffsetDateTime;

use crate::{CertificateRecord, Counts, IssuanceIntent, IssuanceState, Store, StoreError};

const INSERT_INTENT: &str = "INSERT INTO certificates \
    (serial, issuer, profile, subject, not_before, not_after, tbs, state, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, 'intent', $8, $9)";
const CLOSE_INTENT: &str = "UPDATE certificates SET der = $1, note = $2, state = $3, updated_at = $4 \
    WHERE serial = $5 AND state = 'intent'";

macro_rules! select_certificates {
    ($where:literal) => {
        concat!(
            "SELECT serial, issuer, profile, subject, not_before, not_after, tbs, der, state, note, created_at ",
            "FROM certificates ",
            $where
        )
    };
}
const SELECT_BY_SERIAL: &str = select_certificates!("WHERE serial = $1");
const SELECT_UNFINISHED: &str = select_certificates!("WHERE state = 'intent' ORDER BY created_at");
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
        },
        state,
        der: row.try_get("der")?,
        note: row.try_get("note")?,
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
    ($name:ident, $pool:ty, $options:ty, $migrations:literal, $doc:literal) => {
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
        }
    };
}

sql_store!(
    SqliteStore,
    sqlx::SqlitePool,
    sqlx::sqlite::SqliteConnectOptions,
    "./migrations/sqlite",
    "The embedded default: one SQLite file in the data directory."
);
sql_store!(
    PostgresStore,
    sqlx::PgPool,
    sqlx::postgres::PgConnectOptions,
    "./migrations/postgres",
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
