//! Checking signatures made by this crate or anyone else: the CMS itself (digest, signature,
//! signing-certificate binding), the signature time-stamp, and for PDFs what each signature
//! covers and which level the file reaches. Trust (a path to a root) and revocation status are
//! judged by the caller, who knows which roots to trust.

use const_oid::db::rfc3161::ID_AA_TIME_STAMP_TOKEN;
use const_oid::db::rfc5911::ID_SIGNING_TIME;
use der::{Decode, Encode};
use signet_pki::signed_data::{Hash, check_signer, find_attribute, parse_signed_data};
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::time::Time;

use crate::credentials::order_chain;
use crate::timestamp::{self, Stamp};
use crate::{Level, SignError};

/// One signature that checked out cryptographically.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The PDF field's name (none for a `.p7s`).
    pub field: Option<String>,
    /// The signer (a TSA for a document time-stamp).
    pub signer: Certificate,
    /// The signer's certificate and the chain above it, as far as the signature carries it.
    pub path: Vec<Certificate>,
    /// The time the signer claims (signing-time attribute, or a PDF's `/M`), as written.
    pub claimed_time: Option<String>,
    /// The signature time-stamp, checked.
    pub time_stamp: Option<Stamp>,
    /// A document time-stamp rather than a signer's signature.
    pub document_time_stamp: bool,
    /// For a PDF: whether the signature covers the whole file (nothing appended after it).
    pub covers_whole_file: bool,
    /// The highest baseline level reached.
    pub level: Level,
}

fn signature_time_stamp(
    signer_info: &cms::signed_data::SignerInfo,
    hash: Hash,
) -> Result<Option<Stamp>, SignError> {
    let Some(token) = find_attribute(signer_info.unsigned_attrs.as_ref(), ID_AA_TIME_STAMP_TOKEN)
    else {
        return Ok(None);
    };
    let _ = hash;
    let value = signer_info.signature.as_bytes().to_vec();
    timestamp::check(&token.to_der()?, &|h| h.digest(&value)).map(Some)
}

fn signing_time(signer_info: &cms::signed_data::SignerInfo) -> Option<String> {
    let time = find_attribute(signer_info.signed_attrs.as_ref(), ID_SIGNING_TIME)?
        .decode_as::<Time>()
        .ok()?;
    let at = OffsetDateTime::from(time.to_system_time());
    Some(
        at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    )
}

/// Checks a detached CMS signature (DER or PEM `.p7s`) over `data`.
pub fn detached(data: &[u8], p7s: &[u8]) -> Result<Checked, SignError> {
    let der = match signet_pki::pem_decode(p7s) {
        Ok((_, der)) => der,
        Err(_) => p7s.to_vec(),
    };
    let signed = parse_signed_data(&der).map_err(|e| {
        SignError::NotSigned(format!("the signature file is not a CMS signature: {e}"))
    })?;
    let signer = check_signer(&signed, &[], Some(&|h: Hash| h.digest(data)))?;
    let time_stamp = signature_time_stamp(&signer.signer_info, signer.hash)?;
    let chain = order_chain(
        &signer.certificate,
        signet_pki::signed_data::certificates(&signed),
    );
    Ok(Checked {
        field: None,
        path: std::iter::once(signer.certificate.clone())
            .chain(chain)
            .collect(),
        claimed_time: signing_time(&signer.signer_info),
        level: if time_stamp.is_some() {
            Level::BT
        } else {
            Level::BB
        },
        time_stamp,
        signer: signer.certificate,
        document_time_stamp: false,
        covers_whole_file: true,
    })
}

/// Checks every signature in a PDF; the list is empty for an unsigned PDF. The first
/// signature that does not check out is the error.
pub fn pdf(pdf: &[u8]) -> Result<Vec<Checked>, SignError> {
    pdf_each(pdf)?
        .into_iter()
        .map(|(_, checked)| checked)
        .collect()
}

/// A signature found in a PDF, and what checking it gave.
pub type Found = (crate::pades::EmbeddedSignature, Result<Checked, SignError>);

/// Checks every signature in a PDF, each on its own: a damaged one does not hide the others.
pub fn pdf_each(pdf: &[u8]) -> Result<Vec<Found>, SignError> {
    let embedded = crate::pades::signatures(pdf)?;
    let has_dss = crate::pades::has_dss(pdf)?;
    // The end of what the last document time-stamp covers: signatures before it are archived.
    let archived_until = embedded
        .iter()
        .filter(|s| s.document_time_stamp)
        .map(|s| s.byte_range.last().map_or(0, |(at, len)| at + len))
        .max();
    Ok(embedded
        .into_iter()
        .map(|signature| {
            let checked = one(pdf, &signature, has_dss, archived_until);
            (signature, checked)
        })
        .collect())
}

fn one(
    pdf: &[u8],
    signature: &crate::pades::EmbeddedSignature,
    has_dss: bool,
    archived_until: Option<usize>,
) -> Result<Checked, SignError> {
    if !signature.well_formed {
        return Err(SignError::NotSigned(
            "its byte range leaves more of the file unsigned than the signature value itself"
                .into(),
        ));
    }
    let end = signature.end();
    let signed = parse_signed_data(&signature.contents).map_err(|e| {
        SignError::NotSigned(format!(
            "the signature in field {} cannot be read: {e}",
            signature.field
        ))
    })?;
    if signature.document_time_stamp {
        let stamp = timestamp::check(&signature.contents, &|h| signature.digest(pdf, h))?;
        return Ok(Checked {
            field: Some(signature.field.clone()),
            signer: stamp.tsa.clone(),
            path: stamp.path.clone(),
            claimed_time: None,
            time_stamp: Some(stamp),
            document_time_stamp: true,
            covers_whole_file: signature.covers_whole_file,
            level: Level::BLTA,
        });
    }
    let signer = check_signer(&signed, &[], Some(&|h: Hash| signature.digest(pdf, h)))?;
    let time_stamp = signature_time_stamp(&signer.signer_info, signer.hash)?;
    let mut level = if time_stamp.is_some() {
        Level::BT
    } else {
        Level::BB
    };
    if level == Level::BT && has_dss && !signature.covers_whole_file {
        level = Level::BLT;
        if archived_until.is_some_and(|until| until > end) {
            level = Level::BLTA;
        }
    }
    let chain = order_chain(
        &signer.certificate,
        signet_pki::signed_data::certificates(&signed),
    );
    Ok(Checked {
        field: Some(signature.field.clone()),
        path: std::iter::once(signer.certificate.clone())
            .chain(chain)
            .collect(),
        claimed_time: signature.claimed_time.clone(),
        time_stamp,
        signer: signer.certificate,
        document_time_stamp: false,
        covers_whole_file: signature.covers_whole_file,
        level,
    })
}

/// Reads a certificate given as DER or PEM.
pub fn certificate(bytes: &[u8]) -> Result<Certificate, SignError> {
    let der = match signet_pki::pem_decode(bytes) {
        Ok((_, der)) => der,
        Err(_) => bytes.to_vec(),
    };
    Ok(Certificate::from_der(&der)?)
}
