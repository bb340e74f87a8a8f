//! The study: objectives, a sampler, a pruner, a storage, and the ask/tell loop.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::distribution::ParamValue;
use crate::error::{Error, Result};
use crate::frozen::{FrozenTrial, TrialState};
use crate::pareto::pareto_front;
use crate::pruners::{NopPruner, Pruner};
use crate::samplers::tpe::RELATIVE_PARAMS_ATTR;
use crate::samplers::{Sampler, StudyView, TpeSampler};
use crate::storage::{FIXED_PARAMS_ATTR, MemoryStorage, Storage, StudyRecord, now_s};
use crate::trial::Trial;

/// Whether an objective is minimised or maximised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Smaller is better.
    Minimize,
    /// Larger is better.
    Maximize,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Minimize => "minimize",
            Direction::Maximize => "maximize",
        })
    }
}

impl Direction {
    /// `value` turned into a loss (smaller is better).
    pub fn loss(self, value: f64) -> f64 {
        match self {
            Direction::Minimize => value,
            Direction::Maximize => -value,
        }
    }
}

/// How a trial ended, as told to [`Study::tell`].
#[derive(Clone, Debug, PartialEq)]
pub enum TrialOutcome {
    /// The objective values, one per direction.
    Complete(Vec<f64>),
    /// Stopped by the pruner.
    Pruned,
    /// The objective failed, with the reason.
    Failed(String),
}

/// Why an objective did not return values: pruned, or failed (any error converts).
#[derive(Debug)]
pub enum TrialError {
    /// The trial should stop here (after `should_prune()` said so).
    Pruned,
    /// The objective failed.
    Failed(String),
}

impl<E: std::error::Error> From<E> for TrialError {
    fn from(e: E) -> Self {
        TrialError::Failed(e.to_string())
    }
}

impl TrialError {
    /// A failure with a message.
    pub fn failed(reason: impl fmt::Display) -> Self {
        TrialError::Failed(reason.to_string())
    }
}

/// What an objective may return: one value, or one per objective.
pub trait ObjectiveValue {
    /// The values, in direction order.
    fn into_values(self) -> Vec<f64>;
}

impl ObjectiveValue for f64 {
    fn into_values(self) -> Vec<f64> {
        vec![self]
    }
}
impl ObjectiveValue for Vec<f64> {
    fn into_values(self) -> Vec<f64> {
        self
    }
}
impl<const N: usize> ObjectiveValue for [f64; N] {
    fn into_values(self) -> Vec<f64> {
        self.to_vec()
    }
}
impl ObjectiveValue for (f64, f64) {
    fn into_values(self) -> Vec<f64> {
        vec![self.0, self.1]
    }
}
impl ObjectiveValue for (f64, f64, f64) {
    fn into_values(self) -> Vec<f64> {
        vec![self.0, self.1, self.2]
    }
}

/// Counts of what an `optimize` call ran.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OptimizeSummary {
    /// Trials that completed.
    pub complete: usize,
    /// Trials that were pruned.
    pub pruned: usize,
    /// Trials that failed.
    pub failed: usize,
}

impl OptimizeSummary {
    /// All trials run.
    pub fn total(&self) -> usize {
        self.complete + self.pruned + self.failed
    }

    fn count(&mut self, state: TrialState) {
        match state {
            TrialState::Complete => self.complete += 1,
            TrialState::Pruned => self.pruned += 1,
            _ => self.failed += 1,
        }
    }
}

/// A study at a glance, for progress displays and metrics.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StudySummary {
    /// The study's name.
    pub name: String,
    /// One direction per objective.
    pub directions: Vec<Direction>,
    /// Enqueued trials not started.
    pub waiting: usize,
    /// Trials running now.
    pub running: usize,
    /// Completed trials.
    pub complete: usize,
    /// Pruned trials.
    pub pruned: usize,
    /// Failed trials.
    pub failed: usize,
    /// The best value (one objective) or `None`.
    pub best_value: Option<f64>,
    /// The best trial's number (one objective) or `None`.
    pub best_trial: Option<u64>,
    /// How many trials are on the Pareto front (several objectives: the best trials).
    pub pareto_front_size: usize,
}

/// Called after every finished trial with the study and the trial's final record.
pub type TrialCallback = Arc<dyn Fn(&Study, &FrozenTrial) + Send + Sync>;

pub(crate) struct Inner {
    pub(crate) record: StudyRecord,
    pub(crate) storage: Arc<dyn Storage>,
    sampler: Mutex<Box<dyn Sampler>>,
    pruner: Mutex<Box<dyn Pruner>>,
    callbacks: Mutex<Vec<TrialCallback>>,
    stop: AtomicBool,
}

/// A hyperparameter search: trials, each with parameters drawn by the sampler and values
/// from the objective. Cloning a `Study` gives another handle to the same study, so trials
/// can run on several threads.
#[derive(Clone)]
pub struct Study {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Study {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Study")
            .field("name", &self.inner.record.name)
            .field("directions", &self.inner.record.directions)
            .field("storage", &self.inner.storage.describe())
            .finish()
    }
}

/// Sets up a [`Study`]: name, directions, sampler, pruner, storage.
pub struct StudyBuilder {
    name: Option<String>,
    directions: Vec<Direction>,
    sampler: Option<Box<dyn Sampler>>,
    pruner: Option<Box<dyn Pruner>>,
    storage: Option<Arc<dyn Storage>>,
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking objective cannot leave a sampler half updated in a way that matters more
    // than losing the study; keep going with whatever state it has.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl StudyBuilder {
    /// The study's name (default: `study-<unix time in ns>`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// One objective in the given direction (replaces earlier directions).
    pub fn direction(mut self, d: Direction) -> Self {
        self.directions = vec![d];
        self
    }

    /// Several objectives.
    pub fn directions(mut self, ds: impl IntoIterator<Item = Direction>) -> Self {
        self.directions = ds.into_iter().collect();
        self
    }

    /// The sampler (default: TPE with Optuna's defaults, unseeded).
    pub fn sampler(mut self, s: impl Sampler + 'static) -> Self {
        self.sampler = Some(Box::new(s));
        self
    }

    /// The pruner (default: none).
    pub fn pruner(mut self, p: impl Pruner + 'static) -> Self {
        self.pruner = Some(Box::new(p));
        self
    }

    /// The storage (default: a fresh [`MemoryStorage`]).
    pub fn storage(mut self, s: Arc<dyn Storage>) -> Self {
        self.storage = Some(s);
        self
    }

    fn build(self, record: StudyRecord, storage: Arc<dyn Storage>) -> Study {
        Study {
            inner: Arc::new(Inner {
                record,
                storage,
                sampler: Mutex::new(
                    self.sampler
                        .unwrap_or_else(|| Box::new(TpeSampler::new(None))),
                ),
                pruner: Mutex::new(self.pruner.unwrap_or_else(|| Box::new(NopPruner))),
                callbacks: Mutex::new(Vec::new()),
                stop: AtomicBool::new(false),
            }),
        }
    }

    fn parts(&self) -> Result<(String, Arc<dyn Storage>)> {
        if self.directions.is_empty() {
            return Err(Error::Config("a study needs at least one direction".into()));
        }
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| format!("study-{}", (now_s() * 1e9) as u128));
        let storage = self
            .storage
            .clone()
            .unwrap_or_else(|| Arc::new(MemoryStorage::new()));
        Ok((name, storage))
    }

    /// Creates a new study; fails if the name is taken.
    pub fn create(self) -> Result<Study> {
        let (name, storage) = self.parts()?;
        let record = storage.create_study(&name, &self.directions, false)?;
        Ok(self.build(record, storage))
    }

    /// Creates the study, or resumes it if it exists with the same directions.
    pub fn create_or_load(self) -> Result<Study> {
        let (name, storage) = self.parts()?;
        let record = storage.create_study(&name, &self.directions, true)?;
        Ok(self.build(record, storage))
    }

    /// Resumes an existing study (its directions come from storage).
    pub fn load(self) -> Result<Study> {
        let name = self
            .name
            .clone()
            .ok_or_else(|| Error::Config("load needs a study name".into()))?;
        let storage = self
            .storage
            .clone()
            .ok_or_else(|| Error::Config("load needs a storage".into()))?;
        let record = storage.load_study(&name)?;
        Ok(self.build(record, storage))
    }
}

impl Study {
    /// A builder with one minimised objective, TPE, no pruner, memory storage.
    pub fn builder() -> StudyBuilder {
        StudyBuilder {
            name: None,
            directions: vec![Direction::Minimize],
            sampler: None,
            pruner: None,
            storage: None,
        }
    }

    /// The study's name.
    pub fn name(&self) -> &str {
        &self.inner.record.name
    }

    /// One direction per objective.
    pub fn directions(&self) -> &[Direction] {
        &self.inner.record.directions
    }

    /// The storage the study lives in.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.inner.storage
    }

    pub(crate) fn view<'a>(&'a self, trials: &'a [Arc<FrozenTrial>]) -> StudyView<'a> {
        StudyView {
            name: &self.inner.record.name,
            id: self.inner.record.id,
            directions: &self.inner.record.directions,
            trials,
            storage: &*self.inner.storage,
        }
    }

    pub(crate) fn sampler(&self) -> MutexGuard<'_, Box<dyn Sampler>> {
        lock(&self.inner.sampler)
    }

    pub(crate) fn pruner(&self) -> MutexGuard<'_, Box<dyn Pruner>> {
        lock(&self.inner.pruner)
    }

    /// Starts a trial: an enqueued one if any is waiting, else a new one. Parameters the
    /// sampler draws jointly are drawn here; the rest when the objective suggests them.
    pub fn ask(&self) -> Result<Trial> {
        let storage = &self.inner.storage;
        let mut record = storage.start_trial(self.inner.record.id)?;
        let snapshot = Arc::new(storage.trials(self.inner.record.id)?);
        let fixed: BTreeMap<String, ParamValue> = record
            .system_attrs
            .get(FIXED_PARAMS_ATTR)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        let attrs_before = record.system_attrs.clone();
        let (space, mut relative) = {
            let view = self.view(&snapshot);
            let mut sampler = self.sampler();
            let space = sampler.infer_relative_search_space(&view, &record)?;
            let relative = sampler.sample_relative(&view, &mut record, &space)?;
            (space, relative)
        };
        relative.retain(|k, _| !fixed.contains_key(k));
        if !relative.is_empty() {
            record.system_attrs.insert(
                RELATIVE_PARAMS_ATTR.to_string(),
                serde_json::to_value(&relative).expect("floats serialise"),
            );
        }
        if record.system_attrs != attrs_before {
            storage.update_trial(&record, false)?;
        }
        Ok(Trial::new(
            self.clone(),
            record,
            space,
            relative,
            fixed,
            snapshot,
        ))
    }

    /// Finishes a trial with its outcome and returns its final record. Values must be one
    /// per direction; a NaN value fails the trial (as in Optuna), a wrong count fails it and
    /// returns `BadValues`.
    pub fn tell(&self, trial: Trial, outcome: TrialOutcome) -> Result<FrozenTrial> {
        let mut record = trial.finish();
        let n = self.directions().len();
        let mut bad = None;
        match outcome {
            TrialOutcome::Complete(values) if values.len() != n => {
                bad = Some(format!(
                    "the objective returned {} values for {n} directions",
                    values.len()
                ));
                record.state = TrialState::Failed;
            }
            TrialOutcome::Complete(values) if values.iter().any(|v| v.is_nan()) => {
                record.state = TrialState::Failed;
                record.system_attrs.insert(
                    "fail_reason".into(),
                    serde_json::json!("the objective returned NaN"),
                );
            }
            TrialOutcome::Complete(values) => {
                record.state = TrialState::Complete;
                record.values = Some(values);
            }
            TrialOutcome::Pruned => record.state = TrialState::Pruned,
            TrialOutcome::Failed(reason) => {
                record.state = TrialState::Failed;
                record
                    .system_attrs
                    .insert("fail_reason".into(), serde_json::json!(reason));
            }
        }
        if let Some(reason) = &bad {
            record
                .system_attrs
                .insert("fail_reason".into(), serde_json::json!(reason));
        }
        record.completed_at = Some(now_s());
        self.inner.storage.finish_trial(&record)?;
        let callbacks: Vec<TrialCallback> = lock(&self.inner.callbacks).clone();
        for cb in callbacks {
            cb(self, &record);
        }
        match bad {
            Some(reason) => Err(Error::BadValues {
                number: record.number,
                reason,
            }),
            None => Ok(record),
        }
    }

    /// Runs `objective` for `n_trials` trials (or until `timeout`, [`Study::stop`], or a
    /// finished grid), one at a time. A failed or pruned objective is recorded and the
    /// loop goes on; a storage error ends it.
    pub fn optimize<F, V>(
        &self,
        mut objective: F,
        n_trials: Option<usize>,
        timeout: Option<Duration>,
    ) -> Result<OptimizeSummary>
    where
        F: FnMut(&mut Trial) -> std::result::Result<V, TrialError>,
        V: ObjectiveValue,
    {
        self.inner.stop.store(false, Ordering::SeqCst);
        let start = Instant::now();
        let mut summary = OptimizeSummary::default();
        while !self.should_stop(summary.total(), n_trials, start, timeout)? {
            let mut trial = self.ask()?;
            let outcome = run_objective(&mut objective, &mut trial);
            self.record_tell(&mut summary, trial, outcome)?;
        }
        Ok(summary)
    }

    /// Like [`Study::optimize`] with `n_jobs` threads running trials at once (the constant
    /// liar of TPE keeps them apart). The objective must be callable from several threads.
    pub fn optimize_parallel<F, V>(
        &self,
        objective: F,
        n_trials: Option<usize>,
        timeout: Option<Duration>,
        n_jobs: usize,
    ) -> Result<OptimizeSummary>
    where
        F: Fn(&mut Trial) -> std::result::Result<V, TrialError> + Sync,
        V: ObjectiveValue,
    {
        self.inner.stop.store(false, Ordering::SeqCst);
        let start = Instant::now();
        let started = AtomicUsize::new(0);
        let summary = Mutex::new(OptimizeSummary::default());
        let first_error: Mutex<Option<Error>> = Mutex::new(None);
        std::thread::scope(|scope| {
            for _ in 0..n_jobs.max(1) {
                scope.spawn(|| {
                    loop {
                        let claimed = started.fetch_add(1, Ordering::SeqCst);
                        let stop = self
                            .should_stop(claimed, n_trials, start, timeout)
                            .unwrap_or(true);
                        if stop {
                            break;
                        }
                        let step = self.ask().and_then(|mut trial| {
                            let outcome = run_objective(&objective, &mut trial);
                            let mut s = OptimizeSummary::default();
                            self.record_tell(&mut s, trial, outcome)?;
                            Ok(s)
                        });
                        match step {
                            Ok(s) => {
                                let mut total = lock(&summary);
                                total.complete += s.complete;
                                total.pruned += s.pruned;
                                total.failed += s.failed;
                            }
                            Err(e) => {
                                lock(&first_error).get_or_insert(e);
                                self.stop();
                                break;
                            }
                        }
                    }
                });
            }
        });
        match first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(e) => Err(e),
            None => Ok(summary.into_inner().unwrap_or_else(|e| e.into_inner())),
        }
    }

    fn should_stop(
        &self,
        done: usize,
        n_trials: Option<usize>,
        start: Instant,
        timeout: Option<Duration>,
    ) -> Result<bool> {
        if n_trials.is_some_and(|n| done >= n)
            || timeout.is_some_and(|t| start.elapsed() >= t)
            || self.inner.stop.load(Ordering::SeqCst)
        {
            return Ok(true);
        }
        let sampler = self.sampler();
        if sampler.can_exhaust() {
            let trials = self.trials()?;
            return Ok(sampler.is_exhausted(&self.view(&trials)));
        }
        Ok(false)
    }

    fn record_tell(
        &self,
        summary: &mut OptimizeSummary,
        trial: Trial,
        outcome: TrialOutcome,
    ) -> Result<()> {
        match self.tell(trial, outcome) {
            Ok(record) => summary.count(record.state),
            // The trial is recorded as failed; the study goes on.
            Err(Error::BadValues { .. }) | Err(Error::TrialNotRunning { .. }) => {
                summary.failed += 1
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Asks a running `optimize` to stop after the trials in flight.
    pub fn stop(&self) {
        self.inner.stop.store(true, Ordering::SeqCst);
    }

    /// Registers a callback run after every finished trial (progress bars, metrics).
    pub fn on_trial_finished(&self, cb: impl Fn(&Study, &FrozenTrial) + Send + Sync + 'static) {
        lock(&self.inner.callbacks).push(Arc::new(cb));
    }

    /// Adds a trial whose named parameters are fixed (a known-good starting point); the next
    /// `ask` takes it. Parameters it does not name are sampled as usual. Returns its number.
    pub fn enqueue_trial<K, V>(&self, params: impl IntoIterator<Item = (K, V)>) -> Result<u64>
    where
        K: Into<String>,
        V: Into<ParamValue>,
    {
        let params: BTreeMap<String, ParamValue> = params
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.inner
            .storage
            .enqueue_trial(self.inner.record.id, &params, &BTreeMap::new())
    }

    /// Marks running trials whose heartbeat stopped as failed (and enqueues their
    /// parameters again if the storage's heartbeat says so); returns their numbers.
    pub fn fail_stale_trials(&self) -> Result<Vec<u64>> {
        self.inner.storage.fail_stale_trials(self.inner.record.id)
    }

    /// All trials, by number.
    pub fn trials(&self) -> Result<Vec<Arc<FrozenTrial>>> {
        self.inner.storage.trials(self.inner.record.id)
    }

    /// The completed trial with the best value (the first of equals). One objective only.
    pub fn best_trial(&self) -> Result<Arc<FrozenTrial>> {
        let d = match self.directions() {
            [d] => *d,
            ds => {
                return Err(Error::MultiObjective {
                    name: self.name().to_string(),
                    n: ds.len(),
                });
            }
        };
        best_of(&self.trials()?, d).ok_or_else(|| Error::NoCompletedTrial {
            name: self.name().to_string(),
        })
    }

    /// The best value. One objective only.
    pub fn best_value(&self) -> Result<f64> {
        Ok(self
            .best_trial()?
            .value()
            .expect("complete trials have values"))
    }

    /// The best trial's parameters. One objective only.
    pub fn best_params(&self) -> Result<BTreeMap<String, ParamValue>> {
        let t = self.best_trial()?;
        Ok(t.params
            .iter()
            .map(|(k, p)| (k.clone(), p.value()))
            .collect())
    }

    /// The completed trials no other completed trial dominates: the Pareto front (for one
    /// objective, the trials sharing the best value).
    pub fn best_trials(&self) -> Result<Vec<Arc<FrozenTrial>>> {
        let complete: Vec<Arc<FrozenTrial>> = self
            .trials()?
            .into_iter()
            .filter(|t| t.state == TrialState::Complete)
            .collect();
        Ok(front_of(&complete, self.directions()))
    }

    /// Counts by state and the best value, for progress displays and metrics.
    pub fn summary(&self) -> Result<StudySummary> {
        let trials = self.trials()?;
        let count = |s: TrialState| trials.iter().filter(|t| t.state == s).count();
        let (best_value, best_trial) = match self.directions() {
            [d] => match best_of(&trials, *d) {
                Some(t) => (t.value(), Some(t.number)),
                None => (None, None),
            },
            _ => (None, None),
        };
        let complete: Vec<Arc<FrozenTrial>> = trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .cloned()
            .collect();
        Ok(StudySummary {
            name: self.name().to_string(),
            directions: self.directions().to_vec(),
            waiting: count(TrialState::Waiting),
            running: count(TrialState::Running),
            complete: count(TrialState::Complete),
            pruned: count(TrialState::Pruned),
            failed: count(TrialState::Failed),
            best_value,
            best_trial,
            pareto_front_size: front_of(&complete, self.directions()).len(),
        })
    }
}

fn run_objective<F, V>(objective: F, trial: &mut Trial) -> TrialOutcome
where
    F: FnOnce(&mut Trial) -> std::result::Result<V, TrialError>,
    V: ObjectiveValue,
{
    match objective(trial) {
        Ok(v) => TrialOutcome::Complete(v.into_values()),
        Err(TrialError::Pruned) => TrialOutcome::Pruned,
        Err(TrialError::Failed(reason)) => TrialOutcome::Failed(reason),
    }
}

fn best_of(trials: &[Arc<FrozenTrial>], d: Direction) -> Option<Arc<FrozenTrial>> {
    let mut best: Option<&Arc<FrozenTrial>> = None;
    for t in trials.iter().filter(|t| t.state == TrialState::Complete) {
        let Some(v) = t.value() else { continue };
        if best.is_none_or(|b| d.loss(v) < d.loss(b.value().unwrap_or(f64::NAN))) {
            best = Some(t);
        }
    }
    best.cloned()
}

fn front_of(complete: &[Arc<FrozenTrial>], directions: &[Direction]) -> Vec<Arc<FrozenTrial>> {
    let losses: Vec<Vec<f64>> = complete
        .iter()
        .map(|t| {
            t.values
                .as_deref()
                .unwrap_or(&[])
                .iter()
                .zip(directions)
                .map(|(v, d)| d.loss(*v))
                .collect()
        })
        .collect();
    if losses.is_empty() {
        return Vec::new();
    }
    pareto_front(&losses)
        .into_iter()
        .map(|i| complete[i].clone())
        .collect()
}
