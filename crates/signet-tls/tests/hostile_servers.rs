//! Servers no TLS library would be: one that still speaks SSLv2 (no maintained server can be
//! built to, so this one is hand-made to the SSLv2 draft), and hostile ones — a flood of bytes,
//! a record that never ends, a handshake message announced at 16 MiB, garbage. A test must end
//! on time with a report or a clear error, and read nothing it should not.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use signet_tls::hello::SSLV2_CIPHERS;
use signet_tls::{Endpoint, Options, TlsTestError};

/// How a test server answers the first bytes a client sent.
type Answer = fn(&[u8], &mut TcpStream);

/// Serves `answer(first bytes read)` to every connection, on a thread, until the test ends.
fn server(answer: Answer) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut first = [0u8; 4096];
                let n = stream.read(&mut first).unwrap_or(0);
                answer(&first[..n], &mut stream);
            });
        }
    });
    address
}

fn options() -> Options<'static> {
    Options {
        anchors: Vec::new(),
        signet_cas: Vec::new(),
        fetch: None,
        mozilla_profile: "intermediate".into(),
        now: time::OffsetDateTime::now_utc(),
    }
}

fn endpoint(address: SocketAddr, timeout: Duration) -> Endpoint {
    Endpoint::new(address, "localhost".into(), None, timeout)
}

/// An SSLv2 SERVER-HELLO accepting RC4-128 and 3DES, with no certificate.
fn sslv2_only(first: &[u8], stream: &mut TcpStream) {
    // Only an SSLv2 CLIENT-HELLO (two-byte header with the top bit set, then type 1) gets one.
    if first.len() < 3 || first[0] & 0x80 == 0 || first[2] != 1 {
        return; // anything else: the connection is closed
    }
    let specs = [0x01, 0x00, 0x80, 0x07, 0x00, 0xc0];
    let mut body = vec![4, 0, 1, 0x00, 0x02, 0, 0];
    body.extend_from_slice(&(specs.len() as u16).to_be_bytes());
    body.extend_from_slice(&16u16.to_be_bytes());
    body.extend_from_slice(&specs);
    body.extend_from_slice(&[7; 16]);
    let mut out = vec![0x80 | (body.len() >> 8) as u8, body.len() as u8];
    out.extend_from_slice(&body);
    let _ = stream.write_all(&out);
}

#[test]
fn an_sslv2_server_is_found_with_its_cipher_kinds_and_graded_f() {
    let address = server(sslv2_only);
    let report =
        signet_tls::run(&endpoint(address, Duration::from_secs(3)), &options()).expect("a report");
    let sslv2 = &report.protocols["SSLv2"];
    let names: Vec<&str> = sslv2.suites.iter().map(|s| s.suite.name.as_str()).collect();
    assert_eq!(names, [SSLV2_CIPHERS[0].1, SSLV2_CIPHERS[6].1]);
    assert_eq!(report.protocols.len(), 1, "{:?}", report.protocols.keys());
    assert_eq!(report.grade, "F");
    assert!(report.caps.iter().any(|c| c.reason == "SSLv2 is offered"));
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.id == "protocol-sslv2" && f.severity == "critical")
    );
}

#[test]
fn hostile_answers_end_on_time_without_a_panic() {
    let cases: [(&str, Answer); 5] = [
        ("a flood of handshake records", |_, s| {
            let record = [22, 3, 3, 0x40, 0, 0, 0, 0, 0];
            let mut chunk = record.to_vec();
            chunk.resize(5 + 0x4000, 0);
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) && s.write_all(&chunk).is_ok() {}
        }),
        ("a record that never ends", |_, s| {
            let _ = s.write_all(&[22, 3, 3, 0x40, 0x00, 2, 0]);
            std::thread::sleep(Duration::from_secs(10));
        }),
        ("a handshake message announced at 16 MiB", |_, s| {
            let _ = s.write_all(&[22, 3, 3, 0, 4, 2, 0xff, 0xff, 0xff]);
            std::thread::sleep(Duration::from_secs(10));
        }),
        ("garbage", |_, s| {
            let _ = s
                .write_all(b"\x16\x03\x03\x00\x05\x02\x00\x00\x01\x00garbage after a broken hello");
        }),
        ("a hello naming a suite never offered", |_, s| {
            // ServerHello, TLS 1.2, suite 0x0000.
            let mut hello = vec![2, 0, 0, 38, 3, 3];
            hello.extend_from_slice(&[1; 32]);
            hello.extend_from_slice(&[0, 0x00, 0x00, 0]);
            let mut record = vec![22, 3, 3, 0, hello.len() as u8];
            record.extend_from_slice(&hello);
            let _ = s.write_all(&record);
        }),
    ];
    for (what, answer) in cases {
        let address = server(answer);
        let started = Instant::now();
        let result = signet_tls::run(&endpoint(address, Duration::from_secs(2)), &options());
        let took = started.elapsed();
        assert!(took < Duration::from_secs(30), "{what}: took {took:?}");
        match result {
            Err(TlsTestError::NoTls(_)) => {}
            Ok(report) => panic!(
                "{what}: reported TLS where there is none: {:?}",
                report.protocols.keys()
            ),
            Err(other) => panic!("{what}: {other}"),
        }
    }
}
