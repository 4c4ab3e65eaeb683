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

use crate::problem::status_of;

pub fn routes() -> Router<Arc<Signet>> {
    Router::new()
        .route("/confirm/{token}", get(confirm_page).post(confirm))
        .route("/reset/{token}", get(reset_page).post(reset))
        .route("/pickup/{token}", get(pickup_page).post(pickup))
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            other => other.to_string(),
        })
        .collect()
}

/// A page; the URL carries a secret, so it is neither cached nor sent on as a referrer.
fn page(status: axum::http::StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} - Signet</title><link rel=\"stylesheet\" href=\"/static/signet.css\"></head>\
         <body><main><section class=\"card narrow\"><h1>{title}</h1>{body}</section></main></body></html>",
        title = escape(title)
    );
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

fn ok_page(title: &str, body: &str) -> Response {
    page(axum::http::StatusCode::OK, title, body)
}

fn error_page(e: &signet_app::AppError) -> Response {
    let status = status_of(e);
    let message = crate::problem::message_of(e);
    page(
        status,
        "That did not work",
        &format!("<p>{}</p>", escape(&message)),
    )
}

async fn confirm_page() -> Response {
    ok_page(
        "Confirm your e-mail address",
        "<p>Press the button to confirm that this mailbox is yours.</p><form method=\"post\"><button type=\"submit\">Confirm</button></form>",
    )
}

async fn confirm(State(s): State<Arc<Signet>>, Path(token): Path<String>) -> Response {
    match s.confirm(&token).await {
        Ok(Confirmed::Account(email)) => ok_page(
            "Account confirmed",
            &format!(
                "<p>{} is confirmed. You can log in now.</p>",
                escape(&email)
            ),
        ),
        Ok(Confirmed::ApprovalEmail { order_number }) => ok_page(
            "Approval e-mail confirmed",
            &format!(
                "<p>The approval e-mail address of order {} is confirmed.</p>",
                escape(&order_number)
            ),
        ),
        Err(e) => error_page(&e),
    }
}

async fn reset_page() -> Response {
    ok_page(
        "Set your password",
        "<form method=\"post\"><label for=\"password\">New password (at least 12 characters)</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" minlength=\"12\" required>\
         <button type=\"submit\">Set password</button></form>",
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
        Ok(()) => ok_page(
            "Password set",
            "<p>Your password is set. You can log in now.</p>",
        ),
        Err(e) => error_page(&e),
    }
}

async fn pickup_page() -> Response {
    ok_page(
        "Pick up your certificate",
        "<p>This link works once. Your key pair is generated now and delivered in a password-protected PKCS#12 (PFX) file.</p>\
         <form method=\"post\"><label for=\"pickup_password\">Pickup password (chosen when you ordered)</label>\
         <input id=\"pickup_password\" name=\"pickup_password\" type=\"password\" autocomplete=\"off\" required>\
         <label for=\"key_type\">Key type</label><select id=\"key_type\" name=\"key_type\">\
         <option value=\"rsa-2048\">RSA 2048 (works everywhere)</option><option value=\"rsa-3072\">RSA 3072</option>\
         <option value=\"p-256\">ECDSA P-256</option><option value=\"p-384\">ECDSA P-384</option></select>\
         <label for=\"compatibility\">PFX encryption</label><select id=\"compatibility\" name=\"compatibility\">\
         <option value=\"modern\">Modern (AES-256): Windows 10+, current macOS, Firefox, Chrome</option>\
         <option value=\"legacy\">Legacy (3DES): older Windows and macOS Keychain</option></select>\
         <label for=\"csr\">Or paste a CSR (PEM) to keep your own key</label><textarea id=\"csr\" name=\"csr\" rows=\"4\"></textarea>\
         <button type=\"submit\">Pick up</button></form>",
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
        f.key_type
            .as_deref()
            .and_then(|k| serde_json::from_value(serde_json::json!(k)).ok())
    };
    let request = PickupRequest {
        pickup_password: f.pickup_password,
        key_type,
        compatibility: f.compatibility,
        csr,
    };
    match s.pick_up_detached(token, request).await {
        Ok(p) => {
            let pfx = match (&p.pkcs12, &p.pkcs12_password) {
                (Some(pfx), Some(password)) => format!(
                    "<p class=\"alert warn\">Download the file and write down the password now. Neither can be retrieved again: \
                     a lost PFX or password means a reissue with a new key pair.</p>\
                     <p><a class=\"button\" download=\"signet-{n}.p12\" href=\"data:application/x-pkcs12;base64,{pfx}\">Download signet-{n}.p12</a></p>\
                     <p>PFX password (you need it to import the file):</p>\
                     <p><code id=\"pfx-password\">{password}</code> <button type=\"button\" class=\"button small\" data-copy=\"pfx-password\" hidden>Copy</button></p>\
                     <script src=\"/static/copy.js\" defer></script>",
                    n = escape(&p.order_number),
                    pfx = escape(pfx),
                    password = escape(password)
                ),
                _ => "<p>Your certificate was issued for the key in your CSR.</p>".to_owned(),
            };
            ok_page(
                "Your certificate",
                &format!(
                    "{pfx}<p>Serial number {}</p><p>Certificate (PEM):</p><pre>{}</pre>",
                    escape(&p.serial),
                    escape(&p.certificate)
                ),
            )
        }
        Err(e) => error_page(&e),
    }
}
