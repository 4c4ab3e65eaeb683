//! The use cases in process: a real CA in a temporary directory, a temporary SQLite store and a
//! clock the test moves (no sleeping for locks, windows or reminders). No HTTP: these call
//! `Signet` as the web and the CLI do, and read the mail it queued from the store.

use std::sync::{Arc, Mutex};

use signet_app::AppError;
use signet_app::config::InitChoices;
use signet_app::credentials::hash_password;
use signet_app::issue::Signet;
use signet_app::orders::NewOrder;
use signet_app::pickup::PickupRequest;
use signet_app::{Clock, SharedClock};
use signet_domain::Refusal;
use signet_domain::credentials::OrderNumber;
use signet_domain::guard::{LOGIN_LOCK_AFTER, PICKUP_LOCK_AFTER};
use signet_domain::identity::IdentityInput;
use signet_domain::key::{KeyChoice, SubscriberKeyType};
use signet_domain::order::OrderStatus;
use signet_domain::role::{Actor, Role};
use signet_store::prelude::*;
use signet_store::{AuditRecord, NewAccount, SqliteStore};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// A clock that stands still until the test moves it.
#[derive(Debug)]
struct TestClock(Mutex<OffsetDateTime>);

impl TestClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().expect("clock") += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().expect("clock")
    }
}

struct World {
    signet: Signet,
    store: Arc<dyn Store>,
    clock: Arc<TestClock>,
    owner: Actor,
    vetting: Actor,
    support: Actor,
    _dir: tempfile::TempDir,
}

const PASSWORD: &str = "a long enough password";
const PICKUP_PASSWORD: &str = "pickup-secret-42";

async fn world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let url = format!("sqlite://{}", d.join("signet.db").display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).await.expect("store"));
    // A 31-day month, the kind that broke a calendar-bound test once.
    let clock = Arc::new(TestClock(Mutex::new(datetime!(2026-12-02 09:00 UTC))));
    let shared: SharedClock = clock.clone();
    signet_app::init::init(
        d,
        InitChoices::with_file_keys("http://signet.test", "Use Case Test", "DE"),
        store.as_ref(),
        shared.as_ref(),
        &|_| {},
    )
    .await
    .expect("init");
    let signet = Signet::open(d, store.clone(), shared).await.expect("open");
    let owner_id = subscriber(&store, clock.now(), "max@example.de").await;
    let staff = |role, email: &'static str| {
        let signet = &signet;
        async move {
            let (id, _) = signet
                .invite_staff(role, email, email, None, "test")
                .await
                .expect("staff");
            Actor {
                account: id,
                role,
                region: None,
                email: email.into(),
            }
        }
    };
    let vetting = staff(Role::Vetting, "vera@ca.example.com").await;
    let support = staff(Role::Support, "sam@ca.example.com").await;
    World {
        signet,
        store,
        clock,
        owner: Actor {
            account: owner_id,
            role: Role::Subscriber,
            region: None,
            email: "max@example.de".into(),
        },
        vetting,
        support,
        _dir: dir,
    }
}

/// A confirmed subscriber account with [`PASSWORD`].
async fn subscriber(store: &Arc<dyn Store>, now: OffsetDateTime, email: &str) -> i64 {
    let mut tx = store.begin().await.expect("begin");
    let id = tx
        .create_account(&NewAccount {
            email: email.into(),
            name: "Max Muster".into(),
            role: Role::Subscriber,
            region: None,
            password_hash: Some(hash_password(PASSWORD).expect("hash")),
            email_confirmed: true,
            created_at: now,
        })
        .await
        .expect("account");
    tx.audit(AuditRecord {
        at: now,
        actor: "test".into(),
        action: "test.setup".into(),
        subject: format!("account:{id}"),
        detail: "{}".into(),
    });
    tx.commit().await.expect("commit");
    id
}

/// The newest link of `path` (e.g. `/pickup/`) mailed to `to`, as its token.
async fn mailed_token(store: &Arc<dyn Store>, to: &str, path: &str) -> String {
    let mail = store.recent_mail(100).await.expect("mail");
    let body = mail
        .iter()
        .find(|m| m.mail.to == to && m.mail.body.contains(path))
        .map(|m| m.mail.body.clone())
        .unwrap_or_else(|| panic!("no mail to {to} with {path}"));
    let start = body.find(path).expect("link") + path.len();
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

impl World {
    fn pickup(&self, password: &str) -> PickupRequest {
        PickupRequest {
            pickup_password: password.into(),
            key_type: None,
            compatibility: None,
            csr: None,
        }
    }

    /// An order by the owner, approval address confirmed, signed form uploaded, approved by
    /// vetting: ready for pickup, its link in the owner's mail.
    async fn ready_order(&self, validity_months: u32) -> OrderNumber {
        let s = &self.signet;
        let order = s
            .place_order(
                &self.owner,
                NewOrder {
                    product: "personal-3-pro".into(),
                    subject: IdentityInput {
                        given_name: "Max".into(),
                        surname: "Muster".into(),
                        email: "max@example.de".into(),
                        organization: "Muster GmbH".into(),
                        country: "DE".into(),
                        organization_identifier: None,
                        organizational_unit: None,
                        title: None,
                    },
                    approval_email: "max@example.de".into(),
                    pickup_password: PICKUP_PASSWORD.into(),
                    validity_months,
                    key_type: KeyChoice::Generate(SubscriberKeyType::P256),
                },
            )
            .await
            .expect("order");
        let number = order.order_number;
        s.confirm(&mailed_token(&self.store, "max@example.de", "/confirm/").await)
            .await
            .expect("approval address confirmed");
        let form = s.agreement(&self.owner, &number).await.expect("form");
        s.upload_document(&self.owner, &number, "signed_agreement", &form)
            .await
            .expect("signed form");
        let status = s
            .decide_order(&self.vetting, &number, "approve", None, None)
            .await
            .expect("approved");
        assert_eq!(status, OrderStatus::ReadyForPickup);
        number
    }
}

fn locked(e: &AppError) -> bool {
    matches!(e, AppError::Refused(Refusal::Locked(_)))
}

#[tokio::test]
async fn wrong_pickup_passwords_lock_the_pickup_until_support_unlocks_it() {
    let w = world().await;
    let number = w.ready_order(12).await;
    let token = mailed_token(&w.store, "max@example.de", "/pickup/").await;
    // Unlocking what is not locked is refused, and so is anyone but support unlocking.
    let e = w
        .signet
        .unlock_pickup(&w.support, &number)
        .await
        .expect_err("not locked");
    assert!(
        matches!(e, AppError::Refused(Refusal::Conflict(_))),
        "{e:?}"
    );
    for attempt in 1..=PICKUP_LOCK_AFTER {
        let e = w
            .signet
            .pick_up(&token, w.pickup("wrong password"))
            .await
            .expect_err("wrong password");
        if attempt < PICKUP_LOCK_AFTER {
            assert!(matches!(e, AppError::Forbidden(_)), "{e:?}");
            let left = PICKUP_LOCK_AFTER - attempt;
            assert!(e.to_string().contains(&format!("{left} tries left")), "{e}");
        } else {
            assert!(locked(&e), "the last try locks: {e:?}");
        }
    }
    // Locked: even the right password is not checked.
    let e = w
        .signet
        .pick_up(&token, w.pickup(PICKUP_PASSWORD))
        .await
        .expect_err("locked");
    assert!(locked(&e), "{e:?}");
    let e = w
        .signet
        .unlock_pickup(&w.vetting, &number)
        .await
        .expect_err("vetting does not unlock");
    assert!(
        matches!(e, AppError::Refused(Refusal::NotAllowed(_))),
        "{e:?}"
    );
    w.signet
        .unlock_pickup(&w.support, &number)
        .await
        .expect("support unlocks");
    let picked = w
        .signet
        .pick_up(&token, w.pickup(PICKUP_PASSWORD))
        .await
        .expect("picked up");
    assert!(picked.pkcs12.is_some());
    let order = w.store.order(&number).await.expect("read").expect("order");
    assert_eq!(order.status, OrderStatus::Issued);
    assert_eq!(
        order.pickup_failures, 0,
        "a successful claim resets the count"
    );
    let actions: Vec<String> = w
        .store
        .audit_entries()
        .await
        .expect("audit")
        .into_iter()
        .filter(|e| e.subject == format!("order:{number}"))
        .map(|e| e.action)
        .collect();
    for action in [
        "pickup.wrong_password",
        "pickup.locked",
        "order.pickup_unlocked",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn the_owner_cancel_window_follows_the_clock() {
    let w = world().await;
    let number = w.ready_order(12).await;
    w.clock.advance(Duration::days(8));
    let e = w
        .signet
        .cancel_order(&w.owner, &number)
        .await
        .expect_err("too late for the owner");
    assert!(e.to_string().contains("more than 7 days"), "{e}");
    let status = w
        .signet
        .cancel_order(&w.support, &number)
        .await
        .expect("support cancels");
    assert_eq!(status, OrderStatus::Cancelled);
}

#[tokio::test]
async fn an_expiry_reminder_is_due_when_the_clock_says_so() {
    let w = world().await;
    let number = w.ready_order(1).await;
    let token = mailed_token(&w.store, "max@example.de", "/pickup/").await;
    w.signet
        .pick_up(&token, w.pickup(PICKUP_PASSWORD))
        .await
        .expect("picked up");
    let serial = w
        .store
        .order(&number)
        .await
        .expect("read")
        .and_then(|o| o.certificate_serial)
        .expect("serial");
    let cert = w
        .store
        .certificate(&serial)
        .await
        .expect("read")
        .expect("certificate");
    // Until 30 days before the end nothing is due; from then on one reminder, once.
    let due = cert.intent.not_after - Duration::days(30);
    if w.clock.now() < due {
        assert_eq!(w.signet.send_expiry_reminders().await.expect("job"), 0);
        w.clock.advance(due - w.clock.now() + Duration::hours(1));
    }
    assert_eq!(w.signet.send_expiry_reminders().await.expect("job"), 1);
    assert_eq!(w.signet.send_expiry_reminders().await.expect("job"), 0);
}

#[tokio::test]
async fn a_locked_log_in_opens_again_when_the_lock_ends() {
    let w = world().await;
    for _ in 0..LOGIN_LOCK_AFTER {
        assert!(
            w.signet
                .log_in("max@example.de", "not the password", None, "198.51.100.7")
                .await
                .is_err()
        );
    }
    let e = w
        .signet
        .log_in("max@example.de", PASSWORD, None, "198.51.100.7")
        .await
        .expect_err("locked");
    assert!(!e.to_string().is_empty());
    w.clock.advance(Duration::minutes(16));
    w.signet
        .log_in("max@example.de", PASSWORD, None, "198.51.100.7")
        .await
        .expect("the lock ended");
}
