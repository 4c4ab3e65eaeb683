//! Who acts: accounts, their roles and what each role may do (design §1). The permission table
//! in [`Role::may`] is the only place that says which role does what; every layer asks it.

use serde::{Deserialize, Serialize};

use crate::Refusal;

/// An account's role. A subscriber account is self-service; staff roles are created by an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Orders and holds certificates for themselves (self-service channel).
    Subscriber,
    /// A registration agent: orders for subscribers of one region and attests identity in person.
    Agent,
    /// A vetting officer: approves, rejects or questions orders.
    Vetting,
    /// Support: finds orders, reveals personal data on request, unlocks pickups, acts for
    /// subscribers (cancel, expedite, reissue of agent-channel certificates).
    Support,
    /// Administers staff, relying services and alerts.
    Admin,
    /// Reads everything, changes nothing.
    Auditor,
}

/// Something a role may do. Rules about a particular order or certificate (whose it is, its
/// status) are in `order` and `certificate`; this says only what the role allows at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Place orders (subscribers for themselves, agents for their region).
    PlaceOrders,
    /// Attest an in-person identity check (agents, for their region).
    Attest,
    /// Read orders and certificates that are not one's own.
    ViewAnyOrder,
    /// Work the vetting queue (see it, open its orders).
    WorkVettingQueue,
    /// Approve, reject or question an order.
    DecideOrders,
    /// Revoke any certificate.
    RevokeAny,
    /// Act for a subscriber: cancel at any time, expedite, reissue agent-channel certificates.
    ActForSubscribers,
    /// Work support requests: the support inbox, orders found by number with personal data
    /// masked until an audited reveal, resent links, unlocked pickups.
    WorkSupportRequests,
    /// Post alerts, list relying services, invite and manage staff.
    Administer,
    /// Log in with a second factor (staff who can cause issuance or revocation).
    SecondFactor,
    /// Hold a decision-signing key and sign decisions and reveals with it (issue 15).
    SignDecisions,
}

impl Role {
    /// Every role, for tables and tests.
    pub const ALL: [Role; 6] = [
        Role::Subscriber,
        Role::Agent,
        Role::Vetting,
        Role::Support,
        Role::Admin,
        Role::Auditor,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Subscriber => "subscriber",
            Role::Agent => "agent",
            Role::Vetting => "vetting",
            Role::Support => "support",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }

    /// Parses a stored or wire name.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Reads a staff role a person named (an invitation): refused with the roles there are.
    pub fn from_request(text: &str) -> Result<Role, Refusal> {
        Role::parse(text.trim())
            .filter(|r| *r != Role::Subscriber)
            .ok_or_else(|| {
                Refusal::InvalidInput(format!(
                    "unknown staff role `{text}`: use agent, vetting, support, admin or auditor (subscribers sign up themselves)"
                ))
            })
    }

    /// The permission table (design §1).
    pub fn may(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Subscriber => matches!(permission, PlaceOrders),
            Role::Agent => matches!(permission, PlaceOrders | Attest),
            Role::Vetting => matches!(
                permission,
                ViewAnyOrder
                    | WorkVettingQueue
                    | DecideOrders
                    | RevokeAny
                    | SecondFactor
                    | SignDecisions
            ),
            Role::Support => matches!(
                permission,
                ViewAnyOrder
                    | WorkVettingQueue
                    | RevokeAny
                    | ActForSubscribers
                    | WorkSupportRequests
                    | SecondFactor
                    | SignDecisions
            ),
            Role::Admin => matches!(
                permission,
                ViewAnyOrder
                    | WorkVettingQueue
                    | RevokeAny
                    | WorkSupportRequests
                    | Administer
                    | SecondFactor
                    | SignDecisions
            ),
            Role::Auditor => matches!(permission, ViewAnyOrder),
        }
    }
}

/// The one acting: an account with its role, and for agents the region (country) they serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The account's id.
    pub account: i64,
    /// Its role.
    pub role: Role,
    /// For agents: the country they serve.
    pub region: Option<String>,
    /// The account's e-mail address: who the person is, for separation of duties.
    pub email: String,
}

impl Actor {
    /// Shorthand for `self.role.may(permission)`.
    pub fn may(&self, permission: Permission) -> bool {
        self.role.may(permission)
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn staff_roles_are_read_by_one_rule() {
        assert_eq!(Role::from_request(" vetting "), Ok(Role::Vetting));
        for bad in ["subscriber", "Admin", "root", ""] {
            let e = Role::from_request(bad).expect_err(bad);
            assert!(e.to_string().contains("use agent, vetting"), "{e}");
        }
    }
}
