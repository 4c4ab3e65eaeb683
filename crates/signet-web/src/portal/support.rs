//! Support in the portal: the public contact form, the support team's inbox with answers by
//! mail, and an order found by its number with personal data masked until revealed (audited),
//! resending the request form, unlocking a pickup, expediting a reorder, starting a reissue.

use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use signet_app::AppError;
use signet_app::issue::Signet;
use signet_app::signed_decisions::SignedStatement;

use signet_domain::credentials::OrderNumber;
use signet_domain::privacy::mask;
use signet_domain::role::Permission;

use super::offers::Offers;
use super::orders::summary_of;
use super::pages::{SupportContactPage, SupportInboxPage, SupportOrderPage, SupportRow};
use super::{PageContext, refusal};
use crate::problem::{message_of, status_of};

#[derive(Deserialize, Default)]
pub struct ContactForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    order_number: String,
    #[serde(default)]
    message: String,
}

fn contact_page(
    ctx: &PageContext,
    status: StatusCode,
    f: ContactForm,
    sent: bool,
    error: Option<String>,
) -> Response {
    ctx.render(status, |nav| SupportContactPage {
        nav,
        with_order: !f.order_number.trim().is_empty(),
        name: f.name,
        email: f.email,
        order_number: f.order_number,
        message: f.message,
        sent,
        error,
    })
}

pub async fn contact(ctx: PageContext, Query(q): Query<ContactForm>) -> Response {
    contact_page(&ctx, StatusCode::OK, q, false, None)
}

pub async fn send(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Form(f): Form<ContactForm>,
) -> Response {
    if let Some(r) = ctx.csrf_refusal(&f.csrf) {
        return r;
    }
    let order = Some(f.order_number.as_str()).filter(|n| !n.trim().is_empty());
    match s
        .contact_support(&f.name, &f.email, order, &f.message, &ctx.client)
        .await
    {
        Ok(_) => contact_page(&ctx, StatusCode::OK, f, true, None),
        Err(e) => contact_page(&ctx, status_of(&e), f, false, Some(message_of(&e))),
    }
}

async fn inbox_page(
    s: &Signet,
    ctx: &PageContext,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let Some(actor) = ctx.actor() else {
        return Redirect::to("/login").into_response();
    };
    match s.support_inbox(actor).await {
        Ok(list) => ctx.render(status, |nav| SupportInboxPage {
            nav,
            requests: list
                .into_iter()
                .map(|r| SupportRow {
                    id: r.id,
                    name: r.name,
                    email: r.email,
                    order_number: r.order_number.map(|n| n.to_string()),
                    message: r.message,
                    received: format!(
                        "{} {:02}:{:02} UTC",
                        r.created_at.date(),
                        r.created_at.hour(),
                        r.created_at.minute()
                    ),
                    answered: r.answered_at.is_some(),
                })
                .collect(),
            notice,
            error,
        }),
        Err(e) => refusal(ctx, &e),
    }
}

pub async fn inbox(State(s): State<Arc<Signet>>, ctx: PageContext) -> Response {
    inbox_page(&s, &ctx, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub struct AnswerForm {
    csrf: String,
    message: String,
}

pub async fn answer(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Path(id): Path<i64>,
    Form(f): Form<AnswerForm>,
) -> Response {
    let actor = form_actor!(ctx, &f.csrf);
    match s.answer_support(&actor, id, &f.message).await {
        Ok(()) => {
            inbox_page(
                &s,
                &ctx,
                StatusCode::OK,
                Some("The answer was mailed.".into()),
                None,
            )
            .await
        }
        Err(e) => inbox_page(&s, &ctx, status_of(&e), None, Some(message_of(&e))).await,
    }
}

/// How a support page reaches the order: looked up (masked) or revealed (audited).
enum Lookup {
    Masked,
    /// With the officer's signed statement, sent by the page's officer script.
    Revealed(SignedStatement),
}

async fn order_page(
    s: &Signet,
    ctx: &PageContext,
    number: &OrderNumber,
    lookup: Lookup,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let Some(actor) = ctx.actor() else {
        return Redirect::to("/login").into_response();
    };
    if !actor.may(Permission::WorkSupportRequests) {
        return refusal(
            ctx,
            &AppError::Forbidden("these pages are for the support team".into()),
        );
    }
    let view = match lookup {
        Lookup::Masked => s.view_order(actor, number).await,
        Lookup::Revealed(signed) => s.reveal_personal_data(actor, number, Some(&signed)).await,
    };
    match view {
        Ok(o) => ctx.render(StatusCode::OK, |nav| SupportOrderPage {
            nav,
            summary: summary_of(s, &o),
            offers: Offers::new(&o.actions),
            o,
            notice,
            error,
        }),
        Err(e) => refusal(ctx, &e),
    }
}

#[derive(Deserialize)]
pub struct Find {
    number: String,
}

pub async fn find(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Query(q): Query<Find>,
) -> Response {
    let number = parsed!(ctx, crate::ids::order_number(&q.number));
    order_page(&s, &ctx, &number, Lookup::Masked, None, None).await
}

#[derive(Deserialize)]
pub struct ActionForm {
    csrf: String,
    #[serde(default)]
    serial: String,
    #[serde(default)]
    pickup_password: String,
    /// The officer's signed statement and signature (a reveal), set by `officer.js`.
    #[serde(default)]
    statement: String,
    #[serde(default)]
    signature: String,
}

/// One support action on an order, then the order page with what happened.
pub async fn act(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Path((number, action)): Path<(String, String)>,
    Form(f): Form<ActionForm>,
) -> Response {
    let number = parsed!(ctx, crate::ids::order_number(&number));
    let actor = form_actor!(ctx, &f.csrf);
    let done: Result<(Lookup, String), AppError> = match action.as_str() {
        "reveal" => Ok((
            Lookup::Revealed(super::vetting::signed_form(f.statement, f.signature)),
            "Personal data revealed; the reveal is in the audit log.".into(),
        )),
        "resend-form" => s.resend_request_form(&actor, &number).await.map(|to| {
            (
                Lookup::Masked,
                format!("The request form was mailed to {}.", mask(&to)),
            )
        }),
        "resend-pickup-link" => s.resend_pickup_link(&actor, &number).await.map(|()| {
            (
                Lookup::Masked,
                "A new pickup link was mailed; the earlier one no longer works.".into(),
            )
        }),
        "resend-confirmation" => s.resend_confirmation(&actor, &number).await.map(|()| {
            (
                Lookup::Masked,
                "A new confirmation link was mailed to the approval address.".into(),
            )
        }),
        "unlock-pickup" => s.unlock_pickup(&actor, &number).await.map(|()| {
            (
                Lookup::Masked,
                "The pickup is unlocked: the subscriber can try the pickup password again.".into(),
            )
        }),
        "expedite" => s.expedite(&actor, &number).await.map(|_| {
            (
                Lookup::Masked,
                "The reorder went straight to vetting with the carried-over evidence.".into(),
            )
        }),
        "reissue" => match crate::ids::serial(&f.serial) {
            Ok(serial) => s.reissue(&actor, &serial, &f.pickup_password, None).await,
            Err(e) => Err(e),
        }
        .map(|o| {
            (
                Lookup::Masked,
                format!(
                    "Reissue order {} is ready for pickup; the link was mailed.",
                    o.order_number
                ),
            )
        }),
        other => Err(AppError::NotFound(format!("support action {other}"))),
    };
    match done {
        Ok((lookup, notice)) => order_page(&s, &ctx, &number, lookup, Some(notice), None).await,
        Err(e) => {
            order_page(
                &s,
                &ctx,
                &number,
                Lookup::Masked,
                None,
                Some(message_of(&e)),
            )
            .await
        }
    }
}
