//! The CA key seam: everything that signs for Signet implements [`KeyBackend`]; [`CaSigner`]
//! adapts any backend to the x509-cert builder.

use std::fmt::Debug;
use std::sync::Arc;

use const_oid::db::rfc5912::{ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, SHA_256_WITH_RSA_ENCRYPTION};
use der::asn1::{AnyRef, BitString};
use der::{Decode, Encode};
use signet_domain::key::CaKeyAlgorithm;
use spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey,
    SubjectPublicKeyInfoOwned,
};

use crate::PkiError;

/// A private key that signs inside some boundary (process memory, an HSM).
pub trait KeyBackend: Send + Sync + Debug {
    /// The key's algorithm; it fixes the signature algorithm.
    fn algorithm(&self) -> CaKeyAlgorithm;
    /// The public key as SubjectPublicKeyInfo DER.
    fn public_key_der(&self) -> &[u8];
    /// Signs `message` and returns the signature value as it goes into the BIT STRING:
    /// DER `ECDSA-Sig-Value` for EC keys, the raw PKCS#1 v1.5 block for RSA.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError>;
}

/// The signature algorithm Signet uses with each CA key algorithm: SHA-256 for P-256 and RSA,
/// SHA-384 for P-384 (the S/MIME BRs pair curves and hashes this way).
pub fn signature_algorithm(alg: CaKeyAlgorithm) -> AlgorithmIdentifierOwned {
    match alg {
        CaKeyAlgorithm::EcP256 => AlgorithmIdentifierOwned {
            oid: ECDSA_WITH_SHA_256,
            parameters: None,
        },
        CaKeyAlgorithm::EcP384 => AlgorithmIdentifierOwned {
            oid: ECDSA_WITH_SHA_384,
            parameters: None,
        },
        CaKeyAlgorithm::Rsa4096 => AlgorithmIdentifierOwned {
            oid: SHA_256_WITH_RSA_ENCRYPTION,
            parameters: Some(AnyRef::NULL.into()),
        },
    }
}

/// Any key backend, shaped for the x509-cert builder (`Keypair` + algorithm identifier).
#[derive(Debug, Clone)]
pub struct CaSigner {
    backend: Arc<dyn KeyBackend>,
    spki: SubjectPublicKeyInfoOwned,
}

impl CaSigner {
    /// Wraps a backend, decoding its public key once; fails if the backend's SubjectPublicKeyInfo
    /// does not decode.
    pub fn new(backend: Arc<dyn KeyBackend>) -> Result<CaSigner, PkiError> {
        let spki = SubjectPublicKeyInfoOwned::from_der(backend.public_key_der())?;
        Ok(CaSigner { backend, spki })
    }

    /// The key's algorithm, which fixes the signature algorithm ([`signature_algorithm`]).
    pub fn algorithm(&self) -> CaKeyAlgorithm {
        self.backend.algorithm()
    }

    /// The public key: compared with the certificate's in [`crate::issuance::Issuer::new`], hashed
    /// into key identifiers.
    pub fn spki(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }

    /// Signs and wraps the signature as the certificate's BIT STRING.
    pub fn sign_to_bitstring(&self, message: &[u8]) -> Result<BitString, PkiError> {
        Ok(BitString::from_bytes(&self.backend.sign(message)?)?)
    }
}

/// The verifying half handed to the builder: just the SPKI.
#[derive(Debug, Clone)]
pub struct PublicKeyDer(SubjectPublicKeyInfoOwned);

impl EncodePublicKey for PublicKeyDer {
    fn to_public_key_der(&self) -> spki::Result<der::Document> {
        Ok(der::Document::from_der(&self.0.to_der()?)?)
    }
}

impl signature::Keypair for CaSigner {
    type VerifyingKey = PublicKeyDer;

    fn verifying_key(&self) -> PublicKeyDer {
        PublicKeyDer(self.spki.clone())
    }
}

impl DynSignatureAlgorithmIdentifier for CaSigner {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(signature_algorithm(self.backend.algorithm()))
    }
}
