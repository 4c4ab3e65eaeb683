//! Alerts (R-AUX-1), relying services (R-AUX-4) and the administrator's dashboard figures.
//! Admins post and end alerts and list services; everyone reads them.

use serde_json::json;
use signet_domain::notices::{
    Acceptance, AlertKind, alert_active, check_alert, check_relying_service, per_week,
};
use signet_domain::role::{Actor, Role};
use signet_store::{AlertRecord, MailState, RelyingServiceRecord};
use time::{Date, Duration, OffsetDateTime};

use crate::AppError;
use crate::issue::Signet;

/// What the dashboard charts.
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub orders_by_status: Vec<(String, u64)>,
    /// Subscriber certificates issued per week, the last 12 weeks.
    pub issued_per_week: Vec<(Date, u64)>,
    /// Certificates expiring per week, the next 13 weeks (90 days).
    pub expiring_per_week: Vec<(Date, u64)>,
}

/// An alert as the banner, the status page and the feed show it.
#[derive(Debug, Clone)]
pub struct Alert {
    pub id: i64,
    /// An `AlertKind` name.
    pub kind: String,
    pub title: String,
    pub body: String,
    pub starts_at: OffsetDateTime,
    pub ends_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    /// Showing now (R-AUX-1), decided once, by the domain.
    pub active: bool,
}

/// A relying service as `/services` lists it, with whether it accepts the certificate today.
#[derive(Debug, Clone)]
pub struct RelyingService {
    pub name: String,
    pub url: String,
    pub accepts_from: OffsetDateTime,
    pub accepts_until: Option<OffsetDateTime>,
    pub note: String,
    pub today: Acceptance,
}

/// A relying service to list (R-AUX-4).
#[derive(Debug, Clone)]
pub struct NewRelyingService {
    pub name: String,
    pub url: String,
    pub accepts_from: OffsetDateTime,
    pub accepts_until: Option<OffsetDateTime>,
    pub note: String,
}

/// Where a staff member stands with the second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactorState {
    /// Their role does not use one.
    NotNeeded,
    /// Enrolled.
    SetUp,
    /// Their next log-in enrolls one.
    AtNextLogIn,
}

/// A staff member as the administrator's page lists them: no password hash, no TOTP secret.
#[derive(Debug, Clone)]
pub struct StaffMember {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub region: Option<String>,
    pub second_factor: SecondFactorState,
    /// A second factor is set up (or half set up) and can be reset (a lost phone).
    pub can_reset: bool,
}

fn require_admin(actor: &Actor) -> Result<(), AppError> {
    if actor.may(signet_domain::role::Permission::Administer) {
        Ok(())
    } else {
        Err(AppError::Forbidden("only administrators do this".into()))
    }
}

impl Signet {
    /// Posts an alert; it shows from `starts_at` (now if not given) until `ends_at`.
    pub async fn post_alert(
        &self,
        actor: &Actor,
        kind: &str,
        title: &str,
        body: &str,
        starts_at: Option<OffsetDateTime>,
        ends_at: Option<OffsetDateTime>,
    ) -> Result<i64, AppError> {
        // Refused requests are audited too (who asked, and why not).
        let result = async {
            require_admin(actor)?;
            let kind = AlertKind::parse(kind)?;
            let now = self.now();
            let starts_at = starts_at.unwrap_or(now);
            check_alert(title, body, starts_at, ends_at)?;
            let mut work = self.work().await?;
            let id = work
                .create_alert(&AlertRecord {
                    id: 0,
                    kind,
                    title: title.trim().into(),
                    body: body.trim().into(),
                    starts_at,
                    ends_at,
                    created_by: actor.account,
                    created_at: now,
                })
                .await?;
            let who = format!("account:{}", actor.account);
            work.audit(
                &who,
                "alert.posted",
                &format!("alert:{id}"),
                json!({"kind": kind.as_str(), "title": title}),
            );
            work.commit().await?;
            Ok(id)
        }
        .await;
        self.audit_refusal(
            &format!("account:{}", actor.account),
            "alert.post",
            "alert",
            result,
        )
        .await
    }

    /// Ends an alert now.
    pub async fn end_alert(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        require_admin(actor)?;
        let mut work = self.work().await?;
        work.end_alert(id, self.now()).await?;
        let who = format!("account:{}", actor.account);
        work.audit(&who, "alert.ended", &format!("alert:{id}"), json!({}));
        work.commit().await
    }

    /// The alerts showing now (the banner).
    pub async fn active_alerts(&self) -> Result<Vec<Alert>, AppError> {
        let mut alerts = self.recent_alerts().await?;
        alerts.retain(|a| a.active);
        Ok(alerts)
    }

    /// The newest alerts, past ones included (the feed and the status page).
    pub async fn recent_alerts(&self) -> Result<Vec<Alert>, AppError> {
        let now = self.now();
        Ok(self
            .store
            .alerts(50)
            .await?
            .into_iter()
            .map(|a| Alert {
                active: alert_active(a.starts_at, a.ends_at, now),
                id: a.id,
                kind: a.kind.to_string(),
                title: a.title,
                body: a.body,
                starts_at: a.starts_at,
                ends_at: a.ends_at,
                created_at: a.created_at,
            })
            .collect())
    }

    /// Lists a relying service (administrators).
    pub async fn add_relying_service(
        &self,
        actor: &Actor,
        service: NewRelyingService,
    ) -> Result<i64, AppError> {
        // Refused requests are audited too (who asked, and why not).
        let result = async {
            require_admin(actor)?;
            check_relying_service(
                &service.name,
                &service.url,
                service.accepts_from,
                service.accepts_until,
            )?;
            let mut work = self.work().await?;
            let id = work
                .create_relying_service(&RelyingServiceRecord {
                    id: 0,
                    name: service.name.clone(),
                    url: service.url.clone(),
                    accepts_from: service.accepts_from,
                    accepts_until: service.accepts_until,
                    note: service.note.clone(),
                    created_at: self.now(),
                })
                .await?;
            let who = format!("account:{}", actor.account);
            work.audit(
                &who,
                "relying_service.added",
                &format!("relying_service:{id}"),
                json!({"name": service.name}),
            );
            work.commit().await?;
            Ok(id)
        }
        .await;
        self.audit_refusal(
            &format!("account:{}", actor.account),
            "relying_service.add",
            "relying_service",
            result,
        )
        .await
    }

    /// Every relying service with whether it accepts the certificate today.
    pub async fn relying_services(&self) -> Result<Vec<RelyingService>, AppError> {
        let now = self.now();
        Ok(self
            .store
            .relying_services()
            .await?
            .into_iter()
            .map(|s| RelyingService {
                today: Acceptance::on(s.accepts_from, s.accepts_until, now),
                name: s.name,
                url: s.url,
                accepts_from: s.accepts_from,
                accepts_until: s.accepts_until,
                note: s.note,
            })
            .collect())
    }

    /// An administrator invites a staff member (the invitation link is mailed).
    pub async fn invite_staff_as(
        &self,
        actor: &Actor,
        role: &str,
        email: &str,
        name: &str,
        region: Option<&str>,
    ) -> Result<(), AppError> {
        // Refused requests are audited too (who asked, and why not).
        let result = async {
            require_admin(actor)?;
            let role = Role::from_request(role)?;
            self.invite_staff(
                role,
                email,
                name,
                region,
                &format!("account:{}", actor.account),
            )
            .await
            .map(|_| ())
        }
        .await;
        self.audit_refusal(
            &format!("account:{}", actor.account),
            "account.invite",
            &format!("email:{}", email.trim()),
            result,
        )
        .await
    }

    /// Staff accounts with their roles, for administrators.
    pub async fn staff(&self, actor: &Actor) -> Result<Vec<StaffMember>, AppError> {
        require_admin(actor)?;
        self.store
            .staff_accounts()
            .await?
            .into_iter()
            .map(|a| {
                let role = a.role;
                let uses = role.may(signet_domain::role::Permission::SecondFactor);
                Ok(StaffMember {
                    second_factor: match (uses, a.totp_enabled) {
                        (false, _) => SecondFactorState::NotNeeded,
                        (true, true) => SecondFactorState::SetUp,
                        (true, false) => SecondFactorState::AtNextLogIn,
                    },
                    can_reset: uses && a.totp_secret.is_some(),
                    id: a.id,
                    email: a.email,
                    name: a.name,
                    role,
                    region: a.region,
                })
            })
            .collect()
    }

    /// Resets a staff member's second factor (a lost phone): their next log-in sets up a new one.
    pub async fn reset_second_factor(
        &self,
        actor: &Actor,
        account: i64,
    ) -> Result<String, AppError> {
        // Refused requests are audited too (who asked, and why not).
        let result = async {
            require_admin(actor)?;
            let target = self
                .store
                .account(account)
                .await?
                .filter(|a| a.role != Role::Subscriber)
                .ok_or_else(|| AppError::NotFound(format!("staff account {account}")))?;
            let mut work = self.work().await?;
            work.clear_totp(account).await?;
            work.audit(
                &format!("account:{}", actor.account),
                "account.second_factor_reset",
                &format!("account:{account}"),
                json!({}),
            );
            work.commit().await?;
            Ok(target.email)
        }
        .await;
        self.audit_refusal(
            &format!("account:{}", actor.account),
            "account.second_factor_reset",
            &format!("account:{account}"),
            result,
        )
        .await
    }

    pub async fn dashboard(&self, actor: &Actor) -> Result<Dashboard, AppError> {
        require_admin(actor)?;
        let now = self.now();
        let since = now - Duration::weeks(11);
        let issued = self
            .store
            .issuance_times_since(since - Duration::weeks(1))
            .await?;
        let expiring: Vec<OffsetDateTime> = self
            .store
            .certificates_expiring(now, now + Duration::days(90))
            .await?
            .iter()
            .map(|c| c.intent.not_after)
            .collect();
        Ok(Dashboard {
            orders_by_status: self
                .store
                .order_status_counts()
                .await?
                .into_iter()
                .map(|(status, n)| (status.to_string(), n))
                .collect(),
            issued_per_week: per_week(&issued, since, 12),
            expiring_per_week: per_week(&expiring, now, 13),
        })
    }
}

/// What an administrator watches besides the dashboard: the mail queue and what
/// reconciliation found.
#[derive(Debug, Clone)]
pub struct Operations {
    /// Messages per state (`queued`, `sent`, `dead`).
    pub mail_states: Vec<(String, u64)>,
    /// The newest messages: who, what, where they stand; never their bodies (which hold
    /// single-use links).
    pub recent_mail: Vec<MailLine>,
    /// What reconciliation did, newest first.
    pub reconciled: Vec<ReconcileLine>,
}

/// One message of the outbox as the administrator sees it.
#[derive(Debug, Clone)]
pub struct MailLine {
    pub id: i64,
    pub to: String,
    pub subject: String,
    /// `queued`, `sent` or `dead`.
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// Whether an administrator may make it due again (anything not sent).
    pub retryable: bool,
}

/// One step reconciliation took.
#[derive(Debug, Clone)]
pub struct ReconcileLine {
    pub at: OffsetDateTime,
    /// What it did (`pickup_released`, …), without the `reconcile.` prefix.
    pub what: String,
    /// What it did it to (`order:…`, `certificate:…`).
    pub subject: String,
}

impl Signet {
    pub async fn operations(&self, actor: &Actor) -> Result<Operations, AppError> {
        require_admin(actor)?;
        let (mail_states, recent_mail) = self.mail_overview(20).await?;
        Ok(Operations {
            mail_states: mail_states
                .into_iter()
                .map(|(state, n)| (state.to_string(), n))
                .collect(),
            recent_mail: recent_mail
                .into_iter()
                .map(|m| MailLine {
                    retryable: m.state != MailState::Sent,
                    id: m.id,
                    to: m.mail.to,
                    subject: m.mail.subject,
                    state: m.state.to_string(),
                    attempts: m.attempts,
                    last_error: m.last_error,
                })
                .collect(),
            reconciled: self
                .store
                .recent_audit("reconcile.", 20)
                .await?
                .into_iter()
                .map(|e| ReconcileLine {
                    at: e.at,
                    what: e.action.trim_start_matches("reconcile.").to_owned(),
                    subject: e.subject,
                })
                .collect(),
        })
    }

    /// Makes given-up or waiting mail due now (one message, or all) and wakes the worker.
    pub async fn retry_mail(&self, actor: &Actor, id: Option<i64>) -> Result<u64, AppError> {
        let result = async {
            require_admin(actor)?;
            self.retry_mail_as(&format!("account:{}", actor.account), id)
                .await
        }
        .await;
        self.audit_refusal(
            &format!("account:{}", actor.account),
            "mail.retry",
            "mail",
            result,
        )
        .await
    }
}
