//! The encoder's settings searched for the smallest file at a quality, or the best
//! trade-off of size, quality and speed: each trial encodes the sample with x264 as a
//! render would, and scores it by bytes, SSIM against the frames that went in, and time.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use vidflow_core::config::X264Tuning;
use vidflow_core::{CancelFlag, TrialEnded, VidflowError};
use vidflow_encode::{EncodeSettings, I420Reader, VideoEncoder};
use vidflow_tune::{
    Direction, FrozenTrial, ParamValue, SqliteStorage, Storage, Study, ThresholdPruner, TpeSampler,
    Trial, TrialError, TrialState,
};

use crate::quality::ssim_i420;
use crate::sample::EncodeSample;

/// The x264 presets a search tries (`slower` and `veryslow` cost more than a render
/// should).
pub const PRESETS: [&str; 7] = [
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
];
/// `-tune` values a search tries (`none`: x264's default).
pub const TUNES: [&str; 4] = ["none", "film", "animation", "stillimage"];
/// x264's own keyframe interval and AQ mode, what "none" leaves in place.
const X264_KEYINT: i64 = 250;
const X264_AQ_MODE: i64 = 1;

/// What the encoder is told: preset, CRF and the other x264 settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncoderChoice {
    /// x264 preset.
    pub preset: String,
    /// x264 CRF.
    pub crf: u8,
    /// Tune, keyframe interval, AQ mode.
    pub x264: X264Tuning,
}

impl EncoderChoice {
    /// x264's defaults: preset medium, CRF 23 (the yardstick a search is compared with).
    pub fn x264_defaults() -> EncoderChoice {
        EncoderChoice {
            preset: "medium".into(),
            crf: 23,
            x264: X264Tuning::default(),
        }
    }

    /// The encoder settings for frames of `sample`.
    pub fn settings(&self, sample: &EncodeSample) -> EncodeSettings {
        EncodeSettings {
            width: sample.size.width,
            height: sample.size.height,
            fps: sample.fps,
            preset: self.preset.clone(),
            crf: self.crf,
            x264: self.x264.clone(),
            ..EncodeSettings::default()
        }
    }

    /// The choice a trial's parameters name.
    pub fn from_trial(trial: &FrozenTrial) -> Result<EncoderChoice, VidflowError> {
        let text = |name: &str| match trial.param(name) {
            Some(ParamValue::Choice(c)) => Ok(c.to_string()),
            other => Err(bad_study(format!(
                "trial {} has no {name} ({other:?})",
                trial.number
            ))),
        };
        let int = |name: &str| match trial.param(name) {
            Some(ParamValue::Int(i)) => Ok(i),
            other => Err(bad_study(format!(
                "trial {} has no {name} ({other:?})",
                trial.number
            ))),
        };
        let tune = text("tune")?;
        Ok(EncoderChoice {
            preset: text("preset")?,
            crf: u8::try_from(int("crf")?).map_err(|_| bad_study("crf out of range".into()))?,
            x264: X264Tuning {
                tune: (tune != "none").then_some(tune),
                keyint: u32::try_from(int("keyint")?).ok(),
                aq_mode: u8::try_from(int("aq_mode")?).ok(),
            },
        })
    }
}

fn bad_study(message: String) -> VidflowError {
    VidflowError::bad_input(format!(
        "the encode study is not one vidflow wrote: {message}"
    ))
}

/// How one encode of (part of) the sample went.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EncodeScore {
    /// Size of the encoded video.
    pub bytes: u64,
    /// Mean SSIM of its frames against the sample's (ffmpeg's "All").
    pub ssim: f64,
    /// Wall time of the encode.
    pub seconds: f64,
    /// Frames encoded.
    pub frames: usize,
}

/// Encodes `frames` of the sample with `choice` into a file in `dir`, decodes it back and
/// scores it. Stops (cancelled) between frames when `cancel` is set.
pub fn score(
    sample: &EncodeSample,
    choice: &EncoderChoice,
    frames: Range<usize>,
    dir: &Path,
    cancel: &CancelFlag,
) -> Result<EncodeScore, VidflowError> {
    let frames = frames.start.min(sample.len())..frames.end.min(sample.len());
    let settings = choice.settings(sample);
    let output = dir.join(format!(
        "trial-{}-{}.mp4",
        std::process::id(),
        UNIQUE.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let started = Instant::now();
    let mut encoder = VideoEncoder::start(&output, None, &settings).map_err(VidflowError::from)?;
    for frame in &sample.frames[frames.clone()] {
        if cancel.is_cancelled() {
            encoder.abort();
            return Err(VidflowError::cancelled());
        }
        encoder
            .write_frame(frame.clone())
            .map_err(VidflowError::from)?;
    }
    let encoded = encoder.finish().map_err(VidflowError::from)?;
    let seconds = started.elapsed().as_secs_f64();
    let quality = mean_ssim(sample, frames.clone(), &output);
    let _ = std::fs::remove_file(&output);
    Ok(EncodeScore {
        bytes: encoded.bytes,
        ssim: quality?,
        seconds,
        frames: frames.len(),
    })
}

static UNIQUE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The mean SSIM of the encoded file's frames against `frames` of the sample.
fn mean_ssim(
    sample: &EncodeSample,
    frames: Range<usize>,
    encoded: &Path,
) -> Result<f64, VidflowError> {
    let (w, h) = (sample.size.width, sample.size.height);
    let mut reader = I420Reader::open(encoded, w, h).map_err(VidflowError::from)?;
    let mut total = 0.0;
    let mut n = 0usize;
    for original in &sample.frames[frames.clone()] {
        let Some(decoded) = reader.next_frame().map_err(VidflowError::from)? else {
            break;
        };
        total += ssim_i420(original, decoded, w, h);
        n += 1;
    }
    if n != frames.len() {
        return Err(VidflowError::internal(format!(
            "the encoded sample decodes to {n} frames, not {}",
            frames.len()
        )));
    }
    Ok(total / n.max(1) as f64)
}

/// How a search runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EncodeTuning {
    /// Trials to run (on top of those a resumed study has).
    pub trials: usize,
    /// Trials run at once.
    pub jobs: usize,
    /// With a target: the smallest file whose SSIM reaches it (trials that cannot are
    /// pruned after a probe of the first third of the sample). Without: the Pareto front
    /// of size, SSIM and encode time.
    pub target_ssim: Option<f64>,
    /// Seed of the sampler (a fixed seed repeats a search).
    pub seed: Option<u64>,
    /// The study's SQLite file; `None` keeps it in memory.
    pub storage: Option<PathBuf>,
    /// The study's name in its file.
    pub study: String,
    /// Seconds of video in the sample.
    pub seconds: f64,
}

impl Default for EncodeTuning {
    fn default() -> Self {
        EncodeTuning {
            trials: 40,
            jobs: 1,
            target_ssim: None,
            seed: None,
            storage: None,
            study: "encode".into(),
            seconds: 6.0,
        }
    }
}

impl EncodeTuning {
    /// Checks the settings, naming the first that is out of range.
    pub fn check(&self) -> Result<(), VidflowError> {
        if !(1..=1000).contains(&self.trials) {
            return Err(VidflowError::bad_input(format!(
                "invalid trials {}: use 1 to 1000",
                self.trials
            )));
        }
        if !(1..=16).contains(&self.jobs) {
            return Err(VidflowError::bad_input(format!(
                "invalid jobs {}: use 1 to 16",
                self.jobs
            )));
        }
        if let Some(t) = self.target_ssim
            && !(t > 0.5 && t < 1.0)
        {
            return Err(VidflowError::bad_input(format!(
                "invalid target SSIM {t}: use a number between 0.5 and 1 (0.98 is good)"
            )));
        }
        if !(self.seconds >= 0.5 && self.seconds <= 60.0) {
            return Err(VidflowError::bad_input(format!(
                "invalid sample length {} s: use 0.5 to 60",
                self.seconds
            )));
        }
        if self.study.trim().is_empty() {
            return Err(VidflowError::bad_input("the study needs a name"));
        }
        Ok(())
    }

    /// The objectives: the file size alone with a target, else size, SSIM and time.
    fn directions(&self) -> Vec<Direction> {
        match self.target_ssim {
            Some(_) => vec![Direction::Minimize],
            None => vec![
                Direction::Minimize,
                Direction::Maximize,
                Direction::Minimize,
            ],
        }
    }
}

/// Opens (creating or resuming) the study a search writes to.
pub fn open_study(options: &EncodeTuning) -> Result<Study, VidflowError> {
    let mut builder = Study::builder()
        .name(options.study.clone())
        .directions(options.directions())
        .sampler(TpeSampler::new(options.seed));
    if let Some(target) = options.target_ssim {
        builder = builder.pruner(ThresholdPruner::below(target));
    }
    if let Some(path) = &options.storage {
        let storage = SqliteStorage::open(path).map_err(study_error)?;
        builder = builder.storage(Arc::new(storage) as Arc<dyn Storage>);
    }
    builder.create_or_load().map_err(study_error)
}

pub(crate) fn study_error(e: vidflow_tune::Error) -> VidflowError {
    VidflowError::bad_input(format!("tuning study: {e}"))
}

/// Runs the search on `sample`: `options.trials` trials (x264's defaults first, so the
/// yardstick is in the study), reporting each as it ends; stops early when `cancel` is set
/// (the study keeps every finished trial and can be resumed). Returns the report.
pub fn tune(
    sample: &EncodeSample,
    options: &EncodeTuning,
    cancel: &CancelFlag,
    on_trial: &(dyn Fn(TrialEnded, usize, usize) + Sync),
) -> Result<serde_json::Value, VidflowError> {
    options.check()?;
    let study = open_study(options)?;
    // A crashed earlier run's trials are failed and their points retried.
    study.fail_stale_trials().map_err(study_error)?;
    let had = study.trials().map_err(study_error)?;
    if !had.iter().any(|t| is_x264_defaults(t)) {
        study
            .enqueue_trial([
                ("preset", ParamValue::from("medium")),
                ("crf", ParamValue::Int(23)),
                ("tune", ParamValue::from("none")),
                ("keyint", ParamValue::Int(X264_KEYINT)),
                ("aq_mode", ParamValue::Int(X264_AQ_MODE)),
            ])
            .map_err(study_error)?;
    }
    let scratch = tempfile::Builder::new()
        .prefix("vidflow-tune-")
        .tempdir()
        .map_err(|e| VidflowError::internal(format!("cannot create a scratch folder: {e}")))?;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let target = options.target_ssim;
    let total = options.trials;
    let objective = |trial: &mut Trial| -> Result<Vec<f64>, TrialError> {
        if cancel.is_cancelled() {
            return Err(TrialError::failed("cancelled"));
        }
        let choice = suggest(trial)?;
        // A probe on the first third: a setting that misses the target there is stopped
        // before it costs a whole encode.
        if target.is_some() {
            let probe = score(
                sample,
                &choice,
                0..sample.len().div_ceil(3),
                scratch.path(),
                cancel,
            )
            .map_err(TrialError::failed)?;
            trial.set_user_attr("probe_ssim", probe.ssim)?;
            trial.report(0, probe.ssim)?;
            if trial.should_prune()? {
                return Err(TrialError::Pruned);
            }
        }
        let s = score(sample, &choice, 0..sample.len(), scratch.path(), cancel)
            .map_err(TrialError::failed)?;
        trial.set_user_attr("bytes", s.bytes)?;
        trial.set_user_attr("ssim", s.ssim)?;
        trial.set_user_attr("seconds", s.seconds)?;
        trial.set_user_attr("fps", s.frames as f64 / s.seconds.max(1e-9))?;
        if target.is_some() {
            trial.report(1, s.ssim)?;
            if trial.should_prune()? {
                return Err(TrialError::Pruned);
            }
            Ok(vec![s.bytes as f64])
        } else {
            Ok(vec![s.bytes as f64, s.ssim, s.seconds])
        }
    };
    // Each trial is reported as it ends (the study records it just after).
    let run = |trial: &mut Trial| {
        let result = objective(trial);
        let (state, values) = match &result {
            Ok(v) => ("complete", v.clone()),
            Err(TrialError::Pruned) => ("pruned", Vec::new()),
            Err(TrialError::Failed(_)) => ("failed", Vec::new()),
        };
        let best = match (study.directions(), values.first()) {
            ([_], Some(&v)) => Some(study.best_value().map_or(v, |b| b.min(v))),
            ([_], None) => study.best_value().ok(),
            _ => None,
        };
        let n = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        on_trial(
            TrialEnded {
                number: trial.number(),
                state: state.to_owned(),
                values,
                best,
            },
            n,
            total,
        );
        if cancel.is_cancelled() {
            study.stop();
        }
        result
    };
    let summary = study
        .optimize_parallel(run, Some(options.trials), None, options.jobs)
        .map_err(study_error)?;
    tracing::info!(?summary, "encode search finished");
    if cancel.is_cancelled() {
        return Err(VidflowError::cancelled());
    }
    report(&study, options)
}

fn suggest(trial: &mut Trial) -> Result<EncoderChoice, TrialError> {
    let preset = trial.suggest_categorical("preset", &PRESETS)?;
    let crf = trial.suggest_int("crf", 14, 45)?;
    let tune = trial.suggest_categorical("tune", &TUNES)?;
    let keyint = trial.suggest_int_log("keyint", 24, 600)?;
    let aq_mode = trial.suggest_int("aq_mode", 0, 3)?;
    Ok(EncoderChoice {
        preset: preset.to_string(),
        crf: crf as u8,
        x264: X264Tuning {
            tune: (tune != "none").then(|| tune.to_string()),
            keyint: Some(keyint as u32),
            aq_mode: Some(aq_mode as u8),
        },
    })
}

/// True for the trial that holds x264's own defaults.
fn is_x264_defaults(t: &FrozenTrial) -> bool {
    EncoderChoice::from_trial(t).is_ok_and(|c| {
        c.preset == "medium"
            && c.crf == 23
            && c.x264.tune.is_none()
            && c.x264.keyint == Some(X264_KEYINT as u32)
            && c.x264.aq_mode == Some(X264_AQ_MODE as u8)
    })
}

/// One trial as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TrialRow {
    /// Its number in the study.
    pub trial: u64,
    /// `complete`, `pruned` or `failed`.
    pub state: String,
    /// The settings.
    pub choice: EncoderChoice,
    /// Size of the encoded sample.
    pub bytes: Option<u64>,
    /// Its SSIM.
    pub ssim: Option<f64>,
    /// Encode time, seconds.
    pub seconds: Option<f64>,
}

fn row(t: &FrozenTrial) -> Option<TrialRow> {
    let attr_f = |k: &str| t.user_attrs.get(k).and_then(serde_json::Value::as_f64);
    Some(TrialRow {
        trial: t.number,
        state: t.state.as_str().to_owned(),
        choice: EncoderChoice::from_trial(t).ok()?,
        bytes: t
            .user_attrs
            .get("bytes")
            .and_then(serde_json::Value::as_u64),
        ssim: attr_f("ssim").or_else(|| attr_f("probe_ssim")),
        seconds: attr_f("seconds"),
    })
}

/// The point of a study a profile uses: with a target, the smallest file that reached it;
/// without, the Pareto point nearest the ideal (each objective scaled to the front's range).
pub fn chosen(study: &Study) -> Result<Option<Arc<FrozenTrial>>, VidflowError> {
    if study.directions().len() == 1 {
        return match study.best_trial() {
            Ok(t) => Ok(Some(t)),
            Err(vidflow_tune::Error::NoCompletedTrial { .. }) => Ok(None),
            Err(e) => Err(study_error(e)),
        };
    }
    let front = study.best_trials().map_err(study_error)?;
    let dirs = study.directions();
    let values: Vec<Vec<f64>> = front.iter().filter_map(|t| t.values.clone()).collect();
    if values.is_empty() {
        return Ok(None);
    }
    let k = dirs.len();
    let lo: Vec<f64> = (0..k)
        .map(|i| values.iter().map(|v| v[i]).fold(f64::INFINITY, f64::min))
        .collect();
    let hi: Vec<f64> = (0..k)
        .map(|i| {
            values
                .iter()
                .map(|v| v[i])
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .collect();
    let distance = |v: &[f64]| -> f64 {
        (0..k)
            .map(|i| {
                let span = (hi[i] - lo[i]).max(f64::EPSILON);
                // 0 at the best end of each objective, 1 at the worst.
                let d = match dirs[i] {
                    Direction::Minimize => (v[i] - lo[i]) / span,
                    Direction::Maximize => (hi[i] - v[i]) / span,
                };
                d * d
            })
            .sum()
    };
    Ok(front
        .into_iter()
        .filter(|t| t.values.is_some())
        .min_by(|a, b| {
            let da = distance(a.values.as_deref().unwrap_or(&[]));
            let db = distance(b.values.as_deref().unwrap_or(&[]));
            da.total_cmp(&db).then(a.number.cmp(&b.number))
        }))
}

/// What a search found: every trial, the Pareto front (or the trials that reached the
/// target), the chosen setting and x264's defaults beside it.
pub fn report(study: &Study, options: &EncodeTuning) -> Result<serde_json::Value, VidflowError> {
    let trials = study.trials().map_err(study_error)?;
    let rows: Vec<TrialRow> = trials.iter().filter_map(|t| row(t)).collect();
    let count = |s: TrialState| trials.iter().filter(|t| t.state == s).count();
    let front: Vec<TrialRow> = if study.directions().len() == 1 {
        let mut ok: Vec<TrialRow> = rows
            .iter()
            .filter(|r| r.state == "complete")
            .cloned()
            .collect();
        ok.sort_by_key(|r| r.bytes.unwrap_or(u64::MAX));
        ok
    } else {
        study
            .best_trials()
            .map_err(study_error)?
            .iter()
            .filter_map(|t| row(t))
            .collect()
    };
    let chosen = chosen(study)?.and_then(|t| row(&t));
    let baseline = trials
        .iter()
        .find(|t| is_x264_defaults(t))
        .and_then(|t| row(t));
    Ok(serde_json::json!({
        "kind": "encode",
        "study": study.name(),
        "storage": options.storage,
        "target_ssim": options.target_ssim,
        "trials": {
            "complete": count(TrialState::Complete),
            "pruned": count(TrialState::Pruned),
            "failed": count(TrialState::Failed),
        },
        "chosen": chosen,
        "x264_defaults": baseline,
        "front": front,
        "all": rows,
    }))
}

/// Loads the chosen setting of the study `name` in `path` (a `vidflow tune encode --storage`
/// file): what `--encode-profile` applies.
pub fn load_profile(path: &Path, name: &str) -> Result<EncoderChoice, VidflowError> {
    if !path.is_file() {
        return Err(VidflowError::bad_input(format!(
            "encode profile {} does not exist: make one with vidflow tune encode --storage FILE",
            path.display()
        )));
    }
    let storage = SqliteStorage::open_existing(path).map_err(study_error)?;
    let study = Study::builder()
        .name(name)
        .storage(Arc::new(storage) as Arc<dyn Storage>)
        .load()
        .map_err(study_error)?;
    let best = chosen(&study)?.ok_or_else(|| {
        VidflowError::bad_input(format!(
            "encode profile {}: no trial of study '{name}' completed{}",
            path.display(),
            if study.directions().len() == 1 {
                " at its target"
            } else {
                ""
            }
        ))
    })?;
    EncoderChoice::from_trial(&best)
}
