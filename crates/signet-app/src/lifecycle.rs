//! After issuance (R-CRT-5/6/7, R-ORD-7): certificate downloads, revocation, reissue (new key,
//! same end date), renewal (new key, new period), reorder with carried-over evidence, expedite,
//! and expiry reminders.

use serde::Serialize;
use serde_json::json;
use signet_domain::certificate::{
    CertificateAction, CertificateFacts, CertificateStatus, RevocationReason, certificate_actions,
    check_reissue, check_reissue_revocation, check_renew, check_revoke, may_view,
};
use signet_domain::config::Channel;
use signet_domain::credentials::{OrderNumber, check_pickup_password};
use signet_domain::identity::IdentityInput;
use signet_domain::key::KeyChoice;
use signet_domain::order::{OrderEvent, OrderKind, OrderStatus};
use signet_domain::role::Actor;
use signet_domain::serial::Serial;
use signet_pki::crl::{CrlEntry, RevokedList};
use signet_store::{CertificateRecord, OrderRecord};
use time::Duration;

use crate::AppError;
use crate::actions::{ActionView, views};
use crate::credentials::{hash_password, order_number};
use crate::dates::rfc3339;
use crate::issue::Signet;
use crate::orders::NewOrder;
use crate::work::Work;

/// How long before expiry the reminder goes out (R-CRT-7).
pub const REMINDER_BEFORE: Duration = Duration::days(30);

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

/// Corrections for a reorder: anything left out is copied from the original order.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reorder {
    pub pickup_password: String,
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub subject: Option<IdentityInput>,
    #[serde(default)]
    pub approval_email: Option<String>,
    #[serde(default)]
    pub validity_months: Option<u32>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "p-256"))]
    pub key_type: Option<KeyChoice>,
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
    async fn certificate_with_order(
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
    async fn revoke_in(
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

    /// Reissue (R-CRT-5): a new key pair for the same vetted identity and the same end date. The
    /// new order is ready for pickup at once; the old certificate may be revoked.
    pub async fn reissue(
        &self,
        actor: &Actor,
        serial: &Serial,
        pickup_password: &str,
        revoke: Option<RevocationReason>,
    ) -> Result<OrderRecord, AppError> {
        let (cert, old, facts) = self.certificate_with_order(actor, serial).await?;
        check_reissue(&facts, actor)?;
        if let Some(reason) = revoke {
            check_reissue_revocation(reason)?;
        }
        check_pickup_password(pickup_password)?;
        let now = self.now();
        let record = OrderRecord {
            order_number: order_number()?,
            pickup_password_hash: hash_password(pickup_password)?,
            status: OrderStatus::ReadyForPickup,
            ready_since: Some(now),
            pickup_failures: 0,
            certificate_serial: None,
            previous_order: Some(old.order_number.clone()),
            created_at: now,
            updated_at: now,
            order_kind: OrderKind::Reissue,
            fixed_not_after: Some(cert.intent.not_after),
            claimed_serial: None,
            claim_expires_at: None,
            ..old.clone()
        };
        let who = format!("account:{}", actor.account);
        let mut work = self.work().await?;
        work.create_order(&record).await?;
        work.copy_documents(&old.order_number, &record.order_number)
            .await?;
        work.history(
            &record.order_number,
            Some(actor.account),
            "reissue",
            Some(format!("reissue of certificate {}", cert.intent.serial)),
        )
        .await?;
        work.audit(
            &who,
            "certificate.reissue_ordered",
            &format!("order:{}", record.order_number),
            json!({"previous_certificate": cert.intent.serial.to_hex()}),
        );
        if let Some(reason) = revoke {
            self.revoke_in(&mut work, &cert.intent.serial, reason, &who)
                .await?;
        }
        self.mail_pickup_link(&mut work, &record).await?;
        work.commit().await?;
        if revoke.is_some() {
            self.after_revocation(&cert.intent.serial).await;
        }
        Ok(record)
    }

    /// Renewal (R-CRT-5): a new order pre-filled from the certificate's order, evidence carried over.
    pub async fn renew(
        &self,
        actor: &Actor,
        serial: &Serial,
        pickup_password: &str,
        validity_months: Option<u32>,
    ) -> Result<OrderRecord, AppError> {
        let (_, old, facts) = self.certificate_with_order(actor, serial).await?;
        check_renew(&facts, actor)?;
        let mut record = self.build_order(
            actor,
            self.prefilled(&old, pickup_password, validity_months)?,
        )?;
        record.order_kind = OrderKind::Renewal;
        record.previous_order = Some(old.order_number.clone());
        let mut work = self.work().await?;
        self.open_order(&mut work, actor, &record).await?;
        work.copy_documents(&old.order_number, &record.order_number)
            .await?;
        work.commit().await?;
        Ok(record)
    }

    fn prefilled(
        &self,
        old: &OrderRecord,
        pickup_password: &str,
        validity_months: Option<u32>,
    ) -> Result<NewOrder, AppError> {
        Ok(NewOrder {
            product: old.product.clone(),
            subject: serde_json::from_str(&old.identity_json)
                .map_err(|e| AppError::Internal(format!("stored identity: {e}")))?,
            approval_email: old.approval_email.clone(),
            pickup_password: pickup_password.to_owned(),
            validity_months: validity_months.unwrap_or(old.validity_months),
            key_type: old.key_type,
        })
    }

    /// Reorder (R-ORD-7): cancels the order if it still can be, and copies it into a new one with
    /// the corrections. When the identity is unchanged the vetting evidence carries over and
    /// support can expedite the new order.
    pub async fn reorder(
        &self,
        actor: &Actor,
        number: &OrderNumber,
        corrections: Reorder,
    ) -> Result<OrderRecord, AppError> {
        let (old, facts) = self.visible_order(actor, number).await?;
        // The domain decides (R-ORD-7): the owner only, never an issued order, and an open
        // order only if it may still be cancelled.
        let transition = self
            .decide_audited(actor, &old, &facts, &OrderEvent::Reorder, "order.reorder")
            .await?;
        let mut draft = self.prefilled(
            &old,
            &corrections.pickup_password,
            corrections.validity_months,
        )?;
        let unchanged_identity = corrections
            .subject
            .as_ref()
            .is_none_or(|s| *s == draft.subject)
            && corrections
                .approval_email
                .as_ref()
                .is_none_or(|a| *a == draft.approval_email);
        draft.product = corrections.product.unwrap_or(draft.product);
        draft.subject = corrections.subject.unwrap_or(draft.subject);
        draft.approval_email = corrections.approval_email.unwrap_or(draft.approval_email);
        draft.key_type = corrections.key_type.unwrap_or(draft.key_type);
        let mut record = self.build_order(actor, draft)?;
        let cancel = OrderEvent::Cancel;
        let cancelled = (transition.next != facts.status).then_some(transition);
        record.order_kind = if unchanged_identity {
            OrderKind::Reorder
        } else {
            OrderKind::New
        };
        record.previous_order = Some(old.order_number.clone());
        // The cancellation and the new order stand or fall together.
        let mut work = self.work().await?;
        if let Some(t) = &cancelled {
            self.apply_in(
                &mut work,
                actor,
                &old,
                &facts,
                &cancel,
                t,
                "order.cancelled",
            )
            .await?;
        }
        self.open_order(&mut work, actor, &record).await?;
        if unchanged_identity {
            work.copy_documents(&old.order_number, &record.order_number)
                .await?;
        }
        work.commit().await?;
        Ok(record)
    }

    /// Support sends a reorder with carried-over evidence to vetting (R-ORD-7).
    pub async fn expedite(
        &self,
        actor: &Actor,
        number: &OrderNumber,
    ) -> Result<OrderStatus, AppError> {
        self.act(actor, number, OrderEvent::Expedite, "order.expedited")
            .await
            .map(|t| t.next)
    }

    /// R-CRT-7: mails each owner once when a certificate is within 30 days of expiry.
    pub async fn send_expiry_reminders(&self) -> Result<usize, AppError> {
        let now = self.now();
        let mut sent = 0;
        for cert in self
            .store
            .certificates_expiring(now, now + REMINDER_BEFORE)
            .await?
        {
            let serial = &cert.intent.serial;
            let Some(order) = self.store.order_for_certificate(serial).await? else {
                continue;
            };
            let identity = self.identity_of(&order)?;
            let renew_hint = if order.channel == Channel::Agent {
                "Contact your registration agent for a new order.".to_owned()
            } else {
                format!(
                    "Renew it from your account: {}",
                    self.link(&format!("/certificates/{serial}"))
                )
            };
            let mut work = self.work().await?;
            if !work.record_reminder(serial, "expiry-30d", now).await? {
                work.rollback().await?;
                continue;
            }
            work.mail(
                identity.email(),
                &format!(
                    "Your certificate expires on {}",
                    cert.intent.not_after.date()
                ),
                format!(
                    "Your certificate {serial} (order {}) expires on {} UTC.\n{renew_hint}\n",
                    order.order_number, cert.intent.not_after
                ),
            )
            .await?;
            work.audit(
                "job:reminders",
                "certificate.expiry_reminder",
                &format!("certificate:{serial}"),
                json!({}),
            );
            work.commit().await?;
            sent += 1;
        }
        Ok(sent)
    }
}
