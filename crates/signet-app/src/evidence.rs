//! The evidence of an order (R-ORD-5): uploads checked beyond their magic bytes, stored by SHA-256,
//! read back, and the request form to sign.

use serde::Serialize;
use serde_json::json;
use signet_domain::Refusal;
use signet_domain::credentials::OrderNumber;
use signet_domain::order::{DocumentKind, OrderEvent, decide, document_media_type};
use signet_domain::role::Actor;
use signet_store::DocumentRecord;

use crate::AppError;
use crate::dates::rfc3339;
use crate::issue::Signet;
use crate::vetting::fingerprint;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocumentView {
    pub id: i64,
    pub kind: String,
    pub media_type: String,
    pub size: u64,
    pub sha256: String,
    pub uploaded_at: String,
}

impl Signet {
    /// Uploads a document (PDF, PNG, JPEG by content; size-limited; stored by SHA-256).
    pub async fn upload_document(
        &self,
        actor: &Actor,
        number: &OrderNumber,
        kind: &str,
        content: &[u8],
    ) -> Result<DocumentView, AppError> {
        let result = self.store_document(actor, number, kind, content).await;
        self.audit_upload(actor, number, result).await
    }

    /// An upload refused before its content could be read (too large, a broken multipart
    /// body): audited like every refused upload, and returned for the answer.
    pub async fn refuse_upload(
        &self,
        actor: &Actor,
        number: &OrderNumber,
        refusal: Refusal,
    ) -> AppError {
        match self.audit_upload(actor, number, Err(refusal.into())).await {
            Ok(()) => AppError::Internal("a refusal that was not refused".into()),
            Err(e) => e,
        }
    }

    /// Every upload's outcome under one audit action: a refusal is recorded with its reason.
    async fn audit_upload<T>(
        &self,
        actor: &Actor,
        number: &OrderNumber,
        result: Result<T, AppError>,
    ) -> Result<T, AppError> {
        self.audit_refusal(
            &format!("account:{}", actor.account),
            "order.document_upload",
            &format!("order:{number}"),
            result,
        )
        .await
    }

    async fn store_document(
        &self,
        actor: &Actor,
        number: &OrderNumber,
        kind: &str,
        content: &[u8],
    ) -> Result<DocumentView, AppError> {
        let (r, facts) = self.visible_order(actor, number).await?;
        let kind = DocumentKind::parse(kind).ok_or_else(|| {
            Refusal::InvalidInput(
                "kind must be id_copy, signed_agreement, business_registration or other".into(),
            )
        })?;
        let media_type = document_media_type(content)?;
        let owned = content.to_vec();
        tokio::task::spawn_blocking(move || crate::documents::check_readable(media_type, &owned))
            .await
            .map_err(|_| {
                Refusal::InvalidInput(
                    "the file could not be read as a PDF, PNG or JPEG; upload the original file"
                        .into(),
                )
            })??;
        // Decide first: a refused upload stores nothing.
        let event = OrderEvent::DocumentUploaded(kind);
        let transition = decide(&facts, &event, actor, self.now())?;
        let doc = DocumentRecord {
            id: 0,
            order_number: r.order_number.clone(),
            kind,
            sha256: hex::encode(crate::sha256(content)),
            media_type: media_type.to_owned(),
            size: content.len() as u64,
            uploaded_by: actor.account,
            created_at: self.now(),
        };
        let mut work = self.work().await?;
        let id = work.attach_document(&doc, content).await?;
        self.apply_in(
            &mut work,
            actor,
            &r,
            &facts,
            &event,
            &transition,
            "order.document_uploaded",
        )
        .await?;
        work.commit().await?;
        Ok(DocumentView {
            id,
            kind: doc.kind.to_string(),
            media_type: doc.media_type,
            size: doc.size,
            sha256: doc.sha256,
            uploaded_at: rfc3339(doc.created_at),
        })
    }

    /// A document's content, for those who may see the order.
    pub async fn document(
        &self,
        actor: &Actor,
        number: &OrderNumber,
        id: i64,
    ) -> Result<(String, Vec<u8>), AppError> {
        let (r, _) = self.visible_order(actor, number).await?;
        let doc = self
            .store
            .documents(&r.order_number)
            .await?
            .into_iter()
            .find(|d| d.id == id)
            .ok_or_else(|| AppError::NotFound("document".into()))?;
        let content = self
            .store
            .blob(&doc.sha256)
            .await?
            .ok_or_else(|| AppError::Internal("document content missing".into()))?;
        self.audit(
            &format!("account:{}", actor.account),
            "order.document_downloaded",
            &format!("order:{}", r.order_number),
            json!({"document": id}),
        )
        .await?;
        Ok((doc.media_type, content))
    }

    /// The request form PDF of an order (R-ORD-4), for its owner, its agent and staff.
    pub async fn agreement(
        &self,
        actor: &Actor,
        number: &OrderNumber,
    ) -> Result<Vec<u8>, AppError> {
        let (r, _) = self.visible_order(actor, number).await?;
        let identity = self.identity_of(&r)?;
        let product = self.policy.product(&r.product)?;
        let pdf = crate::agreement::agreement_pdf(
            &r,
            &identity,
            &product.display_name,
            &fingerprint(&r),
            &self.config.ca.organization,
        )?;
        self.audit(
            &format!("account:{}", actor.account),
            "order.agreement_downloaded",
            &format!("order:{}", r.order_number),
            json!({}),
        )
        .await?;
        Ok(pdf)
    }
}
