//! CRL encoding and signing. The TbsCertList is assembled here rather than with x509-cert's
//! CrlBuilder, which writes the issuer certificate's own AKI (pointing at the wrong key for an
//! intermediate's CRL).

use const_oid::db::rfc5912::{
    ID_CE_CRL_NUMBER, ID_CE_CRL_REASONS, ID_CE_ISSUING_DISTRIBUTION_POINT,
};
use der::asn1::{Ia5String, Uint};
use der::{Decode, Encode};
use signet_domain::serial::Serial;
use time::OffsetDateTime;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::CrlNumber;
use x509_cert::ext::pkix::crl::CrlReason;
use x509_cert::ext::pkix::crl::dp::IssuingDistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::serial_number::SerialNumber;

use crate::PkiError;
use crate::extensions::authority_key_identifier;
use crate::issuance::Issuer;
use crate::keys::signature_algorithm;
use crate::name::x509_time;
use crate::public_key::verify;

/// One revoked certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlEntry {
    pub serial: Serial,
    pub revoked_at: OffsetDateTime,
    /// RFC 5280 CRLReason code; `None` (or 0, unspecified) writes no reasonCode, as the BRs require.
    pub reason_code: Option<u8>,
}

/// Which certificates a CRL covers (its issuingDistributionPoint scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrlScope {
    /// Subscriber certificates of an issuing CA.
    UserCerts,
    /// CA certificates signed by the root.
    CaCerts,
}

fn reason(code: u8) -> Option<CrlReason> {
    Some(match code {
        1 => CrlReason::KeyCompromise,
        2 => CrlReason::CaCompromise,
        3 => CrlReason::AffiliationChanged,
        4 => CrlReason::Superseded,
        5 => CrlReason::CessationOfOperation,
        9 => CrlReason::PrivilegeWithdrawn,
        _ => return None,
    })
}

fn ext(
    oid: const_oid::ObjectIdentifier,
    critical: bool,
    value: &impl Encode,
) -> Result<Extension, PkiError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: der::asn1::OctetString::new(value.to_der()?)?,
    })
}

/// Signs a CRL shard: AKI of the issuer's key, CRL number, an issuingDistributionPoint naming
/// the shard's URL (the one written into the certificates' CDP) and its scope.
pub fn sign_crl(
    issuer: &Issuer,
    number: u64,
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    distribution_point: &str,
    scope: CrlScope,
    entries: &[CrlEntry],
) -> Result<Vec<u8>, PkiError> {
    let signer = issuer.signer();
    let revoked = entries
        .iter()
        .map(|e| {
            let extensions = match e.reason_code.and_then(reason) {
                Some(r) => Some(vec![ext(ID_CE_CRL_REASONS, false, &r)?]),
                None => None,
            };
            Ok(RevokedCert {
                serial_number: SerialNumber::<x509_cert::certificate::Rfc5280>::new(
                    e.serial.as_der_integer(),
                )?,
                revocation_date: x509_time(e.revoked_at)?,
                crl_entry_extensions: extensions,
            })
        })
        .collect::<Result<Vec<_>, PkiError>>()?;
    let idp = IssuingDistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![
            GeneralName::UniformResourceIdentifier(Ia5String::new(distribution_point)?),
        ])),
        only_contains_user_certs: scope == CrlScope::UserCerts,
        only_contains_ca_certs: scope == CrlScope::CaCerts,
        only_some_reasons: None,
        indirect_crl: false,
        only_contains_attribute_certs: false,
    };
    let tbs = TbsCertList {
        version: x509_cert::Version::V2,
        signature: signature_algorithm(signer.algorithm()),
        issuer: issuer.subject().clone(),
        this_update: x509_time(this_update)?,
        next_update: Some(x509_time(next_update)?),
        revoked_certificates: (!revoked.is_empty()).then_some(revoked),
        crl_extensions: Some(vec![
            authority_key_identifier(signer.spki())?,
            ext(
                ID_CE_CRL_NUMBER,
                false,
                &CrlNumber(Uint::new(&number.to_be_bytes())?),
            )?,
            ext(ID_CE_ISSUING_DISTRIBUTION_POINT, true, &idp)?,
        ]),
    };
    let tbs_der = tbs.to_der()?;
    let signature = signer.sign_to_bitstring(&tbs_der)?;
    let crl = CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: signature_algorithm(signer.algorithm()),
        signature,
    };
    let der = crl.to_der()?;
    // Check what we publish: it decodes and its signature verifies with the issuer key.
    let parsed = CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&der)?;
    let sig = parsed
        .signature
        .as_bytes()
        .ok_or(PkiError::SelfCheckFailed)?;
    match verify(signer.spki(), parsed.signature_algorithm.oid, &tbs_der, sig) {
        Ok(true) => Ok(der),
        _ => Err(PkiError::SelfCheckFailed),
    }
}
