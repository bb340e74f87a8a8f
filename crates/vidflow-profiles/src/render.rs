//! The render's throughput settings searched for the most frames per second on this
//! machine: frame threads, frames per chunk, chunks rendered ahead, and the x264 preset,
//! each trial a real end-to-end render (compose, convert, encode, mux) of a short video.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use vidflow_avatar::Avatar;
use vidflow_core::{CancelFlag, Speech, Timeline, TrialEnded, VidflowError};
use vidflow_stages::{RenderJob, render_video};
use vidflow_tune::{
    Direction, FrozenTrial, ParamValue, SqliteStorage, Storage, Study, TpeSampler, Trial,
    TrialError, TrialState,
};

use crate::encode::study_error;

/// Presets a throughput search tries (slower ones are never the fastest).
pub const PRESETS: [&str; 4] = ["ultrafast", "superfast", "veryfast", "faster"];

/// The render settings a search chooses among.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderChoice {
    /// Frame threads (`threads` in the configuration; 0 is one per core).
    pub threads: usize,
    /// Frames per chunk (`chunk_frames`).
    pub chunk_frames: usize,
    /// Chunks rendered ahead of the encoder (`render_ahead`).
    pub render_ahead: usize,
    /// x264 preset (`video.preset`).
    pub preset: String,
}

impl RenderChoice {
    fn from_trial(t: &FrozenTrial) -> Option<RenderChoice> {
        let int = |k: &str| match t.param(k) {
            Some(ParamValue::Int(i)) => usize::try_from(i).ok(),
            _ => None,
        };
        Some(RenderChoice {
            threads: int("threads")?,
            chunk_frames: int("chunk_frames")?,
            render_ahead: int("render_ahead")?,
            preset: match t.param("preset")? {
                ParamValue::Choice(c) => c.to_string(),
                _ => return None,
            },
        })
    }
}

/// How a search runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RenderTuning {
    /// Trials to run.
    pub trials: usize,
    /// Seed of the sampler.
    pub seed: Option<u64>,
    /// The study's SQLite file; `None` keeps it in memory.
    pub storage: Option<PathBuf>,
    /// The study's name in its file.
    pub study: String,
    /// The settings in force now, tried first (the yardstick).
    pub current: Option<RenderChoice>,
}

impl Default for RenderTuning {
    fn default() -> Self {
        RenderTuning {
            trials: 20,
            seed: None,
            storage: None,
            study: "render".into(),
            current: None,
        }
    }
}

/// Runs the search: each trial renders `timeline` with its narration end to end into a
/// scratch file and scores frames per second. Returns the report (best, current, trials).
pub fn tune(
    timeline: Arc<Timeline>,
    speech: Arc<Speech>,
    avatar: Option<Avatar>,
    options: &RenderTuning,
    cancel: &CancelFlag,
    on_trial: &(dyn Fn(TrialEnded, usize, usize) + Sync),
) -> Result<serde_json::Value, VidflowError> {
    if !(1..=500).contains(&options.trials) {
        return Err(VidflowError::bad_input(format!(
            "invalid trials {}: use 1 to 500",
            options.trials
        )));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as i64;
    let mut builder = Study::builder()
        .name(options.study.clone())
        .direction(Direction::Maximize)
        .sampler(TpeSampler::new(options.seed));
    if let Some(path) = &options.storage {
        let storage = SqliteStorage::open(path).map_err(study_error)?;
        builder = builder.storage(Arc::new(storage) as Arc<dyn Storage>);
    }
    let study = builder.create_or_load().map_err(study_error)?;
    study.fail_stale_trials().map_err(study_error)?;
    // The settings in force, within the search's bounds (0 threads is one per core).
    let current = options.current.as_ref().map(|now| RenderChoice {
        threads: if now.threads == 0 {
            cores as usize
        } else {
            now.threads.clamp(1, cores as usize)
        },
        chunk_frames: now.chunk_frames.clamp(4, 96),
        render_ahead: now.render_ahead.clamp(1, 4),
        preset: now.preset.clone(),
    });
    if let Some(now) = &current
        && PRESETS.contains(&now.preset.as_str())
    {
        study
            .enqueue_trial([
                ("threads", ParamValue::Int(now.threads as i64)),
                ("chunk_frames", ParamValue::Int(now.chunk_frames as i64)),
                ("render_ahead", ParamValue::Int(now.render_ahead as i64)),
                ("preset", ParamValue::from(now.preset.as_str())),
            ])
            .map_err(study_error)?;
    }
    let scratch = tempfile::Builder::new()
        .prefix("vidflow-tune-render-")
        .tempdir()
        .map_err(|e| VidflowError::internal(format!("cannot create a scratch folder: {e}")))?;
    let mut done = 0;
    let objective = |trial: &mut Trial| -> Result<f64, TrialError> {
        if cancel.is_cancelled() {
            return Err(TrialError::failed("cancelled"));
        }
        let choice = RenderChoice {
            threads: trial.suggest_int("threads", 1, cores)? as usize,
            chunk_frames: trial.suggest_int_log("chunk_frames", 4, 96)? as usize,
            render_ahead: trial.suggest_int("render_ahead", 1, 4)? as usize,
            preset: trial.suggest_categorical("preset", &PRESETS)?.to_string(),
        };
        let job = RenderJob {
            timeline: timeline.clone(),
            avatar: avatar.clone(),
            speech: speech.clone(),
            output: scratch.path().join(format!("trial-{}.mp4", trial.number())),
            preset: choice.preset.clone(),
            crf: 23,
            x264: Default::default(),
            threads: choice.threads,
            chunk_frames: choice.chunk_frames,
            ahead: choice.render_ahead,
        };
        let started = Instant::now();
        render_video(&job, cancel, &|_, _| {}).map_err(TrialError::failed)?;
        let fps = timeline.frame_count as f64 / started.elapsed().as_secs_f64().max(1e-9);
        let _ = std::fs::remove_file(&job.output);
        trial.set_user_attr("fps", fps)?;
        Ok(fps)
    };
    // Trials run one at a time: two at once would measure each other.
    study
        .optimize(
            |trial: &mut Trial| {
                let result = objective(trial);
                done += 1;
                let (state, values) = match &result {
                    Ok(v) => ("complete", vec![*v]),
                    Err(TrialError::Pruned) => ("pruned", Vec::new()),
                    Err(TrialError::Failed(_)) => ("failed", Vec::new()),
                };
                let best = match (study.best_value().ok(), values.first()) {
                    (Some(b), Some(&v)) => Some(b.max(v)),
                    (b, v) => b.or(v.copied()),
                };
                on_trial(
                    TrialEnded {
                        number: trial.number(),
                        state: state.into(),
                        values,
                        best,
                    },
                    done,
                    options.trials,
                );
                if cancel.is_cancelled() {
                    study.stop();
                }
                result
            },
            Some(options.trials),
            None,
        )
        .map_err(study_error)?;
    if cancel.is_cancelled() {
        return Err(VidflowError::cancelled());
    }
    let trials = study.trials().map_err(study_error)?;
    let fps = |t: &FrozenTrial| t.value();
    let row = |t: &FrozenTrial| {
        serde_json::json!({
            "trial": t.number,
            "state": t.state.as_str(),
            "choice": RenderChoice::from_trial(t),
            "fps": fps(t),
        })
    };
    let best = study.best_trial().ok();
    let current = current.as_ref().and_then(|now| {
        trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .find(|t| RenderChoice::from_trial(t).as_ref() == Some(now))
    });
    Ok(serde_json::json!({
        "kind": "render",
        "study": study.name(),
        "storage": options.storage,
        "frames": timeline.frame_count,
        "size": timeline.size.to_string(),
        "best": best.as_deref().map(row),
        "current": current.map(|t| row(t)),
        "all": trials.iter().map(|t| row(t)).collect::<Vec<_>>(),
    }))
}
