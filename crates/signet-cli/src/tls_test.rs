//! `signet tls-test`: the TLS configuration test of one server, as text or JSON. It needs no
//! CA data directory; with one, it also says whether the server accepts this CA's certificates
//! for client authentication.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use signet_tls::{AddressPolicy, Endpoint, Options, StartTls, Target};
use x509_cert::Certificate;

pub(crate) const HELP: &str = "\
Connects only to HOST:PORT (plus the OCSP, CRL and CA-issuer URLs its certificate names, unless \
--no-fetch) and reports:
  - protocols SSLv2 to TLS 1.3, the suites of each in the server's order, forward secrecy, AEAD,
    weak suites, key exchange groups and DH sizes;
  - the chain as served: order, missing or extra intermediates, expiry of every certificate,
    trust (the system store, or --trust), the name (SNI) match, key and signature algorithm;
  - revocation: the OCSP and CRL URLs, whether they answer, the status, OCSP stapling;
  - client certificates: whether the server asks for or requires one, the CA names it accepts,
    and whether Signet's issuing CAs are among them;
  - HSTS (HTTPS) and secure renegotiation;
then a grade by the SSL Labs rating guide (A+ to F, T for trust, M for a name mismatch) with the
reason for every cap, and a verdict against Mozilla's modern/intermediate/old profiles.

Servers that require a client certificate are tested as completely as others: the suites are
read from the server's hellos, which come before the certificate request.

Exit status: 0 when the test ran, whatever the grade; 2 when it could not (no connection, no
TLS, a refused STARTTLS).

Examples:
  signet tls-test www.example.org
  signet tls-test login.example.org:8443 --trust our-root.pem --json
  signet tls-test mail.example.org:25 --starttls smtp";

/// STARTTLS protocols, for the command line.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub(crate) enum StartTlsArg {
    Smtp,
    Imap,
    Pop3,
    Ldap,
}

impl From<StartTlsArg> for StartTls {
    fn from(value: StartTlsArg) -> StartTls {
        match value {
            StartTlsArg::Smtp => StartTls::Smtp,
            StartTlsArg::Imap => StartTls::Imap,
            StartTlsArg::Pop3 => StartTls::Pop3,
            StartTlsArg::Ldap => StartTls::Ldap,
        }
    }
}

/// Mozilla's profiles.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub(crate) enum Profile {
    Modern,
    Intermediate,
    Old,
}

#[derive(Args, Debug)]
pub(crate) struct TlsTestArgs {
    /// The server: HOST, HOST:PORT or [IPv6]:PORT (port 443, or the protocol's with --starttls).
    pub(crate) target: String,
    /// The name to send as SNI and to match the certificate against (default: HOST).
    #[arg(long, value_name = "NAME")]
    pub(crate) sni: Option<String>,
    /// Upgrade a mail or directory connection to TLS first.
    #[arg(long, value_enum)]
    pub(crate) starttls: Option<StartTlsArg>,
    /// Trust anchors (PEM, one or more) instead of the system store, e.g. your own root.
    #[arg(long, value_name = "FILE")]
    pub(crate) trust: Option<PathBuf>,
    /// Signet's issuing CA certificates (PEM), to check the server's client-CA list; default:
    /// those of the data directory, when it holds a CA.
    #[arg(long, value_name = "FILE")]
    pub(crate) signet_ca: Option<PathBuf>,
    /// The Mozilla profile the summary judges against.
    #[arg(long, value_enum, default_value = "intermediate")]
    pub(crate) mozilla_profile: Profile,
    /// Timeout of each connection, in seconds.
    #[arg(long, default_value = "10", value_name = "SECONDS")]
    pub(crate) timeout: u64,
    /// Longest the whole test may take, in seconds: no connection is opened after it.
    #[arg(long, default_value = "300", value_name = "SECONDS")]
    pub(crate) max_time: u64,
    /// Do not fetch the OCSP, CRL and CA-issuer URLs the certificate names.
    #[arg(long)]
    pub(crate) no_fetch: bool,
    /// One JSON object on standard output instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

fn read_anchors(path: &Path) -> Result<Vec<Certificate>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    signet_tls::chain::read_certificates(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// The issuing CAs of the CA in `data_dir`, if it holds one.
fn data_dir_cas(data_dir: &Path) -> Vec<Certificate> {
    use der::Decode;
    let Ok(config) = signet_app::config::ConfigFile::load(data_dir) else {
        return Vec::new();
    };
    config
        .issuers
        .keys()
        .filter_map(|name| signet_app::authority::read_certificate(data_dir, name).ok())
        .filter_map(|der| Certificate::from_der(&der).ok())
        .collect()
}

fn test(args: &TlsTestArgs, data_dir: &Path) -> Result<signet_tls::Report, String> {
    let starttls = args.starttls.map(StartTls::from);
    let target = Target::parse(&args.target, starttls).map_err(|e| e.to_string())?;
    let address = AddressPolicy::open()
        .resolve(&target.host, target.port)
        .map_err(|e| e.to_string())?;
    let anchors = match &args.trust {
        Some(path) => read_anchors(path)?,
        None => signet_tls::chain::system_anchors()?,
    };
    let signet_cas = match &args.signet_ca {
        Some(path) => read_anchors(path)?,
        None => data_dir_cas(data_dir),
    };
    let http = signet_sign::network::Http::new().map_err(|e| e.to_string())?;
    let server_name = match &args.sni {
        Some(name) => {
            Target::parse(name, None)
                .map_err(|_| format!("--sni {name:?} is not a DNS name or an IP address"))?
                .host
        }
        None => target.host.clone(),
    };
    let endpoint = Endpoint::new(
        address,
        server_name,
        starttls,
        Duration::from_secs(args.timeout.clamp(1, 120)),
    )
    .with_budget(Duration::from_secs(args.max_time.max(1)));
    let options = Options {
        anchors,
        signet_cas,
        fetch: (!args.no_fetch).then_some(&http as &dyn signet_sign::network::Fetch),
        mozilla_profile: format!("{:?}", args.mozilla_profile).to_ascii_lowercase(),
        now: time::OffsetDateTime::now_utc(),
    };
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message(format!("testing {address}"));
    spinner.enable_steady_tick(Duration::from_millis(120));
    let report = signet_tls::run(&endpoint, &options).map_err(|e| e.to_string());
    spinner.finish_and_clear();
    report
}

/// Runs the command; 0 when the test ran, 2 when it could not.
pub(crate) fn run(args: &TlsTestArgs, data_dir: &Path) -> ExitCode {
    match test(args, data_dir) {
        Ok(report) => {
            if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(json) => println!("{json}"),
                    Err(e) => {
                        eprintln!("error: the report cannot be written as JSON: {e}");
                        return ExitCode::from(2);
                    }
                }
            } else {
                print!("{}", report.to_text());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
