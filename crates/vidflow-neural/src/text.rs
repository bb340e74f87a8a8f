//! Splitting written text into sentences and clauses the way Piper phonemises it.
//!
//! Piper gives espeak-ng a whole text and lets it find the clauses; the punctuation that ends
//! each clause (which espeak-ng drops from its phonemes) is put back, because the voice was
//! trained with it and pauses and intones by it. Here the text is split into clauses by
//! vidflow itself, at whitespace after a word ending in `, . ; : ! ?`, so that every written
//! word belongs to exactly one clause and its time can be found inside that clause.

/// Longest run of words spoken in one go: a text without sentence punctuation is cut into
/// pieces of this many words, so that one model run (whose memory grows with its audio) stays
/// bounded however long the text is.
pub(crate) const MAX_SENTENCE_WORDS: usize = 60;

/// The punctuation that ends a clause, as Piper writes it back into the phonemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Terminator {
    Period,
    Question,
    Exclamation,
    Comma,
    Colon,
    Semicolon,
}

impl Terminator {
    /// The phonemes Piper appends for this terminator: sentence ends as they are, clause
    /// breaks followed by a space.
    pub(crate) fn phonemes(self) -> &'static str {
        match self {
            Terminator::Period => ".",
            Terminator::Question => "?",
            Terminator::Exclamation => "!",
            Terminator::Comma => ", ",
            Terminator::Colon => ": ",
            Terminator::Semicolon => "; ",
        }
    }

    fn ends_sentence(self) -> bool {
        matches!(
            self,
            Terminator::Period | Terminator::Question | Terminator::Exclamation
        )
    }

    /// The terminator a written word ends with, looking past closing quotes and brackets
    /// (`world."` ends a sentence).
    fn of_word(word: &str) -> Option<Terminator> {
        let last = word
            .chars()
            .rev()
            .find(|c| !matches!(c, '"' | '\'' | ')' | ']' | '}' | '»' | '”' | '’'))?;
        Some(match last {
            '.' | '…' => Terminator::Period,
            '?' => Terminator::Question,
            '!' => Terminator::Exclamation,
            ',' => Terminator::Comma,
            ':' => Terminator::Colon,
            ';' => Terminator::Semicolon,
            _ => return None,
        })
    }
}

/// Consecutive written words that espeak-ng phonemises together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Clause<'a> {
    /// The words as written, punctuation kept.
    pub words: Vec<&'a str>,
    /// The punctuation that ends it, if any.
    pub terminator: Option<Terminator>,
}

impl Clause<'_> {
    /// The clause as written, words joined by single spaces.
    pub(crate) fn text(&self) -> String {
        self.words.join(" ")
    }

    /// Whether it has anything a phonemiser must say: a letter or a digit. A clause of a lone
    /// dash has none, and is rightly silent.
    pub(crate) fn has_speech(&self) -> bool {
        self.words
            .iter()
            .any(|word| word.chars().any(char::is_alphanumeric))
    }
}

/// The text's whitespace-separated words as sentences of clauses, every word in exactly one
/// clause, in order.
pub(crate) fn sentences(text: &str) -> Vec<Vec<Clause<'_>>> {
    let mut sentences = Vec::new();
    let mut sentence: Vec<Clause<'_>> = Vec::new();
    let mut words: Vec<&str> = Vec::new();
    let mut sentence_words = 0;
    for word in text.split_whitespace() {
        words.push(word);
        sentence_words += 1;
        let terminator = Terminator::of_word(word);
        let too_long = sentence_words >= MAX_SENTENCE_WORDS;
        if terminator.is_some() || too_long {
            sentence.push(Clause {
                words: std::mem::take(&mut words),
                terminator,
            });
            if too_long || terminator.is_some_and(Terminator::ends_sentence) {
                sentences.push(std::mem::take(&mut sentence));
                sentence_words = 0;
            }
        }
    }
    if !words.is_empty() {
        sentence.push(Clause {
            words,
            terminator: None,
        });
    }
    if !sentence.is_empty() {
        sentences.push(sentence);
    }
    sentences
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Vec<Vec<(String, Option<Terminator>)>> {
        sentences(text)
            .into_iter()
            .map(|s| s.into_iter().map(|c| (c.text(), c.terminator)).collect())
            .collect()
    }

    #[test]
    fn clauses_end_at_punctuation_and_sentences_at_full_stops() {
        use Terminator::*;
        assert_eq!(
            shape("Hello world, this is it. Is it? \"Yes!\" it said"),
            vec![
                vec![
                    ("Hello world,".into(), Some(Comma)),
                    ("this is it.".into(), Some(Period))
                ],
                vec![("Is it?".into(), Some(Question))],
                vec![("\"Yes!\"".into(), Some(Exclamation))],
                vec![("it said".into(), None)],
            ]
        );
    }

    #[test]
    fn punctuation_inside_a_word_does_not_split() {
        assert_eq!(
            shape("It costs 3.5 dollars; e.g.fine"),
            vec![vec![
                ("It costs 3.5 dollars;".into(), Some(Terminator::Semicolon)),
                ("e.g.fine".into(), None),
            ]]
        );
    }

    #[test]
    fn every_word_lands_in_one_clause_and_long_runs_are_cut() {
        let text = "word ".repeat(MAX_SENTENCE_WORDS * 2 + 5);
        let sentences = sentences(&text);
        assert_eq!(sentences.len(), 3);
        let count: usize = sentences
            .iter()
            .flatten()
            .map(|clause| clause.words.len())
            .sum();
        assert_eq!(count, MAX_SENTENCE_WORDS * 2 + 5);
        assert!(shape(" \n\t ").is_empty());
    }

    #[test]
    fn a_clause_without_letters_or_digits_is_silent() {
        let dash = Clause {
            words: vec!["—"],
            terminator: None,
        };
        assert!(!dash.has_speech());
        let sum = Clause {
            words: vec!["$5"],
            terminator: None,
        };
        assert!(sum.has_speech());
    }
}
