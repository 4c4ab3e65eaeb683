//! CA keys in files: PKCS#8, encrypted with PBES2 (PBKDF2-HMAC-SHA-256, AES-256-CBC) — the
//! format `openssl pkey` reads — and decrypted only into process memory.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair,
    RSA_PKCS1_SHA256, RsaKeyPair,
};
use der::pem::LineEnding;
use pkcs8::{EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef};
use signet_domain::key::CaKeyAlgorithm;
use zeroize::Zeroizing;

use crate::PkiError;
use crate::keys::KeyBackend;

/// OWASP's 2023 recommendation for PBKDF2-HMAC-SHA-256.
const PBKDF2_ITERATIONS: u32 = 600_000;

enum Pair {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// A CA key held in memory after decrypting its file.
pub struct FileKey {
    algorithm: CaKeyAlgorithm,
    pair: Pair,
    spki: Vec<u8>,
}

impl std::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

fn key_err(what: &str) -> impl Fn(aws_lc_rs::error::Unspecified) -> PkiError + '_ {
    move |_| PkiError::Key(what.to_owned())
}

impl FileKey {
    /// Generates a new key and returns it with its encrypted PKCS#8 PEM.
    pub fn generate(
        algorithm: CaKeyAlgorithm,
        passphrase: &[u8],
    ) -> Result<(FileKey, String), PkiError> {
        let pkcs8: Zeroizing<Vec<u8>> = Zeroizing::new(match algorithm {
            CaKeyAlgorithm::EcP256 | CaKeyAlgorithm::EcP384 => {
                let pair = EcdsaKeyPair::generate(ec_alg(algorithm))
                    .map_err(key_err("EC key generation failed"))?;
                pair.to_pkcs8v1()
                    .map_err(key_err("PKCS#8 export failed"))?
                    .as_ref()
                    .to_vec()
            }
            CaKeyAlgorithm::Rsa4096 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa4096)
                    .map_err(key_err("RSA key generation failed"))?;
                let der: Pkcs8V1Der<'static> =
                    pair.as_der().map_err(key_err("PKCS#8 export failed"))?;
                der.as_ref().to_vec()
            }
        });
        let pem = encrypt_pkcs8(&pkcs8, passphrase)?;
        Ok((FileKey::from_pkcs8(algorithm, &pkcs8)?, pem))
    }

    /// Decrypts an encrypted PKCS#8 PEM written by [`FileKey::generate`] (or by openssl).
    pub fn from_encrypted_pem(
        algorithm: CaKeyAlgorithm,
        pem: &str,
        passphrase: &[u8],
    ) -> Result<FileKey, PkiError> {
        let (label, der) = der::pem::decode_vec(pem.as_bytes())
            .map_err(|e| PkiError::Key(format!("the key file is not PEM: {e}")))?;
        if label != "ENCRYPTED PRIVATE KEY" {
            return Err(PkiError::Key(format!(
                "the key file holds `{label}`, expected an ENCRYPTED PRIVATE KEY: CA keys are never stored in clear"
            )));
        }
        let info = EncryptedPrivateKeyInfoRef::try_from(der.as_slice())
            .map_err(|e| PkiError::Key(format!("the key file is not encrypted PKCS#8: {e}")))?;
        let plain = info.decrypt(passphrase).map_err(|_| {
            PkiError::Key("cannot decrypt the CA key: wrong passphrase or damaged file".into())
        })?;
        FileKey::from_pkcs8(algorithm, plain.as_bytes())
    }

    fn from_pkcs8(algorithm: CaKeyAlgorithm, pkcs8: &[u8]) -> Result<FileKey, PkiError> {
        let mismatch = |_| PkiError::Key(format!("the key file does not hold a {algorithm} key"));
        let (pair, spki) = match algorithm {
            CaKeyAlgorithm::EcP256 | CaKeyAlgorithm::EcP384 => {
                let pair = EcdsaKeyPair::from_pkcs8(ec_alg(algorithm), pkcs8).map_err(mismatch)?;
                let spki = pair
                    .public_key()
                    .as_der()
                    .map_err(key_err("public key export failed"))?
                    .as_ref()
                    .to_vec();
                (Pair::Ec(pair), spki)
            }
            CaKeyAlgorithm::Rsa4096 => {
                let pair = RsaKeyPair::from_pkcs8(pkcs8)
                    .map_err(|_| PkiError::Key("the key file does not hold an RSA key".into()))?;
                if pair.public_modulus_len() * 8 != 4096 {
                    return Err(PkiError::Key(
                        "the key file holds an RSA key that is not 4096 bits".into(),
                    ));
                }
                let spki = pair
                    .public_key()
                    .as_der()
                    .map_err(key_err("public key export failed"))?
                    .as_ref()
                    .to_vec();
                (Pair::Rsa(pair), spki)
            }
        };
        Ok(FileKey {
            algorithm,
            pair,
            spki,
        })
    }
}

fn ec_alg(algorithm: CaKeyAlgorithm) -> &'static aws_lc_rs::signature::EcdsaSigningAlgorithm {
    if algorithm == CaKeyAlgorithm::EcP256 {
        &ECDSA_P256_SHA256_ASN1_SIGNING
    } else {
        &ECDSA_P384_SHA384_ASN1_SIGNING
    }
}

fn encrypt_pkcs8(pkcs8: &[u8], passphrase: &[u8]) -> Result<String, PkiError> {
    let rng = SystemRandom::new();
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rng.fill(&mut salt).map_err(key_err("no randomness"))?;
    rng.fill(&mut iv).map_err(key_err("no randomness"))?;
    let params =
        pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, iv)
            .map_err(|e| PkiError::Key(format!("PBES2 parameters: {e}")))?;
    let info =
        PrivateKeyInfoRef::try_from(pkcs8).map_err(|e| PkiError::Key(format!("PKCS#8: {e}")))?;
    let encrypted = info
        .encrypt_with_params(params, passphrase)
        .map_err(|e| PkiError::Key(format!("encrypting the key: {e}")))?;
    encrypted
        .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .map(|p| p.to_string())
        .map_err(|e| PkiError::Key(format!("PEM: {e}")))
}

impl KeyBackend for FileKey {
    fn algorithm(&self) -> CaKeyAlgorithm {
        self.algorithm
    }

    fn public_key_der(&self) -> &[u8] {
        &self.spki
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError> {
        let rng = SystemRandom::new();
        match &self.pair {
            Pair::Ec(pair) => Ok(pair
                .sign(&rng, message)
                .map_err(key_err("ECDSA signing failed"))?
                .as_ref()
                .to_vec()),
            Pair::Rsa(pair) => {
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(key_err("RSA signing failed"))?;
                Ok(sig)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_wrong_passphrase() {
        let (key, pem) =
            FileKey::generate(CaKeyAlgorithm::EcP256, b"correct horse").expect("generate");
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let again = FileKey::from_encrypted_pem(CaKeyAlgorithm::EcP256, &pem, b"correct horse")
            .expect("decrypt");
        assert_eq!(key.public_key_der(), again.public_key_der());
        let err = FileKey::from_encrypted_pem(CaKeyAlgorithm::EcP256, &pem, b"wrong")
            .expect_err("wrong passphrase");
        assert!(err.to_string().contains("wrong passphrase"), "{err}");
        assert!(
            FileKey::from_encrypted_pem(CaKeyAlgorithm::EcP384, &pem, b"correct horse").is_err()
        );
    }
}
