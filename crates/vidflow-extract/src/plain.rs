//! Plain-text pages: paragraphs are separated by blank lines and the first line is the title.

use vidflow_core::{Article, Paragraph, VidflowError};

use crate::blocks::collapse_whitespace;

/// Reads a `text/plain` page. The first non-empty line is the title (and is not repeated in
/// the body); the rest is split into paragraphs at blank lines, with line breaks inside a
/// paragraph read as spaces, since plain text is usually hard-wrapped.
pub fn extract_plain(text: &str, url: &str) -> Result<Article, VidflowError> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut lines = text.lines().skip_while(|l| l.trim().is_empty());
    let title = lines.next().map(collapse_whitespace).unwrap_or_default();

    let mut paragraphs = Vec::new();
    let mut current = String::new();
    for line in lines {
        if line.trim().is_empty() {
            push_paragraph(&mut paragraphs, &mut current);
        } else {
            current.push(' ');
            current.push_str(line);
        }
    }
    push_paragraph(&mut paragraphs, &mut current);

    let body = paragraphs
        .iter()
        .map(|p: &Paragraph| p.text.as_str())
        .collect::<Vec<_>>()
        .join("\n\n");
    // The title line counts towards the words: a one-paragraph note with a heading line is
    // still that many words to read.
    if crate::count_words(&title) + crate::count_words(&body) < crate::MIN_WORDS || body.is_empty()
    {
        return Err(VidflowError::bad_input(format!(
            "page at {url} has no readable text"
        )));
    }
    let lang = crate::lang::detect(&body);
    Ok(Article {
        title,
        byline: None,
        site_name: None,
        published: None,
        lang,
        text: body,
        paragraphs,
        images: Vec::new(),
    })
}

fn push_paragraph(paragraphs: &mut Vec<Paragraph>, current: &mut String) {
    let text = collapse_whitespace(current);
    current.clear();
    if !text.is_empty() {
        paragraphs.push(Paragraph {
            text,
            heading: None,
            is_heading: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vidflow_core::ErrorKind;

    #[test]
    fn first_line_is_title_and_blank_lines_split() {
        let text = "\r\n  Notes on  Rivers \r\nRivers carry water from high ground\r\nto the sea.\r\n\r\n\r\n\
            They shape valleys, carve canyons and build deltas where they slow down and drop \
            what they carry.\n   \nPeople settle beside them.\n";
        let a = extract_plain(text, "file:///tmp/rivers.txt").unwrap();
        assert_eq!(a.title, "Notes on Rivers");
        let texts: Vec<_> = a.paragraphs.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Rivers carry water from high ground to the sea.",
                "They shape valleys, carve canyons and build deltas where they slow down and drop what they carry.",
                "People settle beside them.",
            ]
        );
        assert_eq!(a.text, texts.join("\n\n"));
        assert_eq!(a.lang.as_deref(), Some("en"));
        assert!(a.images.is_empty());
    }

    #[test]
    fn short_or_empty_text_is_bad_input() {
        for text in ["", "\n\n  \n", "Title only\n\nand three words"] {
            let err = extract_plain(text, "file:///tmp/x.txt").unwrap_err();
            assert_eq!(err.kind, ErrorKind::BadInput);
            assert_eq!(
                err.message,
                "page at file:///tmp/x.txt has no readable text"
            );
        }
    }
}
