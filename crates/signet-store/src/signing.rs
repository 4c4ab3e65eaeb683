//! Officers' decision-signing keys and their signed decisions (issue 15, design R-VET).
//!
//! The traits here are what the application sees; `signing_sql!` implements them for both
//! backends with the same SQL (see [`crate::backends`]).

use async_trait::async_trait;
use signet_domain::credentials::OrderNumber;
use time::OffsetDateTime;

use crate::StoreError;

/// Where an officer's key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningKeyState {
    /// Offered, waiting for an administrator.
    Pending,
    /// Certified: the officer signs with it.
    Active,
    /// An administrator refused it.
    Refused,
    /// A newer key of the officer took its place.
    Replaced,
}

impl SigningKeyState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningKeyState::Pending => "pending",
            SigningKeyState::Active => "active",
            SigningKeyState::Refused => "refused",
            SigningKeyState::Replaced => "replaced",
        }
    }

    /// Reads a stored name.
    pub fn parse(text: &str) -> Option<SigningKeyState> {
        [
            SigningKeyState::Pending,
            SigningKeyState::Active,
            SigningKeyState::Refused,
            SigningKeyState::Replaced,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// An officer's key, and its certificate once it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// Assigned by the store.
    pub id: i64,
    /// The officer's account.
    pub account_id: i64,
    /// SHA-256 of the SubjectPublicKeyInfo, lower-case hex: how a key is recognized.
    pub key_sha256: String,
    /// The SubjectPublicKeyInfo (DER).
    pub spki: Vec<u8>,
    /// Where it stands.
    pub state: SigningKeyState,
    /// The staff certificate (DER): set for active and replaced keys.
    pub certificate: Option<Vec<u8>>,
    /// The certificate's notAfter.
    pub not_after: Option<OffsetDateTime>,
    /// When the officer offered it.
    pub requested_at: OffsetDateTime,
    /// Who certified or refused it (an administrator, or the officer for their first key).
    pub settled_by: Option<i64>,
    /// When it was certified or refused.
    pub settled_at: Option<OffsetDateTime>,
}

/// A decision as signed by an officer: CMS SignedData with the statement inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedDecisionRecord {
    /// Assigned by the store.
    pub id: i64,
    /// The order decided on.
    pub order_number: OrderNumber,
    /// `approve`, `reject`, `request_info` or `reveal`.
    pub decision: String,
    /// The officer's account.
    pub account_id: i64,
    /// The key that signed it.
    pub signing_key_id: i64,
    /// The CMS SignedData, DER.
    pub cms: Vec<u8>,
    /// SHA-256 of `cms`, lower-case hex; the audit record of the decision names it.
    pub cms_sha256: String,
    /// SHA-256 of the signed statement, lower-case hex: a statement counts once per order.
    pub statement_sha256: String,
    /// When the decision was applied.
    pub at: OffsetDateTime,
}

/// Reads of signing keys and signed decisions.
#[async_trait]
pub trait SigningReads: Send + Sync {
    /// Keys, newest first: of one account or of all, in one state or in any.
    async fn signing_keys(
        &self,
        account: Option<i64>,
        state: Option<SigningKeyState>,
    ) -> Result<Vec<SigningKeyRecord>, StoreError>;
    /// One key by id.
    async fn signing_key(&self, id: i64) -> Result<Option<SigningKeyRecord>, StoreError>;
    /// Signed decisions in the order they were made: of one order, or all of them.
    async fn signed_decisions(
        &self,
        order: Option<&OrderNumber>,
    ) -> Result<Vec<SignedDecisionRecord>, StoreError>;
}

/// Changes to signing keys and signed decisions, inside a unit of work.
#[async_trait]
pub trait SigningWrites: Send {
    /// Stores a key (its `id` is ignored) and returns its id. [`StoreError::Duplicate`] when
    /// the public key is pending or active already (for any officer), or when the key is
    /// active and the officer has an active key: a first key is certified once, even when
    /// requests race; later keys go through [`SigningWrites::settle_signing_key`].
    async fn add_signing_key(&mut self, key: &SigningKeyRecord) -> Result<i64, StoreError>;
    /// Settles a pending key: with a certificate and its notAfter it becomes active and
    /// replaces the account's active key (whose certificate is returned); without, it is
    /// refused. [`StoreError::Conflict`] when it is not pending (someone settled it first).
    async fn settle_signing_key(
        &mut self,
        id: i64,
        certificate: Option<(&[u8], OffsetDateTime)>,
        by: i64,
        at: OffsetDateTime,
    ) -> Result<Vec<Vec<u8>>, StoreError>;
    /// Gives an active key its new certificate (a renewal) in place of `previous`.
    /// [`StoreError::Conflict`] when it is not active or its certificate is no longer
    /// `previous` (another renewal came first).
    async fn renew_signing_key(
        &mut self,
        id: i64,
        previous: &[u8],
        certificate: &[u8],
        not_after: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Stores a signed decision (its `id` is ignored) and returns its id.
    /// [`StoreError::Duplicate`] when its statement was stored for the order already.
    async fn record_signed_decision(
        &mut self,
        decision: &SignedDecisionRecord,
    ) -> Result<i64, StoreError>;
}

/// Implements the traits above for a backend (called by `sql_store!`).
macro_rules! signing_sql {
    ($name:ident, $txname:ident, $db:ty, $row:ty, $concat_entries:literal, $lock:literal, $share:literal, $skip_locked:literal, $read_only_check:literal) => {
        impl $name {
            fn signing_key_row(r: &$row) -> Result<SigningKeyRecord, StoreError> {
                Ok(SigningKeyRecord {
                    id: r.try_get("id")?,
                    account_id: r.try_get("account_id")?,
                    key_sha256: r.try_get("key_sha256")?,
                    spki: r.try_get("spki")?,
                    state: named("signing key state", &r.try_get::<String, _>("state")?, SigningKeyState::parse)?,
                    certificate: r.try_get("certificate")?,
                    not_after: opt_time(r.try_get("not_after")?)?,
                    requested_at: time(r.try_get("requested_at")?)?,
                    settled_by: r.try_get("settled_by")?,
                    settled_at: opt_time(r.try_get("settled_at")?)?,
                })
            }

            fn signed_decision_row(r: &$row) -> Result<SignedDecisionRecord, StoreError> {
                Ok(SignedDecisionRecord {
                    id: r.try_get("id")?,
                    order_number: stored("order number", &r.try_get::<String, _>("order_number")?, OrderNumber::from_stored)?,
                    decision: r.try_get("decision")?,
                    account_id: r.try_get("account_id")?,
                    signing_key_id: r.try_get("signing_key_id")?,
                    cms: r.try_get("cms")?,
                    cms_sha256: r.try_get("cms_sha256")?,
                    statement_sha256: r.try_get("statement_sha256")?,
                    at: time(r.try_get("at")?)?,
                })
            }
        }

        #[async_trait]
        impl SigningReads for $name {
            async fn signing_keys(
                &self,
                account: Option<i64>,
                state: Option<SigningKeyState>,
            ) -> Result<Vec<SigningKeyRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, account_id, key_sha256, spki, state, certificate, not_after, requested_at, settled_by, settled_at \
                     FROM signing_keys WHERE ($1 IS NULL OR account_id = $1) AND ($2 IS NULL OR state = $2) \
                     ORDER BY id DESC",
                )
                .bind(account)
                .bind(state.map(SigningKeyState::as_str))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::signing_key_row).collect()
            }

            async fn signing_key(&self, id: i64) -> Result<Option<SigningKeyRecord>, StoreError> {
                let row = sqlx::query(
                    "SELECT id, account_id, key_sha256, spki, state, certificate, not_after, requested_at, settled_by, settled_at \
                     FROM signing_keys WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(Self::signing_key_row).transpose()
            }

            async fn signed_decisions(
                &self,
                order: Option<&OrderNumber>,
            ) -> Result<Vec<SignedDecisionRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, order_number, decision, account_id, signing_key_id, cms, cms_sha256, statement_sha256, at \
                     FROM signed_decisions WHERE ($1 IS NULL OR order_number = $1) ORDER BY id",
                )
                .bind(order.map(OrderNumber::to_string))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::signed_decision_row).collect()
            }
        }

        #[async_trait]
        impl SigningWrites for $txname {
            async fn add_signing_key(&mut self, k: &SigningKeyRecord) -> Result<i64, StoreError> {
                let row = self
                    .maybe(
                        sqlx::query(
                            "INSERT INTO signing_keys (account_id, key_sha256, spki, state, certificate, not_after, requested_at, settled_by, settled_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING id",
                        )
                        .bind(k.account_id)
                        .bind(&k.key_sha256)
                        .bind(&k.spki)
                        .bind(k.state.as_str())
                        .bind(&k.certificate)
                        .bind(k.not_after.map(OffsetDateTime::unix_timestamp))
                        .bind(k.requested_at.unix_timestamp())
                        .bind(k.settled_by)
                        .bind(k.settled_at.map(OffsetDateTime::unix_timestamp)),
                    )
                    .await?;
                match row {
                    Some(r) => Ok(r.try_get("id")?),
                    None => Err(StoreError::Duplicate(
                        "a pending or active signing key with this public key, or an active key of this officer,".into(),
                    )),
                }
            }

            async fn settle_signing_key(
                &mut self,
                id: i64,
                certificate: Option<(&[u8], OffsetDateTime)>,
                by: i64,
                at: OffsetDateTime,
            ) -> Result<Vec<Vec<u8>>, StoreError> {
                let mut replaced = Vec::new();
                let n = match certificate {
                    Some((der, not_after)) => {
                        for row in self
                            .all(
                                sqlx::query(
                                    "UPDATE signing_keys SET state = 'replaced' WHERE state = 'active' \
                                     AND account_id = (SELECT account_id FROM signing_keys WHERE id = $1 AND state = 'pending') \
                                     RETURNING certificate",
                                )
                                .bind(id),
                            )
                            .await?
                        {
                            replaced.push(row.try_get("certificate")?);
                        }
                        self.exec(
                            sqlx::query(
                                "UPDATE signing_keys SET state = 'active', certificate = $1, not_after = $2, settled_by = $3, settled_at = $4 \
                                 WHERE id = $5 AND state = 'pending'",
                            )
                            .bind(der)
                            .bind(not_after.unix_timestamp())
                            .bind(by)
                            .bind(at.unix_timestamp())
                            .bind(id),
                        )
                        .await?
                    }
                    None => {
                        self.exec(
                            sqlx::query(
                                "UPDATE signing_keys SET state = 'refused', settled_by = $1, settled_at = $2 WHERE id = $3 AND state = 'pending'",
                            )
                            .bind(by)
                            .bind(at.unix_timestamp())
                            .bind(id),
                        )
                        .await?
                    }
                };
                conflict(n, "the signing key was settled already, or does not exist")?;
                Ok(replaced)
            }

            async fn renew_signing_key(
                &mut self,
                id: i64,
                previous: &[u8],
                certificate: &[u8],
                not_after: OffsetDateTime,
                at: OffsetDateTime,
            ) -> Result<(), StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE signing_keys SET certificate = $1, not_after = $2, settled_at = $3 \
                             WHERE id = $4 AND state = 'active' AND certificate = $5",
                        )
                        .bind(certificate)
                        .bind(not_after.unix_timestamp())
                        .bind(at.unix_timestamp())
                        .bind(id)
                        .bind(previous),
                    )
                    .await?;
                conflict(n, "the signing key is no longer active, or was renewed meanwhile")
            }

            async fn record_signed_decision(
                &mut self,
                d: &SignedDecisionRecord,
            ) -> Result<i64, StoreError> {
                let row = self
                    .maybe(
                        sqlx::query(
                            "INSERT INTO signed_decisions (order_number, decision, account_id, signing_key_id, cms, cms_sha256, statement_sha256, at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id",
                        )
                        .bind(d.order_number.to_string())
                        .bind(&d.decision)
                        .bind(d.account_id)
                        .bind(d.signing_key_id)
                        .bind(&d.cms)
                        .bind(&d.cms_sha256)
                        .bind(&d.statement_sha256)
                        .bind(d.at.unix_timestamp()),
                    )
                    .await?;
                match row {
                    Some(r) => Ok(r.try_get("id")?),
                    None => Err(StoreError::Duplicate(format!(
                        "this signed statement on order {}",
                        d.order_number
                    ))),
                }
            }
        }
    };
}

pub(crate) use signing_sql;
