//! The extractive summary on a synthetic multi-section article and on real pages.

use std::path::Path;
use std::sync::LazyLock;
use std::time::Instant;

use regex::Regex;
use vidflow_core::{Article, ArticleImage, Paragraph, Script};
use vidflow_script::{ScriptOptions, count_words, split_sentences, summarize};

const TOPICS: [&str; 5] = [
    "solar power",
    "wind turbines",
    "battery storage",
    "power grids",
    "energy policy",
];
const PLACES: [&str; 4] = ["Spain", "Texas", "Kenya", "Norway"];

/// One sentence of the synthetic article: as written on the page and as it must be spoken.
struct Known {
    spoken: String,
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Sentence `k` of paragraph `p` of section `s`: (page text, spoken text). Every sentence
/// is unique (it carries its own number) and the templates vary in length and shape.
fn sentence(s: usize, p: usize, k: usize) -> (String, String) {
    let t = TOPICS[s];
    let big = capitalise(t);
    let n = 10 + s * 16 + p * 4 + k;
    let place = PLACES[(s + p + k) % PLACES.len()];
    match (p * 4 + k + s) % 8 {
        0 => {
            let x = format!(
                "{big} has changed a great deal over the last {n} years in many countries."
            );
            (x.clone(), x)
        }
        1 => {
            let x = format!(
                "Engineers who study {t} say that its costs fell by about {n} percent since the early days."
            );
            (x.clone(), x)
        }
        2 => {
            let x = format!(
                "In {place}, {t} now supplies roughly {n} percent of all the electricity used by homes."
            );
            (x.clone(), x)
        }
        3 => {
            let x = format!(
                "Critics of {t} point to land use, noise and the cost of keeping old equipment running for {n} more years."
            );
            (x.clone(), x)
        }
        4 => {
            let x = format!(
                "Some experts, e.g. Dr. Rivera at the U.S. energy lab, expect {t} to grow {n} percent in {place}."
            );
            (x.clone(), x)
        }
        5 => {
            let x = format!("{big} grew {n} times.");
            (x.clone(), x)
        }
        6 => {
            let x = format!(
                "A long report on {t} listed {n} separate concerns about supply chains, local planning rules, \
                 grid connections, training of workers, insurance, financing terms, maintenance schedules, \
                 recycling of old parts and the many permits required before any project can begin."
            );
            (x.clone(), x)
        }
        _ => (
            format!("Investors watch {t} closely because prices moved {n} percent last year.[3]"),
            format!("Investors watch {t} closely because prices moved {n} percent last year."),
        ),
    }
}

const TITLE: &str = "How clean energy took over";

/// Five sections (a heading and three four-sentence paragraphs each), a boilerplate line,
/// and four images.
fn synthetic() -> (Article, Vec<Known>) {
    let mut paragraphs = vec![Paragraph {
        text: "Clean energy is now the cheapest new electricity in most of the world. \
               This article looks at how that happened."
            .into(),
        heading: None,
        is_heading: false,
    }];
    let mut known = vec![
        Known {
            spoken: "Clean energy is now the cheapest new electricity in most of the world.".into(),
        },
        Known {
            spoken: "This article looks at how that happened.".into(),
        },
    ];
    for (s, topic) in TOPICS.iter().enumerate() {
        let heading = capitalise(topic);
        paragraphs.push(Paragraph {
            text: heading.clone(),
            heading: None,
            is_heading: true,
        });
        for p in 0..3 {
            let mut text = Vec::new();
            for k in 0..4 {
                let (page, spoken) = sentence(s, p, k);
                text.push(page);
                known.push(Known { spoken });
            }
            paragraphs.push(Paragraph {
                text: text.join(" "),
                heading: Some(heading.clone()),
                is_heading: false,
            });
        }
        if s == 2 {
            paragraphs.push(Paragraph {
                text: "Click here to subscribe to our newsletter.".into(),
                heading: Some(heading.clone()),
                is_heading: false,
            });
        }
    }
    let images = [0, 3, 9, 17]
        .iter()
        .map(|&near| ArticleImage {
            url: format!("https://example.org/img{near}.jpg"),
            alt: Some(format!("Image near paragraph {near}")),
            near_paragraph: near,
        })
        .collect();
    let text = paragraphs
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join("\n\n");
    let article = Article {
        title: TITLE.into(),
        byline: None,
        site_name: None,
        published: None,
        lang: Some("en".into()),
        text,
        paragraphs,
        images,
    };
    (article, known)
}

/// Checks everything the summary promises for one set of options; returns how many
/// sentences were narrated.
fn check_script(
    article: &Article,
    known: &[Known],
    opts: &ScriptOptions,
    script: &Script,
) -> usize {
    let narration = script.narration();
    let words = count_words(&narration);
    let budget = opts.word_budget();
    assert!(words <= budget, "{words} words over a budget of {budget}");
    // Up to two minutes the article has plenty of distinct sentences to fill the budget;
    // beyond that its templated sentences start to repeat each other and are skipped.
    if opts.max_seconds <= 120.0 {
        assert!(
            words * 4 >= budget * 3,
            "only {words} of {budget} words used; the article has plenty more"
        );
    }
    assert_eq!(script.title, TITLE);
    assert!(
        script.segments[0]
            .narration
            .starts_with(&format!("{TITLE}. "))
    );

    // Every narrated word comes from a known sentence (or the intro), in page order.
    let mut found: Vec<(usize, usize)> = known
        .iter()
        .enumerate()
        .filter_map(|(g, k)| narration.find(&k.spoken).map(|pos| (pos, g)))
        .collect();
    found.sort_unstable();
    assert!(
        found.windows(2).all(|w| w[0].1 < w[1].1),
        "sentences out of page order: {found:?}"
    );
    let found_words: usize = found
        .iter()
        .map(|&(_, g)| count_words(&known[g].spoken))
        .sum();
    assert_eq!(
        found_words + count_words(TITLE),
        words,
        "narration holds words from no known sentence: {narration}"
    );
    assert!(!narration.contains("[3]") && !narration.contains("Click here"));

    // Segment bounds and contents.
    let picked = found.len();
    let n = script.segments.len();
    assert!(n <= opts.max_segments, "{n} segments");
    assert!(
        n >= opts.min_segments.min(picked),
        "{n} segments for {picked} sentences"
    );
    for seg in &script.segments {
        assert!(!seg.narration.is_empty());
        let key_words = count_words(&seg.key_sentence);
        assert!(
            key_words <= 25,
            "key sentence too long: {}",
            seg.key_sentence
        );
        let key_body = seg.key_sentence.trim_end_matches('…');
        assert!(
            seg.narration.contains(key_body),
            "key sentence not from its segment"
        );
        let heading = seg.heading.as_deref().unwrap_or("(none)");
        assert!(
            seg.heading.is_none() || TOPICS.iter().any(|t| capitalise(t) == heading),
            "unexpected heading {heading}"
        );
    }
    let mut images: Vec<usize> = script.segments.iter().filter_map(|s| s.image).collect();
    let with_images = images.len();
    images.sort_unstable();
    images.dedup();
    assert_eq!(images.len(), with_images, "an image is used twice");
    assert!(images.iter().all(|&i| i < article.images.len()));
    // The title card shows no image; an image only goes with words from its own section.
    assert!(
        script.segments[0].image.is_none(),
        "title card got an image"
    );
    assert!(n == 1 || with_images >= 1, "no segment got an image");
    assert!(
        with_images < n.max(1),
        "more images than non-title segments"
    );
    picked
}

#[test]
fn respects_order_budget_segments_and_images_at_15_60_120_seconds() {
    let (article, known) = synthetic();
    let mut narrated = Vec::new();
    for seconds in [15.0, 60.0, 120.0] {
        let opts = ScriptOptions {
            max_seconds: seconds,
            ..ScriptOptions::default()
        };
        let script = summarize(&article, &opts).unwrap();
        let picked = check_script(&article, &known, &opts, &script);
        narrated.push(picked);
        println!(
            "{seconds} s: {} words, {picked} sentences, {} segments",
            count_words(&script.narration()),
            script.segments.len()
        );
    }
    assert!(
        narrated[0] < narrated[1] && narrated[1] < narrated[2],
        "{narrated:?}"
    );
}

#[test]
fn segment_bounds_are_honoured() {
    let (article, known) = synthetic();
    for (seconds, min, max) in [(120.0, 2, 3), (60.0, 6, 8), (300.0, 1, 4), (30.0, 1, 1)] {
        let opts = ScriptOptions {
            max_seconds: seconds,
            min_segments: min,
            max_segments: max,
            ..ScriptOptions::default()
        };
        let script = summarize(&article, &opts).unwrap();
        check_script(&article, &known, &opts, &script);
        let n = script.segments.len();
        assert!(
            (min..=max).contains(&n),
            "{seconds} s, {min}..={max}: {n} segments"
        );
    }
}

#[test]
fn sections_shape_the_segments() {
    let (article, _) = synthetic();
    let opts = ScriptOptions {
        max_seconds: 600.0,
        ..ScriptOptions::default()
    };
    let script = summarize(&article, &opts).unwrap();
    // With room for everything, each section's sentences form their own segments of two to
    // four sentences, headed by the section's heading.
    for topic in TOPICS {
        let heading = capitalise(topic);
        let segs: Vec<_> = script
            .segments
            .iter()
            .filter(|s| s.heading.as_deref() == Some(heading.as_str()))
            .collect();
        assert!(!segs.is_empty(), "no segment for {heading}");
        for seg in segs {
            let sentences = split_sentences(&seg.narration).len();
            assert!(
                (2..=4).contains(&sentences),
                "{sentences} sentences in {heading}"
            );
            assert!(seg.narration.contains(topic) || seg.narration.contains(&heading));
        }
    }
    // The whole article fits in ten minutes: everything but the boilerplate is narrated.
    assert!(!script.narration().contains("subscribe"));
    assert_eq!(split_sentences(&script.narration()).len(), 1 + 2 + 5 * 12);
}

#[test]
fn is_deterministic() {
    let (article, _) = synthetic();
    let opts = ScriptOptions::default();
    let first = summarize(&article, &opts).unwrap();
    for _ in 0..3 {
        assert_eq!(summarize(&article.clone(), &opts).unwrap(), first);
    }
}

#[test]
fn abbreviations_survive_into_the_narration() {
    let (article, _) = synthetic();
    let opts = ScriptOptions {
        max_seconds: 600.0,
        ..ScriptOptions::default()
    };
    let narration = summarize(&article, &opts).unwrap().narration();
    let sentences = split_sentences(&narration);
    let with_abbreviations: Vec<_> = sentences.iter().filter(|s| s.contains("e.g.")).collect();
    assert!(!with_abbreviations.is_empty());
    for s in with_abbreviations {
        assert!(
            s.starts_with("Some experts, e.g. Dr. Rivera at the U.S. energy lab"),
            "{s}"
        );
        assert!(
            s.ends_with("percent in Spain.")
                || s.ends_with("Texas.")
                || s.ends_with("Kenya.")
                || s.ends_with("Norway."),
            "{s}"
        );
    }
    assert!(
        !sentences
            .iter()
            .any(|s| s == "Dr." || s.starts_with("Rivera") || s.starts_with("S. energy"))
    );
}

// ---------------------------------------------------------------------------------------
// Real pages: the fixtures' expected main text, with tags stripped crudely.

static SCRIPT_STYLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)<(script|style)\b.*?</(script|style)>").unwrap());
static HEADING_OPEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)<h[1-6]\b[^>]*>").unwrap());
static HEADING_CLOSE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)</h[1-6]\s*>").unwrap());
static IMG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)<img\b[^>]*?\bsrc\s*=\s*"([^"]*)"[^>]*>"#).unwrap());
static INLINE_IMG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)<img\b[^>]*\baria-hidden\s*=\s*"true"[^>]*>"#).unwrap());
static BLOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)</?(?:p|div|li|ul|ol|dl|dt|dd|blockquote|pre|table|tr|td|th|br|section|article|figure|figcaption|header|footer)\b[^>]*>").unwrap()
});
static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)<[^>]*>").unwrap());
static NUMERIC_ENTITY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"&#(x[0-9a-fA-F]+|[0-9]+);").unwrap());

fn decode_entities(text: &str) -> String {
    let text = NUMERIC_ENTITY.replace_all(text, |c: &regex::Captures<'_>| {
        let code = &c[1];
        let n = match code.strip_prefix('x') {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => code.parse().ok(),
        };
        n.and_then(char::from_u32)
            .map(String::from)
            .unwrap_or_default()
    });
    text.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&rsquo;", "’")
        .replace("&lsquo;", "‘")
        .replace("&ldquo;", "“")
        .replace("&rdquo;", "”")
        .replace("&mdash;", "—")
        .replace("&ndash;", "–")
        .replace("&hellip;", "…")
        .replace("&amp;", "&")
}

fn article_from_fixture(name: &str) -> Option<Article> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/readability")
        .join(name);
    let html = std::fs::read_to_string(dir.join("expected.html")).ok()?;
    let meta = std::fs::read_to_string(dir.join("expected-metadata.json")).ok()?;
    let meta: serde_json::Value = serde_json::from_str(&meta).ok()?;

    let html = SCRIPT_STYLE.replace_all(&html, " ");
    let html = HEADING_OPEN.replace_all(&html, "\n\n\u{1}");
    let html = HEADING_CLOSE.replace_all(&html, "\n\n");
    // Inline images (formulas drawn as pictures, icons) stay out of the way of the text;
    // the others become image markers between paragraphs.
    let html = INLINE_IMG.replace_all(&html, "");
    let html = IMG.replace_all(&html, "\n\n\u{2}$1\n\n");
    let html = BLOCK.replace_all(&html, "\n\n");
    let text = TAG.replace_all(&html, "");

    let mut paragraphs: Vec<Paragraph> = Vec::new();
    let mut images = Vec::new();
    let mut heading: Option<String> = None;
    for chunk in text.split("\n\n") {
        let chunk = decode_entities(chunk);
        let chunk = chunk.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(url) = chunk.strip_prefix('\u{2}') {
            images.push(ArticleImage {
                url: url.to_string(),
                alt: None,
                near_paragraph: paragraphs.len().saturating_sub(1),
            });
            continue;
        }
        let (is_heading, body) = match chunk.strip_prefix('\u{1}') {
            Some(h) => (true, h.trim().to_string()),
            None => (false, chunk),
        };
        if body.is_empty() {
            continue;
        }
        if is_heading {
            heading = Some(body.clone());
        }
        paragraphs.push(Paragraph {
            text: body,
            heading: if is_heading { None } else { heading.clone() },
            is_heading,
        });
    }
    let text = paragraphs
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join("\n\n");
    Some(Article {
        title: meta["title"].as_str().unwrap_or("").to_string(),
        byline: meta["byline"].as_str().map(String::from),
        site_name: None,
        published: None,
        lang: meta["lang"].as_str().map(String::from),
        text,
        paragraphs,
        images,
    })
}

fn bare_words(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn print_script(name: &str, script: &Script) {
    println!(
        "=== {name}: {} ({} words)",
        script.title,
        count_words(&script.narration())
    );
    for (i, seg) in script.segments.iter().enumerate() {
        println!(
            "--- segment {} [heading: {}] [image: {:?}]\n    key: {}\n    {}",
            i + 1,
            seg.heading.as_deref().unwrap_or("-"),
            seg.image,
            seg.key_sentence,
            seg.narration
        );
    }
}

#[test]
fn real_pages_read_sensibly() {
    let names = [
        "ars-1",
        "nytimes-1",
        "wikipedia-3",
        "dropbox-blog",
        "v8-blog",
        "wikipedia-2",
    ];
    let footnote = Regex::new(r"\[\d+\]").unwrap();
    let mut checked = 0;
    for name in names {
        let Some(article) = article_from_fixture(name) else {
            eprintln!("fixture {name} not found; skipped");
            continue;
        };
        let opts = ScriptOptions::default();
        let started = Instant::now();
        let script = summarize(&article, &opts).unwrap();
        let took = started.elapsed();
        let narration = script.narration();
        println!(
            "{name}: {} paragraphs, {} images -> {} words, {} segments in {:.1} ms",
            article.paragraphs.len(),
            article.images.len(),
            count_words(&narration),
            script.segments.len(),
            took.as_secs_f64() * 1000.0
        );
        // Shown with `--nocapture`, for a person to judge how the summary reads.
        print_script(name, &script);
        assert!(count_words(&narration) <= opts.word_budget());
        assert!(
            count_words(&narration) >= opts.word_budget() / 2,
            "{name}: {narration}"
        );
        let first_title_word = article.title.split_whitespace().next().unwrap();
        assert!(
            narration.starts_with(first_title_word),
            "{name}: no title intro"
        );
        assert!((3..=20).contains(&script.segments.len()), "{name}");
        assert!(!narration.contains("http"), "{name}: URL spoken");
        assert!(
            !footnote.is_match(&narration),
            "{name}: footnote mark spoken"
        );
        // Every narrated sentence starts like one of the page's own sentences (compared as
        // bare words, since cleaning for speech changes punctuation).
        let page_words = bare_words(&article.text);
        for sentence in split_sentences(&narration).iter().skip(1) {
            let probe = bare_words(sentence)
                .split(' ')
                .take(3)
                .collect::<Vec<_>>()
                .join(" ");
            assert!(
                page_words.contains(&probe),
                "{name}: {probe:?} is not from the page"
            );
        }
        assert_eq!(
            summarize(&article, &opts).unwrap(),
            script,
            "{name}: not deterministic"
        );
        checked += 1;
    }
    assert!(checked >= 3, "the readability fixtures are missing");
}
