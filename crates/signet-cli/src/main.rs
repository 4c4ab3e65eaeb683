//! `signet`: the command line (its arguments are in `args.rs`). It picks the database and the
//! clock; the key backend and the mail transport follow `signet.toml` (signet-app opens them).
#![forbid(unsafe_code)]

mod args;
mod bulk;
mod discover;
mod relying_party;
mod signing;
mod tls_test;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use signet_app::issue::{IssueRequest, Signet};

use args::{
    AuditCommand, Cli, Command, InitArgs, Job, LogFormat, MailCommand, StaffCaCommand, TsaCommand,
    UserCommand,
};
use signet_app::{AppError, SystemClock};
use signet_domain::identity::IdentityInput;

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SIGNET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    // These need no async runtime, and their HTTP client blocks.
    match &cli.command {
        Command::Sign(args) => return signing::run(args),
        Command::TlsTest(args) => return tls_test::run(args, &cli.data_dir),
        Command::Verify(args) if args.standalone() => return signing::run_verify_standalone(args),
        _ => {}
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Command::Verify(args) = &cli.command {
        // Its exit status tells valid (0) from not valid (1) from not examined (2).
        return match runtime.block_on(check_signature(&cli, args)) {
            Ok(report) => signing::finish(&report, args.json),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        };
    }
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.is_refusal() {
                tracing::error!(error = %e, "command failed");
            }
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The system clock; in debug builds (tests) `SIGNET_TEST_CLOCK_OFFSET_SECONDS` moves it, so a
/// test can stand at any point of a certificate's life without waiting for the calendar.
fn clock() -> signet_app::SharedClock {
    // Test builds only: the clock moved by a fixed offset (SIGNET_TEST_CLOCK_OFFSET_SECONDS, for
    // one command) plus one the tests move forward by writing seconds to a file
    // (SIGNET_TEST_CLOCK_FILE, read at each tick), so no test sleeps for a TOTP step or a window.
    #[cfg(debug_assertions)]
    {
        let fixed = std::env::var("SIGNET_TEST_CLOCK_OFFSET_SECONDS")
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok());
        let file = std::env::var_os("SIGNET_TEST_CLOCK_FILE").map(std::path::PathBuf::from);
        if fixed.is_some() || file.is_some() {
            return Arc::new(TestClock {
                fixed: fixed.unwrap_or(0),
                file,
            });
        }
    }
    Arc::new(SystemClock)
}

/// The system clock moved by a fixed offset and by the one a test wrote to a file (debug
/// builds only).
#[cfg(debug_assertions)]
#[derive(Debug)]
struct TestClock {
    fixed: i64,
    file: Option<std::path::PathBuf>,
}

#[cfg(debug_assertions)]
impl signet_app::Clock for TestClock {
    fn now(&self) -> time::OffsetDateTime {
        let moved = self
            .file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .and_then(|t| t.trim().parse::<i64>().ok())
            .unwrap_or(0);
        time::OffsetDateTime::now_utc() + time::Duration::seconds(self.fixed + moved)
    }
}

/// `signet verify` with the CA in the data directory as the judge.
async fn check_signature(
    cli: &Cli,
    args: &signing::VerifyArgs,
) -> Result<signet_sign::report::Report, AppError> {
    // Opening a store would create one: a directory without a CA is said so, untouched.
    if cli.database_url.is_none() && !cli.data_dir.join("signet.toml").exists() {
        return Err(AppError::Refused(signet_domain::Refusal::InvalidInput(
            format!(
                "{} holds no CA to judge with: give --trust ROOT.pem, or --data-dir of a Signet CA",
                cli.data_dir.display()
            ),
        )));
    }
    let signet = open_signet(cli).await?;
    let (input, signature) = args
        .inputs()
        .map_err(|e| AppError::Refused(signet_domain::Refusal::InvalidInput(e)))?;
    signet.check_signature(&input, signature.as_deref()).await
}

/// Opens the CA with every key decrypted: a command that signs fails on a wrong passphrase
/// before it writes anything.
async fn open_signet(cli: &Cli) -> Result<Signet, AppError> {
    let signet = open_signet_without_keys(cli).await?;
    signet.unlock_keys()?;
    Ok(signet)
}

/// Opens the CA for a command that signs nothing (its key files stay encrypted).
async fn open_signet_without_keys(cli: &Cli) -> Result<Signet, AppError> {
    Signet::open(&cli.data_dir, open_store(cli).await?, clock()).await
}

/// Mail a command queued goes out before it ends (a relay that fails leaves it queued for
/// `serve` or the next `signet jobs`, which retry).
async fn send_queued_mail(signet: &Signet) {
    match signet.deliver_due_mail().await {
        Ok(d) if d.failed + d.dead > 0 => eprintln!(
            "warning: {} mail(s) could not be delivered yet; they stay queued (see `signet mail status`)",
            d.failed + d.dead
        ),
        Ok(_) => {}
        Err(e) => eprintln!("warning: mail delivery: {e}; the mail stays queued"),
    }
}

async fn open_store(cli: &Cli) -> Result<Arc<dyn signet_store::Store>, AppError> {
    let url = match &cli.database_url {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(&cli.data_dir).map_err(|e| AppError::io(&cli.data_dir, e))?;
            format!("sqlite://{}", cli.data_dir.join("signet.db").display())
        }
    };
    Ok(signet_store::open(&url).await?)
}

async fn run(cli: Cli) -> Result<(), AppError> {
    match &cli.command {
        Command::Init(args) => {
            let store = open_store(&cli).await?;
            init(&cli.data_dir, args, store.clone()).await
        }
        Command::Serve {
            listen,
            tls_cert,
            tls_key,
            init: args,
        } => {
            let store = open_store(&cli).await?;
            if !signet_app::config::ConfigFile::path(&cli.data_dir).exists() {
                tracing::info!(data_dir = %cli.data_dir.display(), "no CA yet: initializing first");
                init(&cli.data_dir, args, store.clone()).await?;
            }
            let signet = Signet::open(&cli.data_dir, store, clock()).await?;
            signet.unlock_keys()?;
            signet.reconcile().await?;
            signet.report_shared_addresses().await?;
            signet.refresh_ocsp().await?;
            let tls = tls_cert.as_deref().zip(tls_key.as_deref());
            serve(Arc::new(signet), listen, tls).await
        }
        Command::Revoke { serial, reason } => {
            let signet = open_signet(&cli).await?;
            signet.revoke_as_operator(serial, *reason).await?;
            println!("revoked {serial} ({reason})");
            Ok(())
        }
        Command::Jobs { only } => {
            let signet = open_signet(&cli).await?;
            let report = signet.run_jobs_once(only.map(Job::into_app)).await;
            if let Some(r) = report.reconciled {
                println!(
                    "reconciliation: {} lapsed pickups released, {} interrupted issuances closed, {} unlinked certificates revoked",
                    r.released_pickups.len(),
                    r.closed_intents.len(),
                    r.revoked_unlinked.len()
                );
            }
            if let Some(sent) = report.reminders {
                println!("expiry reminders sent: {sent}");
            }
            if let (Some(crls), true) = (report.crls, only.is_none_or(|o| o == Job::Crl)) {
                println!("CRL shards published: {crls}");
            }
            if let Some(ocsp) = report.ocsp {
                println!("OCSP responses signed: {ocsp}");
            }
            if let Some(ran) = report.discovery {
                println!("discovery jobs run: {ran}");
            }
            if let Some(mail) = report.mail {
                println!(
                    "mail: {} sent, {} to retry, {} given up",
                    mail.sent, mail.failed, mail.dead
                );
            }
            for (job, why) in &report.failed {
                eprintln!("job {job} failed: {why}");
            }
            match report.failed.len() {
                0 => Ok(()),
                n => Err(AppError::Internal(format!(
                    "{n} job(s) failed (the others ran); see above, and run `signet jobs --only JOB` again"
                ))),
            }
        }
        Command::Publish => {
            let signet = open_signet_without_keys(&cli).await?;
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            let progress = |seen: usize, uploaded: usize| {
                bar.set_message(format!(
                    "{seen} certificates looked at, {uploaded} OCSP responses in the bucket"
                ));
            };
            let result = signet.publish_everything(&progress).await;
            bar.finish_and_clear();
            let (crls, ocsp) = result?;
            println!("published: {crls} CRLs, {ocsp} OCSP responses");
            Ok(())
        }
        Command::Discover { command } => {
            let signet = open_signet_without_keys(&cli).await?;
            discover::run(&signet, command).await
        }
        Command::Mail { command } => {
            let signet = open_signet(&cli).await?;
            if let MailCommand::Retry { id } = command {
                let n = signet.retry_mail_as_operator(*id).await?;
                let d = signet.deliver_due_mail().await?;
                println!(
                    "{n} message(s) made due; {} sent, {} to retry, {} given up",
                    d.sent, d.failed, d.dead
                );
            }
            let (counts, recent) = signet.mail_overview(20).await?;
            for (state, n) in counts {
                println!("{state:<8} {n}");
            }
            for m in recent {
                println!(
                    "#{:<6} {:<7} tries {:<2} {} \"{}\"{}",
                    m.id,
                    m.state,
                    m.attempts,
                    m.mail.to,
                    m.mail.subject,
                    m.last_error
                        .map(|e| format!(" — last error: {e}"))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
        Command::Tsa {
            command:
                TsaCommand::Init {
                    key_algorithm,
                    policy_oid,
                },
        } => {
            let store = open_store(&cli).await?;
            let config = signet_app::config::ConfigFile::load(&cli.data_dir)?;
            let settings = signet_app::config::TsaSettings {
                common_name: format!("{} Time-Stamping Authority", config.ca.organization),
                key_algorithm: *key_algorithm,
                policy: match policy_oid {
                    Some(oid) => oid.clone(),
                    None => args::example_policy_oid()?,
                },
            };
            let policy = settings.policy.clone();
            let path = signet_app::time_stamps::add_tsa(
                &cli.data_dir,
                store.as_ref(),
                &*clock(),
                settings,
            )
            .await?;
            println!(
                "time-stamping authority added: certificate {}, policy {policy}; restart `signet serve` to answer at POST /tsa",
                path.display()
            );
            Ok(())
        }
        // Handled in `main`.
        Command::Sign(_) | Command::Verify(_) | Command::TlsTest(_) => Ok(()),
        Command::RelyingParty { server } => {
            print!("{}", relying_party::run(&cli.data_dir, server)?);
            Ok(())
        }
        Command::Crl { ca } => {
            let signet = open_signet(&cli).await?;
            let shards: Vec<_> = signet
                .crl_shards()
                .into_iter()
                .filter(|(n, _)| ca.as_ref().is_none_or(|c| c == n))
                .collect();
            if shards.is_empty() {
                return Err(AppError::NotFound(format!(
                    "CA `{}`",
                    ca.clone().unwrap_or_default()
                )));
            }
            for (name, shard) in shards {
                let crl = signet.publish_crl(&name, shard).await?;
                println!(
                    "{name} shard {shard}: CRL number {} valid until {}",
                    crl.number, crl.next_update
                );
            }
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    role,
                    email,
                    name,
                    region,
                },
        } => {
            let signet = open_signet(&cli).await?;
            let name = name.clone().unwrap_or_else(|| email.clone());
            let (id, _) = signet
                .invite_staff(*role, email, &name, region.as_deref(), "operator:cli")
                .await?;
            send_queued_mail(&signet).await;
            println!(
                "Created {} account {id} for {email}; the invitation was mailed.",
                role.as_str()
            );
            Ok(())
        }
        Command::User {
            command: UserCommand::Unlock { email },
        } => {
            let signet = open_signet(&cli).await?;
            signet.unlock_account(email, "operator:cli").await?;
            println!("Log-ins to {email} are unlocked.");
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify { decisions },
        } => {
            let store = open_store(&cli).await?;
            let entries = store.audit_entries().await?;
            let n = signet_app::audit::verify_chain(&entries).map_err(|b| {
                AppError::Refused(signet_domain::Refusal::Conflict(format!(
                    "audit log broken at record {}: {}",
                    b.seq, b.reason
                )))
            })?;
            println!("audit log intact: {n} records, chain verified");
            if *decisions {
                let signet = Signet::open(&cli.data_dir, store, clock()).await?;
                let (checked, problems) = signet.verify_decisions().await?;
                for p in &problems {
                    eprintln!(
                        "decision {} on order {}: {}",
                        p.decision_id, p.order_number, p.problem
                    );
                }
                if !problems.is_empty() {
                    return Err(AppError::Refused(signet_domain::Refusal::Conflict(
                        format!(
                            "{} of {checked} signed decisions failed the check (listed above)",
                            problems.len()
                        ),
                    )));
                }
                println!("signed decisions intact: {checked} checked");
            }
            Ok(())
        }
        Command::StaffCa {
            command: StaffCaCommand::Init { policy_oid },
        } => {
            let store = open_store(&cli).await?;
            let policy = match policy_oid {
                Some(oid) => oid.clone(),
                None => args::example_policy_oid()?,
            };
            let bar = ProgressBar::new_spinner();
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            let progress = |step: &str| bar.set_message(step.to_owned());
            let result = signet_app::init::add_staff_ca(
                &cli.data_dir,
                store.as_ref(),
                &*clock(),
                &policy,
                &progress,
            )
            .await;
            bar.finish_and_clear();
            for path in result? {
                println!("  {}", path.display());
            }
            println!(
                "staff CA added (policy {policy}); restart `signet serve` so that officers can enrol decision-signing keys"
            );
            Ok(())
        }
        Command::Backup {
            to,
            include_secrets,
        } => {
            let store = open_store(&cli).await?;
            let m = signet_app::backup::backup(
                &cli.data_dir,
                store.as_ref(),
                to,
                *include_secrets,
                clock().now(),
            )
            .await?;
            println!(
                "Backup written to {}: {} files and the {:?} database{}.",
                to.display(),
                m.files.len(),
                m.database,
                if m.includes_secrets {
                    ", secrets included: keep it like a key"
                } else {
                    "; secrets not included: keep the CA passphrase (and secrets/totp-sealing.key) safe apart"
                }
            );
            Ok(())
        }
        Command::Restore { from } => {
            let m = signet_app::backup::restore(&cli.data_dir, from, cli.database_url.as_deref())
                .await?;
            let store = open_store(&cli).await?;
            let entries = store.audit_entries().await?;
            let checked = signet_app::audit::verify_chain(&entries).map_err(|b| {
                AppError::Refused(signet_domain::Refusal::Conflict(format!(
                    "restored, but the audit log is broken at record {}: {}",
                    b.seq, b.reason
                )))
            })?;
            println!(
                "Restored the backup of {} into {}: {} files, audit log intact ({checked} records).",
                m.created_at,
                cli.data_dir.display(),
                m.files.len()
            );
            if !m.includes_secrets {
                println!(
                    "The backup holds no secrets: put the CA passphrase in place (SIGNET_CA_PASSPHRASE, SIGNET_CA_PASSPHRASE_FILE or secrets/ca-passphrase) before `serve`."
                );
            }
            Ok(())
        }
        Command::Issue {
            profile,
            csr,
            subject,
            validity_months,
            product,
        } => {
            let csr_bytes = read(csr)?;
            let identity: IdentityInput = serde_json::from_slice(&read(subject)?).map_err(|e| {
                AppError::Refused(signet_domain::Refusal::InvalidIdentity {
                    field: "subject",
                    reason: format!("{}: {e}", subject.display()),
                })
            })?;
            // Only the keys this issuance signs with are decrypted (Signet::issue unlocks them).
            let signet = open_signet_without_keys(&cli).await?;
            let issued = signet
                .issue(IssueRequest {
                    profile: profile.clone(),
                    csr: csr_bytes,
                    identity,
                    validity_months: *validity_months,
                    product: product.clone(),
                })
                .await?;
            print!("{}", issued.pem());
            eprintln!("issued serial {}", issued.serial);
            Ok(())
        }
        Command::Issued { since, out } => {
            let signet = open_signet_without_keys(&cli).await?;
            bulk::issued_since(&signet, *since, out.as_deref()).await
        }
        Command::IssueBatch {
            requests,
            out,
            batch_size,
        } => {
            // Every key opens before the first request is recorded: a wrong passphrase stops the
            // run before anything of it is issued.
            let signet = open_signet(&cli).await?;
            bulk::issue_batch(&signet, requests, out, *batch_size as usize).await
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, AppError> {
    std::fs::read(path).map_err(|e| AppError::io(path, e))
}

async fn init(
    data_dir: &Path,
    args: &InitArgs,
    store: Arc<dyn signet_store::Store>,
) -> Result<(), AppError> {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let progress = |step: &str| bar.set_message(step.to_owned());
    let clock = clock();
    let result = signet_app::init::init(
        data_dir,
        args.choices()?,
        store.as_ref(),
        clock.as_ref(),
        &progress,
    )
    .await;
    bar.finish_and_clear();
    let report = result?;
    println!("Created the CA in {}", data_dir.display());
    for (name, path) in &report.certificates {
        println!("  {name:<14} {}", path.display());
    }
    println!("  configuration  {}", report.config_path.display());
    // The first administrator gets a one-time set-up link, never a default password.
    let signet = Signet::open(data_dir, store, clock).await?;
    let crls = signet.publish_due_crls(true).await?;
    println!("  CRLs           {crls} shards published");
    let (_, link) = signet
        .invite_staff(
            signet_domain::role::Role::Admin,
            &args.admin_email,
            "Administrator",
            None,
            "operator:init",
        )
        .await?;
    send_queued_mail(&signet).await;
    println!(
        "Administrator {}: set the password with this one-time link (valid 3 days):\n  {link}",
        args.admin_email
    );
    if let Some(file) = &report.passphrase_file {
        tracing::warn!(file = %file.display(), "CA keys are encrypted with a random passphrase stored in this file (mode 0600); for production, move it to a secret store and pass it with SIGNET_CA_PASSPHRASE or SIGNET_CA_PASSPHRASE_FILE");
    }
    Ok(())
}

async fn serve(
    signet: Arc<Signet>,
    listen: &str,
    tls: Option<(&std::path::Path, &std::path::Path)>,
) -> Result<(), AppError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| AppError::Config(format!("cannot listen on {listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    tracing::info!(%addr, base_url = %signet.base_url(), "serving");
    signet.start_jobs();
    let router = signet_web::router(signet);
    let Some((cert, key)) = tls else {
        println!("Signet listening on http://{addr}");
        return axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| AppError::Internal(format!("server: {e}")));
    };
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
        .await
        .map_err(|e| {
            AppError::Config(format!(
                "TLS certificate {} or key {}: {e}",
                cert.display(),
                key.display()
            ))
        })?;
    let std_listener = listener
        .into_std()
        .map_err(|e| AppError::Internal(format!("listener: {e}")))?;
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        stopper.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    println!("Signet listening on https://{addr}");
    axum_server::from_tcp_rustls(std_listener, config)
        .map_err(|e| AppError::Internal(format!("server: {e}")))?
        .handle(handle)
        .serve(router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .await
        .map_err(|e| AppError::Internal(format!("server: {e}")))
}

/// Ctrl-C or SIGTERM: stop accepting, let requests in flight finish.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
