//! The one error type of the signing crate.

use thiserror::Error;

/// Why a document could not be signed or checked; each says what to do about it.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SignError {
    /// The PKCS#12 file cannot be opened or holds no usable key and certificate.
    #[error("the PFX file cannot be used: {0}")]
    Pfx(String),
    /// A signature, certificate or token does not check out, or cannot be built.
    #[error(transparent)]
    Pki(#[from] signet_pki::PkiError),
    /// A server (TSA, OCSP responder, CRL host) could not be reached or answered badly.
    #[error("{url}: {problem}")]
    Network {
        /// The URL asked.
        url: String,
        /// What went wrong.
        problem: String,
    },
    /// The time-stamp authority refused or answered with a token that does not check out.
    #[error("the time-stamp authority at {url} {problem}")]
    TimeStamp {
        /// The TSA's URL.
        url: String,
        /// What it did wrong.
        problem: String,
    },
    /// Revocation data could not be collected or does not check out (B-LT needs all of it).
    #[error("revocation data: {0}")]
    Revocation(String),
    /// The PDF cannot be read or signed.
    #[error("the PDF: {0}")]
    Pdf(String),
    /// The request itself does not make sense (a level without a TSA, a level a format lacks).
    #[error("{0}")]
    Usage(String),
    /// The input is not signed, or not in a form this crate reads.
    #[error("{0}")]
    NotSigned(String),
}

impl From<der::Error> for SignError {
    fn from(e: der::Error) -> Self {
        SignError::Pki(e.into())
    }
}
