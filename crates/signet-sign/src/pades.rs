//! PAdES (ETSI EN 319 142-1) signatures as incremental updates: the original bytes are kept
//! exactly; each signature, the DSS and a document time-stamp are appended after them.
//! lopdf reads the document and writes the new objects; the byte range is patched here because
//! no maintained crate computes a signature's `/ByteRange` and `/Contents`.

use lopdf::{Dictionary, Document, IncrementalDocument, Object, ObjectId, Stream, StringFormat};
use signet_pki::signed_data::Hash;
use time::OffsetDateTime;

use crate::SignError;

/// What the new signature dictionary is.
#[derive(Debug, Clone, Copy)]
pub enum SignatureKind {
    /// A signer's signature (`/Type /Sig`, `/ETSI.CAdES.detached`), claimed at this time.
    Signature(OffsetDateTime),
    /// A document time-stamp (`/Type /DocTimeStamp`, `/ETSI.RFC3161`), for B-LTA.
    DocumentTimeStamp,
}

/// Revocation data and certificates for the Document Security Store (PAdES B-LT).
#[derive(Debug, Default, Clone)]
pub struct ValidationData {
    /// DER certificates.
    pub certificates: Vec<Vec<u8>>,
    /// DER OCSPResponse values.
    pub ocsps: Vec<Vec<u8>>,
    /// DER CRLs.
    pub crls: Vec<Vec<u8>>,
}

fn pdf_error(e: impl std::fmt::Display) -> SignError {
    SignError::Pdf(e.to_string())
}

/// Opens the document for an incremental update.
fn open(pdf: &[u8]) -> Result<IncrementalDocument, SignError> {
    let document = Document::load_mem(pdf)
        .map_err(|e| SignError::Pdf(format!("it cannot be read ({e}); is it a PDF file?")))?;
    if document.is_encrypted() {
        return Err(SignError::Pdf(
            "it is encrypted; remove the password protection before signing".into(),
        ));
    }
    let mut update = IncrementalDocument::create_from(pdf.to_vec(), document);
    // A hybrid file's pointer to its xref stream belongs to its own revision only.
    update.new_document.trailer.remove(b"XRefStm");
    Ok(update)
}

fn catalog_id(update: &IncrementalDocument) -> Result<ObjectId, SignError> {
    update
        .get_prev_documents()
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|_| SignError::Pdf("its trailer names no document catalog".into()))
}

/// A dictionary object, copied into the update so it can be changed; `what` names it in errors.
fn copied_dictionary(
    update: &mut IncrementalDocument,
    id: ObjectId,
    what: &str,
) -> Result<Dictionary, SignError> {
    update
        .opt_clone_object_to_new_document(id)
        .map_err(pdf_error)?;
    Ok(update
        .new_document
        .get_dictionary(id)
        .map_err(|_| SignError::Pdf(format!("its {what} is not a dictionary")))?
        .clone())
}

/// Appends `item` to an array object, copied into the update; `what` names it in errors.
fn push_to_copied_array(
    update: &mut IncrementalDocument,
    id: ObjectId,
    item: Object,
    what: &str,
) -> Result<(), SignError> {
    update
        .opt_clone_object_to_new_document(id)
        .map_err(pdf_error)?;
    update
        .new_document
        .get_object_mut(id)
        .map_err(pdf_error)?
        .as_array_mut()
        .map_err(|_| SignError::Pdf(format!("its {what} is not an array")))?
        .push(item);
    Ok(())
}

/// Appends `item` to the array `dict[key]`: a direct array, an array object of its own (copied
/// into the update), or a new array when there is none.
fn append_to_array_entry(
    update: &mut IncrementalDocument,
    dict: &mut Dictionary,
    key: &[u8],
    item: Object,
    what: &str,
) -> Result<(), SignError> {
    match dict.get(key) {
        Ok(Object::Reference(id)) => push_to_copied_array(update, *id, item, what),
        Ok(Object::Array(items)) => {
            let mut items = items.clone();
            items.push(item);
            dict.set(key.to_vec(), Object::Array(items));
            Ok(())
        }
        Ok(_) => Err(SignError::Pdf(format!("its {what} is not an array"))),
        Err(_) => {
            dict.set(key.to_vec(), Object::Array(vec![item]));
            Ok(())
        }
    }
}

/// The catalog, copied into the update so it can be changed.
fn catalog(update: &mut IncrementalDocument) -> Result<(ObjectId, Dictionary), SignError> {
    let id = catalog_id(update)?;
    Ok((id, copied_dictionary(update, id, "catalog")?))
}

fn pdf_date(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}+00'00'",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Names of the form fields already present, so that a new one gets a name of its own.
fn field_names(document: &Document, acro_form: Option<&Dictionary>) -> Vec<Vec<u8>> {
    let Some(fields) = acro_form.and_then(|f| f.get(b"Fields").ok()) else {
        return Vec::new();
    };
    let Ok((_, fields)) = document.dereference(fields) else {
        return Vec::new();
    };
    fields
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| document.dereference(f).ok())
                .filter_map(|(_, f)| f.as_dict().ok())
                .filter_map(|f| f.get(b"T").ok())
                .filter_map(|t| t.as_str().ok().map(<[u8]>::to_vec))
                .collect()
        })
        .unwrap_or_default()
}

/// Appends a signature field on the first page with an empty signature value of `capacity`
/// bytes, then fills it with `contents(digest of the byte range)`.
pub fn append_signature(
    pdf: &[u8],
    kind: SignatureKind,
    capacity: usize,
    hash: Hash,
    contents: impl FnOnce(&[u8]) -> Result<Vec<u8>, SignError>,
) -> Result<Vec<u8>, SignError> {
    let mut update = open(pdf)?;
    let page_id = *update
        .get_prev_documents()
        .get_pages()
        .get(&1)
        .ok_or_else(|| SignError::Pdf("it has no page to put the signature field on".into()))?;
    let (catalog_id, mut catalog) = catalog(&mut update)?;

    let mut signature = Dictionary::new();
    match kind {
        SignatureKind::Signature(at) => {
            signature.set("Type", Object::Name(b"Sig".to_vec()));
            signature.set("Filter", Object::Name(b"Adobe.PPKLite".to_vec()));
            signature.set("SubFilter", Object::Name(b"ETSI.CAdES.detached".to_vec()));
            signature.set("M", Object::string_literal(pdf_date(at)));
        }
        SignatureKind::DocumentTimeStamp => {
            signature.set("Type", Object::Name(b"DocTimeStamp".to_vec()));
            signature.set("Filter", Object::Name(b"Adobe.PPKLite".to_vec()));
            signature.set("SubFilter", Object::Name(b"ETSI.RFC3161".to_vec()));
        }
    }
    signature.set(
        "ByteRange",
        Object::Array(vec![
            Object::Integer(0),
            Object::Integer(PLACEHOLDER),
            Object::Integer(PLACEHOLDER),
            Object::Integer(PLACEHOLDER),
        ]),
    );
    signature.set(
        "Contents",
        Object::String(vec![0; capacity], StringFormat::Hexadecimal),
    );
    let signature_id = update.new_document.add_object(signature);

    // The AcroForm: in the catalog, or an object of its own.
    let (acro_form_id, mut acro_form) = match catalog.get(b"AcroForm") {
        Ok(Object::Reference(id)) => {
            let id = *id;
            (Some(id), copied_dictionary(&mut update, id, "AcroForm")?)
        }
        Ok(Object::Dictionary(dict)) => (None, dict.clone()),
        _ => (None, Dictionary::new()),
    };
    let taken = field_names(update.get_prev_documents(), Some(&acro_form));
    let prefix = match kind {
        SignatureKind::Signature(_) => "Signature",
        SignatureKind::DocumentTimeStamp => "DocumentTimeStamp",
    };
    let name = (1..)
        .map(|n| format!("{prefix}{n}"))
        .find(|n| !taken.iter().any(|t| t == n.as_bytes()))
        .unwrap_or_else(|| prefix.to_owned());

    let mut field = Dictionary::new();
    field.set("Type", Object::Name(b"Annot".to_vec()));
    field.set("Subtype", Object::Name(b"Widget".to_vec()));
    field.set("FT", Object::Name(b"Sig".to_vec()));
    field.set("T", Object::string_literal(name));
    field.set("V", Object::Reference(signature_id));
    // Invisible (zero rectangle), printed, locked.
    field.set(
        "Rect",
        Object::Array(vec![0.into(), 0.into(), 0.into(), 0.into()]),
    );
    field.set("F", Object::Integer(132));
    field.set("P", Object::Reference(page_id));
    let field_id = update.new_document.add_object(field);

    // The field into the AcroForm's /Fields.
    append_to_array_entry(
        &mut update,
        &mut acro_form,
        b"Fields",
        Object::Reference(field_id),
        "AcroForm /Fields",
    )?;
    // SignaturesExist | AppendOnly: viewers must save further changes incrementally.
    acro_form.set("SigFlags", Object::Integer(3));
    match acro_form_id {
        Some(id) => update.new_document.set_object(id, acro_form),
        None => catalog.set("AcroForm", Object::Dictionary(acro_form)),
    }
    update.new_document.set_object(catalog_id, catalog);

    // The widget into the page's /Annots.
    let mut page = copied_dictionary(&mut update, page_id, "first page")?;
    append_to_array_entry(
        &mut update,
        &mut page,
        b"Annots",
        Object::Reference(field_id),
        "first page's /Annots",
    )?;
    update.new_document.set_object(page_id, page);

    let mut out = Vec::with_capacity(pdf.len() + 2 * capacity + 4096);
    update.save_to(&mut out).map_err(pdf_error)?;
    fill(out, pdf.len(), capacity, hash, contents)
}

/// A number no real offset reaches, ten digits wide: the byte range is written over it.
const PLACEHOLDER: i64 = 9_999_999_999;

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Writes the byte range over its placeholder and the signature into `/Contents`.
fn fill(
    mut out: Vec<u8>,
    appended_at: usize,
    capacity: usize,
    hash: Hash,
    contents: impl FnOnce(&[u8]) -> Result<Vec<u8>, SignError>,
) -> Result<Vec<u8>, SignError> {
    let lost = || SignError::Pdf("the signature placeholder was not written as expected".into());
    let placeholder = format!("[0 {PLACEHOLDER} {PLACEHOLDER} {PLACEHOLDER}]");
    let range_at = find(&out, placeholder.as_bytes(), appended_at).ok_or_else(lost)?;
    let mut empty = Vec::with_capacity(2 * capacity + 2);
    empty.push(b'<');
    empty.resize(2 * capacity + 1, b'0');
    empty.push(b'>');
    let start = find(&out, &empty, appended_at).ok_or_else(lost)?;
    let end = start + empty.len();
    let range = format!("[0 {start} {end} {}]", out.len() - end);
    let padded = format!("{range:<width$}", width = placeholder.len());
    if padded.len() != placeholder.len() {
        return Err(lost());
    }
    out[range_at..range_at + placeholder.len()].copy_from_slice(padded.as_bytes());
    let digest = hash.digest_parts(&[&out[..start], &out[end..]]);
    let value = contents(&digest)?;
    if value.len() > capacity {
        return Err(SignError::Pdf(format!(
            "the signature ({} bytes) is larger than the {capacity} bytes set aside for it",
            value.len()
        )));
    }
    let hex = hex::encode_upper(&value);
    out[start + 1..start + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    Ok(out)
}

/// Appends the Document Security Store (ISO 32000-2 §12.8.4.3) with the validation data, merged
/// into an existing one.
pub fn append_dss(pdf: &[u8], data: &ValidationData) -> Result<Vec<u8>, SignError> {
    let mut update = open(pdf)?;
    let (catalog_id, mut catalog) = catalog(&mut update)?;
    let previous = match catalog.get(b"DSS") {
        Ok(Object::Reference(id)) => update
            .get_prev_documents()
            .get_dictionary(*id)
            .ok()
            .cloned(),
        Ok(Object::Dictionary(d)) => Some(d.clone()),
        _ => None,
    };
    let mut dss = Dictionary::new();
    for (key, items) in [
        ("Certs", &data.certificates),
        ("OCSPs", &data.ocsps),
        ("CRLs", &data.crls),
    ] {
        let mut refs: Vec<Object> = previous
            .as_ref()
            .and_then(|d| d.get(key.as_bytes()).ok())
            .and_then(|o| o.as_array().ok())
            .cloned()
            .unwrap_or_default();
        for item in items {
            let id = update
                .new_document
                .add_object(Stream::new(Dictionary::new(), item.clone()));
            refs.push(Object::Reference(id));
        }
        if !refs.is_empty() {
            dss.set(key, Object::Array(refs));
        }
    }
    let dss_id = update.new_document.add_object(dss);
    catalog.set("DSS", Object::Reference(dss_id));
    update.new_document.set_object(catalog_id, catalog);
    let mut out = Vec::new();
    update.save_to(&mut out).map_err(pdf_error)?;
    Ok(out)
}

/// A signature found in a PDF: its dictionary's kind, the signed bytes and the CMS.
#[derive(Debug, Clone)]
pub struct EmbeddedSignature {
    /// The field's name.
    pub field: String,
    /// `/Type /DocTimeStamp` or a signer's signature.
    pub document_time_stamp: bool,
    /// `/SubFilter`.
    pub sub_filter: String,
    /// `/M`, the claimed signing time, as written.
    pub claimed_time: Option<String>,
    /// The ranges `/ByteRange` names: (offset, length) pairs.
    pub byte_range: Vec<(usize, usize)>,
    /// The `/Contents` value without its zero padding (DER of a `ContentInfo`).
    pub contents: Vec<u8>,
    /// Whether the byte range covers the whole file except the `/Contents` value.
    pub covers_whole_file: bool,
}

impl EmbeddedSignature {
    /// The signed bytes' digest.
    pub fn digest(&self, pdf: &[u8], hash: Hash) -> Vec<u8> {
        let parts: Vec<&[u8]> = self
            .byte_range
            .iter()
            .map(|(at, len)| &pdf[*at..*at + *len])
            .collect();
        hash.digest_parts(&parts)
    }
}

/// The signatures of a PDF, in the order of their fields.
pub fn signatures(pdf: &[u8]) -> Result<Vec<EmbeddedSignature>, SignError> {
    let document = Document::load_mem(pdf)
        .map_err(|e| SignError::Pdf(format!("it cannot be read ({e}); is it a PDF file?")))?;
    let mut found = Vec::new();
    let catalog = document
        .catalog()
        .map_err(|_| SignError::Pdf("it has no document catalog".into()))?;
    let Some(acro_form) = catalog
        .get(b"AcroForm")
        .ok()
        .and_then(|o| document.dereference(o).ok())
        .and_then(|(_, o)| o.as_dict().ok())
    else {
        return Ok(found);
    };
    let fields = acro_form
        .get(b"Fields")
        .ok()
        .and_then(|o| document.dereference(o).ok())
        .and_then(|(_, o)| o.as_array().ok())
        .cloned()
        .unwrap_or_default();
    for field in fields {
        let Ok((_, Object::Dictionary(field))) = document.dereference(&field) else {
            continue;
        };
        if field.get(b"FT").and_then(Object::as_name).ok() != Some(b"Sig".as_slice()) {
            continue;
        }
        let Some(value) = field
            .get(b"V")
            .ok()
            .and_then(|v| document.dereference(v).ok())
            .and_then(|(_, v)| v.as_dict().ok())
        else {
            continue;
        };
        let name = |key: &[u8]| {
            value
                .get(key)
                .and_then(Object::as_name)
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .unwrap_or_default()
        };
        let broken = |what: &str| SignError::Pdf(format!("a signature's {what} is malformed"));
        let numbers: Vec<i64> = value
            .get(b"ByteRange")
            .and_then(Object::as_array)
            .map_err(|_| broken("/ByteRange"))?
            .iter()
            .map(|n| n.as_i64().map_err(|_| broken("/ByteRange")))
            .collect::<Result<_, _>>()?;
        if !numbers.len().is_multiple_of(2) || numbers.is_empty() {
            return Err(broken("/ByteRange"));
        }
        let mut byte_range = Vec::new();
        for pair in numbers.chunks(2) {
            let (at, len) = (
                usize::try_from(pair[0]).map_err(|_| broken("/ByteRange"))?,
                usize::try_from(pair[1]).map_err(|_| broken("/ByteRange"))?,
            );
            if at.checked_add(len).is_none_or(|end| end > pdf.len()) {
                return Err(broken("/ByteRange (it reaches past the end of the file)"));
            }
            byte_range.push((at, len));
        }
        let contents = value
            .get(b"Contents")
            .and_then(Object::as_str)
            .map_err(|_| broken("/Contents"))?;
        let covers_whole_file = byte_range.len() == 2
            && byte_range[0].0 == 0
            && byte_range[1].0 + byte_range[1].1 == pdf.len()
            // The gap is exactly the hex string of /Contents with its angle brackets.
            && byte_range[1].0 - byte_range[0].1 == 2 * contents.len() + 2;
        found.push(EmbeddedSignature {
            field: field
                .get(b"T")
                .and_then(Object::as_str)
                .map(|t| {
                    lopdf::decode_text_string(&Object::string_literal(t.to_vec()))
                        .unwrap_or_default()
                })
                .unwrap_or_default(),
            document_time_stamp: name(b"Type") == "DocTimeStamp",
            sub_filter: name(b"SubFilter"),
            claimed_time: value
                .get(b"M")
                .and_then(Object::as_str)
                .ok()
                .map(|m| String::from_utf8_lossy(m).into_owned()),
            byte_range,
            contents: strip_padding(contents),
            covers_whole_file,
        });
    }
    Ok(found)
}

/// The DER value inside zero padding: its own length says where it ends.
fn strip_padding(contents: &[u8]) -> Vec<u8> {
    use der::{Decode, Reader, SliceReader};
    let length = SliceReader::new(contents)
        .ok()
        .and_then(|mut r| der::Header::decode(&mut r).ok().map(|h| (h, r.position())))
        .and_then(|(h, at)| {
            usize::try_from(u32::from(h.length()))
                .ok()
                .map(|l| l + usize::try_from(u32::from(at)).unwrap_or(0))
        });
    match length {
        Some(n) if n <= contents.len() => contents[..n].to_vec(),
        _ => contents.to_vec(),
    }
}

/// Whether the document has a Document Security Store.
pub fn has_dss(pdf: &[u8]) -> Result<bool, SignError> {
    let document = Document::load_mem(pdf)
        .map_err(|e| SignError::Pdf(format!("it cannot be read ({e}); is it a PDF file?")))?;
    Ok(document
        .catalog()
        .map(|c| c.get(b"DSS").is_ok())
        .unwrap_or(false))
}

/// Whether what a reader sees changed between the revision a signature covers (the first
/// `signed_len` bytes) and the whole file: the number of pages or any page's content.
/// Signatures, the DSS and document time-stamps appended later change neither.
pub fn content_changed(pdf: &[u8], signed_len: usize) -> Result<bool, SignError> {
    let read = |bytes: &[u8]| {
        Document::load_mem(bytes)
            .map_err(|e| SignError::Pdf(format!("a revision cannot be read ({e})")))
    };
    let signed = read(&pdf[..signed_len.min(pdf.len())])?;
    let now = read(pdf)?;
    let (before, after) = (signed.get_pages(), now.get_pages());
    if before.len() != after.len() {
        return Ok(true);
    }
    // Content that cannot be read within the limit cannot be shown unchanged.
    const LIMIT: usize = 64 << 20;
    Ok(before.iter().zip(after.iter()).any(|((_, a), (_, b))| {
        match (
            signed.get_page_content_with_limit(*a, LIMIT),
            now.get_page_content_with_limit(*b, LIMIT),
        ) {
            (Ok(x), Ok(y)) => x != y,
            _ => true,
        }
    }))
}
