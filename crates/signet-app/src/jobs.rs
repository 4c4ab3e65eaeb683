//! The background jobs, one definition for both ways they run: `signet serve` keeps them running
//! ([`Signet::start_jobs`]), `signet jobs` runs each once ([`Signet::run_jobs_once`], for cron or
//! an operator). The work of each job is its own module's; here is only what runs when.

use std::sync::Arc;
use std::time::Duration;

use crate::AppError;
use crate::issue::Signet;
use crate::mail::Delivered;
use crate::reconcile::Reconciled;

/// How often reconciliation runs in `serve`: a lapsed pickup's link works again within seconds
/// of its claim lapsing, and a CRL behind a revocation is rebuilt at once.
pub const RECONCILE_EVERY: Duration = Duration::from_secs(5);

/// How often the slow jobs run in `serve`: expiry reminders (R-CRT-7) and OCSP pre-signing.
pub const HOURLY: Duration = Duration::from_secs(3600);

/// How often `serve` looks for discovery jobs that are due (the shortest schedule is 5 minutes).
pub const DISCOVERY_EVERY: Duration = Duration::from_secs(60);

/// How long a node holds a background job it took before it must renew the lease (each step
/// renews it: a shard's CRL, a batch of OCSP responses, a reminder): a node that dies holding
/// one delays that job, CRLs behind a revocation included, by at most this.
pub const JOB_LEASE: time::Duration = time::Duration::minutes(1);

/// One background job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Release lapsed pickups, close interrupted issuances, rebuild stale CRLs.
    Reconcile,
    /// Mail owners whose certificates expire within 30 days.
    Reminders,
    /// Publish CRL shards that are due.
    Crl,
    /// Re-sign OCSP responses that are due.
    Ocsp,
    /// Deliver due mail.
    Mail,
    /// Run the discovery jobs that are due.
    Discovery,
}

/// What one pass of the jobs did; `None` for a job that did not run.
#[derive(Debug, Default)]
pub struct JobReport {
    /// Reconciliation.
    pub reconciled: Option<Reconciled>,
    /// Expiry reminders sent.
    pub reminders: Option<usize>,
    /// CRL shards published (by reconciliation and the CRL job together).
    pub crls: Option<usize>,
    /// OCSP responses signed.
    pub ocsp: Option<usize>,
    /// Mail delivered.
    pub mail: Option<Delivered>,
    /// Discovery jobs run.
    pub discovery: Option<usize>,
    /// The jobs that failed, and why: each failure is its own; the others still ran.
    pub failed: Vec<(&'static str, String)>,
}

impl Signet {
    /// Runs `work` only while this node holds `job`'s lease, so that nodes sharing the store run
    /// each due item once; `None` when another node holds it. The lease is given back after.
    pub(crate) async fn exclusively<T>(
        &self,
        job: &str,
        work: impl Future<Output = Result<T, AppError>>,
    ) -> Result<Option<T>, AppError> {
        let now = self.now();
        if !self
            .store
            .lease_job(job, &self.node, now, now + JOB_LEASE)
            .await?
        {
            tracing::debug!(job, "another node holds this job");
            return Ok(None);
        }
        let done = work.await;
        if let Err(e) = self.store.release_job(job, &self.node).await {
            tracing::warn!(job, error = %e, "giving back the job's lease failed; it lapses by itself");
        }
        done.map(Some)
    }

    /// Extends this node's lease on `job` during a long run; refused when another node took it.
    pub(crate) async fn renew_job(&self, job: &str) -> Result<(), AppError> {
        let now = self.now();
        if self
            .store
            .lease_job(job, &self.node, now, now + JOB_LEASE)
            .await?
        {
            Ok(())
        } else {
            Err(AppError::Conflict(format!(
                "this node's lease on the {job} job lapsed and another node took it: it stops here and the other goes on"
            )))
        }
    }

    /// Runs `only` that job, or every job, once, in a fixed order. A job that fails is
    /// reported in [`JobReport::failed`] and does not hold back the ones after it (a failed
    /// CRL job must not stop the mail).
    pub async fn run_jobs_once(&self, only: Option<Job>) -> JobReport {
        let runs = |job: Job| only.is_none_or(|o| o == job);
        let mut report = JobReport::default();
        let mut failed = Vec::new();
        let mut done = |name: &'static str, result: Result<(), AppError>| {
            if let Err(e) = result {
                tracing::error!(job = name, error = %e, "job failed; the others go on");
                failed.push((name, e.to_string()));
            }
        };
        let mut crls = 0;
        if runs(Job::Reconcile) {
            done(
                "reconcile",
                self.reconcile().await.map(|r| {
                    crls += r.crls;
                    report.reconciled = Some(r);
                }),
            );
        }
        if runs(Job::Reminders) {
            done(
                "reminders",
                self.send_expiry_reminders()
                    .await
                    .map(|n| report.reminders = Some(n)),
            );
        }
        if runs(Job::Crl) {
            done("crl", self.publish_due_crls(false).await.map(|n| crls += n));
        }
        if runs(Job::Reconcile) || runs(Job::Crl) {
            report.crls = Some(crls);
        }
        if runs(Job::Ocsp) {
            done(
                "ocsp",
                self.refresh_ocsp().await.map(|n| report.ocsp = Some(n)),
            );
        }
        if runs(Job::Discovery) {
            done(
                "discovery",
                self.run_due_discovery()
                    .await
                    .map(|n| report.discovery = Some(n)),
            );
        }
        if runs(Job::Mail) {
            done(
                "mail",
                self.deliver_due_mail().await.map(|m| report.mail = Some(m)),
            );
        }
        report.failed = failed;
        report
    }

    /// Starts every job for a serving node: the revocation watcher and the mail worker, which
    /// react at once; reconciliation every few seconds; due discovery jobs looked for every
    /// minute (each claimed by one node); reminders and OCSP hourly. A failed run is logged and
    /// tried again at the next tick.
    pub fn start_jobs(self: &Arc<Self>) {
        tokio::spawn(self.clone().watch_revocations());
        tokio::spawn(self.clone().run_mail_worker());
        let jobs = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(RECONCILE_EVERY);
            loop {
                tick.tick().await;
                if let Err(e) = jobs.reconcile().await {
                    tracing::error!(error = %e, "reconciliation failed; trying again shortly");
                }
            }
        });
        let jobs = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(DISCOVERY_EVERY);
            loop {
                tick.tick().await;
                match jobs.run_due_discovery().await {
                    Ok(n) if n > 0 => tracing::info!(ran = n, "discovery jobs"),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "discovery schedule failed"),
                }
            }
        });
        let jobs = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(HOURLY);
            loop {
                tick.tick().await;
                match jobs.send_expiry_reminders().await {
                    Ok(n) if n > 0 => tracing::info!(sent = n, "expiry reminders"),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "expiry reminder job failed"),
                }
                if let Err(e) = jobs.refresh_ocsp().await {
                    tracing::error!(error = %e, "OCSP refresh job failed");
                }
            }
        });
    }
}
