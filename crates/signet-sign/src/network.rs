//! What the signer fetches: time-stamp tokens, OCSP responses and CRLs over HTTP. A trait, so
//! that a program embedding the library can route these through its own client.

use std::time::Duration;

use crate::SignError;

/// Fetches by HTTP: a POST for TSA and OCSP requests, a GET for CRLs.
pub trait Fetch: std::fmt::Debug {
    /// POSTs `body` as `content_type` and returns the response body of a 2xx answer.
    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, SignError>;
    /// GETs `url` and returns the body of a 2xx answer.
    fn get(&self, url: &str) -> Result<Vec<u8>, SignError>;
}

/// Plain HTTP with timeouts: TSA, OCSP and CRL URLs in certificates are `http:` (RFC 5280
/// §4.2.1.13, RFC 6960 appendix A), their answers being signed.
///
/// The client is built on first use: a B-B signature fetches nothing, and a blocking reqwest
/// client starts a runtime thread of its own.
#[derive(Debug, Default)]
pub struct Http {
    client: std::sync::OnceLock<reqwest::blocking::Client>,
}

/// Largest answer read: CRLs of big CAs run to megabytes; more is not revocation data.
const MAX_BODY: u64 = 64 << 20;

/// The body of a 2xx answer, read up to [`MAX_BODY`] bytes (a bigger one is refused without
/// being read to the end, whatever length the server announces).
pub fn read_body(
    url: &str,
    response: reqwest::Result<reqwest::blocking::Response>,
) -> Result<Vec<u8>, SignError> {
    let failed = |problem: String| SignError::Network {
        url: url.to_owned(),
        problem,
    };
    let response = response.map_err(|e| failed(format!("cannot be reached: {e}")))?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(format!("answered HTTP {status}")));
    }
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(response, MAX_BODY + 1), &mut body)
        .map_err(|e| failed(format!("the answer broke off: {e}")))?;
    if body.len() as u64 > MAX_BODY {
        return Err(failed(format!(
            "the answer is larger than {MAX_BODY} bytes"
        )));
    }
    Ok(body)
}

impl Http {
    /// A client with a 20-second timeout per request (built when first needed).
    pub fn new() -> Result<Http, SignError> {
        Ok(Http::default())
    }

    fn client(&self) -> Result<&reqwest::blocking::Client, SignError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(20))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("signet-sign/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SignError::Network {
                url: String::new(),
                problem: format!("no HTTP client: {e}"),
            })?;
        Ok(self.client.get_or_init(|| client))
    }

    fn checked(url: &str) -> Result<&str, SignError> {
        if url.starts_with("http://") {
            Ok(url)
        } else {
            Err(SignError::Network {
                url: url.to_owned(),
                problem: "only http:// URLs are fetched (TSA, OCSP and CRL answers are signed; use the server's http address)".into(),
            })
        }
    }
}

impl Fetch for Http {
    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, SignError> {
        let url = Http::checked(url)?;
        read_body(
            url,
            self.client()?
                .post(url)
                .header("content-type", content_type)
                .body(body.to_vec())
                .send(),
        )
    }

    fn get(&self, url: &str) -> Result<Vec<u8>, SignError> {
        let url = Http::checked(url)?;
        read_body(url, self.client()?.get(url).send())
    }
}
