//! The seam between the workflow runner and the work: the [`Stage`] trait, what a stage is
//! given ([`Inputs`], [`StageContext`]) and the cache it is kept in ([`StageCache`]).
//!
//! A stage declares the kinds of value it takes ([`Port`]s) and the kind it makes, works out
//! its output's [`ContentKey`] from its inputs' keys and the request, and runs. Everything
//! else — looking the key up in the cache, storing the result, retries with jitter, the
//! time limit, cancellation, progress events and per-stage metrics — the workflow runner
//! does the same way for every stage ([`crate::workflow`]).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::artifact::{Artifact, ArtifactType, DataType, Scratch};
use crate::cancel::CancelFlag;
use crate::chunks::{ChunkPlan, ChunkSpan};
use crate::config::Config;
use crate::error::VidflowError;
use crate::key::ContentKey;
use crate::progress::StageName;
use crate::request::MakeRequest;

/// A boxed future that can cross threads: what the object-safe async methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One kind of value a stage takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port {
    /// The kind.
    pub data: DataType,
    /// Whether a workflow must connect it.
    pub required: bool,
}

impl Port {
    /// An input the stage cannot run without.
    pub const fn required(data: DataType) -> Port {
        Port {
            data,
            required: true,
        }
    }

    /// An input the stage uses when the workflow gives it.
    pub const fn optional(data: DataType) -> Port {
        Port {
            data,
            required: false,
        }
    }
}

/// The keys of a stage's inputs, by kind: what its own key is made from.
#[derive(Debug, Clone, Copy)]
pub struct InputKeys<'a> {
    keys: &'a [(DataType, ContentKey)],
}

impl<'a> InputKeys<'a> {
    /// Keys given as (kind, key) pairs.
    pub fn new(keys: &'a [(DataType, ContentKey)]) -> InputKeys<'a> {
        InputKeys { keys }
    }

    /// The key of the input of kind `data`, if connected.
    pub fn get(&self, data: DataType) -> Option<&'a ContentKey> {
        self.keys.iter().find(|(d, _)| *d == data).map(|(_, k)| k)
    }
}

/// One input value with its key.
#[derive(Debug, Clone)]
pub struct Input {
    /// Its kind.
    pub data: DataType,
    /// The key it is stored under.
    pub key: ContentKey,
    /// The value.
    pub value: Artifact,
}

/// The values a stage runs on, one per connected port.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    items: Vec<Input>,
}

impl Inputs {
    /// Inputs from a list.
    pub fn new(items: Vec<Input>) -> Inputs {
        Inputs { items }
    }

    /// The input of type `T`, if connected.
    pub fn get<T: ArtifactType>(&self) -> Option<&Arc<T>> {
        self.items.iter().find_map(|i| i.value.get::<T>())
    }

    /// The input of type `T`; an internal error when missing (a validated workflow
    /// connects every required port, so this is a bug).
    pub fn need<T: ArtifactType>(&self) -> Result<&Arc<T>, VidflowError> {
        self.get::<T>()
            .ok_or_else(|| VidflowError::internal(format!("the stage has no {} input", T::DATA)))
    }

    /// The key of the input of kind `data`.
    pub fn key(&self, data: DataType) -> Option<&ContentKey> {
        self.items.iter().find(|i| i.data == data).map(|i| &i.key)
    }

    /// Every input.
    pub fn iter(&self) -> impl Iterator<Item = &Input> {
        self.items.iter()
    }

    /// Their size together, bytes (a stage's `bytes_in`).
    pub fn byte_size(&self) -> u64 {
        self.items.iter().map(|i| i.value.byte_size()).sum()
    }
}

/// A trial of a tuning stage that ended (see [`ProgressHandle::trial`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TrialEnded {
    /// The trial's number in its study, from 0.
    pub number: u64,
    /// `complete`, `pruned` or `failed`.
    pub state: String,
    /// Its objective values, when complete.
    pub values: Vec<f64>,
    /// The study's best value so far (single-objective studies).
    pub best: Option<f64>,
}

/// What a stage tells the runner while it works.
#[derive(Debug, Clone)]
pub(crate) enum StageNote {
    /// `done` of `total` units.
    Units(u64, u64),
    /// A trial ended.
    Trial(TrialEnded),
}

/// Reports a stage's own progress from any thread: units done, and (for a tuning stage)
/// each trial as it ends.
#[derive(Debug, Clone)]
pub struct ProgressHandle {
    tx: tokio::sync::mpsc::UnboundedSender<StageNote>,
}

impl ProgressHandle {
    /// A handle and the receiving end the runner drains.
    pub(crate) fn channel() -> (
        ProgressHandle,
        tokio::sync::mpsc::UnboundedReceiver<StageNote>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (ProgressHandle { tx }, rx)
    }

    /// `done` of `total` units are done.
    pub fn report(&self, done: u64, total: u64) {
        let _ = self.tx.send(StageNote::Units(done, total));
    }

    /// A trial of this stage's study ended.
    pub fn trial(&self, trial: TrialEnded) {
        let _ = self.tx.send(StageNote::Trial(trial));
    }
}

/// What a running stage can use besides its inputs.
pub struct StageContext<'a> {
    /// The run's request.
    pub request: &'a MakeRequest,
    /// The configuration in force.
    pub config: &'a Config,
    /// The stage's name in the workflow.
    pub name: &'a StageName,
    pub(crate) cancel: CancelFlag,
    pub(crate) progress: ProgressHandle,
    pub(crate) scratch: &'a Scratch,
}

impl StageContext<'_> {
    /// Set when the job is cancelled or this try ran out of time: stop soon, keep nothing.
    pub fn cancel(&self) -> &CancelFlag {
        &self.cancel
    }

    /// Where to report progress (cloneable, usable from a blocking thread).
    pub fn progress(&self) -> ProgressHandle {
        self.progress.clone()
    }

    /// The run's scratch folder (beside the output), for files such as an MP4 before it
    /// is delivered.
    pub fn scratch(&self) -> &Scratch {
        self.scratch
    }
}

/// One step of a workflow. Built from its configuration by a factory in a
/// [`crate::workflow::Registry`]; the runner does caching, retries, time limits,
/// progress and metrics around [`Stage::run`].
pub trait Stage: Send + Sync + 'static {
    /// The kinds of value it takes, at most one per kind.
    fn inputs(&self) -> &[Port];

    /// The kind of value it makes.
    fn output(&self) -> DataType;

    /// Checks the parts of a request this stage relies on (a voice, a presenter) before
    /// anything runs, knowing which kinds of input the workflow connects. Bad input is
    /// reported before the first byte is fetched.
    fn check(&self, _request: &MakeRequest, _connected: &[DataType]) -> Result<(), VidflowError> {
        Ok(())
    }

    /// The key of its output: its type and version, its configuration, what it reads of
    /// the request, and its inputs' keys. Two runs with equal keys make equal outputs.
    fn key(&self, request: &MakeRequest, inputs: InputKeys<'_>) -> ContentKey;

    /// Makes the output.
    fn run<'a>(
        &'a self,
        ctx: &'a StageContext<'a>,
        inputs: &'a Inputs,
    ) -> BoxFuture<'a, Result<Artifact, VidflowError>>;

    /// Time limit of one try; the workflow may set another (`timeout_seconds`).
    fn timeout(&self, _config: &Config) -> Duration {
        Duration::from_secs(600)
    }

    /// Whether a try that failed for a passing reason (or ran out of time) is worth
    /// another; a render that ran for hours is not.
    fn retries(&self) -> bool {
        true
    }

    /// The stage's usual share of a run's time, relative to the others (for `percent`).
    fn weight(&self) -> f64 {
        1.0
    }

    /// Rough wall time when its output is not cached, seconds (for dry-run plans).
    fn estimate_seconds(&self, _request: &MakeRequest) -> f64 {
        0.1
    }

    /// Whether its output goes to the cache for this request (a page given inline is
    /// never stored: it costs nothing to make and the request carries it anyway).
    fn stores(&self, _request: &MakeRequest) -> bool {
        true
    }

    /// Its work split into chunks that several workers can do, when it can be.
    fn chunked(&self) -> Option<&dyn ChunkedStage> {
        None
    }
}

/// A stage whose work splits into independent chunks (a render's time spans): the unit
/// of distributed work. Each chunk's result is a file stored in the cache under a key
/// chained from the stage's key and the chunk's span; the joined result is the stage's
/// output.
pub trait ChunkedStage: Send + Sync {
    /// Splits the work these inputs make into chunks of about `chunk_seconds`.
    fn plan(&self, inputs: &Inputs, chunk_seconds: f64) -> Result<ChunkPlan, VidflowError>;

    /// Does one chunk and returns the file holding its result (in the context's scratch
    /// folder). Reports progress in the chunk's own units.
    fn run_chunk<'a>(
        &'a self,
        ctx: &'a StageContext<'a>,
        inputs: &'a Inputs,
        span: ChunkSpan,
    ) -> BoxFuture<'a, Result<PathBuf, VidflowError>>;

    /// Joins the chunks' files, in plan order, into the stage's output.
    fn join<'a>(
        &'a self,
        ctx: &'a StageContext<'a>,
        inputs: &'a Inputs,
        plan: &'a ChunkPlan,
        parts: Vec<PathBuf>,
    ) -> BoxFuture<'a, Result<Artifact, VidflowError>>;
}

/// A cached value and the tier that had it.
#[derive(Debug, Clone)]
pub struct CachedValue {
    /// The stored bytes.
    pub bytes: Vec<u8>,
    /// The tier (`memory`, `disk`, `redis`).
    pub backend: &'static str,
}

/// Where stage outputs are kept, by content key. `vidflow-cache`'s tiered cache is one.
pub trait StageCache: Send + Sync {
    /// The value under `key`, from the fastest tier that has it.
    fn get<'a>(&'a self, key: &'a ContentKey) -> BoxFuture<'a, Option<CachedValue>>;

    /// Stores `value` under `key`.
    fn put<'a>(&'a self, key: &'a ContentKey, value: &'a [u8]) -> BoxFuture<'a, ()>;

    /// The tier that holds `key`, by index look-up alone.
    fn contains<'a>(&'a self, key: &'a ContentKey) -> BoxFuture<'a, Option<&'static str>>;

    /// Deletes `key` (an entry that does not decode).
    fn remove<'a>(&'a self, key: &'a ContentKey) -> BoxFuture<'a, ()>;

    /// Whether anything is kept at all.
    fn is_enabled(&self) -> bool;
}

/// A cache that keeps nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCache;

impl StageCache for NoCache {
    fn get<'a>(&'a self, _key: &'a ContentKey) -> BoxFuture<'a, Option<CachedValue>> {
        Box::pin(async { None })
    }

    fn put<'a>(&'a self, _key: &'a ContentKey, _value: &'a [u8]) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    fn contains<'a>(&'a self, _key: &'a ContentKey) -> BoxFuture<'a, Option<&'static str>> {
        Box::pin(async { None })
    }

    fn remove<'a>(&'a self, _key: &'a ContentKey) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    fn is_enabled(&self) -> bool {
        false
    }
}
