//! `signet_pki::csr::parse_csr` reads a subscriber's CSR (PEM or DER) from the REST API, the
//! portal's pickup form and `signet issue --csr`: whatever the bytes, it must answer with a key
//! or an error, never panic. A key it accepts must pass the key policy and survive DER.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_domain::key::check_subscriber_key;
use signet_pki::csr::{SubscriberKey, parse_csr};
use signet_pki::der::{Decode, Encode};

/// Encodes a value and decodes it again.
fn through_der<T: Encode + for<'a> Decode<'a>>(value: &T) -> T {
    let der = value.to_der().expect("an accepted value encodes");
    T::from_der(&der).expect("what was encoded decodes")
}

fuzz_target!(|data: &[u8]| {
    let Ok(key) = parse_csr(data) else {
        return;
    };
    assert!(
        check_subscriber_key(&key.kind).is_ok(),
        "parse_csr accepted a key the policy refuses: {}",
        key.kind
    );
    let again = SubscriberKey::from_spki(through_der(&key.spki))
        .expect("an accepted key is accepted again after DER");
    assert_eq!(again.kind, key.kind, "the key's kind changed through DER");
});
