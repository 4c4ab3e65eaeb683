//! The actions a page offers, rendered from the domain's verdicts (`actions` of an order or
//! certificate view): a form for each allowed action, and for the refused ones the domain's
//! reason, so a page never decides on its own what is possible.

use signet_app::actions::{ActionView, allows};

/// An action's name on a page.
fn label(action: &str) -> &str {
    match action {
        "upload" => "Upload a document",
        "supply_info" => "Answer the vetting team",
        "attest" => "Attest the in-person check",
        "approve" => "Approve",
        "reject" => "Reject",
        "request_info" => "Ask for information",
        "cancel" => "Cancel the order",
        "reorder" => "Order again",
        "expedite" => "Send to vetting",
        "resend_pickup_link" => "Send a new pickup link",
        "resend_confirmation" => "Send the approval confirmation again",
        "unlock_pickup" => "Unlock the pickup",
        "reissue" => "Reissue",
        "renew" => "Renew",
        "revoke" => "Revoke",
        other => other,
    }
}

/// The actions of one order or certificate, for a template.
#[derive(Debug, Clone, Default)]
pub struct Offers {
    actions: Vec<ActionView>,
}

impl Offers {
    /// The offers of a view.
    pub fn new(actions: &[ActionView]) -> Offers {
        Offers {
            actions: actions.to_vec(),
        }
    }

    /// Whether the page shows the form of `action`.
    pub fn allows(&self, action: &str) -> bool {
        allows(&self.actions, action)
    }

    /// Whether any of `actions` is allowed.
    pub fn allows_any(&self, actions: &[&str]) -> bool {
        actions.iter().any(|a| self.allows(a))
    }

    /// Refused actions among `shown` with the domain's reason, as (label, reason).
    pub fn refused_among(&self, shown: &[&str]) -> Vec<(String, String)> {
        self.actions
            .iter()
            .filter(|a| !a.allowed && shown.contains(&a.action.as_str()))
            .map(|a| {
                (
                    label(&a.action).to_owned(),
                    a.refusal.clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// The names of the allowed actions, in the domain's order.
    #[cfg(test)]
    pub fn allowed(&self) -> Vec<&str> {
        self.actions
            .iter()
            .filter(|a| a.allowed)
            .map(|a| a.action.as_str())
            .collect()
    }
}
