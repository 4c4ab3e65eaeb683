//! Which keys Signet certifies and which keys its CAs use.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Refusal;

/// An elliptic curve Signet knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    /// NIST P-256 (secp256r1): subscriber keys, OCSP responder keys.
    P256,
    /// NIST P-384 (secp384r1): subscriber keys, CA keys (the default).
    P384,
    /// NIST P-521 (secp521r1): recognized so that a CSR can be refused by name; never certified.
    P521,
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        })
    }
}

/// What a public key is, as far as policy cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKeyKind {
    /// rsaEncryption, with the two numbers the key policy checks.
    Rsa {
        /// Size of the modulus in bits (2048, 3072, 4096 …).
        modulus_bits: u32,
        /// The public exponent (65537 is usual); the subscriber policy wants it odd and at
        /// least 3.
        public_exponent: u64,
    },
    /// id-ecPublicKey on a curve Signet knows by name (other curves are [`PublicKeyKind::Other`]).
    Ec(Curve),
    /// Any other algorithm; the text names it for the error message.
    Other(String),
}

impl PublicKeyKind {
    /// Whether this is an RSA key: profiles give RSA and EC keys different key usages.
    pub fn is_rsa(&self) -> bool {
        matches!(self, PublicKeyKind::Rsa { .. })
    }
}

impl fmt::Display for PublicKeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublicKeyKind::Rsa { modulus_bits, .. } => write!(f, "RSA-{modulus_bits}"),
            PublicKeyKind::Ec(c) => write!(f, "ECDSA {c}"),
            PublicKeyKind::Other(name) => f.write_str(name),
        }
    }
}

const ACCEPTED: &str = "subscriber keys must be RSA with 2048 to 8192 bits (a multiple of 8) or ECDSA on P-256 or P-384";

/// The subscriber key policy (S/MIME BRs §6.1.5/6.1.6): RSA ≥ 2048 bits, modulus a multiple of
/// 8, odd exponent ≥ 3; ECDSA on P-256 or P-384.
pub fn check_subscriber_key(key: &PublicKeyKind) -> Result<(), Refusal> {
    match key {
        PublicKeyKind::Rsa {
            modulus_bits,
            public_exponent,
        } => {
            if *modulus_bits < 2048 {
                return Err(Refusal::UnacceptableKey(format!(
                    "an RSA key of {modulus_bits} bits is too weak: {ACCEPTED}"
                )));
            }
            if *modulus_bits > 8192 || modulus_bits % 8 != 0 {
                return Err(Refusal::UnacceptableKey(format!(
                    "an RSA modulus of {modulus_bits} bits is not accepted: {ACCEPTED}"
                )));
            }
            if *public_exponent < 3 || public_exponent % 2 == 0 {
                return Err(Refusal::UnacceptableKey(format!(
                    "RSA public exponent {public_exponent} is not accepted: it must be odd and at least 3 (65537 is usual)"
                )));
            }
            Ok(())
        }
        PublicKeyKind::Ec(Curve::P256 | Curve::P384) => Ok(()),
        other => Err(Refusal::UnacceptableKey(format!(
            "a {other} key is not accepted: {ACCEPTED}"
        ))),
    }
}

/// The key types a subscriber can ask Signet to generate at pickup (design §7 `key_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SubscriberKeyType {
    /// RSA with a 2048-bit modulus (`rsa-2048`); the default when neither pickup nor order names a
    /// type (R-KEY-1).
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    /// RSA with a 3072-bit modulus (`rsa-3072`).
    #[serde(rename = "rsa-3072")]
    Rsa3072,
    /// ECDSA on P-256 (`p-256`).
    #[serde(rename = "p-256")]
    P256,
    /// ECDSA on P-384 (`p-384`).
    #[serde(rename = "p-384")]
    P384,
}

impl SubscriberKeyType {
    /// Every type, in the order a page offers them (the most compatible strong one first).
    pub const ALL: [SubscriberKeyType; 4] = [
        SubscriberKeyType::Rsa3072,
        SubscriberKeyType::Rsa2048,
        SubscriberKeyType::P256,
        SubscriberKeyType::P384,
    ];

    /// Generated when neither the order nor the pickup names a type (R-KEY-1).
    pub const DEFAULT: SubscriberKeyType = SubscriberKeyType::Rsa2048;

    /// The wire and stored name (`rsa-2048`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriberKeyType::Rsa2048 => "rsa-2048",
            SubscriberKeyType::Rsa3072 => "rsa-3072",
            SubscriberKeyType::P256 => "p-256",
            SubscriberKeyType::P384 => "p-384",
        }
    }

    /// Parses a wire or stored name.
    pub fn parse(text: &str) -> Option<SubscriberKeyType> {
        SubscriberKeyType::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// The key choice made at order time (R-KEY-1): a type Signet generates at pickup, the
/// subscriber's own key brought as a CSR to the pickup, or a key the pickup page makes in the
/// subscriber's browser (R-KEY-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyChoice {
    /// Signet generates a key of this type at pickup and delivers it in a PKCS#12.
    Generate(SubscriberKeyType),
    /// The subscriber keeps their own key and sends a CSR at pickup.
    Csr,
    /// The pickup page makes the key pair in the subscriber's browser and sends a CSR (R-KEY-2).
    Browser,
}

impl KeyChoice {
    /// Every choice, in the order the order form offers them.
    pub const ALL: [KeyChoice; 6] = [
        KeyChoice::Generate(SubscriberKeyType::Rsa3072),
        KeyChoice::Generate(SubscriberKeyType::Rsa2048),
        KeyChoice::Generate(SubscriberKeyType::P256),
        KeyChoice::Generate(SubscriberKeyType::P384),
        KeyChoice::Browser,
        KeyChoice::Csr,
    ];

    /// The wire and stored name (`rsa-3072`, …, `csr`).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyChoice::Generate(k) => k.as_str(),
            KeyChoice::Csr => "csr",
            KeyChoice::Browser => "browser",
        }
    }

    /// Parses an order's `key_type`, refusing anything else with the list of choices.
    pub fn parse(text: &str) -> Result<KeyChoice, Refusal> {
        KeyChoice::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = KeyChoice::ALL.iter().map(|k| k.as_str()).collect();
                Refusal::InvalidInput(format!(
                    "key_type `{text}` is not offered: use one of {}",
                    names.join(", ")
                ))
            })
    }

    /// The type to generate at pickup, if Signet generates the key.
    pub fn generated(self) -> Option<SubscriberKeyType> {
        match self {
            KeyChoice::Generate(k) => Some(k),
            KeyChoice::Csr | KeyChoice::Browser => None,
        }
    }

    /// What a pickup of this order must send instead of letting Signet make the key, if
    /// anything: the refusal names how to pick it up.
    pub fn requires_csr(self) -> Option<&'static str> {
        match self {
            KeyChoice::Generate(_) => None,
            KeyChoice::Csr => Some("this order expects a CSR: send it in `csr`"),
            KeyChoice::Browser => Some(
                "this order's key is made in your browser: open the pickup link in a browser with JavaScript over https (the page makes the key and sends only a CSR), or send a CSR in `csr`",
            ),
        }
    }
}

// On the wire a key choice is its name; a name that is not offered is refused with the list.
impl Serialize for KeyChoice {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for KeyChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<KeyChoice, D::Error> {
        let text = String::deserialize(d)?;
        KeyChoice::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Algorithms for CA and OCSP responder keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CaKeyAlgorithm {
    /// ECDSA P-256 (`p-256`): OCSP responders only (the default for them, faster to sign).
    #[serde(rename = "p-256")]
    EcP256,
    /// ECDSA P-384 (`p-384`): the default for root and issuing CAs.
    #[serde(rename = "p-384")]
    EcP384,
    /// RSA-4096 (`rsa-4096`), for any CA key.
    #[serde(rename = "rsa-4096")]
    Rsa4096,
}

impl CaKeyAlgorithm {
    /// The public key this algorithm produces, for policy checks.
    pub fn key_kind(self) -> PublicKeyKind {
        match self {
            CaKeyAlgorithm::EcP256 => PublicKeyKind::Ec(Curve::P256),
            CaKeyAlgorithm::EcP384 => PublicKeyKind::Ec(Curve::P384),
            CaKeyAlgorithm::Rsa4096 => PublicKeyKind::Rsa {
                modulus_bits: 4096,
                public_exponent: 65537,
            },
        }
    }

    /// The name in `signet.toml` and on the command line (`--ca-key-algorithm`).
    pub fn name(self) -> &'static str {
        match self {
            CaKeyAlgorithm::EcP256 => "p-256",
            CaKeyAlgorithm::EcP384 => "p-384",
            CaKeyAlgorithm::Rsa4096 => "rsa-4096",
        }
    }
}

impl fmt::Display for CaKeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CaKeyAlgorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "p-256" | "p256" => Ok(CaKeyAlgorithm::EcP256),
            "p-384" | "p384" => Ok(CaKeyAlgorithm::EcP384),
            "rsa-4096" | "rsa4096" => Ok(CaKeyAlgorithm::Rsa4096),
            other => Err(format!(
                "unknown CA key algorithm `{other}`: choose p-384 (default), rsa-4096 or, for the OCSP responder, p-256"
            )),
        }
    }
}

/// The role a CA key plays in the hierarchy; it decides which algorithms are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaKeyRole {
    /// The self-signed root CA (R-CRT-1).
    Root,
    /// An issuing CA that signs subscriber certificates (`class3`, `smime`).
    Issuing,
    /// A delegated OCSP responder of an issuing CA; it may use P-256.
    OcspResponder,
    /// The time-stamping authority (RFC 3161); it may use P-256.
    TimeStamping,
}

/// CA keys: P-384 or RSA-4096 (new CA RSA keys must be ≥ 4096 bits); the OCSP responder may also
/// use P-256, which signs responses much faster.
pub fn check_ca_key(role: CaKeyRole, algorithm: CaKeyAlgorithm) -> Result<(), Refusal> {
    match (role, algorithm) {
        (CaKeyRole::OcspResponder | CaKeyRole::TimeStamping, _)
        | (_, CaKeyAlgorithm::EcP384 | CaKeyAlgorithm::Rsa4096) => {
            Ok(())
        }
        (_, CaKeyAlgorithm::EcP256) => Err(Refusal::InvalidConfig(
            "CA keys must be p-384 or rsa-4096; p-256 is only allowed for the OCSP responder and the time-stamping authority"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_key_choice_on_the_wire_is_its_name_and_nothing_else() {
        use super::{KeyChoice, SubscriberKeyType};
        let k: KeyChoice = serde_json::from_str("\"p-384\"").expect("p-384");
        assert_eq!(k, KeyChoice::Generate(SubscriberKeyType::P384));
        assert_eq!(
            serde_json::to_string(&KeyChoice::Csr).expect("json"),
            "\"csr\""
        );
        let e = serde_json::from_str::<KeyChoice>("\"ed25519\"").expect_err("not offered");
        assert!(e.to_string().contains("use one of rsa-3072"), "{e}");
    }

    #[test]
    fn key_choices_parse_their_own_names_and_agree_with_serde() {
        for choice in KeyChoice::ALL {
            assert_eq!(KeyChoice::parse(choice.as_str()), Ok(choice));
        }
        for key in SubscriberKeyType::ALL {
            assert_eq!(
                serde_json::to_value(key).expect("serde"),
                serde_json::json!(key.as_str())
            );
        }
        let err = KeyChoice::parse("dsa-1024").expect_err("not offered");
        assert!(
            err.to_string()
                .contains("rsa-3072, rsa-2048, p-256, p-384, browser, csr"),
            "{err}"
        );
    }

    use super::*;

    fn rsa(bits: u32) -> PublicKeyKind {
        PublicKeyKind::Rsa {
            modulus_bits: bits,
            public_exponent: 65537,
        }
    }

    #[test]
    fn subscriber_key_table() {
        let ok = [
            rsa(2048),
            rsa(3072),
            rsa(4096),
            PublicKeyKind::Ec(Curve::P256),
            PublicKeyKind::Ec(Curve::P384),
        ];
        for k in ok {
            assert!(check_subscriber_key(&k).is_ok(), "{k}");
        }
        let refused = [
            rsa(1024),
            rsa(2047),
            rsa(2056 + 4),
            rsa(16384),
            PublicKeyKind::Rsa {
                modulus_bits: 2048,
                public_exponent: 1,
            },
            PublicKeyKind::Rsa {
                modulus_bits: 2048,
                public_exponent: 65536,
            },
            PublicKeyKind::Ec(Curve::P521),
            PublicKeyKind::Other("Ed25519".into()),
        ];
        for k in refused {
            assert!(check_subscriber_key(&k).is_err(), "{k}");
        }
    }

    #[test]
    fn weak_rsa_message_says_what_is_accepted() {
        let msg = check_subscriber_key(&rsa(1024)).unwrap_err().to_string();
        assert!(msg.contains("1024 bits is too weak"), "{msg}");
        assert!(msg.contains("2048 to 8192"));
    }

    #[test]
    fn ca_key_rules() {
        assert!(check_ca_key(CaKeyRole::Root, CaKeyAlgorithm::EcP384).is_ok());
        assert!(check_ca_key(CaKeyRole::Issuing, CaKeyAlgorithm::Rsa4096).is_ok());
        assert!(check_ca_key(CaKeyRole::Issuing, CaKeyAlgorithm::EcP256).is_err());
        assert!(check_ca_key(CaKeyRole::OcspResponder, CaKeyAlgorithm::EcP256).is_ok());
        assert_eq!(
            "RSA-4096".parse::<CaKeyAlgorithm>(),
            Ok(CaKeyAlgorithm::Rsa4096)
        );
        assert!("rsa-2048".parse::<CaKeyAlgorithm>().is_err());
    }
}
