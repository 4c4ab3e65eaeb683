//! Revocation and its derived data: revoking a certificate, the CRL shards and the pre-signed OCSP responses.
//!
//! The traits here are what the application sees; `revocation_sql!` implements them for both
//! backends with the same SQL (see [`crate::backends`]).

use std::ops::ControlFlow;

use async_trait::async_trait;
use signet_domain::certificate::RevocationReason;
use signet_domain::serial::Serial;
use time::OffsetDateTime;

use crate::StoreError;
use crate::model::*;

/// Reads of revocations, CRLs and OCSP responses.
#[async_trait]
pub trait RevocationReads: Send + Sync {
    /// The newest CRL of a shard.
    async fn latest_crl(&self, issuer: &str, shard: u32) -> Result<Option<CrlRecord>, StoreError>;
    /// Shards (issuer, shard) with a revocation that their newest CRL does not cover.
    async fn shards_behind_revocations(&self) -> Result<Vec<(String, u32)>, StoreError>;
    /// Every revoked certificate an issuer signed.
    async fn revoked_certificates(&self, issuer: &str) -> Result<Vec<RevokedRecord>, StoreError>;
    /// A number that grows with every revocation (any node, any process).
    async fn revocation_epoch(&self) -> Result<i64, StoreError>;
    /// The pre-signed OCSP response for a serial (upper-case hex), if one is stored.
    async fn ocsp_response(&self, serial: &str) -> Result<Option<OcspRecord>, StoreError>;
    /// Unexpired subscriber certificates whose response is missing or was signed before
    /// `stale_before`, in serial order after `after`, at most `limit`.
    async fn certificates_needing_ocsp(
        &self,
        stale_before: OffsetDateTime,
        now: OffsetDateTime,
        after: &str,
        limit: u32,
    ) -> Result<Vec<StatusRecord>, StoreError>;
}

/// CRLs and OCSP responses: derived from the revocations, written outside a unit of work.
#[async_trait]
pub trait RevocationData: Send + Sync {
    /// Allocates a shard's next CRL number and reads what it must list, in one transaction
    /// that holds the shard's number row: a CRL numbered higher never lists less. `each` gets
    /// the stored entries concatenated in chunks and may stop early.
    async fn crl_snapshot(
        &self,
        issuer: &str,
        shard: u32,
        each: &mut (dyn for<'b> FnMut(CrlChunk<'b>) -> ControlFlow<()> + Send),
    ) -> Result<CrlSnapshot, StoreError>;
    /// Stores a signed CRL (numbers may arrive out of order; the highest is served).
    async fn store_crl(&self, crl: &CrlRecord) -> Result<(), StoreError>;
    /// Stores (or replaces) many responses in one transaction. A response signed before the
    /// certificate's latest revocation is dropped rather than stored: it would say "good".
    async fn store_ocsp_responses(&self, responses: &[OcspRecord]) -> Result<(), StoreError>;
}

/// Revocation, inside a unit of work.
#[async_trait]
pub trait RevocationWrites: Send {
    /// Revokes an issued certificate once, keeping its DER-encoded CRL entry and dropping its
    /// pre-signed OCSP response; [`StoreError::Conflict`] if it is not issued or already revoked.
    async fn revoke_certificate(
        &mut self,
        serial: &Serial,
        reason: RevocationReason,
        at: OffsetDateTime,
        crl_entry: &[u8],
    ) -> Result<(), StoreError>;
}

pub(crate) const UPSERT_OCSP_CONFLICT: &str = " ON CONFLICT (serial) DO UPDATE SET issuer = excluded.issuer, \
    this_update = excluded.this_update, next_update = excluded.next_update, der = excluded.der, \
    revoked = excluded.revoked";

/// Rows per multi-row statement (6 parameters each; far below either engine's parameter limit).
pub(crate) const OCSP_ROWS_PER_STATEMENT: usize = 200;

/// Entries per chunk of a CRL (about 50 bytes each).
pub(crate) const CRL_CHUNK: i64 = 50_000;

// Keyset pagination (`c.serial > $3`): each batch starts where the last ended instead of
// rescanning the rows already refreshed.
pub(crate) const SELECT_NEEDING_OCSP: &str = concat!(
    "SELECT c.serial, c.issuer, c.revoked_at, c.revocation_reason FROM certificates c ",
    "LEFT JOIN ocsp_responses o ON o.serial = c.serial ",
    "WHERE c.state = 'issued' AND c.profile NOT LIKE 'ca:%' AND c.not_after > $1 ",
    "AND (o.serial IS NULL OR o.this_update < $2) AND c.serial > $3 ORDER BY c.serial LIMIT $4"
);

pub(crate) const SHARDS_BEHIND: &str = concat!(
    "SELECT c.issuer, c.crl_shard FROM certificates c WHERE c.revoked_at IS NOT NULL ",
    "GROUP BY c.issuer, c.crl_shard HAVING MAX(c.revocation_seq) > COALESCE((SELECT r.covers_epoch FROM crls r ",
    "WHERE r.issuer = c.issuer AND r.shard = c.crl_shard ORDER BY r.number DESC LIMIT 1), -2) ",
    "ORDER BY c.issuer, c.crl_shard"
);

pub(crate) const BUMP_EPOCH: &str =
    "UPDATE revocation_epoch SET value = value + 1 WHERE id = 1 RETURNING value";

/// Implements the traits above for a backend (called by `sql_store!`).
macro_rules! revocation_sql {
    ($name:ident, $txname:ident, $db:ty, $row:ty, $concat_entries:literal, $lock:literal, $share:literal, $skip_locked:literal, $read_only_check:literal) => {
        #[async_trait]
        impl RevocationReads for $name {
            async fn latest_crl(&self, issuer: &str, shard: u32) -> Result<Option<CrlRecord>, StoreError> {
                let row = sqlx::query(
                    "SELECT number, this_update, next_update, der, covers_epoch FROM crls \
                     WHERE issuer = $1 AND shard = $2 ORDER BY number DESC LIMIT 1",
                )
                .bind(issuer)
                .bind(i64::from(shard))
                .fetch_optional(&self.pool)
                .await?;
                row.map(|r| {
                    Ok(CrlRecord {
                        issuer: issuer.to_owned(),
                        shard,
                        number: unsigned(r.try_get("number")?),
                        this_update: time(r.try_get("this_update")?)?,
                        next_update: time(r.try_get("next_update")?)?,
                        der: r.try_get("der")?,
                        covers_epoch: r.try_get("covers_epoch")?,
                    })
                })
                .transpose()
            }

            async fn shards_behind_revocations(&self) -> Result<Vec<(String, u32)>, StoreError> {
                let rows = sqlx::query(SHARDS_BEHIND).fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|r| Ok((r.try_get("issuer")?, count(r.try_get("crl_shard")?))))
                    .collect()
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
                            serial: stored("serial", &r.try_get::<String, _>("serial")?, Serial::from_str)?,
                            crl_shard: count(r.try_get("crl_shard")?),
                            revoked_at: time(r.try_get("revoked_at")?)?,
                            reason: opt_stored("revocation reason", r.try_get("revocation_reason")?, RevocationReason::parse)?,
                        })
                    })
                    .collect()
            }

            async fn revocation_epoch(&self) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar("SELECT value FROM revocation_epoch WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn ocsp_response(&self, serial: &str) -> Result<Option<OcspRecord>, StoreError> {
                let row = sqlx::query(
                    "SELECT issuer, this_update, next_update, der, revoked FROM ocsp_responses WHERE serial = $1",
                )
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
                        revoked: r.try_get::<i64, _>("revoked")? != 0,
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
                            serial: stored("serial", &r.try_get::<String, _>("serial")?, Serial::from_str)?,
                            issuer: r.try_get("issuer")?,
                            revoked_at: opt_time(r.try_get("revoked_at")?)?,
                            reason: opt_stored("revocation reason", r.try_get("revocation_reason")?, RevocationReason::parse)?,
                        })
                    })
                    .collect()
            }
        }

        #[async_trait]
        impl RevocationData for $name {
            async fn crl_snapshot(
                &self,
                issuer: &str,
                shard: u32,
                each: &mut (dyn for<'b> FnMut(CrlChunk<'b>) -> ControlFlow<()> + Send),
            ) -> Result<CrlSnapshot, StoreError> {
                let mut tx = self.start().await?;
                // The number row stays locked until this transaction ends: the next snapshot
                // of the shard starts after this one, and sees at least what it saw.
                let row = tx
                    .one(
                        sqlx::query(
                            "INSERT INTO crl_numbers (issuer, shard, last_number) VALUES ($1, $2, 1) \
                             ON CONFLICT (issuer, shard) DO UPDATE SET last_number = crl_numbers.last_number + 1 \
                             RETURNING last_number",
                        )
                        .bind(issuer)
                        .bind(i64::from(shard)),
                    )
                    .await?;
                let number = unsigned(row.try_get("last_number")?);
                // The epoch first: a revocation that commits after this read but before the
                // entries are read is listed, and the CRL claims one epoch too few (a harmless
                // rebuild), never the reverse.
                let epoch_row = tx
                    .one(sqlx::query("SELECT value FROM revocation_epoch WHERE id = 1"))
                    .await?;
                let covers_epoch: i64 = epoch_row.try_get("value")?;
                let mut entries = 0u64;
                let mut after = String::new();
                let mut stopped = false;
                while !stopped {
                    // Keyset chunks, concatenated by the database: a million entries cross the
                    // driver as a few dozen values instead of a million rows.
                    let row = tx
                        .one(
                            sqlx::query(concat!(
                                "SELECT ", $concat_entries, ", MAX(serial), COUNT(*) FROM (",
                                "SELECT serial, crl_entry FROM certificates WHERE issuer = $1 AND crl_shard = $2 ",
                                "AND revoked_at IS NOT NULL AND crl_entry IS NOT NULL AND serial > $3 ",
                                "ORDER BY serial LIMIT $4) chunk"
                            ))
                            .bind(issuer)
                            .bind(i64::from(shard))
                            .bind(&after)
                            .bind(CRL_CHUNK),
                        )
                        .await?;
                    let n: i64 = row.try_get(2)?;
                    if n == 0 {
                        break;
                    }
                    entries += unsigned(n);
                    let der: Vec<u8> = row.try_get(0)?;
                    stopped = each(CrlChunk::Encoded(&der)).is_break();
                    after = row.try_get(1)?;
                }
                // Certificates revoked before entries were stored are encoded by the caller.
                if !stopped {
                    let mut failed = None;
                    {
                        let mut rows = sqlx::query(
                            "SELECT serial, revoked_at, revocation_reason FROM certificates \
                             WHERE issuer = $1 AND crl_shard = $2 AND revoked_at IS NOT NULL AND crl_entry IS NULL",
                        )
                        .bind(issuer)
                        .bind(i64::from(shard))
                        .fetch(tx.c());
                        loop {
                            let r = match rows.try_next().await {
                                Ok(Some(r)) => r,
                                Ok(None) => break,
                                Err(e) => {
                                    failed = Some(e);
                                    break;
                                }
                            };
                            entries += 1;
                            // By position: a million rows make the name lookups show.
                            let record = RevokedRecord {
                                serial: stored("serial", &r.try_get::<String, _>(0)?, Serial::from_str)?,
                                crl_shard: shard,
                                revoked_at: time(r.try_get(1)?)?,
                                reason: opt_stored("revocation reason", r.try_get(2)?, RevocationReason::parse)?,
                            };
                            if each(CrlChunk::Unencoded(record)).is_break() {
                                break;
                            }
                        }
                    }
                    if let Some(e) = failed {
                        tx.check::<()>(Err(e))?;
                    }
                }
                tx.finish().await?;
                Ok(CrlSnapshot { number, covers_epoch, entries })
            }

            async fn store_crl(&self, c: &CrlRecord) -> Result<(), StoreError> {
                let q = sqlx::query(
                    "INSERT INTO crls (issuer, shard, number, this_update, next_update, der, covers_epoch) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (issuer, shard, number) DO NOTHING",
                )
                .bind(&c.issuer)
                .bind(i64::from(c.shard))
                .bind(i64::try_from(c.number).unwrap_or(i64::MAX))
                .bind(c.this_update.unix_timestamp())
                .bind(c.next_update.unix_timestamp())
                .bind(&c.der)
                .bind(c.covers_epoch);
                if self.write(q).await? != 1 {
                    return Err(StoreError::Duplicate(format!(
                        "CRL {} of {}/{}",
                        c.number, c.issuer, c.shard
                    )));
                }
                Ok(())
            }

            async fn store_ocsp_responses(&self, responses: &[OcspRecord]) -> Result<(), StoreError> {
                let mut tx = self.start().await?;
                for rows in responses.chunks(OCSP_ROWS_PER_STATEMENT) {
                    // The certificates' rows are locked (shared) first: a revocation that is
                    // under way finishes before, and its removal of the old response stands;
                    // a later one waits for this transaction and removes what it stores.
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "SELECT serial FROM certificates WHERE revoked_at IS NOT NULL AND serial IN (",
                    );
                    let mut list = q.separated(", ");
                    for r in rows {
                        list.push_bind(r.serial.as_str());
                    }
                    q.push(")");
                    q.push($share);
                    let fetched = q.build().fetch_all(tx.c()).await;
                    let revoked: std::collections::HashSet<String> = tx
                        .check(fetched)?
                        .iter()
                        .map(|r| r.try_get::<String, _>("serial"))
                        .collect::<Result<_, _>>()?;
                    let keep: Vec<&OcspRecord> = rows
                        .iter()
                        .filter(|r| r.revoked || !revoked.contains(&r.serial))
                        .collect();
                    if keep.is_empty() {
                        continue;
                    }
                    // Multi-row upserts: per-statement overhead, not the rows, bounded the refresh job.
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO ocsp_responses (serial, issuer, this_update, next_update, der, revoked) ",
                    );
                    q.push_values(keep, |mut b, r| {
                        b.push_bind(r.serial.as_str())
                            .push_bind(r.issuer.as_str())
                            .push_bind(r.this_update.unix_timestamp())
                            .push_bind(r.next_update.unix_timestamp())
                            .push_bind(r.der.as_slice())
                            .push_bind(i64::from(r.revoked));
                    });
                    q.push(UPSERT_OCSP_CONFLICT);
                    let done = q.build().execute(tx.c()).await;
                    tx.check(done)?;
                }
                tx.finish().await
            }
        }

        #[async_trait]
        impl RevocationWrites for $txname {
            async fn revoke_certificate(
                &mut self,
                serial: &Serial,
                reason: RevocationReason,
                at: OffsetDateTime,
                crl_entry: &[u8],
            ) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE certificates SET revoked_at = $1, revocation_reason = $2, updated_at = $3, \
                             crl_entry = $4 WHERE serial = $5 AND state = 'issued' AND revoked_at IS NULL",
                        )
                        .bind(at.unix_timestamp())
                        .bind(reason.as_str())
                        .bind(at.unix_timestamp())
                        .bind(crl_entry)
                        .bind(serial.to_hex()),
                    )
                    .await?;
                conflict(n, "the certificate is not issued or is already revoked")?;
                self.number_revocation(serial).await?;
                // The "good" response must not outlive the revocation, even if re-signing it
                // fails: until a new one is stored, the responder signs from this row.
                self.exec(sqlx::query("DELETE FROM ocsp_responses WHERE serial = $1").bind(serial.to_hex()))
                    .await?;
                Ok(())
            }
        }

    };
}
pub(crate) use revocation_sql;
