//! The web portal: server-rendered pages (askama templates, checked at compile time) over the
//! same use cases as the REST API. Every page works without JavaScript; every form carries a
//! CSRF token; every response carries the security headers of [`security`].

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use signet_app::dates::{day, day_of};
use signet_app::issue::Signet;

/// The actor behind a form post, or an early return: the CSRF token is checked first (403
/// page), then the session (the log-in page).
macro_rules! form_actor {
    ($ctx:expr, $csrf:expr) => {
        match $ctx.form_actor($csrf) {
            Ok(actor) => actor,
            Err(response) => return *response,
        }
    };
}

/// An identifier from the path in the domain's type, or the page that says why not.
macro_rules! parsed {
    ($ctx:expr, $result:expr) => {
        match $result {
            Ok(value) => value,
            Err(e) => return crate::portal::refusal(&$ctx, &e),
        }
    };
}

mod certificates;
mod charts;
mod context;
mod discovery;
mod notices;
mod offers;
#[cfg(test)]
mod offers_tests;
mod officer;
mod orders;
pub(crate) use orders::key_label;
mod pages;
pub mod security;
mod signatures;
mod support;
mod tls_test;
mod vetting;

use base64::Engine;
pub use context::PageContext;
use pages::{
    AccountPage, CertificateRow, EnrollPage, ErrorPage, Field, FormPage, HelpPage, HomePage,
    OrderRow, RepositoryPage,
};

use crate::problem::{message_of, status_of};
use crate::session::{SESSION_COOKIE, cleared_cookie};

pub fn routes() -> Router<Arc<Signet>> {
    Router::new()
        .route("/", get(home))
        .route("/help", get(help))
        .route(
            "/verify",
            get(signatures::page)
                .post(signatures::check)
                .layer(crate::upload::body_limit()),
        )
        .route("/tools/tls-test", get(tls_test::page))
        .route("/repository/", get(repository))
        .route("/status", get(notices::status))
        .route("/support", get(support::contact).post(support::send))
        .route("/support/inbox", get(support::inbox))
        .route(
            "/support/requests/{id}/answer",
            axum::routing::post(support::answer),
        )
        .route("/support/orders", get(support::find))
        .route(
            "/support/orders/{number}/{action}",
            axum::routing::post(support::act),
        )
        .route("/alerts.atom", get(notices::feed))
        .route("/services", get(notices::services))
        .route("/admin", get(notices::admin))
        .route("/admin/alerts", axum::routing::post(notices::post_alert))
        .route(
            "/admin/alerts/{id}/end",
            axum::routing::post(notices::end_alert),
        )
        .route("/admin/discovery", get(discovery::page))
        .route("/admin/discovery/inventory.csv", get(discovery::csv))
        .route(
            "/admin/discovery/jobs",
            axum::routing::post(discovery::add_job),
        )
        .route(
            "/admin/discovery/jobs/{name}/run",
            axum::routing::post(discovery::run_job),
        )
        .route(
            "/admin/discovery/jobs/{name}/remove",
            axum::routing::post(discovery::remove_job),
        )
        .route("/admin/services", axum::routing::post(notices::add_service))
        .route("/admin/staff", axum::routing::post(notices::invite))
        .route(
            "/admin/mail/retry",
            axum::routing::post(notices::retry_mail),
        )
        .route(
            "/admin/signing-keys/{id}/{verdict}",
            axum::routing::post(notices::settle_signing_key),
        )
        .route(
            "/admin/staff/{id}/reset-second-factor",
            axum::routing::post(notices::reset_second_factor),
        )
        .route("/login", get(login_page).post(log_in))
        .route("/signup", get(signup_page).post(sign_up))
        .route("/logout", axum::routing::post(log_out))
        .route("/account", get(account))
        .route("/vetting", get(vetting::queue))
        .route("/vetting/orders/{number}", get(vetting::order))
        .route(
            "/vetting/orders/{number}/fingerprint",
            axum::routing::post(vetting::fingerprint),
        )
        .route(
            "/vetting/orders/{number}/decision",
            axum::routing::post(vetting::decide),
        )
        .route("/certificates/{serial}", get(certificates::show))
        .route(
            "/certificates/{serial}/revoke",
            axum::routing::post(certificates::revoke),
        )
        .route(
            "/certificates/{serial}/reissue",
            axum::routing::post(certificates::reissue),
        )
        .route(
            "/certificates/{serial}/renew",
            axum::routing::post(certificates::renew),
        )
        .route("/orders/new", get(orders::new_order))
        .route("/orders/review", axum::routing::post(orders::review_order))
        .route("/orders", axum::routing::post(orders::place_order))
        .route("/orders/{number}", get(orders::order_page))
        .route(
            "/orders/{number}/cancel",
            axum::routing::post(orders::cancel),
        )
        .route(
            "/orders/{number}/answer",
            axum::routing::post(orders::answer),
        )
        .route(
            "/orders/{number}/reorder",
            axum::routing::post(orders::reorder),
        )
        .route(
            "/orders/{number}/attestation",
            axum::routing::post(orders::attest),
        )
        .route(
            "/orders/{number}/documents",
            axum::routing::post(orders::upload).layer(crate::upload::body_limit()),
        )
        .route("/static/signet.css", get(stylesheet))
        .route("/static/copy.js", get(copy_script))
        .route("/static/pickup.js", get(pickup_script))
        .route("/static/officer.js", get(officer_script))
        .route("/staff/signing-key", axum::routing::post(officer::enrol))
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/signet.css"),
    )
        .into_response()
}

async fn copy_script() -> Response {
    script(include_str!("../../static/copy.js"))
}

/// Key generation, the request and the PFX in the subscriber's browser (built from
/// `crates/signet-web/js`; see its package.json).
async fn pickup_script() -> Response {
    script(include_str!("../../static/pickup.js"))
}

/// The officer's decision-signing key in the browser (built from `crates/signet-web/js`).
async fn officer_script() -> Response {
    script(include_str!("../../static/officer.js"))
}

fn script(body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn home(ctx: PageContext) -> Response {
    ctx.render(StatusCode::OK, |nav| HomePage { nav })
}

/// The public repository of CA certificates (the AIA caIssuers URLs point at its files).
async fn repository(State(s): State<Arc<Signet>>, ctx: PageContext) -> Response {
    let cas = s
        .ca_certificates()
        .into_iter()
        .map(|(name, der)| (name, hex::encode_upper(crate::aws_sha256(der))))
        .collect();
    ctx.render(StatusCode::OK, |nav| RepositoryPage { nav, cas })
}

async fn help(ctx: PageContext) -> Response {
    ctx.render(StatusCode::OK, |nav| HelpPage { nav })
}

/// The page a refused action shows: the application's own message, or a generic one for 5xx.
pub(crate) fn refusal(ctx: &PageContext, e: &signet_app::AppError) -> Response {
    let status = status_of(e);
    let message = message_of(e);
    ctx.render(status, |nav| ErrorPage {
        nav,
        title: "That did not work".into(),
        message,
    })
}

fn login_form(
    ctx: &PageContext,
    status: StatusCode,
    email: &str,
    error: Option<String>,
) -> Response {
    ctx.render(status, |nav| FormPage {
        nav,
        title: "Log in".into(),
        action: "/login".into(),
        submit: "Log in".into(),
        error,
        notice: None,
        show_form: true,
        fields: vec![
            Field::new("email", "E-mail address", "email", email, "username"),
            Field::new("password", "Password", "password", "", "current-password"),
            Field::new(
                "totp_code",
                "Authenticator code (vetting, support and admin staff)",
                "text",
                "",
                "one-time-code",
            )
            .optional(),
        ],
        links: vec![("/signup".into(), "No account yet? Create one".into())],
    })
}

async fn login_page(ctx: PageContext) -> Response {
    login_form(&ctx, StatusCode::OK, "", None)
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: String,
    email: String,
    password: String,
    #[serde(default)]
    totp_code: String,
}

async fn log_in(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Form(f): Form<LoginForm>,
) -> Response {
    if let Some(r) = ctx.csrf_refusal(&f.csrf) {
        return r;
    }
    let code = Some(f.totp_code.trim()).filter(|c| !c.is_empty());
    match s.log_in(&f.email, &f.password, code, &ctx.client).await {
        Ok(session) => {
            let cookie = ctx.cookie(SESSION_COOKIE, &session.token);
            let home = match session.role {
                signet_domain::role::Role::Admin => "/admin",
                signet_domain::role::Role::Support => "/support/inbox",
                r if r.may(signet_domain::role::Permission::WorkVettingQueue) => "/vetting",
                _ => "/account",
            };
            ([(header::SET_COOKIE, cookie)], Redirect::to(home)).into_response()
        }
        Err(signet_app::AppError::SecondFactorSetup(_)) => {
            match s
                .start_totp_enrollment(&f.email, &f.password, &ctx.client)
                .await
            {
                Ok(e) => ctx.render(StatusCode::OK, |nav| EnrollPage {
                    nav,
                    email: f.email.trim().to_owned(),
                    secret: e.secret_base32,
                    qr_data_uri: format!(
                        "data:image/svg+xml;base64,{}",
                        base64::engine::general_purpose::STANDARD.encode(e.qr_svg)
                    ),
                }),
                Err(e) => login_form(&ctx, status_of(&e), &f.email, Some(message_of(&e))),
            }
        }
        Err(e) => login_form(&ctx, status_of(&e), &f.email, Some(message_of(&e))),
    }
}

fn signup_form(
    ctx: &PageContext,
    status: StatusCode,
    (name, email): (&str, &str),
    error: Option<String>,
) -> Response {
    ctx.render(status, |nav| FormPage {
        nav,
        title: "Create an account".into(),
        action: "/signup".into(),
        submit: "Create account".into(),
        error,
        notice: None,
        show_form: true,
        fields: vec![
            Field::new("name", "Your full name", "text", name, "name"),
            Field::new("email", "E-mail address", "email", email, "email")
                .hint("We send a confirmation link to this address."),
            Field::new("password", "Password", "password", "", "new-password")
                .hint("At least 12 characters. A passphrase of several words works well."),
        ],
        links: vec![("/login".into(), "Already have an account? Log in".into())],
    })
}

async fn signup_page(ctx: PageContext) -> Response {
    signup_form(&ctx, StatusCode::OK, ("", ""), None)
}

#[derive(Deserialize)]
struct SignUpForm {
    csrf: String,
    name: String,
    email: String,
    password: String,
}

async fn sign_up(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Form(f): Form<SignUpForm>,
) -> Response {
    if let Some(r) = ctx.csrf_refusal(&f.csrf) {
        return r;
    }
    match s.sign_up(&f.email, &f.password, &f.name, &ctx.client).await {
        Ok(()) => ctx.render(StatusCode::OK, |nav| FormPage {
            nav,
            title: "Check your mailbox".into(),
            action: String::new(),
            submit: String::new(),
            error: None,
            notice: Some(format!(
                "We sent a confirmation link to {}. Open it to activate your account, then log in.",
                f.email
            )),
            show_form: false,
            fields: Vec::new(),
            links: vec![("/login".into(), "Log in".into())],
        }),
        Err(e) => signup_form(
            &ctx,
            status_of(&e),
            (&f.name, &f.email),
            Some(message_of(&e)),
        ),
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}

async fn log_out(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if let Some(r) = ctx.csrf_refusal(&f.csrf) {
        return r;
    }
    if let Some(token) = ctx.session_token()
        && let Err(e) = s.log_out(token).await
    {
        return refusal(&ctx, &e);
    }
    let cleared = cleared_cookie(SESSION_COOKIE);
    ([(header::SET_COOKIE, cleared)], Redirect::to("/")).into_response()
}

async fn account(State(s): State<Arc<Signet>>, ctx: PageContext) -> Response {
    let Some(actor) = ctx.actor() else {
        return Redirect::to("/login").into_response();
    };
    let listed = async {
        Ok::<_, signet_app::AppError>((s.my_orders(actor).await?, s.my_certificates(actor).await?))
    };
    match listed.await {
        Ok((orders, certificates)) => ctx.render(StatusCode::OK, |nav| AccountPage {
            nav,
            orders: orders
                .iter()
                .map(|o| OrderRow {
                    number: o.order_number.clone(),
                    product: o.product.clone(),
                    status: o.status.replace('_', " "),
                    placed: day_of(&o.created_at).to_owned(),
                })
                .collect(),
            certificates: certificates
                .iter()
                .map(|c| CertificateRow {
                    serial: c.serial.clone(),
                    order: c.order_number.clone(),
                    status: c.status.as_str().into(),
                    status_class: certificates::status_class(c.status).into(),
                    expires: day(c.not_after),
                })
                .collect(),
        }),
        Err(e) => refusal(&ctx, &e),
    }
}
