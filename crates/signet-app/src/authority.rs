//! The CA hierarchy as loaded at start-up: certificates from `ca/`, keys from the configured
//! backend, each paired and checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use signet_domain::key::CaKeyAlgorithm;
use signet_pki::file_key::FileKey;
use signet_pki::issuance::{Issuer, IssuerUrls};
use signet_pki::keys::{CaSigner, KeyBackend};
use signet_pki::pkcs11_key::Pkcs11Token;

use crate::AppError;
use crate::config::{ConfigFile, KeyBackendKind, ROOT};
use crate::secrets::{self, Secret};

pub const CA_DIR: &str = "ca";
pub const KEYS_DIR: &str = "keys";
pub const DEFAULT_PASSPHRASE_FILE: &str = "secrets/ca-passphrase";

/// The name under which an issuing CA's OCSP responder is kept.
pub fn responder_name(issuer: &str) -> String {
    format!("{issuer}-ocsp")
}

pub fn certificate_path(data_dir: &Path, name: &str) -> PathBuf {
    data_dir.join(CA_DIR).join(format!("{name}.pem"))
}

/// Where CA keys are kept, opened with the secret that unlocks them.
#[derive(Debug)]
pub enum KeyStore {
    Files {
        dir: PathBuf,
        passphrase: Arc<Secret>,
    },
    Pkcs11 {
        token: Pkcs11Token,
    },
}

impl KeyStore {
    pub fn passphrase_file(data_dir: &Path, config: &ConfigFile) -> PathBuf {
        data_dir.join(
            config
                .keys
                .passphrase_file
                .clone()
                .unwrap_or_else(|| DEFAULT_PASSPHRASE_FILE.into()),
        )
    }

    /// Opens the key store of an existing CA.
    pub fn open(data_dir: &Path, config: &ConfigFile) -> Result<KeyStore, AppError> {
        match config.keys.backend {
            KeyBackendKind::File => Ok(KeyStore::Files {
                dir: data_dir.join(KEYS_DIR),
                passphrase: Arc::new(secrets::passphrase(&Self::passphrase_file(
                    data_dir, config,
                ))?),
            }),
            KeyBackendKind::Pkcs11 => Self::open_token(data_dir, config),
        }
    }

    pub fn open_token(data_dir: &Path, config: &ConfigFile) -> Result<KeyStore, AppError> {
        let p = config.keys.pkcs11.as_ref().ok_or_else(|| {
            AppError::Config("keys.backend = \"pkcs11\" needs a [keys.pkcs11] section".into())
        })?;
        let pin_file = p.pin_file.as_ref().map(|f| data_dir.join(f));
        let pin = secrets::pin(pin_file.as_deref())?;
        Ok(KeyStore::Pkcs11 {
            token: Pkcs11Token::open(&p.module, &p.token_label, pin.expose())?,
        })
    }

    fn key_path(dir: &Path, name: &str) -> PathBuf {
        dir.join(format!("{name}.key.pem"))
    }

    fn label(name: &str) -> String {
        format!("signet-{name}")
    }

    /// Generates a new key; never replaces an existing one.
    pub fn generate(
        &self,
        name: &str,
        algorithm: CaKeyAlgorithm,
    ) -> Result<Arc<dyn KeyBackend>, AppError> {
        match self {
            KeyStore::Files { dir, passphrase } => {
                let (key, pem) = FileKey::generate(algorithm, passphrase.expose().as_bytes())?;
                std::fs::create_dir_all(dir).map_err(|e| AppError::io(dir, e))?;
                write_new_file(&Self::key_path(dir, name), pem.as_bytes(), 0o600)?;
                Ok(Arc::new(key))
            }
            KeyStore::Pkcs11 { token } => {
                Ok(Arc::new(token.generate(&Self::label(name), algorithm)?))
            }
        }
    }

    /// The key of the certificate `certificate_der`. A key file is decrypted when it first
    /// signs ([`LazyFileKey`]); `Signet::unlock_keys` decrypts them all at once.
    pub fn load(
        &self,
        name: &str,
        algorithm: CaKeyAlgorithm,
        certificate_der: &[u8],
    ) -> Result<Arc<dyn KeyBackend>, AppError> {
        match self {
            KeyStore::Files { dir, passphrase } => {
                let path = Self::key_path(dir, name);
                std::fs::metadata(&path).map_err(|e| AppError::io(&path, e))?;
                Ok(Arc::new(LazyFileKey {
                    algorithm,
                    public_key: public_key_of(certificate_der)?,
                    path,
                    passphrase: std::sync::Mutex::new(Some(passphrase.clone())),
                    key: std::sync::OnceLock::new(),
                }))
            }
            KeyStore::Pkcs11 { token } => Ok(Arc::new(token.find(&Self::label(name), algorithm)?)),
        }
    }
}

/// The SubjectPublicKeyInfo DER of a certificate.
fn public_key_of(certificate_der: &[u8]) -> Result<Vec<u8>, AppError> {
    use signet_pki::der::{Decode, Encode};
    signet_pki::Certificate::from_der(certificate_der)
        .and_then(|c| c.tbs_certificate().subject_public_key_info().to_der())
        .map_err(|e| AppError::Config(format!("a CA certificate does not parse: {e}")))
}

/// Decrypts a key file and checks that it holds `public_key`.
fn decrypt(
    path: &Path,
    algorithm: CaKeyAlgorithm,
    passphrase: &Secret,
    public_key: &[u8],
) -> Result<FileKey, String> {
    let pem = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let key = FileKey::from_encrypted_pem(algorithm, &pem, passphrase.expose().as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if key.public_key_der() != public_key {
        return Err(format!(
            "{} does not hold the key of its certificate: restore the matching key file",
            path.display()
        ));
    }
    Ok(key)
}

/// A CA key file decrypted the first time it signs. Decryption costs a key derivation
/// (PBKDF2-SHA256, 600,000 rounds: about 65 ms a key here), and most commands sign with one key
/// or none; `signet discover`, say, signs nothing.
struct LazyFileKey {
    algorithm: CaKeyAlgorithm,
    /// The certificate's SubjectPublicKeyInfo; the decrypted key must match it.
    public_key: Vec<u8>,
    path: PathBuf,
    /// Given up once the key is decrypted: the last key to need it drops the passphrase.
    passphrase: std::sync::Mutex<Option<Arc<Secret>>>,
    key: std::sync::OnceLock<Result<FileKey, String>>,
}

impl std::fmt::Debug for LazyFileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyFileKey")
            .field("path", &self.path)
            .field("decrypted", &self.key.get().is_some())
            .finish_non_exhaustive()
    }
}

impl KeyBackend for LazyFileKey {
    fn algorithm(&self) -> CaKeyAlgorithm {
        self.algorithm
    }

    fn public_key_der(&self) -> &[u8] {
        &self.public_key
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, signet_pki::PkiError> {
        self.key
            .get_or_init(|| {
                let mut held = self.passphrase.lock().unwrap_or_else(|p| p.into_inner());
                let passphrase = held
                    .take()
                    .ok_or_else(|| "the passphrase is gone".to_owned())?;
                decrypt(&self.path, self.algorithm, &passphrase, &self.public_key)
            })
            .as_ref()
            .map_err(|e| signet_pki::PkiError::Key(e.clone()))?
            .sign(message)
    }
}

/// Writes a file that must not exist yet, durably, with the given mode.
pub fn write_new_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), AppError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| AppError::io(path, e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| AppError::io(path, e))
}

/// An OCSP responder: its certificate and key, and how requests name the CA it answers for.
#[derive(Debug)]
pub struct Responder {
    pub signer: signet_pki::ocsp::OcspResponder,
    pub issuer: signet_pki::ocsp::OcspIssuer,
}

/// Every CA of the hierarchy, ready to sign.
#[derive(Debug)]
pub struct Authority {
    pub root: Issuer,
    pub issuers: BTreeMap<String, Issuer>,
    pub responders: BTreeMap<String, Responder>,
    /// The time-stamping authority, when the data directory has one.
    pub tsa: Option<signet_pki::tsp::TimeStampAuthority>,
    /// The TSA's key, for the checks that sign with every key.
    pub tsa_key: Option<Arc<dyn KeyBackend>>,
}

pub fn root_urls(config: &ConfigFile) -> IssuerUrls {
    IssuerUrls {
        crl_base: config.crl_base(ROOT),
        crl_shards: 1,
        ca_issuers: config.certificate_url(ROOT),
        ocsp: None,
    }
}

pub fn issuer_urls(config: &ConfigFile, name: &str) -> IssuerUrls {
    IssuerUrls {
        crl_base: config.crl_base(name),
        crl_shards: config.crl.shards,
        ca_issuers: config.certificate_url(name),
        ocsp: Some(config.ocsp_url()),
    }
}

/// Reads a CA certificate (PEM) from `ca/`.
pub fn read_certificate(data_dir: &Path, name: &str) -> Result<Vec<u8>, AppError> {
    let path = certificate_path(data_dir, name);
    let pem = std::fs::read(&path).map_err(|e| AppError::io(&path, e))?;
    let (_, der) =
        der_pem_decode(&pem).map_err(|e| AppError::Config(format!("{}: {e}", path.display())))?;
    Ok(der)
}

fn der_pem_decode(pem: &[u8]) -> Result<(String, Vec<u8>), String> {
    signet_pki::pem_decode(pem).map_err(|e| e.to_string())
}

impl Authority {
    pub fn load(
        data_dir: &Path,
        config: &ConfigFile,
        keys: &KeyStore,
    ) -> Result<Authority, AppError> {
        let pair = |name: &str, algorithm, urls| -> Result<Issuer, AppError> {
            let certificate = read_certificate(data_dir, name)?;
            let signer = CaSigner::new(keys.load(name, algorithm, &certificate)?)?;
            Ok(Issuer::new(name, certificate, signer, urls)?)
        };
        let root = pair(ROOT, config.root.key_algorithm, root_urls(config))?;
        let mut issuers = BTreeMap::new();
        let mut responders = BTreeMap::new();
        for (name, settings) in &config.issuers {
            let issuer = pair(name, settings.key_algorithm, issuer_urls(config, name))?;
            let rname = responder_name(name);
            let responder_certificate = read_certificate(data_dir, &rname)?;
            responders.insert(
                name.clone(),
                Responder {
                    signer: signet_pki::ocsp::OcspResponder::new(
                        &responder_certificate,
                        keys.load(&rname, settings.ocsp_key_algorithm, &responder_certificate)?,
                    )?,
                    issuer: signet_pki::ocsp::OcspIssuer::new(name, &issuer.certificate_der)?,
                },
            );
            issuers.insert(name.clone(), issuer);
        }
        let (tsa, tsa_key) = match &config.tsa {
            Some(t) => {
                let certificate = read_certificate(data_dir, crate::config::TSA)?;
                let key = keys.load(crate::config::TSA, t.key_algorithm, &certificate)?;
                let tsa = signet_pki::tsp::TimeStampAuthority::new(
                    key.clone(),
                    &certificate,
                    &[],
                    signet_pki::extensions::parse_oid(&t.policy)?,
                )?;
                (Some(tsa), Some(key))
            }
            None => (None, None),
        };
        Ok(Authority {
            root,
            issuers,
            responders,
            tsa,
            tsa_key,
        })
    }

    pub fn issuer(&self, name: &str) -> Result<&Issuer, AppError> {
        self.issuers
            .get(name)
            .ok_or_else(|| AppError::Config(format!("no issuing CA named `{name}`")))
    }
}
