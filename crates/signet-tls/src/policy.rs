//! Which addresses a test may reach. A test run from the portal is a connection made on a
//! user's behalf; without this, it would be a way to scan the operator's own network.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use serde::Deserialize;
use signet_sign::SignError;
use signet_sign::network::Fetch;

use crate::TlsTestError;

/// Address ranges a test may reach, beyond public unicast addresses.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AddressPolicy {
    /// 127.0.0.0/8 and ::1.
    pub allow_loopback: bool,
    /// RFC 1918, RFC 6598 shared space, fc00::/7 unique local.
    pub allow_private: bool,
    /// Refuse this machine's own addresses (found by asking the kernel which source address
    /// it would use: its own when the destination is local), unless they are loopback and
    /// loopback is allowed.
    #[serde(skip)]
    pub refuse_own: bool,
    /// Ranges the operator allowed explicitly (discovery's allowlist): reached whatever their
    /// kind.
    #[serde(skip)]
    pub also_allowed: Vec<ipnet::IpNet>,
}

/// Whether `ip` is an address of this machine: a route to it leaves from it.
fn is_own(ip: IpAddr) -> bool {
    let any: SocketAddr = if ip.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    // A UDP "connect" sends nothing; it only picks the route and the source address.
    std::net::UdpSocket::bind(any)
        .and_then(|socket| {
            socket.connect(SocketAddr::new(ip, 9))?;
            socket.local_addr()
        })
        .is_ok_and(|local| local.ip() == ip)
}

impl AddressPolicy {
    /// Everything allowed: the command line, run by the operator for the operator.
    pub fn open() -> AddressPolicy {
        AddressPolicy {
            allow_loopback: true,
            allow_private: true,
            refuse_own: false,
            also_allowed: Vec::new(),
        }
    }

    /// Why `ip` may not be reached, if it may not.
    pub fn refusal(&self, ip: IpAddr) -> Option<String> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        if self.also_allowed.iter().any(|net| net.contains(&ip)) {
            return None;
        }
        if self.refuse_own && !(ip.is_loopback() && self.allow_loopback) && is_own(ip) {
            return Some(format!("{ip} is this server's own address"));
        }
        let (loopback, private, never) = match ip {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                (
                    v4.is_loopback(),
                    v4.is_private() || (o[0] == 100 && (64..128).contains(&o[1])),
                    v4.is_unspecified()
                        || v4.is_link_local()
                        || v4.is_broadcast()
                        || v4.is_multicast()
                        || v4.is_documentation()
                        || o[0] == 0
                        || o[0] >= 240,
                )
            }
            IpAddr::V6(v6) => {
                let first = v6.segments()[0];
                (
                    v6.is_loopback(),
                    (first & 0xfe00) == 0xfc00,
                    v6.is_unspecified() || v6.is_multicast() || (first & 0xffc0) == 0xfe80,
                )
            }
        };
        if never {
            return Some(format!(
                "{ip} is a link-local, multicast or reserved address, which a test never reaches"
            ));
        }
        if loopback && !self.allow_loopback {
            return Some(format!(
                "{ip} is a loopback address; the operator has not allowed tests of this machine"
            ));
        }
        if private && !self.allow_private {
            return Some(format!(
                "{ip} is a private address; the operator has not allowed tests of the internal network"
            ));
        }
        None
    }

    /// Resolves `host:port` and returns the first address the policy allows; an error naming
    /// the refused address when every one is refused.
    pub fn resolve(&self, host: &str, port: u16) -> Result<SocketAddr, TlsTestError> {
        let addresses: Vec<SocketAddr> = (host, port)
            .to_socket_addrs()
            .map_err(|e| TlsTestError::Target(format!("{host} cannot be resolved: {e}")))?
            .collect();
        let mut refusals = Vec::new();
        for address in &addresses {
            match self.refusal(address.ip()) {
                None => return Ok(*address),
                Some(why) => refusals.push(why),
            }
        }
        if refusals.is_empty() {
            return Err(TlsTestError::Target(format!("{host} has no address")));
        }
        Err(TlsTestError::Refused(refusals.join("; ")))
    }
}

/// HTTP fetches of the URLs a certificate names (OCSP, CRL, AIA issuers), to addresses the
/// policy allows only: the host is resolved and checked first, and the request pinned to the
/// checked address so that a second lookup cannot point it elsewhere.
#[derive(Debug)]
pub struct GuardedFetch {
    pub policy: AddressPolicy,
    pub timeout: Duration,
}

impl GuardedFetch {
    fn client(&self, url: &str) -> Result<(reqwest::blocking::Client, String), SignError> {
        let failed = |problem: String| SignError::Network {
            url: url.to_owned(),
            problem,
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| failed(e.to_string()))?;
        if parsed.scheme() != "http" {
            return Err(failed("only http:// URLs are fetched".into()));
        }
        let host = parsed
            .host_str()
            .ok_or_else(|| failed("the URL has no host".into()))?
            .to_owned();
        let port = parsed.port_or_known_default().unwrap_or(80);
        let host_for_lookup = host.trim_start_matches('[').trim_end_matches(']');
        let address = self
            .policy
            .resolve(host_for_lookup, port)
            .map_err(|e| failed(e.to_string()))?;
        let client = reqwest::blocking::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would look the name up again, past the check.
            .no_proxy()
            .resolve(&host, address)
            .user_agent(concat!("signet-tls-test/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| failed(e.to_string()))?;
        Ok((client, url.to_owned()))
    }
}

impl Fetch for GuardedFetch {
    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, SignError> {
        let (client, url) = self.client(url)?;
        let response = client
            .post(&url)
            .header("content-type", content_type)
            .body(body.to_vec())
            .send();
        signet_sign::network::read_body(&url, response)
    }

    fn get(&self, url: &str) -> Result<Vec<u8>, SignError> {
        let (client, url) = self.client(url)?;
        let response = client.get(&url).send();
        signet_sign::network::read_body(&url, response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_link_local_addresses_are_refused_by_default() {
        let policy = AddressPolicy {
            refuse_own: true,
            ..AddressPolicy::default()
        };
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.0.1",
            "100.64.0.1",
            "169.254.169.254",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
        ] {
            assert!(policy.refusal(ip.parse().unwrap()).is_some(), "{ip}");
        }
        assert!(policy.refusal("93.184.216.34".parse().unwrap()).is_none());
        let loopback = AddressPolicy {
            allow_loopback: true,
            refuse_own: true,
            ..AddressPolicy::default()
        };
        assert!(loopback.refusal("127.0.0.1".parse().unwrap()).is_none());
        assert!(
            loopback
                .refusal("169.254.169.254".parse().unwrap())
                .is_some()
        );
    }
}
