//! The chain as served, judged the way a client would: the path from the leaf to a trust
//! anchor, served certificates off that path, one that is missing, the order, every
//! certificate's expiry, key and signature algorithm, and whether the leaf names the server.

use der::{Decode, Encode};
use serde::Serialize;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

/// One served certificate, as a report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ChainEntry {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    /// Whole days until `not_after` (negative once expired).
    pub days_left: i64,
    /// e.g. `RSA 2048`, `EC P-256`.
    pub key: String,
    pub key_type: KeyType,
    pub key_bits: u32,
    pub signature_algorithm: String,
    /// `leaf`, `intermediate`, `root` (self-signed) or `extra` (not on the path).
    pub role: &'static str,
    pub sha256: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    Rsa,
    Ecdsa,
    Ed25519,
    Other,
}

/// What the chain check found.
#[derive(Debug, Clone, Serialize)]
pub struct ChainReport {
    /// The served certificates, in the order served.
    pub served: Vec<ChainEntry>,
    /// The path from the leaf, as indexes into `served`.
    pub path: Vec<usize>,
    /// The trust anchor the path ends at, when it ends at one.
    pub anchor: Option<String>,
    /// The path ends at a trust anchor (possibly through `missing`).
    pub trusted: bool,
    /// The issuer the server should have sent but did not (fetched from the leaf's AIA when
    /// reachable), by subject.
    pub missing: Option<String>,
    /// Every served certificate after the leaf comes right after the one it issued.
    pub in_order: bool,
    /// The leaf is self-signed.
    pub self_signed: bool,
    /// The leaf names the server (subjectAltName DNS or IP, RFC 6125 wildcards).
    pub name_matches: bool,
    /// The names in the leaf's subjectAltName.
    pub names: Vec<String>,
    /// Certificates on the path (and the anchor) whose signature uses SHA-1 or MD5.
    pub weak_signatures: Vec<String>,
}

/// Judges `served` (leaf first) for a server called `server_name`, against `anchors`, at `now`.
/// `fetch_issuer` fetches a missing issuer from an AIA caIssuers URL, when allowed.
pub fn judge(
    served: &[Vec<u8>],
    server_name: &str,
    anchors: &[Certificate],
    now: OffsetDateTime,
    fetch_issuer: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Option<ChainReport> {
    let certificates: Vec<Certificate> = served
        .iter()
        .map_while(|der| Certificate::from_der(der).ok())
        .collect();
    let leaf = certificates.first()?;
    let mut path = vec![0usize];
    let mut anchor = None;
    let mut missing = None;
    let mut trusted = false;
    loop {
        let current = &certificates[*path.last().unwrap_or(&0)];
        if let Some(found) = anchors
            .iter()
            .find(|a| is_same(a, current) || issued(current, a))
        {
            anchor = Some(found.tbs_certificate().subject().to_string());
            trusted = true;
            // A server that also sends the root: it is on the path, not an extra certificate.
            if !is_same(found, current)
                && let Some(root) = (0..certificates.len())
                    .filter(|i| !path.contains(i))
                    .find(|&i| is_same(found, &certificates[i]))
            {
                path.push(root);
            }
            break;
        }
        if issued(current, current) {
            break; // a self-signed certificate that is no anchor: the path ends untrusted
        }
        let next = (0..certificates.len())
            .filter(|i| !path.contains(i))
            .find(|&i| issued(current, &certificates[i]));
        match next {
            Some(i) if path.len() < 10 => path.push(i),
            Some(_) => break,
            None => {
                // The server left out an issuer. Browsers that fetch it from the AIA URL still
                // build the path; others fail, which is why it is a finding either way.
                let fetched = ca_issuers(current).into_iter().take(2).find_map(|url| {
                    let der = fetch_issuer(&url)?;
                    Certificate::from_der(&der)
                        .ok()
                        .filter(|c| issued(current, c))
                });
                missing = Some(fetched.as_ref().map_or_else(
                    || current.tbs_certificate().issuer().to_string(),
                    |c| c.tbs_certificate().subject().to_string(),
                ));
                if let Some(issuer) = fetched
                    && let Some(found) = anchors
                        .iter()
                        .find(|a| is_same(a, &issuer) || issued(&issuer, a))
                {
                    anchor = Some(found.tbs_certificate().subject().to_string());
                    trusted = true;
                }
                break;
            }
        }
    }
    let in_order = path.iter().enumerate().all(|(position, &i)| position == i);
    let weak_signatures = path
        .iter()
        .map(|&i| &certificates[i])
        .filter(|c| !issued(c, c))
        .filter(|c| weak_hash(&c.signature_algorithm().oid))
        .map(|c| c.tbs_certificate().subject().to_string())
        .collect();
    let names = subject_alt_names(leaf);
    let served_entries = certificates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let role = if i == 0 {
                "leaf"
            } else if !path.contains(&i) {
                "extra"
            } else if issued(c, c) {
                "root"
            } else {
                "intermediate"
            };
            entry(c, role, now)
        })
        .collect();
    Some(ChainReport {
        served: served_entries,
        path,
        anchor,
        trusted,
        missing,
        in_order,
        self_signed: issued(leaf, leaf),
        name_matches: names.iter().any(|n| name_matches(n, server_name)),
        names,
        weak_signatures,
    })
}

fn is_same(a: &Certificate, b: &Certificate) -> bool {
    a.tbs_certificate().subject() == b.tbs_certificate().subject()
        && a.tbs_certificate().subject_public_key_info()
            == b.tbs_certificate().subject_public_key_info()
}

/// `issuer` issued `child`: the names chain and the signature verifies with the issuer's key —
/// with the SHA-2 verifiers of signet-pki, else with the legacy ones a test must still read
/// (SHA-1, RSA keys from 1024 bits), never on names or key identifiers alone.
pub fn issued(child: &Certificate, issuer: &Certificate) -> bool {
    if child.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
        return false;
    }
    signet_pki::signed_data::verify_issued_by(child, issuer).is_ok()
        || legacy_verifies(child, issuer)
}

/// Verifies `child`'s signature with the legacy algorithms signet-pki rightly refuses
/// elsewhere: RSA PKCS#1 with SHA-1 or with keys of 1024 to 2047 bits, ECDSA P-256 with SHA-1.
fn legacy_verifies(child: &Certificate, issuer: &Certificate) -> bool {
    use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
    use const_oid::db::rfc5912::{
        SHA_1_WITH_RSA_ENCRYPTION, SHA_256_WITH_RSA_ENCRYPTION, SHA_512_WITH_RSA_ENCRYPTION,
    };
    let ecdsa_sha1 = der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");
    let (key_type, _, _) = describe_key(issuer);
    let algorithm = child.signature_algorithm().oid;
    let verifier: &dyn VerificationAlgorithm = match key_type {
        KeyType::Rsa if algorithm == SHA_1_WITH_RSA_ENCRYPTION => {
            &sig::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY
        }
        KeyType::Rsa if algorithm == SHA_256_WITH_RSA_ENCRYPTION => {
            &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY
        }
        KeyType::Rsa if algorithm == SHA_512_WITH_RSA_ENCRYPTION => {
            &sig::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY
        }
        KeyType::Ecdsa if algorithm == ecdsa_sha1 => &sig::ECDSA_P256_SHA1_ASN1,
        _ => return false,
    };
    let (Ok(tbs), Some(signature)) = (
        child.tbs_certificate().to_der(),
        child.signature().as_bytes(),
    ) else {
        return false;
    };
    let key = issuer
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes();
    UnparsedPublicKey::new(verifier, key)
        .verify(&tbs, signature)
        .is_ok()
}

fn weak_hash(oid: &der::asn1::ObjectIdentifier) -> bool {
    use const_oid::db::rfc5912::{
        DSA_WITH_SHA_1, ECDSA_WITH_SHA_224, MD_5_WITH_RSA_ENCRYPTION, SHA_1_WITH_RSA_ENCRYPTION,
    };
    let ecdsa_sha1 = der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");
    let md2 = der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.2");
    [
        SHA_1_WITH_RSA_ENCRYPTION,
        MD_5_WITH_RSA_ENCRYPTION,
        DSA_WITH_SHA_1,
        ecdsa_sha1,
        md2,
    ]
    .contains(oid)
        && *oid != ECDSA_WITH_SHA_224
}

pub fn ca_issuers(certificate: &Certificate) -> Vec<String> {
    signet_sign::revocation::access_urls(certificate, const_oid::db::rfc5280::ID_AD_CA_ISSUERS)
}

pub(crate) fn subject_alt_names(certificate: &Certificate) -> Vec<String> {
    certificate
        .tbs_certificate()
        .get_extension::<SubjectAltName>()
        .ok()
        .flatten()
        .map(|(_, san)| {
            san.0
                .into_iter()
                .filter_map(|name| match name {
                    GeneralName::DnsName(dns) => Some(dns.to_string()),
                    GeneralName::IpAddress(ip) => match ip.as_bytes().len() {
                        4 => {
                            let b: [u8; 4] = ip.as_bytes().try_into().ok()?;
                            Some(std::net::Ipv4Addr::from(b).to_string())
                        }
                        16 => {
                            let b: [u8; 16] = ip.as_bytes().try_into().ok()?;
                            Some(std::net::Ipv6Addr::from(b).to_string())
                        }
                        _ => None,
                    },
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// RFC 6125 §6.4: exact (case-insensitive) match, or a wildcard as the whole left-most label
/// standing for exactly one label. IP addresses match only exactly.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if pattern == name {
        return true;
    }
    if name.parse::<std::net::IpAddr>().is_ok() {
        return false;
    }
    match (pattern.strip_prefix("*."), name.split_once('.')) {
        (Some(suffix), Some((label, rest))) => {
            !label.is_empty() && rest == suffix && suffix.contains('.')
        }
        _ => false,
    }
}

fn entry(certificate: &Certificate, role: &'static str, now: OffsetDateTime) -> ChainEntry {
    let tbs = certificate.tbs_certificate();
    let not_before = OffsetDateTime::from(tbs.validity().not_before.to_system_time());
    let not_after = OffsetDateTime::from(tbs.validity().not_after.to_system_time());
    let (key_type, key_bits, key) = describe_key(certificate);
    let der = certificate.to_der().unwrap_or_default();
    ChainEntry {
        subject: tbs.subject().to_string(),
        issuer: tbs.issuer().to_string(),
        serial: hex::encode(tbs.serial_number().as_bytes()),
        not_before: rfc3339(not_before),
        not_after: rfc3339(not_after),
        days_left: (not_after - now).whole_days(),
        key,
        key_type,
        key_bits,
        signature_algorithm: algorithm_name(&certificate.signature_algorithm().oid),
        role,
        sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&der)),
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The name const-oid knows an algorithm by, or its dotted number.
pub fn algorithm_name(oid: &der::asn1::ObjectIdentifier) -> String {
    const_oid::db::DB
        .by_oid(oid)
        .map_or_else(|| oid.to_string(), str::to_owned)
}

#[derive(der::Sequence)]
struct RsaPublicKey<'a> {
    modulus: der::asn1::UintRef<'a>,
    exponent: der::asn1::UintRef<'a>,
}

/// The key's type, size in bits, and a label like `RSA 2048` or `EC P-256`.
pub fn describe_key(certificate: &Certificate) -> (KeyType, u32, String) {
    use const_oid::db::rfc5912::{
        ID_EC_PUBLIC_KEY, RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1, SECP_521_R_1,
    };
    let spki = certificate.tbs_certificate().subject_public_key_info();
    let key = spki.subject_public_key.raw_bytes();
    if spki.algorithm.oid == RSA_ENCRYPTION {
        let bits = RsaPublicKey::from_der(key).map_or(0, |k| {
            let m = k.modulus.as_bytes();
            m.first().map_or(0, |top| {
                (m.len() as u32 - 1) * 8 + (8 - top.leading_zeros())
            })
        });
        return (KeyType::Rsa, bits, format!("RSA {bits}"));
    }
    if spki.algorithm.oid == ID_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok());
        let (bits, name) = match curve {
            Some(c) if c == SECP_256_R_1 => (256, "P-256".to_owned()),
            Some(c) if c == SECP_384_R_1 => (384, "P-384".to_owned()),
            Some(c) if c == SECP_521_R_1 => (521, "P-521".to_owned()),
            Some(c) => ((key.len().saturating_sub(1) * 4) as u32, algorithm_name(&c)),
            None => (0, "unnamed curve".to_owned()),
        };
        return (KeyType::Ecdsa, bits, format!("EC {name}"));
    }
    if spki.algorithm.oid == const_oid::db::rfc8410::ID_ED_25519 {
        return (KeyType::Ed25519, 256, "Ed25519".to_owned());
    }
    (KeyType::Other, 0, algorithm_name(&spki.algorithm.oid))
}

/// The bits of an RSA key comparable across key types: what the rating guide's key exchange
/// table is in (EC keys counted by their RSA equivalent, NIST SP 800-57).
pub fn rsa_equivalent(key_type: KeyType, bits: u32) -> u32 {
    match key_type {
        KeyType::Rsa | KeyType::Other => bits,
        KeyType::Ecdsa | KeyType::Ed25519 => match bits {
            0..=159 => 512,
            160..=223 => 1024,
            224..=255 => 2048,
            256..=383 => 3072,
            384..=511 => 7680,
            _ => 15360,
        },
    }
}

/// The system's trust store (Debian, Fedora, Alpine, macOS paths), or `SSL_CERT_FILE`.
pub fn system_anchors() -> Result<Vec<Certificate>, String> {
    let candidates = std::env::var_os("SSL_CERT_FILE")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain(
            [
                "/etc/ssl/certs/ca-certificates.crt",
                "/etc/pki/tls/certs/ca-bundle.crt",
                "/etc/ssl/cert.pem",
            ]
            .map(std::path::PathBuf::from),
        );
    for path in candidates {
        if let Ok(bytes) = std::fs::read(&path) {
            return read_certificates(&bytes).map_err(|e| format!("{}: {e}", path.display()));
        }
    }
    Err("no system trust store found; give --trust FILE".into())
}

/// Reads certificates from PEM (one or many; blocks that do not parse are skipped, as a system
/// bundle may hold a certificate this parser refuses) or DER.
pub fn read_certificates(bytes: &[u8]) -> Result<Vec<Certificate>, String> {
    use der::DecodePem;
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let text = String::from_utf8_lossy(bytes);
    if text.contains(BEGIN) {
        let certificates: Vec<Certificate> = text
            .split(BEGIN)
            .skip(1)
            .filter_map(|block| block.split_once(END))
            .filter_map(|(body, _)| {
                Certificate::from_pem(format!("{BEGIN}{body}{END}\n").as_bytes()).ok()
            })
            .collect();
        if certificates.is_empty() {
            return Err("no readable certificate in the file".into());
        }
        return Ok(certificates);
    }
    Certificate::from_der(bytes)
        .map(|c| vec![c])
        .map_err(|e| format!("neither PEM nor a DER certificate: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_stand_for_one_label_only() {
        assert!(name_matches("*.example.org", "www.example.org"));
        assert!(name_matches("WWW.example.org.", "www.EXAMPLE.org"));
        assert!(!name_matches("*.example.org", "a.b.example.org"));
        assert!(!name_matches("*.example.org", "example.org"));
        assert!(!name_matches("*.org", "example.org"));
        assert!(!name_matches("*.0.0.1", "127.0.0.1"));
        assert!(name_matches("127.0.0.1", "127.0.0.1"));
    }

    #[test]
    fn ec_keys_count_by_their_rsa_equivalent() {
        assert_eq!(rsa_equivalent(KeyType::Ecdsa, 256), 3072);
        assert_eq!(rsa_equivalent(KeyType::Rsa, 1024), 1024);
    }
}
