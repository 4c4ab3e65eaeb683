//! Uploaded documents are read, not only sniffed (R-ORD-5): a PDF must parse and have a page,
//! an image must decode. A text file behind a `%PDF-` header, a truncated scan or an encrypted
//! PDF the vetting team cannot open is refused at upload, with a message, not found at vetting.

use signet_domain::Refusal;

/// Decoded images may use at most this much memory: a small file that claims huge dimensions
/// (a decompression bomb) is refused instead of allocated.
const MAX_DECODED_BYTES: usize = 256 * 1024 * 1024;

/// Checks that `content`, recognised as `media_type` by its first bytes, really is one.
/// Runs the parsers of untrusted input; call it off the async runtime.
pub fn check_readable(media_type: &str, content: &[u8]) -> Result<(), Refusal> {
    let unreadable = |what: &str, why: String| {
        Refusal::InvalidInput(format!(
            "the file starts like a {what} but cannot be read as one ({why}); upload the original {what}, not a renamed or damaged file"
        ))
    };
    match media_type {
        "application/pdf" => {
            let doc =
                lopdf::Document::load_mem(content).map_err(|e| unreadable("PDF", e.to_string()))?;
            if doc.is_encrypted() {
                return Err(Refusal::InvalidInput(
                    "the PDF is encrypted or password-protected; upload it without a password so the vetting team can open it".into(),
                ));
            }
            if doc.get_pages().is_empty() {
                return Err(unreadable("PDF", "it has no pages".into()));
            }
            Ok(())
        }
        "image/png" => {
            let decoder = png::Decoder::new_with_limits(
                std::io::Cursor::new(content),
                png::Limits {
                    bytes: MAX_DECODED_BYTES,
                },
            );
            let mut reader = decoder
                .read_info()
                .map_err(|e| unreadable("PNG image", e.to_string()))?;
            let size = reader.output_buffer_size();
            if size > MAX_DECODED_BYTES {
                return Err(unreadable(
                    "PNG image",
                    "its dimensions are too large".into(),
                ));
            }
            let mut pixels = vec![0; size];
            reader
                .next_frame(&mut pixels)
                .map_err(|e| unreadable("PNG image", e.to_string()))?;
            Ok(())
        }
        "image/jpeg" => {
            let mut decoder = zune_jpeg::JpegDecoder::new(content);
            decoder
                .decode_headers()
                .map_err(|e| unreadable("JPEG image", format!("{e:?}")))?;
            let size = decoder
                .output_buffer_size()
                .filter(|n| *n <= MAX_DECODED_BYTES)
                .ok_or_else(|| unreadable("JPEG image", "its dimensions are too large".into()))?;
            let mut pixels = vec![0; size];
            decoder
                .decode_into(&mut pixels)
                .map_err(|e| unreadable("JPEG image", format!("{e:?}")))?;
            Ok(())
        }
        other => Err(Refusal::InvalidInput(format!(
            "documents of type {other} are not accepted"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::check_readable;

    #[test]
    fn a_text_file_behind_a_pdf_header_is_refused() {
        let err = check_readable("application/pdf", b"%PDF-1.7\nthis is only text\n")
            .expect_err("not a PDF");
        assert!(err.to_string().contains("cannot be read"), "{err}");
    }

    #[test]
    fn a_real_pdf_passes_and_a_page_less_one_does_not() {
        let pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\nxref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n164\n%%EOF\n";
        check_readable("application/pdf", pdf).expect("a one-page PDF");
        assert!(
            check_readable(
                "application/pdf",
                b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
            )
            .is_err()
        );
    }

    #[test]
    fn truncated_images_are_refused() {
        let mut png = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut png, 2, 2);
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().expect("header");
            writer.write_image_data(&[0, 255, 255, 0]).expect("data");
        }
        check_readable("image/png", &png).expect("a 2×2 PNG");
        assert!(check_readable("image/png", &png[..png.len() / 2]).is_err());
        assert!(check_readable("image/jpeg", &[0xff, 0xd8, 0xff, 0xe0, 0, 0]).is_err());
    }

    /// A minimal PDF around `objects` (1: catalog, 2: pages; the rest as given), with a correct
    /// cross-reference table so the parser reaches every object.
    fn pdf(objects: &[Vec<u8>]) -> Vec<u8> {
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (i, o) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend(format!("{} 0 obj", i + 1).as_bytes());
            out.extend(o);
            out.extend(b"endobj\n");
        }
        let xref = out.len();
        out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
        for o in offsets {
            out.extend(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend(
            format!(
                "trailer<</Size {}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        out
    }

    /// Hostile PDFs end in an answer, not a crash: checked on a thread with the stack of a
    /// tokio blocking thread (2 MiB), where a recursive parser would overflow.
    #[test]
    fn hostile_pdfs_are_answered_without_crashing() {
        let deep_array = [vec![b'['; 2_000_000], vec![b']'; 2_000_000]].concat();
        let deep_dict = ["<</A ".repeat(500_000), ">>".repeat(500_000)]
            .concat()
            .into_bytes();
        let cases = [
            // The page tree points at itself.
            pdf(&[
                b"<</Type/Catalog/Pages 2 0 R>>".to_vec(),
                b"<</Type/Pages/Kids[2 0 R]/Count 1>>".to_vec(),
            ]),
            pdf(&[
                b"<</Type/Catalog/Pages 2 0 R/X 3 0 R>>".to_vec(),
                b"<</Type/Pages/Kids[4 0 R]/Count 1>>".to_vec(),
                deep_array,
                b"<</Type/Page/Parent 2 0 R>>".to_vec(),
            ]),
            pdf(&[
                b"<</Type/Catalog/Pages 2 0 R/X 3 0 R>>".to_vec(),
                b"<</Type/Pages/Kids[4 0 R]/Count 1>>".to_vec(),
                deep_dict,
                b"<</Type/Page/Parent 2 0 R>>".to_vec(),
            ]),
        ];
        for case in cases {
            std::thread::Builder::new()
                .stack_size(2 * 1024 * 1024)
                .spawn(move || {
                    let _ = check_readable("application/pdf", &case);
                })
                .expect("thread")
                .join()
                .expect("answered, not crashed");
        }
    }

    #[test]
    fn an_image_claiming_huge_dimensions_is_refused_unallocated() {
        let mut png = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut png, 1, 1);
            encoder.set_color(png::ColorType::Rgba);
            encoder.set_depth(png::BitDepth::Sixteen);
            let mut writer = encoder.write_header().expect("header");
            writer.write_image_data(&[0; 8]).expect("data");
        }
        // Rewrite the header to claim 60000 × 60000 pixels (28 GB decoded), CRC fixed up.
        png[16..20].copy_from_slice(&60_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&60_000u32.to_be_bytes());
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        let err = check_readable("image/png", &png).expect_err("a bomb");
        assert!(err.to_string().contains("too large"), "{err}");
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
