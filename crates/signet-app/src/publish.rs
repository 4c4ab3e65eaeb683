//! Publication to object storage: every CRL and every pre-signed OCSP response is uploaded to an
//! S3-compatible bucket as it is made, under the path a client asks for, so that a CDN or nginx
//! serves revocation status without reaching Signet (Let's Encrypt serves ~98 % of its OCSP
//! from a CDN).
//!
//! Each upload is checked first, as Boulder's crl-storer does: the object verifies with its
//! issuer's key and is the one its place names (a CRL's distribution point, an OCSP response's
//! serial), and it is newer than what the bucket holds (a CRL number strictly greater, an OCSP
//! thisUpdate not older). The write is conditional on what was read (`If-Match` on its ETag,
//! `If-None-Match: *` where there was nothing), so two nodes uploading at once cannot put an
//! older object over a newer one: the loser reads again and finds the newer one.
//!
//! A failed upload never fails the revocation or CRL behind it (the store is the record): it is
//! logged and counted, the CRL job uploads each shard's newest CRL until the bucket has it, and
//! `signet publish` uploads everything again.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use object_store::aws::{AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, Attributes, ClientOptions, ObjectStore, PutMode, PutOptions, PutPayload,
    RetryConfig, UpdateVersion,
};
use signet_domain::publication::{OcspFacts, keeps_crl, keeps_ocsp};
use signet_pki::crl::read_crl;
use signet_pki::ocsp::{Status, read_response, status_request};
use signet_store::{CrlRecord, OcspRecord};
use x509_cert::Certificate;

use crate::AppError;
use crate::config::PublishSettings;
use crate::issue::Signet;

/// How often a conditional write is tried again after another uploader changed the object.
const ATTEMPTS: usize = 5;

/// How long an edge may keep an object by default: a revocation reaches clients of the bucket
/// within this.
const DEFAULT_CACHE_SECONDS: u32 = 60;

/// Failed OCSP uploads remembered for the catch-up (the revocation catch-up and `signet
/// publish` find the rest).
const MAX_PENDING: usize = 100_000;

/// OCSP responses uploaded at once by a bulk refresh.
const PARALLEL_UPLOADS: usize = 16;

/// How long one request to the bucket may take, and how long all tries of one upload: an
/// upload runs on the revocation path, which a hung bucket must not hold for minutes.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const RETRY_TIMEOUT: Duration = Duration::from_secs(10);
/// The most one upload (its reads, writes and their tries) may take.
const UPLOAD_DEADLINE: Duration = Duration::from_secs(5);
/// After an upload ran out of time, how long uploads fail at once instead of waiting for the
/// bucket again (what they miss is uploaded by the catch-up once it answers).
const PAUSE_AFTER_TIMEOUT: Duration = Duration::from_secs(30);

/// The bucket, and what this process knows it holds.
pub struct Publisher {
    /// The bucket, or why it cannot be used (each upload fails with the reason, at once).
    bucket: Result<Arc<dyn ObjectStore>, String>,
    prefix: String,
    /// How long an edge may keep an object (its Cache-Control max-age).
    cache_seconds: u32,
    /// The highest CRL number per (CA, shard) this process saw in the bucket, so the CRL job
    /// uploads only what is missing.
    crls_in_bucket: Mutex<HashMap<(String, u32), u64>>,
    /// OCSP responses (by serial) whose upload failed, for the catch-up.
    ocsp_pending: Mutex<BTreeSet<String>>,
    /// Until when uploads fail at once, after one ran out of time.
    paused_until: Mutex<Option<std::time::Instant>>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("bucket", &self.bucket.as_ref().map(|b| b.to_string()))
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// What became of one upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upload {
    /// The object is in the bucket now.
    Uploaded,
    /// The bucket already holds this one or a newer one (another node was first).
    Kept(String),
}

impl Publisher {
    /// The bucket `[publish]` names, or `None` when it names none. Without credentials in the
    /// environment the bucket is unusable (every upload says why) rather than looked up from
    /// an instance-metadata service that may not answer.
    pub fn open(settings: &PublishSettings) -> Option<Publisher> {
        let name = settings.s3_bucket.as_ref()?;
        let bucket = if std::env::var_os("AWS_ACCESS_KEY_ID").is_none()
            || std::env::var_os("AWS_SECRET_ACCESS_KEY").is_none()
        {
            Err(format!(
                "[publish] bucket `{name}`: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in Signet's environment"
            ))
        } else {
            let mut builder = AmazonS3Builder::from_env()
                .with_bucket_name(name)
                .with_region(settings.s3_region.as_deref().unwrap_or("us-east-1"))
                .with_conditional_put(S3ConditionalPut::ETagMatch)
                .with_client_options(
                    ClientOptions::new()
                        .with_timeout(REQUEST_TIMEOUT)
                        .with_connect_timeout(CONNECT_TIMEOUT),
                )
                .with_retry(RetryConfig {
                    max_retries: 2,
                    retry_timeout: RETRY_TIMEOUT,
                    ..RetryConfig::default()
                });
            if let Some(endpoint) = &settings.s3_endpoint {
                builder = builder
                    .with_endpoint(endpoint)
                    .with_allow_http(endpoint.starts_with("http://"));
            }
            builder
                .build()
                .map(|b| Arc::new(b) as Arc<dyn ObjectStore>)
                .map_err(|e| format!("[publish] bucket `{name}`: {e}"))
        };
        if let Err(why) = &bucket {
            tracing::warn!(why, "CRLs and OCSP responses will not be uploaded");
        }
        Some(Publisher {
            bucket,
            // A prefix names a folder: `pki` and `pki/` both put objects under `pki/`.
            prefix: match settings.prefix.trim_end_matches('/') {
                "" => String::new(),
                p => format!("{p}/"),
            },
            cache_seconds: settings.cache_seconds.unwrap_or(DEFAULT_CACHE_SECONDS),
            crls_in_bucket: Mutex::default(),
            ocsp_pending: Mutex::default(),
            paused_until: Mutex::default(),
        })
    }

    fn bucket(&self) -> Result<&Arc<dyn ObjectStore>, AppError> {
        self.bucket
            .as_ref()
            .map_err(|why| AppError::Config(why.clone()))
    }

    /// The object's key: the prefix and the path, repeated slashes merged into one, as nginx
    /// merges them in a request's path (its default), so that `ocsp/<base64>` with `//` in the
    /// base64 is found where nginx looks.
    fn path(&self, key: &str) -> Result<ObjectPath, AppError> {
        Ok(ObjectPath::from(format!("{}{key}", self.prefix)))
    }

    /// The object at `key` and its ETag, or `None`.
    async fn read(&self, key: &ObjectPath) -> Result<Option<(Vec<u8>, Option<String>)>, AppError> {
        match self.bucket()?.get(key).await {
            Ok(found) => {
                let etag = found.meta.e_tag.clone();
                let bytes = found.bytes().await.map_err(bucket_error)?;
                Ok(Some((bytes.to_vec(), etag)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(bucket_error(e)),
        }
    }

    /// Writes `bytes` at `key` if the object is still the one read (`etag`, or none at all);
    /// `false` when another writer changed it first.
    async fn write(
        &self,
        key: &ObjectPath,
        bytes: &[u8],
        read: Option<Option<String>>,
        content_type: &'static str,
    ) -> Result<bool, AppError> {
        let mode = match read {
            None => PutMode::Create,
            Some(e_tag) => PutMode::Update(UpdateVersion {
                e_tag,
                version: None,
            }),
        };
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::ContentType, content_type.into());
        // Not until nextUpdate (RFC 5019 §6 allows it): a revocation replaces the object, and
        // an edge must see the new one within minutes, not days.
        attributes.insert(
            Attribute::CacheControl,
            format!(
                "public, max-age={}, no-transform, must-revalidate",
                self.cache_seconds
            )
            .into(),
        );
        let options = PutOptions {
            mode,
            attributes,
            ..PutOptions::default()
        };
        match self
            .bucket()?
            .put_opts(key, PutPayload::from(bytes.to_vec()), options)
            .await
        {
            Ok(_) => Ok(true),
            Err(
                object_store::Error::Precondition { .. }
                | object_store::Error::AlreadyExists { .. },
            ) => Ok(false),
            Err(e) => Err(bucket_error(e)),
        }
    }

    /// Reads, judges and conditionally writes until the bucket holds `bytes` or something newer;
    /// gives up after [`UPLOAD_DEADLINE`]. `newer` says why the object found is kept, or `None`
    /// to replace it.
    async fn upload(
        &self,
        key: &str,
        bytes: &[u8],
        content_type: &'static str,
        newer: impl Fn(&[u8]) -> Option<String>,
    ) -> Result<Upload, AppError> {
        let paused = *lock(&self.paused_until)?;
        if paused.is_some_and(|until| std::time::Instant::now() < until) {
            return Err(AppError::Internal(format!(
                "object storage: {key} not uploaded: the bucket did not answer a moment ago; uploads resume within {} s",
                PAUSE_AFTER_TIMEOUT.as_secs()
            )));
        }
        let path = self.path(key)?;
        let attempts = async {
            for _ in 0..ATTEMPTS {
                let read = match self.read(&path).await? {
                    Some((old, etag)) => match newer(&old) {
                        Some(why) => return Ok(Upload::Kept(why)),
                        None => Some(etag),
                    },
                    None => None,
                };
                if self.write(&path, bytes, read, content_type).await? {
                    return Ok(Upload::Uploaded);
                }
            }
            Err(AppError::Conflict(format!(
                "{key}: the bucket's object changed under every one of {ATTEMPTS} conditional writes; the next upload tries again"
            )))
        };
        match tokio::time::timeout(UPLOAD_DEADLINE, attempts).await {
            Ok(done) => done,
            Err(_) => {
                *lock(&self.paused_until)? = Some(std::time::Instant::now() + PAUSE_AFTER_TIMEOUT);
                Err(AppError::Internal(format!(
                    "object storage: uploading {key} took more than {} s; the bucket is slow or does not answer",
                    UPLOAD_DEADLINE.as_secs()
                )))
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>, AppError> {
    m.lock()
        .map_err(|_| AppError::Internal("publication state poisoned".into()))
}

fn bucket_error(e: object_store::Error) -> AppError {
    AppError::Internal(format!(
        "object storage: {e} (check [publish], the bucket and its credentials)"
    ))
}

/// The path of `url` without its scheme and host: `http://pki.example.com/crl/class3/0.crl` is
/// `crl/class3/0.crl`.
fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split_once('/').map_or("", |(_, path)| path)
}

impl Signet {
    /// Uploads a CRL just stored, after Boulder's checks: it verifies with its issuer's key, its
    /// number is the record's and its distribution point the shard's URL, and the bucket holds no
    /// CRL numbered as high. `None` when no bucket is configured.
    pub async fn upload_crl(&self, crl: &CrlRecord) -> Result<Option<Upload>, AppError> {
        let Some(publisher) = &self.publisher else {
            return Ok(None);
        };
        let (issuer, _) = self.crl_issuer(&crl.issuer)?;
        let facts = read_crl(&crl.der, &issuer.certificate)?;
        let url = issuer.urls.shard_url(crl.shard);
        let expected_point = (crl.issuer != crate::config::ROOT).then(|| url.clone());
        if facts.number != crl.number || facts.distribution_point != expected_point {
            return Err(AppError::Internal(format!(
                "CRL {}/{} not uploaded: it says number {} and distribution point {:?}, its record number {} and {:?}",
                crl.issuer,
                crl.shard,
                facts.number,
                facts.distribution_point,
                crl.number,
                expected_point
            )));
        }
        let upload = publisher
            .upload(
                url_path(&url),
                &crl.der,
                "application/pkix-crl",
                |old| match read_crl(old, &issuer.certificate) {
                    Ok(old) if keeps_crl(old.number, facts.number) => Some(format!(
                        "the bucket holds CRL number {} of {}/{}, not older than {}",
                        old.number, crl.issuer, crl.shard, facts.number
                    )),
                    Ok(_) => None,
                    Err(e) => {
                        tracing::warn!(ca = %crl.issuer, shard = crl.shard, error = %e, "the bucket's object is not a CRL of this CA; replacing it");
                        None
                    }
                },
            )
            .await?;
        let mut known = lock(&publisher.crls_in_bucket)?;
        let held = known.entry((crl.issuer.clone(), crl.shard)).or_insert(0);
        *held = (*held).max(crl.number);
        Ok(Some(upload))
    }

    /// Uploads pre-signed OCSP responses under their RFC 5019 GET paths, several at once, after
    /// checking each verifies for its certificate and is not older than the bucket's. Returns
    /// how many the bucket holds now; failures are logged and counted.
    pub async fn upload_ocsp(&self, records: &[OcspRecord]) -> Result<usize, AppError> {
        let serials: Vec<String> = records.iter().map(|r| r.serial.clone()).collect();
        self.upload_ocsp_of(&serials).await
    }

    /// [`Signet::upload_ocsp`] for the responses stored for these serials.
    async fn upload_ocsp_of(&self, serials: &[String]) -> Result<usize, AppError> {
        let Some(publisher) = &self.publisher else {
            return Ok(0);
        };
        let (mut uploaded, mut failed, mut last_error) = (0, 0, None);
        for chunk in serials.chunks(PARALLEL_UPLOADS) {
            let done =
                futures_util::future::join_all(chunk.iter().map(|s| self.upload_one_ocsp(s))).await;
            let mut pending = lock(&publisher.ocsp_pending)?;
            for (serial, outcome) in chunk.iter().zip(done) {
                match outcome {
                    Ok(_) => {
                        uploaded += 1;
                        pending.remove(serial);
                    }
                    Err(e) => {
                        crate::meters::publication("ocsp", "failed");
                        failed += 1;
                        last_error = Some(e.to_string());
                        if pending.len() < MAX_PENDING {
                            pending.insert(serial.clone());
                        }
                    }
                }
            }
        }
        if let Some(error) = last_error {
            tracing::warn!(
                failed,
                error,
                "OCSP responses not uploaded; the catch-up or `signet publish` uploads them"
            );
        }
        Ok(uploaded)
    }

    /// Leaves the upload of the response stored for `serial` to the catch-up (every few seconds
    /// in `serve`).
    pub(crate) fn queue_ocsp_upload(&self, serial: &str) {
        if let Some(p) = &self.publisher
            && let Ok(mut pending) = lock(&p.ocsp_pending)
            && pending.len() < MAX_PENDING
        {
            pending.insert(serial.to_owned());
        }
    }

    /// Makes sure the bucket says "revoked" for every certificate revoked within the OCSP
    /// validity: an upload a process could not finish (it exited, or the bucket was down) is
    /// done here. Run by the OCSP job, on one node at a time; one read of the bucket per
    /// revocation, a write only where the bucket is behind.
    pub(crate) async fn publish_recent_revocations(&self) -> Result<usize, AppError> {
        if self.publisher.is_none() {
            return Ok(0);
        }
        let since = self.now() - signet_domain::ocsp::OCSP_VALIDITY;
        let mut serials = Vec::new();
        for name in self.authority.responders.keys() {
            serials.extend(
                self.store
                    .revoked_certificates(name)
                    .await?
                    .into_iter()
                    .filter(|r| r.revoked_at >= since)
                    .map(|r| r.serial.to_hex()),
            );
        }
        self.upload_ocsp_of(&serials).await
    }

    /// Uploads the response the store holds for `serial` (not one just signed: the store
    /// refuses a "good" for a certificate revoked meanwhile, and so must the bucket).
    async fn upload_one_ocsp(&self, serial: &str) -> Result<Upload, AppError> {
        let Some(publisher) = &self.publisher else {
            return Ok(Upload::Kept("no bucket".into()));
        };
        let Some(record) = self.store.ocsp_response(serial).await? else {
            return Ok(Upload::Kept(format!("no response stored for {serial}")));
        };
        let record = &record;
        let serial: signet_domain::serial::Serial = record
            .serial
            .parse()
            .map_err(|_| AppError::Internal(format!("serial `{}`", record.serial)))?;
        let cert = self
            .store
            .certificate(&serial)
            .await?
            .and_then(|c| c.der)
            .ok_or_else(|| AppError::NotFound(format!("certificate {}", record.serial)))?;
        let cert = <Certificate as der::Decode>::from_der(&cert)
            .map_err(|e| AppError::Pki(signet_pki::PkiError::from(e)))?;
        let issuer = &self.authority.issuer(&record.issuer)?.certificate;
        let answer = read_response(&record.der, &cert, issuer)?;
        let request = status_request(&cert, issuer)?;
        let key = format!(
            "ocsp/{}",
            base64::engine::general_purpose::STANDARD.encode(request)
        );
        let upload = publisher
            .upload(
                &key,
                &record.der,
                "application/ocsp-response",
                |old| {
                    let old = read_response(old, &cert, issuer).ok()?;
                    let facts = |a: &signet_pki::ocsp::OcspAnswer| OcspFacts {
                        revoked: matches!(a.status, Status::Revoked { .. }),
                        this_update: a.this_update,
                    };
                    keeps_ocsp(facts(&old), facts(&answer)).then(|| {
                        format!(
                            "the bucket holds a response for {} from {} ({:?}), not older than this one",
                            record.serial, old.this_update, old.status
                        )
                    })
                },
            )
            .await?;
        crate::meters::publication("ocsp", upload_outcome(&upload));
        Ok(upload)
    }

    /// After a CRL is stored: uploads it; a failure is logged and counted, never returned.
    pub(crate) async fn publish_crl_object(&self, crl: &CrlRecord) {
        match self.upload_crl(crl).await {
            Ok(None) => {}
            Ok(Some(upload)) => {
                crate::meters::publication("crl", upload_outcome(&upload));
                if let Upload::Kept(why) = upload {
                    tracing::info!(ca = %crl.issuer, shard = crl.shard, number = crl.number, why, "CRL not uploaded");
                }
            }
            Err(e) => {
                crate::meters::publication("crl", "failed");
                tracing::warn!(ca = %crl.issuer, shard = crl.shard, number = crl.number, error = %e, "CRL not uploaded; the CRL job tries again");
            }
        }
    }

    /// The CRL job's catch-up: uploads each shard's newest CRL that this process has not seen
    /// in the bucket (after a failed upload, or at start), and the OCSP responses whose upload
    /// failed (their newest).
    pub(crate) async fn upload_missing(&self) -> Result<(), AppError> {
        let Some(publisher) = &self.publisher else {
            return Ok(());
        };
        let pending: Vec<String> = lock(&publisher.ocsp_pending)?.iter().cloned().collect();
        self.upload_ocsp_of(&pending).await?;
        for (ca, shard) in self.crl_shards() {
            let Some(latest) = self.store.latest_crl(&ca, shard).await? else {
                continue;
            };
            let held = lock(&publisher.crls_in_bucket)?
                .get(&(ca.clone(), shard))
                .copied();
            if held.is_none_or(|n| n < latest.number) {
                self.publish_crl_object(&latest).await;
            }
        }
        Ok(())
    }

    /// `signet publish`: uploads each shard's newest CRL and every current OCSP response;
    /// `progress` hears (certificates looked at, responses uploaded). Returns (CRLs, OCSP
    /// responses) the bucket holds now.
    pub async fn publish_everything(
        &self,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<(usize, usize), AppError> {
        let Some(publisher) = &self.publisher else {
            return Err(AppError::Config(
                "no bucket to publish to: set [publish] s3_bucket (and s3_endpoint for a server other than AWS) in signet.toml".into(),
            ));
        };
        publisher.bucket()?;
        let mut crls = 0;
        for (ca, shard) in self.crl_shards() {
            if let Some(latest) = self.store.latest_crl(&ca, shard).await? {
                self.upload_crl(&latest).await?;
                crls += 1;
            }
        }
        // Every unexpired subscriber certificate (all are "stale" before a time to come), and
        // the response stored for each.
        let now = self.now();
        let everything = now + time::Duration::days(36_500);
        let (mut after, mut seen, mut ocsp) = (String::new(), 0, 0);
        loop {
            let batch = self
                .store
                .certificates_needing_ocsp(everything, now, &after, 256)
                .await?;
            let Some(last) = batch.last() else { break };
            after = last.serial.to_hex();
            let mut records = Vec::with_capacity(batch.len());
            for status in &batch {
                if let Some(r) = self.store.ocsp_response(&status.serial.to_hex()).await? {
                    records.push(r);
                }
            }
            ocsp += self.upload_ocsp(&records).await?;
            seen += batch.len();
            progress(seen, ocsp);
        }
        Ok((crls, ocsp))
    }
}

fn upload_outcome(upload: &Upload) -> &'static str {
    match upload {
        Upload::Uploaded => "uploaded",
        Upload::Kept(_) => "kept_newer",
    }
}
