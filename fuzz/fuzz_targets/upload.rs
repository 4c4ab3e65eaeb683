//! `signet_domain::order::document_media_type` decides what an uploaded document is (R-ORD-5:
//! PDF, PNG or JPEG, by content, at most 10 MiB). Whatever the bytes it must not panic, and the
//! type it declares must be the one the magic bytes say: a file is never stored as a PDF or an
//! image (and later served with that Content-Type) unless it starts like one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_domain::order::{MAX_DOCUMENT_BYTES, document_media_type};

const PDF: &[u8] = b"%PDF-";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
const JPEG: &[u8] = &[0xff, 0xd8, 0xff];

fuzz_target!(|data: &[u8]| {
    match document_media_type(data) {
        Ok(media_type) => {
            assert!(!data.is_empty() && data.len() <= MAX_DOCUMENT_BYTES);
            let magic = match media_type {
                "application/pdf" => PDF,
                "image/png" => PNG,
                "image/jpeg" => JPEG,
                other => panic!("an upload was accepted as `{other}`"),
            };
            assert!(
                data.starts_with(magic),
                "accepted as {media_type} without its magic bytes: {:02x?}",
                &data[..data.len().min(16)]
            );
        }
        Err(_) => {
            // Refused although it is a PDF, PNG or JPEG within the limits: a wrongly refused upload.
            let looks_valid = [PDF, PNG, JPEG].iter().any(|m| data.starts_with(m));
            assert!(
                !looks_valid || data.len() > MAX_DOCUMENT_BYTES,
                "a document with the magic bytes of an accepted type was refused"
            );
        }
    }
});
