//! The portal in a real browser: `tests/browser/portal.mjs` drives headless Chromium (Playwright)
//! against `signet serve`, reading mail from the outbox. Screenshots of every main page land in
//! `target/screenshots/` (`scripts/screenshots` copies them to `docs/screenshots/`).
//! The PFX picked up in the browser is imported with NSS pk12util.
//! Needs Node, `npm ci` in tests/browser and Chromium at /usr/bin/chromium (`scripts/test`
//! installs them).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;
use serde_json::{Value, json};

#[test]
fn subscriber_journey_in_chromium() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let browser_tests = root.join("tests/browser");
    assert!(
        browser_tests.join("node_modules/playwright-core").is_dir(),
        "run `npm ci --prefix tests/browser` first (scripts/test does)"
    );
    let data = tempdir();
    let d = data.path();
    let work = tempdir();
    let server = ca_with_staff(
        d,
        &[
            ("vetting", "vera@ca.example.com", None),
            ("agent", "kbo@agent.example.nl", Some("NL")),
        ],
    );
    let pfx = work.path().join("picked-up.p12");
    let shots = root.join("target/screenshots");
    let out = run(Command::new("node")
        .arg(browser_tests.join("portal.mjs"))
        .env("SIGNET_URL", server.url(""))
        .env("SIGNET_BASE_URL", BASE_URL)
        .env("SIGNET_OUTBOX", d.join("outbox"))
        .env("SCREENSHOTS", &shots)
        .env("PFX_OUT", &pfx));
    assert!(
        out.status.success(),
        "browser journey failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // The PFX the browser downloaded imports into NSS with the password the page showed once,
    // and opens with openssl.
    let password = std::fs::read_to_string(pfx.with_extension("p12.password")).expect("password");
    let listing = nss_import(&pfx, password.trim(), work.path());
    assert!(
        listing.contains("u,u,u"),
        "the certificate with its key: {listing}"
    );
    ok(Command::new("openssl")
        .args(["pkcs12", "-info", "-noout", "-passin"])
        .arg(format!("pass:{}", password.trim()))
        .arg("-in")
        .arg(&pfx));
    for page in [
        "home",
        "signup",
        "account",
        "help",
        "home-phone",
        "login-refused",
    ] {
        assert!(
            shots.join(format!("{page}.png")).is_file(),
            "no screenshot of {page}"
        );
    }
}

/// Issue 15, items 1 and 2: the pickup page makes the key pair in Chromium, sends only a CSR
/// and the pickup password, and builds the PFX itself, modern and legacy. Both files import
/// with pk12util and open with openssl, hold the certificate's key, and no byte of that key
/// is in any request the page sent, nor anywhere in the data directory or the database.
#[test]
fn keys_made_in_the_browser_never_leave_it() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = tempdir();
    let d = data.path();
    let work = tempdir();
    let server = ca_with_staff(d, &[("vetting", "vera@ca.example.com", None)]);
    let api = Api::new(&server);
    let subscriber = api.subscriber(d, "max@example.de");
    let vetting = api.staff_login(d, "vera@ca.example.com");
    // The first order chose "made in my browser"; the second a server-made RSA key, which the
    // subscriber makes in the browser all the same.
    let cases = [
        ("browser", "p-256", "modern"),
        ("rsa-2048", "rsa-2048", "legacy"),
    ];
    let pickups: Vec<Value> = cases
        .iter()
        .map(|(ordered, key_type, compatibility)| {
            let number = api.order(&subscriber, "max@example.de", ordered);
            let link = api.to_pickup(d, &number, &subscriber, &vetting, "max@example.de");
            let (token, fragment) = link.split_once('#').unwrap_or((link.as_str(), ""));
            assert_eq!(
                fragment,
                if *ordered == "browser" {
                    "in-browser"
                } else {
                    ""
                }
            );
            if *ordered == "browser" {
                // Signet does not make this key: a pickup without a CSR is refused, and says how.
                let (status, body) =
                    api.pick_up(token, json!({"pickup_password": "pickup-secret-42"}));
                assert_eq!(status.as_u16(), 422, "{body}");
                assert!(body.to_string().contains("made in your browser"), "{body}");
                // The refusal is audited; the link still works (the browser pickup below uses it).
                assert!(
                    audit_log(d).iter().any(|e| e.action == "pickup.refused"
                        && e.detail.contains("made in your browser")),
                    "the refusal is not audited"
                );
            }
            json!({
                "link": link, "token": token, "key_type": key_type, "compatibility": compatibility,
                "preset": *ordered == "browser",
                "out": work.path().join(format!("{key_type}-{compatibility}.p12")),
            })
        })
        .collect();
    let out = run(Command::new("node")
        .arg(root.join("tests/browser/browser_keys.mjs"))
        .env("SIGNET_URL", server.url(""))
        .env("PICKUPS", Value::from(pickups.clone()).to_string())
        .env("PICKUP_PASSWORD", "pickup-secret-42"));
    assert!(
        out.status.success(),
        "browser pickup failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    let stored = snapshot_with_database(d);
    for p in &pickups {
        let pfx = PathBuf::from(p["out"].as_str().expect("out"));
        let password = std::fs::read_to_string(pfx.with_extension("p12.password")).expect("pw");
        let report: Value =
            serde_json::from_slice(&std::fs::read(pfx.with_extension("p12.json")).expect("json"))
                .expect("report");
        let nss = work.path().join(format!("nss-{}", p["key_type"]));
        std::fs::create_dir_all(&nss).expect("dir");
        assert!(
            nss_import(&pfx, &password, &nss).contains("u,u,u"),
            "the certificate with its key"
        );
        let info = ok(Command::new("openssl")
            .args(["pkcs12", "-info", "-nodes", "-passin"])
            .arg(format!("pass:{password}"))
            .arg("-in")
            .arg(&pfx));
        let shown = format!("{}{}", text(&info.stdout), text(&info.stderr));
        let expected = if p["compatibility"] == "legacy" {
            "pbeWithSHA1And3-KeyTripleDES-CBC"
        } else {
            "PBES2, PBKDF2, AES-256-CBC"
        };
        assert!(shown.contains(expected), "{expected} not in {shown}");
        assert!(
            shown.contains("friendlyName: Max Muster (Signet)"),
            "{shown}"
        );

        // The PFX's key is the certificate's, and the certificate is the one Signet recorded.
        let key_pem = work.path().join("key.pem");
        let cert_pem = work.path().join("cert.pem");
        for (flag, path) in [("-nocerts", &key_pem), ("-clcerts", &cert_pem)] {
            ok(Command::new("openssl")
                .args(["pkcs12", flag, "-nodes", "-passin"])
                .arg(format!("pass:{password}"))
                .arg("-in")
                .arg(&pfx)
                .arg("-out")
                .arg(path));
        }
        let key_public = ok(Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&key_pem));
        let cert_public = ok(Command::new("openssl")
            .args(["x509", "-noout", "-pubkey", "-in"])
            .arg(&cert_pem));
        assert_eq!(key_public.stdout, cert_public.stdout);
        let serial = ok(Command::new("openssl")
            .args(["x509", "-noout", "-serial", "-in"])
            .arg(&cert_pem));
        assert_eq!(
            text(&serial.stdout).trim().trim_start_matches("serial="),
            report["serial"].as_str().expect("serial")
        );

        // Private key material, in every form it could travel or be stored in.
        let der = ok(Command::new("openssl")
            .args(["pkey", "-outform", "DER", "-in"])
            .arg(&key_pem))
        .stdout;
        // Where the secret is: a P-256 key's private scalar (the 32 octets after `04 20`; the
        // public point after it is in the CSR too), or, past an RSA key's modulus and public
        // exponent, the middle of its private fields.
        let secret_at = match der.windows(2).position(|w| w == [0x04, 0x20]) {
            Some(at) if p["key_type"] == "p-256" => at + 2,
            _ => der.len() / 2,
        };
        let secret = der[secret_at..secret_at + 32].to_vec();
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        // Whatever holds the secret (PKCS#8, SEC1, PKCS#1, PEM), one of its first three octets
        // starts a base64 quantum, from which 24 octets encode to the same 32 characters inside
        // any base64 of the container: one of these three is in it.
        let b64: Vec<String> = (0..3)
            .map(|a| {
                base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    &secret[a..a + 24],
                )
            })
            .collect();
        let requests = report["requests"].as_array().expect("requests");
        for r in requests {
            let sent = format!("{} {}", r["url"], r["body"])
                .replace("\\n", "")
                .replace(['\n', '\r', ' '], "");
            assert!(
                !sent.to_lowercase().contains(&hex) && !b64.iter().any(|b| sent.contains(b)),
                "key material in a request: {sent}"
            );
        }
        // The only request with a body: the pickup, with the password and a CSR, nothing else.
        let posts: Vec<_> = requests.iter().filter(|r| r["method"] != "GET").collect();
        assert_eq!(posts.len(), 1, "{posts:?}");
        assert!(posts[0]["url"].as_str().expect("url").ends_with(&format!(
            "/api/v1/pickups/{}",
            p["token"].as_str().expect("t")
        )));
        let body: Value =
            serde_json::from_str(posts[0]["body"].as_str().expect("body")).expect("json body");
        let mut fields: Vec<_> = body.as_object().expect("object").keys().collect();
        fields.sort();
        assert_eq!(fields, ["csr", "pickup_password"]);
        let csr_path = work.path().join("sent.csr");
        std::fs::write(&csr_path, body["csr"].as_str().expect("csr")).expect("write");
        let csr_public = ok(Command::new("openssl")
            .args(["req", "-noout", "-pubkey", "-verify", "-in"])
            .arg(&csr_path));
        assert_eq!(csr_public.stdout, cert_public.stdout);
        for (path, bytes) in &stored {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_slice()),
                "the private key is in {}",
                path.display()
            );
        }
        eprintln!(
            "{} key generated in Chromium in {} ms",
            p["key_type"], report["keyMillis"]
        );
    }
}

/// Issue 15, item 3 in Chromium: officer.js keeps the officer's key non-extractable in the
/// browser, enrols it and signs the portal approval, whose evidence openssl accepts; the
/// officer's second browser gets a key that waits for an administrator, and its unsigned
/// decision is refused until one approves it. The private key is in no request.
#[test]
fn an_officers_key_stays_in_the_browser_and_signs_the_decision() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = tempdir();
    let d = data.path();
    let work = tempdir();
    let server = ca_with_staff(
        d,
        &[
            ("vetting", "vesna@ca.example.com", None),
            ("admin", "adele@ca.example.com", None),
        ],
    );
    let api = Api::new(&server);
    let vera = api.staff_login(d, "vesna@ca.example.com");
    let ada = api.staff_login(d, "adele@ca.example.com");
    let orders: Vec<String> = ["moritz@example.de", "mia@example.de"]
        .iter()
        .map(|email| {
            let owner = api.subscriber(d, email);
            let number = api.order(&owner, email, "p-256");
            let (status, body) = api.upload(&number, &owner, "signed_agreement", PDF);
            assert_eq!(status.as_u16(), 201, "{body}");
            api.confirm_approval(d, &number, email);
            number
        })
        .collect();
    let report_file = work.path().join("officer.json");
    let out = run(Command::new("node")
        .arg(root.join("tests/browser/officer_keys.mjs"))
        .env("SIGNET_URL", server.url(""))
        .env("SESSION", &vera)
        .env("ADMIN_SESSION", &ada)
        .env("FIRST", &orders[0])
        .env("SECOND", &orders[1])
        .env("OUT", &report_file));
    assert!(
        out.status.success(),
        "the officer's browser failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(&report_file).expect("report")).expect("json");

    // Nothing the page sent holds private key material: the CSR carries the public key only.
    for request in report["firstRequests"].as_array().expect("requests") {
        let body = request["body"].as_str().unwrap_or_default();
        assert!(
            !body.contains("PRIVATE") && !body.contains("\"d\""),
            "{request}"
        );
    }
    // The approval's evidence: CMS that openssl verifies against the root, over the statement
    // the browser signed.
    let (status, decisions) = api.get(&format!("/api/v1/orders/{}/decisions", orders[0]), &vera);
    assert_eq!(status.as_u16(), 200, "{decisions}");
    assert_eq!(decisions.as_array().map(Vec::len), Some(1), "{decisions}");
    assert_eq!(
        openssl_verified_decision(d, work.path(), decisions[0]["cms"].as_str().expect("cms")),
        report["statement"].as_str().expect("statement")
    );
    assert!(
        audit_log(d)
            .iter()
            .any(|e| e.action == "order.decision_signature.refused")
    );

    // The second browser's key, approved on the administration page, signed the second order.
    let id = report["pendingKey"].as_i64().expect("pending key");
    let (status, keys) = api.get("/api/v1/staff/signing-keys", &ada);
    assert_eq!(status.as_u16(), 200);
    let state = |id: i64| {
        keys.as_array()
            .expect("keys")
            .iter()
            .find(|k| k["id"] == id)
            .map(|k| k["state"].clone())
    };
    assert_eq!(state(id), Some(json!("active")), "{keys}");
    // The first browser's key, replaced, was offered again and waits.
    let reoffered = report["reofferedKey"].as_i64().expect("re-offered key");
    assert_eq!(state(reoffered), Some(json!("pending")), "{keys}");
    let (_, decisions) = api.get(&format!("/api/v1/orders/{}/decisions", orders[1]), &vera);
    assert_eq!(decisions.as_array().map(Vec::len), Some(1), "{decisions}");
    assert!(
        audit_log(d)
            .iter()
            .any(|e| e.action == "staff.signing_key_approved")
    );
    let audit = ok(signet(d).args(["audit", "verify", "--decisions"]));
    assert!(
        text(&audit.stdout).contains("2 checked"),
        "{}",
        text(&audit.stdout)
    );
}
