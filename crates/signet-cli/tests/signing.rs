//! `signet sign` judged by outside tools: pyHanko validates every PAdES level with the Signet
//! root as the only trust anchor (B-LT and B-LTA offline, from the embedded revocation data,
//! with the CA switched off), poppler's pdfsig checks the signature with NSS, openssl checks the
//! detached CMS signatures and the document time-stamp. A certificate revoked after signing is
//! reported revoked by fresh data, while a B-LT signature made before still validates.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine;
use common::*;
use reqwest::StatusCode;
use serde_json::json;

const MAX: &str = "max@example.de";

/// A CA whose certificates point at its own running server (OCSP, CRLs, TSA reachable), and a
/// subscriber with a picked-up certificate.
struct Signer {
    server: Option<Server>,
    data: tempfile::TempDir,
    work: tempfile::TempDir,
    base: String,
    pfx: PathBuf,
    password_file: PathBuf,
    serial: String,
    max: String,
}

impl Signer {
    /// `product`: personal-3-pro (clientAuth + documentSigning) or personal-smime
    /// (emailProtection + clientAuth, which NSS wants of a PDF signer).
    fn new(product: &str, key_type: &str, compatibility: &str) -> Signer {
        let data = tempdir();
        let d = data.path();
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        ok(signet(d).args(["init", "--base-url", &base]));
        // The tests of a binary share one authenticator app, which knows staff by address.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let vera = format!(
            "vera-{}@ca.example.com",
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        ok(signet(d).args(["user", "add", "--role", "vetting", "--email", &vera]));
        let server = Server::start_at(d, &format!("127.0.0.1:{port}"), &[], &[]);
        let api = Api::new(&server);
        let vetting = api.staff_login(d, &vera);
        let max = api.subscriber(d, MAX);
        let number = api.place(
            &max,
            json!({
                "product": product,
                "subject": {"given_name": "Max", "surname": "Muster", "email": MAX, "organization": "Muster GmbH", "country": "DE", "organization_identifier": "VATDE-123456789"},
                "approval_email": MAX,
                "pickup_password": "pickup-secret-42",
                "validity_months": 24,
                "key_type": key_type,
            }),
        );
        // The request form Signet prints for the order: a real PDF with embedded fonts.
        let contract = reqwest::blocking::Client::new()
            .get(server.url(&format!("/api/v1/orders/{number}/agreement.pdf")))
            .bearer_auth(&max)
            .send()
            .expect("agreement")
            .bytes()
            .expect("pdf")
            .to_vec();
        assert!(contract.starts_with(b"%PDF-"));
        let token = api.to_pickup(d, &number, &max, &vetting, MAX);
        let (status, body) = api.pick_up(
            &token,
            json!({"pickup_password": "pickup-secret-42", "compatibility": compatibility}),
        );
        assert_eq!(status, StatusCode::OK, "{body}");
        let work = tempdir();
        std::fs::write(work.path().join("contract.pdf"), &contract).expect("pdf");
        // The same document rewritten with object streams and a cross-reference stream.
        ok(Command::new("qpdf")
            .args(["--object-streams=generate"])
            .arg(work.path().join("contract.pdf"))
            .arg(work.path().join("compressed.pdf")));
        let pfx = work.path().join("max.p12");
        std::fs::write(
            &pfx,
            base64::engine::general_purpose::STANDARD
                .decode(body["pkcs12"].as_str().expect("pkcs12"))
                .expect("base64"),
        )
        .expect("pfx");
        let password_file = work.path().join("password.txt");
        std::fs::write(
            &password_file,
            format!("{}\n", body["pkcs12_password"].as_str().expect("password")),
        )
        .expect("password file");
        let serial = body["serial"].as_str().expect("serial").to_owned();
        Signer {
            server: Some(server),
            data,
            work,
            base,
            pfx,
            password_file,
            serial,
            max,
        }
    }

    fn root(&self) -> PathBuf {
        self.data.path().join("ca/root.pem")
    }

    fn w(&self) -> &Path {
        self.work.path()
    }

    /// `signet sign` at `level` with the CA's TSA.
    fn sign(&self, level: &str, input: &Path, output: &Path) -> Output {
        let tsa = format!("{}/tsa", self.base);
        run_sign(
            &self.pfx,
            &self.password_file,
            &["--level", level, "--tsa", &tsa],
            input,
            output,
        )
    }

    fn signed(&self, level: &str, input: &Path, output: &Path) -> String {
        let out = self.sign(level, input, output);
        assert!(
            out.status.success(),
            "signet sign --level {level} failed: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Switches the CA off: nothing can be fetched any more.
    fn stop_ca(&mut self) {
        self.server = None;
    }
}

/// `signet sign` run from an empty directory with no data directory: the subscriber's own
/// machine.
fn run_sign(
    pfx: &Path,
    password_file: &Path,
    extra: &[&str],
    input: &Path,
    output: &Path,
) -> Output {
    let elsewhere = tempdir();
    Command::new(env!("CARGO_BIN_EXE_signet"))
        .current_dir(elsewhere.path())
        .env_remove("SIGNET_DATA_DIR")
        .env_remove("SIGNET_DATABASE_URL")
        .args(["sign", "--pfx"])
        .arg(pfx)
        .arg("--password-file")
        .arg(password_file)
        .args(extra)
        .arg(input)
        .arg(output)
        .output()
        .expect("run signet sign")
}

/// `signet verify --json` with the CA's data directory as the judge (or `extra` args): the exit
/// code and the report.
fn verify(s: &Signer, args: &[&std::ffi::OsStr]) -> (i32, serde_json::Value, String) {
    let out = signet(s.data.path())
        .arg("verify")
        .arg("--json")
        .args(args)
        .output()
        .expect("signet verify");
    let report = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), report, text(&out.stderr))
}

/// Uploads to the public "Check a signature" page: the status and the HTML.
fn check_page(s: &Signer, name: &str, file: Vec<u8>, signature: Option<Vec<u8>>) -> (u16, String) {
    let server = s.server.as_ref().expect("running");
    let mut form = reqwest::blocking::multipart::Form::new().part(
        "file",
        reqwest::blocking::multipart::Part::bytes(file).file_name(name.to_owned()),
    );
    if let Some(signature) = signature {
        form = form.part(
            "signature",
            reqwest::blocking::multipart::Part::bytes(signature).file_name("signature.p7s"),
        );
    }
    let response = reqwest::blocking::Client::new()
        .post(server.url("/verify"))
        .multipart(form)
        .send()
        .expect("POST /verify");
    let status = response.status().as_u16();
    (status, response.text().unwrap_or_default())
}

fn pyhanko(args: &[&str], file: &Path) -> (bool, String) {
    let bin = std::env::var("PYHANKO_BIN").unwrap_or_else(|_| {
        panic!("PYHANKO_BIN is not set: run scripts/test, which installs pyHanko into .tools")
    });
    let out = Command::new(bin)
        .args(["sign"])
        .args(args)
        .arg(file)
        .output()
        .expect("run pyhanko");
    (
        out.status.success(),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

fn validate(root: &Path, file: &Path, extra: &[&str]) -> (bool, String) {
    let root = root.to_str().expect("path");
    let mut args = vec!["validate", "--trust", root, "--trust-replace"];
    args.extend_from_slice(extra);
    pyhanko(&args, file)
}

/// pyHanko's AdES validation as of now, from the data in the file alone.
fn ades_offline(root: &Path, file: &Path) -> (bool, String) {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("time");
    let root = root.to_str().expect("path");
    pyhanko(
        &[
            "adesverify",
            "--trust",
            root,
            "--trust-replace",
            "--validation-time",
            &now,
        ],
        file,
    )
}

fn a_pdf(dir: &Path) -> PathBuf {
    dir.join("contract.pdf")
}

fn pdfsig(root: &Path, work: &Path, file: &Path) -> String {
    let nss = work.join("pdfsig-nss");
    if !nss.exists() {
        std::fs::create_dir_all(&nss).expect("nss");
        ok(Command::new("certutil")
            .args(["-N", "--empty-password", "-d"])
            .arg(format!("sql:{}", nss.display())));
        ok(Command::new("certutil")
            .args(["-A", "-t", "CT,C,C", "-n", "signet-root", "-d"])
            .arg(format!("sql:{}", nss.display()))
            .arg("-i")
            .arg(root));
    }
    let out = Command::new("pdfsig")
        .args(["-no-ocsp", "-nssdir"])
        .arg(format!("sql:{}", nss.display()))
        .arg(file)
        .output()
        .expect("pdfsig");
    text(&out.stdout)
}

/// The last signature dictionary's signed bytes and /Contents value (for openssl ts).
fn last_signature_parts(pdf: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let text = String::from_utf8_lossy(pdf);
    let at = text.rfind("/ByteRange").expect("a signature");
    let open = at + text[at..].find('[').expect("[");
    let close = open + text[open..].find(']').expect("]");
    let n: Vec<usize> = text[open + 1..close]
        .split_whitespace()
        .map(|x| x.parse().expect("number"))
        .collect();
    let mut signed = pdf[n[0]..n[0] + n[1]].to_vec();
    signed.extend_from_slice(&pdf[n[2]..n[2] + n[3]]);
    let mut der = hex::decode(&pdf[n[0] + n[1] + 1..n[2] - 1]).expect("hex");
    // Zero padding after the DER: the token's own length says where it ends.
    let len = match der[1] {
        l if l < 0x80 => 2 + usize::from(l),
        0x81 => 3 + usize::from(der[2]),
        0x82 => 4 + (usize::from(der[2]) << 8 | usize::from(der[3])),
        _ => der.len(),
    };
    der.truncate(len);
    (signed, der)
}

/// `openssl cms -verify` of a detached DER signature over `content`, trusting `root`.
fn cms_verify(p7s: &Path, content: &Path, root: &Path) -> Output {
    Command::new("openssl")
        .args([
            "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any", "-in",
        ])
        .arg(p7s)
        .arg("-content")
        .arg(content)
        .arg("-CAfile")
        .arg(root)
        .args(["-out", "/dev/null"])
        .output()
        .expect("openssl cms")
}

/// The signature time-stamp token of a CMS signature, and the signature value it stamps.
fn signature_time_stamp(p7s: &[u8]) -> (Vec<u8>, Vec<u8>) {
    use signet_pki::der::Encode;
    let signed = signet_pki::signed_data::parse_signed_data(p7s).expect("CMS");
    let signer = signed.signer_infos.0.iter().next().expect("signer");
    let token = signet_pki::signed_data::find_attribute(
        signer.unsigned_attrs.as_ref(),
        signet_pki::der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14"),
    )
    .expect("signature time-stamp attribute");
    (
        token.to_der().expect("der"),
        signer.signature.as_bytes().to_vec(),
    )
}

#[test]
fn pdf_signatures_at_every_level_pass_pyhanko_pdfsig_and_openssl() {
    let mut s = Signer::new("personal-3-pro", "p-256", "modern");
    let w = s.w().to_owned();
    let input = a_pdf(&w);
    let original = std::fs::read(&input).expect("pdf");
    // A file with a cross-reference stream gets its update the same way.
    let compressed = w.join("compressed-signed.pdf");
    s.signed("b-lt", &w.join("compressed.pdf"), &compressed);
    let (valid, report) = validate(&s.root(), &compressed, &["--no-revocation-check"]);
    assert!(valid, "xref-stream PDF: {report}");
    let levels = ["b-b", "b-t", "b-lt", "b-lta"];
    for level in levels {
        let out = w.join(format!("signed-{level}.pdf"));
        let summary = s.signed(level, &input, &out);
        assert!(
            summary.contains(&format!("PAdES {}", level.to_uppercase())),
            "{summary}"
        );
        let signed = std::fs::read(&out).expect("signed");
        assert!(
            signed.starts_with(&original),
            "{level}: the original bytes must stay untouched (incremental update)"
        );
        // Signature intact and the signer trusted through the Signet root alone.
        let (valid, report) = validate(
            &s.root(),
            &out,
            &["--no-revocation-check", "--pretty-print"],
        );
        assert!(valid, "{level}: pyHanko: {report}");
        assert!(
            report.contains("The signature is judged VALID."),
            "{report}"
        );
        assert!(
            report.contains("The signer's certificate is trusted."),
            "{report}"
        );
        let (_, line) = validate(&s.root(), &out, &["--no-revocation-check"]);
        assert!(line.contains("INTACT:TRUSTED"), "{level}: {line}");
        if level != "b-b" {
            assert!(
                line.contains("TIMESTAMP_TOKEN<INTACT:TRUSTED>"),
                "{level}: the signature time-stamp: {line}"
            );
        }
        // pdfsig checks the signature; it judges the certificate for NSS's e-mail signer usage,
        // which the class 3 profile (documentSigning, RFC 9336) is not: see the S/MIME test below.
        let nss = pdfsig(&s.root(), &w, &out);
        assert!(
            nss.contains("Signature Validation: Signature is Valid."),
            "{level}: pdfsig: {nss}"
        );
        assert!(nss.contains("ETSI.CAdES.detached"), "{nss}");
    }

    // The B-LTA document time-stamp is an RFC 3161 token over the file: openssl agrees.
    let lta = std::fs::read(w.join("signed-b-lta.pdf")).expect("lta");
    let (covered, token) = last_signature_parts(&lta);
    std::fs::write(w.join("covered.bin"), covered).expect("covered");
    std::fs::write(w.join("doc-ts.tst"), token).expect("token");
    let verified = ok(Command::new("openssl")
        .args(["ts", "-verify", "-token_in", "-in"])
        .arg(w.join("doc-ts.tst"))
        .arg("-data")
        .arg(w.join("covered.bin"))
        .arg("-CAfile")
        .arg(s.root()));
    assert!(text(&verified.stdout).contains("Verification: OK"));

    // `signet verify` says the same in words: who, when, which level, valid now.
    let (code, report, err) = verify(&s, &[w.join("signed-b-lta.pdf").as_os_str()]);
    assert_eq!(code, 0, "{report} {err}");
    let first = &report["signatures"][0];
    assert_eq!(
        first["verdict"].as_str().map(|v| v.starts_with("VALID")),
        Some(true),
        "{report}"
    );
    assert_eq!(first["level"], "B-LTA", "{report}");
    assert_eq!(first["signer"]["name"], "Max Muster");
    assert_eq!(first["signer"]["organization"], "Muster GmbH");
    assert_eq!(first["trusted"], true);
    assert_eq!(first["changed_after_signing"], false);
    assert_eq!(
        (
            first["status_at_signing"].as_str(),
            first["status_now"].as_str()
        ),
        (Some("good"), Some("good"))
    );
    assert!(first["time_stamp"].is_string(), "{report}");
    assert_eq!(
        report["signatures"][1]["kind"], "document_time_stamp",
        "{report}"
    );
    // Without the data directory: the root from a file, the status from OCSP.
    let out = Command::new(env!("CARGO_BIN_EXE_signet"))
        .current_dir(w.as_path())
        .env_remove("SIGNET_DATA_DIR")
        .args(["verify", "--trust"])
        .arg(s.root())
        .arg(w.join("signed-b-t.pdf"))
        .output()
        .expect("verify");
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("Signed by:      Max Muster"),
        "{}",
        text(&out.stdout)
    );
    // Without a CA and without --trust: said so, and nothing is created.
    let nowhere = tempdir();
    let out = Command::new(env!("CARGO_BIN_EXE_signet"))
        .current_dir(nowhere.path())
        .env_remove("SIGNET_DATA_DIR")
        .env_remove("SIGNET_DATABASE_URL")
        .arg("verify")
        .arg(w.join("signed-b-t.pdf"))
        .output()
        .expect("verify");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--trust"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_dir(nowhere.path()).expect("dir").count(), 0);
    // An unsigned PDF and a non-PDF without a signature are explained, exit 2.
    let (code, _, err) = verify(&s, &[w.join("contract.pdf").as_os_str()]);
    assert_eq!(code, 2);
    assert!(err.contains("carries no signature"), "{err}");

    // The help page shows the commands; the portal leads there from every page.
    let help = reqwest::blocking::get(s.server.as_ref().expect("running").url("/help"))
        .expect("help")
        .text()
        .expect("html");
    for words in [
        "signet sign --pfx",
        "id=\"login\"",
        "href=\"/verify\"",
        "signet relying-party nginx",
    ] {
        assert!(help.contains(words), "no `{words}` on /help");
    }

    // The public page says it to anyone, without an account; nothing uploaded is kept.
    let files = |dir: &Path| {
        snapshot(dir)
            .into_iter()
            .map(|(p, _)| p)
            .collect::<Vec<_>>()
    };
    let before_upload = files(s.data.path());
    let (status, page) = check_page(
        &s,
        "signed-b-lt.pdf",
        std::fs::read(w.join("signed-b-lt.pdf")).expect("pdf"),
        None,
    );
    assert_eq!(status, 200, "{page}");
    for words in [
        "VALID: the file is as signed",
        "Max Muster",
        "Muster GmbH",
        "B-LT",
        "Time proven by a time-stamp",
    ] {
        assert!(page.contains(words), "no `{words}` on the page: {page}");
    }
    let (status, page) = check_page(&s, "contract.pdf", original.clone(), None);
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("carries no signature"), "{page}");
    let (status, page) = check_page(&s, "junk.bin", vec![0x42; 1000], None);
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("not a PDF"), "{page}");
    let (status, _) = check_page(&s, "huge.pdf", vec![b'%'; 11 << 20], None);
    assert_eq!(status, 413);
    assert_eq!(
        before_upload,
        files(s.data.path()),
        "checking signatures wrote files into the data directory"
    );

    // With the CA gone, B-LT and B-LTA still validate from what they carry; B-T cannot.
    s.stop_ca();
    for level in ["b-lt", "b-lta"] {
        let (valid, report) = ades_offline(&s.root(), &w.join(format!("signed-{level}.pdf")));
        assert!(valid, "{level} offline: {report}");
    }
    let (valid, report) = ades_offline(&s.root(), &w.join("signed-b-t.pdf"));
    assert!(
        !valid,
        "B-T carries no revocation data, yet validated offline: {report}"
    );
    assert!(report.contains("no revocation information"), "{report}");

    // One byte changed in the signed part: every validator says so.
    let mut tampered = std::fs::read(w.join("signed-b-b.pdf")).expect("signed");
    let at = tampered
        .windows(4)
        .position(|x| x == b"obj\n" || x == b"obj\r")
        .expect("an object")
        + 100;
    tampered[at] ^= 0x01;
    std::fs::write(w.join("tampered.pdf"), &tampered).expect("tampered");
    let (valid, report) = validate(
        &s.root(),
        &w.join("tampered.pdf"),
        &["--no-revocation-check"],
    );
    assert!(!valid && report.contains("INVALID"), "{report}");
    let nss = pdfsig(&s.root(), &w, &w.join("tampered.pdf"));
    assert!(!nss.contains("Signature is Valid."), "{nss}");
    let (code, report, _) = verify(&s, &[w.join("tampered.pdf").as_os_str()]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["signatures"][0]["intact"], false, "{report}");
}

#[test]
fn pdfsig_trusts_an_smime_certificate_s_signature_through_the_signet_root() {
    let s = Signer::new("personal-smime", "p-256", "modern");
    let w = s.w();
    let out = w.join("signed.pdf");
    s.signed("b-t", &a_pdf(w), &out);
    let nss = pdfsig(&s.root(), w, &out);
    assert!(
        nss.contains("Signature Validation: Signature is Valid."),
        "{nss}"
    );
    assert!(
        nss.contains("Certificate Validation: Certificate is Trusted."),
        "{nss}"
    );
    assert!(nss.contains("Total document signed"), "{nss}");
}

#[test]
fn detached_signatures_of_any_file_verify_with_openssl_for_rsa_and_legacy_pfx() {
    let s = Signer::new("personal-3-pro", "rsa-2048", "legacy");
    let w = s.w();
    let input = w.join("invoice.xml");
    std::fs::write(
        &input,
        "<invoice total=\"100.00\">\r\n  <line>ü</line>\n</invoice>\n",
    )
    .expect("input");
    for level in ["b-b", "b-t"] {
        let p7s = w.join(format!("invoice-{level}.p7s"));
        let summary = s.signed(level, &input, &p7s);
        assert!(summary.contains("CAdES detached"), "{summary}");
        let out = cms_verify(&p7s, &input, &s.root());
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("Verification successful"),
            "{}",
            text(&out.stderr)
        );
        let printed = ok(Command::new("openssl")
            .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
            .arg(&p7s));
        let printed = text(&printed.stdout);
        for attribute in [
            "contentType",
            "signingTime",
            "messageDigest",
            "id-smime-aa-signingCertificateV2",
        ] {
            assert!(
                printed.contains(attribute),
                "{level}: no {attribute} in {printed}"
            );
        }
        assert_eq!(
            printed.contains("id-smime-aa-timeStampToken"),
            level == "b-t",
            "{level}: the signature time-stamp is an unsigned attribute at B-T only"
        );
        if level == "b-t" {
            // The signature time-stamp is a token over the signature value: openssl agrees.
            let (token, value) = signature_time_stamp(&std::fs::read(&p7s).expect("p7s"));
            std::fs::write(w.join("sig.tst"), token).expect("token");
            std::fs::write(w.join("sig.value"), value).expect("value");
            let out = ok(Command::new("openssl")
                .args(["ts", "-verify", "-token_in", "-in"])
                .arg(w.join("sig.tst"))
                .arg("-data")
                .arg(w.join("sig.value"))
                .arg("-CAfile")
                .arg(s.root()));
            assert!(text(&out.stdout).contains("Verification: OK"));
        }
        // pyHanko checks a detached CMS too.
        let (valid, report) = validate(
            &s.root(),
            &input,
            &[
                "--no-revocation-check",
                "--detached",
                p7s.to_str().expect("path"),
            ],
        );
        assert!(valid, "{level}: pyHanko on the .p7s: {report}");
        let (code, report, err) = verify(
            &s,
            &[input.as_os_str(), "--signature".as_ref(), p7s.as_os_str()],
        );
        assert_eq!(code, 0, "{report} {err}");
        assert_eq!(report["format"], "detached");
        let (status, page) = check_page(
            &s,
            "invoice.xml",
            std::fs::read(&input).expect("input"),
            Some(std::fs::read(&p7s).expect("p7s")),
        );
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("VALID: the file is as signed"), "{page}");
        assert_eq!(report["signatures"][0]["level"], level.to_uppercase());
    }
    // The content changed after signing: refused.
    std::fs::write(w.join("changed.xml"), "<invoice total=\"900.00\"/>\n").expect("changed");
    let out = cms_verify(
        &w.join("invoice-b-b.p7s"),
        &w.join("changed.xml"),
        &s.root(),
    );
    assert!(!out.status.success());
    let (code, report, _) = verify(
        &s,
        &[
            w.join("changed.xml").as_os_str(),
            "--signature".as_ref(),
            w.join("invoice-b-b.p7s").as_os_str(),
        ],
    );
    assert_eq!(code, 1, "{report}");
    assert!(
        report["signatures"][0]["verdict"]
            .as_str()
            .expect("verdict")
            .starts_with("INVALID")
    );
    // B-LT is a PDF matter: refused for a detached signature, nothing written.
    let out = s.sign("b-lt", &input, &w.join("no.p7s"));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("goes up to B-T"),
        "{}",
        text(&out.stderr)
    );
    assert!(!w.join("no.p7s").exists());
}

#[test]
fn a_signature_made_before_revocation_stays_valid_and_none_can_be_made_after() {
    let mut s = Signer::new("personal-3-pro", "p-384", "modern");
    let w = s.w().to_owned();
    let input = a_pdf(&w);
    let before = w.join("before.pdf");
    s.signed("b-lt", &input, &before);
    let untimed = w.join("untimed.pdf");
    s.signed("b-b", &input, &untimed);

    // Time-stamps are accurate to one second: the revocation comes clearly later.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let server = s.server.as_ref().expect("running");
    let api = Api::new(server);
    let (status, body) = api.post(
        &format!("/api/v1/certificates/{}/revoke", s.serial),
        Some(&s.max),
        json!({"reason": "key_compromise"}),
    );
    assert_eq!(status, StatusCode::OK, "{body}");

    // Fresh revocation data (fetched now from the CA): revoked.
    let (valid, line) = validate(&s.root(), &before, &[]);
    assert!(
        !valid,
        "a revoked certificate validated with fresh data: {line}"
    );
    assert!(line.contains("REVOKED"), "{line}");

    // Signet's own records: revoked now, but the time-stamp proves the signature came first.
    let (code, report, err) = verify(&s, &[before.as_os_str()]);
    assert_eq!(code, 0, "{report} {err}");
    let first = &report["signatures"][0];
    assert_eq!(
        (
            first["status_at_signing"].as_str(),
            first["status_now"].as_str()
        ),
        (Some("good"), Some("revoked")),
        "{report}"
    );
    assert!(first["revoked_at"].is_string());
    // Without a time-stamp nothing proves when it signed.
    let (code, report, _) = verify(&s, &[untimed.as_os_str()]);
    assert_eq!(code, 1, "{report}");
    assert!(
        report["signatures"][0]["verdict"]
            .as_str()
            .expect("v")
            .starts_with("INDETERMINATE"),
        "{report}"
    );

    // Signing with it now is refused (B-LT checks the chain's status), nothing written.
    let after = w.join("after.pdf");
    let out = s.sign("b-lt", &input, &after);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("revoked"),
        "{}",
        text(&out.stderr)
    );
    assert!(!after.exists());

    // The B-LT signature made while the certificate was valid proves it by itself.
    s.stop_ca();
    let (valid, report) = ades_offline(&s.root(), &before);
    assert!(valid, "the signature made before the revocation: {report}");
}

#[test]
fn wrong_passwords_and_broken_inputs_are_refused_with_nothing_written() {
    let s = Signer::new("personal-3-pro", "p-256", "modern");
    let w = s.w();
    let input = a_pdf(w);
    let out = w.join("out.pdf");
    std::fs::write(w.join("wrong.txt"), "not the password\n").expect("wrong");
    let run = run_sign(&s.pfx, &w.join("wrong.txt"), &[], &input, &out);
    assert!(!run.status.success());
    assert!(
        text(&run.stderr).contains("password"),
        "{}",
        text(&run.stderr)
    );
    assert!(!out.exists());

    // B-T without a TSA says so.
    let run = run_sign(&s.pfx, &s.password_file, &["--level", "b-t"], &input, &out);
    assert!(!run.status.success());
    assert!(text(&run.stderr).contains("--tsa"), "{}", text(&run.stderr));
    assert!(!out.exists());

    // A truncated PDF, and a TSA that is not there.
    let bytes = std::fs::read(&input).expect("pdf");
    std::fs::write(w.join("broken.pdf"), &bytes[..bytes.len() / 2]).expect("broken");
    let run = s.sign("b-b", &w.join("broken.pdf"), &out);
    assert!(!run.status.success(), "{}", text(&run.stdout));
    assert!(text(&run.stderr).contains("PDF"), "{}", text(&run.stderr));
    assert!(!out.exists());
    let nowhere = ["--level", "b-t", "--tsa", "http://127.0.0.1:9/tsa"];
    let run = run_sign(&s.pfx, &s.password_file, &nowhere, &input, &out);
    assert!(!run.status.success());
    assert!(
        text(&run.stderr).contains("127.0.0.1:9"),
        "{}",
        text(&run.stderr)
    );
    assert!(!out.exists());
}
