//! Nothing lost, nothing half-done: Signet under many requests at once and under `kill -9` at
//! random moments. The invariants are checked in the store (SQLite and PostgreSQL), with
//! `signet audit verify`, and against the published CRL and OCSP answers with openssl.

mod common;
mod servers;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::str::FromStr;
use std::sync::Arc;

use common::*;
use serde_json::{Value, json};
use signet_domain::credentials::OrderNumber;
use signet_domain::order::OrderStatus;
use signet_domain::serial::Serial;
use signet_store::IssuanceState;
use signet_store::prelude::*;

fn order_number(text: &str) -> OrderNumber {
    OrderNumber::parse(text).expect("order number")
}

/// One runtime for the whole test binary: a pool opened on it stays usable.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| tokio::runtime::Runtime::new().expect("runtime"))
        .block_on(f)
}

fn store_of(data: &Path, database_url: Option<&str>) -> Arc<dyn Store> {
    let url = database_url.map_or_else(
        || format!("sqlite://{}", data.join("signet.db").display()),
        str::to_owned,
    );
    block_on(signet_store::open(&url)).expect("open the store")
}

/// `signet` with the database the test uses.
fn signet_on(data: &Path, database_url: Option<&str>) -> Command {
    let mut cmd = signet(data);
    if let Some(url) = database_url {
        cmd.args(["--database-url", url]);
    }
    cmd
}

/// A CA with a vetting officer, served; the subscriber max logged in.
struct Setup {
    data: tempfile::TempDir,
    database_url: Option<String>,
    vetting: String,
    max: String,
}

/// `tag` keeps the vetting officer's address apart from other tests of this binary (they
/// share the tests' authenticator app).
fn setup(tag: &str, database_url: Option<String>, claim_seconds: Option<u32>) -> (Setup, Server) {
    let vera = format!("vera-{tag}@ca.example.com");
    let data = tempdir();
    let d = data.path();
    let db = database_url.as_deref();
    ok(signet_on(d, db).args(["init", "--base-url", BASE_URL]));
    if let Some(seconds) = claim_seconds {
        let config = d.join("signet.toml");
        let text = std::fs::read_to_string(&config).expect("config");
        assert!(text.contains("pickup_claim_seconds = 120"), "{text}");
        let text = text.replace(
            "pickup_claim_seconds = 120",
            &format!("pickup_claim_seconds = {seconds}"),
        );
        std::fs::write(&config, text).expect("config");
    }
    ok(signet_on(d, db).args(["user", "add", "--role", "vetting", "--email", &vera]));
    let server = start(d, db);
    let api = Api::new(&server);
    let vetting = api.staff_login(d, &vera);
    let max = api.subscriber(d, "max@example.de");
    (
        Setup {
            data,
            database_url,
            vetting,
            max,
        },
        server,
    )
}

fn start(data: &Path, database_url: Option<&str>) -> Server {
    match database_url {
        Some(url) => Server::start(data, &["--database-url", url]),
        None => Server::start(data, &[]),
    }
}

/// Orders of max brought to ready for pickup: (order number, pickup token).
fn ready_orders(api: &Api, s: &Setup, n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|_| {
            let number = api.order(&s.max, "max@example.de", "p-256");
            let token = api.to_pickup(s.data.path(), &number, &s.max, &s.vetting, "max@example.de");
            (number, token)
        })
        .collect()
}

/// One request's outcome: (what, status or 0 when the connection failed, body).
type Outcome = (String, u16, Value);

fn send(req: reqwest::blocking::RequestBuilder, what: String) -> Outcome {
    match req.send() {
        Ok(res) => {
            let status = res.status().as_u16();
            (what, status, res.json().unwrap_or(Value::Null))
        }
        Err(_) => (what, 0, Value::Null),
    }
}

/// The API body of an order by max (12 months, P-256, the tests' pickup password).
fn order_of_max(surname: &str) -> Value {
    json!({
        "product": "personal-3-pro",
        "subject": {"given_name": "Max", "surname": surname, "email": "max@example.de", "organization": "Muster GmbH", "country": "DE"},
        "approval_email": "max@example.de", "pickup_password": "pickup-secret-42",
        "validity_months": 12, "key_type": "p-256"})
}

/// A staff revocation of `serial` for `reason`, sent from loopback.
fn revoke(base: &str, token: &str, serial: &str, reason: &str) -> Outcome {
    send(
        client_from("127.0.0.1")
            .post(format!("{base}/api/v1/certificates/{serial}/revoke"))
            .bearer_auth(token)
            .json(&json!({ "reason": reason })),
        format!("revoke {serial}"),
    )
}

fn client_from(ip: &str) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .local_address(Some(ip.parse().expect("ip")))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("client")
}

/// A pickup through the server at `base` (its URL without a path).
fn pickup(base: &str, token: &str, password: &str) -> Outcome {
    send(
        client_from("127.0.0.1")
            .post(format!("{base}/api/v1/pickups/{token}"))
            .json(&json!({"pickup_password": password, "key_type": "p-256"})),
        format!("pickup {token}"),
    )
}

/// The invariants that must hold after anything: every issued subscriber certificate is linked
/// to exactly one order (or was an operator's), no intent is open, no pickup claim is held, no
/// link yielded two certificates, every revoked or possibly-signed serial is on the CRL and
/// revoked by OCSP, and the audit chain verifies.
fn check_invariants(s: &Setup, server: &Server, orders: &[(String, String)]) {
    let d = s.data.path();
    let store = store_of(d, s.database_url.as_deref());
    let open = block_on(store.unfinished_intents()).expect("intents");
    assert!(open.is_empty(), "open intents left: {open:?}");
    let mut per_order: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut revoked = BTreeSet::new();
    for (number, _) in orders {
        let order = block_on(store.order(&order_number(number)))
            .expect("read")
            .expect("order");
        assert!(order.claimed_serial.is_none(), "{number} still claimed");
        if let Some(serial) = &order.certificate_serial {
            assert_eq!(order.status, OrderStatus::Issued);
            per_order
                .entry(number.clone())
                .or_default()
                .push(serial.to_hex());
            let cert = block_on(store.certificate(serial))
                .expect("read")
                .expect("certificate of an issued order");
            assert_eq!(cert.state, IssuanceState::Issued);
            assert_eq!(cert.intent.origin, format!("order:{number}"));
            if cert.revoked_at.is_some() {
                revoked.insert(serial.to_hex());
            }
        } else {
            assert_eq!(order.status, OrderStatus::ReadyForPickup, "{number}");
        }
    }
    let unlinked = block_on(store.unlinked_certificates()).expect("unlinked");
    for c in &unlinked {
        assert!(
            c.revoked_at.is_some(),
            "an issued certificate linked to no order is still valid: {}",
            c.intent.serial
        );
    }
    // Every serial that may have been signed and was not delivered is listed as revoked.
    let issued_audit: Vec<_> = block_on(store.audit_entries()).expect("audit");
    for e in issued_audit
        .iter()
        .filter(|e| e.action == "certificate.intent")
    {
        let serial = e.subject.trim_start_matches("certificate:");
        let cert = block_on(store.certificate(&Serial::from_str(serial).expect("serial")))
            .expect("read")
            .expect("an audited intent has its row");
        if cert.intent.profile.starts_with("ca:") {
            continue;
        }
        let linked = per_order.values().flatten().any(|s| s == serial);
        assert!(
            linked || cert.revoked_at.is_some() || cert.state == IssuanceState::Abandoned,
            "serial {serial} neither delivered nor accounted for: {cert:?}"
        );
        if cert.revoked_at.is_some() {
            revoked.insert(serial.to_owned());
        }
        // An audit record of issuance for each issued certificate.
        if cert.state == IssuanceState::Issued {
            assert!(
                issued_audit
                    .iter()
                    .any(|a| a.action == "certificate.issued" && a.subject == e.subject),
                "certificate {serial} issued without its audit record"
            );
        }
    }
    for serials in per_order.values() {
        assert_eq!(serials.len(), 1, "one certificate per order");
    }
    // The published CRL and OCSP agree with the store.
    let crl = fetch_crl(server, d);
    for serial in &revoked {
        assert!(
            crl.contains(&serial.to_ascii_uppercase()),
            "revoked serial {serial} missing from the CRL"
        );
    }
    for serial in revoked.iter().take(5) {
        assert_eq!(ocsp_status(server, d, serial), "revoked", "{serial}");
    }
    let out = ok(signet_on(d, s.database_url.as_deref()).args(["audit", "verify"]));
    assert!(text(&out.stdout).contains("chain verified"));
}

/// The class 3 CA's CRL as `openssl crl -text` shows it, verified against the CA certificate.
fn fetch_crl(server: &Server, d: &Path) -> String {
    let bytes = reqwest::blocking::get(server.url("/crl/class3/0.crl"))
        .expect("crl")
        .bytes()
        .expect("body");
    let path = d.join("fetched.crl");
    std::fs::write(&path, &bytes).expect("write");
    let out = ok(Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text", "-CAfile"])
        .arg(d.join("ca/class3.pem"))
        .arg("-in")
        .arg(&path));
    text(&out.stdout).replace(':', "")
}

fn concurrency(tag: &str, database_url: Option<String>) {
    let (s, server) = setup(tag, database_url, None);
    let d = s.data.path();
    let api = Api::new(&server);
    let orders = ready_orders(&api, &s, 22);
    let base = server.url("");
    let base = base.as_str();
    let (to_pick, rest) = orders.split_at(16);
    let (to_revoke, rest) = rest.split_at(5);
    let guarded = &rest[0];
    // Five certificates to revoke during the load.
    let mut issued = Vec::new();
    for (_, token) in to_revoke {
        let (_, status, body) = pickup(base, token, "pickup-secret-42");
        assert_eq!(status, 200, "{body}");
        issued.push(body["serial"].as_str().expect("serial").to_owned());
    }

    let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let mut jobs = Vec::new();
        // Every pickup link twice at once: exactly one may yield a certificate.
        for (_, token) in to_pick {
            for _ in 0..2 {
                jobs.push(scope.spawn(move || pickup(base, token, "pickup-secret-42")));
            }
        }
        // 30 wrong pickup passwords on one order (the limit is 5).
        for _ in 0..30 {
            let token = &guarded.1;
            jobs.push(scope.spawn(move || pickup(base, token, "not the password")));
        }
        // 20 sign-ups from 20 clients, and 10 with one address.
        for i in 0..30 {
            jobs.push(scope.spawn(move || {
                let email = if i < 20 {
                    format!("new{i}@example.org")
                } else {
                    "same@example.org".to_owned()
                };
                send(
                    client_from(&format!("127.0.2.{i}"))
                        .post(format!("{base}/api/v1/accounts"))
                        .json(&json!({"email": email, "password": "a long enough password", "name": "New"})),
                    format!("signup {email}"),
                )
            }));
        }
        // 20 wrong log-ins on max from 20 clients (the lock takes 10).
        for i in 0..20 {
            jobs.push(scope.spawn(move || {
                send(
                    client_from(&format!("127.0.3.{i}"))
                        .post(format!("{base}/api/v1/sessions"))
                        .json(&json!({"email": "max@example.de", "password": "a wrong guess!!"})),
                    "login".to_owned(),
                )
            }));
        }
        // Orders and revocations.
        for i in 0..5 {
            let max = &s.max;
            jobs.push(scope.spawn(move || {
                send(
                    client_from("127.0.0.1")
                        .post(format!("{base}/api/v1/orders"))
                        .bearer_auth(max)
                        .json(&order_of_max(&format!("Muster{i}"))),
                    "order".to_owned(),
                )
            }));
        }
        for serial in &issued {
            let max = &s.max;
            jobs.push(scope.spawn(move || revoke(base, max, serial, "key_compromise")));
        }
        assert!(jobs.len() >= 50);
        jobs.into_iter()
            .map(|j| j.join().expect("thread"))
            .collect()
    });

    for (what, status, body) in &outcomes {
        assert!(
            *status != 0 && *status < 500,
            "{what} answered {status}: {body}"
        );
    }
    let count = |prefix: &str, status: u16| {
        outcomes
            .iter()
            .filter(|(w, s, _)| w.starts_with(prefix) && *s == status)
            .count()
    };
    for (_, token) in to_pick {
        let wins = outcomes
            .iter()
            .filter(|(w, s, _)| *w == format!("pickup {token}") && *s == 200)
            .count();
        assert_eq!(wins, 1, "a pickup link must yield exactly one certificate");
    }
    assert_eq!(count("signup new", 202), 20);
    assert_eq!(count("order", 201), 5);
    assert_eq!(count("revoke", 200), 5, "{outcomes:?}");
    // Counters are exact: 30 wrong pickup passwords counted 30, of which only 5 were checked.
    let store = store_of(d, s.database_url.as_deref());
    let audit = block_on(store.audit_entries()).expect("audit");
    let about = |action: &str, subject: &str| {
        audit
            .iter()
            .filter(|e| e.action == action && e.subject == subject)
            .count()
    };
    let guarded_subject = format!("order:{}", guarded.0);
    assert_eq!(about("pickup.wrong_password", &guarded_subject), 5);
    assert_eq!(about("pickup.locked", &guarded_subject), 25);
    let order = block_on(store.order(&order_number(&guarded.0)))
        .expect("read")
        .expect("order");
    assert_eq!(order.pickup_failures, 30);
    assert_eq!(
        pickup(base, &guarded.1, "pickup-secret-42").1,
        423,
        "the right password after the lock is refused"
    );
    // Ten sign-ups with one address: one account (the other answers are the same 202 or 429).
    let same = block_on(store.account_by_email("same@example.org")).expect("read");
    assert!(same.is_some());
    assert_eq!(
        count("signup same", 202) + count("signup same", 429),
        10,
        "{outcomes:?}"
    );
    // Twenty wrong log-ins from twenty clients: all counted; the account locked once.
    let max = block_on(store.account_by_email("max@example.de"))
        .expect("read")
        .expect("max");
    assert!(max.locked_until.is_some(), "{max:?}");
    assert_eq!(max.lock_count, 1);
    let attempts = audit
        .iter()
        .filter(|e| {
            e.action == "session.login_attempt" && e.subject == format!("account:{}", max.id)
        })
        .count();
    assert!(
        attempts >= 20,
        "every attempt is counted and recorded ({attempts})"
    );
    assert_eq!(count("login", 401), 20);
    let _ = link_in_mail(d, "max@example.de", "locked for a while");
    let all: Vec<_> = orders.to_vec();
    check_invariants(&s, &server, &all[..21]);
    // The revocations are published.
    for serial in &issued {
        assert_eq!(ocsp_status(&server, d, serial), "revoked");
    }
}

#[test]
fn many_requests_at_once_on_sqlite() {
    concurrency("sqlite", None);
}

#[test]
fn many_requests_at_once_on_postgresql() {
    concurrency("postgres", Some(postgres_database("concurrency")));
}

#[test]
fn kill_9_at_random_moments() {
    // A short claim, so that the pickups a kill interrupts come back within seconds.
    let (s, server) = setup("crash", None, Some(2));
    let d = s.data.path();
    let api = Api::new(&server);
    let orders = ready_orders(&api, &s, 30);
    drop(server);
    let mut delivered: BTreeMap<String, String> = BTreeMap::new();
    let mut revoked_by_request = BTreeSet::new();
    // Random moments, reproducible: the seed is printed, and SIGNET_TEST_SEED replays it.
    let seed = std::env::var("SIGNET_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    eprintln!("kill schedule seed: SIGNET_TEST_SEED={seed}");
    let mut rng = seed;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let kills = 12;
    for round in 0..kills {
        let mut server = start(d, None);
        // One round crashes exactly between signing and recording (a debug-only crash point).
        if round == 3 {
            drop(server);
            server = crash_after_signing(d);
        }
        let pending: Vec<&(String, String)> = orders
            .iter()
            .filter(|(n, _)| !delivered.contains_key(n))
            .collect();
        let delay = std::time::Duration::from_millis(50 + next() % 900);
        let base = server.url("");
        let base = base.as_str();
        let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
            let mut jobs = Vec::new();
            for (number, token) in pending.iter().take(8) {
                jobs.push(scope.spawn(move || {
                    let (_, status, body) = pickup(base, token, "pickup-secret-42");
                    (format!("pickup {number}"), status, body)
                }));
            }
            for serial in delivered
                .values()
                .filter(|s| !revoked_by_request.contains(*s))
                .take(3)
            {
                let max = &s.max;
                jobs.push(scope.spawn(move || revoke(base, max, serial, "superseded")));
            }
            for i in 0..4 {
                jobs.push(scope.spawn(move || {
                    send(
                        client_from(&format!("127.0.4.{}", (round * 4 + i) % 250))
                            .post(format!("{base}/api/v1/accounts"))
                            .json(&json!({"email": format!("r{round}x{i}@example.org"), "password": "a long enough password", "name": "R"})),
                        "signup".to_owned(),
                    )
                }));
            }
            std::thread::sleep(delay);
            server.kill_9();
            jobs.into_iter()
                .map(|j| j.join().expect("thread"))
                .collect()
        });
        for (what, status, body) in outcomes {
            assert!(
                status == 0 || status < 500,
                "{what} answered {status}: {body}"
            );
            if status == 200
                && let Some(number) = what.strip_prefix("pickup ")
            {
                delivered.insert(
                    number.to_owned(),
                    body["serial"].as_str().expect("serial").to_owned(),
                );
            }
            if matches!(status, 200 | 204)
                && let Some(serial) = what.strip_prefix("revoke ")
            {
                revoked_by_request.insert(serial.to_owned());
            }
        }
    }
    // After the last kill: the claims lapse, reconciliation releases them, and every pickup
    // that was not delivered works with its link.
    let server = start(d, None);
    let mut issued_unseen = 0;
    std::thread::sleep(std::time::Duration::from_secs(3));
    // A node killed while it held a job's lease (the CRLs behind revocations) holds it a minute.
    advance_clock(d, 90);
    ok(signet(d).args(["jobs", "--only", "reconcile"]));
    for (number, token) in &orders {
        if delivered.contains_key(number) {
            continue;
        }
        let (_, status, body) = pickup(&server.url(""), token, "pickup-secret-42");
        if status == 200 {
            delivered.insert(
                number.clone(),
                body["serial"].as_str().expect("serial").to_owned(),
            );
            continue;
        }
        // Delivered in a response the kill cut off: the order is issued, the subscriber
        // reissues. Nothing else is acceptable.
        let store = store_of(d, None);
        let order = block_on(store.order(&order_number(number)))
            .expect("read")
            .expect("order");
        assert!(
            matches!(status, 409 | 410) && order.status == OrderStatus::Issued,
            "order {number} is stuck ({status}, {}): {body}",
            order.status
        );
        issued_unseen += 1;
    }
    // Delivered certificates are exactly the orders' certificates.
    let store = store_of(d, None);
    for (number, serial) in &delivered {
        let order = block_on(store.order(&order_number(number)))
            .expect("read")
            .expect("order");
        assert_eq!(
            order.certificate_serial.map(|s| s.to_hex()),
            Some(serial.to_uppercase())
        );
    }
    let reconciled = block_on(store.recent_audit("reconcile.", 1000)).expect("audit");
    eprintln!(
        "{kills} kills: {} pickups delivered, {issued_unseen} issued in a response the kill cut off, {} reconciliation records",
        delivered.len(),
        reconciled.len()
    );
    check_invariants(&s, &server, &orders);
    for serial in &revoked_by_request {
        assert_eq!(ocsp_status(&server, d, serial), "revoked");
    }
}

/// `signet serve` that aborts right after its next signature, before recording it.
fn crash_after_signing(d: &Path) -> Server {
    Server::start_with_env(d, &[], &[("SIGNET_TEST_CRASH_AFTER_SIGNING", "1")])
}

/// psql on the test server's administrative database.
fn psql(sql: &str) {
    let admin = std::env::var("SIGNET_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    ok(Command::new("psql").arg(&admin).args(["-q", "-c", sql]));
}

#[test]
fn a_database_that_stops_taking_writes_and_comes_back() {
    let url = postgres_database("readonly");
    let db = url.rsplit('/').next().expect("database").to_owned();
    let (s, server) = setup("readonly", Some(url.clone()), None);
    let d = s.data.path();
    let api = Api::new(&server);
    let orders = ready_orders(&api, &s, 1);
    let (number, token) = &orders[0];
    let base = server.url("");
    let store = store_of(d, Some(&url));
    let audit_before = block_on(store.audit_entries()).expect("audit").len();

    // A failover to a read-only standby, as Signet sees it: every connection drops, new ones
    // cannot write.
    psql(&format!(
        "ALTER DATABASE {db} SET default_transaction_read_only = on"
    ));
    psql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
    ));
    let readyz = || reqwest::blocking::get(format!("{base}/readyz")).expect("readyz");
    let not_ready = readyz();
    assert_eq!(not_ready.status().as_u16(), 503);
    let report: Value = not_ready.json().expect("json");
    assert_eq!(report["ready"], false, "{report}");
    assert_eq!(
        reqwest::blocking::get(format!("{base}/healthz"))
            .expect("healthz")
            .status()
            .as_u16(),
        200,
        "alive, only not ready"
    );
    // Clean refusals that change nothing.
    let (_, status, body) = pickup(&base, token, "pickup-secret-42");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], 503);
    let signup = client_from("127.0.6.1")
        .post(format!("{base}/api/v1/accounts"))
        .json(&json!({"email": "late@example.org", "password": "a long enough password", "name": "Late"}))
        .send()
        .expect("sign-up");
    assert_eq!(signup.status().as_u16(), 503);
    assert!(signup.headers().contains_key("retry-after"));
    assert_eq!(
        signup.headers()["content-type"].to_str().expect("type"),
        "application/problem+json"
    );

    // Back to writable, without terminating anything: connections opened read-only are
    // discarded as they fail, and the node is ready again without a restart.
    psql(&format!(
        "ALTER DATABASE {db} RESET default_transaction_read_only"
    ));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while readyz().status().as_u16() != 200 {
        assert!(std::time::Instant::now() < deadline, "never ready again");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let store = store_of(d, Some(&url));
    let order = block_on(store.order(&order_number(number)))
        .expect("read")
        .expect("order");
    assert_eq!(
        (
            order.status.as_str(),
            order.claimed_serial.as_ref(),
            order.pickup_failures
        ),
        ("ready_for_pickup", None, 0),
        "nothing half-done"
    );
    assert!(
        block_on(store.unfinished_intents())
            .expect("intents")
            .is_empty()
    );
    assert_eq!(
        block_on(store.audit_entries()).expect("audit").len(),
        audit_before,
        "nothing recorded of what did not happen"
    );
    // Everything works again, on the pooled connections that are left.
    for _ in 0..20 {
        let r = readyz();
        let status = r.status().as_u16();
        assert_eq!(status, 200, "{}", r.text().unwrap_or_default());
    }
    let (_, status, body) = pickup(&base, token, "pickup-secret-42");
    assert_eq!(status, 200, "{body}");
    let signup = client_from("127.0.6.2")
        .post(format!("{base}/api/v1/accounts"))
        .json(&json!({"email": "late@example.org", "password": "a long enough password", "name": "Late"}))
        .send()
        .expect("sign-up");
    assert_eq!(signup.status().as_u16(), 202);
    check_invariants(&s, &server, &orders);
}

/// A name outside the Basic Multilingual Plane (Deseret, U+10400) is vetted and
/// picked up like any other: the PKCS#12 is checked before the certificate is signed, and opens.
#[test]
fn names_beyond_the_basic_multilingual_plane_pick_up() {
    let (s, server) = setup("bmp", None, None);
    let d = s.data.path();
    let api = Api::new(&server);
    // A character the request form cannot print is refused at order time, with the reason: the
    // paper the notary stamps must match the certificate (no bundled font has CJK Extension B).
    let (status, body) = api.post(
        "/api/v1/orders",
        Some(&s.max),
        json!({"product": "personal-3-pro",
               "subject": {"given_name": "吉", "surname": "\u{20BB7}田", "email": "max@example.de", "organization": "Muster GmbH", "country": "DE"},
               "approval_email": "max@example.de", "pickup_password": "pickup-secret-42", "validity_months": 12, "key_type": "p-256"}),
    );
    assert_eq!(status, 422, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("U+20BB7")),
        "{body}"
    );
    let number = api.place(
        &s.max,
        json!({"product": "personal-3-pro",
               "subject": {"given_name": "吉", "surname": "\u{10400}\u{1044F}田", "email": "max@example.de", "organization": "Muster GmbH", "country": "DE"},
               "approval_email": "max@example.de", "pickup_password": "pickup-secret-42", "validity_months": 12, "key_type": "p-256"}),
    );
    let token = api.to_pickup(d, &number, &s.max, &s.vetting, "max@example.de");
    let (_, status, body) = pickup(&server.url(""), &token, "pickup-secret-42");
    assert_eq!(status, 200, "{body}");
    let pfx = d.join("bmp.p12");
    use base64::Engine;
    std::fs::write(
        &pfx,
        base64::engine::general_purpose::STANDARD
            .decode(body["pkcs12"].as_str().expect("pkcs12"))
            .expect("base64"),
    )
    .expect("write");
    ok(Command::new("openssl")
        .args(["pkcs12", "-info", "-noout", "-passin"])
        .arg(format!(
            "pass:{}",
            body["pkcs12_password"].as_str().expect("password")
        ))
        .arg("-in")
        .arg(&pfx));
    let pem = d.join("bmp.pem");
    std::fs::write(&pem, body["certificate"].as_str().expect("pem")).expect("write");
    let subject = ok(Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-nameopt", "utf8", "-in"])
        .arg(&pem));
    assert!(
        text(&subject.stdout).contains("\u{10400}\u{1044F}田"),
        "{}",
        text(&subject.stdout)
    );
}

/// nginx on `port` as a round-robin load balancer in front of `nodes`, passing each client's
/// address on. A request that could not connect to a node goes to the next one; one sent to a
/// node that then died is not sent again when it is a POST (nginx's default), and its client
/// gets a 502.
fn balancer(dir: &Path, port: u16, nodes: &[Server]) -> servers::Process {
    let upstreams: String = nodes
        .iter()
        .map(|n| format!("server {} max_fails=1 fail_timeout=60s; ", n.addr))
        .collect();
    servers::nginx(
        dir,
        &format!(
            "client_max_body_size 12m;\nupstream signet {{ {upstreams}}}\n\
             server {{ listen 127.0.0.1:{port}; location / {{ proxy_pass http://signet; \
             proxy_set_header Host $host; proxy_set_header X-Forwarded-For $remote_addr; \
             proxy_read_timeout 60s; }} }}\n"
        ),
        std::net::Ipv4Addr::LOCALHOST,
        port,
    )
}

/// The nodes take the client's address from the balancer's `X-Forwarded-For`.
fn trust_the_balancer(d: &Path) {
    let config = d.join("signet.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    let setting = "client_ip_header = \"X-Forwarded-For\"\n";
    let text = if text.contains("\n[http]\n") {
        text.replace("\n[http]\n", &format!("\n[http]\n{setting}"))
    } else {
        format!("{text}\n[http]\n{setting}")
    };
    std::fs::write(&config, text).expect("config");
}

/// What one order's life through the balancer came to.
#[derive(Default)]
struct Life {
    number: Option<String>,
    document: Option<String>,
    pickup_token: Option<String>,
    serial: Option<String>,
}

/// An order's whole life through `api` (placed, form uploaded, approval address confirmed,
/// approved, picked up, and every other one revoked), each step's outcome pushed to `out`. It
/// stops at the first step that did not succeed: a node died under it, and the test checks
/// later that what did succeed was kept.
fn one_life(api: &Api, s: &Setup, i: usize, out: &mut Vec<Outcome>) -> Life {
    let d = s.data.path();
    let mut life = Life::default();
    let wait = std::time::Duration::from_secs(10);
    let placed = send(
        api.client
            .post(api.url("/api/v1/orders"))
            .bearer_auth(&s.max)
            .json(&order_of_max(&format!("Node{i}"))),
        "order".to_owned(),
    );
    let ok_step = |o: &Outcome, want: u16, out: &mut Vec<Outcome>| {
        out.push(o.clone());
        o.1 == want
    };
    if !ok_step(&placed, 201, out) {
        return life;
    }
    let number = placed.2["order_number"]
        .as_str()
        .expect("number")
        .to_owned();
    life.number = Some(number.clone());
    let (status, body) = api.upload(&number, &s.max, "signed_agreement", PDF);
    if !ok_step(&("upload".into(), status.as_u16(), body.clone()), 201, out) {
        return life;
    }
    life.document = body["id"]
        .as_i64()
        .map(|id| id.to_string())
        .or_else(|| body["id"].as_str().map(str::to_owned));
    let subject = format!("Confirm the approval e-mail address for order {number}");
    let Some(link) = try_link_in_mail(d, "max@example.de", &subject, wait) else {
        out.push(("confirmation mail".into(), 0, json!(number)));
        return life;
    };
    let token = link.rsplit('/').next().expect("token");
    let (status, body) = api.post(&format!("/api/v1/confirmations/{token}"), None, json!({}));
    if !ok_step(&("confirm".into(), status.as_u16(), body), 200, out) {
        return life;
    }
    let (status, body) = api.post(
        &format!("/api/v1/orders/{number}/decision"),
        Some(s.vetting.as_str()),
        json!({"action": "approve"}),
    );
    if !ok_step(&("decision".into(), status.as_u16(), body), 200, out) {
        return life;
    }
    let subject = format!("Your certificate is ready: order {number}");
    let Some(link) = try_link_in_mail(d, "max@example.de", &subject, wait) else {
        out.push(("pickup mail".into(), 0, json!(number)));
        return life;
    };
    let token = link.rsplit('/').next().expect("token").to_owned();
    life.pickup_token = Some(token.clone());
    let picked = pickup(&api.base, &token, "pickup-secret-42");
    if !ok_step(&picked, 200, out) {
        return life;
    }
    let serial = picked.2["serial"].as_str().expect("serial").to_owned();
    life.serial = Some(serial.clone());
    if i.is_multiple_of(2) {
        out.push(revoke(&api.base, &s.max, &serial, "superseded"));
    }
    life
}

/// The CRL numbers the store holds per shard, with the revocation epoch each covers, in number
/// order.
fn stored_crls(url: &str) -> BTreeMap<String, Vec<(i64, i64)>> {
    let out = ok(Command::new("psql").arg(url).args([
        "-tAF,",
        "-c",
        "SELECT issuer || '/' || shard, number, covers_epoch FROM crls ORDER BY issuer, shard, number",
    ]));
    let mut shards: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for line in text(&out.stdout).lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        shards
            .entry(f[0].to_owned())
            .or_default()
            .push((f[1].parse().expect("number"), f[2].parse().expect("epoch")));
    }
    shards
}

/// The number of the class 3 CRL that `base` serves now.
fn served_crl_number(base: &str, work: &Path, name: &str) -> Option<u64> {
    let res = client_from("127.0.0.1")
        .get(format!("{base}/crl/class3/0.crl"))
        .send()
        .ok()?;
    if !res.status().is_success() {
        return None;
    }
    let path = work.join(name);
    std::fs::write(&path, res.bytes().ok()?).expect("write");
    let out = ok(Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-crlnumber", "-in"])
        .arg(&path));
    let number = text(&out.stdout);
    u64::from_str_radix(number.trim().trim_start_matches("crlNumber=0x"), 16).ok()
}

#[test]
fn three_nodes_behind_a_load_balancer_share_everything_and_lose_nothing_when_one_is_killed() {
    let url = postgres_database("three_nodes");
    // A short pickup claim: a pickup the kill interrupts comes back once the clock moves.
    let (s, first) = setup("nodes", Some(url.clone()), Some(3));
    drop(first);
    let d = s.data.path();
    trust_the_balancer(d);
    let metrics_token = "a scraper's token, long enough";
    let mut nodes: Vec<Server> = (0..3)
        .map(|_| {
            Server::start_with_env(
                d,
                &["--database-url", &url],
                &[("SIGNET_METRICS_TOKEN", metrics_token)],
            )
        })
        .collect();
    let work = tempdir();
    let port = free_port();
    let _balancer = balancer(&work.path().join("nginx"), port, &nodes);
    let api = Api::at(&format!("http://127.0.0.1:{port}"), d);

    // Sessions made on a node that is gone are good on every node.
    for node in &nodes {
        for token in [&s.max, &s.vetting] {
            let (status, body) = Api::new(node).get("/api/v1/orders", token);
            assert_eq!(status, 200, "{body}");
        }
    }
    // Orders, uploads and vetting through the balancer, so spread over the nodes.
    let ready = ready_orders(&api, &s, 10);
    let to_revoke: Vec<String> = (0..3)
        .map(|i| {
            let number = api.order(&s.max, "max@example.de", "p-256");
            let token = api.to_pickup(d, &number, &s.max, &s.vetting, "max@example.de");
            let (_, status, body) = pickup(&api.base, &token, "pickup-secret-42");
            assert_eq!(status, 200, "{i}: {body}");
            body["serial"].as_str().expect("serial").to_owned()
        })
        .collect();

    // The load: order lives, pickups of ready orders (each link twice at once), sign-ups from
    // many clients, revocations, OCSP and CRL reads. Node 1 is killed half-way.
    let run_for = std::time::Duration::from_secs(16);
    let started = std::time::Instant::now();
    let base = api.base.as_str();
    let work_dir = work.path();
    let (lives, outcomes, crl_numbers) = std::thread::scope(|scope| {
        let mut lifers = Vec::new();
        for t in 0..2 {
            let (api, s) = (&api, &s);
            lifers.push(scope.spawn(move || {
                let mut out = Vec::new();
                let mut lives = Vec::new();
                let mut i = t;
                while started.elapsed() < run_for {
                    lives.push(one_life(api, s, i, &mut out));
                    i += 2;
                }
                (lives, out)
            }));
        }
        let mut others = Vec::new();
        let ready = &ready;
        others.push(scope.spawn(move || {
            let mut out = Vec::new();
            for (number, token) in ready {
                std::thread::sleep(std::time::Duration::from_millis(1200));
                let twice: Vec<_> = (0..2)
                    .map(|_| {
                        std::thread::spawn({
                            let (base, token) = (base.to_owned(), token.clone());
                            move || pickup(&base, &token, "pickup-secret-42")
                        })
                    })
                    .collect();
                for t in twice {
                    let (_, status, body) = t.join().expect("pickup");
                    out.push((format!("pickup {number}"), status, body));
                }
            }
            out
        }));
        others.push(scope.spawn(move || {
            (0..24)
                .map(|i| {
                    std::thread::sleep(std::time::Duration::from_millis(600));
                    send(
                        client_from(&format!("127.0.5.{}", i + 1))
                            .post(format!("{base}/api/v1/accounts"))
                            .json(&json!({"email": format!("node{i}@example.org"), "password": "a long enough password", "name": "N"})),
                        format!("signup node{i}"),
                    )
                })
                .collect()
        }));
        let max = &s.max;
        let to_revoke = &to_revoke;
        others.push(scope.spawn(move || {
            to_revoke
                .iter()
                .map(|serial| {
                    std::thread::sleep(std::time::Duration::from_secs(4));
                    revoke(base, max, serial, "key_compromise")
                })
                .collect()
        }));
        let reader = scope.spawn(move || {
            let mut out = Vec::new();
            let mut numbers = Vec::new();
            let mut n = 0;
            while started.elapsed() < run_for {
                let status = ocsp_status_at(base, d, &to_revoke[0]);
                out.push((
                    "ocsp".to_owned(),
                    if status == "none" { 0 } else { 200 },
                    json!(status),
                ));
                match served_crl_number(base, work_dir, &format!("read{n}.crl")) {
                    Some(number) => numbers.push(number),
                    None => out.push(("crl".to_owned(), 0, Value::Null)),
                }
                n += 1;
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            (out, numbers)
        });
        std::thread::sleep(run_for / 2);
        nodes[1].kill_9();
        let mut lives = Vec::new();
        let mut outcomes = Vec::new();
        for l in lifers {
            let (l, o) = l.join().expect("lives");
            lives.extend(l);
            outcomes.extend(o);
        }
        for o in others {
            outcomes.extend(o.join().expect("load"));
        }
        let (o, numbers) = reader.join().expect("reader");
        outcomes.extend(o);
        (lives, outcomes, numbers)
    });
    let dead = nodes.remove(1);
    drop(dead);

    eprintln!(
        "three nodes, one killed: {} order lives ({} picked up), {} requests, {} CRL reads",
        lives.len(),
        lives.iter().filter(|l| l.serial.is_some()).count(),
        outcomes.len(),
        crl_numbers.len()
    );
    // Only requests the killed node had in hand failed, and only as the balancer's 502.
    // A read cut off by the kill fails as a whole (status 0 here), and a mail the dead node had
    // claimed comes only after its claim lapses (checked below).
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.1 == 0 || o.1 >= 500).collect();
    let cut_off = ["ocsp", "crl", "confirmation mail", "pickup mail"];
    assert!(
        failed
            .iter()
            .all(|o| o.1 == 502 || (o.1 == 0 && cut_off.contains(&o.0.as_str()))),
        "failures other than the killed node's requests: {failed:?}"
    );
    assert!(
        failed.len() <= 8,
        "more failed than the dead node had in hand: {failed:?}"
    );
    let signups = outcomes
        .iter()
        .filter(|o| o.0.starts_with("signup") && o.1 == 202)
        .count();
    assert!(signups + failed.len() >= 24, "{outcomes:?}");
    assert!(
        lives.iter().filter(|l| l.serial.is_some()).count() >= 4,
        "the load went on across the kill"
    );
    // The CRL a client sees never goes back, whichever node serves it.
    assert!(crl_numbers.len() > 10, "{crl_numbers:?}");
    assert!(
        crl_numbers.windows(2).all(|w| w[0] <= w[1]),
        "a CRL number went back: {crl_numbers:?}"
    );

    // Time moves on: the dead node's pickup claims, mail claims and job leases lapse, and the
    // nodes left (and a cron pass) pick up its work.
    advance_clock(d, 300);
    ok(signet_on(d, Some(&url)).args(["jobs"]));

    // No order number or serial twice; every order, upload and pickup kept and seen alike by
    // every node left.
    let numbers: Vec<&String> = lives.iter().filter_map(|l| l.number.as_ref()).collect();
    let unique: BTreeSet<&String> = numbers.iter().copied().collect();
    assert_eq!(unique.len(), numbers.len(), "an order number twice");
    let mut serials: Vec<String> = lives.iter().filter_map(|l| l.serial.clone()).collect();
    let ready_pickups: BTreeSet<String> =
        ready.iter().map(|(n, _)| format!("pickup {n}")).collect();
    serials.extend(
        outcomes
            .iter()
            .filter(|o| ready_pickups.contains(&o.0) && o.1 == 200)
            .filter_map(|o| o.2["serial"].as_str().map(str::to_owned)),
    );
    let mut seen = BTreeSet::new();
    let twice: Vec<&String> = serials.iter().filter(|s| !seen.insert(*s)).collect();
    assert!(twice.is_empty(), "serials delivered twice: {twice:?}");
    let store = store_of(d, Some(&url));
    for life in &lives {
        let Some(number) = &life.number else { continue };
        let views: Vec<Value> = nodes
            .iter()
            .map(|node| {
                let (status, body) =
                    Api::new(node).get(&format!("/api/v1/orders/{number}"), &s.max);
                assert_eq!(status, 200, "{number} on {}: {body}", node.addr);
                body
            })
            .collect();
        assert_eq!(views[0]["status"], views[1]["status"], "{number}");
        if let Some(id) = &life.document {
            for node in &nodes {
                let res = Api::new(node)
                    .client
                    .get(node.url(&format!("/api/v1/orders/{number}/documents/{id}")))
                    .bearer_auth(&s.max)
                    .send()
                    .expect("document");
                assert_eq!(res.status(), 200);
                assert_eq!(res.bytes().expect("body").as_ref(), PDF);
            }
        }
        let order = block_on(store.order(&order_number(number)))
            .expect("read")
            .expect("every placed order is kept");
        if let Some(serial) = &life.serial {
            assert_eq!(
                order.certificate_serial.map(|s| s.to_hex()),
                Some(serial.to_uppercase())
            );
        }
    }
    // A mail the dead node had claimed has come.
    for (what, status, number) in &outcomes {
        if *status == 0 && what.ends_with("mail") {
            let number = number.as_str().expect("order number");
            let subject = if what.starts_with("confirmation") {
                format!("Confirm the approval e-mail address for order {number}")
            } else {
                format!("Your certificate is ready: order {number}")
            };
            let wait = std::time::Duration::from_secs(20);
            assert!(
                try_link_in_mail(d, "max@example.de", &subject, wait).is_some(),
                "the mail `{subject}` never came"
            );
        }
    }
    // Every ready order picks up now (or was issued in a response the kill cut off).
    let mut ready_all: Vec<(String, String)> = ready.clone();
    ready_all.extend(
        lives
            .iter()
            .filter_map(|l| Some((l.number.clone()?, l.pickup_token.clone()?))),
    );
    for (number, token) in &ready_all {
        let order = block_on(store.order(&order_number(number)))
            .expect("read")
            .expect("order");
        if order.status == OrderStatus::Issued {
            continue;
        }
        let (_, status, body) = pickup(&api.base, token, "pickup-secret-42");
        assert_eq!(status, 200, "{number} ({}): {body}", order.status);
    }
    check_invariants(&s, &nodes[0], &ready_all);
    // Each mail left once, however many nodes' workers looked at it.
    let all_mail = mails(d);
    let distinct: BTreeSet<&(String, String, String)> = all_mail.iter().collect();
    assert_eq!(distinct.len(), all_mail.len(), "a mail was delivered twice");
    // Per shard, the stored CRL numbers never list less as they grow, whichever node signed.
    let shards = stored_crls(&url);
    assert!(shards.contains_key("class3/0"), "{shards:?}");
    for (shard, crls) in &shards {
        assert!(
            crls.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
            "{shard}: {crls:?}"
        );
    }

    // A revocation through one node is answered `revoked` by every node within 2 s.
    let fresh: Vec<&String> = serials
        .iter()
        .filter(|serial| ocsp_status(&nodes[0], d, serial) == "good")
        .take(2)
        .collect();
    assert_eq!(fresh.len(), 2, "two good certificates to revoke");
    for (i, serial) in fresh.into_iter().enumerate() {
        let by = &nodes[i % 2];
        let (_, status, body) = revoke(&by.url(""), &s.max, serial, "key_compromise");
        assert_eq!(status, 200, "{body}");
        let revoked_at = std::time::Instant::now();
        for node in &nodes {
            while ocsp_status(node, d, serial) != "revoked" {
                assert!(
                    revoked_at.elapsed() < std::time::Duration::from_secs(2),
                    "{} still does not answer revoked for {serial}",
                    node.addr
                );
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        eprintln!(
            "revoked {serial} through {}: every node answers revoked after {:?}",
            by.addr,
            revoked_at.elapsed()
        );
    }
    for node in &nodes {
        let res = reqwest::blocking::get(node.url("/readyz")).expect("readyz");
        assert_eq!(res.status(), 200, "{} is ready", node.addr);
    }
    // What the nodes left counted: pickups by outcome (a link used twice at once is one
    // `issued` and one `conflict` or `gone`), mail sent, store commits and the store's latency.
    let scraped: Vec<String> = nodes.iter().map(|n| scrape(n, metrics_token)).collect();
    let total = |parts: &[&str]| scraped.iter().map(|m| sample(m, parts)).sum::<f64>();
    assert!(total(&["signet_pickups_total{outcome=\"issued\"}"]) >= 2.0);
    assert!(
        total(&["signet_pickups_total{outcome=\"conflict\"}"])
            + total(&["signet_pickups_total{outcome=\"gone\"}"])
            >= 1.0
    );
    assert!(total(&["signet_mail_deliveries_total{outcome=\"sent\"}"]) >= 1.0);
    assert!(total(&["signet_store_commit_seconds_count"]) >= 10.0);
    assert!(total(&["signet_store_probe_seconds"]) > 0.0);
    assert_eq!(
        total(&["signet_store_up "]),
        2.0,
        "both nodes read the store"
    );
    assert!(
        total(&[
            "signet_http_requests_total{",
            "route=\"/api/v1/pickups/{token}\""
        ]) >= 1.0
    );
    drop(nodes);
    drop_postgres_database(&url);
}

/// The counts `signet jobs` printed: (reminders, CRL shards, OCSP responses, mail sent by its
/// mail pass).
fn job_counts(out: &str) -> [usize; 4] {
    let after = |prefix: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no `{prefix}` in {out}"))
    };
    [
        after("expiry reminders sent: "),
        after("CRL shards published: "),
        after("OCSP responses signed: "),
        after("mail: "),
    ]
}

#[test]
fn each_background_job_runs_once_per_due_item_on_three_nodes_at_once() {
    let url = postgres_database("jobs_once");
    let (s, server) = setup("jobs", Some(url.clone()), None);
    let d = s.data.path();
    let api = Api::new(&server);
    let orders = ready_orders(&api, &s, 4);
    for (_, token) in &orders {
        let (_, status, body) = pickup(&server.url(""), token, "pickup-secret-42");
        assert_eq!(status, 200, "{body}");
    }
    drop(server);
    // What the server left in the queue goes now, so that what follows counts only the jobs'.
    ok(signet_on(d, Some(&url)).args(["jobs", "--only", "mail"]));
    let mail_before = mails(d).len();
    let crls_before = stored_crls(&url);

    // 710 days on, the certificates (24 months) are within 30 days of their end, and every CRL
    // and OCSP response is due. Three nodes run every job at once.
    let offset = (710 * 86_400).to_string();
    let three_at_once = || -> (Vec<String>, [usize; 4]) {
        let said = at_once((0..3).map(|_| {
            let mut pass = signet_on(d, Some(&url));
            pass.arg("jobs")
                .env("SIGNET_TEST_CLOCK_OFFSET_SECONDS", &offset);
            pass
        }));
        let total = said.iter().map(|out| job_counts(out)).fold([0; 4], |a, b| {
            [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]]
        });
        (said, total)
    };
    // While a node elsewhere holds the jobs, none of the three runs them.
    let held = "INSERT INTO job_leases (job, holder, lease_until) VALUES \
                ('crl', 'elsewhere', 4102444800), ('ocsp', 'elsewhere', 4102444800), \
                ('reminders', 'elsewhere', 4102444800)";
    ok(Command::new("psql").arg(&url).args(["-q", "-c", held]));
    let (said, total) = three_at_once();
    assert_eq!(total[..3], [0, 0, 0], "a held job ran: {said:?}");
    ok(Command::new("psql").arg(&url).args([
        "-q",
        "-c",
        "DELETE FROM job_leases WHERE holder = 'elsewhere'",
    ]));
    let (said, total) = three_at_once();
    let shards = crls_before.len();
    assert!(shards >= 2, "{crls_before:?}");
    assert_eq!(
        total[..3],
        [4, shards, 4],
        "(reminders, CRL shards, OCSP responses) across the three nodes: {said:?}"
    );
    // One reminder per certificate, each delivered once (by the mail pass of whichever node
    // claimed it, or at once after the commit that queued it).
    assert!(total[3] <= 4, "{said:?}");
    let new_mail: Vec<_> = mails(d).into_iter().skip(mail_before).collect();
    assert_eq!(new_mail.len(), 4, "{new_mail:?}");
    assert!(
        new_mail
            .iter()
            .all(|(_, subject, _)| subject.starts_with("Your certificate expires"))
    );
    let bodies: BTreeSet<&String> = new_mail.iter().map(|m| &m.2).collect();
    assert_eq!(bodies.len(), 4, "a reminder twice");
    // One new CRL per shard, numbered above the last.
    let crls_after = stored_crls(&url);
    for (shard, before) in &crls_before {
        let after = &crls_after[shard];
        assert_eq!(after.len(), before.len() + 1, "{shard}: {after:?}");
        assert!(after.last() > before.last(), "{shard}");
    }
    // A fourth pass finds nothing due.
    let out = ok(signet_on(d, Some(&url))
        .arg("jobs")
        .env("SIGNET_TEST_CLOCK_OFFSET_SECONDS", &offset));
    assert_eq!(job_counts(&text(&out.stdout)), [0, 0, 0, 0]);

    // A job that fails does not hold back the others: without the lease table the leased jobs
    // fail (reconciliation too: it publishes the CRLs behind revocations), and the mail still
    // goes; the command says which failed and exits 1.
    let psql_on = |sql: &str| ok(Command::new("psql").arg(&url).args(["-q", "-c", sql]));
    psql_on("ALTER TABLE job_leases RENAME TO job_leases_away");
    let out = run(signet_on(d, Some(&url))
        .arg("jobs")
        .env("SIGNET_TEST_CLOCK_OFFSET_SECONDS", &offset));
    psql_on("ALTER TABLE job_leases_away RENAME TO job_leases");
    let (said, complained) = (text(&out.stdout), text(&out.stderr));
    assert!(!out.status.success());
    for job in ["reconcile", "reminders", "crl", "ocsp"] {
        assert!(
            complained.contains(&format!("job {job} failed")),
            "{complained}"
        );
    }
    assert!(said.contains("mail: "), "{said}");
    drop_postgres_database(&url);
}
