//! What a subscriber certificate will say, decided before anything is encoded or signed.

use crate::Refusal;
use crate::identity::Identity;
use crate::key::{PublicKeyKind, check_subscriber_key};
use crate::profile::{ExtendedKeyUsage, KeyUsage, Profile};
use crate::validity::{Period, ValidityLimit};

/// One attribute of the subject distinguished name, in the order Signet writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectAttribute {
    /// countryName (2.5.4.6): ISO 3166-1 alpha-2, upper case; encoded as a PrintableString.
    Country(String),
    /// organizationName (2.5.4.10): the organization the person acts for.
    Organization(String),
    /// organizationIdentifier (2.5.4.97), e.g. `VATBE-0123456789` (S/MIME BRs §7.1.4.2.2 d).
    OrganizationIdentifier(String),
    /// organizationalUnitName (2.5.4.11).
    OrganizationalUnit(String),
    /// title (2.5.4.12): the person's function in the organization.
    Title(String),
    /// givenName (2.5.4.42).
    GivenName(String),
    /// surname (2.5.4.4).
    Surname(String),
    /// commonName (2.5.4.3): "Given Surname", at most 64 characters.
    CommonName(String),
}

/// The certificate's content, short of the encoding, the serial and the issuer's URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificatePlan {
    /// Name of the profile the plan follows.
    pub profile: String,
    /// Name of the issuing CA that must sign it (the profile's issuer).
    pub issuer: String,
    /// The subject DN, one attribute per RDN, in the order written: C, O, organizationIdentifier,
    /// OU, title, givenName, SN, CN (optional ones only when given).
    pub subject: Vec<SubjectAttribute>,
    /// The rfc822Name for the subjectAltName.
    pub email: String,
    /// notBefore and notAfter, as requested and checked (R-CRT-2).
    pub period: Period,
    /// The latest notAfter any applicable limit (profile, product) allows for this start.
    pub latest_not_after: time::OffsetDateTime,
    /// The subscriber's public key, as far as policy cares; it passed the key policy.
    pub key: PublicKeyKind,
    /// keyUsage bits: the profile's for RSA or for EC keys, whichever the key is.
    pub key_usage: Vec<KeyUsage>,
    /// extKeyUsage purposes, from the profile.
    pub extended_key_usages: Vec<ExtendedKeyUsage>,
    /// certificatePolicies OIDs, dotted, from the profile.
    pub policies: Vec<String>,
}

/// The request as the CA operator or the order workflow makes it.
#[derive(Debug, Clone)]
pub struct PlanRequest<'a> {
    /// The checked identity the certificate is for; its e-mail is the one it names.
    pub identity: &'a Identity,
    /// The subscriber's public key (generated at pickup or from a CSR).
    pub key: &'a PublicKeyKind,
    /// The validity asked for (calendar months from now, or until a reissue's fixed end).
    pub period: Period,
    /// The product's limit, when the request comes through a product, and its name.
    pub product_limit: Option<(ValidityLimit, &'a str)>,
    /// How the validity was asked for, for messages ("40 months").
    pub requested: String,
}

impl Profile {
    /// The rules that do not depend on the key: validity (profile and product) and required
    /// identity fields. Orders are checked with this when they are placed, before any key exists.
    /// Returns the latest notAfter the limits allow.
    pub fn check_request(
        &self,
        identity: &Identity,
        period: Period,
        product_limit: Option<(ValidityLimit, &str)>,
        requested: &str,
    ) -> Result<time::OffsetDateTime, Refusal> {
        period.check_within(
            self.max_validity(),
            &format!("profile {}", self.name()),
            requested,
        )?;
        let mut latest_not_after = self.max_validity().latest_not_after(period.not_before);
        if let Some((limit, product)) = product_limit {
            period.check_within(limit, &format!("product {product}"), requested)?;
            latest_not_after = latest_not_after.min(limit.latest_not_after(period.not_before));
        }
        if self.requires_organization_identifier() && identity.organization_identifier().is_none() {
            return Err(Refusal::MissingIdentityField {
                profile: self.name().to_owned(),
                field: "organization_identifier",
                example: "VATBE-0123456789",
            });
        }
        Ok(latest_not_after)
    }

    /// Applies every rule of the profile to the request: key policy, validity (profile and
    /// product), required identity fields. Returns the plan or the first refusal.
    pub fn plan(&self, req: &PlanRequest<'_>) -> Result<CertificatePlan, Refusal> {
        check_subscriber_key(req.key)?;
        let latest_not_after =
            self.check_request(req.identity, req.period, req.product_limit, &req.requested)?;
        let id = req.identity;
        let mut subject = vec![
            SubjectAttribute::Country(id.country().to_owned()),
            SubjectAttribute::Organization(id.organization().to_owned()),
        ];
        subject.extend(
            id.organization_identifier()
                .map(|v| SubjectAttribute::OrganizationIdentifier(v.to_owned())),
        );
        subject.extend(
            id.organizational_unit()
                .map(|v| SubjectAttribute::OrganizationalUnit(v.to_owned())),
        );
        subject.extend(id.title().map(|v| SubjectAttribute::Title(v.to_owned())));
        subject.push(SubjectAttribute::GivenName(id.given_name().to_owned()));
        subject.push(SubjectAttribute::Surname(id.surname().to_owned()));
        subject.push(SubjectAttribute::CommonName(id.common_name()));
        Ok(CertificatePlan {
            profile: self.name().to_owned(),
            issuer: self.issuer().to_owned(),
            subject,
            email: id.email().to_owned(),
            period: req.period,
            latest_not_after,
            key: req.key.clone(),
            key_usage: self.key_usage(req.key.is_rsa()).to_vec(),
            extended_key_usages: self.extended_key_usages().to_vec(),
            policies: self.policies().to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityInput;
    use crate::key::Curve;
    use crate::profile::templates;
    use time::macros::datetime;

    fn identity(org_id: Option<&str>) -> Identity {
        Identity::try_from(IdentityInput {
            given_name: "Jan".into(),
            surname: "Jansen".into(),
            email: "jan@example.nl".into(),
            organization: "Voorbeeld BV".into(),
            country: "NL".into(),
            organization_identifier: org_id.map(Into::into),
            organizational_unit: None,
            title: None,
        })
        .expect("identity")
    }

    fn smime() -> Profile {
        Profile::new("smime", templates::smime_sponsor_multipurpose("smime")).expect("profile")
    }

    fn request<'a>(id: &'a Identity, key: &'a PublicKeyKind, months: u32) -> PlanRequest<'a> {
        PlanRequest {
            identity: id,
            key,
            period: Period::months_from(datetime!(2026-11-25 12:00 UTC), months).expect("period"),
            product_limit: None,
            requested: format!("{months} months"),
        }
    }

    #[test]
    fn plans_key_usage_per_key_type() {
        let id = identity(Some("NTRNL-12345678"));
        let rsa = PublicKeyKind::Rsa {
            modulus_bits: 2048,
            public_exponent: 65537,
        };
        let ec = PublicKeyKind::Ec(Curve::P256);
        let p = smime().plan(&request(&id, &rsa, 12)).expect("plan");
        assert_eq!(
            p.key_usage,
            vec![KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment]
        );
        assert!(
            p.subject
                .contains(&SubjectAttribute::OrganizationIdentifier(
                    "NTRNL-12345678".into()
                ))
        );
        let p = smime().plan(&request(&id, &ec, 12)).expect("plan");
        assert_eq!(p.key_usage, vec![KeyUsage::DigitalSignature]);
    }

    #[test]
    fn refusals() {
        let with = identity(Some("NTRNL-12345678"));
        let without = identity(None);
        let ec = PublicKeyKind::Ec(Curve::P256);
        let weak = PublicKeyKind::Rsa {
            modulus_bits: 1024,
            public_exponent: 65537,
        };
        assert!(matches!(
            smime().plan(&request(&without, &ec, 12)),
            Err(Refusal::MissingIdentityField { .. })
        ));
        assert!(matches!(
            smime().plan(&request(&with, &weak, 12)),
            Err(Refusal::UnacceptableKey(_))
        ));
        assert!(matches!(
            smime().plan(&request(&with, &ec, 28)),
            Err(Refusal::ValidityTooLong { .. })
        ));
        let mut r = request(&with, &ec, 13);
        r.product_limit = Some((ValidityLimit::Months(12), "short"));
        let err = smime().plan(&r).expect_err("product limit");
        assert!(err.to_string().contains("product short"), "{err}");
    }
}
