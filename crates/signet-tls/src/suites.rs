//! The cipher suites a probe offers and what each one is worth, from tls-parser's copy of the
//! IANA registry.

use serde::Serialize;
use tls_parser::{TlsCipherAu, TlsCipherEnc, TlsCipherEncMode, TlsCipherKx, TlsCipherMac};

use crate::hello::Version;

/// The TLS 1.3 suites (RFC 8446 §B.4, RFC 9150 aside: integrity-only suites are not TLS).
const TLS13: [u16; 5] = [0x1301, 0x1302, 0x1303, 0x1304, 0x1305];

/// Every suite a hello for `version` offers: all of the registry that can run at that version,
/// strongest first so that a server honouring the client's order still picks a good one.
pub fn candidates(version: Version) -> Vec<u16> {
    if version == Version::Tls13 {
        return TLS13.to_vec();
    }
    let mut ids: Vec<u16> = tls_parser::CIPHERS
        .values()
        .filter(|s| s.kx != TlsCipherKx::Tls13)
        // Signalling values and the null-null suite are not suites.
        .filter(|s| !matches!(s.id.0, 0x0000 | 0x00ff | 0x5600))
        // Suites of TLS 1.2's AEAD modes and SHA-2 MACs do not exist in older versions.
        .filter(|s| version >= Version::Tls12 || !tls12_only(s))
        .map(|s| s.id.0)
        .collect();
    ids.sort_by_key(|&id| std::cmp::Reverse(rank(id)));
    ids
}

fn tls12_only(suite: &tls_parser::TlsCipherSuite) -> bool {
    suite.mac == TlsCipherMac::Aead
        || matches!(
            suite.mac,
            TlsCipherMac::HmacSha256 | TlsCipherMac::HmacSha384 | TlsCipherMac::HmacSha512
        )
}

/// A rough order of preference, for offering only.
fn rank(id: u16) -> u32 {
    let Some(suite) = tls_parser::TlsCipherSuite::from_id(id) else {
        return 0;
    };
    let info = describe(id);
    u32::from(info.forward_secrecy) * 4000
        + u32::from(info.aead) * 2000
        + u32::from(info.weakness.is_none()) * 1000
        + u32::from(suite.enc_size)
}

/// What a suite is worth.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SuiteInfo {
    /// IANA name, e.g. `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`.
    pub name: String,
    /// Its number, e.g. `0xc02f`.
    pub id: String,
    /// Key size of the bulk cipher in bits (3DES counts as 168, as in the rating guide's table;
    /// its weakness is the 64-bit block).
    pub bits: u16,
    pub forward_secrecy: bool,
    pub aead: bool,
    /// Why it is weak, when it is: `null`, `anonymous`, `export`, `rc4`, `64-bit-block`, `cbc`.
    pub weakness: Option<&'static str>,
}

impl SuiteInfo {
    /// Weak beyond CBC: a suite no server should accept.
    pub fn insecure(&self) -> bool {
        matches!(self.weakness, Some(w) if w != "cbc")
    }
}

/// What is known of suite `id` (unknown numbers get their number as name and count as weak).
pub fn describe(id: u16) -> SuiteInfo {
    let Some(suite) = tls_parser::TlsCipherSuite::from_id(id) else {
        return SuiteInfo {
            name: format!("0x{id:04x}"),
            id: format!("0x{id:04x}"),
            bits: 0,
            forward_secrecy: false,
            aead: false,
            weakness: Some("unknown"),
        };
    };
    // tls-parser's table gives ChaCha20-Poly1305 a 128-bit key; RFC 7905's is 256 bits.
    let bits = match suite.enc {
        TlsCipherEnc::Chacha20_Poly1305 => 256,
        _ => suite.enc_size,
    };
    let weakness = if suite.enc == TlsCipherEnc::Null {
        Some("null")
    } else if matches!(suite.au, TlsCipherAu::Null) && suite.kx != TlsCipherKx::Tls13 {
        Some("anonymous")
    } else if suite.name.contains("EXPORT") {
        Some("export")
    } else if suite.enc == TlsCipherEnc::Rc4 {
        Some("rc4")
    } else if suite.enc_block_size() == 8 {
        Some("64-bit-block")
    } else if suite.enc_mode == TlsCipherEncMode::Cbc {
        Some("cbc")
    } else {
        None
    };
    SuiteInfo {
        name: suite.name.to_owned(),
        id: format!("0x{id:04x}"),
        bits,
        forward_secrecy: matches!(
            suite.kx,
            TlsCipherKx::Dhe | TlsCipherKx::Ecdhe | TlsCipherKx::Tls13
        ) && !matches!(suite.au, TlsCipherAu::Null),
        aead: suite.mac == TlsCipherMac::Aead,
        weakness,
    }
}

/// The suite's key exchange is (EC)DHE, so its ServerKeyExchange names a group or prime.
pub fn is_ephemeral(id: u16) -> bool {
    tls_parser::TlsCipherSuite::from_id(id)
        .is_some_and(|s| matches!(s.kx, TlsCipherKx::Dhe | TlsCipherKx::Ecdhe))
}

/// The suite's key exchange is ECDHE.
pub fn is_ecdhe(id: u16) -> bool {
    tls_parser::TlsCipherSuite::from_id(id).is_some_and(|s| s.kx == TlsCipherKx::Ecdhe)
}

/// The suite authenticates with an RSA key exchange (no ServerKeyExchange: the certificate's
/// key is the key exchange).
pub fn is_rsa_key_transport(id: u16) -> bool {
    tls_parser::TlsCipherSuite::from_id(id).is_some_and(|s| s.kx == TlsCipherKx::Rsa)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_are_classified_as_the_rating_guide_counts_them() {
        let gcm = describe(0xc02f);
        assert_eq!(gcm.name, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assert!(gcm.forward_secrecy && gcm.aead && gcm.weakness.is_none());
        let triple = describe(0x000a);
        assert_eq!(triple.bits, 168);
        assert_eq!(triple.weakness, Some("64-bit-block"));
        assert!(!triple.forward_secrecy);
        assert_eq!(describe(0x0005).weakness, Some("rc4"));
        assert_eq!(describe(0x0035).weakness, Some("cbc"));
        assert!(describe(0x1301).forward_secrecy);
        assert_eq!(describe(0xcca8).bits, 256);
    }

    #[test]
    fn older_versions_are_not_offered_tls12_suites() {
        assert!(!candidates(Version::Tls10).contains(&0xc02f));
        assert!(candidates(Version::Tls12).contains(&0xc02f));
        assert!(candidates(Version::Tls12).len() > 200);
        assert_eq!(candidates(Version::Tls13).len(), 5);
    }
}
