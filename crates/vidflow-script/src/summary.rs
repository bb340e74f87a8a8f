//! The extractive summary: the article's most central sentences, in its own order, within a
//! spoken-word budget, grouped into segments that follow its sections.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use vidflow_core::{Article, Script, Segment, VidflowError};

use crate::rank::{RankInput, Ranking, rank};
use crate::sentences::{count_words, split_sentences, trim_to_words};
use crate::spoken::{clean_for_display, clean_for_speech};
use crate::{KEY_SENTENCE_MAX_WORDS, ScriptOptions};

/// Page furniture that readability-style extraction sometimes lets through; never narrated.
static BOILERPLATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:click here|tap here|subscribe (?:to|now|today|for)|sign up (?:for|to|now|today)|newsletter|all rights reserved|follow us|share (?:this|on)|read more|continue reading|advertisement|sponsored content|terms of (?:service|use)|privacy policy|cookie (?:policy|settings)|leave a comment|related (?:articles|posts|stories))\b",
    )
    .expect("boilerplate pattern compiles")
});

/// Copyright lines ("© 2024 Example Ltd."), recognised before cleaning removes the sign.
static COPYRIGHT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)©|\(c\)\s*(?:19|20)\d\d|\bcopyright\s+(?:19|20)\d\d")
        .expect("copyright pattern compiles")
});

/// A block longer than this is prose that happens to mention a copyright, not a footer.
const COPYRIGHT_LINE_MAX_WORDS: usize = 40;

/// How a finished sentence ends (closing quotes and brackets included).
const SENTENCE_ENDINGS: &[char] = &['.', '!', '?', '…', '"', '”', '’', '\'', ')'];

/// Lines shorter than this with no closing stop are labels, not sentences.
const LABEL_MAX_WORDS: usize = 4;

/// When the article does not fit the budget, sentences scoring below this fraction of the
/// best one are not used to fill the last few words.
const FILLER_MIN_SCORE: f64 = 0.15;

/// Two sentences this similar (TF-IDF cosine) say the same thing; only one is narrated.
const REDUNDANT_SIMILARITY: f64 = 0.7;

/// Words that make up the headings of sections that are not the article's story:
/// "References", "Notes and references", "Further reading", "External links", "See also".
const APPARATUS_WORDS: &[&str] = &[
    "references",
    "reference",
    "citations",
    "citation",
    "notes",
    "note",
    "footnotes",
    "sources",
    "bibliography",
    "further",
    "reading",
    "external",
    "links",
    "see",
    "also",
    "works",
    "cited",
    "and",
    "comments",
    "acknowledgements",
    "acknowledgments",
    "related",
    "articles",
    "posts",
    "share",
    "this",
    "tags",
    "about",
    "the",
    "author",
];

/// Whether a section with this heading holds apparatus (references, links) rather than prose.
fn is_apparatus(heading: &str) -> bool {
    let words: Vec<String> = heading
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    !words.is_empty()
        && words.iter().all(|w| APPARATUS_WORDS.contains(&w.as_str()))
        // "About the author" yes, "The" alone or "About" alone no.
        && !(words.len() == 1 && matches!(words[0].as_str(), "the" | "and" | "this" | "about" | "also"))
}

/// A block of the article, as the summary sees it.
struct Block {
    text: String,
    heading: Option<String>,
    is_heading: bool,
}

/// A sentence that may be narrated.
struct Candidate {
    /// Cleaned for speech.
    text: String,
    words: usize,
    /// Index of its block in [`Article::paragraphs`].
    paragraph: usize,
    /// Sections are numbered in page order; a new heading starts a new one.
    section: usize,
    heading: Option<String>,
    opens_paragraph: bool,
}

/// A chosen sentence: which candidate, and its text (cut only when it alone exceeds the budget).
struct Pick {
    candidate: usize,
    text: String,
}

/// Extractive summary: ranks sentences, keeps the page's order, fits the word budget.
///
/// The budget is `opts.word_budget()` words and covers everything spoken, the title intro
/// (`"<title>."`) included; the narration never exceeds it, except that when not even the best
/// sentence fits, that sentence is cut at a word boundary to fit. A short article is narrated
/// whole. Segments hold about two to four sentences each, break at section changes where
/// they can, and number between `opts.min_segments` (fewer only when fewer sentences were
/// chosen) and `opts.max_segments`. Each page image goes to at most one segment, the one
/// nearest to it. The same input always gives the same script.
///
/// Never narrated: sections headed like apparatus ("References", "Notes and references",
/// "External links", "See also"), exact repeats, page furniture ("Click here", "Subscribe
/// to…", copyright lines) and short labels without a full stop; in an article too long to
/// narrate whole, near repeats of a chosen sentence and weak filler sentences are skipped too.
///
/// Errors: `BadInput` when the options are invalid or the article has no sentence to narrate.
pub fn summarize(article: &Article, opts: &ScriptOptions) -> Result<Script, VidflowError> {
    opts.validate()?;
    let blocks = blocks_of(article);
    let candidates = candidates_of(&blocks);
    if candidates.is_empty() {
        let name = if article.title.trim().is_empty() {
            "the article".to_string()
        } else {
            format!("article \"{}\"", article.title.trim())
        };
        return Err(VidflowError::bad_input(format!(
            "{name} has no readable sentences to narrate"
        )));
    }
    let inputs: Vec<RankInput<'_>> = candidates
        .iter()
        .map(|c| RankInput {
            text: &c.text,
            words: c.words,
            opens_paragraph: c.opens_paragraph,
        })
        .collect();
    let ranking = rank(&inputs);
    let scores = &ranking.scores;

    let budget = opts.word_budget();
    let (title, intro) = title_and_intro(article, &blocks, &candidates);
    // The intro is dropped when it would eat more than a third of a tiny budget.
    let intro = intro.filter(|i| count_words(i) * 3 <= budget);
    let remaining = budget - intro.as_deref().map_or(0, count_words);

    let picks = select(&candidates, &ranking, remaining);
    let groups = group(&picks, &candidates, opts);
    let images = assign_images(article, &picks, &candidates, &groups);

    let segments = groups
        .iter()
        .enumerate()
        .map(|(g, range)| {
            let members = &picks[range.clone()];
            let mut narration = members
                .iter()
                .map(|p| p.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            if let (0, Some(intro)) = (g, &intro) {
                narration = format!("{intro} {narration}");
            }
            let best = members
                .iter()
                .max_by(|a, b| {
                    scores[a.candidate]
                        .total_cmp(&scores[b.candidate])
                        // On a tie the earlier sentence wins.
                        .then(b.candidate.cmp(&a.candidate))
                })
                .expect("groups are never empty");
            Segment {
                narration,
                heading: candidates[members[0].candidate].heading.clone(),
                key_sentence: trim_to_words(&best.text, KEY_SENTENCE_MAX_WORDS, "…"),
                image: images[g],
            }
        })
        .collect();
    Ok(Script { title, segments })
}

/// The article's blocks; when the extractor gave no paragraphs, the text split at blank lines.
fn blocks_of(article: &Article) -> Vec<Block> {
    if !article.paragraphs.is_empty() {
        return article
            .paragraphs
            .iter()
            .map(|p| Block {
                text: p.text.clone(),
                heading: p
                    .heading
                    .as_deref()
                    .map(clean_for_display)
                    .filter(|h| !h.is_empty()),
                is_heading: p.is_heading,
            })
            .collect();
    }
    article
        .text
        .split("\n\n")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| Block {
            text: t.to_string(),
            heading: None,
            is_heading: false,
        })
        .collect()
}

fn candidates_of(blocks: &[Block]) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut section = 0usize;
    let mut last_heading: Option<Option<&str>> = None;
    let mut seen: HashSet<String> = HashSet::new();
    for (paragraph, block) in blocks.iter().enumerate() {
        if block.is_heading {
            section += 1;
            last_heading = None;
            continue;
        }
        let heading = block.heading.as_deref();
        match last_heading {
            Some(h) if h != heading => section += 1,
            _ => {}
        }
        last_heading = Some(heading);
        if heading.is_some_and(is_apparatus) {
            continue;
        }
        if COPYRIGHT.is_match(&block.text) && count_words(&block.text) <= COPYRIGHT_LINE_MAX_WORDS {
            continue;
        }
        let cleaned = clean_for_speech(&block.text);
        let mut first = true;
        for sentence in split_sentences(&cleaned) {
            let words = count_words(&sentence);
            if words == 0
                || !sentence.chars().any(char::is_alphabetic)
                || BOILERPLATE.is_match(&sentence)
            {
                continue;
            }
            let finished = sentence.ends_with(SENTENCE_ENDINGS);
            // A short line without a full stop is a label ("Photo", "Credit", "Share"),
            // not prose.
            if !finished && words < LABEL_MAX_WORDS {
                continue;
            }
            // Every narrated sentence ends with a stop, so the voice pauses between them.
            let sentence = if finished {
                sentence
            } else {
                format!(
                    "{}.",
                    sentence.trim_end_matches([',', ';', ':', '-', '–', '—'])
                )
            };
            // The same sentence twice (a repeated pull quote, a citation list) is said once.
            let fingerprint: String = sentence
                .chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect();
            if !seen.insert(fingerprint) {
                continue;
            }
            out.push(Candidate {
                text: sentence,
                words,
                paragraph,
                section,
                heading: block.heading.clone(),
                opens_paragraph: first,
            });
            first = false;
        }
    }
    out
}

/// The script's title and the spoken intro ("<title>."), if the article has a title.
fn title_and_intro(
    article: &Article,
    blocks: &[Block],
    candidates: &[Candidate],
) -> (String, Option<String>) {
    // The site's name, glued to some pages' titles, is shown beside the title and never
    // narrated.
    let title = article.short_title();
    let title = if title.is_empty() {
        blocks
            .iter()
            .find(|b| b.is_heading)
            .map(|b| clean_for_display(&b.text))
            .unwrap_or_default()
    } else {
        title
    };
    if title.is_empty() {
        // Nothing to introduce; the slides show the opening words instead.
        return (trim_to_words(&candidates[0].text, 8, "…"), None);
    }
    let spoken = clean_for_speech(&title);
    let spoken = spoken.trim_end_matches([',', ';', ':', '-', '–', '—', ' ']);
    let intro = if spoken.is_empty() {
        None
    } else if spoken.ends_with(['.', '!', '?', '…']) {
        Some(spoken.to_string())
    } else {
        Some(format!("{spoken}."))
    };
    (title, intro)
}

/// Picks the best sentences that fit `budget` words, returned in page order.
fn select(candidates: &[Candidate], ranking: &Ranking, budget: usize) -> Vec<Pick> {
    let scores = &ranking.scores;
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let total: usize = candidates.iter().map(|c| c.words).sum();
    // A short article is narrated whole; a long one only from its better sentences, and
    // without near repeats.
    let fits_whole = total <= budget;
    let floor = if fits_whole {
        f64::NEG_INFINITY
    } else {
        scores[order[0]] * FILLER_MIN_SCORE
    };
    let mut left = budget;
    let mut chosen: Vec<usize> = Vec::new();
    for &i in &order {
        if scores[i] < floor {
            break;
        }
        // A sentence that mostly repeats one already chosen adds time, not information.
        let repeats = !fits_whole
            && chosen
                .iter()
                .any(|&c| ranking.similarity(i, c) >= REDUNDANT_SIMILARITY);
        if candidates[i].words <= left && !repeats {
            chosen.push(i);
            left -= candidates[i].words;
            if left == 0 {
                break;
            }
        }
    }
    if chosen.is_empty() {
        // Not even one sentence fits: the best one, cut at a word boundary.
        let best = order[0];
        return vec![Pick {
            candidate: best,
            text: trim_to_words(&candidates[best].text, budget, "."),
        }];
    }
    chosen.sort_unstable();
    chosen
        .into_iter()
        .map(|i| Pick {
            candidate: i,
            text: candidates[i].text.clone(),
        })
        .collect()
}

/// Groups the picks (in page order) into contiguous segments.
fn group(picks: &[Pick], candidates: &[Candidate], opts: &ScriptOptions) -> Vec<Range<usize>> {
    let section = |p: usize| candidates[picks[p].candidate].section;
    let paragraph = |p: usize| candidates[picks[p].candidate].paragraph;

    // 1. Runs of picks from the same section, each cut into balanced groups of about three
    //    sentences (never more than four).
    let mut groups: Vec<Range<usize>> = Vec::new();
    let mut start = 0;
    for end in 1..=picks.len() {
        if end == picks.len() || section(end) != section(start) {
            let len = end - start;
            let count = ((len as f64 / 3.0).round() as usize)
                .max(len.div_ceil(4))
                .max(1);
            let (base, extra) = (len / count, len % count);
            let mut at = start;
            for k in 0..count {
                let size = base + usize::from(k < extra);
                groups.push(at..at + size);
                at += size;
            }
            start = end;
        }
    }
    let same_section = |a: &Range<usize>, b: &Range<usize>| section(a.start) == section(b.start);

    // 2. Lone sentences join a neighbour (preferably one in the same section) while that
    //    keeps groups at four sentences or fewer and enough groups remain.
    while groups.len() > opts.min_segments {
        let mut best: Option<(usize, (bool, usize, usize))> = None;
        for i in 0..groups.len() {
            if groups[i].len() != 1 {
                continue;
            }
            for j in [i.wrapping_sub(1), i + 1] {
                if j >= groups.len() || groups[j].len() + 1 > 4 {
                    continue;
                }
                let cost = (
                    !same_section(&groups[i], &groups[j]),
                    groups[j].len(),
                    i.min(j),
                );
                if best.is_none_or(|(_, c)| cost < c) {
                    best = Some((i.min(j), cost));
                }
            }
        }
        let Some((left, _)) = best else { break };
        let merged = groups[left].start..groups[left + 1].end;
        groups.splice(left..left + 2, [merged]);
    }

    // 3. Too many groups: merge the smallest adjacent pair, within a section if possible.
    while groups.len() > opts.max_segments {
        let left = (0..groups.len() - 1)
            .min_by_key(|&i| {
                (
                    groups[i].len() + groups[i + 1].len(),
                    !same_section(&groups[i], &groups[i + 1]),
                    i,
                )
            })
            .expect("more than one group");
        let merged = groups[left].start..groups[left + 1].end;
        groups.splice(left..left + 2, [merged]);
    }

    // 4. Too few groups: split the largest, at the paragraph break nearest its middle.
    while groups.len() < opts.min_segments {
        let Some(i) = (0..groups.len())
            .filter(|&i| groups[i].len() >= 2)
            .max_by_key(|&i| (groups[i].len(), std::cmp::Reverse(i)))
        else {
            break;
        };
        let g = groups[i].clone();
        let middle = g.start + g.len().div_ceil(2);
        let cut = (g.start + 1..g.end)
            .min_by_key(|&c| {
                let at_break = paragraph(c) != paragraph(c - 1);
                (!at_break, c.abs_diff(middle), c)
            })
            .expect("group has two or more picks");
        groups.splice(i..i + 1, [g.start..cut, cut..g.end]);
    }
    groups
}

/// The image for each group: every image goes to at most one group, nearest pairs first,
/// and only to a group that narrates the image's own section (a picture beside words about
/// something else is worse than none). The first group is the title card, which shows none.
fn assign_images(
    article: &Article,
    picks: &[Pick],
    candidates: &[Candidate],
    groups: &[Range<usize>],
) -> Vec<Option<usize>> {
    let spans: Vec<(usize, usize)> = groups
        .iter()
        .map(|g| {
            let paragraphs = picks[g.clone()]
                .iter()
                .map(|p| candidates[p.candidate].paragraph);
            let lo = paragraphs.clone().min().expect("groups are never empty");
            let hi = paragraphs.max().expect("groups are never empty");
            (lo, hi)
        })
        .collect();
    // The section of a paragraph: that of the nearest candidate at or before it.
    let section_of = |paragraph: usize| {
        candidates
            .iter()
            .filter(|c| c.paragraph <= paragraph)
            .max_by_key(|c| c.paragraph)
            .map(|c| c.section)
    };
    let group_sections: Vec<Vec<usize>> = groups
        .iter()
        .map(|g| {
            picks[g.clone()]
                .iter()
                .map(|p| candidates[p.candidate].section)
                .collect()
        })
        .collect();
    let mut pairs: Vec<(usize, usize, usize)> = Vec::new();
    for (k, image) in article.images.iter().enumerate() {
        if image.url.trim().is_empty() {
            continue;
        }
        let at = image.near_paragraph;
        let image_section = section_of(at);
        for (g, &(lo, hi)) in spans.iter().enumerate() {
            if g == 0 || !image_section.is_some_and(|s| group_sections[g].contains(&s)) {
                continue;
            }
            let distance = if at < lo {
                lo - at
            } else {
                at.saturating_sub(hi)
            };
            pairs.push((distance, g, k));
        }
    }
    pairs.sort_unstable();
    let mut chosen = vec![None; groups.len()];
    let mut used = vec![false; article.images.len()];
    for (_, g, k) in pairs {
        if chosen[g].is_none() && !used[k] {
            chosen[g] = Some(k);
            used[k] = true;
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use vidflow_core::{ArticleImage, ErrorKind, Paragraph};

    fn para(text: &str, heading: Option<&str>) -> Paragraph {
        Paragraph {
            text: text.into(),
            heading: heading.map(Into::into),
            is_heading: false,
        }
    }

    #[test]
    fn boilerplate_is_never_narrated() {
        let article = Article {
            title: "Bees".into(),
            paragraphs: vec![
                para("Bees pollinate a third of the crops people eat.", None),
                para("Click here to subscribe to our newsletter.", None),
                para("© 2024 Bee News. All rights reserved.", None),
            ],
            ..Article::default()
        };
        let script = summarize(&article, &ScriptOptions::default()).unwrap();
        assert_eq!(
            script.narration(),
            "Bees. Bees pollinate a third of the crops people eat."
        );
    }

    #[test]
    fn site_name_in_the_title_is_not_narrated() {
        let article = Article {
            title: "Bees | Bee News".into(),
            site_name: Some("Bee News".into()),
            paragraphs: vec![para(
                "Bees pollinate a third of the crops people eat.",
                None,
            )],
            ..Article::default()
        };
        let script = summarize(&article, &ScriptOptions::default()).unwrap();
        assert_eq!(script.title, "Bees");
        assert!(script.narration().starts_with("Bees. Bees pollinate"));
    }

    #[test]
    fn reference_sections_and_repeats_are_not_narrated() {
        assert!(is_apparatus("Notes and references"));
        assert!(is_apparatus("External links"));
        assert!(is_apparatus("See also"));
        assert!(!is_apparatus("Sources of energy"));
        assert!(!is_apparatus("The"));
        let article = Article {
            title: "Kiwi".into(),
            paragraphs: vec![
                para(
                    "The kiwi is a flightless bird found only in New Zealand.",
                    None,
                ),
                para("Kiwi lay very large eggs for their size.", Some("Eggs")),
                para(
                    "The kiwi is a flightless bird found only in New Zealand!",
                    Some("Eggs"),
                ),
                para(
                    "Smith, J. (2001). Birds of New Zealand. Retrieved 5 May 2012.",
                    Some("References"),
                ),
            ],
            ..Article::default()
        };
        let script = summarize(&article, &ScriptOptions::default()).unwrap();
        assert_eq!(
            script.narration(),
            "Kiwi. The kiwi is a flightless bird found only in New Zealand. \
             Kiwi lay very large eggs for their size."
        );
    }

    #[test]
    fn text_without_paragraphs_is_split_at_blank_lines() {
        let article = Article {
            title: String::new(),
            text: "First block has a sentence.\n\nSecond block has another one.".into(),
            ..Article::default()
        };
        let script = summarize(&article, &ScriptOptions::default()).unwrap();
        assert_eq!(script.title, "First block has a sentence.");
        assert_eq!(
            script.narration(),
            "First block has a sentence. Second block has another one."
        );
        assert_eq!(script.segments.len(), 2);
    }

    #[test]
    fn empty_article_is_bad_input() {
        let article = Article {
            title: "Nothing here".into(),
            paragraphs: vec![para("→ • ©", None)],
            ..Article::default()
        };
        let err = summarize(&article, &ScriptOptions::default()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadInput);
        assert_eq!(
            err.message,
            "article \"Nothing here\" has no readable sentences to narrate"
        );
    }

    #[test]
    fn a_sentence_longer_than_the_budget_is_cut_to_fit() {
        let long = format!("{} end.", "word ".repeat(80));
        let article = Article {
            title: "A very long title that takes many words".into(),
            paragraphs: vec![para(&long, None)],
            ..Article::default()
        };
        let opts = ScriptOptions {
            max_seconds: 10.0,
            ..ScriptOptions::default()
        };
        let script = summarize(&article, &opts).unwrap();
        let narration = script.narration();
        assert_eq!(count_words(&narration), opts.word_budget());
        // 26 words of budget: an 8-word intro fits within a third of it.
        assert!(narration.starts_with("A very long title that takes many words. word word"));
        assert!(narration.ends_with("word."));
    }

    #[test]
    fn images_go_to_their_nearest_segment_once() {
        let mut paragraphs = Vec::new();
        for s in 0..4 {
            let h = format!("Part {s}");
            paragraphs.push(Paragraph {
                text: h.clone(),
                heading: None,
                is_heading: true,
            });
            for k in 0..3 {
                paragraphs.push(para(
                    &format!(
                        "Section {s} paragraph {k} talks about topic {s} in plain words. It adds a second thought on topic {s}."
                    ),
                    Some(&h),
                ));
            }
        }
        let images = vec![
            ArticleImage {
                url: "https://example.org/a.png".into(),
                alt: None,
                near_paragraph: 9,
            },
            ArticleImage {
                url: "https://example.org/b.png".into(),
                alt: None,
                near_paragraph: 9,
            },
        ];
        let article = Article {
            title: "Parts".into(),
            paragraphs,
            images,
            ..Article::default()
        };
        let opts = ScriptOptions {
            max_seconds: 600.0,
            ..ScriptOptions::default()
        };
        let script = summarize(&article, &opts).unwrap();
        let with_images: Vec<_> = script.segments.iter().filter_map(|s| s.image).collect();
        // One segment narrates part 2, so only one of its two images is shown.
        assert_eq!(with_images, vec![0]);
        // Paragraph 9 is in part 2; the first image goes to the segment that holds it.
        let holder = script.segments.iter().find(|s| s.image == Some(0)).unwrap();
        assert_eq!(holder.heading.as_deref(), Some("Part 2"));
    }
}
