//! Media types: reading `Content-Type` headers and telling pages and images apart by content.

use std::path::Path;

/// Media types a page may have.
pub(crate) const PAGE_TYPES: [&str; 3] = ["text/html", "application/xhtml+xml", "text/plain"];

/// A parsed `Content-Type` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContentType {
    /// `type/subtype`, lower case, without parameters.
    pub(crate) essence: String,
    /// The `charset` parameter, lower case, unquoted.
    pub(crate) charset: Option<String>,
}

impl ContentType {
    /// Parses a header value such as `text/html; charset="UTF-8"`. A value that is no media
    /// type at all reads as unknown (empty), so the bytes decide, as browsers do.
    pub(crate) fn parse(value: &str) -> ContentType {
        let value = value.trim();
        // `mime` refuses the whole value for one malformed parameter (`charset = x`); the
        // type before it still says what the body is.
        let parsed = value.parse::<mime::Mime>().ok().or_else(|| {
            let (essence, _parameters) = value.split_once(';')?;
            essence.trim_end().parse().ok()
        });
        let Some(parsed) = parsed else {
            return ContentType {
                essence: String::new(),
                charset: None,
            };
        };
        let charset = parsed
            .get_param(mime::CHARSET)
            .map(|c| c.as_str().to_ascii_lowercase())
            .filter(|c| !c.is_empty());
        ContentType {
            essence: parsed.essence_str().to_owned(),
            charset,
        }
    }

    /// True for the types vidflow reads as a page.
    pub(crate) fn is_page(&self) -> bool {
        PAGE_TYPES.contains(&self.essence.as_str())
    }

    /// True for `image/*`.
    pub(crate) fn is_image(&self) -> bool {
        self.essence.starts_with("image/") && self.essence.len() > "image/".len()
    }

    /// True for the types servers use when they do not know (then the bytes decide).
    pub(crate) fn is_unknown(&self) -> bool {
        matches!(
            self.essence.as_str(),
            "" | "application/octet-stream" | "binary/octet-stream" | "application/unknown"
        )
    }
}

/// Page media type implied by a local file's extension, if it names one.
pub(crate) fn page_type_for_extension(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => Some("text/html"),
        "xhtml" | "xht" => Some("application/xhtml+xml"),
        "txt" | "text" => Some("text/plain"),
        _ => None,
    }
}

/// The page type the bytes look like: HTML (by the WHATWG sniffing rule: the first
/// non-blank thing is one of the tags that start HTML documents), XHTML, or plain text
/// (no binary control bytes); `None` for binary data.
pub(crate) fn sniff_page_type(body: &[u8]) -> Option<&'static str> {
    let head = &body[..body.len().min(1024)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let lower = head[start..].to_ascii_lowercase();
    if lower.starts_with(b"<?xml") && contains(&lower, b"http://www.w3.org/1999/xhtml") {
        return Some("application/xhtml+xml");
    }
    const HTML_STARTS: [&[u8]; 17] = [
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<script",
        b"<iframe",
        b"<h1",
        b"<div",
        b"<font",
        b"<table",
        b"<a",
        b"<style",
        b"<title",
        b"<b",
        b"<body",
        b"<br",
        b"<p",
        b"<!--",
    ];
    for tag in HTML_STARTS {
        if let Some(rest) = lower.strip_prefix(tag) {
            // `<a` must be a whole tag name, not the start of `<abbr-ish>` prose.
            let whole = tag == b"<!--"
                || matches!(
                    rest.first(),
                    Some(b' ' | b'>' | b'\t' | b'\n' | b'\r' | b'\x0c') | None
                );
            if whole {
                return Some("text/html");
            }
        }
    }
    if sniff_image_type(body).is_some() {
        return None;
    }
    let sample = &body[..body.len().min(8192)];
    let binary = sample
        .iter()
        .any(|&b| matches!(b, 0x00..=0x08 | 0x0B | 0x0E..=0x1A | 0x1C..=0x1F));
    (!binary).then_some("text/plain")
}

/// The image type the bytes start with, by magic number (SVG by its root element).
pub(crate) fn sniff_image_type(body: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| body.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(b"\xFF\xD8\xFF") {
        Some("image/jpeg")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if body.len() >= 12 && starts(b"RIFF") && &body[8..12] == b"WEBP" {
        Some("image/webp")
    } else if starts(b"BM")
        && body.len() >= 18
        // The DIB header size pins BMP down; "BM" alone also starts ordinary text.
        && matches!(
            u32::from_le_bytes([body[14], body[15], body[16], body[17]]),
            12 | 40 | 52 | 56 | 64 | 108 | 124
        )
    {
        Some("image/bmp")
    } else if starts(b"\x00\x00\x01\x00") {
        Some("image/x-icon")
    } else if starts(b"II*\x00") || starts(b"MM\x00*") {
        Some("image/tiff")
    } else if body.len() >= 12
        && &body[4..8] == b"ftyp"
        && matches!(&body[8..12], b"avif" | b"avis")
    {
        Some("image/avif")
    } else if looks_like_svg(body) {
        Some("image/svg+xml")
    } else {
        None
    }
}

fn looks_like_svg(body: &[u8]) -> bool {
    let head = body[..body.len().min(1024)].to_ascii_lowercase();
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let head = &head[start..];
    head.starts_with(b"<svg")
        || ((head.starts_with(b"<?xml") || head.starts_with(b"<!--")) && contains(head, b"<svg"))
}

/// The character set a page names for itself: a byte-order mark, or (for HTML) a
/// `<meta charset>` / `<meta http-equiv="content-type" content="...charset=...">` near the top.
pub(crate) fn sniff_charset(body: &[u8], essence: &str) -> Option<String> {
    if body.starts_with(b"\xEF\xBB\xBF") {
        return Some("utf-8".into());
    }
    if body.starts_with(b"\xFF\xFE") {
        return Some("utf-16le".into());
    }
    if body.starts_with(b"\xFE\xFF") {
        return Some("utf-16be".into());
    }
    if essence == "text/plain" {
        return None;
    }
    // Browsers look at the first 1024 bytes for the meta declaration; so do we.
    let head = body[..body.len().min(1024)].to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = find(&head[from..], b"charset") {
        let at = from + pos + b"charset".len();
        from = at;
        let rest = &head[at..];
        let rest = skip_spaces(rest);
        let Some(rest) = rest.strip_prefix(b"=") else {
            continue;
        };
        let rest = skip_spaces(rest);
        let rest = rest
            .strip_prefix(b"\"")
            .or_else(|| rest.strip_prefix(b"'"))
            .unwrap_or(rest);
        let end = rest
            .iter()
            .position(|b| {
                matches!(
                    b,
                    b'"' | b'\'' | b';' | b'>' | b'/' | b' ' | b'\t' | b'\n' | b'\r'
                )
            })
            .unwrap_or(rest.len());
        let name = &rest[..end];
        if !name.is_empty()
            && name
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        {
            return Some(String::from_utf8_lossy(name).into_owned());
        }
    }
    None
}

fn skip_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &s[n..]
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

/// A byte count for people: "10 MiB", "8.5 MiB", "300 KiB", "12 bytes".
pub(crate) fn human_bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if n >= MIB {
        if n.is_multiple_of(MIB) {
            format!("{} MiB", n / MIB)
        } else {
            format!("{:.1} MiB", n as f64 / MIB as f64)
        }
    } else if n >= KIB {
        if n.is_multiple_of(KIB) {
            format!("{} KiB", n / KIB)
        } else {
            format!("{:.1} KiB", n as f64 / KIB as f64)
        }
    } else if n == 1 {
        "1 byte".into()
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_type_with_charset() {
        let ct = ContentType::parse("Text/HTML; Charset=\"UTF-8\"");
        assert_eq!(ct.essence, "text/html");
        assert_eq!(ct.charset.as_deref(), Some("utf-8"));
        assert!(ct.is_page());
        let ct = ContentType::parse("application/pdf");
        assert_eq!(ct.charset, None);
        assert!(!ct.is_page());
        assert!(ContentType::parse("image/png").is_image());
        assert!(!ContentType::parse("image/").is_image());
        assert!(ContentType::parse("").is_unknown());
        // A malformed parameter loses the charset, not the type.
        let ct = ContentType::parse("text/html; charset = utf-8");
        assert_eq!(ct.essence, "text/html");
        assert_eq!(ct.charset, None);
        // No media type at all: the bytes decide.
        assert!(ContentType::parse("html please").is_unknown());
    }

    #[test]
    fn sniffs_pages() {
        assert_eq!(
            sniff_page_type(b"\n  <!DOCTYPE html><p>x"),
            Some("text/html")
        );
        assert_eq!(
            sniff_page_type(b"\xEF\xBB\xBF<html lang=en>"),
            Some("text/html")
        );
        assert_eq!(sniff_page_type(b"<p>hello</p>"), Some("text/html"));
        assert_eq!(
            sniff_page_type(
                b"<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\">"
            ),
            Some("application/xhtml+xml")
        );
        assert_eq!(
            sniff_page_type(b"<abbreviation> is prose"),
            Some("text/plain")
        );
        assert_eq!(
            sniff_page_type("Just words, caf\u{e9}.".as_bytes()),
            Some("text/plain")
        );
        assert_eq!(
            sniff_page_type(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\x00"),
            None
        );
        assert_eq!(sniff_page_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), None);
    }

    #[test]
    fn sniffs_images() {
        assert_eq!(
            sniff_image_type(b"\x89PNG\r\n\x1a\nrest"),
            Some("image/png")
        );
        assert_eq!(sniff_image_type(b"\xFF\xD8\xFF\xE0"), Some("image/jpeg"));
        assert_eq!(sniff_image_type(b"GIF89a...."), Some("image/gif"));
        assert_eq!(
            sniff_image_type(b"RIFF\0\0\0\0WEBPVP8 "),
            Some("image/webp")
        );
        assert_eq!(sniff_image_type(b"\0\0\0\x1cftypavif"), Some("image/avif"));
        assert_eq!(
            sniff_image_type(
                b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"
            ),
            Some("image/svg+xml")
        );
        let mut bmp = b"BM\0\0\0\0\0\0\0\0\0\0\0\0".to_vec();
        bmp.extend_from_slice(&40u32.to_le_bytes());
        assert_eq!(sniff_image_type(&bmp), Some("image/bmp"));
        assert_eq!(sniff_image_type(b"BMW makes cars, and this is text."), None);
        assert_eq!(sniff_image_type(b"<html>"), None);
        assert_eq!(sniff_image_type(b"%PDF-1.4"), None);
    }

    #[test]
    fn finds_declared_charsets() {
        assert_eq!(
            sniff_charset(b"<html><head><meta charset=\"ISO-8859-1\">", "text/html").as_deref(),
            Some("iso-8859-1")
        );
        assert_eq!(
            sniff_charset(
                b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1252\">",
                "text/html"
            )
            .as_deref(),
            Some("windows-1252")
        );
        assert_eq!(
            sniff_charset(b"\xEF\xBB\xBFhello", "text/plain").as_deref(),
            Some("utf-8")
        );
        assert_eq!(sniff_charset(b"<html><p>no declaration", "text/html"), None);
        assert_eq!(sniff_charset(b"charset=utf-8", "text/plain"), None);
    }

    #[test]
    fn formats_sizes() {
        assert_eq!(human_bytes(10 * 1024 * 1024), "10 MiB");
        assert_eq!(human_bytes(11 * 1024 * 1024 + 512 * 1024), "11.5 MiB");
        assert_eq!(human_bytes(2048), "2 KiB");
        assert_eq!(human_bytes(1), "1 byte");
        assert_eq!(human_bytes(0), "0 bytes");
    }

    #[test]
    fn maps_extensions() {
        assert_eq!(
            page_type_for_extension(Path::new("a/b.HTML")),
            Some("text/html")
        );
        assert_eq!(
            page_type_for_extension(Path::new("x.xhtml")),
            Some("application/xhtml+xml")
        );
        assert_eq!(
            page_type_for_extension(Path::new("notes.txt")),
            Some("text/plain")
        );
        assert_eq!(page_type_for_extension(Path::new("doc.pdf")), None);
        assert_eq!(page_type_for_extension(Path::new("README")), None);
    }
}
