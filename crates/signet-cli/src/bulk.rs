//! `signet issue-batch`: many certificates from one file of requests, each written beside the
//! others and reported by its line. The requests are issued in groups (`--batch-size`); each
//! group's intents are recorded in one unit of work, signed on every core and recorded in a
//! second (see `Signet::issue_batch`).

use std::io::Write;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use signet_app::AppError;
use signet_app::issue::{IssueRequest, Issued, Signet};
use signet_domain::identity::IdentityInput;

/// One line of the requests file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    profile: String,
    /// The CSR in PEM.
    csr: String,
    subject: IdentityInput,
    validity_months: u32,
    #[serde(default)]
    product: Option<String>,
}

/// What became of one line.
enum Outcome {
    Issued(Issued, PathBuf),
    Refused(String),
}

/// Reads `requests` (JSON Lines), issues every request that is well-formed and allowed, writes
/// each certificate to `out/<serial>.pem` and prints one line per request. A line that is not a
/// request is reported and issues nothing; the others go on. Fails (exit 1) when any line was
/// refused, after the rest were issued.
pub async fn issue_batch(
    signet: &Signet,
    requests: &Path,
    out: &Path,
    batch_size: usize,
) -> Result<(), AppError> {
    let text = std::fs::read_to_string(requests).map_err(|e| AppError::io(requests, e))?;
    std::fs::create_dir_all(out).map_err(|e| AppError::io(out, e))?;
    let mut outcomes: Vec<(usize, Outcome)> = Vec::new();
    let mut pending: Vec<(usize, IssueRequest)> = Vec::new();
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str::<Line>(line) {
            Ok(l) => pending.push((
                n,
                IssueRequest {
                    profile: l.profile,
                    csr: l.csr.into_bytes(),
                    identity: l.subject,
                    validity_months: l.validity_months,
                    product: l.product,
                },
            )),
            Err(e) => outcomes.push((n, Outcome::Refused(format!("not a request: {e}")))),
        }
    }
    let bar = ProgressBar::new(pending.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("issuing [{bar:30}] {pos}/{len} [{elapsed}, {eta} left]")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut pending = pending.into_iter().peekable();
    while pending.peek().is_some() {
        let (lines, group): (Vec<usize>, Vec<IssueRequest>) =
            pending.by_ref().take(batch_size.max(1)).unzip();
        let results = signet.issue_batch(group).await;
        let results = match results {
            Ok(r) => r,
            Err(e) => {
                bar.abandon();
                report(&outcomes);
                return Err(e);
            }
        };
        for (n, result) in lines.into_iter().zip(results) {
            let outcome = match result {
                Ok(issued) => match write_certificate(out, &issued) {
                    Ok(path) => Outcome::Issued(issued, path),
                    Err(e) => Outcome::Refused(format!(
                        "issued as serial {} (recorded), but not written: {e}",
                        issued.serial
                    )),
                },
                Err(e) => Outcome::Refused(e.to_string()),
            };
            outcomes.push((n, outcome));
        }
        bar.set_position(outcomes.iter().filter(|(_, o)| !is_parse_error(o)).count() as u64);
    }
    bar.finish_and_clear();
    let refused = report(&outcomes);
    if refused > 0 {
        return Err(AppError::Refused(signet_domain::Refusal::InvalidInput(
            format!(
                "{refused} of {} requests refused (see the lines above); the others were issued",
                outcomes.len()
            ),
        )));
    }
    Ok(())
}

fn is_parse_error(o: &Outcome) -> bool {
    matches!(o, Outcome::Refused(r) if r.starts_with("not a request"))
}

/// Prints one line per request, in the file's order; returns how many were refused.
fn report(outcomes: &[(usize, Outcome)]) -> usize {
    let mut sorted: Vec<_> = outcomes.iter().collect();
    sorted.sort_by_key(|(n, _)| *n);
    let mut stdout = std::io::stdout().lock();
    let mut refused = 0;
    for (n, outcome) in sorted {
        let _ = match outcome {
            Outcome::Issued(issued, path) => writeln!(
                stdout,
                "line {n}: issued serial {} → {}",
                issued.serial,
                path.display()
            ),
            Outcome::Refused(why) => {
                refused += 1;
                writeln!(stdout, "line {n}: refused: {why}")
            }
        };
    }
    refused
}

/// Writes the certificate as `<serial>.pem`, never over an existing file.
fn write_certificate(out: &Path, issued: &Issued) -> Result<PathBuf, AppError> {
    let path = out.join(format!("{}.pem", issued.serial.to_hex()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| AppError::io(&path, e))?;
    file.write_all(issued.pem().as_bytes())
        .map_err(|e| AppError::io(&path, e))?;
    Ok(path)
}
