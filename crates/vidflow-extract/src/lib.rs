//! The extract stage of vidflow: finds a web page's main text, title, byline, language and
//! images.
//!
//! A [`Page`] as fetched goes in; an [`Article`] comes out, with the text split into
//! paragraphs and headings in reading order and the page's own pictures placed between
//! them. The main content is found with a port of Mozilla's Readability (`dom_smoothie`);
//! the page's `<head>` is read for the language and the base URL. Pages with no readable
//! text are refused as the user's bad input, because nothing downstream can make a video of
//! them.
//!
//! ```
//! let html = r#"<html lang="en-GB"><head><title>Tides explained | Sea Notes</title></head>
//! <body><nav><a href="/">Home</a></nav><article><h1>Tides explained</h1>
//! <p>Tides are the regular rise and fall of the sea. They are caused by the pull of the
//! Moon and the Sun on the oceans, and by the rotation of the Earth beneath them.</p>
//! <img src="img/tide.jpg" alt="Low tide at the harbour">
//! <p>Most coasts see two high tides and two low tides every lunar day, a little over
//! twenty-four hours, though some places see only one of each.</p></article></body></html>"#;
//!
//! let article = vidflow_extract::extract_html(html, "https://sea.example/notes/tides").unwrap();
//! assert_eq!(article.title, "Tides explained");
//! assert_eq!(article.lang.as_deref(), Some("en"));
//! assert!(article.text.starts_with("Tides are the regular rise"));
//! assert_eq!(article.images[0].url, "https://sea.example/notes/img/tide.jpg");
//! assert_eq!(article.images[0].near_paragraph, 0);
//! ```
//!
//! [`eval`] measures the extractor on pages with known answers; [`depth`] keeps hostile
//! nesting from costing more than a real page.

mod blocks;
pub mod boilerplate;
mod decode;
pub mod depth;
pub mod eval;
mod images;
mod lang;
pub mod meta;
mod noscript;
mod plain;
pub mod snippets;

use dom_smoothie::{Readability, ReadabilityError};
use scraper::{Html, Selector};
use unicode_segmentation::UnicodeSegmentation;
use url::Url;
use vidflow_core::{Article, Page, VidflowError};

pub use blocks::collapse_whitespace;
pub use decode::decode_body;

/// Below this many words of main text a page is a menu, an error page or a login wall, not
/// an article: too little to narrate.
pub const MIN_WORDS: usize = 25;

/// Extracts the article from a fetched page.
///
/// The body is decoded with the charset the server named, else the one the page declares
/// (`<meta charset>`), else UTF-8. HTML and XHTML go through the readability extractor;
/// `text/plain` is split into paragraphs at blank lines, its first line being the title.
///
/// # Errors
///
/// [`ErrorKind::BadInput`](vidflow_core::ErrorKind::BadInput) when the page is of a type
/// that has no text to read, or holds fewer than [`MIN_WORDS`] words of main text.
pub fn extract(page: &Page) -> Result<Article, VidflowError> {
    let text = decode_body(&page.body, page.charset.as_deref());
    let media_type = page.content_type.trim().to_ascii_lowercase();
    match media_type.as_str() {
        "text/plain" => plain::extract_plain(&text, &page.final_url),
        "text/html" | "application/xhtml+xml" => extract_html(&text, &page.final_url),
        // Servers that name no type usually serve HTML; anything else is sniffed the same way
        // a browser would: markup at the start means HTML.
        "" | "application/octet-stream" => {
            if text.trim_start().starts_with('<') {
                extract_html(&text, &page.final_url)
            } else {
                plain::extract_plain(&text, &page.final_url)
            }
        }
        other => Err(VidflowError::bad_input(format!(
            "page at {} is {other}, not HTML or plain text, so it has no text to read",
            page.final_url
        ))),
    }
}

/// Extracts the article from an HTML document already decoded to text.
///
/// `base_url` is where the document came from; relative image addresses resolve against it
/// (or against the page's own `<base href>`, which takes precedence, as in a browser).
///
/// # Errors
///
/// [`ErrorKind::BadInput`](vidflow_core::ErrorKind::BadInput) when `base_url` is not an
/// absolute URL, or the page has no readable text (an empty body, only navigation and
/// boilerplate, or fewer than [`MIN_WORDS`] words of main text).
pub fn extract_html(html: &str, base_url: &str) -> Result<Article, VidflowError> {
    let article = read_article(html, base_url)?;
    if count_words(&article.text) < MIN_WORDS {
        return Err(no_readable_text(base_url));
    }
    Ok(article)
}

fn no_readable_text(url: &str) -> VidflowError {
    VidflowError::bad_input(format!("page at {url} has no readable text"))
}

/// Everything [`extract_html`] does except refusing short pages, so that the evaluation can
/// score what the extractor found even on pages too short to narrate.
pub(crate) fn read_article(html: &str, base_url: &str) -> Result<Article, VidflowError> {
    read_article_with_rule(html, base_url).map(|(article, _, _)| article)
}

/// [`read_article`], also saying which rule chose the title and what each boilerplate
/// rule dropped.
pub(crate) fn read_article_with_rule(
    html: &str,
    base_url: &str,
) -> Result<(Article, meta::TitleRule, Vec<boilerplate::TrimCount>), VidflowError> {
    let page_url = Url::parse(base_url).map_err(|e| {
        VidflowError::bad_input(format!("base URL {base_url:?} is not an absolute URL: {e}"))
    })?;
    // `mailto:x` or `key::name` parse, but nothing on the page can be resolved against them
    // (and the Readability port refuses them later, less clearly).
    if page_url.cannot_be_a_base() {
        return Err(VidflowError::bad_input(format!(
            "base URL {base_url:?} is not an absolute URL: it has no host or path to resolve links against"
        )));
    }
    // Before either parser sees it: both slow down with nesting depth, and a hostile page
    // can nest without limit.
    let html = depth::cap_depth(html);
    let html = html.as_ref();
    let doc = Html::parse_document(html);
    let base = document_base(&doc, &page_url);
    let page_meta = meta::read_meta(&doc);

    let readable = noscript::readable_document(html);
    let mut readability =
        Readability::with_document(readable, Some(base.as_str()), None).map_err(|e| {
            VidflowError::internal(format!("reading the HTML of {base_url} failed: {e}"))
        })?;
    let found = match readability.parse() {
        Ok(found) => found,
        Err(ReadabilityError::GrabFailed) => return Err(no_readable_text(base_url)),
        Err(e) => {
            return Err(VidflowError::internal(format!(
                "finding the main text of {base_url} failed: {e}"
            )));
        }
    };

    let mut blocks = blocks::content_blocks(&found.content, &base);
    let trimmed = boilerplate::trim(&mut blocks);
    let text = blocks
        .paragraphs
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join("\n\n");

    let content_headings: Vec<String> = blocks
        .paragraphs
        .iter()
        .filter(|p| p.is_heading)
        .map(|p| p.text.clone())
        .collect();
    let (title, rule) = meta::choose_title(&page_meta, &content_headings);
    let lang = declared_lang(&doc)
        .or_else(|| found.lang.as_deref().and_then(lang::normalise_tag))
        .or_else(|| lang::detect(&text));
    // Readability's byline also looks for author links and bylines in the text, so it
    // comes first; the page's own metadata fills in where it finds none.
    let byline = found
        .byline
        .as_deref()
        .and_then(clean_byline)
        .or_else(|| page_meta.byline.as_deref().and_then(clean_byline));
    let site_name = page_meta
        .site_name
        .or_else(|| found.site_name.as_deref().and_then(non_empty));
    let published = page_meta
        .published
        .or_else(|| found.published_time.as_deref().and_then(non_empty));

    Ok((
        Article {
            title,
            byline,
            site_name,
            published,
            lang,
            text,
            paragraphs: blocks.paragraphs,
            images: blocks.images,
        },
        rule,
        trimmed,
    ))
}

fn non_empty(s: &str) -> Option<String> {
    let s = collapse_whitespace(s);
    (!s.is_empty()).then_some(s)
}

/// Words as a reader would count them; in scripts written without spaces each character
/// counts, so Chinese and Japanese pages are measured fairly.
pub(crate) fn count_words(text: &str) -> usize {
    text.unicode_words().count()
}

/// The URL relative links resolve against: the first `<base href>`, itself resolved against
/// the page's URL, else the page's URL.
fn document_base(doc: &Html, page_url: &Url) -> Url {
    let sel = Selector::parse("base[href]").expect("valid selector");
    doc.select(&sel)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| page_url.join(href.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https" | "file"))
        .unwrap_or_else(|| page_url.clone())
}

/// The language the page declares: `<html lang>` (or `xml:lang`), else a
/// `Content-Language` / `language` meta tag, else `og:locale`.
fn declared_lang(doc: &Html) -> Option<String> {
    let root = doc.root_element();
    let from_root = ["lang", "xml:lang"]
        .iter()
        .filter_map(|a| root.value().attr(a))
        .find_map(lang::normalise_tag);
    if from_root.is_some() {
        return from_root;
    }
    let sel = Selector::parse(
        r#"meta[http-equiv="content-language" i][content], meta[name="language" i][content],
           meta[name="dc.language" i][content], meta[property="og:locale" i][content]"#,
    )
    .expect("valid selector");
    doc.select(&sel)
        .filter_map(|m| m.value().attr("content"))
        // `Content-Language` may list several; the first is the main one.
        .find_map(|c| lang::normalise_tag(c.split(',').next().unwrap_or("")))
}

/// Tidies an author line: whitespace collapsed, a leading "By" dropped, empty means none.
fn clean_byline(raw: &str) -> Option<String> {
    let byline = collapse_whitespace(raw);
    let lower = byline.to_lowercase();
    let byline = if lower.starts_with("by ") {
        byline[3..].trim_start().to_owned()
    } else {
        byline
    };
    (!byline.is_empty()).then_some(byline)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vidflow_core::ErrorKind;

    const ARTICLE: &str = "<p>Rivers carry water from high ground to the sea, shaping valleys, \
        carving canyons and building deltas where they slow down. Over thousands of years a \
        single river can move mountains of sediment and change the face of a continent.</p>\
        <p>People have always settled beside rivers, for water, for food and for the easy \
        travel they offer.</p>";

    fn page(content_type: &str, charset: Option<&str>, body: Vec<u8>) -> Page {
        Page {
            requested: "https://ex.org/a".into(),
            final_url: "https://ex.org/a".into(),
            content_type: content_type.into(),
            charset: charset.map(Into::into),
            body,
        }
    }

    #[test]
    fn html_page_gives_title_text_and_lang() {
        let html = format!(
            "<html lang='en-US'><head><title>Rivers | Geo Site</title>\
             <meta property='og:site_name' content='Geo Site'></head>\
             <body><article><h1>Rivers</h1>{ARTICLE}</article></body></html>"
        );
        let a = extract(&page("text/html", None, html.into_bytes())).unwrap();
        assert_eq!(a.title, "Rivers");
        assert_eq!(a.lang.as_deref(), Some("en"));
        assert!(a.text.contains("carving canyons and building deltas"));
        assert!(a.text.contains("\n\nPeople have always settled"));
        assert!(a.paragraphs.iter().all(|p| !p.text.is_empty()));
    }

    #[test]
    fn body_is_decoded_with_page_charset() {
        let mut body = b"<html><body><article><p>Caf\xe9 culture: ".to_vec();
        body.extend_from_slice(ARTICLE.as_bytes());
        body.extend_from_slice(b"</p></article></body></html>");
        let a = extract(&page("text/html", Some("windows-1252"), body)).unwrap();
        assert!(a.text.contains("Café culture"), "{}", a.text);
    }

    #[test]
    fn body_is_decoded_with_meta_charset() {
        let mut body =
            b"<html><head><meta charset=iso-8859-1></head><body><article><p>Na\xefve: ".to_vec();
        body.extend_from_slice(ARTICLE.as_bytes());
        body.extend_from_slice(b"</p></article></body></html>");
        let a = extract(&page("text/html", None, body)).unwrap();
        assert!(a.text.contains("Naïve"), "{}", a.text);
    }

    #[test]
    fn images_resolve_against_base_element() {
        let html = format!(
            "<html><head><base href='https://cdn.ex.net/media/'></head><body><article>\
             <img src='one.jpg' alt='first'>{ARTICLE}\
             <img data-src='/lazy.jpg' src='data:image/gif;base64,R0lGODlhAQABAAAAACw='>\
             <img src='pixel.gif' width='1' height='1'></article></body></html>"
        );
        let a = extract_html(&html, "https://ex.org/post/1").unwrap();
        let urls: Vec<_> = a.images.iter().map(|i| i.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://cdn.ex.net/media/one.jpg",
                "https://cdn.ex.net/lazy.jpg"
            ]
        );
        assert_eq!(a.images[0].near_paragraph, 0);
        assert_eq!(a.images[1].near_paragraph, a.paragraphs.len() - 1);
        assert_eq!(a.images[0].alt.as_deref(), Some("first"));
    }

    #[test]
    fn pages_without_text_are_bad_input() {
        let cases = [
            "".to_owned(),
            "<html><body></body></html>".to_owned(),
            "<html><body><nav><a href='/'>Home</a> <a href='/about'>About</a></nav>\
             <footer>© 2024 Example</footer></body></html>"
                .to_owned(),
            "<html><body><p>Just a short note of a dozen words, not an article at all.</p></body></html>".to_owned(),
        ];
        for html in cases {
            let err = extract_html(&html, "https://ex.org/empty").unwrap_err();
            assert_eq!(err.kind, ErrorKind::BadInput, "{html}");
            assert_eq!(
                err.message,
                "page at https://ex.org/empty has no readable text"
            );
        }
    }

    #[test]
    fn non_text_types_are_bad_input() {
        let err = extract(&page("image/png", None, vec![0x89, b'P', b'N', b'G'])).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadInput);
        assert!(err.message.contains("image/png"), "{}", err.message);
    }

    #[test]
    fn relative_base_url_is_refused() {
        let err = extract_html(ARTICLE, "notes/page.html").unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadInput);
        for url in ["hard::page.html", "mailto:someone@ex.org"] {
            let err = extract_html(ARTICLE, url).unwrap_err();
            assert_eq!(err.kind, ErrorKind::BadInput, "{url}");
            assert!(err.message.contains(url), "{}", err.message);
        }
    }

    #[test]
    fn language_is_detected_when_undeclared() {
        let html = "<html><body><article><p>La rivière traverse la vallée depuis des siècles, \
            et les habitants du village racontent encore les crues qui ont emporté les ponts \
            de pierre construits par leurs ancêtres. Chaque printemps, la neige fond dans les \
            montagnes et l'eau monte lentement jusqu'aux portes des maisons.</p></article></body></html>";
        let a = extract_html(html, "https://ex.org/fr").unwrap();
        assert_eq!(a.lang.as_deref(), Some("fr"));
    }

    #[test]
    fn byline_cleanup() {
        assert_eq!(
            clean_byline(" By  Ada Lovelace ").as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(clean_byline("Byron Smith").as_deref(), Some("Byron Smith"));
    }
}
