//! Ordering in the portal: a guided form, a review step that warns the details lock, the order
//! page (status, next steps, request form, uploads, history) and cancelling.

use std::sync::Arc;

use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use signet_app::AppError;
use signet_app::issue::Signet;
use signet_app::orders::{NewOrder, OrderView};
use signet_domain::credentials::OrderNumber;
use signet_domain::identity::IdentityInput;
use signet_domain::key::{KeyChoice, SubscriberKeyType};
use signet_domain::order::OrderStatus;
use signet_domain::role::Actor;

use super::offers::Offers;
use super::pages::{OrderFormPage, OrderPage, OrderReviewPage};
use super::{PageContext, refusal};
use crate::problem::{message_of, status_of};
use crate::upload::multipart_refusal;

/// Key choices with what they mean for the subscriber.
/// What a key choice means to the person choosing (the order form and the pickup page).
pub(crate) fn key_label(choice: KeyChoice) -> &'static str {
    match choice {
        KeyChoice::Generate(SubscriberKeyType::Rsa3072) => {
            "RSA 3072 — works with every browser, e-mail client and signing tool"
        }
        KeyChoice::Generate(SubscriberKeyType::Rsa2048) => {
            "RSA 2048 — for old systems that cannot use larger RSA keys"
        }
        KeyChoice::Generate(SubscriberKeyType::P256) => {
            "ECDSA P-256 — modern, small and fast; some older software does not support it"
        }
        KeyChoice::Generate(SubscriberKeyType::P384) => "ECDSA P-384 — modern, stronger curve",
        KeyChoice::Csr => {
            "I make my own key and bring a certificate signing request (CSR) to the pickup"
        }
        KeyChoice::Browser => {
            "Made in my browser at pickup — the CA never sees the key (needs JavaScript)"
        }
    }
}

/// The order form's key choices, (name, label).
fn key_choices() -> Vec<(&'static str, &'static str)> {
    KeyChoice::ALL
        .into_iter()
        .map(|k| (k.as_str(), key_label(k)))
        .collect()
}

/// The order form's fields, as typed (kept as text so that a typo comes back to the form).
#[derive(Debug, Clone, Deserialize)]
pub struct OrderFields {
    #[serde(default)]
    pub product: String,
    #[serde(default)]
    pub validity_months: String,
    #[serde(default)]
    pub given_name: String,
    #[serde(default)]
    pub surname: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub organization: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub organization_identifier: String,
    #[serde(default)]
    pub approval_email: String,
    #[serde(default)]
    pub key_type: String,
}

impl OrderFields {
    fn blank(product: &str) -> OrderFields {
        OrderFields {
            product: product.to_owned(),
            validity_months: "12".into(),
            given_name: String::new(),
            surname: String::new(),
            email: String::new(),
            organization: String::new(),
            country: String::new(),
            organization_identifier: String::new(),
            approval_email: String::new(),
            key_type: "rsa-3072".into(),
        }
    }

    fn new_order(&self, pickup_password: &str) -> Result<NewOrder, AppError> {
        let optional = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_owned());
        Ok(NewOrder {
            product: self.product.clone(),
            subject: IdentityInput {
                given_name: self.given_name.trim().to_owned(),
                surname: self.surname.trim().to_owned(),
                email: self.email.trim().to_owned(),
                organization: self.organization.trim().to_owned(),
                country: self.country.trim().to_ascii_uppercase(),
                organization_identifier: optional(&self.organization_identifier),
                organizational_unit: None,
                title: None,
            },
            approval_email: self.approval_email.trim().to_owned(),
            pickup_password: pickup_password.to_owned(),
            // An unreadable number fails the validity check with its own message.
            validity_months: self.validity_months.parse().unwrap_or(0),
            key_type: KeyChoice::parse(&self.key_type)?,
        })
    }

    fn validity(&self) -> u32 {
        self.validity_months.parse().unwrap_or(12)
    }

    /// What the review page lists, and the hidden fields that carry the details to the order.
    fn summary(&self, s: &Signet) -> Vec<(String, String)> {
        let product = product_name(s, &self.product);
        let key = KeyChoice::parse(&self.key_type)
            .map_or_else(|_| self.key_type.clone(), |k| key_label(k).to_owned());
        let mut rows = vec![
            ("Certificate".to_owned(), product),
            (
                "Validity".to_owned(),
                format!("{} months", self.validity_months),
            ),
            (
                "Name".to_owned(),
                format!("{} {}", self.given_name, self.surname),
            ),
            ("E-mail".to_owned(), self.email.clone()),
            ("Organization".to_owned(), self.organization.clone()),
            ("Country".to_owned(), self.country.to_ascii_uppercase()),
        ];
        if !self.organization_identifier.trim().is_empty() {
            rows.push((
                "Registration number".into(),
                self.organization_identifier.clone(),
            ));
        }
        rows.push(("Approver".into(), self.approval_email.clone()));
        rows.push(("Key".into(), key));
        rows
    }

    fn hidden(&self) -> Vec<(&'static str, String)> {
        vec![
            ("product", self.product.clone()),
            ("validity_months", self.validity_months.clone()),
            ("given_name", self.given_name.clone()),
            ("surname", self.surname.clone()),
            ("email", self.email.clone()),
            ("organization", self.organization.clone()),
            ("country", self.country.clone()),
            (
                "organization_identifier",
                self.organization_identifier.clone(),
            ),
            ("approval_email", self.approval_email.clone()),
            ("key_type", self.key_type.clone()),
        ]
    }
}

fn product_name(s: &Signet, id: &str) -> String {
    s.products()
        .into_iter()
        .find(|(product, _)| product == id)
        .map_or_else(|| id.to_owned(), |(_, name)| name)
}

fn form(
    s: &Signet,
    ctx: &PageContext,
    status: StatusCode,
    f: OrderFields,
    error: Option<String>,
) -> Response {
    let products = s.products();
    let validity = f.validity();
    ctx.render(status, |nav| OrderFormPage {
        nav,
        products,
        validity_months: validity,
        key_types: key_choices(),
        f,
        error,
    })
}

fn review(
    s: &Signet,
    ctx: &PageContext,
    status: StatusCode,
    f: &OrderFields,
    error: Option<String>,
) -> Response {
    ctx.render(status, |nav| OrderReviewPage {
        nav,
        summary: f.summary(s),
        hidden: f.hidden(),
        error,
    })
}

pub async fn new_order(State(s): State<Arc<Signet>>, ctx: PageContext) -> Response {
    if ctx.actor().is_none() {
        return Redirect::to("/login").into_response();
    }
    let first = s
        .products()
        .into_iter()
        .next()
        .map(|(id, _)| id)
        .unwrap_or_default();
    form(&s, &ctx, StatusCode::OK, OrderFields::blank(&first), None)
}

#[derive(Deserialize)]
pub struct WithCsrf<T> {
    csrf: String,
    #[serde(default)]
    step: String,
    #[serde(default)]
    pickup_password: String,
    #[serde(flatten)]
    fields: T,
}

/// Step 2: every rule is checked before the review shows (a BE/NL order learns here that it
/// goes through an agent); the pickup password comes last.
pub async fn review_order(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Form(f): Form<WithCsrf<OrderFields>>,
) -> Response {
    let actor = &form_actor!(ctx, &f.csrf);
    match f
        .fields
        .new_order("")
        .and_then(|order| s.check_order(actor, &order))
    {
        Ok(_) => review(&s, &ctx, StatusCode::OK, &f.fields, None),
        Err(e) => form(&s, &ctx, status_of(&e), f.fields, Some(message_of(&e))),
    }
}

pub async fn place_order(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Form(f): Form<WithCsrf<OrderFields>>,
) -> Response {
    let actor = &form_actor!(ctx, &f.csrf);
    if f.step == "edit" {
        return form(&s, &ctx, StatusCode::OK, f.fields, None);
    }
    let placed = match f.fields.new_order(&f.pickup_password) {
        Ok(order) => s.place_order(actor, order).await,
        Err(e) => Err(e),
    };
    match placed {
        Ok(order) => {
            Redirect::to(&format!("/orders/{}?placed=1", order.order_number)).into_response()
        }
        Err(e) => review(&s, &ctx, status_of(&e), &f.fields, Some(message_of(&e))),
    }
}

#[derive(Deserialize)]
pub struct Notice {
    #[serde(default)]
    placed: Option<String>,
    #[serde(default)]
    uploaded: Option<String>,
    #[serde(default)]
    cancelled: Option<String>,
    #[serde(default)]
    attested: Option<String>,
    #[serde(default)]
    reissued: Option<String>,
    #[serde(default)]
    answered: Option<String>,
    #[serde(default)]
    renewed: Option<String>,
}

pub(super) fn status_text(status: Option<OrderStatus>) -> (&'static str, &'static str) {
    match status {
        Some(OrderStatus::AwaitingDocuments) => (
            "awaiting documents",
            "Next: have your identity confirmed on the request form and upload it.",
        ),
        Some(OrderStatus::InReview) => (
            "in review",
            "The vetting team is checking your form and documents. You get an e-mail when they decide or need something from you.",
        ),
        Some(OrderStatus::NeedsInfo) => (
            "information needed",
            "The vetting team needs something from you: see their message in the history and upload what they ask for.",
        ),
        Some(OrderStatus::ReadyForPickup) => (
            "ready for pickup",
            "Approved. Open the pickup link we e-mailed you and enter your pickup password.",
        ),
        Some(OrderStatus::Issued) => ("issued", "Your certificate was issued and picked up."),
        Some(OrderStatus::Rejected) => (
            "rejected",
            "The vetting team rejected this order; the reason is in the history.",
        ),
        Some(OrderStatus::Cancelled) => ("cancelled", "This order was cancelled."),
        None => ("unknown", ""),
    }
}

/// The actions the order page shows (the vetting page shows the decisions).
const OWNER_SIDE_ACTIONS: [&str; 5] = ["upload", "supply_info", "attest", "cancel", "reorder"];

fn offers_of(o: &OrderView) -> Offers {
    Offers::new(&o.actions)
}

pub(super) fn summary_of(s: &Signet, o: &OrderView) -> Vec<(String, String)> {
    let field = |k: &str| {
        o.subject
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned()
    };
    vec![
        ("Certificate".into(), product_name(s, &o.product)),
        ("Validity".into(), format!("{} months", o.validity_months)),
        (
            "Name".into(),
            format!("{} {}", field("given_name"), field("surname")),
        ),
        ("E-mail".into(), field("email")),
        ("Organization".into(), field("organization")),
        ("Country".into(), o.country.clone()),
        (
            "Approver".into(),
            format!(
                "{} ({})",
                o.approval_email,
                if o.approval_email_confirmed {
                    "confirmed"
                } else {
                    "not confirmed yet"
                }
            ),
        ),
        ("Key".into(), o.key_type.clone()),
    ]
}

pub async fn order_page(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Path(number): Path<String>,
    Query(q): Query<Notice>,
) -> Response {
    let number = parsed!(ctx, crate::ids::order_number(&number));
    let Some(actor) = ctx.actor() else {
        return Redirect::to("/login").into_response();
    };
    let o = match s.view_order(actor, &number).await {
        Ok(o) => o,
        Err(e) => return refusal(&ctx, &e),
    };
    let status = OrderStatus::parse(&o.status);
    let (label, next) = status_text(status);
    let notice = if q.placed.is_some() {
        Some("Your order is placed. We sent the approver an e-mail to confirm.".to_owned())
    } else if q.uploaded.is_some() {
        Some("The document was uploaded.".to_owned())
    } else if q.reissued.is_some() {
        Some("Reissue ordered: it is ready for pickup, and the pickup link is on its way by e-mail. Your new certificate has a new public key.".to_owned())
    } else if q.renewed.is_some() {
        Some("Renewal ordered. We sent the approver an e-mail to confirm.".to_owned())
    } else if q.answered.is_some() {
        Some("Your answer went to the vetting team; the order is back in review.".to_owned())
    } else if q.attested.is_some() {
        Some("Your in-person attestation is recorded.".to_owned())
    } else {
        q.cancelled.map(|_| "The order was cancelled.".to_owned())
    };
    ctx.render(StatusCode::OK, |nav| OrderPage {
        nav,
        summary: summary_of(&s, &o),
        status_label: label.into(),
        next_step: next.into(),
        awaiting_documents: status == Some(OrderStatus::AwaitingDocuments),
        refused: offers_of(&o).refused_among(&OWNER_SIDE_ACTIONS),
        offers: offers_of(&o),
        notice,
        o,
    })
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// A button on the order page: the action, then back to the page with its notice.
async fn order_action<F, Fut>(
    ctx: PageContext,
    number: OrderNumber,
    csrf: &str,
    notice: &str,
    action: F,
) -> Response
where
    F: FnOnce(Actor, OrderNumber) -> Fut,
    Fut: std::future::Future<Output = Result<(), signet_app::AppError>>,
{
    let actor = form_actor!(ctx, csrf);
    match action(actor, number.clone()).await {
        Ok(()) => Redirect::to(&format!("/orders/{number}?{notice}=1")).into_response(),
        Err(e) => refusal(&ctx, &e),
    }
}

pub async fn cancel(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Path(number): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let number = parsed!(ctx, crate::ids::order_number(&number));
    order_action(ctx, number, &f.csrf, "cancelled", |actor, n| async move {
        s.cancel_order(&actor, &n).await.map(|_| ())
    })
    .await
}

#[derive(Deserialize)]
pub struct AnswerForm {
    csrf: String,
    message: String,
}

/// The subscriber's answer to vetting's request for information.
pub async fn answer(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Path(number): Path<String>,
    Form(f): Form<AnswerForm>,
) -> Response {
    let number = parsed!(ctx, crate::ids::order_number(&number));
    let message = f.message;
    order_action(ctx, number, &f.csrf, "answered", |actor, n| async move {
        s.supply_info(&actor, &n, &message).await
    })
    .await
}

#[derive(Deserialize)]
pub struct ReorderForm {
    csrf: String,
    pickup_password: String,
}

/// Orders again from a cancelled or rejected order; the new order's page follows.
pub async fn reorder(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Path(number): Path<String>,
    Form(f): Form<ReorderForm>,
) -> Response {
    let number = parsed!(ctx, crate::ids::order_number(&number));
    let actor = &form_actor!(ctx, &f.csrf);
    let corrections = signet_app::renewal::Reorder {
        pickup_password: f.pickup_password,
        ..Default::default()
    };
    match s.reorder(actor, &number, corrections).await {
        Ok(order) => {
            Redirect::to(&format!("/orders/{}?placed=1", order.order_number)).into_response()
        }
        Err(e) => refusal(&ctx, &e),
    }
}

/// An agent's record that they saw the subscriber and the documents in person.
pub async fn attest(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Path(number): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let number = parsed!(ctx, crate::ids::order_number(&number));
    order_action(ctx, number, &f.csrf, "attested", |actor, n| async move {
        s.attest(&actor, &n).await
    })
    .await
}

/// A document from the order page's upload form (multipart, with the CSRF token as a field).
pub async fn upload(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Path(number): Path<String>,
    mut multipart: Multipart,
) -> Response {
    let number = parsed!(ctx, crate::ids::order_number(&number));
    let (mut csrf, mut kind, mut file) = (String::new(), String::new(), None);
    let mut unreadable = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("csrf") => csrf = field.text().await.unwrap_or_default(),
                Some("kind") => kind = field.text().await.unwrap_or_default(),
                Some("file") => match field.bytes().await {
                    Ok(bytes) => file = Some(bytes),
                    Err(e) => unreadable = Some(multipart_refusal("the file", &e)),
                },
                _ => {}
            },
            Ok(None) => break,
            Err(e) => {
                unreadable = Some(multipart_refusal("the form", &e));
                break;
            }
        }
    }
    let actor = &form_actor!(ctx, &csrf);
    if let Some(why) = unreadable {
        return refusal(&ctx, &s.refuse_upload(actor, &number, why).await);
    }
    let Some(file) = file.filter(|f| !f.is_empty()) else {
        let e = signet_app::AppError::Refused(signet_domain::Refusal::InvalidInput(
            "choose a file to upload".into(),
        ));
        return refusal(&ctx, &e);
    };
    match s.upload_document(actor, &number, &kind, &file).await {
        Ok(_) => Redirect::to(&format!("/orders/{number}?uploaded=1")).into_response(),
        Err(e) => refusal(&ctx, &e),
    }
}
