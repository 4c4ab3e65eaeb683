//! The time-stamping authority against `signet serve`, judged by OpenSSL: a CA made before
//! Signet had a TSA gets one with `signet tsa init`; `POST /tsa` answers `openssl ts -query`
//! requests with tokens that `openssl ts -verify` accepts against the Signet root, with serials
//! that grow; bad requests get a rejection `TimeStampResp`, never a 5xx.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn openssl(args: &[&str], dir: &Path) -> String {
    text(&ok(Command::new("openssl").args(args).current_dir(dir)).stdout)
}

fn post(server: &Server, content_type: &str, body: Vec<u8>) -> (u16, String, Vec<u8>) {
    let res = reqwest::blocking::Client::new()
        .post(server.url("/tsa"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .expect("POST /tsa");
    let status = res.status().as_u16();
    (status, String::new(), res.bytes().expect("body").to_vec())
}

/// Takes the TSA out of a fresh CA, as a data directory from before it existed looks.
fn without_tsa(d: &Path) {
    let config = d.join("signet.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    let start = text.find("\n[tsa]\n").expect("init makes a TSA");
    let end = text[start + 1..]
        .find("\n[")
        .map_or(text.len(), |i| start + 1 + i);
    std::fs::write(&config, format!("{}{}", &text[..start], &text[end..])).expect("write");
    std::fs::remove_file(d.join("ca/tsa.pem")).expect("certificate");
    for entry in std::fs::read_dir(d.join("keys")).expect("keys") {
        let path = entry.expect("entry").path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("tsa"))
        {
            std::fs::remove_file(path).expect("key");
        }
    }
}

#[test]
fn the_tsa_answers_openssl_with_tokens_that_verify() {
    let data = tempdir();
    let work = tempdir();
    let (d, w) = (data.path(), work.path());
    ok(signet(d).args(["init", "--organization", "TSA Test", "--country", "DE"]));
    without_tsa(d);

    // Without a TSA the endpoint says so, in protocol.
    {
        let server = Server::start(d, &[]);
        std::fs::write(w.join("data.txt"), b"minutes of the board, 3 December").expect("write");
        let (status, _, body) = time_stamp(&server, w, "data.txt", "q.tsq");
        assert_eq!(status, 200);
        std::fs::write(w.join("none.tsr"), body).expect("write");
        let shown = openssl(&["ts", "-reply", "-in", "none.tsr", "-text"], w);
        assert!(shown.contains("Status: Rejected"), "{shown}");
        assert!(shown.contains("signet tsa init"), "{shown}");
    }

    let added = ok(signet(d).args(["tsa", "init", "--policy-oid", "1.3.6.1.4.1.32473.7.5"]));
    assert!(text(&added.stdout).contains("time-stamping authority added"));
    let again = run(signet(d).args(["tsa", "init"]));
    assert!(!again.status.success(), "a second TSA is refused");
    assert!(text(&again.stderr).contains("already has a time-stamping authority"));
    let tsa_pem = d.join("ca/tsa.pem");
    lint("lint_pkix_cert", &[], &tsa_pem);

    let server = Server::start(d, &[]);
    let root = d.join("ca/root.pem");
    let mut serials = Vec::new();
    for n in 1..=2 {
        let (query, reply) = (format!("q{n}.tsq"), format!("r{n}.tsr"));
        let (status, kind, body) = time_stamp(&server, w, "data.txt", &query);
        assert_eq!(
            (status, kind.as_str()),
            (200, "application/timestamp-reply")
        );
        std::fs::write(w.join(&reply), body).expect("write");
        verify_time_stamp(w, &reply, &query, &root);
        let shown = openssl(&["ts", "-reply", "-in", &reply, "-text"], w);
        assert!(shown.contains("Status: Granted."), "{shown}");
        assert!(shown.contains("1.3.6.1.4.1.32473.7.5"), "{shown}");
        serials.push(
            shown
                .lines()
                .find_map(|l| l.trim().strip_prefix("Serial number: "))
                .map(str::to_owned)
                .expect("serial"),
        );
    }
    assert_ne!(serials[0], serials[1], "every token its own serial");

    // Bad requests: a rejection TimeStampResp with the reason, never a 5xx.
    openssl(
        &[
            "ts",
            "-query",
            "-digest",
            &"00".repeat(20),
            "-sha1",
            "-out",
            "sha1.tsq",
        ],
        w,
    );
    for (name, content_type, body, reason) in [
        (
            "garbage",
            "application/timestamp-query",
            b"not a request".to_vec(),
            "the data submitted has the wrong format",
        ),
        (
            "sha1",
            "application/timestamp-query",
            std::fs::read(w.join("sha1.tsq")).expect("query"),
            "unrecognized or unsupported algorithm",
        ),
        (
            "type",
            "text/plain",
            std::fs::read(w.join("q1.tsq")).expect("query"),
            "transaction not permitted or supported",
        ),
        (
            "large",
            "application/timestamp-query",
            vec![0x30; 10_000],
            "transaction not permitted or supported",
        ),
    ] {
        let (status, _, body) = post(&server, content_type, body);
        assert_eq!(status, 200, "{name}");
        let file = format!("{name}.tsr");
        std::fs::write(w.join(&file), body).expect("write");
        let shown = openssl(&["ts", "-reply", "-in", &file, "-text"], w);
        assert!(shown.contains("Status: Rejected"), "{name}: {shown}");
        assert!(shown.contains(reason), "{name}: {shown}");
    }
}
