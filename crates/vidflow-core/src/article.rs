//! The main content of a page, as the extractor found it.

use serde::{Deserialize, Serialize};

/// The readable part of a page: what a person would call "the article".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Article {
    /// The article's title (not the site name).
    pub title: String,
    /// Author line, if the page names one.
    pub byline: Option<String>,
    /// Language as a BCP 47 tag (`en`, `fr`, ...), from the page or detected.
    pub lang: Option<String>,
    /// The whole main text, paragraphs separated by blank lines.
    pub text: String,
    /// The main text as blocks in reading order.
    pub paragraphs: Vec<Paragraph>,
    /// Images inside the main content, in order, with absolute URLs.
    pub images: Vec<ArticleImage>,
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
