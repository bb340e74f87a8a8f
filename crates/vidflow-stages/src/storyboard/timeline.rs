//! The storyboard: from script and speech to a [`Timeline`] — slides, subtitle cues,
//! the viseme track and blinks — all derived deterministically from their inputs.

use vidflow_core::{
    Article, Blink, Cue, ImageAsset, MotionSeed, Script, Slide, SlideLayout, Speech, Timeline,
    VideoSize, Viseme, VisemeSpan, WordTiming,
};

/// Longest subtitle line in characters (broadcast guidance is 37–42).
pub const MAX_LINE_CHARS: usize = 42;
/// Most lines in one cue.
pub const MAX_LINES: usize = 2;
/// Longest time one cue stays up, seconds.
const MAX_CUE_SECONDS: f64 = 6.0;
/// Mouth shapes shorter than this are merged into a neighbour: a shape held for less than
/// about a frame reads as flicker, not speech.
const MIN_VISEME_SECONDS: f64 = 0.03;

/// What the storyboard needs beyond the stage outputs.
#[derive(Debug, Clone)]
pub struct StoryboardOptions {
    /// Frame size.
    pub size: VideoSize,
    /// Frames per second.
    pub fps: u32,
    /// Burn subtitles into the frames.
    pub burn_subtitles: bool,
    /// Where the page came from (footer).
    pub source: String,
    /// The web page's host (`example.org`), for the title card when the page names no
    /// site; `None` for a local file, whose name is no publication.
    pub host: Option<String>,
    /// Seed for blinks and idle motion (derived from the content key upstream).
    pub seed: u64,
}

/// Builds the timeline. `images[i]` holds the fetched bytes of `article.images[i]`, or
/// `None` when it could not be fetched (that slide then shows text only).
pub fn build_timeline(
    article: &Article,
    script: &Script,
    speech: &Speech,
    images: &[Option<Vec<u8>>],
    opts: &StoryboardOptions,
) -> Timeline {
    let duration = speech.duration();
    let frame_count = (duration * opts.fps as f64).ceil() as u64;

    let mut assets: Vec<ImageAsset> = Vec::new();
    // Article image index → asset index, so an image used twice is stored once.
    let mut asset_of: std::collections::HashMap<usize, usize> = Default::default();
    let mut slides = Vec::with_capacity(script.segments.len());
    for (i, seg) in script.segments.iter().enumerate() {
        let (start, end) = match speech.segments.get(i) {
            Some(s) => (s.start, s.end),
            None => continue,
        };
        let image = seg.image.and_then(|idx| {
            if let Some(&a) = asset_of.get(&idx) {
                return Some(a);
            }
            let bytes = images.get(idx)?.as_ref()?;
            let url = article
                .images
                .get(idx)
                .map(|im| im.url.clone())
                .unwrap_or_default();
            assets.push(ImageAsset {
                url,
                bytes: bytes.clone(),
            });
            asset_of.insert(idx, assets.len() - 1);
            Some(assets.len() - 1)
        });
        let layout = if i == 0 {
            SlideLayout::Title
        } else if image.is_some() {
            SlideLayout::TextImage
        } else {
            SlideLayout::Text
        };
        slides.push(Slide {
            start,
            end,
            index: i,
            heading: seg.heading.clone(),
            body: seg.key_sentence.clone(),
            image,
            layout,
        });
    }
    // Slides tile [0, duration): the first starts at 0, each ends where the next starts.
    if let Some(first) = slides.first_mut() {
        first.start = 0.0;
    }
    for i in 1..slides.len() {
        let next_start = slides[i].start;
        slides[i - 1].end = next_start;
    }
    if let Some(last) = slides.last_mut() {
        last.end = duration;
    }

    Timeline {
        size: opts.size,
        fps: opts.fps,
        duration,
        frame_count,
        title: script.title.clone(),
        source: opts.source.clone(),
        site_name: article
            .site_name
            .clone()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| opts.host.clone()),
        byline: article.byline.clone(),
        published: article.published.clone(),
        slides,
        cues: subtitle_cues(&speech.words, duration),
        visemes: viseme_track(speech, duration),
        blinks: blinks(duration, opts.seed),
        motion: MotionSeed {
            seed: opts.seed,
            amount: 1.0,
        },
        images: assets,
        accent: accent_for(&script.title),
        burn_subtitles: opts.burn_subtitles,
    }
}

/// Groups timed words into cues of at most two lines of [`MAX_LINE_CHARS`], never
/// splitting a word, breaking preferably at sentence ends and segment boundaries.
/// Cues are ordered and never overlap.
pub fn subtitle_cues(words: &[WordTiming], duration: f64) -> Vec<Cue> {
    let mut cues = Vec::new();
    let mut current: Vec<&WordTiming> = Vec::new();
    let flush = |current: &mut Vec<&WordTiming>, cues: &mut Vec<Cue>| {
        if current.is_empty() {
            return;
        }
        let texts: Vec<&str> = current.iter().map(|w| w.text.as_str()).collect();
        let lines = wrap_lines(&texts, MAX_LINE_CHARS);
        cues.push(Cue {
            start: current[0].start,
            end: current[current.len() - 1].end,
            lines,
        });
        current.clear();
    };
    for w in words {
        if w.text.trim().is_empty() {
            continue;
        }
        if let Some(prev) = current.last() {
            let mut trial: Vec<&str> = current.iter().map(|w| w.text.as_str()).collect();
            trial.push(&w.text);
            let too_long = wrap_lines(&trial, MAX_LINE_CHARS).len() > MAX_LINES
                || w.end - current[0].start > MAX_CUE_SECONDS;
            let new_segment = w.segment != prev.segment;
            // A long pause means a new thought: start a new cue.
            let pause = w.start - prev.end > 0.6;
            if too_long || new_segment || pause {
                flush(&mut current, &mut cues);
            }
        }
        let ends_sentence = w.text.ends_with(['.', '!', '?', ':', ';']);
        current.push(w);
        // Prefer to close a cue at a sentence end once it is reasonably full.
        let chars: usize = current.iter().map(|w| w.text.chars().count() + 1).sum();
        if ends_sentence && chars > MAX_LINE_CHARS / 2 {
            flush(&mut current, &mut cues);
        }
    }
    flush(&mut current, &mut cues);

    // Keep each cue up a little after its last word (reading time) without touching the next.
    for i in 0..cues.len() {
        let limit = cues.get(i + 1).map(|c| c.start).unwrap_or(duration);
        let wanted = (cues[i].end + 0.4).max(cues[i].start + 1.0);
        cues[i].end = wanted.min(limit).max(cues[i].end.min(limit));
    }
    cues
}

/// Breaks words into lines of at most `max` characters (a single longer word gets a line
/// to itself rather than being split).
pub fn wrap_lines(words: &[&str], max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for w in words {
        let w = w.trim();
        if line.is_empty() {
            line.push_str(w);
        } else if line.chars().count() + 1 + w.chars().count() <= max {
            line.push(' ');
            line.push_str(w);
        } else {
            lines.push(std::mem::take(&mut line));
            line.push_str(w);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    // Balance two lines so the top one is not a long line over a stub.
    if lines.len() == 2 {
        let all: Vec<&str> = words.iter().map(|w| w.trim()).collect();
        let mut best: Option<(usize, Vec<String>)> = None;
        for split in 1..all.len() {
            let a = all[..split].join(" ");
            let b = all[split..].join(" ");
            let (la, lb) = (a.chars().count(), b.chars().count());
            if la > max || lb > max {
                continue;
            }
            let diff = la.abs_diff(lb);
            if best.as_ref().is_none_or(|(d, _)| diff < *d) {
                best = Some((diff, vec![a, b]));
            }
        }
        if let Some((_, balanced)) = best {
            return balanced;
        }
    }
    lines
}

/// Mouth shapes from the phone timings (ARPAbet from Flite or IPA from a neural voice),
/// merged and tiling `[0, duration)`.
pub fn viseme_track(speech: &Speech, duration: f64) -> Vec<VisemeSpan> {
    let mut spans: Vec<VisemeSpan> = Vec::new();
    for p in &speech.phones {
        if p.end <= p.start {
            continue;
        }
        let shape = Viseme::from_phone(&p.phone);
        match spans.last_mut() {
            Some(last) if last.shape == shape => last.end = p.end,
            _ => spans.push(VisemeSpan {
                start: p.start,
                end: p.end,
                shape,
            }),
        }
    }
    // Fold very short shapes into the previous one, then re-merge equal neighbours.
    let mut merged: Vec<VisemeSpan> = Vec::with_capacity(spans.len());
    for s in spans {
        match merged.last_mut() {
            Some(last) if s.end - s.start < MIN_VISEME_SECONDS || last.shape == s.shape => {
                last.end = s.end
            }
            _ => merged.push(s),
        }
    }
    // Tile [0, duration).
    if let Some(first) = merged.first_mut() {
        first.start = 0.0;
    }
    for i in 1..merged.len() {
        merged[i].start = merged[i - 1].end;
    }
    match merged.last_mut() {
        Some(last) => last.end = last.end.max(duration),
        None => merged.push(VisemeSpan {
            start: 0.0,
            end: duration,
            shape: Viseme::X,
        }),
    }
    merged
}

/// A small deterministic generator (SplitMix64): reproducible blinks without a dependency.
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Blinks every 2–6 seconds (people blink about every 4 s), seeded.
pub fn blinks(duration: f64, seed: u64) -> Vec<Blink> {
    let mut rng = SplitMix(seed);
    let mut out = Vec::new();
    let mut t = 0.8 + rng.next_f64() * 1.5;
    while t + 0.2 < duration {
        let blink_len = 0.12 + rng.next_f64() * 0.08;
        out.push(Blink {
            start: t,
            duration: blink_len,
        });
        // Now and then a double blink, as people do.
        if rng.next_f64() < 0.12 && t + 0.6 < duration {
            out.push(Blink {
                start: t + blink_len + 0.12,
                duration: blink_len,
            });
            t += blink_len + 0.12;
        }
        t += blink_len + 2.0 + rng.next_f64() * 4.0;
    }
    out
}

/// Theme accent from a small palette of colours that read well with white text.
pub fn accent_for(title: &str) -> [u8; 3] {
    const PALETTE: [[u8; 3]; 6] = [
        [37, 99, 235],  // blue
        [13, 148, 136], // teal
        [124, 58, 237], // violet
        [220, 38, 38],  // red
        [217, 119, 6],  // amber
        [5, 150, 105],  // green
    ];
    let h = blake3::hash(title.as_bytes());
    PALETTE[h.as_bytes()[0] as usize % PALETTE.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use vidflow_core::{PhoneTiming, SpeechSegment};

    fn word(text: &str, start: f64, end: f64, segment: usize) -> WordTiming {
        WordTiming {
            text: text.into(),
            start,
            end,
            segment,
        }
    }

    #[test]
    fn cues_respect_line_limits_and_never_overlap() {
        let text = "The quick brown fox jumps over the lazy dog while the cat watches from a distance and wonders why anyone would bother. Then it sleeps.";
        let words: Vec<WordTiming> = text
            .split(' ')
            .enumerate()
            .map(|(i, w)| word(w, i as f64 * 0.3, i as f64 * 0.3 + 0.25, 0))
            .collect();
        let cues = subtitle_cues(&words, 10.0);
        assert!(cues.len() >= 2);
        let mut all = Vec::new();
        for (i, c) in cues.iter().enumerate() {
            assert!(c.lines.len() <= MAX_LINES);
            for l in &c.lines {
                assert!(l.chars().count() <= MAX_LINE_CHARS, "{l}");
            }
            assert!(c.start < c.end);
            if i > 0 {
                assert!(cues[i - 1].end <= c.start);
            }
            all.extend(c.text().split(' ').map(str::to_owned));
        }
        assert_eq!(all.join(" "), text);
    }

    #[test]
    fn cues_break_at_segments() {
        let words = vec![word("One.", 0.0, 0.5, 0), word("Two.", 1.0, 1.5, 1)];
        let cues = subtitle_cues(&words, 2.0);
        assert_eq!(cues.len(), 2);
    }

    #[test]
    fn balanced_two_lines() {
        let words: Vec<&str> = "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk"
            .split(' ')
            .collect();
        let lines = wrap_lines(&words, 42);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].len().abs_diff(lines[1].len()) <= 5);
    }

    #[test]
    fn visemes_tile_and_map() {
        let phones = vec![
            PhoneTiming {
                phone: "pau".into(),
                start: 0.0,
                end: 0.2,
            },
            PhoneTiming {
                phone: "m".into(),
                start: 0.2,
                end: 0.3,
            },
            PhoneTiming {
                phone: "aa".into(),
                start: 0.3,
                end: 0.5,
            },
            PhoneTiming {
                phone: "pau".into(),
                start: 0.5,
                end: 0.8,
            },
        ];
        let speech = Speech {
            sample_rate: 10,
            samples: vec![0; 10].into(),
            phones,
            ..Default::default()
        };
        let v = viseme_track(&speech, 1.0);
        assert_eq!(
            v.iter().map(|s| s.shape).collect::<Vec<_>>(),
            vec![Viseme::X, Viseme::A, Viseme::D, Viseme::X]
        );
        assert_eq!(v[0].start, 0.0);
        assert_eq!(v.last().unwrap().end, 1.0);
        for w in v.windows(2) {
            assert_eq!(w[0].end, w[1].start);
        }
    }

    #[test]
    fn blinks_are_seeded() {
        assert_eq!(blinks(60.0, 7), blinks(60.0, 7));
        assert_ne!(blinks(60.0, 7), blinks(60.0, 8));
        let b = blinks(60.0, 7);
        assert!(b.len() >= 8 && b.len() <= 40, "{}", b.len());
    }

    #[test]
    fn slides_tile_the_speech() {
        let script = Script {
            title: "T".into(),
            segments: vec![
                vidflow_core::Segment {
                    narration: "a".into(),
                    heading: None,
                    key_sentence: "a".into(),
                    image: Some(0),
                },
                vidflow_core::Segment {
                    narration: "b".into(),
                    heading: None,
                    key_sentence: "b".into(),
                    image: Some(0),
                },
            ],
        };
        let speech = Speech {
            sample_rate: 100,
            samples: vec![0; 300].into(),
            segments: vec![
                SpeechSegment {
                    start: 0.1,
                    end: 1.5,
                },
                SpeechSegment {
                    start: 1.5,
                    end: 3.0,
                },
            ],
            ..Default::default()
        };
        let article = Article {
            images: vec![vidflow_core::ArticleImage {
                url: "x".into(),
                alt: None,
                near_paragraph: 0,
            }],
            ..Default::default()
        };
        let opts = StoryboardOptions {
            size: VideoSize {
                width: 1280,
                height: 720,
            },
            fps: 30,
            burn_subtitles: true,
            source: "s".into(),
            host: None,
            seed: 1,
        };
        let t = build_timeline(&article, &script, &speech, &[Some(vec![1, 2])], &opts);
        assert_eq!(t.frame_count, 90);
        // A local file that names no site has no kicker; the page's own name wins over
        // a web page's host.
        assert_eq!(t.site_name, None);
        let named = Article {
            site_name: Some("Sea Notes".into()),
            byline: Some("Ada".into()),
            published: Some("2021-05-14".into()),
            ..article.clone()
        };
        let web = StoryboardOptions {
            host: Some("sea.example".into()),
            ..opts.clone()
        };
        let t3 = build_timeline(&named, &script, &speech, &[None], &web);
        assert_eq!(t3.site_name.as_deref(), Some("Sea Notes"));
        assert_eq!(t3.byline.as_deref(), Some("Ada"));
        assert_eq!(t3.published.as_deref(), Some("2021-05-14"));
        let t4 = build_timeline(&article, &script, &speech, &[None], &web);
        assert_eq!(t4.site_name.as_deref(), Some("sea.example"));
        assert_eq!(t.slides[0].start, 0.0);
        assert_eq!(t.slides[1].end, 3.0);
        assert_eq!(t.slides[0].layout, SlideLayout::Title);
        assert_eq!(t.slides[1].layout, SlideLayout::TextImage);
        // Image fetched once per use; unfetchable images fall back to text.
        let t2 = build_timeline(&article, &script, &speech, &[None], &opts);
        assert_eq!(t2.slides[1].layout, SlideLayout::Text);
    }
}
