//! What an officer signs for a decision (issue 15, item 3; design R-VET): the order, the
//! details the officer saw (the locked-details fingerprint and the documents' hashes), the
//! decision and its message, the time and the officer. The bytes signed are the statement's
//! canonical JSON (RFC 8785: keys sorted, no whitespace; every value is a string or an array of
//! strings, so no number formatting is involved), so a browser, `openssl dgst` and Signet all
//! sign and check the same octets.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Refusal;

/// The decisions a statement can carry.
/// The vetting decisions carry the names of their API actions; `reveal` is a support officer's
/// look at an order's personal data.
pub const DECISIONS: [&str; 4] = ["approve", "reject", "request_info", "reveal"];

/// How far a statement's `at` may lie from the server's clock: long enough for a slow officer
/// and a skewed laptop clock, short enough that a captured signature is not a lasting licence.
pub const STATEMENT_WINDOW_SECONDS: i64 = 300;

/// A decision statement, before or after signing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionStatement {
    /// The order decided on.
    pub order_number: String,
    /// The fingerprint of the order's locked details, as shown to the officer.
    pub details_fingerprint: String,
    /// One of [`DECISIONS`].
    pub decision: String,
    /// The message sent with the decision (empty when none).
    pub message: String,
    /// SHA-256 (lower-case hex) of each document the officer had before them, sorted.
    pub documents: Vec<String>,
    /// When it was signed: RFC 3339, UTC, whole seconds (`2026-12-04T10:00:00Z`).
    pub at: String,
    /// The officer's account (e-mail address).
    pub officer: String,
}

impl DecisionStatement {
    /// The octets that are signed: RFC 8785 canonical JSON.
    pub fn canonical(&self) -> Vec<u8> {
        // serde_json writes a BTreeMap's keys sorted, without whitespace, and escapes strings
        // as RFC 8785 asks (", \, control characters; lower-case \u00xx; nothing else).
        let fields = BTreeMap::from([
            ("at", serde_json::json!(self.at)),
            ("decision", serde_json::json!(self.decision)),
            (
                "details_fingerprint",
                serde_json::json!(self.details_fingerprint),
            ),
            ("documents", serde_json::json!(self.documents)),
            ("message", serde_json::json!(self.message)),
            ("officer", serde_json::json!(self.officer)),
            ("order_number", serde_json::json!(self.order_number)),
        ]);
        serde_json::to_vec(&fields).unwrap_or_default()
    }

    /// Reads signed octets back, refusing anything that is not exactly a canonical statement
    /// (so two byte strings can never stand for one statement).
    pub fn from_canonical(octets: &[u8]) -> Result<DecisionStatement, Refusal> {
        let statement: DecisionStatement = serde_json::from_slice(octets)
            .map_err(|e| Refusal::InvalidInput(format!("not a decision statement: {e}")))?;
        statement.check()?;
        if statement.canonical() != octets {
            return Err(Refusal::InvalidInput(
                "the decision statement is not in canonical form (RFC 8785: sorted keys, no whitespace)"
                    .into(),
            ));
        }
        Ok(statement)
    }

    /// The rules every statement follows.
    pub fn check(&self) -> Result<(), Refusal> {
        if !DECISIONS.contains(&self.decision.as_str()) {
            return Err(Refusal::InvalidInput(format!(
                "decision `{}`: use one of {}",
                self.decision,
                DECISIONS.join(", ")
            )));
        }
        let hex64 = |d: &String| {
            d.len() == 64
                && d.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if !self.documents.iter().all(hex64) || !self.documents.is_sorted() {
            return Err(Refusal::InvalidInput(
                "documents: SHA-256 hashes in lower-case hex, sorted".into(),
            ));
        }
        let at =
            time::OffsetDateTime::parse(&self.at, &time::format_description::well_known::Rfc3339)
                .map_err(|e| Refusal::InvalidInput(format!("at `{}`: {e}", self.at)))?;
        if statement_time(at) != self.at {
            return Err(Refusal::InvalidInput(format!(
                "at `{}`: UTC in whole seconds, ending in Z",
                self.at
            )));
        }
        Ok(())
    }

    /// The server's check of a signed statement against the one it built itself for this
    /// order, decision and officer (`expected`, whose `at` is ignored): every other field must be
    /// equal, and `at` within [`STATEMENT_WINDOW_SECONDS`] of `now`. The refusal names the first
    /// field that differs, so a client can tell a stale page from a wrong clock.
    pub fn check_against(
        &self,
        expected: &DecisionStatement,
        now: time::OffsetDateTime,
    ) -> Result<(), Refusal> {
        self.check()?;
        let fields = [
            ("order_number", &self.order_number, &expected.order_number),
            (
                "details_fingerprint",
                &self.details_fingerprint,
                &expected.details_fingerprint,
            ),
            ("decision", &self.decision, &expected.decision),
            ("message", &self.message, &expected.message),
            ("officer", &self.officer, &expected.officer),
        ];
        for (name, signed, wanted) in fields {
            if signed != wanted {
                return Err(Refusal::InvalidInput(format!(
                    "the signed statement's {name} is `{signed}`, but this decision's is `{wanted}`: fetch the statement again and sign that"
                )));
            }
        }
        if self.documents != expected.documents {
            return Err(Refusal::InvalidInput(
                "the signed statement lists other documents than the order has now: reload the order, look at them and sign again".into(),
            ));
        }
        let at =
            time::OffsetDateTime::parse(&self.at, &time::format_description::well_known::Rfc3339)
                .map_err(|e| Refusal::InvalidInput(format!("at `{}`: {e}", self.at)))?;
        let skew = (at - now).whole_seconds().abs();
        if skew > STATEMENT_WINDOW_SECONDS {
            return Err(Refusal::InvalidInput(format!(
                "the statement was signed for {} but it is {} on the server ({skew} s apart, at most {STATEMENT_WINDOW_SECONDS} s): check your clock and sign again",
                self.at,
                statement_time(now)
            )));
        }
        Ok(())
    }
}

/// A decision's message as it is signed, stored and mailed: line breaks as LF (a form sends
/// CR LF, a script LF) and no white space around it. The browser sends the text as typed; the
/// server applies this on both sides, so the two always agree.
pub fn normalize_message(message: &str) -> String {
    message.replace("\r\n", "\n").trim().to_owned()
}

/// A request's signature parts: both (a signed decision), neither (unsigned), never one alone.
pub fn signed_pair<'a>(
    statement: Option<&'a str>,
    signature: Option<&'a str>,
) -> Result<Option<(&'a str, &'a str)>, Refusal> {
    match (statement, signature) {
        (Some(statement), Some(signature)) => Ok(Some((statement, signature))),
        (None, None) => Ok(None),
        _ => Err(Refusal::InvalidInput(
            "send both `statement` and `signature`, or neither".into(),
        )),
    }
}

/// `at` as a statement writes it: RFC 3339, UTC, whole seconds.
pub fn statement_time(t: time::OffsetDateTime) -> String {
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement() -> DecisionStatement {
        DecisionStatement {
            order_number: "7K2PQ-4XW9D".into(),
            details_fingerprint: "ab12".into(),
            decision: "approve".into(),
            message: "Checked: ID \"card\"\nand register\u{1}ü/".into(),
            documents: vec!["0".repeat(64), "f".repeat(64)],
            at: "2026-12-04T10:00:00Z".into(),
            officer: "vera@ca.example.com".into(),
        }
    }

    #[test]
    fn the_canonical_form_is_rfc_8785() {
        let text = String::from_utf8(statement().canonical()).expect("utf-8");
        assert_eq!(
            text,
            format!(
                r#"{{"at":"2026-12-04T10:00:00Z","decision":"approve","details_fingerprint":"ab12","documents":["{}","{}"],"message":"Checked: ID \"card\"\nand register\u0001ü/","officer":"vera@ca.example.com","order_number":"7K2PQ-4XW9D"}}"#,
                "0".repeat(64),
                "f".repeat(64)
            )
        );
    }

    #[test]
    fn only_canonical_octets_read_back() {
        let s = statement();
        assert_eq!(
            DecisionStatement::from_canonical(&s.canonical()),
            Ok(s.clone())
        );
        let spaced = String::from_utf8(s.canonical())
            .expect("utf-8")
            .replace(",", ", ");
        assert!(DecisionStatement::from_canonical(spaced.as_bytes()).is_err());
        let mut other = s.clone();
        other.decision = "approve_all".into();
        assert!(DecisionStatement::from_canonical(&other.canonical()).is_err());
        for other_form in [
            "2026-12-04T11:00:00+01:00",
            "2026-12-04T10:00:00.0Z",
            "2026-12-04 10:00:00Z",
            "2026-12-04t10:00:00z",
        ] {
            let mut late = s.clone();
            late.at = other_form.into();
            assert!(late.check().is_err(), "{other_form}");
        }
        let mut unsorted = s;
        unsorted.documents.reverse();
        assert!(unsorted.check().is_err());
    }

    #[test]
    fn a_signed_statement_is_checked_field_by_field_and_in_time() {
        let signed = statement();
        let now = time::macros::datetime!(2026-12-04 10:04:00 UTC);
        assert_eq!(signed.check_against(&statement(), now), Ok(()));
        let mut other = statement();
        other.message = "something else".into();
        let refusal = signed.check_against(&other, now).expect_err("differs");
        assert!(refusal.to_string().contains("message"), "{refusal}");
        let late = time::macros::datetime!(2026-12-04 10:05:01 UTC);
        let refusal = signed.check_against(&statement(), late).expect_err("late");
        assert!(refusal.to_string().contains("301 s"), "{refusal}");
        assert_eq!(statement_time(now), "2026-12-04T10:04:00Z");
    }
}
