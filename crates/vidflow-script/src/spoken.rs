//! Cleaning text so that a speech engine says only words.

use std::sync::LazyLock;

use regex::Regex;

/// Footnote and editorial marks: "[1]", "[a]", "[citation needed]", "[edit]", "[note 3]".
static FOOTNOTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\[\s*(?:\d+|[a-z]|[ivx]+|citation needed|clarification needed|edit|note\s*\d+|nb\s*\d+|update)\s*\]",
    )
    .expect("footnote pattern compiles")
});

/// Web addresses, spoken as gibberish: "https://…", "www.…".
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:https?://|ftp://|www\.)[^\s<>()\[\]]+").expect("url pattern compiles")
});

/// Superscript digits used as footnote marks ("fact¹").
static SUPERSCRIPTS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[¹²³⁴⁵⁶⁷⁸⁹⁰]+").expect("superscript pattern compiles"));

/// Dashes used as pauses ("word — word", "word--word") become commas.
static DASH_PAUSE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s*(?:—|―|--+)\s*|\s+[–-]\s+").expect("dash pattern compiles"));

/// Brackets with nothing speakable left inside ("()" after a URL was removed).
static EMPTY_BRACKETS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[(\[]\s*[^\w(\[\])]*\s*[)\]]").expect("empty bracket pattern compiles")
});

/// Space before punctuation ("word ,") and runs of punctuation left by removals (", ,").
static SPACE_BEFORE_PUNCT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s+([,.;:!?])").expect("punctuation pattern compiles"));
static REPEATED_COMMA: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r",(?:\s*,)+").expect("comma pattern compiles"));
static COMMA_BEFORE_STOP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[,;:]+\s*([.!?])").expect("comma-stop pattern compiles"));

/// Symbols a reader skips: markup, arrows, bullets, and marks with no spoken form.
fn is_stray_symbol(c: char) -> bool {
    matches!(
        c,
        '*' | '#'
            | '_'
            | '~'
            | '^'
            | '|'
            | '\\'
            | '<'
            | '>'
            | '{'
            | '}'
            | '`'
            | '•'
            | '·'
            | '◦'
            | '▪'
            | '►'
            | '▶'
            | '→'
            | '←'
            | '↑'
            | '↓'
            | '⇒'
            | '»'
            | '«'
            | '›'
            | '‹'
            | '¶'
            | '§'
            | '†'
            | '‡'
            | '©'
            | '®'
            | '™'
            | '\u{200b}'
            | '\u{feff}'
    ) || (c.is_control() && c != '\n')
}

/// Cleans text for speech: removes footnote marks, URLs, markup and stray symbols, turns
/// dashes used as pauses into commas and "&" into "and", and tidies the spacing left behind.
///
/// ```
/// let spoken = vidflow_script::clean_for_speech(
///     "Rust is fast[1] — see https://www.rust-lang.org (docs) & **more**.",
/// );
/// assert_eq!(spoken, "Rust is fast, see (docs) and more.");
/// ```
pub fn clean_for_speech(text: &str) -> String {
    let text = FOOTNOTE.replace_all(text, "");
    // A URL's trailing punctuation belongs to the sentence ("visit www.example.com, now").
    let text = URL.replace_all(&text, |caps: &regex::Captures<'_>| {
        let url = &caps[0];
        let body = url.trim_end_matches(['.', ',', ';', ':', '!', '?', '"', '\'']);
        url[body.len()..].to_string()
    });
    let text = SUPERSCRIPTS.replace_all(&text, "");
    let text = DASH_PAUSE.replace_all(&text, ", ");
    let text = text.replace('&', " and ");
    let text: String = text
        .chars()
        .map(|c| if is_stray_symbol(c) { ' ' } else { c })
        .collect();
    // Square brackets that were not footnotes hold editorial insertions ("[sic]", "[the
    // company]"); their words are kept, the brackets are not.
    let text = EMPTY_BRACKETS.replace_all(&text, "");
    let text = text.replace(['[', ']'], "");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = SPACE_BEFORE_PUNCT.replace_all(&text, "$1");
    let text = REPEATED_COMMA.replace_all(&text, ",");
    let text = COMMA_BEFORE_STOP.replace_all(&text, "$1");
    text.trim_start_matches([',', ';', ':', '.', ' '])
        .trim_end_matches([',', ';', ':', ' '])
        .to_string()
}

/// Cleans text shown on a slide (headings): footnote marks and URLs go, symbols stay.
///
/// ```
/// assert_eq!(vidflow_script::clean_for_display("History[edit]  of R&D"), "History of R&D");
/// assert_eq!(vidflow_script::clean_for_display("Running in Wasm runtimes #"), "Running in Wasm runtimes");
/// ```
pub fn clean_for_display(text: &str) -> String {
    let text = FOOTNOTE.replace_all(text, "");
    let text = URL.replace_all(&text, "");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // Permalink anchors that blogs put after headings ("Usage #", "Usage ¶").
    text.trim_end_matches(['#', '¶', '§', ' ']).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_footnotes_and_citations() {
        assert_eq!(
            clean_for_speech("The sky is blue.[1][23] It is big[citation needed]. Ok[a]."),
            "The sky is blue. It is big. Ok."
        );
    }

    #[test]
    fn removes_urls_and_leftover_brackets() {
        assert_eq!(
            clean_for_speech(
                "Read the docs (https://docs.rs/regex) or visit www.example.com, now."
            ),
            "Read the docs or visit, now."
        );
    }

    #[test]
    fn removes_markup_and_symbols() {
        assert_eq!(
            clean_for_speech("## Title\n* **bold** item → next © 2024 | `code`"),
            "Title bold item next 2024 code"
        );
    }

    #[test]
    fn dashes_become_pauses_but_hyphens_stay() {
        assert_eq!(
            clean_for_speech("A well-known tool — fast -- and cheap - mostly. 1990–1995 too."),
            "A well-known tool, fast, and cheap, mostly. 1990–1995 too."
        );
    }

    #[test]
    fn keeps_editorial_words_and_ordinary_punctuation() {
        assert_eq!(
            clean_for_speech("He said it [sic] was \"fine\", 50% off: $3.50!"),
            "He said it sic was \"fine\", 50% off: $3.50!"
        );
    }

    #[test]
    fn nothing_speakable_gives_empty() {
        assert_eq!(clean_for_speech(" [1] https://x.y/z → • "), "");
    }
}
