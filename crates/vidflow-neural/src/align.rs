//! From the model's per-symbol durations to phones, and from phones back to written words.
//!
//! Piper's phoneme string has one symbol per code point, and some symbols are not phones:
//! stress marks (`ˈ ˌ`) come before the vowel they stress, length marks and diacritics
//! (`ː`, combining marks, `ʰ`) after the phone they modify, and spaces and punctuation are
//! pauses. Each symbol gets its own duration from the model; a phone here is a base symbol with
//! its modifiers, timed from the first of them to the last. The space between two words is
//! no pause: its time goes to the phone before it (see [`Role::Space`]).
//!
//! Words: espeak-ng phonemises a clause as a whole, and its words are not always the text's
//! words. It merges some ("than a" is the single word `ðˌænɚ`) and expands others ("1990" is
//! two). So each written word is also phonemised on its own, and the clause's phones are
//! aligned to the concatenation of those (edit distance, each phone compared by name). Every
//! phone of the clause then belongs to one written word, in order; a word's time runs from its
//! first phone's start to its last phone's end. Where espeak-ng merged words, the merged word's
//! phones are divided where the alignment puts the boundary (`ðˌæn` for "than", `ɚ` for "a"),
//! which is an estimate inside that one word, not a measurement; a written word that gets no
//! phone at all (a lone dash) is given a zero-length time where it stands.

/// The phone name used for silence and punctuation, as Flite names it, so that the rest of the
/// pipeline treats both engines' pauses alike.
pub const PAUSE: &str = "pau";

/// A phone with its span in samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    /// The phone, or [`PAUSE`].
    pub name: String,
    pub start: usize,
    pub end: usize,
    /// Which clause of the sentence it belongs to (`None` for pauses outside any clause).
    pub clause: Option<usize>,
}

impl Segment {
    pub(crate) fn is_pause(&self) -> bool {
        self.name == PAUSE
    }
}

/// What role a phoneme symbol plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A phone of its own.
    Base,
    /// Modifies the phone after it (stress).
    Prefix,
    /// Modifies the phone before it (length, diacritics, tone digits).
    Suffix,
    /// A word boundary inside a clause. The model gives it a duration of its own, but the
    /// audio there is as often the voiced glide from one word into the next as a silence, so
    /// its time stays with the phone before it: the mouth holds its shape rather than closing
    /// between every two words. After a pause it is part of the pause.
    Space,
    /// Silence: punctuation, Piper's sentence start and end.
    Pause,
}

fn role(symbol: char) -> Role {
    match symbol {
        'ˈ' | 'ˌ' => Role::Prefix,
        'ː' | 'ˑ' | 'ʰ' | 'ʲ' | 'ʷ' | '˞' | 'ˤ' | '0'..='9' | '\u{0300}'..='\u{036f}' => {
            Role::Suffix
        }
        ' ' => Role::Space,
        '↓' => Role::Pause,
        c if c.is_whitespace() || (c.is_ascii() && !c.is_ascii_alphanumeric()) => Role::Pause,
        _ => Role::Base,
    }
}

/// Groups timed symbols (`(symbol, start, end, clause)`, contiguous in time) into phones and
/// pauses; consecutive pauses become one.
pub(crate) fn segments(symbols: &[(char, usize, usize, Option<usize>)]) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    // A stress mark waiting for the phone it stresses: where it started.
    let mut pending: Option<usize> = None;
    for &(symbol, start, end, clause) in symbols {
        match role(symbol) {
            Role::Prefix => {
                pending.get_or_insert(start);
            }
            Role::Suffix if out.last().is_some_and(|s| !s.is_pause()) && pending.is_none() => {
                let last = out.last_mut().expect("checked above");
                last.name.push(symbol);
                last.end = end;
            }
            Role::Space if out.last().is_some_and(|s| !s.is_pause()) && pending.is_none() => {
                out.last_mut().expect("checked above").end = end;
            }
            Role::Space | Role::Pause => {
                if let Some(at) = pending.take() {
                    // A stress mark before a pause stresses nothing; its time is silence.
                    push_pause(&mut out, at, start);
                }
                push_pause(&mut out, start, end);
            }
            Role::Base | Role::Suffix => out.push(Segment {
                name: symbol.to_string(),
                start: pending.take().unwrap_or(start),
                end,
                clause,
            }),
        }
    }
    if let (Some(at), Some(last)) = (pending, out.last()) {
        let end = last.end.max(at);
        push_pause(&mut out, at, end);
    }
    out
}

fn push_pause(out: &mut Vec<Segment>, start: usize, end: usize) {
    if let Some(last) = out.last_mut().filter(|s| s.is_pause()) {
        last.end = end;
        return;
    }
    out.push(Segment {
        name: PAUSE.to_string(),
        start,
        end,
        clause: None,
    });
}

/// The phone names of an IPA string, without stress or pauses: what alignment compares.
pub(crate) fn phone_names(ipa: &str) -> Vec<String> {
    let symbols: Vec<(char, usize, usize, Option<usize>)> =
        ipa.chars().map(|c| (c, 0, 0, None)).collect();
    segments(&symbols)
        .into_iter()
        .filter(|s| !s.is_pause())
        .map(|s| s.name)
        .collect()
}

/// Which of `words` (each given as its own phone names) each of `spoken` (the clause's phone
/// names) belongs to: a word index per phone, never decreasing. `None` only when there are no
/// words.
pub(crate) fn assign(spoken: &[&str], words: &[Vec<String>]) -> Vec<Option<usize>> {
    let reference: Vec<(usize, &str)> = words
        .iter()
        .enumerate()
        .flat_map(|(w, names)| names.iter().map(move |n| (w, n.as_str())))
        .collect();
    let (n, m) = (reference.len(), spoken.len());
    // Edit distance table: cost[i][j] aligns the first i reference phones with the first j
    // spoken phones.
    let width = m + 1;
    let mut cost = vec![0u32; (n + 1) * width];
    for i in 0..=n {
        for j in 0..=m {
            cost[i * width + j] = match (i, j) {
                (0, j) => j as u32,
                (i, 0) => i as u32,
                (i, j) => {
                    let same = reference[i - 1].1 == spoken[j - 1];
                    let diagonal = cost[(i - 1) * width + j - 1] + u32::from(!same);
                    let up = cost[(i - 1) * width + j] + 1;
                    let left = cost[i * width + j - 1] + 1;
                    diagonal.min(up).min(left)
                }
            };
        }
    }
    let mut owner: Vec<Option<usize>> = vec![None; m];
    let (mut i, mut j) = (n, m);
    while i > 0 && j > 0 {
        let here = cost[i * width + j];
        let same = reference[i - 1].1 == spoken[j - 1];
        if here == cost[(i - 1) * width + j - 1] + u32::from(!same) {
            owner[j - 1] = Some(reference[i - 1].0);
            i -= 1;
            j -= 1;
        } else if here == cost[(i - 1) * width + j] + 1 {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    // A spoken phone no written phone matched belongs with the word before it, or, at the
    // start of the clause, the word after it.
    let mut previous = None;
    for slot in owner.iter_mut() {
        match slot {
            Some(word) => previous = Some(*word),
            None => *slot = previous,
        }
    }
    let first = owner
        .iter()
        .flatten()
        .next()
        .copied()
        .or(if words.is_empty() { None } else { Some(0) });
    for slot in owner.iter_mut() {
        if slot.is_none() {
            *slot = first;
        }
    }
    owner
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(segments: &[Segment]) -> Vec<&str> {
        segments.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn modifiers_join_their_phone_and_pauses_merge() {
        // "^ _ t ˈ ɛ s t ." with each symbol 10 samples long.
        let symbols: Vec<_> = "^_tˈɛːst. $"
            .chars()
            .enumerate()
            .map(|(i, c)| (c, i * 10, i * 10 + 10, Some(0)))
            .collect();
        let segments = segments(&symbols);
        assert_eq!(names(&segments), ["pau", "t", "ɛː", "s", "t", "pau"]);
        // The stress mark's time belongs to the vowel it stresses, the length mark's too.
        assert_eq!((segments[2].start, segments[2].end), (30, 60));
        // Gap-free from the first sample to the last.
        assert_eq!(segments[0].start, 0);
        assert_eq!(segments.last().unwrap().end, 110);
        for pair in segments.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
    }

    #[test]
    fn a_space_between_words_stays_with_the_phone_before_it() {
        let symbols: Vec<_> = "^_ab cd, e$"
            .chars()
            .enumerate()
            .map(|(i, c)| (c, i * 10, i * 10 + 10, Some(0)))
            .collect();
        let segments = segments(&symbols);
        assert_eq!(
            names(&segments),
            ["pau", "a", "b", "c", "d", "pau", "e", "pau"]
        );
        // "b" runs on through the space; ", " is one pause.
        assert_eq!((segments[2].start, segments[2].end), (30, 50));
        assert_eq!((segments[5].start, segments[5].end), (70, 90));
    }

    #[test]
    fn merged_words_are_divided_where_the_alignment_puts_the_boundary() {
        // espeak-ng says "better than a robot" as `bˈɛɾɚ ðˌænɚ ɹˈoʊbɑːt`, but each word alone
        // as `bˈɛɾɚ`, `ðˈɐn`, `ˈeɪ`, `ɹˈoʊbɑːt`.
        let spoken = phone_names("bˈɛɾɚ ðˌænɚ ɹˈoʊbɑːt");
        let spoken: Vec<&str> = spoken.iter().map(String::as_str).collect();
        let words: Vec<Vec<String>> = ["bˈɛɾɚ", "ðˈɐn", "ˈeɪ", "ɹˈoʊbɑːt"]
            .iter()
            .map(|w| phone_names(w))
            .collect();
        let owner = assign(&spoken, &words);
        let expect = [0, 0, 0, 0, 1, 1, 1, 2, 3, 3, 3, 3, 3, 3];
        assert_eq!(owner, expect.map(Some));
    }

    #[test]
    fn a_word_spoken_as_several_keeps_them_all() {
        let spoken = phone_names("ɪn nˈaɪntiːn nˈaɪnti");
        let spoken: Vec<&str> = spoken.iter().map(String::as_str).collect();
        let words: Vec<Vec<String>> = ["ˈɪn", "nˈaɪntiːn nˈaɪnti"]
            .iter()
            .map(|w| phone_names(w))
            .collect();
        let owner = assign(&spoken, &words);
        assert_eq!(owner[..2], [Some(0), Some(0)]);
        assert!(owner[2..].iter().all(|o| *o == Some(1)));
    }

    #[test]
    fn owners_never_decrease_even_when_nothing_matches() {
        let spoken = ["a", "b", "c", "d"];
        let words = vec![vec!["x".to_string()], vec![], vec!["y".to_string()]];
        let owner = assign(&spoken, &words);
        assert!(owner.iter().all(Option::is_some));
        assert!(owner.windows(2).all(|p| p[0] <= p[1]), "{owner:?}");
        assert_eq!(assign(&spoken, &[]), vec![None; 4]);
    }
}
