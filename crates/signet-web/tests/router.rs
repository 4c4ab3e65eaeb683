//! The router in process (axum `oneshot`, no socket) over a real CA in a temporary directory
//! and a temporary SQLite store, with a fixed clock: who may call what, for every role. A cell
//! of the matrix is one request; the answer is its status code.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use signet_app::config::InitChoices;
use signet_app::credentials::token_hash;
use signet_app::issue::Signet;
use signet_app::orders::NewOrder;
use signet_app::{Clock, SharedClock};
use signet_domain::identity::IdentityInput;
use signet_domain::role::Role;
use signet_store::{AuditRecord, NewAccount, SqliteStore, Store};
use time::OffsetDateTime;
use time::macros::datetime;
use tower::ServiceExt;

/// The moment every request of this test happens at.
const NOW: OffsetDateTime = datetime!(2026-12-03 12:00 UTC);

#[derive(Debug)]
struct Fixed;

impl Clock for Fixed {
    fn now(&self) -> OffsetDateTime {
        NOW
    }
}

/// Who asks: a bearer token, or nobody.
struct Caller {
    name: &'static str,
    token: Option<String>,
}

struct World {
    router: Router,
    callers: Vec<Caller>,
    order: String,
}

fn note(subject: &str) -> AuditRecord {
    AuditRecord {
        at: NOW,
        actor: "test".into(),
        action: "test.setup".into(),
        subject: subject.into(),
        detail: "{}".into(),
    }
}

/// A session for `account`, written as log-in would (the store keeps only the token's hash).
async fn session(store: &Arc<dyn Store>, account: i64, token: &str) {
    let mut tx = store.begin().await.expect("begin");
    tx.create_session(
        &token_hash(token),
        account,
        NOW + time::Duration::hours(1),
        NOW,
    )
    .await
    .expect("session");
    tx.audit(note(&format!("account:{account}")));
    tx.commit().await.expect("commit");
}

async fn subscriber(store: &Arc<dyn Store>, email: &str) -> i64 {
    let mut tx = store.begin().await.expect("begin");
    let id = tx
        .create_account(&NewAccount {
            email: email.into(),
            name: email.into(),
            role: Role::Subscriber,
            region: None,
            password_hash: None,
            email_confirmed: true,
            created_at: NOW,
        })
        .await
        .expect("account");
    tx.audit(note(email));
    tx.commit().await.expect("commit");
    id
}

async fn world() -> (World, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let url = format!("sqlite://{}", d.join("signet.db").display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).await.expect("store"));
    let clock: SharedClock = Arc::new(Fixed);
    signet_app::init::init(
        d,
        InitChoices::with_file_keys("http://signet.test", "Router Test", "DE"),
        store.as_ref(),
        clock.as_ref(),
        &|_| {},
    )
    .await
    .expect("init");
    let signet = Arc::new(Signet::open(d, store.clone(), clock).await.expect("open"));

    // One account per role (one agent serves Germany, one France), and a second subscriber.
    let mut callers = vec![Caller {
        name: "anonymous",
        token: None,
    }];
    let people: [(&'static str, Role, Option<&str>); 8] = [
        ("owner", Role::Subscriber, None),
        ("stranger", Role::Subscriber, None),
        ("agent", Role::Agent, Some("DE")),
        ("foreign agent", Role::Agent, Some("FR")),
        ("vetting", Role::Vetting, None),
        ("support", Role::Support, None),
        ("admin", Role::Admin, None),
        ("auditor", Role::Auditor, None),
    ];
    for (name, role, region) in people {
        let email = format!("{}@example.com", name.replace(' ', "-"));
        let id = if role == Role::Subscriber {
            subscriber(&store, &email).await
        } else {
            signet
                .invite_staff(role, &email, name, region, "test")
                .await
                .expect("staff")
                .0
        };
        let token = format!("token-of-{}", name.replace(' ', "-"));
        session(&store, id, &token).await;
        callers.push(Caller {
            name,
            token: Some(token),
        });
    }

    let owner = signet
        .authenticate("token-of-owner")
        .await
        .expect("owner")
        .actor;
    let order = signet
        .place_order(
            &owner,
            NewOrder {
                product: "personal-3-pro".into(),
                subject: IdentityInput {
                    given_name: "Olga".into(),
                    surname: "Owner".into(),
                    email: "owner@example.com".into(),
                    organization: "Owner GmbH".into(),
                    country: "DE".into(),
                    organization_identifier: None,
                    organizational_unit: None,
                    title: None,
                },
                approval_email: "owner@example.com".into(),
                pickup_password: "pickup-secret-42".into(),
                validity_months: 12,
                key_type: signet_domain::key::KeyChoice::Generate(
                    signet_domain::key::SubscriberKeyType::P256,
                ),
            },
        )
        .await
        .expect("order")
        .order_number
        .to_string();
    let router = signet_web::router(signet);
    (
        World {
            router,
            callers,
            order,
        },
        dir,
    )
}

async fn api_status(
    world: &World,
    caller: &Caller,
    method: &str,
    path: &str,
    body: &str,
) -> StatusCode {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = &caller.token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if !body.is_empty() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let response = world
        .router
        .clone()
        .oneshot(request.body(Body::from(body.to_owned())).expect("request"))
        .await
        .expect("answer");
    let status = response.status();
    if status.is_client_error() {
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .expect("type");
        assert_eq!(content_type, "application/problem+json", "{method} {path}");
    }
    status
}

fn check(wrong: &mut Vec<String>, what: String, got: StatusCode, want: StatusCode) {
    if got != want {
        wrong.push(format!("{what}: {got}, not {want}"));
    }
}

/// Callers, in order: anonymous, owner, stranger, agent, foreign agent, vetting, support,
/// admin, auditor. Rows run in order (an attestation changes the order for the next row).
#[tokio::test]
async fn who_may_call_what() {
    let (world, _dir) = world().await;
    let n = &world.order;
    let (ok, no_content) = (StatusCode::OK, StatusCode::NO_CONTENT);
    let (anon, forbidden, not_found, conflict) = (
        StatusCode::UNAUTHORIZED,
        StatusCode::FORBIDDEN,
        StatusCode::NOT_FOUND,
        StatusCode::CONFLICT,
    );
    let f = forbidden;
    let matrix: Vec<(&str, String, &str, [StatusCode; 9])> = vec![
        (
            "GET",
            format!("/api/v1/orders/{n}"),
            "",
            [anon, ok, not_found, ok, not_found, ok, ok, ok, ok],
        ),
        (
            "POST",
            format!("/api/v1/orders/{n}/personal-data"),
            "{}",
            [anon, f, not_found, f, not_found, f, ok, ok, f],
        ),
        (
            // The order awaits documents: vetting may decide, but not now.
            "POST",
            format!("/api/v1/orders/{n}/decision"),
            r#"{"action":"approve"}"#,
            [anon, f, not_found, f, not_found, conflict, f, f, f],
        ),
        (
            "GET",
            "/api/v1/vetting/queue".to_owned(),
            "",
            [anon, f, f, f, f, ok, ok, ok, f],
        ),
        (
            "POST",
            format!("/api/v1/orders/{n}/expedite"),
            "{}",
            [anon, f, not_found, f, not_found, f, conflict, f, f],
        ),
        (
            "POST",
            format!("/api/v1/orders/{n}/attestation"),
            "{}",
            [anon, f, not_found, no_content, not_found, f, f, f, f],
        ),
        (
            // Attested now: the agent is told it is done; the others still may not.
            "POST",
            format!("/api/v1/orders/{n}/attestation"),
            "{}",
            [anon, f, not_found, conflict, not_found, f, f, f, f],
        ),
    ];
    let mut wrong = Vec::new();
    for (method, path, body, expected) in &matrix {
        for (caller, want) in world.callers.iter().zip(expected) {
            let got = api_status(&world, caller, method, path, body).await;
            check(
                &mut wrong,
                format!("{method} {path} as {}", caller.name),
                got,
                *want,
            );
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn portal_pages_by_role() {
    let (world, _dir) = world().await;
    // Pages answer a missing session by sending to the log-in page.
    let login = StatusCode::SEE_OTHER;
    let (ok, f) = (StatusCode::OK, StatusCode::FORBIDDEN);
    let matrix: [(&str, [StatusCode; 9]); 3] = [
        ("/vetting", [login, f, f, f, f, ok, ok, ok, f]),
        ("/support/inbox", [login, f, f, f, f, f, ok, ok, f]),
        ("/admin", [login, f, f, f, f, f, f, ok, f]),
    ];
    let mut wrong = Vec::new();
    for (path, expected) in matrix {
        for (caller, want) in world.callers.iter().zip(expected) {
            let mut request = Request::builder().uri(path);
            if let Some(token) = &caller.token {
                request = request.header(header::COOKIE, format!("signet_session={token}"));
            }
            let got = world
                .router
                .clone()
                .oneshot(request.body(Body::empty()).expect("request"))
                .await
                .expect("answer")
                .status();
            check(
                &mut wrong,
                format!("GET {path} as {}", caller.name),
                got,
                want,
            );
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
