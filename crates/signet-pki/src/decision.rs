//! An officer's signed decision as CMS SignedData (issue 15, item 3): the canonical statement
//! encapsulated, the officer's own signature over it (no signed attributes, so that a browser's
//! WebCrypto or `openssl dgst -sign` makes it without knowing CMS), and the officer's
//! certificate with its chain. `openssl cms -verify` checks the result against the staff CA.

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::CmsVersion;
use cms::signed_data::{SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::ID_DATA;
use const_oid::db::rfc5912::{ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, SECP_256_R_1, SECP_384_R_1};
use der::asn1::{OctetString, Uint};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;

use crate::PkiError;
use crate::signed_data::{Hash, content_info, identifies, parse_signed_data, verify_signature};

/// ECDSA-Sig-Value (RFC 3279): the DER form of an ECDSA signature.
#[derive(Sequence)]
struct EcdsaSigValue {
    r: Uint,
    s: Uint,
}

/// The officer's key: ECDSA on P-256 (SHA-256) or P-384 (SHA-384), what WebCrypto makes
/// non-extractable in every browser.
fn officer_algorithm(officer: &Certificate) -> Result<(ObjectIdentifier, Hash, usize), PkiError> {
    let spki = officer.tbs_certificate().subject_public_key_info();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    match curve {
        Some(SECP_256_R_1) => Ok((ECDSA_WITH_SHA_256, Hash::Sha256, 32)),
        Some(SECP_384_R_1) => Ok((ECDSA_WITH_SHA_384, Hash::Sha384, 48)),
        _ => Err(PkiError::Signature(
            "an officer's key is ECDSA on P-256 or P-384".into(),
        )),
    }
}

/// An ECDSA signature in DER, from DER or from the fixed-size r‖s (IEEE P1363) that WebCrypto
/// gives.
pub fn ecdsa_der(signature: &[u8], field_octets: usize) -> Result<Vec<u8>, PkiError> {
    if let Ok(value) = EcdsaSigValue::from_der(signature)
        && value.to_der()? == signature
    {
        return Ok(signature.to_vec());
    }
    if signature.len() != 2 * field_octets {
        return Err(PkiError::Signature(format!(
            "the signature is neither DER nor {} octets of r‖s",
            2 * field_octets
        )));
    }
    let (r, s) = signature.split_at(field_octets);
    Ok(EcdsaSigValue {
        r: Uint::new(r)?,
        s: Uint::new(s)?,
    }
    .to_der()?)
}

/// Wraps the officer's `signature` over `statement` as CMS SignedData, after checking it with
/// the officer's certificate: a signature that does not verify is refused, never stored.
/// `chain` is the staff CA's certificate and the root.
pub fn wrap_decision(
    statement: &[u8],
    signature: &[u8],
    officer: &Certificate,
    chain: &[Certificate],
) -> Result<Vec<u8>, PkiError> {
    let (oid, hash, field) = officer_algorithm(officer)?;
    let signature = ecdsa_der(signature, field)?;
    let algorithm = AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    };
    verify_signature(officer, &algorithm, statement, &signature)?;
    let tbs = officer.tbs_certificate();
    let signer = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        }),
        digest_alg: hash.identifier(),
        signed_attrs: None,
        signature_algorithm: algorithm,
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    let mut certificates = vec![officer.clone()];
    certificates.extend(chain.iter().cloned());
    Ok(content_info(signer, ID_DATA, Some(statement.to_vec()), &certificates)?.to_der()?)
}

/// Reads a decision back: the statement and the officer's certificate, once the signature over
/// the statement checks out with that certificate. Trust in the certificate is the caller's
/// path check.
pub fn read_decision(der: &[u8]) -> Result<(Vec<u8>, Certificate), PkiError> {
    let signed = parse_signed_data(der)?;
    let [signer] = signed.signer_infos.0.as_slice() else {
        return Err(PkiError::Signature(
            "a decision has exactly one signer".into(),
        ));
    };
    if signer.signed_attrs.is_some() || signed.encap_content_info.econtent_type != ID_DATA {
        return Err(PkiError::Signature(
            "a decision signs its statement directly, as data".into(),
        ));
    }
    let statement = signed
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| PkiError::Signature("the decision holds no statement".into()))?
        .decode_as::<OctetString>()?
        .into_bytes();
    let officer = crate::signed_data::certificates(&signed)
        .into_iter()
        .find(|c| identifies(&signer.sid, c))
        .ok_or_else(|| PkiError::Signature("the officer's certificate is missing".into()))?;
    verify_signature(
        &officer,
        &signer.signature_algorithm,
        &statement,
        signer.signature.as_bytes(),
    )?;
    Ok((statement.into_vec(), officer))
}
