//! Chunked encoding: a video's frames encoded as separate segments (on one machine or many)
//! and joined into one MP4 without re-encoding.
//!
//! A segment is an MP4 holding video only, encoded with exactly the libx264 arguments of
//! [`VideoEncoder`]; x264 starts every encode with an IDR frame and (by default) closes its
//! GOPs, so each segment decodes on its own and the joined stream is valid H.264.
//!
//! Why MP4 segments: their time base is the one a whole encode gets (fps × 512), so the
//! joined video's timestamps are the whole encode's, tick for tick. Raw Annex-B H.264 has no
//! timestamps at all (ffmpeg loses B-frame order and frames when muxing it), and MPEG-TS
//! moves the video to a 90 kHz time base. The one thing MP4 segments get wrong in ffmpeg's
//! concat demuxer, durations rounded to the movie header's milliseconds, is avoided by giving
//! every segment's exact duration in the concat list.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::atomic::{folder_of, partial_file, persist};
use crate::encoder::{QUIET, audio_args, container_args, describe, os_args};
use crate::tool::{FFMPEG, last_lines, run_tool};
use crate::{EncodeError, EncodeSettings, EncodedVideo, VideoEncoder, probe};

/// The fewest frames a segment should hold when others follow it.
///
/// x264 delays decoding timestamps by up to two frames when it uses B-frames, but only once
/// it has seen three frames: a one- or two-frame encode has no delay. Segments with different
/// delays cannot be joined without rewriting timestamps, so [`join_segments`] refuses them;
/// chunk plans keep every segment at least this long (a short tail joins the chunk before).
pub const MIN_SEGMENT_FRAMES: u64 = 3;

/// Starts encoding one segment: video only, an MP4 whatever `output`'s extension, with the
/// libx264 settings a whole [`VideoEncoder`] uses, written atomically like it.
///
/// Feed it the segment's frames with [`VideoEncoder::write_frame`] and
/// [`VideoEncoder::finish`] it; then [`join_segments`] puts segments together.
pub fn start_segment(
    output: &Path,
    settings: &EncodeSettings,
) -> Result<VideoEncoder, EncodeError> {
    VideoEncoder::start_as(output, None, settings, true)
}

/// Joins segments made by [`start_segment`] with the same `settings`, in order, into one MP4
/// at `output`: the video is copied (not re-encoded), the narration in `audio_wav` is
/// encoded exactly as [`VideoEncoder`] encodes it, and the index goes first (`+faststart`).
///
/// The output is written to a temporary file beside `output` and renamed into place only
/// once it holds every frame. Fails, naming the segment, when a segment is missing, cannot
/// be read, or differs from the others or from `settings` (codec, size, frame rate, time
/// base, SPS/PPS, decoding delay), so a joined video is never silently wrong.
pub fn join_segments(
    segments: &[PathBuf],
    audio_wav: &Path,
    settings: &EncodeSettings,
    output: &Path,
) -> Result<EncodedVideo, EncodeError> {
    settings.validate()?;
    let invalid = |reason: String| {
        EncodeError::io(
            format!("joining segments into {}", output.display()),
            std::io::Error::new(std::io::ErrorKind::InvalidData, reason),
        )
    };
    if segments.is_empty() {
        return Err(invalid("there are no segments to join".into()));
    }
    if !audio_wav.is_file() {
        return Err(EncodeError::InputMissing {
            what: "audio file",
            path: audio_wav.to_path_buf(),
        });
    }
    let mut infos = Vec::with_capacity(segments.len());
    for (i, path) in segments.iter().enumerate() {
        let info = probe_segment(path)?;
        info.check(settings)
            .map_err(|why| invalid(format!("segment {i} ({}) {why}", path.display())))?;
        if let Some(first) = infos.first() {
            info.matches(first).map_err(|why| {
                invalid(format!(
                    "segment {i} ({}) {why} segment 0 ({})",
                    path.display(),
                    segments[0].display()
                ))
            })?;
        }
        infos.push(info);
    }
    let frames: Vec<u64> = infos.iter().map(|s| s.frames).collect();
    let total: u64 = frames.iter().sum();

    let temp = partial_file(output, true)?.into_temp_path();
    let mut list = tempfile::Builder::new()
        .prefix(".vidflow-concat-")
        .suffix(".txt")
        .tempfile_in(folder_of(output))
        .map_err(|e| EncodeError::io("creating the segment list", e))?;
    let text = concat_list(segments, &frames, settings.fps).map_err(invalid)?;
    list.write_all(text.as_bytes())
        .and_then(|()| list.flush())
        .map_err(|e| EncodeError::io(format!("writing {}", list.path().display()), e))?;

    let mut args: Vec<OsString> = os_args(&QUIET);
    args.extend(os_args(&["-f", "concat", "-safe", "0", "-i"]));
    args.push(list.path().as_os_str().to_owned());
    args.push("-i".into());
    args.push(audio_wav.as_os_str().to_owned());
    args.extend(os_args(&["-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy"]));
    args.extend(audio_args(settings));
    args.extend(container_args(true));
    args.push(temp.as_os_str().to_owned());
    tracing::debug!(output = %output.display(), segments = segments.len(), ?args, "joining segments");
    let out = run_tool(Command::new(FFMPEG).args(&args), FFMPEG)?;
    if !out.status.success() {
        return Err(EncodeError::Ffmpeg {
            output: output.to_path_buf(),
            status: describe(out.status),
            stderr: last_lines(&String::from_utf8_lossy(&out.stderr), 8),
        });
    }
    // A join that dropped or doubled frames would still be a playable file: check the count.
    let joined = probe(&temp)?;
    if joined.frames != Some(total) {
        return Err(invalid(format!(
            "the joined video has {:?} frames, but the segments hold {total}",
            joined.frames
        )));
    }
    let bytes = std::fs::metadata(&temp)
        .map_err(|e| EncodeError::io(format!("reading the size of {}", temp.display()), e))?
        .len();
    persist(temp, output)?;
    Ok(EncodedVideo {
        path: output.to_path_buf(),
        bytes,
        frames: total,
    })
}

/// The concat demuxer's list: each segment with its exact duration. Durations are the
/// differences of the rounded start times, so rounding to microseconds never accumulates
/// however many segments there are.
fn concat_list(segments: &[PathBuf], frames: &[u64], fps: u32) -> Result<String, String> {
    let micros = |frame: u64| ((frame as u128 * 1_000_000 + fps as u128 / 2) / fps as u128) as u64;
    let mut text = String::from("ffconcat version 1.0\n");
    let mut start = 0u64;
    for (path, &n) in segments.iter().zip(frames) {
        let absolute = std::path::absolute(path)
            .map_err(|e| format!("cannot resolve {}: {e}", path.display()))?;
        let shown = absolute
            .to_str()
            .filter(|s| !s.contains(['\n', '\r']))
            .ok_or_else(|| format!("{} cannot be named in a concat list", path.display()))?;
        let duration = micros(start + n) - micros(start);
        start += n;
        // Inside single quotes only the quote itself needs escaping: close, \', reopen.
        text.push_str(&format!(
            "file '{}'\nduration {}.{:06}\n",
            shown.replace('\'', r"'\''"),
            duration / 1_000_000,
            duration % 1_000_000
        ));
    }
    Ok(text)
}

/// What joining needs to know of a segment.
#[derive(Debug, PartialEq)]
struct SegmentInfo {
    codec: String,
    width: u32,
    height: u32,
    rate: String,
    time_base: String,
    extradata: Option<String>,
    frames: u64,
    /// Presentation minus decoding time of the first packet, in time-base ticks.
    delay: i64,
    starts_on_key: bool,
}

impl SegmentInfo {
    /// Whether the segment is what `settings` would encode.
    fn check(&self, s: &EncodeSettings) -> Result<(), String> {
        if self.codec != "h264" {
            return Err(format!("is {}, not h264", self.codec));
        }
        if (self.width, self.height) != (s.width, s.height) {
            return Err(format!(
                "is {}x{}, not {}x{}",
                self.width, self.height, s.width, s.height
            ));
        }
        if self.rate != format!("{}/1", s.fps) {
            return Err(format!("runs at {} fps, not {}", self.rate, s.fps));
        }
        if self.frames == 0 {
            return Err("holds no frames".into());
        }
        if !self.starts_on_key {
            return Err("does not start on a keyframe".into());
        }
        Ok(())
    }

    /// Whether the segment can follow `first` in one stream; the error reads "… differs
    /// from".
    fn matches(&self, first: &SegmentInfo) -> Result<(), String> {
        if self.time_base != first.time_base {
            return Err(format!("has time base {}, unlike", self.time_base));
        }
        if self.extradata != first.extradata {
            return Err("has other SPS/PPS (encoder settings) than".into());
        }
        if self.delay != first.delay {
            return Err(format!(
                "has a decoding delay of {} ticks ({} frames: segments need at least {MIN_SEGMENT_FRAMES}), unlike the {} of",
                self.delay, self.frames, first.delay
            ));
        }
        Ok(())
    }
}

/// Probes a segment's video stream and first packet with one ffprobe run.
fn probe_segment(path: &Path) -> Result<SegmentInfo, EncodeError> {
    if !path.is_file() {
        return Err(EncodeError::InputMissing {
            what: "segment",
            path: path.to_path_buf(),
        });
    }
    let report: SegmentReport = crate::probe::ffprobe_json(
        path,
        &[
            "-v",
            "error",
            "-of",
            "json",
            "-select_streams",
            "v:0",
            "-show_data_hash",
            "MD5",
            "-read_intervals",
            "%+#1",
            "-show_entries",
            "stream=codec_name,width,height,r_frame_rate,time_base,nb_frames,extradata_hash:packet=pts,dts,flags",
        ],
    )?;
    let fail = |reason: String| EncodeError::Probe {
        path: path.to_path_buf(),
        reason,
    };
    let stream = report
        .streams
        .into_iter()
        .next()
        .ok_or_else(|| fail("it has no video stream".into()))?;
    let packet = report
        .packets
        .into_iter()
        .next()
        .ok_or_else(|| fail("its video stream has no packets".into()))?;
    Ok(SegmentInfo {
        codec: stream.codec_name.unwrap_or_default(),
        width: stream.width.unwrap_or_default(),
        height: stream.height.unwrap_or_default(),
        rate: stream.r_frame_rate.unwrap_or_default(),
        time_base: stream.time_base.unwrap_or_default(),
        extradata: stream.extradata_hash,
        frames: stream
            .nb_frames
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| fail("its video stream does not record its frame count".into()))?,
        delay: packet.pts.unwrap_or_default() - packet.dts.unwrap_or_default(),
        starts_on_key: packet.flags.is_some_and(|f| f.starts_with('K')),
    })
}

/// The parts of ffprobe's JSON that [`probe_segment`] uses.
#[derive(Deserialize)]
struct SegmentReport {
    #[serde(default)]
    streams: Vec<SegmentStream>,
    #[serde(default)]
    packets: Vec<SegmentPacket>,
}

#[derive(Deserialize)]
struct SegmentStream {
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    r_frame_rate: Option<String>,
    time_base: Option<String>,
    nb_frames: Option<String>,
    extradata_hash: Option<String>,
}

#[derive(Deserialize)]
struct SegmentPacket {
    pts: Option<i64>,
    dts: Option<i64>,
    flags: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tool::FFPROBE;

    fn settings() -> EncodeSettings {
        EncodeSettings {
            width: 160,
            height: 96,
            fps: 24,
            ..EncodeSettings::default()
        }
    }

    /// Frame `n`: a luma ramp that moves with `n`, so frames differ and B-frames are used.
    fn frame(s: &EncodeSettings, n: u64) -> Vec<u8> {
        let (w, h) = (s.width as usize, s.height as usize);
        let mut out: Vec<u8> = (0..w * h)
            .map(|i| ((i % w + i / w + n as usize * 5) % 200 + 16) as u8)
            .collect();
        out.resize(s.frame_len(), 128);
        out
    }

    fn encode(path: &Path, frames: std::ops::Range<u64>, s: &EncodeSettings) {
        let mut enc = start_segment(path, s).unwrap();
        for n in frames {
            enc.write_frame(frame(s, n)).unwrap();
        }
        enc.finish().unwrap();
    }

    /// Decoded frames as one MD5 line each.
    fn frame_hashes(path: &Path) -> Vec<String> {
        let out = Command::new(FFMPEG)
            .args(["-v", "error", "-i"])
            .arg(path)
            .args(["-map", "0:v", "-f", "framemd5", "-"])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.rsplit(',').next().unwrap().trim().to_owned())
            .collect()
    }

    fn frame_times(path: &Path) -> Vec<String> {
        let out = Command::new(FFPROBE)
            .args(["-v", "error", "-select_streams", "v:0"])
            .args(["-show_entries", "frame=pts", "-of", "csv=p=0"])
            .arg(path)
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| l.trim_matches(',').to_owned())
            .filter(|l| !l.is_empty())
            .collect()
    }

    fn silence(dir: &Path, seconds: f64) -> PathBuf {
        let wav = dir.join("voice.wav");
        let samples = vec![0i16; (seconds * 16_000.0) as usize];
        crate::write_wav(&wav, &samples.into(), 16_000).unwrap();
        wav
    }

    #[test]
    fn list_durations_do_not_drift_and_quotes_are_escaped() {
        let segs: Vec<PathBuf> = (0..3)
            .map(|i| PathBuf::from(format!("/t/it's {i}.mp4")))
            .collect();
        let text = concat_list(&segs, &[7, 7, 7], 24).unwrap();
        assert!(text.contains(r"file '/t/it'\''s 0.mp4'"), "{text}");
        // 7/24 s = 291666.67 us: rounded starts 0, 291667, 583333, 875000.
        let durations: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("duration "))
            .collect();
        assert_eq!(durations, ["0.291667", "0.291666", "0.291667"]);
        let bad = [PathBuf::from("/t/a\nb.mp4")];
        assert!(concat_list(&bad, &[3], 24).is_err());
    }

    #[test]
    fn joined_segments_hold_exactly_the_frames_and_times_of_a_whole_encode() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings();
        // Uneven lengths, including the shortest allowed and lengths whose durations are not
        // whole milliseconds.
        let spans = [0..7, 7..10, 10..27, 27..32];
        let segs: Vec<PathBuf> = spans
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let p = dir.path().join(format!("seg{i}.mp4"));
                encode(&p, r.clone(), &s);
                p
            })
            .collect();
        let wav = silence(dir.path(), 32.0 / 24.0);
        let joined = dir.path().join("joined.mp4");
        let video = join_segments(&segs, &wav, &s, &joined).unwrap();
        assert_eq!(video.frames, 32);

        let whole = dir.path().join("whole.mp4");
        let mut enc = VideoEncoder::start(&whole, Some(&wav), &s).unwrap();
        for n in 0..32 {
            enc.write_frame(frame(&s, n)).unwrap();
        }
        enc.finish().unwrap();

        let expected: Vec<String> = segs.iter().flat_map(|p| frame_hashes(p)).collect();
        assert_eq!(frame_hashes(&joined), expected, "every frame, in order");
        assert_eq!(frame_times(&joined), frame_times(&whole));
        let (a, b) = (probe(&joined).unwrap(), probe(&whole).unwrap());
        assert_eq!(a.audio_codec.as_deref(), Some("aac"));
        assert!(a.faststart);
        assert_eq!((a.frames, a.video_duration), (b.frames, b.video_duration));
        assert_eq!(a.audio_duration, b.audio_duration);
        // Only the output is left behind.
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        names.sort();
        assert!(names.is_empty(), "{names:?}");
    }

    #[test]
    fn mismatched_or_missing_segments_are_refused_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings();
        let long = dir.path().join("long.mp4");
        let tiny = dir.path().join("tiny.mp4");
        encode(&long, 0..10, &s);
        // Two frames: x264 gives it no B-frame delay, unlike the long one.
        encode(&tiny, 10..12, &s);
        let wav = silence(dir.path(), 1.0);
        let out = dir.path().join("out.mp4");
        let err = join_segments(&[long.clone(), tiny.clone()], &wav, &s, &out).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("segment 1") && msg.contains("delay"), "{msg}");
        assert!(!out.exists());

        let other = EncodeSettings {
            width: 320,
            ..settings()
        };
        let err = join_segments(std::slice::from_ref(&long), &wav, &other, &out).unwrap_err();
        assert!(err.to_string().contains("160x96, not 320x96"), "{err}");

        let gone = dir.path().join("gone.mp4");
        let err = join_segments(&[long, gone], &wav, &s, &out).unwrap_err();
        assert!(matches!(err, EncodeError::InputMissing { .. }), "{err}");
        assert!(err.to_string().contains("gone.mp4"), "{err}");
        assert!(!out.exists());
    }
}
