//! Connections to the endpoint under test and the server's plaintext answer to one hello.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tls_parser::{TlsMessage, TlsMessageHandshake};

use crate::TlsTestError;
use crate::hello::Version;
use crate::starttls::StartTls;

/// The one endpoint a test talks to. Every connection of a test goes to `address`; nothing else
/// is dialled (revocation URLs named by the certificate go through [`crate::Fetcher`]).
#[derive(Debug)]
pub struct Endpoint {
    /// The address connected to, resolved (and, in the portal, vetted) by the caller.
    pub address: SocketAddr,
    /// The name sent as SNI and matched against the certificate.
    pub server_name: String,
    pub starttls: Option<StartTls>,
    /// Connect, read and write timeout of each connection.
    pub timeout: Duration,
    /// When the whole test must be over: no connection is opened after it, and no exchange
    /// outlives it, however slowly a server drips its bytes.
    pub deadline: Instant,
    connections: AtomicUsize,
}

/// How long a whole test may take unless the caller says otherwise.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(300);

impl Endpoint {
    pub fn new(
        address: SocketAddr,
        server_name: String,
        starttls: Option<StartTls>,
        timeout: Duration,
    ) -> Endpoint {
        Endpoint {
            address,
            server_name,
            starttls,
            timeout,
            deadline: Instant::now() + DEFAULT_BUDGET,
            connections: AtomicUsize::new(0),
        }
    }

    /// The same endpoint with the whole test limited to `budget` from now.
    pub fn with_budget(mut self, budget: Duration) -> Endpoint {
        self.deadline = Instant::now() + budget;
        self
    }

    /// The time a connection may still wait: its timeout, or what is left of the test.
    pub fn wait(&self) -> Duration {
        self.timeout
            .min(self.deadline.saturating_duration_since(Instant::now()))
            .max(Duration::from_millis(1))
    }

    /// TCP connections opened so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// A new connection, with the STARTTLS exchange done: the next bytes are TLS.
    pub fn connect(&self) -> Result<TcpStream, TlsTestError> {
        if Instant::now() >= self.deadline {
            return Err(TlsTestError::Unreachable {
                address: self.address,
                problem: "the test ran out of time: the server answers too slowly".into(),
            });
        }
        self.connections.fetch_add(1, Ordering::Relaxed);
        let unreachable = |e: std::io::Error| TlsTestError::Unreachable {
            address: self.address,
            problem: e.to_string(),
        };
        let mut stream =
            TcpStream::connect_timeout(&self.address, self.wait()).map_err(unreachable)?;
        stream
            .set_read_timeout(Some(self.wait()))
            .map_err(unreachable)?;
        stream
            .set_write_timeout(Some(self.wait()))
            .map_err(unreachable)?;
        stream.set_nodelay(true).map_err(unreachable)?;
        if let Some(kind) = self.starttls {
            kind.negotiate(&mut stream, self.deadline)?;
        }
        Ok(stream)
    }
}

/// What the server said in answer to a ClientHello, up to where it stops being plaintext.
#[derive(Debug, Default, Clone)]
pub struct Flight {
    pub hello: Option<ServerHello>,
    /// The certificates of the Certificate message, as sent (TLS 1.2 and older).
    pub certificates: Vec<Vec<u8>>,
    /// A CertificateRequest: the server asks for a client certificate.
    pub certificate_request: Option<CertificateRequest>,
    /// The group (ECDHE) or prime size (DHE) of the ServerKeyExchange.
    pub key_exchange: Option<KeyExchange>,
    /// A stapled OCSP response (CertificateStatus).
    pub ocsp_staple: Option<Vec<u8>>,
    /// The first alert received, as (level, description).
    pub alert: Option<(u8, u8)>,
    /// The flight ended with ServerHelloDone: the server waits for the client.
    pub complete: bool,
}

/// The parts of a ServerHello or HelloRetryRequest a report uses.
#[derive(Debug, Clone)]
pub struct ServerHello {
    /// The negotiated version (from supported_versions when present).
    pub version: Option<Version>,
    pub suite: u16,
    /// It was a HelloRetryRequest (TLS 1.3): the server asks for a key share in `group`.
    pub retry: bool,
    /// The group chosen, from key_share (TLS 1.3).
    pub group: Option<u16>,
    /// renegotiation_info was in the answer (RFC 5746).
    pub secure_renegotiation: bool,
}

/// A CertificateRequest: which CAs' certificates the server accepts.
#[derive(Debug, Clone, Default)]
pub struct CertificateRequest {
    /// DER-encoded distinguished names, in the server's order.
    pub ca_names: Vec<Vec<u8>>,
}

/// The key exchange parameters of a ServerKeyExchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyExchange {
    Group(u16),
    DhPrimeBits(u16),
}

/// Most bytes read in answer to one hello: a server that sends more is not answering a hello.
const MAX_FLIGHT: usize = 1 << 20;

/// The SHA-256 of "HelloRetryRequest" (RFC 8446 §4.1.3): the random of a retry request.
const RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Sends `hello` on `stream` and reads the answer: up to ServerHelloDone, the TLS 1.3
/// ServerHello, an alert, or the server closing.
pub fn exchange(stream: &mut TcpStream, hello: &[u8]) -> Result<Flight, std::io::Error> {
    stream.write_all(hello)?;
    read_flight(stream)
}

fn read_flight(stream: &mut TcpStream) -> Result<Flight, std::io::Error> {
    let deadline = Instant::now() + stream.read_timeout()?.unwrap_or(Duration::from_secs(10));
    let mut reader = FlightReader::default();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        if Instant::now() > deadline {
            return Ok(reader.finish());
        }
        match stream.read(&mut buffer) {
            Ok(0) => return Ok(reader.finish()),
            Ok(n) => {
                if reader.push(&buffer[..n]) {
                    return Ok(reader.finish());
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::ConnectionReset
                ) =>
            {
                return Ok(reader.finish());
            }
            Err(e) => return Err(e),
        }
    }
}

/// Reads a server's flight from bytes as they arrive: records split and joined, handshake
/// messages reassembled across records. Pure, so that hostile input can be fuzzed.
#[derive(Debug, Default)]
pub struct FlightReader {
    flight: Flight,
    bytes: Vec<u8>,
    handshake: Vec<u8>,
}

impl FlightReader {
    /// Takes more bytes; true when the plaintext flight is over (or cannot be read further).
    pub fn push(&mut self, data: &[u8]) -> bool {
        self.bytes.extend_from_slice(data);
        // Records are taken off the front of `bytes` as soon as they are whole.
        while let Ok((rest, record)) = tls_parser::parse_tls_raw_record(&self.bytes) {
            let consumed = self.bytes.len() - rest.len();
            match record.hdr.record_type.0 {
                21 if record.data.len() >= 2 => {
                    self.flight
                        .alert
                        .get_or_insert((record.data[0], record.data[1]));
                    return true;
                }
                22 => self.handshake.extend_from_slice(record.data),
                20 => {} // a TLS 1.3 server's compatibility ChangeCipherSpec
                _ => return true,
            }
            self.bytes.drain(..consumed);
            if read_messages(&mut self.handshake, &mut self.flight) {
                return true;
            }
        }
        // Not TLS (an HTTP error page, an SSLv2 answer...), or more than a hello's answer.
        (self.bytes.len() >= 5 && !matches!(self.bytes[0], 20..=23))
            || self.bytes.len() + self.handshake.len() > MAX_FLIGHT
    }

    /// What was read.
    pub fn finish(self) -> Flight {
        self.flight
    }
}

/// Parses whole handshake messages off the front of `handshake` into `flight`; true when the
/// plaintext part of the server's flight is over.
fn read_messages(handshake: &mut Vec<u8>, flight: &mut Flight) -> bool {
    loop {
        if handshake.len() < 4 {
            return false;
        }
        let length = usize::from(handshake[1]) << 16
            | usize::from(handshake[2]) << 8
            | usize::from(handshake[3]);
        if handshake.len() < 4 + length {
            return false;
        }
        let message: Vec<u8> = handshake.drain(..4 + length).collect();
        let Ok((_, TlsMessage::Handshake(parsed))) =
            tls_parser::parse_tls_message_handshake(&message)
        else {
            // A message tls-parser cannot read ends what we can learn from this flight.
            return true;
        };
        match parsed {
            TlsMessageHandshake::ServerHello(hello) => {
                let extensions = split_extensions(hello.ext.unwrap_or_default());
                let negotiated = extensions
                    .iter()
                    .find(|(kind, _)| *kind == 43)
                    .and_then(|(_, data)| data.get(..2))
                    .map(|v| u16::from_be_bytes([v[0], v[1]]))
                    .unwrap_or(hello.version.0);
                let group = extensions
                    .iter()
                    .find(|(kind, _)| *kind == 51)
                    .and_then(|(_, data)| data.get(..2))
                    .map(|v| u16::from_be_bytes([v[0], v[1]]));
                let tls13 = negotiated == 0x0304;
                flight.hello = Some(ServerHello {
                    version: Version::from_wire(negotiated),
                    suite: hello.cipher.0,
                    retry: hello.random == RETRY_RANDOM,
                    group,
                    secure_renegotiation: extensions.iter().any(|(kind, _)| *kind == 0xff01),
                });
                if tls13 {
                    return true; // the rest is encrypted
                }
            }
            TlsMessageHandshake::Certificate(certificates) => {
                flight.certificates = certificates
                    .cert_chain
                    .iter()
                    .map(|c| c.data.to_vec())
                    .collect();
            }
            TlsMessageHandshake::CertificateStatus(status) if status.status_type == 1 => {
                // ocsp_response: a 3-byte length, then the OCSPResponse.
                flight.ocsp_staple = status.blob.get(3..).map(<[u8]>::to_vec);
            }
            TlsMessageHandshake::ServerKeyExchange(exchange) => {
                let ecdhe = flight
                    .hello
                    .as_ref()
                    .is_some_and(|h| crate::suites::is_ecdhe(h.suite));
                flight.key_exchange = key_exchange(exchange.parameters, ecdhe);
            }
            TlsMessageHandshake::CertificateRequest(request) => {
                flight.certificate_request = Some(CertificateRequest {
                    ca_names: request.unparsed_ca.iter().map(|n| n.to_vec()).collect(),
                });
            }
            TlsMessageHandshake::ServerDone(_) => {
                flight.complete = true;
                return true;
            }
            _ => {}
        }
    }
}

/// The group or prime size of ServerKeyExchange parameters: an ECDHE one starts with
/// curve_type named_curve (3) and a two-byte group; a DHE one with the prime's length (which
/// may start with 3 too: the negotiated suite tells them apart).
fn key_exchange(parameters: &[u8], ecdhe: bool) -> Option<KeyExchange> {
    match parameters {
        [3, high, low, ..] if ecdhe => Some(KeyExchange::Group(u16::from_be_bytes([*high, *low]))),
        _ if ecdhe => None,
        [high, low, rest @ ..] => {
            let length = usize::from(u16::from_be_bytes([*high, *low]));
            let prime = rest.get(..length)?;
            let leading = prime.iter().take_while(|b| **b == 0).count();
            let significant = &prime[leading..];
            let top = significant
                .first()
                .map_or(0, |b| 8 - b.leading_zeros() as usize);
            let bits = significant.len().saturating_sub(1) * 8 + top;
            Some(KeyExchange::DhPrimeBits(bits as u16))
        }
        _ => None,
    }
}

/// The (type, data) pairs of an extensions block; stops at the first malformed one.
pub fn split_extensions(mut data: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while data.len() >= 4 {
        let kind = u16::from_be_bytes([data[0], data[1]]);
        let length = usize::from(u16::from_be_bytes([data[2], data[3]]));
        let Some(body) = data.get(4..4 + length) else {
            break;
        };
        out.push((kind, body));
        data = &data[4 + length..];
    }
    out
}

/// The SSLv2 SERVER-HELLO's cipher kinds, when `answer` is one.
pub fn sslv2_ciphers(answer: &[u8]) -> Option<Vec<u32>> {
    // A two-byte header with the top bit set, then SERVER-HELLO (4), session-id-hit,
    // certificate type, version, certificate length, cipher specs length, connection id length.
    if answer.len() < 13 || answer[0] & 0x80 == 0 || answer[2] != 4 {
        return None;
    }
    let certificate_length = usize::from(u16::from_be_bytes([answer[7], answer[8]]));
    let specs_length = usize::from(u16::from_be_bytes([answer[9], answer[10]]));
    let specs = answer.get(13 + certificate_length..13 + certificate_length + specs_length)?;
    Some(
        specs
            .chunks_exact(3)
            .map(|c| u32::from_be_bytes([0, c[0], c[1], c[2]]))
            .collect(),
    )
}

/// Reads whatever the server sends within `wait`, up to `limit` bytes.
pub fn read_some(stream: &mut TcpStream, wait: Duration, limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let deadline = Instant::now() + wait;
    let mut buffer = [0u8; 4096];
    while out.len() < limit {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buffer[..n]),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prime_size_of_a_dhe_exchange_counts_significant_bits() {
        let mut parameters = vec![0x01, 0x01, 0x00];
        parameters.extend(std::iter::repeat_n(0xff, 256));
        assert_eq!(
            key_exchange(&parameters, false),
            Some(KeyExchange::DhPrimeBits(2048))
        );
        assert_eq!(
            key_exchange(&[3, 0, 29, 32], true),
            Some(KeyExchange::Group(29))
        );
        // A 6144-bit prime: its length's first byte is 3, as a curve_type would be.
        let mut big = vec![0x03, 0x00];
        big.extend(std::iter::repeat_n(0xff, 768));
        assert_eq!(
            key_exchange(&big, false),
            Some(KeyExchange::DhPrimeBits(6144))
        );
    }

    #[test]
    fn malformed_extensions_stop_the_split() {
        assert_eq!(
            split_extensions(&[0, 5, 0, 1, 9, 0xff, 1, 0, 9]),
            vec![(5, &[9][..])]
        );
    }
}
