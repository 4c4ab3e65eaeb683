//! The one error type of the PKI crate.

use signet_domain::Refusal;
use thiserror::Error;

/// What went wrong while reading a request, building, checking or signing a certificate.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PkiError {
    /// The domain refused the request (weak key, validity too long, …).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The CSR cannot be read; the message says where and why.
    #[error("the CSR cannot be read: {0}")]
    MalformedCsr(String),
    /// The CSR's self-signature does not verify: it was altered or made with another key.
    #[error(
        "the CSR's signature does not verify with the public key it contains (the request was altered or signed with another key)"
    )]
    CsrSignatureInvalid,
    /// The CSR uses a signature algorithm Signet does not accept.
    #[error(
        "the CSR is signed with {0}, which is not accepted: sign it with SHA-256 or stronger (RSA PKCS#1 v1.5 or ECDSA)"
    )]
    CsrSignatureAlgorithm(String),
    /// The to-be-signed certificate failed the pre-issuance check; nothing was signed.
    #[error("pre-issuance check failed, nothing was signed: {0}")]
    PreIssuanceCheck(String),
    /// DER encoding or decoding failed.
    #[error("DER encoding error: {0}")]
    Der(#[from] der::Error),
    /// The CA key could not be loaded, generated or used.
    #[error("CA key: {0}")]
    Key(String),
    /// A structure could not be built or encoded (a PKCS#12, an OCSP response, an extension);
    /// nothing was handed out.
    #[error("could not build {0}")]
    Build(String),
    /// A subscriber key pair could not be generated.
    #[error("subscriber key generation failed: {0}")]
    SubscriberKey(String),
    /// The PKCS#11 module reported an error.
    #[error("PKCS#11: {0}")]
    Pkcs11(String),
    /// A certificate Signet produced did not verify with its issuer's key.
    #[error(
        "signature self-check failed: the signed certificate does not verify with the issuer key"
    )]
    SelfCheckFailed,
    /// A signature someone else made (a CMS signature, a time-stamp token) does not check out.
    #[error("the signature is not valid: {0}")]
    Signature(String),
    /// Stored PKI data (read back from the database) is not what Signet wrote.
    #[error("stored data is corrupt: {0}; restore the database from a backup")]
    Corrupt(String),
}

impl From<x509_cert::builder::Error> for PkiError {
    fn from(e: x509_cert::builder::Error) -> Self {
        PkiError::Build(format!("the certificate: {e}"))
    }
}

impl From<cryptoki::error::Error> for PkiError {
    fn from(e: cryptoki::error::Error) -> Self {
        PkiError::Pkcs11(e.to_string())
    }
}
