//! `signet discover`: certificate discovery jobs, runs and the inventory, for the operator.

use clap::{Args, Subcommand};
use signet_app::AppError;
use signet_app::discovery::{NewJob, Progress, Starter, inventory_csv};
use signet_app::issue::Signet;

pub(crate) const HELP: &str = "\
Targets must lie inside [discovery] allowed_targets in signet.toml (CIDR ranges, addresses,
host names, *.domain), or SIGNET_DISCOVERY_ALLOWED_TARGETS for a session. Ports 25 and 587
use SMTP STARTTLS, 143 IMAP, 110 POP3 and 389 LDAP unless --starttls says otherwise.

Examples:
  signet discover job add --name office --targets 10.1.2.0/24,intranet.example.org \\
      --ports 443,8443,636,993,995 --every 24h --contacts pki@example.org
  signet discover run --job office
  signet discover inventory --csv > certificates.csv";

#[derive(Subcommand, Debug)]
pub(crate) enum DiscoverCommand {
    /// Define, list and remove discovery jobs.
    Job {
        #[command(subcommand)]
        command: JobCommand,
    },
    /// Run one job now, or every job; a progress bar shows how far it is.
    Run {
        /// The job's name; every job when left out.
        #[arg(long)]
        job: Option<String>,
        /// No progress bar; print only the summary.
        #[arg(long)]
        quiet: bool,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The run history, newest first: who started each run, how far it got, what it found.
    Runs {
        /// One job's runs only.
        #[arg(long)]
        job: Option<String>,
    },
    /// Every certificate found, with where it is served and its alerts.
    Inventory {
        /// A JSON array, one object per certificate.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// CSV, one row per certificate and place.
        #[arg(long)]
        csv: bool,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum JobCommand {
    /// Define a job.
    Add(JobArgs),
    /// List the jobs with their schedule and last run.
    List,
    /// Remove a job and its run history (the inventory it built stays).
    Remove {
        #[arg(long)]
        name: String,
    },
}

#[derive(Args, Debug)]
pub(crate) struct JobArgs {
    /// A short unique name.
    #[arg(long)]
    name: String,
    /// Comma-separated addresses, CIDR ranges (10.1.2.0/24) and host names (sent as SNI).
    #[arg(long)]
    targets: String,
    /// Comma-separated ports.
    #[arg(long, default_value = "443")]
    ports: String,
    /// STARTTLS for ports other than the usual ones: PORT=smtp|imap|pop3|ldap, comma-separated,
    /// or a protocol alone for every port of the job.
    #[arg(long, default_value = "")]
    starttls: String,
    /// Run inside `signet serve` every so often: 30m, 24h, 7d. Without it, only when started.
    #[arg(long, default_value = "")]
    every: String,
    /// Comma-separated e-mail addresses that are mailed new alerts.
    #[arg(long, default_value = "")]
    contacts: String,
    /// Connections open at once (default 32).
    #[arg(long)]
    concurrency: Option<u32>,
    /// New connections per second (default 100).
    #[arg(long)]
    rate: Option<u32>,
}

pub(crate) async fn run(signet: &Signet, command: &DiscoverCommand) -> Result<(), AppError> {
    match command {
        DiscoverCommand::Job { command } => job(signet, command).await,
        DiscoverCommand::Run { job, quiet, json } => {
            let names = match job {
                Some(name) => vec![name.clone()],
                None => signet
                    .discovery_jobs()
                    .await?
                    .into_iter()
                    .map(|j| j.spec.name)
                    .collect(),
            };
            for name in names {
                let bar = if *quiet || *json {
                    indicatif::ProgressBar::hidden()
                } else {
                    indicatif::ProgressBar::new(0)
                };
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{prefix} [{bar:30}] {pos}/{len} endpoints, {msg} [{elapsed}]",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar.set_prefix(name.clone());
                let progress = |p: Progress| {
                    bar.set_length(p.endpoints);
                    bar.set_position(p.done);
                    bar.set_message(format!("{} answered", p.answered));
                };
                let summary = signet
                    .run_discovery(Starter::Operator, &name, &progress)
                    .await;
                bar.finish_and_clear();
                let summary = summary?;
                if *json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&summary)
                            .map_err(|e| AppError::Internal(e.to_string()))?
                    );
                    continue;
                }
                println!(
                    "{}: {} endpoints tried, {} answered, {} certificates; {} alert line(s) mailed",
                    summary.job,
                    summary.endpoints,
                    summary.answered,
                    summary.certificates,
                    summary.mailed
                );
                for (alert, n) in &summary.alerts {
                    println!("  {alert}: {n}");
                }
                for refused in &summary.refused {
                    println!("  skipped: {refused}");
                }
            }
            Ok(())
        }
        DiscoverCommand::Runs { job } => {
            for r in signet.discovery_runs(500).await? {
                if job.as_ref().is_some_and(|j| *j != r.job_name) {
                    continue;
                }
                println!(
                    "{}  {}  by {}  {}/{} endpoints, {} answered, {} certificates  {}{}",
                    signet_app::dates::minute(r.started_at),
                    r.job_name,
                    r.started_by,
                    r.done,
                    r.endpoints,
                    r.answered,
                    r.certificates,
                    r.outcome.as_deref().unwrap_or("running or interrupted"),
                    if r.refused.is_empty() {
                        String::new()
                    } else {
                        format!("  (skipped: {})", r.refused)
                    }
                );
            }
            Ok(())
        }
        DiscoverCommand::Inventory { json, csv } => {
            let items = signet.discovery_inventory().await?;
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&items)
                        .map_err(|e| AppError::Internal(e.to_string()))?
                );
            } else if *csv {
                print!("{}", inventory_csv(&items));
            } else {
                for item in &items {
                    println!(
                        "{}  {:>5} days  {}  {}{}",
                        &item.fingerprint_sha256[..16],
                        item.days_left,
                        item.subject,
                        item.places
                            .iter()
                            .map(|p| format!("{}:{}", p.host, p.port))
                            .collect::<Vec<_>>()
                            .join(" "),
                        if item.alerts.is_empty() {
                            String::new()
                        } else {
                            format!("  [{}]", item.alerts.join(", "))
                        }
                    );
                }
            }
            Ok(())
        }
    }
}

async fn job(signet: &Signet, command: &JobCommand) -> Result<(), AppError> {
    match command {
        JobCommand::Add(a) => {
            let job = signet
                .add_discovery_job(
                    Starter::Operator,
                    &NewJob {
                        name: a.name.clone(),
                        targets: a.targets.clone(),
                        ports: a.ports.clone(),
                        starttls: a.starttls.clone(),
                        every: a.every.clone(),
                        contacts: a.contacts.clone(),
                        concurrency: a.concurrency,
                        rate: a.rate,
                    },
                )
                .await?;
            println!(
                "discovery job {} added: {} target(s) on {} port(s){}",
                job.spec.name,
                job.spec.targets.len(),
                job.spec.ports.len(),
                job.spec
                    .every
                    .map(|e| format!(", every {}", signet_domain::discovery::every_text(e)))
                    .unwrap_or_default()
            );
            Ok(())
        }
        JobCommand::List => {
            let runs = signet.discovery_runs(500).await?;
            for job in signet.discovery_jobs().await? {
                let last = runs
                    .iter()
                    .find(|r| r.job_id == job.id)
                    .map(|r| {
                        format!(
                            "last run {} by {}: {}, {}/{} answered",
                            signet_app::dates::minute(r.started_at),
                            r.started_by,
                            r.outcome.as_deref().unwrap_or("running or interrupted"),
                            r.answered,
                            r.endpoints
                        )
                    })
                    .unwrap_or_else(|| "never run".into());
                println!(
                    "{}  targets {}  ports {}  {}  contacts {}  {last}",
                    job.spec.name,
                    job.spec
                        .targets
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                    job.spec
                        .ports
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                    job.spec
                        .every
                        .map(|e| format!("every {}", signet_domain::discovery::every_text(e)))
                        .unwrap_or_else(|| "on demand".into()),
                    if job.spec.contacts.is_empty() {
                        "none".into()
                    } else {
                        job.spec.contacts.join(",")
                    }
                );
            }
            Ok(())
        }
        JobCommand::Remove { name } => {
            signet.remove_discovery_job(Starter::Operator, name).await?;
            println!("discovery job {name} removed");
            Ok(())
        }
    }
}
