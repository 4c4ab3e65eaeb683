//! A subscriber's certificate: details, downloads, and reissue, renewal and revocation with their
//! consequences explained.

use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use signet_app::issue::Signet;

use signet_app::dates::day;
use signet_domain::certificate::{CertificateStatus, RevocationReason};
use signet_domain::serial::Serial;

use super::offers::Offers;
use super::pages::CertificatePage;

/// The actions the certificate page shows.
const CERTIFICATE_ACTIONS: [&str; 3] = ["reissue", "renew", "revoke"];

/// The badge style of a status.
pub(super) fn status_class(status: CertificateStatus) -> &'static str {
    match status {
        CertificateStatus::Valid => "good",
        CertificateStatus::Revoked | CertificateStatus::Expired => "bad",
    }
}
use super::{PageContext, refusal};
use crate::problem::{message_of, status_of};

#[derive(Deserialize)]
pub struct Notice {
    #[serde(default)]
    revoked: Option<String>,
}

async fn page(
    s: &Signet,
    ctx: &PageContext,
    serial: &Serial,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let Some(actor) = ctx.actor() else {
        return Redirect::to("/login").into_response();
    };
    match s.certificate_summary(actor, serial).await {
        Ok(c) => ctx.render(status, |nav| CertificatePage {
            nav,
            status_class: status_class(c.status),
            offers: Offers::new(&c.actions),
            refused: Offers::new(&c.actions).refused_among(&CERTIFICATE_ACTIONS),
            not_before: day(c.not_before),
            not_after: day(c.not_after),
            revoked_at: c.revoked_at.map(day),
            c,
            notice,
            error,
        }),
        Err(e) => refusal(ctx, &e),
    }
}

pub async fn show(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Path(serial): Path<String>,
    Query(q): Query<Notice>,
) -> Response {
    let serial = parsed!(ctx, crate::ids::serial(&serial));
    let notice = q
        .revoked
        .map(|_| "The certificate is revoked. Relying services learn it from our CRL and OCSP responder within minutes.".to_owned());
    page(&s, &ctx, &serial, StatusCode::OK, notice, None).await
}

#[derive(Deserialize)]
pub struct RevokeForm {
    csrf: String,
    reason: String,
    #[serde(default)]
    confirm: String,
}

pub async fn revoke(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Path(serial): Path<String>,
    Form(f): Form<RevokeForm>,
) -> Response {
    let serial = parsed!(ctx, crate::ids::serial(&serial));
    let actor = &form_actor!(ctx, &f.csrf);
    if f.confirm != "yes" {
        let error = "Tick the box to confirm that revocation cannot be undone.".to_owned();
        return page(
            &s,
            &ctx,
            &serial,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(error),
        )
        .await;
    }
    let revoked = match RevocationReason::parse(&f.reason) {
        Ok(reason) => s.revoke(actor, &serial, reason).await,
        Err(e) => Err(e.into()),
    };
    match revoked {
        Ok(()) => Redirect::to(&format!("/certificates/{serial}?revoked=1")).into_response(),
        Err(e) => page(&s, &ctx, &serial, status_of(&e), None, Some(message_of(&e))).await,
    }
}

#[derive(Deserialize)]
pub struct NewKeyForm {
    csrf: String,
    pickup_password: String,
    #[serde(default)]
    revoke_previous: Option<String>,
}

/// Reissue or renewal: a new order for the same person, then its page (the pickup link is mailed).
async fn new_order_from(
    s: &Signet,
    ctx: PageContext,
    serial: &Serial,
    f: NewKeyForm,
    reissue: bool,
) -> Response {
    let actor = &form_actor!(ctx, &f.csrf);
    let placed = if reissue {
        match f
            .revoke_previous
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(RevocationReason::parse)
            .transpose()
        {
            Ok(revoke) => s.reissue(actor, serial, &f.pickup_password, revoke).await,
            Err(e) => Err(e.into()),
        }
    } else {
        s.renew(actor, serial, &f.pickup_password, None).await
    };
    match placed {
        Ok(order) => {
            let notice = if reissue { "reissued" } else { "renewed" };
            Redirect::to(&format!("/orders/{}?{notice}=1", order.order_number)).into_response()
        }
        Err(e) => page(s, &ctx, serial, status_of(&e), None, Some(message_of(&e))).await,
    }
}

pub async fn reissue(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Path(serial): Path<String>,
    Form(f): Form<NewKeyForm>,
) -> Response {
    let serial = parsed!(ctx, crate::ids::serial(&serial));
    new_order_from(&s, ctx, &serial, f, true).await
}

pub async fn renew(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Path(serial): Path<String>,
    Form(f): Form<NewKeyForm>,
) -> Response {
    let serial = parsed!(ctx, crate::ids::serial(&serial));
    new_order_from(&s, ctx, &serial, f, false).await
}
