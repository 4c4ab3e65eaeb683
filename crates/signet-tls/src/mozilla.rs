//! Mozilla's server-side TLS recommendations (modern, intermediate, old), from the JSON Mozilla
//! publishes, shipped unchanged in `data/`. A server complies with a profile when it accepts
//! nothing the profile leaves out and its certificate is of a kind the profile lists — the same
//! reading sslyze's checker makes, plus HSTS and OCSP stapling as the profile asks.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::chain::KeyType;
use crate::hello::{self, Version};

/// The guidelines file and its version.
const GUIDELINES: &str = include_str!("../data/mozilla-server-side-tls-5.7.json");

#[derive(Debug, Deserialize)]
struct Guidelines {
    version: f64,
    configurations: std::collections::BTreeMap<String, Profile>,
}

#[derive(Debug, Deserialize)]
struct Profile {
    certificate_signatures: Vec<String>,
    certificate_types: Vec<String>,
    ciphers: Ciphers,
    ciphersuites: Vec<String>,
    dh_param_size: Option<u32>,
    ecdh_param_size: Option<u32>,
    hsts_min_age: Option<u64>,
    maximum_certificate_lifespan: Option<i64>,
    ocsp_staple: Option<bool>,
    rsa_key_size: Option<u32>,
    tls_curves: Vec<String>,
    tls_versions: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Ciphers {
    iana: Vec<String>,
}

/// What the profiles are judged on.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub versions: Vec<Version>,
    /// IANA names of accepted TLS 1.3 suites.
    pub tls13_suites: BTreeSet<String>,
    /// IANA names of accepted suites of TLS 1.2 and older.
    pub suites: BTreeSet<String>,
    /// Groups accepted (our names: x25519, secp256r1, ...).
    pub groups: Vec<u16>,
    /// Smallest DHE prime, bits.
    pub smallest_dh: Option<u32>,
    pub leaf_key: Option<(KeyType, u32)>,
    pub leaf_signature: Option<String>,
    pub leaf_lifespan_days: Option<i64>,
    pub trusted: bool,
    pub stapled: bool,
    /// HSTS max-age of an HTTPS server (None when not HTTPS or no header).
    pub hsts_max_age: Option<u64>,
    pub https: bool,
}

/// The verdict for one profile.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub compliant: bool,
    /// Each as `key: sentence`.
    pub issues: Vec<String>,
}

/// The verdict for the profile asked about, and for each profile.
#[derive(Debug, Clone, Serialize)]
pub struct Verdicts {
    /// The profile asked about (intermediate unless the caller chose).
    pub profile: String,
    pub compliant: bool,
    pub issues: Vec<String>,
    /// The strictest profile the server complies with, if any.
    pub best_profile: Option<String>,
    /// The guidelines' version, e.g. `5.7`.
    pub guidelines_version: String,
    pub profiles: std::collections::BTreeMap<String, Verdict>,
}

/// The profiles, strictest first.
pub const PROFILES: [&str; 3] = ["modern", "intermediate", "old"];

fn guidelines() -> Guidelines {
    // The file is part of the build and tested below; a failure here is a broken build.
    serde_json::from_str(GUIDELINES).unwrap_or_else(|e| panic!("data/mozilla JSON: {e}"))
}

/// Mozilla's name for a version.
fn mozilla_version(version: Version) -> &'static str {
    match version {
        Version::Ssl2 => "SSLv2",
        Version::Ssl3 => "SSLv3",
        Version::Tls10 => "TLSv1",
        Version::Tls11 => "TLSv1.1",
        Version::Tls12 => "TLSv1.2",
        Version::Tls13 => "TLSv1.3",
    }
}

/// Mozilla names curves the ANSI way (prime256v1); the hello names are SECG's.
fn mozilla_curve(name: &str) -> String {
    match name {
        "secp256r1" => "prime256v1".to_owned(),
        "x25519" => "X25519".to_owned(),
        other => other.to_owned(),
    }
}

fn listed(items: &BTreeSet<String>) -> String {
    items.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// Judges `observed` against every profile; `asked` is the one the summary is about.
pub fn judge(observed: &Observed, asked: &str) -> Verdicts {
    let guidelines = guidelines();
    let mut profiles = std::collections::BTreeMap::new();
    for (name, profile) in &guidelines.configurations {
        profiles.insert(name.clone(), check(observed, profile));
    }
    let best_profile = PROFILES
        .iter()
        .find(|p| profiles.get(**p).is_some_and(|v: &Verdict| v.compliant))
        .map(|p| (*p).to_owned());
    let asked_verdict = profiles.get(asked).cloned().unwrap_or(Verdict {
        compliant: false,
        issues: vec![format!(
            "profile: there is no Mozilla profile called {asked}"
        )],
    });
    Verdicts {
        profile: asked.to_owned(),
        compliant: asked_verdict.compliant,
        issues: asked_verdict.issues,
        best_profile,
        guidelines_version: format!("{:.1}", guidelines.version),
        profiles,
    }
}

fn check(observed: &Observed, profile: &Profile) -> Verdict {
    let mut issues = Vec::new();
    let extra_versions: BTreeSet<String> = observed
        .versions
        .iter()
        .map(|v| mozilla_version(*v).to_owned())
        .filter(|v| !profile.tls_versions.contains(v))
        .collect();
    if !extra_versions.is_empty() {
        issues.push(format!(
            "tls_versions: {} accepted, the profile allows only {}",
            listed(&extra_versions),
            profile.tls_versions.join(", ")
        ));
    }
    let extra_tls13: BTreeSet<String> = observed
        .tls13_suites
        .iter()
        .filter(|s| !profile.ciphersuites.contains(s))
        .cloned()
        .collect();
    if !extra_tls13.is_empty() {
        issues.push(format!(
            "ciphersuites: TLS 1.3 suites {} accepted but not in the profile",
            listed(&extra_tls13)
        ));
    }
    let extra_suites: BTreeSet<String> = observed
        .suites
        .iter()
        .filter(|s| !profile.ciphers.iana.contains(s))
        .cloned()
        .collect();
    if !extra_suites.is_empty() {
        issues.push(format!(
            "ciphers: suites {} accepted but not in the profile",
            listed(&extra_suites)
        ));
    }
    let allowed_curves: BTreeSet<String> = profile.tls_curves.iter().cloned().collect();
    let extra_curves: BTreeSet<String> = observed
        .groups
        .iter()
        .filter(|g| !(256..=260).contains(*g) && !(0x11eb..=0x11ed).contains(*g))
        .map(|g| mozilla_curve(&hello::group_name(*g)))
        .filter(|c| !allowed_curves.contains(c))
        .collect();
    if !extra_curves.is_empty() {
        issues.push(format!(
            "tls_curves: groups {} accepted but not in the profile",
            listed(&extra_curves)
        ));
    }
    if let (Some(minimum), Some(smallest)) = (profile.dh_param_size, observed.smallest_dh)
        && smallest < minimum
    {
        issues.push(format!(
            "dh_param_size: DHE with a {smallest}-bit prime, the profile asks for {minimum} or more"
        ));
    }
    let _ = profile.ecdh_param_size; // every group a server can pick here meets 256 bits
    if let Some((key_type, bits)) = observed.leaf_key {
        let kind = match key_type {
            KeyType::Rsa => "rsa",
            KeyType::Ecdsa => "ecdsa",
            KeyType::Ed25519 => "ed25519",
            KeyType::Other => "other",
        };
        if !profile.certificate_types.iter().any(|t| t == kind) {
            issues.push(format!(
                "certificate_types: the certificate's key is {kind}, the profile asks for {}",
                profile.certificate_types.join(" or ")
            ));
        }
        if let (KeyType::Rsa, Some(minimum)) = (key_type, profile.rsa_key_size)
            && bits < minimum
        {
            issues.push(format!(
                "rsa_key_size: the RSA key has {bits} bits, the profile asks for {minimum} or more"
            ));
        }
    }
    if let Some(signature) = &observed.leaf_signature
        && !profile.certificate_signatures.contains(signature)
    {
        issues.push(format!(
                "certificate_signatures: the certificate is signed with {signature}, the profile asks for {}",
                profile.certificate_signatures.join(", ")
            ));
    }
    if let (Some(maximum), Some(days)) = (
        profile.maximum_certificate_lifespan,
        observed.leaf_lifespan_days,
    ) && days > maximum
    {
        issues.push(format!(
                "maximum_certificate_lifespan: the certificate is valid for {days} days, the profile allows {maximum}"
            ));
    }
    if !observed.trusted {
        issues
            .push("certificate_path_validation: the chain does not lead to a trusted root".into());
    }
    if profile.ocsp_staple == Some(true) && !observed.stapled {
        issues.push("ocsp_staple: the server does not staple an OCSP response".into());
    }
    if let (Some(minimum), true) = (profile.hsts_min_age, observed.https) {
        match observed.hsts_max_age {
            Some(age) if age >= minimum => {}
            Some(age) => issues.push(format!(
                "hsts_min_age: HSTS max-age is {age}, the profile asks for {minimum} or more"
            )),
            None => issues.push("hsts_min_age: no Strict-Transport-Security header".into()),
        }
    }
    Verdict {
        compliant: issues.is_empty(),
        issues,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_guidelines_have_three_profiles() {
        let g = guidelines();
        for p in PROFILES {
            assert!(g.configurations.contains_key(p), "{p}");
        }
        assert_eq!(format!("{:.1}", g.version), "5.7");
    }

    #[test]
    fn tls_1_0_and_cbc_suites_fail_intermediate_but_pass_old() {
        let observed = Observed {
            versions: vec![Version::Tls10, Version::Tls12],
            suites: [
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            groups: vec![29, 23],
            leaf_key: Some((KeyType::Rsa, 2048)),
            leaf_signature: Some("sha256WithRSAEncryption".into()),
            leaf_lifespan_days: Some(90),
            trusted: true,
            stapled: true,
            ..Observed::default()
        };
        let verdicts = judge(&observed, "intermediate");
        assert!(!verdicts.compliant);
        assert!(
            verdicts
                .issues
                .iter()
                .any(|i| i.starts_with("tls_versions"))
        );
        assert!(verdicts.issues.iter().any(|i| i.starts_with("ciphers")));
        assert!(
            verdicts.profiles["old"].compliant,
            "{:?}",
            verdicts.profiles["old"]
        );
        assert_eq!(verdicts.best_profile.as_deref(), Some("old"));
    }
}
