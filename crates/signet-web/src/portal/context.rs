//! What every portal request carries: the CSRF token (double-submit: a cookie and a hidden form
//! field that must match) and, when logged in, the session's actor.

use std::sync::Arc;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use signet_app::issue::Signet;
use signet_domain::role::{Actor, Permission};

use super::pages::{ErrorPage, Nav};
use crate::session::{CSRF_COOKIE, cookie_value, session_token};

#[derive(Debug)]
pub struct PageContext {
    csrf: String,
    /// The request brought no CSRF cookie: this response sets one, and no form is accepted.
    fresh: bool,
    secure: bool,
    session: Option<(String, Actor, String)>,
    alerts: Vec<(String, String)>,
    /// The client's address (per-client limits, audit).
    pub client: String,
}

impl FromRequestParts<Arc<Signet>> for PageContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        signet: &Arc<Signet>,
    ) -> Result<Self, Self::Rejection> {
        let existing = cookie_value(&parts.headers, CSRF_COOKIE)
            .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()));
        let (csrf, fresh) = match existing {
            Some(v) => (v, false),
            // A CSPRNG failure leaves an empty token, which no form can match.
            None => (signet_app::random_hex(32).unwrap_or_default(), true),
        };
        let mut session = None;
        if let Some(token) = session_token(&parts.headers)
            && let Ok(signed_in) = signet.authenticate(&token).await
        {
            session = Some((token, signed_in.actor, signed_in.name));
        }
        // The banner must not take a page down with it.
        let alerts = signet
            .active_alerts()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|a| (a.kind, a.title))
            .collect();
        Ok(PageContext {
            client: crate::client::ClientAddr::of(parts, signet).0,
            alerts,
            csrf,
            fresh,
            secure: signet.serves_https(),
            session,
        })
    }
}

impl PageContext {
    pub fn actor(&self) -> Option<&Actor> {
        self.session.as_ref().map(|(_, a, _)| a)
    }

    pub fn session_token(&self) -> Option<&str> {
        self.session.as_ref().map(|(t, _, _)| t.as_str())
    }

    fn nav(&self) -> Nav {
        Nav {
            user: self.session.as_ref().map(|(_, _, name)| name.clone()),
            csrf: self.csrf.clone(),
            staff: self
                .actor()
                .is_some_and(|a| a.may(Permission::WorkVettingQueue)),
            admin: self.actor().is_some_and(|a| a.may(Permission::Administer)),
            support: self
                .actor()
                .is_some_and(|a| a.may(Permission::WorkSupportRequests)),
            officer: self
                .actor()
                .filter(|a| a.may(Permission::SignDecisions))
                .map(|a| a.email.clone()),
            alerts: self.alerts.clone(),
        }
    }

    /// A Set-Cookie value: HttpOnly, SameSite=Strict, and Secure when served over HTTPS.
    pub fn cookie(&self, name: &str, value: &str) -> String {
        crate::session::set_cookie(name, value, self.secure)
    }

    /// Renders a page; pages show personal data, so they are never cached.
    pub fn render<T: Template>(&self, status: StatusCode, page: impl FnOnce(Nav) -> T) -> Response {
        let html = match page(self.nav()).render() {
            Ok(html) => html,
            Err(e) => {
                tracing::error!(error = %e, "rendering a page failed");
                return (StatusCode::INTERNAL_SERVER_ERROR, "page error").into_response();
            }
        };
        let mut response = (status, Html(html)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.fresh
            && let Ok(v) = HeaderValue::from_str(&self.cookie(CSRF_COOKIE, &self.csrf))
        {
            headers.append(header::SET_COOKIE, v);
        }
        response
    }

    /// The actor behind a form post: the CSRF token checked first, then the session; otherwise
    /// the response to send instead (the 403 page, or the log-in page).
    pub fn form_actor(&self, csrf: &str) -> Result<Actor, Box<Response>> {
        if let Some(refused) = self.csrf_refusal(csrf) {
            return Err(Box::new(refused));
        }
        self.actor()
            .cloned()
            .ok_or_else(|| Box::new(axum::response::Redirect::to("/login").into_response()))
    }

    /// The 403 page for a form whose token does not match the cookie, `None` when it matches
    /// (compared as SHA-256 digests, so the comparison's timing says nothing about the token).
    pub fn csrf_refusal(&self, submitted: &str) -> Option<Response> {
        let matches = !self.fresh
            && !self.csrf.is_empty()
            && signet_app::sha256(submitted.as_bytes()) == signet_app::sha256(self.csrf.as_bytes());
        if matches {
            return None;
        }
        tracing::warn!("form refused: missing or wrong CSRF token");
        Some(self.render(StatusCode::FORBIDDEN, |nav| ErrorPage {
            nav,
            title: "This form has expired".into(),
            message: "The form was not sent from this site's current page (its security token is missing or wrong). Go back, reload the page and send it again.".into(),
        }))
    }
}
