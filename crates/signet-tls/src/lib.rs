//! TLS configuration test of one server (R-AUX-3): which protocols, suites and groups it
//! accepts, the chain it serves, its revocation information, whether it asks for a client
//! certificate and from which CAs, HSTS and renegotiation — then a grade by the SSL Labs rating
//! guide and a verdict against Mozilla's profiles.
//!
//! Probing is done with hand-built hellos ([`hello`], [`probe`]), which read what every server
//! sends in the clear — so servers that demand a client certificate are probed as completely as
//! others — and with one rustls handshake for what TLS 1.3 encrypts ([`modern`]).

pub mod chain;
pub mod discover;
pub mod hello;
pub mod modern;
pub mod mozilla;
pub mod policy;
pub mod probe;
pub mod rating;
pub mod report;
pub mod starttls;
pub mod suites;
pub mod wire;

use std::net::SocketAddr;
use std::time::Duration;

use thiserror::Error;

pub use policy::{AddressPolicy, GuardedFetch};
pub use report::{Options, Report, run};
pub use starttls::StartTls;
pub use wire::Endpoint;

/// Why a test could not run. A server with a bad configuration is not an error: that is what
/// the report is for.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TlsTestError {
    /// The target is not of the form HOST[:PORT] or does not resolve.
    #[error("{0}")]
    Target(String),
    /// The address policy forbids the target.
    #[error("refused: {0}")]
    Refused(String),
    /// No TCP connection to the endpoint.
    #[error(
        "{address} cannot be reached: {problem}; check the host, the port and any firewall between"
    )]
    Unreachable {
        address: SocketAddr,
        problem: String,
    },
    /// The in-band upgrade to TLS failed.
    #[error(
        "{protocol} STARTTLS failed: {problem}; check that the port speaks {protocol} and offers STARTTLS"
    )]
    StartTls {
        protocol: &'static str,
        problem: String,
    },
    /// A full handshake failed for another reason than a missing client certificate.
    #[error("the TLS handshake with {address} failed: {problem}")]
    Handshake {
        address: SocketAddr,
        problem: String,
    },
    /// The endpoint answered none of the hellos with TLS.
    #[error(
        "{0} does not speak TLS (no version from SSLv2 to TLS 1.3 was accepted); check the port, or pass --starttls for a mail or directory port"
    )]
    NoTls(SocketAddr),
}

/// A target as typed: `host`, `host:port`, `[v6]:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
}

/// The usual port of a protocol: 443 for HTTPS, the STARTTLS port of the others.
pub fn default_port(starttls: Option<StartTls>) -> u16 {
    match starttls {
        None => 443,
        Some(StartTls::Smtp) => 25,
        Some(StartTls::Imap) => 143,
        Some(StartTls::Pop3) => 110,
        Some(StartTls::Ldap) => 389,
    }
}

impl Target {
    /// Parses `HOST[:PORT]`; a bracketed IPv6 address may carry a port.
    pub fn parse(text: &str, starttls: Option<StartTls>) -> Result<Target, TlsTestError> {
        let text = text.trim();
        let bad = |why: &str| TlsTestError::Target(format!("{text:?} is not HOST[:PORT]: {why}"));
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(|| bad("no closing ]"))?;
            let port = match after.strip_prefix(':') {
                Some(port) => Some(port),
                None if after.is_empty() => None,
                None => return Err(bad("text after ]")),
            };
            (host.to_owned(), port)
        } else if text.matches(':').count() > 1 {
            (text.to_owned(), None) // a bare IPv6 address
        } else if let Some((host, port)) = text.split_once(':') {
            (host.to_owned(), Some(port))
        } else {
            (text.to_owned(), None)
        };
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?,
            None => default_port(starttls),
        };
        let valid = !host.is_empty()
            && host.len() <= 253
            && (host.parse::<std::net::IpAddr>().is_ok()
                || host.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                }));
        if !valid {
            return Err(bad("the host is not a DNS name or an IP address"));
        }
        Ok(Target {
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

/// The default timeout of each connection.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_with_and_without_ports() {
        assert_eq!(
            Target::parse("Example.org", None).unwrap(),
            Target {
                host: "example.org".into(),
                port: 443
            }
        );
        assert_eq!(
            Target::parse("mail.example.org", Some(StartTls::Smtp))
                .unwrap()
                .port,
            25
        );
        assert_eq!(Target::parse("[::1]:8443", None).unwrap().host, "::1");
        assert_eq!(Target::parse("::1", None).unwrap().port, 443);
        assert!(Target::parse("host:0", None).is_err());
        assert!(Target::parse("host:99999", None).is_err());
        assert!(Target::parse("a b", None).is_err());
        assert!(Target::parse("http://x/", None).is_err());
    }
}
