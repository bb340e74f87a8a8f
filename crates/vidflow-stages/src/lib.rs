//! The explainer's stages — fetch, extract, script, speak, storyboard, render — each a
//! [`vidflow_core::Stage`] in a file of its own, the workflows built from them
//! (`workflows/*.toml`: `explainer`, `own-script`, `narrate`, `slides`), and the
//! [`Engine`] that runs a request on them over a cache and delivers what it made.
//!
//! ```no_run
//! use std::sync::Arc;
//! use vidflow_cache::TieredCache;
//! use vidflow_core::{CancelFlag, Config, MakeRequest, Source, VideoSize};
//! use vidflow_stages::Engine;
//!
//! # async fn run() -> Result<(), vidflow_core::VidflowError> {
//! let engine = Engine::new(Config::default(), Arc::new(TieredCache::disabled()))?;
//! let req = MakeRequest {
//!     source: Some(Source::Url("https://example.org/article".into())),
//!     script_text: None,
//!     workflow: None, // the explainer; Some("slides".into()) draws no presenter
//!     avatar: "avatar_1".into(),
//!     size: VideoSize { width: 1280, height: 720 },
//!     fps: 30,
//!     max_seconds: 60.0,
//!     voice: "slt".into(),
//!     preset: "veryfast".into(),
//!     crf: 23,
//!     x264: Default::default(),
//!     subtitles: true,
//!     stop_after: None,
//!     params: Default::default(),
//!     output: "article.mp4".into(),
//! };
//! let report = engine.make(&req, &|_event| {}, CancelFlag::default()).await?;
//! println!("{:?}", report.output);
//! # Ok(()) }
//! ```
//!
//! A stage type of your own is one file (a [`vidflow_core::Stage`] and its factory) and one
//! [`vidflow_core::Registry::register`] line on [`registry`]'s result; a workflow that
//! uses it is a TOML file ([`vidflow_core::WorkflowDef`]).

mod deliver;
pub mod engine;
pub mod extract;
pub mod fetch;
pub mod render;
pub mod script;
pub mod speak;
pub mod storyboard;

pub use deliver::{MakeOutput, MakeReport};
pub use engine::{DEFAULT_WORKFLOW, Engine, SCRIPT_WORKFLOW};
pub use render::{RenderJob, SegmentJob, frame_bytes, render_segment, render_video};
pub use script::WORDS_PER_SECOND;
pub use storyboard::{StoryboardOptions, build_timeline};
pub use vidflow_core::{
    CancelFlag, ChunkKeys, ChunkPlan, ChunkReport, ChunkSpan, MakeRequest, Plan, PlannedStage,
    Source, StageReport,
};

use vidflow_core::{Registry, VidflowError, WorkflowDef};

/// The built-in workflows, as shipped in `workflows/`.
const WORKFLOWS: [(&str, &str); 4] = [
    ("explainer", include_str!("../workflows/explainer.toml")),
    ("own-script", include_str!("../workflows/own-script.toml")),
    ("narrate", include_str!("../workflows/narrate.toml")),
    ("slides", include_str!("../workflows/slides.toml")),
];

/// The built-in stage types and workflows. Add your own to it and hand it to
/// [`Engine::with_registry`].
pub fn registry() -> Registry {
    let mut r = Registry::new();
    r.register("fetch", fetch::FetchStage::build)
        .register("extract", extract::ExtractStage::build)
        .register("script", script::ScriptStage::build)
        .register("speak", speak::SpeakStage::build)
        .register("storyboard", storyboard::StoryboardStage::build)
        .register("render", render::RenderStage::build);
    for (name, text) in WORKFLOWS {
        match WorkflowDef::from_toml(text) {
            Ok(def) => {
                r.add_workflow(def);
            }
            // Shipped in the binary and tested below: only a broken build gets here.
            Err(e) => tracing::error!("built-in workflow {name} does not parse: {e}"),
        }
    }
    r
}

pub(crate) fn join_error(e: tokio::task::JoinError) -> VidflowError {
    VidflowError::internal(format!("stage task failed: {e}"))
}

#[cfg(test)]
mod tests {
    use vidflow_core::{Config, DataType, StageName};

    #[test]
    fn the_built_in_workflows_build() {
        let r = super::registry();
        let config = Config::default();
        let mut ids = Vec::new();
        for def in r.workflows() {
            let wf = r.build(def, &config).unwrap();
            ids.push(wf.id().to_owned());
            if wf.id() != "narrate" {
                assert_eq!(wf.output(None), Some(DataType::Video), "{}", wf.id());
                assert_eq!(wf.percent(&StageName::RENDER, 1.0), 100.0);
            }
        }
        ids.sort();
        assert_eq!(ids, ["explainer", "narrate", "own-script", "slides"]);
        let explainer = r.build(r.workflow("explainer").unwrap(), &config).unwrap();
        let names: Vec<&str> = explainer.stage_names().iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "fetch",
                "extract",
                "script",
                "speak",
                "storyboard",
                "render"
            ]
        );
        assert_eq!(
            r.stage_names(),
            [
                "extract",
                "fetch",
                "render",
                "script",
                "speak",
                "storyboard"
            ]
        );
        // The weights of the stages as the job record always had them.
        assert_eq!(explainer.percent(&StageName::RENDER, 0.5), 62.5);
    }
}
