//! A property test of the REST API against its own OpenAPI document: schemathesis (pinned in
//! `tests/api/requirements.txt`, installed in `.tools/schemathesis-venv`) generates requests from `/api/v1/openapi.json` — valid ones, invalid ones, missing or broken
//! bodies, odd methods — and sends them to a `signet serve` on a loopback port. It must find no
//! 5xx, every error must be an RFC 9457 problem document (the `problem_document` check of
//! `tests/api/signet_hooks.py`), and the responses must match what the document says.
//!
//! Bounded: a fixed seed, a number of examples per operation and an overall time budget; only the
//! loopback server started here is ever sent a request.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

/// The workspace root (this crate is `crates/signet-cli`).
fn repo() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    dir.canonicalize().unwrap_or(dir)
}

/// The schemathesis command: `SCHEMATHESIS_BIN`, else the venv `scripts/test` installs.
fn schemathesis_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("SCHEMATHESIS_BIN") {
        return PathBuf::from(bin);
    }
    let bin = repo().join(".tools/schemathesis-venv/bin/schemathesis");
    assert!(
        bin.exists(),
        "schemathesis is not installed at {}: run scripts/test, which installs it from \
         tests/api/requirements.txt (by hand: python3 -m venv .tools/schemathesis-venv && \
         .tools/schemathesis-venv/bin/pip install -r tests/api/requirements.txt), or set \
         SCHEMATHESIS_BIN",
        bin.display()
    );
    bin
}

/// Generated test cases per operation and phase; the time budget caps the whole run.
const MAX_EXAMPLES: &str = "40";
const MAX_SECONDS: &str = "120";
/// Fixed, so that a run and its failures can be repeated (`--seed` in the output).
const SEED: &str = "20261202";

#[test]
fn generated_requests_get_no_server_error_and_only_problem_documents() {
    let bin = schemathesis_bin();
    let data = tempdir();
    let d = data.path();
    let server = ca_with_staff(d, &[("vetting", "vera@ca.example.com", None)]);
    let api = Api::new(&server);
    let vetting = api.staff_login(d, "vera@ca.example.com");

    // A subscriber with two sessions (one for the log-out the generated requests include), an
    // order that waits for documents, and a second order taken to a picked-up certificate.
    let email = "fuzz@example.com";
    let token = api.subscriber(d, email);
    let logout_token = api.log_in(email, "a long enough password");
    let open = api.order(&token, email, "p-256");
    let (status, body) = api.upload(&open, &token, "id_copy", PDF);
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let document = body["id"].as_i64().expect("document id").to_string();
    let issued = api.order(&token, email, "p-256");
    let pickup = api.to_pickup(d, &issued, &token, &vetting, email);
    let (status, body) = api.post(
        &format!("/api/v1/pickups/{pickup}"),
        None,
        json!({"pickup_password": "pickup-secret-42"}),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let serial = body["serial"].as_str().expect("serial").to_owned();

    // Schemathesis writes nothing into the work tree: it runs in a temporary directory (where it
    // also finds no configuration file of its own).
    let work = tempdir();
    let origin = server.url("");
    let mut cmd = Command::new(&bin);
    cmd.current_dir(work.path())
        .args(["--no-color", "run"])
        .arg(server.url("/api/v1/openapi.json"))
        // Requests go to this server whatever the document's `servers` say, and no redirect is
        // followed anywhere else (the hooks refuse any non-loopback host as well).
        .args(["--url", &origin, "--max-redirects", "0"])
        // Every check schemathesis has, and ours. Left out: positive_data_acceptance, which
        // expects any schema-valid request to succeed; the schemas cannot say everything the
        // domain checks (an e-mail address, a country, a password's strength) and generated path
        // parameters name orders, links and certificates that do not exist (404, 410, 422 are
        // right answers there).
        .args([
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
        ])
        .args(["--max-examples", MAX_EXAMPLES, "--max-time", MAX_SECONDS])
        .args(["--seed", SEED, "--generation-database", "none"])
        // The session comes from the hooks; generating broken or missing Authorization headers
        // for every case would spend a third of the budget on 401s (the coverage phase and the
        // ignored_auth check still send requests without it).
        .args(["--generation-with-security-parameters", "false"])
        // One worker: schemathesis's workers are threads, and with two a run ended in a runtime
        // error, "AST constructor recursion depth mismatch" (Hypothesis parses lambdas with
        // Python's `ast`, which races between threads on Python 3.11). Generating is what takes
        // the time anyway, and the server has the other core.
        .args(["--workers", "1", "--request-timeout", "20"])
        // Report every failing case of an operation, not only the first.
        .arg("--continue-on-failure")
        .env(
            "SCHEMATHESIS_HOOKS",
            repo().join("tests/api/signet_hooks.py"),
        )
        .env("SIGNET_FUZZ_TOKEN", &token)
        .env("SIGNET_FUZZ_LOGOUT_TOKEN", &logout_token)
        .env("SIGNET_FUZZ_STAFF_TOKEN", &vetting)
        .env("SIGNET_FUZZ_ORDERS", format!("{open},{issued}"))
        .env("SIGNET_FUZZ_SERIAL", &serial)
        .env("SIGNET_FUZZ_DOCUMENT", &document)
        // No __pycache__ next to the hooks in the work tree.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("NO_PROXY", "*")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("all_proxy")
        .env_remove("SCHEMATHESIS_BASE_URL")
        .env_remove("SCHEMATHESIS_ORIGIN")
        .env("COLUMNS", "120");
    let started = Instant::now();
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems ({}, {:.0?}):\n{stdout}\n{}\nthe command: {cmd:?}",
        out.status,
        started.elapsed(),
        text(&out.stderr)
    );
    // How much was tried, and the closing line: visible with --nocapture.
    let lines: Vec<&str> = stdout.lines().map(str::trim).collect();
    let cases = lines
        .iter()
        .position(|l| *l == "Test cases:")
        .and_then(|i| lines.get(i + 1))
        .unwrap_or(&"");
    let last = lines.iter().rev().find(|l| !l.is_empty()).unwrap_or(&"");
    eprintln!(
        "schemathesis: {cases}; {} ({:.0?})",
        last.trim_matches(|c: char| c == '=' || c.is_whitespace()),
        started.elapsed()
    );
}
