//! `signet`: the command line. The only place that picks concrete implementations (database,
//! key backend, clock).
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use signet_app::config::{InitChoices, KeyBackendKind, KeySettings, Pkcs11Settings};
use signet_app::issue::{IssueRequest, Signet};
use signet_app::{AppError, SystemClock};
use signet_domain::identity::IdentityInput;
use signet_domain::key::CaKeyAlgorithm;

#[derive(Parser, Debug)]
#[command(
    name = "signet",
    version,
    about = "Signet: certificate authority, registration authority and subscriber portal for class 3 personal certificates"
)]
struct Cli {
    /// Directory holding the CA: signet.toml, certificates, encrypted keys, SQLite database, outbox.
    #[arg(
        long,
        global = true,
        env = "SIGNET_DATA_DIR",
        default_value = "signet-data"
    )]
    data_dir: PathBuf,
    /// PostgreSQL URL (postgres://USER@HOST/DB) instead of the embedded SQLite database.
    #[arg(
        long,
        global = true,
        env = "SIGNET_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// Log format.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "SIGNET_LOG_FORMAT"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create the CA hierarchy (root, issuing CAs, OCSP responders) and signet.toml in the data directory.
    Init(InitArgs),
    /// Serve HTTP, or HTTPS with --tls-cert and --tls-key (initializing the CA first if the data
    /// directory is empty).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", env = "SIGNET_LISTEN")]
        listen: String,
        /// Serve HTTPS with this certificate chain (PEM, server certificate first).
        #[arg(long, env = "SIGNET_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The private key of the TLS certificate (PEM; PKCS#8, SEC1 or PKCS#1).
        #[arg(long, env = "SIGNET_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        #[command(flatten)]
        init: InitArgs,
    },
    /// Issue a certificate for a CSR and an identity (operator tool); prints the PEM certificate.
    Issue {
        /// Profile name from signet.toml (e.g. class3-auth, smime-sponsor-multipurpose).
        #[arg(long)]
        profile: String,
        /// The CSR, PEM or DER. Only its public key is used.
        #[arg(long)]
        csr: PathBuf,
        /// Identity JSON: given_name, surname, email, organization, country, organization_identifier?, organizational_unit?, title?
        #[arg(long)]
        subject: PathBuf,
        /// Validity in calendar months (limited by the profile, or the product).
        #[arg(long)]
        validity_months: u32,
        /// Product whose maximum validity applies as well.
        #[arg(long)]
        product: Option<String>,
    },
    /// Revoke a certificate (operator tool); the serial in hex.
    Revoke {
        serial: String,
        /// key_compromise, superseded, affiliation_changed, cessation_of_operation or unspecified.
        #[arg(long)]
        reason: String,
    },
    /// Run the background jobs once: reconciliation (lapsed pickups, interrupted issuance,
    /// CRLs behind their revocations), expiry reminders, due CRLs, OCSP refresh, mail delivery.
    /// `serve` runs reconciliation and mail continuously and the rest every hour.
    Jobs {
        /// Run one job only.
        #[arg(long, value_enum)]
        only: Option<Job>,
    },
    /// The mail outbox: what is queued, sent or given up, and retrying.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// Sign and publish new CRLs now: every shard of every CA, or of one CA (e.g. `--ca root`,
    /// for the offline-style root whose CRL the operator produces).
    Crl {
        /// The CA: root or an issuing CA name.
        #[arg(long)]
        ca: Option<String>,
    },
    /// Staff accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Write a backup: configuration, CA certificates, encrypted CA keys and a consistent copy
    /// of the database (SQLite's online backup, or pg_dump), taken while Signet serves.
    Backup {
        /// The archive to write (gzip'd tar, mode 0600).
        #[arg(long)]
        to: PathBuf,
        /// Also the passphrase file of the CA keys and the TOTP sealing key: the archive then
        /// unlocks the CA by itself, so keep it like a key. Without it, bring them back by hand.
        #[arg(long)]
        include_secrets: bool,
    },
    /// Rebuild an empty data directory (and, with --database-url, an empty PostgreSQL
    /// database) from a backup, then check its audit chain.
    Restore {
        #[arg(long)]
        from: PathBuf,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a staff account and mail it an invitation whose single-use link sets the password.
    Add {
        /// agent, vetting, support, admin or auditor.
        #[arg(long)]
        role: String,
        #[arg(long)]
        email: String,
        /// Display name (defaults to the e-mail address).
        #[arg(long)]
        name: Option<String>,
        /// Country a registration agent serves (ISO 3166 alpha-2); agents only.
        #[arg(long)]
        region: Option<String>,
    },
    /// Lift a log-in lock now (after failed log-ins; check with the owner first). The owner
    /// can also lift it by resetting the password.
    Unlock {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Job {
    Reconcile,
    Reminders,
    Crl,
    Ocsp,
    Mail,
}

#[derive(Subcommand, Debug)]
enum MailCommand {
    /// Messages per state and the newest ones (without their bodies, which hold links).
    Status,
    /// Make given-up (dead) or waiting messages due now, then deliver what is due.
    Retry {
        /// One message (its id from `mail status`); all when left out.
        #[arg(long)]
        id: Option<i64>,
    },
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Check the hash chain of the audit log; names the first broken record.
    Verify,
}

#[derive(clap::Args, Debug)]
struct InitArgs {
    /// Public base URL written into certificates (CRL and AIA) and mails.
    #[arg(long, env = "SIGNET_BASE_URL", default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// Organization running the CA, as written in CA certificates.
    #[arg(long, default_value = "Signet Demo")]
    organization: String,
    /// Country of that organization (ISO 3166 alpha-2).
    #[arg(long, default_value = "BE")]
    country: String,
    /// Key algorithm of the root and issuing CAs: p-384 or rsa-4096.
    #[arg(long, default_value = "p-384")]
    ca_key_algorithm: CaKeyAlgorithm,
    /// Key algorithm of the OCSP responders: p-256 (fastest), p-384 or rsa-4096.
    #[arg(long, default_value = "p-256")]
    ocsp_key_algorithm: CaKeyAlgorithm,
    /// Where CA keys live: encrypted files, or a PKCS#11 token (HSM).
    #[arg(long, value_enum, default_value = "file")]
    key_backend: Backend,
    /// PKCS#11 module (with --key-backend pkcs11).
    #[arg(
        long,
        env = "SIGNET_PKCS11_MODULE",
        default_value = "/usr/lib/softhsm/libsofthsm2.so"
    )]
    pkcs11_module: PathBuf,
    /// Label of the PKCS#11 token (the PIN comes from SIGNET_PKCS11_PIN or --pkcs11-pin-file).
    #[arg(long, default_value = "signet")]
    pkcs11_token: String,
    /// File holding the PKCS#11 user PIN (mode 0600).
    #[arg(long)]
    pkcs11_pin_file: Option<PathBuf>,
    /// Your certificate policy OID for the class 3 product (default: a random example OID, fine for tests only).
    #[arg(long)]
    policy_oid: Option<String>,
    /// CRL shards per issuing CA (fixed per certificate at issuance, in its CDP).
    #[arg(long, default_value_t = 1)]
    crl_shards: u32,
    /// E-mail address of the first administrator; init mails (and prints) a one-time set-up link.
    #[arg(long, default_value = "admin@signet.example")]
    admin_email: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Backend {
    File,
    Pkcs11,
}

impl InitArgs {
    fn choices(&self) -> Result<InitChoices, AppError> {
        let keys = match self.key_backend {
            Backend::File => KeySettings {
                backend: KeyBackendKind::File,
                passphrase_file: None,
                pkcs11: None,
            },
            Backend::Pkcs11 => KeySettings {
                backend: KeyBackendKind::Pkcs11,
                passphrase_file: None,
                pkcs11: Some(Pkcs11Settings {
                    module: self.pkcs11_module.clone(),
                    token_label: self.pkcs11_token.clone(),
                    pin_file: self.pkcs11_pin_file.clone(),
                }),
            },
        };
        Ok(InitChoices {
            base_url: self.base_url.clone(),
            organization: self.organization.clone(),
            country: self.country.to_ascii_uppercase(),
            ca_key_algorithm: self.ca_key_algorithm,
            ocsp_key_algorithm: self.ocsp_key_algorithm,
            keys,
            crl_shards: self.crl_shards,
            class3_policy: match &self.policy_oid {
                Some(oid) => oid.clone(),
                None => example_policy_oid()?,
            },
        })
    }
}

/// A random OID under IANA's enterprise number for documentation (32473, RFC 5612), for test
/// and demo CAs: a production CA passes its own registered policy OID with `--policy-oid`.
/// (UUID OIDs under 2.25 would need 128-bit arcs, which common ASN.1 libraries cannot carry.)
fn example_policy_oid() -> Result<String, AppError> {
    let hex = signet_app::random_hex(8)?;
    let a = u32::from_str_radix(&hex[..8], 16).map_err(|e| AppError::Internal(e.to_string()))?;
    let b = u32::from_str_radix(&hex[8..], 16).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(format!("1.3.6.1.4.1.32473.{}.{}", a >> 16, b >> 16))
}

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
    #[cfg(debug_assertions)]
    if let Some(offset) = std::env::var("SIGNET_TEST_CLOCK_OFFSET_SECONDS")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        return Arc::new(signet_app::OffsetClock(time::Duration::seconds(offset)));
    }
    Arc::new(SystemClock)
}

async fn open_signet(cli: &Cli) -> Result<Signet, AppError> {
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
            signet.reconcile().await?;
            signet.report_shared_addresses().await?;
            signet.refresh_ocsp().await?;
            let tls = tls_cert.as_deref().zip(tls_key.as_deref());
            serve(Arc::new(signet), listen, tls).await
        }
        Command::Revoke { serial, reason } => {
            let signet = open_signet(&cli).await?;
            signet.revoke_as_operator(serial, reason).await?;
            println!("revoked {serial} ({reason})");
            Ok(())
        }
        Command::Jobs { only } => {
            let signet = open_signet(&cli).await?;
            let runs = |job: Job| only.is_none_or(|o| o == job);
            let mut crls = 0;
            if runs(Job::Reconcile) {
                let r = signet.reconcile().await?;
                crls += r.crls;
                println!(
                    "reconciliation: {} lapsed pickups released, {} interrupted issuances closed, {} unlinked certificates revoked",
                    r.released_pickups.len(),
                    r.closed_intents.len(),
                    r.revoked_unlinked.len()
                );
            }
            if runs(Job::Reminders) {
                let sent = signet.send_expiry_reminders().await?;
                println!("expiry reminders sent: {sent}");
            }
            if runs(Job::Crl) {
                crls += signet.publish_due_crls(false).await?;
                println!("CRL shards published: {crls}");
            }
            if runs(Job::Ocsp) {
                let ocsp = signet.refresh_ocsp().await?;
                println!("OCSP responses signed: {ocsp}");
            }
            if runs(Job::Mail) {
                let mail = signet.deliver_due_mail().await?;
                println!(
                    "mail: {} sent, {} to retry, {} given up",
                    mail.sent, mail.failed, mail.dead
                );
            }
            Ok(())
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
            let role = signet_domain::role::Role::parse(role).ok_or_else(|| {
                AppError::Refused(signet_domain::Refusal::InvalidInput(format!(
                    "unknown role `{role}`: use agent, vetting, support, admin or auditor"
                )))
            })?;
            let signet = open_signet(&cli).await?;
            let name = name.clone().unwrap_or_else(|| email.clone());
            let (id, _) = signet
                .invite_staff(role, email, &name, region.as_deref(), "operator:cli")
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
            command: AuditCommand::Verify,
        } => {
            let store = open_store(&cli).await?;
            let entries = store.audit_entries().await?;
            match signet_app::audit::verify_chain(&entries) {
                Ok(n) => {
                    println!("audit log intact: {n} records, chain verified");
                    Ok(())
                }
                Err(b) => Err(AppError::Refused(signet_domain::Refusal::Conflict(
                    format!("audit log broken at record {}: {}", b.seq, b.reason),
                ))),
            }
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
            let signet = open_signet(&cli).await?;
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
    tokio::spawn(signet.clone().watch_revocations());
    tokio::spawn(signet.clone().run_mail_worker());
    // Reconciliation often (a lapsed pickup's link should work again within seconds of its
    // claim lapsing; a CRL behind a revocation is rebuilt at once); the rest hourly.
    let jobs = signet.clone();
    tokio::spawn(async move {
        let mut every_few_seconds =
            tokio::time::interval(std::time::Duration::from_secs(RECONCILE_EVERY_SECONDS));
        loop {
            every_few_seconds.tick().await;
            if let Err(e) = jobs.reconcile().await {
                tracing::error!(error = %e, "reconciliation failed; trying again shortly");
            }
        }
    });
    let jobs = signet.clone();
    tokio::spawn(async move {
        let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every_hour.tick().await;
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

/// How often `serve` reconciles (seconds).
const RECONCILE_EVERY_SECONDS: u64 = 5;

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
