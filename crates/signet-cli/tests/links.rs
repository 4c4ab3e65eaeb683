//! The links in Signet's mails lead to pages that work in any browser without JavaScript: the GET
//! shows a form and uses nothing (mail scanners prefetch links), the POST does the work once.

mod common;

use std::process::Command;

use base64::Engine;
use common::*;
use reqwest::StatusCode;

#[test]
fn mailed_links_work_in_a_plain_browser() {
    let data = tempdir();
    let work = tempdir();
    let d = data.path();
    let server = ca_with_staff(d, &[("vetting", "vera@ca.example.com", None)]);
    let api = Api::new(&server);
    let page = |path: &str| {
        let res = api.client.get(server.url(path)).send().expect("GET");
        assert_eq!(res.headers()["referrer-policy"], "no-referrer");
        assert_eq!(res.headers()["cache-control"], "no-store");
        (res.status(), res.text().expect("html"))
    };
    let submit = |path: &str, form: &[(&str, &str)]| {
        let res = api
            .client
            .post(server.url(path))
            .form(form)
            .send()
            .expect("POST");
        (res.status(), res.text().expect("html"))
    };

    // Staff invitation → set password in the browser.
    let invite = link_in_mail(d, "vera@ca.example.com", "Your Signet staff account");
    let (status, html) = page(&invite);
    assert!(
        status == StatusCode::OK && html.contains("type=\"password\""),
        "{html}"
    );
    let (status, html) = submit(&invite, &[("password", STAFF_PASSWORD)]);
    assert_eq!(status, StatusCode::OK, "{html}");
    let vetting = api.log_in("vera@ca.example.com", STAFF_PASSWORD);

    // Sign-up confirmation: viewing the page twice uses nothing; pressing the button confirms once.
    let (status, _) = api.post("/api/v1/accounts", None, serde_json::json!({"email": "max@example.de", "password": "a long enough password", "name": "Max"}));
    assert_eq!(status, StatusCode::ACCEPTED);
    let confirm = link_in_mail(d, "max@example.de", "Confirm your Signet account");
    assert_eq!(page(&confirm).0, StatusCode::OK);
    assert_eq!(page(&confirm).0, StatusCode::OK);
    let (status, html) = submit(&confirm, &[]);
    assert!(
        status == StatusCode::OK && html.contains("max@example.de is confirmed"),
        "{html}"
    );
    let (status, html) = submit(&confirm, &[]);
    assert_eq!(status, StatusCode::GONE, "{html}");
    let max = api.log_in("max@example.de", "a long enough password");

    // Pickup in the browser: a form, then the PFX as a download and its password shown once.
    let number = api.order(&max, "max@example.de", "p-256");
    let token = api.to_pickup(d, &number, &max, &vetting, "max@example.de");
    let (status, html) = page(&format!("/pickup/{token}"));
    assert!(
        status == StatusCode::OK && html.contains("name=\"pickup_password\""),
        "{html}"
    );
    // The page offers every type the domain generates, and by default keeps the order's choice.
    for key in ["rsa-3072", "rsa-2048", "p-256", "p-384"] {
        assert!(html.contains(&format!("value=\"{key}\"")), "{key}: {html}");
    }
    assert!(html.contains("<option value=\"\" selected>The type chosen with the order"));
    let (status, html) = submit(
        &format!("/pickup/{token}"),
        &[
            ("pickup_password", "pickup-secret-42"),
            ("key_type", ""),
            ("compatibility", "legacy"),
            ("csr", ""),
        ],
    );
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Neither can be retrieved again"), "{html}");
    let b64 = html
        .split("data:application/x-pkcs12;base64,")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("download link");
    let password = html
        .split("<code id=\"pfx-password\">")
        .nth(1)
        .and_then(|r| r.split("</code>").next())
        .expect("password");
    let pfx = work.path().join("browser.p12");
    std::fs::write(
        &pfx,
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("base64"),
    )
    .expect("write");
    let info = ok(Command::new("openssl")
        .args(["pkcs12", "-info", "-noout", "-passin"])
        .arg(format!("pass:{password}"))
        .arg("-in")
        .arg(&pfx));
    assert!(
        text(&info.stderr).contains("TripleDES"),
        "legacy compatibility asked for 3DES: {}",
        text(&info.stderr)
    );
    // The order asked for P-256 and the page kept it.
    let pem = html
        .split("<pre>")
        .nth(1)
        .and_then(|r| r.split("</pre>").next())
        .expect("certificate PEM");
    let cert = work.path().join("browser.pem");
    std::fs::write(&cert, pem).expect("write");
    let described = ok(Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&cert));
    assert!(
        text(&described.stdout).contains("prime256v1"),
        "{}",
        text(&described.stdout)
    );
    let (status, _) = submit(
        &format!("/pickup/{token}"),
        &[("pickup_password", "pickup-secret-42")],
    );
    assert_eq!(status, StatusCode::GONE);
}
