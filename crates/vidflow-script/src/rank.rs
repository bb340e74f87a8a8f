//! Sentence ranking: TextRank over TF-IDF cosine similarity, shaped by position and length.
//!
//! A sentence that shares many informative words with many other sentences is central to
//! the article; PageRank over the similarity graph finds those. The score is then nudged by
//! where the sentence sits (news and explainers put the point first) and by its length (a
//! fragment or a 70-word run-on makes poor narration).

use std::collections::HashMap;

use unicode_segmentation::UnicodeSegmentation;

/// Only the first sentences of a very long page are ranked, to keep the O(n²) similarity
/// graph small; a narration of minutes never needs more than these to choose from.
pub(crate) const MAX_RANKED: usize = 1500;

const DAMPING: f64 = 0.85;

/// What the ranker needs to know about a sentence.
pub(crate) struct RankInput<'a> {
    /// The sentence as it will be spoken.
    pub text: &'a str,
    /// Its spoken word count.
    pub words: usize,
    /// Whether it opens its paragraph (topic sentences often do).
    pub opens_paragraph: bool,
}

/// The outcome of ranking: a score per sentence and what is needed to compare two.
pub(crate) struct Ranking {
    /// Higher is better.
    pub scores: Vec<f64>,
    vectors: Vec<Vec<(usize, f64)>>,
}

impl Ranking {
    /// Cosine similarity of two sentences' TF-IDF vectors (0 for unranked sentences).
    pub fn similarity(&self, a: usize, b: usize) -> f64 {
        let (Some(va), Some(vb)) = (self.vectors.get(a), self.vectors.get(b)) else {
            return 0.0;
        };
        let (mut i, mut j, mut dot) = (0, 0, 0.0);
        while i < va.len() && j < vb.len() {
            match va[i].0.cmp(&vb[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    dot += va[i].1 * vb[j].1;
                    i += 1;
                    j += 1;
                }
            }
        }
        dot
    }
}

/// Scores every sentence. Deterministic for the same input.
pub(crate) fn rank(sentences: &[RankInput<'_>]) -> Ranking {
    let n = sentences.len().min(MAX_RANKED);
    let vectors = tfidf_vectors(&sentences[..n]);
    let centrality = textrank(&vectors);
    let top = centrality.iter().cloned().fold(0.0_f64, f64::max);
    let scores = (0..sentences.len())
        .map(|i| {
            if i >= n {
                return 0.0;
            }
            let central = if top > 0.0 { centrality[i] / top } else { 1.0 };
            let s = &sentences[i];
            central
                * lead_bias(i, n)
                * length_factor(s.words)
                * shape_factor(s.text)
                * prose_factor(s.text)
                * if s.opens_paragraph { 1.05 } else { 1.0 }
        })
        .collect();
    Ranking { scores, vectors }
}

/// A mild preference for early sentences: 1.3 for the first, 1.0 for the last.
fn lead_bias(index: usize, count: usize) -> f64 {
    if count <= 1 {
        return 1.3;
    }
    let rest = 1.0 - index as f64 / (count - 1) as f64;
    1.0 + 0.3 * rest * rest
}

/// Penalises fragments and run-ons; 8 to 35 words is the comfortable range for narration.
fn length_factor(words: usize) -> f64 {
    match words {
        0..=2 => 0.1,
        3 => 0.25,
        4..=7 => 0.4 + 0.15 * (words - 4) as f64,
        8..=35 => 1.0,
        36..=60 => 1.0 - 0.4 * (words - 35) as f64 / 25.0,
        _ => 0.4,
    }
}

/// Sentences that lean on what came before ("However, …") or introduce a list ("…:") read
/// badly when lifted out of their context.
fn shape_factor(text: &str) -> f64 {
    const CONNECTIVES: &[&str] = &[
        "however",
        "but",
        "and",
        "so",
        "also",
        "thus",
        "therefore",
        "moreover",
        "furthermore",
        "instead",
        "yet",
        "still",
        "meanwhile",
        "additionally",
        "otherwise",
        "hence",
    ];
    let first = text
        .unicode_words()
        .next()
        .map(str::to_lowercase)
        .unwrap_or_default();
    let mut factor = 1.0;
    if CONNECTIVES.contains(&first.as_str()) {
        factor *= 0.85;
    }
    if text.trim_end().ends_with(':') {
        factor *= 0.5;
    }
    // A sentence starting in lower case is the tail of one that something (a formula, a
    // link, markup) interrupted.
    if text
        .chars()
        .find(|c| c.is_alphanumeric())
        .is_some_and(char::is_lowercase)
    {
        factor *= 0.3;
    }
    factor
}

/// Code, logs and lists that slipped into the text ("list: list: list: …") make no sense
/// read aloud: they repeat a few words, or are mostly symbols.
fn prose_factor(text: &str) -> f64 {
    let words: Vec<String> = text.unicode_words().map(str::to_lowercase).collect();
    let mut factor = 1.0;
    if words.len() >= 6 {
        let mut distinct = words.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if (distinct.len() as f64) < 0.5 * words.len() as f64 {
            factor *= 0.2;
        }
    }
    let visible = text.chars().filter(|c| !c.is_whitespace()).count().max(1);
    let symbols = text
        .chars()
        .filter(|c| !c.is_alphanumeric() && !c.is_whitespace())
        .count();
    if symbols as f64 > 0.15 * visible as f64 {
        factor *= 0.3;
    }
    factor
}

/// Unit-length TF-IDF vectors, as (term id, weight) sorted by term id.
fn tfidf_vectors(sentences: &[RankInput<'_>]) -> Vec<Vec<(usize, f64)>> {
    let mut ids: HashMap<String, usize> = HashMap::new();
    let counts: Vec<Vec<(usize, usize)>> = sentences
        .iter()
        .map(|s| {
            let mut tf: Vec<(usize, usize)> = Vec::new();
            for term in terms(s.text) {
                let next_id = ids.len();
                let id = *ids.entry(term).or_insert(next_id);
                match tf.iter_mut().find(|(t, _)| *t == id) {
                    Some((_, c)) => *c += 1,
                    None => tf.push((id, 1)),
                }
            }
            tf.sort_unstable();
            tf
        })
        .collect();
    let mut df = vec![0usize; ids.len()];
    for tf in &counts {
        for &(t, _) in tf {
            df[t] += 1;
        }
    }
    let n = sentences.len() as f64;
    counts
        .into_iter()
        .map(|tf| {
            let mut v: Vec<(usize, f64)> = tf
                .into_iter()
                .map(|(t, c)| {
                    let idf = ((n + 1.0) / (df[t] as f64 + 1.0)).ln() + 1.0;
                    (t, (1.0 + (c as f64).ln()) * idf)
                })
                .collect();
            let norm = v.iter().map(|(_, w)| w * w).sum::<f64>().sqrt();
            if norm > 0.0 {
                for (_, w) in &mut v {
                    *w /= norm;
                }
            }
            v
        })
        .collect()
}

/// Content words of a sentence, lower-cased, stop words dropped, plurals folded.
fn terms(text: &str) -> impl Iterator<Item = String> + '_ {
    text.unicode_words().filter_map(|w| {
        let lower = w.to_lowercase();
        let lower = lower
            .strip_suffix("'s")
            .or_else(|| lower.strip_suffix("’s"))
            .unwrap_or(&lower)
            .to_string();
        if lower.chars().count() < 2 || is_stop_word(&lower) {
            return None;
        }
        Some(fold_plural(lower))
    })
}

fn fold_plural(word: String) -> String {
    let len = word.chars().count();
    if len > 4 && word.ends_with("ies") {
        return format!("{}y", &word[..word.len() - 3]);
    }
    if len > 3
        && word.ends_with('s')
        && !word.ends_with("ss")
        && !word.ends_with("us")
        && !word.ends_with("is")
    {
        return word[..word.len() - 1].to_string();
    }
    word
}

fn is_stop_word(word: &str) -> bool {
    const STOP: &[&str] = &[
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "even",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "however",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "let",
        "like",
        "made",
        "make",
        "many",
        "may",
        "me",
        "might",
        "more",
        "most",
        "much",
        "must",
        "my",
        "myself",
        "new",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "one",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "said",
        "same",
        "say",
        "says",
        "she",
        "should",
        "so",
        "some",
        "still",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "us",
        "use",
        "used",
        "using",
        "very",
        "was",
        "we",
        "well",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "yet",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "it's",
        "don't",
        "i'm",
        "we're",
        "they're",
        "that's",
        "there's",
        "can't",
        "won't",
        "isn't",
        "aren't",
        "wasn't",
        "didn't",
        "doesn't",
    ];
    STOP.contains(&word)
}

/// PageRank over the weighted similarity graph.
fn textrank(vectors: &[Vec<(usize, f64)>]) -> Vec<f64> {
    let n = vectors.len();
    if n == 0 {
        return Vec::new();
    }
    // Inverted index: for each term, the sentences holding it and their weights.
    let mut postings: HashMap<usize, Vec<(usize, f64)>> = HashMap::new();
    for (i, v) in vectors.iter().enumerate() {
        for &(t, w) in v {
            postings.entry(t).or_default().push((i, w));
        }
    }
    let mut edges: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    let mut acc = vec![0.0f64; n];
    let mut touched: Vec<usize> = Vec::new();
    for (i, v) in vectors.iter().enumerate() {
        for &(t, w) in v {
            for &(j, wj) in &postings[&t] {
                if j <= i {
                    continue;
                }
                if acc[j] == 0.0 {
                    touched.push(j);
                }
                acc[j] += w * wj;
            }
        }
        // Sorting the touched list keeps edge order, and so float sums, independent of
        // hash-map iteration order.
        touched.sort_unstable();
        for &j in &touched {
            let sim = acc[j];
            acc[j] = 0.0;
            if sim > 0.0 {
                edges[i].push((j, sim));
                edges[j].push((i, sim));
            }
        }
        touched.clear();
    }
    for e in &mut edges {
        e.sort_unstable_by_key(|&(j, _)| j);
    }
    let out_weight: Vec<f64> = edges
        .iter()
        .map(|e| e.iter().map(|&(_, w)| w).sum())
        .collect();

    let nf = n as f64;
    let mut rank = vec![1.0 / nf; n];
    let mut next = vec![0.0; n];
    for _ in 0..200 {
        // Sentences sharing nothing with the rest spread their rank evenly.
        let dangling: f64 = (0..n)
            .filter(|&j| out_weight[j] == 0.0)
            .map(|j| rank[j])
            .sum();
        let base = (1.0 - DAMPING) / nf + DAMPING * dangling / nf;
        for i in 0..n {
            let inflow: f64 = edges[i]
                .iter()
                .map(|&(j, w)| w / out_weight[j] * rank[j])
                .sum();
            next[i] = base + DAMPING * inflow;
        }
        let change: f64 = rank.iter().zip(&next).map(|(a, b)| (a - b).abs()).sum();
        std::mem::swap(&mut rank, &mut next);
        if change < 1e-10 {
            break;
        }
    }
    rank
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(text: &str) -> RankInput<'_> {
        RankInput {
            text,
            words: crate::count_words(text),
            opens_paragraph: false,
        }
    }

    #[test]
    fn central_sentences_outrank_off_topic_ones() {
        let texts = [
            "My cat enjoys sleeping in warm sunny window spots every afternoon.",
            "Solar panels convert sunlight into electricity for homes and factories.",
            "Modern solar panels convert more sunlight into electricity than older panels did.",
            "Electricity from solar panels is now cheaper than electricity from coal plants.",
            "Grid operators store solar electricity in batteries for the evening peak.",
        ];
        let inputs: Vec<_> = texts.iter().map(|t| input(t)).collect();
        let scores = rank(&inputs).scores;
        let best_solar = scores[1..].iter().cloned().fold(0.0, f64::max);
        assert!(scores[0] < best_solar, "{scores:?}");
        // The off-topic sentence has the lead bonus and still loses to every solar sentence
        // that shares words with the others.
        assert!(scores[0] < scores[2] && scores[0] < scores[3], "{scores:?}");
    }

    #[test]
    fn ranking_is_deterministic_and_length_aware() {
        let texts = [
            "Rust programs compile to fast native code without a garbage collector.",
            "Rust.",
            "The Rust compiler checks ownership and borrowing to prevent data races in code.",
        ];
        let inputs: Vec<_> = texts.iter().map(|t| input(t)).collect();
        let a = rank(&inputs).scores;
        let b = rank(&inputs).scores;
        assert_eq!(a, b);
        assert!(
            a[1] < a[0] && a[1] < a[2],
            "fragment ranked too high: {a:?}"
        );
    }

    #[test]
    fn similarity_is_cosine() {
        let texts = [
            "Tidal energy turns moving water into power.",
            "Moving water turns tidal energy into power.",
            "Cats sleep.",
        ];
        let inputs: Vec<_> = texts.iter().map(|t| input(t)).collect();
        let ranking = rank(&inputs);
        assert!((ranking.similarity(0, 1) - 1.0).abs() < 1e-9);
        assert_eq!(ranking.similarity(0, 2), 0.0);
        assert_eq!(ranking.similarity(0, 99), 0.0);
    }

    #[test]
    fn plurals_fold_and_stop_words_go() {
        let t: Vec<String> = terms("The batteries of the cars' engines and the bus").collect();
        assert_eq!(t, ["battery", "car", "engine", "bus"]);
    }
}
