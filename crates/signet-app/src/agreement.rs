//! The request form and subscriber agreement (R-ORD-4): a PDF with the locked order details,
//! the agreement text, boxes for the signature and the notary or Chamber stamp, and the order
//! fingerprint in text and as a QR code.
//!
//! The form is set in fonts bundled with Signet (`crates/signet-app/fonts/`, licenses beside
//! them), embedded in the PDF, so that every name prints as the certificate will carry it:
//! DejaVu Sans (Latin, Greek, Cyrillic and more) with Droid Sans Fallback for what DejaVu lacks
//! (CJK). Each line is split into runs by which face has the glyphs; [`unprintable`] tells the
//! order desk beforehand when no bundled face can draw a character. Only the glyphs the form
//! uses are embedded (subset by the `subsetter` crate), so the PDF stays small.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use printpdf::{
    Color, FontId, Line, LinePoint, Mm, Op, PaintMode, ParsedFont, PdfDocument, PdfFont,
    PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, Rect, Rgb, TextItem,
};
use qrcode::{Color as QrColor, EcLevel, QrCode};
use signet_domain::identity::Identity;
use signet_store::OrderRecord;

use crate::AppError;

const AGREEMENT: &str = "By signing this form the subscriber requests a personal certificate with the details above and agrees \
to the subscriber agreement of the certification authority. The subscriber declares that the details are correct, that \
they represent the organization named, and that they will protect the private key and the PKCS#12 password, use the \
certificate only for authentication and signing on behalf of that organization, and ask for revocation at once if the \
private key may be compromised or any detail becomes wrong. The certification authority checks the identity of the \
subscriber and the link to the organization from this form, an identity document and the business registration before \
it issues the certificate. The details cannot be changed after ordering; a corrected order replaces this one.";

/// Millimetres per PostScript point.
const MM_PER_PT: f32 = 25.4 / 72.0;
/// Left and right margins of the text, in millimetres from the left edge of the page.
const LEFT: f32 = 20.0;
const RIGHT: f32 = 190.0;
/// Where field values start.
const VALUE_X: f32 = 70.0;
/// Field values shrink down to this size (points) before they wrap.
const MIN_VALUE_SIZE: f32 = 7.0;
/// Drawn for a character no bundled face has (the order desk refuses such names up front, see
/// [`unprintable`]); DejaVu Sans has it.
const REPLACEMENT: char = '\u{FFFD}';

/// The bundled faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Face {
    /// DejaVu Sans.
    Regular,
    /// DejaVu Sans Bold.
    Bold,
    /// Droid Sans Fallback (CJK and a few others).
    Fallback,
}

impl Face {
    /// The font program (TrueType).
    fn program(self) -> &'static [u8] {
        match self {
            Face::Regular => include_bytes!("../fonts/DejaVuSans.ttf"),
            Face::Bold => include_bytes!("../fonts/DejaVuSans-Bold.ttf"),
            Face::Fallback => include_bytes!("../fonts/DroidSansFallbackFull.ttf"),
        }
    }

    /// The PostScript name, for /BaseFont.
    fn postscript_name(self) -> &'static str {
        match self {
            Face::Regular => "DejaVuSans",
            Face::Bold => "DejaVuSans-Bold",
            Face::Fallback => "DroidSansFallback",
        }
    }

    /// The font's resource name in the PDF.
    fn resource(self) -> FontId {
        FontId(format!("F{}", self as u8 + 1))
    }

    /// The faces a character of text set bold or regular is looked up in, in order.
    fn chain(bold: bool) -> &'static [Face] {
        if bold {
            &[Face::Bold, Face::Regular, Face::Fallback]
        } else {
            &[Face::Regular, Face::Fallback]
        }
    }

    /// The face's character map, advance widths and metrics, parsed once. `None` if the
    /// bundled program does not parse (a build defect; a test guards against it): then the
    /// face draws nothing and [`unprintable`] reports every character it alone would draw.
    fn parsed(self) -> Option<&'static ParsedFont> {
        static PARSED: [OnceLock<Option<ParsedFont>>; 3] = [const { OnceLock::new() }; 3];
        PARSED[self as usize]
            .get_or_init(|| {
                let mut warnings = Vec::new();
                let mut font = ParsedFont::from_bytes(self.program(), 0, &mut warnings)?;
                // The program stays in the binary's static data; this copy is not needed.
                font.original_bytes = Vec::new();
                Some(font)
            })
            .as_ref()
    }

    /// The glyph that draws `c`, if the face has one (glyph 0 is the missing-glyph box).
    fn glyph(self, c: char) -> Option<u16> {
        self.parsed()?
            .lookup_glyph_index(u32::from(c))
            .filter(|&gid| gid != 0)
    }

    /// The advance of `c` in em, as the PDF's /W array states it (thousandths of an em,
    /// truncated), so measured text ends where the reader draws it.
    fn advance(self, c: char) -> f32 {
        let Some(font) = self.parsed() else {
            return 0.0;
        };
        let width = font
            .lookup_glyph_index(u32::from(c))
            .and_then(|gid| font.get_glyph_width(gid))
            .unwrap_or(0);
        let units_per_em = f32::from(font.pdf_font_metrics.units_per_em.max(1));
        (f32::from(width) * 1000.0 / units_per_em).trunc() / 1000.0
    }
}

/// The face that draws `c` in text set bold or regular: the first in the chain with a glyph.
fn face_for(c: char, bold: bool) -> Option<Face> {
    Face::chain(bold)
        .iter()
        .copied()
        .find(|f| f.glyph(c).is_some())
}

/// The first character of `text` that no bundled font can draw, so that an order whose details
/// would not print on the request form can be refused when it is placed.
pub fn unprintable(text: &str) -> Option<char> {
    text.chars().find(|&c| face_for(c, false).is_none())
}

/// The first field of `identity` the form prints that holds a character no bundled face can
/// draw, with that character: the order is refused rather than stamped on a form that differs.
pub fn unprintable_field(identity: &Identity) -> Option<(&'static str, char)> {
    [
        ("given_name", Some(identity.given_name())),
        ("surname", Some(identity.surname())),
        ("organization", Some(identity.organization())),
        (
            "organization_identifier",
            identity.organization_identifier(),
        ),
        ("organizational_unit", identity.organizational_unit()),
        ("title", identity.title()),
        ("email", Some(identity.email())),
    ]
    .into_iter()
    .find_map(|(field, value)| Some((field, unprintable(value?)?)))
}

/// `text` split into runs that one face draws, in order. A character no face has is drawn as
/// U+FFFD.
fn runs(text: &str, bold: bool) -> Vec<(Face, String)> {
    let mut out: Vec<(Face, String)> = Vec::new();
    for c in text.chars() {
        let (face, c) = match face_for(c, bold) {
            Some(face) => (face, c),
            None => (Face::Regular, REPLACEMENT),
        };
        match out.last_mut() {
            Some((f, run)) if *f == face => run.push(c),
            _ => out.push((face, c.to_string())),
        }
    }
    out
}

/// The width of `text` set at `size` points, in millimetres.
fn width(text: &str, size: f32, bold: bool) -> f32 {
    let em: f32 = runs(text, bold)
        .iter()
        .flat_map(|(face, run)| run.chars().map(|c| face.advance(c)))
        .sum();
    em * size * MM_PER_PT
}

/// `text` broken into lines no wider than `max` millimetres: between words where it can,
/// within a word that is wider than a line on its own.
fn wrap(text: &str, size: f32, bold: bool, max: f32) -> Vec<String> {
    let fits = |s: &str| width(s, size, bold) <= max;
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if fits(&candidate) {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        for c in word.chars() {
            line.push(c);
            if !fits(&line) && line.chars().count() > 1 {
                line.pop();
                lines.push(std::mem::replace(&mut line, c.to_string()));
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Page layout in millimetres from the bottom-left corner of an A4 page.
struct Writer {
    ops: Vec<Op>,
    y: f32,
    /// The characters drawn in each face: the glyphs to embed.
    used: BTreeMap<Face, BTreeSet<char>>,
}

impl Writer {
    /// One line of text from (x, y). Runs in different faces share one text object: each
    /// starts where the reader's pen stopped after the last, so they follow each other exactly.
    fn text(&mut self, x: f32, size: f32, bold: bool, line: &str) {
        self.ops.push(Op::StartTextSection);
        self.ops.push(Op::SetTextCursor {
            pos: Point::new(Mm(x), Mm(self.y)),
        });
        for (face, run) in runs(line, bold) {
            self.used.entry(face).or_default().extend(run.chars());
            self.ops.push(Op::SetFont {
                font: PdfFontHandle::External(face.resource()),
                size: Pt(size),
            });
            self.ops.push(Op::ShowText {
                items: vec![TextItem::Text(run)],
            });
        }
        self.ops.push(Op::EndTextSection);
    }

    /// A line of text at the left margin, made smaller if it would not fit, then move down.
    fn line(&mut self, size: f32, bold: bool, text: &str) {
        let fitted = size.min(size * (RIGHT - LEFT) / width(text, size, bold).max(f32::EPSILON));
        self.text(LEFT, fitted, bold, text);
        self.y -= size * 0.5;
    }

    /// A label and its value. A value too wide for the line is set smaller, down to
    /// [`MIN_VALUE_SIZE`], and wrapped below that.
    fn field(&mut self, label: &str, value: &str) {
        const SIZE: f32 = 10.0;
        let room = RIGHT - VALUE_X;
        self.text(LEFT, SIZE, true, label);
        // A little under the exact fit, so that rounding does not wrap the last character.
        let size = SIZE
            .min(0.995 * SIZE * room / width(value, SIZE, false).max(f32::EPSILON))
            .max(MIN_VALUE_SIZE);
        for (i, line) in wrap(value, size, false, room).iter().enumerate() {
            if i > 0 {
                self.y -= size * 0.45;
            }
            self.text(VALUE_X, size, false, line);
        }
        self.y -= 5.5;
    }

    /// A paragraph wrapped to `max` millimetres from the left margin.
    fn paragraph(&mut self, text: &str, max: f32) {
        for line in wrap(text, 9.5, false, max) {
            self.line(9.5, false, &line);
        }
    }

    fn boxed(&mut self, x: f32, y: f32, w: f32, h: f32, label: &str) {
        let corner = |px: f32, py: f32| LinePoint {
            p: Point::new(Mm(px), Mm(py)),
            bezier: false,
        };
        self.ops.push(Op::SetOutlineThickness { pt: Pt(0.8) });
        self.ops.push(Op::DrawLine {
            line: Line {
                points: vec![
                    corner(x, y),
                    corner(x + w, y),
                    corner(x + w, y + h),
                    corner(x, y + h),
                ],
                is_closed: true,
            },
        });
        let saved = self.y;
        self.y = y + h - 5.0;
        let size = 8.0f32.min(8.0 * (w - 4.0) / width(label, 8.0, false).max(f32::EPSILON));
        self.text(x + 2.0, size, false, label);
        self.y = saved;
    }

    /// Draws the QR code with its lower-left corner at (x, y), `size` mm wide.
    fn qr(&mut self, x: f32, y: f32, size: f32, data: &str) -> Result<(), AppError> {
        let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
            .map_err(|e| AppError::Internal(format!("QR code: {e}")))?;
        let n = code.width();
        let module = size / (n as f32 + 8.0);
        let colors = code.to_colors();
        self.ops.push(Op::SetFillColor {
            col: Color::Rgb(Rgb {
                r: 0.0,
                g: 0.0,
                b: 0.0,
                icc_profile: None,
            }),
        });
        for (i, c) in colors.iter().enumerate() {
            if *c == QrColor::Dark {
                let (col, row) = (i % n, i / n);
                let px = x + (col as f32 + 4.0) * module;
                let py = y + size - (row as f32 + 5.0) * module;
                self.ops.push(Op::DrawRectangle {
                    rectangle: Rect {
                        mode: Some(PaintMode::Fill),
                        ..Rect::from_xywh(
                            Mm(px).into(),
                            Mm(py).into(),
                            Mm(module).into(),
                            Mm(module).into(),
                        )
                    },
                });
            }
        }
        Ok(())
    }
}

/// Adds `face` to the document, embedding only the glyphs that draw `chars`.
/// The six capital letters that mark a subset font's name (ISO 32000-1, 9.6.4), derived from
/// the glyphs it keeps, so that the same form gets the same name.
fn subset_tag(codepoint_to_glyph: &BTreeMap<u32, u16>) -> String {
    let kept: Vec<u8> = codepoint_to_glyph
        .iter()
        .flat_map(|(c, g)| c.to_be_bytes().into_iter().chain(g.to_be_bytes()))
        .collect();
    crate::sha256(&kept)
        .iter()
        .take(6)
        .map(|b| char::from(b'A' + b % 26))
        .collect()
}

fn embed(doc: &mut PdfDocument, face: Face, chars: &BTreeSet<char>) -> Result<(), AppError> {
    let full = face.parsed().ok_or_else(|| {
        AppError::Internal(format!(
            "bundled font {} does not parse",
            face.postscript_name()
        ))
    })?;
    // The subset numbers its glyphs anew (0 stays .notdef); the text is written in the new
    // numbers, with the widths and the ToUnicode map of the original glyphs.
    let mut remapper = subsetter::GlyphRemapper::new();
    let mut codepoint_to_glyph = BTreeMap::new();
    let mut glyph_widths = BTreeMap::new();
    for &c in chars {
        if let Some(old) = face.glyph(c) {
            let new = remapper.remap(old);
            codepoint_to_glyph.insert(u32::from(c), new);
            if let Some(width) = full.get_glyph_width(old) {
                glyph_widths.insert(new, width);
            }
        }
    }
    let program = subsetter::subset(face.program(), 0, &remapper).map_err(|e| {
        AppError::Internal(format!(
            "subsetting the bundled font {}: {e}",
            face.postscript_name()
        ))
    })?;
    let name = format!(
        "{}+{}",
        subset_tag(&codepoint_to_glyph),
        face.postscript_name()
    );
    let font = ParsedFont {
        original_bytes: program,
        font_index: 0,
        font_name: Some(name),
        codepoint_to_glyph,
        glyph_widths,
        units_per_em: full.units_per_em,
        font_metrics: full.font_metrics.clone(),
        font_type: full.font_type,
        pdf_font_metrics: full.pdf_font_metrics.clone(),
    };
    doc.resources
        .fonts
        .map
        .insert(face.resource(), PdfFont::new(font));
    Ok(())
}

/// The content of the QR code: what vetting compares with the order in the system.
pub fn qr_payload(order_number: &str, fingerprint: &str) -> String {
    format!(
        "SIGNET-ORDER:{order_number}:{}",
        fingerprint.replace(' ', "")
    )
}

pub fn agreement_pdf(
    order: &OrderRecord,
    identity: &Identity,
    product: &str,
    fingerprint: &str,
    ca_name: &str,
) -> Result<Vec<u8>, AppError> {
    let mut w = Writer {
        ops: Vec::new(),
        y: 275.0,
        used: BTreeMap::new(),
    };
    w.line(
        16.0,
        true,
        "Certificate request form and subscriber agreement",
    );
    w.y -= 2.0;
    w.line(
        10.0,
        false,
        &format!("{ca_name} - order {}", order.order_number),
    );
    w.y -= 4.0;
    w.line(12.0, true, "Order (locked details)");
    w.field("Order number", order.order_number.as_str());
    w.field("Product", product);
    w.field("Validity", &format!("{} months", order.validity_months));
    w.field("Key", order.key_type.as_str());
    w.field("Ordered on", &crate::dates::rfc3339(order.created_at));
    w.y -= 3.0;
    w.line(12.0, true, "Subscriber");
    w.field("Name", &identity.common_name());
    w.field("Organization", identity.organization());
    w.field(
        "Organization ID",
        identity.organization_identifier().unwrap_or("-"),
    );
    w.field(
        "Unit / title",
        &format!(
            "{} / {}",
            identity.organizational_unit().unwrap_or("-"),
            identity.title().unwrap_or("-")
        ),
    );
    w.field("Country", identity.country());
    w.field("E-mail", identity.email());
    w.field("Approval e-mail", &order.approval_email);
    w.y -= 3.0;
    w.line(12.0, true, "Agreement");
    w.paragraph(AGREEMENT, RIGHT - LEFT);
    w.y -= 4.0;
    let boxes_y = w.y - 45.0;
    w.boxed(
        20.0,
        boxes_y,
        80.0,
        42.0,
        "Place, date and signature of the subscriber",
    );
    w.boxed(
        110.0,
        boxes_y,
        80.0,
        42.0,
        "Notary or Chamber of Commerce: stamp, date, signature",
    );
    w.y = boxes_y - 10.0;
    w.line(12.0, true, "Order fingerprint");
    w.line(11.0, false, fingerprint);
    w.y -= 2.0;
    w.paragraph(
        "Vetting compares this fingerprint and the QR code with the order. Send the signed and stamped form, a copy of \
         your identity document and your business registration by uploading them to the order.",
        125.0,
    );
    w.qr(
        150.0,
        12.0,
        42.0,
        &qr_payload(order.order_number.as_str(), fingerprint),
    )?;
    let Writer { ops, used, .. } = w;
    let page = PdfPage::new(Mm(210.0), Mm(297.0), ops);
    let mut doc = PdfDocument::new(&format!("Order {}", order.order_number));
    for (face, chars) in &used {
        embed(&mut doc, *face, chars)?;
    }
    let mut warnings = Vec::new();
    Ok(doc
        .with_pages(vec![page])
        .save(&PdfSaveOptions::default(), &mut warnings))
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use signet_domain::identity::IdentityInput;
    use time::OffsetDateTime;

    use super::*;

    /// U+10400 DESERET CAPITAL LETTER LONG I and U+1044F DESERET SMALL LETTER EW: beyond the
    /// Basic Multilingual Plane, drawn by Droid Sans Fallback (DejaVu Sans lacks them).
    const DESERET: &str = "\u{10400}\u{1044F}";
    /// U+10300 OLD ITALIC LETTER A, U+1030B OLD ITALIC LETTER LE, U+10304 OLD ITALIC LETTER E:
    /// beyond the BMP, drawn by DejaVu Sans.
    const OLD_ITALIC: &str = "\u{10300}\u{1030B}\u{10304}";

    fn identity(given: &str, surname: &str, organization: &str, country: &str) -> Identity {
        Identity::try_from(IdentityInput {
            given_name: given.into(),
            surname: surname.into(),
            email: "subscriber@example.com".into(),
            organization: organization.into(),
            country: country.into(),
            organization_identifier: None,
            organizational_unit: None,
            title: None,
        })
        .expect("valid identity")
    }

    fn order(number: &str, identity: &Identity) -> OrderRecord {
        let now = OffsetDateTime::UNIX_EPOCH;
        OrderRecord {
            order_number: signet_domain::credentials::OrderNumber::parse(number)
                .expect("order number"),
            product: "personal".into(),
            identity_json: serde_json::to_string(identity).expect("identity JSON"),
            approval_email: "approver@example.com".into(),
            approval_confirmed: false,
            pickup_password_hash: String::new(),
            validity_months: 12,
            key_type: signet_domain::key::KeyChoice::Generate(
                signet_domain::key::SubscriberKeyType::P256,
            ),
            channel: signet_domain::config::Channel::SelfService,
            country: identity.country().into(),
            placed_by: 1,
            attested_by: None,
            status: signet_domain::order::OrderStatus::AwaitingDocuments,
            ready_since: None,
            pickup_failures: 0,
            certificate_serial: None,
            previous_order: None,
            created_at: now,
            updated_at: now,
            order_kind: signet_domain::order::OrderKind::New,
            fixed_not_after: None,
            claimed_serial: None,
            claim_expires_at: None,
        }
    }

    /// Runs a poppler-utils tool on the PDF and returns what it printed.
    fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> String {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("form.pdf");
        std::fs::write(&path, pdf).expect("write PDF");
        let out = Command::new(tool)
            .args(args)
            .arg(&path)
            .args((tool == "pdftotext").then_some("-"))
            .output()
            .unwrap_or_else(|e| panic!("{tool} (poppler-utils) must be installed: {e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{tool} failed: {stderr}");
        assert!(stderr.trim().is_empty(), "{tool} complained: {stderr}");
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    #[test]
    fn agreement_prints_names_in_every_script() {
        let cases = [
            // A 64-character organization, the longest there is: set smaller, still on one line.
            (
                "Zofia",
                "Łódź-Şahin",
                "Przedsiębiorstwo Handlowo-Usługowe Łódź-Şahin Spółka Akcyjna SKA",
                "PL",
            ),
            ("Νικόλαος", "Παπαδόπουλος", "Παπαδόπουλος Α.Ε.", "GR"),
            ("Анна", "Кузнецова", "ООО «Кузнецова и партнёры»", "RU"),
            ("小龍", "李", "李小龍功夫學院", "HK"),
            (DESERET, OLD_ITALIC, "Ɱ Łódź 李小龍 Кузнецова", "US"),
        ];
        for (given, surname, organization, country) in cases {
            let identity = identity(given, surname, organization, country);
            let order = order("7K3QZ-M9X2D", &identity);
            let fingerprint = crate::vetting::fingerprint(&order);
            let pdf = agreement_pdf(&order, &identity, "Personal", &fingerprint, "Signet CA")
                .expect("form");
            let text = poppler("pdftotext", &["-enc", "UTF-8"], &pdf);
            for shown in [
                identity.common_name().as_str(),
                organization,
                &fingerprint,
                "Certificate request form and subscriber agreement",
                "Notary or Chamber of Commerce: stamp, date, signature",
            ] {
                assert!(
                    text.contains(shown),
                    "{shown:?} missing from the form:\n{text}"
                );
            }
            // Every font is embedded, and only the glyphs used: the form stays small.
            let fonts = poppler("pdffonts", &[], &pdf);
            let rows: Vec<&str> = fonts.lines().skip(2).collect();
            assert!(!rows.is_empty(), "{fonts}");
            for row in &rows {
                let columns: Vec<&str> = row.split_whitespace().collect();
                assert!(row.contains("CID TrueType"), "{fonts}");
                assert_eq!(
                    columns[columns.len() - 5..columns.len() - 2],
                    ["yes", "yes", "yes"],
                    "{fonts}"
                );
            }
            assert!(pdf.len() < 150_000, "form is {} bytes", pdf.len());
        }
    }

    #[test]
    fn astral_characters_are_covered() {
        assert!(DESERET.chars().all(|c| u32::from(c) > 0xFFFF));
        assert!(OLD_ITALIC.chars().all(|c| u32::from(c) > 0xFFFF));
        assert!(
            DESERET
                .chars()
                .all(|c| face_for(c, false) == Some(Face::Fallback))
        );
        assert!(
            OLD_ITALIC
                .chars()
                .all(|c| face_for(c, false) == Some(Face::Regular))
        );
    }

    #[test]
    fn unprintable_reports_what_no_font_draws() {
        for face in [Face::Regular, Face::Bold, Face::Fallback] {
            assert!(face.parsed().is_some(), "{face:?} parses");
        }
        assert_eq!(unprintable("abc"), None);
        assert_eq!(
            unprintable("Łódź-Şahin Παπαδόπουλος Кузнецова 李小龍"),
            None
        );
        assert_eq!(unprintable(DESERET), None);
        assert_eq!(unprintable(OLD_ITALIC), None);
        // U+10000 LINEAR B SYLLABLE B008 A, U+13000 EGYPTIAN HIEROGLYPH A001, and
        // U+20BB7 (a CJK Extension B form of 吉, as in 𠮷野家): in none of the bundled fonts.
        assert_eq!(unprintable("ab\u{10000}c\u{13000}"), Some('\u{10000}'));
        assert_eq!(unprintable("\u{13000}"), Some('\u{13000}'));
        assert_eq!(unprintable("\u{20BB7}野家"), Some('\u{20BB7}'));
        // What cannot be drawn is replaced visibly rather than dropped.
        assert_eq!(
            runs("a\u{10000}", false),
            [(Face::Regular, "a\u{FFFD}".to_owned())]
        );
        assert!(Face::Regular.glyph(REPLACEMENT).is_some());
    }

    #[test]
    fn runs_switch_faces_by_coverage() {
        assert_eq!(
            runs("Lee 李小龍 Łódź", false),
            [
                (Face::Regular, "Lee ".to_owned()),
                (Face::Fallback, "李小龍".to_owned()),
                (Face::Regular, " Łódź".to_owned()),
            ]
        );
        // Bold text falls back to the regular face before the CJK one.
        assert_eq!(runs("Name", true), [(Face::Bold, "Name".to_owned())]);
        let wide = width("李小龍", 10.0, false);
        let narrow = width("iii", 10.0, false);
        assert!(wide > 2.0 * narrow, "{wide} vs {narrow}");
        assert!(
            (width("李小龍 Lee", 10.0, false)
                - width("李小龍", 10.0, false)
                - width(" Lee", 10.0, false))
            .abs()
                < 1e-4
        );
    }

    #[test]
    fn wrap_keeps_lines_within_the_width() {
        let long = "someone.with.a.very.long.mailbox.name@subdivision.department.example-organization.example.com";
        let lines = wrap(long, 10.0, false, 60.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), long);
        assert!(lines.iter().all(|l| width(l, 10.0, false) <= 60.0));
        let words = wrap(AGREEMENT, 9.5, false, RIGHT - LEFT);
        assert_eq!(
            words.join(" "),
            AGREEMENT.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }

    #[test]
    fn every_printed_field_is_checked() {
        let printable = identity("Zofia", "Łódź", "Muster GmbH", "PL");
        assert_eq!(unprintable_field(&printable), None);
        let hieroglyph = Identity::try_from(signet_domain::identity::IdentityInput {
            given_name: "Zofia".into(),
            surname: "Łódź".into(),
            email: "zofia@example.com".into(),
            organization: "Muster GmbH".into(),
            country: "PL".into(),
            organization_identifier: None,
            organizational_unit: None,
            title: Some("Scribe \u{13000}".into()),
        })
        .expect("valid identity");
        assert_eq!(unprintable_field(&hieroglyph), Some(("title", '\u{13000}')));
    }

    #[test]
    fn the_embedded_fonts_are_subsets() {
        let identity = identity("Łódź", "李小龍", "Muster GmbH", "DE");
        let pdf = agreement_pdf(
            &order("SGSVB-SET01", &identity),
            &identity,
            "Personal",
            "0000",
            "Signet CA",
        )
        .expect("pdf");
        // Three faces, a few dozen glyphs: far below the 5 MiB of the whole fonts.
        assert!(pdf.len() < 200_000, "{} bytes", pdf.len());
        let fonts = poppler("pdffonts", &[], &pdf);
        assert!(
            fonts.lines().filter(|l| l.contains("yes yes")).count() >= 2,
            "{fonts}"
        );
        assert_eq!(subset_tag(&BTreeMap::from([(0x41, 3)])).len(), 6);
    }
}
