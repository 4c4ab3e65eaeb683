//! The administrator's discovery page: jobs (add, run, remove), runs with their progress, the
//! inventory filtered by alert or text, a chart of expiries by week, and the CSV export.

use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use signet_app::dates::minute;
use signet_app::discovery::{InventoryItem, NewJob, Starter, inventory_csv};
use signet_app::issue::Signet;
use signet_domain::discovery::{Alert, every_text};

use super::charts::bars;
use super::pages::{DiscoveryJobRow, DiscoveryPage, DiscoveryRunRow};
use super::{PageContext, refusal};
use crate::problem::{message_of, status_of};

/// The inventory filter of the page and of the CSV export.
#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    #[serde(default)]
    alert: String,
    #[serde(default)]
    q: String,
}

impl Filter {
    fn keeps(&self, item: &InventoryItem) -> bool {
        let alert = self.alert.trim();
        let text = self.q.trim().to_lowercase();
        (alert.is_empty() || item.alerts.contains(&alert))
            && (text.is_empty()
                || item.subject.to_lowercase().contains(&text)
                || item.issuer.to_lowercase().contains(&text)
                || item.fingerprint_sha256.starts_with(&text)
                || item.names.iter().any(|n| n.to_lowercase().contains(&text))
                || item
                    .places
                    .iter()
                    .any(|p| p.host.to_lowercase().contains(&text) || p.address.contains(&text)))
    }
}

/// Certificates expiring per week, the next twelve weeks, with those already expired first.
fn expiry_weeks(items: &[InventoryItem]) -> Vec<(String, u64)> {
    let mut weeks = vec![0u64; 13];
    for item in items {
        let slot = if item.days_left < 0 {
            0
        } else {
            1 + (item.days_left / 7) as usize
        };
        if let Some(n) = weeks.get_mut(slot) {
            *n += 1;
        }
    }
    weeks
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let label = match i {
                0 => "expired".to_owned(),
                1 => "this week".to_owned(),
                i => format!("week {}", i - 1),
            };
            (label, n)
        })
        .collect()
}

pub async fn page(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Query(filter): Query<Filter>,
) -> Response {
    render(&s, &ctx, &filter, StatusCode::OK, None, None, false).await
}

async fn render(
    s: &Signet,
    ctx: &PageContext,
    filter: &Filter,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    started: bool,
) -> Response {
    let Some(actor) = ctx.actor() else {
        return Redirect::to("/login").into_response();
    };
    let loaded = async {
        Signet::may_manage_discovery(actor)?;
        Ok::<_, signet_app::AppError>((
            s.discovery_jobs().await?,
            s.discovery_runs(20).await?,
            s.discovery_inventory().await?,
            s.discovery_changes(20).await?,
        ))
    };
    let (jobs, runs, items, changes) = match loaded.await {
        Ok(loaded) => loaded,
        Err(e) => return refusal(ctx, &e),
    };
    let now = s.now();
    let leased: std::collections::HashSet<String> = jobs
        .iter()
        .filter(|j| j.lease_until.is_some_and(|t| t > now))
        .map(|j| j.spec.name.clone())
        .collect();
    let running = started
        || runs
            .iter()
            .any(|r| r.finished_at.is_none() && leased.contains(&r.job_name));
    let alert_counts = Alert::ALL
        .iter()
        .map(|a| {
            (
                a.as_str(),
                items
                    .iter()
                    .filter(|i| i.alerts.contains(&a.as_str()))
                    .count(),
            )
        })
        .collect();
    let expiry_chart = bars(
        "expiries",
        "Discovered certificates expiring per week (next 12 weeks)",
        &expiry_weeks(&items),
    );
    let total = items.len();
    let filter_query = serde_urlencoded_pairs(&[("alert", &filter.alert), ("q", &filter.q)]);
    let items = items.into_iter().filter(|i| filter.keeps(i)).collect();
    ctx.render(status, |nav| DiscoveryPage {
        nav,
        notice,
        error,
        jobs: jobs
            .into_iter()
            .map(|j| DiscoveryJobRow {
                targets: j
                    .spec
                    .targets
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                ports: j
                    .spec
                    .ports
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                schedule: j
                    .spec
                    .every
                    .map(|e| format!("every {}", every_text(e)))
                    .unwrap_or_else(|| "on demand".into()),
                contacts: j.spec.contacts.join(", "),
                next_run: j.next_run_at.map(minute).unwrap_or_else(|| "—".into()),
                running_on: j.lease_until.filter(|t| *t > now).and(j.lease_node.clone()),
                name: j.spec.name,
            })
            .collect(),
        runs: runs
            .into_iter()
            .map(|r| DiscoveryRunRow {
                outcome: match &r.outcome {
                    Some(o) => o.clone(),
                    None if leased.contains(&r.job_name) => "running".into(),
                    None => "interrupted (its node stopped)".into(),
                },
                job: r.job_name,
                started_by: r.started_by,
                started_at: minute(r.started_at),
                done: r.done,
                endpoints: r.endpoints,
                answered: r.answered,
                certificates: r.certificates,
                refused: r.refused,
            })
            .collect(),
        running,
        alert_counts,
        expiry_chart,
        filter_alert: filter.alert.clone(),
        filter_text: filter.q.clone(),
        filter_query,
        items,
        total,
        changes,
    })
}

/// `alert=…&q=…` for a link, percent-encoded.
fn serde_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| {
            let encoded: String = v
                .trim()
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={encoded}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The inventory as CSV, filtered like the page.
pub async fn csv(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Query(filter): Query<Filter>,
) -> Response {
    let Some(actor) = ctx.actor() else {
        return Redirect::to("/login").into_response();
    };
    let items = async {
        Signet::may_manage_discovery(actor)?;
        s.discovery_inventory().await
    };
    match items.await {
        Ok(items) => {
            let kept: Vec<InventoryItem> = items.into_iter().filter(|i| filter.keeps(i)).collect();
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"certificate-inventory.csv\"",
                    ),
                ],
                inventory_csv(&kept),
            )
                .into_response()
        }
        Err(e) => refusal(&ctx, &e),
    }
}

#[derive(Deserialize)]
pub struct JobForm {
    csrf: String,
    name: String,
    targets: String,
    #[serde(default)]
    ports: String,
    #[serde(default)]
    starttls: String,
    #[serde(default)]
    every: String,
    #[serde(default)]
    contacts: String,
    #[serde(default)]
    concurrency: String,
    #[serde(default)]
    rate: String,
}

/// After a form: the page again, with what happened (`started`: a run began, so the page
/// follows its progress).
async fn after(
    s: &Signet,
    ctx: &PageContext,
    done: Result<String, signet_app::AppError>,
    started: bool,
) -> Response {
    let (status, notice, error) = match done {
        Ok(notice) => (StatusCode::OK, Some(notice), None),
        Err(e) => (status_of(&e), None, Some(message_of(&e))),
    };
    render(s, ctx, &Filter::default(), status, notice, error, started).await
}

pub async fn add_job(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Form(f): Form<JobForm>,
) -> Response {
    let actor = form_actor!(ctx, &f.csrf);
    let job = NewJob {
        name: f.name,
        targets: f.targets,
        ports: if f.ports.trim().is_empty() {
            "443".into()
        } else {
            f.ports
        },
        starttls: f.starttls,
        every: f.every,
        contacts: f.contacts,
        concurrency: f.concurrency.trim().parse().ok(),
        rate: f.rate.trim().parse().ok(),
    };
    let done = s
        .add_discovery_job(Starter::Staff(&actor), &job)
        .await
        .map(|j| format!("Discovery job {} is added.", j.spec.name));
    after(&s, &ctx, done, false).await
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// Starts a run in the background; the page then shows its progress.
pub async fn run_job(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Path(name): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let actor = form_actor!(ctx, &f.csrf);
    if let Err(e) = Signet::may_manage_discovery(&actor) {
        let e = s
            .audit_refusal(
                &actor.email,
                "discovery.run",
                &format!("discovery-job:{name}"),
                Err::<(), _>(e),
            )
            .await
            .unwrap_err();
        return refusal(&ctx, &e);
    }
    let now = s.now();
    match s.discovery_jobs().await {
        Ok(jobs) => match jobs.iter().find(|j| j.spec.name == name) {
            None => {
                let e = signet_app::AppError::NotFound(format!("no discovery job named {name:?}"));
                return after(&s, &ctx, Err(e), false).await;
            }
            Some(j) if j.lease_until.is_some_and(|t| t > now) => {
                let e = signet_app::AppError::Conflict(format!(
                    "discovery job {name} is running already: wait for it to end"
                ));
                return after(&s, &ctx, Err(e), false).await;
            }
            Some(_) => {}
        },
        Err(e) => return refusal(&ctx, &e),
    }
    let runner = s.clone();
    let job = name.clone();
    tokio::spawn(async move {
        if let Err(e) = runner
            .run_discovery(Starter::Staff(&actor), &job, &|_| {})
            .await
        {
            tracing::warn!(job = %job, error = %e, "discovery run from the portal failed");
        }
    });
    let notice = format!("Discovery job {name} is running; this page shows its progress.");
    after(&s, &ctx, Ok(notice), true).await
}

pub async fn remove_job(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Path(name): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let actor = form_actor!(ctx, &f.csrf);
    let done = s
        .remove_discovery_job(Starter::Staff(&actor), &name)
        .await
        .map(|()| {
            format!("Discovery job {name} is removed; what it found stays in the inventory.")
        });
    after(&s, &ctx, done, false).await
}
