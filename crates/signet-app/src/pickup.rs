//! Pickup (R-KEY-1…4): the mailed link works once; with the right pickup password the key pair
//! is generated in memory (or a CSR is used), the certificate is issued, and a PKCS#12 is
//! returned with a generated password, once. The private key is never written anywhere.

use serde_json::json;
use signet_domain::Refusal;
use signet_domain::credentials::{PICKUP_LOCK_AFTER, TokenPurpose};
use signet_domain::key::SubscriberKeyType;
use signet_domain::order::{OrderEvent, OrderStatus, decide};
use signet_domain::role::{Actor, Role};
use signet_pki::csr::parse_csr;
use signet_pki::pkcs12::{self, Compatibility};
use signet_pki::subscriber_key;
use signet_store::StoreError;

use crate::AppError;
use crate::credentials::{pkcs12_password, token_hash, verify_password};
use crate::issue::{Issued, Lifetime, Signet};

/// What the subscriber sends with the pickup link.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PickupRequest {
    pub pickup_password: String,
    #[serde(default)]
    pub key_type: Option<SubscriberKeyType>,
    #[serde(default)]
    pub compatibility: Option<String>,
    #[serde(default)]
    pub csr: Option<String>,
}

/// What the subscriber gets, once.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PickedUp {
    pub order_number: String,
    pub serial: String,
    /// Base64 PKCS#12, absent when a CSR was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pkcs12: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pkcs12_password: Option<String>,
    pub certificate: String,
    pub chain: String,
}

fn key_type_named(name: &str) -> Option<SubscriberKeyType> {
    serde_json::from_value(json!(name)).ok()
}

impl Signet {
    /// Redeems a pickup link; every refusal is audited (the token itself never is).
    pub async fn pick_up(&self, token: &str, req: PickupRequest) -> Result<PickedUp, AppError> {
        let result = self.redeem_pickup(token, req).await;
        self.audit_refusal("pickup", "pickup", "pickup", result)
            .await
    }

    async fn redeem_pickup(&self, token: &str, req: PickupRequest) -> Result<PickedUp, AppError> {
        let hash = token_hash(token);
        let now = self.now();
        let purpose = TokenPurpose::Pickup.as_str();
        let gone = || AppError::Gone("this pickup link is invalid, already used or expired".into());
        let t = self
            .store
            .live_token(&hash, purpose, now)
            .await?
            .ok_or_else(gone)?;
        let number = t
            .order_number
            .ok_or_else(|| AppError::Internal("pickup token without order".into()))?;
        let order = self.store.order(&number).await?.ok_or_else(gone)?;
        let subject = format!("order:{number}");
        if order.status != OrderStatus::ReadyForPickup.as_str() {
            return Err(AppError::Conflict(format!(
                "order {number} is {}, not ready for pickup",
                order.status
            )));
        }
        if order.pickup_failures >= PICKUP_LOCK_AFTER {
            self.audit("pickup", "pickup.locked", &subject, json!({}))
                .await?;
            return Err(AppError::Locked("too many wrong pickup passwords: the pickup is locked; contact support with your order number".into()));
        }
        if !verify_password(&req.pickup_password, &order.pickup_password_hash) {
            let failures = self.store.record_pickup_failure(&number).await?;
            self.audit(
                "pickup",
                "pickup.wrong_password",
                &subject,
                json!({"failures": failures}),
            )
            .await?;
            let left = PICKUP_LOCK_AFTER.saturating_sub(failures);
            return Err(if left == 0 {
                AppError::Locked(
                    "wrong pickup password; the pickup is now locked: contact support".into(),
                )
            } else {
                AppError::Forbidden(format!(
                    "wrong pickup password ({left} tries left before the pickup locks)"
                ))
            });
        }
        let compatibility = match req.compatibility.as_deref() {
            None | Some("modern") => Compatibility::Modern,
            Some("legacy") => Compatibility::Legacy,
            Some(other) => {
                return Err(Refusal::InvalidInput(format!(
                    "compatibility `{other}`: use modern or legacy"
                ))
                .into());
            }
        };
        let identity = self
            .identity_of(&order)?
            .with_email(&order.approval_email)?;
        let product = self.policy.product(&order.product)?.clone();
        // The key: a CSR, or generated here (the order's choice unless the request names one).
        let (key, generated) = match (&req.csr, order.key_type.as_str()) {
            (Some(csr), _) => (parse_csr(csr.as_bytes())?, None),
            (None, "csr") => {
                return Err(Refusal::InvalidInput(
                    "this order expects a CSR: send it in `csr`".into(),
                )
                .into());
            }
            (None, ordered) => {
                let key_type = req
                    .key_type
                    .or_else(|| key_type_named(ordered))
                    .unwrap_or(SubscriberKeyType::Rsa2048);
                let generated = subscriber_key::generate(key_type)?;
                (generated.public.clone(), Some(generated))
            }
        };
        let lifetime = match order.fixed_not_after {
            Some(end) => Lifetime::Until(end),
            None => Lifetime::Months(order.validity_months),
        };
        // The facts say whether pickup is allowed now; then exactly one caller wins the link.
        let system = Actor {
            account: 0,
            role: Role::Subscriber,
            region: None,
        };
        let facts = self.facts(&order).await?;
        decide(&facts, &OrderEvent::PickedUp, &system, now)?;
        if self.store.use_token(&hash, purpose, now).await?.is_none() {
            return Err(gone());
        }
        let issued: Issued = match self
            .issue_for_key(
                &product.profile,
                Some(&product.name),
                &identity,
                &key,
                lifetime,
            )
            .await
        {
            Ok(i) => i,
            Err(e) => {
                self.store.restore_token(&hash).await?;
                return Err(e);
            }
        };
        let serial = issued.serial.to_hex();
        self.store
            .transition_order(
                &number,
                OrderStatus::ReadyForPickup.as_str(),
                OrderStatus::Issued.as_str(),
                None,
                Some(&serial),
                now,
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict(m) => AppError::Conflict(m),
                other => other.into(),
            })?;
        let issuer = self
            .authority
            .issuer(self.policy.profile(&product.profile)?.issuer())?;
        let chain_der = [
            issuer.certificate_der.as_slice(),
            self.authority.root.certificate_der.as_slice(),
        ];
        let chain = chain_der
            .iter()
            .map(|d| signet_pki::certificate_pem(d))
            .collect::<String>();
        let (pkcs12, pkcs12_password) = match generated {
            Some(key) => {
                let password = pkcs12_password()?;
                let friendly = format!("{} ({})", identity.common_name(), product.display_name);
                let pfx = pkcs12::build(
                    &key.pkcs8,
                    &issued.der,
                    &chain_der,
                    &friendly,
                    &password,
                    compatibility,
                )?;
                (
                    Some(base64::Engine::encode(
                        &base64::engine::general_purpose::STANDARD,
                        pfx,
                    )),
                    Some(password),
                )
            }
            None => (None, None),
        };
        self.audit(
            "pickup",
            "pickup.issued",
            &subject,
            json!({"serial": serial, "generated_key": pkcs12.is_some()}),
        )
        .await?;
        Ok(PickedUp {
            order_number: number,
            serial,
            pkcs12,
            pkcs12_password,
            certificate: issued.pem(),
            chain,
        })
    }
}
