//! Rules for issued certificates (R-CRT-5, R-CRT-6): who may revoke, reissue and renew.

use serde::{Deserialize, Serialize};

use crate::Refusal;
use crate::config::Channel;
use crate::role::{Actor, Role};

/// RFC 5280 §5.3.1 reasons a revocation may give (DESIGN §7, snake_case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    Unspecified,
    KeyCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
}

impl RevocationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "key_compromise",
            RevocationReason::AffiliationChanged => "affiliation_changed",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessation_of_operation",
        }
    }

    pub fn parse(text: &str) -> Result<RevocationReason, Refusal> {
        use RevocationReason::*;
        [Unspecified, KeyCompromise, AffiliationChanged, Superseded, CessationOfOperation]
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| {
                Refusal::InvalidInput(format!(
                    "unknown revocation reason `{text}`: use key_compromise, superseded, affiliation_changed, cessation_of_operation or unspecified"
                ))
            })
    }

    /// The CRLReason code (RFC 5280).
    pub fn code(self) -> u8 {
        match self {
            RevocationReason::Unspecified => 0,
            RevocationReason::KeyCompromise => 1,
            RevocationReason::AffiliationChanged => 3,
            RevocationReason::Superseded => 4,
            RevocationReason::CessationOfOperation => 5,
        }
    }
}

/// What the rules need to know about an issued certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFacts {
    /// The account that placed the order the certificate was picked up for.
    pub owner: i64,
    pub channel: Channel,
    pub revoked: bool,
    pub expired: bool,
}

fn staff_may_revoke(role: Role) -> bool {
    matches!(role, Role::Support | Role::Vetting | Role::Admin)
}

/// Who may see and download a certificate: its owner and CA staff.
pub fn may_view(c: &CertificateFacts, actor: &Actor) -> bool {
    actor.account == c.owner
        || matches!(
            actor.role,
            Role::Support | Role::Vetting | Role::Admin | Role::Auditor
        )
}

/// R-CRT-6: the subscriber revokes their own certificates; support, vetting and admin any.
pub fn check_revoke(c: &CertificateFacts, actor: &Actor) -> Result<(), Refusal> {
    if actor.account != c.owner && !staff_may_revoke(actor.role) {
        return Err(Refusal::NotAllowed(
            "only the certificate's owner or CA staff can revoke it".into(),
        ));
    }
    if c.revoked {
        return Err(Refusal::Conflict(
            "the certificate is already revoked".into(),
        ));
    }
    Ok(())
}

/// R-CRT-5 / R-ORD-8: self-service subscribers reissue themselves; agent-channel subscribers
/// through support.
pub fn check_reissue(c: &CertificateFacts, actor: &Actor) -> Result<(), Refusal> {
    let allowed = match c.channel {
        Channel::SelfService => actor.account == c.owner || actor.role == Role::Support,
        Channel::Agent => actor.role == Role::Support,
    };
    if !allowed {
        return Err(Refusal::NotAllowed(match c.channel {
            Channel::Agent => "certificates ordered through a registration agent are reissued by support; contact support with the order number".into(),
            Channel::SelfService => "only the certificate's owner (or support) can reissue it".into(),
        }));
    }
    if c.revoked || c.expired {
        return Err(Refusal::Conflict(
            "a revoked or expired certificate cannot be reissued; place a new order".into(),
        ));
    }
    Ok(())
}

/// The old certificate may be revoked on reissue only as superseded or for key compromise.
pub fn check_reissue_revocation(reason: RevocationReason) -> Result<(), Refusal> {
    match reason {
        RevocationReason::Superseded | RevocationReason::KeyCompromise => Ok(()),
        other => Err(Refusal::InvalidInput(format!(
            "on reissue the previous certificate is revoked as superseded or key_compromise, not {}",
            other.as_str()
        ))),
    }
}

/// R-ORD-8: renewal only for self-service accounts, by the owner.
pub fn check_renew(c: &CertificateFacts, actor: &Actor) -> Result<(), Refusal> {
    if c.channel == Channel::Agent {
        return Err(Refusal::NotAllowed(
            "certificates ordered through a registration agent are not renewed: place a new order through your agent".into(),
        ));
    }
    if actor.account != c.owner {
        return Err(Refusal::NotAllowed(
            "only the certificate's owner can renew it".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(channel: Channel) -> CertificateFacts {
        CertificateFacts {
            owner: 1,
            channel,
            revoked: false,
            expired: false,
        }
    }

    fn actor(account: i64, role: Role) -> Actor {
        Actor {
            account,
            role,
            region: None,
        }
    }

    #[test]
    fn revocation_rules() {
        let c = facts(Channel::SelfService);
        assert!(check_revoke(&c, &actor(1, Role::Subscriber)).is_ok());
        assert!(check_revoke(&c, &actor(2, Role::Subscriber)).is_err());
        assert!(check_revoke(&c, &actor(3, Role::Support)).is_ok());
        assert!(check_revoke(&c, &actor(3, Role::Auditor)).is_err());
        let revoked = CertificateFacts { revoked: true, ..c };
        assert!(matches!(
            check_revoke(&revoked, &actor(1, Role::Subscriber)),
            Err(Refusal::Conflict(_))
        ));
        assert_eq!(
            RevocationReason::parse("key_compromise").map(RevocationReason::code),
            Ok(1)
        );
        assert!(RevocationReason::parse("remove_from_crl").is_err());
    }

    #[test]
    fn reissue_and_renewal_follow_the_channel() {
        let own = actor(1, Role::Subscriber);
        let support = actor(9, Role::Support);
        assert!(check_reissue(&facts(Channel::SelfService), &own).is_ok());
        assert!(check_reissue(&facts(Channel::Agent), &own).is_err());
        assert!(check_reissue(&facts(Channel::Agent), &support).is_ok());
        assert!(check_renew(&facts(Channel::SelfService), &own).is_ok());
        assert!(check_renew(&facts(Channel::Agent), &own).is_err());
        assert!(check_renew(&facts(Channel::SelfService), &support).is_err());
        assert!(check_reissue_revocation(RevocationReason::Superseded).is_ok());
        assert!(check_reissue_revocation(RevocationReason::AffiliationChanged).is_err());
        let expired = CertificateFacts {
            expired: true,
            ..facts(Channel::SelfService)
        };
        assert!(check_reissue(&expired, &own).is_err());
    }
}
