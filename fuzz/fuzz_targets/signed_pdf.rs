//! The public "Check a signature" page and `signet verify` read PDFs anyone uploads:
//! `signet_sign::report::examine` must answer every input with a report or an error, never a
//! panic, and never call a signature intact whose bytes it did not check.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = signet_sign::report::examine(data, None, &[]) {
        assert!(!report.signatures.is_empty(), "a report without signatures");
        for s in &report.signatures {
            // Nothing is trusted with no trust anchors.
            assert!(!s.trusted, "trusted without a trust anchor");
        }
    }
});
