//! Carrying out what the domain decided: `decide` (refusals audited), then the status change, its
//! history line, its audit record and its effects in one unit of work.

use serde_json::json;
use signet_domain::credentials::OrderNumber;
use signet_domain::order::{Effect, OrderEvent, OrderFacts, OrderStatus, Transition, decide};
use signet_domain::role::Actor;
use signet_store::OrderRecord;
use signet_store::signing::SignedDecisionRecord;

use crate::AppError;
use crate::issue::Signet;
use crate::work::Work;

impl Signet {
    /// Decides; a refusal is audited with its reason. Otherwise returns the transition to apply.
    pub(crate) async fn decide_audited(
        &self,
        actor: &Actor,
        r: &OrderRecord,
        facts: &OrderFacts,
        event: &OrderEvent,
        action: &str,
    ) -> Result<Transition, AppError> {
        match decide(facts, event, actor, self.now()) {
            Ok(t) => Ok(t),
            Err(refusal) => {
                self.audit(
                    &format!("account:{}", actor.account),
                    &format!("{action}.refused"),
                    &format!("order:{}", r.order_number),
                    json!({"reason": refusal.to_string()}),
                )
                .await?;
                Err(refusal.into())
            }
        }
    }

    /// Decides and applies one event in a unit of work of its own.
    pub(crate) async fn apply(
        &self,
        actor: &Actor,
        r: &OrderRecord,
        facts: &OrderFacts,
        event: OrderEvent,
        action: &str,
    ) -> Result<Transition, AppError> {
        self.apply_signed(actor, r, facts, event, action, None)
            .await
    }

    /// [`Signet::apply`], storing an officer's signed decision (issue 15) in the same unit of
    /// work: the decision and its evidence commit together or not at all.
    pub(crate) async fn apply_signed(
        &self,
        actor: &Actor,
        r: &OrderRecord,
        facts: &OrderFacts,
        event: OrderEvent,
        action: &str,
        evidence: Option<&SignedDecisionRecord>,
    ) -> Result<Transition, AppError> {
        let transition = self.decide_audited(actor, r, facts, &event, action).await?;
        let mut work = self.work().await?;
        self.apply_in(&mut work, actor, r, facts, &event, &transition, action)
            .await?;
        if let Some(evidence) = evidence {
            self.store_signed(&mut work, actor, evidence).await?;
        }
        work.commit().await?;
        Ok(transition)
    }

    /// Stores a decided transition (compare-and-set on the status), its history line, its audit
    /// record and its effects (mail queued, attestation) in the caller's unit of work.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn apply_in(
        &self,
        work: &mut Work<'_>,
        actor: &Actor,
        r: &OrderRecord,
        facts: &OrderFacts,
        event: &OrderEvent,
        transition: &Transition,
        action: &str,
    ) -> Result<(), AppError> {
        let now = self.now();
        if transition.next != facts.status {
            let ready_since = (transition.next == OrderStatus::ReadyForPickup).then_some(now);
            work.transition_order(
                &r.order_number,
                facts.status,
                transition.next,
                ready_since,
                now,
            )
            .await?;
        }
        let message = match event {
            OrderEvent::Reject { reason } => Some(reason.clone()),
            OrderEvent::RequestInfo { message } => Some(message.clone()),
            _ => None,
        };
        work.history(
            &r.order_number,
            Some(actor.account),
            action,
            message.clone(),
        )
        .await?;
        work.audit(
            &format!("account:{}", actor.account),
            action,
            &format!("order:{}", r.order_number),
            json!({"from": facts.status.as_str(), "to": transition.next.as_str()}),
        );
        let identity = self.identity_of(r)?;
        for effect in &transition.effects {
            match effect {
                Effect::MailPickupLink => self.mail_pickup_link(work, r).await?,
                Effect::MailRejection => {
                    work.mail(
                        identity.email(),
                        &format!("Order {} was rejected", r.order_number),
                        format!(
                            "The vetting team rejected order {}:\n\n{}\n",
                            r.order_number,
                            message.clone().unwrap_or_default()
                        ),
                    )
                    .await?
                }
                Effect::MailInfoRequest => {
                    work.mail(
                        identity.email(),
                        &format!(
                            "Order {}: the vetting team needs more information",
                            r.order_number
                        ),
                        format!(
                            "{}\n\nAnswer by uploading a document or sending a message on the order page: {}\n",
                            message.clone().unwrap_or_default(),
                            self.link(&format!("/orders/{}", r.order_number))
                        ),
                    )
                    .await?
                }
                Effect::RecordAttestation => {
                    work.record_attestation(&r.order_number, actor.account, now)
                        .await?
                }
                Effect::MailApprovalLink => self.mail_approval_link(work, r).await?,
                Effect::QueueForVetting => {}
                Effect::CountPickupFailure => {
                    work.count_pickup_attempt(&r.order_number).await?;
                }
                Effect::ResetPickupFailures => {
                    work.reset_pickup_failures(&r.order_number).await?
                }
            }
        }
        Ok(())
    }

    /// Loads an order the actor may see and applies one event to it.
    pub(crate) async fn act(
        &self,
        actor: &Actor,
        number: &OrderNumber,
        event: OrderEvent,
        action: &str,
    ) -> Result<Transition, AppError> {
        let (r, facts) = self.visible_order(actor, number).await?;
        self.apply(actor, &r, &facts, event, action).await
    }
}
