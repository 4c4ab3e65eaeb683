//! CRL encoding and signing. The TbsCertList is assembled here rather than with x509-cert's
//! CrlBuilder, which writes the issuer certificate's own AKI (pointing at the wrong key for an
//! intermediate's CRL).

use const_oid::db::rfc5912::{
    ID_CE_CRL_NUMBER, ID_CE_CRL_REASONS, ID_CE_ISSUING_DISTRIBUTION_POINT,
};
use der::asn1::ContextSpecific;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use der::asn1::{Ia5String, IntRef, Uint};
use der::{Decode, Encode, Header, Length, Reader, SliceReader, Tag, TagMode, TagNumber};
use signet_domain::serial::Serial;
use time::OffsetDateTime;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::CrlNumber;
use x509_cert::ext::pkix::crl::CrlReason;
use x509_cert::ext::pkix::crl::dp::IssuingDistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};

use crate::PkiError;
use crate::extensions::authority_key_identifier;
use crate::issuance::Issuer;
use crate::keys::signature_algorithm;
use crate::name::x509_time;
use crate::public_key::verify;

/// One revoked certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlEntry {
    /// The revoked certificate's serial number.
    pub serial: Serial,
    /// revocationDate: when the revocation was recorded, to the second.
    pub revoked_at: OffsetDateTime,
    /// RFC 5280 CRLReason code; `None` (or 0, unspecified) writes no reasonCode, as the BRs
    /// require.
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
    /// The crlEntryExtensions of each reason code, encoded once (a million entries share a few).
    reason_extensions: BTreeMap<u8, Vec<u8>>,
    /// One entry's content, reused between pushes.
    scratch: Vec<u8>,
}

impl RevokedList {
    /// Encodes entries held in memory, in the order given. Only tests use it: the application
    /// streams entries in with [`RevokedList::push`] and [`RevokedList::extend_encoded`].
    pub fn from_entries<'a>(
        entries: impl IntoIterator<Item = &'a CrlEntry>,
    ) -> Result<Self, PkiError> {
        let mut list = RevokedList::default();
        for e in entries {
            list.push(e)?;
        }
        Ok(list)
    }

    /// Appends one revokedCertificates entry: SEQUENCE { userCertificate, revocationDate,
    /// crlEntryExtensions (reasonCode) when the reason is one the BRs let a CRL state }.
    pub fn push(&mut self, e: &CrlEntry) -> Result<(), PkiError> {
        self.scratch.clear();
        IntRef::new(e.serial.as_der_integer())?.encode_to_vec(&mut self.scratch)?;
        x509_time(e.revoked_at)?.encode_to_vec(&mut self.scratch)?;
        if let Some(code) = e.reason_code
            && let Some(r) = reason(code)
        {
            let der = match self.reason_extensions.entry(code) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => {
                    let extensions: Vec<Extension> = vec![ext(ID_CE_CRL_REASONS, false, &r)?];
                    e.insert(extensions.to_der()?)
                }
            };
            self.scratch.extend_from_slice(der);
        }
        sequence(&mut self.der, &self.scratch)?;
        self.count += 1;
        Ok(())
    }

    /// One entry's DER, as the store keeps it from the revocation on.
    pub fn entry_der(e: &CrlEntry) -> Result<Vec<u8>, PkiError> {
        let mut list = RevokedList::default();
        list.push(e)?;
        Ok(list.der)
    }

    /// Appends entries encoded earlier by [`RevokedList::entry_der`], concatenated. Each must be
    /// a complete SEQUENCE (the bytes come from the database and end up in a signed CRL).
    pub fn extend_encoded(&mut self, entries: &[u8]) -> Result<(), PkiError> {
        let mut rest = entries;
        while !rest.is_empty() {
            let mut reader = SliceReader::new(rest)?;
            let header = Header::decode(&mut reader)?;
            let total = usize::try_from((reader.position() + header.length())?)?;
            if header.tag() != Tag::Sequence || total > rest.len() {
                return Err(PkiError::Corrupt(
                    "a stored CRL entry is not a DER SEQUENCE".into(),
                ));
            }
            rest = &rest[total..];
            self.count += 1;
        }
        self.der.extend_from_slice(entries);
        Ok(())
    }

    /// How many entries the list holds, encoded here or appended already encoded.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether the list holds no entry: the CRL then has no revokedCertificates field at all.
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

/// Signs a CRL shard: AKI of the issuer's key, CRL number, an issuingDistributionPoint with its
/// scope and, for subscriber certificates, the shard's URL (the one written into the
/// certificates' CDP).
///
/// The TbsCertList is written field by field (each through its der type) so that the revoked
/// entries go in as the bytes [`RevokedList`] already holds, without an owned value for each.
pub fn sign_crl(
    issuer: &Issuer,
    number: u64,
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    distribution_point: &str,
    scope: CrlScope,
    revoked: RevokedList,
) -> Result<Vec<u8>, PkiError> {
    let signer = issuer.signer();
    // A shard names its URL, as its certificates' CDP does. The root's CRL, one for every CA
    // certificate it signed, names none: the root itself has no CDP, and verifiers that check
    // the whole chain (OpenSSL with X509_V_FLAG_CRL_CHECK_ALL: nginx `ssl_crl`, Apache
    // `SSLCARevocationCheck chain`) take a CRL that names a distribution point as out of scope
    // for a certificate without one, and refuse every chain.
    let distribution_point = match scope {
        CrlScope::UserCerts => Some(DistributionPointName::FullName(vec![
            GeneralName::UniformResourceIdentifier(Ia5String::new(distribution_point)?),
        ])),
        CrlScope::CaCerts => None,
    };
    let idp = IssuingDistributionPoint {
        distribution_point,
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
    let mut head = Vec::new();
    x509_cert::Version::V2.encode_to_vec(&mut head)?;
    algorithm.encode_to_vec(&mut head)?;
    issuer.subject().encode_to_vec(&mut head)?;
    x509_time(this_update)?.encode_to_vec(&mut head)?;
    x509_time(next_update)?.encode_to_vec(&mut head)?;
    let tail = ContextSpecific {
        tag_number: TagNumber(0),
        tag_mode: TagMode::Explicit,
        value: extensions,
    }
    .to_der()?;
    let revoked_header = if revoked.is_empty() {
        Vec::new()
    } else {
        Header::new(Tag::Sequence, Length::try_from(revoked.der.len())?).to_der()?
    };
    // One buffer for the TbsCertList, the entries copied once and then dropped: the peak is
    // about twice the CRL (this and the signed CertificateList).
    let content_len = head.len() + revoked_header.len() + revoked.der.len() + tail.len();
    let mut tbs = Vec::with_capacity(content_len + 8);
    Header::new(Tag::Sequence, Length::try_from(content_len)?).encode_to_vec(&mut tbs)?;
    tbs.extend_from_slice(&head);
    tbs.extend_from_slice(&revoked_header);
    tbs.extend_from_slice(&revoked.der);
    tbs.extend_from_slice(&tail);
    drop(revoked);

    let signature = signer.sign_to_bitstring(&tbs)?;
    // Check what we publish: the signature verifies with the issuer key.
    let sig = signature.as_bytes().ok_or(PkiError::SelfCheckFailed)?;
    if !matches!(verify(signer.spki(), algorithm.oid, &tbs, sig), Ok(true)) {
        return Err(PkiError::SelfCheckFailed);
    }
    let mut trailer = algorithm.to_der()?;
    signature.encode_to_vec(&mut trailer)?;
    let mut der = Vec::with_capacity(tbs.len() + trailer.len() + 8);
    Header::new(Tag::Sequence, Length::try_from(tbs.len() + trailer.len())?)
        .encode_to_vec(&mut der)?;
    der.extend_from_slice(&tbs);
    drop(tbs);
    der.extend_from_slice(&trailer);
    Ok(der)
}

/// What a CRL about to be published (or found where it goes) says of itself, once its
/// signature verified with its issuer's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlFacts {
    /// The CRL number.
    pub number: u64,
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// The issuingDistributionPoint's URL, when it names one.
    pub distribution_point: Option<String>,
}

/// Reads a DER CRL and verifies its signature with `issuer`'s key: its number, thisUpdate and
/// distribution point. Refused when it cannot be read, is not signed by `issuer`, or has no
/// CRL number.
pub fn read_crl(der: &[u8], issuer: &x509_cert::Certificate) -> Result<CrlFacts, PkiError> {
    let bad = |why: String| PkiError::Signature(format!("the CRL {why}"));
    let crl: x509_cert::crl::CertificateList = x509_cert::crl::CertificateList::from_der(der)
        .map_err(|e| bad(format!("cannot be read: {e}")))?;
    let tbs = crl.tbs_cert_list.to_der()?;
    let signature = crl
        .signature
        .as_bytes()
        .ok_or_else(|| bad("has a signature with unused bits".into()))?;
    crate::signed_data::verify_signature(issuer, &crl.signature_algorithm, &tbs, signature)
        .map_err(|_| bad("is not signed by its issuer's key".into()))?;
    let mut number = None;
    let mut distribution_point = None;
    for e in crl.tbs_cert_list.crl_extensions.iter().flatten() {
        if e.extn_id == ID_CE_CRL_NUMBER {
            let n = CrlNumber::from_der(e.extn_value.as_bytes())?;
            let bytes = n.0.as_bytes();
            if bytes.len() > 8 {
                return Err(bad("has a CRL number beyond 64 bits".into()));
            }
            number = Some(bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)));
        } else if e.extn_id == ID_CE_ISSUING_DISTRIBUTION_POINT {
            let idp = IssuingDistributionPoint::from_der(e.extn_value.as_bytes())?;
            if let Some(DistributionPointName::FullName(names)) = idp.distribution_point {
                distribution_point = names.iter().find_map(|n| match n {
                    GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
                    _ => None,
                });
            }
        }
    }
    let this_update = OffsetDateTime::from_unix_timestamp(
        crl.tbs_cert_list.this_update.to_unix_duration().as_secs() as i64,
    )
    .map_err(|e| bad(format!("has a thisUpdate out of range: {e}")))?;
    Ok(CrlFacts {
        number: number.ok_or_else(|| bad("has no CRL number".into()))?,
        this_update,
        distribution_point,
    })
}

#[cfg(test)]
mod tests {
    use x509_cert::crl::RevokedCert;
    use x509_cert::serial_number::SerialNumber;

    use super::*;

    fn owned_encoding(entries: &[CrlEntry]) -> Vec<Vec<u8>> {
        entries
            .iter()
            .map(|e| {
                RevokedCert::<x509_cert::certificate::Rfc5280> {
                    serial_number: SerialNumber::new(e.serial.as_der_integer()).expect("serial"),
                    revocation_date: x509_time(e.revoked_at).expect("time"),
                    crl_entry_extensions: e
                        .reason_code
                        .and_then(reason)
                        .map(|r| vec![ext(ID_CE_CRL_REASONS, false, &r).expect("ext")]),
                }
                .to_der()
                .expect("der")
            })
            .collect()
    }

    /// Each entry is byte for byte what x509-cert's owned RevokedCert encodes, and the entries
    /// concatenate into a list x509-cert decodes.
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
        for (e, d) in entries.iter().zip(owned_encoding(&entries)) {
            assert_eq!(RevokedList::from_entries([e]).expect("one").der, d);
        }
        let mut stored = RevokedList::default();
        let concatenated: Vec<u8> = entries
            .iter()
            .flat_map(|e| RevokedList::entry_der(e).expect("entry"))
            .collect();
        stored
            .extend_encoded(&concatenated)
            .expect("stored entries");
        assert_eq!((stored.len(), &stored.der), (3, &list.der));
        assert!(
            stored
                .extend_encoded(&concatenated[..concatenated.len() - 1])
                .is_err()
        );
        assert!(stored.extend_encoded(&[0x04, 0x00]).is_err());
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
