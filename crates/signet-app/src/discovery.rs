//! Certificate discovery (R-AUX-2): jobs that scan the operator's network for the certificates
//! in use, the inventory they build, the alerts it raises, and the schedule `serve` keeps.
//!
//! A run claims its job with a lease in the store, so of several nodes one runs it; resolves and
//! checks its targets against the allowlist; scans with a bounded number of connections open and
//! a bounded rate of new ones (each scan a blocking task on `signet_tls::discover`); then records
//! certificates, places, events, alert mail and its audit record in one unit of work.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use signet_domain::discovery::{
    self as rules, Alert, Allowlist, JobSpec, PlaceEvent, TargetSpec, Upgrade,
};
use signet_domain::role::{Actor, Permission};
use signet_store::{
    DiscoveredCertificateRecord, DiscoveryEventRecord, DiscoveryJobRecord, DiscoveryPlaceRecord,
    DiscoveryRunRecord,
};
use signet_tls::discover::Examined;
use signet_tls::{Endpoint, StartTls, TlsTestError};

use crate::AppError;
use crate::dates::rfc3339;
use crate::issue::Signet;

/// How long a node holds a job without showing progress before another may take it over.
const LEASE: time::Duration = time::Duration::minutes(10);

/// Who starts or changes a job.
#[derive(Debug, Clone, Copy)]
pub enum Starter<'a> {
    /// A staff member in the portal (administrators only).
    Staff(&'a Actor),
    /// The operator, with `signet discover`.
    Operator,
    /// `serve`'s schedule.
    Schedule,
}

impl Starter<'_> {
    /// As the audit log and the run history name them.
    pub fn name(&self) -> String {
        match self {
            Starter::Staff(actor) => actor.email.clone(),
            Starter::Operator => "operator:cli".into(),
            Starter::Schedule => "schedule".into(),
        }
    }

    fn check(&self) -> Result<(), AppError> {
        match self {
            Starter::Staff(actor) if !actor.may(Permission::Administer) => Err(
                AppError::Forbidden("only administrators manage discovery".into()),
            ),
            _ => Ok(()),
        }
    }
}

/// A job as typed in a form or on the command line.
#[derive(Debug, Clone, Default)]
pub struct NewJob {
    pub name: String,
    /// Comma-separated addresses, CIDR ranges and host names.
    pub targets: String,
    /// Comma-separated ports.
    pub ports: String,
    /// STARTTLS overrides: `2525=smtp`, or a protocol for every port.
    pub starttls: String,
    /// `24h`, `7d` …; empty: only when started.
    pub every: String,
    /// Comma-separated e-mail addresses mailed the alerts.
    pub contacts: String,
    /// Connections open at once (default: 32, within the configured maximum).
    pub concurrency: Option<u32>,
    /// New connections per second (default: 100, within the configured maximum).
    pub rate: Option<u32>,
}

/// How far a run is, for a progress bar.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Progress {
    pub endpoints: u64,
    pub done: u64,
    pub answered: u64,
}

/// A place in the inventory.
#[derive(Debug, Clone, Serialize)]
pub struct PlaceView {
    pub host: String,
    pub address: String,
    pub port: u16,
    pub sni: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    pub answering: bool,
    pub alerts: Vec<&'static str>,
    /// SHA-256 fingerprints of the chain as served, leaf first.
    pub chain: Vec<String>,
}

/// An event at a place, for the page.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeView {
    pub at: String,
    pub place: String,
    /// `new`, `changed`, `not_answering` or `answering_again`.
    pub kind: &'static str,
    pub old_fingerprint: Option<String>,
    pub new_fingerprint: Option<String>,
}

/// What Signet knows of a certificate it issued.
#[derive(Debug, Clone, Serialize)]
pub struct SignetRecord {
    pub serial: String,
    pub order_number: Option<String>,
    pub order_status: Option<String>,
    /// `valid`, `revoked` or `expired`.
    pub status: &'static str,
}

/// One certificate of the inventory: a leaf served somewhere.
#[derive(Debug, Clone, Serialize)]
pub struct InventoryItem {
    pub fingerprint_sha256: String,
    pub subject: String,
    pub issuer: String,
    pub names: Vec<String>,
    pub key: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    /// Whole days until `not_after` (negative once expired).
    pub days_left: i64,
    pub issued_by_signet: bool,
    pub signet: Option<SignetRecord>,
    pub places: Vec<PlaceView>,
    /// Every alert of its places, once each.
    pub alerts: Vec<&'static str>,
}

/// What one run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run_id: i64,
    pub job: String,
    pub endpoints: u64,
    pub answered: u64,
    pub certificates: u64,
    /// Host names whose addresses the allowlist refused.
    pub refused: Vec<String>,
    /// Alerts counted by id, over the places this run saw or lost.
    pub alerts: BTreeMap<&'static str, u64>,
    /// Alert lines mailed to the job's contacts (each mailed once).
    pub mailed: usize,
    /// Wall time of the run, from its claim to its record.
    pub seconds: f64,
}

/// One address and port to try.
#[derive(Debug, Clone)]
struct Spot {
    host: String,
    address: IpAddr,
    port: u16,
    sni: Option<String>,
    upgrade: Option<Upgrade>,
}

/// What a scanned spot gave.
struct Scanned {
    spot: Spot,
    /// `None`: no TLS answer (closed, silent, or no certificate that parses).
    examined: Option<Examined>,
}

impl Spot {
    fn key(&self) -> (IpAddr, u16, Option<String>) {
        (self.address, self.port, self.sni.clone())
    }
}

/// What every scan of a run judges chains with.
struct Judging {
    anchors: Vec<signet_pki::Certificate>,
    signet_cas: Vec<signet_pki::Certificate>,
    timeout: Duration,
}

/// Connections all discovery runs of one process keep open at most (each a blocking thread of
/// the runtime's pool, which `serve` shares with everything else).
const SCANS_PER_PROCESS: usize = 128;
/// How often a run records its progress and renews its lease.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// Certificates whose revocation one run asks about at most.
const REVOCATION_CHECKS: usize = 256;
/// Addresses of one host name scanned at most.
const ADDRESSES_PER_NAME: usize = 16;

/// What a run learnt of a place: the place as it is now, its event, the place as it was, and
/// the certificates it served.
type Sighted = (
    DiscoveryPlaceRecord,
    Option<PlaceEvent>,
    Option<DiscoveryPlaceRecord>,
    Vec<DiscoveredCertificateRecord>,
);

/// A place the run did not reach: not answering now (an event if it answered before).
fn lost_place(job: &DiscoveryJobRecord, previous: DiscoveryPlaceRecord) -> Sighted {
    let mut place = previous.clone();
    place.job_id = Some(job.id);
    place.alerts = vec![Alert::NotAnswering];
    place.answering = false;
    let event = previous.answering.then_some(PlaceEvent::NotAnswering);
    (place, event, Some(previous), Vec::new())
}

impl Signet {
    /// What discovery may scan: the configuration plus `SIGNET_DISCOVERY_ALLOWED_TARGETS`.
    pub fn discovery_allowlist(&self) -> Result<Allowlist, AppError> {
        let mut entries = self.config.discovery.allowed_targets.clone();
        if let Ok(extra) = std::env::var("SIGNET_DISCOVERY_ALLOWED_TARGETS") {
            entries.push(extra);
        }
        Ok(Allowlist::parse(&entries)?)
    }

    /// Defines a job; audited, refused or not.
    pub async fn add_discovery_job(
        &self,
        who: Starter<'_>,
        job: &NewJob,
    ) -> Result<DiscoveryJobRecord, AppError> {
        let result = async {
            who.check()?;
            let limits = self.config.discovery.limits();
            let ports = rules::parse_ports(&job.ports)?;
            let every = match job.every.trim() {
                "" => None,
                text => Some(rules::parse_every(text)?),
            };
            let spec = JobSpec {
                name: job.name.trim().to_owned(),
                targets: rules::parse_targets(&job.targets)?,
                starttls: rules::parse_starttls(&job.starttls, &ports)?,
                ports,
                every,
                contacts: job
                    .contacts
                    .split([',', ' ', '\n'])
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_ascii_lowercase)
                    .collect(),
                concurrency: job.concurrency.unwrap_or(32.min(limits.max_concurrency)),
                rate: job.rate.unwrap_or(100.min(limits.max_rate)),
            };
            spec.check(&self.discovery_allowlist()?, &limits)?;
            let now = self.now();
            let mut record = DiscoveryJobRecord {
                id: 0,
                spec,
                created_by: who.name(),
                created_at: now,
                next_run_at: every.map(|_| now),
                lease_until: None,
                lease_node: None,
            };
            let mut work = self.work().await?;
            record.id = work.create_discovery_job(&record).await?;
            work.audit(
                &who.name(),
                "discovery.job.added",
                &format!("discovery-job:{}", record.spec.name),
                json!({
                    "targets": record.spec.targets.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "ports": record.spec.ports,
                    "every": record.spec.every.map(rules::every_text),
                    "contacts": record.spec.contacts,
                }),
            );
            work.commit().await?;
            Ok(record)
        }
        .await;
        self.audit_refusal(
            &who.name(),
            "discovery.job.add",
            &format!("discovery-job:{}", job.name.trim()),
            result,
        )
        .await
    }

    /// Deletes a job and its run history; the inventory it built stays.
    pub async fn remove_discovery_job(&self, who: Starter<'_>, name: &str) -> Result<(), AppError> {
        let subject = format!("discovery-job:{name}");
        let result = async {
            who.check()?;
            let job = self.discovery_job(name).await?;
            if job.lease_until.is_some_and(|t| t > self.now()) {
                return Err(AppError::Conflict(format!(
                    "discovery job {name} is running: remove it once its run has ended"
                )));
            }
            let mut work = self.work().await?;
            work.delete_discovery_job(job.id, self.now()).await?;
            work.audit(&who.name(), "discovery.job.removed", &subject, json!({}));
            work.commit().await
        }
        .await;
        self.audit_refusal(&who.name(), "discovery.job.remove", &subject, result)
            .await
    }

    /// Every job.
    pub async fn discovery_jobs(&self) -> Result<Vec<DiscoveryJobRecord>, AppError> {
        Ok(self.store.discovery_jobs().await?)
    }

    async fn discovery_job(&self, name: &str) -> Result<DiscoveryJobRecord, AppError> {
        self.store.discovery_job(name).await?.ok_or_else(|| {
            AppError::NotFound(format!(
                "no discovery job named {name:?}: `signet discover job list` shows them"
            ))
        })
    }

    /// The newest runs.
    pub async fn discovery_runs(&self, limit: u32) -> Result<Vec<DiscoveryRunRecord>, AppError> {
        Ok(self.store.discovery_runs(limit).await?)
    }

    /// The newest events at places (new, changed, not answering, answering again).
    pub async fn discovery_changes(&self, limit: u32) -> Result<Vec<ChangeView>, AppError> {
        let places: HashMap<i64, DiscoveryPlaceRecord> = self
            .store
            .discovery_places()
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        Ok(self
            .store
            .discovery_events(limit)
            .await?
            .into_iter()
            .filter_map(|e| {
                let place = places.get(&e.place_id)?;
                Some(ChangeView {
                    at: rfc3339(e.at),
                    place: format!(
                        "{}:{}{}",
                        place.host,
                        place.port,
                        place
                            .sni
                            .as_ref()
                            .map(|_| format!(" ({})", place.address))
                            .unwrap_or_default()
                    ),
                    kind: e.kind.as_str(),
                    old_fingerprint: e.old_fingerprint,
                    new_fingerprint: e.new_fingerprint,
                })
            })
            .collect())
    }

    /// Runs every job that is due (the schedule in `serve`); a job another node holds is left
    /// to it. Returns how many ran. A run that fails is audited and logged, and the others go on.
    pub async fn run_due_discovery(&self) -> Result<usize, AppError> {
        let mut ran = 0;
        for job in self.store.discovery_jobs().await? {
            if job.spec.every.is_none() || job.next_run_at.is_none_or(|at| at > self.now()) {
                continue;
            }
            let outcome = self
                .run_discovery_job(Starter::Schedule, &job, true, &|_| {})
                .await;
            let subject = format!("discovery-job:{}", job.spec.name);
            match self
                .audit_refusal("schedule", "discovery.run", &subject, outcome)
                .await
            {
                Ok(Some(_)) => ran += 1,
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(job = %job.spec.name, error = %e, "discovery run failed")
                }
            }
        }
        Ok(ran)
    }

    /// Runs one job now; `progress` hears how far it is. Refused while another run of it goes on.
    pub async fn run_discovery(
        &self,
        who: Starter<'_>,
        name: &str,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<RunSummary, AppError> {
        let subject = format!("discovery-job:{name}");
        let result = async {
            who.check()?;
            let job = self.discovery_job(name).await?;
            self.run_discovery_job(who, &job, false, progress)
                .await?
                .ok_or_else(|| {
                    AppError::Refused(signet_domain::Refusal::Conflict(format!(
                        "discovery job {name} is running already{}: wait for it to end (a run whose node stopped is taken over 10 minutes after its last progress)",
                        job.lease_node
                            .map(|n| format!(" (on node {n})"))
                            .unwrap_or_default()
                    )))
                })
        }
        .await;
        self.audit_refusal(&who.name(), "discovery.run", &subject, result)
            .await
    }

    async fn run_discovery_job(
        &self,
        who: Starter<'_>,
        job: &DiscoveryJobRecord,
        due_only: bool,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Option<RunSummary>, AppError> {
        let started = self.now();
        if !self
            .store
            .claim_discovery_job(job.id, &self.node, started, started + LEASE, due_only)
            .await?
        {
            return Ok(None);
        }
        let outcome = self.run_claimed(who, job, started, progress).await;
        let next = rules::next_run(job.spec.every, started);
        if let Err(e) = self
            .store
            .release_discovery_job(job.id, &self.node, next)
            .await
        {
            tracing::error!(job = %job.spec.name, error = %e, "could not release the discovery job; its lease lapses in 10 minutes");
        }
        outcome.map(Some)
    }

    async fn run_claimed(
        &self,
        who: Starter<'_>,
        job: &DiscoveryJobRecord,
        started: time::OffsetDateTime,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<RunSummary, AppError> {
        // The allowlist and the limits may have changed since the job was defined.
        let allowlist = self.discovery_allowlist()?;
        job.spec
            .check(&allowlist, &self.config.discovery.limits())?;
        let context = Arc::new(Judging {
            anchors: self.discovery_anchors()?,
            signet_cas: self
                .authority
                .issuers
                .values()
                .map(|i| i.certificate.clone())
                .collect(),
            timeout: self.config.discovery.timeout(),
        });
        let (spots, refused, unresolved) = resolve(
            &job.spec,
            &allowlist,
            self.config.discovery.max_addresses as usize,
        )
        .await;
        self.keep_lease(job).await?;
        let mut run = DiscoveryRunRecord {
            id: 0,
            job_id: job.id,
            job_name: job.spec.name.clone(),
            started_by: who.name(),
            started_at: started,
            finished_at: None,
            endpoints: spots.len() as u64,
            done: 0,
            answered: 0,
            certificates: 0,
            refused: refused.join("; "),
            outcome: None,
        };
        let subject = format!("discovery-job:{}", job.spec.name);
        let mut work = self.work().await?;
        run.id = work.start_discovery_run(&run).await?;
        work.audit(
            &who.name(),
            "discovery.run.started",
            &subject,
            json!({"run": run.id, "node": self.node, "endpoints": run.endpoints, "refused": refused}),
        );
        work.commit().await?;
        let outcome = match self.scan(job, run.id, spots, context, progress).await {
            Ok(scanned) => {
                self.record_run(job, &mut run, scanned, &unresolved, &subject)
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = &outcome {
            // The failure keeps the progress the run had recorded.
            if let Ok(Some(so_far)) = self.store.discovery_run(run.id).await {
                (run.done, run.answered) = (so_far.done, so_far.answered);
            }
            run.finished_at = Some(self.now());
            run.outcome = Some(format!("failed: {e}"));
            // The run's end is recorded if the store lets it; the error stays the one to report.
            let recorded = async {
                let mut work = self.work().await?;
                work.finish_discovery_run(&run).await?;
                work.audit(
                    &who.name(),
                    "discovery.run.failed",
                    &subject,
                    json!({"run": run.id, "node": self.node, "error": e.to_string()}),
                );
                work.commit().await
            }
            .await;
            if let Err(also) = recorded {
                tracing::error!(run = run.id, error = %also, "could not record the failed discovery run");
            }
        }
        outcome
    }

    /// Scans every spot: at most `concurrency` at once (and at most [`SCANS_PER_PROCESS`] for
    /// all runs of this process), at most `rate` new ones a second; each spot's chain is judged
    /// on its blocking thread. Stops when this node loses its lease.
    async fn scan(
        &self,
        job: &DiscoveryJobRecord,
        run_id: i64,
        spots: Vec<Spot>,
        context: Arc<Judging>,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Vec<Scanned>, AppError> {
        static SCANS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(SCANS_PER_PROCESS);
        let slots = Arc::new(tokio::sync::Semaphore::new(job.spec.concurrency as usize));
        let mut pace = tokio::time::interval(Duration::from_secs(1) / job.spec.rate.max(1));
        pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let endpoints = spots.len() as u64;
        let done = Arc::new(AtomicU64::new(0));
        let answered = Arc::new(AtomicU64::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        let mut results = Vec::with_capacity(spots.len());
        let mut last_report = std::time::Instant::now();
        let now = self.now();
        for spot in spots {
            pace.tick().await;
            let (Ok(slot), Ok(shared)) =
                (slots.clone().acquire_owned().await, SCANS.acquire().await)
            else {
                break;
            };
            let (counted, hits, context) = (done.clone(), answered.clone(), context.clone());
            tasks.spawn_blocking(move || {
                let examined = scan_one(&spot, &context, now);
                counted.fetch_add(1, Ordering::Relaxed);
                if examined.is_some() {
                    hits.fetch_add(1, Ordering::Relaxed);
                }
                drop((slot, shared));
                Scanned { spot, examined }
            });
            while let Some(Ok(finished)) = tasks.try_join_next() {
                results.push(finished);
            }
            if last_report.elapsed() >= PROGRESS_EVERY {
                last_report = std::time::Instant::now();
                self.progress(run_id, endpoints, &done, &answered, progress)
                    .await?;
            }
        }
        while let Some(finished) = tasks.join_next().await {
            if let Ok(finished) = finished {
                results.push(finished);
            }
            if last_report.elapsed() >= PROGRESS_EVERY {
                last_report = std::time::Instant::now();
                self.progress(run_id, endpoints, &done, &answered, progress)
                    .await?;
            }
        }
        self.progress(run_id, endpoints, &done, &answered, progress)
            .await?;
        Ok(results)
    }

    /// Tells the caller and the store how far a run is, and renews this node's lease; an error
    /// when the lease went to another node (this one was too slow to show progress).
    async fn progress(
        &self,
        run_id: i64,
        endpoints: u64,
        done: &AtomicU64,
        answered: &AtomicU64,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<(), AppError> {
        let p = Progress {
            endpoints,
            done: done.load(Ordering::Relaxed),
            answered: answered.load(Ordering::Relaxed),
        };
        progress(p);
        let held = self
            .store
            .discovery_progress(run_id, &self.node, p.done, p.answered, self.now() + LEASE)
            .await?;
        if held {
            Ok(())
        } else {
            Err(AppError::Conflict(
                "this node lost the job's lease to another node; the run stops here".into(),
            ))
        }
    }

    /// Renews this node's lease on the job between the steps of a run; an error when another
    /// node took it meanwhile.
    async fn keep_lease(&self, job: &DiscoveryJobRecord) -> Result<(), AppError> {
        if self
            .store
            .renew_discovery_lease(job.id, &self.node, self.now() + LEASE)
            .await?
        {
            Ok(())
        } else {
            Err(AppError::Conflict(
                "this node lost the job's lease to another node; the run stops here".into(),
            ))
        }
    }

    /// Trust anchors for discovered chains: the system's, Signet's root, the configured file.
    fn discovery_anchors(&self) -> Result<Vec<signet_pki::Certificate>, AppError> {
        let mut anchors = signet_tls::chain::system_anchors().unwrap_or_default();
        anchors.push(self.authority.root.certificate.clone());
        if let Some(path) = &self.config.discovery.trust_file {
            let bad = |e: String| {
                AppError::Config(format!("[discovery] trust_file {}: {e}", path.display()))
            };
            let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
            anchors.extend(signet_tls::chain::read_certificates(&bytes).map_err(bad)?);
        }
        Ok(anchors)
    }

    /// Records what the run saw against what the inventory held, in one unit of work:
    /// certificates, places (in address order, so two writers never wait on each other in a
    /// cycle), events, the alert mail and the run's end.
    async fn record_run(
        &self,
        job: &DiscoveryJobRecord,
        run: &mut DiscoveryRunRecord,
        mut scanned: Vec<Scanned>,
        unresolved: &std::collections::HashSet<String>,
        subject: &str,
    ) -> Result<RunSummary, AppError> {
        let now = self.now();
        let window = time::Duration::days(i64::from(self.config.discovery.expiring_days));
        scanned.sort_by_key(|s| s.spot.key());
        self.keep_lease(job).await?;
        let revoked = self.ask_revocation(&scanned, job.spec.concurrency).await?;
        let mut known: HashMap<(IpAddr, u16, Option<String>), DiscoveryPlaceRecord> = self
            .store
            .discovery_places()
            .await?
            .into_iter()
            .map(|p| ((p.address, p.port, p.sni.clone()), p))
            .collect();
        // Places this job found before that this run did not try (a target removed, a name
        // that moved): no longer answering, as far as this job knows.
        // A name that did not resolve this time says nothing of its places.
        let tried: BTreeSet<_> = scanned.iter().map(|s| s.spot.key()).collect();
        let lost: Vec<DiscoveryPlaceRecord> = known
            .values()
            .filter(|p| {
                p.job_id == Some(job.id)
                    && !tried.contains(&(p.address, p.port, p.sni.clone()))
                    && p.sni.as_ref().is_none_or(|name| !unresolved.contains(name))
            })
            .cloned()
            .collect();
        let mut work = self.work().await?;
        if !work
            .hold_discovery_lease(job.id, &self.node, now + LEASE)
            .await?
        {
            return Err(AppError::Conflict(
                "this node lost the job's lease to another node; the run is not recorded".into(),
            ));
        }
        let mut leaves = BTreeSet::new();
        let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut to_mail = Vec::new();
        let mut answered = 0u64;
        let mut outcomes = Vec::new();
        for Scanned { spot, examined } in scanned {
            let previous = known.remove(&spot.key());
            let outcome = match examined {
                Some(mut examined) => {
                    answered += 1;
                    if examined.signet_serial.is_none() {
                        examined.sighting.revoked =
                            revoked.get(&examined.certificates[0].fingerprint).copied();
                    }
                    Some(
                        self.sighted(
                            &mut work,
                            job,
                            &spot,
                            examined,
                            previous.as_ref(),
                            window,
                            now,
                        )
                        .await?,
                    )
                }
                None => previous.map(|p| lost_place(job, p)),
            };
            outcomes.extend(outcome);
        }
        outcomes.extend(lost.into_iter().map(|p| lost_place(job, p)));
        // Certificates first, then places, each in one order for every run: two runs that see
        // the same rows never wait on each other in a cycle.
        let certificates: BTreeMap<String, DiscoveredCertificateRecord> = outcomes
            .iter_mut()
            .flat_map(|o| std::mem::take(&mut o.3))
            .map(|c| (c.fingerprint.clone(), c))
            .collect();
        for certificate in certificates.values() {
            work.save_discovered_certificate(certificate).await?;
        }
        outcomes.sort_by(|a, b| {
            (a.0.address, a.0.port, &a.0.sni).cmp(&(b.0.address, b.0.port, &b.0.sni))
        });
        for (place, event, previous, _) in outcomes {
            if place.answering {
                leaves.insert(place.fingerprint.clone());
            }
            let id = work.save_discovery_place(&place).await?;
            if let Some(kind) = event {
                work.add_discovery_event(&DiscoveryEventRecord {
                    id: 0,
                    place_id: id,
                    run_id: Some(run.id),
                    at: now,
                    kind,
                    old_fingerprint: previous.as_ref().map(|p| p.fingerprint.clone()),
                    new_fingerprint: place.answering.then(|| place.fingerprint.clone()),
                })
                .await?;
            }
            if place.answering {
                // An alert that cleared may be mailed again when it comes back; a place that
                // stops answering keeps its marks, so that one bad run does not re-mail them all.
                let current: Vec<&str> = place.alerts.iter().map(|a| a.as_str()).collect();
                work.forget_discovery_mailed(job.id, id, &current).await?;
            }
            for alert in &place.alerts {
                *counts.entry(alert.as_str()).or_default() += 1;
                if !job.spec.contacts.is_empty()
                    && work
                        .mark_discovery_mailed(job.id, id, &place.fingerprint, alert.as_str(), now)
                        .await?
                {
                    to_mail.push(format!(
                        "- {}:{}{}: the certificate {} {} (SHA-256 {})",
                        place.host,
                        place.port,
                        place
                            .sni
                            .as_ref()
                            .map(|s| format!(" (SNI {s})"))
                            .unwrap_or_default(),
                        if *alert == Alert::NotAnswering {
                            "last seen there"
                        } else {
                            "served there"
                        },
                        alert.advice(),
                        &place.fingerprint[..16],
                    ));
                }
            }
        }
        let mailed = to_mail.len();
        if !to_mail.is_empty() {
            let body = format!(
                "Discovery job {} found {} new alert(s):\n\n{}\n\nThe inventory: {}/admin/discovery\n",
                job.spec.name,
                mailed,
                to_mail.join("\n"),
                self.base_url()
            );
            for contact in &job.spec.contacts {
                work.mail(
                    contact,
                    &format!(
                        "Certificate discovery: {mailed} new alert(s) from job {}",
                        job.spec.name
                    ),
                    body.clone(),
                )
                .await?;
            }
        }
        run.answered = answered;
        run.done = run.endpoints;
        run.certificates = leaves.len() as u64;
        run.finished_at = Some(self.now());
        run.outcome = Some("finished".into());
        work.finish_discovery_run(run).await?;
        work.audit(
            &run.started_by,
            "discovery.run.finished",
            subject,
            json!({
                "run": run.id,
                "node": self.node,
                "endpoints": run.endpoints,
                "answered": answered,
                "certificates": run.certificates,
                "alerts": counts,
                "mailed": mailed,
            }),
        );
        work.commit().await?;
        Ok(RunSummary {
            run_id: run.id,
            job: job.spec.name.clone(),
            endpoints: run.endpoints,
            answered,
            certificates: run.certificates,
            refused: run
                .refused
                .split("; ")
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect(),
            alerts: counts,
            mailed,
            seconds: (self.now() - run.started_at).as_seconds_f64(),
        })
    }

    /// Asks the OCSP responders and CRLs of the leaves Signet did not issue whose chains are
    /// trusted (a hostile server's own certificate does not choose where Signet connects),
    /// once per certificate and at most [`REVOCATION_CHECKS`] per run; the staple first; through
    /// a fetch that reaches public addresses and the allowlist's ranges. Revoked (`true`) or
    /// good (`false`) by fingerprint; unknown left out.
    async fn ask_revocation(
        &self,
        scanned: &[Scanned],
        concurrency: u32,
    ) -> Result<HashMap<String, bool>, AppError> {
        let fetch = Arc::new(signet_tls::GuardedFetch {
            policy: signet_tls::AddressPolicy {
                also_allowed: self.discovery_allowlist()?.nets(),
                ..signet_tls::AddressPolicy::default()
            },
            timeout: self.config.discovery.timeout(),
        });
        let mut asked = HashMap::new();
        for e in scanned.iter().filter_map(|s| s.examined.as_ref()) {
            if let (None, Some((leaf, issuer)), true) =
                (&e.signet_serial, &e.leaf_and_issuer, e.sighting.trusted)
                && asked.len() < REVOCATION_CHECKS
            {
                asked
                    .entry(e.certificates[0].fingerprint.clone())
                    .or_insert_with(|| (leaf.clone(), issuer.clone(), e.ocsp_staple.clone()));
            }
        }
        let slots = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1) as usize));
        let mut tasks = tokio::task::JoinSet::new();
        for (fingerprint, (leaf, issuer, staple)) in asked {
            let slot = slots
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?;
            let fetch = fetch.clone();
            tasks.spawn_blocking(move || {
                let answer = signet_tls::discover::revoked(
                    &leaf,
                    &issuer,
                    staple.as_deref(),
                    fetch.as_ref(),
                );
                drop(slot);
                (fingerprint, answer)
            });
        }
        let mut answers = HashMap::new();
        while let Some(done) = tasks.join_next().await {
            if let Ok((fingerprint, Some(revoked))) = done {
                answers.insert(fingerprint, revoked);
            }
        }
        Ok(answers)
    }

    /// A place that answered: its alerts judged, its event named, its certificates to store.
    /// A certificate signed by Signet's CA that Signet has no record of is audited: a restored
    /// old backup, or a CA key used behind Signet's back.
    #[allow(clippy::too_many_arguments)]
    async fn sighted(
        &self,
        work: &mut crate::work::Work<'_>,
        job: &DiscoveryJobRecord,
        spot: &Spot,
        examined: Examined,
        previous: Option<&DiscoveryPlaceRecord>,
        window: time::Duration,
        now: time::OffsetDateTime,
    ) -> Result<Sighted, AppError> {
        let Examined {
            certificates,
            mut sighting,
            mut signet_serial,
            ..
        } = examined;
        let leaf = &certificates[0];
        if let Some(serial) = &signet_serial {
            match self.store.certificate(serial).await? {
                Some(record) => sighting.revoked = Some(record.revoked_at.is_some()),
                None => {
                    work.audit(
                        "discovery",
                        "discovery.unrecorded_certificate",
                        &format!("discovery-job:{}", job.spec.name),
                        json!({
                            "serial": serial.to_hex(),
                            "fingerprint": leaf.fingerprint,
                            "address": spot.address.to_string(),
                            "port": spot.port,
                        }),
                    );
                    signet_serial = None;
                }
            }
        }
        let changed = previous.is_some_and(|p| p.fingerprint != leaf.fingerprint);
        sighting.changed = changed;
        let event = match previous {
            None => Some(PlaceEvent::New),
            Some(_) if changed => Some(PlaceEvent::Changed),
            Some(p) if !p.answering => Some(PlaceEvent::AnsweringAgain),
            Some(_) => None,
        };
        let place = DiscoveryPlaceRecord {
            id: previous.map_or(0, |p| p.id),
            host: spot.host.clone(),
            address: spot.address,
            port: spot.port,
            sni: spot.sni.clone(),
            job_id: Some(job.id),
            fingerprint: leaf.fingerprint.clone(),
            chain: certificates.iter().map(|c| c.fingerprint.clone()).collect(),
            first_seen: previous.map_or(now, |p| p.first_seen),
            last_seen: now,
            answering: true,
            alerts: rules::alerts(&sighting, now, window),
        };
        let certificates = certificates
            .into_iter()
            .enumerate()
            .map(|(i, c)| DiscoveredCertificateRecord {
                fingerprint: c.fingerprint,
                der: c.der,
                subject: c.subject,
                issuer: c.issuer,
                names: c.names,
                key: c.key,
                serial: c.serial,
                not_before: c.not_before,
                not_after: c.not_after,
                signet_serial: if i == 0 { signet_serial.clone() } else { None },
                first_seen: now,
            })
            .collect();
        Ok((place, event, previous.cloned(), certificates))
    }

    /// The inventory: every certificate served at a place, with its places and alerts.
    pub async fn discovery_inventory(&self) -> Result<Vec<InventoryItem>, AppError> {
        let now = self.now();
        let certificates: HashMap<String, DiscoveredCertificateRecord> = self
            .store
            .discovered_certificates()
            .await?
            .into_iter()
            .map(|c| (c.fingerprint.clone(), c))
            .collect();
        let mut by_leaf: BTreeMap<String, Vec<DiscoveryPlaceRecord>> = BTreeMap::new();
        for place in self.store.discovery_places().await? {
            by_leaf
                .entry(place.fingerprint.clone())
                .or_default()
                .push(place);
        }
        let mut items = Vec::new();
        for (fingerprint, places) in by_leaf {
            let Some(c) = certificates.get(&fingerprint) else {
                continue;
            };
            let signet = match &c.signet_serial {
                Some(serial) => Some(self.signet_record(serial, now).await?),
                None => None,
            };
            let alerts: BTreeSet<Alert> = places.iter().flat_map(|p| p.alerts.clone()).collect();
            items.push(InventoryItem {
                fingerprint_sha256: fingerprint,
                subject: c.subject.clone(),
                issuer: c.issuer.clone(),
                names: c.names.clone(),
                key: c.key.clone(),
                serial: c.serial.clone(),
                not_before: rfc3339(c.not_before),
                not_after: rfc3339(c.not_after),
                days_left: (c.not_after - now).whole_days(),
                issued_by_signet: signet.is_some(),
                signet,
                places: places
                    .iter()
                    .map(|p| PlaceView {
                        host: p.host.clone(),
                        address: p.address.to_string(),
                        port: p.port,
                        sni: p.sni.clone(),
                        first_seen: rfc3339(p.first_seen),
                        last_seen: rfc3339(p.last_seen),
                        answering: p.answering,
                        alerts: p.alerts.iter().map(|a| a.as_str()).collect(),
                        chain: p.chain.clone(),
                    })
                    .collect(),
                alerts: alerts.into_iter().map(Alert::as_str).collect(),
            });
        }
        items.sort_by(|a, b| {
            a.not_after
                .cmp(&b.not_after)
                .then(a.fingerprint_sha256.cmp(&b.fingerprint_sha256))
        });
        Ok(items)
    }

    async fn signet_record(
        &self,
        serial: &signet_domain::serial::Serial,
        now: time::OffsetDateTime,
    ) -> Result<SignetRecord, AppError> {
        let record = self.store.certificate(serial).await?;
        let order = self.store.order_for_certificate(serial).await?;
        let status = match &record {
            Some(r) if r.revoked_at.is_some() => "revoked",
            Some(r) if r.intent.not_after <= now => "expired",
            _ => "valid",
        };
        Ok(SignetRecord {
            serial: serial.to_hex(),
            order_number: order.as_ref().map(|o| o.order_number.to_string()),
            order_status: order.as_ref().map(|o| o.status.to_string()),
            status,
        })
    }
}

/// The inventory as CSV (RFC 4180): one row per certificate and place.
pub fn inventory_csv(items: &[InventoryItem]) -> String {
    let mut out = String::from(
        "fingerprint_sha256,subject,issuer,not_after,days_left,issued_by_signet,host,address,port,sni,first_seen,last_seen,answering,alerts\r\n",
    );
    for item in items {
        for place in &item.places {
            let row = [
                item.fingerprint_sha256.clone(),
                item.subject.clone(),
                item.issuer.clone(),
                item.not_after.clone(),
                item.days_left.to_string(),
                item.issued_by_signet.to_string(),
                place.host.clone(),
                place.address.clone(),
                place.port.to_string(),
                place.sni.clone().unwrap_or_default(),
                place.first_seen.clone(),
                place.last_seen.clone(),
                place.answering.to_string(),
                place.alerts.join(" "),
            ];
            out.push_str(&row.map(|f| csv_field(&f)).join(","));
            out.push_str("\r\n");
        }
    }
    out
}

/// A CSV field, quoted when it must be; a leading `=`, `+`, `-` or `@` is defused so that a
/// spreadsheet does not run a subject name as a formula (OWASP CSV injection).
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// How long one host name may take to resolve.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Expands a job's targets into spots (each address, port and SNI once, at most `limit`
/// addresses); host names are resolved (at most [`ADDRESSES_PER_NAME`] addresses each), and
/// addresses the allowlist refuses are left out and named. Also returns the names that did
/// not resolve.
async fn resolve(
    spec: &JobSpec,
    allowlist: &Allowlist,
    limit: usize,
) -> (Vec<Spot>, Vec<String>, std::collections::HashSet<String>) {
    let mut spots = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut refused = Vec::new();
    let mut unresolved = std::collections::HashSet::new();
    let mut addresses_left = limit;
    for target in &spec.targets {
        let (host, sni, addresses) = match target {
            TargetSpec::Net(_) => (None, None, target.addresses(addresses_left)),
            TargetSpec::Host(name) => {
                let lookup = tokio::time::timeout(
                    LOOKUP_TIMEOUT,
                    tokio::net::lookup_host((name.as_str(), 0)),
                )
                .await;
                let found: Vec<IpAddr> = match lookup {
                    Ok(Ok(found)) => found.map(|a: SocketAddr| a.ip().to_canonical()).collect(),
                    Ok(Err(e)) => {
                        refused.push(format!("{name}: does not resolve ({e})"));
                        unresolved.insert(name.clone());
                        continue;
                    }
                    Err(_) => {
                        refused.push(format!("{name}: no answer from DNS in 5 s"));
                        unresolved.insert(name.clone());
                        continue;
                    }
                };
                let mut allowed = Vec::new();
                for ip in found {
                    match allowlist.check_resolved(name, ip) {
                        Ok(()) if !allowed.contains(&ip) => allowed.push(ip),
                        Ok(()) => {}
                        Err(e) => refused.push(e.to_string()),
                    }
                }
                allowed.truncate(ADDRESSES_PER_NAME.min(addresses_left));
                (Some(name.clone()), Some(name.clone()), allowed)
            }
        };
        addresses_left = addresses_left.saturating_sub(addresses.len());
        for address in addresses {
            for &port in &spec.ports {
                if !seen.insert((address, port, sni.clone())) {
                    continue;
                }
                spots.push(Spot {
                    host: host.clone().unwrap_or_else(|| address.to_string()),
                    address,
                    port,
                    sni: sni.clone(),
                    upgrade: rules::upgrade_for(port, &spec.starttls),
                });
            }
        }
    }
    (spots, refused, unresolved)
}

/// One spot, on a blocking thread: the chain it serves, judged; `None` when it does not answer
/// with a certificate.
fn scan_one(spot: &Spot, judging: &Judging, now: time::OffsetDateTime) -> Option<Examined> {
    let starttls = spot.upgrade.and_then(|u| StartTls::parse(u.as_str()));
    let server_name = spot.sni.clone().unwrap_or_else(|| spot.address.to_string());
    let endpoint = Endpoint::new(
        SocketAddr::new(spot.address, spot.port),
        server_name.clone(),
        starttls,
        judging.timeout,
    )
    .with_budget(judging.timeout * 3);
    let served = match signet_tls::discover::served(&endpoint) {
        Ok(served) => served,
        Err(TlsTestError::Unreachable { .. }) => return None,
        Err(e) => {
            tracing::debug!(address = %endpoint.address, error = %e, "no certificate");
            return None;
        }
    };
    signet_tls::discover::examine(
        &served,
        &server_name,
        spot.sni.is_some(),
        &judging.anchors,
        &judging.signet_cas,
        now,
    )
}

/// A label value in the Prometheus text format: backslash, quote and newline escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Signet {
    /// The inventory in the Prometheus text format (version 0.0.4): certificates by alert,
    /// days to expiry per place, places answering or not, the last run of each job.
    pub async fn discovery_metrics(&self) -> Result<String, AppError> {
        use std::fmt::Write as _;
        let items = self.discovery_inventory().await?;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP signet_discovery_certificates Certificates found by discovery, by alert (state=\"ok\": none, \"all\": every one).\n# TYPE signet_discovery_certificates gauge"
        );
        let ok = items.iter().filter(|i| i.alerts.is_empty()).count();
        let _ = writeln!(
            out,
            "signet_discovery_certificates{{state=\"all\"}} {}",
            items.len()
        );
        let _ = writeln!(out, "signet_discovery_certificates{{state=\"ok\"}} {ok}");
        for alert in Alert::ALL {
            let n = items
                .iter()
                .filter(|i| i.alerts.contains(&alert.as_str()))
                .count();
            let _ = writeln!(
                out,
                "signet_discovery_certificates{{state=\"{alert}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP signet_discovery_expiry_days Days until the certificate served at a place expires (negative: expired).\n# TYPE signet_discovery_expiry_days gauge"
        );
        let mut answering = [0u64; 2];
        for item in &items {
            for p in &item.places {
                answering[usize::from(p.answering)] += 1;
                let _ = writeln!(
                    out,
                    "signet_discovery_expiry_days{{host=\"{}\",address=\"{}\",port=\"{}\",sni=\"{}\",fingerprint=\"{}\",issued_by_signet=\"{}\"}} {}",
                    label(&p.host),
                    label(&p.address),
                    p.port,
                    label(p.sni.as_deref().unwrap_or("")),
                    &item.fingerprint_sha256,
                    item.issued_by_signet,
                    item.days_left
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP signet_discovery_places Places (address, port, SNI) in the inventory, by whether they answered at their last scan.\n# TYPE signet_discovery_places gauge\nsignet_discovery_places{{answering=\"true\"}} {}\nsignet_discovery_places{{answering=\"false\"}} {}",
            answering[1], answering[0]
        );
        let _ = writeln!(
            out,
            "# HELP signet_discovery_last_run_timestamp_seconds When each job's last finished run ended.\n# TYPE signet_discovery_last_run_timestamp_seconds gauge"
        );
        let mut seen = BTreeSet::new();
        for run in self.store.discovery_runs(200).await? {
            if let Some(end) = run.finished_at
                && seen.insert(run.job_name.clone())
            {
                let _ = writeln!(
                    out,
                    "signet_discovery_last_run_timestamp_seconds{{job=\"{}\"}} {}",
                    label(&run.job_name),
                    end.unix_timestamp()
                );
            }
        }
        Ok(out)
    }

    /// Staff's view of discovery: administrators only.
    pub fn may_manage_discovery(actor: &Actor) -> Result<(), AppError> {
        Starter::Staff(actor).check()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(super::csv_field("plain"), "plain");
        assert_eq!(super::csv_field("CN=a,O=b"), "\"CN=a,O=b\"");
        assert_eq!(
            super::csv_field("=cmd|' /C calc'!A0"),
            "'=cmd|' /C calc'!A0"
        );
        assert_eq!(super::csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
