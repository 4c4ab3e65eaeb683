//! A new order from an old one: reissue with the same end date, renewal, reorder with carried-over
//! evidence, and support's expedite (R-CRT-5, R-ORD-7).

use serde_json::json;
use signet_domain::certificate::{
    RevocationReason, check_reissue, check_reissue_revocation, check_renew,
};
use signet_domain::credentials::{OrderNumber, check_pickup_password};
use signet_domain::identity::IdentityInput;
use signet_domain::key::KeyChoice;
use signet_domain::order::{OrderEvent, OrderKind, OrderStatus};
use signet_domain::role::Actor;
use signet_domain::serial::Serial;
use signet_store::OrderRecord;

use crate::AppError;
use crate::credentials::{hash_password, order_number};
use crate::issue::Signet;
use crate::orders::NewOrder;

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

impl Signet {
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
}
