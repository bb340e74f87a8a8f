//! The speak stage of vidflow: text in, mono PCM out, with the time of every written word and
//! every phone.
//!
//! Speech comes from [Flite](http://cmuflite.org)'s C library (Debian package `flite1-dev`),
//! linked natively through a small hand-written FFI. Flite was chosen because its licence is
//! permissive and because it reports exact phone end times (ARPAbet), which drive the
//! presenter's mouth shapes, and word boundaries, which drive the subtitles.
//!
//! - [`Voice::load`] picks one of Flite's built-in US English voices (`slt`, `awb`, `rms`,
//!   `kal`, `kal16`).
//! - [`speak`] speaks a text and returns an [`Utterance`]: samples, words as written (so
//!   `"$5."` stays `"$5."` in subtitles although it is said "five dollars"), and phones.
//! - [`speak_script`] speaks every segment of a [`Script`], joined by pauses, into the
//!   pipeline's [`Speech`].
//!
//! Flite is not reentrant, so calls are serialised behind one global lock; it is taken for one
//! chunk of a few sentences at a time, so long texts from several threads interleave.
//!
//! ```
//! use vidflow_speech::{Voice, speak};
//!
//! let voice = Voice::load("slt")?;
//! let utterance = speak(&voice, "Hello world, this is vidflow.")?;
//! assert_eq!(utterance.sample_rate, 16_000);
//! assert_eq!(utterance.words[1].text, "world,");
//! assert!(utterance.words[1].start > utterance.words[0].end - 1e-9);
//! // Phones cover the audio from start to end.
//! let last = utterance.phones.last().unwrap();
//! assert_eq!(last.phone, "pau");
//! assert_eq!(last.end, utterance.duration());
//! # Ok::<(), vidflow_core::VidflowError>(())
//! ```

pub mod catalog;
mod engine;
mod ffi;
mod neural;
mod text;
mod utterance;
mod voice;

use std::sync::Arc;

use vidflow_core::{PcmWriter, Script, Speech, SpeechSegment, VidflowError};

/// Script segments a neural voice speaks at once: enough pieces to keep every core busy,
/// few enough that a long script's audio is not all held in memory before it is joined.
const NEURAL_BATCH: usize = 8;

pub use catalog::{AUTO, VoiceChoice, VoiceEntry, resolve, voices};
pub use neural::NeuralPool;
pub use utterance::{PAUSE, Utterance};
pub use voice::Voice;

/// A voice ready to speak: one of Flite's, or a loaded neural voice.
#[derive(Debug, Clone)]
pub enum SpeakingVoice {
    /// A Flite voice, linked in.
    Flite(Voice),
    /// A neural voice, kept loaded for the process.
    Neural(Arc<NeuralPool>),
}

impl SpeakingVoice {
    /// The voice's id (a catalog id, or a model's path).
    pub fn id(&self) -> String {
        match self {
            SpeakingVoice::Flite(v) => v.name().to_string(),
            SpeakingVoice::Neural(pool) => pool.id().to_string(),
        }
    }

    /// Speaks `text`: see [`speak`] for what the result guarantees, which holds for every
    /// engine. A neural voice speaks a long text as pieces on several cores at once.
    pub fn speak(&self, text: &str) -> Result<Utterance, VidflowError> {
        match self {
            SpeakingVoice::Flite(v) => speak(v, text),
            SpeakingVoice::Neural(pool) => {
                if text.trim().is_empty() {
                    return Err(VidflowError::bad_input(
                        "nothing to speak: the text is empty or only whitespace",
                    ));
                }
                pool.speak_all(&[text])
                    .pop()
                    .expect("one result per text")
                    .map_err(|e| e.context(format!("speaking with voice {:?}", pool.id())))
            }
        }
    }
}

/// Speaks `text` with `voice`.
///
/// Every whitespace-separated word of the text appears in the result's `words` exactly once,
/// in order and as written; numbers, symbols and abbreviations are expanded for speaking
/// ("1990" is "nineteen ninety") but reported as the written word. Long texts are spoken a
/// few sentences at a time, so memory stays proportional to the audio produced.
///
/// Empty or whitespace-only text is the user's bad input.
pub fn speak(voice: &Voice, text: &str) -> Result<Utterance, VidflowError> {
    let written = text::written_tokens(text);
    if written.is_empty() {
        return Err(VidflowError::bad_input(
            "nothing to speak: the text is empty or only whitespace",
        ));
    }
    let mut utterance = Utterance::empty();
    for range in text::chunk_ranges(&written) {
        let words = &written[range];
        let forms: Vec<String> = words.iter().map(|word| text::flite_form(word)).collect();
        let input = forms
            .iter()
            .filter(|form| !form.is_empty())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        let synthesis = engine::synthesize(voice.index, &input)
            .map_err(|e| e.context(format!("speaking with voice {:?}", voice.name())))?;
        let spans = text::align(&forms, &synthesis.tokens);
        tracing::debug!(
            voice = voice.name(),
            words = words.len(),
            samples = synthesis.samples.len(),
            "spoke a chunk"
        );
        utterance.append(Utterance::from_synthesis(synthesis, words, &spans))?;
    }
    Ok(utterance)
}

/// Speaks each segment of `script`, joins them with `pause` seconds of silence, and returns
/// the whole [`Speech`].
///
/// Segment `i`'s words carry `segment: i`; `Speech::segments[i]` gives where segment `i` lies,
/// its end including the pause after it (the last segment has none, so the speech ends with
/// its last word's trailing silence). A script without segments, a segment without words, or
/// a negative or non-finite `pause` is the user's bad input.
pub fn speak_script(script: &Script, voice: &Voice, pause: f64) -> Result<Speech, VidflowError> {
    speak_script_with(script, &SpeakingVoice::Flite(*voice), pause)
}

/// [`speak_script`] with any voice. A neural voice speaks each segment's pieces in parallel
/// (one segment at a time, so at most one segment's pieces are in flight besides the joined
/// audio).
pub fn speak_script_with(
    script: &Script,
    voice: &SpeakingVoice,
    pause: f64,
) -> Result<Speech, VidflowError> {
    if !pause.is_finite() || pause < 0.0 {
        return Err(VidflowError::bad_input(format!(
            "pause between segments must be zero or more seconds, not {pause}"
        )));
    }
    if script.segments.is_empty() {
        return Err(VidflowError::bad_input(
            "nothing to speak: the script has no segments",
        ));
    }
    let count = script.segments.len();
    let mut whole = Utterance::empty();
    let mut pcm = PcmWriter::new();
    let stored = |e: std::io::Error| {
        VidflowError::internal(format!(
            "cannot keep the narration's audio in a temporary file: {e}"
        ))
    };
    let mut segments = Vec::with_capacity(count);
    // A neural voice speaks a batch of segments' pieces at once, over several cores; Flite is
    // one engine behind one lock, so it speaks them in turn. Batches, not the whole script:
    // what is spoken but not yet joined is held in memory.
    let mut spoken_batch: Vec<Result<Utterance, VidflowError>> = Vec::new();
    for (i, segment) in script.segments.iter().enumerate() {
        if let SpeakingVoice::Neural(pool) = voice
            && spoken_batch.is_empty()
        {
            let texts: Vec<&str> = script.segments[i..]
                .iter()
                .take(NEURAL_BATCH)
                .map(|s| s.narration.as_str())
                .collect();
            spoken_batch = pool.speak_all(&texts).into_iter().rev().collect();
        }
        let spoken = match spoken_batch.pop() {
            Some(result) => {
                result.map_err(|e| e.context(format!("speaking with voice {:?}", voice.id())))
            }
            None => voice.speak(&segment.narration),
        };
        let mut spoken =
            spoken.map_err(|e| e.context(format!("script segment {} of {count}", i + 1)))?;
        for word in &mut spoken.words {
            word.segment = i;
        }
        let start = whole.duration();
        whole.append(spoken)?;
        if i + 1 < count {
            let silence = (pause * f64::from(whole.sample_rate)).round() as usize;
            whole.append_silence(silence);
        }
        segments.push(SpeechSegment {
            start,
            end: whole.duration(),
        });
        pcm.push(&whole.take_samples()).map_err(stored)?;
    }
    Ok(Speech {
        sample_rate: whole.sample_rate,
        samples: pcm.finish().map_err(stored)?,
        words: whole.words,
        phones: whole.phones,
        segments,
        voice: voice.id(),
    })
}
