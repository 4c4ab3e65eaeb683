//! The REST API under `/api/v1` (design §7). Handlers only translate: JSON in, a use case of
//! `signet_app`, JSON or a problem document out.

use std::sync::Arc;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use signet_app::AppError;
use signet_app::accounts::Confirmed;
use signet_app::certificates::CertificateView;
use signet_app::evidence::DocumentView;
use signet_app::issue::Signet;
use signet_app::orders::{NewOrder, OrderSummary, OrderView};
use signet_app::pickup::PickedUp;
use signet_app::pickup::PickupRequest;
use signet_app::renewal::Reorder;
use signet_app::signed_decisions::SignedStatement;
use signet_app::vetting::QueueItem;
use signet_domain::certificate::{CertificateStatus, RevocationReason};
use signet_domain::order::{OrderStatus, change_refused};

use crate::client::ClientAddr;
use crate::ids::{OrderPath, SerialPath};
use crate::problem::Problem;
use crate::session::{self, Authed, SESSION_COOKIE};
use crate::upload::multipart_refusal;

type AppState = State<Arc<Signet>>;
type ApiResult<T> = Result<T, Problem>;

/// A 202's body: what happens next.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct NextStep {
    status: &'static str,
}

/// What a confirmation link confirmed: an account's address, or an order's approval address.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ConfirmedBody {
    /// `account` or `approval_email`.
    confirmed: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_number: Option<String>,
}

/// A new TOTP secret, shown once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TotpSecret {
    /// Base32, for typing into an authenticator app.
    secret: String,
    /// `otpauth://` URI, for a QR code.
    otpauth_uri: String,
}

/// A new session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SessionBody {
    /// Send as `Authorization: Bearer …`.
    token: String,
    role: String,
}

/// Whether a returned form's fingerprint is the order's (R-ORD-4).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct FingerprintMatch {
    matches: bool,
}

/// An order and the status the domain moved it to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct OrderMoved {
    order_number: String,
    status: String,
}

impl OrderMoved {
    fn new(number: impl ToString, status: OrderStatus) -> Json<OrderMoved> {
        Json(OrderMoved {
            order_number: number.to_string(),
            status: status.to_string(),
        })
    }
}

/// A revoked certificate.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RevokedBody {
    serial: String,
    status: &'static str,
    reason: &'static str,
}

pub fn routes() -> Router<Arc<Signet>> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/v1/accounts", post(sign_up))
        .route("/api/v1/confirmations/{token}", post(confirm))
        .route("/api/v1/sessions", post(log_in).delete(log_out))
        .route("/api/v1/second-factor", post(enroll_second_factor))
        .route("/api/v1/password-resets", post(request_reset))
        .route("/api/v1/password-resets/{token}", post(complete_reset))
        .route("/api/v1/orders", post(place_order).get(list_orders))
        .route(
            "/api/v1/orders/{number}",
            get(view_order).patch(change_order),
        )
        .route(
            "/api/v1/orders/{number}/documents",
            post(upload).layer(crate::upload::body_limit()),
        )
        .route(
            "/api/v1/orders/{number}/documents/{id}",
            get(download_document),
        )
        .route(
            "/api/v1/orders/{number}/personal-data",
            post(reveal_personal_data),
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
        .route(
            "/api/v1/orders/{number}/pickup-link",
            post(resend_pickup_link),
        )
        .route(
            "/api/v1/orders/{number}/confirmation-link",
            post(resend_confirmation),
        )
        .route("/api/v1/certificates/{serial}", get(certificate))
        .route(
            "/api/v1/certificates/{serial}/{file}",
            get(certificate_file),
        )
        .route("/api/v1/certificates/{serial}/revoke", post(revoke))
        .route("/api/v1/certificates/{serial}/reissue", post(reissue))
        .route("/api/v1/certificates/{serial}/renew", post(renew))
        .route("/api/v1/tls-tests/{target}", get(tls_test))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignUp {
    email: String,
    password: String,
    name: String,
}

#[utoipa::path(post, path = "/api/v1/accounts", tag = "signet", request_body = SignUp, responses((status = 202, description = "Account created; a confirmation link was mailed", body = NextStep), (status = 422, description = "Invalid e-mail, name or password")))]
async fn sign_up(
    State(s): AppState,
    ClientAddr(client): ClientAddr,
    Json(b): Json<SignUp>,
) -> ApiResult<Response> {
    s.sign_up(&b.email, &b.password, &b.name, &client).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(NextStep {
            status: "check your mailbox for the confirmation link",
        }),
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/confirmations/{token}", tag = "signet", responses((status = 200, description = "Account or approval e-mail confirmed", body = ConfirmedBody), (status = 410, description = "Invalid, used or expired link")))]
async fn confirm(State(s): AppState, Path(token): Path<String>) -> ApiResult<Json<ConfirmedBody>> {
    Ok(Json(match s.confirm(&token).await? {
        Confirmed::Account(email) => ConfirmedBody {
            confirmed: "account",
            email: Some(email),
            order_number: None,
        },
        Confirmed::ApprovalEmail { order_number } => ConfirmedBody {
            confirmed: "approval_email",
            email: None,
            order_number: Some(order_number.to_string()),
        },
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Credentials {
    email: String,
    password: String,
    /// The current code of the authenticator app: required of vetting, support and admin staff.
    #[serde(default)]
    totp_code: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnrollmentRequest {
    email: String,
    password: String,
}

#[utoipa::path(post, path = "/api/v1/second-factor", tag = "signet", request_body = EnrollmentRequest, responses((status = 201, description = "TOTP secret (base32) and otpauth URI for an authenticator app; the first log-in with a valid code turns the second factor on", body = TotpSecret), (status = 401, description = "Wrong e-mail or password"), (status = 409, description = "Not a role that uses a second factor, or already set up")))]
async fn enroll_second_factor(
    State(s): AppState,
    ClientAddr(client): ClientAddr,
    Json(b): Json<EnrollmentRequest>,
) -> ApiResult<Response> {
    let e = s
        .start_totp_enrollment(&b.email, &b.password, &client)
        .await?;
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(TotpSecret {
            secret: e.secret_base32,
            otpauth_uri: e.otpauth_uri,
        }),
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/sessions", tag = "signet", request_body = Credentials, responses((status = 201, description = "Session token (also set as an HttpOnly cookie)", body = SessionBody), (status = 401, description = "Wrong e-mail or password"), (status = 403, description = "E-mail not confirmed yet"), (status = 423, description = "Locked after too many failures")))]
async fn log_in(
    State(s): AppState,
    ClientAddr(client): ClientAddr,
    Json(b): Json<Credentials>,
) -> ApiResult<Response> {
    let session = s
        .log_in(&b.email, &b.password, b.totp_code.as_deref(), &client)
        .await?;
    let cookie = session::set_cookie(SESSION_COOKIE, &session.token, s.serves_https());
    Ok((
        StatusCode::CREATED,
        [(header::SET_COOKIE, cookie)],
        Json(SessionBody {
            token: session.token,
            role: session.role.to_string(),
        }),
    )
        .into_response())
}

#[utoipa::path(delete, path = "/api/v1/sessions", tag = "signet", responses((status = 204, description = "Session ended")), security(("bearer" = [])))]
async fn log_out(State(s): AppState, Authed(_, token): Authed) -> ApiResult<StatusCode> {
    s.log_out(&token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResetRequest {
    email: String,
}

#[utoipa::path(post, path = "/api/v1/password-resets", tag = "signet", request_body = ResetRequest, responses((status = 202, description = "A reset link was mailed if the address has an account", body = NextStep)))]
async fn request_reset(
    State(s): AppState,
    ClientAddr(client): ClientAddr,
    Json(b): Json<ResetRequest>,
) -> ApiResult<Response> {
    s.request_password_reset(&b.email, &client).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(NextStep {
            status: "if the address has an account, a reset link was mailed",
        }),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPassword {
    password: String,
}

#[utoipa::path(post, path = "/api/v1/password-resets/{token}", tag = "signet", request_body = NewPassword, responses((status = 204, description = "Password set"), (status = 410, description = "Invalid, used or expired link"), (status = 422, description = "Password too weak")))]
async fn complete_reset(
    State(s): AppState,
    Path(token): Path<String>,
    Json(b): Json<NewPassword>,
) -> ApiResult<StatusCode> {
    s.complete_password_reset(&token, &b.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/orders", tag = "signet", request_body = NewOrder, responses((status = 201, description = "Order placed; details locked", body = OrderView), (status = 403, description = "Channel or role does not allow this order"), (status = 422, description = "Invalid details")), security(("bearer" = [])))]
async fn place_order(
    State(s): AppState,
    Authed(actor, _): Authed,
    Json(b): Json<NewOrder>,
) -> ApiResult<Response> {
    let order = s.place_order(&actor, b).await?;
    let view = s.view_order(&actor, &order.order_number).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

#[utoipa::path(get, path = "/api/v1/orders", tag = "signet", responses((status = 200, description = "Orders placed by the caller (agents: of their region)", body = [OrderSummary])), security(("bearer" = [])))]
async fn list_orders(
    State(s): AppState,
    Authed(actor, _): Authed,
) -> ApiResult<Json<Vec<OrderSummary>>> {
    Ok(Json(s.my_orders(&actor).await?))
}

#[utoipa::path(get, path = "/api/v1/orders/{number}", tag = "signet", responses((status = 200, description = "The order", body = OrderView), (status = 404, description = "No such order visible to the caller")), security(("bearer" = [])))]
async fn view_order(
    State(s): AppState,
    Authed(actor, _): Authed,
    OrderPath(number): OrderPath,
) -> ApiResult<Json<OrderView>> {
    Ok(Json(s.view_order(&actor, &number).await?))
}

/// Support's audited reveal of an order's personal data (masked in `GET` for support).
#[utoipa::path(post, path = "/api/v1/orders/{number}/personal-data", tag = "signet", request_body(content = Option<SignedStatement>, description = "The signed reveal statement (`canonical` of `GET …/statement?decision=reveal`), required once the officer has a key"), responses((status = 200, description = "The order with personal data unmasked; the reveal is in the audit log", body = OrderView), (status = 403, description = "Only support reveals personal data")), security(("bearer" = [])))]
async fn reveal_personal_data(
    State(s): AppState,
    Authed(actor, _): Authed,
    OrderPath(number): OrderPath,
    body: Option<Json<SignedStatement>>,
) -> ApiResult<Json<OrderView>> {
    let signed = body.map(|Json(b)| b);
    Ok(Json(
        s.reveal_personal_data(&actor, &number, signed.as_ref())
            .await?,
    ))
}

/// R-ORD-1: there is no call that changes an order; say so, after checking it is visible.
#[utoipa::path(patch, path = "/api/v1/orders/{number}", tag = "signet", responses((status = 409, description = "Order details are locked: cancel and reorder")), security(("bearer" = [])))]
async fn change_order(
    State(s): AppState,
    Authed(actor, _): Authed,
    OrderPath(number): OrderPath,
) -> ApiResult<Response> {
    s.visible_order(&actor, &number).await?;
    Err(change_refused().into())
}

/// The multipart body of an upload.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct UploadForm {
    /// id_copy, signed_agreement, business_registration or other.
    kind: String,
    /// The document: PDF, PNG or JPEG, at most 10 MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[utoipa::path(post, path = "/api/v1/orders/{number}/documents", tag = "signet", request_body(content = UploadForm, content_type = "multipart/form-data"), responses((status = 201, description = "Document stored (multipart fields `kind` and `file`)", body = DocumentView), (status = 409, description = "The order does not take documents now"), (status = 413, description = "Larger than 10 MiB"), (status = 422, description = "Not a readable PDF, PNG or JPEG")), security(("bearer" = [])))]
async fn upload(
    State(s): AppState,
    Authed(actor, _): Authed,
    OrderPath(number): OrderPath,
    mut form: Multipart,
) -> ApiResult<Response> {
    let bad = |m: String| AppError::Refused(signet_domain::Refusal::InvalidInput(m));
    let (mut kind, mut file) = (None, None);
    let mut read = async || -> Result<(), signet_domain::Refusal> {
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| multipart_refusal("malformed multipart body", &e))?
        {
            match field.name() {
                Some("kind") => {
                    kind = Some(
                        field
                            .text()
                            .await
                            .map_err(|e| multipart_refusal("kind", &e))?,
                    )
                }
                Some("file") => {
                    file = Some(
                        field
                            .bytes()
                            .await
                            .map_err(|e| multipart_refusal("file", &e))?,
                    )
                }
                _ => {}
            }
        }
        Ok(())
    };
    if let Err(refusal) = read().await {
        return Err(s.refuse_upload(&actor, &number, refusal).await.into());
    }
    let kind = kind.ok_or_else(|| bad("the `kind` field is missing".into()))?;
    let file = file.ok_or_else(|| bad("the `file` field is missing".into()))?;
    let doc = s.upload_document(&actor, &number, &kind, &file).await?;
    Ok((StatusCode::CREATED, Json(doc)).into_response())
}

#[utoipa::path(get, path = "/api/v1/orders/{number}/documents/{id}", tag = "signet", responses((status = 200, description = "The document content")), security(("bearer" = [])))]
async fn download_document(
    State(s): AppState,
    Authed(actor, _): Authed,
    OrderPath(number): OrderPath,
    Path((_, id)): Path<(String, i64)>,
) -> ApiResult<Response> {
    let (media_type, content) = s.document(&actor, &number, id).await?;
    Ok(([(header::CONTENT_TYPE, media_type)], content).into_response())
}

#[utoipa::path(get, path = "/api/v1/orders/{number}/agreement.pdf", tag = "signet", responses((status = 200, description = "Request form and subscriber agreement (PDF)", content_type = "application/pdf")), security(("bearer" = [])))]
async fn agreement(
    State(s): AppState,
    Authed(actor, _): Authed,
    OrderPath(number): OrderPath,
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FingerprintCheck {
    fingerprint: String,
}

#[utoipa::path(post, path = "/api/v1/orders/{number}/fingerprint-check", tag = "signet", request_body = FingerprintCheck, responses((status = 200, description = "Whether a returned form matches the order", body = FingerprintMatch), (status = 403, description = "Staff only")), security(("bearer" = [])))]
async fn fingerprint_check(
    State(s): AppState,
    Authed(actor, _): Authed,
    OrderPath(number): OrderPath,
    Json(b): Json<FingerprintCheck>,
) -> ApiResult<Json<FingerprintMatch>> {
    Ok(Json(FingerprintMatch {
        matches: s.check_fingerprint(&actor, &number, &b.fingerprint).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/orders/{number}/attestation", tag = "signet", responses((status = 204, description = "In-person check attested"), (status = 403, description = "Agents of the order's region only")), security(("bearer" = [])))]
async fn attest(
    State(s): AppState,
    Authed(actor, _): Authed,
    OrderPath(number): OrderPath,
) -> ApiResult<StatusCode> {
    s.attest(&actor, &number).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Decision {
    action: String,
    #[serde(default)]
    message: Option<String>,
    /// The signed statement (the `canonical` of `GET /api/v1/orders/{number}/statement`),
    /// required once the officer has a decision-signing key.
    #[serde(default)]
    statement: Option<String>,
    /// The officer's signature over `statement`, base64 (DER or r‖s).
    #[serde(default)]
    signature: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/orders/{number}/decision", tag = "signet", request_body = Decision, responses((status = 200, description = "Decision recorded", body = OrderMoved), (status = 403, description = "Not a vetting officer, or separation of duties"), (status = 409, description = "Not decidable now (state, unconfirmed approval e-mail, no signed form)")), security(("bearer" = [])))]
async fn decision(
    State(s): AppState,
    Authed(actor, _): Authed,
    OrderPath(number): OrderPath,
    Json(b): Json<Decision>,
) -> ApiResult<Json<OrderMoved>> {
    let signed = SignedStatement {
        statement: b.statement,
        signature: b.signature,
    };
    let status = s
        .decide_order(&actor, &number, &b.action, b.message, Some(&signed))
        .await?;
    Ok(OrderMoved::new(&number, status))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Message {
    message: String,
}

#[utoipa::path(post, path = "/api/v1/orders/{number}/messages", tag = "signet", request_body = Message, responses((status = 204, description = "Answer to a request for information")), security(("bearer" = [])))]
async fn message(
    State(s): AppState,
    Authed(actor, _): Authed,
    OrderPath(number): OrderPath,
    Json(b): Json<Message>,
) -> ApiResult<StatusCode> {
    s.supply_info(&actor, &number, &b.message).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/orders/{number}/cancel", tag = "signet", responses((status = 200, description = "Cancelled", body = OrderMoved), (status = 409, description = "Cannot be cancelled now")), security(("bearer" = [])))]
async fn cancel(
    State(s): AppState,
    Authed(actor, _): Authed,
    OrderPath(number): OrderPath,
) -> ApiResult<Json<OrderMoved>> {
    let status = s.cancel_order(&actor, &number).await?;
    Ok(OrderMoved::new(&number, status))
}

#[derive(Deserialize)]
struct QueueFilter {
    status: Option<String>,
    min_age_hours: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/vetting/queue", tag = "signet", params(("status" = Option<String>, Query, description = "Order status (default in_review)"), ("min_age_hours" = Option<i64>, Query, description = "Only orders at least this old")), responses((status = 200, description = "Orders waiting, oldest first", body = [QueueItem]), (status = 403, description = "Vetting staff only")), security(("bearer" = [])))]
async fn queue(
    State(s): AppState,
    Authed(actor, _): Authed,
    Query(f): Query<QueueFilter>,
) -> ApiResult<Json<Vec<QueueItem>>> {
    Ok(Json(
        s.vetting_queue(
            &actor,
            f.status
                .as_deref()
                .map(OrderStatus::from_request)
                .transpose()?,
            f.min_age_hours,
        )
        .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/pickups/{token}", tag = "signet", request_body = PickupRequest, responses((status = 200, description = "Certificate, chain and (unless a CSR was sent) the PKCS#12 with its password, once", body = PickedUp), (status = 403, description = "Wrong pickup password"), (status = 410, description = "Link invalid, used or expired"), (status = 423, description = "Pickup locked: contact support")))]
async fn pickup(
    State(s): AppState,
    Path(token): Path<String>,
    Json(b): Json<PickupRequest>,
) -> ApiResult<Response> {
    let picked = s.pick_up_detached(token, b).await?;
    // The PFX password is in this body only: never cache it.
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(picked)).into_response())
}

#[utoipa::path(post, path = "/api/v1/orders/{number}/reorder", tag = "signet", request_body = Reorder, responses((status = 201, description = "New order; the old one cancelled", body = OrderView)), security(("bearer" = [])))]
async fn reorder(
    State(s): AppState,
    Authed(actor, _): Authed,
    OrderPath(number): OrderPath,
    Json(b): Json<Reorder>,
) -> ApiResult<Response> {
    let order = s.reorder(&actor, &number, b).await?;
    Ok((
        StatusCode::CREATED,
        Json(s.view_order(&actor, &order.order_number).await?),
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/orders/{number}/expedite", tag = "signet", responses((status = 200, description = "Reorder sent to vetting", body = OrderMoved), (status = 403, description = "Support only"), (status = 409, description = "No carried-over evidence")), security(("bearer" = [])))]
async fn expedite(
    State(s): AppState,
    Authed(actor, _): Authed,
    OrderPath(number): OrderPath,
) -> ApiResult<Json<OrderMoved>> {
    let status = s.expedite(&actor, &number).await?;
    Ok(OrderMoved::new(&number, status))
}

#[utoipa::path(post, path = "/api/v1/orders/{number}/pickup-link", tag = "signet", responses((status = 204, description = "A new pickup link was mailed; the earlier one no longer works"), (status = 403, description = "Support only"), (status = 409, description = "The order is not ready for pickup")), security(("bearer" = [])))]
async fn resend_pickup_link(
    State(s): AppState,
    Authed(actor, _): Authed,
    OrderPath(number): OrderPath,
) -> ApiResult<StatusCode> {
    s.resend_pickup_link(&actor, &number).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/orders/{number}/confirmation-link", tag = "signet", responses((status = 204, description = "A new confirmation link was mailed to the approval address"), (status = 403, description = "Support only"), (status = 409, description = "Already confirmed, or the order is closed")), security(("bearer" = [])))]
async fn resend_confirmation(
    State(s): AppState,
    Authed(actor, _): Authed,
    OrderPath(number): OrderPath,
) -> ApiResult<StatusCode> {
    s.resend_confirmation(&actor, &number).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/certificates/{serial}", tag = "signet", responses((status = 200, description = "Certificate, status and public key", body = CertificateView), (status = 404, description = "Not visible to the caller")), security(("bearer" = [])))]
async fn certificate(
    State(s): AppState,
    Authed(actor, _): Authed,
    SerialPath(serial): SerialPath,
) -> ApiResult<Json<CertificateView>> {
    Ok(Json(s.certificate_view(&actor, &serial).await?))
}

/// `certificate.pem`, `certificate.der` or `public-key.pem`.
#[utoipa::path(get, path = "/api/v1/certificates/{serial}/{file}", tag = "signet", responses((status = 200, description = "certificate.pem, certificate.der or public-key.pem")), security(("bearer" = [])))]
async fn certificate_file(
    State(s): AppState,
    Authed(actor, _): Authed,
    SerialPath(serial): SerialPath,
    Path((_, file)): Path<(String, String)>,
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Revoke {
    reason: String,
}

#[utoipa::path(post, path = "/api/v1/certificates/{serial}/revoke", tag = "signet", request_body = Revoke, responses((status = 200, description = "Revoked", body = RevokedBody), (status = 409, description = "Already revoked"), (status = 422, description = "Unknown reason")), security(("bearer" = [])))]
async fn revoke(
    State(s): AppState,
    Authed(actor, _): Authed,
    SerialPath(serial): SerialPath,
    Json(b): Json<Revoke>,
) -> ApiResult<Json<RevokedBody>> {
    let reason = RevocationReason::parse(&b.reason)?;
    s.revoke(&actor, &serial, reason).await?;
    Ok(Json(RevokedBody {
        serial: serial.to_hex(),
        status: CertificateStatus::Revoked.as_str(),
        reason: reason.as_str(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Reissue {
    pickup_password: String,
    #[serde(default)]
    revoke_previous: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/certificates/{serial}/reissue", tag = "signet", request_body = Reissue, responses((status = 201, description = "Reissue order, ready for pickup (link mailed)", body = OrderMoved), (status = 403, description = "Agent-channel certificates are reissued by support")), security(("bearer" = [])))]
async fn reissue(
    State(s): AppState,
    Authed(actor, _): Authed,
    SerialPath(serial): SerialPath,
    Json(b): Json<Reissue>,
) -> ApiResult<Response> {
    let order = s
        .reissue(
            &actor,
            &serial,
            &b.pickup_password,
            b.revoke_previous
                .as_deref()
                .map(RevocationReason::parse)
                .transpose()?,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        OrderMoved::new(&order.order_number, order.status),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Renew {
    pickup_password: String,
    #[serde(default)]
    validity_months: Option<u32>,
}

#[utoipa::path(post, path = "/api/v1/certificates/{serial}/renew", tag = "signet", request_body = Renew, responses((status = 201, description = "Renewal order", body = OrderMoved), (status = 403, description = "No renewal on the agent channel")), security(("bearer" = [])))]
async fn renew(
    State(s): AppState,
    Authed(actor, _): Authed,
    SerialPath(serial): SerialPath,
    Json(b): Json<Renew>,
) -> ApiResult<Response> {
    let order = s
        .renew(&actor, &serial, &b.pickup_password, b.validity_months)
        .await?;
    Ok((
        StatusCode::CREATED,
        OrderMoved::new(&order.order_number, order.status),
    )
        .into_response())
}

/// Options of a TLS configuration test.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsTestQuery {
    /// The name to send as SNI and match the certificate against (default: the host).
    sni: Option<String>,
    /// Upgrade first: `smtp`, `imap`, `pop3` or `ldap`.
    starttls: Option<String>,
}

/// Tests the TLS configuration of `target` (`host` or `host:port`) and grades it. Only public
/// addresses unless the operator allows more; one test per account at a time, 20 an hour.
#[utoipa::path(get, path = "/api/v1/tls-tests/{target}", tag = "signet", params(TlsTestQuery), responses((status = 200, description = "The report: grade, score, caps, protocols and suites, chain, revocation, client_auth, mozilla, findings", body = Object), (status = 403, description = "The address may not be tested from this server"), (status = 409, description = "A test of the caller's is still running"), (status = 422, description = "The target cannot be tested: not HOST[:PORT], unreachable, no TLS"), (status = 429, description = "Too many tests in the last hour")), security(("bearer" = [])))]
async fn tls_test(
    State(s): AppState,
    Authed(actor, _): Authed,
    Path(target): Path<String>,
    Query(q): Query<TlsTestQuery>,
) -> ApiResult<Json<signet_tls::Report>> {
    let request = signet_app::tls_tests::TlsTestRequest {
        target,
        sni: q.sni,
        starttls: q.starttls,
    };
    Ok(Json(s.tls_test(&actor, &request).await?))
}

/// The OpenAPI document of this API, served at `/api/v1/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Signet REST API", description = "Orders, vetting, pickup and certificate lifecycle of a class 3 personal CA (design §7). Errors are RFC 9457 problem documents."),
    paths(
        sign_up, confirm, log_in, log_out, enroll_second_factor, request_reset, complete_reset, place_order, list_orders, view_order, reveal_personal_data, change_order,
        upload, download_document, agreement, fingerprint_check, attest, decision, message, cancel, queue, pickup, reorder,
        expedite, resend_pickup_link, resend_confirmation, certificate, certificate_file, revoke, reissue, renew, tls_test,
        crate::decisions_api::statement, crate::decisions_api::decisions, crate::decisions_api::enrol,
        crate::decisions_api::keys, crate::decisions_api::settle
    ),
    components(schemas(
        signet_domain::identity::IdentityInput, signet_domain::key::SubscriberKeyType,
        signet_app::evidence::DocumentView, signet_app::orders::HistoryView,
        signet_app::actions::ActionView, ProblemDocument
    )),
    modifiers(&BearerAuth, &Conventions)
)]
#[derive(Debug)]
pub struct ApiDoc;

/// Declares the bearer-token security scheme the paths refer to.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// An RFC 9457 problem document: the body of every error.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct ProblemDocument {
    #[schema(rename = "type", example = "about:blank")]
    kind: String,
    title: String,
    status: u16,
    /// What went wrong and what to do.
    detail: String,
}

/// What holds for every operation, written once: each `{parameter}` of a path is declared,
/// and any error answers with a problem document.
struct Conventions;

impl utoipa::Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::ToSchema;
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::{
            ContentBuilder, ObjectBuilder, Ref, Required, ResponseBuilder, Type,
        };
        let problem = ResponseBuilder::new()
            .description("An error, as an RFC 9457 problem document")
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name(ProblemDocument::name())))
                    .build(),
            )
            .build();
        for (path, item) in openapi.paths.paths.iter_mut() {
            let names: Vec<&str> = path
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
                .collect();
            if !names.is_empty() {
                item.parameters = Some(
                    names
                        .into_iter()
                        .map(|name| {
                            ParameterBuilder::new()
                                .name(name)
                                .parameter_in(ParameterIn::Path)
                                .required(Required::True)
                                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                                .build()
                                .into()
                        })
                        .collect(),
                );
            }
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                op.responses
                    .responses
                    .entry("default".into())
                    .or_insert_with(|| problem.clone().into());
            }
        }
    }
}

async fn openapi_json() -> Response {
    use utoipa::OpenApi;
    match ApiDoc::openapi().to_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(e) => Problem(AppError::Internal(format!("OpenAPI document: {e}"))).into_response(),
    }
}
