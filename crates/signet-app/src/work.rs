//! The one shape of every use case: load → decide (domain) → one unit of work holding the state
//! change (compare-and-set), its audit records and the mail it sends → commit. Nothing of a unit
//! of work stays unless all of it does; mail leaves only after the commit.

use std::ops::{Deref, DerefMut};

use serde_json::{Value, json};
use signet_domain::credentials::{OrderNumber, TokenPurpose};
use signet_domain::guard::Limit;
use signet_store::{AuditRecord, NewMail, OrderEventRecord, TokenRecord, Tx};

use crate::AppError;
use crate::credentials::new_token;
use crate::issue::Signet;

/// A unit of work in progress. Dropping it undoes everything it did.
pub struct Work<'a> {
    signet: &'a Signet,
    tx: Box<dyn Tx>,
    mails: usize,
}

impl std::fmt::Debug for Work<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Work")
            .field("mails", &self.mails)
            .finish_non_exhaustive()
    }
}

impl Deref for Work<'_> {
    type Target = dyn Tx;

    fn deref(&self) -> &Self::Target {
        &*self.tx
    }
}

impl DerefMut for Work<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut *self.tx
    }
}

impl Signet {
    /// Starts a unit of work.
    pub async fn work(&self) -> Result<Work<'_>, AppError> {
        Ok(Work {
            signet: self,
            tx: self.store.begin().await?,
            mails: 0,
        })
    }

    /// Records one audit record in a unit of work of its own (refusals, reads worth recording).
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        detail: Value,
    ) -> Result<(), AppError> {
        let mut work = self.work().await?;
        work.audit(actor, action, subject, detail);
        work.commit().await
    }
}

impl Signet {
    /// Counts a request against a limit for `who` (a client address, an e-mail address);
    /// refuses it beyond the limit. The first refusal of a window is audited (not every one:
    /// a flood must not flood the audit log too).
    pub async fn within(&self, limit: &Limit, who: &str) -> Result<(), AppError> {
        let hits = self
            .store
            .hit(&limit.key(who), limit.window, self.now())
            .await?;
        if limit.allows(hits) {
            return Ok(());
        }
        if hits == limit.max + 1 {
            self.audit(
                "anonymous",
                "rate_limit.exceeded",
                &format!("limit:{}", limit.name),
                json!({"who": who, "max": limit.max, "window_seconds": limit.window.whole_seconds()}),
            )
            .await?;
        }
        Err(AppError::TooMany(limit.advice.into()))
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
            && !matches!(e, AppError::TooMany(_))
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
}

impl Work<'_> {
    /// Undoes everything.
    pub async fn rollback(self) -> Result<(), AppError> {
        Ok(self.tx.rollback().await?)
    }

    /// Adds an audit record; the store chains it at commit.
    pub fn audit(&mut self, actor: &str, action: &str, subject: &str, detail: Value) {
        let record = AuditRecord {
            at: self.signet.now(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            subject: subject.to_owned(),
            detail: detail.to_string(),
        };
        self.tx.audit(record);
    }

    /// Queues a plain-text mail, sent once the unit of work commits.
    pub async fn mail(&mut self, to: &str, subject: &str, body: String) -> Result<(), AppError> {
        self.queue(to, subject, body, None).await
    }

    /// Queues a mail with one file attached: (file name, media type, content).
    pub async fn mail_with(
        &mut self,
        to: &str,
        subject: &str,
        body: String,
        attachment: (String, String, Vec<u8>),
    ) -> Result<(), AppError> {
        self.queue(to, subject, body, Some(attachment)).await
    }

    async fn queue(
        &mut self,
        to: &str,
        subject: &str,
        body: String,
        attachment: Option<(String, String, Vec<u8>)>,
    ) -> Result<(), AppError> {
        // Refused here, not at delivery: a mail that can never be built must not be queued.
        let mail = NewMail {
            to: to.to_owned(),
            subject: subject.to_owned(),
            body,
            attachment,
            created_at: self.signet.now(),
        };
        crate::mail::build(&self.signet.config.mail.from, &mail)?;
        self.tx.enqueue_mail(&mail).await?;
        self.mails += 1;
        Ok(())
    }

    /// Adds a line to an order's history.
    pub async fn history(
        &mut self,
        number: &OrderNumber,
        actor: Option<i64>,
        kind: &str,
        message: Option<String>,
    ) -> Result<(), AppError> {
        let event = OrderEventRecord {
            actor,
            kind: kind.to_owned(),
            message,
            created_at: self.signet.now(),
        };
        Ok(self.tx.add_order_event(number, &event).await?)
    }

    /// Stores a new single-use token and returns it (to be mailed, never stored in clear).
    pub async fn mint_token(
        &mut self,
        purpose: TokenPurpose,
        account: Option<i64>,
        order: Option<&OrderNumber>,
    ) -> Result<String, AppError> {
        let (token, hash) = new_token()?;
        let now = self.signet.now();
        let record = TokenRecord {
            purpose,
            account_id: account,
            order_number: order.cloned(),
            expires_at: now + purpose.lifetime(),
        };
        self.tx.create_token(&hash, &record, now).await?;
        Ok(token)
    }

    /// A fresh single-use link of an order: the order's earlier links of that purpose die.
    pub async fn fresh_order_link(
        &mut self,
        purpose: TokenPurpose,
        order: &OrderNumber,
    ) -> Result<String, AppError> {
        let now = self.signet.now();
        self.tx
            .retire_tokens(purpose, Some(order), None, now)
            .await?;
        self.mint_token(purpose, None, Some(order)).await
    }

    /// Commits; then sends the mail it queued on its way.
    pub async fn commit(self) -> Result<(), AppError> {
        let Work { signet, tx, mails } = self;
        crate::meters::commit(tx.commit()).await?;
        if mails > 0 {
            signet.after_mail_commit().await;
        }
        Ok(())
    }
}
