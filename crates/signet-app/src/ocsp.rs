//! The OCSP responder's data side (R-CRT-6): responses are signed when a certificate is issued
//! or revoked and re-signed by a job before they go stale; answering a request is a lookup in
//! memory ([`OcspCache`]) or, on a miss, one row of the store. Only a request the store has no
//! response for (an unknown serial, a SHA-256 CertID) is signed on demand.

use std::sync::Arc;

use bytes::Bytes;
use signet_domain::certificate::RevocationReason;
use signet_domain::ocsp::{OCSP_REFRESH_AFTER, window};
use signet_domain::serial::Serial;
use signet_pki::ocsp::{
    CertIdHash, OcspIssuer, OcspRefusal, Status, internal_error_response, parse_request,
    refusal_response, sign_response,
};
use signet_store::{CertificateRecord, IssuanceState, OcspRecord, StatusRecord};
use time::OffsetDateTime;

use crate::AppError;
use crate::authority::Responder;
use crate::cores::on_every_core;
use crate::issue::Signet;
use crate::ocsp_cache::{CachedResponse, EPOCH_POLL, http_date};

/// An answer for the HTTP layer: a signed response with what its caching headers need, or an
/// unsigned error status.
#[derive(Debug, Clone)]
pub enum OcspAnswer {
    Signed(Arc<CachedResponse>),
    Refused(Bytes),
}

impl OcspAnswer {
    pub fn refused(r: OcspRefusal) -> OcspAnswer {
        OcspAnswer::Refused(Bytes::from(refusal_response(r)))
    }

    fn signed(
        issuer: &str,
        der: Vec<u8>,
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
    ) -> Self {
        let etag = format!("\"{}\"", hex::encode(&crate::sha256(&der)[..16]));
        OcspAnswer::Signed(Arc::new(CachedResponse {
            issuer: issuer.to_owned(),
            der: Bytes::from(der),
            this_update,
            next_update,
            etag,
            last_modified: http_date(this_update),
            expires: http_date(next_update),
        }))
    }
}

/// How many responses the refresh job signs and stores per transaction.
const REFRESH_BATCH: u32 = 2000;

fn status_of(revoked_at: Option<OffsetDateTime>, reason: Option<RevocationReason>) -> Status {
    match revoked_at {
        Some(at) => Status::Revoked {
            at,
            reason_code: reason.map(RevocationReason::code),
        },
        None => Status::Good,
    }
}

fn status_record(cert: &CertificateRecord) -> StatusRecord {
    StatusRecord {
        serial: cert.intent.serial.clone(),
        issuer: cert.intent.issuer.clone(),
        revoked_at: cert.revoked_at,
        reason: cert.revocation_reason,
    }
}

impl Signet {
    fn responder_for(&self, issuer: &str) -> Result<&Responder, AppError> {
        self.authority
            .responders
            .get(issuer)
            .ok_or_else(|| AppError::NotFound(format!("OCSP responder for {issuer}")))
    }

    /// Signs the (SHA-1 CertID, RFC 5019) response for a subscriber certificate.
    fn sign_ocsp(&self, cert: &StatusRecord, now: OffsetDateTime) -> Result<OcspRecord, AppError> {
        let responder = self.responder_for(&cert.issuer)?;
        let (this_update, next_update) = window(now);
        let der = sign_response(
            &responder.signer,
            &responder.issuer,
            CertIdHash::Sha1,
            &cert.serial,
            status_of(cert.revoked_at, cert.reason),
            this_update,
            next_update,
        )?;
        Ok(OcspRecord {
            serial: cert.serial.to_hex(),
            issuer: cert.issuer.clone(),
            this_update,
            next_update,
            der,
            revoked: cert.revoked_at.is_some(),
        })
    }

    /// Signs and stores the response for a subscriber certificate; the cache forgets the old one.
    pub async fn presign_ocsp(&self, cert: &CertificateRecord) -> Result<OcspRecord, AppError> {
        let mut records = self.presign_ocsp_all(&[status_record(cert)]).await?;
        records
            .pop()
            .ok_or_else(|| AppError::Internal("no OCSP response signed".into()))
    }

    /// [`Signet::presign_ocsp`] for many certificates at once, signed on every core, stored in
    /// one transaction and uploaded.
    pub(crate) async fn presign_ocsp_all(
        &self,
        statuses: &[StatusRecord],
    ) -> Result<Vec<OcspRecord>, AppError> {
        let records = self.store_presigned(statuses).await?;
        self.upload_ocsp(&records).await?;
        Ok(records)
    }

    /// Signs and stores the responses, leaving their upload to the catch-up: for an OCSP
    /// request, whose answer must not wait on the bucket.
    async fn store_presigned(
        &self,
        statuses: &[StatusRecord],
    ) -> Result<Vec<OcspRecord>, AppError> {
        let records = self.sign_in_parallel(statuses, self.now())?;
        self.store.store_ocsp_responses(&records).await?;
        for s in statuses {
            self.ocsp_cache.forget(&s.serial);
        }
        Ok(records)
    }

    pub(crate) async fn presign_ocsp_for(&self, serial: &Serial) -> Result<(), AppError> {
        if let Some(cert) = self.store.certificate(serial).await?
            && cert.state == IssuanceState::Issued
            && self.authority.responders.contains_key(&cert.intent.issuer)
            && !cert.intent.profile.starts_with("ca:")
        {
            self.presign_ocsp(&cert).await?;
        }
        Ok(())
    }

    /// Re-signs every response that is missing or older than the refresh age, on one node at a
    /// time (the `ocsp` job lease, renewed by each batch): batches read in serial order and
    /// signed on every core, each stored in one transaction while the next batch is read and
    /// signed.
    pub async fn refresh_ocsp(&self) -> Result<usize, AppError> {
        Ok(self
            .exclusively("ocsp", async {
                let signed = self.refresh_ocsp_responses().await?;
                self.publish_recent_revocations().await?;
                Ok(signed)
            })
            .await?
            .unwrap_or(0))
    }

    async fn refresh_ocsp_responses(&self) -> Result<usize, AppError> {
        let mut signed = 0;
        let mut after = String::new();
        let now = self.now();
        let started = std::time::Instant::now();
        let mut storing: Option<tokio::task::JoinHandle<Result<Vec<OcspRecord>, AppError>>> = None;
        loop {
            let batch = self
                .store
                .certificates_needing_ocsp(now - OCSP_REFRESH_AFTER, now, &after, REFRESH_BATCH)
                .await?;
            let records = match batch.last() {
                Some(last) => {
                    after = last.serial.to_hex();
                    Some(self.sign_in_parallel(&batch, now)?)
                }
                None => None,
            };
            if let Some(previous) = storing.take() {
                let stored = previous
                    .await
                    .map_err(|e| AppError::Internal(format!("storing OCSP responses: {e}")))??;
                self.upload_ocsp(&stored).await?;
                signed += stored.len();
            }
            let Some(records) = records else { break };
            self.renew_job("ocsp").await?;
            let store = self.store.clone();
            storing = Some(tokio::spawn(async move {
                store.store_ocsp_responses(&records).await?;
                Ok(records)
            }));
        }
        if signed > 0 {
            tracing::info!(
                signed,
                elapsed_ms = started.elapsed().as_millis(),
                "OCSP responses refreshed"
            );
        }
        Ok(signed)
    }

    /// Signing is CPU-bound and independent per response: split the batch over the cores. It
    /// blocks the calling worker for one batch (tens of milliseconds), which the job can afford.
    fn sign_in_parallel(
        &self,
        batch: &[StatusRecord],
        now: OffsetDateTime,
    ) -> Result<Vec<OcspRecord>, AppError> {
        on_every_core(batch.iter().collect(), |c| self.sign_ocsp(c, now))?
            .into_iter()
            .collect()
    }

    /// Keeps the cache in step with revocations made by other processes: polls the store's
    /// revocation epoch until the process ends.
    pub async fn watch_revocations(self: Arc<Self>) {
        loop {
            match self.store.revocation_epoch().await {
                Ok(epoch) => {
                    if self.ocsp_cache.observe_epoch(epoch.unsigned_abs()) {
                        tracing::debug!(epoch, "revocation epoch moved; OCSP cache cleared");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "reading the revocation epoch failed"),
            }
            tokio::time::sleep(EPOCH_POLL).await;
        }
    }

    /// Answers an OCSP request (DER). Never fails: errors become OCSP error responses.
    pub async fn ocsp_answer(&self, request: &[u8]) -> OcspAnswer {
        match self.try_ocsp_answer(request).await {
            Ok(answer) => answer,
            Err(e) => {
                tracing::error!(error = %e, "OCSP request failed");
                OcspAnswer::Refused(Bytes::from(internal_error_response()))
            }
        }
    }

    async fn try_ocsp_answer(&self, request: &[u8]) -> Result<OcspAnswer, AppError> {
        let query = match parse_request(request) {
            Ok(q) => q,
            Err(r) => return Ok(OcspAnswer::refused(r)),
        };
        let Ok(serial) = Serial::from_der_integer(&query.serial) else {
            return Ok(OcspAnswer::refused(OcspRefusal::Malformed));
        };
        let matched = self
            .authority
            .responders
            .values()
            .map(|r| &r.issuer)
            .find(|i| i.matches(query.hash, &query.issuer_name_hash, &query.issuer_key_hash));
        let Some(issuer) = matched else {
            return Ok(OcspAnswer::refused(OcspRefusal::Unauthorized));
        };
        let now = self.now();
        if query.hash == CertIdHash::Sha1 {
            if let Some(hit) = self.ocsp_cache.get(&serial, now)
                && hit.issuer == issuer.name
            {
                return Ok(OcspAnswer::Signed(hit));
            }
            let generation = self.ocsp_cache.generation();
            if let Some(r) = self.store.ocsp_response(&serial.to_hex()).await?
                && r.issuer == issuer.name
                && r.next_update > now
            {
                let answer = OcspAnswer::signed(&r.issuer, r.der, r.this_update, r.next_update);
                if let OcspAnswer::Signed(c) = &answer {
                    self.ocsp_cache.insert(serial, c.clone(), generation);
                }
                return Ok(answer);
            }
        }
        self.sign_on_demand(issuer, query.hash, &serial, now).await
    }

    /// Not pre-signed: sign now. A serial this CA never issued is "unknown", never "good".
    async fn sign_on_demand(
        &self,
        issuer: &OcspIssuer,
        hash: CertIdHash,
        serial: &Serial,
        now: OffsetDateTime,
    ) -> Result<OcspAnswer, AppError> {
        // A serial reconciliation closed (it may have been signed, never delivered) is revoked
        // here as on the CRL.
        let cert = self.store.certificate(serial).await?.filter(|c| {
            (c.state == IssuanceState::Issued
                || (c.state == IssuanceState::Abandoned && c.revoked_at.is_some()))
                && c.intent.issuer == issuer.name
                && !c.intent.profile.starts_with("ca:")
        });
        if let (Some(c), CertIdHash::Sha1) = (&cert, hash)
            && c.state == IssuanceState::Issued
        {
            let r = self
                .store_presigned(&[status_record(c)])
                .await?
                .pop()
                .ok_or_else(|| AppError::Internal("no OCSP response signed".into()))?;
            self.queue_ocsp_upload(&r.serial);
            return Ok(OcspAnswer::signed(
                &r.issuer,
                r.der,
                r.this_update,
                r.next_update,
            ));
        }
        let status = match &cert {
            Some(c) => status_of(c.revoked_at, c.revocation_reason),
            None => Status::Unknown,
        };
        let responder = self.responder_for(&issuer.name)?;
        let (this_update, next_update) = window(now);
        let der = sign_response(
            &responder.signer,
            issuer,
            hash,
            serial,
            status,
            this_update,
            next_update,
        )?;
        Ok(OcspAnswer::signed(
            &issuer.name,
            der,
            this_update,
            next_update,
        ))
    }
}
