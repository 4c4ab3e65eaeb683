//! Outgoing mail: SMTP through lettre when configured, else one `.eml` file per message in
//! `DIR/outbox/` (lettre's file transport).

use std::path::{Path, PathBuf};

use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};
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
    /// A file sent along: (file name, media type, content).
    pub attachment: Option<(String, String, Vec<u8>)>,
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
                        .singlepart(
                            Attachment::new(name.clone()).body(content.clone(), media_type),
                        ),
                )
            }
        };
        let message = built.map_err(|e| AppError::Internal(format!("building mail: {e}")))?;
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
