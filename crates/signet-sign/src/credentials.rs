//! The signer's key and certificate chain, read from the PKCS#12 file Signet handed out at
//! pickup (either compatibility mode) or any other PFX with one key.

use der::{Decode, Encode};
use p12_keystore::{KeyStore, Pkcs12ImportPolicy};
use signet_pki::subscriber_key::DocumentKey;
use x509_cert::Certificate;

use crate::SignError;

/// A signing key with its certificate and the chain above it.
#[derive(Debug)]
pub struct Credentials {
    key: DocumentKey,
    certificate: Certificate,
    chain: Vec<Certificate>,
}

impl Credentials {
    /// Opens a PFX: the key must match one certificate in it; the others are ordered into the
    /// chain from that certificate's issuer up to the root (as far as the file holds it).
    pub fn from_pfx(pfx: &[u8], password: &str) -> Result<Credentials, SignError> {
        let store =
            KeyStore::from_pkcs12(pfx, password, Pkcs12ImportPolicy::Relaxed).map_err(|e| {
                SignError::Pfx(format!(
                    "{e} (a wrong password gives this too: check the password file)"
                ))
            })?;
        let (_, entry) = store
            .private_key_chain()
            .ok_or_else(|| SignError::Pfx("it holds no private key".into()))?;
        let key = DocumentKey::from_pkcs8(entry.key().as_der())?;
        let public = key.public_key_der()?;
        let mut certificates = Vec::new();
        for c in entry.certs() {
            certificates.push(Certificate::from_der(c.as_der())?);
        }
        let position = certificates
            .iter()
            .position(|c| {
                c.tbs_certificate()
                    .subject_public_key_info()
                    .to_der()
                    .is_ok_and(|d| d == public)
            })
            .ok_or_else(|| {
                SignError::Pfx("no certificate in it belongs to its private key".into())
            })?;
        let certificate = certificates.remove(position);
        let validity = certificate.tbs_certificate().validity();
        let now = std::time::SystemTime::now();
        if now > validity.not_after.to_system_time() || now < validity.not_before.to_system_time() {
            return Err(SignError::Pfx(format!(
                "its certificate is not valid now (valid from {} to {}): renew it before signing",
                validity.not_before, validity.not_after
            )));
        }
        let chain = order_chain(&certificate, certificates);
        Ok(Credentials {
            key,
            certificate,
            chain,
        })
    }

    /// The key.
    pub fn key(&self) -> &DocumentKey {
        &self.key
    }

    /// The signer's certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The issuer first, the root (if the file has it) last.
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// The signer's certificate followed by its chain: what a signature embeds.
    pub fn path(&self) -> Vec<Certificate> {
        std::iter::once(self.certificate.clone())
            .chain(self.chain.iter().cloned())
            .collect()
    }
}

/// Orders `pool` from the issuer of `leaf` upwards; certificates that are not on the path are
/// left out.
pub fn order_chain(leaf: &Certificate, mut pool: Vec<Certificate>) -> Vec<Certificate> {
    let mut chain = Vec::new();
    let mut current = leaf.clone();
    while current.tbs_certificate().issuer() != current.tbs_certificate().subject() {
        let Some(i) = pool
            .iter()
            .position(|c| signet_pki::signed_data::verify_issued_by(&current, c).is_ok())
        else {
            break;
        };
        current = pool.remove(i);
        chain.push(current.clone());
    }
    chain
}
