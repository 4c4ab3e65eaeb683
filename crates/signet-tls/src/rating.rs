//! The grade, by Qualys SSL Labs' SSL Server Rating Guide (version 2009r, 2025-05-16) as
//! testssl.sh 3.2 implements it: three scores, grade caps with their reasons, warnings that
//! turn an A into A- instead of A+. Pure: it reads facts, it connects to nothing.
//!
//! Where we differ from testssl.sh, on purpose:
//! - the scores are reported even when the grade is T or M (testssl prints zeros), and
//!   `grade_ignoring_trust` gives what the grade would be without the trust caps, as SSL Labs'
//!   own pages do;
//! - DHE prime sizes count in the key exchange score with the RSA row (testssl means to, but its
//!   call does nothing), so a DHE-1024 server is capped at B.

use serde::Serialize;

use crate::hello::Version;
use crate::suites::SuiteInfo;

/// What the grade is computed from.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Versions the server accepts.
    pub versions: Vec<Version>,
    /// Every accepted suite, with the version it was accepted at.
    pub suites: Vec<(Version, SuiteInfo)>,
    /// Strengths of the certificate keys and ephemeral keys, each as (kind, bits).
    pub keys: Vec<(KeyKind, u32)>,
    /// The leaf's signature hash when it is weak: `SHA1`, `MD5` or `MD2`.
    pub leaf_weak_hash: Option<&'static str>,
    /// A certificate was read (an SSLv2-only server's is not): without one, nothing is known of
    /// trust or name, and no T or M is given for them.
    pub certificate: bool,
    /// The leaf names the host.
    pub name_matches: bool,
    pub trust: Trust,
    /// The test went through STARTTLS.
    pub starttls: bool,
    /// RFC 5746 renegotiation_info seen (None: not known, e.g. TLS 1.3 only).
    pub secure_renegotiation: Option<bool>,
    /// The HSTS header of an HTTPS server: None when absent or not HTTP; Some(None) when it has
    /// no readable max-age.
    pub hsts_max_age: Option<Option<u64>>,
}

/// How a key's bits are read: RSA, DSA and DH by modulus, EC and EdDSA by curve size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    Ec,
    Dh,
}

/// The chain's standing, as the caps need it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Trust {
    pub trusted: bool,
    pub self_signed: bool,
    /// An issuer was not sent but, fetched from the AIA URL, completes a trusted path: clients
    /// that fetch it manage, others fail ("chain incomplete", B).
    pub incomplete: bool,
    /// An issuer was not sent and no trusted path was found ("unable to get local issuer
    /// certificate", T).
    pub issuer_missing: bool,
    pub expired: bool,
    pub revoked: bool,
}

/// The three scores of the guide, each 0–100, and the weighted total.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Score {
    pub protocol: u32,
    pub key_exchange: u32,
    pub cipher: u32,
    pub total: u32,
}

/// A grade cap and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Cap {
    pub grade: &'static str,
    pub reason: String,
}

/// The outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Rating {
    /// `A+`, `A-`, `A` … `F`, `T` (trust) or `M` (name mismatch).
    pub grade: String,
    /// The grade with the T and M caps left out.
    pub grade_ignoring_trust: String,
    pub score: Score,
    pub caps: Vec<Cap>,
    /// What keeps an A from an A+.
    pub warnings: Vec<String>,
    /// The guide the grade follows.
    pub guide: &'static str,
}

/// Half a year: the shortest HSTS max-age that does not cost the A+ (testssl's HSTS_MIN).
pub const HSTS_MIN_AGE: u64 = 180 * 86_400;

fn protocol_points(version: Version) -> u32 {
    match version {
        Version::Ssl2 => 0,
        Version::Ssl3 => 80,
        Version::Tls10 => 90,
        Version::Tls11 => 95,
        Version::Tls12 | Version::Tls13 => 100,
    }
}

fn key_points(kind: KeyKind, bits: u32) -> u32 {
    let limits: [u32; 4] = match kind {
        KeyKind::Rsa | KeyKind::Dh => [512, 1024, 2048, 4096],
        KeyKind::Ec => [110, 123, 163, 225],
    };
    match limits.iter().position(|&limit| bits < limit) {
        Some(0) => 20,
        Some(1) => 40,
        Some(2) => 80,
        Some(_) => 90,
        None => 100,
    }
}

fn cipher_points(bits: u16) -> u32 {
    match bits {
        0 => 0,
        1..=127 => 20,
        128..=255 => 80,
        _ => 100,
    }
}

fn letter(total: u32) -> &'static str {
    match total {
        80.. => "A",
        65.. => "B",
        50.. => "C",
        35.. => "D",
        20.. => "E",
        _ => "F",
    }
}

/// Grades `facts`.
pub fn rate(facts: &Facts) -> Rating {
    let mut caps: Vec<Cap> = Vec::new();
    let mut cap = |grade: &'static str, reason: &str| {
        if !caps.iter().any(|c| c.grade == grade && c.reason == reason) {
            caps.push(Cap {
                grade,
                reason: reason.to_owned(),
            });
        }
    };
    let has = |v: Version| facts.versions.contains(&v);
    // Category 1: protocols.
    let best = facts
        .versions
        .iter()
        .filter(|v| **v != Version::Ssl2)
        .map(|v| protocol_points(*v))
        .max()
        .unwrap_or(0);
    let worst = facts
        .versions
        .iter()
        .filter(|v| **v <= Version::Tls11)
        .map(|v| protocol_points(*v))
        .min()
        .unwrap_or(100);
    let protocol = (best + worst) / 2;
    if has(Version::Ssl2) {
        cap("F", "SSLv2 is offered");
    }
    if facts.versions.iter().max() == Some(&Version::Ssl3) {
        cap("F", "SSLv3 is the best protocol offered");
    }
    if has(Version::Ssl3) {
        cap("B", "SSLv3 is offered");
    }
    if has(Version::Tls10) {
        cap("B", "TLS 1.0 offered");
    }
    if has(Version::Tls11) {
        cap("B", "TLS 1.1 offered");
    }
    if !has(Version::Tls12) && !has(Version::Tls13) {
        cap("C", "TLS 1.2 or TLS 1.3 are not offered");
    }
    // Category 2: key exchange — the weakest key counts.
    let key_exchange = facts
        .keys
        .iter()
        .map(|&(kind, bits)| key_points(kind, bits))
        .min()
        .unwrap_or(0);
    if key_exchange <= 40 {
        cap("F", "Using an insecure public key and/or ephemeral key");
    } else if key_exchange <= 80 {
        cap("B", "Using a weak public key and/or ephemeral key");
    }
    // Category 3: cipher strength — the strongest and the weakest suite.
    let bits: Vec<u16> = facts.suites.iter().map(|(_, s)| s.bits).collect();
    let strongest = bits.iter().copied().max().map_or(0, cipher_points);
    let weakest = bits.iter().copied().min().map_or(0, cipher_points);
    let cipher = (strongest + weakest) / 2;
    if bits.iter().any(|&b| b < 112) {
        cap("F", "Using cipher suites weaker than 112 bits");
    }
    let any_suite =
        |test: &dyn Fn(&Version, &SuiteInfo) -> bool| facts.suites.iter().any(|(v, s)| test(v, s));
    if any_suite(&|_, s| s.weakness == Some("export")) {
        cap("F", "Export suite offered");
    }
    if any_suite(&|_, s| s.weakness == Some("rc4")) {
        cap("B", "RC4 ciphers offered");
    }
    if !facts.suites.is_empty() && !any_suite(&|_, s| s.forward_secrecy) {
        cap("B", "Forward Secrecy (FS) is not supported");
    }
    let cbc = |s: &SuiteInfo| !s.aead && !matches!(s.weakness, Some("rc4") | Some("null"));
    if any_suite(&|v, s| *v == Version::Ssl3 && cbc(s)) {
        cap("C", "Vulnerable to POODLE");
    }
    if any_suite(&|v, s| *v <= Version::Tls10 && *v >= Version::Ssl3 && cbc(s))
        && !facts.versions.iter().any(|v| *v >= Version::Tls11)
    {
        cap("B", "Vulnerable to BEAST");
    }
    // The certificate.
    match facts.leaf_weak_hash {
        Some("SHA1") => cap("T", "Uses SHA1 algorithm"),
        Some(hash) => cap("F", &format!("Supports a insecure signature ({hash})")),
        None => {}
    }
    if facts.certificate && !facts.name_matches {
        cap("M", "Domain name mismatch");
    }
    if facts.certificate && facts.trust.incomplete {
        cap("B", "Issues with chain of trust (chain incomplete)");
    } else if facts.certificate && !facts.trust.trusted {
        cap(
            "T",
            if facts.trust.self_signed {
                "Issues with chain of trust (self signed)"
            } else if facts.trust.issuer_missing {
                "Issues with chain of trust (unable to get local issuer certificate)"
            } else {
                // The path ends at a root the server sent that is no trust anchor.
                "Issues with chain of trust (self signed CA in chain)"
            },
        );
    }
    if facts.trust.expired {
        cap("T", "Certificate expired");
    }
    if facts.trust.self_signed {
        cap("T", "Self-signed certificate");
    }
    if facts.trust.revoked {
        cap("T", "Certificate revoked");
    }
    if facts.starttls {
        cap(
            "T",
            "STARTTLS is prone to MITM downgrade attacks. A secure TLS upgrade can only be ensured client-side. As per RFC 8314 you should use implicit TLS rather than STARTTLS. For SMTP (port 25) and SIEVE this is not possible.",
        );
    }
    let mut warnings = Vec::new();
    if !has(Version::Tls13) {
        warnings.push("TLS 1.3 is not supported".to_owned());
    }
    if facts.secure_renegotiation == Some(false) {
        warnings.push("Secure renegotiation is not supported".to_owned());
    }
    match facts.hsts_max_age {
        Some(None) => warnings.push("HSTS max-age is misconfigured".to_owned()),
        Some(Some(0)) => warnings.push("HSTS is disabled".to_owned()),
        Some(Some(age)) if age < HSTS_MIN_AGE => {
            warnings.push("HSTS max-age is too short".to_owned());
        }
        _ => {}
    }
    let total = if protocol == 0 || key_exchange == 0 || cipher == 0 {
        0
    } else {
        protocol * 30 / 100 + key_exchange * 30 / 100 + cipher * 40 / 100
    };
    let computed = letter(total);
    let graded = |caps: &[&Cap]| -> String {
        // T and M replace any letter; of the letters, the worst cap below the score wins.
        if let Some(trust) = caps.iter().rev().find(|c| matches!(c.grade, "T" | "M")) {
            return trust.grade.to_owned();
        }
        let worst_cap = caps.iter().map(|c| c.grade).max();
        match worst_cap {
            Some(cap) if cap > computed => cap.to_owned(),
            Some(_) => computed.to_owned(),
            None if computed == "A" && warnings.is_empty() => "A+".to_owned(),
            None if computed == "A" => "A-".to_owned(),
            None => computed.to_owned(),
        }
    };
    let all: Vec<&Cap> = caps.iter().collect();
    let without_trust: Vec<&Cap> = caps
        .iter()
        .filter(|c| !matches!(c.grade, "T" | "M"))
        .collect();
    Rating {
        grade: graded(&all),
        grade_ignoring_trust: graded(&without_trust),
        score: Score {
            protocol,
            key_exchange,
            cipher,
            total,
        },
        caps,
        warnings,
        guide: "SSL Labs SSL Server Rating Guide 2009r (2025-05-16), as implemented by testssl.sh 3.2",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suites::describe;

    fn modern() -> Facts {
        Facts {
            versions: vec![Version::Tls12, Version::Tls13],
            suites: vec![
                (Version::Tls13, describe(0x1301)),
                (Version::Tls13, describe(0x1302)),
                (Version::Tls12, describe(0xc02f)),
                (Version::Tls12, describe(0xc030)),
            ],
            keys: vec![(KeyKind::Rsa, 2048), (KeyKind::Ec, 253)],
            certificate: true,
            name_matches: true,
            trust: Trust {
                trusted: true,
                ..Trust::default()
            },
            secure_renegotiation: Some(true),
            ..Facts::default()
        }
    }

    #[test]
    fn a_modern_server_scores_93_and_gets_a_plus() {
        // The guide's worked example: 30 + 27 (RSA 2048 → 90) + 36 (AES 128/256 → 90).
        let rating = rate(&modern());
        assert_eq!(rating.score.total, 93);
        assert_eq!(rating.grade, "A+");
        assert!(rating.caps.is_empty());
    }

    #[test]
    fn tls_1_0_caps_at_b_and_a_short_hsts_costs_the_plus() {
        let mut facts = modern();
        facts.hsts_max_age = Some(Some(3600));
        assert_eq!(rate(&facts).grade, "A-");
        facts.versions.push(Version::Tls10);
        let rating = rate(&facts);
        assert_eq!(rating.grade, "B");
        assert_eq!(rating.score.protocol, 95);
    }

    #[test]
    fn trust_and_name_problems_replace_the_grade_but_keep_the_rest_visible() {
        let mut facts = modern();
        facts.trust = Trust {
            self_signed: true,
            ..Trust::default()
        };
        let rating = rate(&facts);
        assert_eq!(rating.grade, "T");
        assert_eq!(rating.grade_ignoring_trust, "A+");
        facts.name_matches = false;
        facts.trust.trusted = true;
        facts.trust.self_signed = false;
        assert_eq!(rate(&facts).grade, "M");
    }

    #[test]
    fn weak_keys_ciphers_and_missing_forward_secrecy_cap_as_the_guide_says() {
        let mut facts = modern();
        facts.keys = vec![(KeyKind::Rsa, 1024)];
        assert_eq!(rate(&facts).grade, "B");
        facts.keys = vec![(KeyKind::Rsa, 2048)];
        facts.suites = vec![
            (Version::Tls12, describe(0x000a)), // 3DES, RSA key transport
            (Version::Tls12, describe(0x002f)), // AES-128-CBC, RSA key transport
        ];
        facts.versions = vec![Version::Tls12];
        let rating = rate(&facts);
        assert!(
            rating
                .caps
                .iter()
                .any(|c| c.reason.contains("Forward Secrecy"))
        );
        assert_eq!(rating.grade, "B");
        facts.versions = vec![Version::Ssl2, Version::Tls12];
        assert_eq!(rate(&facts).grade, "F");
    }

    #[test]
    fn a_small_dh_prime_counts_as_a_weak_key_exchange() {
        // Our deviation from testssl.sh, whose DHE call scores nothing: the guide counts the
        // key "or DH parameter strength".
        let mut facts = modern();
        facts.keys.push((KeyKind::Dh, 1024));
        let rating = rate(&facts);
        assert_eq!(rating.score.key_exchange, 80);
        assert_eq!(rating.grade, "B");
    }
}
