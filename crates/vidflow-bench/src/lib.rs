//! vidflow's benchmarks, each a function that measures and returns its figures as JSON:
//! what `vidflow bench …` runs. Speed targets live here, never in timed tests (the
//! machines are shared and noisy): every figure that compares two things measures them
//! side by side, in one run, and reports medians.
//!
//! * [`make`] — end-to-end `vidflow make` (a child process of the running binary) next to
//!   ffmpeg encoding the same frames alone, peak memory, the cached rerun.
//! * [`render`] — render-only, end-to-end and encode-only frames per second at 720p and
//!   1080p, in process.
//! * [`kernels`] — the frame kernels the renderer calls, next to a memory copy.
//! * [`extract`] — main-text extraction quality on a fixture folder.
//! * [`dist`] — shared mode with real worker processes on a throwaway Redis.
//!
//! ```no_run
//! # async fn run() -> Result<(), vidflow_bench::BenchError> {
//! let report = vidflow_bench::render::run(&vidflow_bench::render::RenderBench {
//!     seconds: 20.0,
//!     runs: 5,
//!     sizes: Vec::new(),
//!     presets: vec!["ultrafast".into()],
//! })
//! .await?;
//! println!("{}", serde_json::to_string_pretty(&report)?);
//! # Ok(()) }
//! ```

pub mod dist;
pub mod extract;
pub mod kernels;
pub mod make;
pub mod render;
pub mod sample_page;
mod stats;

pub use stats::median;

use vidflow_core::VidflowError;

/// Why a benchmark could not finish.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// What went wrong, in words.
    #[error("{0}")]
    Failed(String),
    /// The pipeline refused or failed.
    #[error(transparent)]
    Pipeline(#[from] VidflowError),
    /// A file or process could not be used.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A report was not the JSON expected.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// ffmpeg failed.
    #[error(transparent)]
    Encode(#[from] vidflow_encode::EncodeError),
    /// A presenter did not load.
    #[error(transparent)]
    Avatar(#[from] vidflow_avatar::AvatarError),
    /// The renderer refused a timeline.
    #[error(transparent)]
    Media(#[from] vidflow_media::MediaError),
    /// A kernel refused its input.
    #[error(transparent)]
    Kernel(#[from] vidflow_kernels::KernelError),
    /// The shared queue failed.
    #[error(transparent)]
    Dist(#[from] vidflow_dist::DistError),
    /// The cache did not open.
    #[error(transparent)]
    Cache(#[from] vidflow_cache::CacheError),
}

impl BenchError {
    fn failed(message: impl Into<String>) -> BenchError {
        BenchError::Failed(message.into())
    }
}
