//! CMS `SignedData` (RFC 5652) as Signet signs it: time-stamp tokens for the TSA and document
//! signatures (CAdES / PAdES) for subscribers share one way to build signed attributes, sign
//! them and wrap the result, and one way to check such a signature.

use std::sync::Arc;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self as sig, UnparsedPublicKey};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::{ID_AA_SIGNING_CERTIFICATE_V_2, ID_DATA, ID_SIGNED_DATA};
use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_SHA_256, ID_SHA_384, ID_SHA_512,
    RSA_ENCRYPTION, SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION,
    SHA_512_WITH_RSA_ENCRYPTION,
};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use signet_domain::key::CaKeyAlgorithm;
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::name::{GeneralName, GeneralNames};
use x509_cert::serial_number::SerialNumber;

use crate::PkiError;
use crate::keys::{KeyBackend, signature_algorithm};

/// The hash algorithms Signet signs and accepts: SHA-2 only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Hash {
    /// The hash an algorithm identifier names, if it is one Signet accepts.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Hash> {
        match *oid {
            ID_SHA_256 => Some(Hash::Sha256),
            ID_SHA_384 => Some(Hash::Sha384),
            ID_SHA_512 => Some(Hash::Sha512),
            _ => None,
        }
    }

    pub(crate) fn algorithm(self) -> &'static digest::Algorithm {
        match self {
            Hash::Sha256 => &digest::SHA256,
            Hash::Sha384 => &digest::SHA384,
            Hash::Sha512 => &digest::SHA512,
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        digest::digest(self.algorithm(), data).as_ref().to_vec()
    }

    /// The digest of several pieces, as if concatenated (a PDF's byte range).
    pub fn digest_parts(self, parts: &[&[u8]]) -> Vec<u8> {
        let mut context = digest::Context::new(self.algorithm());
        for part in parts {
            context.update(part);
        }
        context.finish().as_ref().to_vec()
    }

    /// The algorithm identifier, with the NULL parameters most verifiers expect.
    pub fn identifier(self) -> AlgorithmIdentifierOwned {
        let oid = match self {
            Hash::Sha256 => ID_SHA_256,
            Hash::Sha384 => ID_SHA_384,
            Hash::Sha512 => ID_SHA_512,
        };
        AlgorithmIdentifierOwned {
            oid,
            parameters: Some(Any::null()),
        }
    }
}

/// A key that signs CMS signed attributes: a CA key backend or a subscriber's own key.
pub trait SigningKey: std::fmt::Debug {
    /// The signature over `message`, as it goes into `SignerInfo.signature`.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError>;
    /// The signature algorithm identifier.
    fn signature_algorithm(&self) -> AlgorithmIdentifierOwned;
    /// The hash the signature algorithm uses; the message digest uses the same.
    fn hash(&self) -> Hash;
}

impl SigningKey for Arc<dyn KeyBackend> {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError> {
        KeyBackend::sign(self.as_ref(), message)
    }

    fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        signature_algorithm(self.algorithm())
    }

    fn hash(&self) -> Hash {
        match self.algorithm() {
            CaKeyAlgorithm::EcP384 => Hash::Sha384,
            _ => Hash::Sha256,
        }
    }
}

/// IssuerSerial (RFC 5035).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    /// The certificate's issuer.
    pub issuer: GeneralNames,
    /// The certificate's serial.
    pub serial_number: SerialNumber,
}

/// ESSCertIDv2 (RFC 5035): a certificate named by its hash.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    /// Absent for SHA-256, the DEFAULT (DER leaves a default value out).
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    /// The hash of the whole certificate.
    pub cert_hash: OctetString,
    /// The certificate's issuer and serial.
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// SigningCertificateV2 (RFC 5035): binds the signature to the signer's certificate.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    /// The signer's certificate first.
    pub certs: Vec<EssCertIdV2>,
    /// Policies (none).
    #[asn1(optional = "true")]
    pub policies: Option<Vec<PolicyInformation>>,
}

/// An attribute with one value.
pub fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, PkiError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// The value of the first attribute with `oid`, if present.
pub fn find_attribute(
    attributes: Option<&SetOfVec<Attribute>>,
    oid: ObjectIdentifier,
) -> Option<&Any> {
    attributes?
        .iter()
        .find(|a| a.oid == oid)
        .and_then(|a| a.values.iter().next())
}

/// The ESS signing-certificate-v2 attribute for `certificate` (SHA-256, with issuer and serial).
pub fn signing_certificate_v2(certificate: &Certificate) -> Result<Attribute, PkiError> {
    let tbs = certificate.tbs_certificate();
    let id = EssCertIdV2 {
        hash_algorithm: None,
        cert_hash: OctetString::new(Hash::Sha256.digest(&certificate.to_der()?))?,
        issuer_serial: Some(IssuerSerial {
            issuer: vec![GeneralName::DirectoryName(tbs.issuer().clone())],
            serial_number: tbs.serial_number().clone(),
        }),
    };
    attribute(
        ID_AA_SIGNING_CERTIFICATE_V_2,
        Any::encode_from(&SigningCertificateV2 {
            certs: vec![id],
            policies: None,
        })?,
    )
}

/// Signs `attributes` with `key` for the holder of `certificate`.
pub fn signer_info(
    key: &dyn SigningKey,
    certificate: &Certificate,
    attributes: Vec<Attribute>,
) -> Result<SignerInfo, PkiError> {
    let signed_attributes = SetOfVec::try_from(attributes)?;
    // RFC 5652 §5.4: the signature covers the DER of the SET OF, not of the [0] it sits in.
    let signature = key.sign(&signed_attributes.to_der()?)?;
    let tbs = certificate.tbs_certificate();
    Ok(SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        }),
        digest_alg: key.hash().identifier(),
        signed_attrs: Some(signed_attributes),
        signature_algorithm: key.signature_algorithm(),
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    })
}

/// Wraps one signer into a `ContentInfo`: `content` encapsulated when given, detached otherwise;
/// `certificates` the signer's first, then the rest of its chain.
pub fn content_info(
    signer: SignerInfo,
    content_type: ObjectIdentifier,
    content: Option<Vec<u8>>,
    certificates: &[Certificate],
) -> Result<ContentInfo, PkiError> {
    let certificates = if certificates.is_empty() {
        None
    } else {
        Some(CertificateSet::try_from(
            certificates
                .iter()
                .cloned()
                .map(CertificateChoices::Certificate)
                .collect::<Vec<_>>(),
        )?)
    };
    let signed_data = SignedData {
        version: CmsVersion::V3,
        digest_algorithms: SetOfVec::try_from(vec![signer.digest_alg.clone()])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: content_type,
            econtent: content
                .map(|c| Any::new(der::Tag::OctetString, c))
                .transpose()?,
        },
        certificates,
        crls: None,
        signer_infos: SignerInfos::try_from(vec![signer])?,
    };
    Ok(ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data)?,
    })
}

/// The `SignedData` inside a `ContentInfo`'s DER.
pub fn parse_signed_data(der: &[u8]) -> Result<SignedData, PkiError> {
    let info = ContentInfo::from_der(der)?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(PkiError::Signature(format!(
            "the CMS content is {}, not signed data",
            info.content_type
        )));
    }
    Ok(info.content.decode_as::<SignedData>()?)
}

/// The certificates a `SignedData` carries, in the order given.
pub fn certificates(signed: &SignedData) -> Vec<Certificate> {
    signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(cert) => Some(cert.clone()),
            _ => None,
        })
        .collect()
}

/// Whether `certificate` is the one a signer identifier names.
pub fn identifies(sid: &SignerIdentifier, certificate: &Certificate) -> bool {
    let tbs = certificate.tbs_certificate();
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(id) => {
            id.issuer == *tbs.issuer() && id.serial_number == *tbs.serial_number()
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => tbs
            .get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
            .ok()
            .flatten()
            .is_some_and(|(_, own)| own == *ski),
    }
}

/// Checks a signature made with the key of `signer` (RSA PKCS#1 v1.5 or ECDSA, SHA-2).
pub fn verify_signature(
    signer: &Certificate,
    algorithm: &AlgorithmIdentifierOwned,
    message: &[u8],
    signature: &[u8],
) -> Result<(), PkiError> {
    let spki = signer.tbs_certificate().subject_public_key_info();
    let is_rsa = spki.algorithm.oid == RSA_ENCRYPTION;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    let p384 = curve == Some(const_oid::db::rfc5912::SECP_384_R_1);
    let verifier: &dyn sig::VerificationAlgorithm = match (algorithm.oid, is_rsa) {
        (SHA_256_WITH_RSA_ENCRYPTION, true) => &sig::RSA_PKCS1_2048_8192_SHA256,
        (SHA_384_WITH_RSA_ENCRYPTION, true) => &sig::RSA_PKCS1_2048_8192_SHA384,
        (SHA_512_WITH_RSA_ENCRYPTION, true) => &sig::RSA_PKCS1_2048_8192_SHA512,
        (ECDSA_WITH_SHA_256, false) if p384 => &sig::ECDSA_P384_SHA256_ASN1,
        (ECDSA_WITH_SHA_256, false) => &sig::ECDSA_P256_SHA256_ASN1,
        (ECDSA_WITH_SHA_384, false) if p384 => &sig::ECDSA_P384_SHA384_ASN1,
        (ECDSA_WITH_SHA_384, false) => &sig::ECDSA_P256_SHA384_ASN1,
        (ECDSA_WITH_SHA_512, false) if p384 => &sig::ECDSA_P384_SHA512_ASN1,
        (oid, _) => {
            return Err(PkiError::Signature(format!(
                "the signature algorithm {oid} does not match the signer's key or is not supported"
            )));
        }
    };
    UnparsedPublicKey::new(verifier, spki.subject_public_key.raw_bytes())
        .verify(message, signature)
        .map_err(|_| PkiError::Signature("it does not verify with the signer's public key".into()))
}

/// A signer whose signature checked out, with what the check found.
#[derive(Debug, Clone)]
pub struct CheckedSigner {
    /// The signer's certificate, found in the `SignedData` (or among `extra` certificates).
    pub certificate: Certificate,
    /// The signer info as signed (its signed attributes, signature and unsigned attributes).
    pub signer_info: SignerInfo,
    /// The hash of the message digest.
    pub hash: Hash,
}

/// Checks the one signer of `signed`: the message digest against the content (encapsulated, or
/// hashed by `detached` when the signature is detached), the content type, the signature over
/// the signed attributes, and the ESS signing-certificate-v2 binding when present. Says nothing
/// about trust: that is the caller's path check.
pub fn check_signer(
    signed: &SignedData,
    extra: &[Certificate],
    detached: Option<&dyn Fn(Hash) -> Vec<u8>>,
) -> Result<CheckedSigner, PkiError> {
    let bad = |why: &str| PkiError::Signature(why.to_owned());
    let mut signers = signed.signer_infos.0.iter();
    let signer_info = match (signers.next(), signers.next()) {
        (Some(one), None) => one.clone(),
        (None, _) => return Err(bad("it has no signer")),
        (Some(_), Some(_)) => return Err(bad("it has more than one signer")),
    };
    let hash = Hash::from_oid(&signer_info.digest_alg.oid).ok_or_else(|| {
        bad(&format!(
            "its digest algorithm {} is not SHA-256, SHA-384 or SHA-512",
            signer_info.digest_alg.oid
        ))
    })?;
    let certificate = certificates(signed)
        .into_iter()
        .chain(extra.iter().cloned())
        .find(|c| identifies(&signer_info.sid, c))
        .ok_or_else(|| bad("the signer's certificate is not included"))?;
    let attributes = signer_info
        .signed_attrs
        .as_ref()
        .ok_or_else(|| bad("it has no signed attributes"))?;
    let content_type = find_attribute(Some(attributes), const_oid::db::rfc5911::ID_CONTENT_TYPE)
        .and_then(|v| v.decode_as::<ObjectIdentifier>().ok())
        .ok_or_else(|| bad("it has no content-type attribute"))?;
    if content_type != signed.encap_content_info.econtent_type {
        return Err(bad("its content-type attribute does not match the content"));
    }
    let digest = match (&signed.encap_content_info.econtent, detached) {
        // A document signature must cover the document: one that carries content of its own
        // (an S/MIME message, a time-stamp token) vouches for that content, not for this file.
        (Some(_), Some(_)) => {
            return Err(bad(
                "it carries content of its own instead of covering this document",
            ));
        }
        (None, Some(_)) if signed.encap_content_info.econtent_type != ID_DATA => {
            return Err(bad(
                "it is not a signature over document data (its content type is not id-data)",
            ));
        }
        (Some(content), None) => hash.digest(content.value()),
        (None, Some(detached)) => detached(hash),
        (None, None) => return Err(bad("it is detached and no content was given")),
    };
    let claimed = find_attribute(Some(attributes), const_oid::db::rfc5911::ID_MESSAGE_DIGEST)
        .and_then(|v| v.decode_as::<OctetString>().ok())
        .ok_or_else(|| bad("it has no message-digest attribute"))?;
    if claimed.as_bytes() != digest.as_slice() {
        return Err(bad(
            "the content was changed after signing (its digest differs from the signed one)",
        ));
    }
    // CMS lets RSA signers name the key algorithm alone, the hash being the digest algorithm's
    // (RFC 5754 §3.2; OpenSSL's default).
    let algorithm = if signer_info.signature_algorithm.oid == RSA_ENCRYPTION {
        AlgorithmIdentifierOwned {
            oid: match hash {
                Hash::Sha256 => SHA_256_WITH_RSA_ENCRYPTION,
                Hash::Sha384 => SHA_384_WITH_RSA_ENCRYPTION,
                Hash::Sha512 => SHA_512_WITH_RSA_ENCRYPTION,
            },
            parameters: Some(Any::null()),
        }
    } else {
        signer_info.signature_algorithm.clone()
    };
    verify_signature(
        &certificate,
        &algorithm,
        &attributes.to_der()?,
        signer_info.signature.as_bytes(),
    )?;
    if let Some(value) = find_attribute(Some(attributes), ID_AA_SIGNING_CERTIFICATE_V_2) {
        let bound = value.decode_as::<SigningCertificateV2>()?;
        let first = bound
            .certs
            .first()
            .ok_or_else(|| bad("its signing-certificate-v2 attribute is empty"))?;
        let hash_of_cert = match &first.hash_algorithm {
            None => Hash::Sha256,
            Some(a) => Hash::from_oid(&a.oid)
                .ok_or_else(|| bad("its signing-certificate-v2 hash is not SHA-2"))?,
        };
        if first.cert_hash.as_bytes() != hash_of_cert.digest(&certificate.to_der()?).as_slice() {
            return Err(bad(
                "its signing-certificate-v2 attribute names another certificate than the signer's",
            ));
        }
    }
    Ok(CheckedSigner {
        certificate,
        signer_info,
        hash,
    })
}

/// Checks that `issuer` signed `certificate`: the issuer name matches and the signature verifies
/// with the issuer's key.
pub fn verify_issued_by(certificate: &Certificate, issuer: &Certificate) -> Result<(), PkiError> {
    if certificate.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
        return Err(PkiError::Signature(
            "the certificate names another issuer".into(),
        ));
    }
    let signature = certificate
        .signature()
        .as_bytes()
        .ok_or_else(|| PkiError::Signature("the certificate's signature has unused bits".into()))?;
    verify_signature(
        issuer,
        certificate.signature_algorithm(),
        &certificate.tbs_certificate().to_der()?,
        signature,
    )
}
