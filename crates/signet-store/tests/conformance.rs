//! One story, run against SQLite and PostgreSQL: whatever one backend does, the other must too.
//! Besides what each method does, it shows what units of work promise: all or nothing, audit
//! records chained in the same transaction, compare-and-set under concurrency, counters that
//! count every concurrent hit, and CRL snapshots that never go backwards.

mod support;

use std::ops::ControlFlow;
use std::sync::Arc;

use signet_domain::certificate::RevocationReason;
use signet_domain::config::Channel;
use signet_domain::credentials::{OrderNumber, TokenPurpose};
use signet_domain::key::{KeyChoice, SubscriberKeyType};
use signet_domain::notices::AlertKind;
use signet_domain::order::{DocumentKind, OrderKind, OrderStatus};
use signet_domain::role::Role;
use signet_domain::serial::Serial;
use signet_store::prelude::*;
use signet_store::signing::{SignedDecisionRecord, SigningKeyRecord, SigningKeyState};
use signet_store::{
    Account, AlertRecord, AuditRecord, CrlChunk, CrlRecord, DocumentRecord, DumpKind,
    IssuanceIntent, IssuanceState, MailState, NewAccount, NewMail, OcspRecord, OrderEventRecord,
    OrderRecord, PostgresStore, RelyingServiceRecord, SqliteStore, StoreError,
    SupportRequestRecord, TokenRecord,
};
use support::Raw;
use time::OffsetDateTime;

fn serial(n: u8) -> Serial {
    let mut e = [0x11u8; 16];
    e[15] = n;
    Serial::from_entropy(e)
}

fn number(s: &str) -> OrderNumber {
    OrderNumber::parse(s).expect("order number")
}

fn t(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_000_000 + secs).expect("time")
}

fn intent(n: u8) -> IssuanceIntent {
    IssuanceIntent {
        serial: serial(n),
        issuer: "class3".into(),
        profile: "class3-auth".into(),
        subject: "C=BE, O=Example, CN=Anna Peeters".into(),
        not_before: t(0),
        not_after: t(30 * 86_400),
        tbs_der: vec![0x30, 0x03, 0x02, 0x01, n],
        created_at: t(0),
        crl_shard: 0,
        origin: "operator".into(),
    }
}

fn note(action: &str) -> AuditRecord {
    AuditRecord {
        at: t(1),
        actor: "test".into(),
        action: action.into(),
        subject: "story".into(),
        detail: "{}".into(),
    }
}

/// Commits a unit of work with one audit record naming what it did.
async fn done(mut tx: Box<dyn Tx>, action: &str) {
    tx.audit(note(action));
    tx.commit().await.expect("commit");
}

async fn begin(store: &Arc<dyn Store>) -> Box<dyn Tx> {
    store.begin().await.expect("begin")
}

fn order(order_number: &str, placed_by: i64) -> OrderRecord {
    OrderRecord {
        order_number: number(order_number),
        product: "personal-3-pro".into(),
        identity_json: "{}".into(),
        approval_email: "anna@example.be".into(),
        approval_confirmed: false,
        pickup_password_hash: "$argon2id$fake".into(),
        validity_months: 12,
        key_type: KeyChoice::Generate(SubscriberKeyType::P256),
        channel: Channel::SelfService,
        country: "DE".into(),
        placed_by,
        attested_by: None,
        status: OrderStatus::AwaitingDocuments,
        ready_since: None,
        pickup_failures: 0,
        certificate_serial: None,
        previous_order: None,
        created_at: t(0),
        updated_at: t(0),
        order_kind: OrderKind::New,
        fixed_not_after: None,
        claimed_serial: None,
        claim_expires_at: None,
    }
}

fn chain_verifies(entries: &[signet_store::AuditEntry]) -> usize {
    signet_domain::audit::verify(entries.iter().map(signet_store::AuditEntry::as_chained))
        .expect("the audit chain verifies")
}

async fn account(store: &Arc<dyn Store>, id: i64) -> Account {
    store
        .account(id)
        .await
        .expect("read")
        .expect("the account exists")
}

/// The story; `dump` is the kind of copy this backend makes.
async fn story(store: Arc<dyn Store>, dump: DumpKind) {
    assert_eq!(store.counts().await.expect("counts"), Default::default());
    units_of_work(&store).await;
    issuance(&store).await;
    accounts(&store).await;
    orders_and_pickups(&store).await;
    revocation_and_crls(&store).await;
    ocsp(&store).await;
    mail_and_limits(&store, dump).await;
    discovery(&store).await;
    signing(&store).await;
    // Signed certificates by profile add up to all signed, on both backends.
    let per_profile = store.profile_counts().await.expect("per profile");
    assert!(!per_profile.is_empty());
    assert_eq!(
        per_profile.iter().map(|p| p.1).sum::<u64>(),
        store.counts().await.expect("counts").issued
    );
    assert!(per_profile.iter().all(|p| p.2 <= p.1));
    assert!(per_profile.iter().any(|p| p.2 > 0), "the story revokes one");
    let audit = store.audit_entries().await.expect("audit");
    assert_eq!(chain_verifies(&audit), audit.len());
}

/// Officers' signing keys (issue 15): a first key active at once, a second pending until an
/// administrator settles it (two settles at once: one wins), the older key replaced, a refusal,
/// and signed decisions read back per order.
async fn signing(store: &Arc<dyn Store>) {
    let mut tx = begin(store).await;
    let officer = tx
        .create_account(&NewAccount {
            email: "vera@ca.example".into(),
            name: "Vera".into(),
            role: Role::Vetting,
            region: None,
            password_hash: Some("$argon2id$fake".into()),
            email_confirmed: true,
            created_at: t(0),
        })
        .await
        .expect("officer");
    let key = |sha: &str, state, certificate: Option<Vec<u8>>| SigningKeyRecord {
        id: 0,
        account_id: officer,
        key_sha256: sha.into(),
        spki: vec![0x30, 1, 2],
        state,
        not_after: certificate.as_ref().map(|_| t(100)),
        certificate,
        requested_at: t(1),
        settled_by: None,
        settled_at: None,
    };
    let first = tx
        .add_signing_key(&key("aa", SigningKeyState::Active, Some(vec![1])))
        .await
        .expect("first key");
    let second = tx
        .add_signing_key(&key("bb", SigningKeyState::Pending, None))
        .await
        .expect("second key");
    let third = tx
        .add_signing_key(&key("cc", SigningKeyState::Pending, None))
        .await
        .expect("third key");
    // A second first key, or a key pending already, is refused without spoiling the work.
    for (sha, state, certificate) in [
        ("dd", SigningKeyState::Active, Some(vec![9])),
        ("bb", SigningKeyState::Pending, None),
    ] {
        assert!(matches!(
            tx.add_signing_key(&key(sha, state, certificate)).await,
            Err(StoreError::Duplicate(_))
        ));
    }
    done(tx, "signing keys").await;
    let pending = store
        .signing_keys(None, Some(SigningKeyState::Pending))
        .await
        .expect("pending");
    assert_eq!(
        pending.iter().map(|k| k.id).collect::<Vec<_>>(),
        [third, second]
    );

    // Two administrators approve the second key at once: one wins, the other is told.
    let settle = async || {
        let mut tx = begin(store).await;
        let replaced = tx
            .settle_signing_key(second, Some((&[2u8][..], t(200))), officer, t(5))
            .await?;
        tx.audit(note("settled"));
        tx.commit().await.map(|()| replaced)
    };
    let (a, b) = tokio::join!(settle(), settle());
    assert!(a.is_ok() != b.is_ok(), "one settle wins: {a:?} {b:?}");
    assert_eq!(
        a.or(b).expect("the winner"),
        [vec![1u8]],
        "the replaced key's certificate"
    );
    let keys = store.signing_keys(Some(officer), None).await.expect("keys");
    let state = |id| keys.iter().find(|k| k.id == id).expect("key").state;
    assert_eq!(state(first), SigningKeyState::Replaced);
    assert_eq!(state(second), SigningKeyState::Active);
    let active = store.signing_key(second).await.expect("read").expect("key");
    assert_eq!(active.certificate, Some(vec![2]));
    assert_eq!(active.not_after, Some(t(200)));
    assert_eq!(active.settled_by, Some(officer));
    // A renewal gives the active key a new certificate; a key that is not active has none.
    let mut tx = begin(store).await;
    tx.renew_signing_key(second, &[2], &[3], t(300), t(8))
        .await
        .expect("renewed");
    done(tx, "renewed").await;
    for (key, previous) in [(first, 1u8), (second, 2)] {
        // Replaced, or renewed meanwhile: a conflict, which spoils its unit of work.
        let mut tx = begin(store).await;
        assert!(matches!(
            tx.renew_signing_key(key, &[previous], &[4], t(300), t(8))
                .await,
            Err(StoreError::Conflict(_))
        ));
        tx.rollback().await.expect("rollback");
    }
    let renewed = store.signing_key(second).await.expect("read").expect("key");
    assert_eq!(
        (renewed.certificate, renewed.not_after),
        (Some(vec![3]), Some(t(300)))
    );

    let mut tx = begin(store).await;
    tx.settle_signing_key(third, None, officer, t(6))
        .await
        .expect("refused");
    assert!(matches!(
        tx.settle_signing_key(third, None, officer, t(6)).await,
        Err(StoreError::Conflict(_))
    ));
    done(tx, "refused").await;

    let mut tx = begin(store).await;
    let decision = |n: u8, order_number: &str, statement: &str| SignedDecisionRecord {
        id: 0,
        order_number: number(order_number),
        decision: "approve".into(),
        account_id: officer,
        signing_key_id: second,
        cms: vec![n],
        cms_sha256: format!("{n:064}"),
        statement_sha256: statement.into(),
        at: t(7),
    };
    for (n, order_number, statement) in [
        (0, "CCCCC-DDDDD", "s1"),
        (1, "CCCCC-DDDDD", "s2"),
        (2, "EEEEE-FFFFF", "s1"),
    ] {
        tx.record_signed_decision(&decision(n, order_number, statement))
            .await
            .expect("decision");
    }
    // The same statement on the same order again: refused (a replay, even a racing one).
    assert!(matches!(
        tx.record_signed_decision(&decision(3, "CCCCC-DDDDD", "s1"))
            .await,
        Err(StoreError::Duplicate(_))
    ));
    done(tx, "decisions").await;
    let of_one = store
        .signed_decisions(Some(&number("CCCCC-DDDDD")))
        .await
        .expect("decisions");
    assert_eq!(of_one.iter().map(|d| d.cms[0]).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(store.signed_decisions(None).await.expect("all").len(), 3);
}

/// Discovery: a job, a lease that one of many concurrent claimants wins, a run and its
/// progress, a certificate stored once, a place updated in place, events, alerts mailed once.
async fn discovery(store: &Arc<dyn Store>) {
    use signet_domain::discovery::{self as d, Alert, PlaceEvent};
    use signet_store::{
        DiscoveredCertificateRecord, DiscoveryEventRecord, DiscoveryJobRecord,
        DiscoveryPlaceRecord, DiscoveryRunRecord,
    };
    let ports = d::parse_ports("443,2525").expect("ports");
    let job = DiscoveryJobRecord {
        id: 0,
        spec: d::JobSpec {
            name: "office".into(),
            targets: d::parse_targets("10.1.2.0/24,intranet.example").expect("targets"),
            starttls: d::parse_starttls("2525=smtp", &ports).expect("starttls"),
            ports,
            every: Some(time::Duration::hours(24)),
            contacts: vec!["pki@x.example".into()],
            concurrency: 16,
            rate: 50,
        },
        created_by: "admin@x.example".into(),
        created_at: t(100),
        next_run_at: Some(t(100)),
        lease_until: None,
        lease_node: None,
    };
    let mut tx = begin(store).await;
    let id = tx.create_discovery_job(&job).await.expect("job");
    done(tx, "discovery.job.added").await;
    let mut tx = begin(store).await;
    assert!(matches!(
        tx.create_discovery_job(&job).await,
        Err(StoreError::Conflict(_))
    ));
    drop(tx);
    let stored = store
        .discovery_job("office")
        .await
        .expect("read")
        .expect("job");
    assert_eq!(stored.spec, job.spec, "the job reads back as written");
    assert_eq!(stored.id, id);

    // Eight nodes claim the due job at once: one wins, and no one else until it lapses.
    let claims = futures_util::future::join_all((0..8).map(|n| {
        let store = store.clone();
        async move {
            store
                .claim_discovery_job(id, &format!("node-{n}"), t(200), t(800), true)
                .await
                .expect("claim")
        }
    }))
    .await;
    assert_eq!(claims.iter().filter(|c| **c).count(), 1, "{claims:?}");
    assert!(
        !store
            .claim_discovery_job(id, "late", t(700), t(900), false)
            .await
            .expect("claim")
    );
    assert!(
        store
            .claim_discovery_job(id, "after", t(800), t(900), false)
            .await
            .expect("lapsed")
    );
    store
        .release_discovery_job(id, "someone-else", Some(t(5000)))
        .await
        .expect("release");
    assert_eq!(
        store
            .discovery_job("office")
            .await
            .expect("read")
            .expect("job")
            .lease_node
            .as_deref(),
        Some("after"),
        "only the holder releases"
    );
    store
        .release_discovery_job(id, "after", Some(t(5000)))
        .await
        .expect("release");
    let released = store
        .discovery_job("office")
        .await
        .expect("read")
        .expect("job");
    assert_eq!(
        (released.lease_until, released.next_run_at),
        (None, Some(t(5000)))
    );
    assert!(
        !store
            .claim_discovery_job(id, "early", t(4000), t(4600), true)
            .await
            .expect("not due")
    );

    let mut run = DiscoveryRunRecord {
        id: 0,
        job_id: id,
        job_name: "office".into(),
        started_by: "schedule".into(),
        started_at: t(300),
        finished_at: None,
        endpoints: 508,
        done: 0,
        answered: 0,
        certificates: 0,
        refused: String::new(),
        outcome: None,
    };
    let mut tx = begin(store).await;
    run.id = tx.start_discovery_run(&run).await.expect("run");
    done(tx, "discovery.run.started").await;
    // The run's node holds the lease: it renews it with its progress; another node cannot.
    assert!(
        store
            .claim_discovery_job(id, "runner", t(6000), t(6600), false)
            .await
            .expect("claim")
    );
    assert!(
        store
            .discovery_progress(run.id, "runner", 100, 3, t(6700))
            .await
            .expect("progress"),
        "the holder renews"
    );
    assert!(
        !store
            .discovery_progress(run.id, "intruder", 100, 3, t(6800))
            .await
            .expect("progress"),
        "another node does not"
    );
    assert_eq!(
        store
            .discovery_job("office")
            .await
            .expect("read")
            .expect("job")
            .lease_until,
        Some(t(6700))
    );
    store
        .release_discovery_job(id, "runner", None)
        .await
        .expect("release");
    let progress = store
        .discovery_run(run.id)
        .await
        .expect("read")
        .expect("run");
    assert_eq!(
        (progress.done, progress.answered, progress.finished_at),
        (100, 3, None)
    );

    let certificate = DiscoveredCertificateRecord {
        fingerprint: "ab".repeat(32),
        der: vec![0x30, 0x03, 0x02, 0x01, 0x01],
        subject: "CN=intranet.example".into(),
        issuer: "CN=Corp CA".into(),
        names: vec!["intranet.example".into(), "10.1.2.3".into()],
        key: "RSA 2048".into(),
        serial: "01".into(),
        not_before: t(0),
        not_after: t(10_000),
        signet_serial: None,
        first_seen: t(300),
    };
    let mut place = DiscoveryPlaceRecord {
        id: 0,
        host: "intranet.example".into(),
        address: "10.1.2.3".parse().expect("ip"),
        port: 443,
        sni: Some("intranet.example".into()),
        job_id: Some(id),
        fingerprint: certificate.fingerprint.clone(),
        chain: vec![certificate.fingerprint.clone()],
        first_seen: t(300),
        last_seen: t(300),
        answering: true,
        alerts: vec![Alert::Expiring, Alert::IncompleteChain],
    };
    let mut tx = begin(store).await;
    tx.save_discovered_certificate(&certificate)
        .await
        .expect("certificate");
    tx.save_discovered_certificate(&certificate)
        .await
        .expect("stored once");
    let place_id = tx.save_discovery_place(&place).await.expect("place");
    tx.add_discovery_event(&DiscoveryEventRecord {
        id: 0,
        place_id,
        run_id: Some(run.id),
        at: t(300),
        kind: PlaceEvent::New,
        old_fingerprint: None,
        new_fingerprint: Some(certificate.fingerprint.clone()),
    })
    .await
    .expect("event");
    let fingerprint = certificate.fingerprint.clone();
    let mark = async |tx: &mut Box<dyn Tx>, alert: &str| {
        tx.mark_discovery_mailed(id, place_id, &fingerprint, alert, t(300))
            .await
            .expect("mark")
    };
    assert!(mark(&mut tx, "expiring").await);
    assert!(!mark(&mut tx, "expiring").await, "once");
    assert!(mark(&mut tx, "incomplete_chain").await);
    // An alert that cleared is forgotten, so that it is mailed again if it returns.
    tx.forget_discovery_mailed(id, place_id, &["incomplete_chain"])
        .await
        .expect("forget");
    assert!(
        mark(&mut tx, "expiring").await,
        "mailed again after it cleared"
    );
    assert!(
        !mark(&mut tx, "incomplete_chain").await,
        "still current: not again"
    );
    run.finished_at = Some(t(400));
    run.outcome = Some("finished".into());
    run.answered = 1;
    run.certificates = 1;
    run.done = 508;
    tx.finish_discovery_run(&run).await.expect("finish");
    done(tx, "discovery.run.finished").await;
    let mut tx = begin(store).await;
    assert!(
        matches!(
            tx.finish_discovery_run(&run).await,
            Err(StoreError::Conflict(_))
        ),
        "a run ends once"
    );
    drop(tx);

    // The same place seen again: updated where it is, first seen kept.
    place.last_seen = t(600);
    place.first_seen = t(600);
    place.answering = false;
    place.alerts = vec![Alert::NotAnswering];
    let mut tx = begin(store).await;
    assert_eq!(
        tx.save_discovery_place(&place).await.expect("again"),
        place_id
    );
    done(tx, "discovery.run.finished").await;
    let places = store.discovery_places().await.expect("places");
    assert_eq!(places.len(), 1);
    assert_eq!(places[0].first_seen, t(300));
    assert_eq!(places[0].last_seen, t(600));
    assert_eq!(places[0].alerts, [Alert::NotAnswering]);
    assert!(!places[0].answering);
    assert_eq!(
        store.discovered_certificates().await.expect("certificates"),
        [certificate]
    );
    let events = store.discovery_events(10).await.expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, PlaceEvent::New);
    let runs = store.discovery_runs(10).await.expect("runs");
    assert_eq!(runs[0].outcome.as_deref(), Some("finished"));
    assert_eq!(runs[0].job_name, "office");

    // A job a node holds is not removed; once free, it takes its runs; what it found stays.
    assert!(
        store
            .claim_discovery_job(id, "busy", t(7000), t(7600), false)
            .await
            .expect("claim")
    );
    assert!(
        store
            .renew_discovery_lease(id, "busy", t(7700))
            .await
            .expect("renew")
    );
    assert!(
        !store
            .renew_discovery_lease(id, "other", t(7800))
            .await
            .expect("renew")
    );
    let mut tx = begin(store).await;
    assert!(
        tx.hold_discovery_lease(id, "busy", t(7750))
            .await
            .expect("hold")
    );
    assert!(
        matches!(
            tx.delete_discovery_job(id, t(7100)).await,
            Err(StoreError::Conflict(_))
        ),
        "not while it runs"
    );
    drop(tx);
    let mut tx = begin(store).await;
    tx.delete_discovery_job(id, t(7800)).await.expect("delete");
    done(tx, "discovery.job.removed").await;
    assert!(store.discovery_runs(10).await.expect("runs").is_empty());
    let places = store.discovery_places().await.expect("places");
    assert_eq!((places.len(), places[0].job_id), (1, None));
}

async fn units_of_work(store: &Arc<dyn Store>) {
    // Nothing without an audit record, nothing of a unit dropped or rolled back.
    let mut tx = begin(store).await;
    tx.record_issuance_intent(&intent(90))
        .await
        .expect("intent");
    assert!(matches!(tx.commit().await, Err(StoreError::Unaudited)));
    let mut tx = begin(store).await;
    tx.record_issuance_intent(&intent(90))
        .await
        .expect("intent");
    tx.audit(note("dropped"));
    drop(tx);
    let mut tx = begin(store).await;
    tx.record_issuance_intent(&intent(90))
        .await
        .expect("intent");
    tx.audit(note("rolled back"));
    tx.rollback().await.expect("rollback");
    assert!(
        store
            .certificate(&serial(90))
            .await
            .expect("read")
            .is_none()
    );
    assert!(store.audit_entries().await.expect("audit").is_empty());

    // Concurrent units of work chain their records without a gap or a fork.
    let mut tasks = Vec::new();
    for i in 0..24 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.begin().await.expect("begin");
            tx.audit(note(&format!("concurrent {i}")));
            tx.audit(note(&format!("concurrent {i}, second record")));
            tx.commit().await.expect("commit")
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let audit = store.audit_entries().await.expect("audit");
    assert_eq!(audit.len(), 48);
    assert_eq!(chain_verifies(&audit), 48);
    // A unit's records are consecutive.
    for pair in audit.chunks(2) {
        assert_eq!(format!("{}, second record", pair[0].action), pair[1].action);
    }
    assert_eq!(
        store.last_audit_entry().await.expect("last").map(|e| e.seq),
        Some(48)
    );
    assert_eq!(
        store
            .recent_audit("concurrent", 3)
            .await
            .expect("recent")
            .len(),
        3
    );
}

async fn issuance(store: &Arc<dyn Store>) {
    let mut tx = begin(store).await;
    tx.record_issuance_intent(&intent(1))
        .await
        .expect("intent 1");
    done(tx, "intent 1").await;
    assert_eq!(
        store.unfinished_intents().await.expect("open"),
        vec![intent(1)]
    );
    let mut tx = begin(store).await;
    tx.complete_issuance(&serial(1), b"certificate-der", t(2))
        .await
        .expect("issued");
    done(tx, "issued 1").await;
    let rec = store
        .certificate(&serial(1))
        .await
        .expect("read")
        .expect("present");
    assert_eq!(rec.state, IssuanceState::Issued);
    assert_eq!(rec.der.as_deref(), Some(&b"certificate-der"[..]));
    assert_eq!(rec.intent, intent(1));

    // A serial is never reused; a closed intent cannot be completed; the unit stays usable.
    let mut tx = begin(store).await;
    assert!(matches!(
        tx.record_issuance_intent(&intent(1)).await,
        Err(StoreError::SerialTaken(_))
    ));
    assert!(matches!(
        tx.complete_issuance(&serial(1), b"x", t(3)).await,
        Err(StoreError::NoOpenIntent(_))
    ));
    tx.record_issuance_intent(&intent(2))
        .await
        .expect("intent 2");
    done(tx, "intent 2").await;

    // Abandoned without signing; abandoned after a possible signature (listed as revoked).
    let mut tx = begin(store).await;
    tx.abandon_intent(&serial(2), "HSM unavailable", t(4), None)
        .await
        .expect("abandon");
    tx.record_issuance_intent(&intent(3))
        .await
        .expect("intent 3");
    done(tx, "abandon 2").await;
    let epoch = store.revocation_epoch().await.expect("epoch");
    let mut tx = begin(store).await;
    tx.abandon_intent(
        &serial(3),
        "claim lapsed",
        t(5),
        Some((RevocationReason::CessationOfOperation, &[0x30, 0x01, 0x03])),
    )
    .await
    .expect("abandon revoked");
    done(tx, "abandon 3").await;
    assert_eq!(store.revocation_epoch().await.expect("epoch"), epoch + 1);
    let three = store
        .certificate(&serial(3))
        .await
        .expect("read")
        .expect("present");
    assert_eq!(
        (three.state, three.revocation_reason),
        (
            IssuanceState::Abandoned,
            Some(RevocationReason::CessationOfOperation)
        )
    );
    let counts = store.counts().await.expect("counts");
    assert_eq!((counts.intents, counts.issued, counts.abandoned), (0, 1, 2));
    // What the operator issued since a time: the issued one only (not the abandoned), from its
    // intent's time on.
    let operator = store
        .operator_certificates_since(t(0))
        .await
        .expect("operator");
    assert_eq!(
        operator
            .iter()
            .map(|c| c.intent.serial.clone())
            .collect::<Vec<_>>(),
        vec![serial(1)]
    );
    assert!(
        store
            .operator_certificates_since(t(1))
            .await
            .expect("operator")
            .is_empty()
    );

    // An issued certificate of an order that no order names is found.
    let mut orphan = intent(4);
    orphan.origin = "order:ZZZZZ-ZZZZZ".into();
    let mut tx = begin(store).await;
    tx.record_issuance_intent(&orphan).await.expect("intent");
    tx.complete_issuance(&serial(4), b"der", t(6))
        .await
        .expect("issued");
    done(tx, "orphan").await;
    let unlinked = store.unlinked_certificates().await.expect("unlinked");
    assert_eq!(
        unlinked
            .iter()
            .map(|c| c.intent.serial.clone())
            .collect::<Vec<_>>(),
        vec![serial(4)],
        "operator issuance (serial 1) is accounted for; the orphan is not"
    );

    // Dashboard figures: when each subscriber certificate issued since a moment became valid.
    // Neither a CA certificate, nor an abandoned serial, nor an open intent counts.
    let mut early = intent(5);
    early.not_before = t(-10);
    let mut ca = intent(6);
    ca.issuer = "root".into();
    ca.profile = "ca:class3".into();
    ca.origin = "ca".into();
    let mut tx = begin(store).await;
    for c in [&early, &ca] {
        tx.record_issuance_intent(c).await.expect("intent");
        tx.complete_issuance(&c.serial, b"der", t(7))
            .await
            .expect("issued");
    }
    tx.record_issuance_intent(&intent(7))
        .await
        .expect("intent 7");
    done(tx, "figures").await;
    let times_since = |since: OffsetDateTime| async move {
        let mut times = store.issuance_times_since(since).await.expect("times");
        times.sort();
        times
    };
    assert_eq!(
        times_since(t(0)).await,
        vec![t(0), t(0)],
        "serials 1 and 4; not 5 (valid before), 6 (a CA), 2 and 3 (abandoned) nor 7 (open)"
    );
    assert_eq!(
        times_since(t(-10)).await,
        vec![t(-10), t(0), t(0)],
        "the moment itself counts"
    );
    assert!(times_since(t(1)).await.is_empty());
    let mut tx = begin(store).await;
    tx.abandon_intent(&serial(7), "not needed", t(8), None)
        .await
        .expect("abandon 7");
    done(tx, "abandon 7").await;
}

async fn accounts(store: &Arc<dyn Store>) {
    let new = NewAccount {
        email: "anna@example.be".into(),
        name: "Anna".into(),
        role: Role::Subscriber,
        region: None,
        password_hash: Some("$argon2id$fake".into()),
        email_confirmed: false,
        created_at: t(0),
    };
    let mut tx = begin(store).await;
    let id = tx.create_account(&new).await.expect("account");
    // A duplicate is refused without spoiling the unit of work.
    assert!(matches!(
        tx.create_account(&new).await,
        Err(StoreError::Duplicate(_))
    ));
    // The same address in other case is the same address.
    let shouting = NewAccount {
        email: "ANNA@example.be".into(),
        ..new.clone()
    };
    assert!(matches!(
        tx.create_account(&shouting).await,
        Err(StoreError::Duplicate(_))
    ));
    tx.confirm_account_email(id).await.expect("confirm");
    done(tx, "account").await;
    let found = store
        .account_by_email("Anna@EXAMPLE.be")
        .await
        .expect("lookup")
        .expect("found whatever the case");
    assert_eq!(found.id, id);
    assert!(
        store
            .accounts_sharing_an_address()
            .await
            .expect("shared")
            .is_empty()
    );

    // Concurrent attempts all count.
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.begin().await.expect("begin");
            let a = tx.count_login_attempt(id, t(10)).await.expect("count");
            done(tx, "attempt").await;
            a.failures
        }));
    }
    let mut counted = Vec::new();
    for task in tasks {
        counted.push(task.await.expect("task"));
    }
    counted.sort_unstable();
    assert_eq!(
        counted,
        (1..=20).collect::<Vec<u32>>(),
        "every attempt has its own number"
    );

    let mut tx = begin(store).await;
    tx.lock_account(id, t(1000)).await.expect("lock");
    done(tx, "lock").await;
    let a = store.account(id).await.expect("read").expect("present");
    assert_eq!(
        (
            a.failed_logins,
            a.locked_until,
            a.lock_count,
            a.email_confirmed
        ),
        (0, Some(t(1000)), 1, true)
    );
    let mut tx = begin(store).await;
    let attempt = tx.count_login_attempt(id, t(11)).await.expect("count");
    assert_eq!((attempt.failures, attempt.locked_until), (1, Some(t(1000))));
    tx.set_password(id, "$argon2id$new")
        .await
        .expect("password");
    done(tx, "reset").await;
    let a = store
        .account_by_email("anna@example.be")
        .await
        .expect("read")
        .expect("present");
    assert_eq!(
        (a.failed_logins, a.locked_until, a.lock_count),
        (0, None, 1)
    );
    let mut tx = begin(store).await;
    tx.clear_login_failures(id).await.expect("clear");
    tx.unlock_account(id).await.expect("unlock");
    done(tx, "login").await;
    assert_eq!(
        store
            .account(id)
            .await
            .expect("read")
            .expect("present")
            .lock_count,
        0
    );

    // Sessions expire; a reset ends them all.
    let mut tx = begin(store).await;
    tx.create_session("s1", id, t(100), t(0))
        .await
        .expect("session");
    tx.create_session("s2", id, t(100), t(0))
        .await
        .expect("session");
    done(tx, "sessions").await;
    assert_eq!(
        store.session_account("s1", t(50)).await.expect("read"),
        Some(id)
    );
    assert_eq!(
        store.session_account("s1", t(100)).await.expect("read"),
        None
    );
    assert_eq!(store.live_sessions(id, t(50)).await.expect("live"), 2);
    let mut tx = begin(store).await;
    tx.end_session("s1").await.expect("end");
    assert_eq!(tx.end_sessions_of(id).await.expect("end all"), 1);
    done(tx, "logout").await;
    assert_eq!(store.live_sessions(id, t(50)).await.expect("live"), 0);

    // Second factor: no step is accepted without a secret, and a new secret leaves the second
    // factor off until a code verifies.
    let totp = |a: Account| (a.totp_secret, a.totp_enabled, a.totp_last_step);
    let mut tx = begin(store).await;
    assert!(!tx.accept_totp_step(id, 1).await.expect("no secret"));
    tx.set_totp_secret(id, b"sealed").await.expect("secret");
    done(tx, "totp secret").await;
    assert_eq!(
        totp(account(store, id).await),
        (Some(b"sealed".to_vec()), false, None)
    );
    // A step is accepted once, in increasing order: a code cannot be used twice.
    let mut tx = begin(store).await;
    assert!(tx.accept_totp_step(id, 10).await.expect("step"));
    assert!(!tx.accept_totp_step(id, 10).await.expect("replay"));
    assert!(!tx.accept_totp_step(id, 9).await.expect("older"));
    done(tx, "totp").await;
    assert_eq!(
        totp(account(store, id).await),
        (Some(b"sealed".to_vec()), true, Some(10))
    );
    let mut tx = begin(store).await;
    assert!(
        !tx.accept_totp_step(id, 10).await.expect("replay"),
        "a step accepted by a committed unit of work is not accepted again"
    );
    tx.rollback().await.expect("rollback");
    // The same code sent by several requests at once: exactly one of them is let through.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.begin().await.expect("begin");
            let accepted = tx.accept_totp_step(id, 11).await.expect("step");
            done(tx, "totp step").await;
            accepted
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        accepted += u32::from(task.await.expect("task"));
    }
    assert_eq!(
        accepted, 1,
        "concurrent replays of one step: exactly one accepted"
    );
    assert_eq!(account(store, id).await.totp_last_step, Some(11));
    // A new secret turns the second factor off until a code verifies; clearing removes it all,
    // and without a secret no step is accepted.
    let mut tx = begin(store).await;
    tx.set_totp_secret(id, b"sealed-2").await.expect("secret");
    done(tx, "totp secret again").await;
    assert_eq!(
        totp(account(store, id).await),
        (Some(b"sealed-2".to_vec()), false, None)
    );
    let mut tx = begin(store).await;
    tx.clear_totp(id).await.expect("clear");
    assert!(!tx.accept_totp_step(id, 12).await.expect("no secret"));
    done(tx, "totp reset").await;
    assert_eq!(totp(account(store, id).await), (None, false, None));
    assert!(store.staff_accounts().await.expect("staff").is_empty());

    // Tokens work once and only before expiry; concurrent users: exactly one wins.
    let token = TokenRecord {
        purpose: TokenPurpose::Pickup,
        account_id: None,
        order_number: Some(number("AAAAA-BBBBB")),
        expires_at: t(100),
    };
    let mut tx = begin(store).await;
    tx.create_token("h1", &token, t(0)).await.expect("token");
    tx.create_token("h0", &token, t(0)).await.expect("token");
    done(tx, "tokens").await;
    assert_eq!(
        store
            .live_token("h1", TokenPurpose::Pickup, t(1))
            .await
            .expect("live"),
        Some(token.clone())
    );
    assert_eq!(
        store
            .live_token("h1", TokenPurpose::PasswordReset, t(1))
            .await
            .expect("live"),
        None
    );
    // Each begins its own unit of work (on SQLite the second waits for the first's commit).
    let use_once = || async {
        let mut tx = begin(store).await;
        let r = tx
            .use_token("h1", TokenPurpose::Pickup, t(2))
            .await
            .expect("use");
        done(tx, "use").await;
        r
    };
    let (ra, rb) = tokio::join!(use_once(), use_once());
    assert_eq!(
        u8::from(ra.is_some()) + u8::from(rb.is_some()),
        1,
        "exactly one use"
    );
    // A fresh link retires the old ones.
    let mut tx = begin(store).await;
    assert_eq!(
        tx.retire_tokens(
            TokenPurpose::Pickup,
            Some(&number("AAAAA-BBBBB")),
            None,
            t(3)
        )
        .await
        .expect("retire"),
        1
    );
    done(tx, "retire").await;
    assert_eq!(
        store
            .live_token("h0", TokenPurpose::Pickup, t(4))
            .await
            .expect("live"),
        None
    );
}

async fn orders_and_pickups(store: &Arc<dyn Store>) {
    let placed_by = store
        .account_by_email("anna@example.be")
        .await
        .expect("read")
        .expect("present")
        .id;
    let mut tx = begin(store).await;
    let agent = tx
        .create_account(&NewAccount {
            email: "agent@example.de".into(),
            name: "Agent".into(),
            role: Role::Agent,
            region: Some("DE".into()),
            password_hash: None,
            email_confirmed: true,
            created_at: t(0),
        })
        .await
        .expect("agent");
    done(tx, "agent").await;
    assert_eq!(
        store
            .staff_accounts()
            .await
            .expect("staff")
            .iter()
            .map(|a| a.id)
            .collect::<Vec<_>>(),
        vec![agent]
    );
    let o = order("AAAAA-BBBBB", placed_by);
    let aaaaa = number("AAAAA-BBBBB");
    let mut tx = begin(store).await;
    tx.create_order(&o).await.expect("order");
    assert!(matches!(
        tx.create_order(&o).await,
        Err(StoreError::Duplicate(_))
    ));
    tx.transition_order(
        &aaaaa,
        OrderStatus::AwaitingDocuments,
        OrderStatus::InReview,
        None,
        t(5),
    )
    .await
    .expect("move");
    assert!(matches!(
        tx.transition_order(
            &aaaaa,
            OrderStatus::AwaitingDocuments,
            OrderStatus::InReview,
            None,
            t(6)
        )
        .await,
        Err(StoreError::Conflict(_))
    ));
    tx.transition_order(
        &aaaaa,
        OrderStatus::InReview,
        OrderStatus::ReadyForPickup,
        Some(t(7)),
        t(7),
    )
    .await
    .expect("approve");
    tx.confirm_approval_email(&aaaaa, t(8))
        .await
        .expect("confirm");
    tx.record_attestation(&aaaaa, agent, t(8))
        .await
        .expect("attest");
    // Once: a second attestation (another agent, the same instant) is a conflict.
    assert!(matches!(
        tx.record_attestation(&aaaaa, placed_by, t(8)).await,
        Err(StoreError::Conflict(_))
    ));
    let doc = DocumentRecord {
        id: 0,
        order_number: aaaaa.clone(),
        kind: DocumentKind::IdCopy,
        sha256: "ab".repeat(32),
        media_type: "application/pdf".into(),
        size: 3,
        uploaded_by: placed_by,
        created_at: t(9),
    };
    tx.attach_document(&doc, b"pdf").await.expect("doc");
    tx.attach_document(&doc, b"pdf")
        .await
        .expect("same content again");
    let ev = OrderEventRecord {
        actor: Some(placed_by),
        kind: "message".into(),
        message: Some("hello".into()),
        created_at: t(10),
    };
    tx.add_order_event(&aaaaa, &ev).await.expect("event");
    done(tx, "order").await;
    let o = store.order(&aaaaa).await.expect("read").expect("present");
    assert_eq!(
        (o.approval_confirmed, o.attested_by, o.ready_since),
        (true, Some(agent), Some(t(7)))
    );
    assert_eq!(
        store.order(&number("ZZZZZ-ZZZZZ")).await.expect("read"),
        None
    );
    assert_eq!(store.documents(&aaaaa).await.expect("docs").len(), 2);
    assert_eq!(
        store.blob(&"ab".repeat(32)).await.expect("blob"),
        Some(b"pdf".to_vec())
    );
    assert_eq!(store.order_events(&aaaaa).await.expect("events"), vec![ev]);
    assert_eq!(
        store.orders_placed_by(placed_by).await.expect("list").len(),
        1
    );
    assert_eq!(store.orders_in_country("DE").await.expect("list").len(), 1);
    assert_eq!(
        store
            .orders_with_status(OrderStatus::ReadyForPickup)
            .await
            .expect("list")
            .len(),
        1
    );

    // Wrong pickup passwords: concurrent attempts all count; an order can be held.
    let mut tx = begin(store).await;
    assert_eq!(tx.hold_for_pickup(&aaaaa).await.expect("hold"), 0);
    tx.rollback().await.expect("rollback");
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let store = store.clone();
        let aaaaa = aaaaa.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.begin().await.expect("begin");
            let n = tx.count_pickup_attempt(&aaaaa).await.expect("count");
            done(tx, "pickup attempt").await;
            n
        }));
    }
    let mut counted = Vec::new();
    for task in tasks {
        counted.push(task.await.expect("task"));
    }
    counted.sort_unstable();
    assert_eq!(counted, (1..=12).collect::<Vec<u32>>());
    // While one unit of work holds the order, another's attempt waits for it to end.
    let mut holder = begin(store).await;
    assert_eq!(holder.hold_for_pickup(&aaaaa).await.expect("hold"), 12);
    let waiting = {
        let store = store.clone();
        let aaaaa = aaaaa.clone();
        tokio::spawn(async move {
            let mut tx = store.begin().await.expect("begin");
            let n = tx.count_pickup_attempt(&aaaaa).await.expect("count");
            done(tx, "pickup attempt while held").await;
            n
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "the attempt waits for the holder");
    holder.rollback().await.expect("rollback");
    assert_eq!(waiting.await.expect("task"), 13);

    // A pickup claims the order once; while it holds it, nothing else moves the order.
    let token = TokenRecord {
        purpose: TokenPurpose::Pickup,
        account_id: None,
        order_number: Some(number("AAAAA-BBBBB")),
        expires_at: t(10_000),
    };
    let mut tx = begin(store).await;
    tx.create_token("pickup-1", &token, t(10))
        .await
        .expect("token");
    done(tx, "pickup link").await;
    let claim = |serial: Serial| {
        let store = store.clone();
        let aaaaa = aaaaa.clone();
        async move {
            let mut tx = store.begin().await.expect("begin");
            if tx
                .use_token("pickup-1", TokenPurpose::Pickup, t(11))
                .await
                .expect("use")
                .is_none()
            {
                return false;
            }
            let ok = tx
                .claim_pickup(&aaaaa, &serial, "pickup-1", t(100), t(11))
                .await
                .is_ok();
            if ok {
                done(tx, "claim").await;
            }
            ok
        }
    };
    let (a, b) = tokio::join!(claim(serial(30)), claim(serial(31)));
    assert!(a ^ b, "exactly one pickup claims the order");
    let winner = if a { serial(30) } else { serial(31) };
    let o = store.order(&aaaaa).await.expect("read").expect("present");
    assert_eq!(
        (o.claimed_serial, o.claim_expires_at, o.pickup_failures),
        (Some(winner.clone()), Some(t(100)), 0)
    );
    let mut tx = begin(store).await;
    assert!(matches!(
        tx.transition_order(
            &aaaaa,
            OrderStatus::ReadyForPickup,
            OrderStatus::Cancelled,
            None,
            t(12)
        )
        .await,
        Err(StoreError::Conflict(_))
    ));
    tx.rollback().await.expect("rollback");
    assert!(
        store
            .lapsed_pickup_claims(t(50))
            .await
            .expect("claims")
            .is_empty()
    );
    assert_eq!(
        store
            .lapsed_pickup_claims(t(101))
            .await
            .expect("claims")
            .len(),
        1
    );

    // Released: the link works again. Then claimed again and completed.
    let mut tx = begin(store).await;
    tx.release_pickup(&aaaaa, &winner, t(102))
        .await
        .expect("release");
    done(tx, "release").await;
    assert!(
        store
            .live_token("pickup-1", TokenPurpose::Pickup, t(103))
            .await
            .expect("live")
            .is_some()
    );
    assert!(claim(serial(32)).await);
    let mut c = intent(32);
    c.origin = "order:AAAAA-BBBBB".into();
    let mut tx = begin(store).await;
    tx.record_issuance_intent(&c).await.expect("intent");
    tx.complete_issuance(&serial(32), b"der", t(104))
        .await
        .expect("issued");
    assert!(matches!(
        tx.complete_pickup(&aaaaa, &serial(99), t(104)).await,
        Err(StoreError::Conflict(_))
    ));
    tx.complete_pickup(&aaaaa, &serial(32), t(104))
        .await
        .expect("complete");
    done(tx, "picked up").await;
    let o = store.order(&aaaaa).await.expect("read").expect("present");
    assert_eq!(
        (o.status, o.certificate_serial, o.claimed_serial),
        (OrderStatus::Issued, Some(serial(32)), None)
    );
    assert_eq!(
        store
            .order_for_certificate(&serial(32))
            .await
            .expect("order")
            .map(|o| o.order_number),
        Some(aaaaa.clone())
    );
    let mut reorder = order("CCCCC-DDDDD", placed_by);
    reorder.previous_order = Some(aaaaa.clone());
    reorder.order_kind = OrderKind::Reorder;
    let mut later = order("EEEEE-FFFFF", placed_by);
    later.created_at = t(50);
    later.updated_at = t(50);
    let ccccc = number("CCCCC-DDDDD");
    let eeeee = number("EEEEE-FFFFF");
    let mut tx = begin(store).await;
    tx.create_order(&reorder).await.expect("reorder");
    tx.create_order(&later).await.expect("later order");
    // Wrong pickup passwords are counted until reset; an order that does not exist is a
    // conflict, not a silent success.
    assert_eq!(tx.count_pickup_attempt(&ccccc).await.expect("count"), 1);
    assert_eq!(tx.count_pickup_attempt(&ccccc).await.expect("count"), 2);
    tx.reset_pickup_failures(&ccccc).await.expect("reset");
    assert_eq!(tx.hold_for_pickup(&ccccc).await.expect("hold"), 0);
    assert_eq!(
        tx.count_pickup_attempt(&ccccc).await.expect("count"),
        1,
        "counting starts over"
    );
    assert!(matches!(
        tx.reset_pickup_failures(&number("ZZZZZ-ZZZZZ")).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(tx.copy_documents(&aaaaa, &ccccc).await.expect("copy"), 2);
    assert!(
        tx.record_reminder(&serial(0xAB), "expiry", t(1))
            .await
            .expect("reminder")
    );
    assert!(
        !tx.record_reminder(&serial(0xAB), "expiry", t(2))
            .await
            .expect("reminder")
    );
    done(tx, "reorder").await;
    assert_eq!(store.documents(&ccccc).await.expect("docs").len(), 2);
    assert_eq!(
        store
            .order(&ccccc)
            .await
            .expect("read")
            .expect("present")
            .pickup_failures,
        1
    );

    // Lists: by account and by country newest first, by status oldest first; counts per status.
    let numbers = |orders: Vec<OrderRecord>| {
        orders
            .into_iter()
            .map(|o| o.order_number)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        numbers(store.orders_placed_by(placed_by).await.expect("list"))[0],
        eeeee
    );
    assert_eq!(
        numbers(store.orders_in_country("DE").await.expect("list"))[0],
        eeeee
    );
    assert_eq!(
        numbers(
            store
                .orders_with_status(OrderStatus::AwaitingDocuments)
                .await
                .expect("list")
        ),
        vec![ccccc.clone(), eeeee.clone()]
    );
    let mut statuses = store.order_status_counts().await.expect("status counts");
    statuses.sort_by_key(|(status, _)| status.as_str());
    assert_eq!(
        statuses,
        vec![
            (OrderStatus::AwaitingDocuments, 2),
            (OrderStatus::Issued, 1)
        ],
        "every order counted once, under its status; no status without orders"
    );

    // Support: a request's given id is ignored; unanswered requests come first (oldest first),
    // then answered ones (newest first), at most `limit`; a reply marks its request answered.
    let request = |n: i64| SupportRequestRecord {
        id: 999,
        name: "Anna".into(),
        email: "anna@example.be".into(),
        order_number: (n == 0).then(|| number("AAAAA-BBBBB")),
        message: format!("question {n}"),
        created_at: t(200 + n),
        answered_at: None,
    };
    let mut tx = begin(store).await;
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(
            tx.create_support_request(&request(n))
                .await
                .expect("request"),
        );
    }
    done(tx, "support requests").await;
    let mut distinct = ids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "each request has its own id: {ids:?}");
    let mut tx = begin(store).await;
    tx.add_support_reply(ids[0], agent, "answer 0", t(300))
        .await
        .expect("reply");
    tx.add_support_reply(ids[2], agent, "answer 2", t(301))
        .await
        .expect("reply");
    done(tx, "support replies").await;
    let listed = |limit: u32| async move {
        store
            .support_requests(limit)
            .await
            .expect("requests")
            .into_iter()
            .map(|r| r.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(listed(10).await, vec![ids[1], ids[3], ids[2], ids[0]]);
    assert_eq!(listed(3).await, vec![ids[1], ids[3], ids[2]]);
    assert_eq!(
        store.support_request(ids[0]).await.expect("read"),
        Some(SupportRequestRecord {
            id: ids[0],
            answered_at: Some(t(300)),
            ..request(0)
        })
    );
    assert_eq!(
        store.support_request(ids[1]).await.expect("read"),
        Some(SupportRequestRecord {
            id: ids[1],
            ..request(1)
        })
    );
    let missing = distinct[3] + 1000;
    assert_eq!(store.support_request(missing).await.expect("read"), None);
    // A reply to no request is refused, and its unit of work keeps nothing.
    let mut tx = begin(store).await;
    assert!(
        tx.add_support_reply(missing, agent, "lost", t(302))
            .await
            .is_err()
    );
    tx.rollback().await.expect("rollback");
    assert_eq!(listed(10).await.len(), 4);
}

async fn revocation_and_crls(store: &Arc<dyn Store>) {
    let epoch = store.revocation_epoch().await.expect("epoch");
    let mut tx = begin(store).await;
    assert!(
        matches!(
            tx.revoke_certificate(&serial(2), RevocationReason::Superseded, t(12), b"0")
                .await,
            Err(StoreError::Conflict(_))
        ),
        "an abandoned serial is not revoked again"
    );
    tx.revoke_certificate(
        &serial(1),
        RevocationReason::KeyCompromise,
        t(13),
        &[0x30, 0x01, 0x01],
    )
    .await
    .expect("revoke");
    assert!(matches!(
        tx.revoke_certificate(&serial(1), RevocationReason::Superseded, t(14), b"0")
            .await,
        Err(StoreError::Conflict(_))
    ));
    done(tx, "revoke").await;
    assert_eq!(store.revocation_epoch().await.expect("epoch"), epoch + 1);
    let rec = store
        .certificate(&serial(1))
        .await
        .expect("read")
        .expect("present");
    assert_eq!(
        (rec.revoked_at, rec.revocation_reason),
        (Some(t(13)), Some(RevocationReason::KeyCompromise))
    );
    let revoked = store.revoked_certificates("class3").await.expect("revoked");
    assert_eq!(
        revoked.len(),
        2,
        "the revoked certificate and the abandoned, revoked serial"
    );

    // A shard with revocations and no CRL is behind; a snapshot lists both entries.
    assert_eq!(
        store.shards_behind_revocations().await.expect("behind"),
        vec![("class3".to_owned(), 0)]
    );
    let mut listed = Vec::new();
    let snap = store
        .crl_snapshot("class3", 0, &mut |chunk| {
            match chunk {
                CrlChunk::Encoded(der) => listed.extend_from_slice(der),
                CrlChunk::Unencoded(r) => panic!("every entry is stored encoded: {r:?}"),
            }
            ControlFlow::Continue(())
        })
        .await
        .expect("snapshot");
    assert_eq!((snap.number, snap.entries), (1, 2));
    assert_eq!(snap.covers_epoch, epoch + 1);
    assert_eq!(listed.len(), 6);
    let crl = |number: u64, covers_epoch: i64| CrlRecord {
        issuer: "class3".into(),
        shard: 0,
        number,
        this_update: t(20),
        next_update: t(30),
        der: vec![number as u8],
        covers_epoch,
    };
    store
        .store_crl(&crl(1, snap.covers_epoch))
        .await
        .expect("crl");
    assert!(matches!(
        store.store_crl(&crl(1, snap.covers_epoch)).await,
        Err(StoreError::Duplicate(_))
    ));
    assert!(
        store
            .shards_behind_revocations()
            .await
            .expect("behind")
            .is_empty()
    );

    // Concurrent snapshots get distinct numbers, and a higher number never lists less.
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                let mut c = intent(40 + i);
                c.created_at = t(30);
                let mut tx = store.begin().await.expect("begin");
                tx.record_issuance_intent(&c).await.expect("intent");
                tx.complete_issuance(&c.serial, b"der", t(31))
                    .await
                    .expect("issued");
                tx.revoke_certificate(
                    &c.serial,
                    RevocationReason::Superseded,
                    t(32),
                    &[0x30, 0x01, 40 + i],
                )
                .await
                .expect("revoke");
                done(tx, "concurrent revocation").await;
                None
            } else {
                let snap = store
                    .crl_snapshot("class3", 0, &mut |_| ControlFlow::Continue(()))
                    .await
                    .expect("snapshot");
                Some(snap)
            }
        }));
    }
    let mut snaps = Vec::new();
    for task in tasks {
        if let Some(s) = task.await.expect("task") {
            snaps.push(s);
        }
    }
    snaps.sort_by_key(|s| s.number);
    for pair in snaps.windows(2) {
        assert!(pair[0].number < pair[1].number);
        assert!(pair[0].entries <= pair[1].entries, "{pair:?}");
        assert!(pair[0].covers_epoch <= pair[1].covers_epoch, "{pair:?}");
    }
    assert_eq!(
        store.shards_behind_revocations().await.expect("behind"),
        vec![("class3".to_owned(), 0)],
        "the stored CRL does not cover the new revocations"
    );
    // Stored out of order, the highest number is served.
    store.store_crl(&crl(9, 99)).await.expect("crl");
    store.store_crl(&crl(8, 98)).await.expect("crl");
    assert_eq!(
        store.latest_crl("class3", 0).await.expect("latest"),
        Some(crl(9, 99))
    );
    assert_eq!(store.latest_crl("class3", 1).await.expect("latest"), None);

    // Expiring, unrevoked certificates are found.
    let soon = store
        .certificates_expiring(t(0), t(40 * 86_400))
        .await
        .expect("expiring");
    assert!(soon.iter().any(|c| c.intent.serial == serial(32)));
    assert!(!soon.iter().any(|c| c.intent.serial == serial(1)));
}

async fn ocsp(store: &Arc<dyn Store>) {
    let needing = store
        .certificates_needing_ocsp(t(0), t(0), "", 100)
        .await
        .expect("needing");
    assert!(needing.iter().any(|c| c.serial == serial(32)));
    let revoked_status = needing
        .iter()
        .find(|c| c.serial == serial(1))
        .expect("the revoked certificate needs a response too");
    assert_eq!(revoked_status.reason, Some(RevocationReason::KeyCompromise));
    for c in &needing {
        let rec = store
            .certificate(&c.serial)
            .await
            .expect("read")
            .expect("present");
        assert_eq!(rec.state, IssuanceState::Issued);
    }
    let first = store
        .certificates_needing_ocsp(t(0), t(0), "", 1)
        .await
        .expect("page");
    let rest = store
        .certificates_needing_ocsp(t(0), t(0), &first[0].serial.to_hex(), 100)
        .await
        .expect("page");
    assert_eq!([first, rest].concat(), needing);

    let response = |n: u8, secs: i64, revoked: bool| OcspRecord {
        serial: serial(n).to_hex(),
        issuer: "class3".into(),
        this_update: t(secs),
        next_update: t(secs + 100),
        der: vec![n, secs as u8],
        revoked,
    };
    store
        .store_ocsp_responses(&[response(32, 10, false)])
        .await
        .expect("store");
    assert!(
        !store
            .certificates_needing_ocsp(t(5), t(0), "", 100)
            .await
            .expect("needing")
            .iter()
            .any(|c| c.serial == serial(32))
    );
    // A "good" response is never stored for a revoked certificate; a "revoked" one is.
    store
        .store_ocsp_responses(&[response(1, 10, false), response(32, 20, false)])
        .await
        .expect("store");
    assert_eq!(
        store
            .ocsp_response(&serial(1).to_hex())
            .await
            .expect("read"),
        None
    );
    assert_eq!(
        store
            .ocsp_response(&serial(32).to_hex())
            .await
            .expect("read"),
        Some(response(32, 20, false))
    );
    store
        .store_ocsp_responses(&[response(1, 10, true)])
        .await
        .expect("store");
    assert_eq!(
        store
            .ocsp_response(&serial(1).to_hex())
            .await
            .expect("read"),
        Some(response(1, 10, true))
    );
    // A revocation drops the certificate's response in its own transaction.
    let mut tx = begin(store).await;
    tx.revoke_certificate(
        &serial(32),
        RevocationReason::Superseded,
        t(40),
        &[0x30, 0x01, 32],
    )
    .await
    .expect("revoke");
    done(tx, "revoke 32").await;
    assert_eq!(
        store
            .ocsp_response(&serial(32).to_hex())
            .await
            .expect("read"),
        None
    );
    assert_eq!(store.ocsp_response("00").await.expect("read"), None);
}

async fn mail_and_limits(store: &Arc<dyn Store>, dump: DumpKind) {
    let mail = |to: &str| NewMail {
        to: to.into(),
        subject: "Hello".into(),
        body: "link".into(),
        attachment: (to == "b@example.org").then(|| {
            (
                "form.pdf".to_owned(),
                "application/pdf".to_owned(),
                b"%PDF".to_vec(),
            )
        }),
        created_at: t(0),
    };
    // Mail rows commit with their unit of work, or not at all.
    let mut tx = begin(store).await;
    tx.enqueue_mail(&mail("lost@example.org"))
        .await
        .expect("queue");
    assert_eq!(tx.pending(), (0, 1));
    drop(tx);
    let mut tx = begin(store).await;
    tx.enqueue_mail(&mail("a@example.org"))
        .await
        .expect("queue");
    tx.enqueue_mail(&mail("b@example.org"))
        .await
        .expect("queue");
    done(tx, "mails").await;
    let lease = time::Duration::minutes(2);
    // Two workers claim at once: each message goes to one of them.
    let (x, y) = tokio::join!(
        store.claim_mail(t(1), lease, 10),
        store.claim_mail(t(1), lease, 10)
    );
    let (x, y) = (x.expect("claim"), y.expect("claim"));
    assert_eq!(x.len() + y.len(), 2, "{x:?} {y:?}");
    let claimed = [x, y].concat();
    let b = claimed
        .iter()
        .find(|m| m.mail.to == "b@example.org")
        .expect("b");
    assert_eq!(b.mail, mail("b@example.org"));
    assert!(
        store
            .claim_mail(t(2), lease, 10)
            .await
            .expect("claim")
            .is_empty(),
        "leased"
    );
    let a = claimed
        .iter()
        .find(|m| m.mail.to == "a@example.org")
        .expect("a");
    store.mail_sent(a.id, t(3)).await.expect("sent");
    store
        .mail_failed(b.id, "relay refused", Some(t(60)))
        .await
        .expect("failed");
    assert!(
        store
            .claim_mail(t(30), lease, 10)
            .await
            .expect("claim")
            .is_empty(),
        "waiting"
    );
    let again = store.claim_mail(t(61), lease, 10).await.expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].attempts, again[0].last_error.as_deref()),
        (1, Some("relay refused"))
    );
    store
        .mail_failed(b.id, "relay hangs", None)
        .await
        .expect("dead");
    assert!(
        store
            .claim_mail(t(10_000), lease, 10)
            .await
            .expect("claim")
            .is_empty(),
        "dead"
    );
    let mut counts = store.mail_state_counts().await.expect("counts");
    counts.sort_by_key(|(state, _)| state.as_str());
    assert_eq!(counts, vec![(MailState::Dead, 1), (MailState::Sent, 1)]);
    assert_eq!(
        store
            .retry_mail_now(Some(b.id), t(10_001))
            .await
            .expect("retry"),
        1
    );
    assert_eq!(
        store
            .claim_mail(t(10_001), lease, 10)
            .await
            .expect("claim")
            .len(),
        1
    );
    assert_eq!(store.recent_mail(10).await.expect("recent").len(), 2);
    assert_eq!(
        store
            .recent_mail(1)
            .await
            .expect("recent")
            .iter()
            .map(|m| m.id)
            .collect::<Vec<_>>(),
        vec![b.id],
        "the newest first"
    );

    // Rate limits count every concurrent hit; a window starts over.
    let window = time::Duration::minutes(15);
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .hit("login-client:127.0.0.1", window, t(0))
                .await
                .expect("hit")
        }));
    }
    let mut hits = Vec::new();
    for task in tasks {
        hits.push(task.await.expect("task"));
    }
    hits.sort_unstable();
    assert_eq!(hits, (1..=30).collect::<Vec<u64>>());
    store
        .forgive("login-client:127.0.0.1", window, t(0))
        .await
        .expect("forgive");
    assert_eq!(
        store
            .hits("login-client:127.0.0.1", window, t(0))
            .await
            .expect("hits"),
        29
    );
    assert_eq!(
        store
            .hits("login-client:127.0.0.1", window, t(901))
            .await
            .expect("hits"),
        0
    );
    assert_eq!(
        store
            .hit("login-client:127.0.0.1", window, t(901))
            .await
            .expect("hit"),
        1
    );

    store.probe("node-a", t(5)).await.expect("probe");
    store.probe("node-a", t(6)).await.expect("probe again");

    // Time-stamp serials: drawn at once from many tasks, each is unique, and later draws are
    // larger (RFC 3161 §2.4.2).
    let first = store.next_time_stamp_serial().await.expect("serial");
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.next_time_stamp_serial().await.expect("serial")
        }));
    }
    let mut drawn = Vec::new();
    for task in tasks {
        drawn.push(task.await.expect("task"));
    }
    drawn.sort_unstable();
    drawn.dedup();
    assert_eq!(drawn.len(), 16, "unique");
    assert!(drawn[0] > first);
    assert!(store.next_time_stamp_serial().await.expect("serial") > drawn[15]);

    // Job leases: of eight nodes asking at once, one takes the job; only the holder renews;
    // another takes it once it lapsed or was given back.
    let mut tasks = Vec::new();
    for n in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let node = format!("node-{n}");
            let taken = store
                .lease_job("crl", &node, t(100), t(160))
                .await
                .expect("lease");
            (node, taken)
        }));
    }
    let mut holders = Vec::new();
    for task in tasks {
        let (node, taken) = task.await.expect("task");
        if taken {
            holders.push(node);
        }
    }
    assert_eq!(holders.len(), 1, "one node takes the job: {holders:?}");
    let holder = &holders[0];
    let other = if holder == "node-0" {
        "node-1"
    } else {
        "node-0"
    };
    assert!(
        !store
            .lease_job("crl", other, t(159), t(219))
            .await
            .expect("lease")
    );
    assert!(
        store
            .lease_job("crl", holder, t(150), t(400))
            .await
            .expect("renew")
    );
    assert!(
        !store
            .lease_job("crl", other, t(300), t(360))
            .await
            .expect("renewed: still held")
    );
    assert!(
        store
            .lease_job("ocsp", other, t(300), t(360))
            .await
            .expect("another job is free")
    );
    store
        .release_job("crl", other)
        .await
        .expect("not the holder's: nothing");
    assert!(
        !store
            .lease_job("crl", other, t(300), t(360))
            .await
            .expect("still held")
    );
    assert!(
        store
            .lease_job("crl", other, t(400), t(460))
            .await
            .expect("lapsed: taken over")
    );
    store.release_job("crl", other).await.expect("release");
    assert!(
        store
            .lease_job("crl", holder, t(401), t(461))
            .await
            .expect("given back: free")
    );

    notices(store).await;
    copies(store, dump).await;
}

/// What the public pages show: alerts, newest first (an end set, then moved); relying services,
/// by name. Each record's given id is ignored.
async fn notices(store: &Arc<dyn Store>) {
    let staff = store
        .account_by_email("agent@example.de")
        .await
        .expect("read")
        .expect("present")
        .id;
    let alert = |title: &str, starts: i64, ends: Option<i64>| AlertRecord {
        id: 999,
        kind: AlertKind::Maintenance,
        title: title.into(),
        body: format!("{title}: the portal is down"),
        starts_at: t(starts),
        ends_at: ends.map(t),
        created_by: staff,
        created_at: t(0),
    };
    let mut tx = begin(store).await;
    let old = tx
        .create_alert(&alert("old", 5, None))
        .await
        .expect("alert");
    let first = tx
        .create_alert(&alert("first", 20, Some(50)))
        .await
        .expect("alert");
    let second = tx
        .create_alert(&alert("second", 20, None))
        .await
        .expect("alert");
    let middle = tx
        .create_alert(&alert("middle", 10, None))
        .await
        .expect("alert");
    let missing = old.max(first).max(second).max(middle) + 1000;
    assert!(matches!(
        tx.end_alert(missing, t(30)).await,
        Err(StoreError::Conflict(_))
    ));
    done(tx, "alerts").await;
    let alerts = |limit: u32| async move { store.alerts(limit).await.expect("alerts") };
    assert_eq!(
        alerts(10).await.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![second, first, middle, old],
        "the latest start first; of two that start together, the later one"
    );
    assert_eq!(
        alerts(2).await,
        vec![
            AlertRecord {
                id: second,
                ..alert("second", 20, None)
            },
            AlertRecord {
                id: first,
                ..alert("first", 20, Some(50))
            }
        ]
    );
    let ends_of_middle = || async move {
        alerts(10)
            .await
            .into_iter()
            .find(|a| a.id == middle)
            .expect("listed")
            .ends_at
    };
    let mut tx = begin(store).await;
    tx.end_alert(middle, t(30)).await.expect("end");
    done(tx, "alert ended").await;
    assert_eq!(ends_of_middle().await, Some(t(30)));
    let mut tx = begin(store).await;
    tx.end_alert(middle, t(60)).await.expect("move the end");
    done(tx, "alert end moved").await;
    assert_eq!(ends_of_middle().await, Some(t(60)));

    let service = |name: &str, until: Option<i64>| RelyingServiceRecord {
        id: 999,
        name: name.into(),
        url: format!("https://{}.example", name.to_lowercase()),
        accepts_from: t(0),
        accepts_until: until.map(t),
        note: format!("{name} accepts class 3"),
        created_at: t(1),
    };
    let mut tx = begin(store).await;
    let mut ids = Vec::new();
    for (name, until) in [("Mutual", None), ("Bank", Some(100)), ("Federal", None)] {
        ids.push(
            tx.create_relying_service(&service(name, until))
                .await
                .expect("service"),
        );
    }
    done(tx, "relying services").await;
    assert_eq!(
        store.relying_services().await.expect("services"),
        vec![
            RelyingServiceRecord {
                id: ids[1],
                ..service("Bank", Some(100))
            },
            RelyingServiceRecord {
                id: ids[2],
                ..service("Federal", None)
            },
            RelyingServiceRecord {
                id: ids[0],
                ..service("Mutual", None)
            },
        ]
    );
}

/// A copy of the whole database, taken while units of work commit: the backend's kind, a
/// moment of the original (its audit log a prefix of the original's, the chain whole), and a
/// store that works (the next record chains on).
async fn copies(store: &Arc<dyn Store>, kind: DumpKind) {
    let dir = tempfile_dir();
    let to = dir.join("copy");
    let before = store.audit_entries().await.expect("audit").len();
    let writers: Vec<_> = (0..4)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let tx = store.begin().await.expect("begin");
                done(tx, &format!("while copying {i}")).await;
            })
        })
        .collect();
    assert_eq!(store.dump(&to).await.expect("dump"), kind);
    for writer in writers {
        writer
            .await
            .expect("a unit of work commits while the copy is made");
    }
    let restored = match kind {
        DumpKind::Sqlite => None,
        DumpKind::Postgresql => Some(support::new_postgres_database("copy").await),
    };
    let copy: Arc<dyn Store> = match &restored {
        None => signet_store::open(&format!("sqlite://{}", to.display()))
            .await
            .expect("the copy opens"),
        Some((_, url)) => {
            signet_store::restore_postgres(url, &to)
                .await
                .expect("restore");
            signet_store::open(url).await.expect("the copy opens")
        }
    };
    let original = store.audit_entries().await.expect("audit");
    let copied = copy.audit_entries().await.expect("audit");
    assert!(
        (before..=before + 4).contains(&copied.len()),
        "{before} records before, {} in the copy",
        copied.len()
    );
    assert_eq!(copied[..], original[..copied.len()]);
    assert_eq!(chain_verifies(&copied), copied.len());
    assert_eq!(
        copy.counts().await.expect("counts"),
        store.counts().await.expect("counts")
    );
    assert_eq!(
        copy.account_by_email("anna@example.be")
            .await
            .expect("read")
            .map(|a| a.id),
        store
            .account_by_email("anna@example.be")
            .await
            .expect("read")
            .map(|a| a.id)
    );
    done(begin(&copy).await, "in the copy").await;
    let copied = copy.audit_entries().await.expect("audit");
    assert_eq!(chain_verifies(&copied), copied.len());
    drop(copy);
    if let Some((db, _)) = restored {
        support::drop_postgres_database(&db).await;
    }
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn sqlite_story() {
    let dir = tempfile_dir();
    let url = format!("sqlite://{}/signet.db", dir.display());
    story(
        Arc::new(SqliteStore::open(&url).await.expect("open sqlite")),
        DumpKind::Sqlite,
    )
    .await;
    // Re-opening runs no migration twice and keeps the data.
    let again = SqliteStore::open(&url).await.expect("reopen");
    assert!(again.counts().await.expect("counts").issued >= 2);
    std::fs::remove_dir_all(dir).ok();
}

/// A new, empty PostgreSQL database for this process (one a previous run left is dropped
/// first): its name and URL.
#[tokio::test]
async fn postgres_story() {
    let (db, url) = support::new_postgres_database("story").await;
    let store = PostgresStore::open(&url).await.expect("open postgres");
    story(Arc::new(store.clone()), DumpKind::Postgresql).await;
    drop(store);
    support::drop_postgres_database(&db).await;
}

/// Accounts from before addresses were compared without case: written past the store (as an
/// old version did), kept, found (the exact spelling first, else the oldest) and reported.
async fn old_case_duplicates(store: &Arc<dyn Store>, insert: impl AsyncFn(&str)) {
    insert("Old@x.example").await;
    insert("old@x.example").await;
    assert_eq!(
        store.accounts_sharing_an_address().await.expect("shared"),
        vec!["old@x.example".to_owned()]
    );
    let exact = store
        .account_by_email("old@x.example")
        .await
        .expect("lookup");
    assert_eq!(exact.expect("found").email, "old@x.example");
    let oldest = store
        .account_by_email("OLD@X.EXAMPLE")
        .await
        .expect("lookup");
    assert_eq!(oldest.expect("found").email, "Old@x.example");
}

const RAW_ACCOUNT: &str = "INSERT INTO accounts (email, name, role, email_confirmed, created_at) VALUES ($1, 'Old', 'subscriber', 1, 0)";

#[tokio::test]
async fn sqlite_migration_lowercases_addresses_that_do_not_collide() {
    let dir = tempfile_dir();
    let url = format!("sqlite://{}/signet.db", dir.display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).await.expect("open"));
    let raw = sqlx::SqlitePool::connect(&url).await.expect("raw pool");
    old_case_duplicates(&store, async |email: &str| {
        sqlx::query(RAW_ACCOUNT)
            .bind(email)
            .execute(&raw)
            .await
            .expect("raw insert");
    })
    .await;
    // Run migration 0011 again over an address an old version stored in mixed case.
    sqlx::query(RAW_ACCOUNT)
        .bind("Solo@X.example")
        .execute(&raw)
        .await
        .expect("raw insert");
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 11")
        .execute(&raw)
        .await
        .expect("forget 0011");
    sqlx::query("DROP INDEX accounts_email_lower")
        .execute(&raw)
        .await
        .expect("drop index");
    drop(store);
    let store = SqliteStore::open(&url).await.expect("reopen runs 0011");
    assert_eq!(
        store
            .account_by_email("solo@x.example")
            .await
            .expect("lookup")
            .expect("found")
            .email,
        "solo@x.example",
        "lower-cased"
    );
    assert_eq!(
        store.accounts_sharing_an_address().await.expect("shared"),
        vec!["old@x.example".to_owned()],
        "colliding addresses are left for an operator"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn postgres_keeps_and_reports_old_case_duplicates() {
    let (db, url) = support::new_postgres_database("dup").await;
    let store: Arc<dyn Store> = Arc::new(PostgresStore::open(&url).await.expect("open"));
    let raw = sqlx::PgPool::connect(&url).await.expect("raw pool");
    old_case_duplicates(&store, async |email: &str| {
        sqlx::query(RAW_ACCOUNT)
            .bind(email)
            .execute(&raw)
            .await
            .expect("raw insert");
    })
    .await;
    raw.close().await;
    drop(store);
    support::drop_postgres_database(&db).await;
}

/// Rules the `Store` and `Tx` doc comments state that a backend does not keep (found reading
/// the SQL): each is checked without stopping at the first broken one, and the test fails
/// listing every rule this backend breaks.
async fn documented_rules(store: Arc<dyn Store>) -> Vec<String> {
    let mut broken = Vec::new();

    // `recent_audit`: "the newest records whose action starts with `prefix`". The action
    // names hold underscores; a prefix is taken as written (so in its case, too).
    let mut tx = begin(&store).await;
    tx.audit(note("session.login_failed"));
    tx.commit().await.expect("commit");
    for (prefix, expected) in [
        ("session.login_failed", 1),
        ("session.login_", 1),
        ("SESSION.", 0),
        ("session%", 0),
    ] {
        let found = store.recent_audit(prefix, 10).await.expect("recent").len();
        if found != expected {
            broken.push(format!(
                "recent_audit({prefix:?}) finds {found} records starting with it, not {expected}"
            ));
        }
    }

    // `create_account`: "fails with Duplicate when the e-mail address has an account", case
    // ignored: also when two units of work add one address in two spellings at once.
    let new = |email: &str| NewAccount {
        email: email.into(),
        name: "Race".into(),
        role: Role::Subscriber,
        region: None,
        password_hash: None,
        email_confirmed: false,
        created_at: t(0),
    };
    let mut first = begin(&store).await;
    let subscriber = first
        .create_account(&new("race@x.example"))
        .await
        .expect("first");
    let second = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = store.begin().await.expect("begin");
            let r = tx.create_account(&new("RACE@x.example")).await;
            if r.is_ok() {
                done(tx, "second sign-up").await;
            }
            r.map_err(|e| e.to_string())
        })
    };
    // The second has tried by now, unless the backend has it wait for the first.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    done(first, "first sign-up").await;
    let second = second.await.expect("task");
    let shared = store.accounts_sharing_an_address().await.expect("shared");
    if second.is_ok() || !shared.is_empty() {
        broken.push(format!(
            "create_account: two concurrent sign-ups for race@x.example in two spellings both \
             succeed ({second:?}); addresses now held by several accounts: {shared:?}"
        ));
    }

    // `claim_pickup`: a lapsed claim still refuses a new one until reconciliation released it
    // (its serial may have been signed and must be revoked first).
    let mut tx = begin(&store).await;
    let lapsed = number("MMMMM-AAAAA");
    let mut o = order("MMMMM-AAAAA", subscriber);
    o.status = OrderStatus::ReadyForPickup;
    o.ready_since = Some(t(0));
    tx.create_order(&o).await.expect("order");
    tx.claim_pickup(&lapsed, &serial(0xA1), "link-1", t(100), t(1))
        .await
        .expect("claim");
    done(tx, "claimed").await;
    let mut tx = begin(&store).await;
    match tx
        .claim_pickup(&lapsed, &serial(0xA2), "link-2", t(300), t(200))
        .await
    {
        Err(StoreError::Conflict(_)) => tx.rollback().await.expect("rollback"),
        other => {
            broken.push(format!(
                "claim_pickup: a lapsed, unreleased claim let a new one through: {other:?}"
            ));
            tx.rollback().await.ok();
        }
    }

    // `claim_mail` leases messages "so that no other worker or node sends them meanwhile";
    // `retry_mail_now` makes "dead or waiting messages" due. A message being sent is neither.
    let mut tx = begin(&store).await;
    tx.enqueue_mail(&NewMail {
        to: "leased@example.org".into(),
        subject: "Hello".into(),
        body: "link".into(),
        attachment: None,
        created_at: t(0),
    })
    .await
    .expect("queue");
    done(tx, "mail").await;
    let lease = time::Duration::minutes(2);
    let claimed = store.claim_mail(t(1), lease, 10).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    let retried = store.retry_mail_now(None, t(2)).await.expect("retry");
    let again = store.claim_mail(t(2), lease, 10).await.expect("claim");
    if retried != 0 || !again.is_empty() {
        broken.push(format!(
            "retry_mail_now: counts a message under a worker's lease as retried ({retried}) and \
             frees it, so another worker claims it while the first sends it ({} claimed again)",
            again.len()
        ));
    }
    store.mail_sent(claimed[0].id, t(3)).await.expect("sent");

    // `recent_mail`: "the newest messages (without bodies' attachments)".
    let mut tx = begin(&store).await;
    tx.enqueue_mail(&NewMail {
        to: "form@example.org".into(),
        subject: "Your form".into(),
        body: "attached".into(),
        attachment: Some((
            "form.pdf".into(),
            "application/pdf".into(),
            b"%PDF".to_vec(),
        )),
        created_at: t(4),
    })
    .await
    .expect("queue");
    done(tx, "mail with attachment").await;
    let recent = store.recent_mail(1).await.expect("recent");
    assert_eq!(recent[0].mail.to, "form@example.org");
    if let Some((name, _, content)) = &recent[0].mail.attachment {
        broken.push(format!(
            "recent_mail: returns the attachment ({name}, {} bytes)",
            content.len()
        ));
    }
    broken
}

#[tokio::test]
async fn sqlite_keeps_the_documented_rules() {
    let dir = tempfile_dir();
    let url = format!("sqlite://{}/signet.db", dir.display());
    let broken = documented_rules(Arc::new(SqliteStore::open(&url).await.expect("open"))).await;
    std::fs::remove_dir_all(dir).ok();
    assert!(broken.is_empty(), "SQLite breaks: {broken:#?}");
}

#[tokio::test]
async fn postgres_keeps_the_documented_rules() {
    let (db, url) = support::new_postgres_database("rules").await;
    let store = PostgresStore::open(&url).await.expect("open");
    let broken = documented_rules(Arc::new(store.clone())).await;
    drop(store);
    support::drop_postgres_database(&db).await;
    assert!(broken.is_empty(), "PostgreSQL breaks: {broken:#?}");
}

/// Runs `run` on a new SQLite store and then on a new PostgreSQL store, each with a connection
/// to its database past the store.
async fn on_both_backends(tag: &str, run: impl AsyncFn(Arc<dyn Store>, &Raw)) {
    let dir = tempfile_dir();
    let url = format!("sqlite://{}/signet.db", dir.display());
    let store = SqliteStore::open(&url).await.expect("open sqlite");
    let raw = Raw::connect(&url).await;
    run(Arc::new(store), &raw).await;
    raw.close().await;
    std::fs::remove_dir_all(dir).ok();

    let (db, url) = support::new_postgres_database(tag).await;
    let store = PostgresStore::open(&url).await.expect("open postgres");
    let raw = Raw::connect(&url).await;
    run(Arc::new(store.clone()), &raw).await;
    raw.close().await;
    drop(store);
    support::drop_postgres_database(&db).await;
}

fn corrupt<T: std::fmt::Debug>(what: &str, result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Corrupt(_))),
        "{what}: a value the domain does not name is read as {result:?}, not as a corrupt row"
    );
}

/// What a database written by hand or by another version may hold: values this version's domain
/// does not name (written past the store, once the schema's guards of migration 0012 are gone).
/// Each read of such a row fails as `Corrupt` and never yields a default (an unknown channel read
/// as self-service would let a subscriber act where only an agent may); rows beside it still read.
async fn unknown_values(store: Arc<dyn Store>, raw: &Raw) {
    let person = |email: &str, role: Role| NewAccount {
        email: email.into(),
        name: "Someone".into(),
        role,
        region: None,
        password_hash: None,
        email_confirmed: true,
        created_at: t(0),
    };
    let mut tx = begin(&store).await;
    let owner = tx
        .create_account(&person("owner@x.example", Role::Subscriber))
        .await
        .expect("account");
    let odd = tx
        .create_account(&person("odd@x.example", Role::Agent))
        .await
        .expect("account");
    for n in [
        "SSSSS-00000",
        "CCCCC-00000",
        "KKKKK-00000",
        "TTTTT-00000",
        "FFFFF-00000",
    ] {
        tx.create_order(&order(n, owner)).await.expect("order");
    }
    let fine = number("FFFFF-00000");
    tx.attach_document(
        &DocumentRecord {
            id: 0,
            order_number: fine.clone(),
            kind: DocumentKind::IdCopy,
            sha256: "cd".repeat(32),
            media_type: "application/pdf".into(),
            size: 3,
            uploaded_by: owner,
            created_at: t(0),
        },
        b"pdf",
    )
    .await
    .expect("document");
    tx.enqueue_mail(&NewMail {
        to: "owner@x.example".into(),
        subject: "Hello".into(),
        body: "link".into(),
        attachment: None,
        created_at: t(0),
    })
    .await
    .expect("mail");
    tx.create_alert(&AlertRecord {
        id: 0,
        kind: AlertKind::Incident,
        title: "Down".into(),
        body: "The portal is down".into(),
        starts_at: t(0),
        ends_at: None,
        created_by: odd,
        created_at: t(0),
    })
    .await
    .expect("alert");
    tx.record_issuance_intent(&intent(1)).await.expect("intent");
    tx.complete_issuance(&serial(1), b"der", t(1))
        .await
        .expect("issued");
    tx.revoke_certificate(
        &serial(1),
        RevocationReason::KeyCompromise,
        t(2),
        &[0x30, 0x01, 0x01],
    )
    .await
    .expect("revoke");
    done(tx, "rows to spoil").await;

    for (table, column, value, row) in [
        ("accounts", "role", "superuser", format!("id = {odd}")),
        (
            "orders",
            "status",
            "approved",
            "order_number = 'SSSSS-00000'".to_owned(),
        ),
        (
            "orders",
            "channel",
            "kiosk",
            "order_number = 'CCCCC-00000'".to_owned(),
        ),
        (
            "orders",
            "key_type",
            "dsa-1024",
            "order_number = 'KKKKK-00000'".to_owned(),
        ),
        (
            "orders",
            "order_kind",
            "gift",
            "order_number = 'TTTTT-00000'".to_owned(),
        ),
        ("documents", "kind", "selfie", "1 = 1".to_owned()),
        ("mail_outbox", "state", "bounced", "1 = 1".to_owned()),
        ("alerts", "kind", "party", "1 = 1".to_owned()),
        (
            "certificates",
            "revocation_reason",
            "lost_it",
            "1 = 1".to_owned(),
        ),
    ] {
        raw.allow_unknown(table, column).await;
        let sql = format!("UPDATE {table} SET {column} = '{value}' WHERE {row}");
        assert_eq!(raw.exec(&sql).await.expect(&sql), 1, "{sql}");
    }

    // Orders: the row itself, and every list it is in.
    corrupt("order status", store.order(&number("SSSSS-00000")).await);
    // The message names the row, so that an operator can find it.
    let e = store
        .order(&number("SSSSS-00000"))
        .await
        .expect_err("corrupt");
    assert!(e.to_string().contains("order SSSSS-00000"), "{e}");
    let e = store.certificate(&serial(1)).await.expect_err("corrupt");
    assert!(
        e.to_string()
            .contains(&format!("certificate {}", serial(1))),
        "{e}"
    );
    corrupt("order channel", store.order(&number("CCCCC-00000")).await);
    corrupt("order key type", store.order(&number("KKKKK-00000")).await);
    corrupt("order kind", store.order(&number("TTTTT-00000")).await);
    corrupt("orders of an owner", store.orders_placed_by(owner).await);
    corrupt("orders of a country", store.orders_in_country("DE").await);
    corrupt(
        "orders of a status",
        store
            .orders_with_status(OrderStatus::AwaitingDocuments)
            .await,
    );
    corrupt("orders per status", store.order_status_counts().await);
    let intact = store.order(&fine).await.expect("a good row still reads");
    assert_eq!(
        intact.map(|o| (o.status, o.channel)),
        Some((OrderStatus::AwaitingDocuments, Channel::SelfService))
    );
    corrupt("document kind", store.documents(&fine).await);
    // Accounts.
    corrupt("account role", store.account(odd).await);
    corrupt(
        "account role",
        store.account_by_email("odd@x.example").await,
    );
    corrupt("staff roles", store.staff_accounts().await);
    assert_eq!(
        store.account(owner).await.expect("read").map(|a| a.role),
        Some(Role::Subscriber)
    );
    // Mail, alerts, revocations.
    corrupt("mail state", store.recent_mail(10).await);
    corrupt("mail states", store.mail_state_counts().await);
    corrupt("alert kind", store.alerts(10).await);
    corrupt("revocation reason", store.certificate(&serial(1)).await);
    corrupt(
        "revocation reason",
        store.revoked_certificates("class3").await,
    );
    corrupt(
        "revocation reason",
        store.certificates_needing_ocsp(t(0), t(0), "", 100).await,
    );
}

#[tokio::test]
async fn an_unknown_stored_value_is_corrupt_not_a_default() {
    on_both_backends("corrupt", unknown_values).await;
}

/// What only looks (a page, a report, a check) needs nothing but `Reads`.
async fn look(
    reads: &dyn Reads,
    order_number: &OrderNumber,
) -> (
    Option<OrderRecord>,
    Vec<DocumentRecord>,
    Vec<signet_store::AuditEntry>,
    signet_store::Counts,
    Vec<(OrderStatus, u64)>,
) {
    (
        reads.order(order_number).await.expect("order"),
        reads.documents(order_number).await.expect("documents"),
        reads.audit_entries().await.expect("audit"),
        reads.counts().await.expect("counts"),
        reads.order_status_counts().await.expect("status counts"),
    )
}

async fn reads_alone(store: Arc<dyn Store>, _: &Raw) {
    let mut tx = begin(&store).await;
    let owner = tx
        .create_account(&NewAccount {
            email: "reader@x.example".into(),
            name: "Reader".into(),
            role: Role::Subscriber,
            region: None,
            password_hash: None,
            email_confirmed: true,
            created_at: t(0),
        })
        .await
        .expect("account");
    let o = order("RRRRR-00000", owner);
    tx.create_order(&o).await.expect("order");
    let doc = DocumentRecord {
        id: 0,
        order_number: o.order_number.clone(),
        kind: DocumentKind::SignedAgreement,
        sha256: "ef".repeat(32),
        media_type: "application/pdf".into(),
        size: 3,
        uploaded_by: owner,
        created_at: t(1),
    };
    let doc_id = tx.attach_document(&doc, b"pdf").await.expect("document");
    tx.record_issuance_intent(&intent(1)).await.expect("intent");
    tx.complete_issuance(&serial(1), b"der", t(2))
        .await
        .expect("issued");
    done(tx, "something to look at").await;

    let reads: &dyn Reads = &*store;
    let (order, documents, audit, counts, statuses) = look(reads, &o.order_number).await;
    assert_eq!(order, Some(o.clone()));
    assert_eq!(documents, vec![DocumentRecord { id: doc_id, ..doc }]);
    assert_eq!(
        audit.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        vec!["something to look at"]
    );
    assert_eq!(chain_verifies(&audit), 1);
    assert_eq!((counts.intents, counts.issued, counts.abandoned), (0, 1, 0));
    assert_eq!(statuses, vec![(OrderStatus::AwaitingDocuments, 1)]);
    assert_eq!(
        look(reads, &number("ZZZZZ-ZZZZZ")).await.0,
        None,
        "an order that does not exist is no order, not an error"
    );
}

#[tokio::test]
async fn reads_alone_are_enough_to_look() {
    on_both_backends("reads", reads_alone).await;
}

/// Every method of the store's traits (`Store`, `Tx` and the traits of each area, `async fn` or
/// not, as `src/` declares them) is called as `.NAME(` by the tests above: a new method comes with
/// its conformance check, or this fails.
#[test]
fn every_store_method_is_called() {
    let sources = [
        ("lib.rs", include_str!("../src/lib.rs")),
        ("issuance.rs", include_str!("../src/issuance.rs")),
        ("accounts.rs", include_str!("../src/accounts.rs")),
        ("orders.rs", include_str!("../src/orders.rs")),
        ("revocation.rs", include_str!("../src/revocation.rs")),
        ("audit.rs", include_str!("../src/audit.rs")),
        ("support.rs", include_str!("../src/support.rs")),
        ("signing.rs", include_str!("../src/signing.rs")),
        ("outbox.rs", include_str!("../src/outbox.rs")),
        ("operations.rs", include_str!("../src/operations.rs")),
    ];
    let this = include_str!("conformance.rs");
    // This file without this test (which ends at the first closing brace in column 0).
    let start = this
        .find("fn every_store_method_is_called()")
        .expect("this test");
    let end = start + this[start..].find("\n}\n").expect("the end of this test") + 3;
    let others = format!("{}{}", &this[..start], &this[end..]);

    let mut traits = Vec::new();
    let mut missing = Vec::new();
    for (file, source) in sources {
        // Each trait the file declares, and its body, its comments left out.
        for (at, _) in source.match_indices("\npub trait ") {
            let head = &source[at + "\npub trait ".len()..];
            let name = head
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .expect("a trait name");
            let body = head
                .lines()
                .map(str::trim)
                .filter(|l| !l.starts_with("//"))
                .take_while(|l| *l != "}")
                .collect::<Vec<_>>()
                .join("\n");
            let methods = body
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .windows(2)
                .filter(|w| w[0] == "fn")
                .map(|w| w[1].to_owned())
                .collect::<Vec<_>>();
            traits.push((file, name.to_owned(), methods.clone()));
            missing.extend(
                methods
                    .into_iter()
                    .filter(|m| !others.contains(&format!(".{m}(")))
                    .map(|m| format!("{name}::{m}")),
            );
        }
    }
    let methods_of = |name: &str| {
        traits
            .iter()
            .find(|(_, n, _)| n == name)
            .map(|(_, _, m)| m.clone())
            .unwrap_or_default()
    };
    assert!(
        methods_of("Store").iter().any(|m| m == "begin")
            && methods_of("Tx").iter().any(|m| m == "commit"),
        "the traits read from src/: {traits:?}"
    );
    // Every trait but `Reads` (every read, declared as the area traits it joins) has methods.
    for (file, name, methods) in &traits {
        assert!(
            !methods.is_empty() || name == "Reads",
            "{file}: trait {name} read without methods"
        );
    }
    assert!(
        traits.len() >= 17 && traits.iter().map(|(_, _, m)| m.len()).sum::<usize>() > 80,
        "the traits read from src/: {traits:?}"
    );
    assert!(
        missing.is_empty(),
        "methods no conformance check calls: {missing:?}"
    );
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "signet-store-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}
