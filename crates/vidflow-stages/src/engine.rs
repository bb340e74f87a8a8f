//! The [`Engine`]: a configuration, a cache and a [`Registry`] of stage types and
//! workflows, and the calls that run a request on them and deliver what it made.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use vidflow_cache::TieredCache;
use vidflow_core::{
    Article, Artifact, CancelFlag, ChunkKeys, ChunkPlan, ChunkReport, Config, ContentKey, DataType,
    MakeRequest, Plan, ProgressSink, Registry, RunEnv, RunOutcome, Scratch, Source, StageName,
    Video, VidflowError, Workflow, WorkflowDef,
};

use crate::deliver::{MakeOutput, MakeReport, deliver, writes_files};

/// The workflow a request runs when it names none and gives a page.
pub const DEFAULT_WORKFLOW: &str = "explainer";
/// The workflow a request runs when it names none and gives only a script.
pub const SCRIPT_WORKFLOW: &str = "own-script";

/// A configured pipeline: the cache, the stage types and the named workflows. Cheap to
/// share; workflows are built once and reused.
pub struct Engine {
    config: Config,
    cache: Arc<TieredCache>,
    registry: Registry,
    /// Built workflows by their definition (as JSON), so a workflow carried by a job
    /// is built once per process however many tasks of it run here.
    built: Mutex<HashMap<String, Arc<Workflow>>>,
}

impl Engine {
    /// An engine with the built-in stage types and workflows ([`crate::registry`]).
    pub fn new(config: Config, cache: Arc<TieredCache>) -> Result<Engine, VidflowError> {
        Self::with_registry(config, cache, crate::registry())
    }

    /// An engine with the stage types and workflows of `registry` (the built-in ones and
    /// your own). Builds the default workflow now, so that bad configuration is reported
    /// at start.
    pub fn with_registry(
        config: Config,
        cache: Arc<TieredCache>,
        registry: Registry,
    ) -> Result<Engine, VidflowError> {
        let engine = Engine {
            config,
            cache,
            registry,
            built: Mutex::new(HashMap::new()),
        };
        if let Ok(def) = engine.registry.workflow(DEFAULT_WORKFLOW) {
            let def = def.clone();
            engine.workflow(&def)?;
        }
        Ok(engine)
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The cache in use.
    pub fn cache(&self) -> &Arc<TieredCache> {
        &self.cache
    }

    /// The stage types and named workflows.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The definition of the workflow `req` runs: the one it names, else the explainer (or,
    /// with only a script, the one that narrates a script).
    pub fn workflow_def(&self, req: &MakeRequest) -> Result<WorkflowDef, VidflowError> {
        let id = match &req.workflow {
            Some(id) => id.as_str(),
            None if req.source.is_none() && req.script_text.is_some() => SCRIPT_WORKFLOW,
            None => DEFAULT_WORKFLOW,
        };
        self.registry.workflow(id).cloned()
    }

    /// `def` checked and built (once per engine).
    pub fn workflow(&self, def: &WorkflowDef) -> Result<Arc<Workflow>, VidflowError> {
        let id = serde_json::to_string(def).unwrap_or_else(|_| def.id.clone());
        if let Some(w) = self.lock_built().get(&id) {
            return Ok(w.clone());
        }
        let built = Arc::new(self.registry.build(def, &self.config)?);
        self.lock_built().insert(id, built.clone());
        Ok(built)
    }

    fn lock_built(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Workflow>>> {
        self.built.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The built workflow `req` runs.
    pub fn workflow_for(&self, req: &MakeRequest) -> Result<Arc<Workflow>, VidflowError> {
        self.workflow(&self.workflow_def(req)?)
    }

    /// Checks a request before anything runs: the workflow's checks (the presenter loads,
    /// the voice exists, ...) and, when the run writes files, that the output folder
    /// exists. Bad input is reported before the first byte is fetched.
    pub fn validate(&self, req: &MakeRequest) -> Result<(), VidflowError> {
        let wf = self.workflow_for(req)?;
        self.validate_with(&wf, req)
    }

    fn validate_with(&self, wf: &Workflow, req: &MakeRequest) -> Result<(), VidflowError> {
        wf.check(req)?;
        if wf.output(req.stop_after.as_ref()).is_some_and(writes_files) {
            let dir = req.output_dir();
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
    pub fn validate_inputs(&self, req: &MakeRequest) -> Result<Arc<Workflow>, VidflowError> {
        let wf = self.workflow_for(req)?;
        wf.check(req)?;
        Ok(wf)
    }

    /// Validates a request and works out what running it would do: every stage's key,
    /// which the cache already holds (index lookups only, nothing is fetched or decoded),
    /// and an estimate of the wall time. Stages after `stop_after` are left out.
    pub async fn plan(&self, req: &MakeRequest) -> Result<Plan, VidflowError> {
        let wf = self.workflow_for(req)?;
        self.validate_with(&wf, req)?;
        wf.plan(req, self.cache.as_ref()).await
    }

    /// Runs the request's workflow, reporting progress, and delivers what it made.
    pub async fn make(
        &self,
        req: &MakeRequest,
        progress: &dyn ProgressSink,
        cancel: CancelFlag,
    ) -> Result<MakeReport, VidflowError> {
        let wf = self.workflow_for(req)?;
        self.run_workflow(&wf, req, progress, cancel).await
    }

    /// Runs workflow `def` (a file of the user's, say) on the request, and delivers what
    /// it made.
    pub async fn run(
        &self,
        def: &WorkflowDef,
        req: &MakeRequest,
        progress: &dyn ProgressSink,
        cancel: CancelFlag,
    ) -> Result<MakeReport, VidflowError> {
        let wf = self.workflow(def)?;
        self.run_workflow(&wf, req, progress, cancel).await
    }

    async fn run_workflow(
        &self,
        wf: &Workflow,
        req: &MakeRequest,
        progress: &dyn ProgressSink,
        cancel: CancelFlag,
    ) -> Result<MakeReport, VidflowError> {
        let started = Instant::now();
        self.validate_with(wf, req)?;
        // Beside the output, so that delivering a video is a rename.
        let scratch = Scratch::new(req.output_dir());
        let env = self.env(progress, cancel, &scratch);
        let outcome = wf.run(&env, req).await?;
        let (stage, last) = outcome.last();
        let output = deliver(req, stage, &last.value)?;
        Ok(MakeReport {
            stages: outcome.reports,
            output,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// What running a workflow here needs: this engine's cache and configuration, and
    /// the caller's progress sink, cancel flag and scratch folder.
    pub fn env<'a>(
        &'a self,
        progress: &'a dyn ProgressSink,
        cancel: CancelFlag,
        scratch: &'a Scratch,
    ) -> RunEnv<'a> {
        RunEnv {
            cache: self.cache.as_ref(),
            config: &self.config,
            progress,
            cancel,
            scratch,
        }
    }

    /// Runs the request's workflow up to stage `until` (cached) and returns every output
    /// made on the way, delivering nothing: for benchmarks and callers that render
    /// themselves. Files in the outcome (a video) are in a scratch folder that is gone
    /// when this returns.
    pub async fn run_until(
        &self,
        req: &MakeRequest,
        until: &StageName,
        progress: &dyn ProgressSink,
    ) -> Result<RunOutcome, VidflowError> {
        let wf = self.validate_inputs(&MakeRequest {
            stop_after: Some(until.clone()),
            params: Default::default(),
            ..req.clone()
        })?;
        let scratch = Scratch::new(std::env::temp_dir());
        let env = self.env(progress, CancelFlag::default(), &scratch);
        wf.run_until(&env, req, Some(until)).await
    }

    /// Fetches and extracts a page (both cached): `vidflow extract`.
    pub async fn extract(
        &self,
        input: &str,
        progress: &dyn ProgressSink,
    ) -> Result<Article, VidflowError> {
        let v = &self.config.video;
        let req = MakeRequest {
            source: Some(Source::Url(input.to_owned())),
            script_text: None,
            workflow: Some(DEFAULT_WORKFLOW.into()),
            avatar: v.avatar.clone(),
            size: vidflow_core::VideoSize::parse(&v.size).map_err(VidflowError::bad_input)?,
            fps: v.fps,
            max_seconds: v.max_seconds,
            voice: v.voice.clone(),
            preset: v.preset.clone(),
            crf: v.crf,
            x264: Default::default(),
            subtitles: v.subtitles,
            stop_after: Some(StageName::EXTRACT),
            params: Default::default(),
            output: std::env::temp_dir().join("unused.mp4"),
        };
        let outcome = self.run_until(&req, &StageName::EXTRACT, progress).await?;
        outcome
            .get::<Article>()
            .map(|a| a.as_ref().clone())
            .ok_or_else(|| VidflowError::internal("extract made no article"))
    }

    // Chunked rendering, the unit of distributed work.

    /// Runs (cached) every stage the render reads and splits the video into chunks of
    /// `chunk_seconds` (the last one shorter). `chunk_seconds` that is not a positive
    /// finite number is bad input. `req.stop_after` and `req.output` are ignored.
    pub async fn chunk_plan(
        &self,
        req: &MakeRequest,
        chunk_seconds: f64,
        progress: &dyn ProgressSink,
    ) -> Result<ChunkPlan, VidflowError> {
        let req = whole(req);
        let wf = self.validate_inputs(&req)?;
        let scratch = Scratch::new(std::env::temp_dir());
        let env = self.env(progress, CancelFlag::default(), &scratch);
        wf.chunk_plan(&env, &req, chunk_seconds).await
    }

    /// The keys of every chunk's segment and of the joined video (nothing is run).
    pub async fn chunk_keys(
        &self,
        req: &MakeRequest,
        plan: &ChunkPlan,
    ) -> Result<ChunkKeys, VidflowError> {
        let req = whole(req);
        self.validate_inputs(&req)?.chunk_keys(&req, plan)
    }

    /// Renders one chunk (video only, no audio) and stores its encoded segment in the
    /// cache under a content key chained from the render's key and the chunk's frames.
    /// Already cached → returns at once with `cached = true`.
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
        let req = whole(req);
        let wf = self.validate_inputs(&req)?;
        let scratch = Scratch::new(std::env::temp_dir());
        let env = self.env(progress, cancel, &scratch);
        wf.run_chunk(&env, &req, plan, index).await
    }

    /// Joins every chunk's segment (all must be in the cache; a missing one is an error
    /// naming its index) without re-encoding, muxes the whole narration, and stores the
    /// video in the cache under the assembled key ([`ChunkKeys::assembled`]). Already
    /// cached → returns at once. Does not write `req.output`:
    /// [`Engine::write_assembled`] does.
    pub async fn assemble(
        &self,
        req: &MakeRequest,
        plan: &ChunkPlan,
        progress: &dyn ProgressSink,
        cancel: CancelFlag,
    ) -> Result<ChunkReport, VidflowError> {
        let req = whole(req);
        let wf = self.validate_inputs(&req)?;
        let scratch = Scratch::new(std::env::temp_dir());
        let env = self.env(progress, cancel, &scratch);
        wf.assemble(&env, &req, plan).await
    }

    /// Writes the assembled video from the cache to `req.output` (atomically) and the
    /// `.srt`/`.vtt` beside it, returning the [`MakeOutput::Video`] `make` returns; `None`
    /// when the assembled video is not in the cache.
    pub async fn write_assembled(
        &self,
        req: &MakeRequest,
        plan: &ChunkPlan,
    ) -> Result<Option<MakeOutput>, VidflowError> {
        let wf = self.workflow_for(req)?;
        self.deliver_assembled(&wf, req, plan).await
    }

    /// [`Engine::write_assembled`] for a request of workflow `wf` (a job's, carried by
    /// the queue).
    pub async fn deliver_assembled(
        &self,
        wf: &Workflow,
        req: &MakeRequest,
        plan: &ChunkPlan,
    ) -> Result<Option<MakeOutput>, VidflowError> {
        let req = whole(req);
        self.validate_with(wf, &req)?;
        let keys = wf.chunk_keys(&req, plan)?;
        let key = ContentKey::from_string(keys.assembled);
        let Some(hit) = self.cache.get(&key).await else {
            return Ok(None);
        };
        let scratch = Scratch::new(req.output_dir());
        let value = Artifact::decode(DataType::Video, &hit.bytes, &scratch)?;
        let video: &Arc<Video> = value
            .get::<Video>()
            .ok_or_else(|| VidflowError::internal("the assembled entry is not a video"))?;
        if video.frames != plan.frames {
            return Err(VidflowError::bad_input(format!(
                "chunk plan is for {} frames, but the assembled video has {}",
                plan.frames, video.frames
            )));
        }
        let stage = wf
            .chunked_stage()
            .cloned()
            .unwrap_or_else(|| wf.last().clone());
        deliver(&req, &stage, &value).map(Some)
    }
}

/// The request as a whole run (chunked work always makes the whole video).
fn whole(req: &MakeRequest) -> MakeRequest {
    MakeRequest {
        stop_after: None,
        params: Default::default(),
        ..req.clone()
    }
}
