//! The main content of a page, as the extractor found it.

use serde::{Deserialize, Serialize};

/// The readable part of a page: what a person would call "the article".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Article {
    /// The article's title as the page states it. Structured data (JSON-LD, Open Graph)
    /// sometimes keeps the site's name in it ("Title | Site"); [`Article::short_title`]
    /// drops it for places that show [`Article::site_name`] beside the title.
    pub title: String,
    /// Author line, if the page names one.
    pub byline: Option<String>,
    /// The publication's name, if the page states it (`og:site_name`, JSON-LD publisher).
    #[serde(default)]
    pub site_name: Option<String>,
    /// When the article was published, as the page states it (ISO 8601 in practice).
    #[serde(default)]
    pub published: Option<String>,
    /// Language as a BCP 47 tag (`en`, `fr`, ...), from the page or detected.
    pub lang: Option<String>,
    /// The whole main text, paragraphs separated by blank lines.
    pub text: String,
    /// The main text as blocks in reading order.
    pub paragraphs: Vec<Paragraph>,
    /// Images inside the main content, in order, with absolute URLs.
    pub images: Vec<ArticleImage>,
}

/// Separators sites put between an article's title and their own name.
pub const TITLE_SEPARATORS: &[&str] = &[
    " | ", " - ", " – ", " — ", " :: ", " · ", " • ", " » ", " / ", " \\ ", " > ",
];

impl Article {
    /// The title without the site's name at either end ("Tides | Sea Notes" → "Tides"),
    /// when the page states its site name: what a title card beside the site's name, or a
    /// narrator, should say.
    ///
    /// ```
    /// let a = vidflow_core::Article {
    ///     title: "Tides explained | Sea Notes".into(),
    ///     site_name: Some("Sea Notes".into()),
    ///     ..Default::default()
    /// };
    /// assert_eq!(a.short_title(), "Tides explained");
    /// ```
    pub fn short_title(&self) -> String {
        let title = self.title.split_whitespace().collect::<Vec<_>>().join(" ");
        let Some(site) = self
            .site_name
            .as_deref()
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty())
        else {
            return title;
        };
        let lower = title.to_lowercase();
        let site_lower = site.to_lowercase();
        for sep in TITLE_SEPARATORS {
            // Lower-casing can change byte lengths; the whole title stands then.
            if let Some(rest) = lower.strip_suffix(&format!("{sep}{site_lower}"))
                && let Some(head) = title.get(..rest.len())
            {
                return head.trim().to_owned();
            }
            if lower.starts_with(&format!("{site_lower}{sep}"))
                && let Some(tail) = title.get(site_lower.len() + sep.len()..)
            {
                return tail.trim().to_owned();
            }
        }
        title
    }
}

/// One block of the main text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paragraph {
    /// The block's text, whitespace collapsed.
    pub text: String,
    /// The heading of the section this block belongs to, if any.
    pub heading: Option<String>,
    /// True when the block is itself a heading.
    pub is_heading: bool,
}

/// An image in the main content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleImage {
    /// Absolute URL (`http(s)://`, `file://` or `data:`).
    pub url: String,
    /// Alternative text or caption.
    pub alt: Option<String>,
    /// Index into [`Article::paragraphs`] of the block the image follows (0 when it comes first).
    pub near_paragraph: usize,
}
