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
/// each certificate to `out/<serial>.pem` and prints one line per request as its group ends (so
/// a run cut short still tells which line got which serial). A line that is not a request is
/// reported and issues nothing; the others go on. When the store fails the run stops there and
/// the lines not attempted are listed. Fails (exit 1) when any line was not issued.
pub async fn issue_batch(
    signet: &Signet,
    requests: &Path,
    out: &Path,
    batch_size: usize,
) -> Result<(), AppError> {
    let text = std::fs::read_to_string(requests).map_err(|e| AppError::io(requests, e))?;
    std::fs::create_dir_all(out).map_err(|e| AppError::io(out, e))?;
    let mut refused = 0;
    let mut total = 0;
    let mut pending: Vec<(usize, IssueRequest)> = Vec::new();
    // A byte-order mark some editors write is not part of the first request.
    let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
    for (n, line) in body.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        if line.is_empty() {
            continue;
        }
        total += 1;
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
            Err(e) => {
                refused += report(n, &Outcome::Refused(format!("not a request: {e}")));
            }
        }
    }
    let bar = ProgressBar::new(pending.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("issuing [{bar:30}] {pos}/{len} [{elapsed}, {eta} left]")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut pending = pending.into_iter().peekable();
    let mut stopped = None;
    while pending.peek().is_some() {
        let (lines, group): (Vec<usize>, Vec<IssueRequest>) =
            pending.by_ref().take(batch_size.max(1)).unzip();
        let batch = signet.issue_batch(group).await?;
        bar.suspend(|| {
            for (n, result) in lines.iter().zip(batch.results) {
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
                refused += report(*n, &outcome);
            }
        });
        bar.inc(lines.len() as u64);
        if let Some(why) = batch.stopped {
            stopped = Some(why);
            break;
        }
    }
    bar.finish_and_clear();
    for (n, _) in pending {
        refused += report(
            n,
            &Outcome::Refused("not attempted: the run stopped".into()),
        );
    }
    if let Some(why) = stopped {
        return Err(AppError::Internal(format!(
            "the run stopped after the store failed: {why}"
        )));
    }
    if refused > 0 {
        return Err(AppError::Refused(signet_domain::Refusal::InvalidInput(
            format!(
                "{refused} of {total} requests refused (see the lines above); the others were issued"
            ),
        )));
    }
    Ok(())
}

/// Prints what became of line `n`; 1 when it was not issued.
fn report(n: usize, outcome: &Outcome) -> usize {
    let mut stdout = std::io::stdout().lock();
    match outcome {
        Outcome::Issued(issued, path) => {
            let _ = writeln!(
                stdout,
                "line {n}: issued serial {} → {}",
                issued.serial,
                path.display()
            );
            0
        }
        Outcome::Refused(why) => {
            let _ = writeln!(stdout, "line {n}: refused: {why}");
            1
        }
    }
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
