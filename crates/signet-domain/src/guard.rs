//! Guards against guessing and flooding: how failed log-ins and pickups lock, how long locks
//! last, how many mail-sending requests an address or a client may make, and how often a mail
//! that could not be delivered is tried again. Counters live in the store and are counted
//! atomically; these are the numbers and the decisions.

use time::{Duration, OffsetDateTime};

/// Failed log-ins (from any number of clients) before an account locks.
pub const LOGIN_LOCK_AFTER: u32 = 10;
/// The first lock's length; each further lock since the last successful log-in doubles it.
pub const LOGIN_FIRST_LOCK: Duration = Duration::minutes(15);
/// No lock lasts longer: a distributed attacker cannot shut an owner out for long, and the
/// owner can always lift it at once with a password reset (or staff with `signet user unlock`).
pub const LOGIN_LONGEST_LOCK: Duration = Duration::hours(24);
/// Wrong pickup passwords before the pickup locks and needs support (R-KEY-4).
pub const PICKUP_LOCK_AFTER: u32 = 5;

/// A fixed-window limit on some kind of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Names the counter (with the client or address appended).
    pub name: &'static str,
    /// Most requests allowed in one window, the one being counted included.
    pub max: u64,
    /// Length of the fixed window; counters start again at each multiple of it since the Unix
    /// epoch.
    pub window: Duration,
    /// What the person who hit it is told.
    pub advice: &'static str,
}

impl Limit {
    /// The counter's key for one client or address.
    pub fn key(&self, who: &str) -> String {
        format!("{}:{}", self.name, who.trim().to_ascii_lowercase())
    }

    /// Whether `hits` (this request included) stays within the limit.
    pub fn allows(&self, hits: u64) -> bool {
        hits <= self.max
    }
}

/// Log-in attempts one client may make in a window, failures and successes alike (a success
/// gives its attempt back). Lower than [`LOGIN_LOCK_AFTER`], so one client alone can never lock
/// someone else's account: it is throttled first.
pub const CLIENT_LOGIN_ATTEMPTS: Limit = Limit {
    name: "login-client",
    max: 8,
    window: Duration::minutes(15),
    advice: "too many failed log-ins from your network: wait 15 minutes, or reset your password",
};
/// Sign-ups (each sends a mail) one client may request.
pub const CLIENT_SIGN_UPS: Limit = Limit {
    name: "signup-client",
    max: 10,
    window: Duration::hours(1),
    advice: "too many sign-ups from your network: try again in an hour",
};
/// Mails about sign-ups one address may receive.
pub const ADDRESS_SIGN_UPS: Limit = Limit {
    name: "signup-address",
    max: 3,
    window: Duration::hours(1),
    advice: "this address was sent several sign-up mails in the last hour: check your mailbox (and spam folder), or try again later",
};
/// TLS configuration tests one account may run (each opens dozens of connections to a server
/// of the user's choosing).
pub const ACCOUNT_TLS_TESTS: Limit = Limit {
    name: "tls-test-account",
    max: 20,
    window: Duration::hours(1),
    advice: "you ran 20 TLS tests in the last hour: try again later",
};
/// Password-reset mails one client may request.
pub const CLIENT_RESETS: Limit = Limit {
    name: "reset-client",
    max: 10,
    window: Duration::hours(1),
    advice: "too many password resets from your network: try again in an hour",
};
/// Password-reset mails one address may receive.
pub const ADDRESS_RESETS: Limit = Limit {
    name: "reset-address",
    max: 3,
    window: Duration::hours(1),
    advice: "several reset links were mailed to this address in the last hour: use the newest, or try again later",
};
/// Links support may re-send for one order (or account) in a day.
pub const RESENDS: Limit = Limit {
    name: "resend",
    max: 5,
    window: Duration::days(1),
    advice: "the link was re-sent five times today: check the address with the subscriber before sending more",
};
/// Messages to support one client may send.
pub const CLIENT_SUPPORT_REQUESTS: Limit = Limit {
    name: "support-client",
    max: 10,
    window: Duration::hours(1),
    advice: "too many messages from your network: try again in an hour",
};

/// What a counted log-in attempt may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginVerdict {
    /// Check the password.
    Check,
    /// The account is locked: answer as for a wrong password, check nothing.
    Locked,
}

/// Decides on an attempt from the store's atomic count (this attempt included) and lock.
pub fn login_verdict(
    failures: u32,
    locked_until: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> LoginVerdict {
    if locked_until.is_some_and(|until| until > now) || failures > LOGIN_LOCK_AFTER {
        LoginVerdict::Locked
    } else {
        LoginVerdict::Check
    }
}

/// Whether a failed attempt with this count locks the account (exactly one attempt does).
pub fn failure_locks(failures: u32) -> bool {
    failures == LOGIN_LOCK_AFTER
}

/// How long the next lock lasts, given how often the account was locked since its last
/// successful log-in: 15 minutes, doubling, at most a day.
pub fn lock_duration(previous_locks: u32) -> Duration {
    let factor = 1i64 << previous_locks.min(16);
    (LOGIN_FIRST_LOCK * i32::try_from(factor).unwrap_or(i32::MAX)).min(LOGIN_LONGEST_LOCK)
}

/// Delivery attempts before a mail is given up (dead-lettered, shown to administrators).
pub const MAIL_ATTEMPTS: u32 = 8;

/// When to try a mail again after `attempts` failed deliveries: 5 s, doubling (seven waits,
/// 635 s or about 11 minutes in all), then never once [`MAIL_ATTEMPTS`] tries failed (`None`:
/// dead letter).
pub fn mail_retry_after(attempts: u32) -> Option<Duration> {
    (attempts < MAIL_ATTEMPTS).then(|| Duration::seconds(5 << attempts.saturating_sub(1).min(30)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn locks_grow_and_stop_at_a_day() {
        assert_eq!(lock_duration(0), Duration::minutes(15));
        assert_eq!(lock_duration(1), Duration::minutes(30));
        assert_eq!(lock_duration(3), Duration::hours(2));
        assert_eq!(lock_duration(10), Duration::hours(24));
        assert_eq!(lock_duration(u32::MAX), Duration::hours(24));
    }

    #[test]
    fn attempts_count_before_the_check() {
        let now = datetime!(2026-12-02 12:00 UTC);
        assert_eq!(login_verdict(1, None, now), LoginVerdict::Check);
        assert_eq!(
            login_verdict(LOGIN_LOCK_AFTER, None, now),
            LoginVerdict::Check
        );
        // Concurrent attempts beyond the limit are never checked.
        assert_eq!(
            login_verdict(LOGIN_LOCK_AFTER + 1, None, now),
            LoginVerdict::Locked
        );
        assert_eq!(
            login_verdict(1, Some(now + Duration::minutes(1)), now),
            LoginVerdict::Locked
        );
        assert_eq!(
            login_verdict(1, Some(now - Duration::minutes(1)), now),
            LoginVerdict::Check
        );
        assert!(failure_locks(LOGIN_LOCK_AFTER));
        assert!(!failure_locks(LOGIN_LOCK_AFTER + 1));
    }

    #[test]
    fn one_client_is_throttled_before_it_can_lock_an_account() {
        assert!(CLIENT_LOGIN_ATTEMPTS.max < u64::from(LOGIN_LOCK_AFTER));
    }

    #[test]
    fn limits_count_this_request() {
        assert!(ADDRESS_RESETS.allows(3));
        assert!(!ADDRESS_RESETS.allows(4));
        assert_eq!(
            ADDRESS_RESETS.key(" A@Example.com"),
            "reset-address:a@example.com"
        );
    }

    #[test]
    fn mail_retries_back_off_then_give_up() {
        assert_eq!(mail_retry_after(1), Some(Duration::seconds(5)));
        assert_eq!(mail_retry_after(2), Some(Duration::seconds(10)));
        assert_eq!(mail_retry_after(7), Some(Duration::seconds(320)));
        assert_eq!(mail_retry_after(MAIL_ATTEMPTS), None);
    }
}
