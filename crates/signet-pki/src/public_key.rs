//! Reading public keys: what kind they are (for policy) and how to verify with them.

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_EC_PUBLIC_KEY, RSA_ENCRYPTION,
    SECP_256_R_1, SECP_384_R_1, SECP_521_R_1, SHA_1_WITH_RSA_ENCRYPTION,
    SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION, SHA_512_WITH_RSA_ENCRYPTION,
};
use der::asn1::UintRef;
use der::{Decode, Sequence};
use signet_domain::key::{Curve, PublicKeyKind};
use spki::SubjectPublicKeyInfoOwned;

use crate::PkiError;

/// PKCS#1 RSAPublicKey.
#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

/// Classifies a SubjectPublicKeyInfo for the key policy.
pub fn key_kind(spki: &SubjectPublicKeyInfoOwned) -> Result<PublicKeyKind, PkiError> {
    let key_bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| malformed("the public key is not whole octets"))?;
    match spki.algorithm.oid {
        RSA_ENCRYPTION => {
            let rsa = RsaPublicKey::from_der(key_bytes)
                .map_err(|e| malformed(&format!("RSA public key: {e}")))?;
            let m = rsa.modulus.as_bytes();
            let modulus_bits = if m.is_empty() {
                0
            } else {
                (m.len() as u32 - 1) * 8 + (8 - m[0].leading_zeros())
            };
            let e = rsa.public_exponent.as_bytes();
            let public_exponent = if e.len() > 8 {
                u64::MAX
            } else {
                e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
            };
            Ok(PublicKeyKind::Rsa {
                modulus_bits,
                public_exponent,
            })
        }
        ID_EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                .ok_or_else(|| malformed("EC key without a named curve"))?;
            let curve = match curve {
                SECP_256_R_1 => Curve::P256,
                SECP_384_R_1 => Curve::P384,
                SECP_521_R_1 => Curve::P521,
                other => return Ok(PublicKeyKind::Other(format!("EC key on curve {other}"))),
            };
            Ok(PublicKeyKind::Ec(curve))
        }
        other => Ok(PublicKeyKind::Other(algorithm_name(other))),
    }
}

fn algorithm_name(oid: ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "1.3.101.112" => "Ed25519".into(),
        "1.3.101.113" => "Ed448".into(),
        "1.2.840.10040.4.1" => "DSA".into(),
        other => format!("public key algorithm {other}"),
    }
}

fn malformed(why: &str) -> PkiError {
    PkiError::MalformedCsr(why.to_owned())
}

/// The aws-lc-rs verification algorithm for a signature algorithm OID and key, or why not.
fn verification_algorithm(
    signature_oid: ObjectIdentifier,
    kind: &PublicKeyKind,
) -> Result<&'static dyn VerificationAlgorithm, String> {
    let alg: &'static dyn VerificationAlgorithm = match (signature_oid, kind) {
        (SHA_256_WITH_RSA_ENCRYPTION, PublicKeyKind::Rsa { .. }) => {
            &sig::RSA_PKCS1_2048_8192_SHA256
        }
        (SHA_384_WITH_RSA_ENCRYPTION, PublicKeyKind::Rsa { .. }) => {
            &sig::RSA_PKCS1_2048_8192_SHA384
        }
        (SHA_512_WITH_RSA_ENCRYPTION, PublicKeyKind::Rsa { .. }) => {
            &sig::RSA_PKCS1_2048_8192_SHA512
        }
        (ECDSA_WITH_SHA_256, PublicKeyKind::Ec(Curve::P256)) => &sig::ECDSA_P256_SHA256_ASN1,
        (ECDSA_WITH_SHA_384, PublicKeyKind::Ec(Curve::P256)) => &sig::ECDSA_P256_SHA384_ASN1,
        (ECDSA_WITH_SHA_256, PublicKeyKind::Ec(Curve::P384)) => &sig::ECDSA_P384_SHA256_ASN1,
        (ECDSA_WITH_SHA_384, PublicKeyKind::Ec(Curve::P384)) => &sig::ECDSA_P384_SHA384_ASN1,
        (ECDSA_WITH_SHA_512, PublicKeyKind::Ec(Curve::P384)) => &sig::ECDSA_P384_SHA512_ASN1,
        (SHA_1_WITH_RSA_ENCRYPTION, _) => return Err("SHA-1 with RSA".into()),
        (oid, _) => return Err(format!("algorithm {oid}")),
    };
    Ok(alg)
}

/// Verifies `signature` over `message` with `spki`, using the algorithm the OID names.
pub fn verify(
    spki: &SubjectPublicKeyInfoOwned,
    signature_oid: ObjectIdentifier,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, String> {
    let kind = key_kind(spki).map_err(|e| e.to_string())?;
    let alg = verification_algorithm(signature_oid, &kind)?;
    let key = spki
        .subject_public_key
        .as_bytes()
        .ok_or("public key is not whole octets")?;
    Ok(UnparsedPublicKey::new(alg, key)
        .verify(message, signature)
        .is_ok())
}
