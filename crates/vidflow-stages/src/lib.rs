//! The explainer pipeline: each stage with its content key, the storyboard, and the
//! cached run that turns a page into a narrated video.
//!
//! ```no_run
//! use std::sync::Arc;
//! use vidflow_cache::TieredCache;
//! use vidflow_core::{Config, VideoSize};
//! use vidflow_stages::{CancelFlag, Engine, MakeRequest, Source};
//!
//! # async fn run() -> Result<(), vidflow_core::VidflowError> {
//! let engine = Engine::new(Config::default(), Arc::new(TieredCache::disabled()))?;
//! let req = MakeRequest {
//!     source: Some(Source::Url("https://example.org/article".into())),
//!     script_text: None,
//!     avatar: "avatar_1".into(),
//!     size: VideoSize { width: 1280, height: 720 },
//!     fps: 30,
//!     max_seconds: 60.0,
//!     voice: "slt".into(),
//!     preset: "veryfast".into(),
//!     crf: 23,
//!     subtitles: true,
//!     stop_after: None,
//!     output: "article.mp4".into(),
//! };
//! let report = engine.make(&req, &|_event| {}, CancelFlag::default()).await?;
//! println!("{:?}", report.output);
//! # Ok(()) }
//! ```

pub mod chunks;
pub mod pipeline;
pub mod render;
pub mod storyboard;

pub use chunks::{ChunkKeys, ChunkPlan, ChunkReport, ChunkSpan};
pub use pipeline::{
    CancelFlag, Engine, MakeOutput, MakeReport, MakeRequest, Plan, PlannedStage, Source,
    StageReport, WORDS_PER_SECOND,
};
pub use render::{RenderJob, SegmentJob, frame_bytes, render_segment, render_video};
pub use storyboard::{StoryboardOptions, build_timeline};
