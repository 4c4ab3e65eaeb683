//! Issued certificates: what their owner and staff see and download, and revocation by the owner,
//! staff, the operator or a job (R-CRT-6).

use serde::Serialize;
use serde_json::json;
use signet_domain::certificate::{
    CertificateAction, CertificateFacts, CertificateStatus, RevocationReason, certificate_actions,
    check_revoke, may_view,
};
use signet_domain::role::Actor;
use signet_domain::serial::Serial;
use signet_pki::crl::{CrlEntry, RevokedList};
use signet_store::{CertificateRecord, OrderRecord};

use crate::AppError;
use crate::actions::{ActionView, views};
use crate::dates::rfc3339;
use crate::issue::Signet;
use crate::work::Work;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CertificateView {
    pub serial: String,
    pub status: &'static str,
    pub subject: String,
    pub not_before: String,
    pub not_after: String,
    pub order_number: String,
    pub revoked_at: Option<String>,
    pub revocation_reason: Option<String>,
    pub certificate: String,
    pub public_key: String,
    /// What the one asking may do to it.
    pub actions: Vec<ActionView>,
}

/// A certificate as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSummary {
    pub serial: String,
    pub order_number: String,
    pub subject: String,
    pub status: CertificateStatus,
    pub not_before: time::OffsetDateTime,
    pub not_after: time::OffsetDateTime,
    pub revoked_at: Option<time::OffsetDateTime>,
    pub revocation_reason: Option<String>,
    /// What the one asking may do to it, with the domain's reason for each refusal.
    pub actions: Vec<ActionView>,
}

impl Signet {
    pub(crate) async fn certificate_with_order(
        &self,
        actor: &Actor,
        serial: &Serial,
    ) -> Result<(CertificateRecord, OrderRecord, CertificateFacts), AppError> {
        let not_found = || AppError::NotFound(format!("certificate {serial}"));
        let cert = self
            .store
            .certificate(serial)
            .await?
            .ok_or_else(not_found)?;
        let order = self
            .store
            .order_for_certificate(serial)
            .await?
            .ok_or_else(not_found)?;
        let facts = CertificateFacts {
            owner: order.placed_by,
            channel: order.channel,
            status: CertificateStatus::at(
                cert.revoked_at.is_some(),
                cert.intent.not_after,
                self.now(),
            ),
        };
        if !may_view(&facts, actor) {
            return Err(not_found());
        }
        Ok((cert, order, facts))
    }

    fn summary(
        &self,
        actor: &Actor,
        cert: &CertificateRecord,
        order: &OrderRecord,
        facts: &CertificateFacts,
    ) -> CertificateSummary {
        CertificateSummary {
            serial: cert.intent.serial.to_hex(),
            order_number: order.order_number.to_string(),
            subject: cert.intent.subject.clone(),
            status: facts.status,
            actions: views(
                &certificate_actions(facts, actor),
                CertificateAction::as_str,
            ),
            not_before: cert.intent.not_before,
            not_after: cert.intent.not_after,
            revoked_at: cert.revoked_at,
            revocation_reason: cert.revocation_reason.map(|r| r.to_string()),
        }
    }

    /// The certificates of the actor's orders, for listing (not a download: no PEM, not
    /// audited).
    pub async fn my_certificates(
        &self,
        actor: &Actor,
    ) -> Result<Vec<CertificateSummary>, AppError> {
        let mut out = Vec::new();
        for order in self.orders_of(actor).await? {
            let Some(serial) = order.certificate_serial.as_ref() else {
                continue;
            };
            if let Ok((cert, order, facts)) = self.certificate_with_order(actor, serial).await {
                out.push(self.summary(actor, &cert, &order, &facts));
            }
        }
        Ok(out)
    }

    /// One certificate's details for its owner and staff (not a download: not audited).
    pub async fn certificate_summary(
        &self,
        actor: &Actor,
        serial: &Serial,
    ) -> Result<CertificateSummary, AppError> {
        let (cert, order, facts) = self.certificate_with_order(actor, serial).await?;
        Ok(self.summary(actor, &cert, &order, &facts))
    }

    /// The certificate with its PEM and public key, for the owner and staff (downloads audited).
    pub async fn certificate_view(
        &self,
        actor: &Actor,
        serial: &Serial,
    ) -> Result<CertificateView, AppError> {
        let (cert, order, facts) = self.certificate_with_order(actor, serial).await?;
        let der = cert
            .der
            .clone()
            .ok_or_else(|| AppError::NotFound(format!("certificate {serial}")))?;
        self.audit(
            &format!("account:{}", actor.account),
            "certificate.downloaded",
            &format!("certificate:{}", cert.intent.serial),
            json!({}),
        )
        .await?;
        Ok(CertificateView {
            serial: cert.intent.serial.to_hex(),
            status: facts.status.as_str(),
            subject: cert.intent.subject.clone(),
            not_before: rfc3339(cert.intent.not_before),
            not_after: rfc3339(cert.intent.not_after),
            order_number: order.order_number.to_string(),
            revoked_at: cert.revoked_at.map(rfc3339),
            revocation_reason: cert.revocation_reason.map(|r| r.to_string()),
            certificate: signet_pki::certificate_pem(&der),
            public_key: signet_pki::public_key_pem(&der)?,
            actions: views(
                &certificate_actions(&facts, actor),
                CertificateAction::as_str,
            ),
        })
    }

    pub async fn certificate_der(
        &self,
        actor: &Actor,
        serial: &Serial,
    ) -> Result<Vec<u8>, AppError> {
        let (cert, _, _) = self.certificate_with_order(actor, serial).await?;
        cert.der
            .ok_or_else(|| AppError::NotFound(format!("certificate {serial}")))
    }

    /// Revokes a certificate with an RFC 5280 reason (owner or staff).
    pub async fn revoke(
        &self,
        actor: &Actor,
        serial: &Serial,
        reason: RevocationReason,
    ) -> Result<(), AppError> {
        let (cert, _, facts) = self.certificate_with_order(actor, serial).await?;
        check_revoke(&facts, actor)?;
        self.record_revocation(
            &cert.intent.serial,
            reason,
            &format!("account:{}", actor.account),
        )
        .await
    }

    /// The operator's revocation (`signet revoke`): any certificate Signet issued.
    pub async fn revoke_as_operator(
        &self,
        serial: &Serial,
        reason: RevocationReason,
    ) -> Result<(), AppError> {
        self.revoke_as_operator_by(serial, reason, "operator:cli")
            .await
    }

    /// Revokes any certificate Signet issued, on behalf of `by` (the operator, a job).
    pub(crate) async fn revoke_as_operator_by(
        &self,
        serial: &Serial,
        reason: RevocationReason,
        by: &str,
    ) -> Result<(), AppError> {
        self.store
            .certificate(serial)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("certificate {serial}")))?;
        self.record_revocation(serial, reason, by).await
    }

    async fn record_revocation(
        &self,
        serial: &Serial,
        reason: RevocationReason,
        by: &str,
    ) -> Result<(), AppError> {
        let mut work = self.work().await?;
        self.revoke_in(&mut work, serial, reason, by).await?;
        work.commit().await?;
        self.after_revocation(serial).await;
        Ok(())
    }

    /// Revokes in the caller's unit of work (its pre-signed OCSP response goes with it).
    pub(crate) async fn revoke_in(
        &self,
        work: &mut Work<'_>,
        serial: &Serial,
        reason: RevocationReason,
        by: &str,
    ) -> Result<(), AppError> {
        let at = self.now();
        let crl_entry = RevokedList::entry_der(&CrlEntry {
            serial: serial.clone(),
            revoked_at: at,
            reason_code: Some(reason.code()),
        })?;
        work.revoke_certificate(serial, reason, at, &crl_entry)
            .await?;
        work.audit(
            by,
            "certificate.revoked",
            &format!("certificate:{serial}"),
            json!({"reason": reason.as_str()}),
        );
        Ok(())
    }

    /// After a revocation committed: a new OCSP response and CRL now. Should either fail, the
    /// revocation stands: the responder signs from the store meanwhile, and the job rebuilds
    /// every CRL that is behind its shard's revocations.
    pub(crate) async fn after_revocation(&self, serial: &Serial) {
        self.ocsp_cache.forget(serial);
        if let Err(e) = self.republish_for(serial).await {
            tracing::error!(serial = %serial, error = %e, "publishing the revocation failed; the job will");
        }
    }
}
