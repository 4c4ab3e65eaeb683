//! The time-stamping authority (RFC 3161, R-AUX-5): a request in, a response out — a token, or a
//! rejection that says why. Never an error of its own: what fails on Signet's side is answered
//! as `systemFailure`, so a client always gets a `TimeStampResp`.

use std::path::Path;

use signet_pki::tsp::{FailureInfo, Rejection, TimeStampRequest, rejection_response};

use crate::AppError;
use crate::authority::{Authority, KeyStore, write_new_file};
use crate::config::{ConfigFile, TSA, TsaSettings};
use crate::issue::Signet;

impl Signet {
    /// Answers a DER `TimeStampReq` with a DER `TimeStampResp`.
    pub async fn time_stamp(&self, request: &[u8]) -> Vec<u8> {
        let Some(tsa) = &self.authority.tsa else {
            return rejection_response(&Rejection {
                failure: FailureInfo::SystemFailure,
                text: "this CA has no time-stamping authority: its operator adds one with `signet tsa init`",
            });
        };
        let request = match TimeStampRequest::parse(request, tsa.policy()) {
            Ok(r) => r,
            Err(rejection) => return rejection_response(&rejection),
        };
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            tracing::error!(error = %e, "time stamp: {what}");
            rejection_response(&Rejection {
                failure: FailureInfo::SystemFailure,
                text: "the time-stamping authority cannot answer now; try again shortly",
            })
        };
        let serial = match self.store.next_time_stamp_serial().await {
            Ok(s) => s,
            Err(e) => return failed("drawing a serial failed", &e),
        };
        match tsa.grant(request, serial, self.now()) {
            Ok(response) => response,
            Err(e) => failed("signing failed", &e),
        }
    }
}

/// Adds a time-stamping authority to a CA made before Signet had one: a key on the CA's key
/// backend, a certificate from the root, and `[tsa]` in `signet.toml`. Refused when it has one.
pub async fn add_tsa(
    data_dir: &Path,
    store: &dyn signet_store::Store,
    clock: &dyn crate::Clock,
    settings: TsaSettings,
) -> Result<std::path::PathBuf, AppError> {
    let mut config = ConfigFile::load(data_dir)?;
    if config.tsa.is_some() {
        return Err(AppError::AlreadyInitialized(format!(
            "{} already has a time-stamping authority",
            data_dir.display()
        )));
    }
    config.tsa = Some(settings.clone());
    config.check()?;
    let keys = KeyStore::open(data_dir, &config)?;
    let authority = Authority::load(
        data_dir,
        &ConfigFile {
            tsa: None,
            ..config.clone()
        },
        &keys,
    )?;
    let der =
        crate::init::certify_tsa(store, clock, &keys, &authority.root, &config, &settings).await?;
    let path = crate::authority::certificate_path(data_dir, TSA);
    write_new_file(&path, signet_pki::certificate_pem(&der).as_bytes(), 0o644)?;
    config.replace(data_dir)?;
    Ok(path)
}
