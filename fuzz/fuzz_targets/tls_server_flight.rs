//! `signet_tls::wire::FlightReader` reads what any server sends in answer to a hello — from the
//! portal, a server of a user's choosing, possibly hostile: records split or joined anywhere,
//! handshake messages across records, certificates, CA name lists. It must never panic, and
//! feeding the same bytes in two pieces must read the same as in one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_tls::wire::{FlightReader, sslv2_ciphers};

fuzz_target!(|data: &[u8]| {
    let mut whole = FlightReader::default();
    whole.push(data);
    let whole = whole.finish();
    let cut = data.first().map_or(0, |b| usize::from(*b) % (data.len() + 1));
    let mut pieces = FlightReader::default();
    if !pieces.push(&data[..cut]) {
        pieces.push(&data[cut..]);
    }
    let pieces = pieces.finish();
    assert_eq!(whole.certificates, pieces.certificates);
    assert_eq!(whole.alert, pieces.alert);
    assert_eq!(whole.complete, pieces.complete);
    let _ = sslv2_ciphers(data);
});
