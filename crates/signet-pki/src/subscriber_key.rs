//! Server-side key generation at pickup (R-KEY-1). The private key exists only in memory, is
//! wiped when dropped, and leaves the process only inside the password-protected PKCS#12.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair,
    RsaKeyPair,
};
use der::Decode;
use signet_domain::key::{CaKeyAlgorithm, SubscriberKeyType};
use spki::SubjectPublicKeyInfoOwned;
use zeroize::Zeroizing;

use crate::PkiError;
use crate::csr::SubscriberKey;
use crate::signed_data::{Hash, SigningKey};

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

/// A subscriber's own key, read from its PKCS#8 to sign documents with (the `sign` tool runs on
/// the subscriber's machine; the key stays in its memory and is wiped on drop by aws-lc).
pub struct DocumentKey {
    pair: DocumentPair,
    kind: signet_domain::key::PublicKeyKind,
}

enum DocumentPair {
    Ec(EcdsaKeyPair, Hash),
    Rsa(RsaKeyPair),
}

impl std::fmt::Debug for DocumentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentKey")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl DocumentKey {
    /// Reads an RSA or ECDSA (P-256, P-384) key from PKCS#8 DER.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<DocumentKey, PkiError> {
        let unreadable = || {
            PkiError::Key(
                "the private key is neither RSA nor ECDSA on P-256 or P-384 in PKCS#8".into(),
            )
        };
        let (pair, spki) = if let Ok(pair) =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8)
        {
            let spki = pair.public_key().as_der().map_err(|_| unreadable())?;
            let spki = spki.as_ref().to_vec();
            (DocumentPair::Ec(pair, Hash::Sha256), spki)
        } else if let Ok(pair) = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, pkcs8) {
            let spki = pair.public_key().as_der().map_err(|_| unreadable())?;
            let spki = spki.as_ref().to_vec();
            (DocumentPair::Ec(pair, Hash::Sha384), spki)
        } else {
            let pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| unreadable())?;
            let spki = pair.public_key().as_der().map_err(|_| unreadable())?;
            let spki = spki.as_ref().to_vec();
            (DocumentPair::Rsa(pair), spki)
        };
        let kind = SubscriberKey::from_spki(SubjectPublicKeyInfoOwned::from_der(&spki)?)?.kind;
        Ok(DocumentKey { pair, kind })
    }

    /// What the key is (for messages: "RSA-3072", "ECDSA P-256").
    pub fn kind(&self) -> &signet_domain::key::PublicKeyKind {
        &self.kind
    }

    /// The public key as SubjectPublicKeyInfo DER, to match against a certificate.
    pub fn public_key_der(&self) -> Result<Vec<u8>, PkiError> {
        let der = match &self.pair {
            DocumentPair::Ec(pair, _) => pair.public_key().as_der().map(|d| d.as_ref().to_vec()),
            DocumentPair::Rsa(pair) => pair.public_key().as_der().map(|d| d.as_ref().to_vec()),
        };
        der.map_err(failed("public key export"))
    }
}

impl SigningKey for DocumentKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match &self.pair {
            DocumentPair::Ec(pair, _) => Ok(pair
                .sign(&rng, message)
                .map_err(failed("ECDSA signing"))?
                .as_ref()
                .to_vec()),
            DocumentPair::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &rng,
                    message,
                    &mut signature,
                )
                .map_err(failed("RSA signing"))?;
                Ok(signature)
            }
        }
    }

    fn signature_algorithm(&self) -> spki::AlgorithmIdentifierOwned {
        // The CA key table names the same three combinations (RSA always with SHA-256).
        crate::keys::signature_algorithm(match &self.pair {
            DocumentPair::Ec(_, Hash::Sha384) => CaKeyAlgorithm::EcP384,
            DocumentPair::Ec(..) => CaKeyAlgorithm::EcP256,
            DocumentPair::Rsa(_) => CaKeyAlgorithm::Rsa4096,
        })
    }

    fn hash(&self) -> Hash {
        match &self.pair {
            DocumentPair::Ec(_, hash) => *hash,
            DocumentPair::Rsa(_) => Hash::Sha256,
        }
    }
}
