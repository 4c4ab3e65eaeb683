//! The pages behind the links Signet mails: confirm an address, set a password, pick up a
//! certificate. Minimal server-rendered HTML that works without JavaScript; a GET never uses a
//! token (mail scanners prefetch links), only the form's POST does. The full portal builds on
//! the same use cases.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use signet_app::accounts::Confirmed;
use signet_app::issue::Signet;
use signet_app::pickup::PickupRequest;
use signet_domain::key::{KeyChoice, SubscriberKeyType};

use crate::problem::status_of;

pub fn routes() -> Router<Arc<Signet>> {
    Router::new()
        .route("/confirm/{token}", get(confirm_page).post(confirm))
        .route("/reset/{token}", get(reset_page).post(reset))
        .route("/pickup/{token}", get(pickup_page).post(pickup))
}

/// The link pages, askama templates like the portal's (one renderer, one escape).
mod pages {
    use askama::Template;

    #[derive(Template)]
    #[template(path = "links/message.html")]
    pub struct Message<'a> {
        pub title: &'a str,
        pub message: &'a str,
    }

    #[derive(Template)]
    #[template(path = "links/confirm.html")]
    pub struct Confirm<'a> {
        pub title: &'a str,
    }

    #[derive(Template)]
    #[template(path = "links/reset.html")]
    pub struct Reset<'a> {
        pub title: &'a str,
    }

    #[derive(Template)]
    #[template(path = "links/pickup.html")]
    pub struct Pickup<'a> {
        pub title: &'a str,
        /// (name, label) of every key type Signet generates; none is preselected, so that the
        /// order's own choice stands unless the subscriber picks another.
        pub key_types: Vec<(&'static str, &'static str)>,
    }

    #[derive(Template)]
    #[template(path = "links/picked_up.html")]
    pub struct PickedUp<'a> {
        pub title: &'a str,
        pub order_number: &'a str,
        pub pfx: Option<&'a str>,
        pub password: &'a str,
        pub serial: &'a str,
        pub certificate: &'a str,
    }
}

/// A page; the URL carries a secret, so it is neither cached nor sent on as a referrer.
fn page(status: axum::http::StatusCode, page: impl askama::Template) -> Response {
    let html = match page.render() {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "rendering a link page failed");
            return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "page error").into_response();
        }
    };
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        Html(html),
    )
        .into_response()
}

fn message(title: &str, message: &str) -> Response {
    page(
        axum::http::StatusCode::OK,
        pages::Message { title, message },
    )
}

fn error_page(e: &signet_app::AppError) -> Response {
    page(
        status_of(e),
        pages::Message {
            title: "That did not work",
            message: &crate::problem::message_of(e),
        },
    )
}

async fn confirm_page() -> Response {
    page(
        axum::http::StatusCode::OK,
        pages::Confirm {
            title: "Confirm your e-mail address",
        },
    )
}

async fn confirm(State(s): State<Arc<Signet>>, Path(token): Path<String>) -> Response {
    match s.confirm(&token).await {
        Ok(Confirmed::Account(email)) => message(
            "Account confirmed",
            &format!("{email} is confirmed. You can log in now."),
        ),
        Ok(Confirmed::ApprovalEmail { order_number }) => message(
            "Approval e-mail confirmed",
            &format!("The approval e-mail address of order {order_number} is confirmed."),
        ),
        Err(e) => error_page(&e),
    }
}

async fn reset_page() -> Response {
    page(
        axum::http::StatusCode::OK,
        pages::Reset {
            title: "Set your password",
        },
    )
}

#[derive(Deserialize)]
struct PasswordForm {
    password: String,
}

async fn reset(
    State(s): State<Arc<Signet>>,
    Path(token): Path<String>,
    Form(f): Form<PasswordForm>,
) -> Response {
    match s.complete_password_reset(&token, &f.password).await {
        Ok(()) => message("Password set", "Your password is set. You can log in now."),
        Err(e) => error_page(&e),
    }
}

async fn pickup_page() -> Response {
    page(
        axum::http::StatusCode::OK,
        pages::Pickup {
            title: "Pick up your certificate",
            key_types: SubscriberKeyType::ALL
                .into_iter()
                .map(|k| (k.as_str(), crate::portal::key_label(KeyChoice::Generate(k))))
                .collect(),
        },
    )
}

#[derive(Deserialize)]
struct PickupForm {
    pickup_password: String,
    key_type: Option<String>,
    compatibility: Option<String>,
    csr: Option<String>,
}

async fn pickup(
    State(s): State<Arc<Signet>>,
    Path(token): Path<String>,
    Form(f): Form<PickupForm>,
) -> Response {
    let csr = f.csr.filter(|c| !c.trim().is_empty());
    let key_type = if csr.is_some() {
        None
    } else {
        f.key_type.as_deref().and_then(SubscriberKeyType::parse)
    };
    let request = PickupRequest {
        pickup_password: f.pickup_password,
        key_type,
        compatibility: f.compatibility,
        csr,
    };
    match s.pick_up_detached(token, request).await {
        Ok(p) => page(
            axum::http::StatusCode::OK,
            pages::PickedUp {
                title: "Your certificate",
                order_number: &p.order_number,
                pfx: p.pkcs12.as_deref().filter(|_| p.pkcs12_password.is_some()),
                password: p.pkcs12_password.as_deref().unwrap_or_default(),
                serial: &p.serial,
                certificate: &p.certificate,
            },
        ),
        Err(e) => error_page(&e),
    }
}
