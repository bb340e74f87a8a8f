//! ONNX Runtime, loaded once per process from the shared library the install script put in
//! place.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::environment::Environment;

use crate::NeuralError;

/// The runtime once loaded: ONNX Runtime allows one environment per process, and `ort` keeps
/// the library it loaded for the rest of the process, so the first success is kept for good.
static LOADED: Mutex<Option<&'static Runtime>> = Mutex::new(None);

/// ONNX Runtime, loaded from a shared library at run time (`ort`'s `load-dynamic`), so the
/// build downloads nothing and the binary does not depend on the library unless a neural
/// voice is used.
#[derive(Debug)]
pub struct Runtime {
    environment: Environment,
    library: PathBuf,
}

impl Runtime {
    /// Loads ONNX Runtime from `library` (e.g. `libonnxruntime.so.1.32.0`) the first time it
    /// is called; later calls return the same runtime.
    ///
    /// A process can hold only one ONNX Runtime, so asking for a different library after one
    /// was loaded is an error naming both. A missing file, or a library that is not a
    /// compatible ONNX Runtime, is a [`NeuralError::Runtime`] or [`NeuralError::Missing`].
    pub fn load(library: &Path) -> Result<&'static Runtime, NeuralError> {
        let library = std::path::absolute(library).map_err(|source| NeuralError::Missing {
            what: "the ONNX Runtime library",
            path: library.to_path_buf(),
            source,
        })?;
        // Checked first, because the loader's own message for a missing file is a bare dlopen
        // error.
        std::fs::metadata(&library).map_err(|source| NeuralError::Missing {
            what: "the ONNX Runtime library",
            path: library.clone(),
            source,
        })?;
        // A poisoned lock only means another thread panicked while loading; the Option inside
        // is still either None or a fully loaded runtime.
        let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(runtime) = *loaded {
            if runtime.library == library {
                return Ok(runtime);
            }
            return Err(NeuralError::RuntimeConflict {
                loaded: runtime.library.clone(),
                requested: library,
            });
        }
        let runtime_error = |reason: String| NeuralError::Runtime {
            path: library.clone(),
            reason,
        };
        let environment = ort::init_from(&library)
            .map_err(|e| runtime_error(e.to_string()))?
            .with_name("vidflow")
            .with_telemetry(false)
            .build()
            .map_err(|e| runtime_error(e.to_string()))?;
        tracing::debug!(library = %library.display(), "loaded ONNX Runtime");
        let runtime: &'static Runtime = Box::leak(Box::new(Runtime {
            environment,
            library,
        }));
        *loaded = Some(runtime);
        Ok(runtime)
    }

    /// The library this runtime was loaded from.
    pub fn library(&self) -> &Path {
        &self.library
    }

    pub(crate) fn environment(&self) -> &Environment {
        &self.environment
    }
}
