//! Encoding and muxing for vidflow: raw yuv420p frames and a WAV narration become an MP4
//! (H.264 + AAC, `+faststart`) through the ffmpeg command-line tool; subtitle cues become
//! SRT and WebVTT; results are checked with ffprobe.
//!
//! ffmpeg runs as a child process fed frames over its stdin from a writer thread, so
//! rendering and encoding overlap while only a few frames are held in memory. Every file is
//! written under a hidden temporary name in the target's folder and renamed into place only
//! when complete, so a failed or cancelled job never leaves a half-written output.
//!
//! ```
//! use vidflow_encode::{EncodeSettings, VideoEncoder, probe, write_wav};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let settings = EncodeSettings { width: 160, height: 90, fps: 10, ..EncodeSettings::default() };
//!
//! // One second of a 440 Hz tone...
//! let wav = dir.path().join("voice.wav");
//! let tone: Vec<i16> = (0..16_000)
//!     .map(|i| ((i as f64 * 440.0 * std::f64::consts::TAU / 16_000.0).sin() * 8000.0) as i16)
//!     .collect();
//! write_wav(&wav, &tone.into(), 16_000).unwrap();
//!
//! // ...under one second of frames (ceil(duration * fps) of them).
//! let out = dir.path().join("clip.mp4");
//! let mut encoder = VideoEncoder::start(&out, Some(&wav), &settings).unwrap();
//! for n in 0..10u8 {
//!     encoder.write_frame(vec![n * 20; settings.frame_len()]).unwrap();
//! }
//! encoder.finish().unwrap();
//!
//! let info = probe(&out).unwrap();
//! assert_eq!((info.video_codec.as_str(), info.audio_codec.as_deref()), ("h264", Some("aac")));
//! assert!((info.duration - 1.0).abs() < 0.1);
//! ```

#![warn(missing_docs)]

mod atomic;
mod bench;
mod decode;
mod encoder;
mod error;
mod probe;
mod segment;
mod settings;
mod subtitles;
mod tool;
mod wav;

pub use atomic::{move_into_place, write_atomic};
pub use bench::encode_only_fps;
pub use decode::I420Reader;
pub use encoder::{ByteRun, EncodedVideo, FrameBytes, SharedBytes, VideoEncoder};
pub use error::EncodeError;
pub use probe::{Probe, probe, top_level_atoms};
pub use segment::{MIN_SEGMENT_FRAMES, join_segments, start_segment};
pub use settings::EncodeSettings;
pub use subtitles::{srt, vtt};
pub use tool::ffmpeg_version;
pub use wav::write_wav;
