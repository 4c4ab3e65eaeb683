//! People, not accounts, over HTTP: one account per address whatever its case; a vetting officer
//! whose own address an order names cannot decide it, even from another account; names with
//! invisible direction or zero-width characters are refused; support reads personal data masked
//! in the API as in the portal until an audited reveal; every order answer carries the actions
//! the domain allows.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn order_body(given: &str, surname: &str, email: &str, approver: &str) -> Value {
    json!({
        "product": "personal-3-pro",
        "subject": {"given_name": given, "surname": surname, "email": email, "organization": "Muster GmbH", "country": "DE"},
        "approval_email": approver,
        "pickup_password": "pickup-secret-42",
        "validity_months": 24,
        "key_type": "p-256",
    })
}

fn allowed(order: &Value) -> Vec<String> {
    order["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter(|a| a["allowed"] == true)
        .map(|a| a["action"].as_str().expect("name").to_owned())
        .collect()
}

#[test]
fn people_are_told_apart_by_who_they_are() {
    let data = tempdir();
    let d = data.path();
    let server = ca_with_staff(
        d,
        &[
            ("vetting", "nora@ca.example.com", None),
            ("vetting", "otto@ca.example.com", None),
            ("support", "sam@ca.example.com", None),
        ],
    );
    let api = Api::new(&server);
    let nora = api.staff_login(d, "nora@ca.example.com");
    let otto = api.staff_login(d, "otto@ca.example.com");
    let sam = api.staff_login(d, "sam@ca.example.com");

    // One account per address: the second sign-up in other case is the same address.
    let vera = api.subscriber(d, "vera@example.com");
    let (status, _) = api.post(
        "/api/v1/accounts",
        None,
        json!({"email": "VERA@EXAMPLE.com", "password": "another long password", "name": "Vera"}),
    );
    assert_eq!(status, StatusCode::ACCEPTED);
    let notices: Vec<_> = mails(d)
        .into_iter()
        .filter(|(to, subject, _)| to == "vera@example.com" && subject == "Signet sign-up attempt")
        .collect();
    assert_eq!(
        notices.len(),
        1,
        "the existing account is told, no second one made"
    );
    // And the address logs in whatever its case.
    api.log_in("Vera@Example.COM", "a long enough password");

    // Names that would print differently from what they say are refused, with the reason.
    for hostile in ["Muster\u{202E}reT", "Mu\u{200B}ster", "\u{FEFF}Muster"] {
        let (status, body) = api.post(
            "/api/v1/orders",
            Some(&vera),
            order_body("Vera", hostile, "vera@example.com", "vera@example.com"),
        );
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{hostile:?}: {body}"
        );
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("invisible formatting")),
            "{body}"
        );
    }
    // A decomposed name is stored composed (NFC), as the certificate will carry it.
    let number = api.place(
        &vera,
        order_body(
            "Vera",
            "Mu\u{0308}ller",
            "vera@example.com",
            "nora@ca.example.com",
        ),
    );
    let (_, order) = api.get(&format!("/api/v1/orders/{number}"), &vera);
    assert_eq!(order["subject"]["surname"], "Müller", "{order}");
    assert_eq!(order["personal_data_masked"], false);
    assert!(allowed(&order).contains(&"cancel".to_owned()), "{order}");
    assert!(!allowed(&order).contains(&"approve".to_owned()), "{order}");

    // The order names Nora's own staff address as its approver: she cannot decide it; Otto can.
    let (status, body) = api.upload(&number, &vera, "signed_agreement", PDF);
    assert_eq!(status, StatusCode::CREATED, "{body}");
    api.confirm_approval(d, &number, "nora@ca.example.com");
    let (_, seen_by_nora) = api.get(&format!("/api/v1/orders/{number}"), &nora);
    assert!(!allowed(&seen_by_nora).contains(&"approve".to_owned()));
    let refusal = seen_by_nora["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["action"] == "approve")
        .expect("approve is listed")["refusal"]
        .clone();
    assert!(
        refusal
            .as_str()
            .is_some_and(|r| r.contains("names your own e-mail")),
        "{refusal}"
    );
    let (status, body) = api.post(
        &format!("/api/v1/orders/{number}/decision"),
        Some(&nora),
        json!({"action": "approve"}),
    );
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, seen_by_otto) = api.get(&format!("/api/v1/orders/{number}"), &otto);
    assert!(
        allowed(&seen_by_otto).contains(&"approve".to_owned()),
        "{seen_by_otto}"
    );

    // Support re-sends links, as the domain allows: not a pickup link before approval…
    let resend = |what: &str, number: &str, token: &str| {
        api.post(
            &format!("/api/v1/orders/{number}/{what}"),
            Some(token),
            json!({}),
        )
        .0
    };
    assert_eq!(resend("pickup-link", &number, &sam), StatusCode::CONFLICT);
    // …no confirmation for an address that is confirmed; for a new order, yes, by support only.
    assert_eq!(
        resend("confirmation-link", &number, &sam),
        StatusCode::CONFLICT
    );
    let second = api.place(
        &vera,
        order_body("Vera", "Müller", "vera@example.com", "vera@example.com"),
    );
    assert_eq!(
        resend("confirmation-link", &second, &sam),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        resend("confirmation-link", &second, &vera),
        StatusCode::FORBIDDEN
    );
    // Mail leaves through the outbox after the commit: give the second a moment to arrive.
    let subject = format!("approval e-mail address for order {second}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let confirmations = loop {
        let n = mails(d)
            .into_iter()
            .filter(|(_, s, _)| s.contains(&subject))
            .count();
        if n >= 2 || std::time::Instant::now() > deadline {
            break n;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(confirmations, 2, "the original and the re-sent one");
    // Once approved, a new pickup link replaces the old one.
    let (status, body) = api.post(
        &format!("/api/v1/orders/{number}/decision"),
        Some(&otto),
        json!({"action": "approve"}),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let ready = format!("Your certificate is ready: order {number}");
    let first_link = link_in_mail(d, "vera@example.com", &ready);
    assert_eq!(resend("pickup-link", &number, &sam), StatusCode::NO_CONTENT);
    let old_token = first_link.rsplit('/').next().expect("token");
    let (status, _) = api.post(
        &format!("/api/v1/pickups/{old_token}"),
        None,
        json!({"pickup_password": "pickup-secret-42"}),
    );
    assert_eq!(
        status,
        StatusCode::GONE,
        "the earlier pickup link no longer works"
    );

    // Support reads the order masked, in the API as in the portal; the reveal is audited.
    let (status, masked) = api.get(&format!("/api/v1/orders/{number}"), &sam);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(masked["personal_data_masked"], true, "{masked}");
    assert_eq!(masked["subject"]["surname"], "M•••", "{masked}");
    assert_eq!(masked["subject"]["email"], "v•••@example.com", "{masked}");
    assert_eq!(masked["subject"]["organization"], "Muster GmbH");
    assert!(!masked.to_string().contains("Müller"), "{masked}");
    let (status, revealed) = api.post(
        &format!("/api/v1/orders/{number}/personal-data"),
        Some(&sam),
        json!({}),
    );
    assert_eq!(status, StatusCode::OK, "{revealed}");
    assert_eq!(revealed["subject"]["surname"], "Müller");
    // Neither the subscriber nor a vetting officer "reveals": they see it already, or may not.
    let (status, _) = api.post(
        &format!("/api/v1/orders/{number}/personal-data"),
        Some(&vera),
        json!({}),
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    let actions: Vec<String> = audit_log(d).into_iter().map(|e| e.action).collect();
    assert!(actions.iter().any(|a| a == "order.personal_data_revealed"));
    assert!(
        actions
            .iter()
            .any(|a| a == "order.personal_data_reveal.refused")
    );
    ok(signet(d).args(["audit", "verify"]));
}
