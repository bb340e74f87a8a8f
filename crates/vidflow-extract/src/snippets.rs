//! Measuring the extractor against snippet-annotated pages: for each page, passages the
//! main text must contain and passages (navigation, related links, share bars, footers) it
//! must not, scored as trafilatura's evaluation scores them.
//!
//! The fixtures [`crate::eval`] reads are Readability's own test pages, whose expected text
//! is what Readability keeps; they cannot show boilerplate Readability keeps too. This set
//! can: a "without" passage found in the text is a false positive, a "with" passage missing
//! is a false negative. The format is trafilatura's `tests/evaldata.json` (an object from
//! page URL to `{"file", "with": [...], "without": [...]}`), with the HTML files in one or
//! more folders.
//!
//! ```
//! use vidflow_extract::snippets::SnippetCounts;
//! let c = SnippetCounts { tp: 9, fp: 1, fn_: 1, tn: 9 };
//! assert!((c.precision() - 0.9).abs() < 1e-12);
//! assert!((c.f1() - 0.9).abs() < 1e-12);
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vidflow_core::VidflowError;

use crate::blocks::collapse_whitespace;
use crate::boilerplate::{TrimCount, add_counts};

/// One annotated page as the evaluation file gives it.
#[derive(Debug, Clone, Deserialize)]
struct Annotation {
    file: String,
    #[serde(default)]
    with: Vec<String>,
    #[serde(default)]
    without: Vec<String>,
}

/// Snippet counts: `tp` "with" passages found, `fn_` missed, `fp` "without" passages found,
/// `tn` kept out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct SnippetCounts {
    /// "With" passages present in the text.
    pub tp: usize,
    /// "Without" passages present in the text (boilerplate kept).
    pub fp: usize,
    /// "With" passages missing from the text (content lost).
    #[serde(rename = "fn")]
    pub fn_: usize,
    /// "Without" passages kept out of the text.
    pub tn: usize,
}

impl SnippetCounts {
    /// Share of the passages found that belong in the text.
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    /// Share of the passages that belong in the text that were found.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    /// Harmonic mean of precision and recall (trafilatura's `2tp / (2tp + fp + fn)`).
    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }
    fn add(&mut self, other: SnippetCounts) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
        self.tn += other.tn;
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// How one page scored.
#[derive(Debug, Clone, Serialize)]
pub struct SnippetPage {
    /// The page's URL (the key in the evaluation file; also the base URL it is read with).
    pub url: String,
    /// Its HTML file's name.
    pub file: String,
    /// Its counts.
    pub counts: SnippetCounts,
    /// The "without" passages the text kept (why it loses precision).
    pub kept: Vec<String>,
    /// The "with" passages the text lost (why it loses recall).
    pub lost: Vec<String>,
    /// Why extraction failed, when it did (every "with" passage then counts as lost).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Scores over a whole evaluation file.
#[derive(Debug, Clone, Serialize)]
pub struct SnippetReport {
    /// Pages scored.
    pub pages_scored: usize,
    /// Pages left out because their file is named by a 32-digit hexadecimal hash (see
    /// [`evaluate_snippets`]).
    pub pages_skipped: usize,
    /// Summed counts.
    pub counts: SnippetCounts,
    /// Precision over all passages.
    pub precision: f64,
    /// Recall over all passages.
    pub recall: f64,
    /// F1 over all passages.
    pub f1: f64,
    /// What each boilerplate rule dropped, over all pages.
    pub trimmed: Vec<TrimCount>,
    /// Every page scored, in URL order.
    pub pages: Vec<SnippetPage>,
}

/// Scores every page of the trafilatura-style evaluation file `evaldata`, reading each
/// page's file from the first of `dirs` that has it. With `skip_hashed`, pages whose file
/// is named by a 32-digit hexadecimal hash are left out: that is how the public
/// article-extraction benchmark names its pages, and a set held back for checking rules
/// must stay unseen while they are written.
pub fn evaluate_snippets(
    evaldata: &Path,
    dirs: &[PathBuf],
    skip_hashed: bool,
) -> Result<SnippetReport, VidflowError> {
    let bytes = std::fs::read(evaldata).map_err(|e| {
        VidflowError::bad_input(format!(
            "evaluation file {} cannot be read: {e}",
            evaldata.display()
        ))
    })?;
    let annotations: BTreeMap<String, Annotation> =
        serde_json::from_slice(&bytes).map_err(|e| {
            VidflowError::bad_input(format!(
                "evaluation file {} is not an object of page annotations: {e}",
                evaldata.display()
            ))
        })?;
    let mut pages = Vec::new();
    let mut skipped = 0;
    let mut counts = SnippetCounts::default();
    let mut trimmed = Vec::new();
    for (url, a) in annotations {
        if skip_hashed && is_hashed_name(&a.file) {
            skipped += 1;
            continue;
        }
        let Some(path) = dirs.iter().map(|d| d.join(&a.file)).find(|p| p.is_file()) else {
            return Err(VidflowError::bad_input(format!(
                "{url}: page file {} is in none of the folders given",
                a.file
            )));
        };
        let source = std::fs::read(&path).map_err(|e| {
            VidflowError::bad_input(format!("page file {} cannot be read: {e}", path.display()))
        })?;
        let html = crate::decode::decode_body(&source, None);
        let base = page_base_url(&url, &path);
        let page = match crate::read_article_with_rule(&html, &base) {
            Ok((article, _, dropped)) => {
                add_counts(&mut trimmed, &dropped);
                score_text(&url, &a, &article.text)
            }
            Err(e) => {
                let mut page = score_text(&url, &a, "");
                page.error = Some(e.message);
                page
            }
        };
        counts.add(page.counts);
        pages.push(page);
    }
    Ok(SnippetReport {
        pages_scored: pages.len(),
        pages_skipped: skipped,
        precision: counts.precision(),
        recall: counts.recall(),
        f1: counts.f1(),
        counts,
        trimmed,
        pages,
    })
}

/// Scores one page's text: a passage counts as present when it occurs in the text with
/// whitespace collapsed on both sides.
fn score_text(url: &str, a: &Annotation, text: &str) -> SnippetPage {
    let text = collapse_whitespace(text);
    let present = |s: &String| text.contains(&collapse_whitespace(s));
    let lost: Vec<String> = a.with.iter().filter(|s| !present(s)).cloned().collect();
    let kept: Vec<String> = a.without.iter().filter(|s| present(s)).cloned().collect();
    SnippetPage {
        url: url.to_owned(),
        file: a.file.clone(),
        counts: SnippetCounts {
            tp: a.with.len() - lost.len(),
            fn_: lost.len(),
            fp: kept.len(),
            tn: a.without.len() - kept.len(),
        },
        kept,
        lost,
        error: None,
    }
}

/// The URL a page is read at: its key when that is a web address, else its file's own
/// `file://` URL (the set keys some pages by names like `hard::page.html`, which nothing can
/// be resolved against; scoring those with no text at all would count as lost passages what
/// is only a missing address).
fn page_base_url(key: &str, file: &Path) -> String {
    let web = url::Url::parse(key).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    if web {
        return key.to_owned();
    }
    std::path::absolute(file)
        .ok()
        .and_then(|p| url::Url::from_file_path(p).ok())
        .map_or_else(|| key.to_owned(), String::from)
}

fn is_hashed_name(file: &str) -> bool {
    let stem = file.split('.').next().unwrap_or(file);
    stem.len() == 32 && stem.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><head><title>Rivers</title></head><body>
        <nav><a href="/">Home</a> <a href="/about">About us</a></nav>
        <article><h1>Rivers of the north</h1>
        <p>The northern rivers run fast in spring, when the snow melts on the high ground and
        the water rises in a single night. Farmers along the banks have learned to move their
        animals to the hills before the flood arrives, and the towns keep boats ready.</p>
        <p>In summer the same rivers slow to a trickle, and children cross them on stepping
        stones that were under two metres of water in April. Fishermen say the best weeks are
        the ones between, when the water clears but still runs cold.</p></article>
        <footer>Copyright 2024 River News. All rights reserved.</footer></body></html>"#;

    #[test]
    fn passages_are_counted_as_trafilatura_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rivers.html"), PAGE).unwrap();
        std::fs::write(
            dir.path().join("0123456789abcdef0123456789abcdef.html"),
            PAGE,
        )
        .unwrap();
        let evaldata = dir.path().join("evaldata.json");
        std::fs::write(
            &evaldata,
            r#"{
              "https://example.org/rivers": {"file": "rivers.html",
                "with": ["run fast   in spring", "stepping stones", "a sentence not there"],
                "without": ["All rights reserved", "About us"]},
              "https://example.org/held-back": {"file": "0123456789abcdef0123456789abcdef.html",
                "with": ["stepping stones"], "without": ["About us"]}
            }"#,
        )
        .unwrap();
        let r = evaluate_snippets(&evaldata, &[dir.path().to_path_buf()], true).unwrap();
        assert_eq!(r.pages_scored, 1);
        assert_eq!(r.pages_skipped, 1);
        assert_eq!(r.counts.tp, 2, "{r:?}");
        assert_eq!(r.counts.fn_, 1);
        assert_eq!(r.pages[0].lost, vec!["a sentence not there".to_owned()]);
        assert_eq!(r.counts.fp + r.counts.tn, 2);
        let all = evaluate_snippets(&evaldata, &[dir.path().to_path_buf()], false).unwrap();
        assert_eq!(all.pages_scored, 2);
    }

    #[test]
    fn a_page_keyed_by_a_name_is_read_at_its_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rivers.html"), PAGE).unwrap();
        let evaldata = dir.path().join("evaldata.json");
        std::fs::write(
            &evaldata,
            r#"{"hard::rivers.html": {"file": "rivers.html",
                "with": ["stepping stones"], "without": ["All rights reserved"]}}"#,
        )
        .unwrap();
        let r = evaluate_snippets(&evaldata, &[dir.path().to_path_buf()], false).unwrap();
        assert_eq!(r.pages[0].error, None, "{r:?}");
        assert_eq!((r.counts.tp, r.counts.tn), (1, 1), "{r:?}");
    }

    #[test]
    fn a_missing_page_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let evaldata = dir.path().join("evaldata.json");
        std::fs::write(
            &evaldata,
            r#"{"https://example.org/x": {"file": "gone.html", "with": ["a"], "without": ["b"]}}"#,
        )
        .unwrap();
        let e = evaluate_snippets(&evaldata, &[dir.path().to_path_buf()], false).unwrap_err();
        assert!(e.message.contains("gone.html"), "{}", e.message);
        std::fs::write(&evaldata, "[1, 2]").unwrap();
        let e = evaluate_snippets(&evaldata, &[dir.path().to_path_buf()], false).unwrap_err();
        assert!(e.message.contains("not an object"), "{}", e.message);
    }
}
