//! The one error type of the use cases: a refusal to show the user, or a failure to log.

use signet_domain::Refusal;
use signet_pki::PkiError;
use signet_store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AppError {
    /// A rule refused the request; the message is for the person who asked.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The request's PKI content was bad (malformed CSR, bad signature) or signing failed.
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The data directory already holds a CA.
    #[error("{0}")]
    AlreadyInitialized(String),
    /// The data directory holds no CA yet.
    #[error("no CA in {0}: run `signet --data-dir {0} init` first")]
    NotInitialized(String),
    /// The configuration file is missing, unreadable or invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// Authentication is missing or wrong (HTTP 401).
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated but not allowed (HTTP 403).
    #[error("{0}")]
    Forbidden(String),
    /// No such thing, or not visible to the caller (HTTP 404).
    #[error("{0} not found")]
    NotFound(String),
    /// Conflicts with the current state (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// A link that no longer works (HTTP 410).
    #[error("{0}")]
    Gone(String),
    /// Locked after too many failures (HTTP 423).
    #[error("{0}")]
    Locked(String),
    /// Too many requests of a kind from one client or for one address (HTTP 429).
    #[error("{0}")]
    TooMany(String),
    /// Staff who can cause issuance or revocation have not set up their second factor yet.
    #[error("{0}")]
    SecondFactorSetup(String),
    /// Something that should not happen; details are in the log.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// The store could not be read or written (down, restarting, read-only): nothing was
    /// changed, and the same request may succeed shortly (HTTP 503).
    pub fn is_unavailable(&self) -> bool {
        match self {
            AppError::Store(e @ StoreError::Database(_)) => !e.is_constraint_violation(),
            AppError::Store(StoreError::Aborted | StoreError::ReadOnly) => true,
            _ => false,
        }
    }

    pub fn io(path: &std::path::Path, source: std::io::Error) -> AppError {
        AppError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// Another request changed the same thing first, or the thing exists already (HTTP 409).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            AppError::Conflict(_)
                | AppError::Store(StoreError::Conflict(_) | StoreError::Duplicate(_))
        )
    }

    /// Whether the caller (not the system) is at fault: bad input, refused request.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            AppError::Refused(_)
                | AppError::Unauthorized(_)
                | AppError::Forbidden(_)
                | AppError::NotFound(_)
                | AppError::Conflict(_)
                | AppError::Gone(_)
                | AppError::Locked(_)
                | AppError::TooMany(_)
                | AppError::Store(StoreError::Conflict(_) | StoreError::Duplicate(_))
                | AppError::AlreadyInitialized(_)
                | AppError::NotInitialized(_)
                | AppError::Pki(
                    PkiError::Refused(_)
                        | PkiError::MalformedCsr(_)
                        | PkiError::CsrSignatureInvalid
                        | PkiError::CsrSignatureAlgorithm(_)
                )
        )
    }
}
