//! Issuance: the intent recorded before a signature, the certificate recorded after it (design §6, the issuance cycle), and the reminders of certificates about to expire.
//!
//! The traits here are what the application sees; `issuance_sql!` implements them for both
//! backends with the same SQL (see [`crate::backends`]).

use async_trait::async_trait;
use signet_domain::certificate::RevocationReason;
use signet_domain::serial::Serial;
use time::OffsetDateTime;

use crate::StoreError;

/// What Signet is about to sign, recorded before the signature exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuanceIntent {
    /// The serial drawn for it (R-CRT-4): unique across every certificate Signet signs, CA
    /// certificates included.
    pub serial: Serial,
    /// Name of the issuing CA.
    pub issuer: String,
    /// Profile name, or `ca:<name>` for a CA certificate.
    pub profile: String,
    /// The subject DN as text, for people reading the store.
    pub subject: String,
    /// notBefore, as in the TBS.
    pub not_before: OffsetDateTime,
    /// notAfter (inclusive), as in the TBS.
    pub not_after: OffsetDateTime,
    /// The to-be-signed certificate: with the issuer key, it is all a signed certificate adds.
    pub tbs_der: Vec<u8>,
    /// When the intent was recorded, before anything was signed.
    pub created_at: OffsetDateTime,
    /// The CRL shard named in the certificate's CDP.
    pub crl_shard: u32,
    /// Why it exists: `order:NUMBER`, `operator` or `ca`.
    pub origin: String,
}

/// Where a certificate stands in the issuance cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuanceState {
    /// Recorded, not (known to be) signed.
    Intent,
    /// Signed and recorded with its DER; the certificate exists.
    Issued,
    /// Nothing was delivered under this serial. When it may have been signed (its process
    /// died, or recording the result failed) it is also listed as revoked.
    Abandoned,
}

/// A certificate row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRecord {
    /// What was recorded before signing.
    pub intent: IssuanceIntent,
    /// Where it stands in the issuance cycle.
    pub state: IssuanceState,
    /// The signed certificate; present once issued, never for an intent or an abandoned serial.
    pub der: Option<Vec<u8>>,
    /// Why an intent was abandoned (reconciliation, a failed pickup), for operators.
    pub note: Option<String>,
    /// When it was revoked (or, for an abandoned serial that may have been signed, listed as
    /// revoked).
    pub revoked_at: Option<OffsetDateTime>,
    /// The RFC 5280 reason given.
    pub revocation_reason: Option<RevocationReason>,
}

/// Row counts, for operators and for tests that assert nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Certificates recorded as intents and not (yet) completed or abandoned.
    pub intents: u64,
    /// Certificates signed and recorded.
    pub issued: u64,
    /// Intents closed without a delivered certificate.
    pub abandoned: u64,
}

/// Reads of certificates and intents.
#[async_trait]
pub trait IssuanceReads: Send + Sync {
    /// The certificate row for a serial, in any state.
    async fn certificate(&self, serial: &Serial) -> Result<Option<CertificateRecord>, StoreError>;
    /// Intents never completed nor abandoned: issuance in progress, or interrupted.
    async fn unfinished_intents(&self) -> Result<Vec<IssuanceIntent>, StoreError>;
    /// How many certificates are in each issuance state.
    async fn counts(&self) -> Result<Counts, StoreError>;
    /// Signed certificates by profile: (profile, signed, of them revoked), by profile name.
    async fn profile_counts(&self) -> Result<Vec<(String, u64, u64)>, StoreError>;
    /// Issued subscriber certificates that no order names and that no operator issued: none
    /// should exist; reconciliation reports and revokes any it finds.
    async fn unlinked_certificates(&self) -> Result<Vec<CertificateRecord>, StoreError>;
    /// Certificates the operator issued (origin `operator`, `signet issue` and
    /// `signet issue-batch`) whose intent was recorded at or after `since`, oldest first.
    async fn operator_certificates_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<CertificateRecord>, StoreError>;
    /// Issued, unrevoked certificates whose notAfter falls in [from, to).
    async fn certificates_expiring(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<CertificateRecord>, StoreError>;
    /// When each subscriber certificate issued since `since` became valid (its notBefore).
    async fn issuance_times_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<OffsetDateTime>, StoreError>;
}

/// The issuance cycle's writes, inside a unit of work.
#[async_trait]
pub trait IssuanceWrites: Send {
    /// Records the plan to sign; fails with [`StoreError::SerialTaken`] if the serial was used.
    async fn record_issuance_intent(&mut self, intent: &IssuanceIntent) -> Result<(), StoreError>;
    /// Completes an open intent with the signed certificate.
    async fn complete_issuance(
        &mut self,
        serial: &Serial,
        der: &[u8],
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Closes an open intent whose certificate was not delivered. With `revocation` (reason,
    /// DER CRL entry) the serial is also listed as revoked, because it may have been signed.
    async fn abandon_intent(
        &mut self,
        serial: &Serial,
        note: &str,
        at: OffsetDateTime,
        revocation: Option<(RevocationReason, &[u8])>,
    ) -> Result<(), StoreError>;
    /// Records that a reminder was sent; false if it had been sent before.
    async fn record_reminder(
        &mut self,
        serial: &Serial,
        kind: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

macro_rules! select_certificates {
    ($where:literal) => {
        concat!(
            "SELECT serial, issuer, profile, subject, not_before, not_after, tbs, der, state, note, created_at, ",
            "revoked_at, revocation_reason, crl_shard, origin ",
            "FROM certificates ",
            $where
        )
    };
}

pub(crate) const INSERT_INTENT: &str = "INSERT INTO certificates \
    (serial, issuer, profile, subject, not_before, not_after, tbs, state, created_at, updated_at, crl_shard, origin) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, 'intent', $8, $9, $10, $11) ON CONFLICT (serial) DO NOTHING";

pub(crate) const SELECT_BY_SERIAL: &str = select_certificates!("WHERE serial = $1");

pub(crate) const SELECT_UNFINISHED: &str =
    select_certificates!("WHERE state = 'intent' ORDER BY created_at");

pub(crate) const SELECT_OPERATOR_SINCE: &str = select_certificates!(
    "WHERE state = 'issued' AND origin = 'operator' AND created_at >= $1 ORDER BY created_at"
);

pub(crate) const SELECT_UNLINKED: &str = select_certificates!(
    "WHERE state = 'issued' AND origin LIKE 'order:%' AND NOT EXISTS \
     (SELECT 1 FROM orders o WHERE o.certificate_serial = certificates.serial) ORDER BY created_at"
);

pub(crate) const SELECT_EXPIRING: &str = select_certificates!(
    "WHERE state = 'issued' AND revoked_at IS NULL AND not_after >= $1 AND not_after < $2 AND profile NOT LIKE 'ca:%' ORDER BY not_after"
);

pub(crate) const COUNT_STATES: &str =
    "SELECT state, COUNT(*) AS n FROM certificates GROUP BY state";

/// Implements the traits above for a backend (called by `sql_store!`).
macro_rules! issuance_sql {
    ($name:ident, $txname:ident, $db:ty, $row:ty, $concat_entries:literal, $lock:literal, $share:literal, $skip_locked:literal, $read_only_check:literal) => {
        impl $name {
            async fn certificates_where(
                &self,
                query: &'static str,
            ) -> Result<Vec<CertificateRecord>, StoreError> {
                let rows = sqlx::query(query).fetch_all(&self.pool).await?;
                rows.iter().map(record).collect()
            }
        }

        #[async_trait]
        impl IssuanceReads for $name {
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
                Ok(self
                    .certificates_where(SELECT_UNFINISHED)
                    .await?
                    .into_iter()
                    .map(|c| c.intent)
                    .collect())
            }

            async fn profile_counts(&self) -> Result<Vec<(String, u64, u64)>, StoreError> {
                let rows = sqlx::query(
                    "SELECT profile, COUNT(*) AS signed, \
                     SUM(CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END) AS revoked \
                     FROM certificates WHERE state = 'issued' GROUP BY profile ORDER BY profile",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            r.try_get("profile")?,
                            unsigned(r.try_get("signed")?),
                            unsigned(r.try_get::<Option<i64>, _>("revoked")?.unwrap_or(0)),
                        ))
                    })
                    .collect()
            }

            async fn counts(&self) -> Result<Counts, StoreError> {
                let rows = sqlx::query(COUNT_STATES).fetch_all(&self.pool).await?;
                let mut counts = Counts::default();
                for row in rows {
                    let state: String = row.try_get("state")?;
                    let n = unsigned(row.try_get("n")?);
                    match state.as_str() {
                        "intent" => counts.intents = n,
                        "issued" => counts.issued = n,
                        "abandoned" => counts.abandoned = n,
                        other => {
                            return Err(StoreError::Corrupt(format!(
                                "unknown certificate state `{other}`"
                            )));
                        }
                    }
                }
                Ok(counts)
            }

            async fn unlinked_certificates(&self) -> Result<Vec<CertificateRecord>, StoreError> {
                self.certificates_where(SELECT_UNLINKED).await
            }

            async fn operator_certificates_since(
                &self,
                since: OffsetDateTime,
            ) -> Result<Vec<CertificateRecord>, StoreError> {
                let rows = sqlx::query(SELECT_OPERATOR_SINCE)
                    .bind(since.unix_timestamp())
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(record).collect()
            }

            async fn certificates_expiring(
                &self,
                from: OffsetDateTime,
                to: OffsetDateTime,
            ) -> Result<Vec<CertificateRecord>, StoreError> {
                let rows = sqlx::query(SELECT_EXPIRING)
                    .bind(from.unix_timestamp())
                    .bind(to.unix_timestamp())
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(record).collect()
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
        }

        #[async_trait]
        impl IssuanceWrites for $txname {
            async fn record_issuance_intent(&mut self, i: &IssuanceIntent) -> Result<(), StoreError> {
                let n = self
                    .exec(
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
                            .bind(&i.origin),
                    )
                    .await?;
                if n != 1 {
                    return Err(StoreError::SerialTaken(i.serial.to_hex()));
                }
                Ok(())
            }

            async fn complete_issuance(
                &mut self,
                serial: &Serial,
                der: &[u8],
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE certificates SET der = $1, state = 'issued', updated_at = $2 \
                             WHERE serial = $3 AND state = 'intent'",
                        )
                        .bind(der)
                        .bind(at.unix_timestamp())
                        .bind(serial.to_hex()),
                    )
                    .await?;
                if n != 1 {
                    return Err(StoreError::NoOpenIntent(serial.to_hex()));
                }
                Ok(())
            }

            async fn abandon_intent(
                &mut self,
                serial: &Serial,
                note: &str,
                at: OffsetDateTime,
                revocation: Option<(RevocationReason, &[u8])>,
            ) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE certificates SET state = 'abandoned', note = $1, updated_at = $2, revoked_at = $3, \
                             revocation_reason = $4, crl_entry = $5 WHERE serial = $6 AND state = 'intent'",
                        )
                        .bind(note)
                        .bind(at.unix_timestamp())
                        .bind(revocation.map(|_| at.unix_timestamp()))
                        .bind(revocation.map(|(reason, _)| reason.as_str()))
                        .bind(revocation.map(|(_, entry)| entry))
                        .bind(serial.to_hex()),
                    )
                    .await?;
                if n != 1 {
                    return Err(StoreError::NoOpenIntent(serial.to_hex()));
                }
                if revocation.is_some() {
                    self.number_revocation(serial).await?;
                }
                Ok(())
            }

            async fn record_reminder(
                &mut self,
                serial: &Serial,
                kind: &str,
                at: OffsetDateTime,
            ) -> Result<bool, StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "INSERT INTO reminders (serial, kind, sent_at) VALUES ($1, $2, $3) \
                             ON CONFLICT (serial, kind) DO NOTHING",
                        )
                        .bind(serial.to_hex())
                        .bind(kind)
                        .bind(at.unix_timestamp()),
                    )
                    .await?;
                Ok(n == 1)
            }
        }

    };
}
pub(crate) use issuance_sql;
