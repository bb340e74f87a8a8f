//! The cached run that makes a video: each stage looked up by its content key, computed
//! only on a miss, with retries for transient failures and a time limit per stage.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use vidflow_avatar::Avatar;
use vidflow_cache::TieredCache;
use vidflow_core::{
    Article, Config, ContentKey, ErrorKind, Page, Progress, ProgressSink, Script, Speech,
    StageName, Timeline, VideoSize, VidflowError, codec,
};
use vidflow_fetch::{FetchPolicy, Fetcher};
use vidflow_script::{ChatBackend, ScriptOptions};

use crate::render::{RenderJob, render_video};
use crate::storyboard::{StoryboardOptions, build_timeline};

/// Version of each stage's output format and logic; bump one to invalidate its cache
/// entries (and, through key chaining, everything below it).
mod versions {
    pub const FETCH: u32 = 1;
    pub const EXTRACT: u32 = 1;
    pub const SCRIPT: u32 = 1;
    pub const SPEAK: u32 = 1;
    pub const STORYBOARD: u32 = 1;
    pub const RENDER: u32 = 1;
    pub const CHUNK: u32 = 1;
    pub const ASSEMBLE: u32 = 1;
}

/// Silence between two segments of narration, seconds.
const SEGMENT_PAUSE: f64 = 0.45;
/// Flite's pace on ordinary prose, words per second (measured with the slt voice).
pub const WORDS_PER_SECOND: f64 = 2.8;

/// Where the article comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Source {
    /// A URL (`http(s)://`, `file://`) or a local path, fetched.
    Url(String),
    /// The page itself, with the URL its relative links resolve against.
    Html {
        /// The page's HTML.
        html: String,
        /// Base URL for relative links.
        base_url: String,
    },
}

/// One `make`: what to read and what to produce.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MakeRequest {
    /// The page; `None` only when `script` is given.
    pub source: Option<Source>,
    /// A user's own script (one segment per paragraph); replaces the script stage.
    pub script_text: Option<String>,
    /// Built-in avatar name or sprite-pack folder.
    pub avatar: String,
    /// Frame size.
    pub size: VideoSize,
    /// Frames per second.
    pub fps: u32,
    /// Narration length budget, seconds.
    pub max_seconds: f64,
    /// Flite voice.
    pub voice: String,
    /// x264 preset.
    pub preset: String,
    /// x264 CRF.
    pub crf: u8,
    /// Burn subtitles into the video.
    pub subtitles: bool,
    /// Stop after this stage and return its output instead of a video.
    pub stop_after: Option<StageName>,
    /// The MP4 to write (`.srt` and `.vtt` go beside it).
    pub output: PathBuf,
}

/// How one stage went.
#[derive(Debug, Clone, Serialize)]
pub struct StageReport {
    /// Which stage.
    pub stage: StageName,
    /// Served from the cache.
    pub cached: bool,
    /// Which cache tier served it.
    pub backend: Option<String>,
    /// Wall time, seconds.
    pub seconds: f64,
    /// The output's content key.
    pub key: String,
}

/// What a `make` produced.
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
    /// A partial run's output (`--stop-after`).
    Stage {
        /// The last stage run.
        stage: StageName,
        /// Its output as JSON.
        output: serde_json::Value,
        /// The narration audio, after `speak`.
        wav: Option<PathBuf>,
    },
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct MakeReport {
    /// Per-stage timings and cache use, in order.
    pub stages: Vec<StageReport>,
    /// What was produced.
    pub output: MakeOutput,
    /// Wall time of the whole run, seconds.
    pub seconds: f64,
}

/// Where `prepare` got to.
enum Step {
    /// Stopped early on request, with the last stage's output.
    Stopped {
        stage: StageName,
        output: serde_json::Value,
        wav: Option<PathBuf>,
    },
    /// Ready to render.
    Ready(Box<Prepared>),
}

/// What a render needs.
pub(crate) struct Prepared {
    pub(crate) timeline: Timeline,
    pub(crate) speech: Speech,
    pub(crate) storyboard_key: ContentKey,
}

/// A configured pipeline: cache, fetcher, optional LLM, limits. Cheap to share.
pub struct Engine {
    config: Config,
    cache: Arc<TieredCache>,
    fetcher: Fetcher,
    chat: Option<ChatBackend>,
    /// Built-in presenters built so far.
    builtins: std::sync::Mutex<Vec<Avatar>>,
}

/// Cancels a running job from another task or thread.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// Asks the job to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst)
    }

    /// True once cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    pub(crate) fn check(&self) -> Result<(), VidflowError> {
        if self.is_cancelled() {
            Err(VidflowError::cancelled())
        } else {
            Ok(())
        }
    }
}

/// The state of one run, passed to each stage.
struct Run<'a> {
    progress: &'a dyn ProgressSink,
    reports: Vec<StageReport>,
    cancel: CancelFlag,
}

impl Engine {
    /// Builds an engine from a configuration and a cache.
    pub fn new(config: Config, cache: Arc<TieredCache>) -> Result<Engine, VidflowError> {
        let policy = FetchPolicy {
            allow_private_network: config.allow_private_network,
            timeout: Duration::from_secs(config.timeouts.fetch),
            ..FetchPolicy::default()
        };
        let fetcher = Fetcher::new(policy)?;
        let chat = match (&config.llm.base_url, &config.llm.model) {
            (Some(url), Some(model)) => Some(ChatBackend::new(
                url,
                model,
                config.llm.api_key.clone(),
                Duration::from_secs(config.timeouts.script),
            )?),
            (Some(_), None) => {
                return Err(VidflowError::bad_input(
                    "llm.base_url is set but llm.model is not: name the model to use",
                ));
            }
            _ => None,
        };
        Ok(Engine {
            config,
            cache,
            fetcher,
            chat,
            builtins: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The cache in use.
    pub fn cache(&self) -> &Arc<TieredCache> {
        &self.cache
    }

    /// Checks a request before anything runs: the avatar loads, the voice exists, the
    /// output folder exists. Bad input is reported before the first byte is fetched.
    pub fn validate(&self, req: &MakeRequest) -> Result<(), VidflowError> {
        self.validate_inputs(req)?;
        if req.stop_after.is_none() || req.stop_after == Some(StageName::Speak) {
            let dir = parent_dir(&req.output);
            if !dir.is_dir() {
                return Err(VidflowError::bad_input(format!(
                    "output folder {} does not exist",
                    dir.display()
                )));
            }
        }
        Ok(())
    }

    /// [`Engine::validate`] without the output folder: for work that writes no output
    /// (a chunk rendered on a worker, where the requester's folder need not exist).
    pub(crate) fn validate_inputs(&self, req: &MakeRequest) -> Result<(), VidflowError> {
        if req.source.is_none() && req.script_text.is_none() {
            return Err(VidflowError::bad_input(
                "nothing to make: give a page URL or path, or --script FILE",
            ));
        }
        if let Some(text) = &req.script_text
            && text.trim().is_empty()
        {
            return Err(VidflowError::bad_input("the script is empty"));
        }
        if ![24, 25, 30, 60].contains(&req.fps) {
            return Err(VidflowError::bad_input(format!(
                "invalid fps {}: use 24, 25, 30 or 60",
                req.fps
            )));
        }
        if !(req.max_seconds >= 1.0 && req.max_seconds <= 3600.0) {
            return Err(VidflowError::bad_input(format!(
                "invalid --max-seconds {}: use 1 to 3600",
                req.max_seconds
            )));
        }
        let mut video_cfg = self.config.clone();
        video_cfg.video.preset = req.preset.clone();
        video_cfg.video.crf = req.crf;
        video_cfg.validate()?;
        self.avatar(&req.avatar)?;
        vidflow_speech::Voice::check(&req.voice)
    }

    /// Loads a presenter. Built-ins are built once per engine and shared (an `Avatar` is a
    /// cheap handle); a sprite pack is read from its folder every time, since it may change.
    pub(crate) fn avatar(&self, spec: &str) -> Result<Avatar, VidflowError> {
        if Avatar::builtin_names().contains(&spec) {
            let mut built = self.builtins.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(a) = built.iter().find(|a| a.name() == spec) {
                return Ok(a.clone());
            }
            let a = Avatar::builtin(spec).map_err(|e| VidflowError::bad_input(e.to_string()))?;
            built.push(a.clone());
            return Ok(a);
        }
        Avatar::load(spec).map_err(|e| VidflowError::bad_input(e.to_string()))
    }

    /// The script stage's key; with a chat backend, the model is part of it, and the
    /// extractive summary is fitted to the voice's pace, so the voice is.
    fn script_key(&self, req: &MakeRequest, article_key: Option<&ContentKey>) -> ContentKey {
        let mut key = ContentKey::builder("script", versions::SCRIPT)
            .param_json("max_seconds", &req.max_seconds)
            .param_json("words_per_second", &WORDS_PER_SECOND);
        if let Some(k) = article_key {
            key = key.input(k);
        }
        match (&req.script_text, &self.chat) {
            (Some(text), _) => key.bytes("user_script", text.as_bytes()),
            (None, Some(_)) => key
                .param("backend", "chat")
                .param(
                    "base_url",
                    self.config.llm.base_url.clone().unwrap_or_default(),
                )
                .param("model", self.config.llm.model.clone().unwrap_or_default()),
            (None, None) => key
                .param("backend", "extractive")
                .param("voice", &req.voice),
        }
        .build()
    }

    /// Validates a request and works out what running it would do: every stage's key,
    /// which the cache already holds (index lookups only, nothing is fetched or decoded),
    /// and an estimate of the wall time. Stages after `stop_after` are left out.
    pub async fn plan(&self, req: &MakeRequest) -> Result<Plan, VidflowError> {
        self.validate(req)?;
        let mut keys = self.stage_keys(req).await;
        let avatar = self.avatar(&req.avatar)?;
        let render = render_key(&keys[keys.len() - 1].1, &avatar.id(), req);
        keys.push((StageName::Render, render));
        if let Some(stop) = req.stop_after
            && let Some(i) = keys.iter().position(|(s, _)| *s == stop)
        {
            keys.truncate(i + 1);
        }
        let mut stages = Vec::with_capacity(keys.len());
        for (stage, key) in keys {
            // Inline HTML is never stored: its "fetch" is free and always fresh.
            let inline =
                stage == StageName::Fetch && matches!(req.source, Some(Source::Html { .. }));
            let backend = if inline {
                None
            } else {
                self.cache.contains(&key).await
            };
            let cached = backend.is_some();
            stages.push(PlannedStage {
                stage,
                key: Some(key.to_string()),
                cached: Some(cached),
                backend: backend.map(str::to_owned),
                estimated_seconds: if cached || inline {
                    0.0
                } else {
                    estimated_seconds(stage, req)
                },
            });
        }
        // Every stage runs in order (each looks itself up), so the costs simply add.
        let estimated = stages.iter().map(|s| s.estimated_seconds).sum();
        Ok(Plan {
            stages,
            estimated_seconds: estimated,
            max_video_seconds: req.max_seconds,
        })
    }

    /// The keys of every stage up to the storyboard (the last), worked out without running
    /// anything: the same functions the run uses.
    pub(crate) async fn stage_keys(&self, req: &MakeRequest) -> Vec<(StageName, ContentKey)> {
        let mut keys: Vec<(StageName, ContentKey)> = Vec::new();
        let mut article_key = None;
        if let Some(source) = &req.source {
            let page_key = fetch_key(source).await;
            let extract = extract_key(&page_key);
            keys.push((StageName::Fetch, page_key));
            keys.push((StageName::Extract, extract.clone()));
            article_key = Some(extract);
        }
        let script_key = self.script_key(req, article_key.as_ref());
        let speech = speech_key(&script_key, req);
        let storyboard = storyboard_key(&script_key, &speech, article_key.as_ref(), req);
        keys.push((StageName::Script, script_key));
        keys.push((StageName::Speak, speech));
        keys.push((StageName::Storyboard, storyboard));
        keys
    }

    /// Runs the pipeline, reporting progress, and returns what it produced.
    pub async fn make(
        &self,
        req: &MakeRequest,
        progress: &dyn ProgressSink,
        cancel: CancelFlag,
    ) -> Result<MakeReport, VidflowError> {
        let started = Instant::now();
        self.validate(req)?;
        let mut run = Run {
            progress,
            reports: Vec::new(),
            cancel,
        };
        let prepared = match self.prepare(&mut run, req).await? {
            Step::Stopped { stage, output, wav } => {
                return Ok(MakeReport {
                    stages: run.reports,
                    output: MakeOutput::Stage { stage, output, wav },
                    seconds: started.elapsed().as_secs_f64(),
                });
            }
            Step::Ready(p) => p,
        };
        let Prepared {
            timeline,
            speech,
            storyboard_key,
        } = *prepared;

        // render + encode
        let avatar = self.avatar(&req.avatar)?;
        let render_key = render_key(&storyboard_key, &avatar.id(), req);
        let output = self
            .render(&mut run, req, &render_key, timeline.clone(), avatar, speech)
            .await?;
        Ok(MakeReport {
            stages: run.reports,
            output: video_written(req, &timeline, output)?,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Runs every stage up to the storyboard (cached) and returns the Timeline and the
    /// Speech a render needs: for benchmarks and for callers that render themselves.
    pub async fn timeline(
        &self,
        req: &MakeRequest,
        progress: &dyn ProgressSink,
    ) -> Result<(Timeline, Speech), VidflowError> {
        let mut req = req.clone();
        req.stop_after = None;
        self.validate(&req)?;
        let p = self.ready(&req, progress, CancelFlag::default()).await?;
        Ok((p.timeline, p.speech))
    }

    /// Every stage before rendering (cached), whatever `req.stop_after` says. The request
    /// must have been validated.
    pub(crate) async fn ready(
        &self,
        req: &MakeRequest,
        progress: &dyn ProgressSink,
        cancel: CancelFlag,
    ) -> Result<Prepared, VidflowError> {
        let mut req = req.clone();
        req.stop_after = None;
        let mut run = Run {
            progress,
            reports: Vec::new(),
            cancel,
        };
        match self.prepare(&mut run, &req).await? {
            Step::Ready(p) => Ok(*p),
            Step::Stopped { stage, .. } => Err(VidflowError::internal(format!(
                "pipeline stopped after {stage} without a stop requested"
            ))),
        }
    }

    /// Every stage before rendering, stopping early when the request says so.
    async fn prepare(&self, run: &mut Run<'_>, req: &MakeRequest) -> Result<Step, VidflowError> {
        let stop = req.stop_after;
        let done = |stage: StageName, output: serde_json::Value, wav: Option<PathBuf>| {
            Ok(Step::Stopped { stage, output, wav })
        };
        // fetch + extract (skipped entirely when only a script is given)
        let mut article_key = None;
        let mut article = None;
        let mut page_for_images = None;
        if let Some(source) = &req.source {
            let page_key = fetch_key(source).await;
            let page = self.fetch(run, source, &page_key).await?;
            if stop == Some(StageName::Fetch) {
                return done(StageName::Fetch, page_json(&page), None);
            }
            let (a, key) = self.extract_page(run, page.clone(), &page_key).await?;
            page_for_images = Some(page);
            if stop == Some(StageName::Extract) {
                return done(StageName::Extract, to_json(&a)?, None);
            }
            article_key = Some(key);
            article = Some(a);
        } else if let Some(s @ (StageName::Fetch | StageName::Extract)) = stop {
            return Err(VidflowError::bad_input(format!(
                "--stop-after {s} needs a page, not only a script"
            )));
        }
        let article = article.unwrap_or_default();

        // script
        let opts = ScriptOptions {
            max_seconds: req.max_seconds,
            words_per_second: WORDS_PER_SECOND,
            ..ScriptOptions::default()
        };
        let script_key = self.script_key(req, article_key.as_ref());
        let script: Script = self
            .stage(
                run,
                StageName::Script,
                &script_key,
                self.config.timeouts.script,
                || {
                    let article = article.clone();
                    let opts = opts.clone();
                    let user = req.script_text.clone();
                    let voice = req.voice.clone();
                    async move {
                        match (user, &self.chat) {
                            (Some(text), _) => {
                                let title =
                                    (!article.title.is_empty()).then_some(article.title.as_str());
                                let mut s = vidflow_script::script_from_text(&text, title)?;
                                attach_images(&mut s, &article);
                                Ok(s)
                            }
                            (None, Some(chat)) => chat.write_script(&article, &opts).await,
                            (None, None) => fit_summary(&article, &opts, &voice).await,
                        }
                    }
                },
            )
            .await?;
        if stop == Some(StageName::Script) {
            return done(StageName::Script, to_json(&script)?, None);
        }

        // speak
        let speech_key = speech_key(&script_key, req);
        let speech: Speech = self
            .stage(
                run,
                StageName::Speak,
                &speech_key,
                self.config.timeouts.speak,
                || {
                    let script = script.clone();
                    let voice = req.voice.clone();
                    async move {
                        tokio::task::spawn_blocking(move || {
                            let voice = vidflow_speech::Voice::load(&voice)?;
                            vidflow_speech::speak_script(&script, &voice, SEGMENT_PAUSE)
                        })
                        .await
                        .map_err(join_error)?
                    }
                },
            )
            .await?;
        if stop == Some(StageName::Speak) {
            let wav = req.output.with_extension("wav");
            vidflow_encode::write_wav(&wav, &speech.samples, speech.sample_rate)
                .map_err(|e| VidflowError::internal(e.to_string()))?;
            let summary = serde_json::json!({
                "voice": speech.voice,
                "sample_rate": speech.sample_rate,
                "duration": speech.duration(),
                "segments": speech.segments,
                "words": speech.words,
                "phones": speech.phones,
            });
            return done(StageName::Speak, summary, Some(wav));
        }

        // storyboard
        let source_label = source_label(req);
        let sb_key = storyboard_key(&script_key, &speech_key, article_key.as_ref(), req);
        let seed = u64::from_le_bytes(
            blake3::hash(script_key.as_str().as_bytes()).as_bytes()[..8]
                .try_into()
                .expect("8 bytes"),
        );
        let timeline: Timeline = self
            .stage(
                run,
                StageName::Storyboard,
                &sb_key,
                self.config.timeouts.storyboard,
                || {
                    let article = &article;
                    let script = &script;
                    let speech = &speech;
                    let source_label = source_label.clone();
                    let page = page_for_images.as_ref();
                    async move {
                        let images = self.fetch_images(article, script, page).await;
                        let opts = StoryboardOptions {
                            size: req.size,
                            fps: req.fps,
                            burn_subtitles: req.subtitles,
                            source: display_source(&source_label),
                            seed,
                        };
                        Ok(build_timeline(article, script, speech, &images, &opts))
                    }
                },
            )
            .await?;
        if stop == Some(StageName::Storyboard) {
            return done(StageName::Storyboard, timeline_json(&timeline)?, None);
        }
        drop(article);

        Ok(Step::Ready(Box::new(Prepared {
            timeline,
            speech,
            storyboard_key: sb_key,
        })))
    }

    /// Fetches and extracts a page (both cached): `vidflow extract`.
    pub async fn extract(
        &self,
        input: &str,
        progress: &dyn ProgressSink,
    ) -> Result<Article, VidflowError> {
        let mut run = Run {
            progress,
            reports: Vec::new(),
            cancel: CancelFlag::default(),
        };
        let source = Source::Url(input.to_owned());
        let page_key = fetch_key(&source).await;
        let page = self.fetch(&mut run, &source, &page_key).await?;
        Ok(self.extract_page(&mut run, page, &page_key).await?.0)
    }

    async fn extract_page(
        &self,
        run: &mut Run<'_>,
        page: Page,
        page_key: &ContentKey,
    ) -> Result<(Article, ContentKey), VidflowError> {
        let key = extract_key(page_key);
        let article: Article = self
            .stage(
                run,
                StageName::Extract,
                &key,
                self.config.timeouts.extract,
                || {
                    let page = page.clone();
                    async move {
                        tokio::task::spawn_blocking(move || vidflow_extract::extract(&page))
                            .await
                            .map_err(join_error)?
                    }
                },
            )
            .await?;
        Ok((article, key))
    }

    /// Fetches the page (or takes the given HTML), cached under `key` (see [`fetch_key`]).
    async fn fetch(
        &self,
        run: &mut Run<'_>,
        source: &Source,
        key: &ContentKey,
    ) -> Result<Page, VidflowError> {
        match source {
            Source::Html { html, base_url } => {
                let page = Page {
                    requested: base_url.clone(),
                    final_url: base_url.clone(),
                    content_type: "text/html".into(),
                    charset: Some("utf-8".into()),
                    body: html.clone().into_bytes(),
                };
                let started = Instant::now();
                run.progress.report(Progress::StageStarted {
                    stage: StageName::Fetch,
                });
                self.finish(run, StageName::Fetch, key, None, started);
                Ok(page)
            }
            Source::Url(input) => {
                self.stage(
                    run,
                    StageName::Fetch,
                    key,
                    self.config.timeouts.fetch,
                    || {
                        let input = input.clone();
                        async move {
                            self.fetcher.fetch_page(&input).await.map_err(|e| {
                                // A server that keeps failing is the user's URL's problem.
                                if e.kind == ErrorKind::Transient {
                                    VidflowError::bad_input(e.message)
                                } else {
                                    e
                                }
                            })
                        }
                    },
                )
                .await
            }
        }
    }

    /// Fetches the images the script's slides show; one that fails is left out (its slide
    /// shows text only) rather than failing the video.
    async fn fetch_images(
        &self,
        article: &Article,
        script: &Script,
        page: Option<&Page>,
    ) -> Vec<Option<Vec<u8>>> {
        let mut out = vec![None; article.images.len()];
        for seg in &script.segments {
            if let Some(i) = seg.image
                && let Some(img) = article.images.get(i)
                && out[i].is_none()
            {
                // Relative to the page: a web page may not pull in file:// images.
                let fetched = match page {
                    Some(p) => self.fetcher.fetch_image_for_page(p, &img.url).await,
                    None => self.fetcher.fetch_image(&img.url).await,
                };
                match fetched {
                    Ok(bytes) => out[i] = Some(bytes),
                    Err(e) => tracing::warn!("image {} skipped: {}", img.url, e.message),
                }
            }
        }
        out
    }

    /// Renders and encodes, or copies the cached MP4 into place. Returns the file's size.
    async fn render(
        &self,
        run: &mut Run<'_>,
        req: &MakeRequest,
        key: &ContentKey,
        timeline: Timeline,
        avatar: Avatar,
        speech: Speech,
    ) -> Result<u64, VidflowError> {
        let started = Instant::now();
        run.progress.report(Progress::StageStarted {
            stage: StageName::Render,
        });
        run.cancel.check()?;
        if let Some(hit) = self.cache.get(key).await {
            write_file(&req.output, &hit.bytes)?;
            self.finish(
                run,
                StageName::Render,
                key,
                Some(hit.backend.to_string()),
                started,
            );
            return Ok(hit.bytes.len() as u64);
        }
        let job = RenderJob {
            timeline: Arc::new(timeline),
            avatar: Some(avatar),
            // Moved, not copied: a long narration is tens of megabytes.
            samples: speech.samples,
            sample_rate: speech.sample_rate,
            output: req.output.clone(),
            preset: req.preset.clone(),
            crf: req.crf,
            threads: self.config.threads,
            chunk_frames: self.config.chunk_frames,
        };
        let bytes = self
            .blocking_render(run.progress, &run.cancel, move |cancel, on_progress| {
                render_video(&job, cancel, on_progress)
            })
            .await?;
        if self.cache.is_enabled() {
            let video = std::fs::read(&req.output).map_err(|e| {
                VidflowError::internal(format!("cannot read back {}: {e}", req.output.display()))
            })?;
            self.cache.put(key, &video).await;
        }
        self.finish(run, StageName::Render, key, None, started);
        Ok(bytes)
    }

    /// Runs `work` (a render) on a blocking thread, relaying its `(done, total)` progress as
    /// Render progress events, within `timeouts.render`: past it, `cancel` is set and the
    /// render waited for. Returns what `work` returns.
    pub(crate) async fn blocking_render<F>(
        &self,
        progress: &dyn ProgressSink,
        cancel: &CancelFlag,
        work: F,
    ) -> Result<u64, VidflowError>
    where
        F: FnOnce(&CancelFlag, &(dyn Fn(u64, u64) + Sync)) -> Result<u64, VidflowError>
            + Send
            + 'static,
    {
        let flag = cancel.clone();
        // Progress from the render thread goes through a channel so the sink need not be 'static.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, u64)>();
        let handle = tokio::task::spawn_blocking(move || {
            work(&flag, &|done, total| {
                let _ = tx.send((done, total));
            })
        });
        let limit = Duration::from_secs(self.config.timeouts.render);
        let deadline = tokio::time::sleep(limit);
        tokio::pin!(deadline);
        tokio::pin!(handle);
        loop {
            tokio::select! {
                r = &mut handle => break r.map_err(join_error)?,
                Some((done, total)) = rx.recv() => {
                    progress.report(Progress::StageProgress { stage: StageName::Render, done, total });
                }
                _ = &mut deadline => {
                    cancel.cancel();
                    let _ = (&mut handle).await;
                    return Err(VidflowError::internal(format!(
                        "render: took longer than the {} s limit (timeouts.render)",
                        limit.as_secs()
                    )));
                }
            }
        }
    }

    /// Looks `key` up in the cache; on a miss computes the value (retrying transient
    /// failures with backoff, within the stage's time limit) and stores it.
    async fn stage<T, F, Fut>(
        &self,
        run: &mut Run<'_>,
        stage: StageName,
        key: &ContentKey,
        timeout_s: u64,
        mut compute: F,
    ) -> Result<T, VidflowError>
    where
        T: Serialize + DeserializeOwned,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, VidflowError>>,
    {
        let started = Instant::now();
        run.progress.report(Progress::StageStarted { stage });
        run.cancel.check()?;
        if let Some(hit) = self.cache.get(key).await {
            match codec::decode::<T>(&hit.bytes) {
                Ok(v) => {
                    self.finish(run, stage, key, Some(hit.backend.to_string()), started);
                    return Ok(v);
                }
                // An entry from an incompatible build: recompute and overwrite it.
                Err(e) => {
                    tracing::warn!("{stage}: cached entry {key} unreadable ({e}); recomputing")
                }
            }
        }
        let limit = Duration::from_secs(timeout_s);
        let attempts = self.config.retry_attempts.max(1);
        let mut backoff = Duration::from_millis(self.config.retry_backoff_ms);
        let mut attempt = 1;
        let value = loop {
            let result = match tokio::time::timeout(limit, compute()).await {
                Ok(r) => r,
                Err(_) => Err(VidflowError::transient(format!(
                    "took longer than the {timeout_s} s limit (timeouts.{stage})"
                ))),
            };
            match result {
                Ok(v) => break v,
                Err(e) if e.kind == ErrorKind::Transient && attempt < attempts => {
                    run.progress.report(Progress::Retrying {
                        stage,
                        attempt,
                        error: e.message.clone(),
                    });
                    tracing::warn!("{stage}: try {attempt} of {attempts} failed: {}", e.message);
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                    run.cancel.check()?;
                }
                Err(e) => return Err(e.context(stage)),
            }
        };
        if self.cache.is_enabled() {
            self.cache.put(key, &codec::encode(&value)?).await;
        }
        self.finish(run, stage, key, None, started);
        Ok(value)
    }

    fn finish(
        &self,
        run: &mut Run<'_>,
        stage: StageName,
        key: &ContentKey,
        backend: Option<String>,
        started: Instant,
    ) {
        let seconds = started.elapsed().as_secs_f64();
        run.progress.report(Progress::StageFinished {
            stage,
            cached: backend.is_some(),
            backend: backend.clone(),
            seconds,
        });
        run.reports.push(StageReport {
            stage,
            cached: backend.is_some(),
            backend,
            seconds,
            key: key.to_string(),
        });
    }
}

// Content keys, one function per stage, shared by the run and by `plan` so that a plan's
// cache answers are the run's. Each key chains the keys of its inputs.

/// A page's key: HTML given inline by its bytes, a local file by its bytes (an edit makes a
/// new key), a remote page by its URL (kept for the cache's TTL).
async fn fetch_key(source: &Source) -> ContentKey {
    let key = ContentKey::builder("fetch", versions::FETCH);
    match source {
        Source::Html { html, base_url } => key
            .param("base_url", base_url)
            .bytes("html", html.as_bytes())
            .build(),
        Source::Url(input) => {
            let mut key = key.param("input", input);
            if let Some(path) = local_path(input)
                && let Ok(bytes) = tokio::fs::read(path).await
            {
                key = key.bytes("file", &bytes);
            }
            key.build()
        }
    }
}

fn extract_key(page_key: &ContentKey) -> ContentKey {
    ContentKey::builder("extract", versions::EXTRACT)
        .input(page_key)
        .build()
}

fn speech_key(script_key: &ContentKey, req: &MakeRequest) -> ContentKey {
    ContentKey::builder("speak", versions::SPEAK)
        .input(script_key)
        .param("voice", &req.voice)
        .param_json("pause", &SEGMENT_PAUSE)
        .build()
}

fn source_label(req: &MakeRequest) -> String {
    match &req.source {
        Some(Source::Url(u)) => u.clone(),
        Some(Source::Html { base_url, .. }) => base_url.clone(),
        None => String::new(),
    }
}

fn storyboard_key(
    script_key: &ContentKey,
    speech_key: &ContentKey,
    article_key: Option<&ContentKey>,
    req: &MakeRequest,
) -> ContentKey {
    let mut key = ContentKey::builder("storyboard", versions::STORYBOARD)
        .input(script_key)
        .input(speech_key)
        .param("size", req.size.to_string())
        .param_json("fps", &req.fps)
        .param_json("subtitles", &req.subtitles)
        .param("source", source_label(req));
    if let Some(k) = article_key {
        key = key.input(k);
    }
    key.build()
}

fn render_key(storyboard_key: &ContentKey, avatar_id: &str, req: &MakeRequest) -> ContentKey {
    ContentKey::builder("render", versions::RENDER)
        .input(storyboard_key)
        .param("avatar", avatar_id)
        .param("preset", &req.preset)
        .param_json("crf", &req.crf)
        .build()
}

/// The key of one chunk's segment: the render key's inputs plus the chunk's frames (a
/// segment holds exactly those frames, however the rest of the video was cut).
pub(crate) fn chunk_key(
    storyboard_key: &ContentKey,
    avatar_id: &str,
    req: &MakeRequest,
    start: u64,
    end: u64,
) -> ContentKey {
    ContentKey::builder("chunk", versions::CHUNK)
        .input(storyboard_key)
        .param("avatar", avatar_id)
        .param("preset", &req.preset)
        .param_json("crf", &req.crf)
        .param_json("frames", &(start, end))
        .build()
}

/// The key of a video joined from chunks: its segments, in order (each chains the
/// storyboard, and so the narration that is muxed in).
pub(crate) fn assembled_key(chunk_keys: &[ContentKey]) -> ContentKey {
    chunk_keys
        .iter()
        .fold(
            ContentKey::builder("assembled", versions::ASSEMBLE),
            |key, chunk| key.input(chunk),
        )
        .build()
}

/// Rough wall-clock cost of each stage when it is not cached, seconds, for `plan`.
/// Measured on a 2-core machine (release build): Flite speaks ~30 s of audio per second,
/// render+encode at veryfast runs ~220 megapixels a second.
fn estimated_seconds(stage: StageName, req: &MakeRequest) -> f64 {
    let speech = req.max_seconds / 30.0;
    match stage {
        StageName::Fetch => match &req.source {
            Some(Source::Url(u)) if local_path(u).is_none() => 1.0,
            _ => 0.01,
        },
        StageName::Extract => 0.2,
        // The extractive summary is spoken to fit the budget; a chat model takes longer.
        StageName::Script => {
            if req.script_text.is_some() {
                0.01
            } else {
                speech + 0.2
            }
        }
        StageName::Speak => speech,
        StageName::Storyboard => 0.3,
        StageName::Render => {
            let pixels = req.size.width as f64 * req.size.height as f64;
            req.max_seconds * req.fps as f64 * pixels / 2.2e8
        }
    }
}

/// What a run would do, worked out without running it: for `dry_run` requests.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The stages in order, each with its key and whether the cache holds its output.
    pub stages: Vec<PlannedStage>,
    /// Estimated wall time in seconds (stages served from the cache count as free).
    pub estimated_seconds: f64,
    /// Upper bound on the video's length, seconds (the narration budget).
    pub max_video_seconds: f64,
}

/// One stage of a [`Plan`].
#[derive(Debug, Clone, Serialize)]
pub struct PlannedStage {
    /// Which stage.
    pub stage: StageName,
    /// Its content key; `None` where it depends on what the stage before produces.
    pub key: Option<String>,
    /// Whether its output is in the cache (by index lookup); `None` when not known.
    pub cached: Option<bool>,
    /// The tier that holds it.
    pub backend: Option<String>,
    /// Estimated wall time, seconds (0 when cached).
    pub estimated_seconds: f64,
}

/// Summarises to fit the time budget as spoken: the word budget is a guess at the voice's
/// pace (pauses and long words vary it), so the summary is spoken once and, when too long,
/// made again with the budget scaled by how far over it went. Flite speaks a minute of
/// audio in about two seconds, so this costs little and keeps videos within --max-seconds.
async fn fit_summary(
    article: &Article,
    opts: &ScriptOptions,
    voice: &str,
) -> Result<Script, VidflowError> {
    let mut opts = opts.clone();
    let mut script = vidflow_script::summarize(article, &opts)?;
    for _ in 0..4 {
        let spoken = script.clone();
        let voice_name = voice.to_owned();
        let seconds = tokio::task::spawn_blocking(move || {
            let voice = vidflow_speech::Voice::load(&voice_name)?;
            vidflow_speech::speak_script(&spoken, &voice, SEGMENT_PAUSE).map(|s| s.duration())
        })
        .await
        .map_err(join_error)??;
        if seconds <= opts.max_seconds {
            break;
        }
        opts.words_per_second *= opts.max_seconds / seconds * 0.97;
        let shorter = vidflow_script::summarize(article, &opts)?;
        if shorter == script {
            break;
        }
        script = shorter;
    }
    Ok(script)
}

/// A user's own script has no image choices: give its segments the page's images in order.
fn attach_images(script: &mut Script, article: &Article) {
    for (seg, i) in script
        .segments
        .iter_mut()
        .skip(1)
        .zip(0..article.images.len())
    {
        seg.image = Some(i);
    }
}

/// The file behind a local path or `file://` URL, if that is what `input` is.
fn local_path(input: &str) -> Option<PathBuf> {
    if let Some(rest) = input.strip_prefix("file://") {
        return Some(PathBuf::from(rest));
    }
    let lower = input.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || input.contains("://") {
        None
    } else {
        Some(PathBuf::from(input))
    }
}

fn display_source(s: &str) -> String {
    let trimmed = s
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_start_matches("file://");
    if s.starts_with("file://") || Path::new(s).exists() {
        Path::new(trimmed)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| trimmed.to_owned())
    } else {
        trimmed.trim_end_matches('/').to_owned()
    }
}

fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes the subtitles beside a finished video (only once the video is in place) and
/// describes it.
pub(crate) fn video_written(
    req: &MakeRequest,
    timeline: &Timeline,
    bytes: u64,
) -> Result<MakeOutput, VidflowError> {
    let srt = req.output.with_extension("srt");
    let vtt = req.output.with_extension("vtt");
    write_file(&srt, vidflow_encode::srt(&timeline.cues).as_bytes())?;
    write_file(&vtt, vidflow_encode::vtt(&timeline.cues).as_bytes())?;
    Ok(MakeOutput::Video {
        path: req.output.clone(),
        srt,
        vtt,
        duration: timeline.duration,
        bytes,
        size: timeline.size,
        fps: timeline.fps,
        frames: timeline.frame_count,
    })
}

pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), VidflowError> {
    vidflow_encode::write_atomic(path, bytes)
        .map_err(|e| VidflowError::internal(format!("cannot write {}: {e}", path.display())))
}

pub(crate) fn join_error(e: tokio::task::JoinError) -> VidflowError {
    VidflowError::internal(format!("stage task failed: {e}"))
}

fn to_json<T: Serialize>(v: &T) -> Result<serde_json::Value, VidflowError> {
    serde_json::to_value(v).map_err(|e| VidflowError::internal(format!("cannot write JSON: {e}")))
}

fn page_json(page: &Page) -> serde_json::Value {
    serde_json::json!({
        "requested": page.requested,
        "final_url": page.final_url,
        "content_type": page.content_type,
        "charset": page.charset,
        "bytes": page.body.len(),
        "body": String::from_utf8_lossy(&page.body),
    })
}

fn timeline_json(t: &Timeline) -> Result<serde_json::Value, VidflowError> {
    let mut v = to_json(t)?;
    // Image bytes are noise in JSON: show their size instead.
    if let Some(images) = v.get_mut("images").and_then(|i| i.as_array_mut()) {
        for (img, asset) in images.iter_mut().zip(&t.images) {
            *img = serde_json::json!({ "url": asset.url, "bytes": asset.bytes.len() });
        }
    }
    Ok(v)
}
