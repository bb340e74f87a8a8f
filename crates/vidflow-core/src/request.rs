//! What one run is asked to make: where the words come from, and how the video looks.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::X264Tuning;
use crate::error::VidflowError;
use crate::progress::StageName;
use crate::timeline::VideoSize;

/// Base URL for HTML given without one. The `.invalid` domain never resolves (RFC 6761),
/// so relative links and images in such a page are left out (the extract stage counts them
/// in a warning), never fetched from somewhere unintended.
pub const NO_BASE_URL: &str = "https://page.invalid/";

/// Where the article comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Source {
    /// A URL (`http(s)://`, `file://`) or a local path, fetched.
    Url(String),
    /// The page itself, with the URL its relative links resolve against.
    Html {
        /// The page's HTML.
        html: String,
        /// Base URL for relative links.
        base_url: String,
    },
}

impl Source {
    /// The file behind a local path or `file://` URL, if that is what this is.
    pub fn local_path(&self) -> Option<PathBuf> {
        match self {
            Source::Url(input) => local_path(input),
            Source::Html { .. } => None,
        }
    }

    /// Where the page says it is from: its URL, or the base URL of inline HTML.
    pub fn label(&self) -> &str {
        match self {
            Source::Url(u) => u,
            Source::Html { base_url, .. } => base_url,
        }
    }
}

/// The file behind a local path or `file://` URL, if that is what `input` is.
pub fn local_path(input: &str) -> Option<PathBuf> {
    if let Some(rest) = input.strip_prefix("file://") {
        return Some(PathBuf::from(rest));
    }
    let lower = input.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || input.contains("://") {
        None
    } else {
        Some(PathBuf::from(input))
    }
}

/// One run: what to read, which workflow makes it, and what to produce.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MakeRequest {
    /// The page; `None` only when `script_text` is given.
    pub source: Option<Source>,
    /// A user's own script (one segment per paragraph); replaces the summary.
    pub script_text: Option<String>,
    /// The workflow to run, by id; `None` picks the explainer (or, with only a script,
    /// the workflow that narrates a script).
    #[serde(default)]
    pub workflow: Option<String>,
    /// Built-in avatar name or sprite-pack folder.
    pub avatar: String,
    /// Frame size.
    pub size: VideoSize,
    /// Frames per second.
    pub fps: u32,
    /// Narration length budget, seconds.
    pub max_seconds: f64,
    /// Voice.
    pub voice: String,
    /// x264 preset.
    pub preset: String,
    /// x264 CRF.
    pub crf: u8,
    /// x264 settings beyond preset and CRF.
    #[serde(default)]
    pub x264: X264Tuning,
    /// Burn subtitles into the video.
    pub subtitles: bool,
    /// Stop after this stage and return its output instead of the workflow's.
    pub stop_after: Option<StageName>,
    /// Settings for stage types that take them from the request, by type
    /// (`{"tune_encode": {"trials": 40}}`); a stage's key includes what it reads here.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub params: std::collections::BTreeMap<String, serde_json::Value>,
    /// The file to write (`.srt` and `.vtt` go beside a video, `.wav` beside speech).
    pub output: PathBuf,
}

impl MakeRequest {
    /// Checks what every workflow relies on: frame rate and narration budget. What a
    /// stage alone needs (a voice, a presenter) its own check covers.
    pub fn check(&self) -> Result<(), VidflowError> {
        if self.source.is_none() && self.script_text.is_none() {
            return Err(VidflowError::bad_input(
                "nothing to make: give a page URL or path, or --script FILE",
            ));
        }
        if let Some(text) = &self.script_text
            && text.trim().is_empty()
        {
            return Err(VidflowError::bad_input("the script is empty"));
        }
        if ![24, 25, 30, 60].contains(&self.fps) {
            return Err(VidflowError::bad_input(format!(
                "invalid fps {}: use 24, 25, 30 or 60",
                self.fps
            )));
        }
        if !(self.max_seconds >= 1.0 && self.max_seconds <= 3600.0) {
            return Err(VidflowError::bad_input(format!(
                "invalid --max-seconds {}: use 1 to 3600",
                self.max_seconds
            )));
        }
        Ok(())
    }

    /// The folder the output goes into.
    pub fn output_dir(&self) -> PathBuf {
        parent_dir(&self.output)
    }
}

/// The folder holding `p` (`.` for a bare file name).
pub fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
