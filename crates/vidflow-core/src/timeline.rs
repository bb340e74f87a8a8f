//! The Timeline: everything the renderer needs, as a pure description.
//!
//! A frame is a pure function of (Timeline, avatar, frame index): the Timeline
//! carries every time range, every string and every image byte it shows, and the
//! seeds of all motion, so the same Timeline always renders the same frames.

use serde::{Deserialize, Serialize};

use crate::viseme::Viseme;

/// Output frame size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VideoSize {
    /// Width in pixels (even).
    pub width: u32,
    /// Height in pixels (even).
    pub height: u32,
}

impl VideoSize {
    /// The sizes vidflow supports.
    pub const SUPPORTED: [VideoSize; 4] = [
        VideoSize {
            width: 1280,
            height: 720,
        },
        VideoSize {
            width: 1920,
            height: 1080,
        },
        VideoSize {
            width: 1080,
            height: 1920,
        },
        VideoSize {
            width: 1080,
            height: 1080,
        },
    ];

    /// Parses `WIDTHxHEIGHT`, accepting only [`VideoSize::SUPPORTED`].
    pub fn parse(s: &str) -> Result<VideoSize, String> {
        let (w, h) = s
            .trim()
            .split_once(['x', 'X'])
            .ok_or_else(|| format!("size '{s}' is not WIDTHxHEIGHT"))?;
        let width: u32 = w
            .parse()
            .map_err(|_| format!("size '{s}': width '{w}' is not a number"))?;
        let height: u32 = h
            .parse()
            .map_err(|_| format!("size '{s}': height '{h}' is not a number"))?;
        let size = VideoSize { width, height };
        if Self::SUPPORTED.contains(&size) {
            Ok(size)
        } else {
            Err(format!(
                "size '{s}' is not supported; use one of 1280x720, 1920x1080, 1080x1920, 1080x1080"
            ))
        }
    }

    /// True when taller than wide.
    pub fn is_portrait(&self) -> bool {
        self.height > self.width
    }
}

impl std::fmt::Display for VideoSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

/// Everything that appears in the video, with when it appears.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// Frame size.
    pub size: VideoSize,
    /// Frames per second.
    pub fps: u32,
    /// Length in seconds (equals the speech's length).
    pub duration: f64,
    /// Number of frames: `ceil(duration * fps)`.
    pub frame_count: u64,
    /// Page title, shown on every slide.
    pub title: String,
    /// Where the page came from, shown small in the footer.
    pub source: String,
    /// Whom the title card's kicker names: the publication as the page states it, else a
    /// web page's host; `None` (a local file that names no site) shows no kicker.
    #[serde(default)]
    pub site_name: Option<String>,
    /// The article's author line, shown on the title card.
    #[serde(default)]
    pub byline: Option<String>,
    /// When the article was published, as the page states it (ISO 8601 in practice); the
    /// title card shows the date when it can read one.
    #[serde(default)]
    pub published: Option<String>,
    /// Slides in order; they tile `[0, duration)` without gaps.
    pub slides: Vec<Slide>,
    /// Subtitle cues in order, never overlapping.
    pub cues: Vec<Cue>,
    /// Mouth shapes in order; they tile `[0, duration)` without gaps.
    pub visemes: Vec<VisemeSpan>,
    /// Eye blinks in order.
    pub blinks: Vec<Blink>,
    /// Seed for idle motion (head sway, breathing).
    pub motion: MotionSeed,
    /// Images used by slides (encoded bytes as fetched), referenced by index.
    pub images: Vec<ImageAsset>,
    /// Theme accent colour, RGB.
    pub accent: [u8; 3],
    /// Whether subtitles are burned into the frames.
    pub burn_subtitles: bool,
}

/// One slide and the time it is on screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slide {
    /// Start in seconds.
    pub start: f64,
    /// End in seconds.
    pub end: f64,
    /// 0-based position among the slides (shown as "3 / 7").
    pub index: usize,
    /// Section heading, if any.
    pub heading: Option<String>,
    /// The key sentence shown big.
    pub body: String,
    /// Index into [`Timeline::images`], if the slide shows an image.
    pub image: Option<usize>,
    /// How the slide is laid out.
    pub layout: SlideLayout,
}

/// Slide layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SlideLayout {
    /// Big title card (first slide).
    Title,
    /// Heading and key sentence only.
    Text,
    /// Key sentence beside (landscape) or above (portrait) a slowly panning image.
    TextImage,
}

/// One subtitle cue: at most two lines of about 42 characters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cue {
    /// Start in seconds.
    pub start: f64,
    /// End in seconds.
    pub end: f64,
    /// One or two lines, words never split.
    pub lines: Vec<String>,
}

impl Cue {
    /// The cue's text on one line.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }
}

/// A mouth shape held from `start` to `end`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VisemeSpan {
    /// Start in seconds.
    pub start: f64,
    /// End in seconds.
    pub end: f64,
    /// The shape.
    pub shape: Viseme,
}

/// An eye blink.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Blink {
    /// When the eyes start to close, seconds.
    pub start: f64,
    /// How long the blink lasts, seconds.
    pub duration: f64,
}

/// Seed and amplitude of idle motion.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MotionSeed {
    /// Seed for the motion's phases.
    pub seed: u64,
    /// Amplitude scale, 0 (still) to 1.
    pub amount: f32,
}

/// An image a slide shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageAsset {
    /// Where it came from.
    pub url: String,
    /// Encoded image bytes (PNG, JPEG, GIF or WebP).
    pub bytes: Vec<u8>,
}

impl Timeline {
    /// The slide on screen at time `t`.
    pub fn slide_at(&self, t: f64) -> Option<&Slide> {
        let i = self.slides.partition_point(|s| s.end <= t);
        self.slides.get(i).filter(|s| s.start <= t)
    }

    /// The cue shown at time `t`, if any.
    pub fn cue_at(&self, t: f64) -> Option<&Cue> {
        let i = self.cues.partition_point(|c| c.end <= t);
        self.cues.get(i).filter(|c| c.start <= t)
    }

    /// The mouth shape at time `t` (X outside the speech).
    pub fn viseme_at(&self, t: f64) -> Viseme {
        let i = self.visemes.partition_point(|v| v.end <= t);
        self.visemes
            .get(i)
            .filter(|v| v.start <= t)
            .map(|v| v.shape)
            .unwrap_or(Viseme::X)
    }

    /// How closed the eyes are at time `t`: 0 open, 1 shut.
    pub fn eye_closure_at(&self, t: f64) -> f32 {
        let i = self.blinks.partition_point(|b| b.start + b.duration <= t);
        match self.blinks.get(i) {
            Some(b) if b.start <= t => {
                let p = ((t - b.start) / b.duration) as f32;
                // Close fast, open a bit slower: a triangle peaking at 40%.
                if p < 0.4 { p / 0.4 } else { (1.0 - p) / 0.6 }
            }
            _ => 0.0,
        }
    }

    /// Time of frame `n` in seconds.
    pub fn frame_time(&self, n: u64) -> f64 {
        n as f64 / self.fps as f64
    }
}
