//! The command line: every command, argument and help text (clap). `main.rs` runs them.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use signet_app::AppError;
use signet_app::config::{InitChoices, KeyBackendKind, KeySettings, Pkcs11Settings};
use signet_domain::certificate::RevocationReason;
use signet_domain::key::CaKeyAlgorithm;
use signet_domain::role::Role;
use signet_domain::serial::Serial;

#[derive(Parser, Debug)]
#[command(
    name = "signet",
    version,
    about = "Signet: certificate authority, registration authority and subscriber portal for class 3 personal certificates"
)]
pub(crate) struct Cli {
    /// Directory holding the CA: signet.toml, certificates, encrypted keys, SQLite database, outbox.
    #[arg(
        long,
        global = true,
        env = "SIGNET_DATA_DIR",
        default_value = "signet-data"
    )]
    pub(crate) data_dir: PathBuf,
    /// PostgreSQL URL (postgres://USER@HOST/DB) instead of the embedded SQLite database.
    #[arg(
        long,
        global = true,
        env = "SIGNET_DATABASE_URL",
        hide_env_values = true
    )]
    pub(crate) database_url: Option<String>,
    /// Log format.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "SIGNET_LOG_FORMAT"
    )]
    pub(crate) log_format: LogFormat,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
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
    /// Issue many subscriber certificates from a file of requests (operator tool, bulk
    /// issuance). One JSON object per line: {"profile": "class3-auth", "csr": "<PEM>",
    /// "subject": {identity as for `issue --subject`}, "validity_months": 12, "product": null}.
    /// Each certificate is written to OUT/<serial>.pem and each line's outcome printed; a line
    /// refused does not stop the others (the exit status is then 1).
    IssueBatch {
        /// The requests, JSON Lines.
        requests: PathBuf,
        /// Directory for the certificates (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Requests recorded and signed together (two units of work per group, signed on every
        /// core).
        /// At most 1,000 (signet_app::issue::MAX_BATCH: a group is signed well within the
        /// pickup claim time).
        #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u32).range(1..=i64::from(signet_app::issue::MAX_BATCH)))]
        batch_size: u32,
    },
    /// The certificates the operator issued since a time (serial and subject), and with --out
    /// each one the directory does not hold yet written there as <serial>.pem: what an
    /// `issue-batch` cut short (killed, a full disk) issued and recorded but never wrote out.
    Issued {
        /// RFC 3339, e.g. 2026-12-04T10:00:00Z: when the run began.
        #[arg(long, value_parser = parse_rfc3339)]
        since: time::OffsetDateTime,
        /// Directory to write the missing certificates to.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Revoke a certificate (operator tool); the serial in hex.
    Revoke {
        #[arg(value_parser = parse_serial)]
        serial: Serial,
        /// key_compromise, superseded, affiliation_changed, cessation_of_operation or unspecified.
        #[arg(long, value_parser = parse_reason)]
        reason: RevocationReason,
    },
    /// Run the background jobs once: reconciliation (lapsed pickups, interrupted issuance,
    /// CRLs behind their revocations), expiry reminders, due CRLs, OCSP refresh, mail delivery.
    /// `serve` runs reconciliation and mail continuously and the rest every hour.
    Jobs {
        /// Run one job only.
        #[arg(long, value_enum)]
        only: Option<Job>,
    },
    /// Upload each CRL shard's newest CRL and every current OCSP response to the bucket of
    /// `[publish]` (as `serve` does with each one it makes): for a new bucket, or after
    /// uploads failed. Each upload is checked (signature, distribution point, newer than the
    /// bucket's) and conditional, so it is safe while nodes run.
    Publish,
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
    /// Log-in at a service with these certificates (TLS client authentication): the CA file,
    /// CRL refresh script and configuration snippet for nginx or Apache httpd.
    #[command(long_about = crate::relying_party::ABOUT)]
    RelyingParty {
        #[command(subcommand)]
        server: crate::relying_party::WebServer,
    },
    /// Staff accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Sign a document with your certificate (the PFX from pickup). A PDF gets a PAdES
    /// signature appended as an incremental update; any other file gets a detached CMS
    /// signature (.p7s). Needs no CA data directory: run it on your own machine.
    #[command(after_help = crate::signing::SIGN_HELP)]
    Sign(crate::signing::SignArgs),
    /// Check a signed document: a signed PDF, or any file with its detached .p7s. Says who
    /// signed, when, whether the file changed since, whether the certificate leads to the root
    /// and whether it was valid when it signed and is now.
    #[command(after_help = crate::signing::VERIFY_HELP)]
    Verify(crate::signing::VerifyArgs),
    /// Test a server's TLS configuration and grade it: protocols, suites, the chain as served,
    /// revocation, client-certificate requests (does it accept Signet's CAs?), HSTS.
    #[command(name = "tls-test", after_help = crate::tls_test::HELP)]
    TlsTest(crate::tls_test::TlsTestArgs),
    /// Certificate discovery: scan the network for the certificates in use, keep an inventory
    /// and raise alerts (expired, expiring, weak, unknown issuer, changed …).
    #[command(after_help = crate::discover::HELP)]
    Discover {
        #[command(subcommand)]
        command: crate::discover::DiscoverCommand,
    },
    /// The time-stamping authority (RFC 3161, served at POST /tsa).
    Tsa {
        #[command(subcommand)]
        command: TsaCommand,
    },
    /// The staff CA, which certifies officers' decision-signing keys (30-day certificates with
    /// clientAuth and Signet's decision-signing purpose).
    StaffCa {
        #[command(subcommand)]
        command: StaffCaCommand,
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
pub(crate) enum UserCommand {
    /// Create a staff account and mail it an invitation whose single-use link sets the password.
    Add {
        /// agent, vetting, support, admin or auditor.
        #[arg(long, value_parser = parse_role)]
        role: Role,
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
pub(crate) enum Job {
    Reconcile,
    Reminders,
    Crl,
    Ocsp,
    Mail,
    Discovery,
}

impl Job {
    pub(crate) fn into_app(self) -> signet_app::jobs::Job {
        use signet_app::jobs::Job as J;
        match self {
            Job::Reconcile => J::Reconcile,
            Job::Reminders => J::Reminders,
            Job::Crl => J::Crl,
            Job::Ocsp => J::Ocsp,
            Job::Mail => J::Mail,
            Job::Discovery => J::Discovery,
        }
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum MailCommand {
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
pub(crate) enum AuditCommand {
    /// Check the hash chain of the audit log; names the first broken record.
    Verify {
        /// Also check every signed decision: its CMS signature, the officer's certificate up
        /// to the staff CA, its time-stamp, its statement against the stored decision, and the
        /// audit record that names it. Names each decision that fails.
        #[arg(long)]
        decisions: bool,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum StaffCaCommand {
    /// Add the staff CA (and its OCSP responder) to a CA made before Signet had one; `init`
    /// makes it for new CAs. Restart `serve` afterwards.
    Init {
        /// Your policy OID for staff certificates (default: a random example OID, fine for tests only).
        #[arg(long)]
        policy_oid: Option<String>,
    },
}

#[derive(clap::Args, Debug)]
pub(crate) struct InitArgs {
    /// Public base URL written into certificates (CRL and AIA) and mails.
    #[arg(long, env = "SIGNET_BASE_URL", default_value = "http://127.0.0.1:8080")]
    pub(crate) base_url: String,
    /// Organization running the CA, as written in CA certificates.
    #[arg(long, default_value = "Signet Demo")]
    pub(crate) organization: String,
    /// Country of that organization (ISO 3166 alpha-2).
    #[arg(long, default_value = "BE")]
    pub(crate) country: String,
    /// Key algorithm of the root and issuing CAs: p-384 or rsa-4096.
    #[arg(long, default_value = "p-384")]
    pub(crate) ca_key_algorithm: CaKeyAlgorithm,
    /// Key algorithm of the OCSP responders: p-256 (fastest), p-384 or rsa-4096.
    #[arg(long, default_value = "p-256")]
    pub(crate) ocsp_key_algorithm: CaKeyAlgorithm,
    /// Where CA keys live: encrypted files, or a PKCS#11 token (HSM).
    #[arg(long, value_enum, default_value = "file")]
    pub(crate) key_backend: Backend,
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
    pub(crate) policy_oid: Option<String>,
    /// Your TSA policy OID, named in every time-stamp token (default: a random example OID, fine for tests only).
    #[arg(long)]
    pub(crate) tsa_policy_oid: Option<String>,
    /// Your policy OID for staff (officer) certificates (default: a random example OID, fine for tests only).
    #[arg(long)]
    pub(crate) staff_policy_oid: Option<String>,
    /// CRL shards per issuing CA (fixed per certificate at issuance, in its CDP).
    #[arg(long, default_value_t = 1)]
    pub(crate) crl_shards: u32,
    /// E-mail address of the first administrator; init mails (and prints) a one-time set-up link.
    #[arg(long, default_value = "admin@signet.example")]
    pub(crate) admin_email: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Backend {
    File,
    Pkcs11,
}

impl InitArgs {
    pub(crate) fn choices(&self) -> Result<InitChoices, AppError> {
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
            tsa_policy: match &self.tsa_policy_oid {
                Some(oid) => oid.clone(),
                None => example_policy_oid()?,
            },
            staff_policy: match &self.staff_policy_oid {
                Some(oid) => oid.clone(),
                None => example_policy_oid()?,
            },
        })
    }
}

/// A random OID under IANA's enterprise number for documentation (32473, RFC 5612), for test
/// and demo CAs: a production CA passes its own registered policy OID with `--policy-oid`.
/// (UUID OIDs under 2.25 would need 128-bit arcs, which common ASN.1 libraries cannot carry.)
pub(crate) fn example_policy_oid() -> Result<String, AppError> {
    let hex = signet_app::random_hex(8)?;
    let a = u32::from_str_radix(&hex[..8], 16).map_err(|e| AppError::Internal(e.to_string()))?;
    let b = u32::from_str_radix(&hex[8..], 16).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(format!("1.3.6.1.4.1.32473.{}.{}", a >> 16, b >> 16))
}

/// Serials are parsed here, once, into the domain's type (hex as Signet or openssl print it).
fn parse_serial(text: &str) -> Result<Serial, String> {
    text.parse()
        .map_err(|e: signet_domain::Refusal| e.to_string())
}

/// Staff roles are parsed here, once, by the domain's rule.
fn parse_role(text: &str) -> Result<Role, String> {
    Role::from_request(text).map_err(|e| e.to_string())
}

/// Revocation reasons are parsed here, once (RFC 5280 names, snake_case).
fn parse_reason(text: &str) -> Result<RevocationReason, String> {
    RevocationReason::parse(text).map_err(|e| e.to_string())
}

#[derive(Subcommand, Debug)]
pub(crate) enum TsaCommand {
    /// Add a time-stamping authority to a CA made before Signet had one: a key on the CA's key
    /// backend, a certificate signed by the root (id-kp-timeStamping), and `[tsa]` in
    /// signet.toml. Restart `serve` to answer at POST /tsa.
    Init {
        /// Key algorithm: p-256 (fastest), p-384 or rsa-4096.
        #[arg(long, default_value = "p-256")]
        key_algorithm: CaKeyAlgorithm,
        /// Your TSA policy OID (default: a random example OID, fine for tests only).
        #[arg(long)]
        policy_oid: Option<String>,
    },
}

fn parse_rfc3339(text: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("`{text}`: {e} (write e.g. 2026-12-04T10:00:00Z)"))
}
