//! Health for orchestrators and load balancers: liveness (the process answers) and readiness
//! (the store accepts writes, every CA key signs, the mail worker runs).

use serde::Serialize;
use std::sync::atomic::Ordering;

use crate::AppError;
use crate::issue::Signet;

/// How stale the mail worker's last pass may be before the node is not ready.
const WORKER_STALE_SECONDS: i64 = 30;

/// One check of readiness.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    /// What failed, for operators (no secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Whether this node can serve every request.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub checks: Vec<Check>,
}

fn check(name: &'static str, result: Result<(), String>) -> Check {
    Check {
        name,
        ok: result.is_ok(),
        detail: result.err(),
    }
}

impl Signet {
    /// Writes to the store, signs with every CA and responder key, and looks at the mail worker
    /// (when `serve` runs one).
    pub async fn readiness(&self) -> Readiness {
        let store = self
            .store
            .probe(&self.node, self.now())
            .await
            .map_err(|e| e.to_string());
        let keys = self.check_keys();
        let mut checks = vec![check("store_writes", store), check("ca_keys", keys)];
        if self.outbox.worker_started.load(Ordering::Relaxed) {
            let age = self.now().unix_timestamp() - self.outbox.last_pass();
            checks.push(check(
                "mail_worker",
                if age <= WORKER_STALE_SECONDS {
                    Ok(())
                } else {
                    Err(format!("no delivery pass for {age} s"))
                },
            ));
        }
        Readiness {
            ready: checks.iter().all(|c| c.ok),
            checks,
        }
    }

    /// Every key signs (an HSM that lost its token or session fails here).
    fn check_keys(&self) -> Result<(), String> {
        let a = &self.authority;
        for issuer in std::iter::once(&a.root).chain(a.issuers.values()) {
            issuer
                .signer()
                .sign_to_bitstring(b"signet readiness probe")
                .map_err(|e| format!("key of {}: {e}", issuer.name))?;
        }
        for (name, responder) in &a.responders {
            responder
                .signer
                .probe()
                .map_err(|e| format!("OCSP responder key of {name}: {e}"))?;
        }
        if let Some(key) = &a.tsa_key {
            key.sign(b"signet readiness probe")
                .map_err(|e| format!("key of the TSA: {e}"))?;
        }
        Ok(())
    }
}

/// Stale OCSP responses counted at most by a scrape.
const STALE_OCSP_COUNTED: u32 = 10_000;

impl Signet {
    /// The store's state as Prometheus gauges: certificates by issuance state, orders by
    /// status, mail by delivery state, the age of each CRL shard, stale OCSP responses.
    pub async fn operation_metrics(&self) -> Result<String, AppError> {
        use std::fmt::Write as _;
        let mut out = String::from(
            "# HELP signet_certificates Certificates by issuance state (intent: recorded, not yet signed or abandoned).\n# TYPE signet_certificates gauge\n",
        );
        let counts = self.store.counts().await?;
        for (state, n) in [
            ("intent", counts.intents),
            ("issued", counts.issued),
            ("abandoned", counts.abandoned),
        ] {
            let _ = writeln!(out, "signet_certificates{{state=\"{state}\"}} {n}");
        }
        out.push_str(
            "# HELP signet_certificates_by_profile Signed certificates by profile, and of them revoked.\n# TYPE signet_certificates_by_profile gauge\n",
        );
        for (profile, signed, revoked) in self.store.profile_counts().await? {
            let _ = writeln!(
                out,
                "signet_certificates_by_profile{{profile=\"{profile}\",state=\"signed\"}} {signed}\nsignet_certificates_by_profile{{profile=\"{profile}\",state=\"revoked\"}} {revoked}"
            );
        }
        out.push_str("# HELP signet_orders Orders by status.\n# TYPE signet_orders gauge\n");
        for (status, n) in self.store.order_status_counts().await? {
            let _ = writeln!(out, "signet_orders{{status=\"{status}\"}} {n}");
        }
        out.push_str(
            "# HELP signet_mail Messages of the outbox by delivery state.\n# TYPE signet_mail gauge\n",
        );
        for (state, n) in self.store.mail_state_counts().await? {
            let _ = writeln!(out, "signet_mail{{state=\"{}\"}} {n}", state.as_str());
        }
        let now = self.now();
        out.push_str(
            "# HELP signet_crl_age_seconds Age of each CRL shard's newest CRL (since its thisUpdate).\n# TYPE signet_crl_age_seconds gauge\n",
        );
        let mut until_next = String::from(
            "# HELP signet_crl_seconds_to_next_update Time left before each CRL shard's newest CRL is out of date (negative: it is).\n# TYPE signet_crl_seconds_to_next_update gauge\n",
        );
        for (ca, shard) in self.crl_shards() {
            if let Some(crl) = self.store.latest_crl(&ca, shard).await? {
                let labels = format!("ca=\"{ca}\",shard=\"{shard}\"");
                let _ = writeln!(
                    out,
                    "signet_crl_age_seconds{{{labels}}} {}",
                    (now - crl.this_update).whole_seconds()
                );
                let _ = writeln!(
                    until_next,
                    "signet_crl_seconds_to_next_update{{{labels}}} {}",
                    (crl.next_update - now).whole_seconds()
                );
            }
        }
        out.push_str(&until_next);
        // Responses older than half their validity: the refresh job is behind.
        let stale = self
            .store
            .certificates_needing_ocsp(
                now - signet_domain::ocsp::OCSP_VALIDITY / 2,
                now,
                "",
                STALE_OCSP_COUNTED,
            )
            .await?
            .len();
        let _ = writeln!(
            out,
            "# HELP signet_ocsp_stale_responses Unexpired certificates whose OCSP response is missing or older than half its validity (counted up to {STALE_OCSP_COUNTED}).\n# TYPE signet_ocsp_stale_responses gauge\nsignet_ocsp_stale_responses {stale}"
        );
        // One write and its read-back, timed now: the store's latency as this node sees it.
        let started = std::time::Instant::now();
        self.store.probe(&self.node, now).await?;
        let _ = writeln!(
            out,
            "# HELP signet_store_probe_seconds Time this node took to write and commit a row in the store, at this scrape.\n# TYPE signet_store_probe_seconds gauge\nsignet_store_probe_seconds {}",
            started.elapsed().as_secs_f64()
        );
        Ok(out)
    }

    /// What this process counted and timed (pickups, lint refusals, mail, uploads, commits):
    /// available even when the store is not.
    pub fn process_metrics(&self) -> String {
        crate::meters::text()
    }
}
