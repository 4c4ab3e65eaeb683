//! Server-side key generation at pickup (R-KEY-1). The private key exists only in memory, is
//! wiped when dropped, and leaves the process only inside the password-protected PKCS#12.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair,
    RsaKeyPair,
};
use der::Decode;
use signet_domain::key::SubscriberKeyType;
use spki::SubjectPublicKeyInfoOwned;
use zeroize::Zeroizing;

use crate::PkiError;
use crate::csr::SubscriberKey;

/// A freshly generated key pair: the PKCS#8 private key (wiped on drop) and the checked public
/// key.
pub struct GeneratedKey {
    /// The private key as PKCS#8 DER; goes into the PKCS#12 and nowhere else (R-KEY-1).
    pub pkcs8: Zeroizing<Vec<u8>>,
    /// The public key, checked against the subscriber key policy like a CSR's.
    pub public: SubscriberKey,
}

impl std::fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("public", &self.public.kind)
            .finish_non_exhaustive()
    }
}

fn failed(what: &str) -> impl Fn(aws_lc_rs::error::Unspecified) -> PkiError + '_ {
    move |_| PkiError::SubscriberKey(what.to_owned())
}

/// Generates a key pair of the type the pickup or order asks for (R-KEY-1), with the system's
/// CSPRNG through aws-lc-rs.
pub fn generate(key_type: SubscriberKeyType) -> Result<GeneratedKey, PkiError> {
    let (pkcs8, spki) = match key_type {
        SubscriberKeyType::Rsa2048 | SubscriberKeyType::Rsa3072 => {
            let size = if key_type == SubscriberKeyType::Rsa2048 {
                KeySize::Rsa2048
            } else {
                KeySize::Rsa3072
            };
            let pair = RsaKeyPair::generate(size).map_err(failed("RSA"))?;
            let der: Pkcs8V1Der<'static> = pair.as_der().map_err(failed("PKCS#8"))?;
            let spki = pair
                .public_key()
                .as_der()
                .map_err(failed("public key"))?
                .as_ref()
                .to_vec();
            (Zeroizing::new(der.as_ref().to_vec()), spki)
        }
        SubscriberKeyType::P256 | SubscriberKeyType::P384 => {
            let alg = if key_type == SubscriberKeyType::P256 {
                &ECDSA_P256_SHA256_ASN1_SIGNING
            } else {
                &ECDSA_P384_SHA384_ASN1_SIGNING
            };
            let pair = EcdsaKeyPair::generate(alg).map_err(failed("EC"))?;
            let der = pair.to_pkcs8v1().map_err(failed("PKCS#8"))?;
            let spki = pair
                .public_key()
                .as_der()
                .map_err(failed("public key"))?
                .as_ref()
                .to_vec();
            (Zeroizing::new(der.as_ref().to_vec()), spki)
        }
    };
    let public = SubscriberKey::from_spki(SubjectPublicKeyInfoOwned::from_der(&spki)?)?;
    Ok(GeneratedKey { pkcs8, public })
}
