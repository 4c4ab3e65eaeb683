//! A full handshake with rustls, for what TLS 1.3 encrypts (the chain, the stapled OCSP
//! response, the certificate_authorities of a CertificateRequest) and for what only a finished
//! handshake tells: whether a server that asks for a client certificate insists on one, and the
//! HSTS header of an HTTPS server.
//!
//! The handshake accepts any certificate: the chain is judged afterwards, by [`crate::chain`],
//! with reasons a handshake error could not give.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::TlsTestError;
use crate::hello::Version;
use crate::wire::Endpoint;

/// What a completed (or refused) handshake showed.
#[derive(Debug, Clone, Default)]
pub struct Handshake {
    pub version: Option<Version>,
    pub suite: Option<u16>,
    /// The certificates as served, leaf first.
    pub certificates: Vec<Vec<u8>>,
    pub ocsp_staple: Option<Vec<u8>>,
    /// The CertificateRequest's CA names, when the server asked for a client certificate.
    pub ca_names: Option<Vec<Vec<u8>>>,
    /// The server ended the handshake because no client certificate came.
    pub refused_without_certificate: bool,
    /// The server answered an HTTP request; with the Strict-Transport-Security header if any.
    pub http: Option<HttpAnswer>,
}

/// An HTTP response's status and HSTS header.
#[derive(Debug, Clone, Default)]
pub struct HttpAnswer {
    pub status: u16,
    pub hsts: Option<String>,
}

#[derive(Debug, Default)]
struct Seen {
    certificates: Vec<Vec<u8>>,
    ocsp: Vec<u8>,
    ca_names: Option<Vec<Vec<u8>>>,
}

/// Records what the server shows and accepts it all.
#[derive(Debug)]
struct Recorder {
    seen: Arc<Mutex<Seen>>,
    schemes: Vec<SignatureScheme>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.certificates = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.as_ref().to_vec())
            .collect();
        seen.ocsp = ocsp_response.to_vec();
        Ok(ServerCertVerified::assertion())
    }

    // A test reads what the server sends; it sends nothing secret, so a forged signature costs
    // nothing, and a real one by a key the chain check will judge anyway.
    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

impl ResolvesClientCert for Recorder {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.ca_names = Some(root_hint_subjects.iter().map(|n| n.to_vec()).collect());
        None // the test has no certificate to offer: that is what it checks
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Largest HTTP response head read for the HSTS header.
const MAX_HEAD: usize = 64 * 1024;

/// A handshake at TLS 1.3 (when `tls13`) or TLS 1.2, then, on a plain TLS endpoint and with
/// `http`, one `GET /` for the HSTS header.
pub fn handshake(endpoint: &Endpoint, tls13: bool, http: bool) -> Result<Handshake, TlsTestError> {
    let failed = |problem: String| TlsTestError::Handshake {
        address: endpoint.address,
        problem,
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let recorder = Arc::new(Recorder {
        seen: seen.clone(),
        schemes: provider
            .signature_verification_algorithms
            .supported_schemes(),
    });
    let versions: &[&rustls::SupportedProtocolVersion] = if tls13 {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS12]
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| failed(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_client_cert_resolver(recorder);
    let name = ServerName::try_from(endpoint.server_name.clone())
        .unwrap_or_else(|_| ServerName::IpAddress(endpoint.address.ip().into()));
    let mut connection =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| failed(e.to_string()))?;
    let mut tcp = endpoint.connect()?;
    let mut result = Handshake::default();
    let handshake_deadline = Instant::now() + endpoint.wait();
    let outcome = drive(&mut connection, &mut tcp, handshake_deadline);
    let refused = outcome.as_ref().err().is_some_and(refused_for_certificate);
    {
        let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
        result.certificates = seen.certificates.clone();
        result.ocsp_staple = (!seen.ocsp.is_empty()).then(|| seen.ocsp.clone());
        result.ca_names = seen.ca_names.clone();
    }
    result.version = connection
        .protocol_version()
        .and_then(|v| Version::from_wire(v.into()));
    result.suite = connection
        .negotiated_cipher_suite()
        .map(|s| s.suite().into());
    if let Err(e) = outcome {
        if result.ca_names.is_some() && refused {
            result.refused_without_certificate = true;
            return Ok(result);
        }
        return Err(failed(e.to_string()));
    }
    if !http {
        return Ok(result); // only what the handshake showed is wanted
    }
    if endpoint.starttls.is_none() {
        let mut stream = rustls::Stream::new(&mut connection, &mut tcp);
        let (answer, refusal) = http_head(&mut stream, endpoint);
        result.http = answer;
        result.refused_without_certificate = result.ca_names.is_some() && refusal;
    } else if result.ca_names.is_some() && tls13 {
        // A TLS 1.3 server judges the client's (empty) Certificate after its own Finished; its
        // refusal arrives as the first record after the handshake.
        let mut stream = rustls::Stream::new(&mut connection, &mut tcp);
        let _ = stream.sock.set_read_timeout(Some(short_wait(endpoint)));
        let mut byte = [0u8; 1];
        if let Err(e) = stream.read(&mut byte) {
            result.refused_without_certificate = refused_for_certificate(&e);
        }
    }
    Ok(result)
}

fn short_wait(endpoint: &Endpoint) -> Duration {
    endpoint.wait().min(Duration::from_secs(3))
}

fn drive(
    connection: &mut rustls::ClientConnection,
    tcp: &mut std::net::TcpStream,
    deadline: Instant,
) -> Result<(), std::io::Error> {
    while connection.is_handshaking() {
        if Instant::now() >= deadline {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the handshake took too long",
            ));
        }
        connection.complete_io(tcp)?;
    }
    // Flush the client's last flight, so a refusal has something to answer.
    while connection.wants_write() {
        connection.write_tls(tcp)?;
    }
    Ok(())
}

/// A refusal by alert: certificate_required (TLS 1.3), handshake_failure or bad_certificate.
fn refused_for_certificate(error: &std::io::Error) -> bool {
    use rustls::AlertDescription as A;
    let Some(rustls::Error::AlertReceived(alert)) = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    else {
        return false;
    };
    matches!(
        alert,
        A::CertificateRequired | A::HandshakeFailure | A::BadCertificate | A::AccessDenied
    )
}

/// Sends `GET /` and reads the response; also returns whether the server refused for want of a
/// client certificate — by alert, or, as nginx with `ssl_verify_client on` does, with an HTTP
/// error page after a handshake it let finish.
fn http_head(
    stream: &mut rustls::Stream<'_, rustls::ClientConnection, std::net::TcpStream>,
    endpoint: &Endpoint,
) -> (Option<HttpAnswer>, bool) {
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nUser-Agent: signet-tls-test\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        endpoint.server_name
    );
    if let Err(e) = stream.write_all(request.as_bytes()) {
        return (None, refused_for_certificate(&e));
    }
    let deadline = Instant::now() + short_wait(endpoint);
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    // The head and the start of the body: enough for HSTS and for an error page's reason.
    while response.len() < MAX_HEAD {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.sock.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buffer[..n]),
            Err(e) => {
                if response.is_empty() {
                    return (None, refused_for_certificate(&e));
                }
                break;
            }
        }
        let head_end = response.windows(4).position(|w| w == b"\r\n\r\n");
        if head_end.is_some_and(|end| response.len() >= end + 4 + 512) {
            break;
        }
    }
    let answer = parse_head(&response);
    let refused_by_page = answer.as_ref().is_some_and(|a| {
        matches!(a.status, 400 | 403 | 495 | 496)
            && String::from_utf8_lossy(&response)
                .to_ascii_lowercase()
                .contains("certificate")
    });
    (answer, refused_by_page)
}

fn parse_head(head: &[u8]) -> Option<HttpAnswer> {
    let mut headers = [httparse::EMPTY_HEADER; 96];
    let mut response = httparse::Response::new(&mut headers);
    response.parse(head).ok()?;
    let status = response.code?;
    let hsts = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("strict-transport-security"))
        .map(|h| String::from_utf8_lossy(h.value).into_owned());
    Some(HttpAnswer { status, hsts })
}

/// The max-age of an HSTS header value, in seconds.
pub fn hsts_max_age(value: &str) -> Option<u64> {
    value.split(';').find_map(|directive| {
        let (name, age) = directive.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| age.trim().trim_matches('"').parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsts_headers_are_read_with_their_max_age() {
        assert_eq!(
            hsts_max_age("max-age=31536000; includeSubDomains"),
            Some(31_536_000)
        );
        assert_eq!(hsts_max_age("includeSubDomains; MAX-AGE=\"60\""), Some(60));
        assert_eq!(hsts_max_age("preload"), None);
        let answer = parse_head(b"HTTP/1.1 200 OK\r\nStrict-Transport-Security: max-age=5\r\n\r\n")
            .expect("parses");
        assert_eq!(answer.status, 200);
        assert_eq!(answer.hsts.as_deref(), Some("max-age=5"));
    }
}
