//! Stage names and the progress events a run reports.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// The name of a stage in a workflow (its id there, such as `fetch` or `render`). The
/// built-in explainer workflow names its stages after their types; a workflow of your
/// own may name them as it likes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StageName(Cow<'static, str>);

impl StageName {
    /// URL → Page.
    pub const FETCH: StageName = StageName(Cow::Borrowed("fetch"));
    /// Page → Article.
    pub const EXTRACT: StageName = StageName(Cow::Borrowed("extract"));
    /// Article → Script.
    pub const SCRIPT: StageName = StageName(Cow::Borrowed("script"));
    /// Script → Speech.
    pub const SPEAK: StageName = StageName(Cow::Borrowed("speak"));
    /// Article, Script, Speech → Timeline.
    pub const STORYBOARD: StageName = StageName(Cow::Borrowed("storyboard"));
    /// Timeline → frames → MP4.
    pub const RENDER: StageName = StageName(Cow::Borrowed("render"));

    /// A stage name.
    pub fn new(name: impl Into<String>) -> StageName {
        StageName(Cow::Owned(name.into()))
    }

    /// The name as users type it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for StageName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for StageName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for StageName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl From<&str> for StageName {
    fn from(s: &str) -> StageName {
        StageName::new(s)
    }
}

/// Something that happened during a run. Every stage event carries `percent`, the share
/// of the whole workflow done (weighted by each stage's usual cost), so that whoever shows
/// progress needs to know nothing about the workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    /// A stage began (or began looking in the cache).
    StageStarted {
        /// Which stage.
        stage: StageName,
        /// Share of the whole run done, 0–100.
        percent: f64,
    },
    /// Part of a stage is done; `done` of `total` units (frames for render).
    #[serde(rename = "progress")]
    StageProgress {
        /// Which stage.
        stage: StageName,
        /// Units done.
        done: u64,
        /// Units in all.
        total: u64,
        /// Share of the whole run done, 0–100.
        percent: f64,
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
        /// Size of the stage's inputs, bytes.
        #[serde(default)]
        bytes_in: u64,
        /// Size of its output, bytes.
        #[serde(default)]
        bytes_out: u64,
        /// Share of the whole run done, 0–100.
        percent: f64,
        /// The title of what it produced (an article's or a script's), so that a job list
        /// can name a job by its page rather than its URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    },
    /// A trial of a tuning stage ended.
    Trial {
        /// Which stage.
        stage: StageName,
        /// The trial's number in its study, from 0.
        number: u64,
        /// `complete`, `pruned` or `failed`.
        state: String,
        /// Its objective values, when complete.
        values: Vec<f64>,
        /// The study's best value so far (single-objective studies).
        best: Option<f64>,
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

impl Progress {
    /// The stage the event is about.
    pub fn stage(&self) -> &StageName {
        match self {
            Progress::StageStarted { stage, .. }
            | Progress::StageProgress { stage, .. }
            | Progress::StageFinished { stage, .. }
            | Progress::Trial { stage, .. }
            | Progress::Retrying { stage, .. } => stage,
        }
    }

    /// The event's name as serialised (the `event` field; the SSE event name).
    pub fn name(&self) -> &'static str {
        match self {
            Progress::StageStarted { .. } => "stage_started",
            Progress::StageProgress { .. } => "progress",
            Progress::StageFinished { .. } => "stage_finished",
            Progress::Trial { .. } => "trial",
            Progress::Retrying { .. } => "retrying",
        }
    }

    /// The share of the run done, where the event says.
    pub fn percent(&self) -> Option<f64> {
        match self {
            Progress::StageStarted { percent, .. }
            | Progress::StageProgress { percent, .. }
            | Progress::StageFinished { percent, .. } => Some(*percent),
            Progress::Trial { .. } | Progress::Retrying { .. } => None,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_serialise_as_plain_strings() {
        let event = Progress::StageProgress {
            stage: StageName::RENDER,
            done: 1,
            total: 2,
            percent: 50.0,
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["event"], "progress");
        assert_eq!(json["stage"], "render");
        let back: Progress = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
        assert_eq!(back.stage(), &StageName::new("render"));
        assert_eq!(StageName::new("shout"), "shout");
    }
}
