//! RFC 3161 time-stamps: asking a TSA for a token over some data, and checking a token.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use const_oid::db::rfc3161::ID_CT_TST_INFO;
use der::asn1::{Int, OctetString};
use der::{Decode, Encode};
use signet_pki::signed_data::{Hash, check_signer, parse_signed_data};
use signet_pki::tsp::{MessageImprint, TimeStampReq, TimeStampResp, TstInfo};
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::SignError;
use crate::network::Fetch;

/// A token that checked out: when, and who stamped.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// The TSA's time.
    pub time: OffsetDateTime,
    /// The TSA's certificate (found in the token).
    pub tsa: Certificate,
    /// The TSA's certificate and the chain above it, as far as the token carries it.
    pub path: Vec<Certificate>,
}

/// Asks the TSA at `url` for a token over data whose `hash` is `digest` and returns the token
/// (a CMS `ContentInfo`, DER) after checking it.
pub fn request(
    fetch: &dyn Fetch,
    url: &str,
    digest: &[u8],
    hash: Hash,
) -> Result<Vec<u8>, SignError> {
    let refused = |problem: String| SignError::TimeStamp {
        url: url.to_owned(),
        problem,
    };
    let mut nonce = [0u8; 8];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| refused("cannot be asked: no randomness for the nonce".into()))?;
    nonce[0] &= 0x7f;
    nonce[0] |= 0x01;
    let nonce = Int::new(&nonce)?;
    let query = TimeStampReq {
        version: 1,
        message_imprint: MessageImprint {
            hash_algorithm: hash.identifier(),
            hashed_message: OctetString::new(digest)?,
        },
        req_policy: None,
        nonce: Some(nonce.clone()),
        cert_req: true,
        extensions: None,
    }
    .to_der()?;
    let reply = fetch.post(url, "application/timestamp-query", &query)?;
    let response = TimeStampResp::from_der(&reply).map_err(|e| {
        refused(format!(
            "answered something that is not a time-stamp reply: {e}"
        ))
    })?;
    if response.status.status > 1 {
        let text = response.status.status_string.unwrap_or_default().join("; ");
        return Err(refused(format!(
            "refused: status {} {text}",
            response.status.status
        )));
    }
    let token = response
        .time_stamp_token
        .ok_or_else(|| refused("granted without a token".into()))?
        .to_der()?;
    check(&token, &|h| {
        if h == hash {
            digest.to_vec()
        } else {
            Vec::new()
        }
    })
    .map_err(|e| refused(format!("sent a token that does not check out: {e}")))?;
    let info = tst_info(&token)?;
    if info.nonce.as_ref() != Some(&nonce) {
        return Err(refused(
            "sent a token for another request (the nonce differs)".into(),
        ));
    }
    Ok(token)
}

fn tst_info(token: &[u8]) -> Result<TstInfo, SignError> {
    let signed = parse_signed_data(token)?;
    if signed.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(SignError::NotSigned("it is not a time-stamp token".into()));
    }
    let content = signed
        .encap_content_info
        .econtent
        .ok_or_else(|| SignError::NotSigned("the time-stamp token has no content".into()))?;
    Ok(TstInfo::from_der(content.value())?)
}

/// Checks a token: the TSA's signature, its imprint of the data (`digest` hashes the data with
/// the token's algorithm), and that the signer's certificate is for time-stamping. Trust in the
/// TSA's certificate is the caller's path check.
pub fn check(token: &[u8], digest: &dyn Fn(Hash) -> Vec<u8>) -> Result<Stamp, SignError> {
    let signed = parse_signed_data(token)?;
    let signer = check_signer(&signed, &[], None)?;
    let info = tst_info(token)?;
    let hash = Hash::from_oid(&info.message_imprint.hash_algorithm.oid)
        .ok_or_else(|| SignError::NotSigned("the time-stamp token's hash is not SHA-2".into()))?;
    if info.message_imprint.hashed_message.as_bytes() != digest(hash).as_slice() {
        return Err(SignError::NotSigned(
            "the time-stamp token is for other data than this signature".into(),
        ));
    }
    let time_stamping = signer
        .certificate
        .tbs_certificate()
        .get_extension::<x509_cert::ext::pkix::ExtendedKeyUsage>()
        .ok()
        .flatten()
        .is_some_and(|(critical, eku)| {
            critical && eku.0.contains(&const_oid::db::rfc5280::ID_KP_TIME_STAMPING)
        });
    if !time_stamping {
        return Err(SignError::NotSigned(
            "the time-stamp token is signed by a certificate that is not a TSA's (no critical timeStamping purpose)".into(),
        ));
    }
    let time =
        OffsetDateTime::from_unix_timestamp(info.gen_time.to_unix_duration().as_secs() as i64)
            .map_err(|e| SignError::NotSigned(format!("the time-stamp is out of range: {e}")))?;
    let chain = crate::credentials::order_chain(
        &signer.certificate,
        signet_pki::signed_data::certificates(&signed),
    );
    Ok(Stamp {
        time,
        path: std::iter::once(signer.certificate.clone())
            .chain(chain)
            .collect(),
        tsa: signer.certificate,
    })
}
