//! Files made to fool a signature check (found in a hostile pass over `signet verify`): none may
//! be judged VALID, however its signer's certificate stands. A signature Signet made, and one
//! OpenSSL made with its defaults, are the controls that must stay VALID.
//!
//! The fixtures chain to `hostile/root.pem`, the root of the throwaway CA they were made with.

use signet_sign::report::{Standing, examine_at};
use signet_sign::verify::certificate;

/// The day after the fixtures were made: their certificates are valid then, whatever the
/// calendar says when the tests run.
fn when() -> time::OffsetDateTime {
    time::macros::datetime!(2026-12-04 12:00 UTC)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/hostile/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The verdicts of every signature, each judged as if the CA said "good".
fn verdicts(file: &str, signature: Option<&str>) -> Result<Vec<String>, String> {
    verdicts_with(file, signature, Standing::Good)
}

fn verdicts_with(
    file: &str,
    signature: Option<&str>,
    standing: Standing,
) -> Result<Vec<String>, String> {
    let root = certificate(&fixture("root.pem")).expect("root");
    let signature = signature.map(fixture);
    let mut report = examine_at(&fixture(file), signature.as_deref(), &[root], when())
        .map_err(|e| e.to_string())?;
    for s in &mut report.signatures {
        s.judge(standing.clone());
    }
    Ok(report.signatures.into_iter().map(|s| s.verdict).collect())
}

#[test]
fn forgeries_and_later_changes_are_never_valid() {
    let forgeries = [
        // A CMS carrying its own content (an S/MIME message, a time-stamp token) as /Contents.
        "universal_forgery.pdf",
        "tsa_token_as_sig.pdf",
        // Incremental updates after signing that change what a reader sees.
        "font_swap.pdf",
        "add_annot.pdf",
        "mediabox.pdf",
        "rotate.pdf",
        "openaction_js.pdf",
        // Byte ranges that leave signed-looking bytes unsigned, or overlap.
        "br_overlap.pdf",
        "br_only_first.pdf",
        "br_nonzero_start.pdf",
        "br_gap_bigger.pdf",
        "br_three.pdf",
        "br_skip_font_tampered.pdf",
        // A subscriber certificate acting as a CA; an expired certificate.
        "olaf-bt.pdf",
        "olafexp-bt.pdf",
    ];
    for file in forgeries {
        // Refused outright is also not valid.
        if let Ok(verdicts) = verdicts(file, None) {
            assert!(
                verdicts.iter().all(|v| !v.starts_with("VALID")),
                "{file} was judged valid: {verdicts:?}"
            );
        }
    }
    // A key revoked for compromise, its signature backdated by a time-stamp from a self-made
    // "TSA": the time proves nothing, so the revocation counts.
    let revoked = when() - time::Duration::hours(1);
    let backdated =
        verdicts_with("victim_backdated.pdf", None, Standing::Revoked(revoked)).expect("a report");
    assert!(
        backdated.iter().all(|v| !v.starts_with("VALID")),
        "{backdated:?}"
    );
    // A detached signature that carries another document inside.
    let detached = verdicts("evil.xml", Some("inv.attached.p7s"));
    assert!(
        detached
            .as_ref()
            .map_or(true, |v| v.iter().all(|v| !v.starts_with("VALID"))),
        "{detached:?}"
    );
}

#[test]
fn genuine_signatures_stay_valid() {
    for file in ["signet-b-t.pdf", "c_rsa_openssl.pdf", "c_control.pdf"] {
        let verdicts = verdicts(file, None).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(
            verdicts.iter().all(|v| v.starts_with("VALID")),
            "{file}: {verdicts:?}"
        );
    }
}

#[test]
fn an_object_stream_bomb_is_answered() {
    // A signed file with 270 KB appended that would inflate to 256 MiB: streams are read up to
    // a cap (64 MiB), so the bomb stays unread; the objects it would hold are referenced by
    // nothing the reader shows, so the signed content is still what was signed.
    let answer = verdicts("objstm_bomb_256m.pdf", None);
    assert!(answer.is_ok(), "{answer:?}");
}

#[test]
fn an_empty_dss_is_not_long_term_validation_data() {
    let root = certificate(&fixture("root.pem")).expect("root");
    let report = examine_at(&fixture("empty_dss.pdf"), None, &[root], when()).expect("report");
    assert!(
        report
            .signatures
            .iter()
            .all(|s| s.level.as_deref() != Some("B-LT")),
        "{:?}",
        report
            .signatures
            .iter()
            .map(|s| &s.level)
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_document_certified_against_changes_is_not_signed_again() {
    use signet_sign::pades::{SignatureKind, append_signature};
    let refused = append_signature(
        &fixture("certified_nochanges.pdf"),
        SignatureKind::Signature(when()),
        64,
        signet_pki::signed_data::Hash::Sha256,
        |_| Ok(Vec::new()),
    )
    .expect_err("certified with no changes allowed");
    assert!(refused.to_string().contains("certified"), "{refused}");
}
