//! Outgoing mail through a durable outbox. A use case queues messages as rows in the same
//! transaction as the change they report; a worker delivers them after the commit — SMTP through
//! lettre with short timeouts, or one `.eml` file per message in `DIR/outbox/` — retrying with
//! backoff and giving up (dead letter, shown to administrators) after
//! [`signet_domain::guard::MAIL_ATTEMPTS`] tries. A relay that is down or hangs never slows a
//! request or undoes a change. Several workers (nodes) claim messages with a lease, so each is
//! delivered by one of them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::{Message, SmtpTransport, Transport};
use signet_domain::guard::mail_retry_after;
use signet_store::{MailRecord, MailState, NewMail};
use tokio::sync::Notify;

use crate::AppError;
use crate::config::MailSettings;
use crate::issue::Signet;

/// How long a claimed message is reserved for its worker.
const CLAIM_LEASE: time::Duration = time::Duration::minutes(2);
/// Messages one pass claims.
const BATCH: u32 = 10;
/// How often the worker looks for due messages when nobody wakes it.
const POLL: Duration = Duration::from_secs(1);

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum Mailer {
    Outbox(PathBuf),
    Smtp {
        host: String,
        port: u16,
        timeout: Duration,
    },
}

/// Builds the message; fails for addresses or attachments that can never be sent.
pub fn build(from: &str, mail: &NewMail) -> Result<Message, AppError> {
    let parse = |addr: &str| {
        addr.parse::<Mailbox>().map_err(|e| {
            AppError::Refused(signet_domain::Refusal::InvalidInput(format!(
                "mail address `{addr}`: {e}"
            )))
        })
    };
    let builder = Message::builder()
        .from(parse(from)?)
        .to(parse(&mail.to)?)
        .subject(&mail.subject);
    let built = match &mail.attachment {
        None => builder
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone()),
        Some((name, media_type, content)) => {
            let media_type = ContentType::parse(media_type)
                .map_err(|e| AppError::Internal(format!("attachment type: {e}")))?;
            builder.multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(mail.body.clone()))
                    .singlepart(Attachment::new(name.clone()).body(content.clone(), media_type)),
            )
        }
    };
    built.map_err(|e| AppError::Internal(format!("building mail: {e}")))
}

impl Mailer {
    pub fn from_settings(settings: &MailSettings, data_dir: &Path) -> Mailer {
        match &settings.smtp_host {
            Some(host) => Mailer::Smtp {
                host: host.clone(),
                port: settings.smtp_port,
                timeout: Duration::from_secs(u64::from(settings.smtp_timeout_seconds.max(1))),
            },
            None => Mailer::Outbox(data_dir.join("outbox")),
        }
    }

    /// Delivers one queued message (blocking: run off the async workers). Mail bodies carry
    /// single-use links: they are never logged. The file outbox names each file by the
    /// message's id, so a message delivered twice (a crash between delivery and its record)
    /// is still one file.
    pub fn deliver(&self, from: &str, id: i64, mail: &NewMail) -> Result<(), String> {
        let message = build(from, mail).map_err(|e| e.to_string())?;
        match self {
            Mailer::Outbox(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let path = dir.join(format!("{id:012}.eml"));
                let partial = dir.join(format!(".{id:012}.eml.partial"));
                std::fs::write(&partial, message.formatted())
                    .and_then(|()| std::fs::rename(&partial, &path))
                    .map_err(|e| format!("{}: {e}", path.display()))
            }
            Mailer::Smtp {
                host,
                port,
                timeout,
            } => SmtpTransport::builder_dangerous(host)
                .port(*port)
                .timeout(Some(*timeout))
                .build()
                .send(&message)
                .map(|_| ())
                .map_err(|e| format!("SMTP {host}:{port}: {e}")),
        }
    }

    /// Local files are written at once after a commit; a relay only by the worker.
    fn is_local(&self) -> bool {
        matches!(self, Mailer::Outbox(_))
    }
}

/// The outbox worker's shared state: its transport, a bell that commits ring, and the time of
/// its last pass (for readiness).
#[derive(Debug)]
pub struct Outbox {
    pub mailer: Mailer,
    bell: Notify,
    last_pass: AtomicI64,
    /// A worker runs in this process (`serve`).
    pub worker_started: AtomicBool,
}

impl Outbox {
    pub fn new(mailer: Mailer) -> Outbox {
        Outbox {
            mailer,
            bell: Notify::new(),
            last_pass: AtomicI64::new(0),
            worker_started: AtomicBool::new(false),
        }
    }

    /// Tells the worker that mail was queued.
    pub fn wake(&self) {
        self.bell.notify_one();
    }

    /// Unix time of the worker's last pass (0: it never ran).
    pub fn last_pass(&self) -> i64 {
        self.last_pass.load(Ordering::Relaxed)
    }
}

/// What one delivery pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    pub sent: usize,
    pub failed: usize,
    pub dead: usize,
}

impl Signet {
    /// Called after a commit that queued mail: local files are written now (tests and people
    /// reading the outbox see them at once); a relay is left to the worker.
    pub(crate) async fn after_mail_commit(&self) {
        if self.outbox.mailer.is_local() {
            if let Err(e) = self.deliver_due_mail().await {
                tracing::warn!(error = %e, "writing mail to the outbox failed; the worker retries");
            }
        } else {
            self.outbox.wake();
        }
    }

    /// Makes given-up or waiting mail due now (one message, or all with `None`) on behalf of
    /// `by`, audited, and wakes the worker; how many messages were made due.
    pub(crate) async fn retry_mail_as(&self, by: &str, id: Option<i64>) -> Result<u64, AppError> {
        let n = self.store.retry_mail_now(id, self.now()).await?;
        self.audit(
            by,
            "mail.retry",
            &id.map_or_else(|| "mail".to_owned(), |i| format!("mail:{i}")),
            serde_json::json!({"messages": n}),
        )
        .await?;
        self.outbox.wake();
        Ok(n)
    }

    /// The operator's retry (`signet mail retry`).
    pub async fn retry_mail_as_operator(&self, id: Option<i64>) -> Result<u64, AppError> {
        self.retry_mail_as("operator:cli", id).await
    }

    /// The outbox at a glance: messages per state, and the latest `limit` messages without
    /// their bodies and attachments (they may hold links with tokens).
    pub async fn mail_overview(
        &self,
        limit: u32,
    ) -> Result<(Vec<(MailState, u64)>, Vec<signet_store::MailRecord>), AppError> {
        let mut recent = self.store.recent_mail(limit).await?;
        for m in &mut recent {
            m.mail.body.clear();
            m.mail.attachment = None;
        }
        Ok((self.store.mail_state_counts().await?, recent))
    }

    /// One delivery pass: claims due messages and tries each once.
    pub async fn deliver_due_mail(&self) -> Result<Delivered, AppError> {
        let mut done = Delivered::default();
        loop {
            let claimed = self
                .store
                .claim_mail(self.now(), CLAIM_LEASE, BATCH)
                .await?;
            if claimed.is_empty() {
                return Ok(done);
            }
            let full = claimed.len() == BATCH as usize;
            for m in claimed {
                match self.deliver_one(&m).await? {
                    Some(false) => done.failed += 1,
                    Some(true) => done.dead += 1,
                    None => done.sent += 1,
                }
            }
            if !full {
                return Ok(done);
            }
        }
    }

    /// Delivers one message and records the outcome: `None` sent, `Some(dead)` failed.
    async fn deliver_one(&self, m: &MailRecord) -> Result<Option<bool>, AppError> {
        let mailer = self.outbox.mailer.clone();
        let from = self.config.mail.from.clone();
        let (id, mail) = (m.id, m.mail.clone());
        let outcome = tokio::task::spawn_blocking(move || mailer.deliver(&from, id, &mail))
            .await
            .map_err(|e| AppError::Internal(format!("mail delivery task: {e}")))?;
        match outcome {
            Ok(()) => {
                self.store.mail_sent(m.id, self.now()).await?;
                crate::meters::mail_delivery("sent");
                tracing::info!(id = m.id, to = %m.mail.to, subject = %m.mail.subject, "mail sent");
                Ok(None)
            }
            Err(error) => {
                let attempts = m.attempts + 1;
                let retry_at = mail_retry_after(attempts).map(|d| self.now() + d);
                self.store.mail_failed(m.id, &error, retry_at).await?;
                crate::meters::mail_delivery(if retry_at.is_some() {
                    "retry"
                } else {
                    "given_up"
                });
                match retry_at {
                    Some(at) => {
                        tracing::warn!(id = m.id, to = %m.mail.to, attempts, %error, retry_at = %at, "mail not delivered; will retry");
                    }
                    None => {
                        tracing::error!(id = m.id, to = %m.mail.to, attempts, %error, "mail given up after every retry; an administrator can retry it");
                    }
                }
                Ok(Some(retry_at.is_none()))
            }
        }
    }

    /// The worker of `serve`: delivers whenever a commit rings, and every second for retries
    /// and for mail queued by other processes or nodes.
    pub async fn run_mail_worker(self: Arc<Self>) {
        self.outbox.worker_started.store(true, Ordering::Relaxed);
        loop {
            self.outbox
                .last_pass
                .store(self.now().unix_timestamp(), Ordering::Relaxed);
            if let Err(e) = self.deliver_due_mail().await {
                tracing::warn!(error = %e, "mail delivery pass failed; trying again shortly");
            }
            let _ = tokio::time::timeout(POLL, self.outbox.bell.notified()).await;
        }
    }
}
