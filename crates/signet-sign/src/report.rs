//! What a person wants to know of a signed file, in words: who signed, when, whether the file
//! changed since, whether the signer's certificate leads to a trusted root, and whether it was
//! valid when the signature was made and is now. The status comes from the caller (a CA's own
//! records, or OCSP and CRLs), judged here by one rule.

use der::Encode;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use x509_cert::Certificate;

use crate::pades;
use crate::verify::{self, Checked};
use crate::{Level, SignError};

/// A certificate's revocation status as some source knows it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Not revoked.
    Good,
    /// Revoked at this time.
    Revoked(OffsetDateTime),
    /// Not known; the text says why.
    Unknown(String),
}

/// Who a certificate names, as a person reads it.
#[derive(Debug, Clone, Serialize)]
pub struct Person {
    /// The common name.
    pub name: String,
    /// The organization, if named.
    pub organization: Option<String>,
    /// The e-mail address, if named.
    pub email: Option<String>,
    /// The whole subject DN.
    pub subject: String,
}

/// One signature's findings.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureReport {
    /// The PDF signature field, if any.
    pub field: Option<String>,
    /// `signature` or `document_time_stamp`.
    pub kind: &'static str,
    /// Whether the signature itself checks out (digest, signature value, certificate binding).
    pub intact: bool,
    /// Who signed (the TSA for a document time-stamp); absent when the signature is unreadable.
    pub signer: Option<Person>,
    /// The signer certificate's serial (hex) and issuer.
    pub serial: Option<String>,
    /// The issuer's DN.
    pub issuer: Option<String>,
    /// The time the signer claims (not proven).
    pub claimed_time: Option<String>,
    /// The time a time-stamp authority vouches for.
    pub time_stamp: Option<String>,
    /// Who vouched for it.
    pub time_stamp_authority: Option<String>,
    /// Whether the file was changed after signing in a way a reader sees.
    pub changed_after_signing: bool,
    /// The baseline level reached (B-B, B-T, B-LT, B-LTA).
    pub level: Option<String>,
    /// The certificate path, signer first.
    pub chain: Vec<String>,
    /// Whether the path ends at a trusted root.
    pub trusted: bool,
    /// `good`, `revoked` or `unknown`, when the signature was made (as far as it can be proven).
    pub status_at_signing: String,
    /// `good`, `revoked` or `unknown`, now.
    pub status_now: String,
    /// When the certificate was revoked, if it was.
    pub revoked_at: Option<String>,
    /// Everything worth saying, one sentence each.
    pub findings: Vec<String>,
    /// The bottom line in one sentence.
    pub verdict: String,
    #[serde(skip)]
    signer_certificate: Option<Certificate>,
    #[serde(skip)]
    proven_time: Option<OffsetDateTime>,
    #[serde(skip)]
    issuer_certificate: Option<Certificate>,
    #[serde(skip)]
    validity_at_signing: Validity,
}

/// Whether the signer's certificate was within its validity period when it signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Validity {
    Valid,
    NotValid,
    Unproven,
}

/// The findings for a whole file.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `pdf` or `detached`.
    pub format: &'static str,
    /// One entry per signature, in the file's order.
    pub signatures: Vec<SignatureReport>,
}

fn attribute(certificate: &Certificate, oid: const_oid::ObjectIdentifier) -> Option<String> {
    certificate
        .tbs_certificate()
        .subject()
        .iter()
        .find(|atv| atv.oid == oid)
        .and_then(|atv| {
            atv.value
                .decode_as::<String>()
                .ok()
                .or_else(|| {
                    atv.value
                        .decode_as::<der::asn1::PrintableStringRef<'_>>()
                        .ok()
                        .map(|s| s.to_string())
                })
                .or_else(|| {
                    atv.value
                        .decode_as::<der::asn1::Ia5StringRef<'_>>()
                        .ok()
                        .map(|s| s.to_string())
                })
        })
}

fn person(certificate: &Certificate) -> Person {
    use const_oid::db::rfc4519::{CN, O};
    let email = attribute(certificate, const_oid::db::rfc3280::EMAIL_ADDRESS).or_else(|| {
        certificate
            .tbs_certificate()
            .get_extension::<x509_cert::ext::pkix::SubjectAltName>()
            .ok()
            .flatten()
            .and_then(|(_, san)| {
                san.0.into_iter().find_map(|n| match n {
                    x509_cert::ext::pkix::name::GeneralName::Rfc822Name(m) => Some(m.to_string()),
                    _ => None,
                })
            })
    });
    Person {
        name: attribute(certificate, CN).unwrap_or_default(),
        organization: attribute(certificate, O),
        email,
        subject: certificate.tbs_certificate().subject().to_string(),
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Whether `path` ends at one of `anchors` (the root itself, or a certificate one of them signed).
fn trusted(path: &[Certificate], anchors: &[Certificate]) -> bool {
    let Some(last) = path.last() else {
        return false;
    };
    anchors.iter().any(|anchor| {
        anchor.to_der().ok() == last.to_der().ok()
            || signet_pki::signed_data::verify_issued_by(last, anchor).is_ok()
    })
}

fn broken(field: Option<String>, kind: &'static str, error: &SignError) -> SignatureReport {
    SignatureReport {
        field,
        kind,
        intact: false,
        signer: None,
        serial: None,
        issuer: None,
        claimed_time: None,
        time_stamp: None,
        time_stamp_authority: None,
        changed_after_signing: true,
        level: None,
        chain: Vec::new(),
        trusted: false,
        status_at_signing: "unknown".into(),
        status_now: "unknown".into(),
        revoked_at: None,
        findings: vec![format!("The signature does not check out: {error}.")],
        verdict: "INVALID: the signature does not match the file, or is damaged.".into(),
        signer_certificate: None,
        proven_time: None,
        issuer_certificate: None,
        validity_at_signing: Validity::Unproven,
    }
}

/// Why a path cannot be relied on at `at`: an issuer that is not a CA or may not sign
/// certificates, or a certificate not valid at that time (X.509 path validation's basic checks;
/// the signatures of the links were checked when the path was built).
/// `with_first`: whether the first certificate's own validity counts (the signer's is judged
/// with its status instead).
fn path_problem(path: &[Certificate], at: OffsetDateTime, with_first: bool) -> Option<String> {
    use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
    for (i, certificate) in path.iter().enumerate() {
        let tbs = certificate.tbs_certificate();
        if i == 0 && !with_first {
            continue;
        }
        let validity = tbs.validity();
        let (from, to) = (
            OffsetDateTime::from(validity.not_before.to_system_time()),
            OffsetDateTime::from(validity.not_after.to_system_time()),
        );
        if at < from || at > to {
            return Some(format!(
                "the certificate of {} was not valid at {} (valid from {} to {})",
                tbs.subject(),
                rfc3339(at),
                rfc3339(from),
                rfc3339(to)
            ));
        }
        if i == 0 {
            continue;
        }
        let ca = tbs
            .get_extension::<BasicConstraints>()
            .ok()
            .flatten()
            .is_some_and(|(_, bc)| bc.ca);
        let signs_certificates = tbs
            .get_extension::<KeyUsage>()
            .ok()
            .flatten()
            .is_none_or(|(_, ku)| ku.0.contains(KeyUsages::KeyCertSign));
        if !ca || !signs_certificates {
            return Some(format!(
                "{} issued a certificate on the path but is not a certificate authority",
                tbs.subject()
            ));
        }
    }
    None
}

/// The issuer of `path`'s first certificate: the next on the path, or the anchor that signed it.
fn issuer_of(path: &[Certificate], anchors: &[Certificate]) -> Option<Certificate> {
    path.get(1).cloned().or_else(|| {
        let first = path.first()?;
        anchors
            .iter()
            .find(|a| signet_pki::signed_data::verify_issued_by(first, a).is_ok())
            .cloned()
    })
}

fn examined(
    checked: Checked,
    anchors: &[Certificate],
    changes: &[String],
    now: OffsetDateTime,
) -> SignatureReport {
    let tbs = checked.signer.tbs_certificate();
    let mut findings = Vec::new();
    // A time-stamp proves a time only if its authority is trusted and was valid then.
    let stamp_problem = checked.time_stamp.as_ref().map(|stamp| {
        if !trusted(&stamp.path, anchors) {
            Some("its authority does not lead to a trusted root".to_owned())
        } else {
            path_problem(&stamp.path, stamp.time, true)
        }
    });
    let proven_time = match (&checked.time_stamp, &stamp_problem) {
        (Some(stamp), Some(None)) => Some(stamp.time),
        _ => None,
    };
    match (&checked.time_stamp, &stamp_problem) {
        (Some(s), Some(None)) => findings.push(format!(
            "A time-stamp by {} proves the signature existed at {}.",
            s.tsa.tbs_certificate().subject(),
            rfc3339(s.time)
        )),
        (Some(_), Some(Some(why))) => {
            findings.push(format!("The time-stamp proves nothing: {why}."))
        }
        _ if !checked.document_time_stamp => findings.push(
            "No time-stamp: the signing time is only what the signer's computer claimed.".into(),
        ),
        _ => {}
    }
    let signed_at = proven_time.unwrap_or(now);
    let chain_ok = trusted(&checked.path, anchors);
    // The CA certificates must be fit for the job at the signing time; the signer's own validity
    // is judged with the status (an expired certificate signed nothing valid).
    let chain_problem = path_problem(&checked.path, signed_at, false);
    let trusted = chain_ok && chain_problem.is_none();
    if trusted {
        findings.push("The signer's certificate leads to a trusted root.".into());
    } else if let Some(why) = &chain_problem {
        findings.push(format!("The certificate path cannot be relied on: {why}."));
    } else {
        findings.push(
            "The signer's certificate does not lead to a trusted root: anyone could have made it."
                .into(),
        );
    }
    let validity = tbs.validity();
    let (from, to) = (
        OffsetDateTime::from(validity.not_before.to_system_time()),
        OffsetDateTime::from(validity.not_after.to_system_time()),
    );
    let validity_at_signing = if (from..=to).contains(&signed_at) {
        Validity::Valid
    } else if proven_time.is_some() {
        findings.push(format!(
            "The certificate was not valid at the time-stamped signing time (valid from {} to {}).",
            rfc3339(from),
            rfc3339(to)
        ));
        Validity::NotValid
    } else {
        findings.push(format!(
            "The certificate is not valid now (valid from {} to {}) and no time-stamp proves the signature was made while it was.",
            rfc3339(from),
            rfc3339(to)
        ));
        Validity::Unproven
    };
    if !changes.is_empty() {
        findings.push(format!(
            "The file was changed after signing: what you see is not what was signed ({}).",
            changes
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ));
    } else if !checked.covers_whole_file {
        findings.push("Only signatures, validation data or time-stamps were added after signing; the signed content is unchanged.".into());
    } else {
        findings.push("The file has not been changed since it was signed.".into());
    }
    let issuer_certificate = issuer_of(&checked.path, anchors);
    let changed = !changes.is_empty();
    SignatureReport {
        field: checked.field.clone(),
        kind: if checked.document_time_stamp {
            "document_time_stamp"
        } else {
            "signature"
        },
        intact: true,
        signer: Some(person(&checked.signer)),
        serial: Some(hex::encode_upper(tbs.serial_number().as_bytes())),
        issuer: Some(tbs.issuer().to_string()),
        claimed_time: checked.claimed_time.clone(),
        time_stamp: proven_time.map(rfc3339),
        time_stamp_authority: checked
            .time_stamp
            .as_ref()
            .map(|s| s.tsa.tbs_certificate().subject().to_string()),
        changed_after_signing: changed,
        level: Some(checked.level.to_string()),
        chain: checked
            .path
            .iter()
            .map(|c| c.tbs_certificate().subject().to_string())
            .collect(),
        trusted,
        status_at_signing: "unknown".into(),
        status_now: "unknown".into(),
        revoked_at: None,
        findings,
        verdict: String::new(),
        issuer_certificate,
        signer_certificate: Some(checked.signer),
        proven_time,
        validity_at_signing,
    }
}

impl SignatureReport {
    /// The signer's certificate, for a status look-up (none when the signature is unreadable).
    pub fn signer_certificate(&self) -> Option<&Certificate> {
        self.signer_certificate.as_ref()
    }

    /// The signer certificate's issuer, when the signature carries it.
    pub fn issuer_certificate(&self) -> Option<&Certificate> {
        self.issuer_certificate.as_ref()
    }

    /// Records the signer certificate's status and judges the signature: revoked after a
    /// proven signing time still means valid when signed; without a time-stamp nothing proves
    /// the signature came before the revocation.
    pub fn judge(&mut self, standing: Standing) {
        let (at_signing, now) = match &standing {
            Standing::Good => ("good", "good"),
            Standing::Revoked(at) => {
                self.revoked_at = Some(rfc3339(*at));
                match self.proven_time {
                    // Time-stamps are accurate to a second: closer than that, no order is proven.
                    Some(signed) if (signed - *at).abs() <= time::Duration::seconds(1) => {
                        self.findings.push(format!(
                            "The certificate was revoked at {}, within a second of the time-stamp: which came first cannot be shown.",
                            rfc3339(*at)
                        ));
                        ("unknown", "revoked")
                    }
                    Some(signed) if signed < *at => {
                        self.findings.push(format!(
                            "The certificate was revoked at {}, after the time-stamped signing time: the signature was made while it was valid.",
                            rfc3339(*at)
                        ));
                        ("good", "revoked")
                    }
                    Some(_) => {
                        self.findings.push(format!(
                            "The certificate was revoked at {}, before the signature was made.",
                            rfc3339(*at)
                        ));
                        ("revoked", "revoked")
                    }
                    None => {
                        self.findings.push(format!(
                            "The certificate was revoked at {}; without a time-stamp nothing proves the signature was made before.",
                            rfc3339(*at)
                        ));
                        ("unknown", "revoked")
                    }
                }
            }
            Standing::Unknown(why) => {
                self.findings
                    .push(format!("The certificate's status is unknown: {why}."));
                ("unknown", "unknown")
            }
        };
        let at_signing = match self.validity_at_signing {
            Validity::Valid => at_signing,
            Validity::NotValid => "not valid",
            Validity::Unproven if at_signing == "good" => "unknown",
            Validity::Unproven => at_signing,
        };
        self.status_at_signing = at_signing.into();
        self.status_now = now.into();
        self.verdict = if !self.intact {
            "INVALID: the signature does not match the file, or is damaged.".into()
        } else if self.changed_after_signing {
            "INVALID: the file was changed after it was signed.".into()
        } else if !self.trusted {
            "NOT TRUSTED: the signature is intact, but the certificate does not lead to a trusted root.".into()
        } else if at_signing == "good" {
            "VALID: the file is as signed, by a trusted certificate that was valid when it signed."
                .into()
        } else if at_signing == "revoked" {
            "INVALID: the certificate was already revoked when it signed.".into()
        } else if at_signing == "not valid" {
            "INVALID: the certificate was expired or not yet valid when it signed.".into()
        } else {
            "INDETERMINATE: the signature is intact and trusted, but its certificate's status at signing time cannot be shown.".into()
        };
    }
}

/// Examines a PDF's signatures, or a detached signature over `input`, as of now; statuses are
/// filled in afterwards with [`SignatureReport::judge`].
pub fn examine(
    input: &[u8],
    signature: Option<&[u8]>,
    anchors: &[Certificate],
) -> Result<Report, SignError> {
    examine_at(input, signature, anchors, OffsetDateTime::now_utc())
}

/// [`examine`] as of `now`: the time a signature without a time-stamp is judged at.
pub fn examine_at(
    input: &[u8],
    signature: Option<&[u8]>,
    anchors: &[Certificate],
    now: OffsetDateTime,
) -> Result<Report, SignError> {
    if let Some(p7s) = signature {
        let report = match verify::detached(input, p7s) {
            Ok(checked) => examined(checked, anchors, &[], now),
            Err(SignError::NotSigned(why)) => return Err(SignError::NotSigned(why)),
            Err(e) => broken(None, "signature", &e),
        };
        return Ok(Report {
            format: "detached",
            signatures: vec![report],
        });
    }
    if !crate::is_pdf(input) {
        return Err(SignError::NotSigned(
            "this is not a PDF; for any other file give its detached signature (.p7s) as well"
                .into(),
        ));
    }
    let mut signatures = Vec::new();
    for (found, checked) in verify::pdf_each(input)? {
        let kind = if found.document_time_stamp {
            "document_time_stamp"
        } else {
            "signature"
        };
        signatures.push(match checked {
            Ok(checked) => {
                let changes = if found.covers_whole_file {
                    Vec::new()
                } else {
                    pades::revision_changes(input, found.end())?
                };
                examined(checked, anchors, &changes, now)
            }
            Err(e) => broken(Some(found.field.clone()), kind, &e),
        });
    }
    if signatures.is_empty() {
        return Err(SignError::NotSigned("this PDF carries no signature".into()));
    }
    Ok(Report {
        format: "pdf",
        signatures,
    })
}

impl Report {
    /// The level the signatures reach, at best.
    pub fn level(&self) -> Option<Level> {
        self.signatures
            .iter()
            .filter_map(|s| s.level.as_deref())
            .filter_map(|l| l.parse().ok())
            .max()
    }
}

impl Report {
    /// The report as a person reads it on a terminal; control characters from the file (an
    /// escape sequence in a field name could rewrite the screen) are shown as `?`.
    pub fn to_text(&self) -> String {
        let clean = |s: &mut String| {
            *s = s
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect();
        };
        let mut shown = self.clone();
        for s in &mut shown.signatures {
            let person = s.signer.iter_mut().flat_map(|p| {
                [Some(&mut p.name), p.organization.as_mut(), p.email.as_mut()]
                    .into_iter()
                    .flatten()
            });
            person
                .chain(s.field.iter_mut())
                .chain(s.claimed_time.iter_mut())
                .chain(s.chain.iter_mut())
                .chain(s.findings.iter_mut())
                .for_each(clean);
        }
        shown.raw_text()
    }

    fn raw_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for (i, s) in self.signatures.iter().enumerate() {
            let what = if s.kind == "document_time_stamp" {
                "Document time-stamp"
            } else {
                "Signature"
            };
            let _ = writeln!(
                out,
                "{what} {}{}",
                i + 1,
                s.field
                    .as_ref()
                    .map(|f| format!(" ({f})"))
                    .unwrap_or_default()
            );
            let _ = writeln!(out, "  {}", s.verdict);
            if let Some(p) = &s.signer {
                let _ = writeln!(out, "  Signed by:      {}", p.name);
                if let Some(o) = &p.organization {
                    let _ = writeln!(out, "  Organization:   {o}");
                }
                if let Some(e) = &p.email {
                    let _ = writeln!(out, "  E-mail:         {e}");
                }
            }
            if let Some(t) = &s.claimed_time {
                let _ = writeln!(out, "  Claimed time:   {t}");
            }
            if let Some(t) = &s.time_stamp {
                let _ = writeln!(out, "  Time-stamp:     {t}");
            }
            if let Some(l) = &s.level {
                let _ = writeln!(out, "  Level:          {l}");
            }
            let _ = writeln!(
                out,
                "  Status when signed: {}; now: {}",
                s.status_at_signing, s.status_now
            );
            for c in &s.chain {
                let _ = writeln!(out, "  Chain:          {c}");
            }
            for f in &s.findings {
                let _ = writeln!(out, "  - {f}");
            }
            out.push('\n');
        }
        out
    }

    /// Whether every signature is judged valid.
    pub fn all_valid(&self) -> bool {
        self.signatures
            .iter()
            .all(|s| s.verdict.starts_with("VALID"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-page PDF whose catalog carries `acro_form`, with a correct xref table.
    fn pdf_with(acro_form: &str, extra: &[&str]) -> Vec<u8> {
        let mut objects = vec![
            format!("<</Type/Catalog/Pages 2 0 R/AcroForm {acro_form}>>"),
            "<</Type/Pages/Kids[3 0 R]/Count 1>>".to_owned(),
            "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>".to_owned(),
        ];
        objects.extend(extra.iter().map(|s| (*s).to_owned()));
        let mut out = b"%PDF-1.7\n".to_vec();
        let mut offsets = Vec::new();
        for (i, o) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for o in offsets {
            out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<</Size {}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        out
    }

    /// Hostile signed PDFs get an answer (a report of a broken signature, or an error), never a
    /// panic, on the stack of a tokio blocking thread.
    #[test]
    fn hostile_signatures_are_answered_without_crashing() {
        let cases = [
            // /ByteRange beyond the end of the file.
            pdf_with(
                "4 0 R",
                &[
                    "<</Fields[5 0 R]>>",
                    "<</FT/Sig/V 6 0 R>>",
                    "<</Type/Sig/ByteRange[0 10 99999999 10]/Contents<3000>>>",
                ],
            ),
            // /Contents not a CMS.
            pdf_with(
                "4 0 R",
                &[
                    "<</Fields[5 0 R]>>",
                    "<</FT/Sig/V 6 0 R>>",
                    "<</Type/Sig/ByteRange[0 10 20 10]/Contents<DEADBEEF>>>",
                ],
            ),
            // A field whose value is itself, fields that are themselves.
            pdf_with(
                "4 0 R",
                &["<</Fields[5 0 R 4 0 R]>>", "<</FT/Sig/V 5 0 R>>"],
            ),
            // Negative and odd-length byte ranges.
            pdf_with(
                "4 0 R",
                &[
                    "<</Fields[5 0 R]>>",
                    "<</FT/Sig/V 6 0 R>>",
                    "<</Type/Sig/ByteRange[-5 10 20]/Contents<00>>>",
                ],
            ),
            // Deeply nested arrays in the signature dictionary.
            pdf_with(
                "4 0 R",
                &[
                    "<</Fields[5 0 R]>>",
                    "<</FT/Sig/V 6 0 R>>",
                    &format!(
                        "<</Type/Sig/ByteRange{}{}>>",
                        "[".repeat(100_000),
                        "]".repeat(100_000)
                    ),
                ],
            ),
        ];
        for (i, case) in cases.into_iter().enumerate() {
            let answer = std::thread::Builder::new()
                .stack_size(2 * 1024 * 1024)
                .spawn(move || {
                    examine(&case, None, &[]).map(|r| r.signatures.iter().all(|s| !s.intact))
                })
                .expect("thread")
                .join()
                .expect("answered, not crashed");
            assert!(
                answer.unwrap_or(true),
                "case {i}: a hostile signature was called intact"
            );
        }
    }

    #[test]
    fn a_revocation_after_the_time_stamp_leaves_the_signature_valid() {
        let stamped = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time");
        let mut report = broken(None, "signature", &SignError::Usage("x".into()));
        (report.intact, report.trusted, report.changed_after_signing) = (true, true, false);
        report.proven_time = Some(stamped);
        report.validity_at_signing = Validity::Valid;
        let mut later = report.clone();
        later.judge(Standing::Revoked(stamped + time::Duration::minutes(5)));
        assert_eq!(
            (later.status_at_signing.as_str(), later.status_now.as_str()),
            ("good", "revoked")
        );
        assert!(later.verdict.starts_with("VALID"), "{}", later.verdict);
        let mut earlier = report.clone();
        earlier.judge(Standing::Revoked(stamped - time::Duration::minutes(5)));
        assert!(
            earlier.verdict.starts_with("INVALID"),
            "{}",
            earlier.verdict
        );
        let mut same_second = report.clone();
        same_second.judge(Standing::Revoked(stamped));
        assert!(
            same_second.verdict.starts_with("INDETERMINATE"),
            "{}",
            same_second.verdict
        );
        report.proven_time = None;
        report.judge(Standing::Revoked(stamped));
        assert!(
            report.verdict.starts_with("INDETERMINATE"),
            "{}",
            report.verdict
        );
    }
}
