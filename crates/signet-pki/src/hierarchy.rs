//! Certificates of the CA hierarchy (R-CRT-1): the root, issuing CAs below it, and the OCSP
//! responder certificate each issuing CA delegates to.

use const_oid::ObjectIdentifier;
use signet_domain::serial::Serial;
use signet_domain::validity::Period;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::pkix::KeyUsages;
use x509_cert::name::Name;

use crate::PkiError;
use crate::extensions as ext;
use crate::issuance::{Issuer, PreparedCertificate, prepare_with};
use crate::keys::CaSigner;
use crate::name::validity;

/// A self-signed root: basicConstraints cA (no path length limit), keyCertSign + cRLSign.
pub fn root_certificate<'a>(
    signer: &'a CaSigner,
    name: &Name,
    serial: &Serial,
    period: Period,
) -> Result<PreparedCertificate<'a>, PkiError> {
    let extensions = vec![
        ext::basic_constraints(true, None)?,
        ext::key_usage([KeyUsages::KeyCertSign, KeyUsages::CRLSign])?,
    ];
    let validity = validity(period.not_before, period.not_after)?;
    prepare_with(
        signer,
        name.clone(),
        name.clone(),
        serial,
        validity,
        signer.spki().clone(),
        extensions,
    )
}

/// What an issuing CA certificate says besides its name and key.
#[derive(Debug, Clone)]
pub struct IssuingCaProfile {
    /// Certificate policies the CA may issue under.
    pub policies: Vec<String>,
    /// EKUs that constrain the CA (S/MIME BRs require emailProtection for S/MIME CAs).
    pub extended_key_usages: Vec<ObjectIdentifier>,
}

/// An issuing CA signed by `parent`: pathLen 0, keyCertSign + cRLSign, policies, the parent's
/// CRL and certificate URLs.
pub fn issuing_ca_certificate<'a>(
    parent: &'a Issuer,
    spki: &SubjectPublicKeyInfoOwned,
    name: &Name,
    serial: &Serial,
    period: Period,
    profile: &IssuingCaProfile,
) -> Result<PreparedCertificate<'a>, PkiError> {
    let mut extensions = vec![
        ext::basic_constraints(true, Some(0))?,
        ext::key_usage([KeyUsages::KeyCertSign, KeyUsages::CRLSign])?,
        ext::authority_key_identifier(parent.signer().spki())?,
        ext::certificate_policies(&profile.policies)?,
        ext::crl_distribution_point(&parent.urls.crl_url(serial))?,
        ext::authority_info_access(&parent.urls.ca_issuers, parent.urls.ocsp.as_deref())?,
    ];
    if !profile.extended_key_usages.is_empty() {
        extensions.push(ext::extended_key_usage(
            profile.extended_key_usages.clone(),
        )?);
    }
    subordinate(parent, spki, name, serial, period, extensions)
}

/// A delegated OCSP responder (RFC 6960 §4.2.2.2): digitalSignature, id-kp-OCSPSigning and
/// id-pkix-ocsp-nocheck, so relying parties need no revocation check for it.
pub fn ocsp_responder_certificate<'a>(
    issuer: &'a Issuer,
    spki: &SubjectPublicKeyInfoOwned,
    name: &Name,
    serial: &Serial,
    period: Period,
) -> Result<PreparedCertificate<'a>, PkiError> {
    let mut extensions =
        signer_extensions(ext::extended_key_usage(vec![ext::ID_KP_OCSP_SIGNING])?)?;
    extensions.extend([
        ext::ocsp_nocheck()?,
        ext::authority_key_identifier(issuer.signer().spki())?,
        ext::authority_info_access(&issuer.urls.ca_issuers, None)?,
    ]);
    subordinate(issuer, spki, name, serial, period, extensions)
}

/// A time-stamping authority (RFC 3161 §2.3): digitalSignature and id-kp-timeStamping, critical
/// and the only purpose, so the key signs time-stamp tokens and nothing else.
pub fn tsa_certificate<'a>(
    issuer: &'a Issuer,
    spki: &SubjectPublicKeyInfoOwned,
    name: &Name,
    serial: &Serial,
    period: Period,
) -> Result<PreparedCertificate<'a>, PkiError> {
    let mut extensions = signer_extensions(ext::time_stamping_eku()?)?;
    extensions.extend([
        ext::authority_key_identifier(issuer.signer().spki())?,
        ext::crl_distribution_point(&issuer.urls.crl_url(serial))?,
        ext::authority_info_access(&issuer.urls.ca_issuers, issuer.urls.ocsp.as_deref())?,
    ]);
    subordinate(issuer, spki, name, serial, period, extensions)
}

/// An officer's staff certificate (issue 15): not a CA, digitalSignature only, clientAuth and
/// the decision-signing purpose, the officer's mailbox as rfc822Name, and the staff CA's
/// policies, CRL and OCSP pointers, so that relying parties check it like any certificate.
#[allow(clippy::too_many_arguments)]
pub fn staff_certificate<'a>(
    issuer: &'a Issuer,
    spki: &SubjectPublicKeyInfoOwned,
    name: &Name,
    email: &str,
    policies: &[String],
    serial: &Serial,
    period: Period,
) -> Result<PreparedCertificate<'a>, PkiError> {
    let decision_signing = ext::parse_oid(signet_domain::signing_key::DECISION_SIGNING_OID)?;
    let mut extensions = signer_extensions(ext::extended_key_usage(vec![
        ext::parse_oid(signet_domain::profile::ExtendedKeyUsage::ClientAuth.oid())?,
        decision_signing,
    ])?)?;
    extensions.extend([
        ext::certificate_policies(policies)?,
        ext::subject_alt_email(email)?,
        ext::authority_key_identifier(issuer.signer().spki())?,
        ext::crl_distribution_point(&issuer.urls.crl_url(serial))?,
        ext::authority_info_access(&issuer.urls.ca_issuers, issuer.urls.ocsp.as_deref())?,
    ]);
    subordinate(issuer, spki, name, serial, period, extensions)
}

/// What a certificate that signs one kind of thing (OCSP responses, time-stamp tokens, decisions)
/// starts
/// with: not a CA, digitalSignature only, and the one purpose.
fn signer_extensions(
    purpose: x509_cert::ext::Extension,
) -> Result<Vec<x509_cert::ext::Extension>, PkiError> {
    Ok(vec![
        ext::basic_constraints(false, None)?,
        ext::key_usage([KeyUsages::DigitalSignature])?,
        purpose,
    ])
}

fn subordinate<'a>(
    parent: &'a Issuer,
    spki: &SubjectPublicKeyInfoOwned,
    name: &Name,
    serial: &Serial,
    period: Period,
    extensions: Vec<x509_cert::ext::Extension>,
) -> Result<PreparedCertificate<'a>, PkiError> {
    let validity = validity(period.not_before, period.not_after)?;
    prepare_with(
        parent.signer(),
        name.clone(),
        parent.subject().clone(),
        serial,
        validity,
        spki.clone(),
        extensions,
    )
}
