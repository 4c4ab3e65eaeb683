//! Certificate signing requests: parse, verify the self-signature, classify the key.
//! Only the public key is taken from a CSR; the subject comes from the vetted identity.

use der::{Decode, Encode};
use signet_domain::key::{PublicKeyKind, check_subscriber_key};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::request::CertReq;

use crate::PkiError;
use crate::public_key::{key_kind, verify};

/// A subscriber public key that passed the key policy.
#[derive(Debug, Clone)]
pub struct SubscriberKey {
    /// The SubjectPublicKeyInfo exactly as received; it goes into the certificate unchanged.
    pub spki: SubjectPublicKeyInfoOwned,
    /// What the key is (algorithm, size or curve); it passed [`check_subscriber_key`].
    pub kind: PublicKeyKind,
}

impl SubscriberKey {
    /// Checks a public key against the subscriber key policy.
    pub fn from_spki(spki: SubjectPublicKeyInfoOwned) -> Result<SubscriberKey, PkiError> {
        let kind = key_kind(&spki)?;
        check_subscriber_key(&kind)?;
        Ok(SubscriberKey { spki, kind })
    }
}

/// Reads a CSR in PEM or DER, checks its key against the policy and verifies its signature.
pub fn parse_csr(bytes: &[u8]) -> Result<SubscriberKey, PkiError> {
    let der = if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        let (label, der) =
            der::pem::decode_vec(bytes).map_err(|e| PkiError::MalformedCsr(format!("PEM: {e}")))?;
        if label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST" {
            return Err(PkiError::MalformedCsr(format!(
                "the PEM block is `{label}`, expected CERTIFICATE REQUEST"
            )));
        }
        der
    } else {
        bytes.to_vec()
    };
    if der.is_empty() {
        return Err(PkiError::MalformedCsr("the file is empty".into()));
    }
    let csr = CertReq::from_der(&der)
        .map_err(|e| PkiError::MalformedCsr(format!("not a PKCS#10 request: {e}")))?;
    let key = SubscriberKey::from_spki(csr.info.public_key.clone())?;
    let message = csr.info.to_der()?;
    let signature = csr
        .signature
        .as_bytes()
        .ok_or_else(|| PkiError::MalformedCsr("the signature is not whole octets".into()))?;
    match verify(&key.spki, csr.algorithm.oid, &message, signature) {
        Ok(true) => Ok(key),
        Ok(false) => Err(PkiError::CsrSignatureInvalid),
        Err(alg) => Err(PkiError::CsrSignatureAlgorithm(alg)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_truncation_are_malformed() {
        for input in [
            &b""[..],
            b"hello",
            b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
            &[0x30, 0x82, 0x01],
        ] {
            assert!(
                matches!(parse_csr(input), Err(PkiError::MalformedCsr(_))),
                "{input:?}"
            );
        }
    }
}
