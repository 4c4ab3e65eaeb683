//! Rules for the secrets people handle: order numbers, mailed tokens and passwords. How
//! failed log-ins and pickups lock is in [`crate::guard`].

use time::Duration;

use crate::Refusal;

/// Crockford base32 without I, L, O, U: easy to read out on the phone.
const ORDER_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// An order number (R-ORD-1): 10 symbols (50 random bits) shown as `XXXXX-XXXXX`. Only
/// [`OrderNumber::generate`] and [`OrderNumber::parse`] make one, so every value is in the
/// normalized form the store keys orders by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct OrderNumber(String);

impl OrderNumber {
    /// A new order number from 7 octets of CSPRNG output.
    pub fn generate(entropy: [u8; 7]) -> OrderNumber {
        let mut bits: u64 = 0;
        for b in entropy {
            bits = (bits << 8) | u64::from(b);
        }
        let symbols: String = (0..10)
            .map(|i| ORDER_ALPHABET[((bits >> (i * 5)) & 31) as usize] as char)
            .collect();
        OrderNumber(format!("{}-{}", &symbols[..5], &symbols[5..]))
    }

    /// Reads an order number as typed (R-ORD-1): any case, O for 0, I and L for 1, spaces and
    /// dashes anywhere. Refused unless 10 symbols of the alphabet remain.
    pub fn parse(text: &str) -> Result<OrderNumber, Refusal> {
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
        if cleaned.len() == 10 && cleaned.bytes().all(|b| ORDER_ALPHABET.contains(&b)) {
            Ok(OrderNumber(format!("{}-{}", &cleaned[..5], &cleaned[5..])))
        } else {
            Err(Refusal::UnknownOrderNumber(text.chars().take(40).collect()))
        }
    }

    /// Reads an order number as Signet stores it: exactly `XXXXX-XXXXX` in the alphabet, nothing
    /// to normalize (a stored value that needs it is not one Signet wrote).
    pub fn from_stored(text: &str) -> Result<OrderNumber, Refusal> {
        match OrderNumber::parse(text) {
            Ok(n) if n.0 == text => Ok(n),
            _ => Err(Refusal::UnknownOrderNumber(text.chars().take(40).collect())),
        }
    }

    /// The normalized form, `XXXXX-XXXXX`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for OrderNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.0)
    }
}

impl std::str::FromStr for OrderNumber {
    type Err = Refusal;

    fn from_str(text: &str) -> Result<OrderNumber, Refusal> {
        OrderNumber::parse(text)
    }
}

impl<'de> serde::Deserialize<'de> for OrderNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<OrderNumber, D::Error> {
        let text = String::deserialize(d)?;
        OrderNumber::parse(&text).map_err(serde::de::Error::custom)
    }
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
    /// Every purpose.
    pub const ALL: [TokenPurpose; 5] = [
        TokenPurpose::AccountConfirmation,
        TokenPurpose::ApprovalEmail,
        TokenPurpose::PasswordReset,
        TokenPurpose::Invitation,
        TokenPurpose::Pickup,
    ];

    /// Reads a stored name.
    pub fn parse(text: &str) -> Option<TokenPurpose> {
        TokenPurpose::ALL.into_iter().find(|p| p.as_str() == text)
    }

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
        let n = OrderNumber::generate([0xde, 0xad, 0xbe, 0xef, 0x01, 0x23, 0x45]);
        assert_eq!(n.as_str().len(), 11);
        assert_eq!(
            OrderNumber::parse(&n.as_str().to_lowercase().replace('-', "")),
            Ok(n.clone())
        );
        assert_eq!(
            OrderNumber::parse(" 0oIl1-23456 ").map(|n| n.to_string()),
            Ok("00111-23456".into())
        );
        assert!(matches!(
            OrderNumber::parse("abc"),
            Err(Refusal::UnknownOrderNumber(_))
        ));
        assert!(
            OrderNumber::parse("ABCDE-FGHJU").is_err(),
            "U is not in the alphabet"
        );
        assert_ne!(OrderNumber::generate([0; 7]), OrderNumber::generate([1; 7]));
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
