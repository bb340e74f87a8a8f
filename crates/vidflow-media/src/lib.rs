//! Frame composition for vidflow: the slide theme, text layout, subtitles, Ken Burns
//! images, the presenter layer, and RGBA → yuv420p.
//!
//! A frame is a pure function of (Timeline, avatar, frame index). [`FrameRenderer`]
//! draws each slide's static layer and each subtitle cue once, then per frame blends only
//! what moves — the image window, the presenter, the cue, the crossfade — and converts
//! to yuv420p for the encoder ([`FrameRenderer::render_i420`]).
//!
//! [`kernels`] (the `vidflow-kernels` crate, re-exported) holds the native frame kernels
//! (gain, compositing, colour conversion,
//! resize, fills, blurs, the Ken Burns sampler) on a strided [`kernels::Frame`], usable
//! on their own, and their benchmark.
//!
//! ```
//! use std::sync::Arc;
//! use vidflow_core::{MotionSeed, Slide, SlideLayout, Timeline, VideoSize};
//! use vidflow_media::{FrameRenderer, I420Frame};
//!
//! let size = VideoSize { width: 1280, height: 720 };
//! let timeline = Timeline {
//!     size,
//!     fps: 30,
//!     duration: 2.0,
//!     frame_count: 60,
//!     title: "How tides work".into(),
//!     source: "https://example.org/tides".into(),
//!     site_name: Some("example.org".into()),
//!     byline: None,
//!     published: None,
//!     slides: vec![Slide {
//!         start: 0.0,
//!         end: 2.0,
//!         index: 0,
//!         heading: None,
//!         body: "The moon pulls the oceans.".into(),
//!         image: None,
//!         layout: SlideLayout::Text,
//!     }],
//!     cues: vec![],
//!     visemes: vec![],
//!     blinks: vec![],
//!     motion: MotionSeed { seed: 7, amount: 1.0 },
//!     images: vec![],
//!     accent: [37, 99, 235],
//!     burn_subtitles: true,
//! };
//! let avatar = vidflow_avatar::Avatar::load("avatar_1").unwrap();
//! let renderer = FrameRenderer::new(Arc::new(timeline), Some(avatar)).unwrap();
//! let mut frame = I420Frame::new(renderer.size());
//! renderer.render_i420(0, &mut frame);
//! assert_eq!(frame.as_bytes().len(), 1280 * 720 * 3 / 2);
//! ```

pub use vidflow_kernels as kernels;
mod paint;
mod picture;
mod renderer;
mod slide;
pub mod synthetic;
pub mod text;
mod theme;
mod yuv;

pub use renderer::{CROSSFADE_SECONDS, FrameRenderer, I420Output};
pub use yuv::{I420Frame, I420Patched, I420Run, I420Source};

use vidflow_core::{VideoSize, VidflowError};

/// Why a [`FrameRenderer`] could not be made.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MediaError {
    /// The Timeline's frame size cannot be rendered (zero, odd, or absurdly large).
    #[error(
        "cannot render frames of {0}: width and height must be even, non-zero and at most 8192"
    )]
    BadSize(VideoSize),
    /// The Timeline is inconsistent.
    #[error("cannot render timeline: {0}")]
    BadTimeline(String),
}

impl From<MediaError> for VidflowError {
    fn from(e: MediaError) -> Self {
        // A Timeline is built by vidflow from validated options, so a bad one is a bug
        // upstream, not the user's fault.
        VidflowError::internal(format!("render: {e}"))
    }
}
