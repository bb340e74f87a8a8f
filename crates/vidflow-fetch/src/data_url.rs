//! `data:` URLs (RFC 2397, as the WHATWG Fetch standard processes them): pages often inline
//! small images this way, and the extractor hands them on as image URLs.

use data_url::DataUrlError;
use vidflow_core::VidflowError;

/// The content of a `data:` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataUrl {
    /// The media type without parameters, lower case (`text/plain` when the URL names none
    /// or names one that is not a valid media type).
    pub media_type: String,
    /// The `charset` parameter, lower case: the one the URL gives, or `us-ascii` when the URL
    /// names no media type (RFC 2397's and the Fetch standard's default).
    pub charset: Option<String>,
    /// The decoded bytes.
    pub bytes: Vec<u8>,
}

/// Decodes a `data:` URL, base64 (`data:image/png;base64,iVBOR...`) or percent-encoded
/// (`data:image/svg+xml,%3Csvg...`), as the WHATWG Fetch standard's data: URL processor does
/// (forgiving base64, stray `%` kept, fragment dropped).
///
/// ```
/// let data = vidflow_fetch::decode_data_url("data:text/plain;charset=utf-8,caf%C3%A9").unwrap();
/// assert_eq!(data.media_type, "text/plain");
/// assert_eq!(data.charset.as_deref(), Some("utf-8"));
/// assert_eq!(data.bytes, "café".as_bytes());
///
/// let png = vidflow_fetch::decode_data_url("data:image/png;base64,iVBORw0KGgo=").unwrap();
/// assert_eq!(png.bytes, b"\x89PNG\r\n\x1a\n");
/// ```
pub fn decode_data_url(url: &str) -> Result<DataUrl, VidflowError> {
    let shown = abbreviate(url);
    let data = data_url::DataUrl::process(url).map_err(|e| match e {
        DataUrlError::NotADataUrl => VidflowError::bad_input(format!("{shown} is not a data: URL")),
        DataUrlError::NoComma => VidflowError::bad_input(format!(
            "data: URL {shown} has no ',' separating the media type from the data"
        )),
    })?;
    let (bytes, _fragment) = data.decode_to_vec().map_err(|e| {
        VidflowError::bad_input(format!("data: URL {shown} is not valid base64: {e}"))
    })?;
    let mime = data.mime_type();
    Ok(DataUrl {
        media_type: format!("{}/{}", mime.type_, mime.subtype),
        charset: mime.get_parameter("charset").map(str::to_ascii_lowercase),
        bytes,
    })
}

/// A long URL (data: URLs run to megabytes) cut down for an error message.
pub(crate) fn abbreviate(url: &str) -> String {
    const KEEP: usize = 60;
    if url.chars().count() <= KEEP {
        url.to_owned()
    } else {
        let head: String = url.chars().take(KEEP).collect();
        format!("{head}… ({} characters)", url.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64_with_and_without_padding_and_with_whitespace() {
        let a = decode_data_url("data:image/gif;base64,R0lGODlhAQABAAAAACw=").unwrap();
        assert_eq!(a.media_type, "image/gif");
        assert!(a.bytes.starts_with(b"GIF89a"));
        let b = decode_data_url("data:image/gif;base64,R0lGODlhAQABAAAAACw").unwrap();
        assert_eq!(a.bytes, b.bytes);
        let c = decode_data_url("DATA:image/gif ; BASE64 ,R0lG ODlh\nAQAB AAAA ACw=").unwrap();
        assert_eq!(a.bytes, c.bytes);
        // Percent-escaped base64 characters are undone before decoding.
        let d = decode_data_url("data:image/gif;base64,R0lGODlhAQABAAAAACw%3D").unwrap();
        assert_eq!(a.bytes, d.bytes);
    }

    #[test]
    fn decodes_percent_encoded_payloads() {
        let svg = decode_data_url(
            "data:image/svg+xml;charset=UTF-8,%3Csvg%20xmlns='http://www.w3.org/2000/svg'%3E%3C/svg%3E",
        )
        .unwrap();
        assert_eq!(svg.media_type, "image/svg+xml");
        assert_eq!(svg.charset.as_deref(), Some("utf-8"));
        assert_eq!(
            svg.bytes,
            b"<svg xmlns='http://www.w3.org/2000/svg'></svg>".to_vec()
        );
        // A stray '%' is kept.
        assert_eq!(
            decode_data_url("data:,100%25 and 5%").unwrap().bytes,
            b"100% and 5%"
        );
        assert_eq!(decode_data_url("data:,a%zzb%4").unwrap().bytes, b"a%zzb%4");
    }

    #[test]
    fn defaults_to_text_plain_and_drops_fragments() {
        let d = decode_data_url("data:,hello#frag").unwrap();
        assert_eq!(d.media_type, "text/plain");
        assert_eq!(d.charset.as_deref(), Some("us-ascii"));
        assert_eq!(d.bytes, b"hello");
        // A media type that does not parse falls back to the default, as browsers do.
        let d = decode_data_url("data:not a type,x").unwrap();
        assert_eq!(d.media_type, "text/plain");
        let d = decode_data_url("data:;charset=utf-8,hi").unwrap();
        assert_eq!(d.media_type, "text/plain");
        assert_eq!(d.charset.as_deref(), Some("utf-8"));
    }

    #[test]
    fn rejects_malformed_urls_with_clear_messages() {
        let e = decode_data_url("data:image/png;base64").unwrap_err();
        assert_eq!(e.kind, vidflow_core::ErrorKind::BadInput);
        assert!(e.message.contains("has no ','"), "{}", e.message);
        let e = decode_data_url("data:image/png;base64,!!!!").unwrap_err();
        assert!(e.message.contains("is not valid base64"), "{}", e.message);
        let e = decode_data_url("http://example.org/a.png").unwrap_err();
        assert!(e.message.contains("is not a data: URL"), "{}", e.message);
    }

    #[test]
    fn abbreviates_long_urls() {
        let long = format!("data:image/png;base64,{}", "A".repeat(500));
        let short = abbreviate(&long);
        assert!(short.len() < 100, "{short}");
        assert!(short.ends_with("(522 characters)"), "{short}");
    }
}
