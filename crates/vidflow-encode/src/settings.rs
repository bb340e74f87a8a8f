//! How a video is encoded.

use serde::{Deserialize, Serialize};
use vidflow_core::config::X264Tuning;

use crate::EncodeError;

/// Encoding parameters for [`crate::VideoEncoder`]: frame size and rate of the raw frames fed
/// in, and the libx264/AAC settings of the output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodeSettings {
    /// Frame width in pixels; even, as yuv420p halves it for the chroma planes.
    pub width: u32,
    /// Frame height in pixels; even.
    pub height: u32,
    /// Frames per second of the input and the output.
    pub fps: u32,
    /// libx264 preset (`ultrafast` … `veryslow`); ffmpeg checks the name, since which names
    /// exist depends on the encoder.
    pub preset: String,
    /// libx264 constant rate factor, 0 (lossless) to 51 (worst).
    pub crf: u8,
    /// libx264 settings beyond preset and CRF (tune, keyframe interval, AQ mode).
    #[serde(default)]
    pub x264: X264Tuning,
    /// AAC bit rate in kbit/s.
    pub audio_bitrate_kbps: u32,
    /// Encoder threads; `None` (or `Some(0)`) lets ffmpeg choose.
    pub threads: Option<usize>,
}

impl Default for EncodeSettings {
    /// 1280x720 at 30 fps, preset `veryfast`, CRF 23, AAC at 128 kbit/s.
    fn default() -> Self {
        EncodeSettings {
            width: 1280,
            height: 720,
            fps: 30,
            preset: "veryfast".to_string(),
            crf: 23,
            x264: X264Tuning::default(),
            audio_bitrate_kbps: 128,
            threads: None,
        }
    }
}

impl EncodeSettings {
    /// Bytes in one yuv420p frame: a full-size luma plane and two quarter-size chroma planes.
    pub fn frame_len(&self) -> usize {
        let (w, h) = (self.width as usize, self.height as usize);
        w * h + 2 * (w / 2) * (h / 2)
    }

    /// Checks that the settings can produce a video, naming the first that cannot.
    pub fn validate(&self) -> Result<(), EncodeError> {
        let bad = |m: String| Err(EncodeError::InvalidSettings(m));
        if self.width == 0 || self.height == 0 {
            return bad(format!(
                "frame size {}x{} is empty",
                self.width, self.height
            ));
        }
        // Bit test rather than `is_multiple_of`, which is newer than the workspace's rust-version.
        if (self.width | self.height) & 1 == 1 {
            return bad(format!(
                "frame size {}x{} must be even in both directions for yuv420p",
                self.width, self.height
            ));
        }
        if self.fps == 0 {
            return bad("fps must be at least 1".to_string());
        }
        if self.crf > 51 {
            return bad(format!("crf {} is out of range 0..=51", self.crf));
        }
        if self.preset.trim().is_empty() {
            return bad("preset is empty".to_string());
        }
        if let Err(e) = self.x264.check() {
            return bad(e.message);
        }
        if self.audio_bitrate_kbps == 0 {
            return bad("audio bit rate must be at least 1 kbit/s".to_string());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_len_is_one_and_a_half_bytes_per_pixel() {
        let s = EncodeSettings {
            width: 320,
            height: 240,
            ..EncodeSettings::default()
        };
        assert_eq!(s.frame_len(), 320 * 240 * 3 / 2);
        assert_eq!(EncodeSettings::default().frame_len(), 1_382_400);
    }

    #[test]
    fn default_is_valid_and_bad_values_are_named() {
        EncodeSettings::default().validate().unwrap();
        let cases = [
            (
                EncodeSettings {
                    width: 321,
                    ..EncodeSettings::default()
                },
                "321x720",
            ),
            (
                EncodeSettings {
                    height: 0,
                    ..EncodeSettings::default()
                },
                "empty",
            ),
            (
                EncodeSettings {
                    fps: 0,
                    ..EncodeSettings::default()
                },
                "fps",
            ),
            (
                EncodeSettings {
                    crf: 52,
                    ..EncodeSettings::default()
                },
                "crf 52",
            ),
            (
                EncodeSettings {
                    preset: " ".into(),
                    ..EncodeSettings::default()
                },
                "preset",
            ),
        ];
        for (settings, needle) in cases {
            let err = settings.validate().unwrap_err();
            assert_eq!(err.kind(), vidflow_core::ErrorKind::BadInput);
            assert!(err.to_string().contains(needle), "{err} lacks {needle}");
        }
    }
}
