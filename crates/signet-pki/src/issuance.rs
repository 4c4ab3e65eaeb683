//! Issuing subscriber certificates: prepare (build and check the to-be-signed certificate), then
//! issue (sign once). A [`PreparedCertificate`] is not `Clone` and `issue` consumes it.

use der::{Decode, Encode};
use signet_domain::plan::CertificatePlan;
use signet_domain::serial::Serial;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

use crate::PkiError;
use crate::csr::SubscriberKey;
use crate::extensions as ext;
use crate::keys::CaSigner;
use crate::name::{subject_name, validity};
use crate::precheck::{IssuerFacts, check_tbs};
use crate::public_key::verify;

/// The URLs written into certificates an issuer signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerUrls {
    /// HTTP URL prefix of this issuer's CRL shards: shard N is at `{crl_base}/N.crl`.
    pub crl_base: String,
    /// Number of CRL shards; a certificate's shard is fixed at issuance from its serial.
    pub crl_shards: u32,
    /// HTTP URL of the issuer certificate (DER).
    pub ca_issuers: String,
    /// OCSP responder URL, when the issuer has one.
    pub ocsp: Option<String>,
}

impl IssuerUrls {
    /// The CRL shard URL written into the certificate with this serial.
    pub fn crl_url(&self, serial: &Serial) -> String {
        self.shard_url(signet_domain::crl::shard_of(serial, self.crl_shards))
    }

    /// The URL of CRL shard `shard` (0-based): `{crl_base}/{shard}.crl`.
    pub fn shard_url(&self, shard: u32) -> String {
        format!("{}/{shard}.crl", self.crl_base)
    }
}

/// A CA certificate with its signing key and URLs.
#[derive(Debug)]
pub struct Issuer {
    /// The CA's name in configuration and the store: `root`, `class3`, `smime` …
    pub name: String,
    /// The CA certificate, decoded.
    pub certificate: Certificate,
    /// The CA certificate as published in the repository and sent in chains.
    pub certificate_der: Vec<u8>,
    /// What certificates signed by this CA point to.
    pub urls: IssuerUrls,
    signer: CaSigner,
}

impl Issuer {
    /// Pairs a certificate with its key; refuses if the key is not the certificate's.
    pub fn new(
        name: &str,
        certificate_der: Vec<u8>,
        signer: CaSigner,
        urls: IssuerUrls,
    ) -> Result<Issuer, PkiError> {
        let certificate = Certificate::from_der(&certificate_der)?;
        if certificate.tbs_certificate().subject_public_key_info() != signer.spki() {
            return Err(PkiError::Key(format!(
                "the key for `{name}` does not match its certificate"
            )));
        }
        Ok(Issuer {
            name: name.to_owned(),
            certificate,
            certificate_der,
            urls,
            signer,
        })
    }

    /// The CA's subject name: the issuer name of everything it signs.
    pub fn subject(&self) -> &Name {
        self.certificate.tbs_certificate().subject()
    }

    /// The CA's signing key.
    pub fn signer(&self) -> &CaSigner {
        &self.signer
    }

    /// Builds the to-be-signed certificate for `plan` and runs the pre-issuance check on it.
    pub fn prepare(
        &self,
        plan: &CertificatePlan,
        serial: &Serial,
        key: &SubscriberKey,
    ) -> Result<PreparedCertificate<'_>, PkiError> {
        if plan.issuer != self.name {
            return Err(PkiError::PreIssuanceCheck(format!(
                "the plan is for issuer `{}`, not `{}`",
                plan.issuer, self.name
            )));
        }
        let ekus = plan
            .extended_key_usages
            .iter()
            .map(|e| ext::parse_oid(e.oid()))
            .collect::<Result<Vec<_>, _>>()?;
        let extensions = vec![
            ext::key_usage(plan.key_usage.iter().map(|u| ext::domain_key_usage(*u)))?,
            ext::extended_key_usage(ekus)?,
            ext::certificate_policies(&plan.policies)?,
            ext::subject_alt_email(&plan.email)?,
            ext::crl_distribution_point(&self.urls.crl_url(serial))?,
            ext::authority_info_access(&self.urls.ca_issuers, self.urls.ocsp.as_deref())?,
            ext::authority_key_identifier(self.signer.spki())?,
        ];
        let subject = subject_name(&plan.subject)?;
        let period = validity(plan.period.not_before, plan.period.not_after)?;
        let (builder, tbs_der) = build_tbs(
            &self.signer,
            subject,
            self.subject().clone(),
            serial,
            period,
            key.spki.clone(),
            extensions,
        )?;
        let facts = IssuerFacts {
            name: self.subject(),
            spki: self.signer.spki(),
            algorithm: self.signer.algorithm(),
        };
        check_tbs(&tbs_der, plan, serial, key, &facts)?;
        Ok(PreparedCertificate {
            signer: &self.signer,
            builder,
            tbs_der,
        })
    }
}

/// A checked, not yet signed certificate. Signing it consumes it.
pub struct PreparedCertificate<'a> {
    signer: &'a CaSigner,
    builder: CertificateBuilder<FixedProfile>,
    tbs_der: Vec<u8>,
}

impl std::fmt::Debug for PreparedCertificate<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedCertificate")
            .field("tbs_octets", &self.tbs_der.len())
            .finish_non_exhaustive()
    }
}

impl PreparedCertificate<'_> {
    /// The DER of the to-be-signed certificate, recorded before signing.
    pub fn tbs_der(&self) -> &[u8] {
        &self.tbs_der
    }

    /// The subject and validity of the certificate, for the issuance record.
    pub fn tbs(&self) -> Result<TbsCertificate, PkiError> {
        Ok(TbsCertificate::from_der(&self.tbs_der)?)
    }

    /// Signs. The result is verified with the issuer's public key before it is returned.
    pub fn issue(self) -> Result<Vec<u8>, PkiError> {
        sign_tbs(self.builder, &self.tbs_der, self.signer)
    }
}

/// A builder profile that writes exactly the names and extensions it is given.
#[derive(Debug)]
pub(crate) struct FixedProfile {
    subject: Name,
    issuer: Name,
    extensions: Vec<Extension>,
}

impl BuilderProfile for FixedProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: spki::SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: spki::SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

/// Builds and finalizes a to-be-signed certificate, ready to be signed by `signer`.
pub(crate) fn prepare_with<'a>(
    signer: &'a CaSigner,
    subject: Name,
    issuer: Name,
    serial: &Serial,
    validity: Validity,
    spki: SubjectPublicKeyInfoOwned,
    extensions: Vec<Extension>,
) -> Result<PreparedCertificate<'a>, PkiError> {
    let (builder, tbs_der) =
        build_tbs(signer, subject, issuer, serial, validity, spki, extensions)?;
    Ok(PreparedCertificate {
        signer,
        builder,
        tbs_der,
    })
}

/// Builds a to-be-signed certificate. A subject key identifier is always added.
pub(crate) fn build_tbs(
    signer: &CaSigner,
    subject: Name,
    issuer: Name,
    serial: &Serial,
    validity: Validity,
    spki: SubjectPublicKeyInfoOwned,
    mut extensions: Vec<Extension>,
) -> Result<(CertificateBuilder<FixedProfile>, Vec<u8>), PkiError> {
    extensions.insert(0, ext::subject_key_identifier(&spki)?);
    let profile = FixedProfile {
        subject,
        issuer,
        extensions,
    };
    let serial = SerialNumber::new(serial.as_der_integer())?;
    let mut builder = CertificateBuilder::new(profile, serial, validity, spki)?;
    let tbs = builder.finalize(signer)?;
    Ok((builder, tbs))
}

/// Signs a finalized builder and checks the signature with the signer's public key.
pub(crate) fn sign_tbs(
    builder: CertificateBuilder<FixedProfile>,
    tbs_der: &[u8],
    signer: &CaSigner,
) -> Result<Vec<u8>, PkiError> {
    let signature = signer.sign_to_bitstring(tbs_der)?;
    let certificate = builder.assemble(signature, signer)?;
    let der = certificate.to_der()?;
    let sig_bytes = certificate
        .signature()
        .as_bytes()
        .ok_or(PkiError::SelfCheckFailed)?;
    match verify(
        signer.spki(),
        certificate.signature_algorithm().oid,
        tbs_der,
        sig_bytes,
    ) {
        Ok(true) => Ok(der),
        _ => Err(PkiError::SelfCheckFailed),
    }
}
