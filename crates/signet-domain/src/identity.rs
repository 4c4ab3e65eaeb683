//! The subscriber identity: who the certificate is for, checked once when it enters the system.

use serde::{Deserialize, Serialize};

use crate::Refusal;

/// RFC 5280 upper bound for commonName, organizationName, organizationalUnitName and title.
const UB_NAME_FIELD: usize = 64;
/// RFC 5321 limit for a mailbox as a whole.
const UB_EMAIL: usize = 254;

/// ISO 3166-1 alpha-2 codes officially assigned (249 codes), plus `XK` used by several CAs.
const ISO_3166_ALPHA2: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ \
BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ \
FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM \
JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT \
MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB \
SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ \
VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK";

/// Registration schemes the S/MIME Baseline Requirements (§7.1.4.2.2 d) allow in
/// organizationIdentifier.
const ORG_ID_SCHEMES: [&str; 6] = ["NTR", "VAT", "PSD", "LEI", "GOV", "INT"];

/// The identity as it arrives (CLI `--subject` file, order body). Unchecked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityInput {
    /// Given name(s); with `surname` it forms the commonName, at most 64 characters together.
    pub given_name: String,
    /// Family name; see `given_name`.
    pub surname: String,
    /// The subscriber's mailbox: ASCII `local@domain`, at most 254 characters. On an order the
    /// certificate names the approval e-mail instead (R-ORD-2).
    pub email: String,
    /// The organization the person acts for (organizationName), at most 64 characters.
    pub organization: String,
    /// The organization's country: ISO 3166-1 alpha-2, any case. It also picks the order's channel
    /// (R-ORD-8) and which agents see the order.
    pub country: String,
    /// Registration reference for organizationIdentifier, e.g. `VATBE-0123456789` (schemes NTR,
    /// VAT, PSD, LEI, GOV, INT); required by profiles with `require_organization_identifier`,
    /// such as the S/MIME sponsor-validated one.
    #[serde(default)]
    pub organization_identifier: Option<String>,
    /// Optional organizationalUnitName, at most 64 characters.
    #[serde(default)]
    pub organizational_unit: Option<String>,
    /// Optional title (the person's function), at most 64 characters.
    #[serde(default)]
    pub title: Option<String>,
}

/// A checked identity: every field fits in a certificate and means what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    given_name: String,
    surname: String,
    email: String,
    organization: String,
    country: String,
    organization_identifier: Option<String>,
    organizational_unit: Option<String>,
    title: Option<String>,
}

impl TryFrom<IdentityInput> for Identity {
    type Error = Refusal;

    fn try_from(input: IdentityInput) -> Result<Self, Refusal> {
        let given_name = text_field("given_name", &input.given_name, UB_NAME_FIELD)?;
        let surname = text_field("surname", &input.surname, UB_NAME_FIELD)?;
        let common_name_len = given_name.chars().count() + 1 + surname.chars().count();
        if common_name_len > UB_NAME_FIELD {
            return Err(invalid(
                "given_name",
                format!(
                    "given name and surname together must fit the {UB_NAME_FIELD}-character common name"
                ),
            ));
        }
        let organization = text_field("organization", &input.organization, UB_NAME_FIELD)?;
        let country = country(&input.country)?;
        let email = email(&input.email)?;
        let organization_identifier = input
            .organization_identifier
            .as_deref()
            .map(organization_identifier)
            .transpose()?;
        let organizational_unit = input
            .organizational_unit
            .as_deref()
            .map(|v| text_field("organizational_unit", v, UB_NAME_FIELD))
            .transpose()?;
        let title = input
            .title
            .as_deref()
            .map(|v| text_field("title", v, UB_NAME_FIELD))
            .transpose()?;
        Ok(Identity {
            given_name,
            surname,
            email,
            organization,
            country,
            organization_identifier,
            organizational_unit,
            title,
        })
    }
}

impl Identity {
    /// Given name(s): trimmed, NFC-normalized, free of control and invisible characters.
    pub fn given_name(&self) -> &str {
        &self.given_name
    }
    /// Family name, checked like the given name.
    pub fn surname(&self) -> &str {
        &self.surname
    }
    /// The mailbox, with the domain part in lower case.
    pub fn email(&self) -> &str {
        &self.email
    }
    /// organizationName, at most 64 characters.
    pub fn organization(&self) -> &str {
        &self.organization
    }
    /// ISO 3166-1 alpha-2, upper case.
    pub fn country(&self) -> &str {
        &self.country
    }
    /// organizationIdentifier as `SCHEME` + country + optional `+STATE` + `-` + reference, when
    /// given.
    pub fn organization_identifier(&self) -> Option<&str> {
        self.organization_identifier.as_deref()
    }
    /// organizationalUnitName, when given.
    pub fn organizational_unit(&self) -> Option<&str> {
        self.organizational_unit.as_deref()
    }
    /// The person's title, when given.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }
    /// The same identity with another (checked) mailbox, e.g. the order's approval e-mail, which
    /// is the address the certificate names.
    pub fn with_email(&self, mailbox: &str) -> Result<Identity, Refusal> {
        Ok(Identity {
            email: email(mailbox)?,
            ..self.clone()
        })
    }

    /// "Given Surname", the commonName Signet writes.
    pub fn common_name(&self) -> String {
        format!("{} {}", self.given_name, self.surname)
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Refusal {
    Refusal::InvalidIdentity {
        field,
        reason: reason.into(),
    }
}

/// U+FDD0–U+FDEF and the last two code points of every plane.
fn is_noncharacter(c: char) -> bool {
    let u = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&u) || (u & 0xFFFE) == 0xFFFE
}

/// Format characters (Unicode category Cf: bidi controls such as U+202E, zero-width spaces and
/// joiners, the byte-order mark, tags) and the other default-ignorable code points (variation
/// selectors, Hangul fillers): invisible, so a name holding them reads differently from what the
/// certificate carries, or reverses the text around it.
fn is_invisible(c: char) -> bool {
    matches!(u32::from(c),
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
        | 0x0600..=0x0605 | 0x06DD | 0x070F | 0x0890 | 0x0891 | 0x08E2
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
}

/// The name as the certificate will carry it: trimmed and in Unicode normalization form C, so
/// `e` + U+0301 and `é` are one name.
fn normalized(value: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    value.trim().nfc().collect()
}

fn text_field(field: &'static str, value: &str, max_chars: usize) -> Result<String, Refusal> {
    let normalized = normalized(value);
    let trimmed = normalized.as_str();
    if trimmed.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if trimmed.chars().count() > max_chars {
        return Err(invalid(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    if let Some(c) = trimmed.chars().find(|c| is_invisible(*c)) {
        return Err(invalid(
            field,
            format!(
                "must not contain invisible formatting characters (found U+{:04X}: direction overrides, zero-width characters and the like); type the name as it is written",
                u32::from(c)
            ),
        ));
    }
    // Unicode noncharacters are for internal use only; the PKCS#12 labels of a pickup (and
    // other software) cannot carry U+FFFE and U+FFFF.
    if trimmed.chars().any(is_noncharacter) {
        return Err(invalid(
            field,
            "must not contain Unicode noncharacters (such as U+FFFF)",
        ));
    }
    if trimmed.contains("  ") {
        return Err(invalid(field, "must not contain repeated spaces"));
    }
    Ok(trimmed.to_owned())
}

/// An ISO 3166-1 alpha-2 code, upper-cased.
pub fn check_country(value: &str) -> Result<String, Refusal> {
    country(value)
}

fn country(value: &str) -> Result<String, Refusal> {
    let code = value.trim().to_ascii_uppercase();
    let known = code.len() == 2 && ISO_3166_ALPHA2.split(' ').any(|c| c == code);
    if !known {
        return Err(invalid(
            "country",
            format!("`{value}` is not an ISO 3166-1 alpha-2 country code (e.g. BE, NL, DE)"),
        ));
    }
    Ok(code)
}

/// A mailbox that can be written as an rfc822Name, normalized (domain in lower case; the local
/// part keeps its case, as the certificate will carry it).
pub fn check_email(value: &str) -> Result<String, Refusal> {
    email(value)
}

/// An account's log-in address (design §1): a valid mailbox, compared and stored in lower case, so
/// `VERA@example.com` and `vera@example.com` are one account.
pub fn account_email(value: &str) -> Result<String, Refusal> {
    email(value).map(|e| e.to_ascii_lowercase())
}

/// The key under which an address is looked up (log-in, reset, unlock): what
/// [`account_email`] would store, or the trimmed lower-cased text when it is not even valid.
pub fn account_lookup_key(value: &str) -> String {
    value.trim().to_ascii_lowercase()
}

/// Whether two addresses name the same mailbox for the purposes of telling people apart
/// (separation of duties): case is ignored throughout, since mail providers do.
pub fn same_mailbox(a: &str, b: &str) -> bool {
    !a.trim().is_empty() && a.trim().eq_ignore_ascii_case(b.trim())
}

/// A mailbox that can be written as an rfc822Name (IA5String): ASCII `local@domain`.
fn email(value: &str) -> Result<String, Refusal> {
    let value = value.trim();
    let bad = |why: &str| {
        invalid(
            "email",
            format!("`{value}` is not a usable e-mail address: {why}"),
        )
    };
    if value.len() > UB_EMAIL {
        return Err(bad("too long"));
    }
    if !value.is_ascii() {
        return Err(bad("only ASCII addresses can be certified"));
    }
    let (local, domain) = value.split_once('@').ok_or_else(|| bad("missing @"))?;
    if local.is_empty() || local.len() > 64 {
        return Err(bad("the part before @ must be 1 to 64 characters"));
    }
    let local_ok = local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    if !local_ok {
        return Err(bad("the part before @ has characters that need quoting"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !domain_ok {
        return Err(bad("the domain is not a valid host name"));
    }
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// `SCHEME` + country + optional `+STATE` + `-` + reference, as in `VATBE-0123456789`.
fn organization_identifier(value: &str) -> Result<String, Refusal> {
    let value = value.trim();
    let bad = || {
        invalid(
            "organization_identifier",
            format!(
                "`{value}` must be a registration scheme ({}) + country code + `-` + reference, e.g. VATBE-0123456789",
                ORG_ID_SCHEMES.join(", ")
            ),
        )
    };
    let (head, reference) = value.split_once('-').ok_or_else(bad)?;
    if head.len() < 5 || !head.is_ascii() || reference.is_empty() || reference.len() > UB_NAME_FIELD
    {
        return Err(bad());
    }
    let (scheme, rest) = head.split_at(3);
    let (country_code, state) = rest.split_at(2);
    if !ORG_ID_SCHEMES.contains(&scheme) {
        return Err(bad());
    }
    // LEI identifiers use the "XG" (global) pseudo-country.
    if !(scheme == "LEI" && country_code == "XG") && country(country_code).is_err() {
        return Err(bad());
    }
    if !state.is_empty() {
        let st = state.strip_prefix('+').ok_or_else(bad)?;
        if st.is_empty() || st.len() > 3 || !st.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad());
        }
    }
    if reference
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || is_noncharacter(c))
    {
        return Err(bad());
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_addresses_ignore_case_certified_ones_keep_the_mailbox() {
        assert_eq!(
            account_email(" VERA@Example.COM "),
            Ok("vera@example.com".into())
        );
        assert_eq!(
            check_email("VERA@Example.COM"),
            Ok("VERA@example.com".into())
        );
        assert!(same_mailbox("Vera@example.com", "vERA@EXAMPLE.com"));
        assert!(!same_mailbox("", ""));
        assert_eq!(account_lookup_key(" Vera@X.de"), "vera@x.de");
    }

    #[test]
    fn names_are_nfc_and_hold_no_invisible_characters() {
        let with = |surname: &str| IdentityInput {
            given_name: "Vera".into(),
            surname: surname.into(),
            email: "vera@example.com".into(),
            organization: "Example".into(),
            country: "DE".into(),
            organization_identifier: None,
            organizational_unit: None,
            title: None,
        };
        let decomposed = Identity::try_from(with("Mu\u{0308}ller")).expect("decomposed");
        assert_eq!(decomposed.surname(), "Müller");
        for hostile in [
            "Smith\u{202E}reT",
            "Sm\u{200B}ith",
            "Smi\u{200D}th",
            "\u{FEFF}Smith",
            "Smith\u{2066}",
            "Smith\u{E0041}",
            "Smi\u{00AD}th",
        ] {
            let err = Identity::try_from(with(hostile)).expect_err(hostile);
            assert!(err.to_string().contains("invisible formatting"), "{err}");
        }
        for fine in ["Łódź-Şahin", "李小龍", "Παπαδόπουλος", "Кузнецова", "𠜎𠜱"]
        {
            assert!(Identity::try_from(with(fine)).is_ok(), "{fine}");
        }
    }

    #[test]
    fn names_beyond_the_bmp_are_fine_noncharacters_are_not() {
        let mut i = input();
        i.surname = "吉\u{20BB7}".into();
        assert!(Identity::try_from(i).is_ok());
        for bad in ["Pe\u{FFFF}ters", "Pe\u{FDD0}ters", "Pe\u{1FFFE}ters"] {
            let mut i = input();
            i.surname = bad.into();
            assert!(Identity::try_from(i).is_err(), "{bad:?}");
        }
    }

    fn input() -> IdentityInput {
        IdentityInput {
            given_name: "Anna".into(),
            surname: "Peeters".into(),
            email: "anna.peeters@Example.BE".into(),
            organization: "Example NV".into(),
            country: "be".into(),
            organization_identifier: Some("VATBE-0123456789".into()),
            organizational_unit: None,
            title: Some("Director".into()),
        }
    }

    #[test]
    fn accepts_and_normalizes_a_good_identity() {
        let id = Identity::try_from(input()).expect("valid");
        assert_eq!(id.country(), "BE");
        assert_eq!(id.email(), "anna.peeters@example.be");
        assert_eq!(id.common_name(), "Anna Peeters");
    }

    #[test]
    fn refuses_bad_fields_with_the_field_name() {
        type Case = (fn(&mut IdentityInput), &'static str);
        let cases: Vec<Case> = vec![
            (|i| i.given_name = "  ".into(), "given_name"),
            (|i| i.surname = "x".repeat(65), "surname"),
            (|i| i.given_name = "a".repeat(60), "given_name"),
            (|i| i.organization = "Bad\u{7}Org".into(), "organization"),
            (|i| i.country = "XX".into(), "country"),
            (|i| i.country = "BEL".into(), "country"),
            (|i| i.email = "no-at-sign".into(), "email"),
            (|i| i.email = "a@localhost".into(), "email"),
            (|i| i.email = "ä@example.be".into(), "email"),
            (|i| i.email = "a..b@example.be".into(), "email"),
            (
                |i| i.organization_identifier = Some("0123456789".into()),
                "organization_identifier",
            ),
            (
                |i| i.organization_identifier = Some("ABCBE-1".into()),
                "organization_identifier",
            ),
            (
                |i| i.organization_identifier = Some("VATZZ-1".into()),
                "organization_identifier",
            ),
            (|i| i.title = Some(String::new()), "title"),
        ];
        for (mutate, field) in cases {
            let mut i = input();
            mutate(&mut i);
            match Identity::try_from(i) {
                Err(Refusal::InvalidIdentity { field: f, .. }) => assert_eq!(f, field),
                other => panic!("expected refusal of {field}, got {other:?}"),
            }
        }
    }

    #[test]
    fn organization_identifier_forms() {
        for ok in [
            "VATBE-0123456789",
            "NTRNL-12345678",
            "LEIXG-5493001KJTIIGC8Y1R12",
            "NTRUS+CA-1234",
        ] {
            assert!(organization_identifier(ok).is_ok(), "{ok}");
        }
        // Found by the `identity` fuzz target: a noncharacter in the reference part.
        for bad in [
            "LEIXG-5493001KJTI(IGC\u{FFFF}",
            "VATBE-01\u{FDD0}23",
            "VATBE-0123 45",
        ] {
            assert!(organization_identifier(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unknown_json_fields_are_refused() {
        let json = r#"{"given_name":"A","surname":"B","email":"a@b.be","organization":"O","country":"BE","nickname":"x"}"#;
        assert!(serde_json::from_str::<IdentityInput>(json).is_err());
    }
}
