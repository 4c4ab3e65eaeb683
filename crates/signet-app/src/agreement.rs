//! The request form and subscriber agreement (R-ORD-4): a PDF with the locked order details,
//! the agreement text, boxes for the signature and the notary or Chamber stamp, and the order
//! fingerprint in text and as a QR code.

use printpdf::{
    BuiltinFont, Color, Line, LinePoint, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage,
    PdfSaveOptions, Point, Pt, Rect, Rgb, TextItem,
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

/// Page layout in millimetres from the bottom-left corner of an A4 page.
struct Writer {
    ops: Vec<Op>,
    y: f32,
}

impl Writer {
    fn text(&mut self, x: f32, size: f32, bold: bool, line: &str) {
        let font = if bold {
            BuiltinFont::HelveticaBold
        } else {
            BuiltinFont::Helvetica
        };
        self.ops.extend([
            Op::StartTextSection,
            Op::SetTextCursor {
                pos: Point::new(Mm(x), Mm(self.y)),
            },
            Op::SetFont {
                font: PdfFontHandle::Builtin(font),
                size: Pt(size),
            },
            Op::ShowText {
                items: vec![TextItem::Text(line.to_owned())],
            },
            Op::EndTextSection,
        ]);
    }

    /// A line of text, then move down.
    fn line(&mut self, size: f32, bold: bool, text: &str) {
        self.text(20.0, size, bold, text);
        self.y -= size * 0.5;
    }

    fn field(&mut self, label: &str, value: &str) {
        self.text(20.0, 10.0, true, label);
        self.text(70.0, 10.0, false, value);
        self.y -= 5.5;
    }

    /// Wraps a paragraph at about `width` characters.
    fn paragraph(&mut self, text: &str, width: usize) {
        let mut line = String::new();
        for word in text.split_whitespace() {
            if line.len() + word.len() + 1 > width {
                self.line(9.5, false, &line);
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
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
        self.text(x + 2.0, 8.0, false, label);
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
    w.field("Order number", &order.order_number);
    w.field("Product", product);
    w.field("Validity", &format!("{} months", order.validity_months));
    w.field("Key", &order.key_type);
    w.field("Ordered on", &crate::orders::rfc3339(order.created_at));
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
    w.paragraph(AGREEMENT, 105);
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
        70,
    );
    w.qr(
        150.0,
        12.0,
        42.0,
        &qr_payload(&order.order_number, fingerprint),
    )?;
    let page = PdfPage::new(Mm(210.0), Mm(297.0), w.ops);
    let mut doc = PdfDocument::new(&format!("Order {}", order.order_number));
    let mut warnings = Vec::new();
    Ok(doc
        .with_pages(vec![page])
        .save(&PdfSaveOptions::default(), &mut warnings))
}
