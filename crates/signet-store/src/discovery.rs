//! Certificate discovery (R-AUX-2): jobs and their runs, the inventory of certificates and the
//! places they are served at, events at places, and which alerts were mailed.
//!
//! The traits here are what the application sees; `discovery_sql!` implements them for both
//! backends with the same SQL (see [`crate::backends`]).

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::StoreError;
use crate::model::*;

/// A list stored as one text column, its items joined by `separator`.
pub(crate) fn stored_list(text: &str, separator: char) -> Vec<String> {
    text.split(separator)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Reads of jobs, runs and the inventory.
#[async_trait]
pub trait DiscoveryReads: Send + Sync {
    /// Every job, by name.
    async fn discovery_jobs(&self) -> Result<Vec<DiscoveryJobRecord>, StoreError>;
    /// One job by name.
    async fn discovery_job(&self, name: &str) -> Result<Option<DiscoveryJobRecord>, StoreError>;
    /// The newest runs first, at most `limit`.
    async fn discovery_runs(&self, limit: u32) -> Result<Vec<DiscoveryRunRecord>, StoreError>;
    /// One run.
    async fn discovery_run(&self, id: i64) -> Result<Option<DiscoveryRunRecord>, StoreError>;
    /// Every certificate seen, leaves and the CA certificates served with them.
    async fn discovered_certificates(&self)
    -> Result<Vec<DiscoveredCertificateRecord>, StoreError>;
    /// Every place, by address, port and SNI.
    async fn discovery_places(&self) -> Result<Vec<DiscoveryPlaceRecord>, StoreError>;
    /// The newest events first, at most `limit`.
    async fn discovery_events(&self, limit: u32) -> Result<Vec<DiscoveryEventRecord>, StoreError>;
}

/// A node's hold on a job: bookkeeping outside the workflow, so that one node runs a job at a
/// time however many serve.
#[async_trait]
pub trait DiscoveryLeases: Send + Sync {
    /// Claims the job for `node` until `until`, when no other node holds it and (with
    /// `due_only`) it is due at `now`. Atomic: of nodes claiming at once, one wins.
    async fn claim_discovery_job(
        &self,
        job_id: i64,
        node: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
        due_only: bool,
    ) -> Result<bool, StoreError>;
    /// Gives the job back, due next at `next_run_at`.
    async fn release_discovery_job(
        &self,
        job_id: i64,
        node: &str,
        next_run_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError>;
    /// Extends `node`'s lease on the job to `until`; `false` when `node` no longer holds it.
    async fn renew_discovery_lease(
        &self,
        job_id: i64,
        node: &str,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Records a run's progress and extends `node`'s lease on its job to `until`; `false` when
    /// `node` no longer holds the lease (it lapsed and another node took the job).
    async fn discovery_progress(
        &self,
        run_id: i64,
        node: &str,
        done: u64,
        answered: u64,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

/// Changes to jobs, runs and the inventory, inside a unit of work.
#[async_trait]
pub trait DiscoveryWrites: Send {
    /// Stores a job (its `id` is ignored) and returns its id; a name in use is a conflict.
    async fn create_discovery_job(&mut self, job: &DiscoveryJobRecord) -> Result<i64, StoreError>;
    /// Deletes a job with its runs unless a node holds it at `now`; the places it found stay in
    /// the inventory.
    async fn delete_discovery_job(
        &mut self,
        id: i64,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Extends `node`'s lease on the job to `until` inside the unit of work (the row stays
    /// locked until it ends); `false` when `node` no longer holds it.
    async fn hold_discovery_lease(
        &mut self,
        job_id: i64,
        node: &str,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Stores a run as started (its `id` is ignored) and returns its id.
    async fn start_discovery_run(&mut self, run: &DiscoveryRunRecord) -> Result<i64, StoreError>;
    /// Records how a run ended.
    async fn finish_discovery_run(&mut self, run: &DiscoveryRunRecord) -> Result<(), StoreError>;
    /// Stores a certificate unless it is stored already (by fingerprint).
    async fn save_discovered_certificate(
        &mut self,
        c: &DiscoveredCertificateRecord,
    ) -> Result<(), StoreError>;
    /// Stores a place, or updates the one at the same address, port and SNI (keeping its
    /// `first_seen`); returns its id.
    async fn save_discovery_place(&mut self, p: &DiscoveryPlaceRecord) -> Result<i64, StoreError>;
    /// Records an event.
    async fn add_discovery_event(&mut self, e: &DiscoveryEventRecord) -> Result<(), StoreError>;
    /// Marks an alert of a certificate at a place as mailed to a job's contacts; `false` when
    /// it was already.
    async fn mark_discovery_mailed(
        &mut self,
        job_id: i64,
        place_id: i64,
        fingerprint: &str,
        alert: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Forgets the marks of a job at a place whose alert is no longer in `current`, so that the
    /// alert is mailed again if it comes back.
    async fn forget_discovery_mailed(
        &mut self,
        job_id: i64,
        place_id: i64,
        current: &[&str],
    ) -> Result<(), StoreError>;
}

/// Extends a node's lease: ($1 until, $2 job, $3 node).
pub(crate) const RENEW_LEASE: &str =
    "UPDATE discovery_jobs SET lease_until = $1 WHERE id = $2 AND lease_node = $3";

/// Implements the traits above for a backend (called by `sql_store!`).
macro_rules! discovery_sql {
    ($name:ident, $txname:ident, $db:ty, $row:ty, $concat_entries:literal, $lock:literal, $share:literal, $skip_locked:literal, $read_only_check:literal) => {
        impl $name {
            /// Extends `node`'s lease on a job to `until` (the same statement in and out of a
            /// unit of work).
            fn renew_lease(
                job_id: i64,
                node: &str,
                until: OffsetDateTime,
            ) -> sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments> {
                sqlx::query(RENEW_LEASE)
                    .bind(until.unix_timestamp())
                    .bind(job_id)
                    .bind(node)
            }

            fn discovery_job_row(r: &$row) -> Result<DiscoveryJobRecord, StoreError> {
                use signet_domain::discovery as d;
                let name: String = r.try_get("name")?;
                let corrupt = |what: &str, e: signet_domain::Refusal| {
                    StoreError::Corrupt(format!("discovery job {name}: {what}: {e}"))
                };
                let ports = d::parse_ports(&r.try_get::<String, _>("ports")?)
                    .map_err(|e| corrupt("ports", e))?;
                let spec = d::JobSpec {
                    targets: d::parse_targets(&r.try_get::<String, _>("targets")?)
                        .map_err(|e| corrupt("targets", e))?,
                    starttls: d::parse_starttls(&r.try_get::<String, _>("starttls")?, &ports)
                        .map_err(|e| corrupt("starttls", e))?,
                    ports,
                    every: r
                        .try_get::<Option<i64>, _>("every_seconds")?
                        .map(time::Duration::seconds),
                    contacts: crate::discovery::stored_list(&r.try_get::<String, _>("contacts")?, ','),
                    concurrency: count(r.try_get("concurrency")?),
                    rate: count(r.try_get("rate")?),
                    name,
                };
                Ok(DiscoveryJobRecord {
                    id: r.try_get("id")?,
                    spec,
                    created_by: r.try_get("created_by")?,
                    created_at: time(r.try_get("created_at")?)?,
                    next_run_at: opt_time(r.try_get("next_run_at")?)?,
                    lease_until: opt_time(r.try_get("lease_until")?)?,
                    lease_node: r.try_get("lease_node")?,
                })
            }

            fn discovery_run_row(r: &$row) -> Result<DiscoveryRunRecord, StoreError> {
                Ok(DiscoveryRunRecord {
                    id: r.try_get("id")?,
                    job_id: r.try_get("job_id")?,
                    job_name: r.try_get("job_name")?,
                    started_by: r.try_get("started_by")?,
                    started_at: time(r.try_get("started_at")?)?,
                    finished_at: opt_time(r.try_get("finished_at")?)?,
                    endpoints: unsigned(r.try_get("endpoints")?),
                    done: unsigned(r.try_get("done")?),
                    answered: unsigned(r.try_get("answered")?),
                    certificates: unsigned(r.try_get("certificates")?),
                    refused: r.try_get("refused")?,
                    outcome: r.try_get("outcome")?,
                })
            }
        }

        #[async_trait]
        impl DiscoveryReads for $name {
            async fn discovery_jobs(&self) -> Result<Vec<DiscoveryJobRecord>, StoreError> {
                let rows = sqlx::query("SELECT * FROM discovery_jobs ORDER BY name")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(Self::discovery_job_row).collect()
            }

            async fn discovery_job(&self, name: &str) -> Result<Option<DiscoveryJobRecord>, StoreError> {
                let row = sqlx::query("SELECT * FROM discovery_jobs WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::discovery_job_row).transpose()
            }

            async fn discovery_runs(&self, limit: u32) -> Result<Vec<DiscoveryRunRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT r.*, j.name AS job_name FROM discovery_runs r JOIN discovery_jobs j ON j.id = r.job_id \
                     ORDER BY r.started_at DESC, r.id DESC LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::discovery_run_row).collect()
            }

            async fn discovery_run(&self, id: i64) -> Result<Option<DiscoveryRunRecord>, StoreError> {
                let row = sqlx::query(
                    "SELECT r.*, j.name AS job_name FROM discovery_runs r JOIN discovery_jobs j ON j.id = r.job_id WHERE r.id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(Self::discovery_run_row).transpose()
            }

            async fn discovered_certificates(&self) -> Result<Vec<DiscoveredCertificateRecord>, StoreError> {
                let rows = sqlx::query("SELECT * FROM discovered_certificates ORDER BY not_after, fingerprint")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        let fingerprint: String = r.try_get("fingerprint")?;
                        Ok(DiscoveredCertificateRecord {
                            der: r.try_get("der")?,
                            subject: r.try_get("subject")?,
                            issuer: r.try_get("issuer")?,
                            names: crate::discovery::stored_list(&r.try_get::<String, _>("names")?, '\n'),
                            key: r.try_get("key")?,
                            serial: r.try_get("serial")?,
                            not_before: time(r.try_get("not_before")?)?,
                            not_after: time(r.try_get("not_after")?)?,
                            signet_serial: in_row(
                                || format!("discovered certificate {fingerprint}"),
                                opt_stored("serial", r.try_get("signet_serial")?, Serial::from_str),
                            )?,
                            first_seen: time(r.try_get("first_seen")?)?,
                            fingerprint,
                        })
                    })
                    .collect()
            }

            async fn discovery_places(&self) -> Result<Vec<DiscoveryPlaceRecord>, StoreError> {
                let rows = sqlx::query("SELECT * FROM discovery_places ORDER BY address, port, sni")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        let id: i64 = r.try_get("id")?;
                        let sni: String = r.try_get("sni")?;
                        let place = || format!("discovery place {id}");
                        Ok(DiscoveryPlaceRecord {
                            id,
                            host: r.try_get("host")?,
                            address: in_row(place, stored("address", &r.try_get::<String, _>("address")?, str::parse))?,
                            port: in_row(place, stored("port", &r.try_get::<i64, _>("port")?.to_string(), str::parse))?,
                            sni: (!sni.is_empty()).then_some(sni),
                            job_id: r.try_get("job_id")?,
                            fingerprint: r.try_get("fingerprint")?,
                            chain: crate::discovery::stored_list(&r.try_get::<String, _>("chain")?, ','),
                            first_seen: time(r.try_get("first_seen")?)?,
                            last_seen: time(r.try_get("last_seen")?)?,
                            answering: r.try_get::<i64, _>("answering")? == 1,
                            alerts: in_row(
                                place,
                                stored(
                                    "discovery alert",
                                    &r.try_get::<String, _>("alerts")?,
                                    signet_domain::discovery::parse_alerts,
                                ),
                            )?,
                        })
                    })
                    .collect()
            }

            async fn discovery_events(&self, limit: u32) -> Result<Vec<DiscoveryEventRecord>, StoreError> {
                let rows = sqlx::query("SELECT * FROM discovery_events ORDER BY at DESC, id DESC LIMIT $1")
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(DiscoveryEventRecord {
                            id: r.try_get("id")?,
                            place_id: r.try_get("place_id")?,
                            run_id: r.try_get("run_id")?,
                            at: time(r.try_get("at")?)?,
                            kind: named(
                                "discovery event",
                                &r.try_get::<String, _>("kind")?,
                                signet_domain::discovery::PlaceEvent::parse,
                            )?,
                            old_fingerprint: r.try_get("old_fingerprint")?,
                            new_fingerprint: r.try_get("new_fingerprint")?,
                        })
                    })
                    .collect()
            }
        }

        #[async_trait]
        impl DiscoveryLeases for $name {
            async fn claim_discovery_job(
                &self,
                job_id: i64,
                node: &str,
                now: OffsetDateTime,
                until: OffsetDateTime,
                due_only: bool,
            ) -> Result<bool, StoreError> {
                let claimed = self
                    .write(
                        sqlx::query(
                            "UPDATE discovery_jobs SET lease_until = $1, lease_node = $2 WHERE id = $3 \
                             AND (lease_until IS NULL OR lease_until <= $4) \
                             AND ($5 = 0 OR (next_run_at IS NOT NULL AND next_run_at <= $4))",
                        )
                        .bind(until.unix_timestamp())
                        .bind(node)
                        .bind(job_id)
                        .bind(now.unix_timestamp())
                        .bind(i64::from(due_only)),
                    )
                    .await?;
                Ok(claimed == 1)
            }

            async fn release_discovery_job(
                &self,
                job_id: i64,
                node: &str,
                next_run_at: Option<OffsetDateTime>,
            ) -> Result<(), StoreError> {
                self.write(
                    sqlx::query(
                        "UPDATE discovery_jobs SET lease_until = NULL, lease_node = NULL, \
                         next_run_at = COALESCE($1, next_run_at) WHERE id = $2 AND lease_node = $3",
                    )
                    .bind(next_run_at.map(OffsetDateTime::unix_timestamp))
                    .bind(job_id)
                    .bind(node),
                )
                .await
                .map(|_| ())
            }

            async fn renew_discovery_lease(
                &self,
                job_id: i64,
                node: &str,
                until: OffsetDateTime,
            ) -> Result<bool, StoreError> {
                Ok(self.write($name::renew_lease(job_id, node, until)).await? == 1)
            }

            async fn discovery_progress(
                &self,
                run_id: i64,
                node: &str,
                done: u64,
                answered: u64,
                until: OffsetDateTime,
            ) -> Result<bool, StoreError> {
                let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                self.write(
                    sqlx::query("UPDATE discovery_runs SET done = $1, answered = $2 WHERE id = $3")
                        .bind(signed(done))
                        .bind(signed(answered))
                        .bind(run_id),
                )
                .await?;
                let held = self
                    .write(
                        sqlx::query(
                            "UPDATE discovery_jobs SET lease_until = $1 WHERE id = \
                             (SELECT job_id FROM discovery_runs WHERE id = $2) AND lease_node = $3",
                        )
                        .bind(until.unix_timestamp())
                        .bind(run_id)
                        .bind(node),
                    )
                    .await?;
                Ok(held == 1)
            }
        }

        #[async_trait]
        impl DiscoveryWrites for $txname {
            async fn create_discovery_job(&mut self, job: &DiscoveryJobRecord) -> Result<i64, StoreError> {
                let spec = &job.spec;
                let list = |items: Vec<String>| items.join(",");
                let row = self
                    .maybe(
                        sqlx::query(
                            "INSERT INTO discovery_jobs (name, targets, ports, starttls, every_seconds, contacts, \
                             concurrency, rate, created_by, created_at, next_run_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (name) DO NOTHING RETURNING id",
                        )
                        .bind(&spec.name)
                        .bind(list(spec.targets.iter().map(ToString::to_string).collect()))
                        .bind(list(spec.ports.iter().map(ToString::to_string).collect()))
                        .bind(list(
                            spec.starttls
                                .iter()
                                .map(|(p, u)| format!("{p}={}", u.as_str()))
                                .collect(),
                        ))
                        .bind(spec.every.map(|e| e.whole_seconds()))
                        .bind(spec.contacts.join(","))
                        .bind(i64::from(spec.concurrency))
                        .bind(i64::from(spec.rate))
                        .bind(&job.created_by)
                        .bind(job.created_at.unix_timestamp())
                        .bind(job.next_run_at.map(OffsetDateTime::unix_timestamp)),
                    )
                    .await?;
                match row {
                    Some(r) => Ok(r.try_get("id")?),
                    None => Err(StoreError::Conflict(format!(
                        "a discovery job named {} exists already",
                        spec.name
                    ))),
                }
            }

            async fn delete_discovery_job(&mut self, id: i64, now: OffsetDateTime) -> Result<(), StoreError> {
                // The job's row first, and only while no node holds it: a run that starts now
                // either claimed it before (and the delete waits, then finds it held) or finds
                // it gone.
                let n = self
                    .exec(
                        sqlx::query(
                            "DELETE FROM discovery_jobs WHERE id = $1 AND (lease_until IS NULL OR lease_until <= $2)",
                        )
                        .bind(id)
                        .bind(now.unix_timestamp()),
                    )
                    .await?;
                conflict(n, "the discovery job is running, or gone: remove it once its run has ended")?;
                self.exec(sqlx::query("UPDATE discovery_places SET job_id = NULL WHERE job_id = $1").bind(id))
                    .await?;
                self.exec(sqlx::query("DELETE FROM discovery_runs WHERE job_id = $1").bind(id))
                    .await?;
                self.exec(sqlx::query("DELETE FROM discovery_mailed WHERE job_id = $1").bind(id))
                    .await
                    .map(|_| ())
            }

            async fn hold_discovery_lease(
                &mut self,
                job_id: i64,
                node: &str,
                until: OffsetDateTime,
            ) -> Result<bool, StoreError> {
                Ok(self.exec($name::renew_lease(job_id, node, until)).await? == 1)
            }

            async fn start_discovery_run(&mut self, run: &DiscoveryRunRecord) -> Result<i64, StoreError> {
                let row = self
                    .one(
                        sqlx::query(
                            "INSERT INTO discovery_runs (job_id, started_by, started_at, endpoints) \
                             VALUES ($1, $2, $3, $4) RETURNING id",
                        )
                        .bind(run.job_id)
                        .bind(&run.started_by)
                        .bind(run.started_at.unix_timestamp())
                        .bind(i64::try_from(run.endpoints).unwrap_or(i64::MAX)),
                    )
                    .await?;
                Ok(row.try_get("id")?)
            }

            async fn finish_discovery_run(&mut self, run: &DiscoveryRunRecord) -> Result<(), StoreError> {
                let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                let n = self
                    .exec(
                        sqlx::query(
                            "UPDATE discovery_runs SET finished_at = $1, done = $2, answered = $3, certificates = $4, \
                             refused = $5, outcome = $6 WHERE id = $7 AND finished_at IS NULL",
                        )
                        .bind(run.finished_at.map(OffsetDateTime::unix_timestamp))
                        .bind(signed(run.done))
                        .bind(signed(run.answered))
                        .bind(signed(run.certificates))
                        .bind(&run.refused)
                        .bind(&run.outcome)
                        .bind(run.id),
                    )
                    .await?;
                conflict(n, "the discovery run ended already")
            }

            async fn save_discovered_certificate(
                &mut self,
                c: &DiscoveredCertificateRecord,
            ) -> Result<(), StoreError> {
                self.exec(
                    sqlx::query(
                        "INSERT INTO discovered_certificates (fingerprint, der, subject, issuer, names, key, serial, \
                         not_before, not_after, signet_serial, first_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                         ON CONFLICT (fingerprint) DO NOTHING",
                    )
                    .bind(&c.fingerprint)
                    .bind(&c.der)
                    .bind(&c.subject)
                    .bind(&c.issuer)
                    .bind(c.names.join("\n"))
                    .bind(&c.key)
                    .bind(&c.serial)
                    .bind(c.not_before.unix_timestamp())
                    .bind(c.not_after.unix_timestamp())
                    .bind(c.signet_serial.as_ref().map(Serial::to_hex))
                    .bind(c.first_seen.unix_timestamp()),
                )
                .await
                .map(|_| ())
            }

            async fn save_discovery_place(&mut self, p: &DiscoveryPlaceRecord) -> Result<i64, StoreError> {
                let row = self
                    .one(
                        sqlx::query(
                            "INSERT INTO discovery_places (host, address, port, sni, job_id, fingerprint, chain, \
                             first_seen, last_seen, answering, alerts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                             ON CONFLICT (address, port, sni) DO UPDATE SET host = excluded.host, job_id = excluded.job_id, \
                             fingerprint = excluded.fingerprint, chain = excluded.chain, last_seen = excluded.last_seen, \
                             answering = excluded.answering, alerts = excluded.alerts RETURNING id",
                        )
                        .bind(&p.host)
                        .bind(p.address.to_string())
                        .bind(i64::from(p.port))
                        .bind(p.sni.as_deref().unwrap_or(""))
                        .bind(p.job_id)
                        .bind(&p.fingerprint)
                        .bind(p.chain.join(","))
                        .bind(p.first_seen.unix_timestamp())
                        .bind(p.last_seen.unix_timestamp())
                        .bind(i64::from(p.answering))
                        .bind(signet_domain::discovery::alerts_text(&p.alerts)),
                    )
                    .await?;
                Ok(row.try_get("id")?)
            }

            async fn add_discovery_event(&mut self, e: &DiscoveryEventRecord) -> Result<(), StoreError> {
                self.exec(
                    sqlx::query(
                        "INSERT INTO discovery_events (place_id, run_id, at, kind, old_fingerprint, new_fingerprint) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(e.place_id)
                    .bind(e.run_id)
                    .bind(e.at.unix_timestamp())
                    .bind(e.kind.as_str())
                    .bind(&e.old_fingerprint)
                    .bind(&e.new_fingerprint),
                )
                .await
                .map(|_| ())
            }

            async fn mark_discovery_mailed(
                &mut self,
                job_id: i64,
                place_id: i64,
                fingerprint: &str,
                alert: &str,
                at: OffsetDateTime,
            ) -> Result<bool, StoreError> {
                let n = self
                    .exec(
                        sqlx::query(
                            "INSERT INTO discovery_mailed (job_id, place_id, fingerprint, alert, mailed_at) \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job_id, place_id, fingerprint, alert) DO NOTHING",
                        )
                        .bind(job_id)
                        .bind(place_id)
                        .bind(fingerprint)
                        .bind(alert)
                        .bind(at.unix_timestamp()),
                    )
                    .await?;
                Ok(n == 1)
            }

            async fn forget_discovery_mailed(
                &mut self,
                job_id: i64,
                place_id: i64,
                current: &[&str],
            ) -> Result<(), StoreError> {
                // The current alerts as one list, `,id,id,`, that each mark's id is looked for in
                // (ids are fixed words; their `_` matching any one character joins none of them).
                let keep = format!(",{},", current.join(","));
                self.exec(
                    sqlx::query(
                        "DELETE FROM discovery_mailed WHERE job_id = $1 AND place_id = $2 \
                         AND $3 NOT LIKE '%,' || alert || ',%'",
                    )
                    .bind(job_id)
                    .bind(place_id)
                    .bind(keep),
                )
                .await
                .map(|_| ())
            }
        }
    };
}
pub(crate) use discovery_sql;
