//! Placing and reading orders (R-ORD-1…4, R-ORD-8): the order as placed, checked and locked, its
//! view, its owner's answers and cancellation.

use serde::Serialize;
use serde_json::json;
use signet_domain::Refusal;
use signet_domain::config::Channel;
use signet_domain::credentials::{OrderNumber, check_pickup_password};
use signet_domain::identity::{Identity, IdentityInput, check_email};
use signet_domain::key::KeyChoice;
use signet_domain::order::{
    DocumentKind, OrderAction, OrderEvent, OrderFacts, OrderKind, OrderStatus, check_may_order,
    may_view, order_actions,
};
use signet_domain::privacy::{mask, sees_personal_data};
use signet_domain::role::{Actor, Permission, Role};
use signet_domain::serial::Serial;
use signet_domain::validity::Period;
use signet_store::OrderRecord;

use crate::AppError;
use crate::actions::{ActionView, views};
use crate::credentials::{hash_password, order_number};
use crate::dates::rfc3339;
use crate::evidence::DocumentView;
use crate::issue::Signet;
use crate::vetting::fingerprint;
use crate::work::Work;

/// An order as placed (design §7 order body).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewOrder {
    pub product: String,
    pub subject: IdentityInput,
    pub approval_email: String,
    pub pickup_password: String,
    pub validity_months: u32,
    /// `rsa-3072`, `rsa-2048`, `p-256`, `p-384`, `browser` (made in the browser at pickup) or `csr`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "p-256"))]
    pub key_type: KeyChoice,
}

/// An order's details after [`Signet::check_order`].
#[derive(Debug, Clone)]
pub struct CheckedOrder {
    pub identity: Identity,
    pub channel: Channel,
    pub product: String,
    pub approval_email: String,
    pub key_type: KeyChoice,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryView {
    pub kind: String,
    pub message: Option<String>,
    pub at: String,
}

/// What an order looks like to those who may see it. Never the pickup password.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderView {
    pub order_number: String,
    pub status: String,
    pub product: String,
    pub subject: serde_json::Value,
    /// Whether the person's name and addresses are masked (support, until a reveal).
    pub personal_data_masked: bool,
    pub approval_email: String,
    pub approval_email_confirmed: bool,
    pub validity_months: u32,
    pub key_type: String,
    pub channel: String,
    pub country: String,
    pub attested: bool,
    pub certificate_serial: Option<String>,
    pub fingerprint: String,
    pub created_at: String,
    pub documents: Vec<DocumentView>,
    pub history: Vec<HistoryView>,
    /// What the one asking may do to it now, with the reason for each refusal.
    pub actions: Vec<ActionView>,
}

/// An order as a list shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderSummary {
    pub order_number: String,
    /// An `OrderStatus` name.
    pub status: String,
    pub product: String,
    /// RFC 3339.
    pub created_at: String,
}

impl Signet {
    /// Loads an order the actor may see; others' orders are "not found", never "forbidden".
    pub async fn visible_order(
        &self,
        actor: &Actor,
        number: &OrderNumber,
    ) -> Result<(OrderRecord, OrderFacts), AppError> {
        let record = self
            .store
            .order(number)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("order {number}")))?;
        let facts = self.facts(&record).await?;
        if !may_view(&facts, actor) {
            return Err(AppError::NotFound(format!("order {number}")));
        }
        Ok((record, facts))
    }

    pub(crate) async fn facts(&self, r: &OrderRecord) -> Result<OrderFacts, AppError> {
        let docs = self.store.documents(&r.order_number).await?;
        Ok(OrderFacts {
            status: r.status,
            placed_by: r.placed_by,
            attested_by: r.attested_by,
            channel: r.channel,
            country: r.country.clone(),
            approval_email_confirmed: r.approval_confirmed,
            has_signed_agreement: docs.iter().any(|d| d.kind == DocumentKind::SignedAgreement),
            ready_since: r.ready_since,
            evidence_carried_over: r.order_kind.carries_evidence() && r.previous_order.is_some(),
            named_addresses: vec![
                self.identity_of(r)?.email().to_owned(),
                r.approval_email.clone(),
            ],
            pickup_failures: r.pickup_failures,
        })
    }

    pub fn identity_of(&self, r: &OrderRecord) -> Result<Identity, AppError> {
        let input: IdentityInput = serde_json::from_str(&r.identity_json)
            .map_err(|e| AppError::Internal(format!("stored identity: {e}")))?;
        Ok(Identity::try_from(input)?)
    }

    /// Places an order; its details are locked from here on (R-ORD-1).
    pub async fn place_order(&self, actor: &Actor, o: NewOrder) -> Result<OrderRecord, AppError> {
        let who = format!("account:{}", actor.account);
        let built = self.build_order(actor, o);
        let record = self
            .audit_refusal(&who, "order.create", &who, built)
            .await?;
        let mut work = self.work().await?;
        self.open_order(&mut work, actor, &record).await?;
        work.commit().await?;
        Ok(record)
    }

    /// Checks an order's details (everything but the pickup password) against every rule: what
    /// the portal's review step shows before the order is placed.
    pub fn check_order(&self, actor: &Actor, o: &NewOrder) -> Result<CheckedOrder, AppError> {
        let identity = Identity::try_from(o.subject.clone())?;
        // R-ORD-4: the request form must print the names exactly as the certificate carries them.
        if let Some((field, c)) = crate::agreement::unprintable_field(&identity) {
            return Err(Refusal::InvalidIdentity {
                field,
                reason: format!(
                    "U+{:04X} cannot be printed on the request form the notary stamps; write the name with characters the form can show",
                    u32::from(c)
                ),
            }
            .into());
        }
        let channel = self.policy.channels.channel_for(identity.country());
        check_may_order(actor, channel, identity.country())?;
        let product = self.policy.product(&o.product)?;
        let profile = self.policy.profile(&product.profile)?;
        let approval_email = check_email(&o.approval_email)?;
        let certified = identity.with_email(&approval_email)?;
        let key_type = o.key_type;
        let period = Period::months_from(self.now(), o.validity_months)?;
        profile.check_request(
            &certified,
            period,
            Some((product.max_validity, &product.name)),
            &format!("{} months", o.validity_months),
        )?;
        Ok(CheckedOrder {
            identity,
            channel,
            product: product.name.clone(),
            approval_email,
            key_type,
        })
    }

    /// Checks an order against every rule and returns the record to store (not stored yet).
    pub(crate) fn build_order(&self, actor: &Actor, o: NewOrder) -> Result<OrderRecord, AppError> {
        let CheckedOrder {
            identity,
            channel,
            product,
            approval_email,
            key_type,
        } = self.check_order(actor, &o)?;
        let now = self.now();
        check_pickup_password(&o.pickup_password)?;
        let record = OrderRecord {
            order_number: order_number()?,
            product,
            identity_json: serde_json::to_string(&identity)
                .map_err(|e| AppError::Internal(e.to_string()))?,
            approval_email: approval_email.clone(),
            approval_confirmed: false,
            pickup_password_hash: hash_password(&o.pickup_password)?,
            validity_months: o.validity_months,
            key_type,
            channel,
            country: identity.country().to_owned(),
            placed_by: actor.account,
            attested_by: None,
            status: OrderStatus::AwaitingDocuments,
            ready_since: None,
            pickup_failures: 0,
            certificate_serial: None,
            previous_order: None,
            created_at: now,
            updated_at: now,
            order_kind: OrderKind::New,
            fixed_not_after: None,
            claimed_serial: None,
            claim_expires_at: None,
        };
        Ok(record)
    }

    /// Stores a new order, mails the approval-address confirmation and the next steps, audits:
    /// all in the caller's unit of work.
    pub(crate) async fn open_order(
        &self,
        work: &mut Work<'_>,
        actor: &Actor,
        record: &OrderRecord,
    ) -> Result<(), AppError> {
        let identity = self.identity_of(record)?;
        let product = self.policy.product(&record.product)?;
        work.create_order(record).await?;
        let number = &record.order_number;
        work.history(number, Some(actor.account), "created", None)
            .await?;
        self.mail_approval_link(work, record).await?;
        work.mail(
            identity.email(),
            &format!("Your order {number}: next steps"),
            format!(
                "Thank you for ordering {product}.\n\nOrder number: {number}\nFingerprint: {fp}\n\n\
                 1. Download the request form: {form}\n2. Sign it and have it stamped by a notary or your Chamber of Commerce.\n\
                 3. Upload it with a copy of your ID and your business registration.\n\nThe order details are locked; to change them, cancel and reorder.\n",
                product = product.display_name,
                fp = fingerprint(record),
                form = self.link(&format!("/api/v1/orders/{number}/agreement.pdf")),
            ),
        )
        .await?;
        work.audit(
            &format!("account:{}", actor.account),
            "order.created",
            &format!("order:{number}"),
            json!({"product": record.product, "channel": record.channel, "kind": record.order_kind, "previous": record.previous_order}),
        );
        Ok(())
    }

    /// The order as `actor` may see it: personal data masked for staff who do not decide it
    /// (until [`Signet::reveal_personal_data`]); staff views are audited.
    pub async fn view_order(
        &self,
        actor: &Actor,
        number: &OrderNumber,
    ) -> Result<OrderView, AppError> {
        let (r, facts) = self.visible_order(actor, number).await?;
        if actor.may(Permission::ViewAnyOrder) && actor.account != r.placed_by {
            self.audit(
                &format!("account:{}", actor.account),
                "order.viewed_by_staff",
                &format!("order:{}", r.order_number),
                json!({}),
            )
            .await?;
        }
        let unmasked = sees_personal_data(&facts, actor);
        self.order_view(actor, r, &facts, unmasked).await
    }

    /// Builds the view of a loaded order.
    pub(crate) async fn order_view(
        &self,
        actor: &Actor,
        r: OrderRecord,
        facts: &OrderFacts,
        unmasked: bool,
    ) -> Result<OrderView, AppError> {
        let documents = self
            .store
            .documents(&r.order_number)
            .await?
            .into_iter()
            .map(|d| DocumentView {
                id: d.id,
                kind: d.kind.to_string(),
                media_type: d.media_type,
                size: d.size,
                sha256: d.sha256,
                uploaded_at: rfc3339(d.created_at),
            })
            .collect();
        let history = self
            .store
            .order_events(&r.order_number)
            .await?
            .into_iter()
            .map(|e| HistoryView {
                kind: e.kind,
                message: e.message,
                at: rfc3339(e.created_at),
            })
            .collect();
        let identity: IdentityInput = serde_json::from_str(&r.identity_json)
            .map_err(|e| AppError::Internal(format!("stored identity: {e}")))?;
        let (identity, approval_email) = if unmasked {
            (identity, r.approval_email.clone())
        } else {
            (identity.masked(), mask(&r.approval_email))
        };
        Ok(OrderView {
            subject: serde_json::to_value(&identity)
                .map_err(|e| AppError::Internal(e.to_string()))?,
            personal_data_masked: !unmasked,
            fingerprint: fingerprint(&r),
            order_number: r.order_number.to_string(),
            status: r.status.to_string(),
            product: r.product,
            approval_email,
            approval_email_confirmed: r.approval_confirmed,
            validity_months: r.validity_months,
            key_type: r.key_type.to_string(),
            channel: r.channel.to_string(),
            country: r.country,
            attested: facts.attested_by.is_some(),
            actions: views(
                &order_actions(facts, actor, self.now()),
                OrderAction::as_str,
            ),
            certificate_serial: r.certificate_serial.as_ref().map(Serial::to_hex),
            created_at: rfc3339(r.created_at),
            documents,
            history,
        })
    }

    pub async fn supply_info(
        &self,
        actor: &Actor,
        number: &OrderNumber,
        message: &str,
    ) -> Result<(), AppError> {
        let (r, facts) = self.visible_order(actor, number).await?;
        if message.trim().is_empty() {
            return Err(Refusal::InvalidInput("the message is empty".into()).into());
        }
        let event = OrderEvent::InfoSupplied;
        let action = "order.info_supplied";
        let transition = self
            .decide_audited(actor, &r, &facts, &event, action)
            .await?;
        let mut work = self.work().await?;
        self.apply_in(&mut work, actor, &r, &facts, &event, &transition, action)
            .await?;
        work.history(
            &r.order_number,
            Some(actor.account),
            "message",
            Some(message.to_owned()),
        )
        .await?;
        work.commit().await
    }

    /// Cancels an order; returns the status the domain moved it to.
    pub async fn cancel_order(
        &self,
        actor: &Actor,
        number: &OrderNumber,
    ) -> Result<OrderStatus, AppError> {
        self.act(actor, number, OrderEvent::Cancel, "order.cancelled")
            .await
            .map(|t| t.next)
    }

    /// Orders the actor placed, or (agents) of their region, as a list shows them.
    pub async fn my_orders(&self, actor: &Actor) -> Result<Vec<OrderSummary>, AppError> {
        Ok(self
            .orders_of(actor)
            .await?
            .into_iter()
            .map(|o| OrderSummary {
                created_at: rfc3339(o.created_at),
                order_number: o.order_number.to_string(),
                status: o.status.to_string(),
                product: o.product,
            })
            .collect())
    }

    /// The rows of the orders the actor placed, or (agents) of their region.
    pub(crate) async fn orders_of(&self, actor: &Actor) -> Result<Vec<OrderRecord>, AppError> {
        match (&actor.role, &actor.region) {
            (Role::Agent, Some(region)) => Ok(self.store.orders_in_country(region).await?),
            _ => Ok(self.store.orders_placed_by(actor.account).await?),
        }
    }
}
