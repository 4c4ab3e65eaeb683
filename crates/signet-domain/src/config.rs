//! The policy part of the configuration: profiles, products and the country → channel map,
//! parsed once into a [`Policy`] that every later rule reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Refusal;
use crate::profile::{ProductSpec, Profile, ProfileSpec};
use crate::validity::ValidityLimit;

/// How subscribers of a country order (R-ORD-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The subscriber has an account: password reset, reissue and renewal by themselves.
    SelfService,
    /// Orders come through a registration agent; reissue through support; no renewal.
    Agent,
}

impl Channel {
    /// The stored and JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::SelfService => "self_service",
            Channel::Agent => "agent",
        }
    }

    /// Reads a stored name. An unknown name is an error, never a default: reading it as the
    /// more permissive self-service channel would let a subscriber act where only an agent may.
    pub fn from_stored(text: &str) -> Result<Channel, Refusal> {
        [Channel::SelfService, Channel::Agent]
            .into_iter()
            .find(|c| c.as_str() == text)
            .ok_or_else(|| {
                Refusal::InvalidInput(format!(
                    "stored channel `{text}` is neither `self_service` nor `agent`: the database holds a value this version does not know"
                ))
            })
    }
}

/// Country → channel map; countries not listed use the default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelMap {
    /// The channel of every country not in `countries` (`self_service` unless configured).
    pub default: Channel,
    /// Exceptions by upper-case ISO 3166-1 alpha-2 code; by default BE and NL are `agent`.
    #[serde(default)]
    pub countries: BTreeMap<String, Channel>,
}

impl Default for ChannelMap {
    fn default() -> Self {
        ChannelMap {
            default: Channel::SelfService,
            countries: [
                ("BE".to_owned(), Channel::Agent),
                ("NL".to_owned(), Channel::Agent),
            ]
            .into(),
        }
    }
}

impl ChannelMap {
    /// The channel that orders for `country` use (R-ORD-8); the code is matched without case.
    pub fn channel_for(&self, country: &str) -> Channel {
        self.countries
            .get(&country.to_ascii_uppercase())
            .copied()
            .unwrap_or(self.default)
    }
}

/// The policy section of `signet.toml`, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// `[channels]`: which countries order through registration agents (R-ORD-8).
    pub channels: ChannelMap,
    /// `[profiles.NAME]`: certificate profiles by name (R-CRT-3).
    pub profiles: BTreeMap<String, ProfileSpec>,
    /// `[products.NAME]`: what customers order, by name; each names a profile.
    pub products: BTreeMap<String, ProductSpec>,
}

/// A product whose profile exists and whose validity fits within it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// The key under `[products]`: what orders and the API name (e.g. `personal-3-pro`).
    pub name: String,
    /// The profile its certificates are issued under; it exists in the same policy.
    pub profile: String,
    /// The longest validity sold; never longer than the profile allows (R-CRT-2).
    pub max_validity: ValidityLimit,
    /// The name people read (request form, PKCS#12 friendly name); the product's key when none is
    /// configured.
    pub display_name: String,
}

/// Checked policy: every profile valid, every product pointing at a profile it fits in.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The country → channel map, read as configured (its codes checked).
    pub channels: ChannelMap,
    profiles: BTreeMap<String, Profile>,
    products: BTreeMap<String, Product>,
}

impl Policy {
    /// Checks the spec; `issuers` are the names of the issuing CAs that exist.
    pub fn new(spec: PolicySpec, issuers: &[&str]) -> Result<Policy, Refusal> {
        for country in spec.channels.countries.keys() {
            if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
                return Err(Refusal::InvalidConfig(format!(
                    "channels.countries: `{country}` is not an upper-case ISO 3166 alpha-2 code"
                )));
            }
        }
        let mut profiles = BTreeMap::new();
        for (name, p) in spec.profiles {
            let profile = Profile::new(&name, p)?;
            if !issuers.contains(&profile.issuer()) {
                return Err(Refusal::InvalidConfig(format!(
                    "profile `{name}` names issuer `{}`, which does not exist (issuers: {})",
                    profile.issuer(),
                    issuers.join(", ")
                )));
            }
            profiles.insert(name, profile);
        }
        let mut products = BTreeMap::new();
        for (name, p) in spec.products {
            let profile = profiles.get(&p.profile).ok_or_else(|| {
                Refusal::InvalidConfig(format!(
                    "product `{name}` uses unknown profile `{}`",
                    p.profile
                ))
            })?;
            if !p.max_validity.fits_within(profile.max_validity()) {
                return Err(Refusal::InvalidConfig(format!(
                    "product `{name}`: max_validity {} is longer than profile `{}` allows ({})",
                    p.max_validity,
                    p.profile,
                    profile.max_validity()
                )));
            }
            let display_name = p.display_name.clone().unwrap_or_else(|| name.clone());
            products.insert(
                name.clone(),
                Product {
                    name,
                    profile: p.profile,
                    max_validity: p.max_validity,
                    display_name,
                },
            );
        }
        Ok(Policy {
            channels: spec.channels,
            profiles,
            products,
        })
    }

    /// The profile of that name, or [`Refusal::UnknownProfile`] listing the configured ones.
    pub fn profile(&self, name: &str) -> Result<&Profile, Refusal> {
        self.profiles
            .get(name)
            .ok_or_else(|| Refusal::UnknownProfile {
                name: name.to_owned(),
                known: self.profiles.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }

    /// The product of that name, or [`Refusal::UnknownProduct`] listing the configured ones.
    pub fn product(&self, name: &str) -> Result<&Product, Refusal> {
        self.products
            .get(name)
            .ok_or_else(|| Refusal::UnknownProduct {
                name: name.to_owned(),
                known: self.products.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }

    /// Every checked profile, in name order.
    pub fn profiles(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.values()
    }

    /// Every checked product, in name order.
    pub fn products(&self) -> impl Iterator<Item = &Product> {
        self.products.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> PolicySpec {
        let profile = crate::profile::templates::class3_auth("class3", "2.25.1");
        PolicySpec {
            channels: ChannelMap::default(),
            profiles: [("class3-auth".to_owned(), profile)].into(),
            products: [(
                "personal-3-pro".to_owned(),
                ProductSpec {
                    profile: "class3-auth".into(),
                    max_validity: ValidityLimit::Months(39),
                    display_name: None,
                },
            )]
            .into(),
        }
    }

    #[test]
    fn channels_default_to_agent_for_be_and_nl() {
        let map = ChannelMap::default();
        assert_eq!(map.channel_for("be"), Channel::Agent);
        assert_eq!(map.channel_for("NL"), Channel::Agent);
        assert_eq!(map.channel_for("DE"), Channel::SelfService);
    }

    #[test]
    fn products_must_fit_their_profile() {
        assert!(Policy::new(spec(), &["class3"]).is_ok());
        let mut s = spec();
        s.products
            .get_mut("personal-3-pro")
            .expect("product")
            .max_validity = ValidityLimit::Months(40);
        assert!(Policy::new(s, &["class3"]).is_err());
        let mut s = spec();
        s.products
            .get_mut("personal-3-pro")
            .expect("product")
            .profile = "nope".into();
        assert!(Policy::new(s, &["class3"]).is_err());
        assert!(Policy::new(spec(), &["other"]).is_err());
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let p = Policy::new(spec(), &["class3"]).expect("policy");
        let err = p.profile("nope").expect_err("unknown").to_string();
        assert!(err.contains("class3-auth"), "{err}");
    }
}

#[cfg(test)]
mod stored_channel_tests {
    use super::Channel;

    #[test]
    fn an_unknown_stored_channel_is_an_error_not_self_service() {
        assert_eq!(Channel::from_stored("agent"), Ok(Channel::Agent));
        assert_eq!(
            Channel::from_stored("self_service"),
            Ok(Channel::SelfService)
        );
        assert!(Channel::from_stored("Agent").is_err());
        assert!(Channel::from_stored("").is_err());
    }
}
