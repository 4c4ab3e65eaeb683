//! Rules for the secrets people handle: order numbers, mailed tokens and passwords. How
//! failed log-ins and pickups lock is in [`crate::guard`].

use time::Duration;

use crate::Refusal;

/// Crockford base32 without I, L, O, U: easy to read out on the phone.
const ORDER_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// An order number: 10 symbols (50 random bits) shown as `XXXXX-XXXXX`.
pub fn order_number(entropy: [u8; 7]) -> String {
    let mut bits: u64 = 0;
    for b in entropy {
        bits = (bits << 8) | u64::from(b);
    }
    let symbols: String = (0..10)
        .map(|i| ORDER_ALPHABET[((bits >> (i * 5)) & 31) as usize] as char)
        .collect();
    format!("{}-{}", &symbols[..5], &symbols[5..])
}

/// Normalizes an order number as typed (R-ORD-1): any case, O for 0, I and L for 1, spaces and
/// dashes anywhere. `None` unless 10 symbols of the alphabet remain.
pub fn normalize_order_number(text: &str) -> Option<String> {
    let cleaned: String = text
        .trim()
        .to_ascii_uppercase()
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .map(|c| match c {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    (cleaned.len() == 10 && cleaned.bytes().all(|b| ORDER_ALPHABET.contains(&b)))
        .then(|| format!("{}-{}", &cleaned[..5], &cleaned[5..]))
}

/// Why a token was mailed; each purpose has its own lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// Confirms an account's e-mail address.
    AccountConfirmation,
    /// Confirms mailbox control of an order's approval e-mail (S/MIME BRs: the value ≤ 24 h).
    ApprovalEmail,
    /// Sets a new password for an account and ends its sessions; valid 1 hour.
    PasswordReset,
    /// Staff invitation: sets the first password.
    Invitation,
    /// Picks up the certificate once.
    Pickup,
}

impl TokenPurpose {
    /// The stored name (`tokens.purpose`); a token is only ever used for the purpose it was minted
    /// for.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::AccountConfirmation => "account_confirmation",
            TokenPurpose::ApprovalEmail => "approval_email",
            TokenPurpose::PasswordReset => "password_reset",
            TokenPurpose::Invitation => "invitation",
            TokenPurpose::Pickup => "pickup",
        }
    }

    /// How long a mailed link stays usable (design Appendix A): confirmations 24 hours, password
    /// resets 1 hour, invitations 3 days, pickups 30 days (R-KEY-1).
    pub fn lifetime(self) -> Duration {
        match self {
            TokenPurpose::AccountConfirmation | TokenPurpose::ApprovalEmail => Duration::hours(24),
            TokenPurpose::PasswordReset => Duration::hours(1),
            TokenPurpose::Invitation => Duration::days(3),
            TokenPurpose::Pickup => Duration::days(30),
        }
    }
}

/// Minimum length of account passwords (NIST SP 800-63B allows 8; Signet guards CAs).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Minimum length of a pickup password.
pub const MIN_PICKUP_PASSWORD_CHARS: usize = 8;

/// The account password rule (design Appendix A): at least [`MIN_PASSWORD_CHARS`] characters, not
/// the account's e-mail address (case ignored), not one character repeated.
pub fn check_password(password: &str, email: &str) -> Result<(), Refusal> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Refusal::InvalidInput(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.eq_ignore_ascii_case(email) || password.chars().all(|c| password.starts_with(c)) {
        return Err(Refusal::InvalidInput(
            "the password is too easy to guess".into(),
        ));
    }
    Ok(())
}

/// The pickup password rule (R-ORD-3): at least [`MIN_PICKUP_PASSWORD_CHARS`] characters. It is
/// only ever stored as a slow hash.
pub fn check_pickup_password(password: &str) -> Result<(), Refusal> {
    if password.chars().count() < MIN_PICKUP_PASSWORD_CHARS {
        return Err(Refusal::InvalidInput(format!(
            "the pickup password must have at least {MIN_PICKUP_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_numbers_read_back() {
        let n = order_number([0xde, 0xad, 0xbe, 0xef, 0x01, 0x23, 0x45]);
        assert_eq!(n.len(), 11);
        assert_eq!(
            normalize_order_number(&n.to_lowercase().replace('-', "")),
            Some(n.clone())
        );
        assert_eq!(normalize_order_number("abc"), None);
        assert_ne!(order_number([0; 7]), order_number([1; 7]));
    }

    #[test]
    fn passwords() {
        assert!(check_password("short", "a@b.c").is_err());
        assert!(check_password("aaaaaaaaaaaaaaa", "a@b.c").is_err());
        assert!(check_password("a@example.com", "A@example.com").is_err());
        assert!(check_password("correct horse battery", "a@b.c").is_ok());
        assert!(check_pickup_password("1234567").is_err());
    }
}
