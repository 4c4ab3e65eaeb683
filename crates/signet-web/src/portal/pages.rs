//! The templates and the values they show. askama checks each template against its struct when
//! the crate compiles and escapes every value for HTML.

use askama::Template;

/// What the page frame needs: who is logged in, and the CSRF token for its forms.
#[derive(Debug, Clone)]
pub struct Nav {
    pub user: Option<String>,
    pub csrf: String,
    /// Staff see the vetting queue in the navigation.
    pub staff: bool,
    pub admin: bool,
    pub support: bool,
    /// For staff who sign decisions: their address, which names the key `officer.js` keeps in
    /// this browser.
    pub officer: Option<String>,
    /// The alerts showing now: (kind, title), as a banner on every page.
    pub alerts: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub nav: Nav,
}

#[derive(Template)]
#[template(path = "help.html")]
pub struct HelpPage {
    pub nav: Nav,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub nav: Nav,
    pub title: String,
    pub message: String,
}

/// One input of a simple form.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: &'static str,
    pub value: String,
    pub autocomplete: &'static str,
    pub hint: &'static str,
    pub required: bool,
}

impl Field {
    pub fn new(
        name: &'static str,
        label: &'static str,
        kind: &'static str,
        value: &str,
        autocomplete: &'static str,
    ) -> Field {
        Field {
            name,
            label,
            kind,
            value: value.to_owned(),
            autocomplete,
            hint: "",
            required: true,
        }
    }

    pub fn optional(mut self) -> Field {
        self.required = false;
        self
    }

    pub fn hint(mut self, hint: &'static str) -> Field {
        self.hint = hint;
        self
    }
}

#[derive(Template)]
#[template(path = "form_page.html")]
pub struct FormPage {
    pub nav: Nav,
    pub title: String,
    pub action: String,
    pub submit: String,
    pub error: Option<String>,
    pub notice: Option<String>,
    pub show_form: bool,
    pub fields: Vec<Field>,
    pub links: Vec<(String, String)>,
}

pub struct OrderRow {
    pub number: String,
    pub product: String,
    pub status: String,
    pub placed: String,
}

pub struct CertificateRow {
    pub serial: String,
    pub order: String,
    pub status: String,
    pub status_class: String,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub nav: Nav,
    pub orders: Vec<OrderRow>,
    pub certificates: Vec<CertificateRow>,
}

#[derive(Template)]
#[template(path = "order_form.html")]
pub struct OrderFormPage {
    pub nav: Nav,
    pub products: Vec<(String, String)>,
    pub validity_months: u32,
    pub key_types: Vec<(&'static str, &'static str)>,
    pub f: super::orders::OrderFields,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "order_review.html")]
pub struct OrderReviewPage {
    pub nav: Nav,
    pub summary: Vec<(String, String)>,
    pub hidden: Vec<(&'static str, String)>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "order.html")]
pub struct OrderPage {
    pub nav: Nav,
    pub o: signet_app::orders::OrderView,
    pub summary: Vec<(String, String)>,
    pub status_label: String,
    pub next_step: String,
    pub awaiting_documents: bool,
    /// The domain's verdict on each action: a form for each allowed one.
    pub offers: super::offers::Offers,
    /// Refused actions with the domain's reason.
    pub refused: Vec<(String, String)>,
    pub notice: Option<String>,
}

#[derive(Template)]
#[template(path = "vetting_queue.html")]
pub struct VettingQueuePage {
    pub nav: Nav,
    pub statuses: Vec<(&'static str, &'static str)>,
    pub status: String,
    pub min_age_hours: String,
    pub items: Vec<signet_app::vetting::QueueItem>,
}

#[derive(Template)]
#[template(path = "vetting_order.html")]
pub struct VettingOrderPage {
    pub nav: Nav,
    pub o: signet_app::orders::OrderView,
    pub summary: Vec<(String, String)>,
    pub offers: super::offers::Offers,
    pub refused: Vec<(String, String)>,
    pub notice: Option<String>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "certificate.html")]
pub struct CertificatePage {
    pub nav: Nav,
    pub c: signet_app::certificates::CertificateSummary,
    pub status_class: &'static str,
    pub offers: super::offers::Offers,
    pub refused: Vec<(String, String)>,
    pub not_before: String,
    pub not_after: String,
    pub revoked_at: Option<String>,
    pub notice: Option<String>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "enroll.html")]
pub struct EnrollPage {
    pub nav: Nav,
    pub email: String,
    pub secret: String,
    pub qr_data_uri: String,
}

pub struct AlertRow {
    pub kind: String,
    pub title: String,
    pub body: String,
    pub when: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "status.html")]
pub struct StatusPage {
    pub nav: Nav,
    pub active: Vec<AlertRow>,
    pub alerts: Vec<AlertRow>,
}

pub struct ServiceRow {
    pub name: String,
    pub url: String,
    pub from: String,
    pub until: String,
    pub today: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "services.html")]
pub struct ServicesPage {
    pub nav: Nav,
    pub services: Vec<ServiceRow>,
}

#[derive(Template)]
#[template(path = "admin.html")]
pub struct AdminPage {
    pub nav: Nav,
    pub orders_chart: String,
    pub issued_chart: String,
    pub expiring_chart: String,
    pub alerts: Vec<(i64, String)>,
    /// Officers' decision-signing keys waiting for approval: (id, officer, requested, key hash).
    pub waiting_keys: Vec<(i64, String, String, String)>,
    pub staff: Vec<StaffRow>,
    pub mail_states: Vec<(String, u64)>,
    pub mail: Vec<MailRow>,
    pub reconciled: Vec<(String, String, String)>,
    /// Discovery alerts: (alert id, certificates with it), only those with some.
    pub discovery_alerts: Vec<(&'static str, usize)>,
    pub notice: Option<String>,
    pub error: Option<String>,
}

/// A message of the outbox as the administrator sees it (no body: it holds links).
pub struct MailRow {
    pub id: i64,
    pub to: String,
    pub subject: String,
    pub state: String,
    pub attempts: u32,
    pub last_error: String,
    pub retryable: bool,
}

pub struct StaffRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub region: String,
    pub second_factor: String,
    pub can_reset: bool,
}

#[derive(Template)]
#[template(path = "support_contact.html")]
pub struct SupportContactPage {
    pub nav: Nav,
    pub name: String,
    pub email: String,
    pub order_number: String,
    pub message: String,
    pub sent: bool,
    pub with_order: bool,
    pub error: Option<String>,
}

pub struct SupportRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub order_number: Option<String>,
    pub message: String,
    pub received: String,
    pub answered: bool,
}

#[derive(Template)]
#[template(path = "support_inbox.html")]
pub struct SupportInboxPage {
    pub nav: Nav,
    pub requests: Vec<SupportRow>,
    pub notice: Option<String>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "support_order.html")]
pub struct SupportOrderPage {
    pub nav: Nav,
    pub o: signet_app::orders::OrderView,
    pub summary: Vec<(String, String)>,
    pub offers: super::offers::Offers,
    pub notice: Option<String>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "repository.html")]
pub struct RepositoryPage {
    pub nav: Nav,
    /// (CA name, SHA-256 fingerprint in upper-case hex)
    pub cas: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "verify.html")]
pub struct VerifyPage {
    pub nav: Nav,
    /// The findings, after an upload.
    pub report: Option<signet_sign::report::Report>,
    /// The checked file's name, for the heading.
    pub file_name: String,
}

/// Findings of one severity.
#[derive(Debug, Clone)]
pub struct FindingGroup {
    pub severity: &'static str,
    pub findings: Vec<signet_tls::report::Finding>,
}

#[derive(Template)]
#[template(path = "tls_test.html")]
pub struct TlsTestPage {
    pub nav: Nav,
    pub target: String,
    pub sni: String,
    pub starttls: String,
    pub error: Option<String>,
    pub report: Option<signet_tls::Report>,
    /// What the grade means.
    pub summary: &'static str,
    pub groups: Vec<FindingGroup>,
}

impl TlsTestPage {
    /// The score bars: (label, score, y of the bar in the chart).
    pub fn score_rows(&self) -> Vec<(&'static str, u32, u32)> {
        self.report.as_ref().map_or_else(Vec::new, |r| {
            vec![
                ("Protocols", r.score.protocol, 6),
                ("Key exchange", r.score.key_exchange, 32),
                ("Ciphers", r.score.cipher, 58),
            ]
        })
    }

    /// The CSS class of a grade's badge.
    pub fn grade_class(&self) -> &'static str {
        match self.report.as_ref().map(|r| r.grade.as_str()) {
            Some("A+" | "A" | "A-") => "grade-a",
            Some("B") => "grade-b",
            Some("C" | "D" | "E") => "grade-c",
            _ => "grade-f",
        }
    }
}

#[derive(Template)]
#[template(path = "discovery.html")]
pub struct DiscoveryPage {
    pub nav: Nav,
    pub notice: Option<String>,
    pub error: Option<String>,
    pub jobs: Vec<DiscoveryJobRow>,
    pub runs: Vec<DiscoveryRunRow>,
    /// A run is going on: the page reloads itself to show its progress.
    pub running: bool,
    /// (alert id, certificates with it), every alert, for the filter links.
    pub alert_counts: Vec<(&'static str, usize)>,
    pub expiry_chart: String,
    pub filter_alert: String,
    pub filter_text: String,
    /// The query string of the current filter, for the CSV link.
    pub filter_query: String,
    pub items: Vec<signet_app::discovery::InventoryItem>,
    pub total: usize,
    pub changes: Vec<signet_app::discovery::ChangeView>,
}

impl DiscoveryPage {
    /// An alert id as words: `not_yet_valid` → `not yet valid`.
    pub fn words(&self, id: &str) -> String {
        id.replace('_', " ")
    }
}

pub struct DiscoveryJobRow {
    pub name: String,
    pub targets: String,
    pub ports: String,
    pub schedule: String,
    pub contacts: String,
    pub next_run: String,
    pub running_on: Option<String>,
}

pub struct DiscoveryRunRow {
    pub job: String,
    pub started_by: String,
    pub started_at: String,
    pub done: u64,
    pub endpoints: u64,
    pub answered: u64,
    pub certificates: u64,
    pub outcome: String,
    pub refused: String,
}
