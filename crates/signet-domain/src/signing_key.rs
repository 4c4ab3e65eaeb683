//! Officers' decision-signing keys (issue 15, item 3; design R-VET): which keys an officer may
//! use, when a key is certified at once and when an administrator must approve it, and when a
//! decision must carry a signature.
//!
//! An officer's first key is certified when they enrol it. The same key offered again (its
//! certificate is about to expire) is a renewal. Any other key — a new browser, a wiped profile,
//! or someone who took over the session — waits for an administrator, so that a stolen session
//! alone cannot sign decisions in the officer's name.

use crate::Refusal;
use crate::key::{Curve, PublicKeyKind};

/// The extended key usage of staff certificates besides clientAuth: "signs Signet vetting
/// decisions". It sits under IANA's documentation enterprise number (RFC 5612) until Signet has
/// a Private Enterprise Number of its own; verifiers match it exactly.
pub const DECISION_SIGNING_OID: &str = "1.3.6.1.4.1.32473.15.1";

/// How long a staff certificate lasts: short, so that a key left behind on a machine stops
/// counting soon without a revocation.
pub const STAFF_CERTIFICATE_DAYS: u32 = 30;

/// How long before expiry a browser renews its officer's certificate.
pub const RENEW_WITHIN_DAYS: i64 = 7;

/// What enrolling a key means, given the officer's keys so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enrolment {
    /// The officer has never had a key: certify it.
    First,
    /// The key the officer uses now, offered again: certify it anew.
    Renewal,
    /// A key other than the officer's current or last one: an administrator decides.
    NeedsApproval,
}

/// The officer's most recently certified key, as far as enrolment cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertifiedKey<'a> {
    /// SHA-256 of its public key.
    pub key_sha256: &'a str,
    /// Whether its certificate was revoked (a compromised key is never certified again).
    pub revoked: bool,
}

/// Decides how an offered key (its public-key hash) is enrolled, given the officer's most
/// recently certified key. A key whose certificate was revoked is refused: the officer makes a
/// new one, which an administrator approves.
pub fn enrolment(latest: Option<CertifiedKey<'_>>, offered: &str) -> Result<Enrolment, Refusal> {
    match latest {
        None => Ok(Enrolment::First),
        Some(key) if key.key_sha256 == offered && key.revoked => Err(Refusal::Conflict(
            "this key's staff certificate was revoked: make a new key and enrol it (an administrator approves it)".into(),
        )),
        Some(key) if key.key_sha256 == offered => Ok(Enrolment::Renewal),
        Some(_) => Ok(Enrolment::NeedsApproval),
    }
}

/// Officers' keys are ECDSA on P-256 or P-384: what WebCrypto keeps non-extractable in every
/// browser, and what tokens and `openssl` make.
pub fn check_officer_key(key: &PublicKeyKind) -> Result<(), Refusal> {
    match key {
        PublicKeyKind::Ec(Curve::P256 | Curve::P384) => Ok(()),
        other => Err(Refusal::InvalidInput(format!(
            "a decision-signing key is ECDSA on P-256 or P-384, not {other}: generate one with WebCrypto, `openssl ecparam -name prime256v1 -genkey` or your token"
        ))),
    }
}

/// Whether a decision must be signed: always once the officer has a key (an officer cannot
/// fall back to unsigned decisions by leaving the signature out), and for everyone when the
/// deployment requires signed decisions.
pub fn signature_required(deployment_requires: bool, officer_has_key: bool) -> bool {
    deployment_requires || officer_has_key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_key_is_certified_a_known_key_renewed_another_waits() {
        let key = |revoked| {
            Some(CertifiedKey {
                key_sha256: "a",
                revoked,
            })
        };
        assert_eq!(enrolment(None, "a"), Ok(Enrolment::First));
        assert_eq!(enrolment(key(false), "a"), Ok(Enrolment::Renewal));
        assert_eq!(enrolment(key(false), "b"), Ok(Enrolment::NeedsApproval));
        assert!(
            enrolment(key(true), "a").is_err(),
            "a revoked key stays revoked"
        );
        assert_eq!(enrolment(key(true), "b"), Ok(Enrolment::NeedsApproval));
    }

    #[test]
    fn only_p256_and_p384_keys_sign_decisions() {
        assert!(check_officer_key(&PublicKeyKind::Ec(Curve::P256)).is_ok());
        assert!(check_officer_key(&PublicKeyKind::Ec(Curve::P384)).is_ok());
        assert!(check_officer_key(&PublicKeyKind::Ec(Curve::P521)).is_err());
        let rsa = PublicKeyKind::Rsa {
            modulus_bits: 2048,
            public_exponent: 65537,
        };
        assert!(check_officer_key(&rsa).is_err());
    }

    #[test]
    fn an_officer_with_a_key_always_signs() {
        assert!(!signature_required(false, false));
        assert!(signature_required(false, true));
        assert!(signature_required(true, false));
    }
}
