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
    let document = load(pdf)?;
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
    if let SignatureKind::Signature(_) = kind
        && certified_without_changes(update.get_prev_documents())
    {
        return Err(SignError::Pdf(
            "its author certified it with no changes allowed (DocMDP level 1): another signature would break that certification".into(),
        ));
    }
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

/// Whether the document is certified (a DocMDP signature) with no changes permitted, P = 1
/// (ISO 32000-1 §12.8.2.2).
fn certified_without_changes(document: &Document) -> bool {
    let get = |o: &Object| document.dereference(o).ok().map(|(_, o)| o.clone());
    let permissions = document
        .catalog()
        .ok()
        .and_then(|c| c.get(b"Perms").ok().and_then(get))
        .and_then(|p| {
            p.as_dict()
                .ok()
                .and_then(|p| p.get(b"DocMDP").ok().and_then(get))
        });
    let references = permissions
        .as_ref()
        .and_then(|s| s.as_dict().ok())
        .and_then(|s| s.get(b"Reference").ok().and_then(get));
    references
        .as_ref()
        .and_then(|r| r.as_array().ok())
        .into_iter()
        .flatten()
        .filter_map(get)
        .filter_map(|r| {
            r.as_dict()
                .ok()
                .and_then(|r| r.get(b"TransformParams").ok().and_then(get))
        })
        .any(|t| {
            t.as_dict()
                .ok()
                .and_then(|t| t.get(b"P").ok())
                .and_then(|p| p.as_i64().ok())
                == Some(1)
        })
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
    /// Whether the byte range is the only safe shape: from the file's first byte to the end of
    /// its revision, leaving out exactly the `/Contents` hex string and nothing else.
    pub well_formed: bool,
    /// Whether, well formed, it reaches the end of the file (nothing appended after it).
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

    /// Where the signed revision ends.
    pub fn end(&self) -> usize {
        self.byte_range.last().map_or(0, |(at, len)| at + len)
    }
}

/// Most signatures a file may carry before it is refused: each costs a parse of the file.
pub const MAX_SIGNATURES: usize = 32;

/// Largest decompressed stream read: object streams and content beyond it are refused.
const MAX_DECOMPRESSED: usize = 64 << 20;

/// Reads a PDF (or one of its revisions) with a cap on what its streams inflate to.
fn load(pdf: &[u8]) -> Result<Document, SignError> {
    Document::load_mem_with_options(
        pdf,
        lopdf::LoadOptions {
            max_decompressed_size: Some(MAX_DECOMPRESSED),
            ..Default::default()
        },
    )
    .map_err(|e| SignError::Pdf(format!("it cannot be read ({e}); is it a PDF file?")))
}

fn is_hex_string(gap: &[u8]) -> bool {
    gap.len() >= 2
        && gap[0] == b'<'
        && gap[gap.len() - 1] == b'>'
        && gap[1..gap.len() - 1]
            .iter()
            .all(|b| b.is_ascii_hexdigit() || b.is_ascii_whitespace())
}

/// The signature fields of the form, nested ones included (a field's /Kids), each signature
/// dictionary once.
fn signature_fields(document: &Document) -> Result<Vec<(Dictionary, ObjectId)>, SignError> {
    let Some(acro_form) = document
        .catalog()
        .map_err(|_| SignError::Pdf("it has no document catalog".into()))?
        .get(b"AcroForm")
        .ok()
        .and_then(|o| document.dereference(o).ok())
        .and_then(|(_, o)| o.as_dict().ok())
    else {
        return Ok(Vec::new());
    };
    let roots = acro_form
        .get(b"Fields")
        .ok()
        .and_then(|o| document.dereference(o).ok())
        .and_then(|(_, o)| o.as_array().ok())
        .cloned()
        .unwrap_or_default();
    let mut pending: Vec<(Object, usize)> = roots.into_iter().map(|f| (f, 0)).collect();
    let (mut found, mut seen_fields, mut seen_values) = (Vec::new(), Vec::new(), Vec::new());
    while let Some((field, depth)) = pending.pop() {
        if let Object::Reference(id) = field {
            if seen_fields.contains(&id) {
                continue;
            }
            seen_fields.push(id);
        }
        let Ok((_, Object::Dictionary(field))) = document.dereference(&field) else {
            continue;
        };
        if depth < 8
            && let Ok(Object::Array(kids)) = field.get(b"Kids")
        {
            pending.extend(kids.iter().cloned().map(|k| (k, depth + 1)));
        }
        if field.get(b"FT").and_then(Object::as_name).ok() != Some(b"Sig".as_slice()) {
            continue;
        }
        // A signature dictionary must be an object of its own: the byte range locates it.
        let Ok(Object::Reference(value)) = field.get(b"V") else {
            continue;
        };
        if seen_values.contains(value) {
            continue;
        }
        seen_values.push(*value);
        if seen_values.len() > MAX_SIGNATURES {
            return Err(SignError::NotSigned(format!(
                "it has more than {MAX_SIGNATURES} signatures, more than this check reads"
            )));
        }
        found.push((field.clone(), *value));
    }
    // In the order the signatures were made.
    found.reverse();
    Ok(found)
}

/// The signatures of a PDF, in the order of their fields.
pub fn signatures(pdf: &[u8]) -> Result<Vec<EmbeddedSignature>, SignError> {
    let document = load(pdf)?;
    let mut found = Vec::new();
    for (field, value_id) in signature_fields(&document)? {
        let broken = |what: &str| SignError::Pdf(format!("a signature's {what} is malformed"));
        let value = document
            .get_dictionary(value_id)
            .map_err(|_| broken("dictionary"))?;
        let name = |key: &[u8]| {
            value
                .get(key)
                .and_then(Object::as_name)
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .unwrap_or_default()
        };
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
        let well_formed = match byte_range.as_slice() {
            [(0, first), (second, _)] => second
                .checked_sub(*first)
                .is_some_and(|gap| gap > 0 && is_hex_string(&pdf[*first..*second])),
            _ => false,
        };
        let end = byte_range.last().map_or(0, |(at, len)| at + len);
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
            contents: strip_padding(contents),
            covers_whole_file: well_formed && end == pdf.len(),
            well_formed,
            byte_range,
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

/// Whether the document has a Document Security Store with revocation data in it.
pub fn has_dss(pdf: &[u8]) -> Result<bool, SignError> {
    let document = load(pdf)?;
    let Some(dss) = document
        .catalog()
        .ok()
        .and_then(|c| c.get(b"DSS").ok())
        .and_then(|d| document.dereference(d).ok())
        .and_then(|(_, d)| d.as_dict().ok())
    else {
        return Ok(false);
    };
    Ok([b"OCSPs".as_slice(), b"CRLs"].iter().any(|key| {
        dss.get(key)
            .ok()
            .and_then(|a| document.dereference(a).ok())
            .and_then(|(_, a)| a.as_array().ok())
            .is_some_and(|a| !a.is_empty())
    }))
}

/// What changed between the revision a signature covers (the first `signed_len` bytes) and the
/// whole file, beyond what signing itself adds: new signature fields and their widgets, the
/// DSS, document time-stamps (ETSI EN 319 142-1 §5.4, the changes a later signature may make).
/// Anything else — content, fonts, images, page boxes, annotations, actions, form values — is
/// listed, one line per changed object.
pub fn revision_changes(pdf: &[u8], signed_len: usize) -> Result<Vec<String>, SignError> {
    if signed_len >= pdf.len() {
        return Ok(Vec::new());
    }
    let signed = load(&pdf[..signed_len])?;
    let now = load(pdf)?;
    let mut changes = Vec::new();
    let root = |d: &Document| d.trailer.get(b"Root").and_then(Object::as_reference).ok();
    if root(&signed) != root(&now) {
        changes.push("the document catalog was replaced".to_owned());
    }
    let info = now.trailer.get(b"Info").and_then(Object::as_reference).ok();
    let dss = signed
        .catalog()
        .ok()
        .and_then(|c| c.get(b"DSS").ok())
        .and_then(|d| d.as_reference().ok());
    for (id, old) in &signed.objects {
        let Some(new) = now.objects.get(id) else {
            changes.push(format!("object {} {} was removed", id.0, id.1));
            continue;
        };
        if old == new || Some(*id) == info || Some(*id) == dss {
            continue;
        }
        if !signing_may_change(&now, Some(*id) == root(&signed), old, new) {
            let kind = new
                .as_dict()
                .ok()
                .and_then(|d| d.get(b"Type").ok())
                .and_then(|t| t.as_name().ok())
                .map(|t| format!(" (/{})", String::from_utf8_lossy(t)))
                .unwrap_or_default();
            changes.push(format!("object {} {}{kind} was changed", id.0, id.1));
        }
    }
    Ok(changes)
}

/// Whether `item` is a signature field (or its widget) in `document`.
fn is_signature_field(document: &Document, item: &Object) -> bool {
    document
        .dereference(item)
        .ok()
        .and_then(|(_, o)| o.as_dict().ok())
        .is_some_and(|d| d.get(b"FT").and_then(Object::as_name).ok() == Some(b"Sig".as_slice()))
}

/// Whether `new` only appends signature fields to `old`.
fn appends_signature_fields(document: &Document, old: &[Object], new: &[Object]) -> bool {
    new.len() >= old.len()
        && new[..old.len()] == *old
        && new[old.len()..]
            .iter()
            .all(|item| is_signature_field(document, item))
}

/// The changes signing makes to an existing object: the catalog gains /AcroForm and /DSS, the
/// AcroForm its fields and flags, a page the signature widget in /Annots.
fn signing_may_change(document: &Document, catalog: bool, old: &Object, new: &Object) -> bool {
    match (old, new) {
        (Object::Array(old), Object::Array(new)) => appends_signature_fields(document, old, new),
        (Object::Dictionary(old), Object::Dictionary(new)) => {
            let keys: std::collections::BTreeSet<&[u8]> = old
                .iter()
                .chain(new.iter())
                .map(|(k, _)| k.as_slice())
                .filter(|k| old.get(k).ok() != new.get(k).ok())
                .collect();
            keys.iter().all(|key| match *key {
                b"AcroForm" if catalog => match (old.get(key).ok(), new.get(key).ok()) {
                    // A new AcroForm may hold signature fields and their flags, nothing else.
                    (None, Some(new @ Object::Dictionary(_))) => signing_may_change(
                        document,
                        false,
                        &Object::Dictionary(Dictionary::new()),
                        new,
                    ),
                    (None, Some(Object::Reference(id))) => {
                        document.get_object(*id).is_ok_and(|new| {
                            signing_may_change(
                                document,
                                false,
                                &Object::Dictionary(Dictionary::new()),
                                new,
                            )
                        })
                    }
                    (Some(o), Some(n)) => signing_may_change(document, false, o, n),
                    _ => false,
                },
                b"DSS" if catalog => true,
                b"Fields" | b"Annots" => match (old.get(key).ok(), new.get(key).ok()) {
                    (None, Some(Object::Array(new))) => {
                        new.iter().all(|i| is_signature_field(document, i))
                    }
                    (Some(Object::Array(o)), Some(Object::Array(n))) => {
                        appends_signature_fields(document, o, n)
                    }
                    _ => false,
                },
                b"SigFlags" => true,
                _ => false,
            })
        }
        _ => false,
    }
}
