//! Pickups over HTTP, end to end, beside their peers in the same run:
//!
//! - CSR pickups by `signet serve` (token, Argon2id pickup password, plan, pre-issuance check,
//!   sign, store, OCSP pre-signing, mail) beside `cfssl serve` signing the same CSRs with the
//!   same CA key into its SQLite certificate database;
//! - server-side P-256 and RSA-2048 pickups (key generation and PKCS#12 added) beside bare key
//!   generation in the same library (aws-lc-rs), and beside `openssl req -newkey` +
//!   `openssl x509 -req` + `openssl pkcs12 -export` doing the same work one process at a time.
//!
//!   cargo bench -p signet --bench pickup [-- PICKUPS [CONCURRENCY]]
//!
//! On SQLite (WAL) in the data directory; with `SIGNET_BENCH_POSTGRES_URL` (e.g.
//! postgres://postgres@127.0.0.1:5432/test) on a database made on that server for the run.
//!
//! The orders are made ready in process first (order, signed form, approval, vetting); only the
//! pickups are timed. The load driver shares the machine. Prints a Markdown table for
//! docs/BENCHMARKS.md.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use signet_app::config::InitChoices;
use signet_app::credentials::hash_password;
use signet_app::issue::Signet;
use signet_app::orders::NewOrder;
use signet_app::{SharedClock, SystemClock};
use signet_domain::identity::IdentityInput;
use signet_domain::key::{KeyChoice, SubscriberKeyType};
use signet_domain::role::{Actor, Role};
use signet_store::{AuditRecord, NewAccount, Store};

const PICKUP_PASSWORD: &str = "pickup-secret-42";
const OWNER: &str = "max@example.de";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA as `signet init` makes it (SQLite), an owner and a vetting officer.
async fn ca(d: &Path, url: &str) -> (Signet, Arc<dyn Store>, Actor, Actor) {
    std::fs::create_dir_all(d).expect("data directory");
    let store = signet_store::open(url).await.expect("store");
    let clock: SharedClock = Arc::new(SystemClock);
    signet_app::init::init(
        d,
        InitChoices::with_file_keys("http://pki.example.com", "Bench", "DE"),
        store.as_ref(),
        clock.as_ref(),
        &|_| {},
    )
    .await
    .expect("init");
    let signet = Signet::open(d, store.clone(), clock.clone())
        .await
        .expect("open");
    let now = clock.now();
    let mut tx = store.begin().await.expect("begin");
    let owner = tx
        .create_account(&NewAccount {
            email: OWNER.into(),
            name: "Max Muster".into(),
            role: Role::Subscriber,
            region: None,
            password_hash: Some(hash_password("a long enough password").expect("hash")),
            email_confirmed: true,
            created_at: now,
        })
        .await
        .expect("account");
    tx.audit(AuditRecord {
        at: now,
        actor: "bench".into(),
        action: "bench.setup".into(),
        subject: format!("account:{owner}"),
        detail: "{}".into(),
    });
    tx.commit().await.expect("commit");
    let (vetting, _) = signet
        .invite_staff(Role::Vetting, "vera@ca.example.com", "Vera", None, "bench")
        .await
        .expect("vetting");
    (
        signet,
        store,
        Actor {
            account: owner,
            role: Role::Subscriber,
            region: None,
            email: OWNER.into(),
        },
        Actor {
            account: vetting,
            role: Role::Vetting,
            region: None,
            email: "vera@ca.example.com".into(),
        },
    )
}

/// The token after `path` in the newest mail that holds it and `about`.
async fn mailed(store: &Arc<dyn Store>, about: &str, path: &str) -> String {
    let mail = store.recent_mail(20).await.expect("mail");
    let body = &mail
        .iter()
        .find(|m| m.mail.body.contains(path) && m.mail.body.contains(about))
        .unwrap_or_else(|| panic!("no mail about {about} with {path}"))
        .mail
        .body;
    let start = body.find(path).expect("link") + path.len();
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// `n` orders with this key choice made ready for pickup; their pickup tokens.
async fn ready(
    signet: &Signet,
    store: &Arc<dyn Store>,
    owner: &Actor,
    vetting: &Actor,
    key: KeyChoice,
    n: usize,
) -> Vec<String> {
    let mut tokens = Vec::with_capacity(n);
    for _ in 0..n {
        let order = signet
            .place_order(
                owner,
                NewOrder {
                    product: "personal-3-pro".into(),
                    subject: IdentityInput {
                        given_name: "Max".into(),
                        surname: "Muster".into(),
                        email: OWNER.into(),
                        organization: "Muster GmbH".into(),
                        country: "DE".into(),
                        organization_identifier: None,
                        organizational_unit: None,
                        title: None,
                    },
                    approval_email: OWNER.into(),
                    pickup_password: PICKUP_PASSWORD.into(),
                    validity_months: 12,
                    key_type: key,
                },
            )
            .await
            .expect("order");
        let number = order.order_number;
        let text = number.to_string();
        signet
            .confirm(&mailed(store, &text, "/confirm/").await)
            .await
            .expect("confirmed");
        let form = signet.agreement(owner, &number).await.expect("form");
        signet
            .upload_document(owner, &number, "signed_agreement", &form)
            .await
            .expect("form uploaded");
        signet
            .decide_order(vetting, &number, "approve", None, None)
            .await
            .expect("approved");
        tokens.push(mailed(store, &text, "/pickup/").await);
    }
    tokens
}

/// A server process, stopped when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

/// Requests/s and latency percentiles of one load run.
struct Run {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Sends every body to `url(i)` from `concurrency` clients at once; each answer must be 200.
fn drive(concurrency: usize, requests: Vec<(String, Value)>, check: impl Fn(&Value) + Sync) -> Run {
    let queue = Mutex::new(requests.into_iter());
    let latencies = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..concurrency {
            scope.spawn(|| {
                let client = reqwest::blocking::Client::new();
                loop {
                    let next = queue.lock().expect("queue").next();
                    let Some((url, body)) = next else { break };
                    let sent = Instant::now();
                    let res = client.post(&url).json(&body).send().expect("request");
                    let status = res.status();
                    let answer: Value = res.json().unwrap_or(Value::Null);
                    let took = sent.elapsed();
                    assert_eq!(status, 200, "{url}: {answer}");
                    check(&answer);
                    latencies.lock().expect("latencies").push(took);
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let mut l = latencies.into_inner().expect("latencies");
    l.sort();
    let at = |q: f64| l[((l.len() as f64 * q).ceil() as usize).clamp(1, l.len()) - 1];
    Run {
        per_second: l.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Key generations per second in aws-lc-rs on `threads` threads, `n` in all.
fn keygen_rate(kind: SubscriberKeyType, n: usize, threads: usize) -> f64 {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..n / threads {
                    match kind {
                        SubscriberKeyType::P256 => {
                            aws_lc_rs::signature::EcdsaKeyPair::generate(
                                &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                            )
                            .expect("P-256");
                        }
                        _ => {
                            aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                                .expect("RSA-2048");
                        }
                    }
                }
            });
        }
    });
    (n / threads * threads) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .filter_map(|a| a.parse::<usize>().ok());
    let n = args.next().unwrap_or(300);
    let concurrency = args.next().unwrap_or(16);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let work = tempfile::tempdir().expect("temp dir");
    let w = work.path();
    let d = w.join("ca");
    // SQLite by default; with SIGNET_BENCH_POSTGRES_URL (a server), a database made there.
    let postgres = std::env::var("SIGNET_BENCH_POSTGRES_URL")
        .ok()
        .map(|server| {
            let db = format!("signet_bench_pickup_{}", std::process::id());
            let made = Command::new("psql")
                .arg(&server)
                .args(["-q", "-c", &format!("CREATE DATABASE {db}")])
                .status()
                .expect("psql");
            assert!(made.success());
            (
                server.rsplit_once('/').expect("server URL").0.to_owned() + "/" + &db,
                server,
                db,
            )
        });
    let url = postgres.as_ref().map_or_else(
        || format!("sqlite://{}", d.join("signet.db").display()),
        |(url, _, _)| url.clone(),
    );
    let store_name = if postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite (WAL)"
    };
    let rt = runtime();
    let (signet, store, owner, vetting) = rt.block_on(ca(&d, &url));
    eprintln!("making {n} orders of each kind ready…");
    let csr_tokens = rt.block_on(ready(&signet, &store, &owner, &vetting, KeyChoice::Csr, n));
    let p256_tokens = rt.block_on(ready(
        &signet,
        &store,
        &owner,
        &vetting,
        KeyChoice::Generate(SubscriberKeyType::P256),
        n,
    ));
    let rsa_tokens = rt.block_on(ready(
        &signet,
        &store,
        &owner,
        &vetting,
        KeyChoice::Generate(SubscriberKeyType::Rsa2048),
        n / 4,
    ));
    drop(signet);
    drop(store);
    drop(rt);

    // n CSRs (P-256), one per pickup; cfssl signs the same ones.
    eprintln!("generating {n} CSRs with openssl…");
    let csrs: Vec<String> = (0..n)
        .map(|i| {
            let name = format!("r{i}.csr");
            openssl(
                &[
                    "req",
                    "-new",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-keyout",
                    "/dev/null",
                    "-subj",
                    "/CN=Max Muster",
                    "-out",
                    &name,
                ],
                w,
            );
            std::fs::read_to_string(w.join(name)).expect("csr")
        })
        .collect();

    let port = free_port();
    let _signet = Server(
        Command::new(env!("CARGO_BIN_EXE_signet"))
            .arg("--data-dir")
            .arg(&d)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", &url])
            .env("SIGNET_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("signet serve"),
    );
    wait_for(port);
    let pickup_url = |t: &str| format!("http://127.0.0.1:{port}/api/v1/pickups/{t}");
    let has_cert = |a: &Value| {
        assert!(
            a["certificate_pem"].is_string() || a["serial"].is_string(),
            "{a}"
        )
    };
    let csr_run = drive(
        concurrency,
        csr_tokens
            .iter()
            .zip(&csrs)
            .map(|(t, csr)| {
                (
                    pickup_url(t),
                    json!({"pickup_password": PICKUP_PASSWORD, "csr": csr}),
                )
            })
            .collect(),
        has_cert,
    );
    let p256_run = drive(
        concurrency,
        p256_tokens
            .iter()
            .map(|t| (pickup_url(t), json!({"pickup_password": PICKUP_PASSWORD})))
            .collect(),
        has_cert,
    );
    let rsa_run = drive(
        concurrency,
        rsa_tokens
            .iter()
            .map(|t| (pickup_url(t), json!({"pickup_password": PICKUP_PASSWORD})))
            .collect(),
        has_cert,
    );

    // cfssl serve with the class 3 CA's key (decrypted for it) and a SQLite certificate database.
    openssl(
        &[
            "pkey",
            "-in",
            "ca/keys/class3.key.pem",
            "-passin",
            "file:ca/secrets/ca-passphrase",
            "-out",
            "class3.key",
        ],
        w,
    );
    std::fs::write(
        w.join("cfssl.json"),
        r#"{"signing":{"default":{"expiry":"8760h","usages":["digital signature","client auth"]}}}"#,
    )
    .expect("cfssl config");
    let schema = "CREATE TABLE certificates (serial_number blob NOT NULL, authority_key_identifier blob NOT NULL, ca_label blob, status blob NOT NULL, reason int, expiry timestamp, revoked_at timestamp, pem blob NOT NULL, PRIMARY KEY(serial_number, authority_key_identifier)); \
                  CREATE TABLE ocsp_responses (serial_number blob NOT NULL, authority_key_identifier blob NOT NULL, body blob NOT NULL, expiry timestamp, PRIMARY KEY(serial_number, authority_key_identifier));";
    let made = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()",
        ])
        .arg(w.join("certs.db"))
        .arg(schema)
        .status()
        .expect("python3");
    assert!(made.success());
    std::fs::write(
        w.join("db.json"),
        format!(
            r#"{{"driver":"sqlite3","data_source":"{}"}}"#,
            w.join("certs.db").display()
        ),
    )
    .expect("db config");
    let cfssl_port = free_port();
    let _cfssl = Server(
        Command::new("cfssl")
            .args([
                "serve",
                "-address",
                "127.0.0.1",
                "-port",
                &cfssl_port.to_string(),
            ])
            .args(["-ca", &d.join("ca/class3.pem").display().to_string()])
            .args(["-ca-key", &w.join("class3.key").display().to_string()])
            .args(["-config", &w.join("cfssl.json").display().to_string()])
            .args(["-db-config", &w.join("db.json").display().to_string()])
            .args(["-loglevel", "5"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cfssl serve (apt: golang-cfssl)"),
    );
    wait_for(cfssl_port);
    let cfssl_run = drive(
        concurrency,
        csrs.iter()
            .map(|csr| {
                (
                    format!("http://127.0.0.1:{cfssl_port}/api/v1/cfssl/sign"),
                    json!({"certificate_request": csr}),
                )
            })
            .collect(),
        |a| assert!(a["success"] == true, "{a}"),
    );
    let stored = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM certificates').fetchone()[0])",
        ])
        .arg(w.join("certs.db"))
        .output()
        .expect("python3");
    let stored = String::from_utf8_lossy(&stored.stdout).trim().to_owned();
    assert_eq!(stored, n.to_string(), "cfssl recorded every certificate");

    // The same work with openssl, one process per step, one pickup at a time.
    let openssl_pickup = |newkey: &[&str], rounds: usize| -> Duration {
        let started = Instant::now();
        for _ in 0..rounds {
            let mut req = vec![
                "req",
                "-new",
                "-nodes",
                "-keyout",
                "s.key",
                "-subj",
                "/CN=Max Muster",
                "-out",
                "s.csr",
                "-newkey",
            ];
            req.extend_from_slice(newkey);
            openssl(&req, w);
            openssl(
                &[
                    "x509",
                    "-req",
                    "-in",
                    "s.csr",
                    "-CA",
                    "ca/ca/class3.pem",
                    "-CAkey",
                    "class3.key",
                    "-CAcreateserial",
                    "-days",
                    "365",
                    "-out",
                    "s.pem",
                ],
                w,
            );
            openssl(
                &[
                    "pkcs12", "-export", "-inkey", "s.key", "-in", "s.pem", "-passout", "pass:x",
                    "-out", "s.p12",
                ],
                w,
            );
        }
        started.elapsed() / rounds as u32
    };
    let openssl_p256 = openssl_pickup(&["ec", "-pkeyopt", "ec_paramgen_curve:P-256"], 20);
    let openssl_rsa = openssl_pickup(&["rsa:2048"], 20);
    let p256_keys = keygen_rate(SubscriberKeyType::P256, 2000, cores);
    // The pickup password's check alone (Argon2id, OWASP parameters), on every core.
    let phc = hash_password(PICKUP_PASSWORD).expect("hash");
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..cores {
            scope.spawn(|| {
                for _ in 0..40 {
                    assert!(signet_app::credentials::verify_password(
                        PICKUP_PASSWORD,
                        &phc
                    ));
                }
            });
        }
    });
    let argon2_rate = (40 * cores) as f64 / started.elapsed().as_secs_f64();
    let rsa_keys = keygen_rate(SubscriberKeyType::Rsa2048, 40 * cores, cores);

    let date = time::OffsetDateTime::now_utc().date();
    println!(
        "Pickups over HTTP, {n} each ({} RSA-2048), {concurrency} clients at once, {store_name}, {cores} cores, {date}",
        n / 4
    );
    println!();
    println!("| pickup | per second | p50 | p99 | beside |");
    println!("|---|---|---|---|---|");
    println!(
        "| Signet, CSR (P-256) | {:.0} | {} | {} | cfssl serve, same CSRs, SQLite certdb: {:.0}/s, p50 {}, p99 {} (Signet {:.2}× cfssl); the pickup password's Argon2id check alone: {:.0}/s on all cores |",
        csr_run.per_second,
        ms(csr_run.p50),
        ms(csr_run.p99),
        cfssl_run.per_second,
        ms(cfssl_run.p50),
        ms(cfssl_run.p99),
        csr_run.per_second / cfssl_run.per_second,
        argon2_rate
    );
    println!(
        "| Signet, key made on the server, P-256, PKCS#12 | {:.0} | {} | {} | aws-lc-rs P-256 key generation alone: {:.0}/s; openssl req + x509 -req + pkcs12 -export: {} per pickup |",
        p256_run.per_second,
        ms(p256_run.p50),
        ms(p256_run.p99),
        p256_keys,
        ms(openssl_p256)
    );
    println!(
        "| Signet, key made on the server, RSA-2048, PKCS#12 | {:.0} | {} | {} | aws-lc-rs RSA-2048 key generation alone: {:.1}/s (a pickup takes {:.2}× a key generation); openssl req + x509 -req + pkcs12 -export: {} per pickup |",
        rsa_run.per_second,
        ms(rsa_run.p50),
        ms(rsa_run.p99),
        rsa_keys,
        rsa_keys / rsa_run.per_second,
        ms(openssl_rsa)
    );
    drop(_signet);
    if let Some((_, server, db)) = postgres {
        std::thread::sleep(Duration::from_millis(500));
        let _ = Command::new("psql")
            .arg(&server)
            .args([
                "-q",
                "-c",
                &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
            ])
            .status();
    }
}
