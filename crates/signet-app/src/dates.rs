//! How Signet writes a moment, in one place: RFC 3339 for machines (API, audit, mail), the day
//! or the minute (always UTC) for people (pages, the request form).

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// `2026-12-03T12:00:00Z`: API answers, audit details, mail.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// `2026-12-03`: validity dates and order dates on pages.
pub fn day(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC).date().to_string()
}

/// `2026-12-03 12:00 UTC`: alerts.
pub fn minute(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", t.date(), t.hour(), t.minute())
}

/// The day of an RFC 3339 moment as [`rfc3339`] writes it (a view that carries text).
pub fn day_of(rfc3339: &str) -> &str {
    rfc3339.split('T').next().unwrap_or(rfc3339)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    #[test]
    fn one_moment_written_three_ways_in_utc() {
        let t = datetime!(2026-12-03 13:05:09 +01:00);
        assert_eq!(super::rfc3339(t), "2026-12-03T12:05:09Z");
        assert_eq!(super::day(t), "2026-12-03");
        assert_eq!(super::minute(t), "2026-12-03 12:05 UTC");
        assert_eq!(super::day_of(&super::rfc3339(t)), "2026-12-03");
    }
}
