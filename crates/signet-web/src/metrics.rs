//! Prometheus metrics of the HTTP edge: requests by route (the route's template, so that
//! identifiers in paths do not each make a series), method and status, and how long they took.
//! `/metrics` serves them with the store's gauges and the discovery inventory from the app.

use std::sync::LazyLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};

struct HttpMetrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
}

/// The edge's metrics, one set per process.
static HTTP: LazyLock<Option<HttpMetrics>> = LazyLock::new(|| {
    let registry = Registry::new();
    let requests = IntCounterVec::new(
        Opts::new(
            "signet_http_requests_total",
            "HTTP requests answered, by route template, method and status.",
        ),
        &["route", "method", "status"],
    )
    .ok()?;
    let latency = HistogramVec::new(
        HistogramOpts::new(
            "signet_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
        )
        .buckets(vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ]),
        &["route", "method"],
    )
    .ok()?;
    registry.register(Box::new(requests.clone())).ok()?;
    registry.register(Box::new(latency.clone())).ok()?;
    Some(HttpMetrics {
        registry,
        requests,
        latency,
    })
});

/// Counts and times every request; a layer on the whole router, so the route is known (a
/// request that matched none is `unmatched`).
pub async fn observe(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = request.method().clone();
    let start = Instant::now();
    let response = next.run(request).await;
    if let Some(http) = HTTP.as_ref() {
        http.latency
            .with_label_values(&[route.as_str(), method.as_str()])
            .observe(start.elapsed().as_secs_f64());
        http.requests
            .with_label_values(&[route.as_str(), method.as_str(), response.status().as_str()])
            .inc();
    }
    response
}

/// The edge's metrics in the text format 0.0.4.
pub fn text() -> String {
    HTTP.as_ref()
        .and_then(|http| {
            TextEncoder::new()
                .encode_to_string(&http.registry.gather())
                .ok()
        })
        .unwrap_or_default()
}
