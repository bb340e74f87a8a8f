//! Rendering a Timeline to an MP4: frames in parallel chunks, converted to yuv420p in
//! Rust, streamed into ffmpeg in order, with memory bounded by the chunk size.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::sync_channel;

use rayon::prelude::*;
use vidflow_avatar::Avatar;
use vidflow_core::config::X264Tuning;
use vidflow_core::{CancelFlag, Speech, Timeline, VidflowError};
use vidflow_encode::{ByteRun, EncodeSettings, FrameBytes, VideoEncoder};
use vidflow_media::{FrameRenderer, I420Output, I420Source};

/// Everything a render needs; owned so it can move to a worker thread.
#[derive(Clone)]
pub struct RenderJob {
    /// What to draw.
    pub timeline: Arc<Timeline>,
    /// Who presents; `None` draws slides and subtitles only.
    pub avatar: Option<Avatar>,
    /// The narration (its PCM is muxed in; shared, not copied: a long one is tens of
    /// megabytes).
    pub speech: Arc<Speech>,
    /// The MP4 to write.
    pub output: PathBuf,
    /// x264 preset.
    pub preset: String,
    /// x264 CRF.
    pub crf: u8,
    /// x264 settings beyond preset and CRF.
    pub x264: X264Tuning,
    /// Frame workers; 0 = one per core.
    pub threads: usize,
    /// Frames per chunk.
    pub chunk_frames: usize,
    /// Rendered chunks that may wait for the encoder.
    pub ahead: usize,
}

/// Bytes of frames one chunk may hold. At most `ahead + 2` chunks exist at once (one being
/// rendered, `ahead` queued, one being fed to ffmpeg), so this bounds the frame memory at
/// any size and for any length of video.
pub const CHUNK_BUDGET_BYTES: usize = 20 * 1024 * 1024;

/// Frames per chunk: the configured number, cut to the memory budget, but never fewer than
/// two per worker so the workers stay busy.
pub fn chunk_len(configured: usize, workers: usize, size: vidflow_core::VideoSize) -> usize {
    let frame = (size.width * size.height * 3 / 2) as usize;
    let by_budget = CHUNK_BUDGET_BYTES / frame.max(1);
    configured.max(1).min(by_budget).max(2 * workers.max(1))
}

/// Hands a rendered frame to the encoder as it is: a patched frame's unchanged bytes are
/// read straight from its slide's shared static layer.
pub fn frame_bytes(frame: I420Output) -> FrameBytes {
    match frame {
        I420Output::Whole(f) => FrameBytes::Owned(f.data),
        I420Output::Patched(p) => FrameBytes::Runs {
            runs: p
                .runs
                .iter()
                .map(|r| ByteRun {
                    from_own: r.source == I420Source::Patch,
                    start: r.start,
                    len: r.len,
                })
                .collect(),
            base: p.base,
            own: p.patch,
        },
    }
}

/// Renders and encodes `job`, calling `on_progress(done, total)` after each chunk.
/// Returns the size of the written file. On any failure or cancellation the output is
/// not created (the encoder removes its temporary file).
pub fn render_video(
    job: &RenderJob,
    cancel: &CancelFlag,
    on_progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<u64, VidflowError> {
    let t = &job.timeline;
    let renderer = renderer(t, &job.avatar)?;

    // The narration goes to ffmpeg as a WAV next to the output, removed afterwards.
    let dir = match job.output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let wav = tempfile::Builder::new()
        .prefix(".vidflow-audio-")
        .suffix(".wav")
        .tempfile_in(&dir)
        .map_err(|e| {
            VidflowError::internal(format!(
                "cannot create a temporary file in {}: {e}",
                dir.display()
            ))
        })?;
    vidflow_encode::write_wav(wav.path(), &job.speech.samples, job.speech.sample_rate)
        .map_err(|e| VidflowError::from(e).context("render"))?;

    let settings = encode_settings(t, &job.preset, job.crf, &job.x264);
    let encoder = VideoEncoder::start(&job.output, Some(wav.path()), &settings)
        .map_err(|e| VidflowError::from(e).context("encode"))?;
    let frames = Frames {
        renderer: &renderer,
        threads: job.threads,
        chunk_frames: job.chunk_frames,
        ahead: job.ahead,
    };
    frames.encode(0..t.frame_count, encoder, cancel, on_progress)
}

/// One chunk of a video: frames `frames` of a timeline, encoded without audio as a
/// closed-GOP MP4 segment ([`vidflow_encode::start_segment`]) with the settings a whole
/// render uses, so that segments join into the whole video without re-encoding.
#[derive(Clone)]
pub struct SegmentJob {
    /// What to draw.
    pub timeline: Arc<Timeline>,
    /// Who presents; `None` draws slides and subtitles only.
    pub avatar: Option<Avatar>,
    /// The frames to encode, `start..end`, within the timeline's.
    pub frames: Range<u64>,
    /// The segment to write.
    pub output: PathBuf,
    /// x264 preset.
    pub preset: String,
    /// x264 CRF.
    pub crf: u8,
    /// x264 settings beyond preset and CRF.
    pub x264: X264Tuning,
    /// Frame workers; 0 = one per core.
    pub threads: usize,
    /// Frames per chunk of parallel rendering (not the segment's length).
    pub chunk_frames: usize,
    /// Rendered chunks that may wait for the encoder.
    pub ahead: usize,
}

/// Renders and encodes one segment, calling `on_progress(done, total)` with frames done out
/// of the segment's. Returns the segment's size; on failure or cancellation it is not
/// created.
pub fn render_segment(
    job: &SegmentJob,
    cancel: &CancelFlag,
    on_progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<u64, VidflowError> {
    let t = &job.timeline;
    if job.frames.is_empty() || job.frames.end > t.frame_count {
        return Err(VidflowError::internal(format!(
            "render: segment frames {}..{} are not within the video's 0..{}",
            job.frames.start, job.frames.end, t.frame_count
        )));
    }
    let renderer = renderer(t, &job.avatar)?;
    let settings = encode_settings(t, &job.preset, job.crf, &job.x264);
    let encoder = vidflow_encode::start_segment(&job.output, &settings)
        .map_err(|e| VidflowError::from(e).context("encode"))?;
    let frames = Frames {
        renderer: &renderer,
        threads: job.threads,
        chunk_frames: job.chunk_frames,
        ahead: job.ahead,
    };
    frames.encode(job.frames.clone(), encoder, cancel, on_progress)
}

/// The frame renderer for a timeline and presenter (none: slides and subtitles only).
fn renderer(t: &Arc<Timeline>, avatar: &Option<Avatar>) -> Result<FrameRenderer, VidflowError> {
    FrameRenderer::new(t.clone(), avatar.clone())
        .map_err(|e| VidflowError::from(e).context("render"))
}

/// The encoder settings of a render: every segment of a chunked render must use exactly
/// these, as a whole render does.
pub fn encode_settings(t: &Timeline, preset: &str, crf: u8, x264: &X264Tuning) -> EncodeSettings {
    EncodeSettings {
        width: t.size.width,
        height: t.size.height,
        fps: t.fps,
        preset: preset.to_owned(),
        crf,
        x264: x264.clone(),
        ..EncodeSettings::default()
    }
}

/// Where frames come from and how they are rendered in parallel.
struct Frames<'a> {
    renderer: &'a FrameRenderer,
    threads: usize,
    chunk_frames: usize,
    ahead: usize,
}

impl Frames<'_> {
    /// Renders `range` in parallel chunks, up to `ahead` chunks ahead of the encoder, feeds the frames
    /// to `encoder` in order and finishes it, calling `on_progress(done, total)` within the
    /// range after each chunk. Returns the encoded file's size; on failure or cancellation
    /// the encoder is aborted (its output never appears).
    fn encode(
        &self,
        range: Range<u64>,
        mut encoder: VideoEncoder,
        cancel: &CancelFlag,
        on_progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<u64, VidflowError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .thread_name(|i| format!("vidflow-frame-{i}"))
            .build()
            .map_err(|e| VidflowError::internal(format!("cannot start frame workers: {e}")))?;
        let total = range.end.saturating_sub(range.start);
        let chunk = chunk_len(
            self.chunk_frames,
            pool.current_num_threads(),
            self.renderer.size(),
        ) as u64;

        // Rendering runs `ahead` chunks ahead of the encoder, at most.
        let (tx, rx) = sync_channel::<Vec<FrameBytes>>(self.ahead.max(1));
        let result = std::thread::scope(|scope| {
            let producer = scope.spawn(|| -> Result<(), VidflowError> {
                // Owned here so the channel closes when rendering ends.
                let tx = tx;
                let mut start = range.start;
                let mut trimmed = std::time::Instant::now();
                while start < range.end {
                    // Frames are drawn and freed on different threads in sizes that change
                    // with what moves; glibc keeps what they free in its per-thread arenas,
                    // so a long render's memory creeps up unless it is handed back now and
                    // then (a 10-minute render grew 12 MiB over a 1-minute one without).
                    if trimmed.elapsed() >= std::time::Duration::from_secs(2) {
                        release_free_memory();
                        trimmed = std::time::Instant::now();
                    }
                    if cancel.is_cancelled() {
                        return Err(VidflowError::cancelled());
                    }
                    let end = (start + chunk).min(range.end);
                    let frames: Vec<FrameBytes> = pool.install(|| {
                        (start..end)
                            .into_par_iter()
                            .map(|n| frame_bytes(self.renderer.render_i420_shared(n)))
                            .collect()
                    });
                    if tx.send(frames).is_err() {
                        // The encoder side stopped; its error is reported there.
                        return Ok(());
                    }
                    start = end;
                }
                Ok(())
            });
            let mut written = 0u64;
            let mut encode_result = Ok(());
            for frames in rx.iter() {
                for f in frames {
                    if let Err(e) = encoder.write_frame(f) {
                        encode_result = Err(VidflowError::from(e).context("encode"));
                        break;
                    }
                    written += 1;
                }
                if encode_result.is_err() {
                    break;
                }
                on_progress(written, total);
            }
            drop(rx);
            let produced = producer
                .join()
                .unwrap_or_else(|_| Err(VidflowError::internal("a frame worker panicked")));
            produced.and(encode_result)
        });
        match result {
            Ok(()) => {
                let video = encoder
                    .finish()
                    .map_err(|e| VidflowError::from(e).context("encode"))?;
                Ok(video.bytes)
            }
            Err(e) => {
                encoder.abort();
                Err(e)
            }
        }
    }
}

/// Returns the allocator's free pages to the system (glibc keeps them otherwise).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; any thread may call it.
    unsafe {
        libc::malloc_trim(0);
    }
}
