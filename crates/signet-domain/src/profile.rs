//! Certificate profiles and products: data from the configuration, checked once at start-up.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::Refusal;
use crate::validity::{ABSOLUTE_MAX_MONTHS, SMIME_MAX_DAYS, ValidityLimit};

/// Extended key usages a subscriber profile may carry. serverAuth, codeSigning and
/// anyExtendedKeyUsage are deliberately not representable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtendedKeyUsage {
    /// id-kp-clientAuth: TLS client authentication (logging in to services).
    ClientAuth,
    /// id-kp-emailProtection: S/MIME.
    EmailProtection,
    /// id-kp-documentSigning (RFC 9336).
    DocumentSigning,
    /// Microsoft Document Signing, for Office signatures on Windows.
    MicrosoftDocumentSigning,
}

impl ExtendedKeyUsage {
    /// The purpose's object identifier, dotted, as the extKeyUsage extension carries it.
    pub fn oid(self) -> &'static str {
        match self {
            ExtendedKeyUsage::ClientAuth => "1.3.6.1.5.5.7.3.2",
            ExtendedKeyUsage::EmailProtection => "1.3.6.1.5.5.7.3.4",
            ExtendedKeyUsage::DocumentSigning => "1.3.6.1.5.5.7.3.36",
            ExtendedKeyUsage::MicrosoftDocumentSigning => "1.3.6.1.4.1.311.10.3.12",
        }
    }
}

/// Key usage bits a subscriber certificate may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyUsage {
    /// digitalSignature: signatures and TLS client authentication. Every S/MIME profile needs it.
    DigitalSignature,
    /// nonRepudiation (contentCommitment): document signatures a signer stands behind.
    NonRepudiation,
    /// keyEncipherment: RSA keys that decrypt S/MIME mail. Refused for EC keys.
    KeyEncipherment,
    /// keyAgreement: EC keys that decrypt S/MIME mail (ECDH). Refused for RSA keys.
    KeyAgreement,
}

/// Reserved CA/Browser Forum S/MIME policy arc (2.23.140.1.5.{kind}.{generation}).
const SMIME_POLICY_ARC: &str = "2.23.140.1.5.";

/// The S/MIME certificate type a reserved policy OID names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmimeType {
    /// Mailbox-validated (`2.23.140.1.5.1.*`): only the e-mail address is vetted.
    MailboxValidated,
    /// Organization-validated (`2.23.140.1.5.2.*`): an organization's mailbox, no person named.
    OrganizationValidated,
    /// Sponsor-validated (`2.23.140.1.5.3.*`): a person vetted together with the organization that
    /// sponsors them; what Signet's S/MIME product issues.
    SponsorValidated,
    /// Individual-validated (`2.23.140.1.5.4.*`): a person vetted on their own, no organization.
    IndividualValidated,
}

/// The S/MIME generation a reserved policy OID names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmimeGeneration {
    /// `.1`: refused, legacy issuance ended on 15 July 2025.
    Legacy,
    /// `.2`: emailProtection plus other purposes (clientAuth, document signing).
    Multipurpose,
    /// `.3`: emailProtection only.
    Strict,
}

/// What a profile says, as written in `signet.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    /// Name of the issuing CA that signs certificates of this profile.
    pub issuer: String,
    /// Longest validity, e.g. `"39 months"` or `"825 days"`; at most 39 months (R-CRT-2), and 825
    /// days for S/MIME profiles.
    pub max_validity: ValidityLimit,
    /// extKeyUsage purposes; at least one, none twice.
    pub extended_key_usages: Vec<ExtendedKeyUsage>,
    /// keyUsage bits for RSA subscriber keys; at least one, never keyAgreement.
    pub key_usage_rsa: Vec<KeyUsage>,
    /// keyUsage bits for EC subscriber keys; at least one, never keyEncipherment.
    pub key_usage_ec: Vec<KeyUsage>,
    /// Certificate policy OIDs, dotted.
    pub policies: Vec<String>,
    /// Refuse orders whose identity has no `organization_identifier`; required for organization-
    /// and sponsor-validated S/MIME profiles.
    #[serde(default)]
    pub require_organization_identifier: bool,
}

/// A profile whose settings were checked against Signet's rules and, where it names an S/MIME
/// policy, against the S/MIME Baseline Requirements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    name: String,
    spec: ProfileSpec,
    smime: Option<(SmimeType, SmimeGeneration)>,
}

impl Profile {
    /// Checks a profile as configured (R-CRT-3): validity within 39 months, usages present and
    /// unique and meaningful for the key type, policies dotted OIDs and unique, and a profile that
    /// names a reserved S/MIME policy against the S/MIME Baseline Requirements.
    pub fn new(name: &str, spec: ProfileSpec) -> Result<Profile, Refusal> {
        let bad = |why: String| Refusal::InvalidConfig(format!("profile `{name}`: {why}"));
        if !spec
            .max_validity
            .fits_within(ValidityLimit::Months(ABSOLUTE_MAX_MONTHS))
        {
            return Err(bad(format!(
                "max_validity {} exceeds {ABSOLUTE_MAX_MONTHS} months",
                spec.max_validity
            )));
        }
        if spec.extended_key_usages.is_empty() {
            return Err(bad("extended_key_usages must not be empty".into()));
        }
        unique(&spec.extended_key_usages)
            .map_err(|d| bad(format!("extended key usage {d:?} listed twice")))?;
        for (kind, usages) in [
            ("key_usage_rsa", &spec.key_usage_rsa),
            ("key_usage_ec", &spec.key_usage_ec),
        ] {
            if usages.is_empty() {
                return Err(bad(format!("{kind} must not be empty")));
            }
            unique(usages).map_err(|d| bad(format!("{kind}: {d:?} listed twice")))?;
        }
        if spec.key_usage_ec.contains(&KeyUsage::KeyEncipherment) {
            return Err(bad("keyEncipherment is meaningless for EC keys".into()));
        }
        if spec.key_usage_rsa.contains(&KeyUsage::KeyAgreement) {
            return Err(bad("keyAgreement is meaningless for RSA keys".into()));
        }
        if spec.policies.is_empty() {
            return Err(bad("at least one certificate policy OID is required".into()));
        }
        for oid in &spec.policies {
            if !is_dotted_oid(oid) {
                return Err(bad(format!("`{oid}` is not a dotted object identifier")));
            }
        }
        unique(&spec.policies).map_err(|d| bad(format!("policy {d} listed twice")))?;
        let smime = smime_policy(&spec.policies).map_err(bad)?;
        if let Some((kind, generation)) = smime {
            check_smime(&spec, kind, generation).map_err(bad)?;
        }
        Ok(Profile {
            name: name.to_owned(),
            spec,
            smime,
        })
    }

    /// The key under `[profiles]`, e.g. `class3-auth`.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Name of the issuing CA that signs its certificates.
    pub fn issuer(&self) -> &str {
        &self.spec.issuer
    }
    /// The longest validity it allows (R-CRT-2).
    pub fn max_validity(&self) -> ValidityLimit {
        self.spec.max_validity
    }
    /// The extKeyUsage purposes its certificates carry.
    pub fn extended_key_usages(&self) -> &[ExtendedKeyUsage] {
        &self.spec.extended_key_usages
    }
    /// Key usage for the subscriber's key type.
    pub fn key_usage(&self, rsa: bool) -> &[KeyUsage] {
        if rsa {
            &self.spec.key_usage_rsa
        } else {
            &self.spec.key_usage_ec
        }
    }
    /// The certificatePolicies OIDs its certificates carry, dotted.
    pub fn policies(&self) -> &[String] {
        &self.spec.policies
    }
    /// Whether orders under it must give an `organization_identifier`.
    pub fn requires_organization_identifier(&self) -> bool {
        self.spec.require_organization_identifier
    }
    /// The S/MIME type and generation, when this is an S/MIME BR profile.
    pub fn smime(&self) -> Option<(SmimeType, SmimeGeneration)> {
        self.smime
    }
    /// The settings as configured (and checked).
    pub fn spec(&self) -> &ProfileSpec {
        &self.spec
    }
}

fn unique<T: Ord + Clone + std::fmt::Debug>(items: &[T]) -> Result<(), T> {
    let mut seen = BTreeSet::new();
    for i in items {
        if !seen.insert(i.clone()) {
            return Err(i.clone());
        }
    }
    Ok(())
}

/// A dotted OID: at least two numeric arcs, the first 0–2, no leading zeros, each arc within 32
/// bits (what common ASN.1 libraries, and so relying parties, handle).
pub fn is_dotted_oid(text: &str) -> bool {
    let arcs: Vec<&str> = text.split('.').collect();
    arcs.len() >= 2
        && arcs.iter().all(|a| {
            !a.is_empty()
                && a.chars().all(|c| c.is_ascii_digit())
                && (a.len() == 1 || !a.starts_with('0'))
                && a.parse::<u32>().is_ok()
        })
        && matches!(arcs[0], "0" | "1" | "2")
        // The first two arcs share one octet in DER: 40 * first + second < 256 here.
        && arcs[1].parse::<u32>().is_ok_and(|second| if arcs[0] == "2" { second <= 175 } else { second < 40 })
}

/// Finds the reserved S/MIME policy, if any: the BRs allow exactly one per certificate.
fn smime_policy(policies: &[String]) -> Result<Option<(SmimeType, SmimeGeneration)>, String> {
    let reserved: Vec<&String> = policies
        .iter()
        .filter(|p| p.starts_with(SMIME_POLICY_ARC))
        .collect();
    match reserved.as_slice() {
        [] => Ok(None),
        [one] => {
            let rest = &one[SMIME_POLICY_ARC.len()..];
            let kind = match rest.split('.').next() {
                Some("1") => SmimeType::MailboxValidated,
                Some("2") => SmimeType::OrganizationValidated,
                Some("3") => SmimeType::SponsorValidated,
                Some("4") => SmimeType::IndividualValidated,
                _ => {
                    return Err(format!(
                        "`{one}` is not a reserved S/MIME policy identifier"
                    ));
                }
            };
            let generation = match rest.split('.').nth(1) {
                Some("1") => SmimeGeneration::Legacy,
                Some("2") => SmimeGeneration::Multipurpose,
                Some("3") => SmimeGeneration::Strict,
                _ => {
                    return Err(format!(
                        "`{one}` is not a reserved S/MIME policy identifier"
                    ));
                }
            };
            if generation == SmimeGeneration::Legacy {
                return Err(format!(
                    "`{one}` is a legacy S/MIME policy; legacy issuance ended on 15 July 2025"
                ));
            }
            Ok(Some((kind, generation)))
        }
        _ => Err(
            "an S/MIME certificate carries exactly one reserved S/MIME policy identifier".into(),
        ),
    }
}

fn check_smime(
    spec: &ProfileSpec,
    kind: SmimeType,
    generation: SmimeGeneration,
) -> Result<(), String> {
    if !spec
        .max_validity
        .fits_within(ValidityLimit::Days(SMIME_MAX_DAYS))
    {
        return Err(format!(
            "S/MIME certificates are valid at most {SMIME_MAX_DAYS} days, not {}",
            spec.max_validity
        ));
    }
    if !spec
        .extended_key_usages
        .contains(&ExtendedKeyUsage::EmailProtection)
    {
        return Err("S/MIME profiles must include email_protection".into());
    }
    if generation == SmimeGeneration::Strict && spec.extended_key_usages.len() > 1 {
        return Err("strict S/MIME profiles allow only email_protection".into());
    }
    if !spec.key_usage_rsa.contains(&KeyUsage::DigitalSignature)
        || (generation != SmimeGeneration::Strict
            && !spec.key_usage_rsa.contains(&KeyUsage::KeyEncipherment))
    {
        return Err(
            "S/MIME key usage for RSA must include digital_signature and key_encipherment".into(),
        );
    }
    if !spec.key_usage_ec.contains(&KeyUsage::DigitalSignature) {
        return Err("S/MIME key usage for EC must include digital_signature".into());
    }
    let org_validated = matches!(
        kind,
        SmimeType::OrganizationValidated | SmimeType::SponsorValidated
    );
    if org_validated && !spec.require_organization_identifier {
        return Err("organization- and sponsor-validated S/MIME profiles need require_organization_identifier = true".into());
    }
    Ok(())
}

/// The reserved policy OID of sponsor-validated multipurpose S/MIME certificates.
pub const SMIME_SPONSOR_MULTIPURPOSE: &str = "2.23.140.1.5.3.2";

/// Starting points that `init` writes into the configuration; operators edit them there.
pub mod templates {
    use super::*;

    /// Class 3 personal authentication and document signing (R-CRT-3), up to 39 months.
    pub fn class3_auth(issuer: &str, policy: &str) -> ProfileSpec {
        let usage = vec![KeyUsage::DigitalSignature, KeyUsage::NonRepudiation];
        ProfileSpec {
            issuer: issuer.into(),
            max_validity: ValidityLimit::Months(39),
            extended_key_usages: vec![
                ExtendedKeyUsage::ClientAuth,
                ExtendedKeyUsage::DocumentSigning,
            ],
            key_usage_rsa: usage.clone(),
            key_usage_ec: usage,
            policies: vec![policy.into()],
            require_organization_identifier: false,
        }
    }

    /// S/MIME BR sponsor-validated multipurpose: emailProtection + clientAuth, up to 825 days.
    pub fn smime_sponsor_multipurpose(issuer: &str) -> ProfileSpec {
        ProfileSpec {
            issuer: issuer.into(),
            max_validity: ValidityLimit::Days(825),
            extended_key_usages: vec![
                ExtendedKeyUsage::EmailProtection,
                ExtendedKeyUsage::ClientAuth,
            ],
            key_usage_rsa: vec![KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment],
            key_usage_ec: vec![KeyUsage::DigitalSignature],
            policies: vec![SMIME_SPONSOR_MULTIPURPOSE.into()],
            require_organization_identifier: true,
        }
    }
}

/// A product customers order: a profile and the longest validity sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductSpec {
    /// The profile its certificates are issued under, by name.
    pub profile: String,
    /// The longest validity sold, e.g. `"39 months"`; it must fit within the profile's.
    pub max_validity: ValidityLimit,
    /// The name people read (request form, PKCS#12 friendly name); the product's key when absent.
    #[serde(default)]
    pub display_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smime_spec() -> ProfileSpec {
        templates::smime_sponsor_multipurpose("smime")
    }

    #[test]
    fn smime_profile_is_recognised() {
        let p = Profile::new("s", smime_spec()).expect("valid");
        assert_eq!(
            p.smime(),
            Some((SmimeType::SponsorValidated, SmimeGeneration::Multipurpose))
        );
    }

    #[test]
    fn smime_rules_are_enforced() {
        type Case = (fn(&mut ProfileSpec), &'static str);
        let cases: Vec<Case> = vec![
            (|s| s.max_validity = ValidityLimit::Days(826), "825 days"),
            (
                |s| s.extended_key_usages = vec![ExtendedKeyUsage::ClientAuth],
                "email_protection",
            ),
            (
                |s| s.key_usage_rsa = vec![KeyUsage::DigitalSignature],
                "key_encipherment",
            ),
            (
                |s| s.require_organization_identifier = false,
                "require_organization_identifier",
            ),
            (
                |s| s.policies.push("2.23.140.1.5.3.3".into()),
                "exactly one",
            ),
            (|s| s.policies = vec!["2.23.140.1.5.3.1".into()], "legacy"),
            (
                |s| s.policies = vec!["2.23.140.1.5.3.3".into()],
                "only email_protection",
            ),
            (
                |s| s.key_usage_ec.push(KeyUsage::KeyEncipherment),
                "meaningless",
            ),
            (|s| s.policies = vec!["1.02.3".into()], "dotted"),
            (
                |s| s.policies = vec!["2.25.220566579174390611134159969095339449050".into()],
                "dotted",
            ),
            (|s| s.max_validity = ValidityLimit::Months(40), "39 months"),
            (
                |s| s.extended_key_usages.push(ExtendedKeyUsage::ClientAuth),
                "twice",
            ),
        ];
        for (mutate, expected) in cases {
            let mut s = smime_spec();
            mutate(&mut s);
            let err = Profile::new("s", s).expect_err(expected).to_string();
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
    }

    #[test]
    fn unknown_eku_names_do_not_parse() {
        assert!(toml::from_str::<ExtendedKeyUsageHolder>("eku = \"server_auth\"").is_err());
        assert!(toml::from_str::<ExtendedKeyUsageHolder>("eku = \"client_auth\"").is_ok());
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct ExtendedKeyUsageHolder {
        eku: ExtendedKeyUsage,
    }
}
