//! Time-stamp protocol (RFC 3161, with the ESS signing-certificate-v2 attribute of RFC 5816):
//! requests parsed and checked, tokens signed by the TSA's key through [`KeyBackend`] (a file or
//! a PKCS#11 token), and rejections as unsigned responses whose failure bits say why.
//!
//! No maintained crate carries these types on the der 0.8 / x509-cert 0.3 / cms 0.3 stack Signet
//! uses (`x509-tsp` 0.1 is on der 0.7; its successor is unreleased), so they are declared here
//! from the RFCs' ASN.1 with der's derive; CMS `SignedData` itself comes from `cms`.

use cms::content_info::ContentInfo;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc3161::ID_CT_TST_INFO;
use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNING_TIME};
use der::asn1::{BitString, GeneralizedTime, Int, OctetString};
use der::{Any, Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::time::Time;

use crate::PkiError;
use crate::keys::KeyBackend;
use crate::signed_data::{
    Hash, SigningKey, attribute, content_info, signer_info, signing_certificate_v2,
};

/// Largest request accepted: a request is a hash and a few small fields.
pub const MAX_REQUEST_BYTES: usize = 4096;

/// MessageImprint: the hash of the data to be time-stamped, and its algorithm.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct MessageImprint {
    /// The hash algorithm.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// The hash.
    pub hashed_message: OctetString,
}

/// TimeStampReq (RFC 3161 §2.4.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampReq {
    /// Must be 1.
    pub version: u8,
    /// What to time-stamp.
    pub message_imprint: MessageImprint,
    /// The policy the requester wants; the TSA's own when absent.
    #[asn1(optional = "true")]
    pub req_policy: Option<ObjectIdentifier>,
    /// Echoed in the token, so the requester can match it to the request.
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    /// Whether the token carries the TSA's certificate.
    #[asn1(default = "Default::default")]
    pub cert_req: bool,
    /// Request extensions (none are supported).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// Accuracy of the time in a token.
#[derive(Clone, Debug, Default, Eq, PartialEq, Sequence)]
pub struct Accuracy {
    /// Whole seconds.
    #[asn1(optional = "true")]
    pub seconds: Option<u32>,
    /// Milliseconds, 1 to 999.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub millis: Option<u16>,
    /// Microseconds, 1 to 999.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub micros: Option<u16>,
}

/// TSTInfo (RFC 3161 §2.4.2): what the TSA signs.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TstInfo {
    /// 1.
    pub version: u8,
    /// The TSA policy under which the token was made.
    pub policy: ObjectIdentifier,
    /// The request's imprint, unchanged.
    pub message_imprint: MessageImprint,
    /// Unique for every token the TSA issues.
    pub serial_number: Int,
    /// When the token was made (UTC).
    pub gen_time: GeneralizedTime,
    /// How far `gen_time` may be off.
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    /// Whether tokens can be ordered by `gen_time` alone.
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    /// The request's nonce, unchanged.
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    /// The TSA's name.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
    /// Token extensions.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// PKIStatusInfo (RFC 3161 §2.4.2, from RFC 4210).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiStatusInfo {
    /// 0 granted, 2 rejection (Signet answers with these two).
    pub status: u8,
    /// Why, in words.
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<String>>,
    /// Why, as one [`FailureInfo`] bit.
    #[asn1(optional = "true")]
    pub fail_info: Option<BitString>,
}

/// TimeStampResp: a status, and the token when granted.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampResp {
    /// Granted or refused, and why.
    pub status: PkiStatusInfo,
    /// The token: CMS `SignedData` over a [`TstInfo`].
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<ContentInfo>,
}

/// Why a request was rejected: the PKIFailureInfo bit (RFC 3161 §2.4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureInfo {
    /// The hash algorithm is not one Signet accepts.
    BadAlg = 0,
    /// The request is empty or too large.
    BadRequest = 2,
    /// The request cannot be read, or its hash has the wrong length.
    BadDataFormat = 5,
    /// The requested policy is not the TSA's.
    UnacceptedPolicy = 15,
    /// The request has an extension.
    UnacceptedExtension = 16,
    /// The TSA could not make the token now (its store or key failed).
    SystemFailure = 25,
}

/// A rejection: which bit, and the text that goes with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The failure bit.
    pub failure: FailureInfo,
    /// What the requester is told.
    pub text: &'static str,
}

fn reject(failure: FailureInfo, text: &'static str) -> Rejection {
    Rejection { failure, text }
}

/// A request the TSA will answer with a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeStampRequest {
    imprint: MessageImprint,
    nonce: Option<Int>,
    cert_req: bool,
}

impl TimeStampRequest {
    /// Signet's own request for a token over `data` (SHA-256 imprint, the TSA's certificate
    /// included), as when it time-stamps an officer's signature.
    pub fn over(data: &[u8]) -> TimeStampRequest {
        TimeStampRequest {
            imprint: MessageImprint {
                hash_algorithm: Hash::Sha256.identifier(),
                hashed_message: OctetString::new(Hash::Sha256.digest(data))
                    .unwrap_or_else(|_| unreachable!("a SHA-256 digest is 32 octets")),
            },
            nonce: None,
            cert_req: true,
        }
    }

    /// Reads and checks a DER `TimeStampReq` against the TSA's policy; a problem is a
    /// [`Rejection`] with the failure bit OpenSSL's TSA would give for it.
    pub fn parse(der: &[u8], policy: &ObjectIdentifier) -> Result<TimeStampRequest, Rejection> {
        if der.is_empty() || der.len() > MAX_REQUEST_BYTES {
            return Err(reject(
                FailureInfo::BadRequest,
                "the request is empty or larger than 4096 bytes",
            ));
        }
        let req = TimeStampReq::from_der(der).map_err(|_| {
            reject(
                FailureInfo::BadDataFormat,
                "the request is not a DER TimeStampReq (RFC 3161)",
            )
        })?;
        if req.version != 1 {
            return Err(reject(
                FailureInfo::BadDataFormat,
                "unsupported request version: use 1",
            ));
        }
        let algorithm = &req.message_imprint.hash_algorithm;
        let hash = Hash::from_oid(&algorithm.oid).ok_or_else(|| {
            reject(
                FailureInfo::BadAlg,
                "unsupported hash algorithm: use SHA-256, SHA-384 or SHA-512",
            )
        })?;
        if algorithm
            .parameters
            .as_ref()
            .is_some_and(|p| *p != Any::null())
        {
            return Err(reject(
                FailureInfo::BadAlg,
                "the hash algorithm carries parameters it does not have",
            ));
        }
        if req.message_imprint.hashed_message.as_bytes().len() != hash.algorithm().output_len() {
            return Err(reject(
                FailureInfo::BadDataFormat,
                "the hash has the wrong length for its algorithm",
            ));
        }
        if req.req_policy.is_some_and(|p| p != *policy) {
            return Err(reject(
                FailureInfo::UnacceptedPolicy,
                "the requested policy is not this TSA's",
            ));
        }
        if req.extensions.is_some_and(|e| !e.is_empty()) {
            return Err(reject(
                FailureInfo::UnacceptedExtension,
                "request extensions are not supported",
            ));
        }
        Ok(TimeStampRequest {
            imprint: req.message_imprint,
            nonce: req.nonce,
            cert_req: req.cert_req,
        })
    }
}

/// The one-bit BIT STRING of a failure, DER-minimal (trailing zero bits left out).
fn failure_bits(failure: FailureInfo) -> Option<BitString> {
    let bit = failure as usize;
    let mut bytes = vec![0u8; bit / 8 + 1];
    bytes[bit / 8] = 0x80 >> (bit % 8);
    BitString::new((7 - bit % 8) as u8, bytes).ok()
}

/// An unsigned rejection (status 2, the failure bit and its text).
pub fn rejection_response(rejection: &Rejection) -> Vec<u8> {
    TimeStampResp {
        status: PkiStatusInfo {
            status: 2,
            status_string: Some(vec![rejection.text.to_owned()]),
            fail_info: failure_bits(rejection.failure),
        },
        time_stamp_token: None,
    }
    .to_der()
    .unwrap_or_default()
}

/// A positive INTEGER's minimal content octets (a leading zero only before a high bit).
fn positive_integer(n: u64) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let first = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len() - 1);
    let mut octets = bytes[first..].to_vec();
    if octets[0] & 0x80 != 0 {
        octets.insert(0, 0);
    }
    octets
}

/// The TSA: its key, its certificate and chain, and what every token repeats, prepared once.
#[derive(Debug)]
pub struct TimeStampAuthority {
    key: std::sync::Arc<dyn KeyBackend>,
    certificate: Certificate,
    certificates: Vec<Certificate>,
    signing_certificate: Attribute,
    policy: ObjectIdentifier,
}

impl TimeStampAuthority {
    /// Prepares the TSA. `chain` is the rest of the path up to, not including, the root.
    pub fn new(
        key: std::sync::Arc<dyn KeyBackend>,
        certificate_der: &[u8],
        chain_der: &[Vec<u8>],
        policy: ObjectIdentifier,
    ) -> Result<TimeStampAuthority, PkiError> {
        let certificate = Certificate::from_der(certificate_der)?;
        let mut certificates = vec![certificate.clone()];
        for c in chain_der {
            certificates.push(Certificate::from_der(c)?);
        }
        let signing_certificate = signing_certificate_v2(&certificate)?;
        Ok(TimeStampAuthority {
            key,
            certificate,
            certificates,
            signing_certificate,
            policy,
        })
    }

    /// The TSA's certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The TSA policy its tokens carry.
    pub fn policy(&self) -> &ObjectIdentifier {
        &self.policy
    }

    /// Signs a token for an accepted request: `serial` unique per token, `now` its time
    /// (whole seconds, accuracy 1 s). Returns the DER `TimeStampResp` with status granted.
    pub fn grant(
        &self,
        request: TimeStampRequest,
        serial: u64,
        now: OffsetDateTime,
    ) -> Result<Vec<u8>, PkiError> {
        Ok(TimeStampResp {
            status: PkiStatusInfo {
                status: 0,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: Some(self.token(request, serial, now)?),
        }
        .to_der()?)
    }

    /// The time-stamp token itself (a CMS `ContentInfo`), for Signet's own use: see
    /// [`TimeStampAuthority::grant`].
    pub fn token(
        &self,
        request: TimeStampRequest,
        serial: u64,
        now: OffsetDateTime,
    ) -> Result<ContentInfo, PkiError> {
        let now = now
            .replace_nanosecond(0)
            .map_err(|e| PkiError::Build(e.to_string()))?;
        let system_time = std::time::SystemTime::from(now);
        let tst = TstInfo {
            version: 1,
            policy: self.policy,
            message_imprint: request.imprint,
            serial_number: Int::new(&positive_integer(serial))?,
            gen_time: GeneralizedTime::from_system_time(system_time)?,
            accuracy: Some(Accuracy {
                seconds: Some(1),
                ..Default::default()
            }),
            ordering: false,
            nonce: request.nonce,
            tsa: Some(GeneralName::DirectoryName(
                self.certificate.tbs_certificate().subject().clone(),
            )),
            extensions: None,
        };
        let tst_der = tst.to_der()?;
        let signer = signer_info(
            &self.key,
            &self.certificate,
            vec![
                attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_CT_TST_INFO)?)?,
                attribute(
                    ID_SIGNING_TIME,
                    Any::encode_from(&Time::try_from(system_time)?)?,
                )?,
                attribute(
                    ID_MESSAGE_DIGEST,
                    Any::encode_from(&OctetString::new(self.key.hash().digest(&tst_der))?)?,
                )?,
                self.signing_certificate.clone(),
            ],
        )?;
        let certificates = if request.cert_req {
            &self.certificates[..]
        } else {
            &[]
        };
        content_info(signer, ID_CT_TST_INFO, Some(tst_der), certificates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use const_oid::db::rfc5912::ID_SHA_256;

    #[test]
    fn serials_are_minimal_positive_integers() {
        assert_eq!(positive_integer(0), [0]);
        assert_eq!(positive_integer(1), [1]);
        assert_eq!(positive_integer(0x80), [0, 0x80]);
        assert_eq!(positive_integer(0x1234), [0x12, 0x34]);
        assert_eq!(positive_integer(u64::MAX)[0], 0);
    }

    #[test]
    fn failure_bits_are_der_minimal() {
        // The same bytes OpenSSL's TSA writes for these failures.
        let der = |f| failure_bits(f).expect("bits").to_der().expect("der");
        assert_eq!(der(FailureInfo::BadAlg), [0x03, 0x02, 0x07, 0x80]);
        assert_eq!(der(FailureInfo::BadDataFormat), [0x03, 0x02, 0x02, 0x04]);
        assert_eq!(
            der(FailureInfo::UnacceptedPolicy),
            [0x03, 0x03, 0x00, 0x00, 0x01]
        );
    }

    #[test]
    fn bad_requests_are_rejected_with_their_reason() {
        let policy = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.32473.7.9");
        let cases: [(&[u8], FailureInfo); 3] = [
            (&[], FailureInfo::BadRequest),
            (b"not DER at all", FailureInfo::BadDataFormat),
            (&[0u8; 5000], FailureInfo::BadRequest),
        ];
        for (der, failure) in cases {
            let r = TimeStampRequest::parse(der, &policy).expect_err("rejected");
            assert_eq!(r.failure, failure);
            let resp = TimeStampResp::from_der(&rejection_response(&r)).expect("response");
            assert_eq!(resp.status.status, 2);
            assert!(resp.time_stamp_token.is_none());
        }
        let imprint = |oid, len| MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid,
                parameters: None,
            },
            hashed_message: OctetString::new(vec![7u8; len]).expect("octets"),
        };
        let request = |imprint, req_policy| {
            TimeStampReq {
                version: 1,
                message_imprint: imprint,
                req_policy,
                nonce: None,
                cert_req: true,
                extensions: None,
            }
            .to_der()
            .expect("der")
        };
        let sha1 = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
        let other = ObjectIdentifier::new_unwrap("1.2.3.4");
        for (der, failure) in [
            (request(imprint(sha1, 20), None), FailureInfo::BadAlg),
            (
                request(imprint(ID_SHA_256, 20), None),
                FailureInfo::BadDataFormat,
            ),
            (
                request(imprint(ID_SHA_256, 32), Some(other)),
                FailureInfo::UnacceptedPolicy,
            ),
        ] {
            assert_eq!(
                TimeStampRequest::parse(&der, &policy).map_err(|r| r.failure),
                Err(failure)
            );
        }
        assert!(
            TimeStampRequest::parse(&request(imprint(ID_SHA_256, 32), Some(policy)), &policy)
                .is_ok()
        );
    }
}
