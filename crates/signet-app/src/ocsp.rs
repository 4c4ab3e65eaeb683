//! The OCSP responder's data side (R-CRT-6): responses are signed when a certificate is issued
//! or revoked and re-signed by a job before they go stale; answering a request is a lookup.
//! Only a request the store has no response for (an unknown serial, a SHA-256 CertID) is signed
//! on demand.

use std::str::FromStr;

use signet_domain::certificate::RevocationReason;
use signet_domain::ocsp::{OCSP_REFRESH_AFTER, window};
use signet_domain::serial::Serial;
use signet_pki::ocsp::{
    CertIdHash, OcspIssuer, OcspRefusal, Responder, Status, internal_error_response, parse_request,
    refusal_response, sign_response,
};
use signet_store::{CertificateRecord, IssuanceState, OcspRecord};
use time::OffsetDateTime;

use crate::AppError;
use crate::issue::Signet;

/// An answer for the HTTP layer: the DER and, for signed answers, its validity for caching.
#[derive(Debug, Clone)]
pub struct OcspAnswer {
    pub der: Vec<u8>,
    pub validity: Option<(OffsetDateTime, OffsetDateTime)>,
}

impl OcspAnswer {
    fn refused(r: OcspRefusal) -> OcspAnswer {
        OcspAnswer {
            der: refusal_response(r),
            validity: None,
        }
    }
}

impl Signet {
    fn responder_for(&self, issuer: &str) -> Result<(Responder<'_>, &OcspIssuer), AppError> {
        let r = self
            .authority
            .responders
            .get(issuer)
            .ok_or_else(|| AppError::NotFound(format!("OCSP responder for {issuer}")))?;
        Ok((
            Responder {
                certificate_der: &r.certificate_der,
                key: r.key.as_ref(),
            },
            &r.issuer,
        ))
    }

    fn status_of(cert: &CertificateRecord) -> Result<Status, AppError> {
        Ok(match cert.revoked_at {
            Some(at) => Status::Revoked {
                at,
                reason_code: cert
                    .revocation_reason
                    .as_deref()
                    .map(RevocationReason::parse)
                    .transpose()?
                    .map(RevocationReason::code),
            },
            None => Status::Good,
        })
    }

    /// Signs the (SHA-1 CertID, RFC 5019) response for a subscriber certificate.
    fn sign_ocsp(&self, cert: &CertificateRecord) -> Result<OcspRecord, AppError> {
        let (responder, issuer) = self.responder_for(&cert.intent.issuer)?;
        let (this_update, next_update) = window(self.now());
        let status = Self::status_of(cert)?;
        let der = sign_response(
            responder,
            issuer,
            CertIdHash::Sha1,
            &cert.intent.serial,
            status,
            this_update,
            next_update,
        )?;
        Ok(OcspRecord {
            serial: cert.intent.serial.to_hex(),
            issuer: issuer.name.clone(),
            this_update,
            next_update,
            der,
        })
    }

    /// Signs and stores the response for a subscriber certificate.
    pub async fn presign_ocsp(&self, cert: &CertificateRecord) -> Result<OcspRecord, AppError> {
        let record = self.sign_ocsp(cert)?;
        self.store.store_ocsp_response(&record).await?;
        Ok(record)
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

    /// Re-signs every response that is missing or older than the refresh age.
    pub async fn refresh_ocsp(&self) -> Result<usize, AppError> {
        let mut signed = 0;
        loop {
            let now = self.now();
            let batch = self
                .store
                .certificates_needing_ocsp(now - OCSP_REFRESH_AFTER, now, 1000)
                .await?;
            if batch.is_empty() {
                return Ok(signed);
            }
            // One transaction per batch: a flushed commit per response would bound the job's speed.
            let records = batch
                .iter()
                .map(|c| self.sign_ocsp(c))
                .collect::<Result<Vec<_>, _>>()?;
            self.store.store_ocsp_responses(&records).await?;
            signed += records.len();
        }
    }

    /// Answers an OCSP request (DER). Never fails: errors become OCSP error responses.
    pub async fn ocsp_answer(&self, request: &[u8]) -> OcspAnswer {
        match self.try_ocsp_answer(request).await {
            Ok(answer) => answer,
            Err(e) => {
                tracing::error!(error = %e, "OCSP request failed");
                OcspAnswer {
                    der: internal_error_response(),
                    validity: None,
                }
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
        if query.hash == CertIdHash::Sha1
            && let Some(r) = self.store.ocsp_response(&serial.to_hex()).await?
            && r.issuer == issuer.name
            && r.next_update > now
        {
            return Ok(OcspAnswer {
                der: r.der,
                validity: Some((r.this_update, r.next_update)),
            });
        }
        // Not pre-signed: sign now. A serial this CA never issued is "unknown", never "good".
        let cert = self.store.certificate(&serial).await?.filter(|c| {
            c.state == IssuanceState::Issued
                && c.intent.issuer == issuer.name
                && !c.intent.profile.starts_with("ca:")
        });
        let status = match &cert {
            Some(c) => Self::status_of(c)?,
            None => Status::Unknown,
        };
        if let (Some(c), CertIdHash::Sha1) = (&cert, query.hash) {
            let r = self.presign_ocsp(c).await?;
            return Ok(OcspAnswer {
                der: r.der,
                validity: Some((r.this_update, r.next_update)),
            });
        }
        let (responder, _) = self.responder_for(&issuer.name)?;
        let (this_update, next_update) = window(now);
        let der = sign_response(
            responder,
            issuer,
            query.hash,
            &serial,
            status,
            this_update,
            next_update,
        )?;
        Ok(OcspAnswer {
            der,
            validity: Some((this_update, next_update)),
        })
    }
}

/// Parses a serial from the store's hex, for callers outside this module.
pub fn serial(hex: &str) -> Result<Serial, AppError> {
    Ok(Serial::from_str(hex)?)
}
