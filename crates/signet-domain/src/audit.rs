//! The audit log's chain rule: each record commits by SHA-256 to every field of its own and to
//! the hash of the record before it, so that changing, removing or reordering any record breaks
//! every hash after it. The store appends records under this rule; `signet audit verify` checks
//! it.

use sha2::{Digest, Sha256};

/// The hash before the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of one record that its hash covers.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// Position in the chain: 1 for the first record, then without gaps (the store numbers records
    /// at commit).
    pub seq: i64,
    /// Unix seconds.
    pub at: i64,
    /// Who acted: `account:ID`, `operator:cli`, `job:NAME`, `anonymous` and the like.
    pub actor: &'a str,
    /// What was done, dotted, e.g. `order.cancelled` or `certificate.issued`.
    pub action: &'a str,
    /// What it was done to, e.g. `order:NUMBER`, `certificate:SERIAL` or `account:ID`.
    pub subject: &'a str,
    /// JSON text.
    pub detail: &'a str,
    /// The previous record's hash (lower-case hex), or [`GENESIS`] for the first record.
    pub prev_hash: &'a str,
}

/// The hash a record must carry: SHA-256 (lower-case hex) over an unambiguous encoding of every
/// field (a JSON array: strings are quoted and escaped, so no two records encode alike).
pub fn record_hash(r: &Record<'_>) -> String {
    let canonical = serde_json::json!([
        r.seq,
        r.at,
        r.actor,
        r.action,
        r.subject,
        r.detail,
        r.prev_hash
    ]);
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a chain breaks, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The record at which the chain breaks: the first one that fails a check.
    pub seq: i64,
    /// What is wrong with it, for the operator reading `signet audit verify`.
    pub reason: String,
}

/// Checks a chain read in sequence order: numbers without gaps from 1, each `prev_hash` the
/// previous record's hash, each hash recomputed. Returns how many records were checked.
pub fn verify<'a, I>(records: I) -> Result<usize, Break>
where
    I: IntoIterator<Item = (Record<'a>, &'a str)>,
{
    let mut prev = GENESIS.to_owned();
    let mut checked = 0usize;
    for (i, (r, hash)) in records.into_iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if r.seq != expected_seq {
            return Err(Break {
                seq: r.seq,
                reason: format!("expected record {expected_seq}: records are missing"),
            });
        }
        if r.prev_hash != prev {
            return Err(Break {
                seq: r.seq,
                reason: "does not follow the previous record (prev_hash differs)".into(),
            });
        }
        if record_hash(&r) != hash {
            return Err(Break {
                seq: r.seq,
                reason: "its content was changed (hash differs)".into(),
            });
        }
        prev = hash.to_owned();
        checked += 1;
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<(i64, String, String, String)> {
        let mut prev = GENESIS.to_owned();
        let mut out = Vec::new();
        for seq in 1..=n {
            let action = format!("a{seq}");
            let r = Record {
                seq,
                at: 1_700_000_000 + seq,
                actor: "x",
                action: &action,
                subject: "s",
                detail: "{}",
                prev_hash: &prev,
            };
            let h = record_hash(&r);
            out.push((seq, action.clone(), prev.clone(), h.clone()));
            prev = h;
        }
        out
    }

    fn records(c: &[(i64, String, String, String)]) -> Vec<(Record<'_>, &str)> {
        c.iter()
            .map(|(seq, action, prev, hash)| {
                (
                    Record {
                        seq: *seq,
                        at: 1_700_000_000 + seq,
                        actor: "x",
                        action,
                        subject: "s",
                        detail: "{}",
                        prev_hash: prev,
                    },
                    hash.as_str(),
                )
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies_and_any_change_breaks_it() {
        let c = chain(5);
        assert_eq!(verify(records(&c)), Ok(5));
        let mut changed = c.clone();
        changed[2].1 = "forged".into();
        assert_eq!(verify(records(&changed)).unwrap_err().seq, 3);
        let mut missing = c.clone();
        missing.remove(1);
        assert_eq!(verify(records(&missing)).unwrap_err().seq, 3);
    }

    #[test]
    fn the_encoding_is_stable() {
        // Records written by earlier versions must keep verifying.
        let h = record_hash(&Record {
            seq: 1,
            at: 0,
            actor: "a",
            action: "b",
            subject: "c",
            detail: "{}",
            prev_hash: GENESIS,
        });
        // Pinned (computed independently: SHA-256 of the compact JSON array
        // `[1,0,"a","b","c","{}","000…0"]`): a change to the encoding would break every chain
        // already written.
        assert_eq!(
            h,
            "95622b371475fcbf143a33a7c928f1bae4952a934d177213a241fc35034896f6"
        );
    }
}
