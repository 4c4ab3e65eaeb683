//! Certificate discovery (R-AUX-2): what a discovery job may scan, how its targets become
//! endpoints, how often it runs, and which alerts a certificate seen at a place raises. The
//! scanner (signet-tls), the store and the clock are outside; this is only the rules.

use std::net::IpAddr;

use ipnet::IpNet;
use time::{Duration, OffsetDateTime};

use crate::Refusal;

/// The configuration setting every refusal of a target names, so an operator knows what to
/// change.
pub const ALLOWLIST_SETTING: &str =
    "[discovery] allowed_targets in signet.toml (or SIGNET_DISCOVERY_ALLOWED_TARGETS)";

/// ::ffff:0:0/96 and 64:ff9b::/96 reach IPv4 addresses through IPv6 ones.
const MAPPED: ipnet::Ipv6Net =
    match ipnet::Ipv6Net::new(std::net::Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96) {
        Ok(net) => net,
        Err(_) => panic!("a valid prefix"),
    };
const NAT64: ipnet::Ipv6Net =
    match ipnet::Ipv6Net::new(std::net::Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96) {
        Ok(net) => net,
        Err(_) => panic!("a valid prefix"),
    };

/// One target of a job as an admin typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// An address or a CIDR range; a single address is a /32 (/128).
    Net(IpNet),
    /// A DNS name, resolved at each run and sent as SNI.
    Host(String),
}

impl TargetSpec {
    /// Reads `10.1.2.0/24`, `10.1.2.3`, `2001:db8::/120` or `host.example.org`.
    pub fn parse(text: &str) -> Result<TargetSpec, Refusal> {
        let text = text.trim();
        let bad = |why: &str| Refusal::InvalidInput(format!("target {text:?}: {why}"));
        if let Ok(net) = text.parse::<IpNet>() {
            if let IpNet::V6(v6) = net
                && (MAPPED.contains(&v6) || NAT64.contains(&v6))
            {
                return Err(bad(
                    "IPv4-mapped and NAT64 ranges are refused: write the IPv4 range",
                ));
            }
            if net.trunc() != net {
                return Err(bad(&format!(
                    "host bits are set in the range; write {}",
                    net.trunc()
                )));
            }
            return Ok(TargetSpec::Net(net));
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(TargetSpec::Net(IpNet::from(ip.to_canonical())));
        }
        let name = text.trim_end_matches('.').to_ascii_lowercase();
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
            return Err(bad(
                "not an IP address, a CIDR range (10.1.2.0/24) or a DNS name",
            ));
        }
        Ok(TargetSpec::Host(name))
    }

    /// How many addresses it stands for (a host name counts as one until it is resolved).
    pub fn address_count(&self) -> u128 {
        match self {
            TargetSpec::Host(_) => 1,
            // ::/0 has 2^128 addresses: one more than u128 holds.
            TargetSpec::Net(net) => 1u128
                .checked_shl(u32::from(net.max_prefix_len() - net.prefix_len()))
                .unwrap_or(u128::MAX),
        }
    }

    /// The addresses of a range, in order, at most `limit`: every one of a /31, /32 or IPv6
    /// range; without the network and broadcast address of a wider IPv4 range.
    pub fn addresses(&self, limit: usize) -> Vec<IpAddr> {
        match self {
            TargetSpec::Host(_) => Vec::new(),
            TargetSpec::Net(net) => net.hosts().take(limit).collect(),
        }
    }
}

impl std::fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetSpec::Net(net) if net.prefix_len() == net.max_prefix_len() => {
                write!(f, "{}", net.addr())
            }
            TargetSpec::Net(net) => write!(f, "{net}"),
            TargetSpec::Host(name) => f.write_str(name),
        }
    }
}

/// Reads a comma- or space-separated list of targets.
pub fn parse_targets(text: &str) -> Result<Vec<TargetSpec>, Refusal> {
    let targets: Vec<TargetSpec> = split_list(text)
        .map(TargetSpec::parse)
        .collect::<Result<_, _>>()?;
    if targets.is_empty() {
        return Err(Refusal::InvalidInput(
            "a job needs at least one target: an address, a CIDR range or a host name".into(),
        ));
    }
    Ok(targets)
}

fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// One entry of the operator's allowlist.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Allowed {
    Net(IpNet),
    /// `example.org` (that name only) or `*.example.org` (any name below it).
    Name(String),
}

/// What the operator allows discovery to scan (`[discovery] allowed_targets`). Empty: nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist(Vec<Allowed>);

impl Allowlist {
    /// Reads the configured entries: CIDR ranges, addresses, `name` or `*.name`.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Allowlist, Refusal> {
        entries
            .iter()
            .flat_map(|e| split_list(e.as_ref()).collect::<Vec<_>>())
            .map(|entry| {
                if let Some(base) = entry.strip_prefix("*.") {
                    return match TargetSpec::parse(base)? {
                        TargetSpec::Host(name) => Ok(Allowed::Name(format!("*.{name}"))),
                        TargetSpec::Net(_) => Err(Refusal::InvalidConfig(format!(
                            "{ALLOWLIST_SETTING}: {entry:?} puts a wildcard on an address"
                        ))),
                    };
                }
                match TargetSpec::parse(entry)
                    .map_err(|e| Refusal::InvalidConfig(format!("{ALLOWLIST_SETTING}: {e}")))?
                {
                    TargetSpec::Net(net) => Ok(Allowed::Net(net)),
                    TargetSpec::Host(name) => Ok(Allowed::Name(name)),
                }
            })
            .collect::<Result<_, _>>()
            .map(Allowlist)
    }

    /// The allowed ranges (without the name entries).
    pub fn nets(&self) -> Vec<IpNet> {
        self.0
            .iter()
            .filter_map(|a| match a {
                Allowed::Net(net) => Some(*net),
                Allowed::Name(_) => None,
            })
            .collect()
    }

    /// Nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The address lies in an allowed range (an IPv4-mapped address as its IPv4 address).
    pub fn permits_address(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0
            .iter()
            .any(|a| matches!(a, Allowed::Net(net) if net.contains(&ip)))
    }

    /// The name is allowed by a name entry (then whatever it resolves to may be scanned).
    pub fn permits_name(&self, name: &str) -> bool {
        self.0.iter().any(|a| match a {
            Allowed::Name(pattern) => match pattern.strip_prefix("*.") {
                Some(base) => name
                    .strip_suffix(base)
                    .is_some_and(|head| head.ends_with('.') && head.len() > 1),
                None => pattern == name,
            },
            Allowed::Net(_) => false,
        })
    }

    /// Checks a job's target: a range must lie inside one allowed range. A host name passes
    /// here when a name entry allows it or any range is allowed; then each address it resolves
    /// to is checked at every run ([`Allowlist::check_resolved`]).
    pub fn check_target(&self, target: &TargetSpec) -> Result<(), Refusal> {
        let permitted = match target {
            TargetSpec::Net(net) => self
                .0
                .iter()
                .any(|a| matches!(a, Allowed::Net(allowed) if allowed.contains(net))),
            TargetSpec::Host(name) => {
                self.permits_name(name) || self.0.iter().any(|a| matches!(a, Allowed::Net(_)))
            }
        };
        if permitted {
            Ok(())
        } else {
            Err(Refusal::NotAllowed(format!(
                "target {target} is outside the addresses discovery may scan: add it to {ALLOWLIST_SETTING}{}",
                if self.is_empty() {
                    " (it is empty, so nothing may be scanned)"
                } else {
                    ""
                }
            )))
        }
    }

    /// Checks what a host name resolved to at a run. A name entry lets its names resolve to
    /// any ordinary address, but not to this machine, link-local (cloud metadata), unspecified
    /// or multicast ones, which only a range entry allows.
    pub fn check_resolved(&self, name: &str, ip: IpAddr) -> Result<(), Refusal> {
        let ip = ip.to_canonical();
        if self.permits_address(ip) {
            return Ok(());
        }
        let special = match ip {
            IpAddr::V4(v4) => {
                v4.is_loopback()
                    || v4.is_link_local()
                    || v4.is_unspecified()
                    || v4.is_multicast()
                    || v4.is_broadcast()
            }
            IpAddr::V6(v6) => {
                v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (v6.segments()[0] & 0xffc0) == 0xfe80
                    || NAT64.contains(&v6)
            }
        };
        if self.permits_name(name) && !special {
            Ok(())
        } else if self.permits_name(name) {
            Err(Refusal::NotAllowed(format!(
                "{name} resolves to {ip}, a loopback, link-local, unspecified or multicast address: only a range in {ALLOWLIST_SETTING} allows it"
            )))
        } else {
            Err(Refusal::NotAllowed(format!(
                "{name} resolves to {ip}, outside the addresses discovery may scan: add the name or the address to {ALLOWLIST_SETTING}"
            )))
        }
    }
}

/// The operator's limits on every job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscoveryLimits {
    /// Most addresses one job may name (ranges counted in full).
    pub max_addresses: u32,
    /// Most ports one job may name.
    pub max_ports: u32,
    /// Most connections one run keeps open at once.
    pub max_concurrency: u32,
    /// Most new connections one run opens per second.
    pub max_rate: u32,
}

impl Default for DiscoveryLimits {
    fn default() -> Self {
        DiscoveryLimits {
            max_addresses: 4096,
            max_ports: 32,
            max_concurrency: 128,
            max_rate: 500,
        }
    }
}

/// A protocol upgraded to TLS in band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upgrade {
    /// SMTP STARTTLS (RFC 3207).
    Smtp,
    /// IMAP STARTTLS (RFC 2595).
    Imap,
    /// POP3 STLS (RFC 2595).
    Pop3,
    /// LDAP StartTLS extended operation (RFC 4511).
    Ldap,
}

impl Upgrade {
    /// `smtp`, `imap`, `pop3` or `ldap`.
    pub fn as_str(self) -> &'static str {
        match self {
            Upgrade::Smtp => "smtp",
            Upgrade::Imap => "imap",
            Upgrade::Pop3 => "pop3",
            Upgrade::Ldap => "ldap",
        }
    }

    /// Reads a protocol name.
    pub fn parse(text: &str) -> Result<Upgrade, Refusal> {
        [Upgrade::Smtp, Upgrade::Imap, Upgrade::Pop3, Upgrade::Ldap]
            .into_iter()
            .find(|u| u.as_str() == text.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                Refusal::InvalidInput(format!(
                    "STARTTLS protocol {text:?} is not one of smtp, imap, pop3, ldap"
                ))
            })
    }

    /// The protocol a well-known plaintext port upgrades with; ports of implicit TLS (443,
    /// 465, 636, 993, 995 …) have none.
    pub fn by_port(port: u16) -> Option<Upgrade> {
        match port {
            25 | 587 => Some(Upgrade::Smtp),
            143 => Some(Upgrade::Imap),
            110 => Some(Upgrade::Pop3),
            389 => Some(Upgrade::Ldap),
            _ => None,
        }
    }
}

/// Reads `443,8443,993`.
pub fn parse_ports(text: &str) -> Result<Vec<u16>, Refusal> {
    let mut ports = Vec::new();
    for item in split_list(text) {
        let port = item
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| {
                Refusal::InvalidInput(format!("port {item:?} is not a number from 1 to 65535"))
            })?;
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    if ports.is_empty() {
        return Err(Refusal::InvalidInput(
            "a job needs at least one port, e.g. 443,8443".into(),
        ));
    }
    Ok(ports)
}

/// Reads STARTTLS overrides, `2525=smtp,1143=imap`; `smtp` alone applies to every port of the
/// job. Ports not named use [`Upgrade::by_port`].
pub fn parse_starttls(text: &str, ports: &[u16]) -> Result<Vec<(u16, Upgrade)>, Refusal> {
    let mut out = Vec::new();
    for item in split_list(text) {
        match item.split_once('=') {
            Some((port, protocol)) => {
                let port = parse_ports(port)?[0];
                out.push((port, Upgrade::parse(protocol)?));
            }
            None => {
                let upgrade = Upgrade::parse(item)?;
                out.extend(ports.iter().map(|p| (*p, upgrade)));
            }
        }
    }
    Ok(out)
}

/// The upgrade a job uses on `port`.
pub fn upgrade_for(port: u16, overrides: &[(u16, Upgrade)]) -> Option<Upgrade> {
    overrides
        .iter()
        .find(|(p, _)| *p == port)
        .map(|(_, u)| *u)
        .or_else(|| Upgrade::by_port(port))
}

/// Shortest schedule: a network scan more often than this is a load test, not an inventory.
pub const MIN_EVERY: Duration = Duration::minutes(5);

/// Reads a schedule such as `30m`, `24h` or `7d`.
pub fn parse_every(text: &str) -> Result<Duration, Refusal> {
    let text = text.trim();
    let bad = || {
        Refusal::InvalidInput(format!(
            "schedule {text:?} is not a number followed by m, h or d (e.g. 24h)"
        ))
    };
    let unit = text.chars().last().ok_or_else(bad)?;
    let number: i64 = text[..text.len() - unit.len_utf8()]
        .parse()
        .ok()
        .filter(|n| (0..=366 * 24 * 60).contains(n))
        .ok_or_else(bad)?;
    let every = match unit {
        'm' => Duration::minutes(number),
        'h' => Duration::hours(number),
        'd' => Duration::days(number),
        _ => return Err(bad()),
    };
    if every < MIN_EVERY || every > Duration::days(366) {
        return Err(Refusal::InvalidInput(format!(
            "schedule {text:?} must lie between 5m and 366d"
        )));
    }
    Ok(every)
}

/// Prints a schedule the way [`parse_every`] reads it.
pub fn every_text(every: Duration) -> String {
    let minutes = every.whole_minutes();
    if minutes % (24 * 60) == 0 {
        format!("{}d", minutes / (24 * 60))
    } else if minutes % 60 == 0 {
        format!("{}h", minutes / 60)
    } else {
        format!("{minutes}m")
    }
}

/// A job as an admin defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    /// Short unique name.
    pub name: String,
    /// What to scan.
    pub targets: Vec<TargetSpec>,
    /// On which ports.
    pub ports: Vec<u16>,
    /// STARTTLS overrides by port.
    pub starttls: Vec<(u16, Upgrade)>,
    /// Run every so often inside `serve`; `None`: only when started.
    pub every: Option<Duration>,
    /// Who is mailed the alerts.
    pub contacts: Vec<String>,
    /// Connections open at once.
    pub concurrency: u32,
    /// New connections per second.
    pub rate: u32,
}

impl JobSpec {
    /// Checks a job against the allowlist and the limits; the refusal says which setting or
    /// which option to change.
    pub fn check(&self, allowlist: &Allowlist, limits: &DiscoveryLimits) -> Result<(), Refusal> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !name_ok {
            return Err(Refusal::InvalidInput(format!(
                "job name {:?}: use 1 to 64 letters, digits, '-', '_' or '.'",
                self.name
            )));
        }
        for target in &self.targets {
            allowlist.check_target(target)?;
        }
        let addresses = self
            .targets
            .iter()
            .map(TargetSpec::address_count)
            .fold(0u128, u128::saturating_add);
        if addresses > u128::from(limits.max_addresses) {
            return Err(Refusal::TooLarge(format!(
                "the targets stand for {addresses} addresses; a job may name at most {} ([discovery] max_addresses): split the job or narrow the ranges",
                limits.max_addresses
            )));
        }
        if self.ports.len() > limits.max_ports as usize {
            return Err(Refusal::TooLarge(format!(
                "{} ports; a job may name at most {} ([discovery] max_ports)",
                self.ports.len(),
                limits.max_ports
            )));
        }
        if self.concurrency == 0 || self.concurrency > limits.max_concurrency {
            return Err(Refusal::InvalidInput(format!(
                "concurrency {} must lie between 1 and {} ([discovery] max_concurrency)",
                self.concurrency, limits.max_concurrency
            )));
        }
        if self.rate == 0 || self.rate > limits.max_rate {
            return Err(Refusal::InvalidInput(format!(
                "rate {} connections per second must lie between 1 and {} ([discovery] max_rate)",
                self.rate, limits.max_rate
            )));
        }
        for contact in &self.contacts {
            crate::identity::check_email(contact)?;
        }
        Ok(())
    }
}

/// When a job should run next: `every` after the run that just started, or never.
pub fn next_run(every: Option<Duration>, started: OffsetDateTime) -> Option<OffsetDateTime> {
    every.map(|e| started + e)
}

/// What discovery flags about a certificate at a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Alert {
    /// The leaf or a served CA certificate has expired.
    Expired,
    /// It expires within the configured window.
    Expiring,
    /// Its validity has not begun.
    NotYetValid,
    /// RSA or DSA under 2048 bits, or an elliptic curve under 256.
    WeakKey,
    /// A certificate on the path is signed with SHA-1 (or MD5).
    Sha1Signature,
    /// The leaf is self-signed.
    SelfSigned,
    /// The chain ends at an issuer that is neither a trust anchor nor Signet's.
    UnknownIssuer,
    /// The server leaves out an intermediate.
    IncompleteChain,
    /// The leaf does not name the host it was reached by.
    NameMismatch,
    /// The certificate is revoked.
    Revoked,
    /// The place served another certificate at its previous scan.
    Changed,
    /// The place answered before and does not now.
    NotAnswering,
}

impl Alert {
    /// Every alert, in the order pages list them.
    pub const ALL: [Alert; 12] = [
        Alert::Expired,
        Alert::Expiring,
        Alert::NotYetValid,
        Alert::WeakKey,
        Alert::Sha1Signature,
        Alert::SelfSigned,
        Alert::UnknownIssuer,
        Alert::IncompleteChain,
        Alert::NameMismatch,
        Alert::Revoked,
        Alert::Changed,
        Alert::NotAnswering,
    ];

    /// The stored and wire id.
    pub fn as_str(self) -> &'static str {
        match self {
            Alert::Expired => "expired",
            Alert::Expiring => "expiring",
            Alert::NotYetValid => "not_yet_valid",
            Alert::WeakKey => "weak_key",
            Alert::Sha1Signature => "sha1_signature",
            Alert::SelfSigned => "self_signed",
            Alert::UnknownIssuer => "unknown_issuer",
            Alert::IncompleteChain => "incomplete_chain",
            Alert::NameMismatch => "name_mismatch",
            Alert::Revoked => "revoked",
            Alert::Changed => "changed",
            Alert::NotAnswering => "not_answering",
        }
    }

    /// Reads an id.
    pub fn parse(text: &str) -> Result<Alert, Refusal> {
        Alert::ALL
            .into_iter()
            .find(|a| a.as_str() == text)
            .ok_or_else(|| {
                Refusal::InvalidInput(format!(
                    "unknown discovery alert {text:?}: use one of {}",
                    Alert::ALL.map(Alert::as_str).join(", ")
                ))
            })
    }

    /// A sentence for pages and mail: what is wrong and what to do.
    pub fn advice(self) -> &'static str {
        match self {
            Alert::Expired => "has expired: clients refuse it; install a new certificate",
            Alert::Expiring => "expires soon: renew it and install the new one before then",
            Alert::NotYetValid => {
                "is not valid yet: check the server's clock and the certificate's dates"
            }
            Alert::WeakKey => "has a weak key: replace it with RSA 2048+ or an EC P-256+ key",
            Alert::Sha1Signature => {
                "is signed with SHA-1: browsers refuse it; reissue it with SHA-256"
            }
            Alert::SelfSigned => {
                "is self-signed: no client can check it; use a certificate from a CA"
            }
            Alert::UnknownIssuer => {
                "chains to an unknown issuer: neither a trusted root nor Signet's CA"
            }
            Alert::IncompleteChain => {
                "is served without its intermediate: add the intermediate to the server's chain file"
            }
            Alert::NameMismatch => {
                "does not name the host it is served for: install the right certificate or add the name"
            }
            Alert::Revoked => "is revoked: replace it now",
            Alert::Changed => "changed since the last scan: check the change was intended",
            Alert::NotAnswering => "is no longer served: the place does not answer with TLS",
        }
    }
}

impl std::fmt::Display for Alert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Reads stored ids (`expired,weak_key`).
pub fn parse_alerts(text: &str) -> Result<Vec<Alert>, Refusal> {
    split_list(text).map(Alert::parse).collect()
}

/// Writes ids the way [`parse_alerts`] reads them.
pub fn alerts_text(alerts: &[Alert]) -> String {
    alerts
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// What happened at a place between two scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceEvent {
    /// First seen.
    New,
    /// Another certificate is served than at the previous scan.
    Changed,
    /// It answered before and does not now.
    NotAnswering,
    /// It answers again after not answering.
    AnsweringAgain,
}

impl PlaceEvent {
    /// The stored id.
    pub fn as_str(self) -> &'static str {
        match self {
            PlaceEvent::New => "new",
            PlaceEvent::Changed => "changed",
            PlaceEvent::NotAnswering => "not_answering",
            PlaceEvent::AnsweringAgain => "answering_again",
        }
    }

    /// Reads a stored id.
    pub fn parse(text: &str) -> Option<PlaceEvent> {
        [
            PlaceEvent::New,
            PlaceEvent::Changed,
            PlaceEvent::NotAnswering,
            PlaceEvent::AnsweringAgain,
        ]
        .into_iter()
        .find(|e| e.as_str() == text)
    }
}

/// One served certificate, as far as the alerts need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedFacts {
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// `rsa`, `dsa`, `ec`, `ed25519` or another algorithm name.
    pub key_algorithm: String,
    /// Key size in bits (the curve size for EC).
    pub key_bits: u32,
    /// It is on the path from the leaf to its anchor (not an extra certificate).
    pub on_path: bool,
}

/// What a scan saw at a place, reduced to what the alert rules read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    /// The certificates as served, leaf first.
    pub served: Vec<ServedFacts>,
    /// The leaf is self-signed.
    pub self_signed: bool,
    /// The path ends at a trust anchor or at Signet's CA.
    pub trusted: bool,
    /// An issuer is missing from what was served.
    pub incomplete: bool,
    /// A certificate on the path (below its anchor) is signed with SHA-1 or MD5.
    pub weak_signature: bool,
    /// Whether the leaf names the host, when the place was reached by name (`None` by address).
    pub name_matches: Option<bool>,
    /// Revoked (`Some(true)`), good (`Some(false)`), unknown (`None`).
    pub revoked: Option<bool>,
    /// The place served another certificate at its previous scan.
    pub changed: bool,
}

/// The alerts of a sighting, in [`Alert::ALL`] order. `window`: how early to warn of expiry.
pub fn alerts(sighting: &Sighting, now: OffsetDateTime, window: Duration) -> Vec<Alert> {
    let mut found = Vec::new();
    let leaf_and_path = || {
        sighting
            .served
            .iter()
            .enumerate()
            .filter(|(i, c)| *i == 0 || c.on_path)
            .map(|(_, c)| c)
    };
    if leaf_and_path().any(|c| c.not_after <= now) {
        found.push(Alert::Expired);
    }
    if leaf_and_path().any(|c| now < c.not_after && c.not_after <= now + window) {
        found.push(Alert::Expiring);
    }
    if leaf_and_path().any(|c| now < c.not_before) {
        found.push(Alert::NotYetValid);
    }
    if leaf_and_path().any(|c| weak_key(&c.key_algorithm, c.key_bits)) {
        found.push(Alert::WeakKey);
    }
    if sighting.weak_signature {
        found.push(Alert::Sha1Signature);
    }
    if sighting.self_signed {
        found.push(Alert::SelfSigned);
    } else if !sighting.trusted && !sighting.incomplete {
        found.push(Alert::UnknownIssuer);
    }
    if sighting.incomplete {
        found.push(Alert::IncompleteChain);
    }
    if sighting.name_matches == Some(false) {
        found.push(Alert::NameMismatch);
    }
    if sighting.revoked == Some(true) {
        found.push(Alert::Revoked);
    }
    if sighting.changed {
        found.push(Alert::Changed);
    }
    found
}

/// The key sizes the S/MIME and TLS Baseline Requirements stopped accepting.
fn weak_key(algorithm: &str, bits: u32) -> bool {
    match algorithm {
        "rsa" => bits < 2048,
        "dsa" => true,
        "ec" => bits < 256,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn targets_read_ranges_addresses_and_names() {
        assert_eq!(
            parse_targets("10.1.2.0/24, host.Example.org.,192.0.2.7")
                .unwrap()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["10.1.2.0/24", "host.example.org", "192.0.2.7"]
        );
        assert!(TargetSpec::parse("10.1.2.3/24").is_err());
        assert!(TargetSpec::parse("-bad.example").is_err());
        assert!(TargetSpec::parse("a b").is_err());
        assert!(parse_targets(" , ").is_err());
        assert_eq!(
            TargetSpec::parse("10.0.0.0/24")
                .unwrap()
                .addresses(usize::MAX)
                .len(),
            254
        );
        assert_eq!(
            TargetSpec::parse("10.0.0.0/16").unwrap().address_count(),
            65536
        );
    }

    #[test]
    fn the_allowlist_decides_and_names_its_setting() {
        let allow = Allowlist::parse(&["127.0.0.0/8, *.corp.example", "intranet.example"]).unwrap();
        let ok = |t: &str| allow.check_target(&TargetSpec::parse(t).unwrap());
        assert!(ok("127.0.9.0/24").is_ok());
        assert!(ok("a.corp.example").is_ok());
        let refused = ok("10.0.0.0/24").unwrap_err().to_string();
        assert!(refused.contains("allowed_targets"), "{refused}");
        assert!(ok("126.0.0.0/7").is_err(), "a wider range is not inside");
        assert!(allow.permits_name("www.corp.example"));
        assert!(!allow.permits_name("corp.example"));
        assert!(!allow.permits_name("evilcorp.example"));
        assert!(
            allow
                .check_resolved("other.example", "10.0.0.1".parse().unwrap())
                .is_err()
        );
        assert!(
            allow
                .check_resolved("other.example", "127.0.0.2".parse().unwrap())
                .is_ok()
        );
        let none = Allowlist::default();
        assert!(
            none.check_target(&TargetSpec::parse("host.example").unwrap())
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        assert!(Allowlist::parse(&["*.10.0.0.1"]).is_err());
        // A name entry does not reach this machine or cloud metadata; a range entry would.
        for ip in [
            "127.0.0.1",
            "169.254.169.254",
            "::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
        ] {
            assert!(
                allow_names()
                    .check_resolved("a.corp.example", ip.parse().unwrap())
                    .is_err(),
                "{ip}"
            );
        }
        assert!(
            allow_names()
                .check_resolved("a.corp.example", "192.0.2.10".parse().unwrap())
                .is_ok()
        );
        assert!(
            allow
                .check_resolved("anything.example", "::ffff:127.0.0.9".parse().unwrap())
                .is_ok(),
            "an IPv4-mapped address is its IPv4 address"
        );
        assert!(TargetSpec::parse("::ffff:0:0/96").is_err());
        assert!(TargetSpec::parse("64:ff9b::/96").is_err());
        assert_eq!(
            TargetSpec::parse("::ffff:10.0.0.1").unwrap(),
            TargetSpec::parse("10.0.0.1").unwrap()
        );
    }

    fn allow_names() -> Allowlist {
        Allowlist::parse(&["*.corp.example"]).unwrap()
    }

    #[test]
    fn huge_ranges_are_counted_not_enumerated() {
        let all = Allowlist::parse(&["::/0"]).unwrap();
        let job = JobSpec {
            name: "everything".into(),
            targets: parse_targets("::/0,::/1,8000::/1").unwrap(),
            ports: vec![443],
            starttls: Vec::new(),
            every: None,
            contacts: Vec::new(),
            concurrency: 1,
            rate: 1,
        };
        assert_eq!(job.targets[0].address_count(), u128::MAX);
        assert!(
            job.check(&all, &DiscoveryLimits::default())
                .unwrap_err()
                .to_string()
                .contains("max_addresses")
        );
        assert_eq!(job.targets[0].addresses(3).len(), 3);
        assert!(parse_every("999999999999999d").is_err());
    }

    #[test]
    fn jobs_are_checked_against_limits() {
        let allow = Allowlist::parse(&["10.0.0.0/8"]).unwrap();
        let mut job = JobSpec {
            name: "office".into(),
            targets: parse_targets("10.1.0.0/20").unwrap(),
            ports: parse_ports("443,8443,443").unwrap(),
            starttls: Vec::new(),
            every: Some(parse_every("24h").unwrap()),
            contacts: vec!["pki@example.org".into()],
            concurrency: 32,
            rate: 100,
        };
        assert_eq!(job.ports, [443, 8443]);
        assert!(job.check(&allow, &DiscoveryLimits::default()).is_ok());
        job.targets = parse_targets("10.1.0.0/16").unwrap();
        assert!(
            job.check(&allow, &DiscoveryLimits::default())
                .unwrap_err()
                .to_string()
                .contains("max_addresses")
        );
        job.targets = parse_targets("10.1.0.0/24").unwrap();
        job.rate = 10_000;
        assert!(job.check(&allow, &DiscoveryLimits::default()).is_err());
        job.rate = 10;
        job.name = "a b".into();
        assert!(job.check(&allow, &DiscoveryLimits::default()).is_err());
    }

    #[test]
    fn schedules_and_starttls_read_back() {
        assert_eq!(parse_every("30m").unwrap(), Duration::minutes(30));
        assert_eq!(every_text(parse_every("48h").unwrap()), "2d");
        assert!(parse_every("1m").is_err());
        assert!(parse_every("12").is_err());
        let overrides = parse_starttls("2525=smtp", &[443, 2525]).unwrap();
        assert_eq!(upgrade_for(2525, &overrides), Some(Upgrade::Smtp));
        assert_eq!(upgrade_for(143, &overrides), Some(Upgrade::Imap));
        assert_eq!(upgrade_for(993, &overrides), None);
        assert!(parse_starttls("2525=ftp", &[]).is_err());
    }

    fn sighting(not_after: OffsetDateTime) -> Sighting {
        Sighting {
            served: vec![ServedFacts {
                not_before: datetime!(2026-01-01 0:00 UTC),
                not_after,
                key_algorithm: "rsa".into(),
                key_bits: 2048,
                on_path: false,
            }],
            self_signed: false,
            trusted: true,
            incomplete: false,
            weak_signature: false,
            name_matches: Some(true),
            revoked: Some(false),
            changed: false,
        }
    }

    #[test]
    fn alerts_follow_the_facts() {
        let now = datetime!(2026-12-03 12:00 UTC);
        let window = Duration::days(30);
        assert!(alerts(&sighting(datetime!(2027-06-01 0:00 UTC)), now, window).is_empty());
        assert_eq!(
            alerts(&sighting(now + Duration::days(5)), now, window),
            [Alert::Expiring]
        );
        assert_eq!(
            alerts(&sighting(now - Duration::days(1)), now, window),
            [Alert::Expired]
        );
        let mut s = sighting(datetime!(2027-06-01 0:00 UTC));
        s.served[0].key_bits = 1024;
        s.trusted = false;
        s.name_matches = Some(false);
        s.changed = true;
        assert_eq!(
            alerts(&s, now, window),
            [
                Alert::WeakKey,
                Alert::UnknownIssuer,
                Alert::NameMismatch,
                Alert::Changed
            ]
        );
        s.incomplete = true;
        s.self_signed = false;
        assert!(alerts(&s, now, window).contains(&Alert::IncompleteChain));
        assert!(!alerts(&s, now, window).contains(&Alert::UnknownIssuer));
        // An intermediate that expires soon warns too; an extra certificate off the path does not.
        let mut s = sighting(datetime!(2027-06-01 0:00 UTC));
        let mut intermediate = s.served[0].clone();
        intermediate.not_after = now + Duration::days(3);
        intermediate.on_path = true;
        s.served.push(intermediate.clone());
        assert_eq!(alerts(&s, now, window), [Alert::Expiring]);
        s.served[1].on_path = false;
        assert!(alerts(&s, now, window).is_empty());
        assert_eq!(
            parse_alerts(&alerts_text(&[Alert::Revoked, Alert::NotAnswering])).unwrap(),
            [Alert::Revoked, Alert::NotAnswering]
        );
    }
}
