//! Sessions and cookies, in one place: which cookies Signet sets and how, where a request's
//! session token comes from, and the API's authenticated caller. The portal's CSRF defence
//! (double submit) uses the cookie named here; its check is in `portal::context`.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use signet_app::AppError;
use signet_app::issue::Signet;
use signet_domain::role::Actor;

use crate::problem::Problem;

/// The cookie that carries a session for the portal.
pub const SESSION_COOKIE: &str = "signet_session";
/// The portal's CSRF token (double submit: this cookie and a hidden form field must match).
pub const CSRF_COOKIE: &str = "signet_csrf";

/// A cookie's value from the request headers.
pub(crate) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: never readable by scripts, never sent by another site's request, and
/// only over TLS when Signet serves it.
pub(crate) fn set_cookie(name: &str, value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}")
}

/// A `Set-Cookie` value that removes the cookie.
pub(crate) fn cleared_cookie(name: &str) -> String {
    format!("{name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict")
}

/// The session token from `Authorization: Bearer …` or the session cookie.
pub(crate) fn session_token(headers: &HeaderMap) -> Option<String> {
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(bearer.trim().to_owned());
    }
    cookie_value(headers, SESSION_COOKIE)
}

/// The API's authenticated caller and its session token (401 otherwise).
#[derive(Debug)]
pub struct Authed(pub Actor, pub String);

impl FromRequestParts<Arc<Signet>> for Authed {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, signet: &Arc<Signet>) -> Result<Self, Problem> {
        // The session cookie rides along on any request a browser makes, even one another site
        // triggers: it may read (the portal's download links), but changes need the bearer token.
        let bearer = parts.headers.contains_key(header::AUTHORIZATION);
        if !bearer
            && !parts.method.is_safe()
            && cookie_value(&parts.headers, SESSION_COOKIE).is_some()
        {
            return Err(AppError::Forbidden(
                "API changes need the session token as `Authorization: Bearer …`; the session cookie alone only reads (protection against cross-site requests)".into(),
            )
            .into());
        }
        let token = session_token(&parts.headers).ok_or_else(|| {
            AppError::Unauthorized(
                "log in first: send the session token as `Authorization: Bearer …`".into(),
            )
        })?;
        let actor = signet.authenticate(&token).await?.actor;
        Ok(Authed(actor, token))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    #[test]
    fn cookies_and_tokens() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; signet_session=abc; signet_csrf=def"),
        );
        assert_eq!(super::session_token(&h).as_deref(), Some("abc"));
        assert_eq!(
            super::cookie_value(&h, super::CSRF_COOKIE).as_deref(),
            Some("def")
        );
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer xyz"),
        );
        assert_eq!(
            super::session_token(&h).as_deref(),
            Some("xyz"),
            "the bearer wins"
        );
        assert!(super::set_cookie("n", "v", true).ends_with("; Secure"));
        assert!(super::cleared_cookie("n").contains("Max-Age=0"));
    }
}
