//! What a video file holds, as reported by ffprobe, and where its MP4 index sits.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::EncodeError;
use crate::tool::{FFPROBE, last_lines, run_tool};

/// The facts about a video that vidflow checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Codec of the first video stream (`h264`).
    pub video_codec: String,
    /// Codec of the first audio stream (`aac`), if there is one.
    pub audio_codec: Option<String>,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frames per second (average rate, falling back to the stream's base rate).
    pub fps: f64,
    /// Length of the whole file in seconds.
    pub duration: f64,
    /// Length of the video stream in seconds (the file's when the container has none).
    pub video_duration: f64,
    /// Length of the audio stream in seconds, if there is one.
    pub audio_duration: Option<f64>,
    /// Video frames, where the container records them.
    pub frames: Option<u64>,
    /// Whether the MP4 index (`moov`) comes before the media data (`mdat`), so playback can
    /// start before the download ends.
    pub faststart: bool,
}

/// Probes a video with `ffprobe -of json`, and reads its top-level MP4 boxes for
/// [`Probe::faststart`].
///
/// ```
/// # use vidflow_encode::{EncodeSettings, VideoEncoder};
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("clip.mp4");
/// # let settings = EncodeSettings { width: 64, height: 48, fps: 10, ..EncodeSettings::default() };
/// # let mut encoder = VideoEncoder::start(&path, None, &settings).unwrap();
/// # for _ in 0..5 { encoder.write_frame(vec![16; settings.frame_len()]).unwrap(); }
/// # encoder.finish().unwrap();
/// let probe = vidflow_encode::probe(&path).unwrap();
/// assert_eq!((probe.video_codec.as_str(), probe.width, probe.height), ("h264", 64, 48));
/// assert!(probe.audio_codec.is_none() && probe.faststart);
/// ```
pub fn probe(path: &Path) -> Result<Probe, EncodeError> {
    if !path.is_file() {
        return Err(EncodeError::InputMissing {
            what: "video to probe",
            path: path.to_path_buf(),
        });
    }
    let report: Report = ffprobe_json(
        path,
        &[
            "-v",
            "error",
            "-of",
            "json",
            "-show_format",
            "-show_streams",
        ],
    )?;
    let fail = |reason: String| EncodeError::Probe {
        path: path.to_path_buf(),
        reason,
    };
    let mut probe = report.into_probe().map_err(fail)?;
    probe.faststart = moov_before_mdat(&top_level_atoms(path)?);
    Ok(probe)
}

/// The types of the top-level boxes ("atoms") of an MP4/QuickTime file, in file order,
/// e.g. `["ftyp", "moov", "free", "mdat"]` for a faststart file.
///
/// Reading stops at the first box header that cannot be valid (so a non-MP4 file gives a
/// short or empty list rather than an error); only I/O failures are errors.
pub fn top_level_atoms(path: &Path) -> Result<Vec<String>, EncodeError> {
    let file =
        File::open(path).map_err(|e| EncodeError::io(format!("opening {}", path.display()), e))?;
    let len = file
        .metadata()
        .map_err(|e| EncodeError::io(format!("reading the size of {}", path.display()), e))?
        .len();
    atoms_in(BufReader::new(file), len)
        .map_err(|e| EncodeError::io(format!("reading the boxes of {}", path.display()), e))
}

/// True when `moov` appears and no `mdat` comes before it.
fn moov_before_mdat(atoms: &[String]) -> bool {
    match atoms.iter().position(|a| a == "moov") {
        Some(moov) => !atoms[..moov].iter().any(|a| a == "mdat"),
        None => false,
    }
}

/// Walks box headers: 32-bit big-endian size, 4-byte type; size 1 means a 64-bit size
/// follows, size 0 means "to the end of the file".
fn atoms_in(mut reader: impl Read + Seek, len: u64) -> std::io::Result<Vec<String>> {
    let mut atoms = Vec::new();
    let mut pos = 0u64;
    while pos + 8 <= len {
        reader.seek(SeekFrom::Start(pos))?;
        let mut header = [0u8; 8];
        reader.read_exact(&mut header)?;
        let size32 = u32::from_be_bytes(header[..4].try_into().expect("4 bytes"));
        let kind = &header[4..8];
        if !kind.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            break;
        }
        let size = match size32 {
            0 => len - pos,
            1 => {
                if pos + 16 > len {
                    break;
                }
                let mut large = [0u8; 8];
                reader.read_exact(&mut large)?;
                u64::from_be_bytes(large)
            }
            n => u64::from(n),
        };
        let header_len = if size32 == 1 { 16 } else { 8 };
        if size < header_len || pos.checked_add(size).is_none_or(|end| end > len) {
            break;
        }
        atoms.push(String::from_utf8_lossy(kind).into_owned());
        pos += size;
    }
    Ok(atoms)
}

/// The parts of ffprobe's JSON that are used.
#[derive(Deserialize)]
struct Report {
    #[serde(default)]
    streams: Vec<Stream>,
    format: Option<Format>,
}

#[derive(Deserialize)]
struct Stream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    avg_frame_rate: Option<String>,
    r_frame_rate: Option<String>,
    duration: Option<String>,
    nb_frames: Option<String>,
}

#[derive(Deserialize)]
struct Format {
    duration: Option<String>,
}

impl Report {
    fn into_probe(self) -> Result<Probe, String> {
        let of_type = |t: &str| {
            self.streams
                .iter()
                .find(|s| s.codec_type.as_deref() == Some(t))
        };
        let video = of_type("video").ok_or("it has no video stream")?;
        let audio = of_type("audio");
        let file_duration = self
            .format
            .as_ref()
            .and_then(|f| number(f.duration.as_deref()));
        let stream_duration = |s: &Stream| number(s.duration.as_deref()).or(file_duration);
        let fps = rate(video.avg_frame_rate.as_deref())
            .or_else(|| rate(video.r_frame_rate.as_deref()))
            .ok_or("its video stream has no frame rate")?;
        Ok(Probe {
            video_codec: video.codec_name.clone().unwrap_or_default(),
            audio_codec: audio.map(|a| a.codec_name.clone().unwrap_or_default()),
            width: video.width.ok_or("its video stream has no width")?,
            height: video.height.ok_or("its video stream has no height")?,
            fps,
            duration: file_duration.ok_or("it has no duration")?,
            video_duration: stream_duration(video).ok_or("its video stream has no duration")?,
            audio_duration: audio.and_then(stream_duration),
            frames: video.nb_frames.as_deref().and_then(|n| n.parse().ok()),
            faststart: false,
        })
    }
}

/// A decimal number as ffprobe prints it ("2.000000"); `N/A` and junk give `None`.
fn number(text: Option<&str>) -> Option<f64> {
    text?.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A rate as ffprobe prints it ("25/1", "30000/1001"); "0/0" gives `None`.
fn rate(text: Option<&str>) -> Option<f64> {
    let (num, den) = text?.split_once('/')?;
    let (num, den): (f64, f64) = (num.trim().parse().ok()?, den.trim().parse().ok()?);
    (num > 0.0 && den > 0.0).then(|| num / den)
}

/// Runs ffprobe with `args` on `path` and reads its JSON output; a failure names the file
/// and ffprobe's own last words.
pub(crate) fn ffprobe_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    args: &[&str],
) -> Result<T, EncodeError> {
    let out = run_tool(Command::new(FFPROBE).args(args).arg(path), FFPROBE)?;
    let fail = |reason: String| EncodeError::Probe {
        path: path.to_path_buf(),
        reason,
    };
    if !out.status.success() {
        return Err(fail(last_lines(&String::from_utf8_lossy(&out.stderr), 5)));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| fail(format!("unreadable ffprobe output: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn atom(kind: &[u8; 4], body: usize) -> Vec<u8> {
        let mut v = ((body + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend(std::iter::repeat_n(0u8, body));
        v
    }

    fn walk(bytes: &[u8]) -> Vec<String> {
        atoms_in(Cursor::new(bytes), bytes.len() as u64).unwrap()
    }

    #[test]
    fn atoms_in_order_with_large_and_open_ended_boxes() {
        let mut bytes = atom(b"ftyp", 12);
        bytes.extend(atom(b"moov", 30));
        // A 64-bit sized box: size field 1, then the real size (16-byte header + 4 bytes).
        bytes.extend(1u32.to_be_bytes());
        bytes.extend(b"free");
        bytes.extend(20u64.to_be_bytes());
        bytes.extend([0u8; 4]);
        // Size 0: runs to the end of the file.
        bytes.extend(0u32.to_be_bytes());
        bytes.extend(b"mdat");
        bytes.extend([7u8; 50]);
        assert_eq!(walk(&bytes), ["ftyp", "moov", "free", "mdat"]);
        assert!(moov_before_mdat(&walk(&bytes)));
    }

    #[test]
    fn mdat_first_is_not_faststart() {
        let mut bytes = atom(b"ftyp", 12);
        bytes.extend(atom(b"mdat", 100));
        bytes.extend(atom(b"moov", 30));
        assert_eq!(walk(&bytes), ["ftyp", "mdat", "moov"]);
        assert!(!moov_before_mdat(&walk(&bytes)));
        assert!(!moov_before_mdat(&[]));
    }

    #[test]
    fn garbage_and_truncation_stop_the_walk() {
        assert!(walk(b"this is not an mp4 file at all").is_empty());
        let mut bytes = atom(b"ftyp", 4);
        bytes.extend(atom(b"moov", 100)[..20].to_vec()); // truncated
        assert_eq!(walk(&bytes), ["ftyp"]);
        let mut tiny = atom(b"ftyp", 4);
        tiny.extend(3u32.to_be_bytes()); // size below the header's own length
        tiny.extend(b"free");
        assert_eq!(walk(&tiny), ["ftyp"]);
    }

    #[test]
    fn rates_and_numbers() {
        assert_eq!(rate(Some("25/1")), Some(25.0));
        assert!((rate(Some("30000/1001")).unwrap() - 29.97).abs() < 0.01);
        assert_eq!(rate(Some("0/0")), None);
        assert_eq!(rate(None), None);
        assert_eq!(number(Some("2.000000")), Some(2.0));
        assert_eq!(number(Some("N/A")), None);
    }

    #[test]
    fn report_parsing() {
        let json = r#"{"streams":[
            {"codec_type":"audio","codec_name":"aac","duration":"1.98"},
            {"codec_type":"video","codec_name":"h264","width":320,"height":240,
             "avg_frame_rate":"25/1","r_frame_rate":"25/1","duration":"2.000000","nb_frames":"50"}],
            "format":{"duration":"2.010000"}}"#;
        let report: Report = serde_json::from_str(json).unwrap();
        let p = report.into_probe().unwrap();
        assert_eq!(p.video_codec, "h264");
        assert_eq!(p.audio_codec.as_deref(), Some("aac"));
        assert_eq!((p.width, p.height, p.fps), (320, 240, 25.0));
        assert_eq!((p.duration, p.video_duration), (2.01, 2.0));
        assert_eq!(p.audio_duration, Some(1.98));
        assert_eq!(p.frames, Some(50));

        let no_video: Report =
            serde_json::from_str(r#"{"streams":[{"codec_type":"audio"}],"format":{}}"#).unwrap();
        assert!(no_video.into_probe().unwrap_err().contains("no video"));
    }

    #[test]
    fn missing_file_is_bad_input() {
        let err = probe(Path::new("/nonexistent/vidflow/clip.mp4")).unwrap_err();
        assert_eq!(err.kind(), vidflow_core::ErrorKind::BadInput);
        assert!(
            err.to_string().contains("/nonexistent/vidflow/clip.mp4"),
            "{err}"
        );
    }

    #[test]
    fn non_media_file_gives_ffprobe_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.mp4");
        std::fs::write(&path, "plain text, not a video").unwrap();
        let err = probe(&path).unwrap_err();
        assert!(matches!(err, EncodeError::Probe { .. }), "{err}");
        assert!(err.to_string().contains("notes.mp4"), "{err}");
    }
}
