//! `vidflow bench extract`: main-text extraction quality on a fixture folder (word F1,
//! precision and recall, title accuracy and which title rule fired how often), and
//! extraction time per page next to the page's size.

use std::path::{Path, PathBuf};

use crate::BenchError;

/// Scores every fixture in `dir` (`<name>/source.html`, `expected.html`,
/// `expected-metadata.json`). With `worst`, the report also lists that many pages with the
/// lowest F1 first, each with the blocks it loses (expected, not extracted) and gains
/// (extracted, not expected).
pub fn run(dir: &Path, worst: Option<usize>) -> Result<serde_json::Value, BenchError> {
    let report = vidflow_extract::eval::evaluate_dir(dir)?;
    let mut value = serde_json::to_value(&report)?;
    if let Some(n) = worst {
        let pages: Vec<_> = report.worst_first().into_iter().take(n).collect();
        value["worst"] = serde_json::to_value(pages)?;
    }
    Ok(value)
}

/// Scores the snippet-annotated pages of `evaldata` (trafilatura's format), reading their
/// files from `dirs`. The report's `pages` is replaced by the `worst` pages (most passages
/// kept or lost first) when asked, and dropped otherwise: a thousand pages is noise.
pub fn run_snippets(
    evaldata: &Path,
    dirs: &[PathBuf],
    include_hashed: bool,
    worst: Option<usize>,
) -> Result<serde_json::Value, BenchError> {
    let mut report = vidflow_extract::snippets::evaluate_snippets(evaldata, dirs, !include_hashed)?;
    report
        .pages
        .sort_by_key(|p| std::cmp::Reverse(p.counts.fp + p.counts.fn_));
    report.pages.truncate(worst.unwrap_or(0));
    Ok(serde_json::to_value(&report)?)
}
