//! Building X.509 extensions: each helper yields a finished [`Extension`] with the criticality
//! RFC 5280 and the Baseline Requirements ask for.

use aws_lc_rs::digest;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::{ID_AD_CA_ISSUERS, ID_AD_OCSP};
use const_oid::db::rfc5912::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_CERTIFICATE_POLICIES,
    ID_CE_CRL_DISTRIBUTION_POINTS, ID_CE_EXT_KEY_USAGE, ID_CE_KEY_USAGE, ID_CE_SUBJECT_ALT_NAME,
    ID_CE_SUBJECT_KEY_IDENTIFIER, ID_PE_AUTHORITY_INFO_ACCESS,
};
use der::Encode;
use der::asn1::{Ia5String, Null, OctetString};
use signet_domain::profile::KeyUsage as DomainKeyUsage;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CertificatePolicies, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName,
};

use crate::PkiError;

/// id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1).
pub const ID_PKIX_OCSP_NOCHECK: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.5");
/// id-kp-OCSPSigning.
pub const ID_KP_OCSP_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");

fn extension(
    oid: ObjectIdentifier,
    critical: bool,
    value: &impl Encode,
) -> Result<Extension, PkiError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// RFC 7093 §2 method 1: the leftmost 160 bits of SHA-256 over the subjectPublicKey bits.
pub fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Result<OctetString, PkiError> {
    let hash = digest::digest(&digest::SHA256, spki.subject_public_key.raw_bytes());
    Ok(OctetString::new(&hash.as_ref()[..20])?)
}

/// subjectKeyIdentifier (non-critical) from [`key_identifier`]; every certificate Signet builds
/// carries one.
pub fn subject_key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Result<Extension, PkiError> {
    extension(ID_CE_SUBJECT_KEY_IDENTIFIER, false, &key_identifier(spki)?)
}

/// keyIdentifier only, as the S/MIME BRs require.
pub fn authority_key_identifier(issuer: &SubjectPublicKeyInfoOwned) -> Result<Extension, PkiError> {
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(key_identifier(issuer)?),
        ..Default::default()
    };
    extension(ID_CE_AUTHORITY_KEY_IDENTIFIER, false, &aki)
}

/// basicConstraints, critical: `ca` with an optional pathLenConstraint. The root has no limit,
/// an issuing CA 0, an OCSP responder `ca` false; subscriber certificates carry none.
pub fn basic_constraints(ca: bool, path_len: Option<u8>) -> Result<Extension, PkiError> {
    extension(
        ID_CE_BASIC_CONSTRAINTS,
        true,
        &BasicConstraints {
            ca,
            path_len_constraint: path_len,
        },
    )
}

/// keyUsage, critical, with the given bits set.
pub fn key_usage(flags: impl IntoIterator<Item = KeyUsages>) -> Result<Extension, PkiError> {
    let mut set = der::flagset::FlagSet::<KeyUsages>::default();
    for f in flags {
        set |= f;
    }
    extension(ID_CE_KEY_USAGE, true, &KeyUsage(set))
}

/// The x509-cert flag for a key usage the domain's profile names.
pub fn domain_key_usage(usage: DomainKeyUsage) -> KeyUsages {
    match usage {
        DomainKeyUsage::DigitalSignature => KeyUsages::DigitalSignature,
        DomainKeyUsage::NonRepudiation => KeyUsages::NonRepudiation,
        DomainKeyUsage::KeyEncipherment => KeyUsages::KeyEncipherment,
        DomainKeyUsage::KeyAgreement => KeyUsages::KeyAgreement,
    }
}

/// extKeyUsage, non-critical, with the purposes in the order given.
pub fn extended_key_usage(oids: Vec<ObjectIdentifier>) -> Result<Extension, PkiError> {
    extension(ID_CE_EXT_KEY_USAGE, false, &ExtendedKeyUsage(oids))
}

/// extKeyUsage id-kp-timeStamping, critical and alone: a TSA certificate (RFC 3161 §2.3).
pub fn time_stamping_eku() -> Result<Extension, PkiError> {
    extension(
        ID_CE_EXT_KEY_USAGE,
        true,
        &ExtendedKeyUsage(vec![const_oid::db::rfc5912::ID_KP_TIME_STAMPING]),
    )
}

/// Parses a dotted OID from configuration; a bad one is a [`PkiError::Build`] naming it.
pub fn parse_oid(dotted: &str) -> Result<ObjectIdentifier, PkiError> {
    ObjectIdentifier::new(dotted)
        .map_err(|e| PkiError::Build(format!("object identifier `{dotted}`: {e}")))
}

/// certificatePolicies, non-critical: one PolicyInformation per OID, without qualifiers.
pub fn certificate_policies(oids: &[String]) -> Result<Extension, PkiError> {
    let policies = oids
        .iter()
        .map(|o| {
            Ok(PolicyInformation {
                policy_identifier: parse_oid(o)?,
                policy_qualifiers: None,
            })
        })
        .collect::<Result<Vec<_>, PkiError>>()?;
    extension(
        ID_CE_CERTIFICATE_POLICIES,
        false,
        &CertificatePolicies(policies),
    )
}

fn uri(url: &str) -> Result<GeneralName, PkiError> {
    Ok(GeneralName::UniformResourceIdentifier(Ia5String::new(url)?))
}

/// cRLDistributionPoints, non-critical: one fullName URI, the certificate's CRL shard (R-CRT-6).
pub fn crl_distribution_point(url: &str) -> Result<Extension, PkiError> {
    let dp = DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![uri(url)?])),
        reasons: None,
        crl_issuer: None,
    };
    extension(
        ID_CE_CRL_DISTRIBUTION_POINTS,
        false,
        &CrlDistributionPoints(vec![dp]),
    )
}

/// authorityInfoAccess, non-critical: the OCSP responder (when given) and caIssuers, the issuer
/// certificate's URL (R-CRT-6).
pub fn authority_info_access(ca_issuers: &str, ocsp: Option<&str>) -> Result<Extension, PkiError> {
    let mut access = Vec::new();
    if let Some(ocsp) = ocsp {
        access.push(AccessDescription {
            access_method: ID_AD_OCSP,
            access_location: uri(ocsp)?,
        });
    }
    access.push(AccessDescription {
        access_method: ID_AD_CA_ISSUERS,
        access_location: uri(ca_issuers)?,
    });
    extension(
        ID_PE_AUTHORITY_INFO_ACCESS,
        false,
        &AuthorityInfoAccessSyntax(access),
    )
}

/// subjectAltName, non-critical (the subject is not empty), with one rfc822Name: the approval
/// e-mail (R-ORD-2).
pub fn subject_alt_email(email: &str) -> Result<Extension, PkiError> {
    extension(
        ID_CE_SUBJECT_ALT_NAME,
        false,
        &SubjectAltName(vec![GeneralName::Rfc822Name(Ia5String::new(email)?)]),
    )
}

/// id-pkix-ocsp-nocheck, non-critical: relying parties do not check an OCSP responder
/// certificate's own revocation (R-CRT-1).
pub fn ocsp_nocheck() -> Result<Extension, PkiError> {
    extension(ID_PKIX_OCSP_NOCHECK, false, &Null)
}
