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
    let bytes = std::fs::read(requests).map_err(|e| AppError::io(requests, e))?;
    std::fs::create_dir_all(out).map_err(|e| AppError::io(out, e))?;
    // Nothing is issued that could not be delivered: the directory takes a file first.
    let probe = write_atomically(out, ".signet-probe", b"")?;
    std::fs::remove_file(&probe).map_err(|e| AppError::io(&probe, e))?;
    let mut refused = 0;
    let mut total = 0;
    let mut pending: Vec<(usize, IssueRequest)> = Vec::new();
    // A byte-order mark some editors write is not part of the first request.
    let body = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes);
    for (n, raw) in body
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l))
    {
        let line = match std::str::from_utf8(raw) {
            Ok(line) => line.trim(),
            Err(e) => {
                total += 1;
                refused += report(n, &Outcome::Refused(format!("not UTF-8 text: {e}")));
                continue;
            }
        };
        if line.is_empty() {
            continue;
        }
        total += 1;
        if line.len() > MAX_LINE {
            refused += report(
                n,
                &Outcome::Refused(format!(
                    "the line holds {} bytes; a request takes at most {MAX_LINE}",
                    line.len()
                )),
            );
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
            Err(e) => {
                refused += report(n, &Outcome::Refused(format!("not a request: {e}")));
            }
        }
    }
    if total == 0 {
        return Err(AppError::Refused(signet_domain::Refusal::InvalidInput(
            format!("{} holds no requests", requests.display()),
        )));
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
        let mut unwritable = None;
        bar.suspend(|| {
            for (n, result) in lines.iter().zip(batch.results) {
                let outcome = match result {
                    Ok(issued) => {
                        let name = format!("{}.pem", issued.serial.to_hex());
                        match write_atomically(out, &name, issued.pem().as_bytes()) {
                            Ok(path) => Outcome::Issued(issued, path),
                            Err(e) => {
                                let why = format!(
                                    "issued as serial {} (recorded, valid), but its file could not be written: {e}",
                                    issued.serial
                                );
                                unwritable = Some(e.to_string());
                                Outcome::Refused(why)
                            }
                        }
                    }
                    Err(e) => Outcome::Refused(e.to_string()),
                };
                refused += report(*n, &outcome);
            }
        });
        bar.inc(lines.len() as u64);
        if let Some(why) = batch.stopped {
            stopped = Some(format!("the store failed: {why}"));
            break;
        }
        // Certificates that cannot be delivered are not issued: the run stops (a full disk).
        if let Some(why) = unwritable {
            stopped = Some(format!(
                "{} cannot take the certificates: {why}",
                out.display()
            ));
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
        return Err(AppError::Internal(format!("the run stopped: {why}")));
    }
    if refused > 0 {
        return Err(AppError::Refused(signet_domain::Refusal::InvalidInput(
            format!(
                "{refused} of {total} requests not issued or not written (see the lines above); the others were issued"
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
            let _ = writeln!(stdout, "line {n}: refused: {}", printable(why));
            1
        }
    }
}

/// `signet issued --since TIME [--out DIR]`: the certificates the operator issued since TIME,
/// one line each; with `--out`, each one DIR does not hold yet is written there as
/// `<serial>.pem` (what a run cut short issued and recorded but never wrote out).
pub async fn issued_since(
    signet: &Signet,
    since: time::OffsetDateTime,
    out: Option<&Path>,
) -> Result<(), AppError> {
    let issued = signet.operator_certificates_since(since).await?;
    let mut stdout = std::io::stdout().lock();
    let mut written = 0;
    for (certificate, subject) in &issued {
        let name = format!("{}.pem", certificate.serial.to_hex());
        let place = match out {
            Some(dir) if !dir.join(&name).exists() => {
                written += 1;
                format!(
                    " → {}",
                    write_atomically(dir, &name, certificate.pem().as_bytes())?.display()
                )
            }
            Some(dir) => format!(" (already in {})", dir.display()),
            None => String::new(),
        };
        let _ = writeln!(
            stdout,
            "{} {}{place}",
            certificate.serial,
            printable(subject)
        );
    }
    eprintln!(
        "{} certificates issued by the operator since {since}{}",
        issued.len(),
        out.map(|_| format!(", {written} written now"))
            .unwrap_or_default()
    );
    Ok(())
}

/// A request line's longest accepted length (an RSA-4096 CSR in PEM is under 2 KiB).
const MAX_LINE: usize = 64 * 1024;

/// What a message may show of its input on a terminal: control characters and bidirectional
/// overrides escaped (a requests file must not drive the operator's terminal), at most 500
/// characters.
fn printable(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == 500 {
            out.push('…');
            break;
        }
        if c.is_control()
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
        {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes `name` in `dir` whole or not at all (a temporary file, synced, then linked under its
/// name), never over an existing file.
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, AppError> {
    let path = dir.join(name);
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| AppError::io(dir, e))?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| AppError::io(temp.path(), e))?;
    temp.persist_noclobber(&path)
        .map_err(|e| AppError::io(&path, e.error))?;
    Ok(path)
}
