//! Signet's HTTP edge. Thin handlers over the application; for now the health check and the
//! public repository of CA certificates (the AIA caIssuers URLs point here).
#![forbid(unsafe_code)]

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use signet_app::issue::Signet;

pub mod api;
pub mod client;
pub mod decisions_api;
pub mod ids;
pub mod links;
pub mod metrics;
pub mod ocsp;
pub mod portal;
pub mod problem;
pub mod session;
pub mod trace;
pub mod tsa;
pub mod upload;

/// The router for a running CA.
pub fn router(signet: Arc<Signet>) -> Router {
    let https = signet.serves_https();
    Router::new()
        .merge(api::routes())
        .merge(decisions_api::routes())
        .merge(links::routes())
        .merge(ocsp::routes())
        .merge(tsa::routes())
        .merge(portal::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/repository/{file}", get(repository_file))
        .route("/crl/{ca}/{file}", get(crl))
        .with_state(signet)
        .layer(axum::middleware::from_fn(problem::api_errors_as_problems))
        .layer(axum::middleware::from_fn(metrics::observe))
        .layer(axum::middleware::from_fn(trace::request_span))
        .layer(axum::middleware::from_fn(move |request, next| {
            portal::security::headers(https, request, next)
        }))
}

/// Prometheus metrics (text format 0.0.4). The discovery inventory's labels name internal hosts,
/// so only a scraper sending `SIGNET_METRICS_TOKEN` as a bearer token is answered; without the
/// token configured, nobody is.
async fn metrics(State(signet): State<Arc<Signet>>, headers: axum::http::HeaderMap) -> Response {
    let token = std::env::var("SIGNET_METRICS_TOKEN").unwrap_or_default();
    if token.len() < 16 {
        return (
            StatusCode::FORBIDDEN,
            "metrics are off: set SIGNET_METRICS_TOKEN (16 characters or more) and send it as Authorization: Bearer TOKEN\n",
        )
            .into_response();
    }
    {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        // Digests compared, so the time taken says nothing about the token.
        let matches = sent.is_some_and(|sent| {
            signet_app::sha256(sent.as_bytes()) == signet_app::sha256(token.as_bytes())
        });
        if !matches {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "send the metrics token as Authorization: Bearer TOKEN\n",
            )
                .into_response();
        }
    }
    let gauges = async {
        Ok::<_, signet_app::AppError>(format!(
            "{}{}",
            signet.operation_metrics().await?,
            signet.discovery_metrics().await?
        ))
    };
    // The store's gauges when it answers; this process's own counters always, so that a store
    // outage is seen (`signet_store_up 0`) with the counters around it.
    let (store, up) = match gauges.await {
        Ok(text) => (text, 1),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: the store's gauges are unavailable");
            (String::new(), 0)
        }
    };
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        format!(
            "{}{}{store}# HELP signet_store_up Whether the store answered this scrape's reads (1) or not (0).\n# TYPE signet_store_up gauge\nsignet_store_up {up}\n",
            metrics::text(),
            signet.process_metrics()
        ),
    )
        .into_response()
}

/// Liveness: the process answers. It touches nothing else, so that a slow database or mail
/// relay never makes an orchestrator kill a node that would recover.
async fn healthz() -> Response {
    (StatusCode::OK, "ok\n").into_response()
}

/// Readiness: the store accepts writes, every CA key signs, the mail worker runs.
async fn readyz(State(signet): State<Arc<Signet>>) -> Response {
    let r = signet.readiness().await;
    let status = if r.ready {
        StatusCode::OK
    } else {
        for c in r.checks.iter().filter(|c| !c.ok) {
            tracing::warn!(check = c.name, detail = ?c.detail, "not ready");
        }
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, [(header::CACHE_CONTROL, "no-store")], axum::Json(r)).into_response()
}

pub(crate) fn aws_sha256(der: &[u8]) -> Vec<u8> {
    signet_app::sha256(der)
}

async fn repository_file(State(signet): State<Arc<Signet>>, Path(file): Path<String>) -> Response {
    let (name, ext) = file.rsplit_once('.').unwrap_or((&file, ""));
    let Some((_, der)) = signet
        .ca_certificates()
        .into_iter()
        .find(|(n, _)| n == name)
    else {
        return (StatusCode::NOT_FOUND, "no such CA certificate\n").into_response();
    };
    match ext {
        "der" | "crt" | "cer" => (
            [(header::CONTENT_TYPE, "application/pkix-cert")],
            der.to_vec(),
        )
            .into_response(),
        "pem" => (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            signet_pki_pem(der),
        )
            .into_response(),
        _ => (StatusCode::NOT_FOUND, "use .der or .pem\n").into_response(),
    }
}

fn signet_pki_pem(der: &[u8]) -> String {
    signet_app::certificate_pem(der)
}

/// A CRL shard at the URL its certificates name: `/crl/{ca}/{shard}.crl`, DER.
async fn crl(
    State(signet): State<Arc<Signet>>,
    Path((ca, file)): Path<(String, String)>,
) -> Response {
    let Some(shard) = file
        .strip_suffix(".crl")
        .and_then(|s| s.parse::<u32>().ok())
    else {
        return (StatusCode::NOT_FOUND, "no such CRL\n").into_response();
    };
    match signet.latest_crl(&ca, shard).await {
        Ok(crl) => {
            // Caches may keep it until it is due for refresh, never past nextUpdate.
            let max_age = (crl.next_update - signet.now())
                .whole_seconds()
                .clamp(0, 3600);
            (
                [
                    (header::CONTENT_TYPE, "application/pkix-crl".to_owned()),
                    (header::CACHE_CONTROL, format!("public, max-age={max_age}")),
                ],
                crl.der,
            )
                .into_response()
        }
        Err(e) => crate::problem::Problem(e).into_response(),
    }
}
