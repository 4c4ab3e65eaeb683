//! CRL encoding and signing. The TbsCertList is assembled here rather than with x509-cert's
//! CrlBuilder, which writes the issuer certificate's own AKI (pointing at the wrong key for an
//! intermediate's CRL).

use const_oid::db::rfc5912::{
    ID_CE_CRL_NUMBER, ID_CE_CRL_REASONS, ID_CE_ISSUING_DISTRIBUTION_POINT,
};
use der::asn1::ContextSpecific;
use der::asn1::{Ia5String, Uint};
use der::{Encode, Header, Length, Tag, TagMode, TagNumber};
use signet_domain::serial::Serial;
use time::OffsetDateTime;
use x509_cert::crl::RevokedCert;
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

/// The revokedCertificates of a CRL, DER-encoded entry by entry as the entries stream from the
/// store: a million entries cost their ~47 MB of DER, not a million owned records.
#[derive(Debug, Default)]
pub struct RevokedList {
    der: Vec<u8>,
    count: u64,
}

impl RevokedList {
    pub fn from_entries<'a>(
        entries: impl IntoIterator<Item = &'a CrlEntry>,
    ) -> Result<Self, PkiError> {
        let mut list = RevokedList::default();
        for e in entries {
            list.push(e)?;
        }
        Ok(list)
    }

    pub fn push(&mut self, e: &CrlEntry) -> Result<(), PkiError> {
        let extensions = match e.reason_code.and_then(reason) {
            Some(r) => Some(vec![ext(ID_CE_CRL_REASONS, false, &r)?]),
            None => None,
        };
        RevokedCert::<x509_cert::certificate::Rfc5280> {
            serial_number: SerialNumber::new(e.serial.as_der_integer())?,
            revocation_date: x509_time(e.revoked_at)?,
            crl_entry_extensions: extensions,
        }
        .encode_to_vec(&mut self.der)?;
        self.count += 1;
        Ok(())
    }

    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Appends a SEQUENCE holding already-encoded content.
fn sequence(out: &mut Vec<u8>, content: &[u8]) -> Result<(), PkiError> {
    Header::new(Tag::Sequence, Length::try_from(content.len())?).encode_to_vec(out)?;
    out.extend_from_slice(content);
    Ok(())
}

/// Signs a CRL shard: AKI of the issuer's key, CRL number, an issuingDistributionPoint naming
/// the shard's URL (the one written into the certificates' CDP) and its scope.
///
/// The TbsCertList is written field by field (each through its der type) so that the revoked
/// entries go in as the bytes [`RevokedList`] already holds, without an owned copy of each.
pub fn sign_crl(
    issuer: &Issuer,
    number: u64,
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    distribution_point: &str,
    scope: CrlScope,
    revoked: &RevokedList,
) -> Result<Vec<u8>, PkiError> {
    let signer = issuer.signer();
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
    let extensions: Vec<Extension> = vec![
        authority_key_identifier(signer.spki())?,
        ext(
            ID_CE_CRL_NUMBER,
            false,
            &CrlNumber(Uint::new(&number.to_be_bytes())?),
        )?,
        ext(ID_CE_ISSUING_DISTRIBUTION_POINT, true, &idp)?,
    ];
    let algorithm = signature_algorithm(signer.algorithm());
    let mut fields = Vec::with_capacity(revoked.der.len() + 1024);
    x509_cert::Version::V2.encode_to_vec(&mut fields)?;
    algorithm.encode_to_vec(&mut fields)?;
    issuer.subject().encode_to_vec(&mut fields)?;
    x509_time(this_update)?.encode_to_vec(&mut fields)?;
    x509_time(next_update)?.encode_to_vec(&mut fields)?;
    if !revoked.is_empty() {
        sequence(&mut fields, &revoked.der)?;
    }
    ContextSpecific {
        tag_number: TagNumber(0),
        tag_mode: TagMode::Explicit,
        value: extensions,
    }
    .encode_to_vec(&mut fields)?;
    let mut tbs = Vec::with_capacity(fields.len() + 8);
    sequence(&mut tbs, &fields)?;
    drop(fields);

    let signature = signer.sign_to_bitstring(&tbs)?;
    // Check what we publish: the signature verifies with the issuer key.
    let sig = signature.as_bytes().ok_or(PkiError::SelfCheckFailed)?;
    if !matches!(verify(signer.spki(), algorithm.oid, &tbs, sig), Ok(true)) {
        return Err(PkiError::SelfCheckFailed);
    }
    let mut content = tbs;
    algorithm.encode_to_vec(&mut content)?;
    signature.encode_to_vec(&mut content)?;
    let mut der = Vec::with_capacity(content.len() + 8);
    sequence(&mut der, &content)?;
    Ok(der)
}

#[cfg(test)]
mod tests {
    use der::Decode;

    use super::*;

    /// Entries encoded one by one concatenate into a list x509-cert decodes.
    #[test]
    fn streamed_entries_decode_as_a_certificate_list() {
        let entries: Vec<CrlEntry> = (0u8..3)
            .map(|i| CrlEntry {
                serial: Serial::from_entropy([i; 16]),
                revoked_at: OffsetDateTime::from_unix_timestamp(1_700_000_000 + i64::from(i))
                    .expect("time"),
                reason_code: [None, Some(1), Some(4)][usize::from(i)],
            })
            .collect();
        let list = RevokedList::from_entries(&entries).expect("list");
        assert_eq!(list.len(), 3);
        let mut content = Vec::new();
        for e in &entries {
            let one = RevokedList::from_entries([e]).expect("one");
            content.extend_from_slice(&one.der);
        }
        assert_eq!(list.der, content);
        let mut wrapped = Vec::new();
        sequence(&mut wrapped, &list.der).expect("sequence");
        let decoded = Vec::<RevokedCert>::from_der(&wrapped).expect("decodes");
        assert_eq!(decoded.len(), 3);
        assert_eq!(
            decoded[2].serial_number.as_bytes(),
            entries[2].serial.as_der_integer()
        );
        assert!(decoded[0].crl_entry_extensions.is_none());
    }
}
