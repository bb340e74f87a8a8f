//! Encoder throughput on its own, the yardstick for end-to-end rendering speed.

use std::time::Instant;

use crate::{EncodeError, EncodeSettings, VideoEncoder};

/// Encode-only throughput: feeds the same pre-made yuv420p frames (cycled until
/// `total_frames` have gone in) to ffmpeg, with the narration from `audio_wav` when given,
/// writing to a file in a temporary folder that is removed afterwards, and returns frames
/// per second.
///
/// The time covers what an end-to-end run also pays for ffmpeg's part: starting it, every
/// frame through the pipe, the audio's AAC encode and mux, and the faststart rewrite at the
/// end; what is left out is composing the frames. Used by `vidflow bench make`.
///
/// ```
/// use vidflow_encode::{EncodeSettings, encode_only_fps};
/// let settings = EncodeSettings { width: 64, height: 64, fps: 25, ..EncodeSettings::default() };
/// let frames = vec![vec![100u8; settings.frame_len()], vec![150u8; settings.frame_len()]];
/// assert!(encode_only_fps(&frames, 20, None, &settings).unwrap() > 0.0);
/// ```
pub fn encode_only_fps(
    frames: &[Vec<u8>],
    total_frames: u64,
    audio_wav: Option<&std::path::Path>,
    settings: &EncodeSettings,
) -> Result<f64, EncodeError> {
    if frames.is_empty() || total_frames == 0 {
        return Err(EncodeError::InvalidSettings(
            "encode-only benchmark needs at least one frame".into(),
        ));
    }
    let dir = tempfile::Builder::new()
        .prefix("vidflow-encode-bench-")
        .tempdir()
        .map_err(|e| EncodeError::io("creating a temporary folder for the encode benchmark", e))?;
    let output = dir.path().join("encode-only.mp4");
    let started = Instant::now();
    let mut encoder = VideoEncoder::start(&output, audio_wav, settings)?;
    for i in 0..total_frames {
        // A copy per frame, as a renderer hands over a fresh buffer per frame too.
        encoder.write_frame(frames[(i % frames.len() as u64) as usize].clone())?;
    }
    encoder.finish()?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(total_frames as f64 / seconds.max(f64::EPSILON))
}
