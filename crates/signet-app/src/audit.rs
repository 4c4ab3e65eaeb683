//! The audit log: append-only, each record committing to the previous one by SHA-256, so that
//! changing or removing a record breaks every hash after it.

use serde_json::json;
use signet_store::{AuditEntry, Store, StoreError};
use time::OffsetDateTime;

use crate::AppError;

/// The hash before the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash a record must carry: SHA-256 over an unambiguous encoding of all its fields.
pub fn record_hash(e: &AuditEntry) -> String {
    let canonical = json!([
        e.seq,
        e.at.unix_timestamp(),
        e.actor,
        e.action,
        e.subject,
        e.detail,
        e.prev_hash
    ]);
    hex::encode(crate::sha256(canonical.to_string().as_bytes()))
}

/// Appends a record. Concurrent appenders race for the next sequence number; losers retry.
pub async fn append(
    store: &dyn Store,
    at: OffsetDateTime,
    actor: &str,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    for _ in 0..16 {
        let last = store.last_audit_entry().await?;
        let mut entry = AuditEntry {
            seq: last.as_ref().map_or(1, |l| l.seq + 1),
            at,
            actor: actor.to_owned(),
            action: action.to_owned(),
            subject: subject.to_owned(),
            detail: detail.to_string(),
            prev_hash: last.map_or_else(|| GENESIS.to_owned(), |l| l.hash),
            hash: String::new(),
        };
        entry.hash = record_hash(&entry);
        match store.append_audit(&entry).await {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Internal(
        "could not append to the audit log after 16 attempts".into(),
    ))
}

/// The first record that does not verify, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub seq: i64,
    pub reason: String,
}

/// Checks the whole chain: sequence without gaps, each `prev_hash` the previous `hash`, each
/// `hash` recomputed. Returns the number of records checked or the first break.
pub fn verify_chain(entries: &[AuditEntry]) -> Result<usize, Break> {
    let mut prev = GENESIS.to_owned();
    for (i, e) in entries.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if e.seq != expected_seq {
            return Err(Break {
                seq: e.seq,
                reason: format!("expected record {expected_seq}: records are missing"),
            });
        }
        if e.prev_hash != prev {
            return Err(Break {
                seq: e.seq,
                reason: "does not follow the previous record (prev_hash differs)".into(),
            });
        }
        if record_hash(e) != e.hash {
            return Err(Break {
                seq: e.seq,
                reason: "its content was changed (hash differs)".into(),
            });
        }
        prev = e.hash.clone();
    }
    Ok(entries.len())
}
