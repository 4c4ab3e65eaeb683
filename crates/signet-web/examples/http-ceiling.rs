//! The HTTP ceiling of this machine for `scripts/bench-ocsp`: the same axum/hyper/tokio stack
//! as `signet serve`, answering every GET under `/ocsp/` with a constant body of the size of a
//! pre-signed response and the same headers, doing no OCSP work at all. Whatever Signet's
//! responder falls short of this is its own cost; the rest is the stack and the load driver.
//!   cargo run --release -p signet-web --example http-ceiling -- 127.0.0.1:18184 RESPONSE.der

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:18184".into());
    let body = Bytes::from(match args.next() {
        Some(path) => std::fs::read(path)?,
        None => vec![0x30; 1000],
    });
    let app = Router::new().route(
        "/ocsp/{*request}",
        get(move || {
            let body = body.clone();
            async move {
                (
                    [
                        (header::CONTENT_TYPE, "application/ocsp-response"),
                        (
                            header::CACHE_CONTROL,
                            "max-age=604800, public, no-transform, must-revalidate",
                        ),
                        (header::LAST_MODIFIED, "Thu, 26 Nov 2026 00:00:00 GMT"),
                        (header::EXPIRES, "Thu, 03 Dec 2026 00:00:00 GMT"),
                        (header::ETAG, "\"00000000000000000000000000000000\""),
                    ],
                    body,
                )
                    .into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
