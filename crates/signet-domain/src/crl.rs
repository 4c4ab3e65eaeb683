//! CRL rules (R-CRT-6, S/MIME BRs §4.9.7): sharding by serial, validity window, refresh.

use time::{Duration, OffsetDateTime};

use crate::Refusal;
use crate::serial::Serial;

/// nextUpdate − thisUpdate; the BRs allow at most 10 days.
pub const CRL_VALIDITY: Duration = Duration::days(7);
/// A CRL is reissued when it is this old (the BRs require at least every 7 days).
pub const CRL_REFRESH_AFTER: Duration = Duration::days(3);
/// Upper bound on the configured number of shards.
pub const MAX_SHARDS: u32 = 4096;

/// The shard a certificate's revocation is published in, fixed at issuance (it is in the CDP).
pub fn shard_of(serial: &Serial, shards: u32) -> u32 {
    let octets = serial.as_der_integer();
    let tail = octets
        .iter()
        .rev()
        .take(8)
        .rev()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    (tail % u64::from(shards.max(1))) as u32
}

/// Checks the configured shard count (`init --crl-shards N`, R-CRT-6): 1 to [`MAX_SHARDS`]. A
/// certificate's shard is fixed at issuance (it is in its CDP), so changing the count later never
/// moves an issued certificate to a CRL its relying parties do not fetch.
pub fn check_shards(shards: u32) -> Result<(), Refusal> {
    if shards == 0 || shards > MAX_SHARDS {
        return Err(Refusal::InvalidConfig(format!(
            "crl.shards must be 1 to {MAX_SHARDS}, not {shards}"
        )));
    }
    Ok(())
}

/// thisUpdate and nextUpdate of a CRL made now.
pub fn window(now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    let this_update = now.replace_nanosecond(0).unwrap_or(now);
    (this_update, this_update + CRL_VALIDITY)
}

/// Whether a CRL made at `this_update` must be reissued by now.
pub fn needs_refresh(this_update: OffsetDateTime, now: OffsetDateTime) -> bool {
    now - this_update >= CRL_REFRESH_AFTER
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn shards_are_stable_and_in_range() {
        let s = Serial::from_entropy([7; 16]);
        assert_eq!(shard_of(&s, 1), 0);
        assert_eq!(shard_of(&s, 16), shard_of(&s, 16));
        for n in 0..50u8 {
            assert!(shard_of(&Serial::from_entropy([n; 16]), 5) < 5);
        }
        assert!(
            check_shards(0).is_err()
                && check_shards(1).is_ok()
                && check_shards(MAX_SHARDS + 1).is_err()
        );
    }

    #[test]
    fn validity_and_refresh_follow_the_brs() {
        let now = datetime!(2026-11-25 12:00:00.7 UTC);
        let (this, next) = window(now);
        assert_eq!(this, datetime!(2026-11-25 12:00 UTC));
        assert!(next - this <= Duration::days(10));
        assert!(!needs_refresh(this, now + Duration::days(2)));
        assert!(needs_refresh(this, now + Duration::days(3)));
    }
}
