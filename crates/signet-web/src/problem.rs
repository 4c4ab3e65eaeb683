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
        Refusal::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Refusal::UnknownOrderNumber(_) => StatusCode::NOT_FOUND,
        Refusal::Locked(_) => StatusCode::LOCKED,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

pub fn status_of(e: &AppError) -> StatusCode {
    use signet_pki::PkiError;
    if e.is_unavailable() {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
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
        AppError::Gone(_) => StatusCode::GONE,
        AppError::Locked(_) => StatusCode::LOCKED,
        AppError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
        e if e.is_conflict() => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// What a person may be told of an error: the application's own message, or for failures on
/// our side a generic one (the details go to the log).
pub fn message_of(e: &AppError) -> String {
    let status = status_of(e);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        "The service is briefly unavailable; nothing was changed. Please try again in a moment."
            .into()
    } else if status.is_server_error() {
        tracing::error!(error = %e, "request failed");
        "Something went wrong on our side. Please try again later.".into()
    } else {
        e.to_string()
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

/// Seconds after which a refused request may be tried again, when that is known.
fn retry_after(e: &AppError) -> Option<&'static str> {
    match e {
        e if e.is_unavailable() => Some("5"),
        AppError::TooMany(_) => Some("900"),
        _ => None,
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = status_of(&self.0);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(error = %self.0, "request refused: the store is unavailable");
            let mut r = problem(
                status,
                "the database is unavailable right now; nothing was changed: try again shortly",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            return r;
        }
        let retry = retry_after(&self.0);
        if status.is_server_error() {
            tracing::error!(error = %self.0, "request failed");
            return problem(
                status,
                "internal error; the operators have the details in the log",
            );
        }
        let mut r = problem(status, &self.0.to_string());
        if let Some(seconds) = retry {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(seconds));
        }
        r
    }
}

/// Every error the API answers is a problem document, also those answered before a handler
/// runs (a body that is not JSON, a wrong content type, an unknown path or method): their text
/// becomes the detail.
pub async fn api_errors_as_problems(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !api || is_problem || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let detail = match status {
        StatusCode::NOT_FOUND if text.is_empty() => {
            "no such API path: /api/v1/openapi.json lists them".to_owned()
        }
        StatusCode::METHOD_NOT_ALLOWED => {
            "this method is not allowed on this path: see the Allow header and /api/v1/openapi.json"
                .to_owned()
        }
        _ if text.is_empty() => status.canonical_reason().unwrap_or("error").to_owned(),
        _ => text,
    };
    let mut out = problem(status, &detail);
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}
