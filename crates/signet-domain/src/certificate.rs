//! Rules for issued certificates (R-CRT-5, R-CRT-6): a certificate's status, who may revoke,
//! reissue and renew, and from the same checks what a page may offer.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Refusal;
use crate::config::Channel;
use crate::order::Offer;
use crate::role::{Actor, Permission};

/// RFC 5280 §5.3.1 reasons a revocation may give (design §7, snake_case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    /// No reason given (code 0). CRLs and OCSP responses then state no reason code.
    Unspecified,
    /// The private key is, or may be, known to someone else (code 1).
    KeyCompromise,
    /// The subject's name or organization changed (code 3).
    AffiliationChanged,
    /// Replaced by another certificate, e.g. a reissue (code 4; R-CRT-5).
    Superseded,
    /// No longer needed; also what reconciliation states for a serial that may have been signed
    /// but was never delivered (code 5).
    CessationOfOperation,
}

impl RevocationReason {
    /// The wire and stored name (snake_case), as the API's `reason` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "key_compromise",
            RevocationReason::AffiliationChanged => "affiliation_changed",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessation_of_operation",
        }
    }

    /// Reads a wire name; anything else is refused with the list of names that are accepted.
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

/// A certificate's status as every page, API answer and mail states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateStatus {
    /// Within its validity period and not revoked.
    Valid,
    /// Revoked (whatever its validity period).
    Revoked,
    /// Past its end date and not revoked.
    Expired,
}

impl CertificateStatus {
    /// Every status.
    pub const ALL: [CertificateStatus; 3] = [
        CertificateStatus::Valid,
        CertificateStatus::Revoked,
        CertificateStatus::Expired,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateStatus::Valid => "valid",
            CertificateStatus::Revoked => "revoked",
            CertificateStatus::Expired => "expired",
        }
    }

    /// The status of a certificate revoked or not, ending at `not_after`, seen at `now`.
    pub fn at(revoked: bool, not_after: OffsetDateTime, now: OffsetDateTime) -> CertificateStatus {
        if revoked {
            CertificateStatus::Revoked
        } else if not_after < now {
            CertificateStatus::Expired
        } else {
            CertificateStatus::Valid
        }
    }
}

/// What the rules need to know about an issued certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFacts {
    /// The account that placed the order the certificate was picked up for.
    pub owner: i64,
    /// The channel of that order.
    pub channel: Channel,
    /// Its status now.
    pub status: CertificateStatus,
}

/// Who may see and download a certificate: its owner and CA staff.
pub fn may_view(c: &CertificateFacts, actor: &Actor) -> bool {
    actor.account == c.owner || actor.may(Permission::ViewAnyOrder)
}

/// R-CRT-6: the subscriber revokes their own certificates; support, vetting and admin any.
pub fn check_revoke(c: &CertificateFacts, actor: &Actor) -> Result<(), Refusal> {
    if actor.account != c.owner && !actor.may(Permission::RevokeAny) {
        return Err(Refusal::NotAllowed(
            "only the certificate's owner or CA staff can revoke it".into(),
        ));
    }
    if c.status == CertificateStatus::Revoked {
        return Err(Refusal::Conflict(
            "the certificate is already revoked".into(),
        ));
    }
    Ok(())
}

/// R-CRT-5 / R-ORD-8: self-service subscribers reissue themselves; agent-channel subscribers
/// through support.
pub fn check_reissue(c: &CertificateFacts, actor: &Actor) -> Result<(), Refusal> {
    let support = actor.may(Permission::ActForSubscribers);
    let allowed = match c.channel {
        Channel::SelfService => actor.account == c.owner || support,
        Channel::Agent => support,
    };
    if !allowed {
        return Err(Refusal::NotAllowed(match c.channel {
            Channel::Agent => "certificates ordered through a registration agent are reissued by support; contact support with the order number".into(),
            Channel::SelfService => "only the certificate's owner (or support) can reissue it".into(),
        }));
    }
    if c.status != CertificateStatus::Valid {
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
    if c.status == CertificateStatus::Revoked {
        return Err(Refusal::Conflict(
            "a revoked certificate is not renewed: place a new order".into(),
        ));
    }
    Ok(())
}

/// The buttons a certificate page may show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateAction {
    /// A new key pair for the same identity and end date.
    Reissue,
    /// A new order for a new period.
    Renew,
    /// Revoke it.
    Revoke,
}

impl CertificateAction {
    /// Every action, in the order a page lists them.
    pub const ALL: [CertificateAction; 3] = [
        CertificateAction::Reissue,
        CertificateAction::Renew,
        CertificateAction::Revoke,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateAction::Reissue => "reissue",
            CertificateAction::Renew => "renew",
            CertificateAction::Revoke => "revoke",
        }
    }

    /// The check that enforces this action.
    pub fn check(self, c: &CertificateFacts, actor: &Actor) -> Result<(), Refusal> {
        match self {
            CertificateAction::Reissue => check_reissue(c, actor),
            CertificateAction::Renew => check_renew(c, actor),
            CertificateAction::Revoke => check_revoke(c, actor),
        }
    }
}

/// What `actor` may do to this certificate: every action with its verdict.
pub fn certificate_actions(c: &CertificateFacts, actor: &Actor) -> Vec<Offer<CertificateAction>> {
    CertificateAction::ALL
        .into_iter()
        .map(|action| Offer {
            action,
            refusal: action.check(c, actor).err(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::role::Role;

    fn facts(channel: Channel) -> CertificateFacts {
        CertificateFacts {
            owner: 1,
            channel,
            status: CertificateStatus::Valid,
        }
    }

    fn actor(account: i64, role: Role) -> Actor {
        Actor {
            account,
            role,
            region: None,
            email: format!("account{account}@example.net"),
        }
    }

    #[test]
    fn revocation_rules() {
        let c = facts(Channel::SelfService);
        assert!(check_revoke(&c, &actor(1, Role::Subscriber)).is_ok());
        assert!(check_revoke(&c, &actor(2, Role::Subscriber)).is_err());
        assert!(check_revoke(&c, &actor(3, Role::Support)).is_ok());
        assert!(check_revoke(&c, &actor(3, Role::Auditor)).is_err());
        let revoked = CertificateFacts {
            status: CertificateStatus::Revoked,
            ..c
        };
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

    /// Every status × action × role × channel against a specification written apart from the
    /// checks, and `certificate_actions` agrees with them.
    #[test]
    fn every_status_action_role_and_channel() {
        let mut cells = 0;
        for channel in [Channel::SelfService, Channel::Agent] {
            for status in CertificateStatus::ALL {
                let c = CertificateFacts {
                    owner: 1,
                    channel,
                    status,
                };
                for role in Role::ALL {
                    for owner in [true, false] {
                        let a = actor(if owner { 1 } else { 2 }, role);
                        let support = role == Role::Support;
                        for action in CertificateAction::ALL {
                            let expected = match action {
                                CertificateAction::Revoke => {
                                    (owner
                                        || matches!(
                                            role,
                                            Role::Vetting | Role::Support | Role::Admin
                                        ))
                                        && status != CertificateStatus::Revoked
                                }
                                CertificateAction::Reissue => {
                                    let who = match channel {
                                        Channel::SelfService => owner || support,
                                        Channel::Agent => support,
                                    };
                                    who && status == CertificateStatus::Valid
                                }
                                CertificateAction::Renew => {
                                    owner
                                        && channel == Channel::SelfService
                                        && status != CertificateStatus::Revoked
                                }
                            };
                            assert_eq!(
                                action.check(&c, &a).is_ok(),
                                expected,
                                "{channel:?} {status:?} {action:?} by {role:?} (owner: {owner})"
                            );
                            cells += 1;
                        }
                        for offer in certificate_actions(&c, &a) {
                            assert_eq!(offer.refusal, offer.action.check(&c, &a).err());
                        }
                    }
                }
            }
        }
        assert_eq!(cells, 2 * 3 * 6 * 2 * 3);
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
            status: CertificateStatus::Expired,
            ..facts(Channel::SelfService)
        };
        assert!(check_reissue(&expired, &own).is_err());
    }
}
