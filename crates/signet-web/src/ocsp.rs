//! `/ocsp`: RFC 6960 requests by POST and by GET (base64 in the path), answered from pre-signed
//! responses with RFC 5019 caching headers. Every error is an OCSP error response, never a crash.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use signet_app::issue::Signet;
use signet_app::ocsp::OcspAnswer;
use signet_pki::ocsp::{MAX_REQUEST_BYTES, OcspRefusal};

const OCSP_RESPONSE: HeaderValue = HeaderValue::from_static("application/ocsp-response");

pub fn routes() -> Router<Arc<Signet>> {
    Router::new()
        // Bodies past the limit are read and answered malformedRequest; far larger ones get 413.
        .route(
            "/ocsp",
            post(by_post).layer(DefaultBodyLimit::max(16 * MAX_REQUEST_BYTES)),
        )
        .route("/ocsp/{*request}", get(by_get))
}

fn respond(signet: &Signet, answer: OcspAnswer) -> Response {
    let (der, signed) = match answer {
        OcspAnswer::Signed(r) => (r.der.clone(), Some(r)),
        OcspAnswer::Refused(der) => (der, None),
    };
    let mut response = ([(header::CONTENT_TYPE, OCSP_RESPONSE)], der).into_response();
    if let Some(r) = signed {
        let max_age = (r.next_update - signet.now()).whole_seconds().max(0);
        let headers = response.headers_mut();
        for (name, value) in [
            (
                header::CACHE_CONTROL,
                format!("max-age={max_age}, public, no-transform, must-revalidate"),
            ),
            (header::LAST_MODIFIED, r.last_modified.clone()),
            (header::EXPIRES, r.expires.clone()),
            (header::ETAG, r.etag.clone()),
        ] {
            if let Ok(v) = HeaderValue::try_from(value) {
                headers.insert(name, v);
            }
        }
    }
    response
}

async fn by_post(State(signet): State<Arc<Signet>>, body: Bytes) -> Response {
    let answer = signet.ocsp_answer(&body).await;
    respond(&signet, answer)
}

async fn by_get(State(signet): State<Arc<Signet>>, Path(encoded): Path<String>) -> Response {
    // Clients percent-encode the base64 (RFC 6960 Appendix A.1); axum has decoded the path.
    let trimmed = encoded.trim_start_matches('/');
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(trimmed)
        .or_else(|_| {
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed.trim_end_matches('='))
        });
    match decoded {
        Ok(der) if der.len() <= MAX_REQUEST_BYTES => {
            let answer = signet.ocsp_answer(&der).await;
            respond(&signet, answer)
        }
        _ => respond(&signet, OcspAnswer::refused(OcspRefusal::Malformed)),
    }
}
