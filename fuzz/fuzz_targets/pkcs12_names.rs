//! At pickup Signet packs the generated key, the certificate and the chain into a PKCS#12 whose
//! friendly name is the subscriber's name (`signet_pki::pkcs12::build`). The name is whatever
//! the identity allowed, so the PFX must be built for every name, characters beyond the Basic
//! Multilingual Plane included (`bmp_friendly_name` replaces them): a failure there comes after
//! the certificate was signed, and the pickup is released and the serial revoked.
//!
//! Input: the first byte picks the encryption (even: modern, odd: legacy), the rest is the name
//! (UTF-8, lossy). The key is made once per process by `subscriber_key::generate` (as at
//! pickup) and certified by a throwaway root and issuing CA (rcgen); a PFX of them is built and
//! read back once, to check the fixture. Each run then builds one PFX, which derives keys with
//! 10,000 iterations three times (two encryptions and the MAC): some tens of runs a second. To
//! stay cheap, a run does not decrypt the PFX again; it checks that the key bag, which is not
//! encrypted, names the key with the sanitised friendly name.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use signet_domain::key::SubscriberKeyType;
use signet_pki::der::Encode;
use signet_pki::der::asn1::BmpString;
use signet_pki::pkcs12::{Compatibility, bmp_friendly_name, build};
use signet_pki::subscriber_key;

/// Shaped like the passwords pickup generates (20 letters and digits).
const PASSWORD: &str = "Fz7kQ2mWx9PbL4tRn8Vc";

struct Fixture {
    pkcs8: Vec<u8>,
    certificate: Vec<u8>,
    /// Issuing CA first, root last, as pickup passes it.
    chain: [Vec<u8>; 2],
}

fn ca(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let root_key = KeyPair::generate().expect("root key");
        let root_params = ca("Signet Fuzz Root");
        let root = root_params
            .self_signed(&root_key)
            .expect("root certificate");
        let root_issuer = Issuer::new(root_params, root_key);

        let ca_key = KeyPair::generate().expect("issuing CA key");
        let ca_params = ca("Signet Fuzz Issuing CA");
        let ca_cert = ca_params
            .signed_by(&ca_key, &root_issuer)
            .expect("issuing CA certificate");
        let ca_issuer = Issuer::new(ca_params, ca_key);

        let generated = subscriber_key::generate(SubscriberKeyType::P256).expect("subscriber key");
        let leaf_key = KeyPair::try_from(generated.pkcs8.as_slice()).expect("rcgen reads the key");
        let mut leaf_params = CertificateParams::new(Vec::<String>::new()).expect("parameters");
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "Anna Peeters");
        let leaf = leaf_params
            .signed_by(&leaf_key, &ca_issuer)
            .expect("leaf certificate");

        let fixture = Fixture {
            pkcs8: generated.pkcs8.to_vec(),
            certificate: leaf.der().to_vec(),
            chain: [ca_cert.der().to_vec(), root.der().to_vec()],
        };
        check_fixture(&fixture);
        fixture
    })
}

/// Builds a PFX of the fixture and reads it back: one key, listed under its friendly name, with
/// the certificate, the issuing CA and the root.
fn check_fixture(f: &Fixture) {
    let chain = [f.chain[0].as_slice(), f.chain[1].as_slice()];
    for compatibility in [Compatibility::Modern, Compatibility::Legacy] {
        let pfx = build(
            &f.pkcs8,
            &f.certificate,
            &chain,
            "Anna Peeters",
            PASSWORD,
            compatibility,
        )
        .expect("the fixture packs");
        let store = KeyStore::from_pkcs12(&pfx, PASSWORD, Pkcs12ImportPolicy::Strict)
            .expect("the fixture's PFX reads back");
        let entries: Vec<_> = store.entries().collect();
        assert_eq!(entries.len(), 1, "one entry expected");
        let (alias, entry) = &entries[0];
        assert_eq!(alias.as_str(), "Anna Peeters");
        let KeyStoreEntry::PrivateKeyChain(key_chain) = entry else {
            panic!("the entry is not a key with its chain");
        };
        assert_eq!(
            key_chain.certs().len(),
            3,
            "certificate + issuing CA + root"
        );
        assert!(contains(&pfx, &bmp_string_der("Anna Peeters")));
    }
}

/// The DER BMPString a friendly name is written as.
fn bmp_string_der(label: &str) -> Vec<u8> {
    BmpString::from_utf8(label)
        .and_then(|s| s.to_der())
        .unwrap_or_else(|e| panic!("{label:?} is no BMPString: {e}"))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, name)) = data.split_first() else {
        return;
    };
    let compatibility = if selector & 1 == 0 {
        Compatibility::Modern
    } else {
        Compatibility::Legacy
    };
    let name = String::from_utf8_lossy(name);

    let label = bmp_friendly_name(&name);
    assert_eq!(
        label.chars().count(),
        name.chars().count(),
        "characters lost: {name:?}"
    );
    assert!(
        label.chars().all(|c| u32::from(c) <= 0xffff),
        "not BMP: {label:?}"
    );
    assert_eq!(bmp_friendly_name(&label), label, "not idempotent: {name:?}");

    let f = fixture();
    let chain = [f.chain[0].as_slice(), f.chain[1].as_slice()];
    let pfx = match build(
        &f.pkcs8,
        &f.certificate,
        &chain,
        &name,
        PASSWORD,
        compatibility,
    ) {
        Ok(pfx) => pfx,
        Err(e) => panic!(
            "no PKCS#12 ({compatibility:?}) for the friendly name {name:?} (code points {:x?}): {e}",
            name.chars().map(u32::from).collect::<Vec<_>>()
        ),
    };

    // The key bag (not encrypted) names the key with the sanitised name.
    assert!(
        contains(&pfx, &bmp_string_der(&label)),
        "the PFX does not carry the friendly name {label:?}"
    );
});
