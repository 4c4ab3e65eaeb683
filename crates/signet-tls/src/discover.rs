//! What certificate discovery reads from one endpoint: the chain it serves. One connection for
//! most servers (a TLS 1.3 handshake through rustls, which sees what TLS 1.3 encrypts); a second,
//! hand-built TLS 1.2 hello for servers that only speak TLS 1.0 to 1.2, whose Certificate
//! message is in the clear whatever suites or keys they use. No HTTP request is sent.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::TlsTestError;
use crate::hello::{self, Offer, Version};
use crate::wire::Endpoint;
use crate::{modern, probe, suites};

/// Certificates of a served chain that are read at most: real chains have two to four.
const MAX_CHAIN: usize = 16;

/// What an endpoint served.
#[derive(Debug, Clone, Default)]
pub struct Served {
    /// The protocol of the answer.
    pub version: Option<Version>,
    /// The certificates as served, leaf first (DER).
    pub certificates: Vec<Vec<u8>>,
    /// A stapled OCSP response.
    pub ocsp_staple: Option<Vec<u8>>,
}

/// Reads the chain `endpoint` serves. An endpoint that does not connect is
/// [`TlsTestError::Unreachable`]; one that connects but sends no certificate is
/// [`TlsTestError::NoTls`] (or a STARTTLS error).
pub fn served(endpoint: &Endpoint) -> Result<Served, TlsTestError> {
    match modern::handshake(endpoint, true, false) {
        Ok(mut h) if !h.certificates.is_empty() => {
            h.certificates.truncate(MAX_CHAIN);
            return Ok(Served {
                version: h.version,
                certificates: h.certificates,
                ocsp_staple: h.ocsp_staple,
            });
        }
        Err(e @ (TlsTestError::Unreachable { .. } | TlsTestError::StartTls { .. })) => {
            return Err(e);
        }
        _ => {}
    }
    // RFC 6066 §3: no address in server_name.
    let server_name = endpoint
        .server_name
        .parse::<IpAddr>()
        .is_err()
        .then_some(endpoint.server_name.as_str());
    let suites = suites::candidates(Version::Tls12);
    let groups: Vec<u16> = hello::GROUPS.iter().map(|g| g.0).collect();
    let flight = probe::ask(
        endpoint,
        &Offer {
            version: Version::Tls12,
            suites: &suites,
            groups: &groups,
            server_name,
        },
    )?;
    if flight.certificates.is_empty() {
        return Err(TlsTestError::NoTls(endpoint.address));
    }
    let mut certificates = flight.certificates;
    certificates.truncate(MAX_CHAIN);
    Ok(Served {
        version: flight.hello.and_then(|h| h.version),
        certificates,
        ocsp_staple: flight.ocsp_staple,
    })
}

/// The SHA-256 fingerprint of a certificate, lowercase hex: how discovery names it.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// One served certificate, described for the inventory.
#[derive(Debug, Clone)]
pub struct Described {
    pub fingerprint: String,
    pub der: Vec<u8>,
    pub subject: String,
    pub issuer: String,
    /// subjectAltName DNS names and addresses.
    pub names: Vec<String>,
    /// e.g. `RSA 2048`.
    pub key: String,
    /// Serial number, lowercase hex.
    pub serial: String,
    pub not_before: time::OffsetDateTime,
    pub not_after: time::OffsetDateTime,
}

/// A served chain, judged: the certificates, the facts the alert rules read, and whether one of
/// Signet's CAs issued the leaf.
#[derive(Debug, Clone)]
pub struct Examined {
    /// Leaf first, as served (parsable certificates only).
    pub certificates: Vec<Described>,
    /// The facts for [`signet_domain::discovery::alerts`]; `changed` and `revoked` are the
    /// caller's to fill in.
    pub sighting: signet_domain::discovery::Sighting,
    /// The leaf's serial as Signet records it, when one of `signet_cas` issued it.
    pub signet_serial: Option<signet_domain::serial::Serial>,
    /// The leaf and the certificate that issued it (served or an anchor), for revocation.
    pub leaf_and_issuer: Option<(x509_cert::Certificate, x509_cert::Certificate)>,
    /// The OCSP response the server stapled.
    pub ocsp_staple: Option<Vec<u8>>,
}

/// Judges what an endpoint served. `by_name`: the endpoint was reached by the name in
/// `server_name` (then the leaf must name it). Missing issuers are not fetched: an inventory
/// reports what clients are served.
pub fn examine(
    served: &Served,
    server_name: &str,
    by_name: bool,
    anchors: &[x509_cert::Certificate],
    signet_cas: &[x509_cert::Certificate],
    now: time::OffsetDateTime,
) -> Option<Examined> {
    use der::Decode;
    use signet_domain::discovery::{ServedFacts, Sighting};
    let parsed: Vec<(Vec<u8>, x509_cert::Certificate)> = served
        .certificates
        .iter()
        .map_while(|der| {
            x509_cert::Certificate::from_der(der)
                .ok()
                .map(|c| (der.clone(), c))
        })
        .collect();
    let (_, leaf) = parsed.first()?;
    let ders: Vec<Vec<u8>> = parsed.iter().map(|(d, _)| d.clone()).collect();
    let report = crate::chain::judge(&ders, server_name, anchors, now, &|_| None)?;
    let signet_serial = signet_cas
        .iter()
        .any(|ca| crate::chain::issued(leaf, ca))
        .then(|| {
            signet_domain::serial::Serial::from_der_integer(
                leaf.tbs_certificate().serial_number().as_bytes(),
            )
            .ok()
        })
        .flatten();
    let time_of = |t: &x509_cert::time::Time| time::OffsetDateTime::from(t.to_system_time());
    let certificates: Vec<Described> = parsed
        .iter()
        .map(|(der, c)| {
            let tbs = c.tbs_certificate();
            Described {
                fingerprint: fingerprint(der),
                der: der.clone(),
                subject: tbs.subject().to_string(),
                issuer: tbs.issuer().to_string(),
                names: crate::chain::subject_alt_names(c),
                key: crate::chain::describe_key(c).2,
                serial: hex::encode(tbs.serial_number().as_bytes()),
                not_before: time_of(&tbs.validity().not_before),
                not_after: time_of(&tbs.validity().not_after),
            }
        })
        .collect();
    let served_facts = parsed
        .iter()
        .enumerate()
        .map(|(i, (_, c))| {
            let (key_type, bits, _) = crate::chain::describe_key(c);
            ServedFacts {
                not_before: certificates[i].not_before,
                not_after: certificates[i].not_after,
                key_algorithm: match key_type {
                    crate::chain::KeyType::Rsa => "rsa",
                    crate::chain::KeyType::Ecdsa => "ec",
                    crate::chain::KeyType::Ed25519 => "ed25519",
                    crate::chain::KeyType::Other
                        if c.tbs_certificate().subject_public_key_info().algorithm.oid
                            == const_oid::db::rfc5912::ID_DSA =>
                    {
                        "dsa"
                    }
                    crate::chain::KeyType::Other => "other",
                }
                .to_owned(),
                key_bits: bits,
                on_path: report.path.contains(&i),
            }
        })
        .collect();
    let issuer = match report.path.get(1) {
        Some(&i) => Some(parsed[i].1.clone()),
        None => anchors
            .iter()
            .find(|a| crate::chain::issued(leaf, a) && !crate::chain::issued(leaf, leaf))
            .cloned(),
    };
    Some(Examined {
        leaf_and_issuer: issuer.map(|issuer| (leaf.clone(), issuer)),
        ocsp_staple: served.ocsp_staple.clone(),
        sighting: Sighting {
            served: served_facts,
            self_signed: report.self_signed,
            trusted: report.trusted,
            incomplete: report.missing.is_some(),
            weak_signature: !report.weak_signatures.is_empty(),
            name_matches: by_name.then_some(report.name_matches),
            revoked: None,
            changed: false,
        },
        certificates,
        signet_serial,
    })
}

/// A stapled OCSP response, read through the same checks as one fetched.
#[derive(Debug)]
struct Stapled<'a>(&'a [u8]);

impl signet_sign::network::Fetch for Stapled<'_> {
    fn post(&self, _: &str, _: &str, _: &[u8]) -> Result<Vec<u8>, signet_sign::SignError> {
        Ok(self.0.to_vec())
    }

    fn get(&self, url: &str) -> Result<Vec<u8>, signet_sign::SignError> {
        Err(signet_sign::SignError::Revocation(format!(
            "{url}: only the staple is read"
        )))
    }
}

/// Whether `leaf` is revoked: by the server's stapled OCSP response, else by the OCSP
/// responders, else the CRLs it names (two of each at most, through `fetch`). `None` when
/// nothing gave an answer.
pub fn revoked(
    leaf: &x509_cert::Certificate,
    issuer: &x509_cert::Certificate,
    staple: Option<&[u8]>,
    fetch: &dyn signet_sign::network::Fetch,
) -> Option<bool> {
    use signet_sign::report::Standing;
    use signet_sign::revocation::{ask_crl, ask_ocsp, crl_urls, ocsp_urls};
    let verdict = |standing: Result<Standing, signet_sign::SignError>| match standing {
        Ok(Standing::Good) => Some(false),
        Ok(Standing::Revoked(_)) => Some(true),
        _ => None,
    };
    if let Some(answer) =
        staple.and_then(|s| verdict(ask_ocsp(&Stapled(s), "stapled", leaf, issuer)))
    {
        return Some(answer);
    }
    if let Some(answer) = ocsp_urls(leaf)
        .iter()
        .take(2)
        .find_map(|url| verdict(ask_ocsp(fetch, url, leaf, issuer)))
    {
        return Some(answer);
    }
    crl_urls(leaf)
        .iter()
        .take(2)
        .find_map(|url| verdict(ask_crl(fetch, url, leaf, issuer)))
}
