//! Loading a voice by what is known of it, whichever engine runs it: the one entry point the
//! speech stage needs, so that a new engine is one more arm here.

use std::path::{Path, PathBuf};

use crate::{
    Engine, KOKORO_MODEL, KnownVoice, KokoroVoice, LoadOptions, NeuralError, NeuralVoice,
    PiperVoice, Runtime,
};

/// The files `voice` needs in `dir`: for Piper the model and its `.onnx.json`, for Kokoro the
/// shared model and the voice's style vector.
pub fn voice_files(voice: &KnownVoice, dir: &Path) -> Vec<PathBuf> {
    let model = dir.join(voice.model);
    match voice.engine {
        Engine::Piper => vec![config_path(&model), model],
        Engine::Kokoro => vec![dir.join(KOKORO_MODEL), model],
    }
}

/// Whether every file `voice` needs is in `dir` (its content is checked when it is loaded).
pub fn is_installed(voice: &KnownVoice, dir: &Path) -> bool {
    voice_files(voice, dir).iter().all(|f| f.is_file())
        && dir.join(crate::RUNTIME_LIBRARY).is_file()
}

/// Loads the known `voice` from `dir`, checking the model's pinned sha256, with ONNX Runtime
/// from the same folder and `threads` threads per model run.
pub fn load_known(
    voice: &KnownVoice,
    dir: &Path,
    threads: usize,
) -> Result<Box<dyn NeuralVoice>, NeuralError> {
    match voice.engine {
        Engine::Piper => {
            let runtime = Runtime::load(&runtime_library(dir))?;
            let options = LoadOptions {
                expected_sha256: Some(voice.sha256.to_string()),
                threads,
            };
            Ok(Box::new(PiperVoice::load(
                runtime,
                &dir.join(voice.model),
                &options,
            )?))
        }
        Engine::Kokoro => {
            let runtime = Runtime::load(&runtime_library(dir))?;
            Ok(Box::new(KokoroVoice::load_known(
                runtime, dir, voice, threads,
            )?))
        }
    }
}

/// Loads any Piper voice from `model` (with `model` + `.json` beside it), with ONNX Runtime
/// from `dir`. The model's sha256 is computed on load and identifies its output.
pub fn load_piper_model(
    model: &Path,
    dir: &Path,
    threads: usize,
) -> Result<Box<dyn NeuralVoice>, NeuralError> {
    let runtime = Runtime::load(&runtime_library(dir))?;
    let options = LoadOptions {
        expected_sha256: None,
        threads,
    };
    Ok(Box::new(PiperVoice::load(runtime, model, &options)?))
}

/// A Piper model's config file: the model's path plus `.json`.
pub fn config_path(model: &Path) -> PathBuf {
    PathBuf::from(format!("{}.json", model.display()))
}

/// ONNX Runtime's library in `dir`, through any symbolic links: a process holds one runtime,
/// and the same file reached by two paths is still that one.
fn runtime_library(dir: &Path) -> PathBuf {
    let library = dir.join(crate::RUNTIME_LIBRARY);
    library.canonicalize().unwrap_or(library)
}
