//! The vetting officer's pages: the queue with filters and age, an order with its locked
//! details, documents, attestation and history, the fingerprint check and the decision.

use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use signet_app::issue::Signet;
use signet_app::signed_decisions::SignedStatement;
use signet_domain::role::Permission;

use super::offers::Offers;
use super::orders::{status_text, summary_of};
use signet_domain::credentials::OrderNumber;
use signet_domain::order::OrderStatus;

/// The actions the vetting page shows.
const DECISIONS: [&str; 3] = ["approve", "request_info", "reject"];
use super::pages::{VettingOrderPage, VettingQueuePage};
use super::{PageContext, refusal};
use crate::problem::{message_of, status_of};

/// The queue's filter: every status an order can still leave, named as the order page names it.
fn queue_statuses() -> Vec<(&'static str, &'static str)> {
    OrderStatus::ALL
        .into_iter()
        .filter(|s| !s.is_final())
        .map(|s| (s.as_str(), status_text(Some(s)).0))
        .collect()
}

#[derive(Deserialize)]
pub struct QueueFilter {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    min_age_hours: Option<String>,
}

pub async fn queue(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Query(q): Query<QueueFilter>,
) -> Response {
    let Some(actor) = ctx.actor() else {
        return Redirect::to("/login").into_response();
    };
    let status = q
        .status
        .unwrap_or_else(|| OrderStatus::InReview.to_string());
    let min_age = q.min_age_hours.and_then(|h| h.parse::<i64>().ok());
    let listed = match OrderStatus::from_request(&status) {
        Ok(filter) => s.vetting_queue(actor, Some(filter), min_age).await,
        Err(e) => Err(e.into()),
    };
    match listed {
        Ok(items) => ctx.render(StatusCode::OK, |nav| VettingQueuePage {
            nav,
            statuses: queue_statuses(),
            status,
            min_age_hours: min_age.map(|h| h.to_string()).unwrap_or_default(),
            items,
        }),
        Err(e) => refusal(&ctx, &e),
    }
}

async fn order_view(
    s: &Signet,
    ctx: &PageContext,
    number: &OrderNumber,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let Some(actor) = ctx.actor() else {
        return Redirect::to("/login").into_response();
    };
    if !actor.may(Permission::WorkVettingQueue) {
        return refusal(
            ctx,
            &signet_app::AppError::Forbidden("these pages are for vetting officers".into()),
        );
    }
    match s.view_order(actor, number).await {
        Ok(o) => ctx.render(status, |nav| VettingOrderPage {
            nav,
            summary: summary_of(s, &o),
            offers: Offers::new(&o.actions),
            refused: Offers::new(&o.actions).refused_among(&DECISIONS),
            o,
            notice,
            error,
        }),
        Err(e) => refusal(ctx, &e),
    }
}

pub async fn order(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Path(number): Path<String>,
) -> Response {
    let number = parsed!(ctx, crate::ids::order_number(&number));
    order_view(&s, &ctx, &number, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub struct FingerprintForm {
    csrf: String,
    shown: String,
}

pub async fn fingerprint(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Path(number): Path<String>,
    Form(f): Form<FingerprintForm>,
) -> Response {
    let number = parsed!(ctx, crate::ids::order_number(&number));
    let actor = &form_actor!(ctx, &f.csrf);
    match s.check_fingerprint(actor, &number, &f.shown).await {
        Ok(true) => {
            let notice = "The fingerprint matches this order's locked details.".to_owned();
            order_view(&s, &ctx, &number, StatusCode::OK, Some(notice), None).await
        }
        Ok(false) => {
            let error = "The fingerprint does NOT match: the form belongs to another order or its details were altered.".to_owned();
            order_view(&s, &ctx, &number, StatusCode::OK, None, Some(error)).await
        }
        Err(e) => refusal(&ctx, &e),
    }
}

#[derive(Deserialize)]
pub struct DecisionForm {
    csrf: String,
    action: String,
    #[serde(default)]
    message: String,
    /// The officer's signed statement and signature, set by `officer.js` as the form is sent.
    #[serde(default)]
    statement: String,
    #[serde(default)]
    signature: String,
}

/// A form's signed statement: a field the page left empty (no script, or no key yet) is absent.
pub(crate) fn signed_form(statement: String, signature: String) -> SignedStatement {
    let given = |v: String| (!v.is_empty()).then_some(v);
    SignedStatement {
        statement: given(statement),
        signature: given(signature),
    }
}

pub async fn decide(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Path(number): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Response {
    let number = parsed!(ctx, crate::ids::order_number(&number));
    let actor = &form_actor!(ctx, &f.csrf);
    let message = (!f.message.trim().is_empty()).then(|| f.message.trim().to_owned());
    let signed = signed_form(f.statement, f.signature);
    match s
        .decide_order(actor, &number, &f.action, message, Some(&signed))
        .await
    {
        Ok(next) => {
            let notice = format!(
                "Decision recorded: the order is now {}.",
                next.as_str().replace('_', " ")
            );
            order_view(&s, &ctx, &number, StatusCode::OK, Some(notice), None).await
        }
        Err(e) => order_view(&s, &ctx, &number, status_of(&e), None, Some(message_of(&e))).await,
    }
}
