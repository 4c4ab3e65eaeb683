//! Which object a bucket keeps when Signet publishes a CRL or an OCSP response over one that is
//! already there (Boulder's crl-storer rules, and one of Signet's own): an uploader that lost a
//! race, or runs on a stale store, must never put older revocation status over newer.

use time::OffsetDateTime;

/// Whether the CRL numbered `held` that the bucket holds stays instead of `new`: CRL numbers
/// must strictly increase (RFC 5280 §5.2.3), so anything not greater is kept out.
pub fn keeps_crl(held: u64, new: u64) -> bool {
    held >= new
}

/// What an OCSP response says, for choosing between two of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OcspFacts {
    /// It answers "revoked".
    pub revoked: bool,
    /// Its thisUpdate.
    pub this_update: OffsetDateTime,
}

/// Whether the response the bucket holds stays instead of `new`: "good" never replaces
/// "revoked" (a revocation is final); "revoked" always replaces "good"; between two of one kind
/// the newer wins, and a tie keeps what is there.
pub fn keeps_ocsp(held: OcspFacts, new: OcspFacts) -> bool {
    match (held.revoked, new.revoked) {
        (true, false) => true,
        (false, true) => false,
        _ => held.this_update >= new.this_update,
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_crl_replaces_only_a_lower_numbered_one() {
        assert!(!keeps_crl(4, 5));
        assert!(keeps_crl(5, 5));
        assert!(keeps_crl(7, 5));
    }

    #[test]
    fn good_never_replaces_revoked_and_newer_wins_otherwise() {
        let at = |revoked, h| OcspFacts {
            revoked,
            this_update: datetime!(2026-12-04 00:00 UTC) + time::Duration::hours(h),
        };
        // A newer "good" over an older "revoked": kept out.
        assert!(keeps_ocsp(at(true, 0), at(false, 5)));
        // "revoked" over "good", even an older one (signed in the same second, or a skewed clock).
        assert!(!keeps_ocsp(at(false, 5), at(true, 0)));
        assert!(!keeps_ocsp(at(false, 0), at(false, 1)));
        assert!(
            keeps_ocsp(at(false, 1), at(false, 1)),
            "a tie keeps what is there"
        );
        assert!(keeps_ocsp(at(true, 2), at(true, 1)));
        assert!(!keeps_ocsp(at(true, 1), at(true, 2)));
    }
}
