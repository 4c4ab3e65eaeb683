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

use der::Decode;
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

/// Signatures per second of the issuing CA's own key through the same library, on one core and
/// on `threads` at once.
fn raw_signatures(dir: &Path, rounds: u32, threads: u32) -> f64 {
    let key = key(dir, "class3", CaKeyAlgorithm::EcP384);
    let message = vec![0x5a; 600]; // about the size of a certificate's TBS
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..rounds {
                    key.sign(&message).expect("sign");
                }
            });
        }
    });
    f64::from(rounds * threads) / start.elapsed().as_secs_f64()
}

fn key(dir: &Path, name: &str, algorithm: CaKeyAlgorithm) -> FileKey {
    let pem = std::fs::read_to_string(dir.join(format!("keys/{name}.key.pem"))).expect("key");
    let passphrase = std::fs::read_to_string(dir.join("secrets/ca-passphrase")).expect("pass");
    FileKey::from_encrypted_pem(algorithm, &pem, passphrase.trim().as_bytes()).expect("decrypt")
}

/// Microseconds per cryptographic operation an issuance makes, one core: its signature, the
/// check of that signature, reading the CSR (its signature verified), and the OCSP response
/// (a P-256 signature and its check). Their sum bounds the issuance rate.
fn costs(dir: &Path, csr: &[u8], rounds: u32) -> Vec<(&'static str, f64)> {
    let message = vec![0x5a; 600];
    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..rounds {
            f();
        }
        start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
    };
    let check = |key: &FileKey, algorithm| {
        let spki = spki::SubjectPublicKeyInfoOwned::from_der(key.public_key_der()).expect("spki");
        let signature = key.sign(&message).expect("sign");
        let oid = signet_pki::keys::signature_algorithm(algorithm).oid;
        time(&|| {
            drop(signet_pki::public_key::verify(
                &spki, oid, &message, &signature,
            ))
        })
    };
    let ca = key(dir, "class3", CaKeyAlgorithm::EcP384);
    let responder = key(dir, "class3-ocsp", CaKeyAlgorithm::EcP256);
    vec![
        (
            "P-384 signature (the certificate)",
            time(&|| drop(ca.sign(&message))),
        ),
        (
            "P-384 verification (its self-check)",
            check(&ca, CaKeyAlgorithm::EcP384),
        ),
        (
            "reading the CSR (P-256 signature verified)",
            time(&|| drop(signet_pki::csr::parse_csr(csr))),
        ),
        (
            "P-256 signature (the OCSP response)",
            time(&|| drop(responder.sign(&message))),
        ),
        (
            "P-256 verification (its self-check)",
            check(&responder, CaKeyAlgorithm::EcP256),
        ),
    ]
}

/// `total` issuances by `at_once` workers, each calling `Signet::issue` (batch 1) or
/// `Signet::issue_batch` with `batch` requests at a time.
async fn issue_many(
    signet: &Arc<Signet>,
    csr: &Arc<Vec<u8>>,
    total: u32,
    at_once: u32,
    batch: u32,
) -> Duration {
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..at_once {
        let (signet, csr) = (signet.clone(), csr.clone());
        let mut share = total / at_once + u32::from(worker < total % at_once);
        tasks.spawn(async move {
            while share > 0 {
                let n = share.min(batch);
                share -= n;
                if batch == 1 {
                    signet.issue(request(&csr)).await.expect("issue");
                    continue;
                }
                let requests = (0..n).map(|_| request(&csr)).collect();
                for issued in signet.issue_batch(requests).await.expect("batch").results {
                    issued.expect("issue");
                }
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
    issue_many(&signet, &csr, 10, 1, 1).await; // warm the pool and the caches
    let raw = raw_signatures(dir, total * 4, 1);
    let raw_all = raw_signatures(dir, total * 4, cores);
    let costs = costs(dir, &csr, total * 4);
    let floor: f64 = costs.iter().map(|(_, micros)| micros).sum();
    for (what, micros) in &costs {
        eprintln!("{name}: {what}: {micros:.1} µs");
    }
    eprintln!(
        "{name}: cryptography per issuance {floor:.0} µs: at most {:.0} issuances/s on {cores} cores",
        1e6 * f64::from(cores) / floor
    );
    let mut rows = Vec::new();
    for (at_once, batch, total) in [
        (1, 1, total),
        (cores, 1, total),
        (1, BATCH, total * 10),
        (cores, BATCH, total * 10),
    ] {
        let cpu = cpu_seconds();
        let took = issue_many(&signet, &csr, total, at_once, batch).await;
        let cpu = cpu_seconds() - cpu;
        let rate = f64::from(total) / took.as_secs_f64();
        rows.push(format!(
            "| {name} | {at_once} | {batch} | {total} | {rate:.0} | {:.0} | {raw:.0} | {raw_all:.0} | {:.0} % | {:.0} % |",
            cpu * 1e6 / f64::from(total),
            100.0 * rate / raw,
            100.0 * rate / raw_all,
        ));
    }
    rows
}

/// CPU time this process has used (user and system, from /proc; 10 ms ticks).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let after_name = &stat[stat.rfind(')').expect("stat") + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    let ticks: f64 =
        fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    ticks / 100.0
}

/// Requests per `Signet::issue_batch` call in the batched rows.
const BATCH: u32 = 250;

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
        "| store | callers at once | certificates per call | issuances | per second | CPU µs each (this process) | raw signatures/s, one core | raw signatures/s, {cores} cores | issuance / raw (one core) | issuance / raw ({cores} cores) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        println!("{row}");
    }
}
