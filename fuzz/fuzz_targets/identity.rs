//! The identity a subscriber types (order body, CLI `--subject` file) is JSON deserialised into
//! `IdentityInput` and checked by `Identity::try_from`. Whatever the bytes, neither may panic.
//! An identity that is accepted must keep its promises (every field fits a certificate: at most
//! 64 characters, no control characters, an ASCII mailbox, an upper-case ISO country; and no
//! field the certificate subject carries holds a Unicode noncharacter, which the PKCS#12 of a
//! pickup cannot label: its BMPStrings stop before U+FFFF) and must survive JSON: serialised,
//! read back and checked again, it is the same identity, and each of its values comes back from
//! serde_json unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_domain::identity::{Identity, IdentityInput};

fn round_trips(what: &str, value: &str) {
    let json = serde_json::to_string(value).expect("a string serialises");
    let back: String = serde_json::from_str(&json).expect("a serialised string deserialises");
    assert_eq!(back, value, "{what} changed through JSON: {json}");
}

/// U+FDD0..U+FDEF and the last two code points of every plane.
fn is_noncharacter(c: char) -> bool {
    let u = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&u) || (u & 0xFFFE) == 0xFFFE
}

fn fits(what: &str, value: &str) {
    let chars = value.chars().count();
    assert!(
        (1..=64).contains(&chars),
        "{what} has {chars} characters: {value:?}"
    );
    assert!(
        !value.chars().any(char::is_control),
        "{what} has a control character: {value:?}"
    );
    assert_eq!(value, value.trim(), "{what} is not trimmed: {value:?}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<IdentityInput>(data) else {
        return;
    };
    let Ok(identity) = Identity::try_from(input) else {
        return;
    };

    let cn = identity.common_name();
    fits("the common name", &cn);
    fits("the given name", identity.given_name());
    fits("the surname", identity.surname());
    fits("the organization", identity.organization());
    for (what, value) in [
        ("the organizational unit", identity.organizational_unit()),
        ("the title", identity.title()),
    ] {
        if let Some(value) = value {
            fits(what, value);
        }
    }
    let email = identity.email();
    assert!(
        email.is_ascii() && email.len() <= 254,
        "unusable mailbox {email:?}"
    );
    assert_eq!(email.matches('@').count(), 1, "mailbox {email:?}");
    let country = identity.country();
    assert!(
        country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase()),
        "country {country:?}"
    );

    // Every subject attribute, as `CertificateProfile::plan` writes them.
    for (what, value) in [
        ("common_name", Some(cn.as_str())),
        ("organization", Some(identity.organization())),
        (
            "organization_identifier",
            identity.organization_identifier(),
        ),
        ("organizational_unit", identity.organizational_unit()),
        ("title", identity.title()),
    ] {
        if let Some(value) = value {
            assert!(
                !value.chars().any(is_noncharacter),
                "{what} holds a Unicode noncharacter: {value:?}"
            );
        }
    }

    for (what, value) in [
        ("common_name", Some(cn.as_str())),
        ("given_name", Some(identity.given_name())),
        ("surname", Some(identity.surname())),
        ("email", Some(email)),
        ("organization", Some(identity.organization())),
        ("country", Some(country)),
        (
            "organization_identifier",
            identity.organization_identifier(),
        ),
        ("organizational_unit", identity.organizational_unit()),
        ("title", identity.title()),
    ] {
        if let Some(value) = value {
            round_trips(what, value);
        }
    }

    // The checked identity, as stored and sent, is accepted again unchanged.
    let json = serde_json::to_vec(&identity).expect("an identity serialises");
    let input: IdentityInput =
        serde_json::from_slice(&json).expect("a serialised identity reads as an input");
    let again = Identity::try_from(input).expect("a serialised identity is accepted again");
    assert_eq!(again, identity, "the identity changed through JSON");
    assert_eq!(again.common_name(), cn);
});
