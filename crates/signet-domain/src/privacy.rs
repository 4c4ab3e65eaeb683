//! Personal data on orders (design §1, support role): the subscriber's side and the vetting
//! officers who decide see it; other staff see it masked until they reveal it, and a reveal is
//! an audited event.

use crate::Refusal;
use crate::identity::IdentityInput;
use crate::order::{OrderFacts, is_owner_side};
use crate::role::{Actor, Permission};

/// Whether `actor` sees the order's personal data unmasked without asking.
pub fn sees_personal_data(order: &OrderFacts, actor: &Actor) -> bool {
    is_owner_side(order, actor) || actor.may(Permission::DecideOrders)
}

/// Whether `actor` may reveal the order's personal data (support and administrators).
pub fn check_reveal(actor: &Actor) -> Result<(), Refusal> {
    if actor.may(Permission::WorkSupportRequests) {
        Ok(())
    } else {
        Err(Refusal::NotAllowed(
            "only the support team reveals personal data".into(),
        ))
    }
}

/// Hides all but the first letter of each word, and of an address all but the first letter of
/// its mailbox (the domain stays: it tells support which organization writes).
pub fn mask(value: &str) -> String {
    if let Some((local, domain)) = value.split_once('@') {
        return format!("{}•••@{domain}", local.chars().next().unwrap_or('•'));
    }
    value
        .split(' ')
        .map(|w| match w.chars().next() {
            Some(first) => format!("{first}•••"),
            None => String::new(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl IdentityInput {
    /// The identity with the person's data masked; the organization and country stay.
    pub fn masked(&self) -> IdentityInput {
        IdentityInput {
            given_name: mask(&self.given_name),
            surname: mask(&self.surname),
            email: mask(&self.email),
            title: self.title.as_deref().map(mask),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_initials() {
        assert_eq!(mask("Max Muster"), "M••• M•••");
        assert_eq!(mask("max@example.de"), "m•••@example.de");
        assert_eq!(mask("Łódź-Şahin"), "Ł•••");
    }
}
