//! CAdES signatures (ETSI EN 319 122-1): CMS `SignedData` over a digest, with the attributes
//! the baseline levels ask for. A detached `.p7s` and a PDF's `/Contents` are both built here.

use std::time::SystemTime;

use const_oid::db::rfc3161::ID_AA_TIME_STAMP_TOKEN;
use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNING_TIME};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode};
use signet_pki::signed_data::{
    SigningKey, attribute, content_info, signer_info, signing_certificate_v2,
};
use x509_cert::time::Time;

use crate::credentials::Credentials;
use crate::network::Fetch;
use crate::{Level, SignError};

/// Where to get signature time-stamps from.
#[derive(Debug, Clone, Copy)]
pub struct Tsa<'a> {
    /// The TSA's URL (RFC 3161 over HTTP).
    pub url: &'a str,
    /// How to reach it.
    pub fetch: &'a dyn Fetch,
}

/// Whether the claimed signing time goes into the CMS: yes for a `.p7s`; for PAdES it must not
/// (ETSI EN 319 142-1 §6.3: the time is the signature dictionary's `/M`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningTime {
    /// A signing-time signed attribute.
    Attribute(SystemTime),
    /// None in the CMS.
    Omitted,
}

/// A detached signature over content whose digest (with the key's hash) is `digest`; with a
/// signature time-stamp from `tsa` at B-T and above.
pub fn signature(
    credentials: &Credentials,
    digest: &[u8],
    signing_time: SigningTime,
    level: Level,
    tsa: Option<Tsa<'_>>,
) -> Result<Vec<u8>, SignError> {
    let mut attributes = vec![
        attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_DATA)?)?,
        attribute(
            ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(digest)?)?,
        )?,
        signing_certificate_v2(credentials.certificate())?,
    ];
    if let SigningTime::Attribute(at) = signing_time {
        attributes.push(attribute(
            ID_SIGNING_TIME,
            Any::encode_from(&Time::try_from(at)?)?,
        )?);
    }
    let mut signer = signer_info(credentials.key(), credentials.certificate(), attributes)?;
    if level >= Level::BT {
        let tsa = tsa.ok_or_else(|| {
            SignError::Usage(format!(
                "level {level} needs a time-stamp authority: give --tsa URL"
            ))
        })?;
        let hash = credentials.key().hash();
        let token = crate::timestamp::request(
            tsa.fetch,
            tsa.url,
            &hash.digest(signer.signature.as_bytes()),
            hash,
        )?;
        signer.unsigned_attrs = Some(SetOfVec::try_from(vec![attribute(
            ID_AA_TIME_STAMP_TOKEN,
            Any::from_der(&token)?,
        )?])?);
    }
    Ok(content_info(signer, ID_DATA, None, &credentials.path())?.to_der()?)
}
