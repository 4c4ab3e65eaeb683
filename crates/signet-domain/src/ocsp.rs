//! OCSP response validity (S/MIME BRs §4.9.10): 8 hours to 10 days, refreshed within 4 days.

use time::{Duration, OffsetDateTime};

/// nextUpdate − thisUpdate of a pre-signed response.
pub const OCSP_VALIDITY: Duration = Duration::days(7);
/// Responses older than this are re-signed (the BRs want a new one within 4 days).
pub const OCSP_REFRESH_AFTER: Duration = Duration::days(3);

/// thisUpdate and nextUpdate of a response signed now (R-CRT-6): now to the second, and
/// [`OCSP_VALIDITY`] later.
pub fn window(now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    let this_update = now.replace_nanosecond(0).unwrap_or(now);
    (this_update, this_update + OCSP_VALIDITY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_is_within_the_brs() {
        assert!(OCSP_VALIDITY >= Duration::hours(8) && OCSP_VALIDITY <= Duration::days(10));
        assert!(OCSP_REFRESH_AFTER < Duration::days(4));
        let (a, b) = window(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(b - a, OCSP_VALIDITY);
    }
}
