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
