//! The public "Check a signature" page: a signed PDF, or a file and its `.p7s`, in; the report
//! out. No account needed, nothing stored, no state changed (so no CSRF token is asked).

use std::sync::Arc;

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use signet_app::AppError;
use signet_app::issue::Signet;
use signet_domain::Refusal;

use super::context::PageContext;
use super::pages::VerifyPage;
use super::refusal;
use crate::upload::multipart_refusal;

/// The empty form.
pub async fn page(ctx: PageContext) -> Response {
    ctx.render(StatusCode::OK, |nav| VerifyPage {
        nav,
        report: None,
        file_name: String::new(),
    })
}

/// The uploaded file (and signature) checked.
pub async fn check(
    State(s): State<Arc<Signet>>,
    ctx: PageContext,
    mut multipart: Multipart,
) -> Response {
    let (mut file, mut signature, mut file_name) = (None, None, String::new());
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().map(str::to_owned);
                if name.as_deref() == Some("file") {
                    file_name = field.file_name().unwrap_or("the file").to_owned();
                }
                let bytes = match field.bytes().await {
                    Ok(b) => b,
                    Err(e) => {
                        return refusal(
                            &ctx,
                            &AppError::Refused(multipart_refusal("the file", &e)),
                        );
                    }
                };
                match name.as_deref() {
                    Some("file") => file = Some(bytes),
                    Some("signature") if !bytes.is_empty() => signature = Some(bytes),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(e) => return refusal(&ctx, &AppError::Refused(multipart_refusal("the form", &e))),
        }
    }
    let Some(file) = file.filter(|f| !f.is_empty()) else {
        return refusal(
            &ctx,
            &AppError::Refused(Refusal::InvalidInput("choose a file to check".into())),
        );
    };
    if file.len() > signet_app::signatures::MAX_INPUT_BYTES
        || signature
            .as_ref()
            .is_some_and(|s| s.len() > signet_app::signatures::MAX_INPUT_BYTES)
    {
        return refusal(
            &ctx,
            &AppError::Refused(Refusal::TooLarge(
                "the upload is larger than the limit of 10 MiB".into(),
            )),
        );
    }
    match s.check_signature(&file, signature.as_deref()).await {
        Ok(report) => ctx.render(StatusCode::OK, |nav| VerifyPage {
            nav,
            report: Some(report),
            file_name,
        }),
        Err(e) => refusal(&ctx, &e),
    }
}
