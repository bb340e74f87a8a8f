//! The only door to Flite: one global lock, one `flite_init`, voices registered once, and the
//! walk over a synthesised utterance that copies out samples, phones and token spans.
//!
//! Flite is not reentrant (global voice and language lists, shared lexicon caches), so every
//! call into it happens with [`ENGINE`] locked. The lock is held for one chunk of text at a
//! time, so two long jobs interleave instead of one waiting for the other to finish entirely.

use std::collections::HashMap;
use std::ffi::{CStr, CString, c_char};
use std::ptr;
use std::sync::{LazyLock, Mutex, MutexGuard};

use vidflow_core::VidflowError;

use crate::ffi::{self, CstItem, CstUtterance, CstVoice};
use crate::voice::VOICES;

/// Flite's global state, as far as this crate is concerned: the voices registered so far.
struct Engine {
    voices: [*mut CstVoice; VOICES.len()],
}

// SAFETY: the voice pointers are only dereferenced (by Flite) while the engine's mutex is held,
// so moving the table between threads cannot cause concurrent access to the C structures.
unsafe impl Send for Engine {}

/// The global engine. `LazyLock` runs `flite_init` exactly once, before the first lock.
static ENGINE: LazyLock<Mutex<Engine>> = LazyLock::new(|| {
    // SAFETY: first and only call, made before any other Flite function (LazyLock guarantees
    // the initialiser runs once, and nothing reaches Flite except through ENGINE).
    unsafe {
        ffi::flite_init();
    }
    Mutex::new(Engine {
        voices: [ptr::null_mut(); VOICES.len()],
    })
});

/// Seed for the noise Flite's clustergen voices mix in (glibc's own default seed is 1).
const NOISE_SEED: libc::c_uint = 1;

fn lock() -> MutexGuard<'static, Engine> {
    // A panic while the lock was held came from our Rust code between Flite calls, never from
    // inside Flite, and every utterance is freed by its guard, so the state is still sound.
    ENGINE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Registers voice `index` with Flite unless that was done before.
pub(crate) fn register(index: usize) -> Result<(), VidflowError> {
    let mut engine = lock();
    if engine.voices[index].is_null() {
        let spec = &VOICES[index];
        // SAFETY: the engine lock is held; a null voxdir means "use the compiled-in data".
        let voice = unsafe { (spec.register)(ptr::null()) };
        if voice.is_null() {
            return Err(VidflowError::internal(format!(
                "Flite could not register voice {:?} (register_cmu_us_{} returned nothing)",
                spec.name, spec.name
            )));
        }
        engine.voices[index] = voice;
    }
    Ok(())
}

/// What one `flite_synth_text` call produced, copied out of Flite's structures.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Synthesis {
    pub sample_rate: u32,
    /// Mono samples.
    pub samples: Vec<i16>,
    /// Each phone of relation "Segment" with its end time in seconds, in order.
    pub phones: Vec<(String, f64)>,
    /// Each item of relation "Token", in order.
    pub tokens: Vec<SynthToken>,
}

/// One of Flite's tokens: the text it read and which phones it became.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SynthToken {
    /// The token as written: prepunctuation, name and punctuation put back together.
    pub text: String,
    /// Indices of its first and last phone in [`Synthesis::phones`]; `None` when it was not
    /// pronounced (a lone dash, a symbol Flite cannot say).
    pub phones: Option<(usize, usize)>,
}

/// Frees an utterance however the walk over it ends.
struct UtteranceGuard(*mut CstUtterance);

impl Drop for UtteranceGuard {
    fn drop(&mut self) {
        // SAFETY: the pointer came from flite_synth_text, is freed only here, and the guard
        // lives inside the scope that holds the engine lock.
        unsafe { ffi::delete_utterance(self.0) }
    }
}

/// Synthesises `text` (one chunk: a few sentences) with the registered voice `index`.
pub(crate) fn synthesize(index: usize, text: &str) -> Result<Synthesis, VidflowError> {
    let c_text = CString::new(text).map_err(|_| {
        VidflowError::internal("text for Flite contains a NUL byte (it should have been removed)")
    })?;
    let engine = lock();
    let voice = engine.voices[index];
    if voice.is_null() {
        return Err(VidflowError::internal(format!(
            "voice {:?} was used before it was registered",
            VOICES[index].name
        )));
    }
    // SAFETY: lock held, voice registered, text NUL-terminated and alive for the call. The
    // clustergen voices (slt, awb, rms) mix noise from libc's rand() into their excitation;
    // reseeding it for every synthesis makes the same text give the same samples, so speech
    // is reproducible and content-addressed outputs downstream stay stable.
    let utt = unsafe {
        libc::srand(NOISE_SEED);
        ffi::flite_synth_text(c_text.as_ptr(), voice)
    };
    if utt.is_null() {
        return Err(VidflowError::internal(format!(
            "Flite produced no utterance for {} bytes of text with voice {:?}",
            text.len(),
            VOICES[index].name
        )));
    }
    let guard = UtteranceGuard(utt);
    // SAFETY: the utterance is alive until `guard` drops, after this call, with the lock held.
    let result = unsafe { read_utterance(guard.0, VOICES[index].name) };
    drop(guard);
    drop(engine);
    result
}

/// Copies the wave, the phones and the token spans out of a synthesised utterance.
///
/// # Safety
/// `utt` must be a live utterance from `flite_synth_text`, and the engine lock must be held.
unsafe fn read_utterance(utt: *mut CstUtterance, voice: &str) -> Result<Synthesis, VidflowError> {
    let (sample_rate, samples) = unsafe { read_wave(utt, voice)? };

    // Phones, and where each Segment item sits in the list, so the words can find theirs.
    let mut phones = Vec::new();
    let mut phone_index: HashMap<*const CstItem, usize> = HashMap::new();
    let mut item = unsafe { relation_head(utt, c"Segment") };
    let mut last_end = 0.0f64;
    while !item.is_null() {
        let name = unsafe { feat_string(item, c"name") }.unwrap_or_else(|| "pau".to_string());
        // Flite's ends never go backwards, but a clamp keeps the timeline monotonic for sure.
        let end = unsafe { feat_float(item, c"end") }
            .map(f64::from)
            .unwrap_or(last_end)
            .max(last_end);
        last_end = end;
        phone_index.insert(item.cast_const(), phones.len());
        phones.push((name, end));
        item = unsafe { ffi::item_next(item) };
    }

    // Tokens: each Token item's daughters are its Word items, whose syllables' daughters are
    // the word's segments; the first and last of them give the token's phone span.
    let mut tokens = Vec::new();
    let mut token = unsafe { relation_head(utt, c"Token") };
    while !token.is_null() {
        let text = [c"prepunctuation", c"name", c"punc"]
            .iter()
            .filter_map(|feat| unsafe { feat_string(token, feat) })
            .collect::<String>();
        let mut span: Option<(usize, usize)> = None;
        let mut word = unsafe { ffi::item_daughter(token) };
        while !word.is_null() {
            let structure = unsafe { ffi::item_as(word, c"SylStructure".as_ptr()) };
            let mut syllable = if structure.is_null() {
                ptr::null_mut()
            } else {
                unsafe { ffi::item_daughter(structure) }
            };
            while !syllable.is_null() {
                let mut segment = unsafe { ffi::item_daughter(syllable) };
                while !segment.is_null() {
                    let in_segments = unsafe { ffi::item_as(segment, c"Segment".as_ptr()) };
                    if let Some(&i) = phone_index.get(&in_segments.cast_const()) {
                        span = Some(match span {
                            None => (i, i),
                            Some((first, last)) => (first.min(i), last.max(i)),
                        });
                    }
                    segment = unsafe { ffi::item_next(segment) };
                }
                syllable = unsafe { ffi::item_next(syllable) };
            }
            word = unsafe { ffi::item_next(word) };
        }
        tokens.push(SynthToken { text, phones: span });
        token = unsafe { ffi::item_next(token) };
    }

    Ok(Synthesis {
        sample_rate,
        samples,
        phones,
        tokens,
    })
}

/// The utterance's waveform as mono samples (Flite's voices are mono; anything else is mixed
/// down rather than misread).
unsafe fn read_wave(utt: *mut CstUtterance, voice: &str) -> Result<(u32, Vec<i16>), VidflowError> {
    let wave = unsafe { ffi::utt_wave(utt) };
    if wave.is_null() {
        return Err(VidflowError::internal(format!(
            "Flite synthesised no waveform with voice {voice:?}"
        )));
    }
    let wave = unsafe { &*wave };
    if wave.sample_rate <= 0 {
        return Err(VidflowError::internal(format!(
            "Flite's waveform for voice {voice:?} has sample rate {}",
            wave.sample_rate
        )));
    }
    let frames = usize::try_from(wave.num_samples).unwrap_or(0);
    let channels = usize::try_from(wave.num_channels).unwrap_or(1).max(1);
    let samples = if frames == 0 || wave.samples.is_null() {
        Vec::new()
    } else {
        // SAFETY: cst_wave holds num_samples frames of num_channels interleaved shorts.
        let raw = unsafe { std::slice::from_raw_parts(wave.samples, frames * channels) };
        if channels == 1 {
            raw.to_vec()
        } else {
            raw.chunks_exact(channels)
                .map(|frame| {
                    let sum: i32 = frame.iter().map(|&s| i32::from(s)).sum();
                    (sum / channels as i32) as i16
                })
                .collect()
        }
    };
    Ok((wave.sample_rate as u32, samples))
}

unsafe fn relation_head(utt: *mut CstUtterance, name: &CStr) -> *mut CstItem {
    let relation = unsafe { ffi::utt_relation(utt, name.as_ptr()) };
    if relation.is_null() {
        ptr::null_mut()
    } else {
        unsafe { ffi::relation_head(relation) }
    }
}

/// A string feature, or `None` when the item lacks it (asking Flite for an absent feature
/// would make it print an error and exit the process).
unsafe fn feat_string(item: *const CstItem, name: &CStr) -> Option<String> {
    if unsafe { ffi::item_feat_present(item, name.as_ptr()) } == 0 {
        return None;
    }
    let value: *const c_char = unsafe { ffi::item_feat_string(item, name.as_ptr()) };
    if value.is_null() {
        return None;
    }
    Some(
        unsafe { CStr::from_ptr(value) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// A float feature, or `None` when the item lacks it.
unsafe fn feat_float(item: *const CstItem, name: &CStr) -> Option<f32> {
    if unsafe { ffi::item_feat_present(item, name.as_ptr()) } == 0 {
        return None;
    }
    Some(unsafe { ffi::item_feat_float(item, name.as_ptr()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthesis_reports_tokens_phones_and_audio() {
        register(0).unwrap();
        let synth = synthesize(0, "Hello world, this is vidflow.").unwrap();
        assert_eq!(synth.sample_rate, 16_000);
        assert!(
            synth.samples.len() > 16_000,
            "{} samples",
            synth.samples.len()
        );
        let texts: Vec<&str> = synth.tokens.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["Hello", "world,", "this", "is", "vidflow."]);
        assert!(synth.tokens.iter().all(|t| t.phones.is_some()));
        assert_eq!(synth.phones.first().unwrap().0, "pau");
        assert_eq!(synth.phones.last().unwrap().0, "pau");
        // "hello" is hh ax l ow, right after the leading pause.
        let (first, last) = synth.tokens[0].phones.unwrap();
        let hello: Vec<&str> = synth.phones[first..=last]
            .iter()
            .map(|(p, _)| p.as_str())
            .collect();
        assert_eq!(hello, ["hh", "ax", "l", "ow"]);
    }
}
