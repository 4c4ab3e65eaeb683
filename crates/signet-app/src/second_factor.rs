//! The second factor of staff who can cause issuance or revocation (vetting, support, admin):
//! TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, one step of clock skew), enrolled at
//! the first login, as the CA/Browser Forum's requirement for multi-factor authentication of
//! such accounts asks. The shared secret is sealed with AES-256-GCM under a key kept in the data
//! directory's secrets (a copy of the database alone does not reveal it), and each accepted
//! time step is recorded so that no code works twice.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde_json::json;
use signet_domain::role::Permission;
use signet_store::Account;
use totp_rs::{Algorithm, Builder, Secret, Totp};
use zeroize::Zeroizing;

use crate::AppError;
use crate::accounts::SecondFactor;
use crate::issue::Signet;

/// What a staff member needs to add Signet to an authenticator app.
#[derive(Clone)]
pub struct Enrollment {
    pub secret_base32: String,
    pub otpauth_uri: String,
    /// The otpauth URI as a QR code (SVG).
    pub qr_svg: String,
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrollment").finish_non_exhaustive()
    }
}

const SECRET_OCTETS: usize = 20;
pub(crate) const SETUP_NEEDED: &str = "staff who can cause issuance or revocation log in with a second factor: set up an authenticator app first (the portal's log-in page shows how; over the API, POST /api/v1/second-factor)";

fn rng_error() -> AppError {
    AppError::Internal("the system CSPRNG failed".into())
}

fn totp(secret: &[u8], account: &str) -> Result<Totp, AppError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(Secret::new(secret.to_vec().into_boxed_slice()))
        .with_issuer(Some("Signet"))
        .with_account_name(account)
        .build()
        .map_err(|e| AppError::Internal(format!("TOTP: {e}")))
}

impl Signet {
    fn sealing_key_path(&self) -> PathBuf {
        self.data_dir.join("secrets/totp-sealing.key")
    }

    /// The AES-256-GCM key that seals TOTP secrets, created (mode 0600) on first use.
    fn sealing_key(&self) -> Result<LessSafeKey, AppError> {
        let path = self.sealing_key_path();
        let hex_key = match std::fs::read_to_string(&path) {
            Ok(k) => Zeroizing::new(k.trim().to_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let k = Zeroizing::new(crate::random_hex(32)?);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| AppError::io(dir, e))?;
                }
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(|e| AppError::io(&path, e))?;
                f.write_all(k.as_bytes())
                    .and_then(|()| f.sync_all())
                    .map_err(|e| AppError::io(&path, e))?;
                k
            }
            Err(e) => return Err(AppError::io(&path, e)),
        };
        let bytes =
            Zeroizing::new(hex::decode(hex_key.as_str()).map_err(|_| {
                AppError::Config(format!("{} is not 32 hex octets", path.display()))
            })?);
        let key = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| AppError::Config(format!("{} is not a 256-bit key", path.display())))?;
        Ok(LessSafeKey::new(key))
    }

    /// nonce ‖ ciphertext ‖ tag, bound to the account (its id is the associated data).
    fn seal(&self, account: i64, secret: &[u8]) -> Result<Vec<u8>, AppError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| rng_error())?;
        let mut in_out = secret.to_vec();
        self.sealing_key()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(account.to_be_bytes()),
                &mut in_out,
            )
            .map_err(|_| AppError::Internal("sealing the TOTP secret failed".into()))?;
        Ok([nonce.as_slice(), &in_out].concat())
    }

    fn unseal(&self, account: i64, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, AppError> {
        let corrupt = || {
            AppError::Internal(format!(
                "the TOTP secret of account {account} does not open with the sealing key; an administrator must reset it"
            ))
        };
        if sealed.len() < NONCE_LEN {
            return Err(corrupt());
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| corrupt())?;
        let mut in_out = Zeroizing::new(rest.to_vec());
        let plain = self
            .sealing_key()?
            .open_in_place(nonce, Aad::from(account.to_be_bytes()), &mut in_out)
            .map_err(|_| corrupt())?
            .to_vec();
        Ok(Zeroizing::new(plain))
    }

    /// Starts (or restarts, while no code has verified yet) a staff member's TOTP set-up after
    /// checking the password; the second factor is in force from the first code that verifies.
    pub async fn start_totp_enrollment(
        &self,
        email: &str,
        password: &str,
        client: &str,
    ) -> Result<Enrollment, AppError> {
        let account = self
            .verify_credentials(email, password, None, client, true)
            .await?
            .account;
        if !account.role.may(Permission::SecondFactor) {
            return Err(AppError::Conflict(
                "only staff who can cause issuance or revocation use a second factor".into(),
            ));
        }
        if account.totp_enabled {
            return Err(AppError::Conflict(
                "a second factor is already set up for this account; an administrator can reset it"
                    .into(),
            ));
        }
        let mut secret = Zeroizing::new([0u8; SECRET_OCTETS]);
        SystemRandom::new()
            .fill(secret.as_mut())
            .map_err(|_| rng_error())?;
        let sealed = self.seal(account.id, secret.as_ref())?;
        let subject = format!("account:{}", account.id);
        let mut work = self.work().await?;
        work.set_totp_secret(account.id, &sealed).await?;
        work.audit(
            &subject,
            "account.second_factor_enrollment",
            &subject,
            json!({}),
        );
        work.commit().await?;
        let t = totp(secret.as_ref(), &account.email)?;
        let otpauth_uri = t
            .to_url()
            .map_err(|e| AppError::Internal(format!("TOTP: {e}")))?;
        let qr_svg = qrcode::QrCode::new(otpauth_uri.as_bytes())
            .map_err(|e| AppError::Internal(format!("QR code: {e}")))?
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build();
        Ok(Enrollment {
            secret_base32: t.secret().to_base32(),
            otpauth_uri,
            qr_svg,
        })
    }

    /// The second factor of a log-in, after a right password: required of staff who can cause
    /// issuance or revocation. Returns the TOTP time step to accept (once) with the session.
    pub(crate) fn second_factor(
        &self,
        account: &Account,
        code: Option<&str>,
        enrolling: bool,
    ) -> Result<Option<i64>, SecondFactor> {
        let vets = account.role.may(Permission::SecondFactor);
        if !vets || enrolling {
            return Ok(None);
        }
        let (Some(sealed), Some(code)) = (account.totp_secret.as_deref(), code.map(str::trim))
        else {
            return Err(if account.totp_secret.is_some() && account.totp_enabled {
                SecondFactor::CodeMissing
            } else {
                SecondFactor::Setup
            });
        };
        let secret = match self.unseal(account.id, sealed) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(account = account.id, error = %e, "TOTP secret unreadable");
                return Err(SecondFactor::Wrong("totp_unreadable"));
            }
        };
        let now = u64::try_from(self.now().unix_timestamp()).unwrap_or(0);
        totp(&secret, &account.email)
            .ok()
            .and_then(|t| t.check(code, now))
            .and_then(|s| i64::try_from(s).ok())
            .map(Some)
            .ok_or(SecondFactor::Wrong("totp"))
    }
}
