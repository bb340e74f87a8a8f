//! Choosing an image's real address and deciding whether it is worth showing.
//!
//! Pages hide their images behind lazy loading (`data-src`, `srcset`, placeholders in `src`)
//! and sprinkle in tracking pixels, spacers and icons. A slide wants the real picture, at an
//! absolute URL, and none of the rest.

use scraper::ElementRef;
use url::Url;

/// Attributes lazy-loading scripts use to hold the real image address, most common first.
const LAZY_SRC_ATTRS: &[&str] = &[
    "data-src",
    "data-original",
    "data-lazy-src",
    "data-lazy",
    "data-url",
    "data-hi-res-src",
    "data-full-src",
];

/// Attributes holding a `srcset` (candidate list), real or lazy.
const SRCSET_ATTRS: &[&str] = &["srcset", "data-srcset", "data-lazy-srcset"];

/// A `data:` image this short is a placeholder (a 1x1 GIF is about 60 characters of base64);
/// Readability uses the same kind of bound.
const PLACEHOLDER_DATA_URL_LEN: usize = 133;

/// Images declared this small in either dimension are icons, avatars, bullets or pixels: not
/// content, and too small to fill a slide anyway.
const MIN_SIDE_PX: u32 = 100;

/// Words in an image address that mark trackers, spacers and site chrome. Matched against
/// path segments and file names only, so an article about "icons" in its domain is safe.
const CHROME_WORDS: &[&str] = &[
    "pixel",
    "spacer",
    "blank.gif",
    "transparent.gif",
    "tracking",
    "tracker",
    "beacon",
    "favicon",
    "1x1",
    "clear.gif",
];

/// An image found in the main content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundImage {
    /// Absolute URL.
    pub url: String,
    /// Alternative text, title or caption.
    pub alt: Option<String>,
}

/// Reads an `<img>` (or `<input type=image>`-like) element into an image worth keeping, or
/// `None` when it is a placeholder, a pixel, an icon, or has no usable address.
pub fn content_image(img: ElementRef<'_>, base: &Url) -> Option<FoundImage> {
    if is_declared_tiny(img) || is_hidden(img) {
        return None;
    }
    let raw = best_source(img)?;
    let url = resolve(&raw, base)?;
    if looks_like_chrome(&url) {
        return None;
    }
    if let Some((w, h)) = data_url_size(&url)
        && (w < MIN_SIDE_PX || h < MIN_SIDE_PX)
    {
        return None;
    }
    Some(FoundImage {
        url,
        alt: describe(img),
    })
}

/// The element's real image address: a non-placeholder `src`, else a lazy attribute, else the
/// widest `srcset` candidate, else a `<source>` of an enclosing `<picture>`.
fn best_source(img: ElementRef<'_>) -> Option<String> {
    let el = img.value();
    let src = el.attr("src").map(str::trim).filter(|s| !s.is_empty());
    if let Some(src) = src
        && !is_placeholder(src)
    {
        return Some(src.to_owned());
    }
    for attr in LAZY_SRC_ATTRS {
        if let Some(v) = el.attr(attr).map(str::trim).filter(|s| !s.is_empty())
            && !is_placeholder(v)
        {
            return Some(v.to_owned());
        }
    }
    for attr in SRCSET_ATTRS {
        if let Some(best) = el.attr(attr).and_then(widest_candidate) {
            return Some(best);
        }
    }
    let picture = img
        .parent()
        .and_then(ElementRef::wrap)
        .filter(|p| p.value().name() == "picture")?;
    picture
        .child_elements()
        .filter(|c| c.value().name() == "source")
        .find_map(|source| {
            SRCSET_ATTRS
                .iter()
                .find_map(|attr| source.value().attr(attr).and_then(widest_candidate))
        })
}

/// Picks the candidate with the largest width (`800w`) or density (`2x`) from a `srcset`.
fn widest_candidate(srcset: &str) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    // Candidates are separated by commas followed by whitespace; a bare comma can be part of
    // a URL (image CDNs use them in transformation paths).
    for candidate in split_srcset(srcset) {
        let mut parts = candidate.split_whitespace();
        let Some(url) = parts.next() else { continue };
        if is_placeholder(url) {
            continue;
        }
        let size = parts
            .next()
            .and_then(|d| {
                let d = d.to_ascii_lowercase();
                // The unit is the last character, which in a hostile page need not be ASCII:
                // split at a character boundary, never a byte count.
                let unit = d.chars().next_back()?;
                let n: f64 = d[..d.len() - unit.len_utf8()].parse().ok()?;
                match unit {
                    // Densities are made comparable with widths by assuming a 1x image is
                    // about 1000 px wide; only the order matters.
                    'x' => Some(n * 1000.0),
                    'w' => Some(n),
                    _ => None,
                }
            })
            .unwrap_or(1000.0);
        if best.is_none_or(|(s, _)| size > s) {
            best = Some((size, url));
        }
    }
    best.map(|(_, url)| url.to_owned())
}

fn split_srcset(srcset: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = srcset.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let at_separator = b == b',' && bytes.get(i + 1).is_none_or(|n| n.is_ascii_whitespace());
        if at_separator {
            out.push(srcset[start..i].trim());
            start = i + 1;
        }
    }
    out.push(srcset[start..].trim());
    out.retain(|c| !c.is_empty());
    out
}

/// A `src` that only holds the place of the real image until a script swaps it in.
fn is_placeholder(src: &str) -> bool {
    let lower = src.trim().to_ascii_lowercase();
    if lower.starts_with("data:") {
        // SVG placeholders are often short inline documents too.
        return lower.len() < PLACEHOLDER_DATA_URL_LEN || !lower.starts_with("data:image/");
    }
    lower.starts_with("about:") || lower.starts_with("javascript:") || lower == "#"
}

fn is_declared_tiny(img: ElementRef<'_>) -> bool {
    let side = |attr: &str| -> Option<u32> {
        let v = img.value().attr(attr)?.trim();
        let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
        // Percentages and other units say nothing about the picture's real size.
        if digits.len() != v.trim_end_matches("px").len() {
            return None;
        }
        digits.parse().ok()
    };
    matches!(side("width"), Some(w) if w < MIN_SIDE_PX)
        || matches!(side("height"), Some(h) if h < MIN_SIDE_PX)
}

/// `aria-hidden` images are decoration by the page's own account. (`role="presentation"`
/// is not: Medium, for one, puts it on every article picture.)
fn is_hidden(img: ElementRef<'_>) -> bool {
    img.value().attr("aria-hidden") == Some("true")
}

/// The pixel size of an image inlined as a `data:` URL, read from its header (the raster
/// formats `imagesize` knows: PNG, JPEG, GIF, WebP, BMP, ICO, TIFF, AVIF) or its root element
/// (SVG, which `imagesize` does not read), so inline icons and spacers can be told from
/// inline photos.
fn data_url_size(url: &str) -> Option<(u32, u32)> {
    let data = data_url::DataUrl::process(url).ok()?;
    let (bytes, _fragment) = data.decode_to_vec().ok()?;
    let mime = data.mime_type();
    if mime.type_ == "image" && mime.subtype.starts_with("svg") {
        return svg_size(&String::from_utf8_lossy(&bytes));
    }
    let size = imagesize::blob_size(&bytes).ok()?;
    Some((size.width.try_into().ok()?, size.height.try_into().ok()?))
}

/// Size of an SVG from its root's `width`/`height`, else its `viewBox`.
fn svg_size(svg: &str) -> Option<(u32, u32)> {
    let start = svg.find("<svg")?;
    let tag = &svg[start..start + svg[start..].find('>')?];
    let attr = |name: &str| -> Option<&str> {
        let at = tag.find(&format!(" {name}="))? + name.len() + 2;
        let quote = tag[at..].chars().next()?;
        let value = &tag[at + 1..];
        Some(&value[..value.find(quote)?])
    };
    let number = |v: &str| -> Option<u32> {
        let digits: String = v
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let n: f64 = digits.parse().ok()?;
        Some(n.round() as u32)
    };
    if let (Some(w), Some(h)) = (attr("width"), attr("height"))
        && !w.contains('%')
        && !h.contains('%')
        && let (Some(w), Some(h)) = (number(w), number(h))
    {
        return Some((w, h));
    }
    let view_box: Vec<u32> = attr("viewBox")?
        .split([' ', ','])
        .filter(|p| !p.is_empty())
        .filter_map(number)
        .collect();
    match view_box[..] {
        [_, _, w, h] => Some((w, h)),
        _ => None,
    }
}

fn looks_like_chrome(url: &str) -> bool {
    if url.starts_with("data:") {
        return false;
    }
    let Ok(parsed) = Url::parse(url) else {
        return true;
    };
    let path = parsed.path().to_ascii_lowercase();
    if path.ends_with(".ico") {
        return true;
    }
    path.split('/').any(|segment| {
        CHROME_WORDS
            .iter()
            .any(|w| segment == *w || segment.starts_with(&format!("{w}.")))
    })
}

/// Resolves an address against the page's base; `data:` URLs are kept as they are.
pub fn resolve(raw: &str, base: &Url) -> Option<String> {
    let raw = raw.trim();
    if raw.to_ascii_lowercase().starts_with("data:") {
        return Some(raw.to_owned());
    }
    let url = base.join(raw).ok()?;
    matches!(url.scheme(), "http" | "https" | "file").then(|| url.into())
}

/// The image's description: its alt text, its title, or the caption of its `<figure>`.
fn describe(img: ElementRef<'_>) -> Option<String> {
    let el = img.value();
    let own = ["alt", "title"]
        .iter()
        .filter_map(|a| el.attr(a))
        .map(crate::blocks::collapse_whitespace)
        .find(|s| !s.is_empty());
    own.or_else(|| {
        let figure = img
            .ancestors()
            .filter_map(ElementRef::wrap)
            .take(4)
            .find(|a| a.value().name() == "figure")?;
        let caption = figure
            .descendent_elements()
            .find(|d| d.value().name() == "figcaption")?;
        let text = crate::blocks::collapse_whitespace(&caption.text().collect::<String>());
        (!text.is_empty()).then_some(text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::{Html, Selector};

    fn first_img(html: &str, base: &str) -> Option<FoundImage> {
        let doc = Html::parse_fragment(html);
        let sel = Selector::parse("img").unwrap();
        let img = doc.select(&sel).next().unwrap();
        content_image(img, &Url::parse(base).unwrap())
    }

    #[test]
    fn relative_src_is_resolved() {
        let img = first_img(
            r#"<img src="../a/b.jpg" alt=" A  cat ">"#,
            "https://ex.org/x/y/page.html",
        )
        .unwrap();
        assert_eq!(img.url, "https://ex.org/x/a/b.jpg");
        assert_eq!(img.alt.as_deref(), Some("A cat"));
    }

    #[test]
    fn lazy_data_src_replaces_placeholder() {
        let html = r#"<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/real.png">"#;
        let img = first_img(html, "https://ex.org/p").unwrap();
        assert_eq!(img.url, "https://ex.org/real.png");
    }

    #[test]
    fn srcset_descriptor_ending_in_non_ascii_is_ignored_not_a_panic() {
        // Found by fuzzing: the unit was split off at a byte count, inside the last character.
        assert_eq!(
            widest_candidate("/a.jpg 2\u{e9}, /b.jpg 100w").as_deref(),
            Some("/a.jpg")
        );
        assert_eq!(
            widest_candidate("/c.jpg 1\u{65e5}, /d.jpg 2x").as_deref(),
            Some("/d.jpg")
        );
        assert_eq!(
            widest_candidate("/e.jpg \u{1f600}").as_deref(),
            Some("/e.jpg")
        );
        let html = "<img srcset=\"/x.jpg 3\u{fc}\">";
        assert_eq!(
            first_img(html, "https://ex.org/").unwrap().url,
            "https://ex.org/x.jpg"
        );
    }

    #[test]
    fn srcset_widest_wins() {
        let html = r#"<img data-srcset="/s.jpg 320w, /l.jpg 1280w, /m.jpg 640w">"#;
        assert_eq!(
            first_img(html, "https://ex.org/").unwrap().url,
            "https://ex.org/l.jpg"
        );
        let html = r#"<img srcset="https://cdn.ex/w_100,h_50/a.jpg 1x, https://cdn.ex/w_200,h_100/a.jpg 2x">"#;
        assert_eq!(
            first_img(html, "https://ex.org/").unwrap().url,
            "https://cdn.ex/w_200,h_100/a.jpg"
        );
    }

    #[test]
    fn picture_source_is_used_when_img_has_none() {
        let html = r#"<picture><source srcset="/p.webp 2x"><img alt="x"></picture>"#;
        assert_eq!(
            first_img(html, "https://ex.org/").unwrap().url,
            "https://ex.org/p.webp"
        );
    }

    #[test]
    fn pixels_icons_and_trackers_are_skipped() {
        assert!(
            first_img(
                r#"<img src="/a.png" width="1" height="1">"#,
                "https://ex.org/"
            )
            .is_none()
        );
        assert!(first_img(r#"<img src="/icon.png" width="16">"#, "https://ex.org/").is_none());
        assert!(first_img(r#"<img src="/favicon.ico">"#, "https://ex.org/").is_none());
        assert!(
            first_img(
                r#"<img src="https://t.ex/pixel.gif?id=3">"#,
                "https://ex.org/"
            )
            .is_none()
        );
        assert!(first_img(r#"<img src="/spacer.gif">"#, "https://ex.org/").is_none());
        assert!(
            first_img(
                r#"<img src="/a.png" aria-hidden="true">"#,
                "https://ex.org/"
            )
            .is_none()
        );
        // Avatars and logos declared small are not slide material.
        assert!(
            first_img(
                r#"<img src="/me.jpg" width="48" height="48">"#,
                "https://ex.org/"
            )
            .is_none()
        );
        // Medium marks real article pictures as presentation; keep them.
        assert!(
            first_img(
                r#"<img src="/a.png" role="presentation" width="1894">"#,
                "https://ex.org/"
            )
            .is_some()
        );
        // Percent sizes say nothing about the picture; keep it.
        assert!(first_img(r#"<img src="/a.png" width="10%">"#, "https://ex.org/").is_some());
    }

    #[test]
    fn real_data_urls_are_kept() {
        let data = format!("data:image/png;base64,{}", "A".repeat(400));
        let img = first_img(&format!(r#"<img src="{data}">"#), "https://ex.org/").unwrap();
        assert_eq!(img.url, data);
    }

    #[test]
    fn inline_icons_and_spacers_are_measured_and_skipped() {
        use base64::Engine as _;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        // A 24x24 SVG icon, long enough not to look like a placeholder.
        let icon = format!(
            "data:image/svg+xml;base64,{}",
            b64(b"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24'><path d='M512 512H0V0h512v512z'/><path d='M1 1h2v2H1z'/></svg>")
        );
        assert_eq!(data_url_size(&icon), Some((24, 24)));
        assert!(first_img(&format!(r#"<img src="{icon}">"#), "https://ex.org/").is_none());
        let svg_utf8 = "data:image/svg+xml;utf8,<svg width=\"640\" height=\"480\" xmlns=\"http://www.w3.org/2000/svg\"><rect width=\"640\" height=\"480\" fill=\"%23336\"/></svg>";
        assert_eq!(data_url_size(svg_utf8), Some((640, 480)));
        assert!(first_img(&format!("<img src='{svg_utf8}'>"), "https://ex.org/").is_some());

        // A 1x1 GIF padded past the placeholder length with a comment extension.
        let mut gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00".to_vec();
        gif.extend(std::iter::repeat_n(0u8, 200));
        let gif = format!("data:image/gif;base64,{}", b64(&gif));
        assert_eq!(data_url_size(&gif), Some((1, 1)));
        assert!(first_img(&format!(r#"<img src="{gif}">"#), "https://ex.org/").is_none());

        // PNG and JPEG headers give their real sizes.
        let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        png.extend_from_slice(&800u32.to_be_bytes());
        png.extend_from_slice(&600u32.to_be_bytes());
        assert_eq!(
            data_url_size(&format!("data:image/png;base64,{}", b64(&png))),
            Some((800, 600))
        );
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, // APP0, 2 bytes of payload
            0xFF, 0xC0, 0x00, 0x11, 0x08, 0x01, 0xE0, 0x02, 0x80, // SOF0: 480 high, 640 wide
        ];
        assert_eq!(
            data_url_size(&format!("data:image/jpeg;base64,{}", b64(&jpeg))),
            Some((640, 480))
        );

        // WebP, which the hand-written reader did not know: real encoder output.
        let webp = |w: u32, h: u32| {
            let img = image::RgbaImage::from_fn(w, h, |x, y| {
                image::Rgba([x as u8, y as u8, (x ^ y) as u8, 255])
            });
            let mut out = Vec::new();
            image::codecs::webp::WebPEncoder::new_lossless(&mut out)
                .encode(img.as_raw(), w, h, image::ExtendedColorType::Rgba8)
                .unwrap();
            format!("data:image/webp;base64,{}", b64(&out))
        };
        assert_eq!(data_url_size(&webp(16, 16)), Some((16, 16)));
        let photo = webp(320, 240);
        assert_eq!(data_url_size(&photo), Some((320, 240)));
        assert!(first_img(&format!(r#"<img src="{photo}">"#), "https://ex.org/").is_some());
    }

    #[test]
    fn figure_caption_describes_image() {
        let html = r#"<figure><img src="/a.jpg"><figcaption> The  harbour </figcaption></figure>"#;
        assert_eq!(
            first_img(html, "https://ex.org/").unwrap().alt.as_deref(),
            Some("The harbour")
        );
    }

    #[test]
    fn images_without_address_are_dropped() {
        assert!(first_img(r#"<img alt="nothing">"#, "https://ex.org/").is_none());
        assert!(first_img(r#"<img src="javascript:void(0)">"#, "https://ex.org/").is_none());
    }
}
