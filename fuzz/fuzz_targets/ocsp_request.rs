//! `signet_pki::ocsp::parse_request` reads OCSP requests from anyone on the network (`/ocsp`,
//! GET and POST): it must answer with a query or a refusal, never panic, and refuse empty and
//! oversized requests as malformed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_pki::ocsp::{MAX_REQUEST_BYTES, OcspRefusal, parse_request};

fuzz_target!(|data: &[u8]| {
    let result = parse_request(data);
    if data.is_empty() || data.len() > MAX_REQUEST_BYTES {
        assert_eq!(result, Err(OcspRefusal::Malformed));
    }
    if let Ok(query) = result {
        // Everything the query holds was copied out of the request.
        let held = query.issuer_name_hash.len() + query.issuer_key_hash.len() + query.serial.len();
        assert!(
            held <= data.len(),
            "the query holds more than the request had"
        );
    }
});
