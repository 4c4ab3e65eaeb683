//! Outgoing mail: SMTP through lettre when configured, else one `.eml` file per message in
//! `DIR/outbox/` (lettre's file transport).

use std::path::{Path, PathBuf};

use lettre::message::{Mailbox, header::ContentType};
use lettre::{FileTransport, Message, SmtpTransport, Transport};

use crate::AppError;
use crate::config::MailSettings;

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum Mailer {
    Outbox(PathBuf),
    Smtp { host: String, port: u16 },
}

/// A message ready to send.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl Mailer {
    pub fn from_settings(settings: &MailSettings, data_dir: &Path) -> Mailer {
        match &settings.smtp_host {
            Some(host) => Mailer::Smtp {
                host: host.clone(),
                port: settings.smtp_port,
            },
            None => Mailer::Outbox(data_dir.join("outbox")),
        }
    }

    /// Sends one message. Mail bodies can carry single-use links: they are never logged.
    pub fn send(&self, from: &str, mail: &Mail) -> Result<(), AppError> {
        let parse = |addr: &str| {
            addr.parse::<Mailbox>()
                .map_err(|e| AppError::Config(format!("mail address `{addr}`: {e}")))
        };
        let message = Message::builder()
            .from(parse(from)?)
            .to(parse(&mail.to)?)
            .subject(&mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| AppError::Internal(format!("building mail: {e}")))?;
        match self {
            Mailer::Outbox(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| AppError::io(dir, e))?;
                FileTransport::new(dir).send(&message).map_err(|e| {
                    AppError::Internal(format!("writing mail to {}: {e}", dir.display()))
                })?;
            }
            Mailer::Smtp { host, port } => {
                SmtpTransport::builder_dangerous(host)
                    .port(*port)
                    .build()
                    .send(&message)
                    .map_err(|e| AppError::Internal(format!("SMTP {host}:{port}: {e}")))?;
            }
        }
        tracing::info!(to = %mail.to, subject = %mail.subject, "mail sent");
        Ok(())
    }
}
