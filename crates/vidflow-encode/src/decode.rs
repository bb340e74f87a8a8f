//! Reading an encoded video back as raw yuv420p frames: what quality measurements
//! (SSIM against the frames that were encoded) need.

use std::io::Read;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use crate::EncodeError;
use crate::encoder::QUIET;
use crate::tool::FFMPEG;

/// The frames of a video file, decoded by ffmpeg to yuv420p at their own size, one at a
/// time (memory stays at one frame however long the video is). ffmpeg is stopped when the
/// reader is dropped.
///
/// ```no_run
/// # fn run() -> Result<(), vidflow_encode::EncodeError> {
/// let mut frames = vidflow_encode::I420Reader::open("talk.mp4".as_ref(), 1280, 720)?;
/// while let Some(frame) = frames.next_frame()? {
///     assert_eq!(frame.len(), 1280 * 720 * 3 / 2);
/// }
/// # Ok(()) }
/// ```
pub struct I420Reader {
    child: Child,
    stdout: ChildStdout,
    frame: Vec<u8>,
}

impl I420Reader {
    /// Starts decoding `path`, whose frames are `width`×`height`.
    pub fn open(path: &Path, width: u32, height: u32) -> Result<I420Reader, EncodeError> {
        if !path.is_file() {
            return Err(EncodeError::InputMissing {
                what: "video",
                path: path.to_path_buf(),
            });
        }
        let mut child = Command::new(FFMPEG)
            .args(QUIET)
            .arg("-i")
            .arg(path)
            .args(["-f", "rawvideo", "-pix_fmt", "yuv420p", "-"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| EncodeError::ToolMissing {
                tool: FFMPEG.to_string(),
                source,
            })?;
        let stdout = child.stdout.take().ok_or_else(|| {
            EncodeError::io(
                format!("decoding {}", path.display()),
                std::io::Error::other("ffmpeg has no stdout"),
            )
        })?;
        let (w, h) = (width as usize, height as usize);
        Ok(I420Reader {
            child,
            stdout,
            frame: vec![0; w * h + 2 * (w / 2) * (h / 2)],
        })
    }

    /// The next frame, or `None` after the last.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, EncodeError> {
        let mut filled = 0;
        while filled < self.frame.len() {
            match self.stdout.read(&mut self.frame[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(EncodeError::io("reading decoded frames", e)),
            }
        }
        match filled {
            0 => Ok(None),
            n if n == self.frame.len() => Ok(Some(&self.frame)),
            n => Err(EncodeError::io(
                "reading decoded frames",
                std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!(
                        "the last frame is cut short ({n} of {} bytes)",
                        self.frame.len()
                    ),
                ),
            )),
        }
    }
}

impl Drop for I420Reader {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EncodeSettings, VideoEncoder};

    #[test]
    fn frames_come_back_as_many_and_as_large_as_they_went_in() {
        let dir = tempfile::tempdir().unwrap();
        let settings = EncodeSettings {
            width: 64,
            height: 48,
            fps: 25,
            crf: 0,
            preset: "ultrafast".into(),
            ..EncodeSettings::default()
        };
        let out = dir.path().join("v.mp4");
        let mut enc = VideoEncoder::start(&out, None, &settings).unwrap();
        for i in 0..7u8 {
            enc.write_frame(vec![i * 30; settings.frame_len()]).unwrap();
        }
        enc.finish().unwrap();
        let mut reader = I420Reader::open(&out, 64, 48).unwrap();
        let mut n = 0;
        while let Some(frame) = reader.next_frame().unwrap() {
            assert_eq!(frame.len(), settings.frame_len());
            // CRF 0 is lossless in luma.
            assert_eq!(frame[0], n * 30);
            n += 1;
        }
        assert_eq!(n, 7);
        assert!(I420Reader::open(&dir.path().join("none.mp4"), 64, 48).is_err());
    }
}
