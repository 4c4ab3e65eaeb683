//! Backups taken while Signet serves, restored into a new directory (and a new PostgreSQL
//! database): the audit chain verifies, the same CRLs and OCSP answers are served, and the next
//! pickup works.

mod common;

use std::process::Command;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

fn crl_bytes(server: &Server) -> Vec<u8> {
    reqwest::blocking::get(server.url("/crl/class3/0.crl"))
        .expect("crl")
        .bytes()
        .expect("body")
        .to_vec()
}

fn with_db(cmd: &mut Command, url: Option<&str>) {
    if let Some(u) = url {
        cmd.args(["--database-url", u]);
    }
}

fn round_trip(tag: &str, source_db: Option<String>, target_db: Option<String>) {
    // Each test its own officer: the tests' authenticator app is shared.
    let vera = format!("vera-{tag}@ca.example.com");
    let data = tempdir();
    let d = data.path();
    let db = source_db.as_deref();
    let mut init = signet(d);
    with_db(&mut init, db);
    ok(init.args(["init", "--base-url", BASE_URL]));
    let mut add = signet(d);
    with_db(&mut add, db);
    ok(add.args(["user", "add", "--role", "vetting", "--email", &vera]));
    let server = match db {
        Some(u) => Server::start(d, &["--database-url", u]),
        None => Server::start(d, &[]),
    };
    let api = Api::new(&server);
    let vetting = api.staff_login(d, &vera);
    let max = api.subscriber(d, "max@example.de");
    // One certificate revoked, one valid, one order waiting for its pickup.
    let mut serials = Vec::new();
    for _ in 0..2 {
        let number = api.order(&max, "max@example.de", "p-256");
        let token = api.to_pickup(d, &number, &max, &vetting, "max@example.de");
        let (status, body) = api.post(
            &format!("/api/v1/pickups/{token}"),
            None,
            json!({"pickup_password": "pickup-secret-42"}),
        );
        assert_eq!(status, StatusCode::OK, "{body}");
        serials.push(body["serial"].as_str().expect("serial").to_owned());
    }
    let (status, _) = api.post(
        &format!("/api/v1/certificates/{}/revoke", serials[0]),
        Some(&max),
        json!({"reason": "key_compromise"}),
    );
    assert_eq!(status, StatusCode::OK);
    let waiting = api.order(&max, "max@example.de", "p-256");
    let waiting_token = api.to_pickup(d, &waiting, &max, &vetting, "max@example.de");

    // The backup is taken while the server serves.
    let archive = tempdir();
    let file = archive.path().join("signet-backup.tar.gz");
    let mut backup = signet(d);
    with_db(&mut backup, db);
    let out = ok(backup
        .args(["backup", "--include-secrets", "--to"])
        .arg(&file));
    assert!(
        text(&out.stdout).contains("secrets included"),
        "{}",
        text(&out.stdout)
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file)
            .expect("archive")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let crl_before = crl_bytes(&server);
    let states: Vec<String> = serials.iter().map(|s| ocsp_status(&server, d, s)).collect();
    assert_eq!(states, ["revoked", "good"]);
    drop(server);

    // Restored elsewhere: a new directory and, for PostgreSQL, a new database.
    let restored = tempdir();
    let r = restored.path();
    let rdb = target_db.as_deref();
    let mut restore = signet(r);
    with_db(&mut restore, rdb);
    let out = ok(restore.args(["restore", "--from"]).arg(&file));
    assert!(
        text(&out.stdout).contains("audit log intact"),
        "{}",
        text(&out.stdout)
    );
    // A second restore into the same place is refused, changing nothing.
    let mut again = signet(r);
    with_db(&mut again, rdb);
    let out = run(again.args(["restore", "--from"]).arg(&file));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("already") || text(&out.stderr).contains("not empty"),
        "{}",
        text(&out.stderr)
    );
    let mut verify = signet(r);
    with_db(&mut verify, rdb);
    assert!(text(&ok(verify.args(["audit", "verify"])).stdout).contains("chain verified"));
    let server = match rdb {
        Some(u) => Server::start(r, &["--database-url", u]),
        None => Server::start(r, &[]),
    };
    assert_eq!(crl_bytes(&server), crl_before, "the same CRL is served");
    let after: Vec<String> = serials.iter().map(|s| ocsp_status(&server, r, s)).collect();
    assert_eq!(after, states, "the same OCSP answers");
    let (status, body) = Api::new(&server).post(
        &format!("/api/v1/pickups/{waiting_token}"),
        None,
        json!({"pickup_password": "pickup-secret-42"}),
    );
    assert_eq!(status, StatusCode::OK, "the next pickup works: {body}");
    // Staff log in as before (their second factor came along).
    Api::new(&server).log_in(&vera, STAFF_PASSWORD);

    // Not a backup: refused with the reason, nothing written.
    let junk = archive.path().join("junk.tar.gz");
    std::fs::write(&junk, b"not an archive").expect("junk");
    let empty = tempdir();
    let out = run(signet(empty.path()).args(["restore", "--from"]).arg(&junk));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not a Signet backup") || text(&out.stderr).contains("damaged"),
        "{}",
        text(&out.stderr)
    );
    assert!(!empty.path().join("signet.toml").exists());
}

#[test]
fn backup_and_restore_on_sqlite() {
    round_trip("sqlite", None, None);
}

#[test]
fn backup_and_restore_on_postgresql() {
    round_trip(
        "postgres",
        Some(postgres_database("backup_src")),
        Some(postgres_database("backup_dst")),
    );
}
