//! Publishing CRLs (R-CRT-6): every shard of every CA gets a signed CRL at init, a new one right
//! after a revocation in it, and a fresh one before it grows stale (background job). Each CRL is
//! its own row with a shard-local, ever-increasing number.

use std::ops::ControlFlow;

use serde_json::json;
use signet_domain::certificate::RevocationReason;
use signet_domain::crl::{needs_refresh, window};
use signet_domain::serial::Serial;
use signet_pki::crl::{CrlEntry, CrlScope, RevokedList, sign_crl};
use signet_pki::issuance::Issuer;
use signet_store::{CrlChunk, CrlRecord, RevokedRecord};

use crate::AppError;
use crate::config::ROOT;
use crate::issue::Signet;

fn crl_entry(r: &RevokedRecord) -> Result<CrlEntry, AppError> {
    Ok(CrlEntry {
        serial: r.serial.clone(),
        revoked_at: r.revoked_at,
        reason_code: r.reason.map(RevocationReason::code),
    })
}

impl Signet {
    pub(crate) fn crl_issuer(&self, name: &str) -> Result<(&Issuer, CrlScope), AppError> {
        if name == ROOT {
            Ok((&self.authority.root, CrlScope::CaCerts))
        } else {
            Ok((self.authority.issuer(name)?, CrlScope::UserCerts))
        }
    }

    /// Every (CA, shard) that publishes a CRL.
    pub fn crl_shards(&self) -> Vec<(String, u32)> {
        std::iter::once(&self.authority.root)
            .chain(self.authority.issuers.values())
            .flat_map(|i| (0..i.urls.crl_shards).map(move |s| (i.name.clone(), s)))
            .collect()
    }

    /// Signs and stores a new CRL for one shard. Its number and what it lists come from one
    /// snapshot of the store (taken under the shard's number lock), so a CRL numbered higher
    /// never lists less; CRLs signed concurrently may be stored out of order, and the highest
    /// number is the one served.
    pub async fn publish_crl(&self, ca: &str, shard: u32) -> Result<CrlRecord, AppError> {
        let (issuer, scope) = self.crl_issuer(ca)?;
        if shard >= issuer.urls.crl_shards {
            return Err(AppError::NotFound(format!("CRL shard {shard} of {ca}")));
        }
        let started = std::time::Instant::now();
        let mut entries = RevokedList::default();
        let mut failure: Option<AppError> = None;
        let snapshot = self
            .store
            .crl_snapshot(ca, shard, &mut |chunk| {
                let added = match chunk {
                    CrlChunk::Encoded(der) => entries.extend_encoded(der).map_err(AppError::from),
                    // Certificates revoked before entries were stored are encoded here.
                    CrlChunk::Unencoded(r) => crl_entry(&r).and_then(|e| Ok(entries.push(&e)?)),
                };
                match added {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(e) => {
                        failure = Some(e);
                        ControlFlow::Break(())
                    }
                }
            })
            .await?;
        if let Some(e) = failure {
            return Err(e);
        }
        let read = started.elapsed();
        let count = entries.len();
        let (this_update, next_update) = window(self.now());
        let der = sign_crl(
            issuer,
            snapshot.number,
            this_update,
            next_update,
            &issuer.urls.shard_url(shard),
            scope,
            entries,
        )?;
        let record = CrlRecord {
            issuer: ca.to_owned(),
            shard,
            number: snapshot.number,
            this_update,
            next_update,
            der,
            covers_epoch: snapshot.covers_epoch,
        };
        let signed = started.elapsed();
        self.store.store_crl(&record).await?;
        self.publish_crl_object(&record).await;
        tracing::info!(
            ca,
            shard,
            number = snapshot.number,
            entries = count,
            covers_epoch = snapshot.covers_epoch,
            bytes = record.der.len(),
            read_ms = read.as_millis(),
            signed_ms = signed.as_millis(),
            total_ms = started.elapsed().as_millis(),
            "CRL published"
        );
        Ok(record)
    }

    /// Publishes every shard whose CRL is missing, due, or behind a revocation in it: on one
    /// node at a time (the `crl` job lease), so each due shard gets one new CRL however many
    /// nodes look. With `force` (an operator's command), every shard, whoever holds the job.
    pub async fn publish_due_crls(&self, force: bool) -> Result<usize, AppError> {
        if force {
            return self.publish_crls(true).await;
        }
        let published = self
            .exclusively("crl", self.publish_crls(false))
            .await?
            .unwrap_or(0);
        self.upload_missing().await?;
        Ok(published)
    }

    async fn publish_crls(&self, force: bool) -> Result<usize, AppError> {
        let behind = self.store.shards_behind_revocations().await?;
        let mut published = Vec::new();
        for (ca, shard) in self.crl_shards() {
            if !force {
                // A long run keeps the job: a node that lost it stops here.
                self.renew_job("crl").await?;
            }
            let due = match self.store.latest_crl(&ca, shard).await? {
                Some(latest) => {
                    force
                        || needs_refresh(latest.this_update, self.now())
                        || behind.contains(&(ca.clone(), shard))
                }
                None => true,
            };
            if due {
                let crl = self.publish_crl(&ca, shard).await?;
                published.push(json!({"ca": ca, "shard": shard, "number": crl.number}));
            }
        }
        let count = published.len();
        if count > 0 {
            self.audit(
                "job:crl",
                "crl.published",
                "crl",
                json!({"shards": count, "crls": published}),
            )
            .await?;
        }
        Ok(count)
    }

    /// The newest CRL of a shard, for the public CRL URL.
    pub async fn latest_crl(&self, ca: &str, shard: u32) -> Result<CrlRecord, AppError> {
        self.store
            .latest_crl(ca, shard)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("CRL {ca}/{shard}")))
    }

    /// After a revocation: a new OCSP response and a new CRL for the shard that lists it.
    pub(crate) async fn republish_for(&self, serial: &Serial) -> Result<(), AppError> {
        self.presign_ocsp_for(serial).await?;
        let Some(cert) = self.store.certificate(serial).await? else {
            return Ok(());
        };
        if self.crl_issuer(&cert.intent.issuer).is_ok() {
            self.publish_crl(&cert.intent.issuer, cert.intent.crl_shard)
                .await?;
        }
        Ok(())
    }
}
