//! `signet.toml`: written by `init`, read at every start and turned into checked values once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use signet_domain::config::{ChannelMap, Policy, PolicySpec};
use signet_domain::key::CaKeyAlgorithm;
use signet_domain::profile::{
    ExtendedKeyUsage, ProductSpec, ProfileSpec, SMIME_SPONSOR_MULTIPURPOSE, templates,
};
use signet_domain::validity::ValidityLimit;

use crate::AppError;

pub const CONFIG_FILE: &str = "signet.toml";
/// The name of the root CA in files, URLs and the store.
pub const ROOT: &str = "root";

/// The whole configuration file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Public base URL; CRL, AIA and mail links are built from it. Changing it does not change
    /// certificates already issued.
    pub base_url: String,
    pub ca: CaSettings,
    pub keys: KeySettings,
    pub root: CaKeySettings,
    /// Issuing CAs by name; each has an OCSP responder certificate of its own.
    pub issuers: BTreeMap<String, IssuerSettings>,
    pub channels: ChannelMap,
    pub profiles: BTreeMap<String, ProfileSpec>,
    pub products: BTreeMap<String, ProductSpec>,
    #[serde(default)]
    pub mail: MailSettings,
    #[serde(default)]
    pub crl: CrlSettings,
    #[serde(default)]
    pub issuance: IssuanceSettings,
    #[serde(default)]
    pub http: HttpSettings,
    /// What the portal's TLS configuration test may reach.
    #[serde(default, skip_serializing_if = "TlsTestSettings::is_default")]
    pub tls_test: TlsTestSettings,
    /// What certificate discovery may scan, and how hard.
    #[serde(default, skip_serializing_if = "DiscoverySettings::is_default")]
    pub discovery: DiscoverySettings,
    /// Where CRLs and pre-signed OCSP responses are uploaded for a CDN or web server to serve.
    #[serde(default, skip_serializing_if = "PublishSettings::is_default")]
    pub publish: PublishSettings,
    /// The time-stamping authority (RFC 3161), certified by the root; absent in data directories
    /// made before it existed, until `signet tsa init` adds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsa: Option<TsaSettings>,
    /// Officers' signed decisions (issue 15).
    #[serde(default, skip_serializing_if = "StaffSettings::is_default")]
    pub staff: StaffSettings,
}

/// The name of the staff CA, which certifies officers' decision-signing keys.
pub const STAFF: &str = "staff";

/// Officers' signed decisions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffSettings {
    /// Refuse every unsigned vetting decision and reveal, also from officers who have not
    /// enrolled a key yet. Off by default: an officer who has a key always signs, one who has
    /// none yet is asked to enrol at log-in.
    #[serde(default)]
    pub require_signed_decisions: bool,
}

impl StaffSettings {
    fn is_default(&self) -> bool {
        *self == StaffSettings::default()
    }
}

/// Publication to an S3-compatible bucket: every CRL and every pre-signed OCSP response is
/// uploaded as it is made, under the path a client asks for (`crl/class3/0.crl`, and for OCSP
/// the RFC 5019 GET path `ocsp/<base64 request>`), so that a CDN or nginx serves the bucket as
/// it is. Credentials come from the environment (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`), never from this file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishSettings {
    /// The bucket; unset: nothing is uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_bucket: Option<String>,
    /// The S3 endpoint (e.g. `https://s3.eu-central-1.amazonaws.com`, or a MinIO, SeaweedFS or
    /// Ceph gateway); unset: AWS for the region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_endpoint: Option<String>,
    /// The region (default `us-east-1`, what most S3-compatible servers expect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_region: Option<String>,
    /// A prefix for every key (e.g. `pki/`), so that one bucket can serve several things.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
    /// How long a CDN or nginx may keep an object (Cache-Control max-age, default 60): after a
    /// revocation, clients of the bucket see it within this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_seconds: Option<u32>,
}

impl PublishSettings {
    fn is_default(&self) -> bool {
        *self == PublishSettings::default()
    }
}

/// The name the time-stamping authority's key and certificate are kept under.
pub const TSA: &str = "tsa";

/// The time-stamping authority: its certificate's name, its key and the policy its tokens name.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsaSettings {
    pub common_name: String,
    pub key_algorithm: CaKeyAlgorithm,
    /// The TSA policy OID every token carries (RFC 3161 §2.4.2); requests that ask for another
    /// are refused.
    pub policy: String,
}

/// Issuance at pickup.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuanceSettings {
    /// How long a pickup holds its order while the certificate is made. A claim older than this
    /// belongs to a process that died or hung: reconciliation releases it (the link works again)
    /// and lists the serial as revoked, since it may have been signed. Generous: key generation
    /// and an HSM signature take seconds at most.
    #[serde(default = "default_claim_seconds")]
    pub pickup_claim_seconds: u32,
}

fn default_claim_seconds() -> u32 {
    120
}

impl Default for IssuanceSettings {
    fn default() -> Self {
        IssuanceSettings {
            pickup_claim_seconds: default_claim_seconds(),
        }
    }
}

/// The HTTP edge.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Behind a reverse proxy, the header that carries the client's address (e.g.
    /// `X-Forwarded-For`; its last entry is used). Unset: the peer address of the connection.
    /// Set it only when every request comes through the proxy, or clients could pick their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip_header: Option<String>,
}

/// The portal's TLS configuration test connects on a user's behalf: by default only to public
/// addresses. `SIGNET_TLS_TEST_ALLOW=loopback,private` allows more without editing the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsTestSettings {
    /// Allow 127.0.0.0/8 and ::1 (this machine): for tests and single-host set-ups.
    #[serde(default)]
    pub allow_loopback: bool,
    /// Allow RFC 1918, shared (100.64/10) and unique-local addresses: the internal network.
    #[serde(default)]
    pub allow_private: bool,
}

impl TlsTestSettings {
    fn is_default(&self) -> bool {
        *self == TlsTestSettings::default()
    }
}

/// Certificate discovery (R-AUX-2) scans the operator's network: only what `allowed_targets`
/// names (empty by default: nothing), within the limits below.
/// `SIGNET_DISCOVERY_ALLOWED_TARGETS` (comma-separated) adds entries without editing the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscoverySettings {
    /// CIDR ranges, addresses, host names and `*.domain` patterns jobs may name.
    pub allowed_targets: Vec<String>,
    /// Most addresses one job may name.
    pub max_addresses: u32,
    /// Most ports one job may name.
    pub max_ports: u32,
    /// Most connections one run keeps open at once.
    pub max_concurrency: u32,
    /// Most new connections one run opens per second.
    pub max_rate: u32,
    /// Connect and read timeout of each connection, in seconds.
    pub timeout_seconds: u32,
    /// Warn of certificates that expire within so many days.
    pub expiring_days: u32,
    /// PEM file of extra trust anchors (an internal root), besides the system's and Signet's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_file: Option<PathBuf>,
}

impl Default for DiscoverySettings {
    fn default() -> Self {
        let limits = signet_domain::discovery::DiscoveryLimits::default();
        DiscoverySettings {
            allowed_targets: Vec::new(),
            max_addresses: limits.max_addresses,
            max_ports: limits.max_ports,
            max_concurrency: limits.max_concurrency,
            max_rate: limits.max_rate,
            timeout_seconds: 3,
            expiring_days: 30,
            trust_file: None,
        }
    }
}

impl DiscoverySettings {
    fn is_default(&self) -> bool {
        *self == DiscoverySettings::default()
    }

    /// Each connection's timeout: the setting, within 1 to 60 seconds (a scan's whole budget,
    /// three times it, stays well inside a run's ten-minute lease).
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.timeout_seconds.clamp(1, 60)))
    }

    /// The limits every job is checked against.
    pub fn limits(&self) -> signet_domain::discovery::DiscoveryLimits {
        signet_domain::discovery::DiscoveryLimits {
            max_addresses: self.max_addresses,
            max_ports: self.max_ports,
            max_concurrency: self.max_concurrency,
            max_rate: self.max_rate,
        }
    }
}

/// CRL publication.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrlSettings {
    /// Shards per issuing CA; a certificate's shard is fixed at issuance and written into its CDP.
    pub shards: u32,
}

impl Default for CrlSettings {
    fn default() -> Self {
        CrlSettings { shards: 1 }
    }
}

/// How mail leaves Signet: SMTP when a host is set, otherwise `.eml` files in `outbox/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    pub from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_host: Option<String>,
    #[serde(default = "default_smtp_port")]
    pub smtp_port: u16,
    /// Seconds to wait for the relay to connect or answer before the attempt fails (and is
    /// retried later by the outbox worker).
    #[serde(default = "default_smtp_timeout")]
    pub smtp_timeout_seconds: u32,
}

fn default_smtp_port() -> u16 {
    25
}

fn default_smtp_timeout() -> u32 {
    10
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            from: "Signet <no-reply@localhost>".into(),
            smtp_host: None,
            smtp_port: default_smtp_port(),
            smtp_timeout_seconds: default_smtp_timeout(),
        }
    }
}

/// The organization that runs the CA, as it appears in CA certificates.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaSettings {
    pub organization: String,
    pub country: String,
}

/// Where CA keys live.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    pub backend: KeyBackendKind,
    /// File with the passphrase of the encrypted key files (file backend), relative to the data directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs11: Option<Pkcs11Settings>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum KeyBackendKind {
    /// Encrypted PKCS#8 files in `keys/`.
    #[default]
    File,
    /// A PKCS#11 token (HSM).
    Pkcs11,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11Settings {
    pub module: PathBuf,
    pub token_label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaKeySettings {
    pub common_name: String,
    pub key_algorithm: CaKeyAlgorithm,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerSettings {
    pub common_name: String,
    pub key_algorithm: CaKeyAlgorithm,
    pub ocsp_key_algorithm: CaKeyAlgorithm,
    /// Policies written into the CA certificate.
    pub policies: Vec<String>,
    /// EKUs constraining the CA certificate, dotted (empty: unconstrained).
    #[serde(default)]
    pub extended_key_usages: Vec<String>,
}

/// Choices `init` makes; everything else gets Signet's defaults.
#[derive(Debug, Clone)]
pub struct InitChoices {
    pub base_url: String,
    pub organization: String,
    pub country: String,
    pub ca_key_algorithm: CaKeyAlgorithm,
    pub ocsp_key_algorithm: CaKeyAlgorithm,
    pub keys: KeySettings,
    pub crl_shards: u32,
    /// This CA's own policy OID for the class 3 product (a fresh `2.25.` UUID OID by default).
    pub class3_policy: String,
    /// The policy OID of the time-stamping authority's tokens.
    pub tsa_policy: String,
    /// The policy OID of staff (officer) certificates.
    pub staff_policy: String,
}

impl InitChoices {
    /// What `signet init` chooses when told only these: keys in passphrase-encrypted files, P-384
    /// CAs, a P-256 OCSP responder, one CRL shard, and policy OIDs under IANA's documentation
    /// enterprise number (for tests and benchmarks, not production).
    pub fn with_file_keys(base_url: &str, organization: &str, country: &str) -> InitChoices {
        InitChoices {
            base_url: base_url.into(),
            organization: organization.into(),
            country: country.into(),
            ca_key_algorithm: CaKeyAlgorithm::EcP384,
            ocsp_key_algorithm: CaKeyAlgorithm::EcP256,
            keys: KeySettings {
                backend: KeyBackendKind::File,
                passphrase_file: None,
                pkcs11: None,
            },
            crl_shards: 1,
            class3_policy: "1.3.6.1.4.1.32473.7.1".into(),
            tsa_policy: "1.3.6.1.4.1.32473.7.2".into(),
            staff_policy: "1.3.6.1.4.1.32473.7.3".into(),
        }
    }
}

/// The staff CA: certifies officers' decision-signing keys only (its certificate is constrained
/// to clientAuth and the decision-signing purpose), under the CA's staff policy.
pub fn staff_issuer(organization: &str, c: &InitChoices, policy: &str) -> IssuerSettings {
    IssuerSettings {
        common_name: format!("{organization} Staff CA"),
        key_algorithm: c.ca_key_algorithm,
        ocsp_key_algorithm: c.ocsp_key_algorithm,
        policies: vec![policy.to_owned()],
        extended_key_usages: vec![
            ExtendedKeyUsage::ClientAuth.oid().to_owned(),
            signet_domain::signing_key::DECISION_SIGNING_OID.to_owned(),
        ],
    }
}

impl ConfigFile {
    /// Signet's defaults: a root, a class 3 issuing CA, an S/MIME issuing CA (the S/MIME BRs
    /// want emailProtection-constrained CAs) and the staff CA that certifies officers' decision
    /// keys, the two profiles and two products of design §7.
    pub fn defaults(c: InitChoices) -> ConfigFile {
        let org = c.organization.clone();
        let issuer =
            |name: &str, policies: Vec<String>, ekus: Vec<ExtendedKeyUsage>| IssuerSettings {
                common_name: format!("{org} {name}"),
                key_algorithm: c.ca_key_algorithm,
                ocsp_key_algorithm: c.ocsp_key_algorithm,
                policies,
                extended_key_usages: ekus.iter().map(|e| e.oid().to_owned()).collect(),
            };
        let smime_policy = SMIME_SPONSOR_MULTIPURPOSE.to_owned();
        let issuers = BTreeMap::from([
            (
                "class3".to_owned(),
                issuer("Class 3 Personal CA", vec![c.class3_policy.clone()], vec![]),
            ),
            (
                "smime".to_owned(),
                issuer(
                    "S/MIME Sponsor CA",
                    vec![smime_policy.clone()],
                    vec![
                        ExtendedKeyUsage::EmailProtection,
                        ExtendedKeyUsage::ClientAuth,
                    ],
                ),
            ),
            (STAFF.to_owned(), staff_issuer(&org, &c, &c.staff_policy)),
        ]);
        let class3 = templates::class3_auth("class3", &c.class3_policy);
        let smime = templates::smime_sponsor_multipurpose("smime");
        let products = BTreeMap::from([
            (
                "personal-3-pro".to_owned(),
                ProductSpec {
                    profile: "class3-auth".into(),
                    max_validity: ValidityLimit::Months(39),
                    display_name: Some("Personal Class 3 Pro".into()),
                },
            ),
            (
                "personal-smime".to_owned(),
                ProductSpec {
                    profile: "smime-sponsor-multipurpose".into(),
                    max_validity: ValidityLimit::Days(825),
                    display_name: Some("Personal S/MIME".into()),
                },
            ),
        ]);
        ConfigFile {
            base_url: c.base_url.trim_end_matches('/').to_owned(),
            ca: CaSettings {
                organization: c.organization,
                country: c.country,
            },
            keys: c.keys,
            root: CaKeySettings {
                common_name: format!("{org} Root CA"),
                key_algorithm: c.ca_key_algorithm,
            },
            issuers,
            channels: ChannelMap::default(),
            profiles: BTreeMap::from([
                ("class3-auth".to_owned(), class3),
                ("smime-sponsor-multipurpose".to_owned(), smime),
            ]),
            products,
            mail: MailSettings::default(),
            crl: CrlSettings {
                shards: c.crl_shards,
            },
            issuance: IssuanceSettings::default(),
            http: HttpSettings::default(),
            tls_test: TlsTestSettings::default(),
            discovery: DiscoverySettings::default(),
            publish: PublishSettings::default(),
            tsa: Some(TsaSettings {
                common_name: format!("{org} Time-Stamping Authority"),
                key_algorithm: c.ocsp_key_algorithm,
                policy: c.tsa_policy,
            }),
            staff: StaffSettings::default(),
        }
    }

    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(CONFIG_FILE)
    }

    pub fn load(data_dir: &Path) -> Result<ConfigFile, AppError> {
        let path = Self::path(data_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(AppError::NotInitialized(data_dir.display().to_string()));
            }
            Err(e) => return Err(AppError::io(&path, e)),
        };
        let file: ConfigFile = toml::from_str(&text)
            .map_err(|e| AppError::Config(format!("{}: {e}", path.display())))?;
        file.check()?;
        Ok(file)
    }

    /// Replaces `signet.toml` with this configuration, through a rename: it goes last when a
    /// command adds to a CA, so a crash before it leaves the CA as it was (an unused key and
    /// certificate file, which a second run reports).
    pub fn replace(&self, data_dir: &Path) -> Result<(), AppError> {
        let config_path = ConfigFile::path(data_dir);
        let staged = config_path.with_extension("toml.new");
        std::fs::write(&staged, self.to_toml()?).map_err(|e| AppError::io(&staged, e))?;
        std::fs::rename(&staged, &config_path).map_err(|e| AppError::io(&config_path, e))
    }

    pub fn to_toml(&self) -> Result<String, AppError> {
        let body = toml::to_string_pretty(self).map_err(|e| AppError::Config(e.to_string()))?;
        Ok(format!(
            "# Signet configuration, written by `signet init`.\n\
             # Profiles and products are data: edit them here; Signet checks them at start-up.\n\n{body}"
        ))
    }

    /// Checks everything that can be checked without keys: URL, algorithms, policy.
    pub fn check(&self) -> Result<(), AppError> {
        let url = &self.base_url;
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.ends_with('/') {
            return Err(AppError::Config(format!(
                "base_url `{url}` must be an absolute http(s) URL without a trailing slash"
            )));
        }
        use signet_domain::key::{CaKeyRole, check_ca_key};
        check_ca_key(CaKeyRole::Root, self.root.key_algorithm)?;
        for i in self.issuers.values() {
            check_ca_key(CaKeyRole::Issuing, i.key_algorithm)?;
            check_ca_key(CaKeyRole::OcspResponder, i.ocsp_key_algorithm)?;
        }
        if let Some(tsa) = &self.tsa {
            check_ca_key(CaKeyRole::TimeStamping, tsa.key_algorithm)?;
            signet_pki::extensions::parse_oid(&tsa.policy)?;
        }
        signet_domain::crl::check_shards(self.crl.shards)?;
        self.policy()?;
        Ok(())
    }

    /// The checked policy (profiles, products, channels).
    pub fn policy(&self) -> Result<Policy, AppError> {
        let issuers: Vec<&str> = self.issuers.keys().map(String::as_str).collect();
        Ok(Policy::new(
            PolicySpec {
                channels: self.channels.clone(),
                profiles: self.profiles.clone(),
                products: self.products.clone(),
            },
            &issuers,
        )?)
    }

    /// URL prefix of the CRL shards of the CA called `name` (the root or an issuing CA).
    pub fn crl_base(&self, name: &str) -> String {
        format!("{}/crl/{name}", self.base_url)
    }

    /// URL of the DER certificate of the CA called `name`.
    pub fn certificate_url(&self, name: &str) -> String {
        format!("{}/repository/{name}.der", self.base_url)
    }

    pub fn ocsp_url(&self) -> String {
        format!("{}/ocsp", self.base_url)
    }
}
