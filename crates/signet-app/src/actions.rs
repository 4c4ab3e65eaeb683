//! What a page or an API client may do next, as the domain decided it: every action of an
//! order or certificate with its verdict. Views carry these; nobody else keeps a table of them.

use serde::Serialize;
use signet_domain::order::Offer;

/// One action and whether the one asking may take it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionView {
    /// The action's name (`cancel`, `reissue`, …).
    pub action: String,
    /// Whether it is allowed.
    pub allowed: bool,
    /// Why not, when it is refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
}

/// The domain's offers as views.
pub fn views<A: Copy>(offers: &[Offer<A>], name: impl Fn(A) -> &'static str) -> Vec<ActionView> {
    offers
        .iter()
        .map(|o| ActionView {
            action: name(o.action).to_owned(),
            allowed: o.allowed(),
            refusal: o.refusal.as_ref().map(ToString::to_string),
        })
        .collect()
}

/// Whether `actions` allows the named action.
pub fn allows(actions: &[ActionView], action: &str) -> bool {
    actions.iter().any(|a| a.action == action && a.allowed)
}
