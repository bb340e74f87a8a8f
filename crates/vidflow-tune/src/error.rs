//! The one error type of the crate.

use std::path::PathBuf;

/// What can go wrong in a study: bad suggestions, unknown studies, unreadable study files.
///
/// Every variant carries what a user needs to fix the cause; none of them leaves a study
/// file half written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A suggest asked for `low > high`.
    #[error("parameter `{name}`: low ({low}) is greater than high ({high})")]
    LowAboveHigh {
        /// The parameter's name.
        name: String,
        /// The lower bound given.
        low: f64,
        /// The upper bound given.
        high: f64,
    },
    /// A log-scaled suggest had a lower bound that is not positive.
    #[error("parameter `{name}`: a log scale needs low > 0, got low = {low}")]
    LogNeedsPositiveLow {
        /// The parameter's name.
        name: String,
        /// The lower bound given.
        low: f64,
    },
    /// Some other part of a distribution is unusable (a non-finite bound, a step <= 0,
    /// log together with a step, no categorical choices).
    #[error("parameter `{name}`: {reason}")]
    InvalidDistribution {
        /// The parameter's name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The same name was suggested twice in one trial with different bounds or choices.
    #[error(
        "parameter `{name}` was already suggested in trial {trial} as {previous}; it cannot be suggested again as {requested}"
    )]
    ParamRedefined {
        /// The parameter's name.
        name: String,
        /// The trial's number.
        trial: u64,
        /// The first distribution, in words.
        previous: String,
        /// The conflicting one, in words.
        requested: String,
    },
    /// An enqueued or fixed value does not lie in the suggested distribution.
    #[error("parameter `{name}`: value {value} is not inside {distribution}")]
    ValueOutsideDistribution {
        /// The parameter's name.
        name: String,
        /// The value, as JSON.
        value: String,
        /// The distribution, in words.
        distribution: String,
    },
    /// `load_study` named a study that the storage does not hold.
    #[error("no study named `{name}` in {storage}{}", known_hint(.known))]
    UnknownStudy {
        /// The name asked for.
        name: String,
        /// The storage, in words.
        storage: String,
        /// The studies the storage does hold.
        known: Vec<String>,
    },
    /// `create_study` named a study that already exists (and loading it was not asked for).
    #[error("a study named `{name}` already exists in {storage}; load it instead")]
    StudyExists {
        /// The name.
        name: String,
        /// The storage, in words.
        storage: String,
    },
    /// A loaded study's objectives differ from the ones asked for.
    #[error("study `{name}` has directions {stored:?}, not {requested:?}")]
    DirectionsMismatch {
        /// The study's name.
        name: String,
        /// Directions in storage.
        stored: Vec<String>,
        /// Directions asked for.
        requested: Vec<String>,
    },
    /// The study file is not a SQLite database, or not one this crate wrote, or damaged.
    #[error("{path} is not a usable study file: {reason}")]
    CorruptStudyFile {
        /// The file.
        path: PathBuf,
        /// What was found.
        reason: String,
    },
    /// The study file was written by a newer version of this crate.
    #[error(
        "{path} has study schema version {found}, newer than the {supported} this build reads; upgrade vidflow-tune"
    )]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// The schema version in the file.
        found: i64,
        /// The newest version this build understands.
        supported: i64,
    },
    /// The database failed in a way that is not one of the above.
    #[error("study storage {path}: {source}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: rusqlite::Error,
    },
    /// `tell` or a write came for a trial that is no longer running (finished already, or
    /// failed by another process after its heartbeat stopped).
    #[error("trial {number} is {state}, not running; it cannot be changed")]
    TrialNotRunning {
        /// The trial's number.
        number: u64,
        /// Its state, in words.
        state: String,
    },
    /// `tell` was given the wrong number of objective values, or a NaN.
    #[error("trial {number}: {reason}")]
    BadValues {
        /// The trial's number.
        number: u64,
        /// What is wrong.
        reason: String,
    },
    /// A question about the study that needs a completed trial when there is none.
    #[error("study `{name}` has no completed trial yet")]
    NoCompletedTrial {
        /// The study's name.
        name: String,
    },
    /// A single-objective accessor was used on a study with several objectives.
    #[error("study `{name}` has {n} objectives; use best_trials for its Pareto front")]
    MultiObjective {
        /// The study's name.
        name: String,
        /// How many objectives it has.
        n: usize,
    },
    /// A sampler or pruner was configured with values it cannot work with.
    #[error("{0}")]
    Config(String),
    /// Writing an export failed.
    #[error("export: {0}")]
    Io(#[from] std::io::Error),
}

fn known_hint(known: &[String]) -> String {
    if known.is_empty() {
        " (it holds no studies)".to_string()
    } else {
        format!(" (it holds: {})", known.join(", "))
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
