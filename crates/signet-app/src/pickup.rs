//! Pickup (R-KEY-1…4): the mailed link works once; with the right pickup password the key pair
//! is generated in memory (or a CSR is used), the certificate is issued, and a PKCS#12 is
//! returned with a generated password, once. The private key is never written anywhere.
//!
//! Recoverable at every instant:
//! 1. the password is checked with the order held, so each wrong one is counted before the
//!    next is checked;
//! 2. everything that can be checked before signing is: the password, the rules, the key, the
//!    to-be-signed certificate, the PKCS#12's names;
//! 3. one unit of work spends the link, claims the order for a serial and records the intent;
//! 4. the certificate is signed and the PKCS#12 built;
//! 5. one unit of work records the certificate and moves the order to `issued`.
//!
//! A failure after 3 releases the claim (the link works again) and, once signed, lists the serial
//! as revoked (cessationOfOperation). A process that dies after 3 leaves a claim that lapses;
//! reconciliation then releases it the same way.

use serde_json::json;
use signet_domain::Refusal;
use signet_domain::certificate::RevocationReason;
use signet_domain::credentials::{OrderNumber, TokenPurpose};
use signet_domain::key::{KeyChoice, SubscriberKeyType};
use signet_domain::order::{Effect, OrderEvent, OrderFacts, OrderStatus, decide};
use signet_domain::role::{Actor, Role};
use signet_domain::serial::Serial;
use signet_pki::crl::{CrlEntry, RevokedList};
use signet_pki::csr::parse_csr;
use signet_pki::pkcs12::{self, Compatibility};
use signet_pki::subscriber_key::{self, GeneratedKey};
use signet_store::OrderRecord;

use crate::AppError;
use crate::credentials::{pkcs12_password, token_hash, verify_password};
use crate::issue::{IssuerRef, Lifetime, Planned, Signet, crash_point_for_tests, intent_audit};

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

fn compatibility(text: Option<&str>) -> Result<Compatibility, AppError> {
    match text {
        None | Some("modern") => Ok(Compatibility::Modern),
        Some("legacy") => Ok(Compatibility::Legacy),
        Some(other) => Err(Refusal::InvalidInput(format!(
            "compatibility `{other}`: use modern or legacy"
        ))
        .into()),
    }
}

/// The CRL entry that lists a serial which may have been signed but was never delivered.
pub(crate) fn never_delivered(
    serial: &Serial,
    at: time::OffsetDateTime,
) -> Result<Vec<u8>, AppError> {
    Ok(RevokedList::entry_der(&CrlEntry {
        serial: serial.clone(),
        revoked_at: at,
        reason_code: Some(RevocationReason::CessationOfOperation.code()),
    })?)
}

impl Signet {
    /// Redeems a pickup link; every refusal is audited (the token itself never is).
    pub async fn pick_up(&self, token: &str, req: PickupRequest) -> Result<PickedUp, AppError> {
        let result = self.redeem_pickup(token, req).await;
        crate::meters::pickup(&result);
        self.audit_refusal("pickup", "pickup", "pickup", result)
            .await
    }

    /// [`Signet::pick_up`] run to its end even if the caller goes away: a dropped connection
    /// must not stop a pickup between its claim and its record.
    pub async fn pick_up_detached(
        self: &std::sync::Arc<Self>,
        token: String,
        req: PickupRequest,
    ) -> Result<PickedUp, AppError> {
        let signet = self.clone();
        tokio::spawn(async move { signet.pick_up(&token, req).await })
            .await
            .map_err(|e| AppError::Internal(format!("pickup task: {e}")))?
    }

    async fn redeem_pickup(&self, token: &str, req: PickupRequest) -> Result<PickedUp, AppError> {
        let hash = token_hash(token);
        let now = self.now();
        let purpose = TokenPurpose::Pickup;
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
        if order.status != OrderStatus::ReadyForPickup {
            return Err(AppError::Conflict(format!(
                "order {number} is {}, not ready for pickup",
                order.status
            )));
        }
        if order.claimed_serial.is_some() {
            return Err(AppError::Conflict(format!(
                "a pickup of order {number} is under way; if it fails, the link works again in a few minutes"
            )));
        }
        // Bad input is refused before it costs one of the few tries.
        let compatibility = compatibility(req.compatibility.as_deref())?;
        let csr = req
            .csr
            .as_deref()
            .map(|c| parse_csr(c.as_bytes()))
            .transpose()?;
        if let (None, Some(needed)) = (&csr, order.key_type.requires_csr()) {
            return Err(Refusal::InvalidInput(needed.into()).into());
        }

        // The password is checked while the order's row is held: concurrent attempts queue,
        // each wrong one is counted before the next is checked, and none on a locked pickup is
        // checked at all (R-KEY-4, decided by the domain on the count read under the hold). An
        // attempt cut off by a crash leaves no count (nothing committed).
        let link_holder = Actor {
            account: 0,
            role: Role::Subscriber,
            region: None,
            email: String::new(),
        };
        // Read before the unit of work starts: it holds a connection (and the row) meanwhile,
        // and many pickups at once must not wait on the pool for a second one.
        let facts = self.facts(&order).await?;
        let mut work = self.work().await?;
        let facts = OrderFacts {
            pickup_failures: work.hold_for_pickup(&number).await?,
            ..facts
        };
        if let Err(locked @ Refusal::Locked(_)) =
            decide(&facts, &OrderEvent::PickedUp, &link_holder, now)
        {
            // Tries on a locked pickup are counted too: support sees how hard it was tried.
            let n = work.count_pickup_attempt(&number).await?;
            work.audit("pickup", "pickup.locked", &subject, json!({"failures": n}));
            work.commit().await?;
            return Err(locked.into());
        }
        // Argon2id takes tens of milliseconds of one core: on a blocking thread, so that the
        // runtime's workers go on answering (OCSP, pages) meanwhile.
        let (given, phc) = (
            zeroize::Zeroizing::new(req.pickup_password.clone()),
            order.pickup_password_hash.clone(),
        );
        let right = tokio::task::spawn_blocking(move || verify_password(&given, &phc))
            .await
            .map_err(|e| AppError::Internal(format!("pickup password check: {e}")))?;
        if !right {
            let counted = decide(&facts, &OrderEvent::WrongPickupPassword, &link_holder, now)?;
            debug_assert_eq!(counted.effects, vec![Effect::CountPickupFailure]);
            let after = OrderFacts {
                pickup_failures: work.count_pickup_attempt(&number).await?,
                ..facts
            };
            work.audit(
                "pickup",
                "pickup.wrong_password",
                &subject,
                json!({"failures": after.pickup_failures}),
            );
            work.commit().await?;
            return Err(if after.pickup_locked() {
                Refusal::Locked(
                    "wrong pickup password; the pickup is now locked: contact support".into(),
                )
                .into()
            } else {
                AppError::Forbidden(format!(
                    "wrong pickup password ({} tries left before the pickup locks)",
                    after.pickup_tries_left()
                ))
            });
        }
        work.rollback().await?;

        // Every rule and check that can run before signing runs now.
        decide(&facts, &OrderEvent::PickedUp, &link_holder, now)?;
        let identity = self
            .identity_of(&order)?
            .with_email(&order.approval_email)?;
        let product = self.policy.product(&order.product)?.clone();
        let generated = match csr {
            Some(_) => None,
            None => {
                let key_type = req
                    .key_type
                    .or_else(|| order.key_type.generated())
                    .unwrap_or(SubscriberKeyType::DEFAULT);
                // RSA key generation takes a while: off the async workers.
                Some(
                    tokio::task::spawn_blocking(move || subscriber_key::generate(key_type))
                        .await
                        .map_err(|e| AppError::Internal(format!("key generation task: {e}")))??,
                )
            }
        };
        let key = match (&csr, &generated) {
            (Some(k), _) => k.clone(),
            (None, Some(g)) => g.public.clone(),
            (None, None) => unreachable!("either a CSR or a generated key"),
        };
        let lifetime = match order.fixed_not_after {
            Some(end) => Lifetime::Until(end),
            None => Lifetime::Months(order.validity_months),
        };
        let plan = self.certificate_plan(
            &product.profile,
            Some(&product.name),
            &identity,
            &key,
            lifetime,
        )?;
        let issuer = self.authority.issuer(&plan.issuer)?;
        let friendly = format!("{} ({})", identity.common_name(), product.display_name);
        let Planned { prepared, intent } = crate::issue::plan(
            self.clock.as_ref(),
            &IssuerRef::from(issuer),
            &plan.profile,
            &format!("order:{number}"),
            &|serial| issuer.prepare(&plan, serial, &key),
        )?;
        let serial = intent.serial.clone();

        // Spend the link, claim the order for this serial and record the intent: together.
        let claim_for =
            time::Duration::seconds(i64::from(self.config.issuance.pickup_claim_seconds));
        let mut work = self.work().await?;
        if work.use_token(&hash, purpose, now).await?.is_none() {
            work.rollback().await?;
            return Err(gone());
        }
        if let Err(e) = work
            .claim_pickup(&number, &serial, &hash, now + claim_for, now)
            .await
        {
            work.rollback().await?;
            return Err(e.into());
        }
        work.record_issuance_intent(&intent).await?;
        intent_audit(&mut *work, self.clock.as_ref(), "pickup", &intent);
        work.audit(
            "pickup",
            "pickup.claimed",
            &subject,
            json!({"serial": serial.to_hex()}),
        );
        work.commit().await?;
        crash_point_for_tests("SIGNET_TEST_CRASH_AFTER_CLAIM");

        let der = match prepared.issue() {
            Ok(der) => der,
            Err(e) => {
                tracing::error!(serial = %serial, error = %e, "signing failed; releasing the pickup");
                self.release_pickup(&number, &serial, &format!("signing failed: {e}"), false)
                    .await?;
                return Err(e.into());
            }
        };
        crash_point_for_tests("SIGNET_TEST_CRASH_AFTER_SIGNING");
        let (pkcs12, pkcs12_password) = match self.package(
            &der,
            issuer,
            generated.as_ref(),
            &friendly,
            compatibility,
        ) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(serial = %serial, error = %e, "the PKCS#12 could not be built; releasing the pickup");
                self.release_pickup(&number, &serial, &format!("PKCS#12: {e}"), true)
                    .await?;
                return Err(e);
            }
        };

        // The certificate, the order's move to issued and their audit records: together.
        let recorded = async {
            let mut work = self.work().await?;
            work.complete_issuance(&serial, &der, self.now()).await?;
            work.complete_pickup(&number, &serial, self.now())
                .await?;
            work.audit(
                "pickup",
                "certificate.issued",
                &format!("certificate:{serial}"),
                json!({"issuer": issuer.name, "profile": plan.profile, "origin": format!("order:{number}")}),
            );
            work.audit(
                "pickup",
                "pickup.issued",
                &subject,
                json!({"serial": serial.to_hex(), "generated_key": pkcs12.is_some()}),
            );
            work.commit().await
        }
        .await;
        if let Err(e) = recorded {
            tracing::error!(serial = %serial, error = %e, "recording the issued certificate failed; releasing the pickup and revoking the serial");
            if let Err(release) = self
                .release_pickup(&number, &serial, &format!("recording failed: {e}"), true)
                .await
            {
                tracing::error!(serial = %serial, error = %release, "releasing failed too: reconciliation will release the claim when it lapses");
            }
            return Err(e);
        }
        self.publish_status_of(&serial).await;
        let chain = [
            issuer.certificate_der.as_slice(),
            self.authority.root.certificate_der.as_slice(),
        ]
        .iter()
        .map(|d| signet_pki::certificate_pem(d))
        .collect::<String>();
        Ok(PickedUp {
            order_number: number.to_string(),
            serial: serial.to_hex(),
            pkcs12,
            pkcs12_password,
            certificate: signet_pki::certificate_pem(&der),
            chain,
        })
    }

    /// The PKCS#12 (base64) and its generated password, for a key generated here.
    fn package(
        &self,
        der: &[u8],
        issuer: &signet_pki::issuance::Issuer,
        generated: Option<&GeneratedKey>,
        friendly: &str,
        compatibility: Compatibility,
    ) -> Result<(Option<String>, Option<String>), AppError> {
        let Some(key) = generated else {
            return Ok((None, None));
        };
        let password = pkcs12_password()?;
        let chain_der = [
            issuer.certificate_der.as_slice(),
            self.authority.root.certificate_der.as_slice(),
        ];
        let pfx = pkcs12::build(
            &key.pkcs8,
            der,
            &chain_der,
            friendly,
            &password,
            compatibility,
        )?;
        Ok((
            Some(base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                pfx,
            )),
            Some(password),
        ))
    }

    /// Gives up a pickup's claim: the link works again; the intent is closed, and listed as
    /// revoked when the certificate may exist (`signed`).
    pub(crate) async fn release_pickup(
        &self,
        number: &OrderNumber,
        serial: &Serial,
        note: &str,
        signed: bool,
    ) -> Result<(), AppError> {
        let now = self.now();
        let entry = signed.then(|| never_delivered(serial, now)).transpose()?;
        let revocation = entry
            .as_deref()
            .map(|e| (RevocationReason::CessationOfOperation, e));
        let mut work = self.work().await?;
        work.release_pickup(number, serial, now).await?;
        work.abandon_intent(serial, note, now, revocation).await?;
        work.audit(
            "pickup",
            "pickup.released",
            &format!("order:{number}"),
            json!({"serial": serial.to_hex(), "note": note, "revoked": signed}),
        );
        work.commit().await?;
        if signed {
            self.after_revocation(serial).await;
        }
        Ok(())
    }

    /// Support re-sends the pickup link of a ready order: a fresh link, the old one dies.
    pub async fn resend_pickup_link(
        &self,
        actor: &Actor,
        number: &OrderNumber,
    ) -> Result<(), AppError> {
        let result = self.resend_link(actor, number, LinkKind::Pickup).await;
        self.audit_refusal(
            &format!("account:{}", actor.account),
            "order.pickup_link_resend",
            &format!("order:{number}"),
            result,
        )
        .await
    }

    /// Support re-sends the approval-address confirmation of an order: a fresh link.
    pub async fn resend_confirmation(
        &self,
        actor: &Actor,
        number: &OrderNumber,
    ) -> Result<(), AppError> {
        let result = self.resend_link(actor, number, LinkKind::Approval).await;
        self.audit_refusal(
            &format!("account:{}", actor.account),
            "order.confirmation_resend",
            &format!("order:{number}"),
            result,
        )
        .await
    }

    async fn resend_link(
        &self,
        actor: &Actor,
        number: &OrderNumber,
        kind: LinkKind,
    ) -> Result<(), AppError> {
        let (order, facts) = self.visible_order(actor, number).await?;
        let number = order.order_number.clone();
        let event = match kind {
            LinkKind::Pickup => OrderEvent::ResendPickupLink,
            LinkKind::Approval => OrderEvent::ResendConfirmation,
        };
        decide(&facts, &event, actor, self.now())?;
        self.within(
            &signet_domain::guard::RESENDS,
            &format!("{}:{number}", kind.name()),
        )
        .await?;
        let mut work = self.work().await?;
        match kind {
            LinkKind::Pickup => self.mail_pickup_link(&mut work, &order).await?,
            LinkKind::Approval => self.mail_approval_link(&mut work, &order).await?,
        }
        work.history(&number, Some(actor.account), kind.action(), None)
            .await?;
        work.audit(
            &format!("account:{}", actor.account),
            &format!("order.{}", kind.action()),
            &format!("order:{number}"),
            json!({}),
        );
        work.commit().await
    }

    /// Mints a fresh approval-address confirmation link (earlier ones die) and queues its mail.
    pub(crate) async fn mail_approval_link(
        &self,
        work: &mut crate::work::Work<'_>,
        r: &OrderRecord,
    ) -> Result<(), AppError> {
        let token = work
            .fresh_order_link(TokenPurpose::ApprovalEmail, &r.order_number)
            .await?;
        work.mail(
            &r.approval_email,
            &format!("Confirm the approval e-mail address for order {}", r.order_number),
            format!(
                "Order {} names this address for its certificate. Confirm that you control it:\n\n{}\n\nThe link works once and expires in 24 hours.\n",
                r.order_number,
                self.link(&format!("/confirm/{token}"))
            ),
        )
        .await
    }
}

/// Which mailed link support re-sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkKind {
    Pickup,
    Approval,
}

impl LinkKind {
    fn name(self) -> &'static str {
        match self {
            LinkKind::Pickup => "pickup",
            LinkKind::Approval => "approval",
        }
    }

    fn action(self) -> &'static str {
        match self {
            LinkKind::Pickup => "pickup_link_resent",
            LinkKind::Approval => "confirmation_resent",
        }
    }
}

impl Signet {
    /// Mints a single-use pickup link (earlier links of the order die) and queues its mail.
    pub(crate) async fn mail_pickup_link(
        &self,
        work: &mut crate::work::Work<'_>,
        r: &OrderRecord,
    ) -> Result<(), AppError> {
        let identity = self.identity_of(r)?;
        let token = work
            .fresh_order_link(TokenPurpose::Pickup, &r.order_number)
            .await?;
        work.mail(
            identity.email(),
            &format!("Your certificate is ready: order {}", r.order_number),
            format!(
                "Order {} was approved. Pick up your certificate here with your pickup password:\n\n{}\n\n\
                 The link works once. Keep the downloaded PFX file and its password safe: neither can be retrieved again.\n",
                r.order_number,
                self.link(&pickup_path(&token, r.key_type))
            ),
        )
        .await
    }
}

/// The pickup link's path. For a key made in the browser it carries `#in-browser`, which the
/// page's script reads to offer that first: the page itself never reads the token on GET (mail
/// scanners fetch links), and a fragment never reaches the server.
fn pickup_path(token: &str, key: KeyChoice) -> String {
    match key {
        KeyChoice::Browser => format!("/pickup/{token}#in-browser"),
        _ => format!("/pickup/{token}"),
    }
}
