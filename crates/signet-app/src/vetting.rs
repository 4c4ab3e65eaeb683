//! Vetting (R-ORD-4…6): the queue, the fingerprint check of a returned form, an agent's attestation
//! and the officer's decision.

use serde::Serialize;
use serde_json::json;
use signet_domain::Refusal;
use signet_domain::credentials::OrderNumber;
use signet_domain::order::{OrderEvent, OrderStatus};
use signet_domain::role::{Actor, Permission};
use signet_store::OrderRecord;

use crate::AppError;
use crate::issue::Signet;
use crate::signed_decisions::SignedStatement;

/// A line of the vetting queue.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueItem {
    pub order_number: String,
    pub status: String,
    pub product: String,
    pub organization: String,
    pub country: String,
    pub age_hours: i64,
    pub attested: bool,
}

/// R-ORD-4: a fingerprint of the order number and every locked detail, printed on the request
/// form, so vetting can tell that a returned paper form belongs to this order.
pub fn fingerprint(o: &OrderRecord) -> String {
    let canonical = json!([
        o.order_number,
        o.product,
        o.identity_json,
        o.approval_email,
        o.validity_months,
        o.key_type.as_str(),
        o.channel.as_str()
    ]);
    let digest = hex::encode_upper(crate::sha256(canonical.to_string().as_bytes()));
    digest.as_bytes()[..32]
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The fingerprint check vetting runs on what a returned form shows (spaces and case ignored).
pub fn fingerprint_matches(o: &OrderRecord, shown: &str) -> bool {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase()
    };
    norm(&fingerprint(o)) == norm(shown)
}

impl Signet {
    /// Vetting's check that a returned form belongs to the order: its fingerprint (or QR payload).
    pub async fn check_fingerprint(
        &self,
        actor: &Actor,
        number: &OrderNumber,
        shown: &str,
    ) -> Result<bool, AppError> {
        if !actor.may(Permission::WorkVettingQueue) {
            return Err(AppError::Forbidden(
                "only CA staff check form fingerprints".into(),
            ));
        }
        let (r, _) = self.visible_order(actor, number).await?;
        let shown = shown.rsplit(':').next().unwrap_or(shown);
        let matches = fingerprint_matches(&r, shown);
        self.audit(
            &format!("account:{}", actor.account),
            "order.fingerprint_checked",
            &format!("order:{}", r.order_number),
            json!({"matches": matches}),
        )
        .await?;
        Ok(matches)
    }

    pub async fn attest(&self, actor: &Actor, number: &OrderNumber) -> Result<(), AppError> {
        self.act(actor, number, OrderEvent::Attest, "order.attested")
            .await
            .map(|_| ())
    }

    /// A vetting decision: `approve`, `reject` (with a reason) or `request_info` (with a message),
    /// signed by the officer's key when they have one (issue 15): the signature is checked
    /// before the decision is applied, and stored with it.
    pub async fn decide_order(
        &self,
        actor: &Actor,
        number: &OrderNumber,
        action: &str,
        message: Option<String>,
        signed: Option<&SignedStatement>,
    ) -> Result<OrderStatus, AppError> {
        let (r, facts) = self.visible_order(actor, number).await?;
        let text = signet_domain::statement::normalize_message(&message.unwrap_or_default());
        let event = match action {
            "approve" => OrderEvent::Approve,
            "reject" => OrderEvent::Reject {
                reason: text.clone(),
            },
            "request_info" => OrderEvent::RequestInfo {
                message: text.clone(),
            },
            other => {
                return Err(Refusal::InvalidInput(format!(
                    "unknown action `{other}`: use approve, reject or request_info"
                ))
                .into());
            }
        };
        let evidence = self.check_signed(actor, &r, action, &text, signed).await?;
        Ok(self
            .apply_signed(
                actor,
                &r,
                &facts,
                event,
                &format!("order.{action}"),
                evidence.as_ref(),
            )
            .await?
            .next)
    }

    /// The vetting queue, oldest first; `status` filters (default: in_review), `min_age_hours`
    /// keeps only orders waiting at least that long.
    pub async fn vetting_queue(
        &self,
        actor: &Actor,
        status: Option<OrderStatus>,
        min_age_hours: Option<i64>,
    ) -> Result<Vec<QueueItem>, AppError> {
        if !actor.may(Permission::WorkVettingQueue) {
            return Err(AppError::Forbidden(
                "the vetting queue is for vetting officers".into(),
            ));
        }
        let status = status.unwrap_or(OrderStatus::InReview);
        let now = self.now();
        let mut items = Vec::new();
        for r in self.store.orders_with_status(status).await? {
            let identity = self.identity_of(&r)?;
            let age_hours = (now - r.created_at).whole_hours();
            if min_age_hours.is_some_and(|min| age_hours < min) {
                continue;
            }
            items.push(QueueItem {
                age_hours,
                organization: identity.organization().to_owned(),
                attested: r.attested_by.is_some(),
                order_number: r.order_number.to_string(),
                status: r.status.to_string(),
                product: r.product,
                country: r.country,
            });
        }
        Ok(items)
    }
}
