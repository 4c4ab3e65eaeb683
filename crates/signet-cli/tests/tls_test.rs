//! `signet tls-test` against a matrix of real servers on loopback — openssl s_server, GnuTLS,
//! nginx, stunnel and an SMTP server with STARTTLS — each judged against sslyze and nmap's
//! ssl-enum-ciphers (the protocols and suites must be the same) and graded as the SSL Labs guide
//! says (testssl.sh 3.2 grades by it, but no registry here offers it: Debian has 3.0.8, which
//! predates rating; so each case states the grade and the guide's rule that gives it).
//!
//! Then the portal and the API: only allowed addresses, one test per account at a time, a rate
//! limit, every test audited.

mod common;
mod servers;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Api, BASE_URL, Server, audit_log, free_port, ok, run, signet, tempdir, text};
use serde_json::Value;
use servers::{Pki, Process, serve, workspace};

/// `signet tls-test ... --json`, from a data directory holding a Signet CA.
fn tls_test(data: &Path, target: &str, extra: &[&str]) -> Value {
    tls_test_fetching(data, target, &[&["--no-fetch"], extra].concat())
}

/// `signet tls-test ... --json`, fetching revocation data.
fn tls_test_fetching(data: &Path, target: &str, extra: &[&str]) -> Value {
    let out = ok(signet(data)
        .args(["tls-test", target, "--json"])
        .args(extra));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "tls-test {target} printed no JSON ({e}): {}",
            text(&out.stdout)
        )
    })
}

/// sslyze (through tests/tls/oracle.py, in the venv scripts/test installs) or nmap.
fn oracle(tool: &str, port: u16, extra: &[&str]) -> Value {
    let python = match tool {
        "sslyze" => std::env::var("SSLYZE_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|_| workspace().join(".tools/sslyze-venv/bin/python")),
        _ => PathBuf::from("python3"),
    };
    let out = run(Command::new(&python)
        .arg(workspace().join("tests/tls/oracle.py"))
        .arg(tool)
        .arg(format!("127.0.0.1:{port}"))
        .args(extra));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{tool} oracle gave no JSON ({e}; {python:?}: scripts/test installs it):\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

/// Our protocols as `name -> sorted suite names`.
fn our_suites(report: &Value) -> std::collections::BTreeMap<String, Vec<String>> {
    report["protocols"]
        .as_object()
        .expect("protocols")
        .iter()
        .map(|(name, p)| {
            let mut suites: Vec<String> = p["suites"]
                .as_array()
                .expect("suites")
                .iter()
                .map(|s| s["name"].as_str().expect("name").to_owned())
                .collect();
            suites.sort();
            (name.clone(), suites)
        })
        .collect()
}

fn their_suites(oracle: &Value) -> std::collections::BTreeMap<String, Vec<String>> {
    oracle["protocols"]
        .as_object()
        .expect("oracle protocols")
        .iter()
        .map(|(name, suites)| {
            let mut suites: Vec<String> = suites
                .as_array()
                .expect("list")
                .iter()
                .map(|s| s.as_str().expect("name").to_owned())
                .collect();
            suites.sort();
            (name.clone(), suites)
        })
        .collect()
}

/// One server of the matrix: what it is, how to reach it, what the guide says its grade is.
struct Case<'a> {
    name: &'a str,
    port: u16,
    /// Extra `signet tls-test` arguments.
    args: &'a [&'a str],
    /// Extra arguments of both oracles.
    oracle_args: &'a [&'a str],
    grade: &'a str,
    /// The rule of the SSL Labs guide (2009r, testssl.sh 3.2) that gives the grade.
    rule: &'a str,
}

/// Runs one case: our report, both oracles, the comparison and the grade.
fn check(data: &Path, case: &Case<'_>) -> Value {
    let target = format!("127.0.0.1:{}", case.port);
    let report = tls_test(data, &target, case.args);
    let ours = our_suites(&report);
    assert!(
        !ours.is_empty(),
        "{}: no protocol found: {report:#}",
        case.name
    );
    for tool in ["sslyze", "nmap"] {
        let theirs = oracle(tool, case.port, case.oracle_args);
        let errors = theirs["errors"].as_object().map_or(0, |e| e.len());
        assert_eq!(
            errors, 0,
            "{}: {tool} did not finish: {theirs:#}",
            case.name
        );
        assert_eq!(
            ours,
            their_suites(&theirs),
            "{}: protocols and suites differ from {tool}",
            case.name
        );
    }
    assert_eq!(
        report["grade"], case.grade,
        "{}: the guide gives {} ({}); caps {:#}",
        case.name, case.grade, case.rule, report["caps"]
    );
    // The report's contract: every part present.
    for key in [
        "score",
        "caps",
        "protocols",
        "chain",
        "client_auth",
        "mozilla",
        "findings",
    ] {
        assert!(!report[key].is_null(), "{}: no {key}", case.name);
    }
    for finding in report["findings"].as_array().expect("findings") {
        for key in ["id", "severity", "message", "fix"] {
            assert!(
                finding[key].is_string(),
                "{}: finding without {key}: {finding}",
                case.name
            );
        }
    }
    report
}

fn s_server(pki: &Pki, port: u16, args: &[&str]) -> Process {
    let accept = format!("127.0.0.1:{port}");
    serve(
        &format!("openssl s_server {}", args.join(" ")),
        Command::new("openssl")
            .current_dir(&pki.dir)
            .args(["s_server", "-accept", &accept, "-www", "-quiet"])
            .args(args),
        port,
    )
}

const MODERN: &[&str] = &[
    "-min_protocol",
    "TLSv1.2",
    "-cipher",
    "ECDHE+AESGCM:ECDHE+CHACHA20",
    "-ciphersuites",
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
];

fn with<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(more).copied().collect()
}

#[test]
fn a_matrix_of_real_servers_is_graded_by_the_guide_and_agrees_with_sslyze_and_nmap() {
    let data = tempdir();
    let work = tempdir();
    let d = data.path();
    ok(signet(d).args(["init", "--base-url", BASE_URL]));
    let pki = Pki::new(work.path());
    let trust = pki.path("root.pem");
    let trust = trust.to_str().expect("path");
    let sni: &[&str] = &["--sni", "localhost", "--trust", trust];
    let oracle_sni: &[&str] = &["--sni", "localhost"];
    let signet_ca = d.join("ca/class3.pem");

    // 1. Modern: TLS 1.2 and 1.3, ECDHE with AEAD only, the whole chain served.
    let port = free_port();
    let _s = s_server(
        &pki,
        port,
        &with(
            MODERN,
            &[
                "-cert",
                "leaf.pem",
                "-key",
                "leaf.key",
                "-cert_chain",
                "inter.pem",
            ],
        ),
    );
    let modern = check(
        d,
        &Case {
            name: "modern",
            port,
            args: sni,
            oracle_args: oracle_sni,
            grade: "A+",
            rule: "protocol (100+100)/2=100, key exchange RSA 2048 = 90, cipher (AES-256 100 + AES-128 80)/2 = 90: 30+27+36 = 93 >= 80 is A; no cap, TLS 1.3 offered and secure renegotiation: A+",
        },
    );
    assert_eq!(modern["score"]["total"], 93);
    assert_eq!(modern["client_auth"]["mode"], "none");
    assert_eq!(modern["chain"].as_array().expect("chain").len(), 2);
    assert_eq!(modern["chain"][0]["subject"], "CN=localhost");
    assert!(modern["chain"][0]["days_left"].as_i64().expect("days") > 80);
    assert_eq!(modern["mozilla"]["profile"], "intermediate");
    let issues = modern["mozilla"]["issues"].to_string();
    assert!(
        !issues.contains("ciphers:") && !issues.contains("tls_versions"),
        "{issues}"
    );
    assert!(
        modern["protocols"]["TLSv1.3"]["suites"]
            .as_array()
            .expect("1.3")
            .len()
            == 3
    );

    // 2. The same without the intermediate: the chain is incomplete.
    let port = free_port();
    let _s2 = s_server(
        &pki,
        port,
        &with(MODERN, &["-cert", "leaf.pem", "-key", "leaf.key"]),
    );
    let missing = check(
        d,
        &Case {
            name: "intermediate missing",
            port,
            args: sni,
            oracle_args: oracle_sni,
            grade: "T",
            rule: "the issuer was not sent and no AIA URL names it: no trusted path, 'Issues with chain of trust (unable to get local issuer certificate)' caps at T",
        },
    );
    assert_eq!(
        missing["trust"]["missing_intermediate"],
        "CN=TLS Test Intermediate"
    );
    assert!(missing["findings"].to_string().contains("chain-incomplete"));

    // 3. An expired leaf.
    let port = free_port();
    let _s3 = s_server(
        &pki,
        port,
        &with(
            MODERN,
            &[
                "-cert",
                "expired.pem",
                "-cert_chain",
                "inter.pem",
                "-key",
                "expired.key",
            ],
        ),
    );
    let expired = check(
        d,
        &Case {
            name: "expired leaf",
            port,
            args: sni,
            oracle_args: oracle_sni,
            grade: "T",
            rule: "'Certificate expired' caps at T",
        },
    );
    assert_eq!(expired["grade_ignoring_trust"], "A+");
    assert!(expired["chain"][0]["days_left"].as_i64().expect("days") < 0);
    assert!(expired["findings"].to_string().contains("cert-expired"));

    // 4. A self-signed leaf.
    let port = free_port();
    let _s4 = s_server(
        &pki,
        port,
        &with(MODERN, &["-cert", "self.pem", "-key", "self.key"]),
    );
    let selfsigned = check(
        d,
        &Case {
            name: "self-signed",
            port,
            args: sni,
            oracle_args: oracle_sni,
            grade: "T",
            rule: "'Self-signed certificate' caps at T",
        },
    );
    assert_eq!(selfsigned["trust"]["self_signed"], true);

    // 5. A name mismatch: the modern server asked for another name.
    let mismatch = check(
        d,
        &Case {
            name: "name mismatch",
            port: modern["port"].as_u64().expect("port") as u16,
            args: &["--sni", "www.example.org", "--trust", trust],
            oracle_args: &["--sni", "www.example.org"],
            grade: "M",
            rule: "'Domain name mismatch' caps at M",
        },
    );
    assert!(
        mismatch["findings"]
            .to_string()
            .contains("cert-name-mismatch")
    );

    // 6. TLS 1.0 and 1.1 enabled beside 1.2 and 1.3.
    let port = free_port();
    let _s6 = s_server(
        &pki,
        port,
        &[
            "-min_protocol",
            "TLSv1",
            "-cipher",
            "DEFAULT:@SECLEVEL=0",
            "-cert",
            "leaf.pem",
            "-cert_chain",
            "inter.pem",
            "-key",
            "leaf.key",
        ],
    );
    let old = check(
        d,
        &Case {
            name: "TLS 1.0 and 1.1",
            port,
            args: sni,
            oracle_args: oracle_sni,
            grade: "B",
            rule: "'TLS 1.0 offered' and 'TLS 1.1 offered' cap at B",
        },
    );
    assert_eq!(old["score"]["protocol"], 95, "(100 + 90) / 2");
    assert!(
        old["mozilla"]["issues"]
            .to_string()
            .contains("tls_versions")
    );

    // 7. 3DES only (Debian's OpenSSL has no 3DES: GnuTLS serves it), TLS 1.0 to 1.2.
    let port = free_port();
    let _s7 = serve(
        "gnutls-serv 3DES",
        Command::new("gnutls-serv")
            .current_dir(&pki.dir)
            .args(["--port", &port.to_string(), "--x509certfile", "leaf-chain.pem"])
            .args(["--x509keyfile", "leaf.key", "--disable-client-cert", "--http", "--quiet"])
            .args(["--priority", "NONE:+VERS-TLS1.2:+VERS-TLS1.1:+VERS-TLS1.0:+3DES-CBC:+SHA1:+RSA:+ECDHE-RSA:+COMP-NULL:+SIGN-ALL:+GROUP-ALL:+CTYPE-X509"]),
        port,
    );
    let triple = check(
        d,
        &Case {
            name: "3DES only",
            port,
            args: sni,
            oracle_args: oracle_sni,
            grade: "B",
            rule: "TLS 1.0 and 1.1 cap at B (3DES scores as 168 bits in the guide's table and SWEET32 is no cap in 2009r)",
        },
    );
    let findings = triple["findings"].to_string();
    assert!(
        findings.contains("suite-64bit-block") && findings.contains("suite-no-aead"),
        "{findings}"
    );

    // 8. CBC suites only.
    let port = free_port();
    let _s8 = s_server(
        &pki,
        port,
        &[
            "-min_protocol",
            "TLSv1.2",
            "-max_protocol",
            "TLSv1.2",
            "-cipher",
            "ECDHE-RSA-AES128-SHA:AES128-SHA:AES256-SHA256",
            "-cert",
            "leaf.pem",
            "-cert_chain",
            "inter.pem",
            "-key",
            "leaf.key",
        ],
    );
    let cbc = check(
        d,
        &Case {
            name: "CBC only",
            port,
            args: sni,
            oracle_args: oracle_sni,
            grade: "A-",
            rule: "TLS 1.2 only, RSA 2048, AES-128/256 CBC: 30+27+36 = 93 is A with no cap (the AEAD cap is dead code in testssl.sh); the warning 'TLS 1.3 is not supported' makes it A-",
        },
    );
    assert!(cbc["findings"].to_string().contains("suite-no-aead"));

    // 9. An RSA-1024 leaf.
    let port = free_port();
    let _s9 = s_server(
        &pki,
        port,
        &with(
            MODERN,
            &[
                "-cipher",
                "ECDHE+AESGCM:@SECLEVEL=0",
                "-cert",
                "rsa1024.pem",
                "-cert_chain",
                "inter.pem",
                "-key",
                "rsa1024.key",
            ],
        ),
    );
    let weak = check(
        d,
        &Case {
            name: "RSA-1024",
            port,
            args: sni,
            oracle_args: oracle_sni,
            grade: "B",
            rule: "key exchange RSA 1024 scores 80 <= 80: 'Using a weak public key' caps at B",
        },
    );
    assert_eq!(weak["score"]["key_exchange"], 80);
    assert!(weak["findings"].to_string().contains("cert-weak-key"));

    // 10. Client certificates required, from Signet's class 3 CA.
    let port = free_port();
    let signet_ca_arg = signet_ca.to_str().expect("path");
    let _s10 = s_server(
        &pki,
        port,
        &with(
            MODERN,
            &[
                "-cert",
                "leaf.pem",
                "-cert_chain",
                "inter.pem",
                "-key",
                "leaf.key",
                "-Verify",
                "1",
                "-CAfile",
                signet_ca_arg,
            ],
        ),
    );
    let required = check(
        d,
        &Case {
            name: "client certificate required",
            port,
            args: sni,
            oracle_args: oracle_sni,
            grade: "A+",
            rule: "as the modern server: client authentication is not graded",
        },
    );
    assert_eq!(required["client_auth"]["mode"], "required");
    assert_eq!(required["client_auth"]["signet_ca_listed"], true);
    assert_eq!(
        required["client_auth"]["ca_names"][0],
        "CN=Signet Demo Class 3 Personal CA,O=Signet Demo,C=BE"
    );
    let sslyze = oracle("sslyze", port, &["--sni", "localhost", "--ca-names"]);
    assert_eq!(sslyze["client_auth"], "required");

    // 11. Client certificates requested, with sixty acceptable CAs (not Signet's).
    let port = free_port();
    let _s11 = s_server(
        &pki,
        port,
        &with(
            MODERN,
            &[
                "-cert",
                "leaf.pem",
                "-cert_chain",
                "inter.pem",
                "-key",
                "leaf.key",
                "-verify",
                "1",
                "-CAfile",
                "cas60.pem",
            ],
        ),
    );
    let requested = check(
        d,
        &Case {
            name: "client certificate requested, 60 CAs",
            port,
            args: sni,
            oracle_args: &["--sni", "localhost", "--timeout", "1"],
            grade: "A+",
            rule: "as the modern server",
        },
    );
    assert_eq!(requested["client_auth"]["mode"], "optional");
    assert_eq!(
        requested["client_auth"]["ca_names"]
            .as_array()
            .expect("names")
            .len(),
        60
    );
    assert_eq!(requested["client_auth"]["signet_ca_listed"], false);
    assert!(
        requested["findings"]
            .to_string()
            .contains("client-auth-signet-missing")
    );
    let sslyze = oracle(
        "sslyze",
        port,
        &["--sni", "localhost", "--ca-names", "--timeout", "1"],
    );
    assert_eq!(sslyze["client_auth"], "optional");
    assert_eq!(
        sslyze["ca_names"].as_array().expect("sslyze names").len(),
        60
    );

    // 12. SMTP with STARTTLS.
    let port = free_port();
    let smtp_python = std::env::var("SMTP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace().join(".tools/venv/bin/python"));
    let _s12 = serve(
        "SMTP STARTTLS server",
        Command::new(&smtp_python)
            .arg(workspace().join("tests/tls/smtp_starttls_server.py"))
            .args(["--port", &port.to_string()])
            .arg("--cert")
            .arg(pki.path("leaf-chain.pem"))
            .arg("--key")
            .arg(pki.path("leaf.key")),
        port,
    );
    let smtp = check(
        d,
        &Case {
            name: "SMTP STARTTLS",
            port,
            args: &["--sni", "localhost", "--trust", trust, "--starttls", "smtp"],
            oracle_args: &["--sni", "localhost", "--starttls", "smtp"],
            grade: "T",
            rule: "testssl.sh caps every STARTTLS test at T ('STARTTLS is prone to MITM downgrade attacks')",
        },
    );
    assert_eq!(smtp["starttls"], "smtp");
    assert_eq!(smtp["grade_ignoring_trust"], "A+");

    // 12b. SMTP requiring a client certificate over TLS 1.3, closing without an alert (Python's
    // asyncio): sslyze aborts its whole scan on it; nmap and signet read the suites.
    let port = free_port();
    let _s12b = serve(
        "SMTP STARTTLS server requiring client certificates",
        Command::new(&smtp_python)
            .arg(workspace().join("tests/tls/smtp_starttls_server.py"))
            .args(["--port", &port.to_string()])
            .arg("--cert")
            .arg(pki.path("leaf-chain.pem"))
            .arg("--key")
            .arg(pki.path("leaf.key"))
            .arg("--client-ca")
            .arg(&signet_ca)
            .arg("--require-client-cert"),
        port,
    );
    let strict = tls_test(
        d,
        &format!("127.0.0.1:{port}"),
        &["--sni", "localhost", "--trust", trust, "--starttls", "smtp"],
    );
    assert_eq!(
        our_suites(&strict),
        their_suites(&oracle(
            "nmap",
            port,
            &["--sni", "localhost", "--starttls", "smtp"]
        )),
        "SMTP requiring client certificates: suites differ from nmap"
    );
    assert_eq!(strict["client_auth"]["mode"], "required");
    assert_eq!(
        strict["client_auth"]["ca_names"]
            .as_array()
            .expect("names")
            .len(),
        0,
        "Python sends no CA names"
    );

    // 13. stunnel in front of a closed port: the TLS side is all that is tested.
    let port = free_port();
    let conf = pki.path("stunnel.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\npid =\n[tls]\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:1\ncert = {}\nkey = {}\n",
            pki.path("leaf-chain.pem").display(),
            pki.path("leaf.key").display()
        ),
    )
    .expect("stunnel.conf");
    let _s13 = serve("stunnel4", Command::new("stunnel4").arg(&conf), port);
    let stunnel = tls_test(d, &format!("127.0.0.1:{port}"), sni);
    for tool in ["sslyze", "nmap"] {
        assert_eq!(
            our_suites(&stunnel),
            their_suites(&oracle(tool, port, oracle_sni)),
            "stunnel: suites differ from {tool}"
        );
    }

    // 14. nginx requiring a client certificate: it finishes the handshake without one and
    // refuses with a 400 page, which we read; sslyze stops at the handshake and says optional.
    let port = free_port();
    let _s14 = servers::nginx(
        &work.path().join("nginx"),
        &format!(
            "server {{ listen 127.0.0.1:{port} ssl; ssl_certificate {chain}; ssl_certificate_key {key};\n\
             ssl_protocols TLSv1.2 TLSv1.3; ssl_verify_client on; ssl_client_certificate {ca};\n\
             add_header Strict-Transport-Security \"max-age=63072000\" always;\n\
             location / {{ return 200 \"ok\\n\"; }} }}\n",
            chain = pki.path("leaf-chain.pem").display(),
            key = pki.path("leaf.key").display(),
            ca = signet_ca.display(),
        ),
        std::net::Ipv4Addr::LOCALHOST,
        port,
    );
    let nginx = check(
        d,
        &Case {
            name: "nginx ssl_verify_client on",
            port,
            args: sni,
            oracle_args: oracle_sni,
            grade: "A+",
            rule: "as the modern server; HSTS of two years costs nothing",
        },
    );
    assert_eq!(
        nginx["client_auth"]["mode"], "required",
        "the 400 page refuses"
    );
    assert_eq!(nginx["client_auth"]["signet_ca_listed"], true);
    let sslyze = oracle("sslyze", port, &["--sni", "localhost", "--timeout", "1"]);
    assert_eq!(
        sslyze["client_auth"], "optional",
        "sslyze judges by the handshake alone"
    );
}

#[test]
fn revocation_is_asked_of_the_ocsp_responder_and_the_crl_and_a_staple_is_read() {
    let data = tempdir();
    let work = tempdir();
    let d = data.path();
    let pki = Pki::new(work.path());
    let (ocsp_port, crl_port) = (free_port(), free_port());
    std::fs::write(
        pki.path("revocable.cnf"),
        format!(
            "basicConstraints = critical,CA:false\nkeyUsage = critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost,IP:127.0.0.1\n\
             authorityInfoAccess = OCSP;URI:http://127.0.0.1:{ocsp_port}/\n\
             crlDistributionPoints = URI:http://127.0.0.1:{crl_port}/inter.crl\n"
        ),
    )
    .expect("extensions");
    pki.request("rev", &["rsa:2048"], "/CN=localhost");
    pki.openssl(&[
        "ca",
        "-batch",
        "-notext",
        "-config",
        "ca.cnf",
        "-cert",
        "inter.pem",
        "-keyfile",
        "inter.key",
        "-in",
        "rev.csr",
        "-out",
        "rev.pem",
        "-extfile",
        "revocable.cnf",
        "-days",
        "90",
    ]);
    pki.publish_crl();
    let _crl = serve(
        "CRL web server",
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                &crl_port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(&pki.dir),
        crl_port,
    );
    let responder = |pki: &Pki| {
        serve(
            "openssl ocsp responder",
            Command::new("openssl").current_dir(&pki.dir).args([
                "ocsp",
                "-index",
                "index.txt",
                "-port",
                &ocsp_port.to_string(),
                "-rsigner",
                "inter.pem",
                "-rkey",
                "inter.key",
                "-CA",
                "inter.pem",
                "-ndays",
                "1",
            ]),
            ocsp_port,
        )
    };
    let ocsp = responder(&pki);
    // The staple: the responder's answer, fetched once and served by s_server.
    let url = format!("http://127.0.0.1:{ocsp_port}/");
    pki.openssl(&[
        "ocsp",
        "-issuer",
        "inter.pem",
        "-cert",
        "rev.pem",
        "-url",
        &url,
        "-respout",
        "staple.der",
        "-noverify",
    ]);
    let port = free_port();
    let server = s_server(
        &pki,
        port,
        &with(
            MODERN,
            &[
                "-cert",
                "rev.pem",
                "-cert_chain",
                "inter.pem",
                "-key",
                "rev.key",
                "-status_file",
                "staple.der",
            ],
        ),
    );
    let trust = pki.path("root.pem");
    let args = [
        "--sni",
        "localhost",
        "--trust",
        trust.to_str().expect("path"),
    ];
    let target = format!("127.0.0.1:{port}");
    let good = tls_test_fetching(d, &target, &args);
    let revocation = &good["revocation"];
    assert_eq!(revocation["status"], "good", "{revocation:#}");
    assert_eq!(revocation["stapled"], true);
    assert_eq!(revocation["staple_status"], "good");
    let sources = revocation["sources"].as_array().expect("sources");
    assert_eq!(sources.len(), 2, "{revocation:#}");
    assert!(
        sources
            .iter()
            .all(|s| s["reachable"] == true && s["status"] == "good"),
        "{revocation:#}"
    );
    assert_eq!(good["grade"], "A+");
    assert!(!good["findings"].to_string().contains("ocsp-no-staple"));

    // Revoked: the CRL republished, the responder restarted on the new index.
    drop(server);
    drop(ocsp);
    pki.revoke("rev");
    pki.publish_crl();
    let _ocsp = responder(&pki);
    let port = free_port();
    let _server = s_server(
        &pki,
        port,
        &with(
            MODERN,
            &[
                "-cert",
                "rev.pem",
                "-cert_chain",
                "inter.pem",
                "-key",
                "rev.key",
            ],
        ),
    );
    let revoked = tls_test_fetching(d, &format!("127.0.0.1:{port}"), &args);
    let status = revoked["revocation"]["status"].as_str().expect("status");
    assert!(status.starts_with("revoked"), "{:#}", revoked["revocation"]);
    assert_eq!(
        revoked["grade"], "T",
        "the guide: 'Certificate revoked' caps at T"
    );
    assert!(revoked["findings"].to_string().contains("cert-revoked"));
    assert!(revoked["findings"].to_string().contains("ocsp-no-staple"));
}

#[test]
fn a_test_that_cannot_run_says_why_and_exits_2() {
    let data = tempdir();
    let d = data.path();
    let closed = free_port();
    for (target, why) in [
        (format!("127.0.0.1:{closed}"), "cannot be reached"),
        ("http://example.org/".to_owned(), "is not HOST[:PORT]"),
        ("127.0.0.1:0".to_owned(), "port"),
    ] {
        let out = run(signet(d).args(["tls-test", &target, "--no-fetch"]));
        assert_eq!(
            out.status.code(),
            Some(2),
            "{target}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(why),
            "{target}: {}",
            text(&out.stderr)
        );
    }
    // A port that speaks something else: plain HTTP.
    let http = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let http_port = http.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in http.incoming().flatten() {
            let mut stream = stream;
            let _ = std::io::Write::write_all(
                &mut stream,
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
            );
        }
    });
    let out = run(signet(d).args(["tls-test", &format!("127.0.0.1:{http_port}"), "--no-fetch"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("does not speak TLS"),
        "{}",
        text(&out.stderr)
    );
    // A server that accepts and never answers: the timeout, not a hang.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let started = Instant::now();
    let out = run(signet(d).args([
        "tls-test",
        &format!("127.0.0.1:{port}"),
        "--no-fetch",
        "--timeout",
        "1",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn the_portal_and_the_api_test_allowed_addresses_only_one_at_a_time_and_audit_it() {
    let work = tempdir();
    let pki = Pki::new(work.path());
    let port = free_port();
    let _tls = s_server(
        &pki,
        port,
        &with(
            MODERN,
            &[
                "-cert",
                "leaf.pem",
                "-cert_chain",
                "inter.pem",
                "-key",
                "leaf.key",
            ],
        ),
    );
    let target = format!("127.0.0.1:{port}");

    // Loopback allowed (as the tests' servers are on it).
    let data = tempdir();
    let d = data.path();
    ok(signet(d).args(["init", "--base-url", BASE_URL]));
    let server = Server::start_with_env(d, &[], &[("SIGNET_TLS_TEST_ALLOW", "loopback")]);
    let api = Api::new(&server);
    let token = api.subscriber(d, "tls-tester@example.org");
    let (status, report) = api.get(&format!("/api/v1/tls-tests/{target}?sni=localhost"), &token);
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["grade"], "T", "a private root: {}", report["caps"]);
    assert!(report["protocols"]["TLSv1.3"].is_object());

    // The page, with the session cookie.
    let client = reqwest::blocking::Client::new();
    let page = client
        .get(server.url(&format!("/tools/tls-test?target={target}&sni=localhost")))
        .header("cookie", format!("signet_session={token}"))
        .send()
        .expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().expect("html");
    assert!(
        html.contains("grade-badge") && html.contains("TLS_AES_128_GCM_SHA256"),
        "{html}"
    );
    assert!(html.contains("issued by") || html.contains("class=\"chain\""));
    // Without a session: the log-in page.
    let anonymous = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(server.url(&format!("/tools/tls-test?target={target}")))
        .send()
        .expect("page");
    assert_eq!(anonymous.status(), 303);
    let (status, _) = api.get(&format!("/api/v1/tls-tests/{target}"), "not-a-token");
    assert_eq!(status, 401);

    // Bad input: a precise 422, audited.
    let (status, problem) = api.get("/api/v1/tls-tests/a%20b", &token);
    assert_eq!(status, 422, "{problem}");
    let (status, problem) = api.get(&format!("/api/v1/tls-tests/{target}?starttls=ftp"), &token);
    assert_eq!(status, 422, "{problem}");
    drop(server);

    // The default: loopback, private and link-local addresses are refused, before connecting.
    let server = Server::start(d, &[]);
    let api = Api::new(&server);
    let token = api.log_in("tls-tester@example.org", "a long enough password");
    for refused in [
        target.as_str(),
        "10.0.0.1:443",
        "169.254.169.254:80",
        "[::1]:443",
        "localhost:443",
    ] {
        let (status, problem) = api.get(&format!("/api/v1/tls-tests/{refused}"), &token);
        assert_eq!(status, 403, "{refused}: {problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("may not be tested"),
            "{problem}"
        );
    }
    let audit = audit_log(d);
    let runs = audit.iter().filter(|e| e.action == "tls_test.run").count();
    let refusals = audit
        .iter()
        .filter(|e| e.action == "tls_test.refused")
        .count();
    assert_eq!(runs, 2, "the API test and the page");
    assert!(refusals >= 7, "every refusal audited: {refusals}");

    // One test per account at a time: a second request while a slow one runs is refused.
    drop(server);
    let server = Server::start_with_env(d, &[], &[("SIGNET_TLS_TEST_ALLOW", "loopback")]);
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let slow = format!(
        "/api/v1/tls-tests/127.0.0.1:{}",
        silent.local_addr().expect("addr").port()
    );
    let url = server.url(&slow);
    let token2 = token.clone();
    let first = std::thread::spawn(move || {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .expect("client")
            .get(url)
            .bearer_auth(token2)
            .send()
            .expect("slow test")
            .status()
            .as_u16()
    });
    // The first test holds the turn once it connects to the silent server: wait for that.
    silent.set_nonblocking(true).expect("nonblocking");
    let deadline = Instant::now() + Duration::from_secs(60);
    let _held = loop {
        match silent.accept() {
            Ok((stream, _)) => break stream,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("the first test never connected: {e}"),
        }
    };
    let api = Api::new(&server);
    let (status, problem) = api.get(&format!("/api/v1/tls-tests/{target}"), &token);
    assert_eq!(status, 409, "{problem}");
    assert_eq!(
        first.join().expect("first"),
        422,
        "the silent server is no TLS server"
    );
    drop(silent);

    // The rate limit: 20 an hour per account.
    let closed = free_port();
    let mut statuses = Vec::new();
    for _ in 0..21 {
        statuses.push(
            api.get(&format!("/api/v1/tls-tests/127.0.0.1:{closed}"), &token)
                .0
                .as_u16(),
        );
    }
    assert_eq!(statuses.last().copied(), Some(429), "{statuses:?}");
}
