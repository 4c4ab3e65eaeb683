//! Errors become RFC 9457 problem documents here, and only here. Internal errors are logged and
//! answered with a generic message.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use signet_app::AppError;
use signet_domain::Refusal;

/// An application error on its way out.
#[derive(Debug)]
pub struct Problem(pub AppError);

impl From<AppError> for Problem {
    fn from(e: AppError) -> Self {
        Problem(e)
    }
}

impl From<Refusal> for Problem {
    fn from(e: Refusal) -> Self {
        Problem(AppError::Refused(e))
    }
}

fn refusal_status(r: &Refusal) -> StatusCode {
    match r {
        Refusal::NotAllowed(_) => StatusCode::FORBIDDEN,
        Refusal::Conflict(_) => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

pub fn status_of(e: &AppError) -> StatusCode {
    use signet_pki::PkiError;
    match e {
        AppError::Refused(r) | AppError::Pki(PkiError::Refused(r)) => refusal_status(r),
        AppError::Pki(
            PkiError::MalformedCsr(_)
            | PkiError::CsrSignatureInvalid
            | PkiError::CsrSignatureAlgorithm(_),
        ) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) | AppError::SecondFactorSetup(_) => StatusCode::FORBIDDEN,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::Gone(_) => StatusCode::GONE,
        AppError::Locked(_) => StatusCode::LOCKED,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A problem document for a status and a message meant for the caller.
pub fn problem(status: StatusCode, detail: &str) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = status_of(&self.0);
        if status.is_server_error() {
            tracing::error!(error = %self.0, "request failed");
            return problem(
                status,
                "internal error; the operators have the details in the log",
            );
        }
        problem(status, &self.0.to_string())
    }
}
