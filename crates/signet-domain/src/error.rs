//! The one error type of the domain: a refusal that tells the caller why and what to do.

use thiserror::Error;

/// Why the domain refused a request. Every variant's message is meant for the person who asked.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Refusal {
    /// A field of the subscriber identity is missing or malformed.
    #[error("invalid identity field `{field}`: {reason}")]
    InvalidIdentity {
        /// The identity JSON field at fault, e.g. `email` or `given_name`.
        field: &'static str,
        /// What is wrong with its value and, where it helps, how to write it.
        reason: String,
    },
    /// The profile needs an identity field that was not given.
    #[error("profile `{profile}` requires `{field}` in the subject (e.g. {example})")]
    MissingIdentityField {
        /// The profile that requires the field.
        profile: String,
        /// The identity JSON field that is missing, e.g. `organization_identifier`.
        field: &'static str,
        /// A well-formed value to show, e.g. `VATBE-0123456789`.
        example: &'static str,
    },
    /// The subscriber's public key is too weak or of a kind Signet does not certify.
    #[error("{0}")]
    UnacceptableKey(String),
    /// The requested validity is longer than the product or profile allows.
    #[error("requested validity of {requested} exceeds the maximum of {maximum} for `{what}`")]
    ValidityTooLong {
        /// The limit that was exceeded: `profile NAME` or `product NAME`.
        what: String,
        /// The validity as it was asked for, e.g. `40 months`.
        requested: String,
        /// The limit as configured, e.g. `39 months` or `825 days`.
        maximum: String,
    },
    /// A validity of zero months was requested.
    #[error("validity must be at least 1 month")]
    ValidityTooShort,
    /// No profile of that name is configured.
    #[error("unknown profile `{name}`; configured profiles: {known}")]
    UnknownProfile {
        /// The name that was asked for.
        name: String,
        /// The configured profile names, comma-separated.
        known: String,
    },
    /// No product of that name is configured.
    #[error("unknown product `{name}`; configured products: {known}")]
    UnknownProduct {
        /// The name that was asked for.
        name: String,
        /// The configured product names, comma-separated.
        known: String,
    },
    /// The configuration breaks a rule; the message names the setting.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The actor may not do this (HTTP 403).
    #[error("{0}")]
    NotAllowed(String),
    /// The request conflicts with the current state (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// A field of the request is invalid (HTTP 422).
    #[error("{0}")]
    InvalidInput(String),
    /// What was sent is larger than the rule allows (HTTP 413).
    #[error("{0}")]
    TooLarge(String),
    /// A serial number given as text is not a valid serial.
    #[error(
        "invalid serial number `{0}`: expected hexadecimal digits of a positive serial of at most 20 octets"
    )]
    InvalidSerial(String),
    /// Locked after too many failures; someone else must lift the lock (HTTP 423).
    #[error("{0}")]
    Locked(String),
    /// Text given as an order number is not one: no order has it (HTTP 404).
    #[error(
        "no order `{0}`: an order number has 10 letters and digits, as in the mail that confirmed the order (e.g. 7K3QZ-M9X2D)"
    )]
    UnknownOrderNumber(String),
}
