//! `signet init`: create the hierarchy (root, issuing CAs, OCSP responders) and the config.
//! Every CA certificate goes through the same record → sign → record cycle as any other.

use std::path::{Path, PathBuf};

use signet_domain::validity::Period;
use signet_pki::extensions::parse_oid;
use signet_pki::hierarchy::{
    IssuingCaProfile, issuing_ca_certificate, ocsp_responder_certificate, root_certificate,
    tsa_certificate,
};
use signet_pki::issuance::Issuer;
use signet_pki::keys::CaSigner;
use signet_pki::name::ca_name;
use signet_store::Store;

use crate::authority::{
    CA_DIR, KeyStore, certificate_path, issuer_urls, responder_name, root_urls, write_new_file,
};
use crate::config::{
    ConfigFile, InitChoices, IssuerSettings, KeyBackendKind, ROOT, STAFF, TSA, TsaSettings,
    staff_issuer,
};
use crate::issue::{IssuerRef, record_and_sign};
use crate::{AppError, Clock, secrets};

const ROOT_MONTHS: u32 = 240;
const ISSUING_MONTHS: u32 = 120;
const RESPONDER_MONTHS: u32 = 36;
/// Tokens must outlive the documents they date; the TSA certificate is renewed long before.
const TSA_MONTHS: u32 = 60;

/// What `init` did, for the operator.
#[derive(Debug)]
pub struct InitReport {
    pub config_path: PathBuf,
    /// Set when a random passphrase was generated and written there.
    pub passphrase_file: Option<PathBuf>,
    /// (name, certificate file) for every certificate made.
    pub certificates: Vec<(String, PathBuf)>,
}

/// Refuses when `data_dir` or the store already holds a CA.
pub async fn ensure_empty(data_dir: &Path, store: &dyn Store) -> Result<(), AppError> {
    let config = ConfigFile::path(data_dir);
    if config.exists() || data_dir.join(CA_DIR).exists() {
        return Err(AppError::AlreadyInitialized(format!(
            "a CA already exists in {} ({}); refusing to overwrite it. Use another --data-dir for a new CA",
            data_dir.display(),
            if config.exists() {
                "signet.toml is there"
            } else {
                "ca/ is there, from an init that did not finish"
            }
        )));
    }
    let counts = store.counts().await?;
    if counts.issued + counts.intents + counts.abandoned > 0 {
        return Err(AppError::AlreadyInitialized(
            "the database already holds certificates of a CA; refusing to create another in it"
                .into(),
        ));
    }
    Ok(())
}

/// Creates the CA. `progress` is told each step, for a progress display.
pub async fn init(
    data_dir: &Path,
    choices: InitChoices,
    store: &dyn Store,
    clock: &dyn Clock,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<InitReport, AppError> {
    ensure_empty(data_dir, store).await?;
    let config = ConfigFile::defaults(choices);
    config.check()?;
    std::fs::create_dir_all(data_dir).map_err(|e| AppError::io(data_dir, e))?;

    let (keys, passphrase_file) = match config.keys.backend {
        KeyBackendKind::File => {
            let file = KeyStore::passphrase_file(data_dir, &config);
            let (passphrase, written) = secrets::passphrase_for_new_keys(&file)?;
            (
                KeyStore::Files {
                    dir: data_dir.join(crate::authority::KEYS_DIR),
                    passphrase: std::sync::Arc::new(passphrase),
                },
                written,
            )
        }
        KeyBackendKind::Pkcs11 => (KeyStore::open_token(data_dir, &config)?, None),
    };
    let ca_dir = data_dir.join(CA_DIR);
    std::fs::create_dir_all(&ca_dir).map_err(|e| AppError::io(&ca_dir, e))?;
    let mut certificates = Vec::new();
    let mut save = |name: &str, der: &[u8]| -> Result<(), AppError> {
        let path = certificate_path(data_dir, name);
        write_new_file(&path, signet_pki::certificate_pem(der).as_bytes(), 0o644)?;
        certificates.push((name.to_owned(), path));
        Ok(())
    };
    let now = clock.now();
    let (org, country) = (&config.ca.organization, &config.ca.country);

    progress(&format!(
        "generating the root key ({})",
        config.root.key_algorithm
    ));
    let root_signer = CaSigner::new(keys.generate(ROOT, config.root.key_algorithm)?)?;
    let root_name = ca_name(country, org, &config.root.common_name)?;
    let period = Period::months_from(now, ROOT_MONTHS)?;
    progress("signing the root certificate");
    let root_der = record_and_sign(
        store,
        clock,
        &IssuerRef {
            name: ROOT,
            crl_shards: 1,
        },
        &format!("ca:{ROOT}"),
        "ca",
        "operator:init",
        |serial| root_certificate(&root_signer, &root_name, serial, period),
    )
    .await?
    .der;
    save(ROOT, &root_der)?;
    let root = Issuer::new(ROOT, root_der, root_signer, root_urls(&config))?;

    for (name, settings) in &config.issuers {
        for (made, der) in certify_issuer(
            store, clock, &keys, &root, &config, name, settings, progress,
        )
        .await?
        {
            save(&made, &der)?;
        }
    }

    if let Some(tsa) = &config.tsa {
        progress(&format!(
            "generating the time-stamping authority's key ({})",
            tsa.key_algorithm
        ));
        let der = certify_tsa(store, clock, &keys, &root, &config, tsa).await?;
        save(TSA, &der)?;
    }

    // Written last: its presence means the CA is complete.
    let config_path = ConfigFile::path(data_dir);
    write_new_file(&config_path, config.to_toml()?.as_bytes(), 0o644)?;
    Ok(InitReport {
        config_path,
        passphrase_file,
        certificates,
    })
}

/// Makes an issuing CA's key and certificate (signed by the root) and its OCSP responder's key
/// and certificate (signed by the CA), each through the record → sign → record cycle. Returns
/// (name, certificate) of both, to be written to `ca/`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn certify_issuer(
    store: &dyn Store,
    clock: &dyn Clock,
    keys: &KeyStore,
    root: &Issuer,
    config: &ConfigFile,
    name: &str,
    settings: &IssuerSettings,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Vec<(String, Vec<u8>)>, AppError> {
    let (org, country) = (&config.ca.organization, &config.ca.country);
    let now = clock.now();
    progress(&format!(
        "generating the key of issuing CA `{name}` ({})",
        settings.key_algorithm
    ));
    let signer = CaSigner::new(keys.generate(name, settings.key_algorithm)?)?;
    let subject = ca_name(country, org, &settings.common_name)?;
    let profile = IssuingCaProfile {
        policies: settings.policies.clone(),
        extended_key_usages: settings
            .extended_key_usages
            .iter()
            .map(|o| parse_oid(o))
            .collect::<Result<_, _>>()?,
    };
    let period = Period::months_from(now, ISSUING_MONTHS)?;
    let der = record_and_sign(
        store,
        clock,
        &IssuerRef::from(root),
        &format!("ca:{name}"),
        "ca",
        "operator:init",
        |serial| issuing_ca_certificate(root, signer.spki(), &subject, serial, period, &profile),
    )
    .await?
    .der;
    let issuer = Issuer::new(name, der.clone(), signer, issuer_urls(config, name))?;

    let rname = responder_name(name);
    progress(&format!(
        "generating the OCSP responder key for `{name}` ({})",
        settings.ocsp_key_algorithm
    ));
    let responder = CaSigner::new(keys.generate(&rname, settings.ocsp_key_algorithm)?)?;
    let subject = ca_name(
        country,
        org,
        &format!("{} OCSP Responder", settings.common_name),
    )?;
    let period = Period::months_from(now, RESPONDER_MONTHS)?;
    let responder_der = record_and_sign(
        store,
        clock,
        &IssuerRef::from(&issuer),
        &format!("ca:{rname}"),
        "ca",
        "operator:init",
        |serial| ocsp_responder_certificate(&issuer, responder.spki(), &subject, serial, period),
    )
    .await?
    .der;
    Ok(vec![(name.to_owned(), der), (rname, responder_der)])
}

/// Adds the staff CA (and its OCSP responder) to a CA made before Signet had one, so that
/// officers can enrol decision-signing keys. Refused when it has one.
pub async fn add_staff_ca(
    data_dir: &Path,
    store: &dyn Store,
    clock: &dyn Clock,
    policy: &str,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Vec<PathBuf>, AppError> {
    let mut config = ConfigFile::load(data_dir)?;
    if config.issuers.contains_key(STAFF) {
        return Err(AppError::AlreadyInitialized(format!(
            "{} already has a staff CA",
            data_dir.display()
        )));
    }
    let keys = KeyStore::open(data_dir, &config)?;
    let authority = crate::authority::Authority::load(data_dir, &config, &keys)?;
    let like = config.issuers.values().next().ok_or_else(|| {
        AppError::Config("the CA has no issuing CA to take key algorithms from".into())
    })?;
    let choices = InitChoices {
        ca_key_algorithm: like.key_algorithm,
        ocsp_key_algorithm: like.ocsp_key_algorithm,
        ..InitChoices::with_file_keys(
            &config.base_url,
            &config.ca.organization,
            &config.ca.country,
        )
    };
    let settings = staff_issuer(&config.ca.organization, &choices, policy);
    config.issuers.insert(STAFF.to_owned(), settings.clone());
    config.check()?;
    let mut written = Vec::new();
    for (name, der) in certify_issuer(
        store,
        clock,
        &keys,
        &authority.root,
        &config,
        STAFF,
        &settings,
        progress,
    )
    .await?
    {
        let path = certificate_path(data_dir, &name);
        write_new_file(&path, signet_pki::certificate_pem(&der).as_bytes(), 0o644)?;
        written.push(path);
    }
    config.replace(data_dir)?;
    Ok(written)
}

/// Makes the time-stamping authority's key (on the configured key backend) and its certificate,
/// signed by the root through the record → sign → record cycle. Returns the certificate.
pub(crate) async fn certify_tsa(
    store: &dyn Store,
    clock: &dyn Clock,
    keys: &KeyStore,
    root: &Issuer,
    config: &ConfigFile,
    tsa: &TsaSettings,
) -> Result<Vec<u8>, AppError> {
    let signer = CaSigner::new(keys.generate(TSA, tsa.key_algorithm)?)?;
    let subject = ca_name(
        &config.ca.country,
        &config.ca.organization,
        &tsa.common_name,
    )?;
    let period = Period::months_from(clock.now(), TSA_MONTHS)?;
    Ok(record_and_sign(
        store,
        clock,
        &IssuerRef::from(root),
        &format!("ca:{TSA}"),
        "ca",
        "operator:init",
        |serial| tsa_certificate(root, signer.spki(), &subject, serial, period),
    )
    .await?
    .der)
}
