//! OCSP (RFC 6960, RFC 5019 profile): requests parsed and checked, responses signed by the
//! delegated responder. x509-ocsp lives on the der 0.7 / x509-cert 0.2 stack; values cross
//! between the stacks as DER bytes only.

use std::sync::Arc;

use aws_lc_rs::digest;
use const_oid::db::rfc5912::{ID_SHA_1, ID_SHA_256};
use der::Decode as _;
use der07::asn1::{BitString, GeneralizedTime, OctetString};
use der07::{Decode, Encode};
use signet_domain::serial::Serial;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse,
    ResponderId, ResponseData, RevokedInfo, SingleResponse,
};

use crate::PkiError;
use crate::keys::{KeyBackend, signature_algorithm};

/// Largest OCSP request accepted; RFC 5019 requests are a few hundred bytes.
pub const MAX_REQUEST_BYTES: usize = 4096;

/// Hash algorithms a CertID may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertIdHash {
    /// SHA-1: what RFC 5019 §2.1.1 tells clients to use, and what most still send.
    Sha1,
    /// SHA-256, which some newer clients send.
    Sha256,
}

impl CertIdHash {
    fn digest(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            CertIdHash::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            CertIdHash::Sha256 => &digest::SHA256,
        };
        digest::digest(alg, data).as_ref().to_vec()
    }

    fn oid(self) -> &'static str {
        match self {
            CertIdHash::Sha1 => "1.3.14.3.2.26",
            CertIdHash::Sha256 => "2.16.840.1.101.3.4.2.1",
        }
    }
}

/// An issuing CA as OCSP requests name it: hashes of its subject name and public key.
#[derive(Debug, Clone)]
pub struct OcspIssuer {
    /// The issuing CA's name (`class3`, `smime` …): which CA's records answer the request.
    pub name: String,
    /// SHA-1 and SHA-256 of the subject name and the key, computed once.
    hashes: [(CertIdHash, Vec<u8>, Vec<u8>); 2],
}

impl OcspIssuer {
    /// Hashes an issuing CA certificate's subject name and public key with both algorithms, so
    /// that a request's CertID can be matched without hashing per request.
    pub fn new(name: &str, certificate_der: &[u8]) -> Result<OcspIssuer, PkiError> {
        use der::Encode as _;
        let cert = Certificate::from_der(certificate_der)?;
        let tbs = cert.tbs_certificate();
        let subject_der = tbs.subject().to_der()?;
        let key_bits = tbs
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes()
            .to_vec();
        let hashes = [CertIdHash::Sha1, CertIdHash::Sha256]
            .map(|h| (h, h.digest(&subject_der), h.digest(&key_bits)));
        Ok(OcspIssuer {
            name: name.to_owned(),
            hashes,
        })
    }

    /// Whether a request's CertID names this issuer.
    pub fn matches(&self, hash: CertIdHash, name_hash: &[u8], key_hash: &[u8]) -> bool {
        self.hashes
            .iter()
            .any(|(h, n, k)| *h == hash && n == name_hash && k == key_hash)
    }

    fn cert_id(&self, hash: CertIdHash, serial: &Serial) -> Result<CertId, PkiError> {
        let (_, name_hash, key_hash) = self
            .hashes
            .iter()
            .find(|(h, _, _)| *h == hash)
            .ok_or(PkiError::SelfCheckFailed)?;
        Ok(CertId {
            hash_algorithm: spki07::AlgorithmIdentifierOwned {
                oid: der07::oid::ObjectIdentifier::new_unwrap(hash.oid()),
                parameters: Some(der07::asn1::Any::null()),
            },
            issuer_name_hash: OctetString::new(name_hash.as_slice()).map_err(der07_err)?,
            issuer_key_hash: OctetString::new(key_hash.as_slice()).map_err(der07_err)?,
            serial_number: x509_cert02::serial_number::SerialNumber::new(serial.as_der_integer())
                .map_err(der07_err)?,
        })
    }
}

fn der07_err(e: der07::Error) -> PkiError {
    PkiError::Build(format!("the OCSP response: {e}"))
}

/// What a parsed request asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusQuery {
    /// The hash algorithm the request's CertID uses; the response's CertID uses the same.
    pub hash: CertIdHash,
    /// Hash of the issuer's DER-encoded subject name.
    pub issuer_name_hash: Vec<u8>,
    /// Hash of the issuer's subjectPublicKey bits.
    pub issuer_key_hash: Vec<u8>,
    /// DER INTEGER content octets of the serial.
    pub serial: Vec<u8>,
}

/// Why a request gets an OCSP error status instead of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcspRefusal {
    /// Not a well-formed request (or too large, or not exactly one CertID): malformedRequest.
    Malformed,
    /// Not a CA this responder answers for: unauthorized.
    Unauthorized,
}

/// Parses an OCSP request carrying exactly one CertID (RFC 5019 §2.1.1).
pub fn parse_request(der: &[u8]) -> Result<StatusQuery, OcspRefusal> {
    if der.is_empty() || der.len() > MAX_REQUEST_BYTES {
        return Err(OcspRefusal::Malformed);
    }
    let req = OcspRequest::from_der(der).map_err(|_| OcspRefusal::Malformed)?;
    let [single] = req.tbs_request.request_list.as_slice() else {
        return Err(OcspRefusal::Malformed);
    };
    let id = &single.req_cert;
    let hash = match id.hash_algorithm.oid.as_bytes() {
        b if b == ID_SHA_1.as_bytes() => CertIdHash::Sha1,
        b if b == ID_SHA_256.as_bytes() => CertIdHash::Sha256,
        _ => return Err(OcspRefusal::Unauthorized),
    };
    Ok(StatusQuery {
        hash,
        issuer_name_hash: id.issuer_name_hash.as_bytes().to_vec(),
        issuer_key_hash: id.issuer_key_hash.as_bytes().to_vec(),
        serial: id.serial_number.as_bytes().to_vec(),
    })
}

/// The status a response asserts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Issued by this CA, not revoked.
    Good,
    /// Revoked; RFC 5280 reason codes as in the CRL.
    Revoked {
        /// revocationTime: when the revocation was recorded.
        at: OffsetDateTime,
        /// CRLReason code; `None` or 0 (unspecified) writes no revocationReason.
        reason_code: Option<u8>,
    },
    /// A serial this CA never issued: never "good" (S/MIME BRs §4.9.10).
    Unknown,
}

fn gtime(t: OffsetDateTime) -> Result<OcspGeneralizedTime, PkiError> {
    // Certificates, CRLs and OCSP state UTC; a time in another offset is converted first.
    let t = t.to_offset(time::UtcOffset::UTC);
    let year = u16::try_from(t.year())
        .map_err(|_| PkiError::Build(format!("the year {} cannot be encoded", t.year())))?;
    let dt = der07::DateTime::new(
        year,
        t.month().into(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
    .map_err(der07_err)?;
    Ok(OcspGeneralizedTime(GeneralizedTime::from_date_time(dt)))
}

fn crl_reason(code: u8) -> Option<x509_cert02::ext::pkix::crl::CrlReason> {
    use x509_cert02::ext::pkix::crl::CrlReason::*;
    Some(match code {
        1 => KeyCompromise,
        3 => AffiliationChanged,
        4 => Superseded,
        5 => CessationOfOperation,
        9 => PrivilegeWithdrawn,
        _ => return None,
    })
}

/// The delegated responder, prepared once: its certificate (sent in every response), the
/// responder id (SHA-1 of its key) and its key. Signing a response then only encodes and signs.
#[derive(Debug)]
pub struct OcspResponder {
    certificate: x509_cert02::Certificate,
    key_id: OctetString,
    algorithm: spki07::AlgorithmIdentifierOwned,
    key: Arc<dyn KeyBackend>,
}

impl OcspResponder {
    /// Signs a throwaway message: the responder's key (file or HSM) is usable.
    pub fn probe(&self) -> Result<(), PkiError> {
        self.key.sign(b"signet readiness probe").map(|_| ())
    }

    /// Prepares the delegated responder certificate (R-CRT-1) and its key: the responder id is the
    /// SHA-1 of the certificate's key, the signature algorithm follows the key's.
    pub fn new(certificate_der: &[u8], key: Arc<dyn KeyBackend>) -> Result<Self, PkiError> {
        use der::Encode as _;
        let certificate = x509_cert02::Certificate::from_der(certificate_der).map_err(der07_err)?;
        let key_bits = certificate
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes();
        let key_id = OctetString::new(CertIdHash::Sha1.digest(key_bits)).map_err(der07_err)?;
        let alg_der = signature_algorithm(key.algorithm()).to_der()?;
        let algorithm = spki07::AlgorithmIdentifierOwned::from_der(&alg_der).map_err(der07_err)?;
        Ok(OcspResponder {
            certificate,
            key_id,
            algorithm,
            key,
        })
    }
}

/// A signed OCSPResponse (status successful) for one certificate.
pub fn sign_response(
    responder: &OcspResponder,
    issuer: &OcspIssuer,
    hash: CertIdHash,
    serial: &Serial,
    status: Status,
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
) -> Result<Vec<u8>, PkiError> {
    let cert_status = match status {
        Status::Good => CertStatus::good(),
        Status::Unknown => CertStatus::unknown(),
        Status::Revoked { at, reason_code } => CertStatus::revoked(RevokedInfo {
            revocation_time: gtime(at)?,
            revocation_reason: reason_code.and_then(crl_reason),
        }),
    };
    let data = ResponseData {
        version: x509_ocsp::Version::V1,
        responder_id: ResponderId::ByKey(responder.key_id.clone()),
        produced_at: gtime(this_update)?,
        responses: vec![SingleResponse {
            cert_id: issuer.cert_id(hash, serial)?,
            cert_status,
            this_update: gtime(this_update)?,
            next_update: Some(gtime(next_update)?),
            single_extensions: None,
        }],
        response_extensions: None,
    };
    let tbs = data.to_der().map_err(der07_err)?;
    let signature = responder.key.sign(&tbs)?;
    let basic = BasicOcspResponse {
        tbs_response_data: data,
        signature_algorithm: responder.algorithm.clone(),
        signature: BitString::from_bytes(&signature).map_err(der07_err)?,
        certs: Some(vec![responder.certificate.clone()]),
    };
    OcspResponse::successful(basic)
        .and_then(|r| r.to_der())
        .map_err(der07_err)
}

/// An unsigned OCSP error response.
pub fn refusal_response(refusal: OcspRefusal) -> Vec<u8> {
    let response = match refusal {
        OcspRefusal::Malformed => OcspResponse::malformed_request(),
        OcspRefusal::Unauthorized => OcspResponse::unauthorized(),
    };
    response.to_der().unwrap_or_default()
}

/// An internalError response, for failures on our side.
pub fn internal_error_response() -> Vec<u8> {
    OcspResponse::internal_error().to_der().unwrap_or_default()
}

/// A request for the status of `certificate` (RFC 5019: one SHA-1 CertID, no nonce), as a
/// relying party or a signer collecting revocation data sends it.
pub fn status_request(
    certificate: &Certificate,
    issuer: &Certificate,
) -> Result<Vec<u8>, PkiError> {
    use der::Encode as _;
    let serial = certificate
        .tbs_certificate()
        .serial_number()
        .as_bytes()
        .to_vec();
    let named = OcspIssuer::new("issuer", &issuer.to_der()?)?;
    let cert_id = named.cert_id(CertIdHash::Sha1, &Serial::from_der_integer(&serial)?)?;
    OcspRequest {
        tbs_request: x509_ocsp::TbsRequest {
            version: x509_ocsp::Version::V1,
            requestor_name: None,
            request_list: vec![x509_ocsp::Request {
                req_cert: cert_id,
                single_request_extensions: None,
            }],
            request_extensions: None,
        },
        optional_signature: None,
    }
    .to_der()
    .map_err(der07_err)
}

/// What a checked OCSP response says about one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspAnswer {
    /// Good, revoked (when and why) or unknown.
    pub status: Status,
    /// When the status was known to be correct.
    pub this_update: OffsetDateTime,
    /// When newer information will be available, if the responder says.
    pub next_update: Option<OffsetDateTime>,
}

fn from_gtime(t: &OcspGeneralizedTime) -> Result<OffsetDateTime, PkiError> {
    OffsetDateTime::from_unix_timestamp(t.0.to_unix_duration().as_secs() as i64)
        .map_err(|e| PkiError::Signature(format!("an OCSP time is out of range: {e}")))
}

/// Reads an OCSP response about `certificate` and checks it: status successful, the one
/// answer for this certificate, signed by `issuer` itself or by a responder certificate the
/// issuer signed for OCSP signing (RFC 6960 §4.2.2.2).
pub fn read_response(
    der: &[u8],
    certificate: &Certificate,
    issuer: &Certificate,
) -> Result<OcspAnswer, PkiError> {
    let bad = |why: String| PkiError::Signature(format!("the OCSP response {why}"));
    let response = OcspResponse::from_der(der).map_err(|e| bad(format!("cannot be read: {e}")))?;
    if response.response_status != x509_ocsp::OcspResponseStatus::Successful {
        return Err(bad(format!("is an error: {:?}", response.response_status)));
    }
    let bytes = response
        .response_bytes
        .ok_or_else(|| bad("carries no answer".into()))?;
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())
        .map_err(|e| bad(format!("is not a basic response: {e}")))?;
    let tbs = basic.tbs_response_data.to_der().map_err(der07_err)?;
    let algorithm = spki::AlgorithmIdentifierOwned::from_der(
        &basic.signature_algorithm.to_der().map_err(der07_err)?,
    )?;
    let signature = basic
        .signature
        .as_bytes()
        .ok_or_else(|| bad("has a signature with unused bits".into()))?;
    let signed_by_issuer =
        crate::signed_data::verify_signature(issuer, &algorithm, &tbs, signature).is_ok();
    if !signed_by_issuer {
        let delegated = basic
            .certs
            .iter()
            .flatten()
            .filter_map(|c| c.to_der().ok())
            .filter_map(|d| Certificate::from_der(&d).ok())
            .find(|responder| {
                crate::signed_data::verify_signature(responder, &algorithm, &tbs, signature).is_ok()
            })
            .ok_or_else(|| bad("is not signed by the issuer or a responder it names".into()))?;
        crate::signed_data::verify_issued_by(&delegated, issuer).map_err(|_| {
            bad("is signed by a responder certificate the issuer did not sign".into())
        })?;
        let ocsp_signing = delegated
            .tbs_certificate()
            .get_extension::<x509_cert::ext::pkix::ExtendedKeyUsage>()
            .ok()
            .flatten()
            .is_some_and(|(_, eku)| eku.0.contains(&const_oid::db::rfc5280::ID_KP_OCSP_SIGNING));
        if !ocsp_signing {
            return Err(bad(
                "is signed by a certificate without the OCSP signing purpose".into(),
            ));
        }
    }
    let serial = certificate.tbs_certificate().serial_number().as_bytes();
    let single = basic
        .tbs_response_data
        .responses
        .iter()
        .find(|r| r.cert_id.serial_number.as_bytes() == serial)
        .ok_or_else(|| bad("does not answer for this certificate".into()))?;
    let status = match &single.cert_status {
        CertStatus::Good(_) => Status::Good,
        CertStatus::Unknown(_) => Status::Unknown,
        CertStatus::Revoked(info) => Status::Revoked {
            at: from_gtime(&info.revocation_time)?,
            reason_code: info.revocation_reason.map(|r| r as u8),
        },
    };
    Ok(OcspAnswer {
        status,
        this_update: from_gtime(&single.this_update)?,
        next_update: single.next_update.as_ref().map(from_gtime).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_malformed_never_a_panic() {
        let mut seed: u64 = 0x9e3779b97f4a7c15;
        for len in 0..300 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            assert!(parse_request(&bytes).is_err());
        }
        assert_eq!(
            parse_request(&vec![0x30; MAX_REQUEST_BYTES + 1]),
            Err(OcspRefusal::Malformed)
        );
        assert!(!refusal_response(OcspRefusal::Malformed).is_empty());
    }
}
