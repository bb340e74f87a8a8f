//! Articles a page shows only to readers without scripts.
//!
//! vidflow runs no scripts, so it reads a page as a browser with scripts off would show it:
//! `<noscript>` content included. Readability drops every `<noscript>` (it is usually a
//! tracking pixel or an "enable JavaScript" line), which loses the whole post on pages that
//! keep their text in a script template and repeat it in `<noscript>` for everyone else, as
//! Blogger's Google-blog template does; and on pages whose `<noscript>` is never closed the
//! parser puts the whole page in it. So a `<noscript>` holding paragraphs of prose that the
//! page shows nowhere else is turned into a plain `<div>` before Readability looks.

use dom_query::{Document, NodeRef, Selection};

/// Fewer words than this in a `<noscript>` is a notice, not an article.
const MIN_WORDS: usize = 40;
/// Characters (whitespace left out) from the start of a `<noscript>`'s text looked for in
/// the rest of the page.
const PROBE_CHARS: usize = 60;

/// Parses `html` for Readability, with every `<noscript>` that holds an article no other
/// part of the page shows turned into a `<div>`.
pub(crate) fn readable_document(html: &str) -> Document {
    let doc = Document::from(html);
    let mut visible: Option<String> = None;
    // Outermost ones only, chosen before any is renamed: a nested one goes with its
    // ancestor, and reading each level's text again would cost a hostile page time
    // quadratic in its nesting.
    let outermost: Vec<_> = doc
        .select("body noscript")
        .nodes()
        .iter()
        .filter(|n| !n.ancestors_it(None).any(|a| a.has_name("noscript")))
        .cloned()
        .collect();
    for node in outermost {
        let text = node.text();
        if text.split_whitespace().count() < MIN_WORDS || !node.is(":has(p)") {
            continue;
        }
        let probe: String = without_whitespace(&text).take(PROBE_CHARS).collect();
        let visible = visible.get_or_insert_with(|| visible_text(doc.root()));
        if !visible.contains(&probe) {
            Selection::from(node).select("noscript").rename("div");
            node.rename("div");
        }
    }
    doc
}

/// The characters of `text` but its whitespace. The probe and the page join text nodes
/// differently (one glues block boundaries), so neither may make a shown text look unshown.
fn without_whitespace(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars().filter(|c| !c.is_whitespace())
}

/// The text Readability would read under `root`: outside scripts, styles, templates and
/// `<noscript>`, whitespace left out. Read from the same parse Readability reads, so that
/// what that parse hides (a whole page swallowed by an unclosed `<noscript>`) counts as
/// unshown.
fn visible_text(root: NodeRef<'_>) -> String {
    const HIDDEN: &[&str] = &["script", "style", "template", "noscript", "head"];
    let mut out = String::new();
    for node in root.descendants_it().filter(NodeRef::is_text) {
        if !node
            .ancestors_it(None)
            .any(|a| HIDDEN.iter().any(|h| a.has_name(h)))
        {
            out.extend(without_whitespace(&node.text()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const POST: &str = "<p>Over the past few years we have seen threats on the web becoming \
        increasingly sophisticated. Phishing sites rotate domains very quickly to avoid being \
        blocked, and malware campaigns are directly targeting at-risk users.</p><p>We have \
        realized that to combat these most effectively, protection needs to be informed by \
        what is happening across the whole web right now.</p>";

    fn divs_and_noscripts(html: &str) -> (usize, usize) {
        let doc = readable_document(html);
        (
            doc.select("body div").length(),
            doc.select("body noscript").length(),
        )
    }

    #[test]
    fn a_post_shown_only_without_scripts_is_kept() {
        let html = format!(
            "<html><body><script type='text/template'>{POST}</script><noscript>{POST}</noscript></body></html>"
        );
        assert_eq!(divs_and_noscripts(&html), (1, 0));
    }

    #[test]
    fn a_noscript_repeating_visible_text_or_too_short_stays_dropped_and_nested_ones_go_whole() {
        let repeated =
            format!("<html><body><div>{POST}</div><noscript>{POST}</noscript></body></html>");
        assert_eq!(divs_and_noscripts(&repeated), (1, 1));
        let nested =
            format!("<html><body><noscript><noscript>{POST}</noscript></noscript></body></html>");
        assert_eq!(divs_and_noscripts(&nested), (2, 0));
        let split = format!(
            "<html><body><div><p>Over the past <b>f</b>ew years</p>{POST}</div><noscript><p>Over the past few years</p>{POST}</noscript></body></html>"
        );
        assert_eq!(divs_and_noscripts(&split), (1, 1));
        let notice = "<html><body><noscript><p>Please enable JavaScript to view the comments.</p></noscript></body></html>";
        assert_eq!(divs_and_noscripts(notice), (0, 1));
        let pixel =
            "<html><body><noscript><img src='https://t.example/p.gif'></noscript></body></html>";
        assert_eq!(divs_and_noscripts(pixel), (0, 1));
    }

    #[test]
    fn a_page_swallowed_by_an_unclosed_noscript_is_read() {
        // The `</noscript>` is ignored inside the open `<div>`: the page ends up in it.
        let html = format!(
            "<html><head><title>Bears</title></head><body><noscript><div id='nojs'></noscript>\
             <div class='news'>{POST}</div></body></html>"
        );
        let article = crate::extract_html(&html, "https://park.example/news?id=1").unwrap();
        assert!(
            article.text.contains("Phishing sites rotate domains"),
            "{}",
            article.text
        );
    }

    #[test]
    fn the_whole_post_reaches_the_text() {
        let html = format!(
            "<html><head><title>Safe browsing</title></head><body><nav><a href='/'>Home</a></nav>\
             <div class='post'><h2>Enhanced protection</h2><div class='post-body'>\
             <script type='text/template'>{POST}</script><noscript>{POST}</noscript></div></div></body></html>"
        );
        let article = crate::extract_html(&html, "https://blog.example/2020/05/post.html").unwrap();
        assert!(
            article.text.contains("Phishing sites rotate domains"),
            "{}",
            article.text
        );
        assert_eq!(article.text.matches("Phishing sites").count(), 1);
    }
}
