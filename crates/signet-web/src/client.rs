//! Who is asking: the client's address, for per-client limits and the audit log. The peer of the
//! connection, or behind a reverse proxy the last entry of the header the configuration names
//! (the proxy appends the address it saw; earlier entries are the client's to forge).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use signet_app::issue::Signet;

/// The client's address as text (`unknown` when the server runs without connection info).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl ClientAddr {
    pub fn of(parts: &Parts, signet: &Signet) -> ClientAddr {
        if let Some(name) = signet.client_ip_header()
            && let Some(last) = parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .rfind(|v| !v.is_empty())
        {
            return ClientAddr(last.to_owned());
        }
        ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string()),
        )
    }
}

impl FromRequestParts<Arc<Signet>> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        signet: &Arc<Signet>,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr::of(parts, signet))
    }
}
