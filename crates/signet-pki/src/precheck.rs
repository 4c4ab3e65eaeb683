//! The pre-issuance check: decode the to-be-signed certificate that is about to be signed and
//! check it against the plan and the rules, so that a bug in encoding never reaches a signature.

use std::collections::BTreeSet;

use const_oid::db::rfc5280::{ID_AD_CA_ISSUERS, ID_AD_OCSP};
use const_oid::db::rfc5912::{
    ANY_EXTENDED_KEY_USAGE, ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS,
    ID_CE_CERTIFICATE_POLICIES, ID_CE_CRL_DISTRIBUTION_POINTS, ID_CE_EXT_KEY_USAGE,
    ID_CE_KEY_USAGE, ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_KEY_IDENTIFIER, ID_KP_CODE_SIGNING,
    ID_KP_SERVER_AUTH, ID_KP_TIME_STAMPING, ID_PE_AUTHORITY_INFO_ACCESS,
};
use der::Decode;
use signet_domain::key::CaKeyAlgorithm;
use signet_domain::plan::CertificatePlan;
use signet_domain::serial::Serial;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies,
    CrlDistributionPoints, ExtendedKeyUsage, KeyUsage,
};
use x509_cert::name::Name;
use x509_cert::time::Time;

use crate::PkiError;
use crate::csr::SubscriberKey;
use crate::extensions::{ID_KP_OCSP_SIGNING, domain_key_usage, key_identifier, parse_oid};
use crate::keys::signature_algorithm;
use crate::name::subject_name;

/// What the check needs to know about the issuer.
#[derive(Debug)]
pub struct IssuerFacts<'a> {
    /// The issuer's subject name: the TBS's issuer must equal it.
    pub name: &'a Name,
    /// The issuer's public key: the authorityKeyIdentifier must be derived from it.
    pub spki: &'a SubjectPublicKeyInfoOwned,
    /// The issuer key's algorithm: the TBS's signature algorithm must be the one it implies.
    pub algorithm: CaKeyAlgorithm,
}

fn unix(t: &Time) -> i64 {
    t.to_unix_duration().as_secs() as i64
}

fn is_http(uri: &GeneralName) -> bool {
    matches!(uri, GeneralName::UniformResourceIdentifier(u) if u.as_str().starts_with("http://"))
}

/// Checks the DER of a to-be-signed subscriber certificate. Lists every problem found.
pub fn check_tbs(
    tbs_der: &[u8],
    plan: &CertificatePlan,
    serial: &Serial,
    key: &SubscriberKey,
    issuer: &IssuerFacts<'_>,
) -> Result<(), PkiError> {
    let tbs = TbsCertificate::from_der(tbs_der)?;
    let mut problems: Vec<String> = Vec::new();
    let mut require = |ok: bool, what: &str| {
        if !ok {
            problems.push(what.to_owned());
        }
    };

    require(tbs.version() == Version::V3, "version is not v3");
    let serial_octets = tbs.serial_number().as_bytes();
    require(
        serial_octets == serial.as_der_integer(),
        "serial differs from the reserved serial",
    );
    require(
        (8..=20).contains(&serial_octets.len()) && serial_octets[0] & 0x80 == 0,
        "serial must be positive, 64 to 160 bits",
    );
    require(
        *tbs.signature() == signature_algorithm(issuer.algorithm),
        "signature algorithm does not match the issuer key",
    );
    require(
        tbs.issuer() == issuer.name,
        "issuer name differs from the issuing CA's subject",
    );

    let (nb, na) = (
        unix(&tbs.validity().not_before),
        unix(&tbs.validity().not_after),
    );
    require(
        nb == plan.period.not_before.unix_timestamp(),
        "notBefore differs from the plan",
    );
    require(
        na == plan.period.not_after.unix_timestamp(),
        "notAfter differs from the plan",
    );
    require(na > nb, "notAfter is not after notBefore");
    require(
        na <= plan.latest_not_after.unix_timestamp(),
        "validity exceeds the product or profile maximum",
    );

    require(
        subject_name(&plan.subject).is_ok_and(|n| &n == tbs.subject()),
        "subject differs from the vetted identity",
    );
    require(tbs.subject().iter().count() > 0, "subject is empty");
    require(
        tbs.subject_public_key_info() == &key.spki,
        "public key differs from the checked subscriber key",
    );

    let extensions: &[Extension] = tbs.extensions().map(Vec::as_slice).unwrap_or(&[]);
    let mut seen = BTreeSet::new();
    for e in extensions {
        require(
            seen.insert(e.extn_id),
            &format!("extension {} appears twice", e.extn_id),
        );
    }
    let find = |oid| extensions.iter().find(|e| e.extn_id == oid);
    let decode = |oid, name: &str, problems: &mut Vec<String>| -> Option<&Extension> {
        let found = find(oid);
        if found.is_none() {
            problems.push(format!("{name} extension missing"));
        }
        found
    };
    let mut missing = Vec::new();
    let ku = decode(ID_CE_KEY_USAGE, "keyUsage", &mut missing);
    let eku = decode(ID_CE_EXT_KEY_USAGE, "extKeyUsage", &mut missing);
    let cp = decode(
        ID_CE_CERTIFICATE_POLICIES,
        "certificatePolicies",
        &mut missing,
    );
    let san = decode(ID_CE_SUBJECT_ALT_NAME, "subjectAltName", &mut missing);
    let cdp = decode(
        ID_CE_CRL_DISTRIBUTION_POINTS,
        "cRLDistributionPoints",
        &mut missing,
    );
    let aia = decode(
        ID_PE_AUTHORITY_INFO_ACCESS,
        "authorityInfoAccess",
        &mut missing,
    );
    let aki = decode(
        ID_CE_AUTHORITY_KEY_IDENTIFIER,
        "authorityKeyIdentifier",
        &mut missing,
    );
    let _ = decode(
        ID_CE_SUBJECT_KEY_IDENTIFIER,
        "subjectKeyIdentifier",
        &mut missing,
    );
    problems.extend(missing);
    let mut require = |ok: bool, what: &str| {
        if !ok {
            problems.push(what.to_owned());
        }
    };

    if let Some(e) = ku {
        let expected = plan
            .key_usage
            .iter()
            .fold(der::flagset::FlagSet::default(), |s, u| {
                s | domain_key_usage(*u)
            });
        let value = KeyUsage::from_der(e.extn_value.as_bytes()).ok();
        require(e.critical, "keyUsage must be critical");
        require(
            value.is_some_and(|v| v.0 == expected),
            "keyUsage bits differ from the profile",
        );
    }
    if let Some(e) = eku {
        let value = ExtendedKeyUsage::from_der(e.extn_value.as_bytes())
            .map(|v| v.0)
            .unwrap_or_default();
        let forbidden = [
            ID_KP_SERVER_AUTH,
            ID_KP_CODE_SIGNING,
            ID_KP_TIME_STAMPING,
            ID_KP_OCSP_SIGNING,
            ANY_EXTENDED_KEY_USAGE,
        ];
        require(
            !value.iter().any(|o| forbidden.contains(o)),
            "extKeyUsage carries a forbidden purpose",
        );
        let expected: Vec<_> = plan
            .extended_key_usages
            .iter()
            .filter_map(|e| parse_oid(e.oid()).ok())
            .collect();
        require(value == expected, "extKeyUsage differs from the profile");
    }
    if let Some(e) = cp {
        let value = CertificatePolicies::from_der(e.extn_value.as_bytes())
            .map(|v| v.0)
            .unwrap_or_default();
        let oids: Vec<String> = value
            .iter()
            .map(|p| p.policy_identifier.to_string())
            .collect();
        require(
            oids == plan.policies,
            "certificatePolicies differ from the profile",
        );
    }
    if let Some(e) = san {
        let value = SubjectAltName::from_der(e.extn_value.as_bytes())
            .map(|v| v.0)
            .unwrap_or_default();
        let ok =
            matches!(value.as_slice(), [GeneralName::Rfc822Name(m)] if m.as_str() == plan.email);
        require(
            ok,
            "subjectAltName must hold exactly the vetted e-mail address",
        );
    }
    if let Some(e) = cdp {
        let value = CrlDistributionPoints::from_der(e.extn_value.as_bytes())
            .map(|v| v.0)
            .unwrap_or_default();
        let ok = value.iter().any(|dp| {
            matches!(&dp.distribution_point, Some(DistributionPointName::FullName(names)) if names.iter().any(is_http))
        });
        require(ok, "cRLDistributionPoints needs an http:// URL");
    }
    if let Some(e) = aia {
        let value = AuthorityInfoAccessSyntax::from_der(e.extn_value.as_bytes())
            .map(|v| v.0)
            .unwrap_or_default();
        let has = |m| {
            value
                .iter()
                .any(|a| a.access_method == m && is_http(&a.access_location))
        };
        require(
            has(ID_AD_CA_ISSUERS),
            "authorityInfoAccess needs an http:// caIssuers URL",
        );
        require(
            value
                .iter()
                .all(|a| [ID_AD_CA_ISSUERS, ID_AD_OCSP].contains(&a.access_method)),
            "authorityInfoAccess has an unknown method",
        );
    }
    if let Some(e) = aki {
        let value = AuthorityKeyIdentifier::from_der(e.extn_value.as_bytes()).ok();
        let ok = value.is_some_and(|v| {
            v.key_identifier == key_identifier(issuer.spki).ok()
                && v.authority_cert_issuer.is_none()
                && v.authority_cert_serial_number.is_none()
        });
        require(
            ok,
            "authorityKeyIdentifier must be the issuer's key identifier only",
        );
    }
    if let Some(e) = find(ID_CE_BASIC_CONSTRAINTS) {
        require(
            BasicConstraints::from_der(e.extn_value.as_bytes()).is_ok_and(|b| !b.ca),
            "a subscriber certificate must not be a CA",
        );
    }
    let known = [
        ID_CE_KEY_USAGE,
        ID_CE_EXT_KEY_USAGE,
        ID_CE_CERTIFICATE_POLICIES,
        ID_CE_SUBJECT_ALT_NAME,
        ID_CE_CRL_DISTRIBUTION_POINTS,
        ID_PE_AUTHORITY_INFO_ACCESS,
        ID_CE_AUTHORITY_KEY_IDENTIFIER,
        ID_CE_SUBJECT_KEY_IDENTIFIER,
        ID_CE_BASIC_CONSTRAINTS,
    ];
    for e in extensions {
        require(
            known.contains(&e.extn_id),
            &format!("unexpected extension {}", e.extn_id),
        );
    }

    if problems.is_empty() {
        Ok(())
    } else {
        Err(PkiError::PreIssuanceCheck(problems.join("; ")))
    }
}
