//! CRLs judged by outside tools: sharded by serial with the shard URL in each certificate's CDP
//! and the matching issuingDistributionPoint in the shard's CRL; reissued at once after a
//! revocation; `openssl crl -verify` accepts each shard, `openssl verify -crl_check` rejects the
//! revoked certificate, pkilint's CRL linter reports nothing; CRL numbers only go up.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::*;

fn cdp_of(cert: &Path) -> String {
    let out = text(
        &ok(Command::new("openssl")
            .args(["x509", "-noout", "-ext", "crlDistributionPoints", "-in"])
            .arg(cert))
        .stdout,
    );
    out.lines()
        .find_map(|l| l.trim().strip_prefix("URI:"))
        .expect("CDP URI")
        .to_owned()
}

fn serial_of(cert: &Path) -> String {
    let out = text(
        &ok(Command::new("openssl")
            .args(["x509", "-noout", "-serial", "-in"])
            .arg(cert))
        .stdout,
    );
    out.trim().trim_start_matches("serial=").to_uppercase()
}

fn fetch_crl(server: &Server, url: &str, out: &Path) -> String {
    let path = url
        .strip_prefix(BASE_URL)
        .expect("CRL URL under the base URL");
    let res = reqwest::blocking::get(server.url(path)).expect("GET CRL");
    assert_eq!(res.status(), 200, "{url}");
    assert_eq!(res.headers()["content-type"], "application/pkix-crl");
    std::fs::write(out, res.bytes().expect("body")).expect("write");
    text(
        &ok(Command::new("openssl")
            .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
            .arg(out))
        .stdout,
    )
}

fn crl_number(text: &str) -> u64 {
    let after = text.split("X509v3 CRL Number:").nth(1).expect("CRL number");
    after
        .split_whitespace()
        .next()
        .expect("number")
        .parse()
        .expect("decimal")
}

#[test]
fn sharded_crls_verify_lint_and_list_revocations() {
    let data = tempdir();
    let work = tempdir();
    let (d, w) = (data.path(), work.path());
    ok(signet(d).args(["init", "--base-url", BASE_URL, "--crl-shards", "4"]));
    let server = Server::start(d, &[]);
    let chain = w.join("chain.pem");
    let pem = |n: &str| std::fs::read_to_string(d.join(format!("ca/{n}.pem"))).expect("ca");
    std::fs::write(&chain, pem("class3") + &pem("root")).expect("chain");

    // Issue until two shards are in use; the CDP names the shard.
    let id = identity(w, true);
    let request = csr(w, "k", KEYS[2].1);
    let mut by_shard: BTreeMap<String, Vec<std::path::PathBuf>> = BTreeMap::new();
    for i in 0..12 {
        let out = ok(&mut issue_cmd(d, "class3-auth", "12", &request, &id));
        let cert = w.join(format!("c{i}.pem"));
        std::fs::write(&cert, &out.stdout).expect("write");
        let url = cdp_of(&cert);
        assert!(
            url.starts_with(&format!("{BASE_URL}/crl/class3/")) && url.ends_with(".crl"),
            "{url}"
        );
        by_shard.entry(url).or_default().push(cert);
    }
    assert!(
        by_shard.len() >= 2,
        "12 certificates all in one of 4 shards: {by_shard:?}"
    );

    // Every shard is published, verifies and lints clean, with its IDP equal to the CDP.
    for url in by_shard.keys() {
        let file = w.join("shard.crl");
        let listing = fetch_crl(&server, url, &file);
        let verified = ok(Command::new("openssl")
            .args(["crl", "-inform", "DER", "-noout", "-verify", "-CAfile"])
            .arg(&chain)
            .arg("-in")
            .arg(&file));
        assert!(
            text(&verified.stderr).contains("verify OK"),
            "{}",
            text(&verified.stderr)
        );
        assert!(
            listing.contains(&format!("URI:{url}")),
            "IDP differs from the CDP {url}:\n{listing}"
        );
        assert!(listing.contains("Only User Certificates"), "{listing}");
        lint(
            "lint_crl",
            &["-t", "CRL", "-p", "BR", "--document-format", "DER"],
            &file,
        );
    }
    let root_crl = w.join("root.crl");
    fetch_crl(&server, &format!("{BASE_URL}/crl/root/0.crl"), &root_crl);
    lint(
        "lint_crl",
        &["-t", "ARL", "-p", "BR", "--document-format", "DER"],
        &root_crl,
    );

    // Revoke one certificate: its shard is reissued at once and lists it; the others do not.
    let (url, certs) = by_shard.iter().next().expect("a shard");
    let (revoked, good) = (
        &certs[0],
        by_shard
            .values()
            .flatten()
            .find(|c| *c != &certs[0])
            .expect("another certificate"),
    );
    let before = crl_number(&fetch_crl(&server, url, &w.join("before.crl")));
    ok(signet(d).args(["revoke", &serial_of(revoked), "--reason", "key_compromise"]));
    let shard_crl = w.join("after.crl");
    let listing = fetch_crl(&server, url, &shard_crl);
    assert!(
        crl_number(&listing) > before,
        "the CRL number did not increase"
    );
    assert!(listing.contains(&serial_of(revoked)), "{listing}");
    assert!(listing.contains("Key Compromise"), "{listing}");
    lint(
        "lint_crl",
        &["-t", "CRL", "-p", "BR", "--document-format", "DER"],
        &shard_crl,
    );
    for (other, _) in by_shard.iter().skip(1) {
        assert!(
            !fetch_crl(&server, other, &w.join("o.crl")).contains(&serial_of(revoked)),
            "{other} lists a certificate of another shard"
        );
    }

    // openssl verify with CRL checking rejects the revoked certificate and accepts the others.
    let crl_pem = w.join("crl.pem");
    ok(Command::new("openssl")
        .args(["crl", "-inform", "DER", "-in"])
        .arg(&shard_crl)
        .arg("-out")
        .arg(&crl_pem));
    let good_crl = w.join("good.crl");
    fetch_crl(&server, &cdp_of(good), &good_crl);
    let good_crl_pem = w.join("good-crl.pem");
    ok(Command::new("openssl")
        .args(["crl", "-inform", "DER", "-in"])
        .arg(&good_crl)
        .arg("-out")
        .arg(&good_crl_pem));
    let check = |cert: &Path, crl: &Path| {
        run(Command::new("openssl")
            .args(["verify", "-crl_check", "-CAfile"])
            .arg(d.join("ca/root.pem"))
            .arg("-untrusted")
            .arg(d.join("ca/class3.pem"))
            .arg("-CRLfile")
            .arg(crl)
            .arg(cert))
    };
    let out = check(revoked, &crl_pem);
    assert!(
        !out.status.success() && text(&out.stdout).contains("certificate revoked")
            || text(&out.stderr).contains("certificate revoked"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(check(good, &good_crl_pem).status.success());

    // The operator command reissues the root's CRL with a higher number.
    let before = crl_number(&fetch_crl(
        &server,
        &format!("{BASE_URL}/crl/root/0.crl"),
        &root_crl,
    ));
    let out = ok(signet(d).args(["crl", "--ca", "root"]));
    assert!(
        text(&out.stdout).contains("root shard 0"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        crl_number(&fetch_crl(
            &server,
            &format!("{BASE_URL}/crl/root/0.crl"),
            &root_crl
        )) > before
    );
    assert!(
        !run(signet(d).args(["crl", "--ca", "nope"]))
            .status
            .success()
    );
}
