//! The "TLS test" tool for logged-in users: a server's TLS configuration graded, as a page a
//! non-expert reads — the grade first, a sentence on what it means, the findings grouped by how
//! much they matter, the chain drawn from the server's certificate up to the root.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use signet_app::issue::Signet;
use signet_app::tls_tests::TlsTestRequest;

use super::context::PageContext;
use super::pages::{FindingGroup, TlsTestPage};
use crate::problem::{message_of, status_of};

/// The form's fields, in the query string so a report can be linked and run again.
#[derive(Debug, Default, Deserialize)]
pub struct TlsTestForm {
    #[serde(default)]
    target: String,
    #[serde(default)]
    sni: String,
    #[serde(default)]
    starttls: String,
}

/// What a grade means, in one sentence.
fn summary(grade: &str) -> &'static str {
    match grade {
        "A+" => "Excellent: a modern configuration with nothing to fix.",
        "A" | "A-" => {
            "Good: a sound configuration; the findings below say what would make it excellent."
        }
        "B" => {
            "Adequate but dated: old protocols, weak suites or a weak key lower it. Fix the high and medium findings."
        }
        "C" | "D" | "E" => {
            "Weak: clients are exposed to known attacks. Fix the findings below soon."
        }
        "F" => {
            "Insecure: the server accepts protocols or suites that are broken. Fix the critical findings now."
        }
        "T" => {
            "Not trusted: clients cannot trust this certificate (self-signed, unknown CA, expired or revoked), whatever the rest."
        }
        "M" => "Wrong name: the certificate is for another name than the one tested.",
        _ => "",
    }
}

/// The form, and the report when a target was given.
pub async fn page(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Query(form): Query<TlsTestForm>,
) -> Response {
    let Some(actor) = ctx.actor().cloned() else {
        return Redirect::to("/login").into_response();
    };
    let blank = |status: StatusCode, error: Option<String>, form: &TlsTestForm| {
        ctx.render(status, |nav| TlsTestPage {
            nav,
            target: form.target.clone(),
            sni: form.sni.clone(),
            starttls: form.starttls.clone(),
            error,
            report: None,
            summary: "",
            groups: Vec::new(),
        })
    };
    if form.target.trim().is_empty() {
        return blank(StatusCode::OK, None, &form);
    }
    let request = TlsTestRequest {
        target: form.target.clone(),
        sni: Some(form.sni.clone()).filter(|s| !s.trim().is_empty()),
        starttls: Some(form.starttls.clone()).filter(|s| !s.trim().is_empty()),
    };
    match s.tls_test(&actor, &request).await {
        Ok(report) => {
            let groups = ["critical", "high", "medium", "low", "info"]
                .into_iter()
                .map(|severity| FindingGroup {
                    severity,
                    findings: report
                        .findings
                        .iter()
                        .filter(|f| f.severity == severity)
                        .cloned()
                        .collect(),
                })
                .filter(|g| !g.findings.is_empty())
                .collect();
            ctx.render(StatusCode::OK, |nav| TlsTestPage {
                nav,
                target: form.target.clone(),
                sni: form.sni.clone(),
                starttls: form.starttls.clone(),
                error: None,
                summary: summary(&report.grade),
                groups,
                report: Some(report),
            })
        }
        Err(e) => blank(status_of(&e), Some(message_of(&e)), &form),
    }
}
