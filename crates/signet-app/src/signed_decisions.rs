//! Officers' signed decisions (issue 15, design R-VET): officers enrol an ECDSA key, the staff
//! CA certifies it for 30 days, and every vetting decision and every reveal of personal data
//! carries the officer's signature over a canonical statement. The signature is checked before
//! anything happens, time-stamped by the CA's TSA, wrapped as CMS SignedData and stored in the
//! unit of work that applies the decision, whose audit record names its SHA-256.
//!
//! The rules (which key is certified at once, when a signature is required, what the statement
//! says and when it is stale) are the domain's: `signet_domain::signing_key` and
//! `signet_domain::statement`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use der::{Decode, Encode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use signet_domain::Refusal;
use signet_domain::certificate::RevocationReason;
use signet_domain::credentials::OrderNumber;
use signet_domain::key::PublicKeyKind;
use signet_domain::role::{Actor, Permission};
use signet_domain::serial::Serial;
use signet_domain::signing_key::{
    Enrolment, KeyPast, KeyRecord, STAFF_CERTIFICATE_DAYS, check_key_past, check_officer_key,
    check_settle, check_signing_key, enrolment, signature_required,
};
use signet_domain::statement::{DecisionStatement, normalize_message, signed_pair, statement_time};
use signet_domain::validity::{Period, ValidityLimit};
use signet_pki::PkiError;
use signet_pki::decision::{check_decision, read_decision};
use signet_pki::hierarchy::staff_certificate;
use signet_pki::signed_data::verify_issued_by;
use signet_pki::tsp::TimeStampRequest;
use signet_store::OrderRecord;
use signet_store::signing::{SignedDecisionRecord, SigningKeyRecord, SigningKeyState};
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::AppError;
use crate::config::STAFF;
use crate::issue::{IssuerRef, Signet, record_and_sign};
use crate::work::Work;

/// A signed statement as a client sends it: the canonical JSON it signed, and the signature.
/// Both or neither ([`signet_domain::statement::signed_pair`]); neither is an unsigned decision.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedStatement {
    /// The statement exactly as signed: the `canonical` of `GET /api/v1/orders/{n}/statement`.
    #[serde(default)]
    pub statement: Option<String>,
    /// The signature over it, base64 (standard alphabet; DER or r‖s).
    #[serde(default)]
    pub signature: Option<String>,
}

/// An officer's key as staff see it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SigningKeyView {
    pub id: i64,
    /// The officer's account.
    pub officer: String,
    /// `pending`, `active`, `refused` or `replaced`.
    pub state: String,
    /// SHA-256 of the public key (SubjectPublicKeyInfo), hex.
    pub key_sha256: String,
    pub requested_at: String,
    /// When its certificate expires (active and replaced keys).
    pub not_after: Option<String>,
    /// The staff certificate, PEM, followed by the staff CA's (active and replaced keys).
    pub certificate_pem: Option<String>,
}

/// A signed decision as `GET /api/v1/orders/{n}/decisions` returns it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionView {
    pub decision: String,
    /// The officer's account.
    pub officer: String,
    pub at: String,
    /// The CMS SignedData (DER), base64: `openssl cms -verify -inform DER` checks it.
    pub cms: String,
    pub cms_sha256: String,
    /// The time in its signature time-stamp token, when it has one.
    pub time_stamped_at: Option<String>,
}

/// What `signet audit verify --decisions` found wrong with one decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionProblem {
    pub order_number: String,
    pub decision_id: i64,
    pub problem: String,
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(crate::sha256(bytes))
}

fn rfc3339(t: OffsetDateTime) -> String {
    statement_time(t)
}

fn refused(what: impl std::fmt::Display) -> AppError {
    Refusal::InvalidInput(what.to_string()).into()
}

/// The serial of a staff certificate (DER).
fn serial_of(der: &[u8]) -> Result<Serial, AppError> {
    let certificate = Certificate::from_der(der).map_err(PkiError::from)?;
    Ok(Serial::from_der_integer(
        certificate.tbs_certificate().serial_number().as_bytes(),
    )?)
}

/// A key the store would not take: someone holds it, or a first key won a race.
fn key_taken(e: signet_store::StoreError) -> signet_store::StoreError {
    match e {
        signet_store::StoreError::Duplicate(_) => signet_store::StoreError::Conflict(
            "this public key is enrolled already (by you or another officer), or another first key of yours was enrolled at the same moment: reload and enrol again".into(),
        ),
        other => other,
    }
}

fn used_already() -> AppError {
    refused("this signed statement was used already: fetch a new statement and sign it")
}

fn require_signer(actor: &Actor) -> Result<(), AppError> {
    if actor.may(Permission::SignDecisions) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only vetting, support and admin staff hold decision-signing keys".into(),
        ))
    }
}

impl Signet {
    /// The staff CA, or the operator's way to add one.
    fn staff_ca(&self) -> Result<&signet_pki::issuance::Issuer, AppError> {
        self.authority.issuer(STAFF).map_err(|_| {
            AppError::Conflict(
                "this CA has no staff CA to certify officers' keys: its operator adds one with `signet staff-ca init`".into(),
            )
        })
    }

    /// The staff CA's certificate and the root's: what a decision carries besides the officer's.
    fn staff_chain(&self) -> Result<Vec<Certificate>, AppError> {
        Ok(vec![
            Certificate::from_der(&self.staff_ca()?.certificate_der).map_err(PkiError::from)?,
            Certificate::from_der(&self.authority.root.certificate_der).map_err(PkiError::from)?,
        ])
    }

    /// The officer's active key, expired or not: an officer whose certificate lapsed still
    /// has to sign (and renew first), never falls back to unsigned decisions.
    async fn active_key(&self, account: i64) -> Result<Option<SigningKeyRecord>, AppError> {
        Ok(self
            .store
            .signing_keys(Some(account), Some(SigningKeyState::Active))
            .await?
            .into_iter()
            .next())
    }

    fn key_view(&self, k: &SigningKeyRecord, officer: String) -> SigningKeyView {
        let chain = self
            .staff_ca()
            .map(|ca| signet_pki::certificate_pem(&ca.certificate_der))
            .unwrap_or_default();
        SigningKeyView {
            id: k.id,
            officer,
            state: k.state.as_str().to_owned(),
            key_sha256: k.key_sha256.clone(),
            requested_at: rfc3339(k.requested_at),
            not_after: k.not_after.map(rfc3339),
            certificate_pem: k
                .certificate
                .as_ref()
                .map(|der| format!("{}{chain}", signet_pki::certificate_pem(der))),
        }
    }

    async fn officer_email(&self, account: i64) -> Result<String, AppError> {
        Ok(self
            .store
            .account(account)
            .await?
            .map(|a| a.email)
            .unwrap_or_else(|| format!("account {account}")))
    }

    /// Finishes putting a new staff certificate in place: the certificates it replaces are
    /// revoked (superseded) in the same unit of work, with its audit record, so an officer has
    /// one valid staff certificate. When the store refused to install it (another
    /// administrator or renewal came first), the new certificate is revoked instead: no staff
    /// certificate is left that nobody holds.
    async fn install_certificate(
        &self,
        mut work: Work<'_>,
        installed: Result<Vec<Vec<u8>>, signet_store::StoreError>,
        new: &[u8],
        who: &str,
        (action, subject, detail): (&str, &str, serde_json::Value),
    ) -> Result<(), AppError> {
        let replaced = match installed {
            Ok(replaced) => replaced,
            Err(e) => {
                drop(work);
                self.revoke_as_operator_by(&serial_of(new)?, RevocationReason::Superseded, who)
                    .await?;
                return Err(e.into());
            }
        };
        let mut serials = Vec::new();
        for der in &replaced {
            if self.is_revoked(der).await? {
                continue;
            }
            let serial = serial_of(der)?;
            self.revoke_in(&mut work, &serial, RevocationReason::Superseded, who)
                .await?;
            serials.push(serial);
        }
        work.audit(who, action, subject, detail);
        work.commit().await?;
        for serial in &serials {
            self.after_revocation(serial).await;
        }
        Ok(())
    }

    /// What is known of a public key from before (the rule that weighs it is
    /// [`KeyPast::of`]).
    async fn key_past(&self, account: i64, key_sha256: &str) -> Result<KeyPast, AppError> {
        let mut records = Vec::new();
        for k in self.store.signing_keys(None, None).await? {
            if k.key_sha256 != key_sha256 {
                continue;
            }
            let revocation = match &k.certificate {
                Some(der) => self
                    .store
                    .certificate(&serial_of(der)?)
                    .await?
                    .filter(|c| c.revoked_at.is_some())
                    .map(|c| c.revocation_reason.unwrap_or(RevocationReason::Unspecified)),
                None => None,
            };
            records.push(KeyRecord {
                own: k.account_id == account,
                refused: k.state == SigningKeyState::Refused,
                active: k.state == SigningKeyState::Active,
                revocation,
            });
        }
        Ok(KeyPast::of(records))
    }

    /// Whether a staff certificate (DER) was revoked.
    async fn is_revoked(&self, der: &[u8]) -> Result<bool, AppError> {
        Ok(self
            .store
            .certificate(&serial_of(der)?)
            .await?
            .is_some_and(|c| c.revoked_at.is_some()))
    }

    /// Certifies an officer's key with the staff CA for [`STAFF_CERTIFICATE_DAYS`]: subject
    /// C, O of the CA and CN the officer's address, recorded and signed like every certificate.
    async fn certify_officer(
        &self,
        account: i64,
        email: &str,
        spki: &spki::SubjectPublicKeyInfoOwned,
        by: &str,
    ) -> Result<(Vec<u8>, OffsetDateTime), AppError> {
        let issuer = self.staff_ca()?;
        self.unlock_issuer(STAFF)?;
        let now = self.now();
        let not_after = ValidityLimit::Days(STAFF_CERTIFICATE_DAYS)
            .latest_not_after(now.replace_nanosecond(0).unwrap_or(now));
        let period = Period::until(now, not_after)?;
        let subject = signet_pki::name::ca_name(
            &self.config.ca.country,
            &self.config.ca.organization,
            email,
        )?;
        let policies = self
            .config
            .issuers
            .get(STAFF)
            .map(|s| s.policies.clone())
            .unwrap_or_default();
        let issued = record_and_sign(
            self.store.as_ref(),
            self.clock.as_ref(),
            &IssuerRef::from(issuer),
            "staff-decision",
            &format!("staff:{account}"),
            by,
            |serial| staff_certificate(issuer, spki, &subject, email, &policies, serial, period),
        )
        .await?;
        self.publish_status_of(&issued.serial).await;
        Ok((issued.der, not_after))
    }

    /// Enrols the key of a CSR (PEM or DER) as the officer's decision-signing key. A first key,
    /// or the current key again, is certified at once; another waits for an administrator.
    /// Returns the key and whether it is certified.
    pub async fn enrol_signing_key(
        &self,
        actor: &Actor,
        csr: &[u8],
    ) -> Result<(SigningKeyView, bool), AppError> {
        let who = format!("account:{}", actor.account);
        let result = self.enrol(actor, csr, &who).await;
        self.audit_refusal(&who, "staff.signing_key", &who, result)
            .await
    }

    async fn enrol(
        &self,
        actor: &Actor,
        csr: &[u8],
        who: &str,
    ) -> Result<(SigningKeyView, bool), AppError> {
        require_signer(actor)?;
        let key = signet_pki::csr::parse_csr(csr).map_err(|e| match e {
            // The subscriber key policy speaks of subscribers; say what officers may use.
            PkiError::Refused(Refusal::UnacceptableKey(_)) => {
                match check_officer_key(&PublicKeyKind::Other("the CSR's key".into())) {
                    Err(refusal) => AppError::from(refusal),
                    Ok(()) => AppError::from(e),
                }
            }
            other => other.into(),
        })?;
        check_officer_key(&key.kind)?;
        let spki = key.spki.to_der().map_err(PkiError::from)?;
        let sha = hex_sha256(&spki);
        let keys = self.store.signing_keys(Some(actor.account), None).await?;
        if let Some(waiting) = keys
            .iter()
            .find(|k| k.state == SigningKeyState::Pending && k.key_sha256 == sha)
        {
            return Ok((self.key_view(waiting, actor.email.clone()), false));
        }
        let latest = keys.iter().find(|k| k.certificate.is_some());
        let past = self.key_past(actor.account, &sha).await?;
        let how = enrolment(latest.map(|k| k.key_sha256.as_str()), &sha, past)?;
        let now = self.now();
        let mut record = SigningKeyRecord {
            id: 0,
            account_id: actor.account,
            key_sha256: sha.clone(),
            spki,
            state: SigningKeyState::Pending,
            certificate: None,
            not_after: None,
            requested_at: now,
            settled_by: None,
            settled_at: None,
        };
        if how == Enrolment::NeedsApproval {
            let mut work = self.work().await?;
            record.id = work.add_signing_key(&record).await.map_err(key_taken)?;
            work.audit(
                who,
                "staff.signing_key_requested",
                who,
                json!({"key": record.id, "key_sha256": sha}),
            );
            work.commit().await?;
            return Ok((self.key_view(&record, actor.email.clone()), false));
        }
        let (der, not_after) = self
            .certify_officer(actor.account, &actor.email, &key.spki, who)
            .await?;
        let mut work = self.work().await?;
        let installed = match latest {
            Some(current) if current.state == SigningKeyState::Active => {
                record.id = current.id;
                record.requested_at = current.requested_at;
                let previous = current.certificate.clone().unwrap_or_default();
                work.renew_signing_key(current.id, &previous, &der, not_after, now)
                    .await
                    .map(|()| vec![previous])
            }
            _ => {
                record.state = SigningKeyState::Active;
                record.certificate = Some(der.clone());
                record.not_after = Some(not_after);
                record.settled_by = Some(actor.account);
                record.settled_at = Some(now);
                work.add_signing_key(&record)
                    .await
                    .map(|id| {
                        record.id = id;
                        Vec::new()
                    })
                    .map_err(key_taken)
            }
        };
        let detail = json!({"key": record.id, "key_sha256": sha,
               "enrolment": if how == Enrolment::First { "first" } else { "renewal" }});
        self.install_certificate(
            work,
            installed,
            &der,
            who,
            ("staff.signing_key_certified", who, detail),
        )
        .await?;
        record.state = SigningKeyState::Active;
        record.certificate = Some(der);
        record.not_after = Some(not_after);
        Ok((self.key_view(&record, actor.email.clone()), true))
    }

    /// An administrator approves (the staff CA certifies it) or refuses a waiting key. Never
    /// their own: an officer who lost their browser asks another administrator.
    /// `verdict` is `approve` or `refuse`.
    pub async fn settle_signing_key(
        &self,
        actor: &Actor,
        id: i64,
        verdict: &str,
    ) -> Result<SigningKeyView, AppError> {
        let approve = match verdict {
            "approve" => true,
            "refuse" => false,
            other => {
                return Err(AppError::NotFound(format!(
                    "signing-key action `{other}` (the actions are approve and refuse)"
                )));
            }
        };
        let who = format!("account:{}", actor.account);
        let subject = format!("signing_key:{id}");
        let action = if approve {
            "staff.signing_key_approve"
        } else {
            "staff.signing_key_refuse"
        };
        let found = async {
            if !actor.may(Permission::Administer) {
                // Before the lookup: who may not settle keys learns nothing of them.
                check_settle(actor, actor.account, true)?;
            }
            let key = self
                .store
                .signing_key(id)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("signing key {id}")))?;
            check_settle(actor, key.account_id, key.state == SigningKeyState::Pending)?;
            if approve {
                let past = self.key_past(key.account_id, &key.key_sha256).await?;
                check_key_past(KeyPast {
                    refused: false,
                    ..past
                })?;
            }
            Ok(key)
        }
        .await;
        let mut key = self.audit_refusal(&who, action, &subject, found).await?;
        let email = self.officer_email(key.account_id).await?;
        let now = self.now();
        let certificate = if approve {
            let spki =
                spki::SubjectPublicKeyInfoOwned::from_der(&key.spki).map_err(PkiError::from)?;
            Some(
                self.certify_officer(key.account_id, &email, &spki, &who)
                    .await?,
            )
        } else {
            None
        };
        let mut work = self.work().await?;
        let installed = work
            .settle_signing_key(
                id,
                certificate.as_ref().map(|(der, t)| (der.as_slice(), *t)),
                actor.account,
                now,
            )
            .await;
        let action = if approve {
            "staff.signing_key_approved"
        } else {
            "staff.signing_key_refused"
        };
        let detail = json!({"officer": key.account_id, "key_sha256": key.key_sha256});
        match &certificate {
            Some((der, _)) => {
                self.install_certificate(work, installed, der, &who, (action, &subject, detail))
                    .await?
            }
            None => {
                installed?;
                work.audit(&who, action, &subject, detail);
                work.commit().await?;
            }
        }
        key.state = if approve {
            SigningKeyState::Active
        } else {
            SigningKeyState::Refused
        };
        if let Some((der, t)) = certificate {
            key.certificate = Some(der);
            key.not_after = Some(t);
        }
        Ok(self.key_view(&key, email))
    }

    /// Officers' keys: an administrator sees everyone's, other staff their own; `pending`
    /// keeps the waiting ones.
    pub async fn signing_keys(
        &self,
        actor: &Actor,
        pending: bool,
    ) -> Result<Vec<SigningKeyView>, AppError> {
        require_signer(actor)?;
        let account = (!actor.may(Permission::Administer)).then_some(actor.account);
        let state = pending.then_some(SigningKeyState::Pending);
        let mut views = Vec::new();
        for k in self.store.signing_keys(account, state).await? {
            let email = self.officer_email(k.account_id).await?;
            views.push(self.key_view(&k, email));
        }
        Ok(views)
    }

    /// The statement the officer signs for `decision` on an order now.
    pub async fn decision_statement(
        &self,
        actor: &Actor,
        number: &OrderNumber,
        decision: &str,
        message: &str,
    ) -> Result<DecisionStatement, AppError> {
        require_signer(actor)?;
        let (r, _) = self.visible_order(actor, number).await?;
        let statement = self.statement_for(actor, &r, decision, message).await?;
        statement.check()?;
        Ok(statement)
    }

    async fn statement_for(
        &self,
        actor: &Actor,
        r: &OrderRecord,
        decision: &str,
        message: &str,
    ) -> Result<DecisionStatement, AppError> {
        let mut documents: Vec<String> = self
            .store
            .documents(&r.order_number)
            .await?
            .into_iter()
            .map(|d| d.sha256)
            .collect();
        documents.sort();
        documents.dedup();
        Ok(DecisionStatement {
            order_number: r.order_number.to_string(),
            details_fingerprint: crate::vetting::fingerprint(r),
            decision: decision.to_owned(),
            message: normalize_message(message),
            documents,
            at: statement_time(self.now()),
            officer: actor.email.clone(),
        })
    }

    /// Checks a decision's signature before it is acted on, and turns it into evidence: the
    /// CMS SignedData (with a signature time-stamp when the CA has a TSA) to store in the
    /// decision's unit of work. `None` when no signature was sent and none is required.
    /// Refusals are audited.
    pub(crate) async fn check_signed(
        &self,
        actor: &Actor,
        r: &OrderRecord,
        decision: &str,
        message: &str,
        signed: Option<&SignedStatement>,
    ) -> Result<Option<SignedDecisionRecord>, AppError> {
        let result = self
            .signed_evidence(actor, r, decision, message, signed)
            .await;
        self.audit_refusal(
            &format!("account:{}", actor.account),
            "order.decision_signature",
            &format!("order:{}", r.order_number),
            result,
        )
        .await
    }

    async fn signed_evidence(
        &self,
        actor: &Actor,
        r: &OrderRecord,
        decision: &str,
        message: &str,
        signed: Option<&SignedStatement>,
    ) -> Result<Option<SignedDecisionRecord>, AppError> {
        let signed = match signed {
            Some(s) => signed_pair(s.statement.as_deref(), s.signature.as_deref())?,
            None => None,
        };
        if signed.is_some() {
            require_signer(actor)?;
        }
        let key = if actor.may(Permission::SignDecisions) {
            self.active_key(actor.account).await?
        } else {
            None
        };
        let required =
            signature_required(self.config.staff.require_signed_decisions, key.is_some());
        let Some((signed_statement, signature)) = signed else {
            if required {
                return Err(refused(format!(
                    "this {decision} must be signed with your decision-signing key: fetch GET /api/v1/orders/{}/statement?decision={decision}, sign its `canonical` and send it as `statement` with `signature`",
                    r.order_number
                )));
            }
            return Ok(None);
        };
        let key = key.ok_or_else(|| {
            refused("you have no certified decision-signing key: enrol one first (POST /api/v1/staff/signing-key), or wait for an administrator to approve it")
        })?;
        let now = self.now();
        let certificate = key.certificate.as_deref().unwrap_or_default();
        check_signing_key(
            key.not_after.unwrap_or(OffsetDateTime::UNIX_EPOCH),
            self.is_revoked(certificate).await?,
            now,
        )?;
        let statement = DecisionStatement::from_canonical(signed_statement.as_bytes())?;
        let expected = self.statement_for(actor, r, decision, message).await?;
        statement.check_against(&expected, now)?;
        let signature = B64
            .decode(signature.trim())
            .map_err(|e| refused(format!("the signature is not base64: {e}")))?;
        let officer = Certificate::from_der(certificate).map_err(PkiError::from)?;
        let checked =
            check_decision(signed_statement.as_bytes(), &signature, &officer).map_err(|e| {
                refused(format!(
                    "the signature does not check out with your staff certificate: {e}"
                ))
            })?;
        let statement_sha256 = hex_sha256(signed_statement.as_bytes());
        if self
            .store
            .signed_decisions(Some(&r.order_number))
            .await?
            .iter()
            .any(|d| d.statement_sha256 == statement_sha256)
        {
            return Err(used_already());
        }
        let time_stamp = match &self.authority.tsa {
            Some(tsa) => {
                let serial = self.store.next_time_stamp_serial().await?;
                Some(tsa.token(TimeStampRequest::over(checked.signature()), serial, now)?)
            }
            None => None,
        };
        let cms = checked.wrap(&self.staff_chain()?, time_stamp)?;
        Ok(Some(SignedDecisionRecord {
            id: 0,
            order_number: r.order_number.clone(),
            decision: decision.to_owned(),
            account_id: actor.account,
            signing_key_id: key.id,
            cms_sha256: hex_sha256(&cms),
            statement_sha256,
            cms,
            at: now,
        }))
    }

    /// Stores a signed decision in the unit of work that applies it, with the audit record
    /// that names its SHA-256.
    pub(crate) async fn store_signed(
        &self,
        work: &mut Work<'_>,
        actor: &Actor,
        evidence: &SignedDecisionRecord,
    ) -> Result<(), AppError> {
        let id = work
            .record_signed_decision(evidence)
            .await
            .map_err(|e| match e {
                // Sent twice at once: one of them counts.
                signet_store::StoreError::Duplicate(_) => used_already(),
                other => other.into(),
            })?;
        work.audit(
            &format!("account:{}", actor.account),
            "order.decision_signed",
            &format!("order:{}", evidence.order_number),
            json!({"decision": evidence.decision, "signed_decision": id,
                   "cms_sha256": evidence.cms_sha256, "signing_key": evidence.signing_key_id}),
        );
        Ok(())
    }

    /// The signed decisions on an order, for anyone who may see the order.
    pub async fn order_decisions(
        &self,
        actor: &Actor,
        number: &OrderNumber,
    ) -> Result<Vec<DecisionView>, AppError> {
        if !actor.may(Permission::ViewAnyOrder) {
            return Err(AppError::Forbidden(
                "signed decisions are for CA staff and auditors".into(),
            ));
        }
        let (r, _) = self.visible_order(actor, number).await?;
        let mut views = Vec::new();
        for d in self.store.signed_decisions(Some(&r.order_number)).await? {
            let time_stamped_at = read_decision(&d.cms)
                .ok()
                .and_then(|read| read.time_stamped_at)
                .map(rfc3339);
            views.push(DecisionView {
                decision: d.decision,
                officer: self.officer_email(d.account_id).await?,
                at: rfc3339(d.at),
                cms: B64.encode(&d.cms),
                cms_sha256: d.cms_sha256,
                time_stamped_at,
            });
        }
        Ok(views)
    }

    /// Checks every signed decision: its CMS signature, the officer's certificate up to the
    /// staff CA and the root, the signature time-stamp, the statement against the stored record
    /// and the officer's account, and the audit record that names its hash. Returns how many
    /// were checked and what is wrong.
    pub async fn verify_decisions(&self) -> Result<(usize, Vec<DecisionProblem>), AppError> {
        let chain = self.staff_chain()?;
        let audited: std::collections::HashSet<String> = self
            .store
            .audit_entries()
            .await?
            .into_iter()
            .filter(|e| e.action == "order.decision_signed")
            .filter_map(|e| {
                serde_json::from_str::<serde_json::Value>(&e.detail)
                    .ok()
                    .and_then(|v| v["cms_sha256"].as_str().map(str::to_owned))
            })
            .collect();
        let decisions = self.store.signed_decisions(None).await?;
        let mut problems = Vec::new();
        for d in &decisions {
            let mut problem = |what: String| {
                problems.push(DecisionProblem {
                    order_number: d.order_number.to_string(),
                    decision_id: d.id,
                    problem: what,
                })
            };
            if hex_sha256(&d.cms) != d.cms_sha256 || !audited.contains(&d.cms_sha256) {
                problem(
                    "the stored CMS is not the one the audit log recorded (its SHA-256 differs)"
                        .into(),
                );
            }
            let read = match read_decision(&d.cms) {
                Ok(read) => read,
                Err(e) => {
                    problem(format!("the signature does not verify: {e}"));
                    continue;
                }
            };
            if let Err(e) = verify_issued_by(&read.officer, &chain[0])
                .and_then(|()| verify_issued_by(&chain[0], &chain[1]))
            {
                problem(format!(
                    "the officer's certificate is not from this CA's staff CA: {e}"
                ));
            }
            let revoked_before = match serial_of(&read.officer.to_der().map_err(PkiError::from)?) {
                Ok(serial) => self
                    .store
                    .certificate(&serial)
                    .await?
                    .and_then(|c| c.revoked_at)
                    .filter(|at| *at < d.at),
                Err(_) => None,
            };
            if let Some(at) = revoked_before {
                problem(format!(
                    "the officer's certificate was revoked ({}) before the decision",
                    rfc3339(at)
                ));
            }
            if let Some(tsa) = &read.time_stamp_authority
                && let Err(e) = verify_issued_by(tsa, &chain[1])
            {
                problem(format!("the time-stamp is not from this CA's TSA: {e}"));
            }
            match DecisionStatement::from_canonical(&read.statement) {
                Err(e) => problem(format!("the signed statement is not canonical: {e}")),
                Ok(s) => {
                    let officer = self.officer_email(d.account_id).await?;
                    if s.order_number != d.order_number.to_string()
                        || s.decision != d.decision
                        || s.officer != officer
                    {
                        problem(format!(
                            "the signed statement ({} on {} by {}) is not the stored decision ({} on {} by {officer})",
                            s.decision, s.order_number, s.officer, d.decision, d.order_number
                        ));
                    }
                }
            }
        }
        Ok((decisions.len(), problems))
    }
}
