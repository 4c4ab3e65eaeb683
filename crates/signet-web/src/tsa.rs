//! `/tsa`: the time-stamping authority over HTTP (RFC 3161 §3.4): `application/timestamp-query`
//! in, `application/timestamp-reply` out. Every answer is a `TimeStampResp`, a rejection included.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use signet_app::issue::Signet;
use signet_pki::tsp::{FailureInfo, MAX_REQUEST_BYTES, Rejection, rejection_response};

const TIMESTAMP_REPLY: HeaderValue = HeaderValue::from_static("application/timestamp-reply");

pub fn routes() -> Router<Arc<Signet>> {
    // Bodies past the limit are read and rejected (badRequest); far larger ones get 413.
    Router::new().route(
        "/tsa",
        post(time_stamp).layer(DefaultBodyLimit::max(16 * MAX_REQUEST_BYTES)),
    )
}

async fn time_stamp(
    State(signet): State<Arc<Signet>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/timestamp-query"));
    let reply = if query {
        signet.time_stamp(&body).await
    } else {
        rejection_response(&Rejection {
            failure: FailureInfo::BadRequest,
            text: "send the request as Content-Type: application/timestamp-query",
        })
    };
    (
        [
            (header::CONTENT_TYPE, TIMESTAMP_REPLY),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        reply,
    )
        .into_response()
}
