//! A short sample of a real render: the frames a tuning trial encodes, drawn once, losslessly.

use std::sync::Arc;

use rayon::prelude::*;
use vidflow_avatar::Avatar;
use vidflow_core::{Timeline, VideoSize, VidflowError};
use vidflow_media::{FrameRenderer, I420Frame};

/// How many stretches of the video a sample is taken from (start, middle, end: slides,
/// crossfades and the title card differ in how they compress).
const WINDOWS: u64 = 3;

/// Frames of a video, as the renderer draws them (yuv420p), in the order they play.
#[derive(Debug, Clone)]
pub struct EncodeSample {
    /// The frames, each `size.width * size.height * 3 / 2` bytes.
    pub frames: Vec<Vec<u8>>,
    /// Frame size.
    pub size: VideoSize,
    /// Frames per second.
    pub fps: u32,
}

impl EncodeSample {
    /// About `seconds` of `timeline`'s frames, in three stretches spread over the video
    /// (all of it when it is shorter), drawn with `avatar` on all cores.
    pub fn render(
        timeline: Arc<Timeline>,
        avatar: Option<Avatar>,
        seconds: f64,
    ) -> Result<EncodeSample, VidflowError> {
        let total = timeline.frame_count;
        if total == 0 {
            return Err(VidflowError::bad_input("the video has no frames to sample"));
        }
        let wanted = ((seconds.max(0.1) * f64::from(timeline.fps)).round() as u64).clamp(1, total);
        let numbers = spread(total, wanted);
        let renderer = FrameRenderer::new(timeline.clone(), avatar)?;
        let frames = numbers
            .par_iter()
            .map(|&n| {
                let mut frame = I420Frame::new(timeline.size);
                renderer.render_i420(n, &mut frame);
                frame.data
            })
            .collect();
        Ok(EncodeSample {
            frames,
            size: timeline.size,
            fps: timeline.fps,
        })
    }

    /// Frames in the sample.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True for a sample without frames.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Its length when played, seconds.
    pub fn seconds(&self) -> f64 {
        self.frames.len() as f64 / f64::from(self.fps.max(1))
    }
}

/// `wanted` frame numbers of `0..total`: [`WINDOWS`] runs of consecutive frames, centred
/// on evenly spaced points.
fn spread(total: u64, wanted: u64) -> Vec<u64> {
    if wanted >= total {
        return (0..total).collect();
    }
    let per = wanted.div_ceil(WINDOWS);
    if per * WINDOWS >= total {
        // Stretches that would touch: one run from the start instead.
        return (0..wanted).collect();
    }
    let mut numbers = Vec::with_capacity(wanted as usize);
    for w in 0..WINDOWS {
        let centre = total * (2 * w + 1) / (2 * WINDOWS);
        let start = centre.saturating_sub(per / 2).min(total - per);
        let run = per.min(wanted - numbers.len() as u64);
        numbers.extend(start..start + run);
    }
    numbers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_spread_over_the_video_in_order() {
        let s = spread(900, 90);
        assert_eq!(s.len(), 90);
        assert!(s.windows(2).all(|w| w[0] < w[1]), "{s:?}");
        assert!(s[0] > 100 && *s.last().unwrap() < 800, "{s:?}");
        assert_eq!(spread(10, 50), (0..10).collect::<Vec<_>>());
        assert_eq!(spread(10, 10).len(), 10);
        assert_eq!(spread(5, 4), [0, 1, 2, 3]);
    }

    #[test]
    fn a_sample_of_a_synthetic_timeline() {
        let size = VideoSize {
            width: 320,
            height: 180,
        };
        let t = Arc::new(vidflow_media::synthetic::timeline(size, 24, 9.0));
        let sample = EncodeSample::render(t, None, 1.5).unwrap();
        assert_eq!(sample.len(), 36);
        assert_eq!(sample.frames[0].len(), 320 * 180 * 3 / 2);
        assert!((sample.seconds() - 1.5).abs() < 1e-9);
    }
}
