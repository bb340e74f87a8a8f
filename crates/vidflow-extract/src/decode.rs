//! Turning a page's bytes into text, in the character set the page was written in.

use std::sync::LazyLock;

use encoding_rs::{Encoding, UTF_8};
use regex::bytes::Regex;

/// How far into the body to look for a `<meta charset>`. Browsers look at the first 1024
/// bytes; some pages put a long `<head>` of comments or scripts first, so look a bit further.
const PRESCAN_BYTES: usize = 4096;

/// `<meta charset="...">` and `<meta http-equiv="Content-Type" content="text/html; charset=...">`
/// both end in `charset=NAME`; `<?xml ... encoding="NAME"?>` names it for XHTML.
static META_CHARSET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i-u)<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([a-z0-9_:.+-]+)"#)
        .expect("valid charset regex")
});
static XML_ENCODING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i-u)^\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']([a-z0-9_:.+-]+)"#)
        .expect("valid xml encoding regex")
});

/// Decodes a page body to text.
///
/// The order follows what browsers do: a byte-order mark wins, then the charset the server
/// named (`declared`), then one the document declares itself (`<meta charset>`,
/// `http-equiv`, or an XML declaration), and UTF-8 when nothing says otherwise. Bytes that
/// are invalid in the chosen encoding become U+FFFD rather than failing the page: a page
/// with one bad byte is still worth reading.
pub fn decode_body(body: &[u8], declared: Option<&str>) -> String {
    if let Some((encoding, bom_len)) = Encoding::for_bom(body) {
        let (text, _) = encoding.decode_without_bom_handling(&body[bom_len..]);
        return text.into_owned();
    }
    let encoding = declared
        .and_then(usable_encoding)
        .or_else(|| sniff_declared_charset(body))
        .unwrap_or(UTF_8);
    let (text, _) = encoding.decode_without_bom_handling(body);
    text.into_owned()
}

/// The encoding a document declares for itself in its first bytes, if any it names is known.
pub fn sniff_declared_charset(body: &[u8]) -> Option<&'static Encoding> {
    let head = &body[..body.len().min(PRESCAN_BYTES)];
    let label = META_CHARSET
        .captures(head)
        .or_else(|| XML_ENCODING.captures(head))?
        .get(1)?
        .as_bytes();
    usable_encoding(std::str::from_utf8(label).ok()?)
}

/// Looks up an encoding label (WHATWG names and aliases, any case).
///
/// A document that is being read as bytes cannot really be UTF-16 if its ASCII `<meta>` was
/// readable, so the HTML standard treats a UTF-16 declaration as UTF-8; do the same.
fn usable_encoding(label: &str) -> Option<&'static Encoding> {
    let encoding = Encoding::for_label(label.trim().as_bytes())?;
    if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
        Some(UTF_8)
    } else {
        Some(encoding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_charset_decodes_latin1() {
        // "café" in ISO-8859-1: é is the single byte 0xE9.
        let body = b"<p>caf\xe9</p>";
        assert_eq!(decode_body(body, Some("iso-8859-1")), "<p>café</p>");
    }

    #[test]
    fn meta_charset_is_used_when_server_names_none() {
        let body = b"<html><head><meta charset=\"windows-1251\"></head><body>\xcf\xf0\xe8\xe2\xe5\xf2</body></html>";
        assert!(decode_body(body, None).contains("Привет"));
    }

    #[test]
    fn http_equiv_charset_is_found() {
        let body = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\">\x93\xfa\x96\x7b";
        assert!(decode_body(body, None).ends_with("日本"));
    }

    #[test]
    fn xml_declaration_names_the_encoding() {
        let body = b"<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?><p>\xa4</p>";
        assert!(decode_body(body, None).contains('€'));
    }

    #[test]
    fn server_charset_beats_meta() {
        let body = "<meta charset=\"windows-1252\"><p>naïve</p>".as_bytes();
        assert!(decode_body(body, Some("utf-8")).contains("naïve"));
    }

    #[test]
    fn bom_beats_everything() {
        let mut body = vec![0xEF, 0xBB, 0xBF];
        body.extend_from_slice("<p>ü</p>".as_bytes());
        assert_eq!(decode_body(&body, Some("iso-8859-1")), "<p>ü</p>");
    }

    #[test]
    fn defaults_to_utf8_and_survives_bad_bytes() {
        assert_eq!(decode_body("<p>ñ</p>".as_bytes(), None), "<p>ñ</p>");
        assert_eq!(decode_body(b"a\xffb", None), "a\u{FFFD}b");
    }

    #[test]
    fn unknown_labels_fall_through() {
        let body = "<meta charset=\"no-such-charset\"><p>ö</p>".as_bytes();
        assert!(decode_body(body, Some("bogus")).contains('ö'));
    }
}
