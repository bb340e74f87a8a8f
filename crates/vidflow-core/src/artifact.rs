//! What flows between stages: one type per kind of value, how each is stored in the cache,
//! shown as JSON and measured.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::codec;
use crate::error::VidflowError;
use crate::{Article, Cue, Page, Script, Speech, Timeline, VideoSize};

/// The kinds of value a stage takes or makes. A workflow connects a stage's output to
/// another's input only where the kinds match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    /// A fetched page ([`Page`]).
    Page,
    /// A page's main text ([`Article`]).
    Article,
    /// What is said and shown ([`Script`]).
    Script,
    /// Narration with word and phone timings ([`Speech`]).
    Speech,
    /// Everything a frame is drawn from ([`Timeline`]).
    Timeline,
    /// An encoded MP4 ([`Video`]).
    Video,
    /// A JSON document: a report a stage made (a tuning study's result, say).
    Document,
}

impl DataType {
    /// The kind's name as workflows and messages spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Page => "page",
            DataType::Article => "article",
            DataType::Script => "script",
            DataType::Speech => "speech",
            DataType::Timeline => "timeline",
            DataType::Video => "video",
            DataType::Document => "document",
        }
    }
}

impl std::fmt::Display for DataType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An encoded MP4 and what a player needs beside it. The file lives in the run's scratch
/// folder until the run delivers it to the requested path.
#[derive(Debug, Clone, PartialEq)]
pub struct Video {
    /// The MP4.
    pub path: PathBuf,
    /// Its size, bytes.
    pub bytes: u64,
    /// Length, seconds.
    pub duration: f64,
    /// Frame size.
    pub size: VideoSize,
    /// Frames per second.
    pub fps: u32,
    /// Number of frames.
    pub frames: u64,
    /// The subtitles (written as `.srt` and `.vtt` beside the MP4).
    pub cues: Vec<Cue>,
}

/// Everything about a [`Video`] but its bytes: what the cache stores before the MP4.
#[derive(Serialize, Deserialize)]
struct VideoHeader {
    duration: f64,
    size: VideoSize,
    fps: u32,
    frames: u64,
    cues: Vec<Cue>,
}

/// A value that flows between stages. Cheap to clone (each holds an `Arc`).
#[derive(Debug, Clone)]
pub enum Artifact {
    /// A fetched page.
    Page(Arc<Page>),
    /// A page's main text.
    Article(Arc<Article>),
    /// A narration script.
    Script(Arc<Script>),
    /// Spoken narration.
    Speech(Arc<Speech>),
    /// A storyboard.
    Timeline(Arc<Timeline>),
    /// An encoded video.
    Video(Arc<Video>),
    /// A JSON document.
    Document(Arc<serde_json::Value>),
}

/// A Rust type that is one kind of [`Artifact`]; lets stages read their inputs by type.
pub trait ArtifactType: Sized + Send + Sync + 'static {
    /// The kind.
    const DATA: DataType;
    /// The value, when `artifact` is of this kind.
    fn from_artifact(artifact: &Artifact) -> Option<&Arc<Self>>;
    /// Wraps the value.
    fn into_artifact(self) -> Artifact;
}

macro_rules! artifact_type {
    ($t:ident) => {
        impl ArtifactType for $t {
            const DATA: DataType = DataType::$t;
            fn from_artifact(artifact: &Artifact) -> Option<&Arc<Self>> {
                match artifact {
                    Artifact::$t(v) => Some(v),
                    _ => None,
                }
            }
            fn into_artifact(self) -> Artifact {
                Artifact::$t(Arc::new(self))
            }
        }

        impl From<$t> for Artifact {
            fn from(value: $t) -> Artifact {
                Artifact::$t(Arc::new(value))
            }
        }
    };
}

artifact_type!(Page);
artifact_type!(Article);
artifact_type!(Script);
artifact_type!(Speech);
artifact_type!(Timeline);
artifact_type!(Video);

impl From<serde_json::Value> for Artifact {
    fn from(value: serde_json::Value) -> Artifact {
        Artifact::Document(Arc::new(value))
    }
}

impl Artifact {
    /// Its kind.
    pub fn data_type(&self) -> DataType {
        match self {
            Artifact::Page(_) => DataType::Page,
            Artifact::Article(_) => DataType::Article,
            Artifact::Script(_) => DataType::Script,
            Artifact::Speech(_) => DataType::Speech,
            Artifact::Timeline(_) => DataType::Timeline,
            Artifact::Video(_) => DataType::Video,
            Artifact::Document(_) => DataType::Document,
        }
    }

    /// The value as `T`, when it is of that kind.
    pub fn get<T: ArtifactType>(&self) -> Option<&Arc<T>> {
        T::from_artifact(self)
    }

    /// The bytes the cache stores: postcard + zstd for values; for a video a short
    /// header (zstd) and then the MP4 as it is (compressing it again would gain nothing).
    pub fn encode(&self) -> Result<Vec<u8>, VidflowError> {
        match self {
            Artifact::Page(v) => codec::encode(v.as_ref()),
            Artifact::Article(v) => codec::encode(v.as_ref()),
            Artifact::Script(v) => codec::encode(v.as_ref()),
            Artifact::Speech(v) => codec::encode(v.as_ref()),
            Artifact::Timeline(v) => codec::encode(v.as_ref()),
            // As JSON text: postcard cannot read a self-describing value back.
            Artifact::Document(v) => codec::encode(&v.to_string()),
            Artifact::Video(v) => {
                let header = codec::encode(&VideoHeader {
                    duration: v.duration,
                    size: v.size,
                    fps: v.fps,
                    frames: v.frames,
                    cues: v.cues.clone(),
                })?;
                let mp4 = std::fs::read(&v.path).map_err(|e| {
                    VidflowError::internal(format!("cannot read back {}: {e}", v.path.display()))
                })?;
                let mut out = Vec::with_capacity(8 + header.len() + mp4.len());
                out.extend_from_slice(&(header.len() as u64).to_le_bytes());
                out.extend_from_slice(&header);
                out.extend_from_slice(&mp4);
                Ok(out)
            }
        }
    }

    /// Reads back what [`Artifact::encode`] wrote. A video's MP4 is written to a new file
    /// in `scratch`.
    pub fn decode(
        data: DataType,
        bytes: &[u8],
        scratch: &Scratch,
    ) -> Result<Artifact, VidflowError> {
        Ok(match data {
            DataType::Page => Artifact::Page(Arc::new(codec::decode(bytes)?)),
            DataType::Article => Artifact::Article(Arc::new(codec::decode(bytes)?)),
            DataType::Script => Artifact::Script(Arc::new(codec::decode(bytes)?)),
            DataType::Speech => Artifact::Speech(Arc::new(codec::decode(bytes)?)),
            DataType::Timeline => Artifact::Timeline(Arc::new(codec::decode(bytes)?)),
            DataType::Document => {
                let text: String = codec::decode(bytes)?;
                let value = serde_json::from_str(&text).map_err(|e| {
                    VidflowError::internal(format!("cached document is not JSON: {e}"))
                })?;
                Artifact::Document(Arc::new(value))
            }
            DataType::Video => {
                let (len, rest) = bytes
                    .split_first_chunk::<8>()
                    .ok_or_else(|| VidflowError::internal("cached video is truncated"))?;
                let len = usize::try_from(u64::from_le_bytes(*len)).unwrap_or(usize::MAX);
                if len > rest.len() {
                    return Err(VidflowError::internal("cached video is truncated"));
                }
                let (header, mp4) = rest.split_at(len);
                let h: VideoHeader = codec::decode(header)?;
                let path = scratch.file("video.mp4")?;
                std::fs::write(&path, mp4).map_err(|e| {
                    VidflowError::internal(format!("cannot write {}: {e}", path.display()))
                })?;
                Artifact::Video(Arc::new(Video {
                    path,
                    bytes: mp4.len() as u64,
                    duration: h.duration,
                    size: h.size,
                    fps: h.fps,
                    frames: h.frames,
                    cues: h.cues,
                }))
            }
        })
    }

    /// The title it carries, when it is an article or a script with a non-empty one.
    pub fn title(&self) -> Option<&str> {
        match self {
            Artifact::Article(a) => Some(a.title.as_str()),
            Artifact::Script(s) => Some(s.title.as_str()),
            _ => None,
        }
        .map(str::trim)
        .filter(|t| !t.is_empty())
    }

    /// Its size in bytes, as serialised (uncompressed); a video's file size. The
    /// `bytes_in` and `bytes_out` of a stage's metrics.
    pub fn byte_size(&self) -> u64 {
        fn size<T: Serialize>(v: &T) -> u64 {
            postcard::serialize_with_flavor(v, postcard::ser_flavors::Size::default())
                .map_or(0, |n| n as u64)
        }
        match self {
            Artifact::Page(v) => size(v.as_ref()),
            Artifact::Article(v) => size(v.as_ref()),
            Artifact::Script(v) => size(v.as_ref()),
            Artifact::Speech(v) => size(v.as_ref()),
            Artifact::Timeline(v) => size(v.as_ref()),
            Artifact::Video(v) => v.bytes,
            Artifact::Document(v) => v.to_string().len() as u64,
        }
    }

    /// The value as JSON for people (`--stop-after`, a job's partial result): a page's
    /// body as text, a speech's timings without its samples, a timeline's images by size.
    pub fn to_json(&self) -> Result<serde_json::Value, VidflowError> {
        let json = |v: serde_json::Result<serde_json::Value>| {
            v.map_err(|e| VidflowError::internal(format!("cannot write JSON: {e}")))
        };
        match self {
            Artifact::Page(page) => Ok(serde_json::json!({
                "requested": page.requested,
                "final_url": page.final_url,
                "content_type": page.content_type,
                "charset": page.charset,
                "bytes": page.body.len(),
                "body": String::from_utf8_lossy(&page.body),
            })),
            Artifact::Article(v) => json(serde_json::to_value(v.as_ref())),
            Artifact::Script(v) => json(serde_json::to_value(v.as_ref())),
            Artifact::Speech(speech) => Ok(serde_json::json!({
                "voice": speech.voice,
                "sample_rate": speech.sample_rate,
                "duration": speech.duration(),
                "segments": speech.segments,
                "words": speech.words,
                "phones": speech.phones,
            })),
            Artifact::Timeline(t) => {
                let mut v = json(serde_json::to_value(t.as_ref()))?;
                // Image bytes are noise in JSON: show their size instead.
                if let Some(images) = v.get_mut("images").and_then(|i| i.as_array_mut()) {
                    for (img, asset) in images.iter_mut().zip(&t.images) {
                        *img = serde_json::json!({ "url": asset.url, "bytes": asset.bytes.len() });
                    }
                }
                Ok(v)
            }
            Artifact::Document(v) => Ok(v.as_ref().clone()),
            Artifact::Video(v) => Ok(serde_json::json!({
                "bytes": v.bytes,
                "duration": v.duration,
                "size": v.size.to_string(),
                "fps": v.fps,
                "frames": v.frames,
                "cues": v.cues.len(),
            })),
        }
    }
}

/// A run's private folder for files between stages (a rendered MP4 before it is moved
/// into place), made on first use inside `base` and removed with everything in it when
/// dropped. Beside the output, so that delivering a video is a rename.
#[derive(Debug)]
pub struct Scratch {
    base: PathBuf,
    dir: OnceLock<tempfile::TempDir>,
    next: std::sync::atomic::AtomicU64,
}

impl Scratch {
    /// A scratch folder to be made inside `base` when first needed.
    pub fn new(base: impl Into<PathBuf>) -> Scratch {
        Scratch {
            base: base.into(),
            dir: OnceLock::new(),
            next: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The folder, made now if it does not exist yet.
    pub fn dir(&self) -> Result<&Path, VidflowError> {
        if let Some(d) = self.dir.get() {
            return Ok(d.path());
        }
        let made = tempfile::Builder::new()
            .prefix(".vidflow-run-")
            .tempdir_in(&self.base)
            .map_err(|e| {
                VidflowError::internal(format!(
                    "cannot create a temporary folder in {}: {e}",
                    self.base.display()
                ))
            })?;
        Ok(self.dir.get_or_init(|| made).path())
    }

    /// A path for a new file named after `name` (made unique) in the folder.
    pub fn file(&self, name: &str) -> Result<PathBuf, VidflowError> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(self.dir()?.join(format!("{n}-{name}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_video_round_trips_through_its_cache_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = Scratch::new(dir.path());
        let path = scratch.file("in.mp4").unwrap();
        std::fs::write(&path, b"not really an mp4").unwrap();
        let video = Artifact::from(Video {
            path,
            bytes: 17,
            duration: 1.5,
            size: VideoSize {
                width: 1280,
                height: 720,
            },
            fps: 30,
            frames: 45,
            cues: vec![],
        });
        let bytes = video.encode().unwrap();
        let back = Artifact::decode(DataType::Video, &bytes, &scratch).unwrap();
        let v = back.get::<Video>().unwrap();
        assert_eq!(std::fs::read(&v.path).unwrap(), b"not really an mp4");
        assert_eq!((v.frames, v.bytes), (45, 17));
        assert!(Artifact::decode(DataType::Video, &bytes[..12], &scratch).is_err());
        assert_eq!(back.byte_size(), 17);
    }

    #[test]
    fn a_document_round_trips() {
        let doc = Artifact::from(serde_json::json!({"best": {"crf": 28}, "trials": [1, 2]}));
        let scratch = Scratch::new(std::env::temp_dir());
        let back = Artifact::decode(DataType::Document, &doc.encode().unwrap(), &scratch).unwrap();
        assert_eq!(back.to_json().unwrap()["best"]["crf"], 28);
        assert_eq!(back.data_type(), DataType::Document);
    }

    #[test]
    fn values_decode_only_as_their_own_kind() {
        let script = Artifact::from(Script::default());
        let bytes = script.encode().unwrap();
        let scratch = Scratch::new(std::env::temp_dir());
        assert!(
            Artifact::decode(DataType::Script, &bytes, &scratch)
                .unwrap()
                .get::<Script>()
                .is_some()
        );
        assert!(script.get::<Speech>().is_none());
        assert!(script.byte_size() > 0);
    }
}
