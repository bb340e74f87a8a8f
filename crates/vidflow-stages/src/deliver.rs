//! What a finished run leaves for the user: a video moved into place with its subtitles
//! beside it, speech as a WAV, anything else as JSON.

use std::path::{Path, PathBuf};

use serde::Serialize;
use vidflow_core::{Artifact, MakeRequest, StageName, StageReport, VideoSize, VidflowError};

/// What a run produced.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MakeOutput {
    /// A finished video.
    Video {
        /// The MP4.
        path: PathBuf,
        /// Subtitles beside it.
        srt: PathBuf,
        /// Subtitles beside it.
        vtt: PathBuf,
        /// Length in seconds.
        duration: f64,
        /// File size in bytes.
        bytes: u64,
        /// Frame size.
        size: VideoSize,
        /// Frames per second.
        fps: u32,
        /// Number of frames.
        frames: u64,
    },
    /// Another stage's output (a workflow that makes no video, or `--stop-after`).
    Stage {
        /// The last stage run.
        stage: StageName,
        /// Its output as JSON.
        output: serde_json::Value,
        /// The narration audio, when the output is speech.
        wav: Option<PathBuf>,
    },
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct MakeReport {
    /// Per-stage timings, cache use and sizes, in order.
    pub stages: Vec<StageReport>,
    /// What was produced.
    pub output: MakeOutput,
    /// Wall time of the whole run, seconds.
    pub seconds: f64,
}

/// Whether delivering a value of this kind writes files at the request's output path.
pub(crate) fn writes_files(value: vidflow_core::DataType) -> bool {
    matches!(
        value,
        vidflow_core::DataType::Video | vidflow_core::DataType::Speech
    )
}

/// Delivers stage `stage`'s `value`: a video is moved to `req.output` (atomically) and
/// its `.srt` and `.vtt` written beside it only once it is in place; speech is written as
/// a WAV beside the output; every value is also described as JSON.
pub(crate) fn deliver(
    req: &MakeRequest,
    stage: &StageName,
    value: &Artifact,
) -> Result<MakeOutput, VidflowError> {
    match value {
        Artifact::Video(v) => {
            vidflow_encode::move_into_place(&v.path, &req.output)
                .map_err(|e| VidflowError::from(e).context("deliver"))?;
            let srt = req.output.with_extension("srt");
            let vtt = req.output.with_extension("vtt");
            write_file(&srt, vidflow_encode::srt(&v.cues).as_bytes())?;
            write_file(&vtt, vidflow_encode::vtt(&v.cues).as_bytes())?;
            Ok(MakeOutput::Video {
                path: req.output.clone(),
                srt,
                vtt,
                duration: v.duration,
                bytes: v.bytes,
                size: v.size,
                fps: v.fps,
                frames: v.frames,
            })
        }
        Artifact::Speech(speech) => {
            let wav = req.output.with_extension("wav");
            vidflow_encode::write_wav(&wav, &speech.samples, speech.sample_rate)
                .map_err(|e| VidflowError::internal(e.to_string()))?;
            Ok(MakeOutput::Stage {
                stage: stage.clone(),
                output: value.to_json()?,
                wav: Some(wav),
            })
        }
        other => Ok(MakeOutput::Stage {
            stage: stage.clone(),
            output: other.to_json()?,
            wav: None,
        }),
    }
}

pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), VidflowError> {
    vidflow_encode::write_atomic(path, bytes)
        .map_err(|e| VidflowError::internal(format!("cannot write {}: {e}", path.display())))
}
