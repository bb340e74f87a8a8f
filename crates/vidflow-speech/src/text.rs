//! Written words: splitting text into the tokens subtitles show, cutting long text into chunks
//! Flite speaks one at a time, and matching Flite's tokens back to the written ones.

use std::ops::Range;

use crate::engine::SynthToken;

/// A chunk with fewer tokens than this is never cut at a sentence end: each Flite utterance
/// begins and ends with a pause, so cutting every sentence would slow the narration down.
const MIN_CHUNK_TOKENS: usize = 40;
/// A chunk never grows past this many tokens, which bounds Flite's working memory however
/// long the text is.
const MAX_CHUNK_TOKENS: usize = 120;
/// How many written tokens ahead a Flite token may be found; beyond that the match is more
/// likely a coincidence (a short word repeated later) than the same word.
const MATCH_WINDOW: usize = 8;

/// The text's words as written: runs of non-whitespace, punctuation kept.
pub(crate) fn written_tokens(text: &str) -> Vec<&str> {
    text.split(char::is_whitespace)
        .filter(|token| !token.is_empty())
        .collect()
}

/// A token as Flite gets it: control characters removed (a NUL would end the C string early,
/// and the others are not speech).
pub(crate) fn flite_form(token: &str) -> String {
    token.chars().filter(|c| !c.is_control()).collect()
}

/// Cuts the tokens into chunks of whole sentences, each at most [`MAX_CHUNK_TOKENS`] long.
pub(crate) fn chunk_ranges(tokens: &[&str]) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    while start < tokens.len() {
        let end = chunk_end(tokens, start);
        ranges.push(start..end);
        start = end;
    }
    ranges
}

/// Where the chunk that starts at `start` ends (exclusive).
fn chunk_end(tokens: &[&str], start: usize) -> usize {
    let limit = (start + MAX_CHUNK_TOKENS).min(tokens.len());
    for i in start..limit {
        let len = i + 1 - start;
        if len >= MIN_CHUNK_TOKENS
            && ends_sentence(tokens[i])
            && tokens.get(i + 1).is_some_and(|next| starts_sentence(next))
        {
            return i + 1;
        }
    }
    if limit == tokens.len() {
        return limit;
    }
    // No sentence ended in time: cut after the last clause (comma, semicolon, colon) if there
    // is one in the second half of the chunk, so the forced pause falls where a reader's would.
    (start + MAX_CHUNK_TOKENS / 2..limit)
        .rev()
        .find(|&i| ends_clause(tokens[i]))
        .map_or(limit, |i| i + 1)
}

/// Closing marks that may follow a sentence's final stop: `end."` or `(see above.)`.
fn trim_closers(token: &str) -> &str {
    token.trim_end_matches(['"', '\'', ')', ']', '}', '\u{201d}', '\u{2019}'])
}

/// Whether the token ends a sentence: a final `.`, `!` or `?` that is not an abbreviation's.
fn ends_sentence(token: &str) -> bool {
    let core = trim_closers(token);
    if core.ends_with(['!', '?']) {
        return true;
    }
    let Some(word) = core.strip_suffix('.') else {
        return false;
    };
    let word = word.trim_start_matches(['"', '\'', '(', '[', '{', '\u{201c}', '\u{2018}']);
    // An initial ("J.") or an abbreviation ("Dr.") changes how the next word is read, so the
    // two must stay in the same utterance.
    let is_initial = word.chars().count() == 1 && word.chars().all(char::is_alphabetic);
    let is_abbreviation = ABBREVIATIONS.contains(&word.to_ascii_lowercase().as_str());
    !word.is_empty() && !is_initial && !is_abbreviation
}

/// Abbreviations usually followed by a capitalised word that is not a new sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "no", "fig", "gen", "col", "sgt",
    "capt", "lt", "rev", "hon", "mt", "ft", "e.g", "i.e", "u.s", "u.k", "inc", "ltd", "co",
];

/// Whether the token ends a clause without ending the sentence.
fn ends_clause(token: &str) -> bool {
    trim_closers(token).ends_with([',', ';', ':'])
}

/// Whether a token can begin a sentence: its first letter or digit is a capital or a digit.
fn starts_sentence(token: &str) -> bool {
    token
        .chars()
        .find(|c| c.is_alphanumeric())
        .is_some_and(|c| c.is_uppercase() || c.is_numeric())
}

/// Matches Flite's tokens to the written ones and returns, for each written token, the span
/// of phones (first, last) it was spoken with, or `None` when Flite did not pronounce it.
///
/// Flite splits on whitespace like [`written_tokens`], but it silently drops tokens made only
/// of opening punctuation (a lone `"` or `(`), so the two lists cannot be paired by position.
/// Instead each Flite token is found in the text Flite was given, a little ahead of where the
/// previous one matched; a token that cannot be found (Flite altered it) goes to the written
/// token at the current position, so its phones still count.
pub(crate) fn align(forms: &[String], spoken: &[SynthToken]) -> Vec<Option<(usize, usize)>> {
    // The text exactly as Flite received it, and where each written token sits in it.
    let mut joined = String::new();
    let mut starts = Vec::with_capacity(forms.len());
    for form in forms {
        if !form.is_empty() && !joined.is_empty() {
            joined.push(' ');
        }
        starts.push(joined.len());
        joined.push_str(form);
    }
    // The written token that holds byte `offset` of `joined` (the last one starting there or
    // before; empty tokens share the start of the next, and the non-empty one wins).
    let token_at = |offset: usize| -> usize {
        let after = starts.partition_point(|&s| s <= offset);
        let mut i = after.saturating_sub(1);
        while i + 1 < forms.len() && forms[i].is_empty() && starts[i + 1] == starts[i] {
            i += 1;
        }
        i
    };

    let mut spans: Vec<Option<(usize, usize)>> = vec![None; forms.len()];
    if forms.is_empty() {
        return spans;
    }
    let mut cursor = 0;
    for token in spoken {
        // The next written token still to be matched: past the space if the cursor is on one.
        let probe = if joined.as_bytes().get(cursor) == Some(&b' ') {
            cursor + 1
        } else {
            cursor
        };
        let here = token_at(probe.min(joined.len().saturating_sub(1)));
        let found = if token.text.is_empty() {
            None
        } else {
            joined[cursor..]
                .find(&token.text)
                .map(|at| cursor + at)
                .filter(|&at| token_at(at) <= here + MATCH_WINDOW)
        };
        let owner = match found {
            Some(at) => {
                cursor = at + token.text.len();
                token_at(at)
            }
            None => here,
        };
        if let Some((first, last)) = token.phones {
            spans[owner] = Some(match spans[owner] {
                None => (first, last),
                Some((a, b)) => (a.min(first), b.max(last)),
            });
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synth(text: &str, phones: Option<(usize, usize)>) -> SynthToken {
        SynthToken {
            text: text.to_string(),
            phones,
        }
    }

    fn forms(text: &str) -> Vec<String> {
        written_tokens(text).into_iter().map(flite_form).collect()
    }

    #[test]
    fn written_tokens_split_on_any_whitespace_and_keep_punctuation() {
        assert_eq!(
            written_tokens("  Hello\u{a0}world,\tthis\n is  \"it\". "),
            ["Hello", "world,", "this", "is", "\"it\"."]
        );
        assert!(written_tokens(" \n\t ").is_empty());
    }

    #[test]
    fn flite_form_drops_control_characters() {
        assert_eq!(flite_form("a\0b\u{7}c"), "abc");
        assert_eq!(flite_form("café"), "café");
    }

    #[test]
    fn short_text_is_one_chunk() {
        let tokens = written_tokens("One. Two. Three.");
        assert_eq!(chunk_ranges(&tokens), vec![0..3]);
    }

    #[test]
    fn long_text_is_cut_at_sentence_ends_within_bounds() {
        let sentence = "The quick brown fox jumps over the lazy dog near the river bank.";
        let text = vec![sentence; 100].join(" ");
        let tokens = written_tokens(&text);
        let ranges = chunk_ranges(&tokens);
        assert!(ranges.len() > 1);
        assert_eq!(ranges.first().unwrap().start, 0);
        assert_eq!(ranges.last().unwrap().end, tokens.len());
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
        for range in &ranges {
            assert!(range.len() <= MAX_CHUNK_TOKENS);
            assert!(tokens[range.end - 1].ends_with("bank."), "{range:?}");
        }
    }

    #[test]
    fn text_without_sentences_is_cut_at_clauses_or_the_limit() {
        let text = vec!["word"; 300].join(" ");
        let tokens = written_tokens(&text);
        let ranges = chunk_ranges(&tokens);
        assert_eq!(ranges, vec![0..120, 120..240, 240..300]);

        let text = vec!["some words here,"; 100].join(" ");
        let tokens = written_tokens(&text);
        for range in chunk_ranges(&tokens) {
            assert!(tokens[range.end - 1].ends_with(','));
        }
    }

    #[test]
    fn abbreviations_and_initials_do_not_end_sentences() {
        assert!(ends_sentence("dog."));
        assert!(ends_sentence("said.\""));
        assert!(ends_sentence("really?"));
        assert!(!ends_sentence("Dr."));
        assert!(!ends_sentence("J."));
        assert!(!ends_sentence("e.g."));
        assert!(!ends_sentence("word"));
        assert!(starts_sentence("\"The"));
        assert!(starts_sentence("1990"));
        assert!(!starts_sentence("the"));
    }

    #[test]
    fn alignment_pairs_equal_tokens() {
        let forms = forms("Hello world, again.");
        let spoken = [
            synth("Hello", Some((1, 4))),
            synth("world,", Some((5, 8))),
            synth("again.", Some((9, 12))),
        ];
        assert_eq!(
            align(&forms, &spoken),
            vec![Some((1, 4)), Some((5, 8)), Some((9, 12))]
        );
    }

    #[test]
    fn alignment_skips_tokens_flite_dropped() {
        // Flite drops a lone opening quote and says nothing for a dash.
        let forms = forms("\" Quoted — dash");
        let spoken = [
            synth("Quoted", Some((1, 6))),
            synth("—", None),
            synth("dash", Some((7, 9))),
        ];
        assert_eq!(
            align(&forms, &spoken),
            vec![None, Some((1, 6)), None, Some((7, 9))]
        );
    }

    #[test]
    fn alignment_gives_split_and_unrecognised_tokens_to_the_current_word() {
        let forms = forms("x-y then odd");
        let spoken = [
            synth("x", Some((1, 3))),
            synth("-y", Some((4, 5))),
            synth("then", Some((6, 8))),
            synth("ODD?", Some((9, 10))),
        ];
        assert_eq!(
            align(&forms, &spoken),
            vec![Some((1, 5)), Some((6, 8)), Some((9, 10))]
        );
    }

    #[test]
    fn alignment_ignores_a_far_coincidental_match() {
        let mut text = String::from("ZZ");
        for _ in 0..20 {
            text.push_str(" filler");
        }
        text.push_str(" zz");
        let forms = forms(&text);
        // Flite renamed the first token; the same text far ahead must not capture it.
        let spoken = [synth("zz", Some((1, 2)))];
        let spans = align(&forms, &spoken);
        assert_eq!(spans[0], Some((1, 2)));
        assert_eq!(spans[21], None);
    }

    #[test]
    fn alignment_survives_empty_forms() {
        let forms = vec!["a".to_string(), String::new(), "b".to_string()];
        let spoken = [synth("a", Some((1, 1))), synth("b", Some((2, 2)))];
        assert_eq!(
            align(&forms, &spoken),
            vec![Some((1, 1)), None, Some((2, 2))]
        );
    }
}
