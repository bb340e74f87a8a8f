//! Stage names and the progress events a run reports.

use serde::{Deserialize, Serialize};

/// The stages of the explainer pipeline, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageName {
    /// URL → Page.
    Fetch,
    /// Page → Article.
    Extract,
    /// Article → Script.
    Script,
    /// Script → Speech.
    Speak,
    /// Article, Script, Speech → Timeline.
    Storyboard,
    /// Timeline → frames → MP4.
    Render,
}

impl StageName {
    /// All stages in pipeline order.
    pub const ALL: [StageName; 6] = [
        StageName::Fetch,
        StageName::Extract,
        StageName::Script,
        StageName::Speak,
        StageName::Storyboard,
        StageName::Render,
    ];

    /// The stage's name as users type it.
    pub fn as_str(self) -> &'static str {
        match self {
            StageName::Fetch => "fetch",
            StageName::Extract => "extract",
            StageName::Script => "script",
            StageName::Speak => "speak",
            StageName::Storyboard => "storyboard",
            StageName::Render => "render",
        }
    }

    /// Parses a stage name.
    pub fn parse(s: &str) -> Option<StageName> {
        Self::ALL.into_iter().find(|n| n.as_str() == s)
    }
}

impl std::fmt::Display for StageName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happened during a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    /// A stage began (or began looking in the cache).
    StageStarted {
        /// Which stage.
        stage: StageName,
    },
    /// Part of a stage is done; `done` of `total` units (frames for render).
    StageProgress {
        /// Which stage.
        stage: StageName,
        /// Units done.
        done: u64,
        /// Units in all.
        total: u64,
    },
    /// A stage finished.
    StageFinished {
        /// Which stage.
        stage: StageName,
        /// Served from the cache.
        cached: bool,
        /// Which cache tier served it (`memory`, `disk`, ...), if cached.
        backend: Option<String>,
        /// Wall time in seconds.
        seconds: f64,
    },
    /// A transient failure; the stage will be tried again.
    Retrying {
        /// Which stage.
        stage: StageName,
        /// Try number that failed (1-based).
        attempt: u32,
        /// What went wrong.
        error: String,
    },
}

/// Receives progress events; must be cheap and must not block.
pub trait ProgressSink: Send + Sync {
    /// Called for every event, in order, from any thread.
    fn report(&self, event: Progress);
}

impl<F: Fn(Progress) + Send + Sync> ProgressSink for F {
    fn report(&self, event: Progress) {
        self(event)
    }
}
