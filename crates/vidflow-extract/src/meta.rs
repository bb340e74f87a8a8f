//! What a page says about itself: its title, author, site name and publication date.
//!
//! Pages state these in several places of varying trust. Structured data (JSON-LD, Open
//! Graph and other `<meta>` tags) is written for machines and is taken as the page states
//! it; the `<title>` element is written for browser tabs and usually carries the site's name
//! too, so it is split on the separators sites use and the half that is the article's is
//! kept. The title's rules are tried in a fixed order and the one that answered is reported,
//! so the evaluation can say which rule fires how often.

use scraper::{ElementRef, Html, Selector};
use serde::Serialize;
use serde_json::Value;

use crate::blocks::collapse_whitespace;

/// Which rule gave the article's title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TitleRule {
    /// JSON-LD `headline` (or `name`) of the page's article object.
    JsonLdHeadline,
    /// A title `<meta>` tag: Dublin Core, Open Graph `og:title`, `title`, `twitter:title`.
    MetaTitle,
    /// The part of `<title>` between site-name separators that is also an `<h1>`/`<h2>`.
    TitlePartMatchingHeading,
    /// `<title>` with the site's name cut off at a separator.
    TitleWithoutSiteName,
    /// `<title>` as it stands.
    TitleElement,
    /// No `<title>`: the longest heading near the start of the article.
    Heading,
    /// Nothing named the article.
    None,
}

impl TitleRule {
    /// Every rule, in the order they are tried.
    pub const ALL: [TitleRule; 7] = [
        TitleRule::JsonLdHeadline,
        TitleRule::MetaTitle,
        TitleRule::TitlePartMatchingHeading,
        TitleRule::TitleWithoutSiteName,
        TitleRule::TitleElement,
        TitleRule::Heading,
        TitleRule::None,
    ];

    /// The rule's name as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            TitleRule::JsonLdHeadline => "json-ld-headline",
            TitleRule::MetaTitle => "meta-title",
            TitleRule::TitlePartMatchingHeading => "title-part-matching-heading",
            TitleRule::TitleWithoutSiteName => "title-without-site-name",
            TitleRule::TitleElement => "title-element",
            TitleRule::Heading => "heading",
            TitleRule::None => "none",
        }
    }
}

/// The page's own statements about the article, each `None` where the page is silent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageMeta {
    /// JSON-LD headline of the article object.
    pub ld_headline: Option<String>,
    /// First non-empty title `<meta>` tag.
    pub meta_title: Option<String>,
    /// The `<title>` element's text.
    pub title_element: Option<String>,
    /// Texts of the page's `<h1>` and `<h2>` elements, in document order.
    pub headings: Vec<String>,
    /// Author names (JSON-LD `author`, else an author `<meta>` tag).
    pub byline: Option<String>,
    /// The publication's name (JSON-LD `publisher.name`, `og:site_name`, `application-name`).
    pub site_name: Option<String>,
    /// JSON-LD `publisher.name`, which some pages also put in the article's `name`.
    pub publisher: Option<String>,
    /// Publication date-time as the page writes it (ISO 8601 in practice).
    pub published: Option<String>,
}

use vidflow_core::article::TITLE_SEPARATORS;

fn selector(css: &str) -> Selector {
    Selector::parse(css).expect("valid selector")
}

fn text_of(el: ElementRef<'_>) -> String {
    collapse_whitespace(&el.text().collect::<String>())
}

fn non_empty(s: &str) -> Option<String> {
    let s = collapse_whitespace(s);
    (!s.is_empty()).then_some(s)
}

/// Reads what `doc` says about itself.
pub fn read_meta(doc: &Html) -> PageMeta {
    let ld = json_ld_article(doc);
    let tags = meta_tags(doc);
    let meta = |names: &[&str]| -> Option<String> {
        // In the order given, not document order: the list is a preference.
        names.iter().find_map(|name| {
            // The last tag of a name wins, as in Readability: pages that repeat a tag
            // correct themselves further down.
            tags.iter()
                .rev()
                .find(|(key, _)| key == name)
                .map(|(_, content)| content.clone())
        })
    };

    let ld_headline = ld.as_ref().and_then(|a| {
        let field = |k: &str| a.get(k).and_then(Value::as_str).and_then(non_empty);
        match (field("headline"), field("name")) {
            // Some sites put the article's type or section in one of the two: the one that
            // resembles the tab's title is the article's.
            (Some(headline), Some(name)) if headline != name => {
                let tab = doc.select(&selector("title")).next().map(text_of);
                let like_tab = |t: &str| tab.as_deref().is_some_and(|tab| similar(t, tab));
                if like_tab(&headline) && !like_tab(&name) {
                    Some(headline)
                } else {
                    Some(name)
                }
            }
            (headline, name) => headline.or(name),
        }
    });
    let title_names = [
        "dc:title",
        "dcterm:title",
        "dcterms:title",
        "og:title",
        "title",
        "twitter:title",
        "parsely-title",
    ];
    let title_element = doc
        .select(&selector("title"))
        .next()
        .map(text_of)
        .filter(|t| !t.is_empty());
    let headings: Vec<String> = doc
        .select(&selector("h1, h2"))
        .map(text_of)
        .filter(|t| !t.is_empty())
        .collect();
    // The first tag by preference, unless another gives the same title without the site's
    // name glued on ("Title | Site" in `og:title`, "Title" in `twitter:title`).
    let meta_titles: Vec<String> = title_names.iter().filter_map(|n| meta(&[n])).collect();
    let meta_title = meta_titles.first().map(|first| {
        meta_titles
            .iter()
            .find(|bare| {
                first.len() > bare.len()
                    && first.starts_with(bare.as_str())
                    && TITLE_SEPARATORS
                        .iter()
                        .any(|sep| first[bare.len()..].starts_with(sep))
            })
            .unwrap_or(first)
            .clone()
    });
    let byline = ld
        .as_ref()
        .and_then(|a| a.get("author"))
        .and_then(author_names)
        .or_else(|| {
            meta(&[
                "author",
                "dc:creator",
                "dcterm:creator",
                "dcterms:creator",
                "parsely-author",
                "sailthru.author",
                "article:author",
            ])
            // `article:author` is often a profile URL, which names nobody.
            .filter(|a| !a.starts_with("http"))
        });
    let publisher = ld
        .as_ref()
        .and_then(|a| a.pointer("/publisher/name"))
        .and_then(Value::as_str)
        .and_then(non_empty);
    // The article's own publisher before `og:site_name`, which on hosted blogs names the
    // host ("Medium") rather than the publication.
    let site_name = publisher
        .clone()
        .or_else(|| meta(&["og:site_name"]))
        .or_else(|| meta(&["application-name", "twitter:site:name"]));
    let published = ld
        .as_ref()
        .and_then(|a| a.get("datePublished"))
        .and_then(Value::as_str)
        .and_then(non_empty)
        .or_else(|| {
            meta(&[
                "article:published_time",
                "datepublished",
                "parsely-pub-date",
                "pubdate",
                "publish-date",
                "dc:date",
                "dcterms:date",
                "date",
            ])
        })
        .or_else(|| published_time_element(doc));

    PageMeta {
        ld_headline,
        meta_title,
        title_element,
        headings,
        byline,
        site_name,
        publisher,
        published,
    }
}

/// Every `<meta>` tag's content under each name it goes by: `property` may list several
/// names, and `name` is folded the way Dublin Core is written both ways (`DC.Title`,
/// `dc:title`).
fn meta_tags(doc: &Html) -> Vec<(String, String)> {
    let mut tags = Vec::new();
    for m in doc.select(&selector("meta[content]")) {
        let Some(content) = m.value().attr("content").and_then(non_empty) else {
            continue;
        };
        let attr = |a: &str| m.value().attr(a).map(str::to_lowercase);
        for key in attr("property")
            .iter()
            .flat_map(|p| p.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        {
            tags.push((key, content.clone()));
        }
        for value in [attr("name"), attr("itemprop")].into_iter().flatten() {
            let key: String = value
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| if c == '.' { ':' } else { c })
                .collect();
            tags.push((key, content.clone()));
        }
    }
    tags
}

/// Whether two titles share most of their words (at least three quarters of the longer
/// one's distinct words, case folded).
fn similar(a: &str, b: &str) -> bool {
    use std::collections::HashSet;
    let words = |s: &str| -> HashSet<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let (wa, wb) = (words(a), words(b));
    let longest = wa.len().max(wb.len());
    longest > 0 && wa.intersection(&wb).count() * 4 >= longest * 3
}

/// The `datetime` of the `<time>` element marked as the publication date, else of the first
/// `<time>` inside the page's article or its header, where bylines sit.
fn published_time_element(doc: &Html) -> Option<String> {
    let marked = selector(
        r#"time[itemprop="datePublished" i][datetime], time[pubdate][datetime], time[class*="publish" i][datetime], time[class*="posted" i][datetime]"#,
    );
    let first_in_article = selector("article time[datetime], header time[datetime]");
    doc.select(&marked)
        .chain(doc.select(&first_in_article))
        .filter_map(|t| t.value().attr("datetime"))
        .find_map(non_empty)
}

/// "Ada Lovelace" from `{"name": "Ada Lovelace"}`, several authors joined with commas.
fn author_names(author: &Value) -> Option<String> {
    let names: Vec<String> = match author {
        Value::String(s) => non_empty(s).into_iter().collect(),
        Value::Object(o) => o
            .get("name")
            .and_then(Value::as_str)
            .and_then(non_empty)
            .into_iter()
            .collect(),
        Value::Array(items) => items.iter().filter_map(author_names).collect(),
        _ => Vec::new(),
    };
    // Profile links stand in for names on some sites; they name nobody.
    let names: Vec<String> = names
        .into_iter()
        .filter(|n| !n.starts_with("http"))
        .collect();
    (!names.is_empty()).then(|| names.join(", "))
}

/// The page's JSON-LD object describing the article: the first object (at the top, in an
/// array, or in an `@graph`) whose `@type` is a kind of article or posting.
fn json_ld_article(doc: &Html) -> Option<Value> {
    let sel = selector(r#"script[type="application/ld+json" i]"#);
    doc.select(&sel).find_map(|script| {
        let raw = script.text().collect::<String>();
        let raw = raw.trim();
        let raw = strip_cdata(raw);
        let value: Value = serde_json::from_str(raw).ok()?;
        find_article(&value)
    })
}

/// JSON inside `<![CDATA[ … ]]>`, which XHTML-minded pages wrap it in (sometimes behind
/// `//` so that a script parser skips the markers).
fn strip_cdata(raw: &str) -> &str {
    let raw = raw.trim();
    let Some(inner) = raw
        .strip_prefix("//")
        .unwrap_or(raw)
        .trim_start()
        .strip_prefix("<![CDATA[")
    else {
        return raw;
    };
    let inner = inner.trim_end();
    let inner = inner.strip_suffix("]]>").unwrap_or(inner).trim_end();
    inner.strip_suffix("//").unwrap_or(inner)
}

fn find_article(value: &Value) -> Option<Value> {
    match value {
        Value::Array(items) => items.iter().find_map(find_article),
        Value::Object(o) => {
            if is_article_type(o.get("@type")) {
                return Some(value.clone());
            }
            o.get("@graph").and_then(find_article)
        }
        _ => None,
    }
}

fn is_article_type(t: Option<&Value>) -> bool {
    let is = |s: &str| {
        s.ends_with("Article") || s.ends_with("Posting") || matches!(s, "Report" | "APIReference")
    };
    match t {
        Some(Value::String(s)) => is(s),
        Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).any(is),
        _ => false,
    }
}

/// Chooses the article's title from what the page states, trying each [`TitleRule`] in
/// order. `content_headings` are the headings of the extracted main text, for pages with
/// no `<title>` at all.
pub fn choose_title(meta: &PageMeta, content_headings: &[String]) -> (String, TitleRule) {
    // "Aktuálně.cz" names the site "Aktuálně.cz - Víte, co se právě děje" too.
    let is_site = |t: &str| {
        let t = t.to_lowercase();
        [meta.site_name.as_deref(), meta.publisher.as_deref()]
            .into_iter()
            .flatten()
            .map(str::to_lowercase)
            .any(|s| {
                s == t
                    || TITLE_SEPARATORS
                        .iter()
                        .any(|sep| s.starts_with(&format!("{t}{sep}")))
            })
    };
    // Structured data is written for machines and taken as stated, unless it names only
    // the site (home pages reuse `og:title` for the site's name).
    if let Some(t) = meta.ld_headline.as_deref().filter(|t| !is_site(t)) {
        return (t.to_owned(), TitleRule::JsonLdHeadline);
    }
    if let Some(t) = meta.meta_title.as_deref().filter(|t| !is_site(t)) {
        return (t.to_owned(), TitleRule::MetaTitle);
    }
    if let Some(t) = meta.title_element.as_deref() {
        return split_title_element(t, meta.site_name.as_deref(), &meta.headings);
    }
    let near_start = content_headings.iter().take(3);
    match near_start.max_by_key(|h| h.chars().count()) {
        Some(h) => (h.clone(), TitleRule::Heading),
        None => (String::new(), TitleRule::None),
    }
}

/// `<title>` usually reads "Article | Site" or "Site » Section » Article": keeps the
/// article's part.
fn split_title_element(
    title: &str,
    site_name: Option<&str>,
    headings: &[String],
) -> (String, TitleRule) {
    let title = collapse_whitespace(title);
    let words = |s: &str| s.split_whitespace().count();
    let Some(sep) = TITLE_SEPARATORS.iter().copied().find(|s| title.contains(s)) else {
        return (title, TitleRule::TitleElement);
    };
    let parts: Vec<&str> = title.split(sep).map(str::trim).collect();

    // The site's name, when the page gives it, at either end.
    if let Some(site) = site_name {
        let site = site.to_lowercase();
        if parts.last().is_some_and(|p| p.to_lowercase() == site) {
            let rest = parts[..parts.len() - 1].join(sep);
            return (rest, TitleRule::TitleWithoutSiteName);
        }
        if parts.first().is_some_and(|p| p.to_lowercase() == site) {
            let rest = parts[1..].join(sep);
            return (rest, TitleRule::TitleWithoutSiteName);
        }
    }

    // Otherwise the site's name is the short end: the last part ("Title | Site"), or the
    // first when what is left before the last separator is too short to be a title
    // ("Site » Title").
    let before_last = parts[..parts.len() - 1].join(sep);
    let after_first = parts[1..].join(sep);
    let candidate = if words(&before_last) >= 3 {
        before_last
    } else {
        after_first
    };
    let hierarchical = [" » ", " / ", " \\ ", " > "].contains(&sep);
    let all_words = words(&title) - (parts.len() - 1);
    if words(&candidate) > 4 || (hierarchical && words(&candidate) + 1 == all_words) {
        return (candidate, TitleRule::TitleWithoutSiteName);
    }

    // What is left is short: a part that is also a heading on the page is the article's
    // title. Only a part of several words counts: a one-word site logo is often an `<h1>`.
    let matches_heading = |p: &str| {
        headings
            .iter()
            .any(|h| h.to_lowercase() == p.to_lowercase())
    };
    if let Some(part) = parts
        .iter()
        .copied()
        .filter(|p| words(p) >= 2 && matches_heading(p))
        .max_by_key(|p| p.chars().count())
    {
        return (part.to_owned(), TitleRule::TitlePartMatchingHeading);
    }
    // Short either way: the separator may be the article's own words joined by a dash.
    (title, TitleRule::TitleElement)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta_of(html: &str) -> PageMeta {
        read_meta(&Html::parse_document(html))
    }

    #[test]
    fn json_ld_headline_comes_first() {
        let m = meta_of(
            r#"<html><head><title>T | S</title><meta property="og:title" content="OG">
            <script type="application/ld+json">{"@context":"https://schema.org","@graph":[
              {"@type":"WebSite","name":"Site"},
              {"@type":"NewsArticle","headline":"The headline","author":[{"name":"A B"},{"name":"C D"}],
               "publisher":{"name":"Pub"},"datePublished":"2021-05-14T10:00:00Z"}]}</script>
            </head><body></body></html>"#,
        );
        assert_eq!(
            choose_title(&m, &[]),
            ("The headline".to_owned(), TitleRule::JsonLdHeadline)
        );
        assert_eq!(m.byline.as_deref(), Some("A B, C D"));
        assert_eq!(m.site_name.as_deref(), Some("Pub"));
        assert_eq!(m.published.as_deref(), Some("2021-05-14T10:00:00Z"));
    }

    #[test]
    fn meta_title_unless_it_is_the_site() {
        let m = meta_of(
            r#"<head><meta property="og:title" content="Sea Notes">
               <meta property="og:site_name" content="Sea Notes">
               <title>Tides explained | Sea Notes</title></head>"#,
        );
        assert_eq!(
            choose_title(&m, &[]),
            (
                "Tides explained".to_owned(),
                TitleRule::TitleWithoutSiteName
            )
        );
        let m = meta_of(r#"<head><meta name="twitter:title" content="Tw"></head>"#);
        assert_eq!(choose_title(&m, &[]).1, TitleRule::MetaTitle);
        // Preference order, unless another tag has the same title without the site.
        let m = meta_of(
            r#"<head><meta property="og:title" content="Tides | Sea Notes">
               <meta name="twitter:title" content="Tides"></head>"#,
        );
        assert_eq!(choose_title(&m, &[]).0, "Tides");
        let m = meta_of(
            r#"<head><meta property="og:title" content="Tides">
               <meta name="twitter:title" content="Why tides"></head>"#,
        );
        assert_eq!(choose_title(&m, &[]).0, "Tides");
    }

    #[test]
    fn title_element_rules() {
        let h = |s: &str| vec![s.to_owned()];
        assert_eq!(
            split_title_element("Sea Notes » Tides Explained", None, &h("tides explained")),
            (
                "Tides Explained".to_owned(),
                TitleRule::TitlePartMatchingHeading
            )
        );
        // A one-word logo heading is not the article.
        assert_eq!(
            split_title_element("Standalone binaries · V8", None, &h("V8")).1,
            TitleRule::TitleElement
        );
        assert_eq!(
            split_title_element("How the tides work on every coast | Sea Notes", None, &[]).0,
            "How the tides work on every coast"
        );
        assert_eq!(
            split_title_element("Sea Notes » Tides", None, &[]),
            ("Sea Notes » Tides".to_owned(), TitleRule::TitleElement)
        );
        assert_eq!(
            split_title_element("Plain title", None, &[]),
            ("Plain title".to_owned(), TitleRule::TitleElement)
        );
    }

    #[test]
    fn no_title_takes_the_longest_early_heading() {
        let m = PageMeta::default();
        let hs = ["Intro".to_owned(), "The long heading".to_owned()];
        assert_eq!(
            choose_title(&m, &hs),
            ("The long heading".to_owned(), TitleRule::Heading)
        );
        assert_eq!(choose_title(&m, &[]).1, TitleRule::None);
    }

    #[test]
    fn published_from_time_element() {
        let m = meta_of(
            r#"<body><article><header><time datetime="2020-01-02">2 Jan</time></header></article></body>"#,
        );
        assert_eq!(m.published.as_deref(), Some("2020-01-02"));
    }
}
