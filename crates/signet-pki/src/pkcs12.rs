//! PKCS#12 (PFX) files for pickup (R-KEY-3): the key, the certificate and the chain, with a
//! friendly name, in modern (AES-256-CBC / PBKDF2-SHA-256 / HMAC-SHA-256) or legacy (3DES /
//! HMAC-SHA-1) encryption for old Windows and macOS Keychain.

use aws_lc_rs::digest;
use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKey,
    PrivateKeyChain,
};

use crate::PkiError;

/// Which PKCS#12 encryption to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compatibility {
    /// AES-256-CBC, PBKDF2-HMAC-SHA-256, SHA-256 MAC: Windows 10 1709+, NSS, current macOS.
    #[default]
    Modern,
    /// 3DES with a SHA-1 MAC: older Windows and macOS Keychain.
    Legacy,
}

/// Iterations for key derivation and MAC (OpenSSL 3 uses 2048; more costs importers little).
const ITERATIONS: u32 = 10_000;

/// A friendly name PKCS#12 can carry: it is a BMPString (PKCS#9), which holds no character
/// beyond U+FFFE, so those (e.g. U+20BB7 in Japanese names, or U+FFFF) become U+FFFD. The label is only
/// what a key store lists; the certificate keeps the exact name.
pub fn bmp_friendly_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if u32::from(c) >= 0xffff {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// Builds the PFX: `chain` is the issuing CA first, the root last.
pub fn build(
    pkcs8: &[u8],
    certificate_der: &[u8],
    chain: &[&[u8]],
    friendly_name: &str,
    password: &str,
    compatibility: Compatibility,
) -> Result<Vec<u8>, PkiError> {
    let p12 = |e: p12_keystore::error::Error| PkiError::Build(format!("the PKCS#12 file: {e}"));
    let key = PrivateKey::from_der(pkcs8).map_err(p12)?;
    let mut certs = vec![Certificate::from_der(certificate_der).map_err(p12)?];
    for c in chain {
        certs.push(Certificate::from_der(c).map_err(p12)?);
    }
    // The localKeyId only has to pair the key bag with the certificate bag.
    let local_key_id = digest::digest(&digest::SHA256, certificate_der).as_ref()[..20].to_vec();
    let mut store = KeyStore::new();
    store.add_entry(
        &bmp_friendly_name(friendly_name),
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(local_key_id, key, certs)),
    );
    let (encryption, mac) = match compatibility {
        Compatibility::Modern => (
            EncryptionAlgorithm::PbeWithHmacSha256AndAes256,
            MacAlgorithm::HmacSha256,
        ),
        Compatibility::Legacy => (
            EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc,
            MacAlgorithm::HmacSha1,
        ),
    };
    store
        .writer(password)
        .encryption_algorithm(encryption)
        .encryption_iterations(ITERATIONS)
        .mac_algorithm(mac)
        .mac_iterations(ITERATIONS)
        .write()
        .map_err(p12)
}
