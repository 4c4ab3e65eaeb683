//! Signet's domain core: every certificate rule lives here once.
//!
//! Pure: no I/O, no clock, no randomness of its own. Callers pass time (`now`) and entropy in and
//! get values or a [`Refusal`] that says what is wrong and what to do.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Names that are stored and shown as their `as_str`: they print the same way everywhere.
macro_rules! display_as_str {
    ($($t:ty),* $(,)?) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    )*};
}

display_as_str!(
    order::OrderStatus,
    order::OrderKind,
    order::DocumentKind,
    role::Role,
    key::KeyChoice,
    key::SubscriberKeyType,
    config::Channel,
    certificate::RevocationReason,
    notices::AlertKind,
    credentials::TokenPurpose,
);

pub mod audit;
pub mod certificate;
pub mod config;
pub mod credentials;
pub mod crl;
pub mod discovery;
pub mod error;
pub mod guard;
pub mod identity;
pub mod key;
pub mod notices;
pub mod ocsp;
pub mod order;
pub mod plan;
pub mod privacy;
pub mod profile;
pub mod publication;
pub mod role;
pub mod serial;
pub mod signing_key;
pub mod statement;
pub mod validity;

pub use error::Refusal;

#[cfg(test)]
mod tests {
    #[test]
    fn names_print_in_columns() {
        assert_eq!(
            format!("[{:<8}]", crate::order::OrderStatus::Issued),
            "[issued  ]"
        );
        assert_eq!(format!("[{:>6}]", crate::role::Role::Admin), "[ admin]");
    }
}
