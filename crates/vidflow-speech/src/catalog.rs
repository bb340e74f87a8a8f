//! The voice catalog: every voice vidflow can speak with (Flite's, linked in, and the neural
//! voices `scripts/install-voices` installs), which are installed, and what a request's
//! `voice` resolves to: `auto`, a voice id, or a path to any Piper model.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use vidflow_core::VidflowError;
use vidflow_neural::{Engine, KNOWN_VOICES, KnownVoice, catalog as neural_catalog};

use crate::neural::NeuralPool;
use crate::voice::VOICES;
use crate::{SpeakingVoice, Voice};

/// The voice that picks the best installed one (see [`resolve`]).
pub const AUTO: &str = "auto";

/// The Flite voice `auto` falls back to when no neural voice serves.
pub const FALLBACK: &str = "slt";

/// One voice of the catalog, for listing.
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceEntry {
    /// The id `--voice` takes.
    pub id: String,
    /// `flite`, `piper` or `kokoro`.
    pub engine: &'static str,
    /// Language code, e.g. `en_US`.
    pub language: String,
    /// Samples per second.
    pub sample_rate: u32,
    /// What may be done with the output, as far as is known.
    pub licence: String,
    /// Whether that licence allows any use of the output (only such voices are picked by
    /// `auto`).
    pub any_use: bool,
    /// Whether it can be used here now (Flite's are always linked in; a neural voice needs its
    /// files in the voices folder).
    pub installed: bool,
    /// A few words for people.
    pub description: String,
}

const FLITE_LICENCE: &str = "Flite's BSD-style licence: any use";

/// Languages of Flite's voices, in [`Voice::names`] order.
const FLITE_LANGUAGES: [&str; 5] = ["en_US", "en_GB", "en_US", "en_US", "en_US"];

/// Every voice, best first: the neural voices (Kokoro before Piper, then in the order
/// [`KNOWN_VOICES`] lists them), then Flite's.
pub fn voices() -> Vec<VoiceEntry> {
    voices_in(vidflow_neural::voices_dir().as_deref())
}

/// [`voices`], with the neural voices looked for in `dir`.
pub fn voices_in(dir: Option<&Path>) -> Vec<VoiceEntry> {
    let mut out: Vec<VoiceEntry> = ranked_neural()
        .into_iter()
        .map(|known| VoiceEntry {
            id: known.id.to_string(),
            engine: known.engine.name(),
            language: known.language.to_string(),
            sample_rate: known.sample_rate,
            licence: known.licence.to_string(),
            any_use: known.any_use,
            installed: dir.is_some_and(|d| neural_catalog::is_installed(known, d)),
            description: format!("{} voice {}", known.engine.name(), known.model),
        })
        .collect();
    for (spec, language) in VOICES.iter().zip(FLITE_LANGUAGES) {
        out.push(VoiceEntry {
            id: spec.name.to_string(),
            engine: "flite",
            language: language.to_string(),
            sample_rate: if spec.name == "kal" { 8_000 } else { 16_000 },
            licence: FLITE_LICENCE.to_string(),
            any_use: true,
            installed: true,
            description: spec.description.to_string(),
        });
    }
    out
}

/// The neural voices in the order `auto` prefers them: Kokoro (the more natural engine) before
/// Piper, each in catalog order.
fn ranked_neural() -> Vec<&'static KnownVoice> {
    let mut known: Vec<&KnownVoice> = KNOWN_VOICES.iter().collect();
    known.sort_by_key(|k| match k.engine {
        Engine::Kokoro => 0,
        Engine::Piper => 1,
    });
    known
}

/// The primary language of a code: `en` for `en_US`, `en-gb` or `EN`.
pub fn primary_language(code: &str) -> String {
    code.split(['_', '-'])
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// What a request's voice resolved to, before anything is loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceChoice {
    source: Source,
    /// Why `auto` fell back to Flite, when it did: the warning to log.
    pub fallback: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Source {
    Flite(Voice),
    Known(&'static KnownVoice, PathBuf),
    /// A Piper model by path, and the folder ONNX Runtime is in.
    Model(PathBuf, PathBuf),
}

impl VoiceChoice {
    /// The voice's id: a catalog id, or the model's path.
    pub fn id(&self) -> String {
        match &self.source {
            Source::Flite(v) => v.name().to_string(),
            Source::Known(k, _) => k.id.to_string(),
            Source::Model(path, _) => path.display().to_string(),
        }
    }

    /// `flite`, `piper` or `kokoro`.
    pub fn engine(&self) -> &'static str {
        match &self.source {
            Source::Flite(_) => "flite",
            Source::Known(k, _) => k.engine.name(),
            Source::Model(..) => Engine::Piper.name(),
        }
    }

    /// Whether a neural engine speaks it.
    pub fn is_neural(&self) -> bool {
        !matches!(self.source, Source::Flite(_))
    }

    /// What identifies this voice's output, as (name, value) pairs for a cache key: the
    /// engine, the voice, the sha256 of the model and of its config, and the synthesis
    /// settings. A Flite voice is its name alone (as it always was).
    pub fn key_params(&self) -> Result<Vec<(&'static str, String)>, VidflowError> {
        let settings = format!(
            "noise_scale=0,noise_w=0,sentence_gap={},hop={}",
            vidflow_neural::SENTENCE_GAP,
            vidflow_neural::HOP
        );
        Ok(match &self.source {
            Source::Flite(v) => vec![("voice", v.name().to_string())],
            Source::Known(k, dir) => {
                let mut params = vec![
                    ("engine", k.engine.name().to_string()),
                    ("voice", k.id.to_string()),
                    ("model_sha256", k.sha256.to_string()),
                ];
                if k.engine == Engine::Piper {
                    let config = neural_catalog::config_path(&dir.join(k.model));
                    params.push(("config_sha256", file_sha256(&config)?));
                }
                params.push(("settings", settings));
                params
            }
            Source::Model(path, _) => vec![
                ("engine", Engine::Piper.name().to_string()),
                ("model_sha256", file_sha256(path)?),
                (
                    "config_sha256",
                    file_sha256(&neural_catalog::config_path(path))?,
                ),
                ("settings", settings),
            ],
        })
    }

    /// Loads the voice (a neural voice once per process: later calls share it).
    pub fn load(&self) -> Result<SpeakingVoice, VidflowError> {
        match &self.source {
            Source::Flite(v) => Ok(SpeakingVoice::Flite(Voice::load(v.name())?)),
            Source::Known(known, dir) => {
                let pool_key = format!("known:{}:{}:{}", dir.display(), known.id, known.sha256);
                let (known, dir) = (*known, dir.clone());
                NeuralPool::shared(pool_key, known.id.to_string(), move |threads| {
                    neural_catalog::load_known(known, &dir, threads)
                })
                .map(SpeakingVoice::Neural)
            }
            Source::Model(path, dir) => {
                let dir = dir.clone();
                let pool_key = format!("model:{}:{}", path.display(), file_sha256(path)?);
                let model = path.clone();
                NeuralPool::shared(pool_key, path.display().to_string(), move |threads| {
                    neural_catalog::load_piper_model(&model, &dir, threads)
                })
                .map(SpeakingVoice::Neural)
            }
        }
    }
}

/// Where ONNX Runtime is installed, for a voice given by path.
fn runtime_dir(dir: Option<&Path>) -> Result<PathBuf, VidflowError> {
    let dir = dir.map(Path::to_path_buf).ok_or_else(|| {
        VidflowError::bad_input(
            "no voices folder: set VIDFLOW_VOICES_DIR or HOME, and run scripts/install-voices",
        )
    })?;
    let library = dir.join(vidflow_neural::RUNTIME_LIBRARY);
    if !library.is_file() {
        return Err(VidflowError::bad_input(format!(
            "ONNX Runtime is not installed at {} (run scripts/install-voices)",
            library.display()
        )));
    }
    Ok(dir)
}

/// Whether `voice` names a model file rather than a catalog id.
pub fn is_model_path(voice: &str) -> bool {
    voice.ends_with(".onnx") || voice.contains('/') || voice.contains('\\')
}

/// Resolves a request's `voice` for a text in `lang` (the page's language, when known):
///
/// - `auto`: the best installed neural voice whose licence allows any use of the output and
///   that speaks `lang` (any language when `lang` is unknown); with none, Flite's `slt` for an
///   English (or unknown) page, with [`VoiceChoice::fallback`] saying why, and for any other
///   language an error naming it and suggesting `--voice` or `--voice-model`;
/// - a catalog id: that voice, whatever the page's language (an explicit choice overrides);
///   a neural voice that is not installed is an error naming it;
/// - a path (`*.onnx`, or with a `/`): that Piper model, with its `.onnx.json` beside it.
pub fn resolve(voice: &str, lang: Option<&str>) -> Result<VoiceChoice, VidflowError> {
    resolve_in(voice, lang, vidflow_neural::voices_dir().as_deref())
}

/// [`resolve`], with the neural voices looked for in `dir`.
pub fn resolve_in(
    voice: &str,
    lang: Option<&str>,
    dir: Option<&Path>,
) -> Result<VoiceChoice, VidflowError> {
    let wanted = voice.trim();
    if is_model_path(wanted) {
        return resolve_model(Path::new(wanted), dir);
    }
    let wanted = wanted.to_ascii_lowercase();
    if wanted == AUTO {
        return resolve_auto(lang, dir);
    }
    if let Ok(flite) = Voice::by_name(&wanted) {
        return Ok(VoiceChoice {
            source: Source::Flite(flite),
            fallback: None,
        });
    }
    if let Some(known) = KNOWN_VOICES.iter().find(|k| k.id == wanted) {
        return match dir {
            Some(dir) if neural_catalog::is_installed(known, dir) => Ok(VoiceChoice {
                source: Source::Known(known, dir.to_path_buf()),
                fallback: None,
            }),
            _ => Err(not_installed(known, dir)),
        };
    }
    let ids: Vec<String> = voices_in(dir).into_iter().map(|v| v.id).collect();
    Err(VidflowError::bad_input(format!(
        "unknown voice {voice:?}: choose auto, one of {}, or a Piper model with --voice-model path/to/voice.onnx",
        ids.join(", ")
    )))
}

/// The error for a known neural voice whose files are not all in place.
fn not_installed(known: &KnownVoice, dir: Option<&Path>) -> VidflowError {
    match dir {
        Some(dir) => {
            let mut missing: Vec<String> = neural_catalog::voice_files(known, dir)
                .into_iter()
                .filter(|f| !f.is_file())
                .map(|f| f.display().to_string())
                .collect();
            let runtime = dir.join(vidflow_neural::RUNTIME_LIBRARY);
            if !runtime.is_file() {
                missing.push(runtime.display().to_string());
            }
            VidflowError::bad_input(format!(
                "voice {:?} is not installed here (missing {}); run scripts/install-voices, or choose another with --voice",
                known.id,
                missing.join(", ")
            ))
        }
        None => VidflowError::bad_input(format!(
            "voice {:?} is not installed here (no voices folder: set VIDFLOW_VOICES_DIR or HOME); run scripts/install-voices",
            known.id
        )),
    }
}

fn resolve_model(path: &Path, dir: Option<&Path>) -> Result<VoiceChoice, VidflowError> {
    let config = neural_catalog::config_path(path);
    for (what, file) in [("voice model", path), ("voice model's config", &config)] {
        if !file.is_file() {
            return Err(VidflowError::bad_input(format!(
                "the {what} {} does not exist or is not a file (a Piper voice is a .onnx file with its .onnx.json beside it)",
                file.display()
            )));
        }
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    Ok(VoiceChoice {
        source: Source::Model(absolute, runtime_dir(dir)?),
        fallback: None,
    })
}

fn resolve_auto(lang: Option<&str>, dir: Option<&Path>) -> Result<VoiceChoice, VidflowError> {
    let wanted = lang.map(primary_language).filter(|l| !l.is_empty());
    let installed = |k: &KnownVoice| dir.is_some_and(|d| neural_catalog::is_installed(k, d));
    let speaks = |k: &KnownVoice| {
        wanted
            .as_deref()
            .is_none_or(|l| primary_language(k.language) == l)
    };
    if let Some(known) = ranked_neural()
        .into_iter()
        .find(|k| k.any_use && speaks(k) && installed(k))
    {
        return Ok(VoiceChoice {
            source: Source::Known(
                known,
                dir.expect("installed implies a folder").to_path_buf(),
            ),
            fallback: None,
        });
    }
    // Why no neural voice serves, voice by voice.
    let reasons: Vec<String> = ranked_neural()
        .into_iter()
        .filter(|k| speaks(k))
        .map(|k| {
            let why = match (installed(k), k.any_use) {
                (false, _) => "not installed",
                (true, false) => "installed, but its licence does not allow any use",
                (true, true) => "installed",
            };
            format!("{} ({why})", k.id)
        })
        .collect();
    match wanted.as_deref() {
        Some(l) if l != "en" => {
            let installed_ids: Vec<String> = voices_in(dir)
                .into_iter()
                .filter(|v| v.installed)
                .map(|v| format!("{} ({})", v.id, v.language))
                .collect();
            Err(VidflowError::bad_input(format!(
                "the page's language is {:?} and no installed voice speaks it (installed: {}); choose a voice with --voice ID to read it anyway, or give a Piper voice for that language with --voice-model path/to/voice.onnx",
                lang.unwrap_or(l),
                installed_ids.join(", ")
            )))
        }
        _ => {
            let why = if reasons.is_empty() {
                "no neural voice is known for this language".to_string()
            } else {
                format!(
                    "no installed neural voice allows any use of its output ({})",
                    reasons.join(", ")
                )
            };
            Ok(VoiceChoice {
                source: Source::Flite(Voice::by_name(FALLBACK)?),
                fallback: Some(format!(
                    "voice auto: speaking with Flite's {FALLBACK} because {why}; run scripts/install-voices to install the neural voices, or choose one with --voice"
                )),
            })
        }
    }
}

/// A file's sha256 (hex), remembered per process by path, size and modification time so that
/// a model is hashed once, not at every cache-key computation.
pub fn file_sha256(path: &Path) -> Result<String, VidflowError> {
    type Stamp = (PathBuf, u64, Option<SystemTime>);
    static KNOWN: LazyLock<Mutex<HashMap<Stamp, String>>> = LazyLock::new(Default::default);
    let unreadable =
        |e: std::io::Error| VidflowError::bad_input(format!("cannot read {}: {e}", path.display()));
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    let stamp = (path.to_path_buf(), meta.len(), meta.modified().ok());
    if let Some(hash) = KNOWN.lock().unwrap_or_else(|e| e.into_inner()).get(&stamp) {
        return Ok(hash.clone());
    }
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(unreadable)?;
    let hash = hex::encode(hasher.finalize());
    KNOWN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(stamp, hash.clone());
    Ok(hash)
}
