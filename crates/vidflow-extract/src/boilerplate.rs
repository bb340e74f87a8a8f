//! Trimming what Readability keeps around an article but a listener should not hear:
//! lists of links to other articles and the lead-in above them ("See also", "Read more:"),
//! picture captions and credits, the short lines after the last paragraph (tags, "Back",
//! "Share"), and headings left with nothing under them.
//!
//! Readability picks the right container but keeps most of what sits inside it. The rules
//! here judge blocks by their markup (how much of a block is link text, whether it is a list
//! item or heading), not by words in any one language, so they carry across sites and
//! languages. Each was kept only where, on snippet-annotated pages, it removed about three
//! times as much boilerplate as content or more, and it left word F1 on the Readability
//! fixtures above 0.94 on every page (see `vidflow bench snippets`).

use serde::Serialize;

use crate::blocks::{BlockTraits, Blocks};

/// A block counts as a link when at least this share of its characters are link text.
const LINKED: f32 = 0.8;

/// Lead-ins above a link list ("See also", "Read more:") are at most this many words.
const LEAD_IN_WORDS: usize = 6;

/// Blocks after the article's last sentence of substance that are at most this many words
/// ("Back", "Share", "Tags", a date) are its footer.
const TAIL_WORDS: usize = 3;

/// A block of substance: more words than this and mostly not links.
const SUBSTANCE_WORDS: usize = 8;

/// Why a block was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrimRule {
    /// A block that is all (80%+) link text: a list of other articles, a "read more" line.
    Links,
    /// A short block that leads into dropped links.
    LeadIn,
    /// A figure caption: photo credits and descriptions of a picture the viewer does not see
    /// as it was printed.
    Caption,
    /// A short or link-heavy block after the last block of substance.
    Tail,
    /// A heading whose section is empty once the rest is dropped.
    EmptySection,
}

impl TrimRule {
    /// Every rule, in the order [`trim`] reports them.
    pub const ALL: [TrimRule; 5] = [
        TrimRule::Links,
        TrimRule::LeadIn,
        TrimRule::Caption,
        TrimRule::Tail,
        TrimRule::EmptySection,
    ];
}

/// What one rule dropped: from a page, or summed over many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TrimCount {
    /// The rule.
    pub rule: TrimRule,
    /// Blocks it dropped.
    pub blocks: usize,
    /// Words in them.
    pub words: usize,
}

/// Adds `more` to `total`, rule by rule, keeping `total` in [`TrimRule::ALL`] order.
pub fn add_counts(total: &mut Vec<TrimCount>, more: &[TrimCount]) {
    for m in more {
        match total.iter_mut().find(|t| t.rule == m.rule) {
            Some(t) => {
                t.blocks += m.blocks;
                t.words += m.words;
            }
            None => total.push(*m),
        }
    }
    total.sort_by_key(|c| TrimRule::ALL.iter().position(|r| *r == c.rule));
}

/// What [`judge`] knows of one block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockFacts {
    /// From the markup.
    pub traits: BlockTraits,
    /// Words in the block.
    pub words: usize,
    /// The block is a heading.
    pub heading: bool,
    /// The block is a web or e-mail address written out (a reference the article gives,
    /// not a link to another article).
    pub address: bool,
}

/// Whether `text` is one web or e-mail address written out.
fn is_address(text: &str) -> bool {
    let t = text.trim();
    !t.contains(char::is_whitespace)
        && (t.contains("://") || t.starts_with("www.") || (t.contains('@') && t.contains('.')))
}

/// Returns, for each block, the rule that drops it (`None` keeps it). Nothing is dropped
/// from a page without a block of substance: a short page is judged whole, not trimmed away.
pub fn judge(blocks: &[BlockFacts]) -> Vec<Option<TrimRule>> {
    let n = blocks.len();
    let mut verdict = vec![None; n];
    let substance = |b: &BlockFacts| b.words > SUBSTANCE_WORDS && b.traits.link_share < 0.5;
    let Some(last_substance) = blocks.iter().rposition(substance) else {
        return verdict;
    };
    for (i, b) in blocks.iter().enumerate() {
        if b.traits.link_share >= LINKED && !b.address {
            verdict[i] = Some(TrimRule::Links);
            if i > 0 && verdict[i - 1].is_none() && blocks[i - 1].words <= LEAD_IN_WORDS {
                verdict[i - 1] = Some(TrimRule::LeadIn);
            }
        } else if b.traits.caption {
            verdict[i] = Some(TrimRule::Caption);
        }
    }
    for i in last_substance + 1..n {
        let b = &blocks[i];
        if verdict[i].is_none() && (b.words <= TAIL_WORDS || b.traits.link_share >= 0.5) {
            verdict[i] = Some(TrimRule::Tail);
        }
    }
    // From the end: a heading with no kept text before the next heading (or the end).
    let mut section_empty = true;
    for i in (0..n).rev() {
        if verdict[i].is_some() {
            continue;
        }
        if blocks[i].heading {
            if section_empty {
                verdict[i] = Some(TrimRule::EmptySection);
            }
            section_empty = true;
        } else {
            section_empty = false;
        }
    }
    verdict
}

/// Drops the blocks [`judge`] condemns, keeping each image with the nearest block before
/// it that stays. Returns what each rule that fired dropped, in [`TrimRule::ALL`] order.
pub fn trim(blocks: &mut Blocks) -> Vec<TrimCount> {
    let facts: Vec<BlockFacts> = blocks
        .paragraphs
        .iter()
        .zip(&blocks.traits)
        .map(|(p, t)| BlockFacts {
            traits: *t,
            words: crate::count_words(&p.text),
            heading: p.is_heading,
            address: is_address(&p.text),
        })
        .collect();
    let verdict = judge(&facts);
    let counts: Vec<TrimCount> = TrimRule::ALL
        .iter()
        .map(|&rule| {
            let dropped = || {
                verdict
                    .iter()
                    .zip(&facts)
                    .filter(|(v, _)| **v == Some(rule))
            };
            TrimCount {
                rule,
                blocks: dropped().count(),
                words: dropped().map(|(_, f)| f.words).sum(),
            }
        })
        .filter(|c| c.blocks > 0)
        .collect();
    if counts.is_empty() {
        return counts;
    }
    // New index of every old block: the kept block at or before it.
    let mut kept_before = Vec::with_capacity(verdict.len());
    let mut next = 0usize;
    for v in &verdict {
        if v.is_none() {
            next += 1;
        }
        kept_before.push(next.saturating_sub(1));
    }
    let mut keep = verdict.iter().map(Option::is_none);
    blocks.paragraphs.retain(|_| keep.next().unwrap_or(true));
    let mut keep = verdict.iter().map(Option::is_none);
    blocks.traits.retain(|_| keep.next().unwrap_or(true));
    for img in &mut blocks.images {
        img.near_paragraph = kept_before
            .get(img.near_paragraph)
            .copied()
            .unwrap_or(0)
            .min(blocks.paragraphs.len().saturating_sub(1));
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn texts(html: &str) -> Vec<String> {
        let mut b = crate::blocks::content_blocks(html, &Url::parse("https://ex.org/").unwrap());
        trim(&mut b);
        b.paragraphs.into_iter().map(|p| p.text).collect()
    }

    #[test]
    fn trim_says_what_each_rule_dropped() {
        let mut b = crate::blocks::content_blocks(
            r#"<p>The river rose by two metres overnight and the town closed its bridges.</p>
            <p>Read more:</p>
            <ul><li><a href="/a">Floods in the south</a></li><li><a href="/b">How dams work</a></li></ul>
            <p>Engineers expect the water to fall by Sunday and the bridges to open.</p>
            <p>Share</p>"#,
            &Url::parse("https://ex.org/").unwrap(),
        );
        let counts = trim(&mut b);
        let count = |rule| {
            counts
                .iter()
                .find(|c| c.rule == rule)
                .map(|c| (c.blocks, c.words))
        };
        assert_eq!(count(TrimRule::LeadIn), Some((1, 2)));
        assert_eq!(count(TrimRule::Tail), Some((1, 1)));
        let (links, words) = count(TrimRule::Links).expect("the link list went");
        assert!(links >= 1 && words == 7, "{links} blocks, {words} words");
        assert_eq!(count(TrimRule::Caption), None);
        assert_eq!(b.paragraphs.len(), 2);
    }

    #[test]
    fn lists_of_links_and_their_lead_in_go() {
        let got = texts(
            r#"<p>The river rose by two metres overnight and the town closed its bridges.</p>
            <p>Read more:</p>
            <ul><li><a href="/a">Floods in the south</a></li><li><a href="/b">How dams work</a></li></ul>
            <p>Engineers expect the water to fall by Sunday.</p>"#,
        );
        assert_eq!(
            got,
            [
                "The river rose by two metres overnight and the town closed its bridges.",
                "Engineers expect the water to fall by Sunday."
            ]
        );
    }

    #[test]
    fn links_inside_prose_and_lists_of_words_stay() {
        let html = r#"<p>The <a href="/r">report</a> says the river rose by two metres.</p>
            <p><a href="https://example.org/petition">https://example.org/petition</a></p>
            <ul><li>sandbags</li><li>pumps</li></ul>
            <p>A single link: <a href="/x">the full report</a>, with words around it.</p>"#;
        assert_eq!(texts(html).len(), 5);
    }

    #[test]
    fn captions_footers_and_empty_sections_go_but_short_pages_stay_whole() {
        let got = texts(
            r#"<h2>Spring</h2><p>The northern rivers run fast in spring, when the snow melts.</p>
            <figure><img src="r.jpg"><figcaption>Photo: A. Person</figcaption></figure>
            <h2>More from us</h2><p><a href="/x">Other rivers of the north</a></p>
            <p>Tags</p><p>Back</p>"#,
        );
        assert_eq!(
            got,
            [
                "Spring",
                "The northern rivers run fast in spring, when the snow melts."
            ]
        );
        // No block of substance: nothing is judged boilerplate.
        assert_eq!(
            texts("<p>Short.</p><p><a href=\"/a\">A link</a></p>").len(),
            2
        );
    }

    #[test]
    fn images_follow_the_block_before_them_that_stays() {
        let mut b = crate::blocks::content_blocks(
            r#"<p>One two three four five six seven eight nine ten.</p>
            <h3><a href="/a">Other story</a></h3><h3><a href="/b">Another</a></h3>
            <img src="x.jpg"><p>Eleven twelve thirteen fourteen fifteen sixteen seventeen.</p>"#,
            &Url::parse("https://ex.org/").unwrap(),
        );
        trim(&mut b);
        assert_eq!(b.paragraphs.len(), 2);
        assert_eq!(b.images[0].near_paragraph, 0);
    }
}
