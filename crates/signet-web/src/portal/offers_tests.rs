//! The pages offer exactly what the domain allows: for every order status × role × channel, the
//! order page and the vetting page are rendered from `order_actions` and their forms read back;
//! likewise the certificate page for every certificate status × role × channel.

use askama::Template;
use signet_app::actions::views;
use signet_app::certificates::CertificateSummary;
use signet_app::orders::OrderView;
use signet_domain::certificate::{
    CertificateAction, CertificateFacts, CertificateStatus, certificate_actions,
};
use signet_domain::config::Channel;
use signet_domain::guard::PICKUP_LOCK_AFTER;
use signet_domain::order::{OrderAction, OrderFacts, OrderStatus, order_actions};
use signet_domain::role::{Actor, Role};
use time::macros::datetime;

use super::offers::Offers;
use super::pages::{CertificatePage, Nav, OrderPage, SupportOrderPage, VettingOrderPage};

const NOW: time::OffsetDateTime = datetime!(2026-12-03 12:00 UTC);

fn nav() -> Nav {
    Nav {
        user: Some("someone@example.com".into()),
        csrf: "csrf".into(),
        staff: false,
        admin: false,
        support: false,
        alerts: vec![],
        officer: None,
    }
}

/// The actors of one cell: the owner (subscriber or placing agent), plus one of each staff role.
fn actors(channel: Channel) -> Vec<Actor> {
    let person = |account: i64, role: Role, region: Option<&str>| Actor {
        account,
        role,
        region: region.map(str::to_owned),
        email: format!("person{account}@example.net"),
    };
    let owner = match channel {
        Channel::SelfService => person(1, Role::Subscriber, None),
        Channel::Agent => person(1, Role::Agent, Some("DE")),
    };
    let mut all = vec![owner, person(5, Role::Agent, Some("DE"))];
    for (n, role) in [Role::Vetting, Role::Support, Role::Admin, Role::Auditor]
        .into_iter()
        .enumerate()
    {
        all.push(person(10 + n as i64, role, None));
    }
    all
}

fn order_view(facts: &OrderFacts, actor: &Actor) -> OrderView {
    OrderView {
        order_number: "SG-TEST".into(),
        status: facts.status.as_str().into(),
        product: "personal".into(),
        subject: serde_json::json!({"given_name": "Vera", "surname": "Łódź-Şahin"}),
        personal_data_masked: false,
        approval_email: "approver@example.com".into(),
        approval_email_confirmed: true,
        validity_months: 12,
        key_type: "p-256".into(),
        channel: facts.channel.as_str().into(),
        country: facts.country.clone(),
        attested: facts.attested_by.is_some(),
        certificate_serial: None,
        fingerprint: "0000".into(),
        created_at: "2026-12-01T00:00:00Z".into(),
        documents: vec![],
        history: vec![],
        actions: views(&order_actions(facts, actor, NOW), OrderAction::as_str),
    }
}

/// The actions a rendered page offers, read from its forms.
fn offered(html: &str) -> Vec<&'static str> {
    let forms = [
        ("/documents\"", "upload"),
        ("/answer\"", "supply_info"),
        ("/attestation\"", "attest"),
        ("/cancel\"", "cancel"),
        ("/reorder\"", "reorder"),
        ("value=\"approve\"", "approve"),
        ("value=\"request_info\"", "request_info"),
        ("value=\"reject\"", "reject"),
        ("/reissue\"", "reissue"),
        ("/renew\"", "renew"),
        ("/revoke\"", "revoke"),
        ("/resend-pickup-link\"", "resend_pickup_link"),
        ("/resend-confirmation\"", "resend_confirmation"),
        ("/expedite\"", "expedite"),
        ("/unlock-pickup\"", "unlock_pickup"),
    ];
    forms
        .into_iter()
        .filter(|(marker, _)| html.contains(marker))
        .map(|(_, action)| action)
        .collect()
}

fn allowed_among(offers: &Offers, shown: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = offers
        .allowed()
        .into_iter()
        .filter(|a| shown.contains(a))
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

fn sorted(v: Vec<&str>) -> Vec<String> {
    let mut v: Vec<String> = v.into_iter().map(str::to_owned).collect();
    v.sort();
    v
}

#[test]
fn order_pages_offer_exactly_what_the_domain_allows() {
    let owner_side = ["upload", "supply_info", "attest", "cancel", "reorder"];
    let decisions = ["approve", "request_info", "reject"];
    let support = [
        "resend_pickup_link",
        "resend_confirmation",
        "expedite",
        "unlock_pickup",
    ];
    let mut cells = 0;
    for channel in [Channel::SelfService, Channel::Agent] {
        for status in OrderStatus::ALL {
            for (attested, pickup_failures) in [
                (false, 0),
                (true, 0),
                (false, PICKUP_LOCK_AFTER),
                (true, PICKUP_LOCK_AFTER),
            ] {
                let facts = OrderFacts {
                    status,
                    placed_by: 1,
                    attested_by: attested.then_some(5),
                    channel,
                    country: "DE".into(),
                    approval_email_confirmed: true,
                    has_signed_agreement: true,
                    ready_since: Some(NOW - time::Duration::days(1)),
                    evidence_carried_over: false,
                    named_addresses: vec!["approver@example.com".into()],
                    pickup_failures,
                };
                for actor in actors(channel) {
                    let o = order_view(&facts, &actor);
                    let offers = Offers::new(&o.actions);
                    let page = OrderPage {
                        nav: nav(),
                        summary: vec![],
                        status_label: String::new(),
                        next_step: String::new(),
                        awaiting_documents: false,
                        refused: offers.refused_among(&owner_side),
                        offers: offers.clone(),
                        notice: None,
                        o: o.clone(),
                    }
                    .render()
                    .expect("order page renders");
                    assert_eq!(
                        sorted(offered(&page)),
                        allowed_among(&offers, &owner_side),
                        "order page, {channel:?} {status:?} attested={attested} for {actor:?}"
                    );
                    let page = VettingOrderPage {
                        nav: nav(),
                        summary: vec![],
                        refused: offers.refused_among(&decisions),
                        offers: offers.clone(),
                        notice: None,
                        error: None,
                        o: o.clone(),
                    }
                    .render()
                    .expect("vetting page renders");
                    assert_eq!(
                        sorted(offered(&page)),
                        allowed_among(&offers, &decisions),
                        "vetting page, {channel:?} {status:?} for {actor:?}"
                    );
                    let page = SupportOrderPage {
                        nav: nav(),
                        summary: vec![],
                        offers: offers.clone(),
                        notice: None,
                        error: None,
                        o,
                    }
                    .render()
                    .expect("support page renders");
                    let shown: Vec<&str> = offered(&page)
                        .into_iter()
                        .filter(|a| support.contains(a))
                        .collect();
                    assert_eq!(
                        sorted(shown),
                        allowed_among(&offers, &support),
                        "support page, {channel:?} {status:?} failures={pickup_failures} for {actor:?}"
                    );
                    cells += 1;
                }
            }
        }
    }
    assert_eq!(cells, 2 * 7 * 4 * 6);
}

#[test]
fn certificate_pages_offer_exactly_what_the_domain_allows() {
    let shown = ["reissue", "renew", "revoke"];
    for channel in [Channel::SelfService, Channel::Agent] {
        for status in CertificateStatus::ALL {
            let facts = CertificateFacts {
                owner: 1,
                channel,
                status,
            };
            for actor in actors(channel) {
                let actions = views(
                    &certificate_actions(&facts, &actor),
                    CertificateAction::as_str,
                );
                let offers = Offers::new(&actions);
                let page = CertificatePage {
                    nav: nav(),
                    c: CertificateSummary {
                        serial: "01".into(),
                        order_number: "SG-TEST".into(),
                        subject: "CN=Vera".into(),
                        status,
                        not_before: NOW,
                        not_after: NOW,
                        revoked_at: None,
                        revocation_reason: None,
                        actions: actions.clone(),
                    },
                    status_class: super::certificates::status_class(status),
                    refused: offers.refused_among(&shown),
                    offers: offers.clone(),
                    not_before: String::new(),
                    not_after: String::new(),
                    revoked_at: None,
                    notice: None,
                    error: None,
                }
                .render()
                .expect("certificate page renders");
                assert_eq!(
                    sorted(offered(&page)),
                    allowed_among(&offers, &shown),
                    "certificate page, {channel:?} {status:?} for {actor:?}"
                );
                // A refused action is explained, never silently missing.
                for (label, reason) in offers.refused_among(&shown) {
                    assert!(page.contains(&label) && !reason.is_empty(), "{label}");
                }
            }
        }
    }
}
