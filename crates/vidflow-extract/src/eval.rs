//! Measuring the extractor against pages whose right answer is known.
//!
//! Each fixture is a folder with the page as served (`source.html`), the main content a good
//! extractor keeps (`expected.html`) and the page's metadata (`expected-metadata.json`). A
//! page scores the bag-of-words F1 between the text we extract and the text of
//! `expected.html`, and whether our title matches the expected one.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use scraper::{Html, Node};
use serde::Serialize;
use unicode_segmentation::UnicodeSegmentation;
use vidflow_core::VidflowError;

use crate::blocks::collapse_whitespace;
use crate::boilerplate::{TrimCount, add_counts};
use crate::meta::TitleRule;

/// The URL fixture pages are extracted as if served from. Readability's own test suite uses
/// it, and the expected outputs' absolute links were made against it.
pub const FIXTURE_URL: &str = "http://fakehost/test/page.html";

/// Bag-of-words F1 between two texts: words are Unicode words (UAX #29), case-folded, and
/// counted with multiplicity, so repeating a paragraph costs precision.
///
/// Two empty texts agree perfectly (1.0); an empty text against a non-empty one scores 0.
///
/// ```
/// use vidflow_extract::eval::word_f1;
/// assert_eq!(word_f1("The cat sat", "the CAT sat"), 1.0);
/// assert!((word_f1("a b", "a b c d") - 2.0 / 3.0).abs() < 1e-9);
/// ```
pub fn word_f1(extracted: &str, expected: &str) -> f64 {
    let (got, want) = (word_counts(extracted), word_counts(expected));
    let got_total: usize = got.values().sum();
    let want_total: usize = want.values().sum();
    if got_total == 0 && want_total == 0 {
        return 1.0;
    }
    if got_total == 0 || want_total == 0 {
        return 0.0;
    }
    let overlap: usize = got
        .iter()
        .map(|(w, n)| (*n).min(want.get(w).copied().unwrap_or(0)))
        .sum();
    if overlap == 0 {
        return 0.0;
    }
    let precision = overlap as f64 / got_total as f64;
    let recall = overlap as f64 / want_total as f64;
    2.0 * precision * recall / (precision + recall)
}

fn word_counts(text: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for word in text.unicode_words() {
        *counts.entry(word.to_lowercase()).or_insert(0) += 1;
    }
    counts
}

/// How one fixture page scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageScore {
    /// The fixture's folder name.
    pub name: String,
    /// Word F1 of the extracted text against `expected.html`.
    pub f1: f64,
    /// Share of the extracted words that are expected.
    pub precision: f64,
    /// Share of the expected words that were extracted.
    pub recall: f64,
    /// Size of `source.html` in bytes.
    pub bytes: usize,
    /// Time to extract the page (median of [`TIMING_RUNS`] runs), milliseconds.
    pub extract_ms: f64,
    /// Expected blocks mostly missing from the extraction: why the page loses recall.
    pub lost: Vec<BlockDiff>,
    /// Extracted blocks mostly not expected: why the page loses precision.
    pub gained: Vec<BlockDiff>,
    /// Whether the extracted title equals the expected one (whitespace and case aside).
    pub title_ok: bool,
    /// The title `expected-metadata.json` gives.
    pub expected_title: String,
    /// The title we extracted (empty when extraction failed).
    pub got_title: String,
    /// Which rule chose the title.
    pub title_rule: TitleRule,
    /// What each boilerplate rule that fired dropped from the page (text it may have lost).
    pub trimmed: Vec<TrimCount>,
    /// Whether the byline, site name and publication date match the expected ones; `None`
    /// where `expected-metadata.json` gives none.
    pub meta_ok: MetaMatch,
    /// Why extraction failed, when it did (the page then scores 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// True when [`crate::extract_html`] refuses the page as too short to narrate (fewer than
    /// [`crate::MIN_WORDS`] words). The page is still scored on the text the extractor found,
    /// because the refusal is a product rule, not an extraction mistake.
    pub refused: bool,
}

/// Scores over a folder of fixtures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Every page, in folder-name order.
    pub pages: Vec<PageScore>,
    /// Median of the pages' F1.
    pub median_f1: f64,
    /// Mean of the pages' F1.
    pub mean_f1: f64,
    /// Share of pages whose title matched, 0 to 1.
    pub title_accuracy: f64,
    /// How often each title rule fired, and how often it was right, in the order the rules
    /// are tried.
    pub title_rules: Vec<RuleCount>,
    /// What each boilerplate rule dropped, over all pages.
    pub trimmed: Vec<TrimCount>,
    /// Pages [`crate::extract_html`] refuses as too short to narrate.
    pub refused: usize,
    /// Extraction time per page next to page size.
    pub timing: Timing,
    /// Author lines matched, over pages that state one.
    pub byline: FieldAccuracy,
    /// Site names matched, over pages that state one.
    pub site_name: FieldAccuracy,
    /// Publication dates matched, over pages that state one.
    pub published: FieldAccuracy,
    /// Mean F1 counting every refused page as 0: the score of what a user gets.
    pub mean_f1_counting_refusals: f64,
}

/// How many times each page is extracted to time it; the median is reported.
pub const TIMING_RUNS: usize = 3;

/// A block of text one side has and the other mostly lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockDiff {
    /// Words in the block.
    pub words: usize,
    /// The block's start, at most 80 characters.
    pub text: String,
}

/// Extraction time next to page size, over the pages of a fixture folder.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timing {
    /// Median extraction time per page, milliseconds.
    pub median_ms: f64,
    /// 95th percentile extraction time per page, milliseconds.
    pub p95_ms: f64,
    /// Median page size, bytes.
    pub median_bytes: f64,
    /// 95th percentile page size, bytes.
    pub p95_bytes: f64,
    /// Median of each page's time divided by its size, milliseconds per 100 kB.
    pub median_ms_per_100kb: f64,
}

/// Per field, whether what we extracted matches the fixture's metadata (`None` where the
/// fixture states nothing for the field).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MetaMatch {
    /// Author line, compared without a leading "By" and whitespace and case aside.
    pub byline: Option<bool>,
    /// Site name, whitespace and case aside.
    pub site_name: Option<bool>,
    /// Publication date-time, as written.
    pub published: Option<bool>,
}

/// Share of the pages stating a field whose value we matched, and how many stated it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldAccuracy {
    /// Pages whose fixture states the field.
    pub stated: usize,
    /// Of those, pages where we matched it.
    pub matched: usize,
}

/// How often one title rule chose the title over a fixture folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCount {
    /// The rule.
    pub rule: TitleRule,
    /// Pages whose title it chose.
    pub fired: usize,
    /// Of those, pages whose title matched the expected one.
    pub right: usize,
}

impl EvalReport {
    /// The pages from worst to best F1, to know where to look first.
    pub fn worst_first(&self) -> Vec<&PageScore> {
        let mut pages: Vec<&PageScore> = self.pages.iter().collect();
        pages.sort_by(|a, b| a.f1.total_cmp(&b.f1));
        pages
    }
}

/// Runs the extractor on every fixture folder under `dir` (each holding `source.html`,
/// `expected.html` and `expected-metadata.json`) and scores it.
///
/// Folders without a `source.html` (licences, notes) are passed over. A missing or unreadable
/// `dir`, a fixture missing its expected files, or a folder with no fixtures at all is an
/// error, so a misplaced fixture set can never look like a perfect score.
pub fn evaluate_dir(dir: &Path) -> Result<EvalReport, VidflowError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        VidflowError::bad_input(format!(
            "fixture folder {} cannot be read: {e}",
            dir.display()
        ))
    })?;
    let mut folders: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("source.html").is_file())
        .collect();
    folders.sort();
    if folders.is_empty() {
        return Err(VidflowError::bad_input(format!(
            "fixture folder {} holds no fixtures (folders with source.html)",
            dir.display()
        )));
    }
    let pages = folders
        .iter()
        .map(|folder| score_fixture(folder))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(summarise(pages))
}

fn summarise(pages: Vec<PageScore>) -> EvalReport {
    let mut f1s: Vec<f64> = pages.iter().map(|p| p.f1).collect();
    f1s.sort_by(f64::total_cmp);
    let n = f1s.len();
    let median_f1 = match n {
        0 => 0.0,
        _ if n % 2 == 1 => f1s[n / 2],
        _ => (f1s[n / 2 - 1] + f1s[n / 2]) / 2.0,
    };
    let mean_f1 = if n == 0 {
        0.0
    } else {
        f1s.iter().sum::<f64>() / n as f64
    };
    let title_accuracy = if n == 0 {
        0.0
    } else {
        pages.iter().filter(|p| p.title_ok).count() as f64 / n as f64
    };
    let title_rules = TitleRule::ALL
        .iter()
        .map(|&rule| RuleCount {
            rule,
            fired: pages.iter().filter(|p| p.title_rule == rule).count(),
            right: pages
                .iter()
                .filter(|p| p.title_rule == rule && p.title_ok)
                .count(),
        })
        .filter(|c| c.fired > 0)
        .collect();
    let mut trimmed = Vec::new();
    for p in &pages {
        add_counts(&mut trimmed, &p.trimmed);
    }
    let refused = pages.iter().filter(|p| p.refused).count();
    let mean_f1_counting_refusals = if n == 0 {
        0.0
    } else {
        pages
            .iter()
            .filter(|p| !p.refused)
            .map(|p| p.f1)
            .sum::<f64>()
            / n as f64
    };
    let timing = Timing {
        median_ms: percentile(pages.iter().map(|p| p.extract_ms), 0.5),
        p95_ms: percentile(pages.iter().map(|p| p.extract_ms), 0.95),
        median_bytes: percentile(pages.iter().map(|p| p.bytes as f64), 0.5),
        p95_bytes: percentile(pages.iter().map(|p| p.bytes as f64), 0.95),
        median_ms_per_100kb: percentile(
            pages
                .iter()
                .map(|p| p.extract_ms / (p.bytes.max(1) as f64 / 100_000.0)),
            0.5,
        ),
    };
    let field = |get: fn(&MetaMatch) -> Option<bool>| FieldAccuracy {
        stated: pages.iter().filter(|p| get(&p.meta_ok).is_some()).count(),
        matched: pages
            .iter()
            .filter(|p| get(&p.meta_ok) == Some(true))
            .count(),
    };
    let byline = field(|m| m.byline);
    let site_name = field(|m| m.site_name);
    let published = field(|m| m.published);
    EvalReport {
        byline,
        site_name,
        published,
        timing,
        pages,
        median_f1,
        mean_f1,
        title_accuracy,
        title_rules,
        trimmed,
        refused,
        mean_f1_counting_refusals,
    }
}

/// The `q` quantile (0 to 1) by linear interpolation between closest ranks; 0 when empty.
fn percentile(values: impl Iterator<Item = f64>, q: f64) -> f64 {
    let mut v: Vec<f64> = values.collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// Precision and recall of `got` against `want`, by bags of words as [`word_f1`] counts them.
fn precision_recall(got: &str, want: &str) -> (f64, f64) {
    let (g, w) = (word_counts(got), word_counts(want));
    let (gt, wt): (usize, usize) = (g.values().sum(), w.values().sum());
    let overlap: usize = g
        .iter()
        .map(|(word, n)| (*n).min(w.get(word).copied().unwrap_or(0)))
        .sum();
    let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    (ratio(overlap, gt), ratio(overlap, wt))
}

/// The blocks of `blocks` whose words are mostly (over half) absent from `other`, largest
/// first, at most five.
fn missing_blocks<'a>(blocks: impl Iterator<Item = &'a str>, other: &str) -> Vec<BlockDiff> {
    let bag = word_counts(other);
    let mut out: Vec<BlockDiff> = blocks
        .filter_map(|block| {
            let words: Vec<String> = block.unicode_words().map(str::to_lowercase).collect();
            let absent = words.iter().filter(|w| !bag.contains_key(*w)).count();
            (!words.is_empty() && absent * 2 > words.len()).then(|| BlockDiff {
                words: words.len(),
                text: block.chars().take(80).collect(),
            })
        })
        .collect();
    out.sort_by_key(|b| std::cmp::Reverse(b.words));
    out.truncate(5);
    out
}

fn score_fixture(folder: &Path) -> Result<PageScore, VidflowError> {
    let read = |file: &str| {
        let path = folder.join(file);
        std::fs::read(&path).map_err(|e| {
            VidflowError::bad_input(format!(
                "fixture file {} cannot be read: {e}",
                path.display()
            ))
        })
    };
    let source = read("source.html")?;
    let expected_html = String::from_utf8_lossy(&read("expected.html")?).into_owned();
    let metadata_path = folder.join("expected-metadata.json");
    let metadata: serde_json::Value = serde_json::from_slice(&read("expected-metadata.json")?)
        .map_err(|e| {
            VidflowError::bad_input(format!(
                "fixture file {} is not valid JSON: {e}",
                metadata_path.display()
            ))
        })?;
    let expected_title = metadata
        .get("title")
        .and_then(|t| t.as_str())
        .unwrap_or_default()
        .to_owned();
    let stated = |key: &str| {
        metadata
            .get(key)
            .and_then(|v| v.as_str())
            .map(collapse_whitespace)
            .filter(|v| !v.is_empty())
    };
    let (want_byline, want_site, want_published) = (
        stated("byline"),
        stated("siteName"),
        stated("publishedTime"),
    );
    let check = |want: &Option<String>, got: Option<&str>, same: fn(&str, &str) -> bool| {
        want.as_deref().map(|w| got.is_some_and(|g| same(g, w)))
    };
    let name = folder
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();

    let html = crate::decode::decode_body(&source, None);
    let expected_text = html_text(&expected_html);
    let mut times = Vec::with_capacity(TIMING_RUNS);
    let mut result = None;
    for _ in 0..TIMING_RUNS {
        let start = Instant::now();
        let r = crate::read_article_with_rule(&html, FIXTURE_URL);
        times.push(start.elapsed().as_secs_f64() * 1e3);
        result = Some(r);
    }
    let extract_ms = percentile(times.into_iter(), 0.5);
    let bytes = source.len();
    let base = url::Url::parse(FIXTURE_URL).expect("fixture URL parses");
    let expected_blocks = crate::blocks::content_blocks(&expected_html, &base);
    let expected_block_texts = || expected_blocks.paragraphs.iter().map(|p| p.text.as_str());
    Ok(match result.expect("at least one timing run") {
        Ok((article, title_rule, trimmed)) => {
            let (precision, recall) = precision_recall(&article.text, &expected_text);
            let meta_ok = MetaMatch {
                byline: check(&want_byline, article.byline.as_deref(), same_byline),
                site_name: check(&want_site, article.site_name.as_deref(), same_title),
                published: check(&want_published, article.published.as_deref(), |a, b| {
                    a.trim() == b.trim()
                }),
            };
            PageScore {
                meta_ok,
                title_rule,
                trimmed,
                name,
                f1: word_f1(&article.text, &expected_text),
                precision,
                recall,
                bytes,
                extract_ms,
                lost: missing_blocks(expected_block_texts(), &article.text),
                gained: missing_blocks(
                    article.paragraphs.iter().map(|p| p.text.as_str()),
                    &expected_text,
                ),
                title_ok: same_title(&article.title, &expected_title),
                expected_title,
                refused: crate::count_words(&article.text) < crate::MIN_WORDS,
                got_title: article.title,
                error: None,
            }
        }
        Err(e) => PageScore {
            name,
            // Refusing a page whose expected content is empty is the right answer.
            f1: word_f1("", &expected_text),
            precision: 1.0,
            recall: if expected_text.trim().is_empty() {
                1.0
            } else {
                0.0
            },
            bytes,
            extract_ms,
            lost: missing_blocks(expected_block_texts(), ""),
            gained: Vec::new(),
            title_ok: false,
            expected_title,
            got_title: String::new(),
            title_rule: TitleRule::None,
            trimmed: Vec::new(),
            meta_ok: MetaMatch {
                byline: want_byline.as_ref().map(|_| false),
                site_name: want_site.as_ref().map(|_| false),
                published: want_published.as_ref().map(|_| false),
            },
            error: Some(e.message),
            refused: true,
        },
    })
}

/// Author lines match when they are equal without a leading "By" (which some pages write
/// and the extractor drops), whitespace and case aside.
fn same_byline(got: &str, expected: &str) -> bool {
    let norm = |s: &str| {
        let s = collapse_whitespace(s).to_lowercase();
        s.strip_prefix("by ").map(str::to_owned).unwrap_or(s)
    };
    norm(got) == norm(expected)
}

/// Titles match when they are equal after collapsing whitespace and folding case.
fn same_title(got: &str, expected: &str) -> bool {
    collapse_whitespace(got).to_lowercase() == collapse_whitespace(expected).to_lowercase()
}

/// All the text of an HTML fragment, with a space wherever an element begins or ends a
/// block, so that words in neighbouring blocks are never glued together.
///
/// This is deliberately independent of the extractor's own block walk: it is the yardstick.
pub fn html_text(html: &str) -> String {
    const INLINE: &[&str] = &[
        "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd",
        "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var",
        "wbr", "del", "ins", "strike", "tt", "big", "label", "nobr",
    ];
    const HIDDEN: &[&str] = &["script", "style", "noscript", "template", "head"];
    let doc = Html::parse_fragment(html);
    let mut out = String::new();
    let mut stack = vec![(doc.tree.root(), false)];
    // Iterative walk; the boolean marks "leaving this element".
    while let Some((node, leaving)) = stack.pop() {
        match node.value() {
            Node::Text(t) if !leaving => out.push_str(t),
            Node::Element(el) => {
                let name = el.name();
                if HIDDEN.contains(&name) {
                    continue;
                }
                let is_inline = INLINE.contains(&name);
                if !is_inline {
                    out.push(' ');
                }
                if !leaving {
                    stack.push((node, true));
                    for child in node.children().rev() {
                        stack.push((child, false));
                    }
                }
            }
            _ if !leaving => {
                for child in node.children().rev() {
                    stack.push((child, false));
                }
            }
            _ => {}
        }
    }
    collapse_whitespace(&out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boilerplate::TrimRule;

    #[test]
    fn f1_is_one_for_same_words_any_case_or_punctuation() {
        assert_eq!(word_f1("Hello, World!", "hello world"), 1.0);
        assert_eq!(word_f1("ÉCOLE d'été", "école D'ÉTÉ"), 1.0);
    }

    #[test]
    fn f1_counts_multiplicity() {
        // got: a a b (3), want: a b (2); overlap 2 → p = 2/3, r = 1, f1 = 0.8.
        assert!((word_f1("a a b", "a b") - 0.8).abs() < 1e-12);
    }

    #[test]
    fn f1_partial_and_disjoint() {
        // overlap 1 of 2 and 1 of 4: p = 0.5, r = 0.25, f1 = 1/3.
        assert!((word_f1("x y", "x a b c") - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(word_f1("x y", "a b"), 0.0);
    }

    #[test]
    fn f1_empty_cases() {
        assert_eq!(word_f1("", ""), 1.0);
        assert_eq!(word_f1("  ", "a"), 0.0);
        assert_eq!(word_f1("a", ""), 0.0);
    }

    #[test]
    fn html_text_keeps_blocks_apart_and_inline_together() {
        assert_eq!(
            html_text("<div><p>one</p><p>two<b>three</b></p><script>x</script>four</div>"),
            "one twothree four"
        );
    }

    #[test]
    fn titles_compare_loosely() {
        assert!(same_title(" The  Title", "the title"));
        assert!(!same_title("Site | The Title", "The Title"));
    }

    #[test]
    fn summary_median_mean_and_accuracy() {
        let page = |f1: f64, ok: bool| PageScore {
            name: String::new(),
            f1,
            precision: f1,
            recall: f1,
            bytes: 1000,
            extract_ms: f1,
            lost: Vec::new(),
            gained: Vec::new(),
            title_ok: ok,
            expected_title: String::new(),
            got_title: String::new(),
            meta_ok: MetaMatch::default(),
            title_rule: if ok {
                TitleRule::MetaTitle
            } else {
                TitleRule::None
            },
            trimmed: vec![
                TrimCount {
                    rule: TrimRule::Tail,
                    blocks: 1,
                    words: 2,
                },
                TrimCount {
                    rule: TrimRule::Links,
                    blocks: 2,
                    words: 10,
                },
            ],
            error: None,
            refused: f1 < 0.3,
        };
        let r = summarise(vec![
            page(1.0, true),
            page(0.5, false),
            page(0.9, true),
            page(0.2, true),
        ]);
        assert_eq!(r.refused, 1);
        assert!((r.mean_f1_counting_refusals - 0.6).abs() < 1e-12);
        assert!((r.median_f1 - 0.7).abs() < 1e-12);
        assert!((r.mean_f1 - 0.65).abs() < 1e-12);
        assert!((r.title_accuracy - 0.75).abs() < 1e-12);
        assert_eq!(
            r.title_rules,
            [
                RuleCount {
                    rule: TitleRule::MetaTitle,
                    fired: 3,
                    right: 3
                },
                RuleCount {
                    rule: TitleRule::None,
                    fired: 1,
                    right: 0
                }
            ]
        );
        assert_eq!(r.worst_first()[0].f1, 0.2);
        // Summed over the four pages, in the order the rules are listed.
        assert_eq!(
            r.trimmed,
            [
                TrimCount {
                    rule: TrimRule::Links,
                    blocks: 8,
                    words: 40
                },
                TrimCount {
                    rule: TrimRule::Tail,
                    blocks: 4,
                    words: 8
                }
            ]
        );
        assert!((r.timing.median_ms - 0.7).abs() < 1e-12);
        assert!((r.timing.p95_ms - 0.985).abs() < 1e-12);
    }

    #[test]
    fn blocks_missing_from_the_other_side_are_named() {
        let lost = missing_blocks(
            ["the cat sat", "sign up for our newsletter today"].into_iter(),
            "the cat sat on the mat",
        );
        assert_eq!(
            lost,
            [BlockDiff {
                words: 6,
                text: "sign up for our newsletter today".into()
            }]
        );
        let (p, r) = precision_recall("a b c d", "a b");
        assert!((p - 0.5).abs() < 1e-12 && (r - 1.0).abs() < 1e-12);
    }

    #[test]
    fn missing_or_empty_fixture_folder_is_an_error() {
        let missing = std::env::temp_dir().join("vidflow-extract-no-such-fixtures-dir");
        assert!(evaluate_dir(&missing).is_err());
        let empty =
            std::env::temp_dir().join(format!("vidflow-extract-empty-{}", std::process::id()));
        std::fs::create_dir_all(&empty).unwrap();
        let result = evaluate_dir(&empty);
        std::fs::remove_dir_all(&empty).unwrap();
        assert!(result.unwrap_err().message.contains("no fixtures"));
    }
}
