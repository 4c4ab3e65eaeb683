//! The order lifecycle (design §2) as a function: (order, event, actor, now) → next status and
//! effects, or a refusal that says why. Every R-ORD rule about who may do what lives here, and
//! [`order_actions`] derives from the same [`decide`] what a page may offer.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::Refusal;
use crate::config::Channel;
use crate::guard::PICKUP_LOCK_AFTER;
use crate::identity::same_mailbox;
use crate::role::{Actor, Permission, Role};

/// R-ORD-7: the owner may cancel an order ready for pickup for at most this long.
pub const CANCEL_WINDOW_AFTER_APPROVAL: Duration = Duration::days(7);

/// Where an order stands in its lifecycle (design §2). Stored and sent by the snake_case names of
/// [`OrderStatus::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed; waiting for the signed request form (R-ORD-5).
    AwaitingDocuments,
    /// In the vetting queue: the signed form is in (or the evidence carried over, R-ORD-7) and an
    /// officer decides (R-ORD-6).
    InReview,
    /// Vetting asked the subscriber a question; an answer or an upload sends it back to review.
    NeedsInfo,
    /// Approved (a reissue starts here, R-CRT-5); the single-use pickup link was mailed (R-KEY-1).
    ReadyForPickup,
    /// Picked up: the certificate exists. Final.
    Issued,
    /// Refused by vetting with a reason. Final.
    Rejected,
    /// Cancelled by its owner or by support (R-ORD-7). Final.
    Cancelled,
}

impl OrderStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::AwaitingDocuments,
        OrderStatus::InReview,
        OrderStatus::NeedsInfo,
        OrderStatus::ReadyForPickup,
        OrderStatus::Issued,
        OrderStatus::Rejected,
        OrderStatus::Cancelled,
    ];

    /// The wire and stored name, e.g. `ready_for_pickup`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::AwaitingDocuments => "awaiting_documents",
            OrderStatus::InReview => "in_review",
            OrderStatus::NeedsInfo => "needs_info",
            OrderStatus::ReadyForPickup => "ready_for_pickup",
            OrderStatus::Issued => "issued",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// Reads a wire or stored name; `None` for anything else.
    pub fn parse(text: &str) -> Option<OrderStatus> {
        OrderStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Reads a name a person gave (a filter, an argument): refused with the names there are.
    pub fn from_request(text: &str) -> Result<OrderStatus, Refusal> {
        OrderStatus::parse(text).ok_or_else(|| {
            let names: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
            Refusal::InvalidInput(format!(
                "unknown order status `{text}`: use one of {}",
                names.join(", ")
            ))
        })
    }

    /// No event leaves these.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderStatus::Issued | OrderStatus::Rejected | OrderStatus::Cancelled
        )
    }
}

/// How an order came to be (R-ORD-7, R-CRT-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    /// Placed from scratch.
    New,
    /// Placed again from a cancelled or rejected order, identity unchanged.
    Reorder,
    /// A new period for an issued certificate.
    Renewal,
    /// A new key for an issued certificate, same identity and end date.
    Reissue,
}

impl OrderKind {
    /// Every kind.
    pub const ALL: [OrderKind; 4] = [
        OrderKind::New,
        OrderKind::Reorder,
        OrderKind::Renewal,
        OrderKind::Reissue,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderKind::New => "new",
            OrderKind::Reorder => "reorder",
            OrderKind::Renewal => "renewal",
            OrderKind::Reissue => "reissue",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<OrderKind> {
        OrderKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether an order of this kind, with a predecessor, carries its vetting evidence over
    /// (support may expedite it, R-ORD-7).
    pub fn carries_evidence(self) -> bool {
        matches!(self, OrderKind::Reorder | OrderKind::Renewal)
    }
}

/// Document kinds (design §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// A copy of the person's identity document (`id_copy`).
    IdCopy,
    /// The signed and stamped request form (`signed_agreement`); its arrival starts vetting
    /// (R-ORD-5).
    SignedAgreement,
    /// The organization's registration documents (`business_registration`).
    BusinessRegistration,
    /// Anything else vetting asked for (`other`).
    Other,
}

impl DocumentKind {
    /// The wire and stored name, e.g. `signed_agreement`.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::IdCopy => "id_copy",
            DocumentKind::SignedAgreement => "signed_agreement",
            DocumentKind::BusinessRegistration => "business_registration",
            DocumentKind::Other => "other",
        }
    }

    /// Reads a wire or stored name; `None` for anything else.
    pub fn parse(text: &str) -> Option<DocumentKind> {
        use DocumentKind::*;
        [IdCopy, SignedAgreement, BusinessRegistration, Other]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// Largest document accepted (R-ORD-5).
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// R-ORD-5: uploads are PDF, PNG or JPEG, recognised by their content, not their name.
pub fn document_media_type(content: &[u8]) -> Result<&'static str, Refusal> {
    if content.is_empty() {
        return Err(Refusal::InvalidInput("the uploaded file is empty".into()));
    }
    if content.len() > MAX_DOCUMENT_BYTES {
        return Err(Refusal::TooLarge(format!(
            "the file is {} bytes; the limit is {MAX_DOCUMENT_BYTES} bytes (10 MiB)",
            content.len()
        )));
    }
    if content.starts_with(b"%PDF-") {
        Ok("application/pdf")
    } else if content.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok("image/png")
    } else if content.starts_with(&[0xff, 0xd8, 0xff]) {
        Ok("image/jpeg")
    } else {
        Err(Refusal::InvalidInput(
            "only PDF, PNG and JPEG files are accepted (checked by content)".into(),
        ))
    }
}

/// R-ORD-1: the answer to any attempt to change an order's details.
pub fn change_refused() -> Refusal {
    Refusal::Conflict(
        "order details are locked once the order is placed; cancel this order and place a new one (reorder) with the corrections".into(),
    )
}

/// What the rules need to know about an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFacts {
    /// Its status now.
    pub status: OrderStatus,
    /// The account that placed the order (the subscriber, or the agent for agent-channel orders).
    pub placed_by: i64,
    /// The agent who attested an in-person check, if any.
    pub attested_by: Option<i64>,
    /// The channel the order was placed in (R-ORD-8), fixed at creation.
    pub channel: Channel,
    /// The subject's country, upper case: agents of this region are on the order's side.
    pub country: String,
    /// Whether the approval e-mail's confirmation link was followed (R-ORD-2); approval waits for
    /// it.
    pub approval_email_confirmed: bool,
    /// Whether a signed request form is attached (R-ORD-5); approval waits for it.
    pub has_signed_agreement: bool,
    /// When the order became ready for pickup.
    pub ready_since: Option<OffsetDateTime>,
    /// A reorder whose locked identity equals its predecessor's: the vetting evidence carried
    /// over.
    pub evidence_carried_over: bool,
    /// The e-mail addresses the order names (the subject's and the approver's): separation of
    /// duties keeps their holders from deciding it.
    pub named_addresses: Vec<String>,
    /// Wrong pickup passwords counted so far; at [`PICKUP_LOCK_AFTER`] the pickup is locked
    /// until support unlocks it (R-KEY-4).
    pub pickup_failures: u32,
}

impl OrderFacts {
    /// Whether too many wrong pickup passwords locked the pickup (R-KEY-4).
    pub fn pickup_locked(&self) -> bool {
        self.pickup_failures >= PICKUP_LOCK_AFTER
    }

    /// Wrong pickup passwords left before the pickup locks.
    pub fn pickup_tries_left(&self) -> u32 {
        PICKUP_LOCK_AFTER.saturating_sub(self.pickup_failures)
    }
}

/// Something that happens to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderEvent {
    /// A document was uploaded.
    DocumentUploaded(DocumentKind),
    /// The subscriber answered a request for information with a message.
    InfoSupplied,
    /// An agent attests an in-person identity check.
    Attest,
    /// A vetting officer approves (R-ORD-6).
    Approve,
    /// A vetting officer rejects (R-ORD-6).
    Reject {
        /// Why, mailed to the subscriber; must not be blank.
        reason: String,
    },
    /// A vetting officer asks the subscriber for more (R-ORD-6).
    RequestInfo {
        /// The question, mailed and shown in the portal; must not be blank.
        message: String,
    },
    /// The owner or support cancels (R-ORD-7).
    Cancel,
    /// The certificate was picked up: the link and the right pickup password (R-KEY-1…3).
    PickedUp,
    /// A pickup was tried with a wrong pickup password (R-KEY-4): counted; the last try allowed
    /// locks the pickup.
    WrongPickupPassword,
    /// Support lets a locked pickup be tried again (R-KEY-4).
    UnlockPickup,
    /// Support sends a reorder with carried-over evidence straight to vetting (R-ORD-7).
    Expedite,
    /// The owner orders again from this order (R-ORD-7): an open order is cancelled first.
    Reorder,
    /// Support mails a fresh pickup link (the old one dies).
    ResendPickupLink,
    /// Support mails a fresh approval-address confirmation link.
    ResendConfirmation,
}

/// What follows from a transition, for the application to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Mail the pickup link to the subscriber.
    MailPickupLink,
    /// Mail the subscriber the rejection reason.
    MailRejection,
    /// Mail the subscriber the vetting team's question.
    MailInfoRequest,
    /// Mail the approver a fresh confirmation link.
    MailApprovalLink,
    /// Tell the vetting team an order is waiting (no mail yet; the queue shows it).
    QueueForVetting,
    /// Record that `actor` attested the order.
    RecordAttestation,
    /// Count one wrong pickup password.
    CountPickupFailure,
    /// Set the count of wrong pickup passwords back to zero.
    ResetPickupFailures,
}

/// The outcome of an allowed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The status to move to; may equal the current one (an upload that does not start vetting, an
    /// attestation).
    pub next: OrderStatus,
    /// What the application carries out with the change, in the same unit of work.
    pub effects: Vec<Effect>,
}

fn refuse(why: impl Into<String>) -> Refusal {
    Refusal::NotAllowed(why.into())
}

fn conflict(why: impl Into<String>) -> Refusal {
    Refusal::Conflict(why.into())
}

/// May `actor` see and act on this order as its side (owner, or agent of its region)?
pub fn is_owner_side(order: &OrderFacts, actor: &Actor) -> bool {
    actor.account == order.placed_by
        || (actor.role == Role::Agent && actor.region.as_deref() == Some(order.country.as_str()))
}

/// May `actor` read this order at all? Owners, agents of the region, and CA staff.
pub fn may_view(order: &OrderFacts, actor: &Actor) -> bool {
    is_owner_side(order, actor) || actor.may(Permission::ViewAnyOrder)
}

/// The buttons an order page may show: each action with the event that stands for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderAction {
    /// Upload a document.
    Upload,
    /// Answer vetting's question.
    SupplyInfo,
    /// Attest the in-person check.
    Attest,
    /// Approve the order.
    Approve,
    /// Reject it with a reason.
    Reject,
    /// Ask the subscriber for information.
    RequestInfo,
    /// Cancel it.
    Cancel,
    /// Order again from it.
    Reorder,
    /// Send a reorder with carried-over evidence to vetting.
    Expedite,
    /// Mail a fresh pickup link.
    ResendPickupLink,
    /// Mail a fresh approval-address confirmation.
    ResendConfirmation,
    /// Let a locked pickup be tried again.
    UnlockPickup,
}

impl OrderAction {
    /// Every action, in the order a page lists them.
    pub const ALL: [OrderAction; 12] = [
        OrderAction::Upload,
        OrderAction::SupplyInfo,
        OrderAction::Attest,
        OrderAction::Approve,
        OrderAction::Reject,
        OrderAction::RequestInfo,
        OrderAction::Cancel,
        OrderAction::Reorder,
        OrderAction::Expedite,
        OrderAction::ResendPickupLink,
        OrderAction::ResendConfirmation,
        OrderAction::UnlockPickup,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderAction::Upload => "upload",
            OrderAction::SupplyInfo => "supply_info",
            OrderAction::Attest => "attest",
            OrderAction::Approve => "approve",
            OrderAction::Reject => "reject",
            OrderAction::RequestInfo => "request_info",
            OrderAction::Cancel => "cancel",
            OrderAction::Reorder => "reorder",
            OrderAction::Expedite => "expedite",
            OrderAction::ResendPickupLink => "resend_pickup_link",
            OrderAction::ResendConfirmation => "resend_confirmation",
            OrderAction::UnlockPickup => "unlock_pickup",
        }
    }

    /// The event this action submits. Free text (a reason, a message) is a placeholder: whether
    /// the text is acceptable is decided when it is sent.
    pub fn event(self) -> OrderEvent {
        match self {
            OrderAction::Upload => OrderEvent::DocumentUploaded(DocumentKind::Other),
            OrderAction::SupplyInfo => OrderEvent::InfoSupplied,
            OrderAction::Attest => OrderEvent::Attest,
            OrderAction::Approve => OrderEvent::Approve,
            OrderAction::Reject => OrderEvent::Reject {
                reason: "reason".into(),
            },
            OrderAction::RequestInfo => OrderEvent::RequestInfo {
                message: "message".into(),
            },
            OrderAction::Cancel => OrderEvent::Cancel,
            OrderAction::Reorder => OrderEvent::Reorder,
            OrderAction::Expedite => OrderEvent::Expedite,
            OrderAction::ResendPickupLink => OrderEvent::ResendPickupLink,
            OrderAction::ResendConfirmation => OrderEvent::ResendConfirmation,
            OrderAction::UnlockPickup => OrderEvent::UnlockPickup,
        }
    }
}

/// An action with the domain's verdict on it: allowed, or refused with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer<A> {
    /// The action.
    pub action: A,
    /// `None` when allowed; otherwise why not.
    pub refusal: Option<Refusal>,
}

impl<A> Offer<A> {
    /// Whether the action is allowed.
    pub fn allowed(&self) -> bool {
        self.refusal.is_none()
    }
}

/// What `actor` may do to `order` now: every action with [`decide`]'s verdict. Pages and the API
/// render from this and keep no table of their own.
pub fn order_actions(
    order: &OrderFacts,
    actor: &Actor,
    now: OffsetDateTime,
) -> Vec<Offer<OrderAction>> {
    OrderAction::ALL
        .into_iter()
        .map(|action| Offer {
            action,
            refusal: decide(order, &action.event(), actor, now).err(),
        })
        .collect()
}

/// Applies the lifecycle rules.
pub fn decide(
    order: &OrderFacts,
    event: &OrderEvent,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<Transition, Refusal> {
    use OrderStatus::*;
    let status = order.status;
    let to = |next: OrderStatus, effects: Vec<Effect>| Ok(Transition { next, effects });
    match event {
        OrderEvent::DocumentUploaded(kind) => {
            if !is_owner_side(order, actor) {
                return Err(refuse(
                    "only the subscriber who placed the order or a registration agent of its region can upload documents",
                ));
            }
            match status {
                AwaitingDocuments if *kind == DocumentKind::SignedAgreement => {
                    to(InReview, vec![Effect::QueueForVetting])
                }
                AwaitingDocuments if order.has_signed_agreement => {
                    to(InReview, vec![Effect::QueueForVetting])
                }
                AwaitingDocuments | InReview => to(status, vec![]),
                NeedsInfo => to(InReview, vec![Effect::QueueForVetting]),
                _ => Err(conflict(format!(
                    "documents cannot be added to an order that is {}",
                    status.as_str()
                ))),
            }
        }
        OrderEvent::InfoSupplied => {
            if !is_owner_side(order, actor) {
                return Err(refuse(
                    "only the subscriber who placed the order or its registration agent can answer",
                ));
            }
            match status {
                NeedsInfo => to(InReview, vec![Effect::QueueForVetting]),
                _ => Err(conflict("nobody asked for information on this order")),
            }
        }
        OrderEvent::Attest => {
            if !actor.may(Permission::Attest)
                || actor.region.as_deref() != Some(order.country.as_str())
            {
                return Err(refuse(format!(
                    "only a registration agent for {} can attest this order",
                    order.country
                )));
            }
            if order.attested_by.is_some() {
                return Err(conflict("this order's in-person check is already attested"));
            }
            match status {
                AwaitingDocuments | InReview | NeedsInfo => {
                    to(status, vec![Effect::RecordAttestation])
                }
                _ => Err(conflict(format!(
                    "an order that is {} cannot be attested",
                    status.as_str()
                ))),
            }
        }
        OrderEvent::Approve | OrderEvent::Reject { .. } | OrderEvent::RequestInfo { .. } => {
            if !actor.may(Permission::DecideOrders) {
                return Err(refuse("only vetting officers decide on orders"));
            }
            if actor.account == order.placed_by || order.attested_by == Some(actor.account) {
                return Err(refuse(
                    "separation of duties: you cannot decide on an order you placed or attested",
                ));
            }
            if order
                .named_addresses
                .iter()
                .any(|a| same_mailbox(a, &actor.email))
            {
                return Err(refuse(
                    "separation of duties: this order names your own e-mail address; another vetting officer must decide it",
                ));
            }
            match (event, status) {
                (OrderEvent::Approve, InReview) => {
                    if !order.approval_email_confirmed {
                        return Err(conflict(
                            "the approval e-mail address has not been confirmed yet; it must be before approval",
                        ));
                    }
                    if !order.has_signed_agreement {
                        return Err(conflict("the signed request form has not been received"));
                    }
                    to(ReadyForPickup, vec![Effect::MailPickupLink])
                }
                (OrderEvent::Reject { reason }, InReview | NeedsInfo) => {
                    if reason.trim().is_empty() {
                        return Err(Refusal::InvalidInput(
                            "a rejection needs a reason for the subscriber".into(),
                        ));
                    }
                    to(Rejected, vec![Effect::MailRejection])
                }
                (OrderEvent::RequestInfo { message }, InReview) => {
                    if message.trim().is_empty() {
                        return Err(Refusal::InvalidInput(
                            "a request for information needs a message".into(),
                        ));
                    }
                    to(NeedsInfo, vec![Effect::MailInfoRequest])
                }
                _ => Err(conflict(format!(
                    "an order that is {} cannot take this decision",
                    status.as_str()
                ))),
            }
        }
        OrderEvent::Cancel => {
            let owner = actor.account == order.placed_by;
            let support = actor.may(Permission::ActForSubscribers);
            if !owner && !support {
                return Err(refuse(
                    "only the account that placed this order can cancel it (or support, on request)",
                ));
            }
            match status {
                AwaitingDocuments | InReview | NeedsInfo => to(Cancelled, vec![]),
                ReadyForPickup => {
                    // Without a record of when it became ready, the owner's window is over:
                    // the safe side is support's.
                    let within = order
                        .ready_since
                        .is_some_and(|since| now - since <= CANCEL_WINDOW_AFTER_APPROVAL);
                    if support || within {
                        to(Cancelled, vec![])
                    } else {
                        Err(conflict(
                            "this order has been ready for pickup for more than 7 days; ask support to cancel it",
                        ))
                    }
                }
                _ => Err(conflict(format!(
                    "an order that is {} cannot be cancelled",
                    status.as_str()
                ))),
            }
        }
        OrderEvent::Expedite => {
            if !actor.may(Permission::ActForSubscribers) {
                return Err(refuse("only support can expedite an order"));
            }
            match status {
                AwaitingDocuments if order.evidence_carried_over => {
                    to(InReview, vec![Effect::QueueForVetting])
                }
                AwaitingDocuments => Err(conflict(
                    "only a reorder with unchanged identity carries its vetting evidence over; this order needs its documents",
                )),
                _ => Err(conflict(format!(
                    "an order that is {} cannot be expedited",
                    status.as_str()
                ))),
            }
        }
        OrderEvent::Reorder => {
            if actor.account != order.placed_by {
                return Err(refuse(
                    "only the account that placed this order can reorder it",
                ));
            }
            match status {
                Issued => Err(conflict(
                    "this order was issued; renew or reissue its certificate instead",
                )),
                Rejected | Cancelled => to(status, vec![]),
                _ => decide(order, &OrderEvent::Cancel, actor, now),
            }
        }
        OrderEvent::ResendPickupLink | OrderEvent::ResendConfirmation => {
            if !actor.may(Permission::WorkSupportRequests) {
                return Err(refuse("only the support team re-sends links"));
            }
            match event {
                OrderEvent::ResendPickupLink if status == ReadyForPickup => {
                    to(status, vec![Effect::MailPickupLink])
                }
                OrderEvent::ResendPickupLink => Err(conflict(format!(
                    "the order is {}: only an order ready for pickup has a pickup link",
                    status.as_str()
                ))),
                _ if order.approval_email_confirmed => {
                    Err(conflict("the approval address is already confirmed"))
                }
                _ if matches!(status, AwaitingDocuments | InReview | NeedsInfo) => {
                    to(status, vec![Effect::MailApprovalLink])
                }
                _ => Err(conflict(format!(
                    "the order is {}: its approval address no longer matters",
                    status.as_str()
                ))),
            }
        }
        OrderEvent::PickedUp | OrderEvent::WrongPickupPassword => match status {
            ReadyForPickup if order.pickup_locked() => Err(Refusal::Locked(
                "too many wrong pickup passwords: the pickup is locked; contact support with your order number".into(),
            )),
            ReadyForPickup if *event == OrderEvent::PickedUp => to(Issued, vec![]),
            ReadyForPickup => to(status, vec![Effect::CountPickupFailure]),
            _ => Err(conflict(format!(
                "an order that is {} cannot be picked up",
                status.as_str()
            ))),
        },
        OrderEvent::UnlockPickup => {
            if !actor.may(Permission::WorkSupportRequests) {
                return Err(refuse("only the support team unlocks a pickup"));
            }
            match status {
                ReadyForPickup if order.pickup_locked() => {
                    to(status, vec![Effect::ResetPickupFailures])
                }
                ReadyForPickup => Err(conflict(format!(
                    "the pickup is not locked: {} wrong pickup passwords left",
                    order.pickup_tries_left()
                ))),
                _ => Err(conflict(format!(
                    "the order is {}: only an order ready for pickup has a pickup to unlock",
                    status.as_str()
                ))),
            }
        }
    }
}

/// R-ORD-8: self-service accounts order only for self-service countries; agents only for theirs.
pub fn check_may_order(actor: &Actor, channel: Channel, country: &str) -> Result<(), Refusal> {
    match (actor.role, channel) {
        (Role::Subscriber, Channel::SelfService) => Ok(()),
        (Role::Subscriber, Channel::Agent) => Err(refuse(format!(
            "orders for {country} go through a registration agent (agent channel); contact your Chamber of Commerce, notary or partner agent"
        ))),
        (Role::Agent, _) if actor.region.as_deref() == Some(country) => Ok(()),
        (Role::Agent, _) => Err(refuse(format!(
            "you are a registration agent for {}, not {country}",
            actor.region.as_deref().unwrap_or("no region")
        ))),
        _ => Err(refuse(
            "staff accounts other than registration agents do not place orders",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 12:00 UTC);

    fn order(status: OrderStatus) -> OrderFacts {
        OrderFacts {
            status,
            placed_by: 1,
            attested_by: Some(3),
            channel: Channel::SelfService,
            country: "DE".into(),
            approval_email_confirmed: true,
            has_signed_agreement: true,
            ready_since: Some(NOW - Duration::days(2)),
            evidence_carried_over: false,
            named_addresses: vec!["max@example.com".into(), "approver@example.com".into()],
            pickup_failures: 0,
        }
    }

    fn actor(account: i64, role: Role) -> Actor {
        Actor {
            account,
            role,
            region: if role == Role::Agent {
                Some("DE".into())
            } else {
                None
            },
            email: format!("account{account}@example.net"),
        }
    }

    #[test]
    fn lifecycle_table() {
        use OrderStatus::*;
        let owner = actor(1, Role::Subscriber);
        let stranger = actor(9, Role::Subscriber);
        let vetting = actor(2, Role::Vetting);
        let attesting_vetting = actor(3, Role::Vetting);
        let support = actor(4, Role::Support);
        let agent = actor(5, Role::Agent);
        let upload = OrderEvent::DocumentUploaded(DocumentKind::SignedAgreement);
        let reject = OrderEvent::Reject {
            reason: "ID expired".into(),
        };
        let ask = OrderEvent::RequestInfo {
            message: "Please send the back of the ID".into(),
        };
        // (status, event, actor, expected next status or None for a refusal)
        let table: Vec<(OrderStatus, &OrderEvent, &Actor, Option<OrderStatus>)> = vec![
            (AwaitingDocuments, &upload, &owner, Some(InReview)),
            (AwaitingDocuments, &upload, &agent, Some(InReview)),
            (AwaitingDocuments, &upload, &stranger, None),
            (
                InReview,
                &OrderEvent::Approve,
                &vetting,
                Some(ReadyForPickup),
            ),
            (InReview, &OrderEvent::Approve, &attesting_vetting, None),
            (InReview, &OrderEvent::Approve, &support, None),
            (AwaitingDocuments, &OrderEvent::Approve, &vetting, None),
            (InReview, &reject, &vetting, Some(Rejected)),
            (InReview, &ask, &vetting, Some(NeedsInfo)),
            (NeedsInfo, &OrderEvent::InfoSupplied, &owner, Some(InReview)),
            (NeedsInfo, &upload, &owner, Some(InReview)),
            (NeedsInfo, &reject, &vetting, Some(Rejected)),
            (InReview, &OrderEvent::Cancel, &owner, Some(Cancelled)),
            (InReview, &OrderEvent::Cancel, &stranger, None),
            (InReview, &OrderEvent::Cancel, &support, Some(Cancelled)),
            (ReadyForPickup, &OrderEvent::Cancel, &owner, Some(Cancelled)),
            (Issued, &OrderEvent::Cancel, &owner, None),
            (ReadyForPickup, &OrderEvent::PickedUp, &owner, Some(Issued)),
            (Issued, &OrderEvent::PickedUp, &owner, None),
            (Rejected, &upload, &owner, None),
            // The fixture is attested already (by account 3): no second attestation.
            (InReview, &OrderEvent::Attest, &agent, None),
            (InReview, &OrderEvent::Attest, &owner, None),
            (AwaitingDocuments, &OrderEvent::Expedite, &support, None),
            (AwaitingDocuments, &OrderEvent::Expedite, &owner, None),
        ];
        for (status, event, who, expected) in table {
            let got = decide(&order(status), event, who, NOW).map(|t| t.next).ok();
            assert_eq!(got, expected, "{status:?} + {event:?} by {who:?}");
        }
    }

    /// Every status × event × actor × channel against a specification written independently of
    /// `decide`, and `order_actions` agrees with `decide` on each cell.
    #[test]
    fn every_status_event_actor_and_channel() {
        use OrderStatus::*;
        #[derive(Debug, Clone, Copy, PartialEq)]
        enum Who {
            Owner,
            Stranger,
            RegionAgent,
            OtherAgent,
            Vetting,
            VettingNamed,
            Support,
            Admin,
            Auditor,
        }
        let whos = [
            Who::Owner,
            Who::Stranger,
            Who::RegionAgent,
            Who::OtherAgent,
            Who::Vetting,
            Who::VettingNamed,
            Who::Support,
            Who::Admin,
            Who::Auditor,
        ];
        let events = [
            OrderEvent::DocumentUploaded(DocumentKind::IdCopy),
            OrderEvent::InfoSupplied,
            OrderEvent::Attest,
            OrderEvent::Approve,
            OrderEvent::Reject { reason: "r".into() },
            OrderEvent::RequestInfo {
                message: "m".into(),
            },
            OrderEvent::Cancel,
            OrderEvent::Expedite,
            OrderEvent::Reorder,
            OrderEvent::PickedUp,
            OrderEvent::ResendPickupLink,
            OrderEvent::ResendConfirmation,
            OrderEvent::WrongPickupPassword,
            OrderEvent::UnlockPickup,
        ];
        let mut cells = 0;
        for channel in [Channel::SelfService, Channel::Agent] {
            for (status, locked) in OrderStatus::ALL
                .into_iter()
                .flat_map(|s| [(s, false), (s, true)])
            {
                let mut facts = order(status);
                facts.channel = channel;
                facts.attested_by = None;
                facts.evidence_carried_over = true;
                facts.pickup_failures = if locked { PICKUP_LOCK_AFTER } else { 1 };
                let owner = match channel {
                    Channel::SelfService => actor(1, Role::Subscriber),
                    Channel::Agent => actor(1, Role::Agent),
                };
                for who in whos {
                    let a = match who {
                        Who::Owner => owner.clone(),
                        Who::Stranger => actor(9, Role::Subscriber),
                        Who::RegionAgent => actor(5, Role::Agent),
                        Who::OtherAgent => Actor {
                            region: Some("FR".into()),
                            ..actor(6, Role::Agent)
                        },
                        Who::Vetting => actor(2, Role::Vetting),
                        Who::VettingNamed => Actor {
                            email: "Approver@Example.com".into(),
                            ..actor(7, Role::Vetting)
                        },
                        Who::Support => actor(4, Role::Support),
                        Who::Admin => actor(8, Role::Admin),
                        Who::Auditor => actor(10, Role::Auditor),
                    };
                    let owner_side = who == Who::Owner || who == Who::RegionAgent;
                    let agent_here =
                        who == Who::RegionAgent || (who == Who::Owner && channel == Channel::Agent);
                    let open = matches!(status, AwaitingDocuments | InReview | NeedsInfo);
                    for event in &events {
                        let expected = match event {
                            OrderEvent::DocumentUploaded(_) => owner_side && open,
                            OrderEvent::InfoSupplied => owner_side && status == NeedsInfo,
                            OrderEvent::Attest => agent_here && open,
                            OrderEvent::Approve | OrderEvent::RequestInfo { .. } => {
                                who == Who::Vetting && status == InReview
                            }
                            OrderEvent::Reject { .. } => {
                                who == Who::Vetting && matches!(status, InReview | NeedsInfo)
                            }
                            OrderEvent::Cancel => {
                                matches!(who, Who::Owner | Who::Support)
                                    && (open || status == ReadyForPickup)
                            }
                            OrderEvent::Expedite => {
                                who == Who::Support && status == AwaitingDocuments
                            }
                            OrderEvent::Reorder => who == Who::Owner && status != Issued,
                            // Whoever holds the link; a locked pickup needs support first.
                            OrderEvent::PickedUp | OrderEvent::WrongPickupPassword => {
                                status == ReadyForPickup && !locked
                            }
                            OrderEvent::UnlockPickup => {
                                matches!(who, Who::Support | Who::Admin)
                                    && status == ReadyForPickup
                                    && locked
                            }
                            OrderEvent::ResendPickupLink => {
                                matches!(who, Who::Support | Who::Admin) && status == ReadyForPickup
                            }
                            // The fixture's approval address is confirmed already.
                            OrderEvent::ResendConfirmation => false,
                        };
                        let got = decide(&facts, event, &a, NOW);
                        assert_eq!(
                            got.is_ok(),
                            expected,
                            "{channel:?} {status:?} locked={locked} {event:?} by {who:?}: {got:?}"
                        );
                        cells += 1;
                    }
                    for offer in order_actions(&facts, &a, NOW) {
                        let decided = decide(&facts, &offer.action.event(), &a, NOW);
                        assert_eq!(offer.refusal, decided.err(), "{:?}", offer.action);
                    }
                }
            }
        }
        assert_eq!(cells, 2 * 7 * 2 * 9 * 14);
    }

    #[test]
    fn support_resends_the_confirmation_of_an_open_unconfirmed_order() {
        let support = actor(4, Role::Support);
        let mut o = order(OrderStatus::InReview);
        o.approval_email_confirmed = false;
        let t = decide(&o, &OrderEvent::ResendConfirmation, &support, NOW).expect("resend");
        assert_eq!(t.effects, vec![Effect::MailApprovalLink]);
        assert!(
            decide(
                &o,
                &OrderEvent::ResendConfirmation,
                &actor(1, Role::Subscriber),
                NOW
            )
            .is_err()
        );
        o.status = OrderStatus::Cancelled;
        assert!(decide(&o, &OrderEvent::ResendConfirmation, &support, NOW).is_err());
    }

    #[test]
    fn an_officer_named_by_the_order_does_not_decide_it() {
        let o = order(OrderStatus::InReview);
        let named = Actor {
            email: "MAX@example.com".into(),
            ..actor(7, Role::Vetting)
        };
        let err = decide(&o, &OrderEvent::Approve, &named, NOW).expect_err("named");
        assert!(err.to_string().contains("names your own e-mail"), "{err}");
    }

    #[test]
    fn an_attested_order_is_not_attested_again() {
        let mut o = order(OrderStatus::InReview);
        o.attested_by = Some(5);
        assert!(decide(&o, &OrderEvent::Attest, &actor(5, Role::Agent), NOW).is_err());
    }

    #[test]
    fn approval_needs_a_confirmed_approval_email_and_the_signed_form() {
        let vetting = actor(2, Role::Vetting);
        let mut o = order(OrderStatus::InReview);
        o.approval_email_confirmed = false;
        let err = decide(&o, &OrderEvent::Approve, &vetting, NOW).expect_err("unconfirmed");
        assert!(err.to_string().contains("approval e-mail"), "{err}");
        let mut o = order(OrderStatus::InReview);
        o.has_signed_agreement = false;
        assert!(decide(&o, &OrderEvent::Approve, &vetting, NOW).is_err());
    }

    #[test]
    fn wrong_pickup_passwords_lock_the_pickup_until_support_unlocks_it() {
        let link_holder = actor(0, Role::Subscriber);
        let support = actor(4, Role::Support);
        let mut o = order(OrderStatus::ReadyForPickup);
        for failures in 0..PICKUP_LOCK_AFTER {
            o.pickup_failures = failures;
            let t =
                decide(&o, &OrderEvent::WrongPickupPassword, &link_holder, NOW).expect("counted");
            assert_eq!(t.effects, vec![Effect::CountPickupFailure]);
            assert_eq!(t.next, OrderStatus::ReadyForPickup);
            assert!(decide(&o, &OrderEvent::UnlockPickup, &support, NOW).is_err());
        }
        o.pickup_failures = PICKUP_LOCK_AFTER;
        assert!(o.pickup_locked());
        assert_eq!(o.pickup_tries_left(), 0);
        for event in [OrderEvent::PickedUp, OrderEvent::WrongPickupPassword] {
            let err = decide(&o, &event, &link_holder, NOW).expect_err("locked");
            assert!(matches!(err, Refusal::Locked(_)), "{err:?}");
        }
        assert!(
            decide(
                &o,
                &OrderEvent::UnlockPickup,
                &actor(1, Role::Subscriber),
                NOW
            )
            .is_err()
        );
        let t = decide(&o, &OrderEvent::UnlockPickup, &support, NOW).expect("unlock");
        assert_eq!(t.effects, vec![Effect::ResetPickupFailures]);
    }

    #[test]
    fn a_ready_order_without_its_ready_time_is_not_cancelled_by_the_owner() {
        let mut o = order(OrderStatus::ReadyForPickup);
        o.ready_since = None;
        assert!(decide(&o, &OrderEvent::Cancel, &actor(1, Role::Subscriber), NOW).is_err());
        assert!(decide(&o, &OrderEvent::Cancel, &actor(4, Role::Support), NOW).is_ok());
    }

    #[test]
    fn owner_cancel_window_is_seven_days() {
        let owner = actor(1, Role::Subscriber);
        let mut o = order(OrderStatus::ReadyForPickup);
        o.ready_since = Some(NOW - Duration::days(7));
        assert!(decide(&o, &OrderEvent::Cancel, &owner, NOW).is_ok());
        o.ready_since = Some(NOW - Duration::days(8));
        let err = decide(&o, &OrderEvent::Cancel, &owner, NOW).expect_err("too late");
        assert!(err.to_string().contains("more than 7 days"), "{err}");
        assert!(decide(&o, &OrderEvent::Cancel, &actor(4, Role::Support), NOW).is_ok());
        let err = decide(
            &order(OrderStatus::InReview),
            &OrderEvent::Cancel,
            &actor(9, Role::Subscriber),
            NOW,
        )
        .expect_err("stranger");
        assert!(
            err.to_string()
                .contains("only the account that placed this order"),
            "{err}"
        );
    }

    #[test]
    fn support_expedites_reorders_with_carried_evidence() {
        let mut o = order(OrderStatus::AwaitingDocuments);
        o.evidence_carried_over = true;
        let t = decide(&o, &OrderEvent::Expedite, &actor(4, Role::Support), NOW).expect("expedite");
        assert_eq!(t.next, OrderStatus::InReview);
        assert!(decide(&o, &OrderEvent::Expedite, &actor(1, Role::Subscriber), NOW).is_err());
    }

    #[test]
    fn empty_reasons_are_refused() {
        let vetting = actor(2, Role::Vetting);
        let o = order(OrderStatus::InReview);
        assert!(
            decide(
                &o,
                &OrderEvent::Reject { reason: " ".into() },
                &vetting,
                NOW
            )
            .is_err()
        );
        assert!(
            decide(
                &o,
                &OrderEvent::RequestInfo {
                    message: String::new()
                },
                &vetting,
                NOW
            )
            .is_err()
        );
    }

    #[test]
    fn documents_are_recognised_by_content() {
        assert_eq!(document_media_type(b"%PDF-1.7 ..."), Ok("application/pdf"));
        assert_eq!(
            document_media_type(b"\x89PNG\r\n\x1a\n...."),
            Ok("image/png")
        );
        assert_eq!(
            document_media_type(&[0xff, 0xd8, 0xff, 0xe0]),
            Ok("image/jpeg")
        );
        assert!(document_media_type(b"MZ executable").is_err());
        assert!(document_media_type(b"").is_err());
        assert!(document_media_type(&vec![b'%'; MAX_DOCUMENT_BYTES + 1]).is_err());
    }

    #[test]
    fn channels_decide_who_orders() {
        let sub = actor(1, Role::Subscriber);
        assert!(check_may_order(&sub, Channel::SelfService, "DE").is_ok());
        let err = check_may_order(&sub, Channel::Agent, "BE").expect_err("agent channel");
        assert!(err.to_string().contains("registration agent"));
        let agent = Actor {
            account: 5,
            role: Role::Agent,
            region: Some("BE".into()),
            email: "agent@example.be".into(),
        };
        assert!(check_may_order(&agent, Channel::Agent, "BE").is_ok());
        assert!(check_may_order(&agent, Channel::Agent, "NL").is_err());
        assert!(check_may_order(&actor(2, Role::Vetting), Channel::SelfService, "DE").is_err());
    }
}
