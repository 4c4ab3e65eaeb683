//! Revocation data for every certificate on a path (PAdES B-LT): OCSP responses from the
//! responders the certificates name, CRLs from their distribution points — each checked before
//! it is embedded, and a revoked certificate stops the signature.

use der::{Decode, Encode};
use signet_pki::ocsp::{Status, read_response, status_request};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{AuthorityInfoAccessSyntax, CrlDistributionPoints};

use crate::SignError;
use crate::network::Fetch;
use crate::pades::ValidationData;

/// The OCSP responder URLs a certificate names (authorityInfoAccess, id-ad-ocsp).
pub fn ocsp_urls(certificate: &Certificate) -> Vec<String> {
    access_urls(certificate, const_oid::db::rfc5280::ID_AD_OCSP)
}

/// The URLs of one access method of a certificate's authorityInfoAccess (id-ad-ocsp,
/// id-ad-caIssuers).
pub fn access_urls(certificate: &Certificate, method: der::asn1::ObjectIdentifier) -> Vec<String> {
    certificate
        .tbs_certificate()
        .get_extension::<AuthorityInfoAccessSyntax>()
        .ok()
        .flatten()
        .map(|(_, aia)| {
            aia.0
                .into_iter()
                .filter(|d| d.access_method == method)
                .filter_map(|d| match d.access_location {
                    GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The CRL URLs a certificate names (cRLDistributionPoints, full names).
pub fn crl_urls(certificate: &Certificate) -> Vec<String> {
    certificate
        .tbs_certificate()
        .get_extension::<CrlDistributionPoints>()
        .ok()
        .flatten()
        .map(|(_, points)| {
            points
                .0
                .into_iter()
                .filter_map(|p| p.distribution_point)
                .flat_map(|name| match name {
                    DistributionPointName::FullName(names) => names,
                    DistributionPointName::NameRelativeToCRLIssuer(_) => Vec::new(),
                })
                .filter_map(|n| match n {
                    GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn describe(certificate: &Certificate) -> String {
    certificate.tbs_certificate().subject().to_string()
}

/// Checks a CRL: signed by `issuer`; and when it lists `certificate`, the revocation date.
pub fn crl_lists(
    crl: &CertificateList,
    certificate: &Certificate,
    issuer: &Certificate,
) -> Result<Option<time::OffsetDateTime>, SignError> {
    let signature = crl
        .signature
        .as_bytes()
        .ok_or_else(|| SignError::Revocation("a CRL's signature has unused bits".into()))?;
    signet_pki::signed_data::verify_signature(
        issuer,
        &crl.signature_algorithm,
        &crl.tbs_cert_list.to_der()?,
        signature,
    )
    .map_err(|e| {
        SignError::Revocation(format!(
            "a CRL of {} does not verify: {e}",
            describe(issuer)
        ))
    })?;
    let serial = certificate.tbs_certificate().serial_number();
    Ok(crl
        .tbs_cert_list
        .revoked_certificates
        .iter()
        .flatten()
        .find(|r| r.serial_number == *serial)
        .map(|r| time::OffsetDateTime::from(r.revocation_date.to_system_time())))
}

/// Collects, for each certificate on each path (leaf first, root last), an OCSP response when
/// it names a responder and a CRL when it names a distribution point; roots need none.
pub fn collect(fetch: &dyn Fetch, paths: &[Vec<Certificate>]) -> Result<ValidationData, SignError> {
    let mut data = ValidationData::default();
    let mut seen = Vec::new();
    for path in paths {
        for certificate in path {
            let der = certificate.to_der()?;
            if !data.certificates.contains(&der) {
                data.certificates.push(der);
            }
        }
        for pair in path.windows(2) {
            let (certificate, issuer) = (&pair[0], &pair[1]);
            let der = certificate.to_der()?;
            if seen.contains(&der) {
                continue;
            }
            seen.push(der);
            for url in ocsp_urls(certificate) {
                let reply = fetch.post(
                    &url,
                    "application/ocsp-request",
                    &status_request(certificate, issuer)?,
                )?;
                let answer = read_response(&reply, certificate, issuer)?;
                match answer.status {
                    Status::Good => data.ocsps.push(reply),
                    Status::Revoked { at, .. } => {
                        return Err(SignError::Revocation(format!(
                            "the certificate of {} was revoked at {at}; it can no longer sign",
                            describe(certificate)
                        )));
                    }
                    Status::Unknown => {
                        return Err(SignError::Revocation(format!(
                            "the responder at {url} does not know the certificate of {}",
                            describe(certificate)
                        )));
                    }
                }
            }
            for url in crl_urls(certificate) {
                let body = fetch.get(&url)?;
                let crl = CertificateList::from_der(&body).map_err(|e| {
                    SignError::Revocation(format!("{url} did not serve a DER CRL: {e}"))
                })?;
                if crl_lists(&crl, certificate, issuer)?.is_some() {
                    return Err(SignError::Revocation(format!(
                        "the CRL at {url} lists the certificate of {} as revoked",
                        describe(certificate)
                    )));
                }
                if !data.crls.contains(&body) {
                    data.crls.push(body);
                }
            }
        }
    }
    Ok(data)
}

/// The status of `certificate` now, from its OCSP responder or else its CRL (for checking
/// signatures without a CA's records).
pub fn standing(
    fetch: &dyn Fetch,
    certificate: &Certificate,
    issuer: Option<&Certificate>,
) -> crate::report::Standing {
    use crate::report::Standing;
    let Some(issuer) = issuer else {
        return Standing::Unknown("its issuer's certificate is not in the signature".into());
    };
    let mut problems = Vec::new();
    let ocsp = ocsp_urls(certificate)
        .into_iter()
        .map(|url| ask_ocsp(fetch, &url, certificate, issuer));
    let crl = crl_urls(certificate)
        .into_iter()
        .map(|url| ask_crl(fetch, &url, certificate, issuer));
    for answer in ocsp.chain(crl) {
        match answer {
            Ok(Standing::Unknown(why)) => problems.push(why),
            Ok(standing) => return standing,
            Err(e) => problems.push(e.to_string()),
        }
    }
    if problems.is_empty() {
        Standing::Unknown("the certificate names no OCSP responder and no CRL".into())
    } else {
        Standing::Unknown(problems.join("; "))
    }
}

/// The status of `certificate` from the OCSP responder at `url`: the answer checked (signature,
/// responder, freshness), `Unknown` when the responder does not know the certificate.
pub fn ask_ocsp(
    fetch: &dyn Fetch,
    url: &str,
    certificate: &Certificate,
    issuer: &Certificate,
) -> Result<crate::report::Standing, SignError> {
    use crate::report::Standing;
    let request = status_request(certificate, issuer)?;
    let reply = fetch.post(url, "application/ocsp-request", &request)?;
    let answer = read_response(&reply, certificate, issuer)?;
    // A replayed old answer over plain HTTP must not pass for today's status.
    let now = time::OffsetDateTime::now_utc();
    let stale = answer.this_update > now + time::Duration::minutes(5)
        || answer.next_update.is_some_and(|next| next < now);
    if stale {
        return Err(SignError::Revocation(format!(
            "the answer from {url} is not current"
        )));
    }
    Ok(match answer.status {
        Status::Good => Standing::Good,
        Status::Revoked { at, .. } => Standing::Revoked(at),
        Status::Unknown => Standing::Unknown(format!("the responder at {url} does not know it")),
    })
}

/// The status of `certificate` from the CRL at `url`, checked (signature, not out of date).
pub fn ask_crl(
    fetch: &dyn Fetch,
    url: &str,
    certificate: &Certificate,
    issuer: &Certificate,
) -> Result<crate::report::Standing, SignError> {
    use crate::report::Standing;
    let body = fetch.get(url)?;
    let crl = CertificateList::from_der(&body)
        .map_err(|e| SignError::Revocation(format!("{url} did not serve a DER CRL: {e}")))?;
    let listed = crl_lists(&crl, certificate, issuer)?;
    let now = time::OffsetDateTime::now_utc();
    if crl
        .tbs_cert_list
        .next_update
        .is_some_and(|next| time::OffsetDateTime::from(next.to_system_time()) < now)
    {
        return Err(SignError::Revocation(format!(
            "the CRL at {url} is out of date"
        )));
    }
    Ok(listed.map_or(Standing::Good, Standing::Revoked))
}
