//! Operations: rate-limit counters, online backups and readiness probes.
//!
//! The traits here are what the application sees; `operations_sql!` implements them for both
//! backends with the same SQL (see [`crate::backends`]).

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{DumpKind, StoreError};

/// Rate limits, backups and readiness: bookkeeping outside the workflow.
#[async_trait]
pub trait Operations: Send + Sync {
    /// Counts one hit on `key` in a fixed window of `window` and returns the hits in the current
    /// window, this one included (atomic: concurrent hits all count).
    async fn hit(
        &self,
        key: &str,
        window: time::Duration,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;
    /// Takes one hit back from `key`'s current window (an attempt that turned out fine).
    async fn forgive(
        &self,
        key: &str,
        window: time::Duration,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The hits on `key` in its current window, without counting one.
    async fn hits(
        &self,
        key: &str,
        window: time::Duration,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;
    /// Writes a consistent copy of the whole database to `to` while it keeps serving: SQLite's
    /// online backup (`VACUUM INTO`, a database file) or PostgreSQL's `pg_dump` (a SQL script).
    async fn dump(&self, to: &std::path::Path) -> Result<DumpKind, StoreError>;
    /// Writes a row and reads it back: the store accepts writes.
    async fn probe(&self, node: &str, now: OffsetDateTime) -> Result<(), StoreError>;
    /// The next time-stamp token serial: 1, 2, 3 … unique across every node and never reused
    /// (RFC 3161 §2.4.2), drawn atomically.
    async fn next_time_stamp_serial(&self) -> Result<u64, StoreError>;
    /// Takes or renews `node`'s lease on background job `job` until `until`: `true` when the
    /// job was free, lapsed at `now`, or already `node`'s; `false` while another node holds it.
    async fn lease_job(
        &self,
        job: &str,
        node: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Gives back `node`'s lease on `job` (nothing when another node holds it).
    async fn release_job(&self, job: &str, node: &str) -> Result<(), StoreError>;
}

/// Implements the traits above for a backend (called by `sql_store!`).
macro_rules! operations_sql {
    ($name:ident, $txname:ident, $db:ty, $row:ty, $concat_entries:literal, $lock:literal, $share:literal, $skip_locked:literal, $read_only_check:literal) => {
        #[async_trait]
        impl Operations for $name {
            async fn hit(
                &self,
                key: &str,
                window: time::Duration,
                now: OffsetDateTime,
            ) -> Result<u64, StoreError> {
                let start = window_start(now, window);
                let mut conn = self.pool.acquire().await?;
                let row = sqlx::query(
                    "INSERT INTO rate_limits (key, window_start, hits) VALUES ($1, $2, 1) \
                     ON CONFLICT (key) DO UPDATE SET \
                     hits = CASE WHEN rate_limits.window_start = excluded.window_start THEN rate_limits.hits + 1 ELSE 1 END, \
                     window_start = excluded.window_start RETURNING hits",
                )
                .bind(key)
                .bind(start)
                .fetch_one(&mut *conn)
                .await;
                match row {
                    Ok(r) => Ok(unsigned(r.try_get("hits")?)),
                    Err(e) => {
                        self.failures.record();
                        conn.close_on_drop();
                        Err(e.into())
                    }
                }
            }

            async fn forgive(
                &self,
                key: &str,
                window: time::Duration,
                now: OffsetDateTime,
            ) -> Result<(), StoreError> {
                self.write(
                    sqlx::query(
                        "UPDATE rate_limits SET hits = hits - 1 WHERE key = $1 AND window_start = $2 AND hits > 0",
                    )
                    .bind(key)
                    .bind(window_start(now, window)),
                )
                .await
                .map(|_| ())
            }

            async fn next_time_stamp_serial(&self) -> Result<u64, StoreError> {
                let mut conn = self.pool.acquire().await?;
                let value = sqlx::query_scalar::<_, i64>(
                    "UPDATE time_stamp_serial SET value = value + 1 WHERE id = 1 RETURNING value",
                )
                .fetch_one(&mut *conn)
                .await;
                match value {
                    Ok(v) => Ok(unsigned(v)),
                    Err(e) => {
                        self.failures.record();
                        conn.close_on_drop();
                        Err(e.into())
                    }
                }
            }

            async fn hits(
                &self,
                key: &str,
                window: time::Duration,
                now: OffsetDateTime,
            ) -> Result<u64, StoreError> {
                let row = sqlx::query("SELECT window_start, hits FROM rate_limits WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match row {
                    Some(r) if r.try_get::<i64, _>("window_start")? == window_start(now, window) => {
                        unsigned(r.try_get("hits")?)
                    }
                    _ => 0,
                })
            }

            async fn lease_job(
                &self,
                job: &str,
                node: &str,
                now: OffsetDateTime,
                until: OffsetDateTime,
            ) -> Result<bool, StoreError> {
                let taken = self
                    .write(
                        sqlx::query(
                            "INSERT INTO job_leases (job, holder, lease_until) VALUES ($1, $2, $3) \
                             ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until \
                             WHERE job_leases.lease_until <= $4 OR job_leases.holder = excluded.holder",
                        )
                        .bind(job)
                        .bind(node)
                        .bind(until.unix_timestamp())
                        .bind(now.unix_timestamp()),
                    )
                    .await?;
                Ok(taken == 1)
            }

            async fn release_job(&self, job: &str, node: &str) -> Result<(), StoreError> {
                self.write(
                    sqlx::query("DELETE FROM job_leases WHERE job = $1 AND holder = $2")
                        .bind(job)
                        .bind(node),
                )
                .await
                .map(|_| ())
            }

            async fn dump(&self, to: &std::path::Path) -> Result<DumpKind, StoreError> {
                self.dump_to(to).await
            }

            async fn probe(&self, node: &str, now: OffsetDateTime) -> Result<(), StoreError> {
                let mut tx = self.start().await?;
                tx.exec(
                    sqlx::query(
                        "INSERT INTO probes (node, at) VALUES ($1, $2) \
                         ON CONFLICT (node) DO UPDATE SET at = excluded.at",
                    )
                    .bind(node)
                    .bind(now.unix_timestamp()),
                )
                .await?;
                tx.finish().await
            }
        }

    };
}
pub(crate) use operations_sql;
