//! Signet's use cases. Each one runs domain rules, then storage, then PKI, then storage again,
//! in that order; this crate picks no database and no key backend itself.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod actions;
pub mod agreement;
pub mod audit;
pub mod authority;
pub mod backup;
pub mod certificates;
pub mod config;
mod cores;
pub mod credentials;
pub mod crls;
pub mod dates;
pub mod discovery;
pub mod documents;
pub mod error;
pub mod evidence;
pub mod health;
pub mod init;
pub mod issue;
pub mod jobs;
pub mod mail;
mod meters;
pub mod notices;
pub mod ocsp;
pub mod ocsp_cache;
pub mod orders;
pub mod pickup;
pub mod publish;
pub mod reconcile;
pub mod reminders;
pub mod renewal;
pub mod second_factor;
pub mod secrets;
pub mod signatures;
pub mod signed_decisions;
pub mod support;
pub mod time_stamps;
pub mod tls_tests;
pub mod transitions;
pub mod vetting;
pub mod work;

use std::sync::Arc;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use signet_domain::serial::{SERIAL_ENTROPY_OCTETS, Serial};
use time::OffsetDateTime;

pub use error::AppError;

/// Where "now" comes from; tests can pin it.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// Draws a serial from the operating system's CSPRNG.
pub fn random_serial() -> Result<Serial, AppError> {
    let mut entropy = [0u8; SERIAL_ENTROPY_OCTETS];
    SystemRandom::new()
        .fill(&mut entropy)
        .map_err(|_| AppError::Internal("the system CSPRNG failed".into()))?;
    Ok(Serial::from_entropy(entropy))
}

/// Random bytes as lower-case hex (passphrases, identifiers).
pub fn random_hex(octets: usize) -> Result<String, AppError> {
    let mut bytes = vec![0u8; octets];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| AppError::Internal("the system CSPRNG failed".into()))?;
    Ok(hex::encode(bytes))
}

/// The shared handle on a clock.
pub type SharedClock = Arc<dyn Clock>;

/// SHA-256 of some bytes (fingerprints).
pub fn sha256(bytes: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}

pub use signet_pki::certificate_pem;
