//! Service status and alerts (banner, page, Atom feed), the relying services list, and the
//! administrator's page: dashboard charts, alerts, relying services, staff invitations.

use std::sync::Arc;

use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use signet_app::dates::{day as date, minute};
use signet_app::issue::Signet;
use signet_app::notices::{Alert, NewRelyingService, SecondFactorState};
use time::OffsetDateTime;

use super::charts::bars;
use super::pages::{AdminPage, AlertRow, MailRow, ServiceRow, ServicesPage, StaffRow, StatusPage};
use super::{PageContext, refusal};
use crate::problem::{message_of, status_of};

fn alert_row(a: &Alert) -> AlertRow {
    AlertRow {
        kind: a.kind.clone(),
        title: a.title.clone(),
        body: a.body.clone(),
        when: match a.ends_at {
            Some(end) => format!("{} to {}", minute(a.starts_at), minute(end)),
            None => format!("since {}", minute(a.starts_at)),
        },
        active: a.active,
    }
}

pub async fn status(State(s): State<Arc<Signet>>, ctx: PageContext) -> Response {
    match s.recent_alerts().await {
        Ok(alerts) => {
            let rows: Vec<AlertRow> = alerts.iter().map(alert_row).collect();
            let active = alerts.iter().filter(|a| a.active).map(alert_row).collect();
            ctx.render(StatusCode::OK, |nav| StatusPage {
                nav,
                active,
                alerts: rows,
            })
        }
        Err(e) => refusal(&ctx, &e),
    }
}

fn rfc3339(t: OffsetDateTime) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::from_timestamp(t.unix_timestamp(), 0)
        .unwrap_or_default()
        .fixed_offset()
}

/// The alerts as an Atom feed (RFC 4287), for feed readers and monitoring.
pub async fn feed(State(s): State<Arc<Signet>>) -> Response {
    let alerts = match s.recent_alerts().await {
        Ok(a) => a,
        Err(e) => return (status_of(&e), "alerts unavailable\n").into_response(),
    };
    let base = s.base_url().to_owned();
    let entries: Vec<atom_syndication::Entry> = alerts
        .iter()
        .map(|a| {
            let mut entry = atom_syndication::Entry::default();
            entry.set_id(format!("{base}/status#alert-{}", a.id));
            entry.set_title(format!("{}: {}", a.kind, a.title));
            entry.set_updated(rfc3339(a.ends_at.unwrap_or(a.starts_at).max(a.created_at)));
            entry.set_published(Some(rfc3339(a.starts_at)));
            entry.set_summary(Some(atom_syndication::Text::plain(a.body.clone())));
            entry.set_links(vec![atom_syndication::Link {
                href: format!("{base}/status"),
                ..Default::default()
            }]);
            entry
        })
        .collect();
    let mut feed = atom_syndication::Feed::default();
    feed.set_id(format!("{base}/alerts.atom"));
    feed.set_title("Signet service alerts");
    feed.set_updated(rfc3339(
        alerts.iter().map(|a| a.created_at).max().unwrap_or(s.now()),
    ));
    feed.set_links(vec![atom_syndication::Link {
        href: format!("{base}/alerts.atom"),
        rel: "self".into(),
        ..Default::default()
    }]);
    feed.set_entries(entries);
    (
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        feed.to_string(),
    )
        .into_response()
}

pub async fn services(State(s): State<Arc<Signet>>, ctx: PageContext) -> Response {
    match s.relying_services().await {
        Ok(list) => ctx.render(StatusCode::OK, |nav| ServicesPage {
            nav,
            services: list
                .into_iter()
                .map(|r| ServiceRow {
                    name: r.name,
                    url: r.url,
                    from: date(r.accepts_from),
                    until: r.accepts_until.map(date).unwrap_or_else(|| "—".into()),
                    today: r.today.as_str().into(),
                    note: r.note,
                })
                .collect(),
        }),
        Err(e) => refusal(&ctx, &e),
    }
}

async fn admin_page(
    s: &Signet,
    ctx: &PageContext,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let Some(actor) = ctx.actor() else {
        return Redirect::to("/login").into_response();
    };
    let loaded = async {
        Ok::<_, signet_app::AppError>((
            s.dashboard(actor).await?,
            s.active_alerts().await?,
            s.staff(actor).await?,
            s.operations(actor).await?,
            s.discovery_inventory().await?,
            s.signing_keys(actor, true).await?,
        ))
    };
    match loaded.await {
        Ok((d, alerts, staff, ops, inventory, waiting_keys)) => {
            let discovery_alerts = signet_domain::discovery::Alert::ALL
                .iter()
                .map(|a| {
                    let n = inventory
                        .iter()
                        .filter(|i| i.alerts.contains(&a.as_str()))
                        .count();
                    (a.as_str(), n)
                })
                .filter(|(_, n)| *n > 0)
                .collect();
            let week = |(date, n): &(time::Date, u64)| {
                (format!("{}-{:02}", date.month() as u8, date.day()), *n)
            };
            ctx.render(status, |nav| AdminPage {
                nav,
                orders_chart: bars(
                    "orders",
                    "Orders by state",
                    &d.orders_by_status
                        .iter()
                        .map(|(k, n)| (k.replace('_', " "), *n))
                        .collect::<Vec<_>>(),
                ),
                issued_chart: bars(
                    "issued",
                    "Certificates issued per week (last 12 weeks)",
                    &d.issued_per_week.iter().map(week).collect::<Vec<_>>(),
                ),
                expiring_chart: bars(
                    "expiring",
                    "Certificates expiring per week (next 90 days)",
                    &d.expiring_per_week.iter().map(week).collect::<Vec<_>>(),
                ),
                alerts: alerts.into_iter().map(|a| (a.id, a.title)).collect(),
                waiting_keys: waiting_keys
                    .into_iter()
                    .map(|k| {
                        (
                            k.id,
                            k.officer,
                            k.requested_at,
                            k.key_sha256[..16].to_owned(),
                        )
                    })
                    .collect(),
                staff: staff
                    .into_iter()
                    .map(|a| StaffRow {
                        id: a.id,
                        second_factor: match a.second_factor {
                            SecondFactorState::NotNeeded => "not needed".into(),
                            SecondFactorState::SetUp => "set up".into(),
                            SecondFactorState::AtNextLogIn => "at next log-in".into(),
                        },
                        can_reset: a.can_reset,
                        email: a.email,
                        name: a.name,
                        role: a.role.as_str().into(),
                        region: a.region.unwrap_or_default(),
                    })
                    .collect(),
                mail_states: ops.mail_states,
                mail: ops
                    .recent_mail
                    .into_iter()
                    .map(|m| MailRow {
                        id: m.id,
                        retryable: m.retryable,
                        to: m.to,
                        subject: m.subject,
                        state: m.state,
                        attempts: m.attempts,
                        last_error: m.last_error.unwrap_or_default(),
                    })
                    .collect(),
                reconciled: ops
                    .reconciled
                    .into_iter()
                    .map(|e| {
                        (
                            signet_app::dates::rfc3339(e.at),
                            e.what.replace('_', " "),
                            e.subject,
                        )
                    })
                    .collect(),
                discovery_alerts,
                notice,
                error,
            })
        }
        Err(e) => refusal(ctx, &e),
    }
}

pub async fn admin(State(s): State<Arc<Signet>>, ctx: PageContext) -> Response {
    admin_page(&s, &ctx, StatusCode::OK, None, None).await
}

/// After an admin form: the page again, with what happened.
async fn after(
    s: &Signet,
    ctx: &PageContext,
    done: Result<String, signet_app::AppError>,
) -> Response {
    match done {
        Ok(notice) => admin_page(s, ctx, StatusCode::OK, Some(notice), None).await,
        Err(e) => admin_page(s, ctx, status_of(&e), None, Some(message_of(&e))).await,
    }
}

#[derive(Deserialize)]
pub struct AlertForm {
    csrf: String,
    kind: String,
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    hours: String,
}

pub async fn post_alert(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Form(f): Form<AlertForm>,
) -> Response {
    let actor = form_actor!(ctx, &f.csrf);
    let ends = f
        .hours
        .trim()
        .parse::<i64>()
        .ok()
        .map(|h| s.now() + time::Duration::hours(h));
    let done = s
        .post_alert(&actor, &f.kind, &f.title, &f.body, None, ends)
        .await
        .map(|_| "The alert is posted and shows on every page.".to_owned());
    after(&s, &ctx, done).await
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

pub async fn end_alert(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let actor = form_actor!(ctx, &f.csrf);
    let done = s
        .end_alert(&actor, id)
        .await
        .map(|()| "The alert has ended.".to_owned());
    after(&s, &ctx, done).await
}

#[derive(Deserialize)]
pub struct ServiceForm {
    csrf: String,
    name: String,
    url: String,
    accepts_from: String,
    #[serde(default)]
    accepts_until: String,
    #[serde(default)]
    note: String,
}

fn day(text: &str) -> Result<Option<OffsetDateTime>, signet_app::AppError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text.trim(), &format)
        .map(|d| Some(d.midnight().assume_utc()))
        .map_err(|_| {
            signet_app::AppError::Refused(signet_domain::Refusal::InvalidInput(format!(
                "`{text}` is not a date (YYYY-MM-DD)"
            )))
        })
}

pub async fn add_service(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Form(f): Form<ServiceForm>,
) -> Response {
    let actor = form_actor!(ctx, &f.csrf);
    let done = async {
        let from = day(&f.accepts_from)?.ok_or_else(|| {
            signet_app::AppError::Refused(signet_domain::Refusal::InvalidInput(
                "give the date from which the service accepts the certificate".into(),
            ))
        })?;
        s.add_relying_service(
            &actor,
            NewRelyingService {
                name: f.name.trim().into(),
                url: f.url.trim().into(),
                accepts_from: from,
                accepts_until: day(&f.accepts_until)?,
                note: f.note.trim().into(),
            },
        )
        .await?;
        Ok(format!("{} is listed.", f.name.trim()))
    }
    .await;
    after(&s, &ctx, done).await
}

#[derive(Deserialize)]
pub struct StaffForm {
    csrf: String,
    email: String,
    name: String,
    role: String,
    #[serde(default)]
    region: String,
}

pub async fn invite(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Form(f): Form<StaffForm>,
) -> Response {
    let actor = form_actor!(ctx, &f.csrf);
    let region = Some(f.region.trim().to_ascii_uppercase()).filter(|r| !r.is_empty());
    let done = s
        .invite_staff_as(
            &actor,
            &f.role,
            f.email.trim(),
            f.name.trim(),
            region.as_deref(),
        )
        .await
        .map(|()| format!("The invitation to {} is on its way.", f.email.trim()));
    after(&s, &ctx, done).await
}

pub async fn reset_second_factor(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let actor = form_actor!(ctx, &f.csrf);
    let done = s
        .reset_second_factor(&actor, id)
        .await
        .map(|email| format!("{email} sets up a new second factor at the next log-in."));
    after(&s, &ctx, done).await
}

#[derive(Deserialize)]
pub struct RetryForm {
    csrf: String,
    #[serde(default)]
    id: Option<i64>,
}

pub async fn retry_mail(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    Form(f): Form<RetryForm>,
) -> Response {
    let actor = form_actor!(ctx, &f.csrf);
    let done = s
        .retry_mail(&actor, f.id)
        .await
        .map(|n| format!("{n} message(s) will be tried again now."));
    after(&s, &ctx, done).await
}

#[derive(Deserialize)]
pub struct SigningKeyForm {
    csrf: String,
}

/// An administrator approves or refuses an officer's waiting decision-signing key.
pub async fn settle_signing_key(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    axum::extract::Path((id, verdict)): axum::extract::Path<(i64, String)>,
    Form(f): Form<SigningKeyForm>,
) -> Response {
    let actor = form_actor!(ctx, &f.csrf);
    let done = s.settle_signing_key(&actor, id, &verdict).await.map(|k| {
        let outcome = if k.state == "active" {
            "certified"
        } else {
            "refused"
        };
        format!("The signing key of {} is {outcome}.", k.officer)
    });
    after(&s, &ctx, done).await
}
