//! Accounts and sessions: sign-up with e-mail confirmation, login with throttling and lockout,
//! password reset, staff invitations (DESIGN §7). Every step is audited.

use serde_json::json;
use signet_domain::Refusal;
use signet_domain::credentials::{LoginGate, TokenPurpose, check_password, login_gate};
use signet_domain::identity::check_email;
use signet_domain::role::{Actor, Role};
use signet_store::{Account, NewAccount, StoreError, TokenRecord};
use time::Duration;

use crate::credentials::{hash_password, new_token, token_hash, verify_password};
use crate::issue::Signet;
use crate::mail::Mail;
use crate::{AppError, audit};

/// How long a login session lasts.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);

/// A logged-in session: the bearer token (shown once) and who it is.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub account_id: i64,
    pub role: Role,
}

/// What a confirmation link confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    Account(String),
    ApprovalEmail { order_number: String },
}

fn bad_credentials() -> AppError {
    AppError::Unauthorized("wrong e-mail address or password".into())
}

impl Signet {
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    /// An absolute URL under the public base URL.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url)
    }

    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        detail: serde_json::Value,
    ) -> Result<(), AppError> {
        audit::append(
            self.store.as_ref(),
            self.now(),
            actor,
            action,
            subject,
            detail,
        )
        .await
    }

    /// Passes a result through, recording refusals (bad input, forbidden or conflicting
    /// requests) in the audit log with their reason.
    pub async fn audit_refusal<T>(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        result: Result<T, AppError>,
    ) -> Result<T, AppError> {
        if let Err(e) = &result
            && e.is_refusal()
        {
            self.audit(
                actor,
                &format!("{action}.refused"),
                subject,
                json!({"reason": e.to_string()}),
            )
            .await?;
        }
        result
    }

    pub fn send_mail(&self, to: &str, subject: &str, body: String) -> Result<(), AppError> {
        self.deliver(to, subject, body, None)
    }

    /// A mail with one file attached: (file name, media type, content).
    pub fn send_mail_with(
        &self,
        to: &str,
        subject: &str,
        body: String,
        attachment: (String, String, Vec<u8>),
    ) -> Result<(), AppError> {
        self.deliver(to, subject, body, Some(attachment))
    }

    fn deliver(
        &self,
        to: &str,
        subject: &str,
        body: String,
        attachment: Option<(String, String, Vec<u8>)>,
    ) -> Result<(), AppError> {
        self.mailer.send(
            &self.config.mail.from,
            &Mail {
                to: to.to_owned(),
                subject: subject.to_owned(),
                body,
                attachment,
            },
        )
    }

    /// Stores a new single-use token and returns it (to be mailed, never stored in clear).
    pub async fn mint_token(
        &self,
        purpose: TokenPurpose,
        account: Option<i64>,
        order: Option<&str>,
    ) -> Result<String, AppError> {
        let (token, hash) = new_token()?;
        let record = TokenRecord {
            purpose: purpose.as_str().to_owned(),
            account_id: account,
            order_number: order.map(str::to_owned),
            expires_at: self.now() + purpose.lifetime(),
        };
        self.store.create_token(&hash, &record, self.now()).await?;
        Ok(token)
    }

    /// Self-service sign-up. An address that already has an account gets a notice instead, so
    /// the answer does not tell strangers which addresses have accounts.
    pub async fn sign_up(&self, email: &str, password: &str, name: &str) -> Result<(), AppError> {
        let email = check_email(email)?;
        check_password(password, &email)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 128 {
            return Err(Refusal::InvalidInput("name must be 1 to 128 characters".into()).into());
        }
        let account = NewAccount {
            email: email.clone(),
            name: name.to_owned(),
            role: Role::Subscriber.as_str().to_owned(),
            region: None,
            password_hash: Some(hash_password(password)?),
            email_confirmed: false,
            created_at: self.now(),
        };
        match self.store.create_account(&account).await {
            Ok(id) => {
                let token = self
                    .mint_token(TokenPurpose::AccountConfirmation, Some(id), None)
                    .await?;
                self.send_mail(
                    &email,
                    "Confirm your Signet account",
                    format!(
                        "Hello {name},\n\nconfirm your e-mail address to activate your account:\n\n{}\n\nThe link works once and expires in 24 hours.\n",
                        self.link(&format!("/confirm/{token}"))
                    ),
                )?;
                self.audit(
                    &format!("account:{id}"),
                    "account.sign_up",
                    &format!("account:{id}"),
                    json!({"email": email}),
                )
                .await
            }
            Err(StoreError::Duplicate(_)) => {
                self.send_mail(
                    &email,
                    "Signet sign-up attempt",
                    "Someone tried to create a Signet account with this address, which already has one.\nIf it was you, log in or reset your password.\n".into(),
                )?;
                self.audit(
                    "anonymous",
                    "account.sign_up_duplicate",
                    &format!("email:{email}"),
                    json!({}),
                )
                .await
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Follows a confirmation link: an account's address or an order's approval e-mail.
    pub async fn confirm(&self, token: &str) -> Result<Confirmed, AppError> {
        let hash = token_hash(token);
        let now = self.now();
        if let Some(t) = self
            .store
            .use_token(&hash, TokenPurpose::AccountConfirmation.as_str(), now)
            .await?
        {
            let id = t
                .account_id
                .ok_or_else(|| AppError::Internal("confirmation token without account".into()))?;
            self.store.confirm_account_email(id).await?;
            let account = self
                .store
                .account(id)
                .await?
                .ok_or_else(|| AppError::NotFound("account".into()))?;
            self.audit(
                &format!("account:{id}"),
                "account.email_confirmed",
                &format!("account:{id}"),
                json!({}),
            )
            .await?;
            return Ok(Confirmed::Account(account.email));
        }
        if let Some(t) = self
            .store
            .use_token(&hash, TokenPurpose::ApprovalEmail.as_str(), now)
            .await?
        {
            let number = t
                .order_number
                .ok_or_else(|| AppError::Internal("approval token without order".into()))?;
            self.store.confirm_approval_email(&number, now).await?;
            self.audit(
                "mailbox",
                "order.approval_email_confirmed",
                &format!("order:{number}"),
                json!({}),
            )
            .await?;
            return Ok(Confirmed::ApprovalEmail {
                order_number: number,
            });
        }
        Err(AppError::Gone(
            "this confirmation link is invalid, already used or expired".into(),
        ))
    }

    /// The account behind an e-mail address and password, with the login gates applied:
    /// throttled after a few failures, locked after many, unconfirmed addresses refused.
    pub(crate) async fn check_password(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Account, AppError> {
        let email = email.trim().to_ascii_lowercase();
        let now = self.now();
        let Some(account) = self.store.account_by_email(&email).await? else {
            // Same work as a real check, so timing does not reveal which addresses exist.
            let _ = verify_password(
                password,
                "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$YXhtZWFuaW5nbGVzc2hhc2hmb3J0aW1pbmc",
            );
            self.audit(
                "anonymous",
                "session.login_failed",
                &format!("email:{email}"),
                json!({"reason": "unknown"}),
            )
            .await?;
            return Err(bad_credentials());
        };
        let subject = format!("account:{}", account.id);
        match login_gate(account.failed_logins, account.last_failed_login, now) {
            LoginGate::Locked { until } => {
                self.audit(&subject, "session.login_locked", &subject, json!({}))
                    .await?;
                return Err(AppError::Locked(format!(
                    "too many failed logins: the account is locked until {until} UTC; reset the password to unlock it sooner"
                )));
            }
            LoginGate::Delay(d) => tokio::time::sleep(d).await,
            LoginGate::Allow => {}
        }
        let ok = account
            .password_hash
            .as_deref()
            .is_some_and(|h| verify_password(password, h));
        if !ok {
            self.store.record_login_failure(account.id, now).await?;
            self.audit(
                &subject,
                "session.login_failed",
                &subject,
                json!({"reason": "password"}),
            )
            .await?;
            return Err(bad_credentials());
        }
        if !account.email_confirmed {
            return Err(AppError::Forbidden(
                "confirm your e-mail address first: follow the link we mailed you".into(),
            ));
        }
        Ok(account)
    }

    /// Logs in: throttled after a few failures, locked after many; unconfirmed accounts wait;
    /// staff who can cause issuance or revocation also give a TOTP code.
    pub async fn log_in(
        &self,
        email: &str,
        password: &str,
        totp_code: Option<&str>,
    ) -> Result<Session, AppError> {
        let account = self.check_password(email, password).await?;
        self.check_second_factor(&account, totp_code).await?;
        let now = self.now();
        let subject = format!("account:{}", account.id);

        self.store.clear_login_failures(account.id).await?;
        let (token, hash) = new_token()?;
        self.store
            .create_session(&hash, account.id, now + SESSION_LIFETIME, now)
            .await?;
        self.audit(&subject, "session.login", &subject, json!({}))
            .await?;
        let role = Role::parse(&account.role)
            .ok_or_else(|| AppError::Internal(format!("unknown role {}", account.role)))?;
        Ok(Session {
            token,
            account_id: account.id,
            role,
        })
    }

    pub async fn log_out(&self, session_token: &str) -> Result<(), AppError> {
        let hash = token_hash(session_token);
        if let Some(id) = self.store.session_account(&hash, self.now()).await? {
            self.audit(
                &format!("account:{id}"),
                "session.logout",
                &format!("account:{id}"),
                json!({}),
            )
            .await?;
        }
        self.store.end_session(&hash).await?;
        Ok(())
    }

    /// The actor behind a bearer token.
    pub async fn authenticate(&self, session_token: &str) -> Result<(Actor, Account), AppError> {
        let unauthorized = || {
            AppError::Unauthorized(
                "log in first: the session is missing, invalid or expired".into(),
            )
        };
        let id = self
            .store
            .session_account(&token_hash(session_token), self.now())
            .await?
            .ok_or_else(unauthorized)?;
        let account = self.store.account(id).await?.ok_or_else(unauthorized)?;
        let role = Role::parse(&account.role)
            .ok_or_else(|| AppError::Internal(format!("unknown role {}", account.role)))?;
        Ok((
            Actor {
                account: account.id,
                role,
                region: account.region.clone(),
            },
            account,
        ))
    }

    /// Mails a reset link if the address has an account; answers the same either way.
    pub async fn request_password_reset(&self, email: &str) -> Result<(), AppError> {
        let email = email.trim().to_ascii_lowercase();
        if let Some(account) = self.store.account_by_email(&email).await? {
            let token = self
                .mint_token(TokenPurpose::PasswordReset, Some(account.id), None)
                .await?;
            self.send_mail(
                &account.email,
                "Reset your Signet password",
                format!(
                    "Set a new password here:\n\n{}\n\nThe link works once and expires in 1 hour. If you did not ask for it, ignore this mail.\n",
                    self.link(&format!("/reset/{token}"))
                ),
            )?;
            let subject = format!("account:{}", account.id);
            self.audit(
                &subject,
                "account.password_reset_requested",
                &subject,
                json!({}),
            )
            .await?;
        }
        Ok(())
    }

    /// Sets a password with a reset or invitation token (single use).
    pub async fn complete_password_reset(
        &self,
        token: &str,
        password: &str,
    ) -> Result<(), AppError> {
        let hash = token_hash(token);
        let now = self.now();
        let mut record = None;
        for purpose in [TokenPurpose::PasswordReset, TokenPurpose::Invitation] {
            if self
                .store
                .live_token(&hash, purpose.as_str(), now)
                .await?
                .is_some()
            {
                record = Some(purpose);
            }
        }
        let purpose = record.ok_or_else(|| {
            AppError::Gone(
                "this link is invalid, already used or expired; ask for a new one".into(),
            )
        })?;
        let t = self
            .store
            .live_token(&hash, purpose.as_str(), now)
            .await?
            .ok_or_else(|| AppError::Gone("link expired".into()))?;
        let id = t
            .account_id
            .ok_or_else(|| AppError::Internal("reset token without account".into()))?;
        let account = self
            .store
            .account(id)
            .await?
            .ok_or_else(|| AppError::NotFound("account".into()))?;
        check_password(password, &account.email)?;
        if self
            .store
            .use_token(&hash, purpose.as_str(), now)
            .await?
            .is_none()
        {
            return Err(AppError::Gone("this link was used meanwhile".into()));
        }
        self.store
            .set_password(id, &hash_password(password)?)
            .await?;
        let subject = format!("account:{id}");
        self.audit(
            &subject,
            "account.password_set",
            &subject,
            json!({"via": purpose.as_str()}),
        )
        .await
    }

    /// `signet user add`: a staff account without a password, and an invitation mail whose
    /// single-use link sets it. Returns the account id and the link.
    pub async fn invite_staff(
        &self,
        role: Role,
        email: &str,
        name: &str,
        region: Option<&str>,
        by: &str,
    ) -> Result<(i64, String), AppError> {
        if role == Role::Subscriber {
            return Err(Refusal::InvalidInput(
                "subscribers sign up themselves; choose a staff role".into(),
            )
            .into());
        }
        let region = match (role, region) {
            (Role::Agent, Some(r)) => Some(signet_domain::identity::check_country(r)?),
            (Role::Agent, None) => {
                return Err(Refusal::InvalidInput(
                    "a registration agent needs --region (a country code)".into(),
                )
                .into());
            }
            (_, Some(_)) => {
                return Err(
                    Refusal::InvalidInput("only registration agents have a region".into()).into(),
                );
            }
            (_, None) => None,
        };
        let email = check_email(email)?;
        let id = self
            .store
            .create_account(&NewAccount {
                email: email.clone(),
                name: name.to_owned(),
                role: role.as_str().to_owned(),
                region,
                password_hash: None,
                email_confirmed: false,
                created_at: self.now(),
            })
            .await
            .map_err(|e| match e {
                StoreError::Duplicate(what) => AppError::Conflict(format!("{what} already exists")),
                other => other.into(),
            })?;
        let token = self
            .mint_token(TokenPurpose::Invitation, Some(id), None)
            .await?;
        let link = self.link(&format!("/reset/{token}"));
        self.send_mail(
            &email,
            "Your Signet staff account",
            format!("You were given the {} role at Signet. Set your password here (single use, valid 3 days):\n\n{link}\n", role.as_str()),
        )?;
        self.audit(
            by,
            "account.staff_invited",
            &format!("account:{id}"),
            json!({"role": role.as_str(), "email": email}),
        )
        .await?;
        Ok((id, link))
    }
}
