//! Scores the extractor on the real-world pages in `shared/fixtures/readability` and fails if
//! it gets worse than it was measured to be.

use std::path::PathBuf;

use vidflow_extract::eval::evaluate_dir;

// Measured on the 55 pages: median F1 1.000, mean F1 1.000, title accuracy 0.982 (the one
// miss, v8-blog, is Readability cutting "Outside the web: " off at the colon), 4 pages
// refused as too short to narrate (mean 0.927 counting those as 0). The floors sit a little
// below, so a regression fails.
const MIN_MEDIAN_F1: f64 = 0.98;
const MIN_MEAN_F1: f64 = 0.97;
const MIN_TITLE_ACCURACY: f64 = 0.95;
const MIN_MEAN_F1_COUNTING_REFUSALS: f64 = 0.90;
const MAX_REFUSED: usize = 4;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/readability")
}

#[test]
fn readability_fixtures_score_well() {
    let dir = fixture_dir();
    // A missing fixture set is a failure, never a skip.
    let report = evaluate_dir(&dir)
        .unwrap_or_else(|e| panic!("fixtures at {} could not be evaluated: {e}", dir.display()));

    eprintln!("{:<32} {:>6}  title", "page", "f1");
    for page in report.worst_first() {
        eprintln!(
            "{:<32} {:>8.5}{}  {}{}",
            page.name,
            page.f1,
            if page.refused { " (refused)" } else { "" },
            if page.title_ok { "ok" } else { "MISS" },
            if page.title_ok {
                String::new()
            } else {
                format!(
                    " (want {:?}, got {:?})",
                    page.expected_title, page.got_title
                )
            }
        );
        if let Some(err) = &page.error {
            eprintln!("    error: {err}");
        }
    }
    eprintln!(
        "byline {}/{}  site_name {}/{}  published {}/{}",
        report.byline.matched,
        report.byline.stated,
        report.site_name.matched,
        report.site_name.stated,
        report.published.matched,
        report.published.stated
    );
    for rule in &report.title_rules {
        eprintln!(
            "title rule {:<30} fired {:>3}  right {:>3}",
            rule.rule.name(),
            rule.fired,
            rule.right
        );
    }
    eprintln!(
        "pages {}  median_f1 {:.4}  mean_f1 {:.4}  title_accuracy {:.4}  refused {}  mean_f1_counting_refusals {:.4}",
        report.pages.len(),
        report.median_f1,
        report.mean_f1,
        report.title_accuracy,
        report.refused,
        report.mean_f1_counting_refusals
    );
    let json = serde_json::to_string(&report).expect("report serialises");
    assert!(json.contains("\"median_f1\""));

    assert!(
        report.pages.len() >= 50,
        "expected the full fixture set, found {} pages",
        report.pages.len()
    );
    assert!(
        report.median_f1 >= MIN_MEDIAN_F1,
        "median F1 {} fell below {MIN_MEDIAN_F1}",
        report.median_f1
    );
    assert!(
        report.mean_f1 >= MIN_MEAN_F1,
        "mean F1 {} fell below {MIN_MEAN_F1}",
        report.mean_f1
    );
    assert!(
        report.mean_f1_counting_refusals >= MIN_MEAN_F1_COUNTING_REFUSALS,
        "mean F1 counting refusals {} fell below {MIN_MEAN_F1_COUNTING_REFUSALS}",
        report.mean_f1_counting_refusals
    );
    assert!(
        report.refused <= MAX_REFUSED,
        "{} pages refused, at most {MAX_REFUSED} expected",
        report.refused
    );
    // Measured: byline 31/31, site name 23/23, date 11/11 of the pages stating them.
    for (field, acc) in [
        ("byline", &report.byline),
        ("site name", &report.site_name),
        ("published", &report.published),
    ] {
        assert!(
            acc.stated >= 10,
            "{field}: only {} pages state it",
            acc.stated
        );
        assert!(
            acc.matched as f64 >= 0.9 * acc.stated as f64,
            "{field}: {} of {} matched",
            acc.matched,
            acc.stated
        );
    }
    assert!(
        report.title_accuracy >= MIN_TITLE_ACCURACY,
        "title accuracy {} fell below {MIN_TITLE_ACCURACY}",
        report.title_accuracy
    );
}

/// Author, site name and publication date, on real pages that state them in different
/// places: JSON-LD (aclu, lazy-image-1), Open Graph and `article:` tags (ars-1,
/// article-author-tag), Parse.ly tags (parsely-metadata), a byline in the text (nytimes-1).
#[test]
fn byline_site_name_and_date_from_real_pages() {
    let dir = fixture_dir();
    let article = |name: &str| {
        let html = std::fs::read_to_string(dir.join(name).join("source.html"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        vidflow_extract::extract_html(&html, vidflow_extract::eval::FIXTURE_URL)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let a = article("ars-1");
    assert_eq!(a.site_name.as_deref(), Some("Ars Technica"));
    assert_eq!(a.byline.as_deref(), Some("Dan Goodin"));
    let a = article("aclu");
    assert_eq!(
        a.site_name.as_deref(),
        Some("American Civil Liberties Union")
    );
    assert_eq!(a.byline.as_deref(), Some("Daniel Kahn Gillmor"));
    assert_eq!(a.published.as_deref(), Some("2018-04-05T06:00"));
    let a = article("lazy-image-1");
    assert_eq!(a.published.as_deref(), Some("2019-10-18T17:23:34.816Z"));
    assert_eq!(a.site_name.as_deref(), Some("Voodoo Engineering"));
    let a = article("article-author-tag");
    assert_eq!(a.published.as_deref(), Some("2015-07-10T09:53:00-04:00"));
    assert_eq!(a.byline.as_deref(), Some("Laura June Topolsky"));
    let a = article("parsely-metadata");
    assert_eq!(a.byline.as_deref(), Some("Jane Doe"));
    assert_eq!(a.published.as_deref(), Some("2024-04-20T04:20:00.000Z"));
    let a = article("nytimes-1");
    assert_eq!(a.byline.as_deref(), Some("Jeffrey Gettleman"));
    // A page that states no site name gets none (the title card then shows the host).
    assert_eq!(article("001").site_name, None);
}

/// The yardstick must be able to tell a good extraction from a bad one: the whole page's
/// text (navigation, comments, footers and all) scores clearly worse than the extractor.
#[test]
fn whole_page_text_scores_worse_than_extraction() {
    use vidflow_extract::eval::{html_text, word_f1};
    let dir = fixture_dir();
    let mut scores = Vec::new();
    for name in [
        "aclu",
        "cnn",
        "nytimes-1",
        "wikipedia-2",
        "lifehacker-working",
        "medium-2",
    ] {
        let folder = dir.join(name);
        let read = |f: &str| {
            std::fs::read_to_string(folder.join(f))
                .unwrap_or_else(|e| panic!("{}/{f}: {e}", folder.display()))
        };
        let f1 = word_f1(
            &html_text(&read("source.html")),
            &html_text(&read("expected.html")),
        );
        eprintln!("{name}: whole-page F1 {f1:.3}");
        scores.push(f1);
    }
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    assert!(
        mean < 0.9,
        "whole-page text scored {mean:.3}; the metric does not discriminate"
    );
}

/// The nesting cap must leave real pages alone: every fixture passes through it unchanged
/// (borrowed, not rebuilt), so the extractor's output on them is byte-identical to what it
/// was before the cap.
#[test]
fn nesting_cap_leaves_every_fixture_unchanged() {
    let dir = fixture_dir();
    let mut pages = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let source = entry.unwrap().path().join("source.html");
        let Ok(bytes) = std::fs::read(&source) else {
            continue;
        };
        let html = vidflow_extract::decode_body(&bytes, None);
        assert!(
            matches!(
                vidflow_extract::depth::cap_depth(&html),
                std::borrow::Cow::Borrowed(_)
            ),
            "{} was changed by the nesting cap",
            source.display()
        );
        pages += 1;
    }
    assert!(pages >= 50, "only {pages} fixture pages found");
}
