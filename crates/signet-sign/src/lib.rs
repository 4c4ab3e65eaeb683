//! Signing documents with a personal certificate, and checking such signatures.
//!
//! A PDF gets a PAdES signature (ETSI EN 319 142-1) appended as an incremental update; any other
//! file gets a detached CAdES signature (`.p7s`, ETSI EN 319 122-1). The key comes from the
//! PKCS#12 file handed out at pickup. Levels: B-B (signature), B-T (plus a signature time-stamp),
//! B-LT (plus the certificates, OCSP responses and CRLs of every path in the PDF's DSS), B-LTA
//! (plus a document time-stamp over all of it).
//!
//! Synchronous; the network is reached only through [`network::Fetch`] (TSA, OCSP, CRL), so a
//! program that embeds this crate can bring its own client. Every signature is checked again
//! before it is handed back.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cades;
pub mod credentials;
pub mod error;
pub mod network;
pub mod pades;
pub mod report;
pub mod revocation;
pub mod timestamp;
pub mod verify;

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

pub use credentials::Credentials;
pub use error::SignError;
use signet_pki::signed_data::{Hash, SigningKey};

use crate::cades::{SigningTime, Tsa};
use crate::network::Fetch;
use crate::pades::SignatureKind;

/// The baseline levels of ETSI EN 319 142-1 / 319 122-1, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Basic signature.
    BB,
    /// With a signature time-stamp.
    BT,
    /// With the validation data (long-term).
    BLT,
    /// With a document time-stamp over the validation data (long-term archival).
    BLTA,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Level::BB => "B-B",
            Level::BT => "B-T",
            Level::BLT => "B-LT",
            Level::BLTA => "B-LTA",
        })
    }
}

impl FromStr for Level {
    type Err = SignError;

    fn from_str(s: &str) -> Result<Level, SignError> {
        match s.to_ascii_lowercase().as_str() {
            "b-b" | "bb" => Ok(Level::BB),
            "b-t" | "bt" => Ok(Level::BT),
            "b-lt" | "blt" => Ok(Level::BLT),
            "b-lta" | "blta" => Ok(Level::BLTA),
            _ => Err(SignError::Usage(format!(
                "unknown level `{s}`: use b-b, b-t, b-lt or b-lta"
            ))),
        }
    }
}

/// What to sign with and how.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// The level to reach.
    pub level: Level,
    /// The time-stamp authority's URL (B-T and above).
    pub tsa_url: Option<&'a str>,
    /// How to reach the TSA, OCSP responders and CRL hosts.
    pub fetch: &'a dyn Fetch,
    /// The claimed signing time.
    pub now: SystemTime,
}

/// Whether the bytes are a PDF (the header may follow up to 1024 bytes of junk, ISO 32000 §7.5.2
/// as readers apply it).
pub fn is_pdf(input: &[u8]) -> bool {
    input
        .get(..input.len().min(1024))
        .is_some_and(|head| head.windows(5).any(|w| w == b"%PDF-"))
}

/// Room for the CMS in a PDF: the certificates, the signature, and a time-stamp token with its
/// own chain; unused room stays zeros.
fn capacity(credentials: &Credentials, level: Level) -> usize {
    use der::Encode;
    let certificates: usize = credentials
        .path()
        .iter()
        .map(|c| {
            c.encoded_len()
                .map(|l| u32::from(l) as usize)
                .unwrap_or(4096)
        })
        .sum();
    certificates + 4096 + if level >= Level::BT { 16384 } else { 0 }
}

/// Signs a PDF at the level asked: the output is the input with the signature (and, by level,
/// the DSS and a document time-stamp) appended; it is checked before it is returned.
pub fn sign_pdf(
    pdf: &[u8],
    credentials: &Credentials,
    options: Options<'_>,
) -> Result<Vec<u8>, SignError> {
    let tsa = options.tsa_url.map(|url| Tsa {
        url,
        fetch: options.fetch,
    });
    if options.level >= Level::BT && tsa.is_none() {
        return Err(SignError::Usage(format!(
            "level {} needs a time-stamp authority: give --tsa URL",
            options.level
        )));
    }
    let hash = credentials.key().hash();
    let mut signed = pades::append_signature(
        pdf,
        SignatureKind::Signature(options.now.into()),
        capacity(credentials, options.level),
        hash,
        |digest| {
            cades::signature(
                credentials,
                digest,
                SigningTime::Omitted,
                options.level,
                tsa,
            )
        },
    )?;
    if options.level >= Level::BLT {
        let mut paths = vec![credentials.path()];
        for found in verify::pdf(&signed)? {
            if let Some(stamp) = found.time_stamp {
                paths.push(stamp.path);
            }
        }
        let data = revocation::collect(options.fetch, &paths)?;
        signed = pades::append_dss(&signed, &data)?;
    }
    if options.level == Level::BLTA {
        let tsa = tsa.ok_or_else(|| SignError::Usage("B-LTA needs a TSA".into()))?;
        signed = pades::append_signature(
            &signed,
            SignatureKind::DocumentTimeStamp,
            16384,
            Hash::Sha256,
            |digest| timestamp::request(tsa.fetch, tsa.url, digest, Hash::Sha256),
        )?;
    }
    let reached = verify::pdf(&signed)?
        .into_iter()
        .filter(|s| !s.document_time_stamp)
        .map(|s| s.level)
        .max();
    if reached != Some(options.level) {
        return Err(SignError::Pdf(format!(
            "the signed file reaches {} instead of {}; nothing was written",
            reached.map_or("no level".to_owned(), |l| l.to_string()),
            options.level
        )));
    }
    Ok(signed)
}

/// Signs any file with a detached CMS signature (`.p7s`, DER) at B-B or B-T; checked before it
/// is returned.
pub fn sign_detached(
    data: &[u8],
    credentials: &Credentials,
    options: Options<'_>,
) -> Result<Vec<u8>, SignError> {
    if options.level > Level::BT {
        return Err(SignError::Usage(format!(
            "a detached signature goes up to B-T; {} applies to PDF files, whose DSS carries the validation data",
            options.level
        )));
    }
    let tsa = options.tsa_url.map(|url| Tsa {
        url,
        fetch: options.fetch,
    });
    let digest = credentials.key().hash().digest(data);
    let p7s = cades::signature(
        credentials,
        &digest,
        SigningTime::Attribute(options.now),
        options.level,
        tsa,
    )?;
    let checked = verify::detached(data, &p7s)?;
    if checked.level != options.level {
        return Err(SignError::NotSigned(format!(
            "the signature just made reaches {} instead of {}; nothing was written",
            checked.level, options.level
        )));
    }
    Ok(p7s)
}
