//! What this process counted and timed, for `/metrics`: pickups by outcome, certificates the
//! pre-issuance check refused, mail deliveries by outcome, and how long store commits take.
//! Counters are per process, as Prometheus expects (a dashboard sums them over the nodes); the
//! gauges read from the shared store are in `health.rs`.

use std::sync::LazyLock;
use std::time::Instant;

use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts, Registry, TextEncoder};

use crate::AppError;

struct Meters {
    registry: Registry,
    pickups: IntCounterVec,
    lint_refusals: IntCounterVec,
    mail: IntCounterVec,
    commits: Histogram,
    publication: IntCounterVec,
}

const PICKUP_OUTCOMES: [&str; 8] = [
    "issued",
    "wrong_password",
    "locked",
    "gone",
    "conflict",
    "refused",
    "rate_limited",
    "error",
];

static METERS: LazyLock<Option<Meters>> = LazyLock::new(|| {
    let registry = Registry::new();
    let counter = |name: &str, help: &str, label: &str| -> Option<IntCounterVec> {
        let c = IntCounterVec::new(Opts::new(name, help), &[label]).ok()?;
        registry.register(Box::new(c.clone())).ok()?;
        Some(c)
    };
    let pickups = counter(
        "signet_pickups_total",
        "Pickup attempts by outcome (issued, wrong_password, locked, gone, conflict, refused, rate_limited, error).",
        "outcome",
    )?;
    // Every outcome is shown from the start, at 0, so a rate over it has a series to work on.
    for outcome in PICKUP_OUTCOMES {
        pickups.with_label_values(&[outcome]);
    }
    let lint_refusals = counter(
        "signet_lint_refusals_total",
        "Certificates the pre-issuance check refused to sign, by profile.",
        "profile",
    )?;
    let mail = counter(
        "signet_mail_deliveries_total",
        "Mail delivery attempts by outcome (sent, retry, given_up).",
        "outcome",
    )?;
    for outcome in ["sent", "retry", "given_up"] {
        mail.with_label_values(&[outcome]);
    }
    let commits = Histogram::with_opts(
        HistogramOpts::new(
            "signet_store_commit_seconds",
            "Time to commit a unit of work to the store (the durable write every change waits for).",
        )
        .buckets(vec![
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
        ]),
    )
    .ok()?;
    registry.register(Box::new(commits.clone())).ok()?;
    let publication = IntCounterVec::new(
        Opts::new(
            "signet_publication_total",
            "Uploads to the [publish] bucket by kind (crl, ocsp) and outcome (uploaded, kept_newer: the bucket held a newer one, failed).",
        ),
        &["kind", "outcome"],
    )
    .ok()?;
    registry.register(Box::new(publication.clone())).ok()?;
    Some(Meters {
        publication,
        registry,
        pickups,
        lint_refusals,
        mail,
        commits,
    })
});

/// Counts one pickup attempt by how it ended.
pub(crate) fn pickup<T>(result: &Result<T, AppError>) {
    let outcome = match result {
        Ok(_) => "issued",
        Err(AppError::Unauthorized(_)) => "wrong_password",
        Err(AppError::Locked(_)) => "locked",
        Err(AppError::Gone(_) | AppError::NotFound(_)) => "gone",
        Err(AppError::Conflict(_)) => "conflict",
        Err(AppError::Refused(_)) => "refused",
        Err(AppError::TooMany(_)) => "rate_limited",
        Err(_) => "error",
    };
    if let Some(m) = METERS.as_ref() {
        m.pickups.with_label_values(&[outcome]).inc();
    }
}

/// Counts a certificate of `profile` that the pre-issuance check refused.
pub(crate) fn lint_refusal(profile: &str) {
    if let Some(m) = METERS.as_ref() {
        m.lint_refusals.with_label_values(&[profile]).inc();
    }
}

/// Counts one delivery attempt: `sent`, `retry` or `given_up`.
pub(crate) fn mail_delivery(outcome: &str) {
    if let Some(m) = METERS.as_ref() {
        m.mail.with_label_values(&[outcome]).inc();
    }
}

/// Counts one upload to the bucket.
pub(crate) fn publication(kind: &str, outcome: &str) {
    if let Some(m) = METERS.as_ref() {
        m.publication.with_label_values(&[kind, outcome]).inc();
    }
}

/// Times a commit.
pub(crate) async fn commit<T, E>(commit: impl Future<Output = Result<T, E>>) -> Result<T, E> {
    let started = Instant::now();
    let done = commit.await;
    if let Some(m) = METERS.as_ref() {
        m.commits.observe(started.elapsed().as_secs_f64());
    }
    done
}

/// This process's counters in the text format 0.0.4.
pub(crate) fn text() -> String {
    METERS
        .as_ref()
        .and_then(|m| {
            TextEncoder::new()
                .encode_to_string(&m.registry.gather())
                .ok()
        })
        .unwrap_or_default()
}
