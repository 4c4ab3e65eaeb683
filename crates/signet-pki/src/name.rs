//! Distinguished names and times, from domain values to DER types.

use const_oid::ObjectIdentifier;
use der::asn1::{Any, PrintableStringRef, Utf8StringRef};
use der::{Decode, Encode};
use signet_domain::plan::SubjectAttribute;
use time::OffsetDateTime;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RelativeDistinguishedName};
use x509_cert::time::{Time, Validity};

use crate::PkiError;

/// countryName (X.520): an ISO 3166-1 alpha-2 code, written as a PrintableString.
pub const COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
/// organizationName (X.520): the subscriber's organization, or the CA operator's in CA names.
pub const ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
/// organizationalUnitName (X.520): the identity's optional unit.
pub const ORGANIZATIONAL_UNIT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
/// title (X.520): the subscriber's optional function.
pub const TITLE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.12");
/// commonName (X.520): "Given Surname" for subscribers, the CA's own name for CAs and
/// responders.
pub const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// surname (X.520): the subscriber's family name.
pub const SURNAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.4");
/// givenName (X.520): the subscriber's given name(s).
pub const GIVEN_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.42");
/// organizationIdentifier (X.520): scheme, country and reference, e.g. `VATBE-0123456789`; the
/// S/MIME BRs (§7.1.4.2.2 d) require it in sponsor-validated certificates.
pub const ORGANIZATION_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.97");

fn oid_and_value(attr: &SubjectAttribute) -> (ObjectIdentifier, &str) {
    match attr {
        SubjectAttribute::Country(v) => (COUNTRY, v),
        SubjectAttribute::Organization(v) => (ORGANIZATION, v),
        SubjectAttribute::OrganizationIdentifier(v) => (ORGANIZATION_IDENTIFIER, v),
        SubjectAttribute::OrganizationalUnit(v) => (ORGANIZATIONAL_UNIT, v),
        SubjectAttribute::Title(v) => (TITLE, v),
        SubjectAttribute::GivenName(v) => (GIVEN_NAME, v),
        SubjectAttribute::Surname(v) => (SURNAME, v),
        SubjectAttribute::CommonName(v) => (COMMON_NAME, v),
    }
}

/// One single-valued RDN per attribute, in the plan's order. countryName is a PrintableString
/// (X.520); everything else UTF8String, as RFC 5280 §4.1.2.6 recommends.
pub fn subject_name(attrs: &[SubjectAttribute]) -> Result<Name, PkiError> {
    let mut rdns = Vec::with_capacity(attrs.len());
    for attr in attrs {
        let (oid, text) = oid_and_value(attr);
        let value = if oid == COUNTRY {
            Any::encode_from(&PrintableStringRef::new(text)?)?
        } else {
            Any::encode_from(&Utf8StringRef::new(text)?)?
        };
        rdns.push(RelativeDistinguishedName::try_from(vec![
            AttributeTypeAndValue { oid, value },
        ])?);
    }
    Ok(Name::from_der(&rdns.to_der()?)?)
}

/// The name of a CA or responder: C, O, CN.
pub fn ca_name(country: &str, organization: &str, common_name: &str) -> Result<Name, PkiError> {
    subject_name(&[
        SubjectAttribute::Country(country.to_owned()),
        SubjectAttribute::Organization(organization.to_owned()),
        SubjectAttribute::CommonName(common_name.to_owned()),
    ])
}

/// An X.509 time for a domain instant.
pub fn x509_time(t: OffsetDateTime) -> Result<Time, PkiError> {
    // Certificates, CRLs and OCSP state UTC; a time in another offset is converted first.
    let t = t.to_offset(time::UtcOffset::UTC);
    let year = u16::try_from(t.year())
        .map_err(|_| PkiError::Build(format!("the year {} cannot be encoded", t.year())))?;
    let dt = der::DateTime::new(
        year,
        t.month().into(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )?;
    // `Time::from` makes this UTCTime before 2050 and GeneralizedTime after, as RFC 5280
    // requires (also for CRL times, which do not go through the certificate builder).
    Ok(Time::from(dt))
}

/// A certificate's Validity from a domain period; both ends are whole seconds, notAfter inclusive
/// (R-CRT-2).
pub fn validity(
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<Validity, PkiError> {
    Ok(Validity::new(x509_time(not_before)?, x509_time(not_after)?))
}

#[cfg(test)]
mod time_tests {
    use time::macros::datetime;

    #[test]
    fn times_in_other_offsets_are_encoded_as_utc() {
        let utc = super::x509_time(datetime!(2026-12-03 10:00 UTC)).expect("utc");
        let cet = super::x509_time(datetime!(2026-12-03 11:00 +01:00)).expect("cet");
        assert_eq!(utc, cet);
        assert!(super::x509_time(datetime!(-0001-01-01 0:00 UTC)).is_err());
    }
}
