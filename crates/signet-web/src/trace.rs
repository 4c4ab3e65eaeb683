//! One tracing span per request, carrying a request id: every log line written while the
//! request is handled names it (JSON logs put it in `span.request_id`), and the response
//! returns it in `X-Request-Id`, so that a user's report, the proxy's log and Signet's log meet.

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The header a request id comes in (from a proxy that set one) and goes out in.
pub const REQUEST_ID: &str = "x-request-id";

/// A proxy's id is kept when it is a plain token; anything else is replaced, so that a client
/// cannot put text of its choosing into the logs.
fn acceptable(id: &str) -> bool {
    (8..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Wraps the request in its span and answers with its id.
pub async fn request_span(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| acceptable(id))
        .map(str::to_owned)
        .or_else(|| signet_app::random_hex(8).ok())
        .unwrap_or_default();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        route = %route,
    );
    let mut response = next.run(request).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_ids_are_kept() {
        assert!(super::acceptable("3f2a9c1e0b7d4a55"));
        assert!(super::acceptable("req_2026-12-03-abc"));
        assert!(!super::acceptable("short"));
        assert!(!super::acceptable("evil\nline injected"));
        assert!(!super::acceptable(&"a".repeat(65)));
    }
}
