//! Sentence splitting and word counting for prose.
//!
//! A full stop ends a sentence unless it belongs to an abbreviation ("e.g.", "Dr.", "U.S."),
//! an initial ("J. R. R. Tolkien"), a number ("3.14") or a name ("example.com").

/// Abbreviations that never end a sentence: titles before a name and Latin shorthands that
/// are always followed by more of the same sentence.
const NEVER_FINAL: &[&str] = &[
    "mr", "mrs", "ms", "mx", "dr", "prof", "rev", "hon", "gen", "sen", "rep", "gov", "pres", "lt",
    "col", "capt", "cpt", "sgt", "cmdr", "adm", "maj", "st", "mt", "ft", "e.g", "i.e", "eg", "ie",
    "cf", "viz", "approx", "ca", "vs", "v", "dept", "univ", "assn", "bros",
];

/// Abbreviations that only abbreviate before a number ("No. 5", "Fig. 2", "Jan. 12").
const BEFORE_NUMBER: &[&str] = &[
    "no", "nos", "fig", "figs", "vol", "vols", "pp", "p", "ch", "sec", "art", "ed", "jan", "feb",
    "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "op",
];

/// Abbreviations that may also end a sentence ("... and Apple Inc. The company ...").
const MAY_BE_FINAL: &[&str] = &[
    "etc", "al", "inc", "ltd", "co", "corp", "llc", "plc", "jr", "sr", "esq", "ph.d", "phd",
];

/// Words that commonly open a sentence; after an abbreviation that may end a sentence, one
/// of these means that it did.
const SENTENCE_OPENERS: &[&str] = &[
    "a",
    "after",
    "also",
    "although",
    "an",
    "and",
    "as",
    "at",
    "because",
    "before",
    "but",
    "by",
    "during",
    "each",
    "for",
    "from",
    "he",
    "her",
    "his",
    "how",
    "however",
    "i",
    "if",
    "in",
    "instead",
    "it",
    "its",
    "many",
    "meanwhile",
    "most",
    "my",
    "now",
    "on",
    "one",
    "our",
    "she",
    "since",
    "so",
    "some",
    "still",
    "that",
    "the",
    "their",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "thus",
    "today",
    "until",
    "we",
    "what",
    "when",
    "where",
    "while",
    "who",
    "why",
    "with",
    "yet",
    "you",
];

const TERMINATORS: &[char] = &['.', '!', '?', '…'];
const CLOSERS: &[char] = &['"', '\'', '”', '’', ')', ']', '»', '›'];

/// Splits prose into sentences, trimmed, in order. Newlines count as spaces.
///
/// ```
/// let s = vidflow_script::split_sentences(
///     "Dr. Smith moved to the U.S. in 1999. He paid $3.50, e.g. for coffee. Did it work?",
/// );
/// assert_eq!(s, [
///     "Dr. Smith moved to the U.S. in 1999.",
///     "He paid $3.50, e.g. for coffee.",
///     "Did it work?",
/// ]);
/// ```
pub fn split_sentences(text: &str) -> Vec<String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut sentences = Vec::new();
    let mut start = 0usize; // byte offset of the current sentence
    let mut i = 0usize; // index into `chars`
    while i < chars.len() {
        let (_, c) = chars[i];
        if !TERMINATORS.contains(&c) {
            i += 1;
            continue;
        }
        let first_terminator = i;
        let mut j = i;
        while j < chars.len() && TERMINATORS.contains(&chars[j].1) {
            j += 1;
        }
        let single_full_stop = j - first_terminator == 1 && c == '.';
        while j < chars.len() && CLOSERS.contains(&chars[j].1) {
            j += 1;
        }
        // A boundary needs whitespace (or the end) right after: "3.14", "example.com" and the
        // inner dots of "U.S." are not followed by a space.
        if j < chars.len() && !chars[j].1.is_whitespace() {
            i = j.max(i + 1);
            continue;
        }
        let end_byte = chars.get(j).map_or(text.len(), |&(b, _)| b);
        let next_word = following_word(&text[end_byte..]);
        let ends = match next_word {
            None => true,
            Some(next) => {
                let opens_sentence = next.chars().next().is_some_and(|f| !f.is_lowercase());
                opens_sentence
                    && (!single_full_stop
                        || full_stop_ends_sentence(&text[start..chars[first_terminator].0], next))
            }
        };
        if ends {
            let sentence = text[start..end_byte].trim();
            if !sentence.is_empty() {
                sentences.push(collapse_whitespace(sentence));
            }
            start = end_byte;
        }
        i = j.max(i + 1);
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        sentences.push(collapse_whitespace(rest));
    }
    sentences
}

/// The first whitespace-separated word of `rest`, if any.
fn following_word(rest: &str) -> Option<&str> {
    rest.split_whitespace().next()
}

/// Decides whether a single full stop after `before` (the sentence so far, without the
/// stop) ends the sentence, given the word that follows it.
fn full_stop_ends_sentence(before: &str, next: &str) -> bool {
    let token = before
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or("")
        .trim_start_matches(|c: char| !c.is_alphanumeric());
    let lower = token.to_lowercase();
    let next_lower: String = next
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '\'')
        .collect::<String>()
        .to_lowercase();
    let next_is_number = next
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .starts_with(|c: char| c.is_ascii_digit());

    if NEVER_FINAL.contains(&lower.as_str()) {
        return false;
    }
    if BEFORE_NUMBER.contains(&lower.as_str()) && next_is_number {
        return false;
    }
    // A lone capital is an initial ("John F. Kennedy").
    let mut letters = token.chars();
    if matches!((letters.next(), letters.next()), (Some(only), None) if only.is_uppercase()) {
        return false;
    }
    // Dotted acronyms ("U.S", "a.m") and company or list endings may close a sentence; they
    // do when a typical sentence opener follows.
    if MAY_BE_FINAL.contains(&lower.as_str()) || is_dotted_acronym(&lower) {
        return SENTENCE_OPENERS.contains(&next_lower.as_str());
    }
    true
}

/// "u.s", "a.m", "p.h.d" (the final dot already removed).
fn is_dotted_acronym(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() >= 2
        && parts
            .iter()
            .all(|p| (1..=2).contains(&p.chars().count()) && p.chars().all(char::is_alphabetic))
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Counts spoken words: whitespace-separated tokens that hold a letter or a digit.
///
/// ```
/// assert_eq!(vidflow_script::count_words("Hello, world — it's 2024!"), 4);
/// ```
pub fn count_words(text: &str) -> usize {
    text.split_whitespace().filter(|w| is_word(w)).count()
}

fn is_word(token: &str) -> bool {
    token.chars().any(char::is_alphanumeric)
}

/// Keeps at most `max_words` words of `text`, cut at a word boundary. When something was
/// cut, trailing punctuation is dropped and `ending` is appended (e.g. "…" or ".").
///
/// ```
/// use vidflow_script::trim_to_words;
/// assert_eq!(trim_to_words("one two, three four", 2, "…"), "one two…");
/// assert_eq!(trim_to_words("one two", 2, "…"), "one two");
/// ```
pub fn trim_to_words(text: &str, max_words: usize, ending: &str) -> String {
    if count_words(text) <= max_words {
        return collapse_whitespace(text);
    }
    let mut kept = Vec::new();
    let mut words = 0;
    for token in text.split_whitespace() {
        if is_word(token) {
            if words == max_words {
                break;
            }
            words += 1;
        }
        kept.push(token);
    }
    let joined = kept.join(" ");
    let cut = joined.trim_end_matches(|c: char| !c.is_alphanumeric() && c != ')' && c != '"');
    format!("{cut}{ending}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviations_do_not_split() {
        let text = "Dr. Jones works at Acme Inc. in Ohio. Prof. Lee studies birds, e.g. crows, \
                    i.e. clever ones. Mr. and Mrs. Smith met at 10 a.m. on Jan. 5 in the U.S. \
                    capital. See Fig. 3 and vol. 2 for St. Louis data.";
        let s = split_sentences(text);
        assert_eq!(
            s,
            [
                "Dr. Jones works at Acme Inc. in Ohio.",
                "Prof. Lee studies birds, e.g. crows, i.e. clever ones.",
                "Mr. and Mrs. Smith met at 10 a.m. on Jan. 5 in the U.S. capital.",
                "See Fig. 3 and vol. 2 for St. Louis data.",
            ]
        );
    }

    #[test]
    fn acronym_at_the_end_of_a_sentence_splits_before_an_opener() {
        let s = split_sentences(
            "She moved to the U.S. The next year she left. Apples, pears etc. It was fun.",
        );
        assert_eq!(
            s,
            [
                "She moved to the U.S.",
                "The next year she left.",
                "Apples, pears etc.",
                "It was fun.",
            ]
        );
    }

    #[test]
    fn decimals_names_and_initials_do_not_split() {
        let s = split_sentences(
            "Pi is 3.14159 and the site is example.com today. J. R. R. Tolkien wrote it. Done.",
        );
        assert_eq!(
            s,
            [
                "Pi is 3.14159 and the site is example.com today.",
                "J. R. R. Tolkien wrote it.",
                "Done.",
            ]
        );
    }

    #[test]
    fn quotes_questions_and_ellipses() {
        let s = split_sentences(
            "He asked, \"Is it done?\" She nodded. \"Really?\" he said. Wait... Then it \
             rained! (It was May.) Next one",
        );
        assert_eq!(
            s,
            [
                "He asked, \"Is it done?\"",
                "She nodded.",
                "\"Really?\" he said.",
                "Wait...",
                "Then it rained!",
                "(It was May.)",
                "Next one",
            ]
        );
    }

    #[test]
    fn lowercase_after_stop_continues_the_sentence() {
        let s = split_sentences("The approx. cost was low. it is cheap.\nNew line here.");
        assert_eq!(
            s,
            ["The approx. cost was low. it is cheap.", "New line here."]
        );
    }

    #[test]
    fn word_counting_and_trimming() {
        assert_eq!(count_words(""), 0);
        assert_eq!(count_words("  a — b  "), 2);
        assert_eq!(
            trim_to_words("alpha beta gamma delta", 3, "…"),
            "alpha beta gamma…"
        );
        assert_eq!(trim_to_words("alpha, beta; gamma", 2, "."), "alpha, beta.");
        assert_eq!(trim_to_words("a — b — c", 2, "…"), "a — b…");
        assert_eq!(count_words(&trim_to_words(&"w ".repeat(100), 25, "…")), 25);
    }
}
