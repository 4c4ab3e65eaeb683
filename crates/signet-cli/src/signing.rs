//! `signet sign`: the subscriber's signing tool. It reads only the PFX, its password file and
//! the input; it needs no CA data directory and no database.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use signet_sign::network::Http;
use signet_sign::{Credentials, Level, Options, SignError};

pub(crate) const SIGN_HELP: &str = "\
Levels (ETSI baseline signatures):
  b-b    the signature with your certificate and its chain
  b-t    plus a signature time-stamp from the TSA (--tsa)
  b-lt   PDF only: plus the OCSP responses and CRLs of every certificate involved, fetched
         now from the URLs in the certificates, so the signature can be checked years later
         without asking anyone
  b-lta  PDF only: plus a document time-stamp over all of it

A Signet CA's TSA answers at POST <base URL>/tsa, e.g. --tsa http://ca.example.org/tsa.

Examples:
  signet sign --pfx me.p12 --password-file pw.txt --level b-lt --tsa http://ca.example.org/tsa contract.pdf contract-signed.pdf
  signet sign --pfx me.p12 --password-file pw.txt invoice.xml invoice.xml.p7s
  openssl cms -verify -binary -inform DER -in invoice.xml.p7s -content invoice.xml -CAfile root.pem -purpose any

The exit status is 0 only when OUTPUT was written and its signature checks out.";

#[derive(clap::Args, Debug, Clone)]
pub(crate) struct SignArgs {
    /// Your PKCS#12 file (.p12/.pfx) with the key and the certificate chain.
    #[arg(long)]
    pfx: PathBuf,
    /// A file holding the PFX password (its first line).
    #[arg(long)]
    password_file: PathBuf,
    /// b-b, b-t, b-lt or b-lta (b-lt and b-lta for PDF files).
    #[arg(long, default_value = "b-b", value_parser = parse_level)]
    level: Level,
    /// The time-stamping authority's URL (RFC 3161 over http), for b-t and above.
    #[arg(long)]
    tsa: Option<String>,
    /// The document to sign.
    input: PathBuf,
    /// Where to write the signed PDF, or the detached .p7s signature for other files.
    output: PathBuf,
}

fn parse_level(s: &str) -> Result<Level, String> {
    s.parse().map_err(|e: SignError| e.to_string())
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))
}

/// Writes next to the target and renames, so a failure never leaves half a file at `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let failed = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
    std::io::Write::write_all(&mut file, bytes).map_err(failed)?;
    file.as_file().sync_all().map_err(failed)?;
    file.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}

fn sign(args: &SignArgs) -> Result<String, String> {
    let password = String::from_utf8(read(&args.password_file, "password file")?)
        .map_err(|_| "the password file is not UTF-8 text".to_owned())?;
    let password = password.lines().next().unwrap_or_default();
    let pfx = read(&args.pfx, "PFX file")?;
    let credentials = Credentials::from_pfx(&pfx, password).map_err(|e| e.to_string())?;
    let input = read(&args.input, "input")?;
    let fetch = Http::new().map_err(|e| e.to_string())?;
    let options = Options {
        level: args.level,
        tsa_url: args.tsa.as_deref(),
        fetch: &fetch,
        now: SystemTime::now(),
    };
    let pdf = signet_sign::is_pdf(&input);
    let output = if pdf {
        signet_sign::sign_pdf(&input, &credentials, options)
    } else {
        signet_sign::sign_detached(&input, &credentials, options)
    }
    .map_err(|e| format!("{e}; nothing was written"))?;
    write_atomically(&args.output, &output)?;
    // Read back what landed on disk: the exit status vouches for the file, not for memory.
    let written = read(&args.output, "output")?;
    let checked = if pdf {
        signet_sign::verify::pdf(&written)
            .map_err(|e| e.to_string())?
            .into_iter()
            .rfind(|c| !c.document_time_stamp)
            .ok_or_else(|| "the written PDF holds no signature".to_owned())?
    } else {
        signet_sign::verify::detached(&input, &written).map_err(|e| e.to_string())?
    };
    let signer = checked.signer.tbs_certificate().subject().to_string();
    let stamped = checked
        .time_stamp
        .map(|s| format!(", time-stamped {}", s.time))
        .unwrap_or_default();
    Ok(format!(
        "signed {} -> {}: {} {}, by {signer}{stamped}",
        args.input.display(),
        args.output.display(),
        if pdf { "PAdES" } else { "CAdES detached" },
        checked.level,
    ))
}

/// Runs `signet sign`; the message says what was written, or why nothing was.
pub(crate) fn run(args: &SignArgs) -> ExitCode {
    match sign(args) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) const VERIFY_HELP: &str = "\
Without --trust, the CA in the data directory judges: its root is the trust anchor and its own
records give each certificate's status. With --trust, no data directory is needed: the roots
come from the file and the status from the OCSP responders and CRLs the certificates name.

The exit status is 0 when every signature is valid, 1 when the check ran and found a signature
that is not (the report says why), and 2 when the input could not be examined.";

#[derive(clap::Args, Debug, Clone)]
pub(crate) struct VerifyArgs {
    /// A signed PDF, or any file whose detached signature is given with --signature.
    input: PathBuf,
    /// The detached signature (.p7s, DER or PEM) of INPUT.
    #[arg(long)]
    signature: Option<PathBuf>,
    /// Trust these roots (PEM) and ask OCSP/CRL for status, instead of the CA's data directory.
    #[arg(long)]
    trust: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

impl VerifyArgs {
    /// Whether this run needs no data directory.
    pub(crate) fn standalone(&self) -> bool {
        self.trust.is_some()
    }

    pub(crate) fn inputs(&self) -> Result<(Vec<u8>, Option<Vec<u8>>), String> {
        let input = read(&self.input, "input")?;
        let signature = self
            .signature
            .as_ref()
            .map(|p| read(p, "signature"))
            .transpose()?;
        Ok((input, signature))
    }
}

/// Prints the report and gives the exit status the help promises.
pub(crate) fn finish(report: &signet_sign::report::Report, json: bool) -> ExitCode {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).unwrap_or_default()
        );
    } else {
        print!("{}", report.to_text());
    }
    if report.all_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn examine_standalone(args: &VerifyArgs) -> Result<signet_sign::report::Report, String> {
    let trust = args.trust.as_ref().ok_or("no --trust file")?;
    let roots = signet_app::signatures::read_certificates(&read(trust, "trust file")?)
        .map_err(|e| e.to_string())?;
    let (input, signature) = args.inputs()?;
    let mut report = signet_sign::report::examine(&input, signature.as_deref(), &roots)
        .map_err(|e| e.to_string())?;
    let fetch = Http::new().map_err(|e| e.to_string())?;
    for finding in &mut report.signatures {
        let standing = match finding.signer_certificate() {
            Some(certificate) => {
                let issuer = finding.issuer_certificate().cloned();
                signet_sign::revocation::standing(&fetch, certificate, issuer.as_ref())
            }
            None => signet_sign::report::Standing::Unknown("the signature cannot be read".into()),
        };
        finding.judge(standing);
    }
    Ok(report)
}

/// `signet verify --trust FILE`: no data directory, status from the network.
pub(crate) fn run_verify_standalone(args: &VerifyArgs) -> ExitCode {
    match examine_standalone(args) {
        Ok(report) => finish(&report, args.json),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
