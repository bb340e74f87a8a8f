//! Where studies and their trials live: [`MemoryStorage`] for one process, [`SqliteStorage`]
//! for a file that survives the process and is shared by several.
//!
//! The [`Storage`] trait is small on purpose: a trial is created by [`Storage::start_trial`],
//! written whole by its owner ([`Storage::update_trial`], [`Storage::finish_trial`]) and read
//! back in snapshots ([`Storage::trials`]). Only the process running a trial writes it, so a
//! persistent storage can defer writes that nobody else needs yet: the SQLite storage commits
//! twice per plain trial (start, finish) plus once per `report`.

mod memory;
mod sqlite;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub use memory::MemoryStorage;
pub use sqlite::SqliteStorage;

use crate::distribution::ParamValue;
use crate::error::Result;
use crate::frozen::FrozenTrial;
use crate::study::Direction;

/// A storage's id for a study.
pub type StudyId = i64;

/// A study's identity as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StudyRecord {
    /// The storage's id.
    pub id: StudyId,
    /// The study's unique name.
    pub name: String,
    /// One direction per objective.
    pub directions: Vec<Direction>,
}

/// How a storage notices trials whose process died.
///
/// The storage of the process running a trial refreshes the trial's heartbeat every
/// `interval` (one thread per storage, whatever the number of trials); a running trial
/// whose heartbeat is older than `grace` is marked failed by the next `start_trial` of
/// any process, and (with `retry`) its parameters are enqueued again, so the point it was
/// evaluating is not lost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Heartbeat {
    /// How often a running trial's heartbeat is refreshed.
    pub interval: Duration,
    /// How old a heartbeat may be before its trial counts as dead.
    pub grace: Duration,
    /// Enqueue a dead trial's parameters as a new waiting trial.
    pub retry: bool,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat {
            interval: Duration::from_secs(10),
            grace: Duration::from_secs(60),
            retry: true,
        }
    }
}

/// What a study storage does. Implementations must be safe to share between threads.
pub trait Storage: Send + Sync {
    /// The storage in words, for messages ("memory", "sqlite:///path").
    fn describe(&self) -> String;

    /// Creates a study, or loads it if `load_if_exists` and it exists with the same
    /// directions.
    fn create_study(
        &self,
        name: &str,
        directions: &[Direction],
        load_if_exists: bool,
    ) -> Result<StudyRecord>;

    /// Loads an existing study by name.
    fn load_study(&self, name: &str) -> Result<StudyRecord>;

    /// The names of all studies held.
    fn study_names(&self) -> Result<Vec<String>>;

    /// A study's system attributes (written by samplers, e.g. NSGA-II's parents).
    fn study_system_attrs(&self, study: StudyId) -> Result<BTreeMap<String, serde_json::Value>>;

    /// Sets one study system attribute.
    fn set_study_system_attr(
        &self,
        study: StudyId,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()>;

    /// Adds a waiting trial whose parameters named in `params` are fixed; returns its number.
    fn enqueue_trial(
        &self,
        study: StudyId,
        params: &BTreeMap<String, ParamValue>,
        user_attrs: &BTreeMap<String, serde_json::Value>,
    ) -> Result<u64>;

    /// Starts a trial: fails trials whose heartbeat stopped (see [`Heartbeat`]), then claims
    /// the oldest waiting trial or creates a new one, and returns it running. Its fixed
    /// parameters, if enqueued, are in the system attribute `fixed_params`.
    fn start_trial(&self, study: StudyId) -> Result<FrozenTrial>;

    /// Writes a running trial's parameters, intermediate values and attributes. With
    /// `urgent` false a persistent storage may hold the write back until the next urgent
    /// one (other threads of this process still see it in [`Storage::trials`]).
    fn update_trial(&self, trial: &FrozenTrial, urgent: bool) -> Result<()>;

    /// Writes a trial's final state and values; fails with `TrialNotRunning` if the trial
    /// was finished meanwhile (e.g. failed by another process after its heartbeat stopped).
    fn finish_trial(&self, trial: &FrozenTrial) -> Result<()>;

    /// A snapshot of the study's trials, ordered by number.
    fn trials(&self, study: StudyId) -> Result<Vec<Arc<FrozenTrial>>>;

    /// The heartbeat settings, if this storage watches for dead processes.
    fn heartbeat(&self) -> Option<Heartbeat> {
        None
    }

    /// Marks the study's running trials with stale heartbeats failed now; returns their
    /// numbers. `start_trial` does this by itself.
    fn fail_stale_trials(&self, _study: StudyId) -> Result<Vec<u64>> {
        Ok(Vec::new())
    }
}

/// Seconds since the Unix epoch, as stored in trials.
pub(crate) fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The system attribute an enqueued trial's fixed parameters are kept in.
pub(crate) const FIXED_PARAMS_ATTR: &str = "fixed_params";
/// The system attribute a retried trial names its dead predecessor in.
pub(crate) const RETRY_OF_ATTR: &str = "retry_of";
