//! Hyperparameter search for any Rust program: studies of define-by-run trials, TPE,
//! NSGA-II, random and grid samplers, median, successive-halving and Hyperband pruners,
//! studies in memory or in a SQLite file shared by several processes.
//!
//! The model is Optuna's, and the algorithms are ported from Optuna 5's sources (each
//! module names the files it follows): a [`Study`] has one or more objectives, each
//! minimised or maximised; a [`Trial`] asks for parameters while the objective runs
//! (`suggest_float`, `suggest_int`, `suggest_categorical`, with `log` and `step` variants),
//! so the search space can depend on earlier choices; the study's [`Sampler`] decides what
//! each suggestion returns, its [`Pruner`] whether a trial that reports intermediate values
//! should stop early, and its [`Storage`] keeps every trial.
//!
//! ```
//! use vidflow_tune::{Direction, Study, TpeSampler, TrialError};
//!
//! let study = Study::builder()
//!     .name("quadratic")
//!     .direction(Direction::Minimize)
//!     .sampler(TpeSampler::new(Some(42)))
//!     .create()
//!     .unwrap();
//! study
//!     .optimize(
//!         |trial| {
//!             let x = trial.suggest_float("x", -10.0, 10.0)?;
//!             let layers = trial.suggest_int("layers", 1, 4)?;
//!             let act = trial.suggest_categorical("act", &["relu", "tanh"])?;
//!             let penalty = if act == "relu" { 0.0 } else { 1.0 };
//!             Ok::<_, TrialError>((x - 2.0).powi(2) + layers as f64 + penalty)
//!         },
//!         Some(60),
//!         None,
//!     )
//!     .unwrap();
//! let best = study.best_trial().unwrap();
//! assert!(best.value().unwrap() < 3.0);
//! ```
//!
//! The ask/tell interface gives the same control without a closure:
//!
//! ```
//! use vidflow_tune::{Study, TrialOutcome};
//!
//! let study = Study::builder().create().unwrap();
//! let mut trial = study.ask().unwrap();
//! let lr = trial.suggest_float_log("lr", 1e-5, 1e-1).unwrap();
//! study.tell(trial, TrialOutcome::Complete(vec![lr.log10().abs()])).unwrap();
//! assert_eq!(study.trials().unwrap().len(), 1);
//! ```

#![warn(missing_docs)]

pub mod benchmarks;
pub mod distribution;
mod error;
pub mod export;
mod frozen;
pub mod pareto;
pub mod pruners;
pub mod samplers;
pub mod storage;
mod study;
mod trial;

pub use distribution::{Choice, Distribution, ParamValue};
pub use error::{Error, Result};
pub use frozen::{FrozenTrial, Param, TrialState};
pub use pruners::{
    HyperbandPruner, MedianPruner, NopPruner, PercentilePruner, Pruner, SuccessiveHalvingPruner,
    ThresholdPruner,
};
pub use samplers::{
    GridSampler, Nsga2Options, Nsga2Sampler, RandomSampler, Sampler, SearchSpace, StudyView,
    TpeOptions, TpeSampler,
};
pub use storage::{Heartbeat, MemoryStorage, SqliteStorage, Storage, StudyId, StudyRecord};
pub use study::{
    Direction, ObjectiveValue, OptimizeSummary, Study, StudyBuilder, StudySummary, TrialCallback,
    TrialError, TrialOutcome,
};
pub use trial::Trial;
