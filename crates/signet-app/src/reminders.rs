//! Expiry reminders (R-CRT-7): once per certificate, 30 days before its end.

use serde_json::json;
use signet_domain::config::Channel;
use time::Duration;

use crate::AppError;
use crate::issue::Signet;

/// How long before expiry the reminder goes out (R-CRT-7).
pub const REMINDER_BEFORE: Duration = Duration::days(30);

impl Signet {
    /// R-CRT-7: mails each owner once when a certificate is within 30 days of expiry (one node
    /// at a time walks the list; the store records each reminder once whatever happens).
    pub async fn send_expiry_reminders(&self) -> Result<usize, AppError> {
        Ok(self
            .exclusively("reminders", self.remind_expiring())
            .await?
            .unwrap_or(0))
    }

    async fn remind_expiring(&self) -> Result<usize, AppError> {
        let now = self.now();
        let mut sent = 0;
        for cert in self
            .store
            .certificates_expiring(now, now + REMINDER_BEFORE)
            .await?
        {
            self.renew_job("reminders").await?;
            let serial = &cert.intent.serial;
            let Some(order) = self.store.order_for_certificate(serial).await? else {
                continue;
            };
            let identity = self.identity_of(&order)?;
            let renew_hint = if order.channel == Channel::Agent {
                "Contact your registration agent for a new order.".to_owned()
            } else {
                format!(
                    "Renew it from your account: {}",
                    self.link(&format!("/certificates/{serial}"))
                )
            };
            let mut work = self.work().await?;
            if !work.record_reminder(serial, "expiry-30d", now).await? {
                work.rollback().await?;
                continue;
            }
            work.mail(
                identity.email(),
                &format!(
                    "Your certificate expires on {}",
                    cert.intent.not_after.date()
                ),
                format!(
                    "Your certificate {serial} (order {}) expires on {} UTC.\n{renew_hint}\n",
                    order.order_number, cert.intent.not_after
                ),
            )
            .await?;
            work.audit(
                "job:reminders",
                "certificate.expiry_reminder",
                &format!("certificate:{serial}"),
                json!({}),
            );
            work.commit().await?;
            sent += 1;
        }
        Ok(sent)
    }
}
