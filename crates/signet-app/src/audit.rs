//! The audit log: append-only, each record committing to the previous one by SHA-256 (the rule is
//! the domain's, `signet_domain::audit`). Records are appended by the store inside the unit of
//! work whose change they record, so there is no change without its record and no record of a
//! change that did not happen.

use serde_json::Value;
use signet_domain::audit::{Break, verify};
use signet_store::{AuditEntry, AuditRecord};
use time::OffsetDateTime;

/// An audit record to add to a unit of work.
pub fn record(
    at: OffsetDateTime,
    actor: &str,
    action: &str,
    subject: &str,
    detail: Value,
) -> AuditRecord {
    AuditRecord {
        at,
        actor: actor.to_owned(),
        action: action.to_owned(),
        subject: subject.to_owned(),
        detail: detail.to_string(),
    }
}

/// Checks the whole chain: sequence without gaps, each `prev_hash` the previous `hash`, each
/// `hash` recomputed. Returns the number of records checked or the first break.
pub fn verify_chain(entries: &[AuditEntry]) -> Result<usize, Break> {
    verify(entries.iter().map(AuditEntry::as_chained))
}
