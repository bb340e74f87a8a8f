//! Turning the main content's HTML into blocks of text in reading order.
//!
//! The content that readability keeps is still HTML; the rest of the pipeline wants plain
//! paragraphs, to know which heading each one sits under, and where the pictures fall
//! between them. This walks the tree once, cutting a new block wherever a browser would
//! start a new line box.

use scraper::{ElementRef, Html, Node};
use url::Url;
use vidflow_core::{ArticleImage, Paragraph};

use crate::images::content_image;

/// Elements that start and end a block of their own.
const BLOCK_TAGS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "caption",
    "center",
    "dd",
    "details",
    "dialog",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "header",
    "hgroup",
    "hr",
    "html",
    "legend",
    "li",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "tr",
    "ul",
];

/// Elements whose text is never read out: code and styling, form widgets, vector art, and
/// ruby annotations (`<rt>` readings and `<rp>` fallback brackets printed over or after
/// the base text: read inline they say every annotated word twice).
const SKIPPED_TAGS: &[&str] = &[
    "script", "style", "noscript", "template", "head", "title", "svg", "iframe", "object", "embed",
    "select", "option", "textarea", "input", "button", "canvas", "audio", "video", "map", "rt",
    "rp",
];

/// Collapses runs of whitespace (including non-breaking spaces, which pages use as
/// layout glue) to one space and trims the ends.
pub fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split(|c: char| c.is_whitespace() || c == '\u{200B}') {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The main content as blocks and the images between them.
#[derive(Debug, Default)]
pub struct Blocks {
    /// Text blocks in reading order.
    pub paragraphs: Vec<Paragraph>,
    /// What the markup said about each block (one per paragraph, same order): what the
    /// boilerplate rules judge by.
    pub traits: Vec<BlockTraits>,
    /// Images in order, each pointing at the block it follows.
    pub images: Vec<ArticleImage>,
}

/// What the markup around a block says about it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BlockTraits {
    /// Share of the block's visible characters that are link text (0 to 1).
    pub link_share: f32,
    /// The block is (inside) a list item.
    pub list_item: bool,
    /// The block is (inside) a figure caption.
    pub caption: bool,
}

/// Splits a fragment of HTML into paragraphs and images, resolving image addresses against
/// `base`.
pub fn content_blocks(html: &str, base: &Url) -> Blocks {
    let fragment = Html::parse_fragment(html);
    let mut walker = Walker {
        base,
        out: Blocks::default(),
        buffer: String::new(),
        heading: None,
        pending_br: false,
        images_in_buffer: Vec::new(),
        link_depth: 0,
        link_chars: 0,
        list_depth: 0,
        caption_depth: 0,
    };
    walker.walk_children(fragment.tree.root());
    walker.flush();
    // An image after the last text block still follows that block.
    let last = walker.out.paragraphs.len().saturating_sub(1);
    for img in &mut walker.out.images {
        img.near_paragraph = img.near_paragraph.min(last);
    }
    walker.out
}

struct Walker<'a> {
    base: &'a Url,
    out: Blocks,
    /// Text of the block being read; whitespace is collapsed when it is flushed.
    buffer: String,
    /// The nearest heading above the current position.
    heading: Option<String>,
    /// A `<br>` was seen and no text since: a second one ends the block.
    pending_br: bool,
    /// Images met inside the block being read (indices into `out.images`).
    images_in_buffer: Vec<usize>,
    /// How many `<a href>` elements enclose the current position.
    link_depth: usize,
    /// Visible characters of link text in the block being read.
    link_chars: usize,
    /// How many `<li>` elements enclose the current position.
    list_depth: usize,
    /// How many `<figcaption>` elements enclose the current position.
    caption_depth: usize,
}

fn visible_chars(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

impl Walker<'_> {
    fn walk_children(&mut self, node: ego_tree::NodeRef<'_, Node>) {
        for child in node.children() {
            match child.value() {
                Node::Text(text) => {
                    if !text.trim().is_empty() {
                        self.pending_br = false;
                    }
                    if self.link_depth > 0 {
                        self.link_chars += visible_chars(text);
                    }
                    self.buffer.push_str(text);
                }
                Node::Element(_) => {
                    if let Some(el) = ElementRef::wrap(child) {
                        self.walk_element(el);
                    }
                }
                _ => {}
            }
        }
    }

    fn walk_element(&mut self, el: ElementRef<'_>) {
        let name = el.value().name();
        if SKIPPED_TAGS.contains(&name) {
            return;
        }
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.flush();
                let text = collapse_whitespace(&el.text().collect::<String>());
                // Images inside a heading still belong in the article.
                for img in el
                    .descendent_elements()
                    .filter(|d| d.value().name() == "img")
                {
                    self.image(img);
                }
                if !text.is_empty() {
                    let linked: usize = el
                        .descendent_elements()
                        .filter(|d| d.value().name() == "a" && d.value().attr("href").is_some())
                        .map(|a| a.text().map(visible_chars).sum::<usize>())
                        .sum();
                    self.heading = Some(text.clone());
                    let share = linked as f32 / visible_chars(&text).max(1) as f32;
                    self.push_block(text, true, share.min(1.0));
                }
            }
            "br" => {
                if self.pending_br {
                    self.flush();
                } else {
                    self.buffer.push(' ');
                    self.pending_br = true;
                }
            }
            "img" => self.image(el),
            // Cells run together on one line, so keep their words apart.
            "td" | "th" => {
                self.buffer.push(' ');
                self.walk_children(*el);
                self.buffer.push(' ');
            }
            _ if BLOCK_TAGS.contains(&name) => {
                self.flush();
                // Counted after the flush and undone before the next, so the block being
                // read is the element's own.
                let (li, cap) = (name == "li", name == "figcaption");
                self.list_depth += usize::from(li);
                self.caption_depth += usize::from(cap);
                self.walk_children(*el);
                self.flush();
                self.list_depth -= usize::from(li);
                self.caption_depth -= usize::from(cap);
            }
            "a" if el.value().attr("href").is_some() => {
                self.link_depth += 1;
                self.walk_children(*el);
                self.link_depth -= 1;
            }
            _ => self.walk_children(*el),
        }
    }

    fn image(&mut self, img: ElementRef<'_>) {
        let Some(found) = content_image(img, self.base) else {
            return;
        };
        if self.out.images.iter().any(|i| i.url == found.url) {
            return;
        }
        let in_block = !self.buffer.trim().is_empty();
        self.out.images.push(ArticleImage {
            url: found.url,
            alt: found.alt,
            near_paragraph: self.out.paragraphs.len().saturating_sub(1),
        });
        if in_block {
            self.images_in_buffer.push(self.out.images.len() - 1);
        }
    }

    /// Ends the current block, if it has any text.
    fn flush(&mut self) {
        self.pending_br = false;
        let text = collapse_whitespace(&self.buffer);
        self.buffer.clear();
        let images = std::mem::take(&mut self.images_in_buffer);
        let link_chars = std::mem::take(&mut self.link_chars);
        if text.is_empty() {
            return;
        }
        // Images read mid-block follow the block they sit in, which gets the next index.
        for i in images {
            self.out.images[i].near_paragraph = self.out.paragraphs.len();
        }
        let share = link_chars as f32 / visible_chars(&text).max(1) as f32;
        self.push_block(text, false, share.min(1.0));
    }

    fn push_block(&mut self, text: String, is_heading: bool, link_share: f32) {
        self.out.paragraphs.push(Paragraph {
            text,
            heading: self.heading.clone(),
            is_heading,
        });
        self.out.traits.push(BlockTraits {
            link_share,
            list_item: self.list_depth > 0,
            caption: self.caption_depth > 0,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(html: &str) -> Blocks {
        content_blocks(html, &Url::parse("https://ex.org/dir/page").unwrap())
    }

    fn texts(b: &Blocks) -> Vec<&str> {
        b.paragraphs.iter().map(|p| p.text.as_str()).collect()
    }

    #[test]
    fn blocks_follow_reading_order_with_headings() {
        let b = blocks(
            "<div><p>Intro <b>bold</b>\n text.</p><h2>First  part</h2><p>One.</p>\
             <ul><li>a</li><li>b</li></ul><h3>Deeper</h3><p>Two.</p></div>",
        );
        assert_eq!(
            texts(&b),
            [
                "Intro bold text.",
                "First part",
                "One.",
                "a",
                "b",
                "Deeper",
                "Two."
            ]
        );
        let headings: Vec<_> = b.paragraphs.iter().map(|p| p.heading.as_deref()).collect();
        assert_eq!(
            headings,
            [
                None,
                Some("First part"),
                Some("First part"),
                Some("First part"),
                Some("First part"),
                Some("Deeper"),
                Some("Deeper")
            ]
        );
        assert!(b.paragraphs[1].is_heading && b.paragraphs[5].is_heading);
        assert!(!b.paragraphs[0].is_heading);
    }

    #[test]
    fn text_outside_paragraph_tags_is_kept() {
        let b = blocks("<div>Loose text<p>para</p>tail<br><br>after breaks<br>same block</div>");
        assert_eq!(
            texts(&b),
            ["Loose text", "para", "tail", "after breaks same block"]
        );
    }

    #[test]
    fn table_cells_do_not_glue_words() {
        let b =
            blocks("<table><tr><td>alpha</td><td>beta</td></tr><tr><th>gamma</th></tr></table>");
        assert_eq!(texts(&b), ["alpha beta", "gamma"]);
    }

    #[test]
    fn scripts_and_styles_are_not_text() {
        let b = blocks("<p>kept<script>var x = 1;</script><style>p{}</style></p>");
        assert_eq!(texts(&b), ["kept"]);
    }

    #[test]
    fn ruby_readings_are_not_read_out() {
        let b = blocks(
            "<p><ruby>子<rp>(</rp><rt>こ</rt><rp>)</rp></ruby>どもへの<ruby>法律<rt>ほうりつ</rt></ruby>ができて</p>",
        );
        assert_eq!(texts(&b), ["子どもへの法律ができて"]);
    }

    #[test]
    fn images_point_at_the_block_they_follow() {
        let b = blocks(
            r#"<img src="first.jpg"><p>one</p><p>two <img src="mid.jpg"> more</p><figure><img src="/fig.png"><figcaption>cap</figcaption></figure><p>three</p><img src="last.jpg">"#,
        );
        assert_eq!(texts(&b), ["one", "two more", "cap", "three"]);
        let got: Vec<_> = b
            .images
            .iter()
            .map(|i| (i.url.as_str(), i.near_paragraph))
            .collect();
        assert_eq!(
            got,
            [
                ("https://ex.org/dir/first.jpg", 0),
                ("https://ex.org/dir/mid.jpg", 1),
                ("https://ex.org/fig.png", 1),
                ("https://ex.org/dir/last.jpg", 3),
            ]
        );
        assert_eq!(b.images[2].alt.as_deref(), Some("cap"));
    }

    #[test]
    fn repeated_images_are_listed_once() {
        let b = blocks(r#"<p>a</p><img src="x.jpg"><p>b</p><img src="x.jpg">"#);
        assert_eq!(b.images.len(), 1);
    }

    #[test]
    fn whitespace_collapses_including_nbsp() {
        assert_eq!(collapse_whitespace("  a\u{a0}\u{a0}b \n\t c "), "a b c");
        assert_eq!(collapse_whitespace(" \n "), "");
    }
}
