//! The built-in Flite voices and their one-time registration.

use std::ffi::c_char;
use std::fmt;

use vidflow_core::VidflowError;

use crate::engine;
use crate::ffi::{self, CstVoice};

/// A voice Flite was built with: its name and the function that builds it.
pub(crate) struct VoiceSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub register: unsafe extern "C" fn(*const c_char) -> *mut CstVoice,
}

/// Every voice this crate links, in the order [`Voice::names`] lists them.
pub(crate) const VOICES: [VoiceSpec; 5] = [
    VoiceSpec {
        name: "slt",
        description: "US English, female (clustergen, 16 kHz)",
        register: ffi::register_cmu_us_slt,
    },
    VoiceSpec {
        name: "awb",
        description: "Scottish English, male (clustergen, 16 kHz)",
        register: ffi::register_cmu_us_awb,
    },
    VoiceSpec {
        name: "rms",
        description: "US English, male (clustergen, 16 kHz)",
        register: ffi::register_cmu_us_rms,
    },
    VoiceSpec {
        name: "kal",
        description: "US English, male (diphone, 8 kHz)",
        register: ffi::register_cmu_us_kal,
    },
    VoiceSpec {
        name: "kal16",
        description: "US English, male (diphone, 16 kHz)",
        register: ffi::register_cmu_us_kal16,
    },
];

const NAMES: [&str; 5] = [
    VOICES[0].name,
    VOICES[1].name,
    VOICES[2].name,
    VOICES[3].name,
    VOICES[4].name,
];

/// A loaded Flite voice, cheap to copy and safe to share between threads.
///
/// It is only an index into the engine's table of registered voices: the C voice itself lives
/// for the rest of the process behind the engine's lock, so a `Voice` cannot dangle and needs
/// no unsafe `Send`/`Sync` promises of its own.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Voice {
    pub(crate) index: usize,
}

impl Voice {
    /// Loads a voice by name: one of [`Voice::names`] (`slt`, `awb`, `rms`, `kal`, `kal16`),
    /// case-insensitive.
    ///
    /// The first load of a voice registers it with Flite (a few milliseconds); later loads
    /// reuse it. An unknown name is the user's bad input, and the error lists the valid names.
    pub fn load(name: &str) -> Result<Voice, VidflowError> {
        let index = Self::index(name)?;
        engine::register(index)?;
        Ok(Voice { index })
    }

    /// Checks that `name` is a voice [`Voice::load`] accepts, without loading it (which
    /// waits for the speech engine's lock while another text is being spoken).
    pub fn check(name: &str) -> Result<(), VidflowError> {
        Self::index(name).map(|_| ())
    }

    /// The voice named `name`, not yet registered with Flite (for resolving a name without
    /// waiting for the engine's lock).
    pub(crate) fn by_name(name: &str) -> Result<Voice, VidflowError> {
        Self::index(name).map(|index| Voice { index })
    }

    fn index(name: &str) -> Result<usize, VidflowError> {
        let wanted = name.trim().to_ascii_lowercase();
        VOICES
            .iter()
            .position(|spec| spec.name == wanted)
            .ok_or_else(|| {
                VidflowError::bad_input(format!(
                    "unknown voice {name:?}: choose one of {}",
                    NAMES.join(", ")
                ))
            })
    }

    /// The names [`Voice::load`] accepts.
    pub fn names() -> &'static [&'static str] {
        &NAMES
    }

    /// This voice's name, as [`Voice::load`] accepts it.
    pub fn name(&self) -> &str {
        VOICES[self.index].name
    }

    /// A short description for people: accent, sex, synthesis method and sample rate.
    pub fn description(&self) -> &'static str {
        VOICES[self.index].description
    }
}

impl fmt::Debug for Voice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Voice").field(&self.name()).finish()
    }
}

impl fmt::Display for Voice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vidflow_core::ErrorKind;

    #[test]
    fn names_round_trip_through_load() {
        for name in Voice::names() {
            let voice = Voice::load(name).unwrap();
            assert_eq!(voice.name(), *name);
        }
        assert_eq!(Voice::load(" SLT ").unwrap().name(), "slt");
    }

    #[test]
    fn unknown_voice_is_bad_input_listing_valid_names() {
        let err = Voice::load("hal9000").unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadInput);
        assert!(err.message.contains("hal9000"), "{}", err.message);
        for name in Voice::names() {
            assert!(err.message.contains(name), "{}", err.message);
        }
    }

    #[test]
    fn voice_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Voice>();
    }
}
