//! Which versions, suites and groups the server accepts, found with hand-built hellos: offer a
//! set, note the server's pick, take it out, offer the rest again. The server's order comes for
//! free when it enforces one; whether it does is one more hello with the list reversed.

use std::io::Write;

use crate::TlsTestError;
use crate::hello::{self, Offer, Version};
use crate::suites;
use crate::wire::{self, Endpoint, Flight, KeyExchange};

/// What one version gave.
#[derive(Debug, Clone, Default)]
pub struct VersionResult {
    /// Suites accepted: in the server's order when it has one, else in the order found.
    pub suites: Vec<AcceptedSuite>,
    /// Whether the server picks by its own order (None when fewer than two suites).
    pub server_order: Option<bool>,
    /// The whole answer to the first accepted hello: certificates, CertificateRequest, staple.
    pub first_flight: Option<Flight>,
}

/// One accepted suite and the key exchange the server chose with it.
#[derive(Debug, Clone)]
pub struct AcceptedSuite {
    pub id: u16,
    pub key_exchange: Option<KeyExchange>,
}

fn random() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    // A probe's random needs to be unique, not secret; a failure leaves zeros, still valid.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    bytes
}

/// One hello on a new connection.
pub fn ask(endpoint: &Endpoint, offer: &Offer<'_>) -> Result<Flight, TlsTestError> {
    let mut stream = endpoint.connect()?;
    wire::exchange(&mut stream, &hello::client_hello(offer, &random())).map_err(|e| {
        TlsTestError::Unreachable {
            address: endpoint.address,
            problem: e.to_string(),
        }
    })
}

fn groups_for(version: Version) -> Vec<u16> {
    if version == Version::Tls13 {
        hello::tls13_groups()
    } else {
        hello::GROUPS.iter().map(|g| g.0).collect()
    }
}

/// Every suite `version` accepts.
pub fn version(endpoint: &Endpoint, version: Version) -> Result<VersionResult, TlsTestError> {
    if version == Version::Ssl2 {
        return sslv2(endpoint).map(|kinds| VersionResult {
            suites: kinds
                .into_iter()
                .map(|kind| AcceptedSuite {
                    id: kind as u16,
                    key_exchange: None,
                })
                .collect(),
            ..VersionResult::default()
        });
    }
    let groups = groups_for(version);
    let server_name = Some(endpoint.server_name.as_str());
    let mut candidates = suites::candidates(version);
    let mut result = VersionResult::default();
    while !candidates.is_empty() {
        let flight = ask(
            endpoint,
            &Offer {
                version,
                suites: &candidates,
                groups: &groups,
                server_name,
            },
        )?;
        let Some(answer) = flight.hello.as_ref() else {
            break;
        };
        if answer.version != Some(version) || !candidates.contains(&answer.suite) {
            break;
        }
        let chosen = answer.suite;
        let key_exchange = flight.key_exchange.or(answer.group.map(KeyExchange::Group));
        result.suites.push(AcceptedSuite {
            id: chosen,
            key_exchange,
        });
        candidates.retain(|&s| s != chosen);
        result.first_flight.get_or_insert(flight);
    }
    if result.suites.len() >= 2 {
        let reversed: Vec<u16> = result.suites.iter().rev().map(|s| s.id).collect();
        let flight = ask(
            endpoint,
            &Offer {
                version,
                suites: &reversed,
                groups: &groups,
                server_name,
            },
        )?;
        let picked = flight.hello.map(|h| h.suite);
        result.server_order = match picked {
            Some(s) if s == result.suites[0].id => Some(true),
            Some(s) if s == reversed[0] => Some(false),
            _ => None,
        };
    }
    Ok(result)
}

/// The groups the server accepts for key exchange at `version`, in its order of preference.
/// TLS 1.3 servers name their pick in a HelloRetryRequest; TLS 1.2 ones in ServerKeyExchange
/// (offered ECDHE suites only).
pub fn groups(
    endpoint: &Endpoint,
    version: Version,
    suites: &[u16],
) -> Result<Vec<u16>, TlsTestError> {
    let suites: Vec<u16> = if version == Version::Tls13 {
        suites.to_vec()
    } else {
        suites
            .iter()
            .copied()
            .filter(|&s| suites::is_ecdhe(s))
            .collect()
    };
    if suites.is_empty() {
        return Ok(Vec::new());
    }
    let mut candidates: Vec<u16> = groups_for(version)
        .into_iter()
        .filter(|&g| version == Version::Tls13 || !(256..=260).contains(&g))
        .collect();
    let mut accepted = Vec::new();
    while !candidates.is_empty() {
        let flight = ask(
            endpoint,
            &Offer {
                version,
                suites: &suites,
                groups: &candidates,
                server_name: Some(endpoint.server_name.as_str()),
            },
        )?;
        let group = match (&flight.hello, flight.key_exchange) {
            (Some(hello), _) if hello.version == Some(Version::Tls13) => hello.group,
            (Some(_), Some(KeyExchange::Group(group))) => Some(group),
            _ => None,
        };
        match group {
            Some(group) if candidates.contains(&group) => {
                accepted.push(group);
                candidates.retain(|&g| g != group);
            }
            _ => break,
        }
    }
    Ok(accepted)
}

/// The SSLv2 cipher kinds the server accepts (empty when it does not speak SSLv2).
fn sslv2(endpoint: &Endpoint) -> Result<Vec<u32>, TlsTestError> {
    let mut stream = endpoint.connect()?;
    let mut challenge = [0u8; 16];
    challenge.copy_from_slice(&random()[..16]);
    if stream.write_all(&hello::sslv2_hello(&challenge)).is_err() {
        return Ok(Vec::new());
    }
    let answer = wire::read_some(&mut stream, endpoint.wait(), 64 * 1024);
    Ok(wire::sslv2_ciphers(&answer).unwrap_or_default())
}

/// Whether the server refuses a handshake without a client certificate: sends an empty
/// Certificate after the flight at `version` and waits briefly for an alert. A server that only
/// asks waits for the key exchange instead and says nothing.
pub fn requires_client_certificate(
    endpoint: &Endpoint,
    version: Version,
    suites: &[u16],
) -> Result<bool, TlsTestError> {
    let groups = groups_for(version);
    let mut stream = endpoint.connect()?;
    let hello = hello::client_hello(
        &Offer {
            version,
            suites,
            groups: &groups,
            server_name: Some(endpoint.server_name.as_str()),
        },
        &random(),
    );
    let flight = wire::exchange(&mut stream, &hello).map_err(|e| TlsTestError::Unreachable {
        address: endpoint.address,
        problem: e.to_string(),
    })?;
    if !flight.complete || flight.certificate_request.is_none() {
        return Ok(false);
    }
    if stream
        .write_all(&hello::empty_certificate(version))
        .is_err()
    {
        return Ok(true);
    }
    let wait = endpoint.wait().min(std::time::Duration::from_millis(1500));
    let answer = wire::read_some(&mut stream, wait, 64);
    // An alert record (21), or the server hanging up at once, is a refusal.
    Ok(answer.first() == Some(&21) || answer.is_empty() && !stream_open(&mut stream))
}

/// Whether the peer has not closed the connection.
fn stream_open(stream: &mut std::net::TcpStream) -> bool {
    let _ = stream.set_nonblocking(true);
    let mut byte = [0u8; 1];
    let open =
        matches!(stream.peek(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
    let _ = stream.set_nonblocking(false);
    open
}
