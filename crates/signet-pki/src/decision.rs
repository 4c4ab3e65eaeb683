//! An officer's signed decision as CMS SignedData (issue 15, item 3): the canonical statement
//! encapsulated, the officer's own signature over it (no signed attributes, so that a browser's
//! WebCrypto or `openssl dgst -sign` makes it without knowing CMS), and the officer's
//! certificate with its chain, and a time-stamp token over the signature when the CA has a TSA.
//! `openssl cms -verify` checks the result against the staff CA.

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc3161::ID_AA_TIME_STAMP_TOKEN;
use const_oid::db::rfc5911::ID_DATA;
use const_oid::db::rfc5912::{ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, SECP_256_R_1, SECP_384_R_1};
use der::asn1::{OctetString, SetOfVec, Uint};
use der::{Any, Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;

use crate::PkiError;
use crate::signed_data::{
    Hash, attribute, check_signer, content_info, find_attribute, identifies, parse_signed_data,
    verify_signature,
};
use crate::tsp::TstInfo;

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

/// An officer's signature over a statement, checked with the officer's certificate: ready to be
/// time-stamped and wrapped. A signature that does not verify never gets this far.
#[derive(Debug, Clone)]
pub struct CheckedDecision {
    statement: Vec<u8>,
    signature: Vec<u8>,
    algorithm: AlgorithmIdentifierOwned,
    hash: Hash,
    officer: Certificate,
}

/// Checks the officer's `signature` (DER, or WebCrypto's r‖s) over `statement` with the
/// officer's certificate.
pub fn check_decision(
    statement: &[u8],
    signature: &[u8],
    officer: &Certificate,
) -> Result<CheckedDecision, PkiError> {
    let (oid, hash, field) = officer_algorithm(officer)?;
    let signature = ecdsa_der(signature, field)?;
    let algorithm = AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    };
    verify_signature(officer, &algorithm, statement, &signature)?;
    Ok(CheckedDecision {
        statement: statement.to_vec(),
        signature,
        algorithm,
        hash,
        officer: officer.clone(),
    })
}

impl CheckedDecision {
    /// The signature in DER: what a signature time-stamp covers.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The decision as CMS SignedData: the statement encapsulated, the officer's signature, the
    /// officer's certificate and `chain` (the staff CA's certificate and the root), and the
    /// TSA's token over the signature as the id-aa-signatureTimeStampToken unsigned attribute.
    pub fn wrap(
        self,
        chain: &[Certificate],
        time_stamp: Option<ContentInfo>,
    ) -> Result<Vec<u8>, PkiError> {
        let tbs = self.officer.tbs_certificate();
        let unsigned_attrs = match time_stamp {
            Some(token) => Some(SetOfVec::try_from(vec![attribute(
                ID_AA_TIME_STAMP_TOKEN,
                Any::encode_from(&token)?,
            )?])?),
            None => None,
        };
        let signer = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tbs.issuer().clone(),
                serial_number: tbs.serial_number().clone(),
            }),
            digest_alg: self.hash.identifier(),
            signed_attrs: None,
            signature_algorithm: self.algorithm,
            signature: OctetString::new(self.signature)?,
            unsigned_attrs,
        };
        let mut certificates = vec![self.officer];
        certificates.extend(chain.iter().cloned());
        Ok(content_info(signer, ID_DATA, Some(self.statement), &certificates)?.to_der()?)
    }
}

/// [`check_decision`] and [`CheckedDecision::wrap`] without a time-stamp.
pub fn wrap_decision(
    statement: &[u8],
    signature: &[u8],
    officer: &Certificate,
    chain: &[Certificate],
) -> Result<Vec<u8>, PkiError> {
    check_decision(statement, signature, officer)?.wrap(chain, None)
}

/// A decision read back and checked.
#[derive(Debug, Clone)]
pub struct ReadDecision {
    /// The signed octets: the canonical statement.
    pub statement: Vec<u8>,
    /// The officer's certificate, whose key made the signature. Trust in it is the caller's
    /// path check.
    pub officer: Certificate,
    /// The time-stamp token's time, when the decision carries one; its TSA signature and its
    /// imprint over the officer's signature were checked.
    pub time_stamped_at: Option<time::OffsetDateTime>,
    /// The TSA's certificate, when there is a token.
    pub time_stamp_authority: Option<Certificate>,
}

/// Reads a decision back: the statement and the officer's certificate, once the signature over
/// the statement checks out with that certificate, and the time-stamp token, once it checks out
/// over that signature.
pub fn read_decision(der: &[u8]) -> Result<ReadDecision, PkiError> {
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
    let (time_stamped_at, time_stamp_authority) =
        match find_attribute(signer.unsigned_attrs.as_ref(), ID_AA_TIME_STAMP_TOKEN) {
            None => (None, None),
            Some(token) => {
                let (at, tsa) = check_time_stamp(&token.to_der()?, signer.signature.as_bytes())?;
                (Some(at), Some(tsa))
            }
        };
    Ok(ReadDecision {
        statement: statement.into_vec(),
        officer,
        time_stamped_at,
        time_stamp_authority,
    })
}

/// Checks a time-stamp token over `signature`: the TSA's signature, and the imprint.
fn check_time_stamp(
    token: &[u8],
    signature: &[u8],
) -> Result<(time::OffsetDateTime, Certificate), PkiError> {
    let bad = |why: &str| PkiError::Signature(format!("the decision's time-stamp token {why}"));
    let signed = parse_signed_data(token)?;
    let checked = check_signer(&signed, &[], None)?;
    let content = signed
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| bad("holds no TSTInfo"))?
        .decode_as::<OctetString>()?;
    let info = TstInfo::from_der(content.as_bytes())?;
    let hash = Hash::from_oid(&info.message_imprint.hash_algorithm.oid)
        .ok_or_else(|| bad("uses a hash other than SHA-2"))?;
    if info.message_imprint.hashed_message.as_bytes() != hash.digest(signature).as_slice() {
        return Err(bad("is over something other than the officer's signature"));
    }
    let at = time::OffsetDateTime::from(info.gen_time.to_system_time());
    Ok((at, checked.certificate))
}
