//! Running a workflow: every stage looked up by its content key and computed only on a
//! miss, with retries (exponential back-off with jitter) for passing failures, a time limit
//! per try, cancellation, and progress events that carry what metrics need.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::artifact::{Artifact, ArtifactType, Scratch};
use crate::cancel::CancelFlag;
use crate::chunks::{ChunkKeys, ChunkPlan, ChunkReport};
use crate::config::Config;
use crate::error::{ErrorKind, VidflowError};
use crate::key::ContentKey;
use crate::progress::{Progress, ProgressSink, StageName};
use crate::request::MakeRequest;
use crate::stage::{Input, InputKeys, Inputs, ProgressHandle, StageCache, StageContext, StageNote};

use super::Workflow;

/// How long a try that ran out of time gets to stop after it is told to (its work may be
/// on a thread that only checks its cancel flag between frames).
const STOP_GRACE: Duration = Duration::from_secs(15);

/// Version of the keys chunked work is stored under.
const CHUNK_KEY_VERSION: u32 = 2;

/// What a run uses besides the workflow and the request.
pub struct RunEnv<'a> {
    /// Where stage outputs are kept.
    pub cache: &'a dyn StageCache,
    /// Retries, back-off and the stages' time limits.
    pub config: &'a Config,
    /// Where progress goes.
    pub progress: &'a dyn ProgressSink,
    /// Stops the run.
    pub cancel: CancelFlag,
    /// Files between stages.
    pub scratch: &'a Scratch,
}

/// How one stage went.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// Size of its inputs, bytes.
    pub bytes_in: u64,
    /// Size of its output, bytes.
    pub bytes_out: u64,
}

/// What a run made: every stage's report and output, in running order.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Per-stage timings and cache use, in order.
    pub reports: Vec<StageReport>,
    values: Vec<(StageName, Input)>,
}

impl RunOutcome {
    /// The stage the run ended at and its output.
    pub fn last(&self) -> (&StageName, &Input) {
        let (name, input) = self.values.last().expect("a run makes at least one value");
        (name, input)
    }

    /// The output of stage `name`, if it ran.
    pub fn value(&self, name: &StageName) -> Option<&Input> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The last output of type `T`.
    pub fn get<T: ArtifactType>(&self) -> Option<&Arc<T>> {
        self.values
            .iter()
            .rev()
            .find_map(|(_, v)| v.value.get::<T>())
    }
}

/// A value made so far, with its size (computed once).
struct Made {
    input: Input,
    bytes: u64,
}

impl Workflow {
    /// The content key of every stage a run to `until` (default: the end) runs, in running
    /// order, worked out without running anything: the keys a run uses.
    pub fn keys(
        &self,
        request: &MakeRequest,
        until: Option<&StageName>,
    ) -> Result<Vec<(StageName, ContentKey)>, VidflowError> {
        let end = self.end(until)?;
        let needed = self.needed(end);
        let keys = self.keys_of(request, &needed);
        Ok(needed
            .iter()
            .map(|&i| (self.nodes[i].name.clone(), keys[i].clone().expect("needed")))
            .collect())
    }

    /// Keys of the `needed` positions (inputs first), indexed by position.
    fn keys_of(&self, request: &MakeRequest, needed: &[usize]) -> Vec<Option<ContentKey>> {
        let mut keys: Vec<Option<ContentKey>> = vec![None; self.nodes.len()];
        for &i in needed {
            let node = &self.nodes[i];
            let pairs: Vec<_> = node
                .inputs
                .iter()
                .filter_map(|&j| keys[j].clone().map(|k| (self.nodes[j].stage.output(), k)))
                .collect();
            keys[i] = Some(node.stage.key(request, InputKeys::new(&pairs)));
        }
        keys
    }

    /// Runs the workflow for `request` up to `request.stop_after` (default: its end).
    /// The request must have passed [`Workflow::check`].
    pub async fn run(
        &self,
        env: &RunEnv<'_>,
        request: &MakeRequest,
    ) -> Result<RunOutcome, VidflowError> {
        self.run_until(env, request, request.stop_after.as_ref())
            .await
    }

    /// Runs the stages `until` needs (default: all), in order.
    pub async fn run_until(
        &self,
        env: &RunEnv<'_>,
        request: &MakeRequest,
        until: Option<&StageName>,
    ) -> Result<RunOutcome, VidflowError> {
        let end = self.end(until)?;
        let needed = self.needed(end);
        let keys = self.keys_of(request, &needed);
        let mut made: Vec<Option<Made>> = (0..self.nodes.len()).map(|_| None).collect();
        let mut reports = Vec::with_capacity(needed.len());
        let mut values = Vec::with_capacity(needed.len());
        for &i in &needed {
            let key = keys[i].clone().expect("needed keys are worked out");
            let inputs = self.inputs_of(i, &made);
            let (value, report) = self.run_stage(env, request, i, &key, &inputs).await?;
            reports.push(report.clone());
            let input = Input {
                data: value.data_type(),
                key,
                value,
            };
            values.push((self.nodes[i].name.clone(), input.clone()));
            made[i] = Some(Made {
                input,
                bytes: report.bytes_out,
            });
        }
        Ok(RunOutcome { reports, values })
    }

    fn inputs_of(&self, i: usize, made: &[Option<Made>]) -> (Inputs, u64) {
        let mut items = Vec::new();
        let mut bytes = 0;
        for &j in &self.nodes[i].inputs {
            if let Some(m) = &made[j] {
                items.push(m.input.clone());
                bytes += m.bytes;
            }
        }
        (Inputs::new(items), bytes)
    }

    /// One stage, in a `stage` span (so every log line it causes names the stage and the
    /// job's request id), ending with one line that says how it went.
    async fn run_stage(
        &self,
        env: &RunEnv<'_>,
        request: &MakeRequest,
        i: usize,
        key: &ContentKey,
        inputs: &(Inputs, u64),
    ) -> Result<(Artifact, StageReport), VidflowError> {
        use tracing::Instrument;
        let span = tracing::info_span!("stage", stage = %self.nodes[i].name, key = %key);
        let result = self
            .run_stage_in(env, request, i, key, inputs)
            .instrument(span.clone())
            .await;
        match &result {
            Ok((_, r)) => tracing::info!(
                parent: &span,
                seconds = r.seconds,
                cached = r.cached,
                backend = r.backend.as_deref().unwrap_or(""),
                bytes_in = r.bytes_in,
                bytes_out = r.bytes_out,
                "stage finished"
            ),
            Err(e) => tracing::warn!(parent: &span, kind = ?e.kind, error = %e, "stage failed"),
        }
        result
    }

    /// One stage: from the cache, or computed (with retries) and stored.
    async fn run_stage_in(
        &self,
        env: &RunEnv<'_>,
        request: &MakeRequest,
        i: usize,
        key: &ContentKey,
        (inputs, bytes_in): &(Inputs, u64),
    ) -> Result<(Artifact, StageReport), VidflowError> {
        let node = &self.nodes[i];
        let started = Instant::now();
        env.progress.report(Progress::StageStarted {
            stage: node.name.clone(),
            percent: self.percent(&node.name, 0.0),
        });
        env.cancel.check()?;
        let stores = node.stage.stores(request) && env.cache.is_enabled();
        if stores && let Some(hit) = env.cache.get(key).await {
            match Artifact::decode(node.stage.output(), &hit.bytes, env.scratch) {
                Ok(value) => {
                    let report =
                        self.finished(env, i, key, Some(hit.backend), started, *bytes_in, &value);
                    return Ok((value, report));
                }
                // An entry from an incompatible build: recompute and overwrite it.
                Err(e) => {
                    tracing::warn!(
                        "{}: cached entry {key} unreadable ({e}); recomputing",
                        node.name
                    );
                    env.cache.remove(key).await;
                }
            }
        }
        let value = self
            .compute(env, request, i, inputs, Work::Whole)
            .await?
            .value()?;
        if stores {
            env.cache.put(key, &value.encode()?).await;
        }
        let report = self.finished(env, i, key, None, started, *bytes_in, &value);
        Ok((value, report))
    }

    /// Runs `work` with the stage's time limit and retry policy.
    async fn compute(
        &self,
        env: &RunEnv<'_>,
        request: &MakeRequest,
        i: usize,
        inputs: &Inputs,
        work: Work<'_>,
    ) -> Result<Output, VidflowError> {
        let node = &self.nodes[i];
        let retries = node.stage.retries();
        let attempts = if retries {
            env.config.retry_attempts.max(1)
        } else {
            1
        };
        let mut backoff = Duration::from_millis(env.config.retry_backoff_ms);
        let mut attempt = 1;
        loop {
            let result = self.attempt(env, request, i, inputs, &work).await;
            match result {
                Ok(v) => return Ok(v),
                Err(e) if e.kind == ErrorKind::Transient && attempt < attempts => {
                    env.progress.report(Progress::Retrying {
                        stage: node.name.clone(),
                        attempt,
                        error: e.message.clone(),
                    });
                    tracing::warn!(
                        "{}: try {attempt} of {attempts} failed: {}",
                        node.name,
                        e.message
                    );
                    tokio::time::sleep(jittered(backoff)).await;
                    backoff *= 2;
                    attempt += 1;
                    env.cancel.check()?;
                }
                Err(e) => return Err(e.context(&node.name)),
            }
        }
    }

    /// One try: the work runs while its progress is relayed; past the time limit it is
    /// told to stop (its cancel flag) and given a moment to clean up.
    async fn attempt(
        &self,
        env: &RunEnv<'_>,
        request: &MakeRequest,
        i: usize,
        inputs: &Inputs,
        work: &Work<'_>,
    ) -> Result<Output, VidflowError> {
        let node = &self.nodes[i];
        let (handle, mut progress) = ProgressHandle::channel();
        let ctx = StageContext {
            request,
            config: env.config,
            name: &node.name,
            cancel: env.cancel.child(),
            progress: handle,
            scratch: env.scratch,
        };
        let stage = &node.stage;
        let future: crate::stage::BoxFuture<'_, Result<Output, VidflowError>> = match work {
            Work::Whole => Box::pin(async { stage.run(&ctx, inputs).await.map(Output::Value) }),
            Work::Chunk(span) => {
                let chunked = stage.chunked().ok_or_else(not_chunked)?;
                let ctx = &ctx;
                Box::pin(async move {
                    chunked
                        .run_chunk(ctx, inputs, *span)
                        .await
                        .map(Output::File)
                })
            }
            Work::Join(plan, parts) => {
                let chunked = stage.chunked().ok_or_else(not_chunked)?;
                let ctx = &ctx;
                Box::pin(async move {
                    chunked
                        .join(ctx, inputs, plan, parts.clone())
                        .await
                        .map(Output::Value)
                })
            }
        };
        tokio::pin!(future);
        let deadline = tokio::time::sleep(node.timeout);
        tokio::pin!(deadline);
        let relay = |note: StageNote| match note {
            StageNote::Units(done, total) => {
                let part = if total == 0 {
                    0.0
                } else {
                    done as f64 / total as f64
                };
                env.progress.report(Progress::StageProgress {
                    stage: node.name.clone(),
                    done,
                    total,
                    percent: self.percent(&node.name, part),
                });
            }
            StageNote::Trial(t) => env.progress.report(Progress::Trial {
                stage: node.name.clone(),
                number: t.number,
                state: t.state,
                values: t.values,
                best: t.best,
            }),
        };
        let result = loop {
            tokio::select! {
                r = &mut future => break r,
                Some(p) = progress.recv() => relay(p),
                _ = &mut deadline => {
                    ctx.cancel.cancel();
                    let _ = tokio::time::timeout(STOP_GRACE, &mut future).await;
                    let limit = node.timeout.as_secs();
                    let message = format!("took longer than its {limit} s limit");
                    return Err(if node.stage.retries() {
                        VidflowError::transient(message)
                    } else {
                        VidflowError::internal(message)
                    });
                }
            }
        };
        // Progress sent just before the work ended still reaches the sink, in order.
        while let Ok(p) = progress.try_recv() {
            relay(p);
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn finished(
        &self,
        env: &RunEnv<'_>,
        i: usize,
        key: &ContentKey,
        backend: Option<&'static str>,
        started: Instant,
        bytes_in: u64,
        value: &Artifact,
    ) -> StageReport {
        let node = &self.nodes[i];
        let seconds = started.elapsed().as_secs_f64();
        let bytes_out = value.byte_size();
        env.progress.report(Progress::StageFinished {
            stage: node.name.clone(),
            cached: backend.is_some(),
            backend: backend.map(str::to_owned),
            seconds,
            bytes_in,
            bytes_out,
            percent: self.percent(&node.name, 1.0),
            title: value.title().map(str::to_owned),
        });
        StageReport {
            stage: node.name.clone(),
            cached: backend.is_some(),
            backend: backend.map(str::to_owned),
            seconds,
            key: key.to_string(),
            bytes_in,
            bytes_out,
        }
    }

    // Chunked work (distributed rendering).

    /// The position of the stage whose work splits into chunks.
    fn chunked(&self) -> Result<usize, VidflowError> {
        self.nodes
            .iter()
            .position(|n| n.stage.chunked().is_some())
            .ok_or_else(|| {
                VidflowError::bad_input(format!(
                    "workflow '{}' has no stage whose work splits into chunks",
                    self.def.id
                ))
            })
    }

    /// Runs (cached) what the chunked stage reads and splits its work into chunks of
    /// `chunk_seconds`.
    pub async fn chunk_plan(
        &self,
        env: &RunEnv<'_>,
        request: &MakeRequest,
        chunk_seconds: f64,
    ) -> Result<ChunkPlan, VidflowError> {
        // Checked before any stage runs; the real split needs the inputs.
        ChunkPlan::new(1, 1, 1.0, chunk_seconds)?;
        let c = self.chunked()?;
        let (inputs, _) = self.upstream(env, request, c).await?;
        self.nodes[c]
            .stage
            .chunked()
            .ok_or_else(not_chunked)?
            .plan(&inputs, chunk_seconds)
    }

    /// The keys every chunk's result and the joined output are stored under (nothing
    /// runs).
    pub fn chunk_keys(
        &self,
        request: &MakeRequest,
        plan: &ChunkPlan,
    ) -> Result<ChunkKeys, VidflowError> {
        plan.check(None)?;
        let c = self.chunked()?;
        let node_key = self.keys_of(request, &self.needed(c))[c]
            .clone()
            .expect("needed");
        let chunks: Vec<ContentKey> = plan
            .chunks
            .iter()
            .map(|s| {
                ContentKey::builder("chunk", CHUNK_KEY_VERSION)
                    .input(&node_key)
                    .param_json("frames", &(s.start, s.end))
                    .build()
            })
            .collect();
        let assembled = chunks
            .iter()
            .fold(
                ContentKey::builder("assembled", CHUNK_KEY_VERSION),
                |k, c| k.input(c),
            )
            .build();
        Ok(ChunkKeys {
            chunks: chunks.iter().map(ToString::to_string).collect(),
            assembled: assembled.to_string(),
        })
    }

    /// Does chunk `index` of the chunked stage and stores its file in the cache. Already
    /// cached: returns at once with `cached = true`. Reports the stage's progress in the
    /// chunk's units; a cancel (at any point) stores nothing.
    pub async fn run_chunk(
        &self,
        env: &RunEnv<'_>,
        request: &MakeRequest,
        plan: &ChunkPlan,
        index: u32,
    ) -> Result<ChunkReport, VidflowError> {
        let started = Instant::now();
        self.needs_cache(env)?;
        let span = plan.span(index)?;
        let c = self.chunked()?;
        let key =
            ContentKey::from_string(self.chunk_keys(request, plan)?.chunks[index as usize].clone());
        if let Some(report) = self.chunk_cached(env, c, &key, started).await {
            return Ok(report);
        }
        let inputs = self.chunk_inputs(env, request, c, plan).await?;
        env.cancel.check()?;
        let file = self
            .compute(env, request, c, &inputs, Work::Chunk(span))
            .await?
            .file()?;
        // A cancel that came after the last frame still means "keep nothing".
        env.cancel.check()?;
        let bytes = read(&file)?;
        env.cache.put(&key, &bytes).await;
        Ok(self.chunk_done(env, c, &key, bytes.len() as u64, None, started))
    }

    /// Joins every chunk's file (all must be in the cache; a missing one is an error
    /// naming it) into the chunked stage's output and stores it under the assembled key
    /// ([`ChunkKeys::assembled`]). Already cached: returns at once.
    pub async fn assemble(
        &self,
        env: &RunEnv<'_>,
        request: &MakeRequest,
        plan: &ChunkPlan,
    ) -> Result<ChunkReport, VidflowError> {
        let started = Instant::now();
        self.needs_cache(env)?;
        let keys = self.chunk_keys(request, plan)?;
        let c = self.chunked()?;
        let assembled = ContentKey::from_string(keys.assembled.clone());
        if let Some(report) = self.chunk_cached(env, c, &assembled, started).await {
            return Ok(report);
        }
        let inputs = self.chunk_inputs(env, request, c, plan).await?;
        let mut parts = Vec::with_capacity(plan.chunks.len());
        for (span, key) in plan.chunks.iter().zip(&keys.chunks) {
            env.cancel.check()?;
            let hit = env.cache.get(&ContentKey::from_string(key.clone())).await.ok_or_else(|| {
                VidflowError::internal(format!(
                    "assemble: chunk {} of {} (frames {}..{}) is not in the cache (key {key}): render it first",
                    span.index,
                    plan.chunks.len(),
                    span.start,
                    span.end
                ))
            })?;
            let path = env.scratch.file(&format!("chunk-{}", span.index))?;
            std::fs::write(&path, &hit.bytes).map_err(|e| {
                VidflowError::internal(format!("cannot write {}: {e}", path.display()))
            })?;
            parts.push(path);
        }
        env.cancel.check()?;
        let joined = self
            .compute(env, request, c, &inputs, Work::Join(plan, parts))
            .await?
            .value()?;
        env.cancel.check()?;
        let bytes = joined.encode()?;
        env.cache.put(&assembled, &bytes).await;
        Ok(self.chunk_done(env, c, &assembled, bytes.len() as u64, None, started))
    }

    /// The report for `key` when the cache holds it, with its stage's events.
    async fn chunk_cached(
        &self,
        env: &RunEnv<'_>,
        c: usize,
        key: &ContentKey,
        started: Instant,
    ) -> Option<ChunkReport> {
        let hit = env.cache.get(key).await?;
        Some(self.chunk_done(
            env,
            c,
            key,
            hit.bytes.len() as u64,
            Some(hit.backend),
            started,
        ))
    }

    /// The chunked stage's inputs, run (cached) up to it; checks that `plan` was made for
    /// the work they make, and announces the stage.
    async fn chunk_inputs(
        &self,
        env: &RunEnv<'_>,
        request: &MakeRequest,
        c: usize,
        plan: &ChunkPlan,
    ) -> Result<Inputs, VidflowError> {
        let (inputs, _) = self.upstream(env, request, c).await?;
        let chunked = self.nodes[c].stage.chunked().ok_or_else(not_chunked)?;
        plan.check(Some(chunked.plan(&inputs, plan_seconds(plan))?.work()))?;
        let name = self.nodes[c].name.clone();
        env.progress.report(Progress::StageStarted {
            percent: self.percent(&name, 0.0),
            stage: name,
        });
        Ok(inputs)
    }

    /// The inputs of stage `c`, run (cached) up to it, and their size.
    async fn upstream(
        &self,
        env: &RunEnv<'_>,
        request: &MakeRequest,
        c: usize,
    ) -> Result<(Inputs, u64), VidflowError> {
        let reads = &self.nodes[c].inputs;
        let mut items = Vec::new();
        let mut bytes = 0;
        for &j in reads {
            let outcome = self
                .run_until(env, request, Some(&self.nodes[j].name))
                .await?;
            let (_, input) = outcome.last();
            bytes += outcome.reports.last().map_or(0, |r| r.bytes_out);
            items.push(input.clone());
        }
        Ok((Inputs::new(items), bytes))
    }

    fn needs_cache(&self, env: &RunEnv<'_>) -> Result<(), VidflowError> {
        if env.cache.is_enabled() {
            Ok(())
        } else {
            Err(VidflowError::bad_input(
                "chunked rendering keeps its segments in the cache: enable a cache tier",
            ))
        }
    }

    fn chunk_done(
        &self,
        env: &RunEnv<'_>,
        c: usize,
        key: &ContentKey,
        bytes: u64,
        backend: Option<&'static str>,
        started: Instant,
    ) -> ChunkReport {
        let name = &self.nodes[c].name;
        if backend.is_some() {
            env.progress.report(Progress::StageStarted {
                stage: name.clone(),
                percent: self.percent(name, 0.0),
            });
        }
        let seconds = started.elapsed().as_secs_f64();
        env.progress.report(Progress::StageFinished {
            stage: name.clone(),
            cached: backend.is_some(),
            backend: backend.map(str::to_owned),
            seconds,
            bytes_in: 0,
            bytes_out: bytes,
            percent: self.percent(name, 1.0),
            title: None,
        });
        ChunkReport {
            key: key.to_string(),
            cached: backend.is_some(),
            bytes,
            seconds,
        }
    }
}

/// What a try does.
enum Work<'p> {
    /// The stage's whole work.
    Whole,
    /// One chunk of it.
    Chunk(crate::chunks::ChunkSpan),
    /// Join the chunks' files.
    Join(&'p ChunkPlan, Vec<std::path::PathBuf>),
}

/// What a try made.
enum Output {
    Value(Artifact),
    File(std::path::PathBuf),
}

impl Output {
    fn value(self) -> Result<Artifact, VidflowError> {
        match self {
            Output::Value(v) => Ok(v),
            Output::File(_) => Err(VidflowError::internal("a stage made a file, not a value")),
        }
    }

    fn file(self) -> Result<std::path::PathBuf, VidflowError> {
        match self {
            Output::File(f) => Ok(f),
            Output::Value(_) => Err(VidflowError::internal("a chunk made a value, not a file")),
        }
    }
}

fn not_chunked() -> VidflowError {
    VidflowError::internal("the stage's work does not split into chunks")
}

/// The chunk length a plan was made with (its chunks' length in seconds), to remake it.
fn plan_seconds(plan: &ChunkPlan) -> f64 {
    plan.chunk_frames as f64 / plan.fps.max(1) as f64
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, VidflowError> {
    std::fs::read(path)
        .map_err(|e| VidflowError::internal(format!("cannot read back {}: {e}", path.display())))
}

/// `backoff` with "equal jitter": half of it, plus up to the other half at random, so
/// that many clients retrying one failure do not all come back at once.
fn jittered(backoff: Duration) -> Duration {
    let half = backoff / 2;
    half + half.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_the_backoff() {
        for _ in 0..100 {
            let d = jittered(Duration::from_millis(400));
            assert!(d >= Duration::from_millis(200) && d <= Duration::from_millis(400));
        }
    }
}
