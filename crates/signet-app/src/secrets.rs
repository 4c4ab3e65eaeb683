//! Secrets for the CA keys: the passphrase of encrypted key files and the PKCS#11 PIN. They come
//! from the environment or from a file (mode 0600), are never logged and are wiped after use.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::AppError;

/// Passphrase in the environment (e.g. injected by a secret manager).
pub const PASSPHRASE_ENV: &str = "SIGNET_CA_PASSPHRASE";
/// Path of a file holding the passphrase.
pub const PASSPHRASE_FILE_ENV: &str = "SIGNET_CA_PASSPHRASE_FILE";
/// PKCS#11 user PIN in the environment.
pub const PIN_ENV: &str = "SIGNET_PKCS11_PIN";

/// A secret value; `Debug` never shows it.
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

fn read_secret_file(path: &Path) -> Result<Secret, AppError> {
    let meta = std::fs::metadata(path).map_err(|e| AppError::io(path, e))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(AppError::Config(format!(
            "{} is readable by other users; run `chmod 600 {}`",
            path.display(),
            path.display()
        )));
    }
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| AppError::io(path, e))?);
    let value = text.trim_end_matches(['\n', '\r']);
    if value.is_empty() {
        return Err(AppError::Config(format!("{} is empty", path.display())));
    }
    Ok(Secret(Zeroizing::new(value.to_owned())))
}

/// Where the passphrase for key files comes from, in order: the environment variable, the file
/// the environment names, the configured file.
pub fn passphrase(configured_file: &Path) -> Result<Secret, AppError> {
    if let Ok(value) = std::env::var(PASSPHRASE_ENV) {
        return Ok(Secret(Zeroizing::new(value)));
    }
    if let Ok(path) = std::env::var(PASSPHRASE_FILE_ENV) {
        return read_secret_file(Path::new(&path));
    }
    read_secret_file(configured_file).map_err(|e| {
        AppError::Config(format!("no CA passphrase: set {PASSPHRASE_ENV} or {PASSPHRASE_FILE_ENV}, or provide the file ({e})"))
    })
}

/// For `init`: the passphrase from the environment if given, otherwise a new random one written
/// to `file` with mode 0600. Returns the secret and the path it was written to, if any.
pub fn passphrase_for_new_keys(file: &Path) -> Result<(Secret, Option<PathBuf>), AppError> {
    if std::env::var(PASSPHRASE_ENV).is_ok() || std::env::var(PASSPHRASE_FILE_ENV).is_ok() {
        return Ok((passphrase(file)?, None));
    }
    let value = Zeroizing::new(crate::random_hex(32)?);
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| AppError::io(dir, e))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| AppError::io(dir, e))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
        .map_err(|e| AppError::io(file, e))?;
    f.write_all(value.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| AppError::io(file, e))?;
    Ok((Secret(value), Some(file.to_owned())))
}

/// The PKCS#11 user PIN: the environment variable, else the configured file.
pub fn pin(configured_file: Option<&Path>) -> Result<Secret, AppError> {
    if let Ok(value) = std::env::var(PIN_ENV) {
        return Ok(Secret(Zeroizing::new(value)));
    }
    match configured_file {
        Some(path) => read_secret_file(path),
        None => Err(AppError::Config(format!(
            "no PKCS#11 PIN: set {PIN_ENV} or keys.pkcs11.pin_file"
        ))),
    }
}
