//! Certificate validity periods (R-CRT-2), counted inclusively as RFC 5280 and the S/MIME BRs do:
//! a certificate valid from `notBefore` to `notAfter` covers `notAfter − notBefore + 1 s`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Duration, Month, OffsetDateTime};

use crate::Refusal;

/// R-CRT-2: no Signet certificate is valid for more than 39 months.
pub const ABSOLUTE_MAX_MONTHS: u32 = 39;
/// The S/MIME Baseline Requirements' maximum for subscriber certificates.
pub const SMIME_MAX_DAYS: u32 = 825;

/// An upper bound on validity, as configured: `"39 months"` or `"825 days"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidityLimit {
    /// Calendar months (`"39 months"`): the latest notAfter is one second before the same day
    /// and time that many months on (the day clamped to the end of a shorter month).
    Months(u32),
    /// Days of 24 hours (`"825 days"`): the latest notAfter is one second before that many days
    /// on.
    Days(u32),
}

impl ValidityLimit {
    /// The last allowed `notAfter` for a certificate starting at `not_before`.
    pub fn latest_not_after(self, not_before: OffsetDateTime) -> OffsetDateTime {
        match self {
            ValidityLimit::Months(m) => add_months(not_before, m) - Duration::SECOND,
            ValidityLimit::Days(d) => not_before + Duration::days(i64::from(d)) - Duration::SECOND,
        }
    }

    /// Whether every period allowed by `self` is also allowed by `outer`, for any start date.
    pub fn fits_within(self, outer: ValidityLimit) -> bool {
        match (self, outer) {
            (ValidityLimit::Months(a), ValidityLimit::Months(b)) => a <= b,
            (ValidityLimit::Days(a), ValidityLimit::Days(b)) => a <= b,
            // The shortest run of `b` months is 28*b + small; be conservative: 28 days a month.
            // (In u64: an absurd configured value must not wrap into a small one.)
            (ValidityLimit::Days(a), ValidityLimit::Months(b)) => u64::from(a) <= u64::from(b) * 28,
            // The longest run of `a` months is 31*a days.
            (ValidityLimit::Months(a), ValidityLimit::Days(b)) => u64::from(a) * 31 <= u64::from(b),
        }
    }
}

impl fmt::Display for ValidityLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidityLimit::Months(m) => write!(f, "{m} months"),
            ValidityLimit::Days(d) => write!(f, "{d} days"),
        }
    }
}

impl FromStr for ValidityLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a validity: write e.g. \"39 months\" or \"825 days\"");
        let (n, unit) = s.trim().split_once(' ').ok_or_else(bad)?;
        let n: u32 = n.parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(bad());
        }
        match unit.trim() {
            "month" | "months" => Ok(ValidityLimit::Months(n)),
            "day" | "days" => Ok(ValidityLimit::Days(n)),
            _ => Err(bad()),
        }
    }
}

impl Serialize for ValidityLimit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ValidityLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A certificate's validity period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// The first second covered: issuance time, whole seconds.
    pub not_before: OffsetDateTime,
    /// The last second covered (inclusive), as the certificate's notAfter states it.
    pub not_after: OffsetDateTime,
}

impl Period {
    /// `months` calendar months from `now` (to the second), inclusive.
    pub fn months_from(now: OffsetDateTime, months: u32) -> Result<Period, Refusal> {
        if months == 0 {
            return Err(Refusal::ValidityTooShort);
        }
        // Far beyond any profile's limit; also keeps the calendar arithmetic in range.
        if months > MAX_MONTHS {
            return Err(Refusal::InvalidInput(format!(
                "a validity of {months} months is not a plausible request (at most {MAX_MONTHS})"
            )));
        }
        let not_before = now.replace_nanosecond(0).unwrap_or(now);
        Ok(Period {
            not_before,
            not_after: add_months(not_before, months) - Duration::SECOND,
        })
    }

    /// From `now` (to the second) until a fixed end, e.g. a reissue keeping the old end date.
    pub fn until(now: OffsetDateTime, not_after: OffsetDateTime) -> Result<Period, Refusal> {
        let not_before = now.replace_nanosecond(0).unwrap_or(now);
        if not_after <= not_before {
            return Err(Refusal::Conflict(
                "the end date has passed; place a new order instead".into(),
            ));
        }
        Ok(Period {
            not_before,
            not_after,
        })
    }

    /// Refuses a period longer than `limit` allows; `what` names the product or profile.
    pub fn check_within(
        &self,
        limit: ValidityLimit,
        what: &str,
        requested: &str,
    ) -> Result<(), Refusal> {
        if self.not_after > limit.latest_not_after(self.not_before) {
            return Err(Refusal::ValidityTooLong {
                what: what.to_owned(),
                requested: requested.to_owned(),
                maximum: limit.to_string(),
            });
        }
        Ok(())
    }

    /// Length in seconds, counted inclusively: `notAfter − notBefore + 1`.
    pub fn inclusive_seconds(&self) -> i64 {
        (self.not_after - self.not_before).whole_seconds() + 1
    }
}

/// The longest validity anyone may ask for, in months (no profile allows anything near it).
pub const MAX_MONTHS: u32 = 1200;

/// Adds calendar months, clamping the day to the end of a shorter month (31 Jan + 1 month =
/// 28/29 Feb). The time of day and offset stay; a result beyond the year 9999 leaves `t`
/// unchanged.
pub fn add_months(t: OffsetDateTime, months: u32) -> OffsetDateTime {
    let total = i64::from(t.year()) * 12 + i64::from(u8::from(t.month())) - 1 + i64::from(months);
    let Ok(year) = i32::try_from(total.div_euclid(12)) else {
        return t;
    };
    let month = Month::try_from((total.rem_euclid(12) + 1) as u8).unwrap_or(Month::January);
    let last_day = time::util::days_in_month(month, year);
    let day = t.day().min(last_day);
    match Date::from_calendar_date(year, month, day) {
        Ok(date) => t.replace_date(date),
        // Only reachable beyond year 9999; leave the time unchanged rather than panic.
        Err(_) => t,
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn absurd_limits_do_not_wrap() {
        assert!(!ValidityLimit::Months(u32::MAX).fits_within(ValidityLimit::Days(825)));
        assert!(ValidityLimit::Days(1).fits_within(ValidityLimit::Months(u32::MAX)));
    }

    use super::*;
    use time::macros::datetime;

    #[test]
    fn absurd_validities_are_refused_not_a_crash() {
        let now = datetime!(2026-12-02 12:00 UTC);
        assert!(Period::months_from(now, u32::MAX).is_err());
        assert!(Period::months_from(now, 2_147_483_647).is_err());
        assert!(Period::months_from(now, MAX_MONTHS).is_ok());
        assert_eq!(add_months(now, u32::MAX), now);
    }

    #[test]
    fn months_are_calendar_months_inclusive() {
        let p = Period::months_from(datetime!(2026-01-31 10:00:00.5 UTC), 1).expect("period");
        assert_eq!(p.not_before, datetime!(2026-01-31 10:00:00 UTC));
        assert_eq!(p.not_after, datetime!(2026-02-28 09:59:59 UTC));
        let p = Period::months_from(datetime!(2026-11-25 00:00:00 UTC), 39).expect("period");
        assert_eq!(p.not_after, datetime!(2030-02-24 23:59:59 UTC));
    }

    #[test]
    fn limits() {
        let now = datetime!(2026-11-25 12:00:00 UTC);
        let months = ValidityLimit::Months(39);
        assert!(
            Period::months_from(now, 39)
                .expect("p")
                .check_within(months, "x", "39 months")
                .is_ok()
        );
        assert!(
            Period::months_from(now, 40)
                .expect("p")
                .check_within(months, "x", "40 months")
                .is_err()
        );
        let days = ValidityLimit::Days(825);
        assert!(
            Period::months_from(now, 27)
                .expect("p")
                .check_within(days, "x", "27 months")
                .is_ok()
        );
        assert!(
            Period::months_from(now, 28)
                .expect("p")
                .check_within(days, "x", "28 months")
                .is_err()
        );
        let p = Period {
            not_before: now,
            not_after: days.latest_not_after(now),
        };
        assert_eq!(p.inclusive_seconds(), 825 * 86_400);
        assert!(Period::months_from(now, 0).is_err());
    }

    #[test]
    fn parse_limits() {
        assert_eq!("39 months".parse(), Ok(ValidityLimit::Months(39)));
        assert_eq!("825 days".parse(), Ok(ValidityLimit::Days(825)));
        assert!("39".parse::<ValidityLimit>().is_err());
        assert!("0 days".parse::<ValidityLimit>().is_err());
        assert!("3 weeks".parse::<ValidityLimit>().is_err());
        assert!(ValidityLimit::Days(825).fits_within(ValidityLimit::Months(39)));
        assert!(!ValidityLimit::Months(39).fits_within(ValidityLimit::Days(825)));
        assert!(ValidityLimit::Months(26).fits_within(ValidityLimit::Days(825)));
    }
}
