//! A cap on how deeply a page's elements nest, applied before parsing.
//!
//! The HTML parser checks scopes by walking its stack of open elements, and the readability
//! pass walks the tree recursively, so a page of thousands of nested `<div>`s costs time
//! quadratic in the depth (10,000 took 23 s) and, deeper still, risks the stack. No real
//! article nests anywhere near [`MAX_DEPTH`]: beyond it (and beyond a budget of total
//! nesting work, [`MAX_NESTING_WORK`], for pages both wide and deep), start tags and their
//! end tags are dropped, so the deep part is flattened into its nearest kept ancestor while
//! its text and shallower markup stay. The scan is a single pass that follows the tokenizer's rules only
//! as far as counting needs: comments, quoted attribute values, raw-text elements (scripts,
//! styles) and the elements whose end tags are optional.

use std::borrow::Cow;
use std::collections::HashMap;

/// The deepest element nesting kept. Real pages stay well under 100 (the deepest of the
/// readability fixtures is far below this); the cap is about hostile input, not layout.
pub const MAX_DEPTH: usize = 256;

/// Elements that never have content or an end tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
    "source", "track", "wbr",
];

/// Elements whose content is text up to their own end tag: markup inside them is not markup.
const RAW_TEXT: &[&str] = &[
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
];

/// HTML elements whose start tag ends SVG or MathML content (the parser's list, plus
/// `font`, which does so with some attributes).
const BREAKS_OUT_OF_FOREIGN: &[&str] = &[
    "b",
    "big",
    "blockquote",
    "body",
    "br",
    "center",
    "code",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "embed",
    "font",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "hr",
    "i",
    "img",
    "li",
    "listing",
    "menu",
    "meta",
    "nobr",
    "ol",
    "p",
    "pre",
    "ruby",
    "s",
    "small",
    "span",
    "strong",
    "strike",
    "sub",
    "sup",
    "table",
    "tt",
    "u",
    "ul",
    "var",
];

/// Elements that a start tag of the same name closes (`<p>a<p>b` are siblings), so they do
/// not nest when written without end tags.
const SELF_CLOSING_SIBLINGS: &[&str] = &[
    "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "rb", "rt", "rp",
];

/// The most nesting work a page may ask for: the sum over its elements of their depth. The
/// readability pass costs about that (each element's ancestors are visited), so a page of
/// 40,000 empty paragraphs 250 deep took 8 s even under the depth cap. Real pages need a
/// few hundred thousand; past the budget, further tags are dropped as past the depth cap.
pub const MAX_NESTING_WORK: usize = 2_000_000;

/// How far down the stack an opening tag looks for the sibling it closes.
const IMPLIED_WALK: usize = 16;

/// `html` with elements nested deeper than [`MAX_DEPTH`] flattened: their start and end
/// tags dropped, their text kept. Borrowed, unchanged, when nothing is that deep, which is
/// every ordinary page.
///
/// ```
/// use vidflow_extract::depth::{cap_depth, MAX_DEPTH};
///
/// let page = "<div><p>Fine</p></div>";
/// assert!(matches!(cap_depth(page), std::borrow::Cow::Borrowed(_)));
///
/// let deep = format!("{}text{}", "<div>".repeat(1000), "</div>".repeat(1000));
/// let capped = cap_depth(&deep);
/// assert_eq!(capped.matches("<div>").count(), MAX_DEPTH);
/// assert_eq!(capped.matches("</div>").count(), MAX_DEPTH);
/// assert!(capped.contains("text"));
/// ```
pub fn cap_depth(html: &str) -> Cow<'_, str> {
    let mut scan = Scan::new(html);
    scan.run();
    if scan.dropped.is_empty() {
        return Cow::Borrowed(html);
    }
    let mut out = String::with_capacity(html.len());
    let mut at = 0;
    for range in &scan.dropped {
        out.push_str(&html[at..range.start]);
        at = range.end;
    }
    out.push_str(&html[at..]);
    Cow::Owned(out)
}

/// One open element as the scan sees it.
struct Open<'a> {
    name: Cow<'a, str>,
    /// Whether its start tag was dropped (so its end tag is dropped too).
    dropped: bool,
}

struct Scan<'a> {
    html: &'a str,
    bytes: &'a [u8],
    pos: usize,
    stack: Vec<Open<'a>>,
    /// How many of each element name are on the stack, so that a stray end tag is ignored
    /// at once instead of searching the whole stack (which would make the scan quadratic).
    open_count: HashMap<Cow<'a, str>, usize>,
    /// Byte ranges of the tags to drop, in order.
    dropped: Vec<std::ops::Range<usize>>,
    /// The depths of the elements kept so far, summed (see [`MAX_NESTING_WORK`]).
    work: usize,
}

impl<'a> Scan<'a> {
    fn new(html: &'a str) -> Self {
        Scan {
            html,
            bytes: html.as_bytes(),
            pos: 0,
            stack: Vec::new(),
            open_count: HashMap::new(),
            dropped: Vec::new(),
            work: 0,
        }
    }

    fn run(&mut self) {
        while let Some(lt) = memchr(b'<', &self.bytes[self.pos..]) {
            let start = self.pos + lt;
            self.pos = start + 1;
            match self.bytes.get(start + 1) {
                Some(b'!') => self.skip_markup_declaration(start),
                Some(b'?') => self.skip_past(b">"),
                Some(b'/')
                    if self
                        .bytes
                        .get(start + 2)
                        .is_some_and(u8::is_ascii_alphabetic) =>
                {
                    self.end_tag(start)
                }
                // `</` and anything but a letter is a bogus comment, up to the next `>`.
                Some(b'/') => self.skip_past(b">"),
                Some(c) if c.is_ascii_alphabetic() => self.start_tag(start),
                // A lone `<` is text.
                _ => {}
            }
        }
    }

    /// Skips a comment (`<!-- ... -->`), a doctype or a CDATA section.
    fn skip_markup_declaration(&mut self, start: usize) {
        let rest = &self.bytes[start..];
        if !rest.starts_with(b"<!--") {
            self.skip_past(b">");
            return;
        }
        // `<!-->` and `<!--->` are whole (empty) comments; otherwise the comment ends at the
        // first `-->` or `--!>`, whichever comes first.
        if rest[4..].starts_with(b">") {
            self.pos = start + 5;
            return;
        }
        if rest[4..].starts_with(b"->") {
            self.pos = start + 6;
            return;
        }
        let body = &rest[4..];
        let end = [
            find(body, b"-->").map(|i| i + 3),
            find(body, b"--!>").map(|i| i + 4),
        ]
        .into_iter()
        .flatten()
        .min();
        self.pos = end.map_or(self.bytes.len(), |e| start + 4 + e);
    }

    /// Moves past the next `needle`, or to the end when there is none.
    fn skip_past(&mut self, needle: &[u8]) {
        self.pos = find(&self.bytes[self.pos..], needle)
            .map_or(self.bytes.len(), |i| self.pos + i + needle.len());
    }

    /// Reads a tag name starting at `from`; returns it lowercased and where it ends.
    fn tag_name(&self, from: usize) -> (Cow<'a, str>, usize) {
        let end = self.bytes[from..]
            .iter()
            .position(|&b| b.is_ascii_whitespace() || b == b'/' || b == b'>')
            .map_or(self.bytes.len(), |i| from + i);
        let name = &self.html[from..end];
        let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(name)
        };
        (name, end)
    }

    /// Moves past the `>` that ends a tag; says whether the tag ended with `/>`. Follows the
    /// tokenizer's attribute states, because a quote starts a value only right after `=`:
    /// in `<p a="x"b"c">` the second and third quotes are part of an attribute's name, and
    /// toggling on every quote would hide everything after from the count.
    fn finish_tag(&mut self, from: usize) -> bool {
        #[derive(Clone, Copy, PartialEq)]
        enum State {
            BeforeName,
            Name,
            AfterName,
            BeforeValue,
            Quoted(u8),
            Unquoted,
            AfterQuoted,
            SelfClosing,
        }
        let mut state = State::BeforeName;
        let mut i = from;
        while let Some(&b) = self.bytes.get(i) {
            let space = b.is_ascii_whitespace();
            state = match (state, b) {
                (State::Quoted(q), c) if c == q => State::AfterQuoted,
                (State::Quoted(q), _) => State::Quoted(q),
                (State::SelfClosing, b'>') => {
                    self.pos = i + 1;
                    return true;
                }
                (_, b'>') => {
                    self.pos = i + 1;
                    return false;
                }
                (State::Unquoted, _) if space => State::BeforeName,
                (State::Unquoted, _) => State::Unquoted,
                (State::BeforeValue, b'"' | b'\'') => State::Quoted(b),
                (State::BeforeValue, _) if space => State::BeforeValue,
                (State::BeforeValue, _) => State::Unquoted,
                (State::Name | State::AfterName, b'=') => State::BeforeValue,
                (_, b'/') => State::SelfClosing,
                (State::Name, _) if space => State::AfterName,
                (State::Name, _) => State::Name,
                (State::AfterName, _) if space => State::AfterName,
                (_, _) if space => State::BeforeName,
                // Anything else starts an attribute name (quotes and `=` included).
                (_, _) => State::Name,
            };
            i += 1;
        }
        self.pos = self.bytes.len();
        false
    }

    fn start_tag(&mut self, start: usize) {
        let (name, name_end) = self.tag_name(start + 1);
        let self_closed = self.finish_tag(name_end);
        if VOID.contains(&name.as_ref()) {
            return;
        }
        let foreign = self.in_foreign();
        // Inside SVG and MathML, `<title>`, `<style>` and `<script>` are ordinary elements.
        if !foreign && RAW_TEXT.contains(&name.as_ref()) {
            self.skip_raw_text(&name);
            return;
        }
        // `/>` closes an element only in SVG and MathML; `<div/>` opens a div, even there
        // (HTML elements break out of foreign content). Counting one as open that is not
        // over-counts, which is safe; the reverse would let nesting past the cap.
        if self_closed && foreign && !BREAKS_OUT_OF_FOREIGN.contains(&name.as_ref()) {
            return;
        }
        if SELF_CLOSING_SIBLINGS.contains(&name.as_ref()) {
            self.close_implied(&name);
        }
        let depth = self.stack.len();
        let dropped = depth >= MAX_DEPTH || self.work + depth > MAX_NESTING_WORK;
        if !dropped {
            self.work += depth;
        }
        if dropped {
            self.dropped.push(start..self.pos);
        }
        *self.open_count.entry(name.clone()).or_default() += 1;
        self.stack.push(Open { name, dropped });
    }

    fn end_tag(&mut self, start: usize) {
        let (name, name_end) = self.tag_name(start + 2);
        self.finish_tag(name_end);
        if self.open_count.get(&name).copied().unwrap_or(0) == 0 {
            return; // a stray end tag: the parser ignores it, and so do we
        }
        // Elements left open inside this one are closed by its end tag, as the parser does.
        while let Some(top) = self.pop() {
            if top.name == name {
                if top.dropped {
                    self.dropped.push(start..self.pos);
                }
                return;
            }
        }
    }

    /// Opening `name` (one of [`SELF_CLOSING_SIBLINGS`]) closes an open `name` when only
    /// elements with optional end tags lie above it, as `<tr>` closes the previous row and
    /// its open cell. The walk is bounded, so it cannot make the scan quadratic.
    fn close_implied(&mut self, name: &str) {
        let found = self
            .stack
            .iter()
            .rev()
            .take(IMPLIED_WALK)
            .take_while(|open| SELF_CLOSING_SIBLINGS.contains(&open.name.as_ref()))
            .position(|open| open.name == name);
        if let Some(above) = found {
            for _ in 0..=above {
                self.pop();
            }
        }
    }

    /// Whether an `<svg>` or `<math>` is open.
    fn in_foreign(&self) -> bool {
        ["svg", "math"]
            .iter()
            .any(|n| self.open_count.get(*n).copied().unwrap_or(0) > 0)
    }

    fn pop(&mut self) -> Option<Open<'a>> {
        let top = self.stack.pop()?;
        if let Some(n) = self.open_count.get_mut(&top.name) {
            *n = n.saturating_sub(1);
        }
        Some(top)
    }

    /// Skips the content of a raw-text element up to its end tag (matched without regard
    /// to case), leaving the end tag to be read as one.
    fn skip_raw_text(&mut self, name: &str) {
        let rest = &self.bytes[self.pos..];
        let mut from = 0;
        while let Some(i) = find(&rest[from..], b"</") {
            let at = from + i + 2;
            let candidate = rest.get(at..at + name.len());
            if candidate.is_some_and(|c| c.eq_ignore_ascii_case(name.as_bytes())) {
                self.pos += from + i + 2 + name.len();
                self.finish_tag(self.pos);
                return;
            }
            from = at;
        }
        self.pos = self.bytes.len();
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!(
            "<html><body>{}<p>deep text</p>{}</body></html>",
            "<div class='x'>".repeat(depth),
            "</div>".repeat(depth)
        )
    }

    #[test]
    fn shallow_pages_are_borrowed_unchanged() {
        for html in [
            "",
            "plain text < not a tag",
            "<p>one<p>two<p>three",
            "<ul><li>a<li>b<li>c</ul>",
            "<!-- <div><div> --><div>x</div>",
        ] {
            assert!(matches!(cap_depth(html), Cow::Borrowed(_)), "{html}");
        }
    }

    #[test]
    fn deep_nesting_is_flattened_below_the_cap() {
        let html = nested(10_000);
        let capped = cap_depth(&html);
        // html and body are open too, so two fewer divs are kept.
        assert_eq!(capped.matches("<div").count(), MAX_DEPTH - 2);
        assert_eq!(capped.matches("</div>").count(), MAX_DEPTH - 2);
        // The paragraph is past the cap too: its tags go, its text stays.
        assert!(capped.contains("deep text"));
        assert!(capped.ends_with("</body></html>"));
    }

    #[test]
    fn unclosed_siblings_do_not_count_as_nesting() {
        let html = "<p>a".repeat(MAX_DEPTH * 4);
        assert!(matches!(cap_depth(&html), Cow::Borrowed(_)));
        let rows = format!("<table>{}</table>", "<tr><td>x".repeat(MAX_DEPTH * 4));
        assert!(matches!(cap_depth(&rows), Cow::Borrowed(_)));
    }

    #[test]
    fn markup_inside_scripts_comments_and_attributes_is_not_counted() {
        let divs = "<div>".repeat(MAX_DEPTH * 2);
        for html in [
            format!("<script>{divs}</script>"),
            format!("<SCRIPT>{divs}</script >"),
            format!("<style>{divs}</style>"),
            format!("<!--{divs}-->"),
            format!("<p title=\"{divs}\">x</p>"),
            format!("<p title='>{divs}'>x</p>"),
        ] {
            assert!(matches!(cap_depth(&html), Cow::Borrowed(_)), "{html:.60}");
        }
    }

    #[test]
    fn end_tags_close_what_was_left_open_inside() {
        // Each section leaves a span open; its end tag closes the span too, so depth stays 2.
        let html = "<section><span>x</section>".repeat(MAX_DEPTH * 2);
        assert!(matches!(cap_depth(&html), Cow::Borrowed(_)));
        // Stray end tags are ignored and cost nothing.
        let stray = format!("<div>{}</div>", "</b>".repeat(10_000));
        assert!(matches!(cap_depth(&stray), Cow::Borrowed(_)));
    }

    /// Each of these hid deep nesting from an earlier scan that the parser still built.
    #[test]
    fn nesting_cannot_hide_from_the_scan() {
        let divs = "<div>".repeat(MAX_DEPTH * 4);
        for html in [
            // Found by fuzzing: a stray quote in an attribute name flipped quote parity.
            format!("<p a=\"x\"b\"c\">{divs}"),
            format!("<td align=\"right\" Odd\">{divs}"),
            format!("<!-->{divs}-->"),
            format!("<!--->{divs}-->"),
            format!("<!-- x --!>{divs}-->"),
            "<div/>".repeat(MAX_DEPTH * 4),
            format!("<svg><title>{divs}</title></svg>"),
            format!("<svg>{}", "<div/>".repeat(MAX_DEPTH * 4)),
            format!("</ \"{divs}\">"),
            format!("<a href=/x/>{divs}"),
        ] {
            let capped = cap_depth(&html);
            assert!(matches!(capped, Cow::Owned(_)), "{html:.60}");
            // (One `<div` may be text inside a comment.)
            assert!(
                capped.matches("<div").count() <= MAX_DEPTH + 1,
                "{html:.60}"
            );
        }
        // Self-closing foreign elements are empty and do not nest.
        let icons = format!("<svg>{}</svg>", "<path d='M0 0'/>".repeat(MAX_DEPTH * 4));
        assert!(matches!(cap_depth(&icons), Cow::Borrowed(_)));
    }

    /// Found by fuzzing: 42,886 empty paragraphs under 234 nested divs took the readability
    /// pass 8.4 s although no element was deeper than the cap.
    #[test]
    fn wide_and_deep_pages_are_bounded_in_total_work() {
        let html = format!("{}{}", "<div>".repeat(234), "<p>".repeat(42_886));
        let capped = cap_depth(&html);
        let kept = capped.matches("<p>").count();
        assert!(
            kept > 0 && kept * 235 <= MAX_NESTING_WORK,
            "{kept} paragraphs kept"
        );
        // Wide but shallow is fine: 40,000 paragraphs at depth 3 stay.
        let wide = format!("<div><div>{}", "<p>x</p>".repeat(40_000));
        assert!(matches!(cap_depth(&wide), Cow::Borrowed(_)));
    }

    #[test]
    fn non_ascii_and_broken_input_do_not_panic() {
        for html in [
            "<",
            "</",
            "<a",
            "<é>",
            "<div title=\"never closed",
            "<script>never closed",
            "<!--",
            "<di\u{10FFFF}v><ü></ü>",
        ] {
            let _ = cap_depth(html);
        }
        let deep = format!("{}ß{}", "<dïv>".repeat(1000), "</dïv>".repeat(1000));
        let capped = cap_depth(&deep);
        assert_eq!(capped.matches("<dïv>").count(), MAX_DEPTH);
        assert!(capped.contains('ß'));
    }

    #[test]
    fn the_scan_is_linear() {
        // 100k nested elements in a fraction of a second, even unoptimised.
        let html = nested(100_000);
        let started = std::time::Instant::now();
        let capped = cap_depth(&html);
        assert!(capped.len() < html.len());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
}
