//! Officers' signed decisions over the REST API (issue 15): the statement to sign, the signed
//! decisions of an order, and officers' decision-signing keys. Handlers only translate.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use signet_app::AppError;
use signet_app::issue::Signet;
use signet_app::signed_decisions::{DecisionView, SigningKeyView};
use signet_domain::statement::DecisionStatement;

use crate::ids::OrderPath;
use crate::problem::Problem;
use crate::session::Authed;

type ApiResult<T> = Result<T, Problem>;

pub fn routes() -> Router<Arc<Signet>> {
    Router::new()
        .route("/api/v1/orders/{number}/statement", get(statement))
        .route("/api/v1/orders/{number}/decisions", get(decisions))
        .route("/api/v1/staff/signing-key", post(enrol))
        .route("/api/v1/staff/signing-keys", get(keys))
        .route("/api/v1/staff/signing-keys/{id}/{verdict}", post(settle))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatementQuery {
    /// `approve`, `reject`, `request_info` or `reveal`.
    decision: String,
    /// The message the decision will carry (a rejection's reason, a question).
    #[serde(default)]
    message: String,
}

/// The statement to sign, and its canonical octets.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct StatementToSign {
    statement: DecisionStatement,
    /// The octets to sign (RFC 8785 canonical JSON), exactly; send them back as `statement`.
    canonical: String,
}

/// The statement an officer signs for a decision on this order now (its `at` is the server's
/// time; a signature must reach the server within 300 s of it).
#[utoipa::path(get, path = "/api/v1/orders/{number}/statement", tag = "signet", params(StatementQuery), responses((status = 200, description = "The statement to sign", body = StatementToSign), (status = 403, description = "Only vetting, support and admin staff sign decisions")), security(("bearer" = [])))]
pub(crate) async fn statement(
    State(s): State<Arc<Signet>>,
    Authed(actor, _): Authed,
    OrderPath(number): OrderPath,
    Query(q): Query<StatementQuery>,
) -> ApiResult<Json<StatementToSign>> {
    let statement = s
        .decision_statement(&actor, &number, &q.decision, &q.message)
        .await?;
    let canonical =
        String::from_utf8(statement.canonical()).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(Json(StatementToSign {
        statement,
        canonical,
    }))
}

/// The order's signed decisions as CMS SignedData, oldest first.
#[utoipa::path(get, path = "/api/v1/orders/{number}/decisions", tag = "signet", responses((status = 200, description = "The signed decisions", body = Vec<DecisionView>), (status = 403, description = "For CA staff and auditors")), security(("bearer" = [])))]
pub(crate) async fn decisions(
    State(s): State<Arc<Signet>>,
    Authed(actor, _): Authed,
    OrderPath(number): OrderPath,
) -> ApiResult<Json<Vec<DecisionView>>> {
    Ok(Json(s.order_decisions(&actor, &number).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Enrolment {
    /// A PKCS#10 request (PEM) for an ECDSA P-256 or P-384 key; only its key is used.
    csr: String,
}

/// Enrols the caller's decision-signing key: a first key, or the current one again, is
/// certified at once (201); another waits for an administrator (202).
#[utoipa::path(post, path = "/api/v1/staff/signing-key", tag = "signet", request_body = Enrolment, responses((status = 201, description = "Certified: the staff certificate and chain", body = SigningKeyView), (status = 202, description = "Waiting for an administrator", body = SigningKeyView), (status = 422, description = "Not a P-256 or P-384 CSR")), security(("bearer" = [])))]
pub(crate) async fn enrol(
    State(s): State<Arc<Signet>>,
    Authed(actor, _): Authed,
    Json(b): Json<Enrolment>,
) -> ApiResult<(StatusCode, Json<SigningKeyView>)> {
    let (view, certified) = s.enrol_signing_key(&actor, b.csr.as_bytes()).await?;
    let status = if certified {
        StatusCode::CREATED
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(view)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeysQuery {
    /// Only keys waiting for an administrator.
    #[serde(default)]
    pending: bool,
}

/// Decision-signing keys: an administrator sees everyone's, other staff their own.
#[utoipa::path(get, path = "/api/v1/staff/signing-keys", tag = "signet", params(KeysQuery), responses((status = 200, description = "Keys, newest first", body = Vec<SigningKeyView>)), security(("bearer" = [])))]
pub(crate) async fn keys(
    State(s): State<Arc<Signet>>,
    Authed(actor, _): Authed,
    Query(q): Query<KeysQuery>,
) -> ApiResult<Json<Vec<SigningKeyView>>> {
    Ok(Json(s.signing_keys(&actor, q.pending).await?))
}

/// An administrator approves (`approve`: the staff CA certifies it) or refuses (`refuse`) a
/// waiting key of another officer.
#[utoipa::path(post, path = "/api/v1/staff/signing-keys/{id}/{verdict}", tag = "signet", responses((status = 200, description = "Settled", body = SigningKeyView), (status = 403, description = "Not an administrator, or one's own key"), (status = 409, description = "Not waiting")), security(("bearer" = [])))]
pub(crate) async fn settle(
    State(s): State<Arc<Signet>>,
    Authed(actor, _): Authed,
    Path((id, verdict)): Path<(i64, String)>,
) -> ApiResult<Json<SigningKeyView>> {
    Ok(Json(s.settle_signing_key(&actor, id, &verdict).await?))
}
