//! In-process issuance (plan, pre-issuance check, sign, encode, store writes, OCSP pre-signing,
//! audit) on the default CA key, beside the raw signature rate of the same key in the same
//! library, in the same run: on SQLite (WAL) and, when a server answers, on PostgreSQL; one
//! issuance at a time, then as many at once as the machine has cores.
//!
//!   cargo bench -p signet-app --bench issuance [-- ISSUANCES]
//!
//! `SIGNET_TEST_POSTGRES_URL` names the PostgreSQL server (default
//! postgres://postgres@127.0.0.1:5432/test); a database is created for the run and dropped.
//! Prints a Markdown table for docs/BENCHMARKS.md.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use signet_app::config::InitChoices;
use signet_app::issue::{IssueRequest, Signet};
use signet_app::{SharedClock, SystemClock};
use signet_domain::key::CaKeyAlgorithm;
use signet_pki::file_key::FileKey;
use signet_pki::keys::KeyBackend;
use signet_store::Store;

fn choices() -> InitChoices {
    InitChoices::with_file_keys("http://pki.example.com", "Bench", "BE")
}

fn csr() -> Vec<u8> {
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args([
            "-nodes",
            "-keyout",
            "/dev/null",
            "-subj",
            "/CN=x",
            "-outform",
            "DER",
        ])
        .output()
        .expect("openssl req");
    assert!(out.status.success(), "openssl req failed");
    out.stdout
}

fn request(csr: &[u8]) -> IssueRequest {
    IssueRequest {
        profile: "class3-auth".into(),
        csr: csr.to_vec(),
        identity: serde_json::from_str(
            r#"{"given_name":"Max","surname":"Muster","email":"max@example.de","organization":"Muster GmbH","country":"DE"}"#,
        )
        .expect("identity"),
        validity_months: 12,
        product: None,
    }
}

/// Signatures per second of the issuing CA's own key, through the same library.
fn raw_signatures(dir: &Path, rounds: u32) -> f64 {
    let pem = std::fs::read_to_string(dir.join("keys/class3.key.pem")).expect("key");
    let passphrase = std::fs::read_to_string(dir.join("secrets/ca-passphrase")).expect("pass");
    let key =
        FileKey::from_encrypted_pem(CaKeyAlgorithm::EcP384, &pem, passphrase.trim().as_bytes())
            .expect("decrypt");
    let message = vec![0x5a; 600]; // about the size of a certificate's TBS
    let start = Instant::now();
    for _ in 0..rounds {
        key.sign(&message).expect("sign");
    }
    f64::from(rounds) / start.elapsed().as_secs_f64()
}

async fn issue_many(
    signet: &Arc<Signet>,
    csr: &Arc<Vec<u8>>,
    total: u32,
    at_once: u32,
) -> Duration {
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..at_once {
        let (signet, csr) = (signet.clone(), csr.clone());
        let share = total / at_once + u32::from(worker < total % at_once);
        tasks.spawn(async move {
            for _ in 0..share {
                signet.issue(request(&csr)).await.expect("issue");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("worker");
    }
    start.elapsed()
}

async fn backend(
    name: &str,
    store: Arc<dyn Store>,
    dir: &Path,
    total: u32,
    cores: u32,
) -> Vec<String> {
    let clock: SharedClock = Arc::new(SystemClock);
    signet_app::init::init(dir, choices(), store.as_ref(), clock.as_ref(), &|_| {})
        .await
        .expect("init");
    let signet = Arc::new(Signet::open(dir, store, clock).await.expect("open"));
    signet.unlock_keys().expect("keys");
    let csr = Arc::new(csr());
    issue_many(&signet, &csr, 10, 1).await; // warm the pool and the caches
    let raw = raw_signatures(dir, total * 4);
    let mut rows = Vec::new();
    for at_once in [1, cores] {
        let took = issue_many(&signet, &csr, total, at_once).await;
        let rate = f64::from(total) / took.as_secs_f64();
        rows.push(format!(
            "| {name} | {at_once} | {total} | {rate:.0} | {:.1} | {raw:.0} | {:.0} % |",
            took.as_secs_f64() * 1000.0 * f64::from(at_once) / f64::from(total),
            100.0 * rate / raw
        ));
    }
    rows
}

fn main() {
    let total: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(300);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores as usize)
        .enable_all()
        .build()
        .expect("runtime");
    let mut rows = Vec::new();
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("signet.db").display());
        let store = signet_store::open(&url).await.expect("sqlite");
        rows.extend(backend("SQLite (WAL)", store, dir.path(), total, cores).await);

        let admin = std::env::var("SIGNET_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let database = format!("signet_bench_{}", std::process::id());
        let psql = |sql: &str| {
            std::process::Command::new("psql")
                .arg(&admin)
                .args(["-q", "-c", sql])
                .status()
                .is_ok_and(|s| s.success())
        };
        if psql(&format!("CREATE DATABASE {database}")) {
            let url = format!(
                "{}/{database}",
                admin.rsplit_once('/').map_or(admin.as_str(), |a| a.0)
            );
            let dir = tempfile::tempdir().expect("dir");
            let store = signet_store::open(&url).await.expect("postgres");
            rows.extend(backend("PostgreSQL", store, dir.path(), total, cores).await);
            psql(&format!("DROP DATABASE {database} WITH (FORCE)"));
        } else {
            eprintln!("no PostgreSQL at {admin}: its rows are left out");
        }
    });
    println!(
        "| store | issuances at once | issuances | per second | ms each | raw signatures per second (same key) | issuance / raw |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        println!("{row}");
    }
}
