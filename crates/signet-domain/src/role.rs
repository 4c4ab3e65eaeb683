//! Who acts: accounts and their roles (DESIGN §1).

use serde::{Deserialize, Serialize};

/// An account's role. A subscriber account is self-service; staff roles are created by an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Subscriber,
    Agent,
    Vetting,
    Support,
    Admin,
    Auditor,
}

impl Role {
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

    pub fn parse(text: &str) -> Option<Role> {
        [
            Role::Subscriber,
            Role::Agent,
            Role::Vetting,
            Role::Support,
            Role::Admin,
            Role::Auditor,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }

    /// Staff see orders that are not theirs (within their remit).
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Subscriber)
    }

    /// Staff who can cause issuance or revocation: they work from the vetting queue and log in
    /// with a second factor.
    pub fn vets(self) -> bool {
        matches!(self, Role::Vetting | Role::Support | Role::Admin)
    }

    /// Works support requests: finds orders, reveals personal data, unlocks pickups.
    pub fn supports(self) -> bool {
        matches!(self, Role::Support | Role::Admin)
    }

    /// Posts alerts, lists relying services, manages staff.
    pub fn administers(self) -> bool {
        self == Role::Admin
    }
}

/// The one acting: an account with its role, and for agents the region (country) they serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub account: i64,
    pub role: Role,
    pub region: Option<String>,
}
