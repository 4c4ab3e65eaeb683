//! Signet's PKI layer: turns domain plans into DER, checks what it is about to sign, and signs
//! through a [`keys::KeyBackend`] (an encrypted key file or a PKCS#11 token).
//!
//! Synchronous and free of async runtimes, databases and HTTP.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod crl;
pub mod csr;
pub mod decision;
pub mod error;
pub mod extensions;
pub mod file_key;
pub mod hierarchy;
pub mod issuance;
pub mod keys;
pub mod name;
pub mod ocsp;
pub mod pkcs11_key;
pub mod pkcs12;
pub mod precheck;
pub mod public_key;
pub mod signed_data;
pub mod subscriber_key;
pub mod tsp;

pub use error::PkiError;
pub use x509_cert::Certificate;

/// PEM-encodes a certificate's DER.
pub fn certificate_pem(der: &[u8]) -> String {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).unwrap_or_default()
}

/// Decodes one PEM block into its label and DER.
pub fn pem_decode(pem: &[u8]) -> Result<(String, Vec<u8>), der::pem::Error> {
    der::pem::decode_vec(pem).map(|(label, der)| (label.to_owned(), der))
}

/// Re-exported so that callers decode with the same `der` this crate encodes with.
pub use der;
pub use x509_cert::time as x509_time;

/// The subject public key of a certificate, as a `PUBLIC KEY` PEM (to register with services).
pub fn public_key_pem(certificate_der: &[u8]) -> Result<String, PkiError> {
    use der::{Decode, Encode};
    let cert = Certificate::from_der(certificate_der)?;
    let spki = cert.tbs_certificate().subject_public_key_info().to_der()?;
    der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, &spki)
        .map_err(|e| PkiError::Der(e.into()))
}
