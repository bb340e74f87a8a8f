//! `render`: the Timeline drawn frame by frame (slides, subtitles and the presenter) and
//! encoded with the narration into an MP4; or, on workers, one time chunk at a time.

mod frames;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use vidflow_avatar::Avatar;
use vidflow_core::{
    Artifact, BoxFuture, ChunkPlan, ChunkSpan, ChunkedStage, Config, ContentKey, DataType,
    InputKeys, Inputs, MakeRequest, Port, Speech, Stage, StageContext, StageOptions, Timeline,
    Video, VidflowError,
};

pub use frames::{
    CHUNK_BUDGET_BYTES, RenderJob, SegmentJob, chunk_len, encode_settings, frame_bytes,
    render_segment, render_video,
};

/// Version 2: the cached value is a video record (header with the subtitles, then the
/// MP4), no longer the bare MP4.
const VERSION: u32 = 2;

/// The stage's options in a workflow.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RenderOptions {
    /// Draw the presenter (`false`: slides and subtitles only).
    presenter: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions { presenter: true }
    }
}

/// Draws and encodes the video.
pub struct RenderStage {
    presenter: bool,
    threads: usize,
    chunk_frames: usize,
    ahead: usize,
    /// Built-in presenters built so far (an `Avatar` is a cheap handle).
    builtins: Mutex<Vec<Avatar>>,
}

impl RenderStage {
    /// The registry's factory: option `presenter` (default true).
    pub fn build(
        options: StageOptions<'_>,
        config: &Config,
    ) -> Result<Arc<dyn Stage>, VidflowError> {
        let o: RenderOptions = options.parse()?;
        Ok(Arc::new(RenderStage {
            presenter: o.presenter,
            threads: config.threads,
            chunk_frames: config.chunk_frames,
            ahead: config.render_ahead,
            builtins: Mutex::new(Vec::new()),
        }))
    }

    /// The request's presenter, or none when this stage draws none. Built-ins are built
    /// once and shared; a sprite pack is read from its folder every time, since it may
    /// change.
    fn avatar(&self, spec: &str) -> Result<Option<Avatar>, VidflowError> {
        if !self.presenter {
            return Ok(None);
        }
        if Avatar::builtin_names().contains(&spec) {
            let mut built = self.builtins.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(a) = built.iter().find(|a| a.name() == spec) {
                return Ok(Some(a.clone()));
            }
            let a = Avatar::builtin(spec).map_err(|e| VidflowError::bad_input(e.to_string()))?;
            built.push(a.clone());
            return Ok(Some(a));
        }
        Avatar::load(spec)
            .map(Some)
            .map_err(|e| VidflowError::bad_input(e.to_string()))
    }

    fn inputs_of(inputs: &Inputs) -> Result<(Arc<Timeline>, Arc<Speech>), VidflowError> {
        Ok((
            inputs.need::<Timeline>()?.clone(),
            inputs.need::<Speech>()?.clone(),
        ))
    }
}

/// A finished MP4 of `t`, as an artifact.
fn video(path: PathBuf, bytes: u64, t: &Timeline) -> Artifact {
    Artifact::from(Video {
        path,
        bytes,
        duration: t.duration,
        size: t.size,
        fps: t.fps,
        frames: t.frame_count,
        cues: t.cues.clone(),
    })
}

impl Stage for RenderStage {
    fn inputs(&self) -> &[Port] {
        const PORTS: [Port; 2] = [
            Port::required(DataType::Timeline),
            Port::required(DataType::Speech),
        ];
        &PORTS
    }

    fn output(&self) -> DataType {
        DataType::Video
    }

    fn check(&self, request: &MakeRequest, _connected: &[DataType]) -> Result<(), VidflowError> {
        vidflow_core::config::check_encoder(&request.preset, request.crf)?;
        request.x264.check()?;
        self.avatar(&request.avatar).map(|_| ())
    }

    fn key(&self, request: &MakeRequest, inputs: InputKeys<'_>) -> ContentKey {
        let mut key = ContentKey::builder("render", VERSION);
        for data in [DataType::Timeline, DataType::Speech] {
            if let Some(k) = inputs.get(data) {
                key = key.input(k);
            }
        }
        let avatar = match self.avatar(&request.avatar) {
            Ok(Some(a)) => a.id(),
            Ok(None) => "none".to_owned(),
            // Refused by `check`; the spec itself keeps plans total.
            Err(_) => request.avatar.clone(),
        };
        key = key
            .param("avatar", avatar)
            .param("preset", &request.preset)
            .param_json("crf", &request.crf);
        // Only when set, so that keys made before these settings existed still hold.
        if !request.x264.is_default() {
            key = key.param_json("x264", &request.x264);
        }
        key.build()
    }

    fn run<'a>(
        &'a self,
        ctx: &'a StageContext<'a>,
        inputs: &'a Inputs,
    ) -> BoxFuture<'a, Result<Artifact, VidflowError>> {
        Box::pin(async move {
            let (timeline, speech) = Self::inputs_of(inputs)?;
            let output = ctx.scratch().file("video.mp4")?;
            let job = RenderJob {
                timeline: timeline.clone(),
                avatar: self.avatar(&ctx.request.avatar)?,
                speech,
                output: output.clone(),
                preset: ctx.request.preset.clone(),
                crf: ctx.request.crf,
                x264: ctx.request.x264.clone(),
                threads: self.threads,
                chunk_frames: self.chunk_frames,
                ahead: self.ahead,
            };
            let cancel = ctx.cancel().clone();
            let progress = ctx.progress();
            let bytes = tokio::task::spawn_blocking(move || {
                render_video(&job, &cancel, &|done, total| progress.report(done, total))
            })
            .await
            .map_err(crate::join_error)??;
            Ok(video(output, bytes, &timeline))
        })
    }

    fn timeout(&self, config: &Config) -> Duration {
        Duration::from_secs(config.timeouts.render)
    }

    /// A render that ran out of time or failed would take as long again.
    fn retries(&self) -> bool {
        false
    }

    fn weight(&self) -> f64 {
        75.0
    }

    /// Render + encode at veryfast runs ~220 megapixels a second on two cores.
    fn estimate_seconds(&self, request: &MakeRequest) -> f64 {
        let pixels = request.size.width as f64 * request.size.height as f64;
        request.max_seconds * request.fps as f64 * pixels / 2.2e8
    }

    fn chunked(&self) -> Option<&dyn ChunkedStage> {
        Some(self)
    }
}

/// Chunks are closed-GOP, video-only segments with exactly a whole render's x264
/// settings, joined without re-encoding and muxed with the whole narration.
impl ChunkedStage for RenderStage {
    fn plan(&self, inputs: &Inputs, chunk_seconds: f64) -> Result<ChunkPlan, VidflowError> {
        let t = inputs.need::<Timeline>()?;
        ChunkPlan::new(t.frame_count, t.fps, t.duration, chunk_seconds)
    }

    fn run_chunk<'a>(
        &'a self,
        ctx: &'a StageContext<'a>,
        inputs: &'a Inputs,
        span: ChunkSpan,
    ) -> BoxFuture<'a, Result<PathBuf, VidflowError>> {
        Box::pin(async move {
            let (timeline, _) = Self::inputs_of(inputs)?;
            let output = ctx.scratch().file(&format!("chunk-{}.mp4", span.index))?;
            let job = SegmentJob {
                timeline,
                avatar: self.avatar(&ctx.request.avatar)?,
                frames: span.start..span.end,
                output: output.clone(),
                preset: ctx.request.preset.clone(),
                crf: ctx.request.crf,
                x264: ctx.request.x264.clone(),
                threads: self.threads,
                chunk_frames: self.chunk_frames,
                ahead: self.ahead,
            };
            let cancel = ctx.cancel().clone();
            let progress = ctx.progress();
            tokio::task::spawn_blocking(move || {
                render_segment(&job, &cancel, &|done, total| progress.report(done, total))
            })
            .await
            .map_err(crate::join_error)??;
            Ok(output)
        })
    }

    fn join<'a>(
        &'a self,
        ctx: &'a StageContext<'a>,
        inputs: &'a Inputs,
        plan: &'a ChunkPlan,
        parts: Vec<PathBuf>,
    ) -> BoxFuture<'a, Result<Artifact, VidflowError>> {
        Box::pin(async move {
            let (timeline, speech) = Self::inputs_of(inputs)?;
            let wav = ctx.scratch().file("narration.wav")?;
            vidflow_encode::write_wav(&wav, &speech.samples, speech.sample_rate)
                .map_err(|e| VidflowError::from(e).context("assemble"))?;
            let settings = encode_settings(
                &timeline,
                &ctx.request.preset,
                ctx.request.crf,
                &ctx.request.x264,
            );
            let output = ctx.scratch().file("assembled.mp4")?;
            let joined = output.clone();
            let expected = plan.frames;
            let bytes = tokio::task::spawn_blocking(move || {
                let video = vidflow_encode::join_segments(&parts, &wav, &settings, &joined)
                    .map_err(|e| VidflowError::from(e).context("assemble"))?;
                if video.frames != expected {
                    return Err(VidflowError::internal(format!(
                        "assemble: the joined video has {} frames, the plan {expected}",
                        video.frames
                    )));
                }
                Ok(video.bytes)
            })
            .await
            .map_err(crate::join_error)??;
            Ok(video(output, bytes, &timeline))
        })
    }
}
