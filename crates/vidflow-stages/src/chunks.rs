//! Chunked rendering, the unit of distributed work: a video's frames split into time chunks,
//! each rendered and encoded (video only) as its own closed-GOP segment and stored in the
//! cache, then the segments joined without re-encoding and muxed with the whole narration.
//!
//! Every artifact is content-addressed: a chunk's key chains the storyboard key, the
//! presenter, the x264 settings and the chunk's frames; the joined video's key chains the
//! chunks' keys. A chunk rendered twice (a redelivered task) gets the same key, and its
//! second store only overwrites equivalent bytes.
//!
//! ```no_run
//! # use vidflow_stages::{CancelFlag, Engine, MakeRequest};
//! # async fn run(engine: &Engine, req: &MakeRequest) -> Result<(), vidflow_core::VidflowError> {
//! let plan = engine.chunk_plan(req, 10.0, &|_| {}).await?;
//! for chunk in &plan.chunks {
//!     // Any worker, any order, any number of times.
//!     engine.render_chunk(req, &plan, chunk.index, &|_| {}, CancelFlag::default()).await?;
//! }
//! engine.assemble(req, &plan, &|_| {}, CancelFlag::default()).await?;
//! let video = engine.write_assembled(req, &plan).await?;
//! # Ok(()) }
//! ```

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use vidflow_core::{ContentKey, Progress, ProgressSink, StageName, Timeline, VidflowError};
use vidflow_encode::MIN_SEGMENT_FRAMES;

use crate::pipeline::{
    CancelFlag, Engine, MakeOutput, MakeRequest, assembled_key, chunk_key, video_written,
    write_file,
};
use crate::render::{SegmentJob, encode_settings, render_segment};

/// Frames `[start, end)` of a video, rendered and encoded as one closed-GOP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkSpan {
    /// Position in the plan, from 0.
    pub index: u32,
    /// First frame.
    pub start: u64,
    /// One past the last frame.
    pub end: u64,
}

impl ChunkSpan {
    /// Number of frames.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// True when the span holds no frames (never in a valid plan).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a request's video splits into chunks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkPlan {
    /// Frames in the whole video.
    pub frames: u64,
    /// Frames per second.
    pub fps: u32,
    /// Length of the video (the narration), seconds.
    pub duration: f64,
    /// Frames per chunk; the last chunk has fewer, or up to
    /// [`MIN_SEGMENT_FRAMES`]` - 1` more when a tail too short to be a segment of its own
    /// joins it.
    pub chunk_frames: u64,
    /// The chunks in order; they tile `[0, frames)`.
    pub chunks: Vec<ChunkSpan>,
}

impl ChunkPlan {
    /// Splits `frames` frames at `fps` into chunks of `chunk_seconds` (rounded to whole
    /// frames, at least [`MIN_SEGMENT_FRAMES`]). Chunk boundaries are where segments start,
    /// so each is a keyframe of the joined video.
    ///
    /// `chunk_seconds` that is not a positive finite number is bad input.
    pub fn new(
        frames: u64,
        fps: u32,
        duration: f64,
        chunk_seconds: f64,
    ) -> Result<ChunkPlan, VidflowError> {
        if !(chunk_seconds.is_finite() && chunk_seconds > 0.0) {
            return Err(VidflowError::bad_input(format!(
                "invalid chunk length {chunk_seconds} s: use a positive number of seconds"
            )));
        }
        if frames == 0 || fps == 0 {
            return Err(VidflowError::internal(format!(
                "cannot split a video of {frames} frames at {fps} fps into chunks"
            )));
        }
        // `as` saturates, so an enormous chunk length is simply one chunk.
        let chunk_frames = ((chunk_seconds * fps as f64).round() as u64)
            .max(MIN_SEGMENT_FRAMES)
            .min(frames);
        let mut chunks = Vec::new();
        let mut start = 0;
        while start < frames {
            let mut end = start.saturating_add(chunk_frames).min(frames);
            // x264 gives a segment of one or two frames a different decoding delay, and such
            // segments cannot be joined to the others: the last chunk takes the tail instead.
            if frames - end < MIN_SEGMENT_FRAMES {
                end = frames;
            }
            let index = u32::try_from(chunks.len()).map_err(|_| {
                VidflowError::bad_input(format!(
                    "chunk length {chunk_seconds} s makes too many chunks"
                ))
            })?;
            chunks.push(ChunkSpan { index, start, end });
            start = end;
        }
        Ok(ChunkPlan {
            frames,
            fps,
            duration,
            chunk_frames,
            chunks,
        })
    }

    /// The chunk at `index`; bad input when the plan has no such chunk.
    pub fn span(&self, index: u32) -> Result<ChunkSpan, VidflowError> {
        self.chunks.get(index as usize).copied().ok_or_else(|| {
            VidflowError::bad_input(format!(
                "chunk {index} does not exist: the plan has {} chunks",
                self.chunks.len()
            ))
        })
    }

    /// Checks that the chunks tile `[0, frames)` in order (a plan may come from elsewhere,
    /// deserialised) and, given the request's timeline, that the plan was made for it.
    fn check(&self, timeline: Option<&Timeline>) -> Result<(), VidflowError> {
        let mut next = 0;
        for (i, c) in self.chunks.iter().enumerate() {
            if c.index as usize != i || c.start != next || c.end <= c.start {
                return Err(VidflowError::bad_input(format!(
                    "chunk plan is inconsistent at chunk {i} ({}..{}): chunks must tile the frames in order",
                    c.start, c.end
                )));
            }
            next = c.end;
        }
        if next != self.frames || self.chunks.is_empty() {
            return Err(VidflowError::bad_input(format!(
                "chunk plan covers {next} of its {} frames",
                self.frames
            )));
        }
        if let Some(t) = timeline
            && (t.frame_count, t.fps) != (self.frames, self.fps)
        {
            return Err(VidflowError::bad_input(format!(
                "chunk plan is for {} frames at {} fps, but this request's video has {} at {} fps",
                self.frames, self.fps, t.frame_count, t.fps
            )));
        }
        Ok(())
    }
}

/// What [`Engine::render_chunk`] or [`Engine::assemble`] did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkReport {
    /// The content key the result is stored under.
    pub key: String,
    /// Already in the cache: nothing was rendered or joined.
    pub cached: bool,
    /// Size of the stored segment or video.
    pub bytes: u64,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// The keys a chunked render stores its results under, worked out without running
/// anything: to see which chunks are done, or to skip those that are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkKeys {
    /// Each chunk's segment, in plan order.
    pub chunks: Vec<String>,
    /// The joined video.
    pub assembled: String,
}

impl Engine {
    /// Runs (cached) every stage up to the storyboard and splits the video into chunks of
    /// `chunk_seconds` (the last one shorter). `chunk_seconds` that is not a positive finite
    /// number is bad input. `req.stop_after` and `req.output` are ignored.
    pub async fn chunk_plan(
        &self,
        req: &MakeRequest,
        chunk_seconds: f64,
        progress: &dyn ProgressSink,
    ) -> Result<ChunkPlan, VidflowError> {
        // Checked before any stage runs; the real split needs the frame count.
        ChunkPlan::new(1, 1, 1.0, chunk_seconds)?;
        self.validate_inputs(req)?;
        let t = self
            .ready(req, progress, CancelFlag::default())
            .await?
            .timeline;
        ChunkPlan::new(t.frame_count, t.fps, t.duration, chunk_seconds)
    }

    /// The keys of every chunk's segment and of the joined video (nothing is run).
    pub async fn chunk_keys(
        &self,
        req: &MakeRequest,
        plan: &ChunkPlan,
    ) -> Result<ChunkKeys, VidflowError> {
        self.validate_inputs(req)?;
        plan.check(None)?;
        let (chunks, assembled) = self.keys_of(req, plan).await?;
        Ok(ChunkKeys {
            chunks: chunks.iter().map(ToString::to_string).collect(),
            assembled: assembled.to_string(),
        })
    }

    /// Renders one chunk (video only, no audio) and stores its encoded segment in the cache
    /// under a content key chained from the storyboard key, presenter, preset, CRF and the
    /// chunk's frames. Already cached → returns at once with `cached = true`.
    ///
    /// Reports Render progress (frames done of the chunk's), honours `cancel` (nothing is
    /// stored then), `timeouts.render` and `threads`. Needs an enabled cache.
    pub async fn render_chunk(
        &self,
        req: &MakeRequest,
        plan: &ChunkPlan,
        index: u32,
        progress: &dyn ProgressSink,
        cancel: CancelFlag,
    ) -> Result<ChunkReport, VidflowError> {
        let started = Instant::now();
        self.check_chunked(req, plan)?;
        let span = plan.span(index)?;
        let (chunks, _) = self.keys_of(req, plan).await?;
        if let Some(report) = self
            .cached(&chunks[index as usize], progress, started)
            .await
        {
            return Ok(report);
        }
        let prepared = self.ready(req, progress, cancel.clone()).await?;
        plan.check(Some(&prepared.timeline))?;
        let (chunks, _) = self.keys_from(&prepared.storyboard_key, req, plan)?;
        let key = &chunks[index as usize];
        progress.report(Progress::StageStarted {
            stage: StageName::Render,
        });
        cancel.check()?;
        let dir = scratch_dir()?;
        let segment = dir.path().join(format!("chunk-{index}.mp4"));
        let job = SegmentJob {
            timeline: Arc::new(prepared.timeline),
            avatar: Some(self.avatar(&req.avatar)?),
            frames: span.start..span.end,
            output: segment.clone(),
            preset: req.preset.clone(),
            crf: req.crf,
            threads: self.config().threads,
            chunk_frames: self.config().chunk_frames,
        };
        self.blocking_render(progress, &cancel, move |cancel, on_progress| {
            render_segment(&job, cancel, on_progress)
        })
        .await?;
        // A cancel that came after the last frame still means "keep nothing".
        cancel.check()?;
        self.store(key, &segment, progress, started).await
    }

    /// Joins every chunk's segment (all must be in the cache; a missing one is an error
    /// naming its index) without re-encoding, muxes the whole narration (AAC, as `make`
    /// encodes it) with `+faststart`, and stores the MP4 in the cache under the assembled
    /// key ([`ChunkKeys::assembled`]). Already cached → returns at once. Does not write
    /// `req.output`: [`Engine::write_assembled`] does.
    pub async fn assemble(
        &self,
        req: &MakeRequest,
        plan: &ChunkPlan,
        progress: &dyn ProgressSink,
        cancel: CancelFlag,
    ) -> Result<ChunkReport, VidflowError> {
        let started = Instant::now();
        self.check_chunked(req, plan)?;
        let (_, assembled) = self.keys_of(req, plan).await?;
        if let Some(report) = self.cached(&assembled, progress, started).await {
            return Ok(report);
        }
        let prepared = self.ready(req, progress, cancel.clone()).await?;
        plan.check(Some(&prepared.timeline))?;
        let (chunks, assembled) = self.keys_from(&prepared.storyboard_key, req, plan)?;
        progress.report(Progress::StageStarted {
            stage: StageName::Render,
        });
        let dir = scratch_dir()?;
        let mut segments = Vec::with_capacity(chunks.len());
        for (span, key) in plan.chunks.iter().zip(&chunks) {
            cancel.check()?;
            let hit = self.cache().get(key).await.ok_or_else(|| {
                VidflowError::internal(format!(
                    "assemble: chunk {} of {} (frames {}..{}) is not in the cache (key {key}): render it first",
                    span.index,
                    plan.chunks.len(),
                    span.start,
                    span.end
                ))
            })?;
            let path = dir.path().join(format!("chunk-{}.mp4", span.index));
            write_scratch(&path, &hit.bytes)?;
            segments.push(path);
        }
        let wav = dir.path().join("narration.wav");
        vidflow_encode::write_wav(&wav, &prepared.speech.samples, prepared.speech.sample_rate)
            .map_err(|e| VidflowError::from(e).context("assemble"))?;
        let settings = encode_settings(&prepared.timeline, &req.preset, req.crf);
        let output = dir.path().join("assembled.mp4");
        let joined = output.clone();
        let expected = plan.frames;
        cancel.check()?;
        self.blocking_render(progress, &cancel, move |_, _| {
            let video = vidflow_encode::join_segments(&segments, &wav, &settings, &joined)
                .map_err(|e| VidflowError::from(e).context("assemble"))?;
            if video.frames != expected {
                return Err(VidflowError::internal(format!(
                    "assemble: the joined video has {} frames, the plan {expected}",
                    video.frames
                )));
            }
            Ok(video.bytes)
        })
        .await?;
        cancel.check()?;
        self.store(&assembled, &output, progress, started).await
    }

    /// Writes the assembled MP4 from the cache to `req.output` (atomically) and the
    /// `.srt`/`.vtt` beside it, returning the [`MakeOutput::Video`] `make` returns; `None`
    /// when the assembled video is not in the cache.
    pub async fn write_assembled(
        &self,
        req: &MakeRequest,
        plan: &ChunkPlan,
    ) -> Result<Option<MakeOutput>, VidflowError> {
        let mut req = req.clone();
        req.stop_after = None;
        self.validate(&req)?;
        plan.check(None)?;
        let (_, assembled) = self.keys_of(&req, plan).await?;
        let Some(hit) = self.cache().get(&assembled).await else {
            return Ok(None);
        };
        // The subtitles come from the timeline (cached: no stage reruns).
        let timeline = self
            .ready(&req, &|_| {}, CancelFlag::default())
            .await?
            .timeline;
        plan.check(Some(&timeline))?;
        write_file(&req.output, &hit.bytes)?;
        video_written(&req, &timeline, hit.bytes.len() as u64).map(Some)
    }

    /// What every chunked step checks first: the request (bar its output folder, which a
    /// worker need not have), a cache to keep results in, and the plan's shape.
    fn check_chunked(&self, req: &MakeRequest, plan: &ChunkPlan) -> Result<(), VidflowError> {
        self.validate_inputs(req)?;
        if !self.cache().is_enabled() {
            return Err(VidflowError::bad_input(
                "chunked rendering keeps its segments in the cache: enable a cache tier",
            ));
        }
        plan.check(None)
    }

    /// The chunks' keys and the joined video's, from the stage keys alone.
    async fn keys_of(
        &self,
        req: &MakeRequest,
        plan: &ChunkPlan,
    ) -> Result<(Vec<ContentKey>, ContentKey), VidflowError> {
        let storyboard = self
            .stage_keys(req)
            .await
            .pop()
            .map(|(_, key)| key)
            .ok_or_else(|| VidflowError::internal("no storyboard key"))?;
        self.keys_from(&storyboard, req, plan)
    }

    /// The chunks' keys and the joined video's, chained from a storyboard key. After a run
    /// the keys come from the storyboard the run used, so that what is stored is what the
    /// key names even if a local page changed since the keys were first worked out.
    fn keys_from(
        &self,
        storyboard: &ContentKey,
        req: &MakeRequest,
        plan: &ChunkPlan,
    ) -> Result<(Vec<ContentKey>, ContentKey), VidflowError> {
        let avatar = self.avatar(&req.avatar)?.id();
        let chunks: Vec<ContentKey> = plan
            .chunks
            .iter()
            .map(|c| chunk_key(storyboard, &avatar, req, c.start, c.end))
            .collect();
        let assembled = assembled_key(&chunks);
        Ok((chunks, assembled))
    }

    /// The report for `key` when the cache holds it, with its Render events.
    async fn cached(
        &self,
        key: &ContentKey,
        progress: &dyn ProgressSink,
        started: Instant,
    ) -> Option<ChunkReport> {
        let hit = self.cache().get(key).await?;
        progress.report(Progress::StageStarted {
            stage: StageName::Render,
        });
        Some(finished(
            key,
            hit.bytes.len() as u64,
            Some(hit.backend),
            progress,
            started,
        ))
    }

    /// Stores a finished file under `key` and reports it.
    async fn store(
        &self,
        key: &ContentKey,
        path: &Path,
        progress: &dyn ProgressSink,
        started: Instant,
    ) -> Result<ChunkReport, VidflowError> {
        let bytes = std::fs::read(path).map_err(|e| {
            VidflowError::internal(format!("cannot read back {}: {e}", path.display()))
        })?;
        self.cache().put(key, &bytes).await;
        Ok(finished(key, bytes.len() as u64, None, progress, started))
    }
}

/// Reports the end of a chunked step and describes it.
fn finished(
    key: &ContentKey,
    bytes: u64,
    backend: Option<&'static str>,
    progress: &dyn ProgressSink,
    started: Instant,
) -> ChunkReport {
    let seconds = started.elapsed().as_secs_f64();
    progress.report(Progress::StageFinished {
        stage: StageName::Render,
        cached: backend.is_some(),
        backend: backend.map(str::to_owned),
        seconds,
    });
    ChunkReport {
        key: key.to_string(),
        cached: backend.is_some(),
        bytes,
        seconds,
    }
}

/// A private folder for segments and the narration, removed when dropped.
fn scratch_dir() -> Result<tempfile::TempDir, VidflowError> {
    tempfile::Builder::new()
        .prefix("vidflow-chunks-")
        .tempdir()
        .map_err(|e| VidflowError::internal(format!("cannot create a temporary folder: {e}")))
}

fn write_scratch(path: &Path, bytes: &[u8]) -> Result<(), VidflowError> {
    std::fs::write(path, bytes)
        .map_err(|e| VidflowError::internal(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lens(plan: &ChunkPlan) -> Vec<u64> {
        plan.chunks.iter().map(ChunkSpan::len).collect()
    }

    #[test]
    fn chunks_tile_the_frames_with_a_shorter_last_one() {
        let plan = ChunkPlan::new(175, 24, 7.29, 2.0).unwrap();
        assert_eq!(plan.chunk_frames, 48);
        assert_eq!(lens(&plan), [48, 48, 48, 31]);
        plan.check(None).unwrap();
        assert_eq!(
            plan.span(3).unwrap(),
            ChunkSpan {
                index: 3,
                start: 144,
                end: 175
            }
        );
        assert!(plan.span(4).unwrap_err().message.contains("4 chunks"));
    }

    #[test]
    fn a_tail_too_short_for_a_segment_joins_the_last_chunk() {
        // 98 = 2 x 48 + 2: a two-frame segment would not join, so the last chunk has 50.
        assert_eq!(lens(&ChunkPlan::new(98, 24, 4.08, 2.0).unwrap()), [48, 50]);
        assert_eq!(
            lens(&ChunkPlan::new(99, 24, 4.1, 2.0).unwrap()),
            [48, 48, 3]
        );
        // Tiny chunk lengths are raised to the shortest segment; a short video is one chunk.
        assert_eq!(lens(&ChunkPlan::new(7, 24, 0.3, 0.01).unwrap()), [3, 4]);
        assert_eq!(lens(&ChunkPlan::new(2, 24, 0.05, 10.0).unwrap()), [2]);
        assert_eq!(lens(&ChunkPlan::new(50, 24, 2.0, 1e300).unwrap()), [50]);
    }

    #[test]
    fn bad_chunk_lengths_and_bad_plans_are_refused() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = ChunkPlan::new(100, 24, 4.0, bad).unwrap_err();
            assert_eq!(err.kind, vidflow_core::ErrorKind::BadInput, "{bad}");
        }
        let mut plan = ChunkPlan::new(100, 24, 4.0, 1.0).unwrap();
        plan.chunks[1].start += 1;
        assert!(plan.check(None).is_err());
        let mut plan = ChunkPlan::new(100, 24, 4.0, 1.0).unwrap();
        plan.chunks.pop();
        assert!(plan.check(None).unwrap_err().message.contains("covers"));
    }
}
