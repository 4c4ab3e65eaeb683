//! System alerts (R-AUX-1) and the relying services that accept the certificate (R-AUX-4): the
//! rules for when an alert shows and whether a service accepts the certificate on a day.

use time::OffsetDateTime;

use crate::Refusal;

/// What an alert announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    /// Something is broken now (an outage, a fault in issuance).
    Incident,
    /// Planned work, announced ahead.
    Maintenance,
    /// Anything else people should know.
    Information,
}

impl AlertKind {
    /// The stored and form name: `incident`, `maintenance` or `information`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Incident => "incident",
            AlertKind::Maintenance => "maintenance",
            AlertKind::Information => "information",
        }
    }

    /// Reads a stored or form name; anything else is refused with the names that are accepted.
    pub fn parse(text: &str) -> Result<AlertKind, Refusal> {
        [
            AlertKind::Incident,
            AlertKind::Maintenance,
            AlertKind::Information,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
        .ok_or_else(|| {
            Refusal::InvalidInput(format!(
                "unknown alert kind `{text}`: use incident, maintenance or information"
            ))
        })
    }
}

/// An alert shows from its start until its end (open-ended while it has none).
pub fn alert_active(
    starts_at: OffsetDateTime,
    ends_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> bool {
    starts_at <= now && ends_at.is_none_or(|end| now < end)
}

/// Checks an alert before it is posted.
pub fn check_alert(
    title: &str,
    body: &str,
    starts_at: OffsetDateTime,
    ends_at: Option<OffsetDateTime>,
) -> Result<(), Refusal> {
    if title.trim().is_empty() || title.chars().count() > 120 {
        return Err(Refusal::InvalidInput(
            "an alert needs a title of 1 to 120 characters".into(),
        ));
    }
    if body.chars().count() > 4000 {
        return Err(Refusal::InvalidInput(
            "an alert's text is at most 4000 characters".into(),
        ));
    }
    if ends_at.is_some_and(|end| end <= starts_at) {
        return Err(Refusal::InvalidInput(
            "an alert must end after it starts".into(),
        ));
    }
    Ok(())
}

/// Whether a relying service accepts the certificate on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    /// Its acceptance date is still ahead.
    NotYet,
    /// Accepts the certificate now.
    Accepts,
    /// Stopped accepting it; the service stays listed with its date (R-AUX-4).
    Stopped,
}

impl Acceptance {
    /// Where a service accepting from `from` and, if set, until `until` (exclusive) stands at
    /// `now`.
    pub fn on(
        from: OffsetDateTime,
        until: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Acceptance {
        if now < from {
            Acceptance::NotYet
        } else if until.is_some_and(|u| now >= u) {
            Acceptance::Stopped
        } else {
            Acceptance::Accepts
        }
    }

    /// The text the `/services` page shows: `not yet`, `accepts` or `stopped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Acceptance::NotYet => "not yet",
            Acceptance::Accepts => "accepts",
            Acceptance::Stopped => "stopped",
        }
    }
}

/// Checks a relying service before it is listed.
pub fn check_relying_service(
    name: &str,
    url: &str,
    from: OffsetDateTime,
    until: Option<OffsetDateTime>,
) -> Result<(), Refusal> {
    if name.trim().is_empty() {
        return Err(Refusal::InvalidInput(
            "a relying service needs a name".into(),
        ));
    }
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(Refusal::InvalidInput(format!(
            "`{url}` is not a web address: start it with https://"
        )));
    }
    if until.is_some_and(|u| u <= from) {
        return Err(Refusal::InvalidInput(
            "a service must stop accepting after it starts".into(),
        ));
    }
    Ok(())
}

/// Counts per week (weeks start on Monday, 00:00 UTC) for `weeks` weeks from the week of
/// `from`, oldest first: the dashboard's charts of issuance and of expiries to come.
pub fn per_week(
    times: &[OffsetDateTime],
    from: OffsetDateTime,
    weeks: u32,
) -> Vec<(time::Date, u64)> {
    let monday = |t: OffsetDateTime| {
        let d = t.date();
        d - time::Duration::days(i64::from(d.weekday().number_days_from_monday()))
    };
    let first = monday(from);
    let mut buckets: Vec<(time::Date, u64)> = (0..weeks)
        .map(|i| (first + time::Duration::weeks(i64::from(i)), 0))
        .collect();
    for t in times {
        let w = monday(*t);
        if let Some(b) = buckets.iter_mut().find(|(d, _)| *d == w) {
            b.1 += 1;
        }
    }
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn alerts_show_between_start_and_end() {
        let start = datetime!(2026-11-26 10:00 UTC);
        let end = Some(datetime!(2026-11-26 12:00 UTC));
        assert!(!alert_active(start, end, datetime!(2026-11-26 09:59 UTC)));
        assert!(alert_active(start, end, datetime!(2026-11-26 10:00 UTC)));
        assert!(!alert_active(start, end, datetime!(2026-11-26 12:00 UTC)));
        assert!(alert_active(start, None, datetime!(2030-01-01 0:00 UTC)));
        assert!(check_alert("Maintenance", "", start, Some(start)).is_err());
        assert!(check_alert(" ", "", start, None).is_err());
        assert!(AlertKind::parse("outage").is_err());
    }

    #[test]
    fn acceptance_follows_the_dates() {
        let from = datetime!(2026-01-01 0:00 UTC);
        let until = Some(datetime!(2026-07-01 0:00 UTC));
        assert_eq!(
            Acceptance::on(from, until, datetime!(2025-12-31 23:59 UTC)),
            Acceptance::NotYet
        );
        assert_eq!(
            Acceptance::on(from, until, datetime!(2026-03-01 0:00 UTC)),
            Acceptance::Accepts
        );
        assert_eq!(
            Acceptance::on(from, until, datetime!(2026-07-01 0:00 UTC)),
            Acceptance::Stopped
        );
        assert!(check_relying_service("Tax portal", "ftp://x", from, None).is_err());
    }

    #[test]
    fn weeks_start_on_monday() {
        let now = datetime!(2026-11-26 12:00 UTC); // a Thursday
        let times = [
            datetime!(2026-11-23 0:00 UTC),  // this week's Monday
            datetime!(2026-11-22 23:59 UTC), // last week's Sunday
            datetime!(2026-10-01 0:00 UTC),  // outside the window
        ];
        let weeks = per_week(&times, now - time::Duration::weeks(3), 4);
        assert_eq!(weeks.len(), 4);
        assert_eq!(weeks[3], (time::macros::date!(2026 - 11 - 23), 1));
        assert_eq!(weeks[2], (time::macros::date!(2026 - 11 - 16), 1));
        assert_eq!(weeks.iter().map(|w| w.1).sum::<u64>(), 2);
    }
}
