//! Officers' decision-signing keys (issue 15, item 3; design R-VET): which keys an officer may
//! use, when a key is certified at once and when an administrator must approve it, and when a
//! decision must carry a signature.
//!
//! An officer's first key is certified when they enrol it. The same key offered again (its
//! certificate is about to expire) is a renewal. Any other key — a new browser, a wiped profile,
//! or someone who took over the session — waits for an administrator, so that a stolen session
//! alone cannot sign decisions in the officer's name.

use time::OffsetDateTime;

use crate::Refusal;
use crate::certificate::RevocationReason;
use crate::key::{Curve, PublicKeyKind};
use crate::role::{Actor, Permission};

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

/// What is known of an offered public key from before.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyPast {
    /// A certificate of this key was revoked, other than because a newer one replaced it
    /// (e.g. key compromise): the key is never certified again, for anyone.
    pub revoked: bool,
    /// An administrator refused this key for this officer.
    pub refused: bool,
}

/// One earlier record of an offered public key, as [`KeyPast::of`] weighs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRecord {
    /// It is the enrolling officer's own record (not another officer's).
    pub own: bool,
    /// An administrator refused it.
    pub refused: bool,
    /// It is the officer's active key.
    pub active: bool,
    /// Why its current certificate was revoked, if it was.
    pub revocation: Option<RevocationReason>,
}

impl KeyPast {
    /// Weighs a public key's earlier records. A certificate revoked because a newer one
    /// replaced it (superseded) says nothing against the key, unless the key is still the
    /// active one: then the operator revoked it on purpose.
    pub fn of(records: impl IntoIterator<Item = KeyRecord>) -> KeyPast {
        records
            .into_iter()
            .fold(KeyPast::default(), |past, r| KeyPast {
                refused: past.refused || (r.own && r.refused),
                revoked: past.revoked
                    || r.revocation
                        .is_some_and(|why| why != RevocationReason::Superseded || r.active),
            })
    }
}

/// Whether `actor` may settle (approve or refuse) a key of the officer `owner`, in its state:
/// administrators only, never their own key, and only a key that waits.
pub fn check_settle(actor: &Actor, owner: i64, waiting: bool) -> Result<(), Refusal> {
    if !actor.may(Permission::Administer) {
        return Err(Refusal::NotAllowed(
            "only administrators approve or refuse officers' keys".into(),
        ));
    }
    if owner == actor.account {
        return Err(Refusal::NotAllowed(
            "an administrator does not settle their own key: ask another administrator".into(),
        ));
    }
    if !waiting {
        return Err(Refusal::Conflict(
            "this signing key is not waiting for approval (settled already)".into(),
        ));
    }
    Ok(())
}

/// Whether the officer's active key can sign now: its certificate neither expired nor revoked.
pub fn check_signing_key(
    not_after: OffsetDateTime,
    revoked: bool,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    if not_after <= now {
        return Err(Refusal::InvalidInput(
            "your staff certificate has expired: renew it by enrolling the same key again (your browser does so by itself on any staff page)".into(),
        ));
    }
    if revoked {
        return Err(Refusal::InvalidInput(
            "your staff certificate was revoked: make a new key and enrol it; an administrator approves it".into(),
        ));
    }
    Ok(())
}

/// Refuses a key whose past rules it out, for enrolment and for an administrator's approval.
pub fn check_key_past(past: KeyPast) -> Result<(), Refusal> {
    if past.revoked {
        return Err(Refusal::Conflict(
            "a staff certificate of this key was revoked: this key is never certified again; make a new key and enrol it (an administrator approves it)".into(),
        ));
    }
    if past.refused {
        return Err(Refusal::Conflict(
            "an administrator refused this key: make a new key (in the portal: clear this site's data in the browser) and ask an administrator to approve it".into(),
        ));
    }
    Ok(())
}

/// Decides how an offered key (its public-key hash) is enrolled, given the public-key hash of
/// the officer's most recently certified key and the offered key's past.
pub fn enrolment(latest: Option<&str>, offered: &str, past: KeyPast) -> Result<Enrolment, Refusal> {
    check_key_past(past)?;
    Ok(match latest {
        None => Enrolment::First,
        Some(key) if key == offered => Enrolment::Renewal,
        Some(_) => Enrolment::NeedsApproval,
    })
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
        let clean = KeyPast::default();
        assert_eq!(enrolment(None, "a", clean), Ok(Enrolment::First));
        assert_eq!(enrolment(Some("a"), "a", clean), Ok(Enrolment::Renewal));
        assert_eq!(
            enrolment(Some("a"), "b", clean),
            Ok(Enrolment::NeedsApproval)
        );
        for past in [
            KeyPast {
                revoked: true,
                refused: false,
            },
            KeyPast {
                revoked: false,
                refused: true,
            },
        ] {
            assert!(enrolment(Some("a"), "a", past).is_err(), "{past:?}");
            assert!(enrolment(Some("b"), "a", past).is_err(), "{past:?}");
            assert!(enrolment(None, "a", past).is_err(), "{past:?}");
        }
    }

    #[test]
    fn a_superseded_certificate_says_nothing_against_its_key_any_other_revocation_does() {
        let record = |own, refused, active, revocation| KeyRecord {
            own,
            refused,
            active,
            revocation,
        };
        assert_eq!(KeyPast::of([]), KeyPast::default());
        let superseded = Some(RevocationReason::Superseded);
        let compromised = Some(RevocationReason::KeyCompromise);
        assert!(!KeyPast::of([record(true, false, false, superseded)]).revoked);
        assert!(KeyPast::of([record(true, false, true, superseded)]).revoked);
        assert!(KeyPast::of([record(false, false, false, compromised)]).revoked);
        assert!(KeyPast::of([record(true, true, false, None)]).refused);
        assert!(
            !KeyPast::of([record(false, true, false, None)]).refused,
            "another's refusal"
        );
    }

    #[test]
    fn only_another_administrator_settles_a_waiting_key() {
        let actor = |role| Actor {
            account: 1,
            role,
            region: None,
            email: "ada@ca.example.com".into(),
        };
        assert!(check_settle(&actor(crate::role::Role::Admin), 2, true).is_ok());
        assert!(check_settle(&actor(crate::role::Role::Vetting), 2, true).is_err());
        assert!(check_settle(&actor(crate::role::Role::Admin), 1, true).is_err());
        assert!(check_settle(&actor(crate::role::Role::Admin), 2, false).is_err());
    }

    #[test]
    fn an_expired_or_revoked_certificate_does_not_sign() {
        let now = time::macros::datetime!(2026-12-04 10:00 UTC);
        let later = now + time::Duration::days(1);
        assert!(check_signing_key(later, false, now).is_ok());
        assert!(check_signing_key(now, false, now).is_err());
        assert!(check_signing_key(later, true, now).is_err());
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
