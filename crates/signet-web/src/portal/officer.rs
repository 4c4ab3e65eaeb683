//! The portal's side of an officer's decision-signing key (issue 15): `officer.js` enrols the
//! key it made in this browser here, with the page's CSRF token, and keeps what comes back.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use signet_app::AppError;
use signet_app::issue::Signet;
use signet_domain::Refusal;

use super::PageContext;
use crate::problem::Problem;

#[derive(Deserialize)]
pub struct EnrolForm {
    csrf: String,
    /// PEM PKCS#10 request for the browser's non-extractable P-256 key.
    csr: String,
}

/// Enrols the browser's key: 201 with the certificate when certified, 202 when an
/// administrator must approve it; a problem document otherwise.
pub async fn enrol(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    form: Result<Form<EnrolForm>, FormRejection>,
) -> Response {
    // The caller is a script that reads problem documents, not a person reading a page.
    let Form(f) = match form {
        Ok(form) => form,
        Err(e) => {
            return Problem(AppError::from(Refusal::InvalidInput(format!(
                "send a form with `csrf` and `csr` (application/x-www-form-urlencoded): {}",
                e.body_text()
            ))))
            .into_response();
        }
    };
    let actor = form_actor!(ctx, &f.csrf);
    match s.enrol_signing_key(&actor, f.csr.as_bytes()).await {
        Ok((view, true)) => (StatusCode::CREATED, Json(view)).into_response(),
        Ok((view, false)) => (StatusCode::ACCEPTED, Json(view)).into_response(),
        Err(e) => Problem(e).into_response(),
    }
}
