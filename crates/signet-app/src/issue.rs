//! Issuing a certificate: domain plan → prepared (checked) TBS → intent recorded (with its audit
//! record) → signed → certificate recorded (with its audit record). A crash between the two
//! records leaves an intent holding the exact TBS, which reconciliation closes and reports, so no
//! signed certificate is ever unaccounted for.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;
use signet_domain::Refusal;
use signet_domain::certificate::RevocationReason;
use signet_domain::config::Policy;
use signet_domain::identity::{Identity, IdentityInput};
use signet_domain::plan::{CertificatePlan, PlanRequest};
use signet_domain::serial::Serial;
use signet_domain::validity::Period;
use signet_pki::PkiError;
use signet_pki::csr::{SubscriberKey, parse_csr};
use signet_pki::issuance::PreparedCertificate;
use signet_store::{IssuanceIntent, StatusRecord, Store, StoreError, Tx};

use crate::audit::record;
use crate::authority::{Authority, KeyStore};
use crate::config::ConfigFile;
use crate::cores::on_every_core;
use crate::mail::{Mailer, Outbox};
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

/// A certificate prepared and checked, with the intent that records it before it is signed.
#[derive(Debug)]
pub struct Planned<'a> {
    pub prepared: PreparedCertificate<'a>,
    pub intent: IssuanceIntent,
}

/// Draws a serial and prepares the certificate (every check that can run before signing).
pub fn plan<'a, F>(
    clock: &dyn Clock,
    issuer: &IssuerRef<'_>,
    profile: &str,
    origin: &str,
    prepare: &F,
) -> Result<Planned<'a>, AppError>
where
    F: Fn(&Serial) -> Result<PreparedCertificate<'a>, PkiError> + ?Sized,
{
    let serial = random_serial()?;
    let prepared = prepare(&serial)?;
    let tbs = prepared.tbs()?;
    let intent = IssuanceIntent {
        crl_shard: signet_domain::crl::shard_of(&serial, issuer.crl_shards),
        serial,
        issuer: issuer.name.to_owned(),
        profile: profile.to_owned(),
        subject: tbs.subject().to_string(),
        not_before: from_x509(&tbs.validity().not_before),
        not_after: from_x509(&tbs.validity().not_after),
        tbs_der: prepared.tbs_der().to_vec(),
        created_at: clock.now(),
        origin: origin.to_owned(),
    };
    Ok(Planned { prepared, intent })
}

/// The audit record of an intent: what is about to be signed, for whom, why.
pub fn intent_audit(tx: &mut dyn Tx, clock: &dyn Clock, actor: &str, intent: &IssuanceIntent) {
    tx.audit(record(
        clock.now(),
        actor,
        "certificate.intent",
        &format!("certificate:{}", intent.serial),
        json!({"issuer": intent.issuer, "profile": intent.profile, "subject": intent.subject, "origin": intent.origin}),
    ));
}

/// Draws a serial, prepares the certificate, records the intent, signs, records the result:
/// each record in a unit of work with its audit record.
pub async fn record_and_sign<'a, F>(
    store: &dyn Store,
    clock: &dyn Clock,
    issuer: &IssuerRef<'_>,
    profile: &str,
    origin: &str,
    actor: &str,
    prepare: F,
) -> Result<Issued, AppError>
where
    F: Fn(&Serial) -> Result<PreparedCertificate<'a>, PkiError> + Sync,
{
    let draft = Draft {
        profile,
        prepare: &prepare,
    };
    let mut results = record_and_sign_all(store, clock, issuer, origin, actor, &[draft]).await?;
    results.pop().unwrap_or_else(|| {
        Err(AppError::Internal(
            "an issuance of one gave no result".into(),
        ))
    })
}

/// How [`record_and_sign_all`] prepares one certificate of a batch for a serial.
pub type Prepare<'p, 'a> = dyn Fn(&Serial) -> Result<PreparedCertificate<'a>, PkiError> + Sync + 'p;

/// One certificate of a batch: its profile and how it is prepared once its serial is drawn.
pub struct Draft<'p, 'a> {
    pub profile: &'p str,
    pub prepare: &'p Prepare<'p, 'a>,
}

impl std::fmt::Debug for Draft<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Draft")
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

/// [`record_and_sign`] for a batch from one issuer, in two units of work however many there
/// are: every intent (each with its audit record) is committed before anything is signed, the
/// signatures are made on every core, and every certificate is recorded in the second. The
/// outer error is the store's and stops the batch (open intents are then closed by
/// reconciliation, as after a crash); the inner ones are each certificate's own.
pub async fn record_and_sign_all<'a>(
    store: &dyn Store,
    clock: &dyn Clock,
    issuer: &IssuerRef<'_>,
    origin: &str,
    actor: &str,
    drafts: &[Draft<'_, 'a>],
) -> Result<Vec<Result<Issued, AppError>>, AppError> {
    let plan_one = |d: &Draft<'_, 'a>| {
        plan(clock, issuer, d.profile, origin, d.prepare).inspect_err(|e| {
            if matches!(e, AppError::Pki(PkiError::PreIssuanceCheck(_))) {
                crate::meters::lint_refusal(d.profile);
            }
        })
    };
    let mut results: Vec<Result<Issued, AppError>> = Vec::with_capacity(drafts.len());
    let mut planned: Vec<(usize, Planned<'a>)> = Vec::new();
    for (i, p) in on_every_core(drafts.iter().collect(), plan_one)?
        .into_iter()
        .enumerate()
    {
        match p {
            Ok(p) => {
                planned.push((i, p));
                results.push(Err(AppError::Internal("not issued".into())));
            }
            Err(e) => results.push(Err(e)),
        }
    }
    if planned.is_empty() {
        return Ok(results);
    }
    for (i, e) in
        record_intents(store, clock, actor, &mut planned, |i| plan_one(&drafts[i])).await?
    {
        results[i] = Err(e);
    }
    let signed = on_every_core(planned, |(i, p)| (i, p.intent.serial, p.prepared.issue()))?;
    crash_point_for_tests("SIGNET_TEST_CRASH_AFTER_SIGNING");
    let mut tx = store.begin().await?;
    let mut completed = 0;
    let mut unsigned = Vec::new();
    for (i, serial, der) in signed {
        let der = match der {
            Ok(der) => der,
            Err(e) => {
                tracing::error!(serial = %serial, error = %e, "signing failed; abandoning the intent");
                unsigned.push((serial, e.to_string()));
                results[i] = Err(e.into());
                continue;
            }
        };
        match tx.complete_issuance(&serial, &der, clock.now()).await {
            Ok(()) => {}
            // Reconciliation took the intent as abandoned (a batch that outlived the pickup
            // claim time): the serial is revoked, and this certificate is not delivered.
            Err(StoreError::NoOpenIntent(s)) => {
                tracing::error!(serial = %s, "signed after reconciliation closed its intent; not delivered (its serial is revoked)");
                results[i] = Err(AppError::Conflict(format!(
                    "certificate {s} was signed after reconciliation had closed its intent and revoked its serial: request it again"
                )));
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        tx.audit(record(
            clock.now(),
            actor,
            "certificate.issued",
            &format!("certificate:{serial}"),
            json!({"issuer": issuer.name, "profile": drafts[i].profile, "origin": origin}),
        ));
        tracing::info!(serial = %serial, issuer = issuer.name, profile = drafts[i].profile, "certificate issued");
        results[i] = Ok(Issued { serial, der });
        completed += 1;
    }
    if completed > 0 {
        crate::meters::commit(tx.commit()).await?;
    } else {
        tx.rollback().await?;
    }
    // After the commit, so that closing these (one unit of work each) never waits on it. One
    // that fails stays open and reconciliation closes it.
    for (serial, why) in unsigned {
        if let Err(e) = abandon(store, clock, actor, &serial, &why, None).await {
            tracing::warn!(serial = %serial, error = %e, "closing the intent of a failed signature failed; reconciliation closes it");
        }
    }
    Ok(results)
}

/// Records the intents of `planned` in one unit of work. A serial the store already holds is
/// redrawn (`replan`, by the draft's index) and the unit of work started again; a draft whose
/// redraw fails leaves `planned` and is returned with its error.
async fn record_intents<'a>(
    store: &dyn Store,
    clock: &dyn Clock,
    actor: &str,
    planned: &mut Vec<(usize, Planned<'a>)>,
    replan: impl Fn(usize) -> Result<Planned<'a>, AppError>,
) -> Result<Vec<(usize, AppError)>, AppError> {
    let mut failed = Vec::new();
    for _ in 0..SERIAL_ATTEMPTS {
        if planned.is_empty() {
            return Ok(failed);
        }
        let mut tx = store.begin().await?;
        let mut taken = None;
        for (k, (_, p)) in planned.iter().enumerate() {
            match tx.record_issuance_intent(&p.intent).await {
                Ok(()) => intent_audit(tx.as_mut(), clock, actor, &p.intent),
                Err(StoreError::SerialTaken(s)) => {
                    tracing::warn!(serial = %s, "serial collision; drawing another");
                    taken = Some(k);
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
        match taken {
            None => {
                crate::meters::commit(tx.commit()).await?;
                tracing::info!(
                    intents = planned.len(),
                    "issuance intents recorded; signing"
                );
                return Ok(failed);
            }
            Some(k) => {
                tx.rollback().await?;
                match replan(planned[k].0) {
                    Ok(p) => planned[k].1 = p,
                    Err(e) => failed.push((planned.remove(k).0, e)),
                }
            }
        }
    }
    Err(AppError::Internal(format!(
        "{SERIAL_ATTEMPTS} serial collisions in a row: check the random number generator"
    )))
}

/// Closes an open intent whose certificate was not delivered, with its audit record. With a
/// revocation (reason, CRL entry) the serial is listed as revoked: it may have been signed.
pub async fn abandon(
    store: &dyn Store,
    clock: &dyn Clock,
    actor: &str,
    serial: &Serial,
    note: &str,
    revocation: Option<(RevocationReason, &[u8])>,
) -> Result<(), AppError> {
    let mut tx = store.begin().await?;
    tx.abandon_intent(serial, note, clock.now(), revocation)
        .await?;
    tx.audit(record(
        clock.now(),
        actor,
        "certificate.abandoned",
        &format!("certificate:{serial}"),
        json!({"note": note, "revoked": revocation.map(|(reason, _)| reason.as_str())}),
    ));
    Ok(tx.commit().await?)
}

pub(crate) fn from_x509(t: &signet_pki::x509_time::Time) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(t.to_unix_duration().as_secs() as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// Debug builds only: when the named environment variable is set, the process aborts here, so
/// tests can show what a crash at that point leaves behind.
pub(crate) fn crash_point_for_tests(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var_os(name).is_some() {
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}

/// How long a certificate is to be valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    Months(u32),
    /// A fixed end date (reissue keeps the replaced certificate's).
    Until(time::OffsetDateTime),
}

/// A certificate request from the operator CLI.
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

/// The most requests one [`Signet::issue_batch`] call takes: a group must be signed well within
/// the pickup claim time, after which reconciliation takes an open intent as abandoned.
pub const MAX_BATCH: u32 = 1_000;

/// What became of a batch of requests ([`Signet::issue_batch`]).
#[derive(Debug)]
pub struct IssuedBatch {
    /// One per request, in the requests' order.
    pub results: Vec<Result<Issued, AppError>>,
    /// Why the batch stopped before its end (the store failed), if it did: requests after the
    /// failure were not attempted.
    pub stopped: Option<String>,
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

/// An opened CA: configuration, checked policy, keys, store, clock, mail.
#[derive(Debug)]
pub struct Signet {
    pub(crate) data_dir: PathBuf,
    pub(crate) config: ConfigFile,
    pub(crate) policy: Policy,
    pub(crate) authority: Authority,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: SharedClock,
    pub(crate) outbox: Outbox,
    pub(crate) ocsp_cache: crate::ocsp_cache::OcspCache,
    /// This process, in readiness probes and logs.
    pub(crate) node: String,
    /// The bucket CRLs and OCSP responses are uploaded to, if `[publish]` names one.
    pub(crate) publisher: Option<crate::publish::Publisher>,
}

/// What the HTTP edge needs to know of the configuration, and nothing more.
impl Signet {
    /// The public base URL (links in mail, CRL and AIA URLs).
    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// Whether the public base URL is HTTPS (cookies are then `Secure`, HSTS is sent).
    pub fn serves_https(&self) -> bool {
        self.config.base_url.starts_with("https://")
    }

    /// The header a trusted reverse proxy puts the client's address in, if configured.
    pub fn client_ip_header(&self) -> Option<&str> {
        self.config.http.client_ip_header.as_deref()
    }

    /// The products on offer, (id, name to show), in configuration order.
    pub fn products(&self) -> Vec<(String, String)> {
        self.config
            .products
            .iter()
            .map(|(id, p)| {
                (
                    id.clone(),
                    p.display_name.clone().unwrap_or_else(|| id.clone()),
                )
            })
            .collect()
    }

    /// Every CA certificate, (name, DER): the root first, then the issuing CAs.
    pub fn ca_certificates(&self) -> Vec<(String, &[u8])> {
        let a = &self.authority;
        let mut out = vec![(a.root.name.clone(), a.root.certificate_der.as_slice())];
        out.extend(
            a.issuers
                .values()
                .map(|i| (i.name.clone(), i.certificate_der.as_slice())),
        );
        out
    }
}

impl Signet {
    /// Opens the CA in `data_dir`: config, policy, certificates and keys. Key files are decrypted
    /// when they first sign; [`Signet::unlock_keys`] decrypts them all now.
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
            tracing::warn!(serial = %intent.serial, subject = %intent.subject, origin = %intent.origin, "issuance intent without a recorded certificate (issuance in progress elsewhere, or interrupted): reconciliation closes it once its pickup claim lapses");
        }
        let outbox = Outbox::new(Mailer::from_settings(&config.mail, data_dir));
        let publisher = crate::publish::Publisher::open(&config.publish);
        Ok(Signet {
            publisher,
            data_dir: data_dir.to_owned(),
            config,
            policy,
            authority,
            store,
            clock,
            outbox,
            ocsp_cache: Default::default(),
            node: crate::random_hex(8)?,
        })
    }

    /// Decrypts every CA and responder key now (in parallel) by signing with it: `serve` calls
    /// it at start, so that a wrong passphrase stops it there and not at its first signature.
    pub fn unlock_keys(&self) -> Result<(), AppError> {
        self.unlock(|_| true, true)
    }

    /// Decrypts the keys one issuing CA signs with (its own and its OCSP responder's), in
    /// parallel: all a certificate's issuance needs, before anything of it is written.
    pub fn unlock_issuer(&self, issuer: &str) -> Result<(), AppError> {
        self.authority.issuer(issuer)?;
        self.unlock(|name| name == issuer, false)
    }

    /// Decrypts the keys of the CAs `which` names and of their responders (and the TSA's, with
    /// `tsa`), each on a thread of its own, by signing with them.
    fn unlock(&self, which: impl Fn(&str) -> bool + Sync, tsa: bool) -> Result<(), AppError> {
        let a = &self.authority;
        let which = &which;
        std::thread::scope(|scope| {
            let issuers = std::iter::once(&a.root)
                .chain(a.issuers.values())
                .filter(|issuer| which(&issuer.name))
                .map(|issuer| {
                    scope.spawn(move || {
                        issuer
                            .signer()
                            .sign_to_bitstring(b"signet start")
                            .map(drop)
                            .map_err(|e| AppError::Config(format!("key of {}: {e}", issuer.name)))
                    })
                });
            let responders =
                a.responders
                    .iter()
                    .filter(|(name, _)| which(name))
                    .map(|(name, responder)| {
                        scope.spawn(move || {
                            responder.signer.probe().map_err(|e| {
                                AppError::Config(format!("OCSP responder key of {name}: {e}"))
                            })
                        })
                    });
            let tsa = a.tsa_key.iter().filter(|_| tsa).map(|key| {
                scope.spawn(move || {
                    key.sign(b"signet start")
                        .map(drop)
                        .map_err(|e| AppError::Config(format!("key of the TSA: {e}")))
                })
            });
            let checks: Vec<_> = issuers.chain(responders).chain(tsa).collect();
            checks.into_iter().try_for_each(|check| {
                check
                    .join()
                    .map_err(|_| AppError::Internal("a key check stopped".into()))?
            })
        })
    }

    /// Issues a subscriber certificate for a CSR (operator tool).
    pub async fn issue(&self, req: IssueRequest) -> Result<Issued, AppError> {
        let profile = req.profile.clone();
        let result = async {
            let (plan, key) = self.checked_request(req)?;
            let issuer = self.authority.issuer(&plan.issuer)?;
            // A wrong passphrase fails here, before the serial is drawn and recorded.
            self.unlock_issuer(&plan.issuer)?;
            let issued = record_and_sign(
                self.store.as_ref(),
                self.clock.as_ref(),
                &IssuerRef::from(issuer),
                &plan.profile,
                "operator",
                "operator:cli",
                |serial| issuer.prepare(&plan, serial, &key),
            )
            .await?;
            self.publish_status_of(&issued.serial).await;
            Ok(issued)
        }
        .await;
        self.refused_issue(&profile, result).await
    }

    /// Issues many subscriber certificates at once (operator tool, bulk issuance): each request
    /// is checked as [`Signet::issue`] checks it, and the certificates of each issuing CA are
    /// recorded and signed together ([`record_and_sign_all`]). A request refused is audited
    /// and answered in its place; the others go on. When the store fails, the requests not yet
    /// issued are answered with its error (intents already recorded are closed, revoked, by
    /// reconciliation). The outer error (a key that does not open) comes before anything is
    /// recorded.
    pub async fn issue_batch(&self, requests: Vec<IssueRequest>) -> Result<IssuedBatch, AppError> {
        if requests.len() > MAX_BATCH as usize {
            return Err(Refusal::InvalidInput(format!(
                "{} requests in one batch: at most {MAX_BATCH}",
                requests.len()
            ))
            .into());
        }
        let mut results: Vec<Option<Result<Issued, AppError>>> = Vec::new();
        let mut by_issuer: BTreeMap<String, Vec<(usize, CertificatePlan, SubscriberKey)>> =
            BTreeMap::new();
        for (i, req) in requests.into_iter().enumerate() {
            let profile = req.profile.clone();
            match self.checked_request(req) {
                Ok((plan, key)) => {
                    by_issuer
                        .entry(plan.issuer.clone())
                        .or_default()
                        .push((i, plan, key));
                    results.push(None);
                }
                Err(e) => results.push(Some(self.refused_issue(&profile, Err(e)).await)),
            }
        }
        // Every key opens before anything is recorded: a wrong passphrase stops the batch here.
        for name in by_issuer.keys() {
            self.unlock_issuer(name)?;
        }
        let mut stopped: Option<String> = None;
        for (name, group) in &by_issuer {
            if let Some(why) = &stopped {
                for (i, _, _) in group {
                    results[*i] = Some(Err(AppError::Internal(why.clone())));
                }
                continue;
            }
            let issuer = self.authority.issuer(name)?;
            let prepares: Vec<_> = group
                .iter()
                .map(|(_, plan, key)| move |serial: &Serial| issuer.prepare(plan, serial, key))
                .collect();
            let drafts: Vec<Draft<'_, '_>> = group
                .iter()
                .zip(&prepares)
                .map(|((_, plan, _), prepare)| Draft {
                    profile: &plan.profile,
                    prepare,
                })
                .collect();
            let issued = record_and_sign_all(
                self.store.as_ref(),
                self.clock.as_ref(),
                &IssuerRef::from(issuer),
                "operator",
                "operator:cli",
                &drafts,
            )
            .await;
            let issued = match issued {
                Ok(issued) => issued,
                Err(e) => {
                    // Intents this group recorded are closed (and revoked) by reconciliation.
                    let why = format!(
                        "the batch stopped ({e}): this request may have been signed, and reconciliation revokes whatever was signed and not recorded; request it again"
                    );
                    tracing::error!(issuer = %name, error = %e, "a batch of issuances stopped");
                    for (i, _, _) in group {
                        results[*i] = Some(Err(AppError::Internal(why.clone())));
                    }
                    stopped = Some(why);
                    continue;
                }
            };
            let statuses: Vec<_> = issued
                .iter()
                .flatten()
                .map(|c| StatusRecord {
                    serial: c.serial.clone(),
                    issuer: name.clone(),
                    revoked_at: None,
                    reason: None,
                })
                .collect();
            self.publish_status_of_all(&statuses).await;
            for ((i, plan, _), result) in group.iter().zip(issued) {
                results[*i] = Some(self.refused_issue(&plan.profile, result).await);
            }
        }
        Ok(IssuedBatch {
            results: results
                .into_iter()
                .map(|r| r.unwrap_or_else(|| Err(AppError::Internal("request left out".into()))))
                .collect(),
            stopped,
        })
    }

    /// The certificates the operator issued (`signet issue`, `signet issue-batch`) whose
    /// issuance began at or after `since`, oldest first, with their subjects: to deliver what a
    /// run that was cut short issued but never wrote out.
    pub async fn operator_certificates_since(
        &self,
        since: time::OffsetDateTime,
    ) -> Result<Vec<(Issued, String)>, AppError> {
        Ok(self
            .store
            .operator_certificates_since(since)
            .await?
            .into_iter()
            .filter_map(|c| {
                let der = c.der?;
                Some((
                    Issued {
                        serial: c.intent.serial,
                        der,
                    },
                    c.intent.subject,
                ))
            })
            .collect())
    }

    /// A request's identity, key and the domain's plan for it.
    fn checked_request(
        &self,
        req: IssueRequest,
    ) -> Result<(CertificatePlan, SubscriberKey), AppError> {
        let identity = Identity::try_from(req.identity)?;
        let key = parse_csr(&req.csr)?;
        let plan = self.certificate_plan(
            &req.profile,
            req.product.as_deref(),
            &identity,
            &key,
            Lifetime::Months(req.validity_months),
        )?;
        Ok((plan, key))
    }

    /// Audits an operator issuance refused.
    async fn refused_issue(
        &self,
        profile: &str,
        result: Result<Issued, AppError>,
    ) -> Result<Issued, AppError> {
        self.audit_refusal(
            "operator:cli",
            "certificate.issue",
            &format!("profile:{profile}"),
            result,
        )
        .await
    }

    /// The domain's plan for a certificate: profile and product rules, validity, key policy.
    pub fn certificate_plan(
        &self,
        profile: &str,
        product: Option<&str>,
        identity: &Identity,
        key: &SubscriberKey,
        lifetime: Lifetime,
    ) -> Result<CertificatePlan, AppError> {
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
        Ok(profile.plan(&PlanRequest {
            identity,
            key: &key.kind,
            period,
            product_limit: product.map(|p| (p.max_validity, p.name.as_str())),
            requested,
        })?)
    }

    /// Status is published from the moment a certificate exists. A failure here is repaired by
    /// the refresh job (and the responder signs from the store meanwhile), so it does not undo
    /// the issuance.
    pub(crate) async fn publish_status_of(&self, serial: &Serial) {
        if let Err(e) = self.presign_ocsp_for(serial).await {
            tracing::error!(serial = %serial, error = %e, "pre-signing the OCSP response failed; the refresh job will retry");
        }
    }

    /// [`Signet::publish_status_of`] for certificates just issued, whose status is known.
    pub(crate) async fn publish_status_of_all(&self, statuses: &[StatusRecord]) {
        if statuses.is_empty() {
            return;
        }
        if let Err(e) = self.presign_ocsp_all(statuses).await {
            tracing::error!(certificates = statuses.len(), error = %e, "pre-signing the OCSP responses failed; the refresh job will retry");
        }
    }
}
