//! The REST API under `/api/v1` (DESIGN §7). Handlers only translate: JSON in, a use case of
//! `signet_app`, JSON or a problem document out.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Multipart, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use signet_app::AppError;
use signet_app::accounts::Confirmed;
use signet_app::issue::Signet;
use signet_app::orders::NewOrder;
use signet_app::pickup::PickupRequest;
use signet_domain::order::change_refused;
use signet_domain::role::Actor;

use crate::problem::Problem;

type AppState = State<Arc<Signet>>;
type ApiResult<T> = Result<T, Problem>;

/// The cookie that carries a session for the portal.
pub const SESSION_COOKIE: &str = "signet_session";

pub fn routes() -> Router<Arc<Signet>> {
    Router::new()
        .route("/api/v1/accounts", post(sign_up))
        .route("/api/v1/confirmations/{token}", post(confirm))
        .route("/api/v1/sessions", post(log_in).delete(log_out))
        .route("/api/v1/password-resets", post(request_reset))
        .route("/api/v1/password-resets/{token}", post(complete_reset))
        .route("/api/v1/orders", post(place_order).get(list_orders))
        .route(
            "/api/v1/orders/{number}",
            get(view_order).patch(change_order).put(change_order),
        )
        .route(
            "/api/v1/orders/{number}/documents",
            // Room for the 10 MiB document limit plus multipart framing; the rule itself is the domain's.
            post(upload).layer(DefaultBodyLimit::max(
                signet_domain::order::MAX_DOCUMENT_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/api/v1/orders/{number}/documents/{id}",
            get(download_document),
        )
        .route("/api/v1/orders/{number}/attestation", post(attest))
        .route("/api/v1/orders/{number}/agreement.pdf", get(agreement))
        .route(
            "/api/v1/orders/{number}/fingerprint-check",
            post(fingerprint_check),
        )
        .route("/api/v1/orders/{number}/decision", post(decision))
        .route("/api/v1/orders/{number}/messages", post(message))
        .route("/api/v1/orders/{number}/cancel", post(cancel))
        .route("/api/v1/vetting/queue", get(queue))
        .route("/api/v1/pickups/{token}", post(pickup))
        .route("/api/v1/orders/{number}/reorder", post(reorder))
        .route("/api/v1/orders/{number}/expedite", post(expedite))
        .route("/api/v1/certificates/{serial}", get(certificate))
        .route(
            "/api/v1/certificates/{serial}/{file}",
            get(certificate_file),
        )
        .route("/api/v1/certificates/{serial}/revoke", post(revoke))
        .route("/api/v1/certificates/{serial}/reissue", post(reissue))
        .route("/api/v1/certificates/{serial}/renew", post(renew))
}

/// The session token from `Authorization: Bearer …` or the session cookie.
fn session_token(headers: &HeaderMap) -> Option<String> {
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(bearer.trim().to_owned());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// The authenticated actor (401 otherwise).
#[derive(Debug)]
pub struct Authed(pub Actor, pub String);

impl FromRequestParts<Arc<Signet>> for Authed {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, signet: &Arc<Signet>) -> Result<Self, Problem> {
        let token = session_token(&parts.headers).ok_or_else(|| {
            AppError::Unauthorized(
                "log in first: send the session token as `Authorization: Bearer …`".into(),
            )
        })?;
        let (actor, _) = signet.authenticate(&token).await?;
        Ok(Authed(actor, token))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignUp {
    email: String,
    password: String,
    name: String,
}

async fn sign_up(State(s): AppState, Json(b): Json<SignUp>) -> ApiResult<Response> {
    s.sign_up(&b.email, &b.password, &b.name).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "check your mailbox for the confirmation link"})),
    )
        .into_response())
}

async fn confirm(State(s): AppState, Path(token): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(match s.confirm(&token).await? {
        Confirmed::Account(email) => json!({"confirmed": "account", "email": email}),
        Confirmed::ApprovalEmail { order_number } => {
            json!({"confirmed": "approval_email", "order_number": order_number})
        }
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    email: String,
    password: String,
}

async fn log_in(State(s): AppState, Json(b): Json<Credentials>) -> ApiResult<Response> {
    let session = s.log_in(&b.email, &b.password).await?;
    let secure = if s.config.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict{secure}",
        session.token
    );
    Ok((
        StatusCode::CREATED,
        [(header::SET_COOKIE, cookie)],
        Json(json!({"token": session.token, "role": session.role})),
    )
        .into_response())
}

async fn log_out(State(s): AppState, Authed(_, token): Authed) -> ApiResult<StatusCode> {
    s.log_out(&token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    email: String,
}

async fn request_reset(State(s): AppState, Json(b): Json<ResetRequest>) -> ApiResult<Response> {
    s.request_password_reset(&b.email).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "if the address has an account, a reset link was mailed"})),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPassword {
    password: String,
}

async fn complete_reset(
    State(s): AppState,
    Path(token): Path<String>,
    Json(b): Json<NewPassword>,
) -> ApiResult<StatusCode> {
    s.complete_password_reset(&token, &b.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn place_order(
    State(s): AppState,
    Authed(actor, _): Authed,
    Json(b): Json<NewOrder>,
) -> ApiResult<Response> {
    let order = s.place_order(&actor, b).await?;
    let view = s.view_order(&actor, &order.order_number).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn list_orders(State(s): AppState, Authed(actor, _): Authed) -> ApiResult<Json<Value>> {
    let orders = s.my_orders(&actor).await?;
    Ok(Json(json!(orders
        .iter()
        .map(|o| json!({"order_number": o.order_number, "status": o.status, "product": o.product, "created_at": signet_app::orders::rfc3339(o.created_at)}))
        .collect::<Vec<_>>())))
}

async fn view_order(
    State(s): AppState,
    Authed(actor, _): Authed,
    Path(number): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.view_order(&actor, &number).await?)))
}

/// R-ORD-1: there is no call that changes an order; say so, after checking it is visible.
async fn change_order(
    State(s): AppState,
    Authed(actor, _): Authed,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    s.visible_order(&actor, &number).await?;
    Err(change_refused().into())
}

async fn upload(
    State(s): AppState,
    Authed(actor, _): Authed,
    Path(number): Path<String>,
    mut form: Multipart,
) -> ApiResult<Response> {
    let bad = |m: String| AppError::Refused(signet_domain::Refusal::InvalidInput(m));
    let (mut kind, mut file) = (None, None);
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| bad(format!("malformed multipart body: {e}")))?
    {
        match field.name() {
            Some("kind") => kind = Some(field.text().await.map_err(|e| bad(format!("kind: {e}")))?),
            Some("file") => {
                file = Some(field.bytes().await.map_err(|e| bad(format!("file: {e}")))?)
            }
            _ => {}
        }
    }
    let kind = kind.ok_or_else(|| bad("the `kind` field is missing".into()))?;
    let file = file.ok_or_else(|| bad("the `file` field is missing".into()))?;
    let doc = s.upload_document(&actor, &number, &kind, &file).await?;
    Ok((StatusCode::CREATED, Json(json!(doc))).into_response())
}

async fn download_document(
    State(s): AppState,
    Authed(actor, _): Authed,
    Path((number, id)): Path<(String, i64)>,
) -> ApiResult<Response> {
    let (media_type, content) = s.document(&actor, &number, id).await?;
    Ok(([(header::CONTENT_TYPE, media_type)], content).into_response())
}

async fn agreement(
    State(s): AppState,
    Authed(actor, _): Authed,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    let pdf = s.agreement(&actor, &number).await?;
    let disposition = format!("attachment; filename=\"signet-order-{number}.pdf\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        pdf,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FingerprintCheck {
    fingerprint: String,
}

async fn fingerprint_check(
    State(s): AppState,
    Authed(actor, _): Authed,
    Path(number): Path<String>,
    Json(b): Json<FingerprintCheck>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({"matches": s.check_fingerprint(&actor, &number, &b.fingerprint).await?}),
    ))
}

async fn attest(
    State(s): AppState,
    Authed(actor, _): Authed,
    Path(number): Path<String>,
) -> ApiResult<StatusCode> {
    s.attest(&actor, &number).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decision {
    action: String,
    #[serde(default)]
    message: Option<String>,
}

async fn decision(
    State(s): AppState,
    Authed(actor, _): Authed,
    Path(number): Path<String>,
    Json(b): Json<Decision>,
) -> ApiResult<Json<Value>> {
    let status = s
        .decide_order(&actor, &number, &b.action, b.message)
        .await?;
    Ok(Json(
        json!({"order_number": number, "status": status.as_str()}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Message {
    message: String,
}

async fn message(
    State(s): AppState,
    Authed(actor, _): Authed,
    Path(number): Path<String>,
    Json(b): Json<Message>,
) -> ApiResult<StatusCode> {
    s.supply_info(&actor, &number, &b.message).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn cancel(
    State(s): AppState,
    Authed(actor, _): Authed,
    Path(number): Path<String>,
) -> ApiResult<Json<Value>> {
    s.cancel_order(&actor, &number).await?;
    Ok(Json(json!({"order_number": number, "status": "cancelled"})))
}

#[derive(Deserialize)]
struct QueueFilter {
    status: Option<String>,
}

async fn queue(
    State(s): AppState,
    Authed(actor, _): Authed,
    Query(f): Query<QueueFilter>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.vetting_queue(&actor, f.status.as_deref()).await?
    )))
}

async fn pickup(
    State(s): AppState,
    Path(token): Path<String>,
    Json(b): Json<PickupRequest>,
) -> ApiResult<Response> {
    let picked = s.pick_up(&token, b).await?;
    // The PFX password is in this body only: never cache it.
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(json!(picked))).into_response())
}

async fn reorder(
    State(s): AppState,
    Authed(actor, _): Authed,
    Path(number): Path<String>,
    Json(b): Json<signet_app::lifecycle::Reorder>,
) -> ApiResult<Response> {
    let order = s.reorder(&actor, &number, b).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!(s.view_order(&actor, &order.order_number).await?)),
    )
        .into_response())
}

async fn expedite(
    State(s): AppState,
    Authed(actor, _): Authed,
    Path(number): Path<String>,
) -> ApiResult<Json<Value>> {
    s.expedite(&actor, &number).await?;
    Ok(Json(json!({"order_number": number, "status": "in_review"})))
}

async fn certificate(
    State(s): AppState,
    Authed(actor, _): Authed,
    Path(serial): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.certificate_view(&actor, &serial).await?)))
}

/// `certificate.pem`, `certificate.der` or `public-key.pem`.
async fn certificate_file(
    State(s): AppState,
    Authed(actor, _): Authed,
    Path((serial, file)): Path<(String, String)>,
) -> ApiResult<Response> {
    let view = s.certificate_view(&actor, &serial).await?;
    Ok(match file.as_str() {
        "certificate.pem" => (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            view.certificate,
        )
            .into_response(),
        "public-key.pem" => (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            view.public_key,
        )
            .into_response(),
        "certificate.der" => (
            [(header::CONTENT_TYPE, "application/pkix-cert")],
            s.certificate_der(&actor, &serial).await?,
        )
            .into_response(),
        _ => {
            return Err(AppError::NotFound(format!(
                "{file}: use certificate.pem, certificate.der or public-key.pem"
            ))
            .into());
        }
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Revoke {
    reason: String,
}

async fn revoke(
    State(s): AppState,
    Authed(actor, _): Authed,
    Path(serial): Path<String>,
    Json(b): Json<Revoke>,
) -> ApiResult<Json<Value>> {
    s.revoke(&actor, &serial, &b.reason).await?;
    Ok(Json(
        json!({"serial": serial, "status": "revoked", "reason": b.reason}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reissue {
    pickup_password: String,
    #[serde(default)]
    revoke_previous: Option<String>,
}

async fn reissue(
    State(s): AppState,
    Authed(actor, _): Authed,
    Path(serial): Path<String>,
    Json(b): Json<Reissue>,
) -> ApiResult<Response> {
    let order = s
        .reissue(
            &actor,
            &serial,
            &b.pickup_password,
            b.revoke_previous.as_deref(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"order_number": order.order_number, "status": order.status})),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Renew {
    pickup_password: String,
    #[serde(default)]
    validity_months: Option<u32>,
}

async fn renew(
    State(s): AppState,
    Authed(actor, _): Authed,
    Path(serial): Path<String>,
    Json(b): Json<Renew>,
) -> ApiResult<Response> {
    let order = s
        .renew(&actor, &serial, &b.pickup_password, b.validity_months)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"order_number": order.order_number, "status": order.status})),
    )
        .into_response())
}
