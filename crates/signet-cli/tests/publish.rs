//! Publication to object storage: CRLs and pre-signed OCSP responses uploaded to a real
//! S3-compatible server (moto's server mode, pinned in tests/publish/requirements.txt), fetched
//! back and checked with openssl, served by nginx from the bucket at the URLs clients use, and
//! Boulder's checks: an older CRL never replaces a newer one, an object that is not this CA's
//! CRL is replaced, and two uploaders at once leave one valid object.

mod common;
mod servers;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use common::*;
use servers::{Process, nginx, serve};

const BUCKET: &str = "signet-public";

/// moto's server (scripts/test installs it and says where in `MOTO_SERVER`).
fn moto_server() -> String {
    std::env::var("MOTO_SERVER").unwrap_or_else(|_| {
        workspace()
            .join(".tools/moto-venv/bin/moto_server")
            .display()
            .to_string()
    })
}

/// moto's S3 server on `port`, with the bucket made and readable by anyone.
fn s3_server(port: u16) -> Process {
    let process = serve(
        "moto S3 server",
        Command::new(moto_server()).args(["-H", "127.0.0.1", "-p", &port.to_string()]),
        port,
    );
    let made = reqwest::blocking::Client::new()
        .put(format!("http://127.0.0.1:{port}/{BUCKET}"))
        .send()
        .expect("create the bucket");
    assert!(made.status().is_success(), "{:?}", made.text());
    // Anyone may read (what a CDN or nginx in front needs); only Signet's credentials write.
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{BUCKET}/*"}}]}}"#
    );
    let set = reqwest::blocking::Client::new()
        .put(format!("http://127.0.0.1:{port}/{BUCKET}?policy"))
        .body(policy)
        .send()
        .expect("bucket policy");
    assert!(set.status().is_success(), "{:?}", set.text());
    process
}

fn workspace() -> PathBuf {
    servers::workspace()
}

/// `signet` for the data directory, with the bucket's credentials in the environment.
fn signet_s3(d: &Path) -> Command {
    let mut cmd = signet(d);
    cmd.env("AWS_ACCESS_KEY_ID", "signet-test")
        .env("AWS_SECRET_ACCESS_KEY", "signet-test-secret");
    cmd
}

/// The object at `key` in the bucket, through `base` (the S3 server or nginx before it).
fn fetch(base: &str, key: &str) -> Option<Vec<u8>> {
    let res = reqwest::blocking::get(format!("{base}/{key}")).expect("GET");
    res.status()
        .is_success()
        .then(|| res.bytes().expect("body").to_vec())
}

/// Writes `bytes` at `key` with credentials (boto3, from moto's environment), as someone with
/// write access to the bucket other than Signet would.
fn put(port: u16, key: &str, bytes: &[u8]) {
    let python = Path::new(&moto_server()).with_file_name("python");
    let mut child = Command::new(python)
        .args([
            "-c",
            "import boto3, sys\n\
             s3 = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id='x', aws_secret_access_key='y', region_name='us-east-1')\n\
             s3.put_object(Bucket=sys.argv[2], Key=sys.argv[3], Body=sys.stdin.buffer.read())",
            &format!("http://127.0.0.1:{port}"),
            BUCKET,
            key,
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("python");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("write");
    assert!(child.wait().expect("wait").success());
}

/// The CRL's number, verified against the class 3 CA by openssl; and its text.
fn checked_crl(d: &Path, work: &Path, der: &[u8]) -> (u64, String) {
    let path = work.join("fetched.crl");
    std::fs::write(&path, der).expect("write");
    let out = ok(Command::new("openssl")
        .args([
            "crl",
            "-inform",
            "DER",
            "-noout",
            "-text",
            "-crlnumber",
            "-CAfile",
        ])
        .arg(d.join("ca/class3.pem"))
        .arg("-in")
        .arg(&path));
    let said = text(&out.stderr) + &text(&out.stdout);
    assert!(said.contains("verify OK"), "{said}");
    let number = said
        .lines()
        .find_map(|l| l.strip_prefix("crlNumber=0x"))
        .expect("crlNumber");
    (
        u64::from_str_radix(number.trim(), 16).expect("hex"),
        said.replace(':', ""),
    )
}

/// The RFC 5019 GET path of the class 3 OCSP request for `cert`, as openssl builds it.
fn ocsp_key(d: &Path, work: &Path, cert: &Path) -> String {
    let req = work.join("req.der");
    ok(Command::new("openssl")
        .args(["ocsp", "-no_nonce", "-issuer"])
        .arg(d.join("ca/class3.pem"))
        .arg("-cert")
        .arg(cert)
        .arg("-reqout")
        .arg(&req));
    let b64 = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&req).expect("req"));
    format!("ocsp/{b64}")
}

/// A class 3 certificate for a new P-256 key, issued by `signet issue` in `d` (with the
/// bucket's credentials): its PEM file in `w` and its serial.
fn issue_leaf(d: &Path, w: &Path, name: &str) -> (PathBuf, String) {
    let request = csr(
        w,
        name,
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    let subject = identity(w, false);
    let mut issue = issue_cmd(d, "class3-auth", "12", &request, &subject);
    let out = ok(issue
        .env("AWS_ACCESS_KEY_ID", "signet-test")
        .env("AWS_SECRET_ACCESS_KEY", "signet-test-secret"));
    let cert = w.join(format!("{name}.pem"));
    std::fs::write(&cert, &out.stdout).expect("cert");
    let serial = serial_of(&cert);
    (cert, serial)
}

/// The certificate's serial, as openssl prints it (upper-case hex).
fn serial_of(cert: &Path) -> String {
    text(
        &ok(Command::new("openssl")
            .args(["x509", "-noout", "-serial", "-in"])
            .arg(cert))
        .stdout,
    )
    .trim()
    .trim_start_matches("serial=")
    .to_owned()
}

/// `openssl ocsp` reading a fetched response for `cert`: good, revoked or unknown.
fn ocsp_says(d: &Path, work: &Path, cert: &Path, der: &[u8]) -> String {
    let resp = work.join("resp.der");
    std::fs::write(&resp, der).expect("write");
    let out = ok(Command::new("openssl")
        .args(["ocsp", "-respin"])
        .arg(&resp)
        .arg("-issuer")
        .arg(d.join("ca/class3.pem"))
        .arg("-cert")
        .arg(cert)
        .arg("-CAfile")
        .arg(d.join("ca/root.pem"))
        .arg("-VAfile")
        .arg(d.join("ca/class3-ocsp.pem")));
    let said = text(&out.stdout) + &text(&out.stderr);
    assert!(said.contains("Response verify OK"), "{said}");
    ["good", "revoked", "unknown"]
        .into_iter()
        .find(|s| said.contains(&format!(": {s}")))
        .unwrap_or("none")
        .to_owned()
}

/// A key as a URL path: `+` and `=` percent-encoded, `/` kept, repeated slashes merged (as
/// nginx merges them, and Signet's keys do).
fn url_path(key: &str) -> String {
    let mut path = key.replace('+', "%2B").replace('=', "%3D");
    while path.contains("//") {
        path = path.replace("//", "/");
    }
    path
}

#[test]
fn crls_and_ocsp_responses_reach_the_bucket_checked_and_nginx_serves_them() {
    let work = tempdir();
    let w = work.path();
    let d = w.join("data");
    let port = free_port();
    let _s3 = s3_server(port);
    let s3 = format!("http://127.0.0.1:{port}/{BUCKET}");
    ok(signet_s3(&d).args(["init", "--base-url", BASE_URL]));
    let mut config = std::fs::read_to_string(d.join("signet.toml")).expect("config");
    config.push_str(&format!(
        "\n[publish]\ns3_bucket = \"{BUCKET}\"\ns3_endpoint = \"http://127.0.0.1:{port}\"\n"
    ));
    std::fs::write(d.join("signet.toml"), config).expect("config");

    // Without credentials nothing is uploaded, and `signet publish` says what is missing.
    let refused = run(signet(&d)
        .arg("publish")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY"));
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("AWS_ACCESS_KEY_ID"),
        "{}",
        text(&refused.stderr)
    );

    // A new bucket gets every shard's CRL.
    let out = ok(signet_s3(&d).arg("publish"));
    assert!(
        text(&out.stdout).contains("published: 4 CRLs, 0 OCSP"),
        "{}",
        text(&out.stdout)
    );
    let (first, _) = checked_crl(&d, w, &fetch(&s3, "crl/class3/0.crl").expect("class 3 CRL"));
    assert!(fetch(&s3, "crl/root/0.crl").is_some(), "the root's CRL");

    // An issued certificate's response is uploaded as it is signed, under the path openssl asks.
    let (cert, serial) = issue_leaf(&d, w, "leaf");
    let key = ocsp_key(&d, w, &cert);
    let out = ok(signet_s3(&d).arg("publish"));
    assert!(
        text(&out.stdout).contains("1 OCSP"),
        "{}",
        text(&out.stdout)
    );
    let good = fetch(&s3, &url_path(&key)).expect("the response in the bucket");
    assert_eq!(ocsp_says(&d, w, &cert, &good), "good");

    // A revocation uploads the new CRL and the revoked response at once.
    ok(signet_s3(&d).args(["revoke", &serial, "--reason", "key_compromise"]));
    let (second, listing) =
        checked_crl(&d, w, &fetch(&s3, "crl/class3/0.crl").expect("class 3 CRL"));
    assert!(second > first, "{second} > {first}");
    assert!(listing.contains(&serial), "{listing}");
    let revoked = fetch(&s3, &url_path(&key)).expect("response");
    assert_eq!(ocsp_says(&d, w, &cert, &revoked), "revoked");

    // nginx serves the bucket at the URLs in the certificates: /crl/… and /ocsp/<request>.
    let nginx_port = free_port();
    let _nginx = nginx(
        &w.join("nginx"),
        &format!(
            "server {{ listen 127.0.0.1:{nginx_port}; \
             location / {{ proxy_pass http://127.0.0.1:{port}/{BUCKET}/; }} }}\n"
        ),
        std::net::Ipv4Addr::LOCALHOST,
        nginx_port,
    );
    let front = format!("http://127.0.0.1:{nginx_port}");
    let via_nginx = fetch(&front, &url_path(&key)).expect("OCSP through nginx");
    assert_eq!(ocsp_says(&d, w, &cert, &via_nginx), "revoked");
    let (number, _) = checked_crl(&d, w, &fetch(&front, "crl/class3/0.crl").expect("CRL"));
    assert_eq!(number, second);

    // An older CRL never replaces a newer one. Another node (a copy of this CA, its own store)
    // publishes two CRLs ahead and puts its newest in the bucket; this node's next CRL is
    // numbered lower and stays out.
    let other = w.join("other");
    ok(Command::new("cp").arg("-a").arg(&d).arg(&other));
    for days in ["10", "20"] {
        ok(signet(&other)
            .args(["jobs", "--only", "crl"])
            .env(
                "SIGNET_TEST_CLOCK_OFFSET_SECONDS",
                (86_400 * days.parse::<i64>().expect("days")).to_string(),
            )
            .env("AWS_ACCESS_KEY_ID", "signet-test")
            .env("AWS_SECRET_ACCESS_KEY", "signet-test-secret"));
    }
    let (ahead, _) = checked_crl(&d, w, &fetch(&s3, "crl/class3/0.crl").expect("CRL"));
    assert_eq!(
        ahead,
        second + 2,
        "the other node's CRLs went to the bucket"
    );
    let (_, serial2) = issue_leaf(&d, w, "leaf2");
    ok(signet_s3(&d).args(["revoke", &serial2, "--reason", "superseded"]));
    let (kept, listing) = checked_crl(&d, w, &fetch(&s3, "crl/class3/0.crl").expect("CRL"));
    assert_eq!(
        kept, ahead,
        "the lower-numbered CRL did not replace the higher"
    );
    assert!(!listing.contains(&serial2));

    // An object that is not this CA's CRL is replaced by the next CRL.
    put(port, "crl/class3/0.crl", b"not a CRL");
    ok(signet_s3(&d).args(["jobs", "--only", "crl"]).env(
        "SIGNET_TEST_CLOCK_OFFSET_SECONDS",
        (86_400 * 30).to_string(),
    ));
    let (replaced, listing) = checked_crl(&d, w, &fetch(&s3, "crl/class3/0.crl").expect("CRL"));
    assert!(replaced > second, "{replaced}");
    assert!(
        listing.contains(&serial2),
        "this node's revocations are on it"
    );

    // A bucket that takes connections and never answers: a revocation still completes (the
    // store is the record), and says nothing went to the bucket.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let silent_port = silent.local_addr().expect("addr").port();
    let held = std::thread::spawn(move || {
        let mut open = Vec::new();
        for conn in silent.incoming().take(64) {
            open.push(conn);
        }
    });
    let hung = w.join("hung");
    ok(Command::new("cp").arg("-a").arg(&d).arg(&hung));
    let config = std::fs::read_to_string(hung.join("signet.toml")).expect("config");
    std::fs::write(
        hung.join("signet.toml"),
        config.replace(
            &format!("127.0.0.1:{port}"),
            &format!("127.0.0.1:{silent_port}"),
        ),
    )
    .expect("config");
    let (cert3, serial3) = issue_leaf(&hung, w, "leaf3");
    let started = std::time::Instant::now();
    ok(signet_s3(&hung).args(["revoke", &serial3, "--reason", "key_compromise"]));
    eprintln!(
        "revocation with a bucket that never answers: {:?}",
        started.elapsed()
    );
    let recorded = with_store(&hung, async |store| {
        store
            .certificate(&serial3.parse().expect("serial"))
            .await
            .expect("read")
            .expect("certificate")
    });
    assert!(recorded.revoked_at.is_some(), "the revocation is recorded");
    drop(held);
    // The bucket answers again: the OCSP job (not that process, long gone) uploads the
    // revocation it missed.
    std::fs::write(
        hung.join("signet.toml"),
        std::fs::read_to_string(hung.join("signet.toml"))
            .expect("config")
            .replace(
                &format!("127.0.0.1:{silent_port}"),
                &format!("127.0.0.1:{port}"),
            ),
    )
    .expect("config");
    let key3 = ocsp_key(&d, w, &cert3);
    assert!(
        fetch(&s3, &url_path(&key3)).is_none(),
        "not uploaded while the bucket hung"
    );
    ok(signet_s3(&hung).args(["jobs", "--only", "ocsp"]));
    let caught_up = fetch(&s3, &url_path(&key3)).expect("uploaded by the OCSP job");
    assert_eq!(ocsp_says(&d, w, &cert3, &caught_up), "revoked");

    // Two uploaders at once, one a CRL ahead of the other (a copy of this CA that published
    // once more, its upload held back): whichever writes last, the bucket ends with the newer.
    let ahead_dir = w.join("ahead");
    ok(Command::new("cp").arg("-a").arg(&d).arg(&ahead_dir));
    ok(signet(&ahead_dir)
        .args(["jobs", "--only", "crl"])
        .env(
            "SIGNET_TEST_CLOCK_OFFSET_SECONDS",
            (86_400 * 40).to_string(),
        )
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY"));
    let (still, _) = checked_crl(&d, w, &fetch(&s3, "crl/class3/0.crl").expect("CRL"));
    assert_eq!(
        still, replaced,
        "the copy uploaded nothing without credentials"
    );
    at_once([&d, &ahead_dir].into_iter().map(|dir| {
        let mut publish = signet_s3(dir);
        publish.arg("publish");
        publish
    }));
    let (last, _) = checked_crl(&d, w, &fetch(&s3, "crl/class3/0.crl").expect("CRL"));
    assert_eq!(last, replaced + 1, "the newer CRL is in the bucket");
}
