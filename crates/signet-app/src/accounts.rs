//! Accounts and sessions: sign-up with e-mail confirmation, log-in with per-client throttling and
//! an escalating account lock, password reset, staff invitations (design §7). Every step is one
//! unit of work with its audit record.
//!
//! Log-in attempts are counted in the store *before* the password is checked, so concurrent
//! guesses all count and none beyond the limit is ever checked. A log-in answers the same way,
//! after the same work, for an unknown address, a wrong password, a wrong code and a locked
//! account; the owner of a locked account is told by mail.

use serde_json::json;
use signet_domain::Refusal;
use signet_domain::credentials::{OrderNumber, TokenPurpose, check_password};
use signet_domain::guard::{
    ADDRESS_RESETS, ADDRESS_SIGN_UPS, CLIENT_LOGIN_ATTEMPTS, CLIENT_RESETS, CLIENT_SIGN_UPS,
    LoginVerdict, failure_locks, lock_duration, login_verdict,
};
use signet_domain::identity::{account_email, account_lookup_key};
use signet_domain::role::{Actor, Role};
use signet_store::{Account, NewAccount, StoreError};
use time::Duration;

use crate::AppError;
use crate::credentials::{hash_password, new_token, token_hash, verify_password};
use crate::issue::Signet;

/// How long a login session lasts.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);

/// An Argon2id hash of nothing anyone knows, with the default parameters: checked when there is
/// no real hash to check, so that every failed log-in costs the same.
const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$YXhtZWFuaW5nbGVzc2hhc2hmb3J0aW1pbmc";

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
    ApprovalEmail { order_number: OrderNumber },
}

/// The one answer to a log-in that failed for any reason the caller may not learn.
fn bad_credentials() -> AppError {
    AppError::Unauthorized("wrong e-mail address, password or authenticator code".into())
}

/// Credentials that checked out, with the TOTP step to accept when the session is created.
#[derive(Debug)]
pub(crate) struct Verified {
    pub account: Account,
    totp_step: Option<i64>,
}

/// Who a session belongs to.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The actor, for every rule.
    pub actor: Actor,
    /// The account's name, for pages.
    pub name: String,
}

impl Signet {
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    /// An absolute URL under the public base URL.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url)
    }

    /// Self-service sign-up. An address that already has an account gets a notice instead, so
    /// the answer does not tell strangers which addresses have accounts.
    pub async fn sign_up(
        &self,
        email: &str,
        password: &str,
        name: &str,
        client: &str,
    ) -> Result<(), AppError> {
        let email = account_email(email)?;
        check_password(password, &email)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 128 {
            return Err(Refusal::InvalidInput("name must be 1 to 128 characters".into()).into());
        }
        self.within(&CLIENT_SIGN_UPS, client).await?;
        self.within(&ADDRESS_SIGN_UPS, &email).await?;
        let account = NewAccount {
            email: email.clone(),
            name: name.to_owned(),
            role: Role::Subscriber,
            region: None,
            password_hash: Some(hash_password(password)?),
            email_confirmed: false,
            created_at: self.now(),
        };
        let mut work = self.work().await?;
        match work.create_account(&account).await {
            Ok(id) => {
                let token = work
                    .mint_token(TokenPurpose::AccountConfirmation, Some(id), None)
                    .await?;
                work.mail(
                    &email,
                    "Confirm your Signet account",
                    format!(
                        "Hello {name},\n\nconfirm your e-mail address to activate your account:\n\n{}\n\nThe link works once and expires in 24 hours.\n",
                        self.link(&format!("/confirm/{token}"))
                    ),
                )
                .await?;
                work.audit(
                    &format!("account:{id}"),
                    "account.sign_up",
                    &format!("account:{id}"),
                    json!({"email": email}),
                );
            }
            Err(StoreError::Duplicate(_)) => {
                work.mail(
                    &email,
                    "Signet sign-up attempt",
                    "Someone tried to create a Signet account with this address, which already has one.\nIf it was you, log in or reset your password.\n".into(),
                )
                .await?;
                work.audit(
                    "anonymous",
                    "account.sign_up_duplicate",
                    &format!("email:{email}"),
                    json!({}),
                );
            }
            Err(e) => return Err(e.into()),
        }
        work.commit().await
    }

    /// Follows a confirmation link: an account's address or an order's approval e-mail.
    pub async fn confirm(&self, token: &str) -> Result<Confirmed, AppError> {
        let hash = token_hash(token);
        let now = self.now();
        let gone =
            || AppError::Gone("this confirmation link is invalid, already used or expired".into());
        let (purpose, t) = match self
            .store
            .live_token(&hash, TokenPurpose::AccountConfirmation, now)
            .await?
        {
            Some(t) => (TokenPurpose::AccountConfirmation, t),
            None => (
                TokenPurpose::ApprovalEmail,
                self.store
                    .live_token(&hash, TokenPurpose::ApprovalEmail, now)
                    .await?
                    .ok_or_else(gone)?,
            ),
        };
        let mut work = self.work().await?;
        if work.use_token(&hash, purpose, now).await?.is_none() {
            return Err(gone());
        }
        let confirmed = match (purpose, t.account_id, t.order_number) {
            (TokenPurpose::AccountConfirmation, Some(id), _) => {
                work.confirm_account_email(id).await?;
                work.audit(
                    &format!("account:{id}"),
                    "account.email_confirmed",
                    &format!("account:{id}"),
                    json!({}),
                );
                let account = self
                    .store
                    .account(id)
                    .await?
                    .ok_or_else(|| AppError::NotFound("account".into()))?;
                Confirmed::Account(account.email)
            }
            (TokenPurpose::ApprovalEmail, _, Some(number)) => {
                work.confirm_approval_email(&number, now).await?;
                work.audit(
                    "mailbox",
                    "order.approval_email_confirmed",
                    &format!("order:{number}"),
                    json!({}),
                );
                Confirmed::ApprovalEmail {
                    order_number: number,
                }
            }
            _ => {
                return Err(AppError::Internal(
                    "confirmation token without its subject".into(),
                ));
            }
        };
        work.commit().await?;
        Ok(confirmed)
    }

    /// Checks e-mail address, password and (for staff who can cause issuance or revocation) the
    /// TOTP code, counting the attempt first. Every failure answers alike.
    pub(crate) async fn verify_credentials(
        &self,
        email: &str,
        password: &str,
        totp_code: Option<&str>,
        client: &str,
        enrolling: bool,
    ) -> Result<Verified, AppError> {
        let email = account_lookup_key(email);
        let now = self.now();
        self.within(&CLIENT_LOGIN_ATTEMPTS, client).await?;
        let Some(account) = self.store.account_by_email(&email).await? else {
            let _ = verify_password(password, DECOY_HASH);
            self.audit(
                "anonymous",
                "session.login_failed",
                &format!("email:{email}"),
                json!({"reason": "unknown", "client": client}),
            )
            .await?;
            return Err(bad_credentials());
        };
        let subject = format!("account:{}", account.id);
        let mut work = self.work().await?;
        let attempt = work.count_login_attempt(account.id, now).await?;
        let verdict = login_verdict(attempt.failures, attempt.locked_until, now);
        work.audit(
            &subject,
            "session.login_attempt",
            &subject,
            json!({"failures": attempt.failures, "locked": verdict == LoginVerdict::Locked, "client": client}),
        );
        work.commit().await?;
        if verdict == LoginVerdict::Locked {
            let _ = verify_password(password, DECOY_HASH);
            return Err(bad_credentials());
        }
        let password_ok = match account.password_hash.as_deref() {
            Some(h) => verify_password(password, h),
            None => {
                // Staff invited but not yet set up: the same work as a real check.
                let _ = verify_password(password, DECOY_HASH);
                false
            }
        };
        let outcome = if password_ok {
            self.second_factor(&account, totp_code, enrolling)
        } else {
            Err(SecondFactor::Wrong("password"))
        };
        // Outcomes that show the password was right give the client's attempt back: only
        // guesses use up its budget.
        if !matches!(outcome, Err(SecondFactor::Wrong(_))) {
            self.store
                .forgive(
                    &CLIENT_LOGIN_ATTEMPTS.key(client),
                    CLIENT_LOGIN_ATTEMPTS.window,
                    now,
                )
                .await?;
        }
        match outcome {
            Ok(_) if !account.email_confirmed => Err(AppError::Forbidden(
                "confirm your e-mail address first: follow the link we mailed you".into(),
            )),
            Ok(totp_step) => Ok(Verified { account, totp_step }),
            Err(SecondFactor::Setup) => Err(AppError::SecondFactorSetup(
                crate::second_factor::SETUP_NEEDED.into(),
            )),
            Err(SecondFactor::CodeMissing) => Err(AppError::Unauthorized(
                "enter the 6-digit code from your authenticator app".into(),
            )),
            Err(SecondFactor::Wrong(reason)) => {
                self.record_login_failure(&account, attempt.failures, reason, client)
                    .await?;
                Err(bad_credentials())
            }
        }
    }

    /// A failed check: recorded, and the account locked when this failure reaches the limit.
    async fn record_login_failure(
        &self,
        account: &Account,
        failures: u32,
        reason: &str,
        client: &str,
    ) -> Result<(), AppError> {
        let subject = format!("account:{}", account.id);
        let mut work = self.work().await?;
        work.audit(
            &subject,
            "session.login_failed",
            &subject,
            json!({"reason": reason, "failures": failures, "client": client}),
        );
        if failure_locks(failures) {
            let until = self.now() + lock_duration(account.lock_count);
            work.lock_account(account.id, until).await?;
            work.mail(
                &account.email,
                "Your Signet account is locked for a while",
                format!(
                    "After {failures} failed log-ins, log-ins to your account are paused until {until} UTC.\n\
                     If it was not you, someone is guessing your password: reset it now to lift the lock at once and keep them out:\n\n{}\n",
                    self.link("/reset")
                ),
            )
            .await?;
            work.audit(
                &subject,
                "account.locked",
                &subject,
                json!({"until": crate::dates::rfc3339(until), "locks_before": account.lock_count}),
            );
        }
        work.commit().await
    }

    /// Logs in: counted, throttled per client, locked after many failures; unconfirmed accounts
    /// wait; staff who can cause issuance or revocation also give a TOTP code.
    pub async fn log_in(
        &self,
        email: &str,
        password: &str,
        totp_code: Option<&str>,
        client: &str,
    ) -> Result<Session, AppError> {
        let Verified { account, totp_step } = self
            .verify_credentials(email, password, totp_code, client, false)
            .await?;
        let now = self.now();
        let subject = format!("account:{}", account.id);
        let (token, hash) = new_token()?;
        let mut work = self.work().await?;
        if let Some(step) = totp_step
            && !work.accept_totp_step(account.id, step).await?
        {
            // A code already used (a replay, or two log-ins racing with one code).
            drop(work);
            self.record_login_failure(&account, 0, "totp_replayed", client)
                .await?;
            return Err(bad_credentials());
        }
        work.clear_login_failures(account.id).await?;
        work.create_session(&hash, account.id, now + SESSION_LIFETIME, now)
            .await?;
        work.audit(
            &subject,
            "session.login",
            &subject,
            json!({"client": client}),
        );
        work.commit().await?;
        Ok(Session {
            token,
            account_id: account.id,
            role: account.role,
        })
    }

    pub async fn log_out(&self, session_token: &str) -> Result<(), AppError> {
        let hash = token_hash(session_token);
        if let Some(id) = self.store.session_account(&hash, self.now()).await? {
            let mut work = self.work().await?;
            work.end_session(&hash).await?;
            work.audit(
                &format!("account:{id}"),
                "session.logout",
                &format!("account:{id}"),
                json!({}),
            );
            work.commit().await?;
        }
        Ok(())
    }

    /// The actor behind a bearer token, with the account's name to greet them by.
    pub async fn authenticate(&self, session_token: &str) -> Result<SignedIn, AppError> {
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
        let role = account.role;
        Ok(SignedIn {
            actor: Actor {
                account: account.id,
                role,
                region: account.region.clone(),
                email: account.email.clone(),
            },
            name: account.name,
        })
    }

    /// Mails a reset link if the address has an account (earlier links die); answers the same
    /// either way.
    pub async fn request_password_reset(&self, email: &str, client: &str) -> Result<(), AppError> {
        let email = account_lookup_key(email);
        self.within(&CLIENT_RESETS, client).await?;
        self.within(&ADDRESS_RESETS, &email).await?;
        if let Some(account) = self.store.account_by_email(&email).await? {
            let now = self.now();
            let mut work = self.work().await?;
            let purpose = TokenPurpose::PasswordReset;
            work.retire_tokens(purpose, None, Some(account.id), now)
                .await?;
            let token = work.mint_token(purpose, Some(account.id), None).await?;
            work.mail(
                &account.email,
                "Reset your Signet password",
                format!(
                    "Set a new password here:\n\n{}\n\nThe link works once and expires in 1 hour. If you did not ask for it, ignore this mail.\n",
                    self.link(&format!("/reset/{token}"))
                ),
            )
            .await?;
            let subject = format!("account:{}", account.id);
            work.audit(
                &subject,
                "account.password_reset_requested",
                &subject,
                json!({"client": client}),
            );
            work.commit().await?;
        }
        Ok(())
    }

    /// Sets a password with a reset or invitation token (single use); lifts any lock and ends
    /// every session of the account.
    pub async fn complete_password_reset(
        &self,
        token: &str,
        password: &str,
    ) -> Result<(), AppError> {
        let hash = token_hash(token);
        let now = self.now();
        let mut found = None;
        for purpose in [TokenPurpose::PasswordReset, TokenPurpose::Invitation] {
            if let Some(t) = self.store.live_token(&hash, purpose, now).await? {
                found = Some((purpose, t));
            }
        }
        let (purpose, t) = found.ok_or_else(|| {
            AppError::Gone(
                "this link is invalid, already used or expired; ask for a new one".into(),
            )
        })?;
        let id = t
            .account_id
            .ok_or_else(|| AppError::Internal("reset token without account".into()))?;
        let account = self
            .store
            .account(id)
            .await?
            .ok_or_else(|| AppError::NotFound("account".into()))?;
        check_password(password, &account.email)?;
        let password_hash = hash_password(password)?;
        let mut work = self.work().await?;
        if work.use_token(&hash, purpose, now).await?.is_none() {
            return Err(AppError::Gone("this link was used meanwhile".into()));
        }
        work.set_password(id, &password_hash).await?;
        let ended = work.end_sessions_of(id).await?;
        let subject = format!("account:{id}");
        work.audit(
            &subject,
            "account.password_set",
            &subject,
            json!({"via": purpose.as_str(), "sessions_ended": ended}),
        );
        work.commit().await
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
        let email = account_email(email)?;
        let mut work = self.work().await?;
        let id = work
            .create_account(&NewAccount {
                email: email.clone(),
                name: name.to_owned(),
                role,
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
        let token = work
            .mint_token(TokenPurpose::Invitation, Some(id), None)
            .await?;
        let link = self.link(&format!("/reset/{token}"));
        work.mail(
            &email,
            "Your Signet staff account",
            format!("You were given the {} role at Signet. Set your password here (single use, valid 3 days):\n\n{link}\n", role.as_str()),
        )
        .await?;
        work.audit(
            by,
            "account.staff_invited",
            &format!("account:{id}"),
            json!({"role": role.as_str(), "email": email}),
        );
        work.commit().await?;
        Ok((id, link))
    }

    /// Lifts a log-in lock (an operator or administrator, after checking with the owner).
    pub async fn unlock_account(&self, email: &str, by: &str) -> Result<(), AppError> {
        let email = account_lookup_key(email);
        let account = self
            .store
            .account_by_email(&email)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("account {email}")))?;
        let mut work = self.work().await?;
        work.unlock_account(account.id).await?;
        work.audit(
            by,
            "account.unlocked",
            &format!("account:{}", account.id),
            json!({}),
        );
        work.commit().await
    }
}

/// Why a second factor did not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecondFactor {
    /// Not set up yet (shown only after a right password).
    Setup,
    /// No code given (shown only after a right password).
    CodeMissing,
    /// A wrong password or code: the reason for the audit log.
    Wrong(&'static str),
}
