//! Reconciliation: after a crash, a hang or a failed write, every certificate Signet may have
//! signed is accounted for. Run at start-up and by the job every few seconds in `serve`:
//! - a pickup whose claim lapsed is released (its link works again) and its serial listed as
//!   revoked (cessationOfOperation), since it may have been signed but was never delivered;
//! - an open intent older than a claim (an operator issuance or CA certificate whose process
//!   died) is closed the same way;
//! - an issued subscriber certificate that no order names is revoked;
//! - a CRL shard behind its revocations is rebuilt.
//!
//! Each step is audited under `reconcile.*`, logged, and shown on the administrator's page.

use serde_json::json;
use signet_domain::certificate::RevocationReason;
use signet_store::IssuanceState;

use crate::AppError;
use crate::issue::Signet;
use crate::pickup::never_delivered;

/// What one reconciliation pass found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Orders whose lapsed pickup claim was released (their serials revoked).
    pub released_pickups: Vec<String>,
    /// Open intents closed as revoked.
    pub closed_intents: Vec<String>,
    /// Issued certificates linked to no order, revoked.
    pub revoked_unlinked: Vec<String>,
    /// CRL shards published because they were behind.
    pub crls: usize,
}

impl Reconciled {
    pub fn is_empty(&self) -> bool {
        self.released_pickups.is_empty()
            && self.closed_intents.is_empty()
            && self.revoked_unlinked.is_empty()
            && self.crls == 0
    }
}

const ACTOR: &str = "job:reconcile";

impl Signet {
    /// Addresses that more than one account holds (from before addresses were compared without
    /// case), each logged as a warning: an operator merges or closes them. Run at start-up.
    pub async fn report_shared_addresses(&self) -> Result<Vec<String>, AppError> {
        let shared = self.store.accounts_sharing_an_address().await?;
        for address in &shared {
            tracing::warn!(%address, "several accounts hold this address in different case; log-in uses the one spelled exactly as typed, else the oldest: merge or close the others");
        }
        Ok(shared)
    }

    /// One pass; safe to run on several nodes at once (every step is a compare-and-set).
    pub async fn reconcile(&self) -> Result<Reconciled, AppError> {
        let mut done = Reconciled::default();
        let now = self.now();
        let lease = time::Duration::seconds(i64::from(self.config.issuance.pickup_claim_seconds));

        for order in self.store.lapsed_pickup_claims(now).await? {
            let Some(serial) = order.claimed_serial.clone() else {
                continue;
            };
            match self
                .release_pickup(
                    &order.order_number,
                    &serial,
                    "the pickup's process died or hung: its claim lapsed; the serial may have been signed and was never delivered",
                    true,
                )
                .await
            {
                Ok(()) => {
                    tracing::warn!(order = %order.order_number, serial = %serial, "reconciliation: lapsed pickup released, serial revoked; the pickup link works again");
                    self.audit(
                        ACTOR,
                        "reconcile.pickup_released",
                        &format!("order:{}", order.order_number),
                        json!({"serial": serial.to_hex()}),
                    )
                    .await?;
                    done.released_pickups.push(order.order_number.to_string());
                }
                // Another node (or the pickup itself, late) got there first.
                Err(AppError::Store(signet_store::StoreError::Conflict(_))) => {}
                Err(e) => return Err(e),
            }
        }

        for intent in self.store.unfinished_intents().await? {
            // An order's intent is closed with its claim (above); others once they are older
            // than any issuance in progress could be.
            if intent.origin.starts_with("order:") || intent.created_at + lease > now {
                continue;
            }
            let entry = never_delivered(&intent.serial, now)?;
            match crate::issue::abandon(
                self.store.as_ref(),
                self.clock.as_ref(),
                ACTOR,
                &intent.serial,
                "issuance interrupted: the serial may have been signed and was never recorded",
                Some((RevocationReason::CessationOfOperation, &entry)),
            )
            .await
            {
                Ok(()) => {
                    tracing::warn!(serial = %intent.serial, origin = %intent.origin, "reconciliation: interrupted issuance closed, serial revoked");
                    self.audit(
                        ACTOR,
                        "reconcile.intent_closed",
                        &format!("certificate:{}", intent.serial),
                        json!({"origin": intent.origin, "subject": intent.subject}),
                    )
                    .await?;
                    // Its status is answered from the store (revoked); each shard's CRL is
                    // rebuilt once at the end of the pass, not once per serial: a crash in a
                    // large batch leaves thousands of these.
                    self.ocsp_cache.forget(&intent.serial);
                    done.closed_intents.push(intent.serial.to_hex());
                }
                Err(AppError::Store(signet_store::StoreError::NoOpenIntent(_))) => {}
                Err(e) => return Err(e),
            }
        }

        for cert in self.store.unlinked_certificates().await? {
            if cert.state != IssuanceState::Issued || cert.revoked_at.is_some() {
                continue;
            }
            let serial = &cert.intent.serial;
            match self
                .revoke_as_operator_by(serial, RevocationReason::CessationOfOperation, ACTOR)
                .await
            {
                Ok(()) => {
                    tracing::error!(serial = %serial, origin = %cert.intent.origin, "reconciliation: an issued certificate linked to no order was revoked");
                    self.audit(
                        ACTOR,
                        "reconcile.unlinked_revoked",
                        &format!("certificate:{serial}"),
                        json!({"origin": cert.intent.origin, "subject": cert.intent.subject}),
                    )
                    .await?;
                    done.revoked_unlinked.push(serial.to_hex());
                }
                Err(AppError::Store(signet_store::StoreError::Conflict(_))) => {}
                Err(e) => return Err(e),
            }
        }

        done.crls = self.publish_due_crls(false).await?;
        if !done.is_empty() {
            tracing::info!(?done, "reconciliation pass");
        }
        Ok(done)
    }
}
