//! One test, start to end, and its report: the facts gathered, the findings (each with its
//! severity and the fix), the grade and the Mozilla verdict.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use der::{Decode, Encode};
use serde::Serialize;
use signet_sign::network::Fetch;
use signet_sign::report::Standing;
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::TlsTestError;
use crate::chain::{self, ChainEntry, ChainReport, KeyType};
use crate::hello::{self, Version};
use crate::modern::{self, Handshake};
use crate::mozilla::{self, Verdicts};
use crate::probe::{self, VersionResult};
use crate::rating::{self, Facts, KeyKind};
use crate::suites::{self, SuiteInfo};
use crate::wire::{Endpoint, KeyExchange};

/// What a test checks against.
#[derive(Debug)]
pub struct Options<'a> {
    /// Trust anchors for the served chain: the system store, or the operator's own roots.
    pub anchors: Vec<Certificate>,
    /// Signet's issuing CAs: the client-authentication check says whether the server lists them.
    pub signet_cas: Vec<Certificate>,
    /// Fetches revocation data and missing issuers; None fetches nothing.
    pub fetch: Option<&'a dyn Fetch>,
    /// The Mozilla profile the summary is about.
    pub mozilla_profile: String,
    pub now: OffsetDateTime,
}

/// A finding: what is wrong (or worth knowing) and what to do.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    pub id: String,
    /// `critical`, `high`, `medium`, `low` or `info`.
    pub severity: &'static str,
    pub message: String,
    pub fix: String,
}

/// The suites of one protocol version.
#[derive(Debug, Clone, Serialize)]
pub struct ProtocolReport {
    /// Accepted suites, in the server's order when it enforces one.
    pub suites: Vec<AcceptedSuite>,
    /// The server picks by its own order (None: fewer than two suites).
    pub server_order: Option<bool>,
}

/// One accepted suite.
#[derive(Debug, Clone, Serialize)]
pub struct AcceptedSuite {
    #[serde(flatten)]
    pub suite: SuiteInfo,
    /// The key exchange the server chose with it: a group, or `DH 2048`.
    pub key_exchange: Option<String>,
}

/// Client-certificate authentication as the server does it.
#[derive(Debug, Clone, Serialize)]
pub struct ClientAuth {
    /// `none`, `optional` (asks, accepts a handshake without) or `required`.
    pub mode: &'static str,
    /// The acceptable CA names sent, in the server's order (RFC 4514).
    pub ca_names: Vec<String>,
    /// Whether one of Signet's issuing CAs is among them (None: no Signet CA known, or the
    /// server sends no list, which lets clients offer any certificate).
    pub signet_ca_listed: Option<bool>,
    /// The versions whose CertificateRequest was read.
    pub seen_in: Vec<Version>,
}

/// One revocation source.
#[derive(Debug, Clone, Serialize)]
pub struct RevocationSource {
    pub kind: &'static str,
    pub url: String,
    pub reachable: bool,
    /// `good`, `revoked` or `unknown`, with the reason when not good.
    pub status: String,
}

/// The leaf's revocation information.
#[derive(Debug, Clone, Serialize)]
pub struct Revocation {
    pub sources: Vec<RevocationSource>,
    /// `good`, `revoked`, `unknown` or `not checked`.
    pub status: String,
    pub stapled: bool,
    /// The stapled response's status, or why it does not check out.
    pub staple_status: Option<String>,
}

/// HSTS of an HTTPS endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct Hsts {
    pub header: Option<String>,
    pub max_age: Option<u64>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub host: String,
    pub port: u16,
    pub address: String,
    pub server_name: String,
    pub starttls: Option<String>,
    pub tested_at: String,
    pub grade: String,
    pub grade_ignoring_trust: String,
    pub score: rating::Score,
    pub caps: Vec<rating::Cap>,
    pub warnings: Vec<String>,
    pub rating_guide: &'static str,
    /// Every version by name (`SSLv2` … `TLSv1.3`) the server accepts, with its suites.
    pub protocols: BTreeMap<String, ProtocolReport>,
    /// Key exchange groups, in the server's order.
    pub groups: Vec<String>,
    /// The served certificates, in the order served.
    pub chain: Vec<ChainEntry>,
    pub trust: Option<TrustSummary>,
    pub revocation: Option<Revocation>,
    pub client_auth: ClientAuth,
    pub hsts: Option<Hsts>,
    pub secure_renegotiation: Option<bool>,
    pub mozilla: Verdicts,
    pub findings: Vec<Finding>,
    /// TCP connections opened to the endpoint.
    pub connections: usize,
    pub elapsed_ms: u128,
}

/// The chain's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct TrustSummary {
    pub trusted: bool,
    pub anchor: Option<String>,
    pub missing_intermediate: Option<String>,
    pub in_order: bool,
    pub name_matches: bool,
    pub names: Vec<String>,
    pub self_signed: bool,
}

/// Runs the whole test of `endpoint`.
pub fn run(endpoint: &Endpoint, options: &Options<'_>) -> Result<Report, TlsTestError> {
    let started = Instant::now();
    // The versions are independent; probing them side by side makes a test about as long as
    // its longest version.
    let results: Vec<(Version, Result<VersionResult, TlsTestError>)> = std::thread::scope(|s| {
        let handles: Vec<_> = Version::ALL
            .into_iter()
            .map(|v| (v, s.spawn(move || probe::version(endpoint, v))))
            .collect();
        handles
            .into_iter()
            .map(|(v, h)| {
                let result = h.join().unwrap_or_else(|_| {
                    Err(TlsTestError::Target(format!(
                        "the {} probe failed",
                        v.name()
                    )))
                });
                (v, result)
            })
            .collect()
    });
    let mut findings = Vec::new();
    let mut versions: BTreeMap<Version, VersionResult> = BTreeMap::new();
    let mut first_error = None;
    for (version, result) in results {
        match result {
            Ok(r) if !r.suites.is_empty() => {
                versions.insert(version, r);
            }
            Ok(_) => {}
            Err(e) => {
                findings.push(finding(
                    &format!("probe-{}", version.name()),
                    "info",
                    format!("The {} probe could not finish: {e}", version.name()),
                    "Run the test again; if it persists, the server may limit connections per client.",
                ));
                first_error.get_or_insert(e);
            }
        }
    }
    if versions.is_empty() {
        return Err(first_error.unwrap_or(TlsTestError::NoTls(endpoint.address)));
    }

    // Groups: from TLS 1.3 retry requests, else from TLS 1.2 ServerKeyExchange.
    let group_version = [Version::Tls13, Version::Tls12]
        .into_iter()
        .find(|v| versions.contains_key(v));
    let groups = match group_version {
        Some(v) => {
            let ids: Vec<u16> = versions[&v].suites.iter().map(|s| s.id).collect();
            probe::groups(endpoint, v, &ids).unwrap_or_default()
        }
        None => Vec::new(),
    };

    // The plaintext flight of the best version up to TLS 1.2.
    let legacy = versions
        .iter()
        .rev()
        .filter(|(v, _)| **v >= Version::Ssl3 && **v <= Version::Tls12)
        .find_map(|(v, r)| r.first_flight.clone().map(|f| (*v, f)));

    // A full handshake: TLS 1.3 when offered, else TLS 1.2 with a suite rustls speaks.
    let rustls_tls12 = versions.get(&Version::Tls12).is_some_and(|r| {
        r.suites.iter().any(|s| {
            let info = suites::describe(s.id);
            info.aead && suites::is_ecdhe(s.id)
        })
    });
    let handshake = if versions.contains_key(&Version::Tls13) || rustls_tls12 {
        match modern::handshake(endpoint, versions.contains_key(&Version::Tls13), true) {
            Ok(h) => Some(h),
            Err(e) => {
                findings.push(finding(
                    "handshake",
                    "info",
                    format!("A full handshake could not be completed: {e}"),
                    "Nothing to fix if the server requires a client certificate; otherwise check its logs.",
                ));
                None
            }
        }
    } else {
        None
    };

    // The chain: as the full handshake saw it, else as the plaintext flight carried it.
    let served: Vec<Vec<u8>> = handshake
        .as_ref()
        .map(|h| h.certificates.clone())
        .filter(|c| !c.is_empty())
        .or_else(|| legacy.as_ref().map(|(_, f)| f.certificates.clone()))
        .unwrap_or_default();
    let fetch_issuer = |url: &str| -> Option<Vec<u8>> {
        let fetch = options.fetch?;
        fetch.get(url).ok()
    };
    let chain = chain::judge(
        &served,
        &endpoint.server_name,
        &options.anchors,
        options.now,
        &fetch_issuer,
    );
    let certificates: Vec<Certificate> = served
        .iter()
        .filter_map(|d| Certificate::from_der(d).ok())
        .collect();
    let leaf_issuer = leaf_issuer(
        &certificates,
        chain.as_ref(),
        &options.anchors,
        options.fetch,
    );

    // Revocation, from the URLs in the leaf, and the staple.
    let staple = handshake
        .as_ref()
        .and_then(|h| h.ocsp_staple.clone())
        .or_else(|| legacy.as_ref().and_then(|(_, f)| f.ocsp_staple.clone()));
    let revocation = certificates
        .first()
        .map(|leaf| revocation(leaf, leaf_issuer.as_ref(), staple.as_deref(), options.fetch));

    // Client authentication.
    let client_auth = client_auth(
        endpoint,
        &versions,
        legacy.as_ref(),
        handshake.as_ref(),
        options,
    );

    let secure_renegotiation = legacy
        .as_ref()
        .and_then(|(_, f)| f.hello.as_ref())
        .map(|h| h.secure_renegotiation);
    let hsts = handshake
        .as_ref()
        .and_then(|h| h.http.as_ref())
        .map(|answer| Hsts {
            max_age: answer.hsts.as_deref().and_then(modern::hsts_max_age),
            header: answer.hsts.clone(),
        });

    let protocols: BTreeMap<String, ProtocolReport> = versions
        .iter()
        .map(|(v, r)| {
            let suites = r
                .suites
                .iter()
                .map(|s| AcceptedSuite {
                    suite: if *v == Version::Ssl2 {
                        sslv2_suite(s.id)
                    } else {
                        suites::describe(s.id)
                    },
                    key_exchange: s.key_exchange.map(|k| match k {
                        KeyExchange::Group(g) => hello::group_name(g),
                        KeyExchange::DhPrimeBits(bits) => format!("DH {bits}"),
                    }),
                })
                .collect();
            (
                v.name().to_owned(),
                ProtocolReport {
                    suites,
                    server_order: r.server_order,
                },
            )
        })
        .collect();

    let facts = facts(
        &versions,
        &protocols,
        &groups,
        chain.as_ref(),
        &certificates,
        revocation.as_ref(),
        endpoint,
        secure_renegotiation,
        hsts.as_ref(),
    );
    let rating = rating::rate(&facts);
    let observed = observed(
        &facts,
        &protocols,
        &groups,
        &certificates,
        staple.is_some(),
        hsts.as_ref(),
        handshake.as_ref(),
    );
    let verdicts = mozilla::judge(&observed, &options.mozilla_profile);

    findings.extend(protocol_findings(&versions, &protocols));
    findings.extend(key_exchange_findings(&protocols, &groups));
    if let Some(chain) = &chain {
        findings.extend(chain_findings(chain, &endpoint.server_name));
    } else {
        findings.push(finding(
            "certificate-missing",
            "high",
            "The server's certificate could not be read.".into(),
            "Check that the server is configured with a certificate for this name.",
        ));
    }
    if let Some(r) = &revocation {
        findings.extend(revocation_findings(r));
    }
    findings.extend(client_auth_findings(
        &client_auth,
        !options.signet_cas.is_empty(),
    ));
    findings.extend(other_findings(
        secure_renegotiation,
        hsts.as_ref(),
        handshake.as_ref(),
        endpoint,
    ));
    findings.sort_by_key(|f| severity_rank(f.severity));

    let tested_at = options
        .now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    Ok(Report {
        host: endpoint.server_name.clone(),
        port: endpoint.address.port(),
        address: endpoint.address.to_string(),
        server_name: endpoint.server_name.clone(),
        starttls: endpoint.starttls.map(|s| s.name().to_owned()),
        tested_at,
        grade: rating.grade.clone(),
        grade_ignoring_trust: rating.grade_ignoring_trust.clone(),
        score: rating.score,
        caps: rating.caps.clone(),
        warnings: rating.warnings.clone(),
        rating_guide: rating.guide,
        protocols,
        groups: groups.iter().map(|g| hello::group_name(*g)).collect(),
        chain: chain.as_ref().map(|c| c.served.clone()).unwrap_or_default(),
        trust: chain.as_ref().map(|c| TrustSummary {
            trusted: c.trusted,
            anchor: c.anchor.clone(),
            missing_intermediate: c.missing.clone(),
            in_order: c.in_order,
            name_matches: c.name_matches,
            names: c.names.clone(),
            self_signed: c.self_signed,
        }),
        revocation,
        client_auth,
        hsts,
        secure_renegotiation,
        mozilla: verdicts,
        findings,
        connections: endpoint.connections(),
        elapsed_ms: started.elapsed().as_millis(),
    })
}

fn sslv2_suite(kind: u16) -> SuiteInfo {
    let full = hello::SSLV2_CIPHERS
        .iter()
        .find(|(k, _)| *k as u16 == kind)
        .map_or_else(|| format!("SSLv2 0x{kind:04x}"), |(_, n)| (*n).to_owned());
    let export = full.contains("EXPORT");
    SuiteInfo {
        bits: if export {
            40
        } else if full.contains("DES_64") {
            56
        } else {
            128
        },
        name: full,
        id: format!("0x{kind:04x}"),
        forward_secrecy: false,
        aead: false,
        weakness: Some(if export { "export" } else { "sslv2" }),
    }
}

fn finding(id: &str, severity: &'static str, message: String, fix: &str) -> Finding {
    Finding {
        id: id.to_owned(),
        severity,
        message,
        fix: fix.to_owned(),
    }
}

fn severity_rank(severity: &str) -> u8 {
    match severity {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        _ => 4,
    }
}

/// The leaf's issuer: the next certificate on the path, the anchor, or the fetched issuer.
fn leaf_issuer(
    certificates: &[Certificate],
    chain: Option<&ChainReport>,
    anchors: &[Certificate],
    fetch: Option<&dyn Fetch>,
) -> Option<Certificate> {
    let leaf = certificates.first()?;
    if let Some(&next) = chain.and_then(|c| c.path.get(1)) {
        return certificates.get(next).cloned();
    }
    if let Some(anchor) = anchors.iter().find(|a| chain::issued(leaf, a)) {
        return Some(anchor.clone());
    }
    let fetch = fetch?;
    chain::ca_issuers(leaf)
        .into_iter()
        .take(MAX_URLS)
        .filter_map(|url| fetch.get(&url).ok())
        .filter_map(|der| Certificate::from_der(&der).ok())
        .find(|c| chain::issued(leaf, c))
}

/// Revocation or issuer URLs of each kind fetched per test.
const MAX_URLS: usize = 2;

fn standing_text(standing: &Standing) -> String {
    match standing {
        Standing::Good => "good".into(),
        Standing::Revoked(at) => format!(
            "revoked at {}",
            at.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        ),
        Standing::Unknown(why) => format!("unknown: {why}"),
    }
}

fn revocation(
    leaf: &Certificate,
    issuer: Option<&Certificate>,
    staple: Option<&[u8]>,
    fetch: Option<&dyn Fetch>,
) -> Revocation {
    use signet_sign::revocation::{ask_crl, ask_ocsp, crl_urls, ocsp_urls};
    let mut sources = Vec::new();
    let mut status = if fetch.is_some() {
        "unknown"
    } else {
        "not checked"
    }
    .to_owned();
    // Two of each at most: a certificate listing hundreds must not make a test (run for anyone,
    // from the portal) into hundreds of requests to third parties.
    let urls = ocsp_urls(leaf)
        .into_iter()
        .take(MAX_URLS)
        .map(|u| ("ocsp", u))
        .chain(
            crl_urls(leaf)
                .into_iter()
                .take(MAX_URLS)
                .map(|u| ("crl", u)),
        );
    for (kind, url) in urls {
        let answer = match (fetch, issuer) {
            (None, _) => None,
            (Some(_), None) => Some(Err("the issuer's certificate is not known".to_owned())),
            (Some(fetch), Some(issuer)) => Some(
                if kind == "ocsp" {
                    ask_ocsp(fetch, &url, leaf, issuer)
                } else {
                    ask_crl(fetch, &url, leaf, issuer)
                }
                .map_err(|e| e.to_string()),
            ),
        };
        let (reachable, text) = match &answer {
            None => (false, "not checked".to_owned()),
            Some(Ok(standing)) => (true, standing_text(standing)),
            Some(Err(e)) => (false, format!("unknown: {e}")),
        };
        if let Some(Ok(standing)) = &answer
            && (status == "unknown" || matches!(standing, Standing::Revoked(_)))
            && !matches!(standing, Standing::Unknown(_))
        {
            status = standing_text(standing);
        }
        sources.push(RevocationSource {
            kind,
            url,
            reachable,
            status: text,
        });
    }
    let staple_status = match (staple, issuer) {
        (Some(der), Some(issuer)) => {
            Some(match signet_pki::ocsp::read_response(der, leaf, issuer) {
                Ok(answer) => match answer.status {
                    signet_pki::ocsp::Status::Good => "good".to_owned(),
                    signet_pki::ocsp::Status::Revoked { .. } => "revoked".to_owned(),
                    signet_pki::ocsp::Status::Unknown => "unknown".to_owned(),
                },
                Err(e) => format!("does not check out: {e}"),
            })
        }
        (Some(_), None) => Some("not checked: the issuer's certificate is not known".into()),
        (None, _) => None,
    };
    if staple_status.as_deref() == Some("revoked") {
        status = "revoked (stapled response)".into();
    }
    Revocation {
        sources,
        status,
        stapled: staple.is_some(),
        staple_status,
    }
}

fn client_auth(
    endpoint: &Endpoint,
    versions: &BTreeMap<Version, VersionResult>,
    legacy: Option<&(Version, crate::wire::Flight)>,
    handshake: Option<&Handshake>,
    options: &Options<'_>,
) -> ClientAuth {
    let mut seen_in = Vec::new();
    let mut names_der: Option<Vec<Vec<u8>>> = None;
    let mut required = false;
    if let Some(h) = handshake.filter(|h| h.ca_names.is_some()) {
        if let Some(v) = h.version {
            seen_in.push(v);
        }
        names_der = h.ca_names.clone();
        required |= h.refused_without_certificate;
    }
    if let Some((version, flight)) = legacy
        && let Some(request) = &flight.certificate_request
    {
        seen_in.push(*version);
        if names_der.is_none() {
            names_der = Some(request.ca_names.clone());
        }
        let suites: Vec<u16> = versions[version].suites.iter().map(|s| s.id).collect();
        required |=
            probe::requires_client_certificate(endpoint, *version, &suites).unwrap_or(false);
    }
    seen_in.sort();
    seen_in.dedup();
    let requested = !seen_in.is_empty();
    let names_der = names_der.unwrap_or_default();
    let ca_names: Vec<String> = names_der
        .iter()
        .map(|der| {
            x509_cert::name::Name::from_der(der).map_or_else(
                |_| format!("(unreadable name, {} bytes)", der.len()),
                |n| n.to_string(),
            )
        })
        .collect();
    let signet_ca_listed = (requested && !options.signet_cas.is_empty() && !names_der.is_empty())
        .then(|| {
            // Browsers offer a certificate when any CA on its chain is named: the issuing CA or
            // the root above it.
            options.signet_cas.iter().any(|ca| {
                let tbs = ca.tbs_certificate();
                [tbs.subject(), tbs.issuer()]
                    .iter()
                    .any(|name| name.to_der().is_ok_and(|der| names_der.contains(&der)))
            })
        });
    ClientAuth {
        mode: match (requested, required) {
            (false, _) => "none",
            (true, false) => "optional",
            (true, true) => "required",
        },
        ca_names,
        signet_ca_listed,
        seen_in,
    }
}

#[allow(clippy::too_many_arguments)]
fn facts(
    versions: &BTreeMap<Version, VersionResult>,
    protocols: &BTreeMap<String, ProtocolReport>,
    groups: &[u16],
    chain: Option<&ChainReport>,
    certificates: &[Certificate],
    revocation: Option<&Revocation>,
    endpoint: &Endpoint,
    secure_renegotiation: Option<bool>,
    hsts: Option<&Hsts>,
) -> Facts {
    let mut keys: Vec<(KeyKind, u32)> = certificates
        .first()
        .map(|leaf| {
            let (kind, bits, _) = chain::describe_key(leaf);
            let kind = match kind {
                KeyType::Ecdsa | KeyType::Ed25519 => KeyKind::Ec,
                _ => KeyKind::Rsa,
            };
            vec![(kind, bits)]
        })
        .unwrap_or_default();
    for protocol in protocols.values() {
        for suite in &protocol.suites {
            if let Some(bits) = suite
                .key_exchange
                .as_deref()
                .and_then(|k| k.strip_prefix("DH "))
                .and_then(|b| b.parse().ok())
            {
                keys.push((KeyKind::Dh, bits));
            }
        }
    }
    let _ = groups;
    let leaf_weak_hash = certificates.first().and_then(|leaf| {
        let name = chain::algorithm_name(&leaf.signature_algorithm().oid).to_ascii_lowercase();
        if name.contains("sha1") || name.contains("sha-1") {
            Some("SHA1")
        } else if name.contains("md5") {
            Some("MD5")
        } else if name.contains("md2") {
            Some("MD2")
        } else {
            None
        }
    });
    let leaf_expired = chain
        .and_then(|c| c.served.first())
        .is_some_and(|leaf| leaf.days_left < 0 || leaf_not_yet_valid(leaf));
    Facts {
        versions: versions.keys().copied().collect(),
        suites: protocols
            .iter()
            .flat_map(|(name, p)| {
                let version = Version::ALL.into_iter().find(|v| v.name() == name);
                p.suites
                    .iter()
                    .filter_map(move |s| version.map(|v| (v, s.suite.clone())))
            })
            .collect(),
        keys,
        leaf_weak_hash,
        certificate: chain.is_some(),
        name_matches: chain.is_some_and(|c| c.name_matches),
        trust: rating::Trust {
            trusted: chain.is_some_and(|c| c.trusted),
            self_signed: chain.is_some_and(|c| c.self_signed),
            incomplete: chain.is_some_and(|c| c.trusted && c.missing.is_some()),
            issuer_missing: chain.is_some_and(|c| !c.trusted && c.missing.is_some()),
            expired: leaf_expired,
            revoked: revocation.is_some_and(|r| r.status.starts_with("revoked")),
        },
        starttls: endpoint.starttls.is_some(),
        secure_renegotiation,
        hsts_max_age: hsts.and_then(|h| h.header.as_ref().map(|_| h.max_age)),
    }
}

fn leaf_not_yet_valid(leaf: &ChainEntry) -> bool {
    OffsetDateTime::parse(
        &leaf.not_before,
        &time::format_description::well_known::Rfc3339,
    )
    .is_ok_and(|t| t > OffsetDateTime::now_utc())
}

fn observed(
    facts: &Facts,
    protocols: &BTreeMap<String, ProtocolReport>,
    groups: &[u16],
    certificates: &[Certificate],
    stapled: bool,
    hsts: Option<&Hsts>,
    handshake: Option<&Handshake>,
) -> mozilla::Observed {
    let mut tls13_suites = BTreeSet::new();
    let mut suites = BTreeSet::new();
    for (name, protocol) in protocols {
        for s in &protocol.suites {
            if name == "TLSv1.3" {
                tls13_suites.insert(s.suite.name.clone());
            } else {
                suites.insert(s.suite.name.clone());
            }
        }
    }
    let leaf = certificates.first();
    mozilla::Observed {
        versions: facts.versions.clone(),
        tls13_suites,
        suites,
        groups: groups.to_vec(),
        smallest_dh: facts
            .keys
            .iter()
            .filter(|(k, _)| *k == KeyKind::Dh)
            .map(|(_, b)| *b)
            .min(),
        leaf_key: leaf.map(|l| {
            let (t, b, _) = chain::describe_key(l);
            (t, b)
        }),
        leaf_signature: leaf.map(|l| chain::algorithm_name(&l.signature_algorithm().oid)),
        leaf_lifespan_days: leaf.map(|l| {
            let v = l.tbs_certificate().validity();
            (OffsetDateTime::from(v.not_after.to_system_time())
                - OffsetDateTime::from(v.not_before.to_system_time()))
            .whole_days()
        }),
        trusted: facts.trust.trusted,
        stapled,
        hsts_max_age: hsts.and_then(|h| h.max_age),
        https: handshake.is_some_and(|h| h.http.is_some()),
    }
}

fn protocol_findings(
    versions: &BTreeMap<Version, VersionResult>,
    protocols: &BTreeMap<String, ProtocolReport>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let has = |v: Version| versions.contains_key(&v);
    if has(Version::Ssl2) {
        out.push(finding("protocol-sslv2", "critical", "SSLv2 is accepted: it is broken (DROWN) and lets attackers decrypt other connections that share the key.".into(), "Disable SSLv2 entirely."));
    }
    if has(Version::Ssl3) {
        out.push(finding(
            "protocol-sslv3",
            "critical",
            "SSLv3 is accepted: it is broken (POODLE).".into(),
            "Disable SSLv3; accept TLS 1.2 and TLS 1.3 only.",
        ));
    }
    for (v, id) in [
        (Version::Tls10, "protocol-tls10"),
        (Version::Tls11, "protocol-tls11"),
    ] {
        if has(v) {
            out.push(finding(
                id,
                "medium",
                format!(
                    "{} is accepted: it is deprecated (RFC 8996) and caps the grade at B.",
                    v.name()
                ),
                "Disable TLS 1.0 and TLS 1.1; every supported client speaks TLS 1.2.",
            ));
        }
    }
    if !has(Version::Tls12) && !has(Version::Tls13) {
        out.push(finding(
            "protocol-no-tls12",
            "high",
            "Neither TLS 1.2 nor TLS 1.3 is accepted.".into(),
            "Enable TLS 1.2 and TLS 1.3.",
        ));
    }
    if !has(Version::Tls13) {
        out.push(finding(
            "protocol-no-tls13",
            "low",
            "TLS 1.3 is not accepted.".into(),
            "Enable TLS 1.3 (OpenSSL 1.1.1 and later, nginx 1.13+, Apache 2.4.37+).",
        ));
    }
    let all: Vec<&AcceptedSuite> = protocols.values().flat_map(|p| p.suites.iter()).collect();
    let names = |test: &dyn Fn(&SuiteInfo) -> bool| -> Vec<String> {
        let mut n: Vec<String> = all
            .iter()
            .filter(|s| test(&s.suite))
            .map(|s| s.suite.name.clone())
            .collect();
        n.sort();
        n.dedup();
        n
    };
    for (weakness, id, severity, text, fix) in [
        (
            "null",
            "suite-null",
            "critical",
            "Suites without encryption are accepted",
            "Remove the NULL suites (`!eNULL`).",
        ),
        (
            "anonymous",
            "suite-anonymous",
            "critical",
            "Anonymous suites (no server authentication) are accepted",
            "Remove them (`!aNULL`).",
        ),
        (
            "export",
            "suite-export",
            "critical",
            "Export-grade suites are accepted (FREAK, Logjam)",
            "Remove them (`!EXPORT`).",
        ),
        (
            "rc4",
            "suite-rc4",
            "high",
            "RC4 suites are accepted (RFC 7465 forbids them)",
            "Remove RC4 (`!RC4`).",
        ),
        (
            "64-bit-block",
            "suite-64bit-block",
            "medium",
            "Suites with a 64-bit block cipher (3DES, DES, IDEA) are accepted: SWEET32",
            "Remove them (`!3DES:!DES:!IDEA`).",
        ),
    ] {
        let list = names(&|s| s.weakness == Some(weakness));
        if !list.is_empty() {
            out.push(finding(
                id,
                severity,
                format!("{text}: {}.", list.join(", ")),
                fix,
            ));
        }
    }
    if !all.is_empty() && !all.iter().any(|s| s.suite.aead) {
        out.push(finding("suite-no-aead", "medium", "No AEAD suite (GCM, ChaCha20-Poly1305, CCM) is accepted: every connection uses CBC, open to padding-oracle attacks (Lucky13).".into(), "Offer ECDHE suites with AES-GCM or ChaCha20-Poly1305 first."));
    } else {
        let cbc = names(&|s| s.weakness == Some("cbc"));
        if !cbc.is_empty() {
            out.push(finding("suite-cbc", "low", format!("CBC-mode suites are accepted beside AEAD ones: {}.", cbc.join(", ")), "Unless old clients need them, keep only AEAD suites (Mozilla's intermediate profile)."));
        }
    }
    if !all.is_empty() && !all.iter().any(|s| s.suite.forward_secrecy) {
        out.push(finding("suite-no-forward-secrecy", "medium", "No suite with forward secrecy is accepted: a stolen server key decrypts every recorded session.".into(), "Offer ECDHE (or DHE) suites."));
    } else {
        let rsa = names(&|s| !s.forward_secrecy && s.weakness != Some("sslv2"));
        if !rsa.is_empty() {
            out.push(finding(
                "suite-static-key-exchange",
                "low",
                format!(
                    "Suites without forward secrecy are accepted: {}.",
                    rsa.join(", ")
                ),
                "Remove the static RSA key exchange suites (`!kRSA`).",
            ));
        }
    }
    for (name, protocol) in protocols {
        if protocol.server_order == Some(false) && name != "TLSv1.3" {
            let weak = protocol.suites.iter().any(|s| s.suite.weakness.is_some());
            if weak {
                out.push(finding(&format!("order-{name}"), "low", format!("In {name} the client's order decides, and weaker suites are accepted: a client preferring them gets them."), "Enforce the server's order (`ssl_prefer_server_ciphers on`, `SSLHonorCipherOrder on`) or remove the weak suites."));
            }
        }
    }
    out
}

fn key_exchange_findings(
    protocols: &BTreeMap<String, ProtocolReport>,
    groups: &[u16],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let smallest_dh = protocols
        .values()
        .flat_map(|p| p.suites.iter())
        .filter_map(|s| {
            s.key_exchange
                .as_deref()?
                .strip_prefix("DH ")?
                .parse::<u32>()
                .ok()
        })
        .min();
    if let Some(bits) = smallest_dh.filter(|b| *b < 2048) {
        out.push(finding(
            "kx-weak-dh",
            if bits < 1024 { "critical" } else { "high" },
            format!("DHE uses a {bits}-bit prime (Logjam: 1024 bits and less are within reach)."),
            "Use a 2048-bit or larger group (ffdhe2048, RFC 7919), or drop DHE for ECDHE.",
        ));
    }
    let weak_groups: Vec<String> = groups
        .iter()
        .filter(|g| hello::group_strength(**g).is_some_and(|s| s < 2048))
        .map(|g| hello::group_name(*g))
        .collect();
    if !weak_groups.is_empty() {
        out.push(finding(
            "kx-weak-groups",
            "medium",
            format!(
                "Weak key exchange groups are accepted: {}.",
                weak_groups.join(", ")
            ),
            "Accept X25519, secp256r1 and secp384r1 (and the hybrid X25519MLKEM768) only.",
        ));
    }
    out
}

fn chain_findings(chain: &ChainReport, server_name: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let leaf = &chain.served[0];
    if leaf.key_type == KeyType::Rsa && leaf.key_bits < 2048 {
        out.push(finding(
            "cert-weak-key",
            if leaf.key_bits < 1024 {
                "critical"
            } else {
                "high"
            },
            format!(
                "The certificate's key is {} — under 2048 bits, which CAs stopped issuing in 2013.",
                leaf.key
            ),
            "Get a new certificate with an RSA 2048+ or EC P-256 key.",
        ));
    }
    for subject in &chain.weak_signatures {
        out.push(finding(
            "cert-weak-signature",
            "high",
            format!("{subject} is signed with SHA-1 or MD5, which browsers reject."),
            "Have it reissued with SHA-256.",
        ));
    }
    if !chain.name_matches {
        out.push(finding("cert-name-mismatch", "critical", format!("The certificate is for {} — not for {server_name}.", if chain.names.is_empty() { "no DNS name (it has no subjectAltName)".to_owned() } else { chain.names.join(", ") }), "Install a certificate whose subjectAltName lists this name, or test the name the certificate is for (--sni)."));
    }
    if chain.self_signed {
        out.push(finding(
            "cert-self-signed",
            "critical",
            "The certificate is self-signed: no client can tell it from an attacker's.".into(),
            "Get a certificate from a CA your clients trust (or pass that CA with --trust).",
        ));
    } else if !chain.trusted {
        out.push(finding("chain-untrusted", "critical", format!("The chain does not lead to a trusted root (it ends at {}).", chain.served[*chain.path.last().unwrap_or(&0)].issuer), "Serve the intermediates your CA gave you; if the root is your own, test with --trust ROOT.pem."));
    }
    if let Some(missing) = &chain.missing {
        out.push(finding("chain-incomplete", "high", format!("The server does not send the intermediate certificate {missing}; clients that do not fetch it themselves fail."), "Append the intermediate certificate(s) to the served certificate file (nginx: ssl_certificate with the full chain)."));
    }
    if !chain.in_order {
        out.push(finding(
            "chain-order",
            "medium",
            "The certificates are not served in order (each should follow the one it issued)."
                .into(),
            "Serve the leaf first, then its issuer, then that one's issuer.",
        ));
    }
    let extra: Vec<&ChainEntry> = chain.served.iter().filter(|e| e.role == "extra").collect();
    if !extra.is_empty() {
        out.push(finding(
            "chain-extra",
            "low",
            format!(
                "The server sends certificates not on the path: {}.",
                extra
                    .iter()
                    .map(|e| e.subject.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            "Remove them from the served chain; they only cost bytes.",
        ));
    }
    if chain.served.iter().any(|e| e.role == "root") {
        out.push(finding(
            "chain-root-sent",
            "info",
            "The server sends the root certificate; clients ignore it.".into(),
            "It may be left out.",
        ));
    }
    for entry in chain.served.iter().filter(|e| e.role != "extra") {
        if entry.days_left < 0 {
            out.push(finding(
                "cert-expired",
                "critical",
                format!(
                    "{} ({}) expired on {}.",
                    entry.subject, entry.role, entry.not_after
                ),
                "Renew it and install the new certificate now.",
            ));
        } else if entry.days_left < 30 {
            out.push(finding(
                "cert-expires-soon",
                "medium",
                format!(
                    "{} ({}) expires in {} days, on {}.",
                    entry.subject, entry.role, entry.days_left, entry.not_after
                ),
                "Renew it before it expires.",
            ));
        }
    }
    out
}

fn revocation_findings(revocation: &Revocation) -> Vec<Finding> {
    let mut out = Vec::new();
    if revocation.sources.is_empty() {
        out.push(finding("revocation-none", "medium", "The certificate names no OCSP responder and no CRL: clients cannot learn that it was revoked.".into(), "Get a certificate from a CA that publishes revocation information."));
    }
    for source in revocation
        .sources
        .iter()
        .filter(|s| !s.reachable && s.status != "not checked")
    {
        out.push(finding(
            "revocation-unreachable",
            "medium",
            format!(
                "The {} at {} gave no usable answer: {}.",
                source.kind.to_uppercase(),
                source.url,
                source.status
            ),
            "Ask the CA; clients that cannot check revocation may refuse the certificate.",
        ));
    }
    if revocation.status.starts_with("revoked") {
        out.push(finding(
            "cert-revoked",
            "critical",
            format!("The certificate is {}.", revocation.status),
            "Install a new certificate now.",
        ));
    }
    if !revocation.stapled {
        out.push(finding(
            "ocsp-no-staple",
            "low",
            "The server does not staple an OCSP response.".into(),
            "Enable OCSP stapling (nginx: ssl_stapling on; Apache: SSLUseStapling on).",
        ));
    } else if let Some(status) = revocation.staple_status.as_deref().filter(|s| *s != "good") {
        out.push(finding(
            "ocsp-staple-bad",
            "medium",
            format!("The stapled OCSP response is {status}."),
            "Check the server's stapling configuration and its access to the responder.",
        ));
    }
    out
}

fn client_auth_findings(auth: &ClientAuth, signet_known: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    if auth.mode == "none" {
        return out;
    }
    out.push(finding(
        "client-auth",
        "info",
        format!(
            "The server {} a client certificate and lists {} acceptable CA name(s).",
            if auth.mode == "required" {
                "requires"
            } else {
                "asks for (but does not require)"
            },
            auth.ca_names.len()
        ),
        "Nothing to fix; check that the listed CAs are the ones whose certificates you accept.",
    ));
    if auth.ca_names.is_empty() {
        out.push(finding("client-auth-no-ca-names", "low", "The server sends no acceptable CA names: clients offer their users every certificate they hold.".into(), "Send the CAs you accept (nginx: ssl_client_certificate; Apache: SSLCACertificateFile)."));
    }
    match auth.signet_ca_listed {
        Some(false) => out.push(finding("client-auth-signet-missing", "high", "Signet's issuing CA is not among the acceptable CA names: browsers will not offer Signet certificates to this server.".into(), "Add Signet's issuing CA certificate to the server's client CA list (`signet relying-party nginx` prints the lines)."),),
        None if signet_known && !auth.ca_names.is_empty() => {}
        _ => {}
    }
    out
}

fn other_findings(
    secure_renegotiation: Option<bool>,
    hsts: Option<&Hsts>,
    handshake: Option<&Handshake>,
    endpoint: &Endpoint,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if secure_renegotiation == Some(false) {
        out.push(finding(
            "renegotiation-insecure",
            "high",
            "The server does not support secure renegotiation (RFC 5746).".into(),
            "Update the TLS library; every maintained one supports RFC 5746.",
        ));
    }
    if handshake.is_some_and(|h| h.http.is_some()) {
        match hsts {
            Some(Hsts { header: None, .. }) | None => out.push(finding("hsts-missing", "low", "The HTTPS server sends no Strict-Transport-Security header.".into(), "Add `Strict-Transport-Security: max-age=63072000` once every page works over HTTPS.")),
            Some(Hsts { max_age: Some(age), .. }) if *age < rating::HSTS_MIN_AGE => out.push(finding("hsts-short", "low", format!("HSTS max-age is {age} seconds, under half a year."), "Raise max-age to at least 15552000 (180 days); Mozilla recommends two years.")),
            Some(Hsts { max_age: None, .. }) => out.push(finding("hsts-invalid", "low", "The Strict-Transport-Security header has no valid max-age.".into(), "Write it as `max-age=63072000`.")),
            _ => {}
        }
    }
    if let Some(kind) = endpoint.starttls {
        out.push(finding("starttls", "info", format!("Tested through {} STARTTLS, which an attacker on the path can strip; the grade is capped at T, as testssl.sh does.", kind.name()), "Where clients support it, offer implicit TLS (RFC 8314: ports 465, 993, 995)."));
    }
    out
}

impl Report {
    /// The report as text for a terminal: grade, summary, findings, then the details.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let clean = |s: &str| -> String { s.chars().filter(|c| !c.is_control()).collect() };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "TLS test of {} ({}){}",
            clean(&self.server_name),
            self.address,
            self.starttls
                .as_deref()
                .map(|s| format!(", STARTTLS {s}"))
                .unwrap_or_default()
        );
        let _ = writeln!(
            out,
            "Grade: {}   (score {}: protocol {}, key exchange {}, cipher {}; {})",
            self.grade,
            self.score.total,
            self.score.protocol,
            self.score.key_exchange,
            self.score.cipher,
            self.rating_guide
        );
        if self.grade != self.grade_ignoring_trust {
            let _ = writeln!(
                out,
                "       {} if the trust and name problems are fixed",
                self.grade_ignoring_trust
            );
        }
        for cap in &self.caps {
            let _ = writeln!(out, "  capped at {}: {}", cap.grade, cap.reason);
        }
        for warning in &self.warnings {
            let _ = writeln!(out, "  warning: {warning}");
        }
        let _ = writeln!(
            out,
            "Mozilla {} profile (guidelines {}): {}",
            self.mozilla.profile,
            self.mozilla.guidelines_version,
            if self.mozilla.compliant {
                "compliant".to_owned()
            } else {
                format!("not compliant ({} issues)", self.mozilla.issues.len())
            }
        );
        for issue in &self.mozilla.issues {
            let _ = writeln!(out, "  - {}", clean(issue));
        }
        let _ = writeln!(out, "\nFindings:");
        for f in &self.findings {
            let _ = writeln!(
                out,
                "  [{}] {}\n      fix: {}",
                f.severity,
                clean(&f.message),
                clean(&f.fix)
            );
        }
        let _ = writeln!(out, "\nProtocols and suites:");
        for (name, protocol) in &self.protocols {
            let order = match protocol.server_order {
                Some(true) => ", server's order",
                Some(false) => ", client's order",
                None => "",
            };
            let _ = writeln!(out, "  {name}{order}");
            for s in &protocol.suites {
                let _ = writeln!(
                    out,
                    "    {:<48} {:>4} bits{}{}{}",
                    s.suite.name,
                    s.suite.bits,
                    if s.suite.forward_secrecy { "  FS" } else { "" },
                    if s.suite.aead { "  AEAD" } else { "" },
                    s.key_exchange
                        .as_deref()
                        .map(|k| format!("  {k}"))
                        .unwrap_or_default()
                );
            }
        }
        if !self.groups.is_empty() {
            let _ = writeln!(out, "  groups: {}", self.groups.join(", "));
        }
        let _ = writeln!(out, "\nChain as served:");
        for (i, e) in self.chain.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {i} {} [{}]\n      issuer {}\n      {} · {} · expires {} ({} days)",
                clean(&e.subject),
                e.role,
                clean(&e.issuer),
                e.key,
                e.signature_algorithm,
                e.not_after,
                e.days_left
            );
        }
        if let Some(trust) = &self.trust {
            let _ = writeln!(
                out,
                "  trusted: {}{}; name matches: {}",
                trust.trusted,
                trust
                    .anchor
                    .as_deref()
                    .map(|a| format!(" (anchor {})", clean(a)))
                    .unwrap_or_default(),
                trust.name_matches
            );
        }
        if let Some(r) = &self.revocation {
            let _ = writeln!(
                out,
                "\nRevocation: {}; stapled: {}",
                r.status,
                r.staple_status
                    .as_deref()
                    .unwrap_or(if r.stapled { "yes" } else { "no" })
            );
            for s in &r.sources {
                let _ = writeln!(out, "  {} {}: {}", s.kind, clean(&s.url), clean(&s.status));
            }
        }
        let _ = writeln!(out, "\nClient certificates: {}", self.client_auth.mode);
        for name in &self.client_auth.ca_names {
            let _ = writeln!(out, "  accepts {}", clean(name));
        }
        if let Some(listed) = self.client_auth.signet_ca_listed {
            let _ = writeln!(out, "  Signet's issuing CA listed: {listed}");
        }
        if let Some(hsts) = &self.hsts {
            let _ = writeln!(
                out,
                "\nHSTS: {}",
                hsts.header
                    .as_deref()
                    .map(clean)
                    .unwrap_or_else(|| "none".into())
            );
        }
        let _ = writeln!(
            out,
            "\n{} connections, {} ms",
            self.connections, self.elapsed_ms
        );
        out
    }
}
