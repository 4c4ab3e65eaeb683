//! Support (R-AUX-6 and the support role of design §1): anyone writes to support, citing an
//! order number when they have one; support answers by mail, and with an order number the
//! thread stays in the order's history. Support also unlocks a locked pickup and resends the
//! request form.

use serde_json::json;
use signet_domain::Refusal;
use signet_domain::credentials::OrderNumber;
use signet_domain::guard::CLIENT_SUPPORT_REQUESTS;
use signet_domain::identity::{IdentityInput, check_email};
use signet_domain::order::OrderEvent;
use signet_domain::privacy::check_reveal;
use signet_domain::role::Actor;
use signet_store::SupportRequestRecord;

use crate::AppError;
use crate::issue::Signet;
use crate::orders::OrderView;

const MAX_MESSAGE: usize = 5000;

fn require_support(actor: &Actor) -> Result<(), AppError> {
    if actor.may(signet_domain::role::Permission::WorkSupportRequests) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only the support team does this".into(),
        ))
    }
}

fn check_message(message: &str) -> Result<&str, AppError> {
    let m = message.trim();
    if m.is_empty() || m.chars().count() > MAX_MESSAGE {
        return Err(Refusal::InvalidInput(format!(
            "write a message of 1 to {MAX_MESSAGE} characters"
        ))
        .into());
    }
    Ok(m)
}

impl Signet {
    /// A message to support from anyone; with an order number it joins the order's history.
    pub async fn contact_support(
        &self,
        name: &str,
        email: &str,
        order_number: Option<&str>,
        message: &str,
        client: &str,
    ) -> Result<i64, AppError> {
        // Refused requests are audited too (who asked, and why not).
        let result = async {
            let email = check_email(email)?;
            let message = check_message(message)?;
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 200 {
                return Err(
                    Refusal::InvalidInput("give your name (at most 200 characters)".into()).into(),
                );
            }
            let unknown = |n: &str| {
                Refusal::InvalidInput(format!(
                    "there is no order {n}: check the number on your order confirmation, or leave it empty"
                ))
            };
            let order_number = match order_number.map(str::trim).filter(|n| !n.is_empty()) {
                Some(n) => Some(OrderNumber::parse(n).map_err(|_| unknown(n))?),
                None => None,
            };
            if let Some(n) = &order_number
                && self.store.order(n).await?.is_none()
            {
                return Err(unknown(n.as_str()).into());
            }
            self.within(&CLIENT_SUPPORT_REQUESTS, client).await?;
            let mut work = self.work().await?;
            if let Some(n) = &order_number {
                work.history(n, None, "support_request", Some(message.to_owned()))
                    .await?;
            }
            let id = work
                .create_support_request(&SupportRequestRecord {
                    id: 0,
                    name: name.to_owned(),
                    email: email.clone(),
                    order_number: order_number.clone(),
                    message: message.to_owned(),
                    created_at: self.now(),
                    answered_at: None,
                })
                .await?;
            work.audit(
                &format!("email:{email}"),
                "support.request",
                &format!("support:{id}"),
                json!({"order": order_number}),
            );
            work.commit().await?;
            Ok(id)
        }
        .await;
        self.audit_refusal(
            &format!("email:{}", email.trim()),
            "support.request",
            "support",
            result,
        )
        .await
    }

    /// Open requests first, oldest first.
    pub async fn support_inbox(
        &self,
        actor: &Actor,
    ) -> Result<Vec<SupportRequestRecord>, AppError> {
        require_support(actor)?;
        Ok(self.store.support_requests(200).await?)
    }

    /// Answers a request by mail; the answer joins the order's history when there is one.
    pub async fn answer_support(
        &self,
        actor: &Actor,
        id: i64,
        message: &str,
    ) -> Result<(), AppError> {
        // Refused requests are audited too (who asked, and why not).
        let result = async {
            require_support(actor)?;
            let message = check_message(message)?;
            let request = self
                .store
                .support_request(id)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("support request {id}")))?;
            let about = request
                .order_number
                .as_ref()
                .map(|n| format!(" about order {n}"))
                .unwrap_or_default();
            let mut work = self.work().await?;
            work.mail(
                &request.email,
                &format!("Signet support: your request{about}"),
                format!(
                    "Hello {},\n\n{message}\n\nSignet support\n\n> {}\n",
                    request.name,
                    request.message.replace('\n', "\n> ")
                ),
            )
            .await?;
            work.add_support_reply(id, actor.account, message, self.now())
                .await?;
            if let Some(n) = &request.order_number {
                work.history(
                    n,
                    Some(actor.account),
                    "support_answer",
                    Some(message.to_owned()),
                )
                .await?;
            }
            work.audit(
                &format!("account:{}", actor.account),
                "support.answered",
                &format!("support:{id}"),
                json!({}),
            );
            work.commit().await
        }
        .await;
        self.audit_refusal(
            &format!("account:{}", actor.account),
            "support.answer",
            &format!("support:{id}"),
            result,
        )
        .await
    }

    /// Support sees an order's personal data masked; revealing it is audited each time, and
    /// the audit record is written before the data is returned.
    /// The reveal is a decision like a vetting one: signed by the officer's key when they
    /// have one (issue 15), and the signed statement stored with the audit record.
    pub async fn reveal_personal_data(
        &self,
        actor: &Actor,
        number: &OrderNumber,
        signed: Option<&crate::signed_decisions::SignedStatement>,
    ) -> Result<OrderView, AppError> {
        let who = format!("account:{}", actor.account);
        let (order, facts) = self.visible_order(actor, number).await?;
        let subject = format!("order:{}", order.order_number);
        self.audit_refusal(
            &who,
            "order.personal_data_reveal",
            &subject,
            check_reveal(actor).map_err(AppError::from),
        )
        .await?;
        let evidence = self
            .check_signed(actor, &order, "reveal", "", signed)
            .await?;
        let mut work = self.work().await?;
        work.audit(&who, "order.personal_data_revealed", &subject, json!({}));
        if let Some(evidence) = &evidence {
            self.store_signed(&mut work, actor, evidence).await?;
        }
        work.commit().await?;
        self.order_view(actor, order, &facts, true).await
    }

    /// Lets a locked pickup be tried again (R-KEY-4: after too many wrong pickup passwords).
    pub async fn unlock_pickup(&self, actor: &Actor, number: &OrderNumber) -> Result<(), AppError> {
        self.act(
            actor,
            number,
            OrderEvent::UnlockPickup,
            "order.pickup_unlocked",
        )
        .await
        .map(|_| ())
    }

    /// Mails the request form (PDF) to the person the certificate is for (R-ORD-4).
    pub async fn resend_request_form(
        &self,
        actor: &Actor,
        number: &OrderNumber,
    ) -> Result<String, AppError> {
        require_support(actor)?;
        let (order, _) = self.visible_order(actor, number).await?;
        let identity: IdentityInput = serde_json::from_str(&order.identity_json)
            .map_err(|e| AppError::Internal(format!("stored identity: {e}")))?;
        let pdf = self.agreement(actor, number).await?;
        let mut work = self.work().await?;
        work.mail_with(
            &identity.email,
            &format!("Your request form for order {number}"),
            format!(
                "Hello {},\n\nas asked, here is the request form of order {number} again. Sign it before a notary, at the Chamber of Commerce or with a registration agent, and upload the signed, stamped form on your order page (or hand it to your registration agent).\n",
                identity.given_name
            ),
            (
                format!("signet-order-{number}.pdf"),
                "application/pdf".into(),
                pdf,
            ),
        )
        .await?;
        work.history(
            &order.order_number,
            Some(actor.account),
            "request_form_resent",
            None,
        )
        .await?;
        work.audit(
            &format!("account:{}", actor.account),
            "order.request_form_resent",
            &format!("order:{number}"),
            json!({}),
        );
        work.commit().await?;
        Ok(identity.email)
    }
}
