//! Issuing a subscriber certificate: domain plan → prepared (checked) TBS → intent recorded →
//! signed → certificate recorded. A crash between the two records leaves an intent holding the
//! exact TBS, so no signed certificate is ever unaccounted for.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use signet_domain::config::Policy;
use signet_domain::identity::{Identity, IdentityInput};
use signet_domain::plan::PlanRequest;
use signet_domain::serial::Serial;
use signet_domain::validity::Period;
use signet_pki::PkiError;
use signet_pki::csr::{SubscriberKey, parse_csr};
use signet_pki::issuance::PreparedCertificate;
use signet_store::{IssuanceIntent, Store, StoreError};

use crate::authority::{Authority, KeyStore};
use crate::config::ConfigFile;
use crate::mail::Mailer;
use crate::{AppError, Clock, SharedClock, random_serial};

/// How often a fresh serial is drawn when the store reports a collision (with 126 random bits,
/// a second collision means something is broken).
const SERIAL_ATTEMPTS: usize = 3;

/// The signing CA as the issuance record names it: its name and CRL shard count.
#[derive(Debug, Clone, Copy)]
pub struct IssuerRef<'a> {
    pub name: &'a str,
    pub crl_shards: u32,
}

impl<'a> From<&'a signet_pki::issuance::Issuer> for IssuerRef<'a> {
    fn from(i: &'a signet_pki::issuance::Issuer) -> Self {
        IssuerRef {
            name: &i.name,
            crl_shards: i.urls.crl_shards,
        }
    }
}

/// Draws a serial, prepares the certificate, records the intent, signs, records the result.
pub async fn record_and_sign<'a, F>(
    store: &dyn Store,
    clock: &dyn Clock,
    issuer: &IssuerRef<'_>,
    profile: &str,
    prepare: F,
) -> Result<Issued, AppError>
where
    F: Fn(&Serial) -> Result<PreparedCertificate<'a>, PkiError>,
{
    for _ in 0..SERIAL_ATTEMPTS {
        let serial = random_serial()?;
        let prepared = prepare(&serial)?;
        let tbs = prepared.tbs()?;
        let intent = IssuanceIntent {
            serial: serial.clone(),
            issuer: issuer.name.to_owned(),
            profile: profile.to_owned(),
            subject: tbs.subject().to_string(),
            not_before: from_x509(&tbs.validity().not_before),
            not_after: from_x509(&tbs.validity().not_after),
            tbs_der: prepared.tbs_der().to_vec(),
            created_at: clock.now(),
            crl_shard: signet_domain::crl::shard_of(&serial, issuer.crl_shards),
        };
        match store.record_issuance_intent(&intent).await {
            Ok(()) => {}
            Err(StoreError::SerialTaken(s)) => {
                tracing::warn!(serial = %s, "serial collision; drawing another");
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(serial = %serial, issuer = issuer.name, profile, subject = %intent.subject, "issuance intent recorded; signing");
        let der = match prepared.issue() {
            Ok(der) => der,
            Err(e) => {
                tracing::error!(serial = %serial, error = %e, "signing failed; abandoning the intent");
                store
                    .abandon_intent(&serial, &e.to_string(), clock.now())
                    .await?;
                return Err(e.into());
            }
        };
        crash_point_for_tests();
        store.record_issued(&serial, &der, clock.now()).await?;
        tracing::info!(serial = %serial, issuer = issuer.name, profile, "certificate issued and recorded");
        return Ok(Issued { serial, der });
    }
    Err(AppError::Internal(format!(
        "{SERIAL_ATTEMPTS} serial collisions in a row: check the random number generator"
    )))
}

fn from_x509(t: &signet_pki::x509_time::Time) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(t.to_unix_duration().as_secs() as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// Debug builds only: `SIGNET_TEST_CRASH_AFTER_SIGNING=1` kills the process between signing and
/// recording, so tests can show that the intent accounts for the signed certificate.
fn crash_point_for_tests() {
    #[cfg(debug_assertions)]
    if std::env::var_os("SIGNET_TEST_CRASH_AFTER_SIGNING").is_some() {
        std::process::abort();
    }
}

/// How long a certificate is to be valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    Months(u32),
    /// A fixed end date (reissue keeps the replaced certificate's).
    Until(time::OffsetDateTime),
}

/// A certificate request from the operator CLI (and later the order workflow).
#[derive(Debug, Clone)]
pub struct IssueRequest {
    pub profile: String,
    /// CSR, PEM or DER.
    pub csr: Vec<u8>,
    pub identity: IdentityInput,
    pub validity_months: u32,
    /// When the request comes through a product, its name (its maximum validity then applies).
    pub product: Option<String>,
}

/// A certificate just issued.
#[derive(Debug, Clone)]
pub struct Issued {
    pub serial: Serial,
    pub der: Vec<u8>,
}

impl Issued {
    pub fn pem(&self) -> String {
        signet_pki::certificate_pem(&self.der)
    }
}

/// An opened CA: configuration, checked policy, keys, store, clock.
#[derive(Debug)]
pub struct Signet {
    pub data_dir: PathBuf,
    pub config: ConfigFile,
    pub policy: Policy,
    pub authority: Authority,
    pub store: Arc<dyn Store>,
    pub clock: SharedClock,
    pub mailer: Mailer,
    pub ocsp_cache: crate::ocsp_cache::OcspCache,
}

impl Signet {
    /// Opens the CA in `data_dir`: config, policy and every key, checked against its certificate.
    pub async fn open(
        data_dir: &Path,
        store: Arc<dyn Store>,
        clock: SharedClock,
    ) -> Result<Signet, AppError> {
        let config = ConfigFile::load(data_dir)?;
        let policy = config.policy()?;
        let keys = KeyStore::open(data_dir, &config)?;
        let authority = Authority::load(data_dir, &config, &keys)?;
        let open = store.unfinished_intents().await?;
        for intent in &open {
            tracing::warn!(serial = %intent.serial, subject = %intent.subject, "issuance intent without a recorded certificate (interrupted issuance): it may have been signed; its TBS is in the store");
        }
        let mailer = Mailer::from_settings(&config.mail, data_dir);
        Ok(Signet {
            data_dir: data_dir.to_owned(),
            config,
            policy,
            authority,
            store,
            clock,
            mailer,
            ocsp_cache: Default::default(),
        })
    }

    /// Issues a subscriber certificate for a CSR (operator tool).
    pub async fn issue(&self, req: IssueRequest) -> Result<Issued, AppError> {
        let subject = format!("profile:{}", req.profile);
        let result = async {
            let identity = Identity::try_from(req.identity)?;
            let key = parse_csr(&req.csr)?;
            let lifetime = Lifetime::Months(req.validity_months);
            self.issue_for_key(
                &req.profile,
                req.product.as_deref(),
                &identity,
                &key,
                lifetime,
            )
            .await
        }
        .await;
        self.audit_refusal("operator:cli", "certificate.issue", &subject, result)
            .await
    }

    /// Issues a certificate for a checked key after every rule; the store holds the intent
    /// before the signature and the certificate after it.
    pub async fn issue_for_key(
        &self,
        profile: &str,
        product: Option<&str>,
        identity: &Identity,
        key: &SubscriberKey,
        lifetime: Lifetime,
    ) -> Result<Issued, AppError> {
        let profile = self.policy.profile(profile)?;
        let product = product.map(|p| self.policy.product(p)).transpose()?;
        if let Some(p) = product
            && p.profile != profile.name()
        {
            return Err(AppError::Config(format!(
                "product `{}` uses profile `{}`, not `{}`",
                p.name,
                p.profile,
                profile.name()
            )));
        }
        let (period, requested) = match lifetime {
            Lifetime::Months(m) => (
                Period::months_from(self.clock.now(), m)?,
                format!("{m} months"),
            ),
            Lifetime::Until(end) => (
                Period::until(self.clock.now(), end)?,
                format!("until {end}"),
            ),
        };
        let plan = profile.plan(&PlanRequest {
            identity,
            key: &key.kind,
            period,
            product_limit: product.map(|p| (p.max_validity, p.name.as_str())),
            requested,
        })?;
        let issuer = self.authority.issuer(&plan.issuer)?;
        let issued = record_and_sign(
            self.store.as_ref(),
            self.clock.as_ref(),
            &IssuerRef::from(issuer),
            &plan.profile,
            |serial| issuer.prepare(&plan, serial, key),
        )
        .await?;
        // Status is published from the moment the certificate exists. A failure here is repaired
        // by the refresh job, so it does not undo the issuance.
        if let Err(e) = self.presign_ocsp_for(&issued.serial).await {
            tracing::error!(serial = %issued.serial, error = %e, "pre-signing the OCSP response failed; the refresh job will retry");
        }
        Ok(issued)
    }
}
