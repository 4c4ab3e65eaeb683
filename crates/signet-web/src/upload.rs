//! Document uploads at the HTTP edge, for the API and the portal alike: how much body is read,
//! and what a multipart failure means to the person uploading. The rule (10 MiB, what a document
//! may be) is the domain's (R-ORD-5).

use axum::extract::DefaultBodyLimit;
use axum::extract::multipart::MultipartError;
use axum::http::StatusCode;
use signet_domain::Refusal;
use signet_domain::order::MAX_DOCUMENT_BYTES;

/// Bodies are read up to half again the domain's limit, so that a client that sends its whole
/// file before reading the answer (most do) gets the domain's 413 with its limit, not a reset
/// connection; beyond that the stream is cut.
pub fn body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(MAX_DOCUMENT_BYTES * 3 / 2)
}

/// The refusal for a multipart body that could not be read: too large (413), or malformed.
pub fn multipart_refusal(what: &str, e: &MultipartError) -> Refusal {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        Refusal::InvalidInput(format!("{what}: {e}"))
    }
}

fn too_large() -> Refusal {
    Refusal::TooLarge(format!(
        "the upload is larger than the limit of {MAX_DOCUMENT_BYTES} bytes (10 MiB) per document"
    ))
}
