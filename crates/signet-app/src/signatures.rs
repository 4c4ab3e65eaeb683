//! Checking a signed document for a relying party (R-AUX-5, the public "Check a signature"
//! page and `signet verify`): the signature checked by `signet-sign` against this CA's root,
//! the signer certificate's status taken from this CA's own records. Nothing uploaded is kept.

use signet_domain::Refusal;
use signet_domain::serial::Serial;
use signet_pki::Certificate;
use signet_pki::der::{Decode, Encode};
use signet_sign::SignError;
use signet_sign::report::{Report, Standing};

use crate::AppError;
use crate::issue::Signet;

/// Largest file examined: as for uploaded documents.
pub const MAX_INPUT_BYTES: usize = signet_domain::order::MAX_DOCUMENT_BYTES;

fn refused(e: SignError) -> AppError {
    match e {
        SignError::NotSigned(why) | SignError::Pdf(why) => {
            AppError::Refused(Refusal::InvalidInput(why))
        }
        other => AppError::Refused(Refusal::InvalidInput(other.to_string())),
    }
}

impl Signet {
    /// Examines `input` (a signed PDF, or any file with its detached `signature`) and judges
    /// each signature: trusted when its path ends at this CA's root; its status from this CA's
    /// records (revocation time against the time-stamp), or unknown for other CAs' certificates.
    pub async fn check_signature(
        &self,
        input: &[u8],
        signature: Option<&[u8]>,
    ) -> Result<Report, AppError> {
        let anchors = [self.authority.root.certificate.clone()];
        let (input, signature) = (input.to_vec(), signature.map(<[u8]>::to_vec));
        // One check per core at a time: each may parse a 10 MiB file several times, and the
        // page is public.
        static CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
        let _turn = CHECKS
            .acquire()
            .await
            .map_err(|e| AppError::Internal(format!("signature checks stopped: {e}")))?;
        // Parsing an uploaded PDF is CPU work: off the async workers.
        let mut report = tokio::task::spawn_blocking(move || {
            signet_sign::report::examine(&input, signature.as_deref(), &anchors)
        })
        .await
        .map_err(|e| AppError::Internal(format!("checking a signature stopped: {e}")))?
        .map_err(refused)?;
        for finding in &mut report.signatures {
            let standing = match finding.signer_certificate() {
                Some(certificate) => self.standing(certificate).await?,
                None => Standing::Unknown("the signature cannot be read".into()),
            };
            finding.judge(standing);
        }
        Ok(report)
    }

    /// What this CA's records say of a certificate.
    async fn standing(&self, certificate: &Certificate) -> Result<Standing, AppError> {
        let der = certificate.to_der().map_err(signet_pki::PkiError::from)?;
        if let Some(tsa) = &self.authority.tsa
            && tsa.certificate().to_der().ok() == Some(der.clone())
        {
            return Ok(Standing::Good);
        }
        let ours = self.authority.issuers.values().any(|issuer| {
            signet_pki::signed_data::verify_issued_by(certificate, &issuer.certificate).is_ok()
        });
        if !ours {
            return Ok(Standing::Unknown(
                "it was not issued by this CA, whose records are the only ones consulted here"
                    .into(),
            ));
        }
        let Ok(serial) =
            Serial::from_der_integer(certificate.tbs_certificate().serial_number().as_bytes())
        else {
            return Ok(Standing::Unknown("its serial number is malformed".into()));
        };
        Ok(match self.store.certificate(&serial).await? {
            Some(record) if record.der.as_deref() == Some(der.as_slice()) => match record.revoked_at {
                Some(at) => Standing::Revoked(at),
                None => Standing::Good,
            },
            _ => Standing::Unknown(
                "this CA has no record of issuing it, although its issuer's key signed it: report this to the CA's operator".into(),
            ),
        })
    }
}

/// Reads a certificate file (PEM with one or more certificates, or DER).
pub fn read_certificates(bytes: &[u8]) -> Result<Vec<Certificate>, AppError> {
    let bad = |e: &dyn std::fmt::Display| {
        AppError::Refused(Refusal::InvalidInput(format!("the certificate file: {e}")))
    };
    if bytes.starts_with(b"-----BEGIN") {
        Certificate::load_pem_chain(bytes).map_err(|e| bad(&e))
    } else {
        Certificate::from_der(bytes)
            .map(|c| vec![c])
            .map_err(|e| bad(&e))
    }
}
