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

pub const COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
pub const ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
pub const ORGANIZATIONAL_UNIT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
pub const TITLE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.12");
pub const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
pub const SURNAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.4");
pub const GIVEN_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.42");
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
    let dt = der::DateTime::new(
        t.year() as u16,
        t.month().into(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )?;
    // The builder turns this into UTCTime before 2050, as RFC 5280 requires.
    Ok(Time::from(dt))
}

pub fn validity(
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<Validity, PkiError> {
    Ok(Validity::new(x509_time(not_before)?, x509_time(not_after)?))
}
