//! Piper voices: a VITS model exported to ONNX with a `.onnx.json` beside it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::session::Session;
use ort::value::Tensor;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;
use vidflow_core::{PhoneTiming, WordTiming};

use crate::align::{self, Segment};
use crate::espeak::Phonemiser;
use crate::text::{self, Clause};
use crate::{NeuralError, Runtime};

/// The tensor in Piper's graph holding each phoneme id's duration, in frames: the duration
/// predictor's output after rounding up, which the decoder then expands into audio.
const DURATIONS: &str = "/Ceil_output_0";

/// Samples per duration frame: the hop length of every Piper voice's decoder.
pub const HOP: usize = 256;

/// Silence between sentences, in seconds, so that one does not run into the next (each is
/// spoken by its own model run, whose own trailing silence is short).
pub const SENTENCE_GAP: f64 = 0.2;

/// How a Piper voice is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// The model's sha256 (hex), if it is pinned: loading a file with any other content fails
    /// with [`NeuralError::HashMismatch`].
    pub expected_sha256: Option<String>,
    /// Threads ONNX Runtime may use within one model run.
    pub threads: usize,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            expected_sha256: None,
            threads: 1,
        }
    }
}

/// The parts of Piper's `.onnx.json` that synthesis needs.
#[derive(Debug, Deserialize)]
struct Config {
    audio: AudioConfig,
    espeak: EspeakConfig,
    #[serde(default)]
    phoneme_type: Option<String>,
    phoneme_id_map: HashMap<String, Vec<i64>>,
    #[serde(default)]
    num_speakers: Option<u32>,
    #[serde(default)]
    inference: Option<InferenceConfig>,
    #[serde(default)]
    language: Option<LanguageConfig>,
}

#[derive(Debug, Deserialize)]
struct AudioConfig {
    sample_rate: u32,
}

#[derive(Debug, Deserialize)]
struct EspeakConfig {
    voice: String,
}

#[derive(Debug, Deserialize)]
struct InferenceConfig {
    #[serde(default)]
    length_scale: Option<f32>,
}

#[derive(Debug, Deserialize)]
struct LanguageConfig {
    code: String,
}

/// What a Piper voice said: mono 16-bit samples, with the time of every written word and every
/// phone, in seconds from the start.
///
/// - `words` holds every whitespace-separated word of the text once, in order, as written;
///   their times never overlap and never go backwards.
/// - `phones` (IPA, silences as [`PAUSE`](crate::PAUSE)) run gap-free from 0 to the end of the
///   audio; each comes from the model's own durations, so they are on the audio's clock.
#[derive(Debug, Clone, PartialEq)]
pub struct NeuralSpeech {
    /// Samples per second (the voice's rate, 22 050 for a medium-quality Piper voice).
    pub sample_rate: u32,
    /// Mono 16-bit samples.
    pub samples: Vec<i16>,
    /// Each written word with the time it is spoken; `segment` is 0.
    pub words: Vec<WordTiming>,
    /// Each phone with its time.
    pub phones: Vec<PhoneTiming>,
    /// The model's durations summed over every phoneme id of every sentence, in frames of
    /// [`HOP`] samples: the audio is exactly this long, plus [`SENTENCE_GAP`] between
    /// sentences.
    pub model_frames: u64,
}

impl NeuralSpeech {
    /// Length of the audio in seconds.
    pub fn duration(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate)
    }

    fn seconds(&self, samples: usize) -> f64 {
        samples as f64 / f64::from(self.sample_rate)
    }

    /// Adds `count` samples of silence, as a pause phone.
    fn push_silence(&mut self, count: usize) {
        let start = self.samples.len();
        self.samples.resize(start + count, 0);
        let (start, end) = (self.seconds(start), self.duration());
        match self.phones.last_mut() {
            Some(last) if last.phone == align::PAUSE => last.end = end,
            _ => self.phones.push(PhoneTiming {
                phone: align::PAUSE.to_string(),
                start,
                end,
            }),
        }
    }

    /// Words that are not spoken (a clause of a lone dash) get a zero-length time here.
    fn push_unspoken(&mut self, words: &[&str]) {
        let at = self.duration();
        self.words.extend(words.iter().map(|word| WordTiming {
            text: (*word).to_string(),
            start: at,
            end: at,
            segment: 0,
        }));
    }
}

/// A Piper voice loaded into ONNX Runtime, with its phoneme map and its phonemiser.
///
/// Synthesis is deterministic: the voice is run with both noise scales at zero (Piper's
/// defaults draw random noise on every run, so the same text would give different audio and
/// different timings each time, which neither a content-addressed cache nor a test can allow).
pub struct PiperVoice {
    /// ONNX Runtime sessions run one call at a time through `&mut`.
    session: Mutex<Session>,
    model: PathBuf,
    sha256: String,
    sample_rate: u32,
    language: String,
    phonemiser: Phonemiser,
    ids: HashMap<char, Vec<i64>>,
    bos: Vec<i64>,
    eos: Vec<i64>,
    pad: Vec<i64>,
    multi_speaker: bool,
    length_scale: f32,
}

impl std::fmt::Debug for PiperVoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PiperVoice")
            .field("model", &self.model)
            .field("sha256", &self.sha256)
            .field("sample_rate", &self.sample_rate)
            .field("language", &self.language)
            .finish_non_exhaustive()
    }
}

impl PiperVoice {
    /// Loads the Piper voice `model` (`.onnx`) and its config (the same path plus `.json`),
    /// phonemising with `espeak-ng` from `PATH`.
    pub fn load(
        runtime: &Runtime,
        model: &Path,
        options: &LoadOptions,
    ) -> Result<PiperVoice, NeuralError> {
        let config_path = PathBuf::from(format!("{}.json", model.display()));
        let bytes = std::fs::read(model).map_err(|source| NeuralError::Missing {
            what: "the voice model",
            path: model.to_path_buf(),
            source,
        })?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        if let Some(expected) = &options.expected_sha256
            && !expected.eq_ignore_ascii_case(&sha256)
        {
            return Err(NeuralError::HashMismatch {
                path: model.to_path_buf(),
                expected: expected.to_ascii_lowercase(),
                actual: sha256,
            });
        }
        let config_text =
            std::fs::read_to_string(&config_path).map_err(|source| NeuralError::Missing {
                what: "the voice config",
                path: config_path.clone(),
                source,
            })?;
        let bad_config = |reason: String| NeuralError::BadConfig {
            path: config_path.clone(),
            reason,
        };
        let config: Config =
            serde_json::from_str(&config_text).map_err(|e| bad_config(e.to_string()))?;
        if let Some(kind) = config.phoneme_type.as_deref()
            && kind != "espeak"
        {
            return Err(bad_config(format!(
                "phoneme_type is {kind:?}; only espeak phonemes are supported"
            )));
        }
        if config.audio.sample_rate == 0 {
            return Err(bad_config("audio.sample_rate is 0".to_string()));
        }
        let mut ids = HashMap::with_capacity(config.phoneme_id_map.len());
        for (key, value) in &config.phoneme_id_map {
            let mut chars = key.chars();
            let (Some(symbol), None) = (chars.next(), chars.next()) else {
                return Err(bad_config(format!(
                    "phoneme_id_map key {key:?} is not a single character"
                )));
            };
            if value.is_empty() {
                return Err(bad_config(format!("phoneme_id_map[{key:?}] has no ids")));
            }
            ids.insert(symbol, value.clone());
        }
        let special = |symbol: char, what: &str| {
            ids.get(&symbol).cloned().ok_or_else(|| {
                bad_config(format!("phoneme_id_map has no {what} symbol {symbol:?}"))
            })
        };
        let (bos, eos, pad) = (
            special('^', "sentence start")?,
            special('$', "sentence end")?,
            special('_', "padding")?,
        );

        let inference = |reason: String| NeuralError::Inference {
            doing: "loading the voice model",
            reason,
        };
        let with_durations = crate::onnx::with_extra_output(&bytes, DURATIONS);
        drop(bytes);
        let session = Session::builder(runtime.environment())
            .and_then(|b| Ok(b.with_intra_threads(options.threads.max(1))?))
            .and_then(|b| Ok(b.with_inter_threads(1)?))
            .map_err(|e| inference(e.to_string()))?
            .commit_from_memory(&with_durations)
            .map_err(|e| NeuralError::NotPiper {
                path: model.to_path_buf(),
                reason: e.to_string(),
            })?;
        let has = |wanted: &str| session.inputs().iter().any(|o| o.name() == wanted);
        for input in ["input", "input_lengths", "scales"] {
            if !has(input) {
                return Err(NeuralError::NotPiper {
                    path: model.to_path_buf(),
                    reason: format!("it has no input named {input:?}"),
                });
            }
        }
        let multi_speaker = has("sid");
        if config.num_speakers.unwrap_or(1) > 1 && !multi_speaker {
            return Err(bad_config(format!(
                "it declares {} speakers but the model has no speaker input",
                config.num_speakers.unwrap_or(1)
            )));
        }
        let language = config
            .language
            .map(|l| l.code)
            .unwrap_or_else(|| config.espeak.voice.clone());
        tracing::debug!(model = %model.display(), %sha256, "loaded a Piper voice");
        Ok(PiperVoice {
            session: Mutex::new(session),
            model: model.to_path_buf(),
            sha256,
            sample_rate: config.audio.sample_rate,
            language,
            phonemiser: Phonemiser::new(&config.espeak.voice),
            ids,
            bos,
            eos,
            pad,
            multi_speaker,
            length_scale: config
                .inference
                .and_then(|i| i.length_scale)
                .filter(|s| s.is_finite() && *s > 0.0)
                .unwrap_or(1.0),
        })
    }

    /// The same voice with another phonemiser (another `espeak-ng` program, or voice).
    pub fn with_phonemiser(mut self, phonemiser: Phonemiser) -> PiperVoice {
        self.phonemiser = phonemiser;
        self
    }

    /// The model file's sha256 (hex): what identifies this voice's output in a cache key.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Samples per second of its audio.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Its language code from the config, e.g. `en_US`.
    pub fn language(&self) -> &str {
        &self.language
    }

    /// The model file it was loaded from.
    pub fn model(&self) -> &Path {
        &self.model
    }

    /// Speaks `text`, a sentence at a time, and returns the audio with word and phone times.
    ///
    /// Text with no letters or digits is [`NeuralError::EmptyText`]; a clause the phonemiser
    /// gives nothing for is [`NeuralError::EmptyClause`], and a phoneme the voice does not know
    /// is [`NeuralError::UnknownPhoneme`]: each an error rather than a silent gap.
    pub fn speak(&self, text: &str) -> Result<NeuralSpeech, NeuralError> {
        let sentences = text::sentences(text);
        if !sentences.iter().flatten().any(Clause::has_speech) {
            return Err(NeuralError::EmptyText);
        }
        let mut out = NeuralSpeech {
            sample_rate: self.sample_rate,
            samples: Vec::new(),
            words: Vec::new(),
            phones: Vec::new(),
            model_frames: 0,
        };
        for sentence in &sentences {
            if !sentence.iter().any(Clause::has_speech) {
                for clause in sentence {
                    out.push_unspoken(&clause.words);
                }
                continue;
            }
            if !out.samples.is_empty() {
                out.push_silence((SENTENCE_GAP * f64::from(self.sample_rate)).round() as usize);
            }
            self.speak_sentence(sentence, &mut out)?;
        }
        Ok(out)
    }

    /// Speaks one sentence and appends it to `out`.
    fn speak_sentence(
        &self,
        sentence: &[Clause<'_>],
        out: &mut NeuralSpeech,
    ) -> Result<(), NeuralError> {
        // The sentence's symbols, each with the clause it came from (None for punctuation and
        // Piper's start and end marks) and how many ids it became.
        let mut symbols: Vec<(char, Option<usize>, usize)> = Vec::new();
        let mut ids: Vec<i64> = Vec::new();
        ids.extend(&self.bos);
        ids.extend(&self.pad);
        symbols.push(('^', None, self.bos.len() + self.pad.len()));
        for (index, clause) in sentence.iter().enumerate() {
            let written = clause.text();
            let ipa: String = if clause.has_speech() {
                let ipa = self.phonemiser.phonemise(&written)?.join(" ");
                if ipa.is_empty() {
                    return Err(NeuralError::EmptyClause {
                        clause: written,
                        language: self.phonemiser.voice().to_string(),
                    });
                }
                // Piper trained on decomposed phonemes (a base letter and its combining marks).
                ipa.nfd().collect()
            } else {
                String::new()
            };
            for symbol in ipa.chars() {
                let Some(symbol_ids) = self.ids.get(&symbol) else {
                    return Err(NeuralError::UnknownPhoneme {
                        phoneme: symbol,
                        phonemes: ipa.clone(),
                        clause: written,
                    });
                };
                for id in symbol_ids {
                    ids.push(*id);
                    ids.extend(&self.pad);
                }
                symbols.push((symbol, Some(index), symbol_ids.len() * (1 + self.pad.len())));
            }
            if let Some(terminator) = clause.terminator {
                for symbol in terminator.phonemes().chars() {
                    // Every Piper espeak voice maps the punctuation it was trained with; a map
                    // without it just loses the pause, as in Piper itself.
                    if let Some(symbol_ids) = self.ids.get(&symbol) {
                        for id in symbol_ids {
                            ids.push(*id);
                            ids.extend(&self.pad);
                        }
                        symbols.push((symbol, None, symbol_ids.len() * (1 + self.pad.len())));
                    }
                }
            }
        }
        ids.extend(&self.eos);
        symbols.push(('$', None, self.eos.len()));

        let (audio, durations) = self.run(ids)?;
        let offset = out.samples.len();
        out.samples.extend(audio.iter().map(|&s| {
            // The model's output is nominally within ±1; clipping the rare overshoot is what
            // any 16-bit writer does.
            (s.clamp(-1.0, 1.0) * f32::from(i16::MAX)).round() as i16
        }));
        out.model_frames += durations.iter().sum::<u64>();

        // Each symbol's span in samples, from the durations of its ids.
        let mut timed = Vec::with_capacity(symbols.len());
        let mut id_index = 0;
        let mut at = offset;
        for (symbol, clause, count) in symbols {
            let frames: u64 = durations[id_index..id_index + count].iter().sum();
            let end = at + frames as usize * HOP;
            timed.push((symbol, at, end, clause));
            at = end;
            id_index += count;
        }
        let segments = align::segments(&timed);
        for segment in &segments {
            let (start, end) = (out.seconds(segment.start), out.seconds(segment.end));
            match out.phones.last_mut() {
                Some(last) if segment.is_pause() && last.phone == align::PAUSE => last.end = end,
                _ => out.phones.push(PhoneTiming {
                    phone: segment.name.clone(),
                    start,
                    end,
                }),
            }
        }
        // Where the last word so far ended: a clause with nothing spoken (a lone dash before a
        // comma) has its words there, not at the end of the sentence's audio.
        let mut previous_end = out.seconds(offset);
        for (index, clause) in sentence.iter().enumerate() {
            previous_end = self.time_words(clause, index, &segments, previous_end, out)?;
        }
        Ok(())
    }

    /// Appends the times of `clause`'s words, found by aligning its phones to each word's own
    /// phonemes (see the [`align`] module), and returns where its last word ends. Words of a
    /// clause with no phones are placed at `previous_end`, where the word before them ended.
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
            out.words.extend(clause.words.iter().map(|word| WordTiming {
                text: (*word).to_string(),
                start: previous_end,
                end: previous_end,
                segment: 0,
            }));
            return Ok(previous_end);
        }
        let alone = self.isolated(&clause.words)?;
        let names: Vec<&str> = spoken.iter().map(|s| s.name.as_str()).collect();
        let owner = align::assign(&names, &alone);
        // Where the clause starts: an unspoken first word sits there.
        let mut previous_end = out.seconds(spoken[0].start);
        for (w, word) in clause.words.iter().enumerate() {
            let mine: Vec<&&Segment> = spoken
                .iter()
                .zip(&owner)
                .filter(|(_, o)| **o == Some(w))
                .map(|(s, _)| s)
                .collect();
            let (start, end) = match (mine.first(), mine.last()) {
                (Some(first), Some(last)) => (out.seconds(first.start), out.seconds(last.end)),
                _ => (previous_end, previous_end),
            };
            previous_end = end;
            out.words.push(WordTiming {
                text: (*word).to_string(),
                start,
                end,
                segment: 0,
            });
        }
        Ok(previous_end)
    }

    /// Each word's phone names when phonemised alone.
    ///
    /// The words go to espeak-ng in one call, separated by semicolons so that each is a clause
    /// and comes back on a line of its own; if the lines do not match the words one to one
    /// (a word that is itself several clauses, or none), each word is phonemised on its own.
    fn isolated(&self, words: &[&str]) -> Result<Vec<Vec<String>>, NeuralError> {
        let joined = words.join(" ; ");
        let lines = self.phonemiser.phonemise(&joined)?;
        let per_word = if lines.len() == words.len() {
            lines
        } else {
            words
                .iter()
                .map(|word| Ok(self.phonemiser.phonemise(word)?.join(" ")))
                .collect::<Result<Vec<_>, NeuralError>>()?
        };
        Ok(per_word
            .iter()
            .map(|ipa| align::phone_names(&ipa.nfd().collect::<String>()))
            .collect())
    }

    /// Runs the model on one sentence's ids: the audio, and each id's duration in frames.
    fn run(&self, ids: Vec<i64>) -> Result<(Vec<f32>, Vec<u64>), NeuralError> {
        let failed = |reason: String| NeuralError::Inference {
            doing: "speaking",
            reason,
        };
        let count = ids.len();
        // Noise scale and noise width zero: deterministic output (see the type's docs).
        let scales = vec![0.0_f32, self.length_scale, 0.0];
        let input = Tensor::from_array(([1, count], ids)).map_err(|e| failed(e.to_string()))?;
        let lengths =
            Tensor::from_array(([1], vec![count as i64])).map_err(|e| failed(e.to_string()))?;
        let scales = Tensor::from_array(([3], scales)).map_err(|e| failed(e.to_string()))?;
        let mut inputs = ort::inputs![
            "input" => input,
            "input_lengths" => lengths,
            "scales" => scales,
        ];
        if self.multi_speaker {
            // The first speaker: vidflow does not offer a choice of speaker yet.
            let sid = Tensor::from_array(([1], vec![0_i64])).map_err(|e| failed(e.to_string()))?;
            inputs.push(("sid".into(), sid.into()));
        }
        // A poisoned lock means a run panicked inside ONNX Runtime's bindings; the session
        // holds no state between runs, so it is still usable.
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        let outputs = session.run(inputs).map_err(|e| failed(e.to_string()))?;
        let audio = outputs
            .get("output")
            .ok_or_else(|| failed("the model gave no \"output\"".to_string()))?
            .try_extract_tensor::<f32>()
            .map_err(|e| failed(e.to_string()))?
            .1
            .to_vec();
        let frames = outputs
            .get(DURATIONS)
            .ok_or_else(|| failed(format!("the model gave no {DURATIONS:?}")))?
            .try_extract_tensor::<f32>()
            .map_err(|e| failed(e.to_string()))?
            .1
            .iter()
            .map(|&d| {
                if d.is_finite() && d > 0.0 {
                    d as u64
                } else {
                    0
                }
            })
            .collect::<Vec<u64>>();
        if frames.len() != count {
            return Err(failed(format!(
                "the model gave {} durations for {count} phoneme ids",
                frames.len()
            )));
        }
        let expected = frames.iter().sum::<u64>() as usize * HOP;
        if audio.len() != expected {
            return Err(failed(format!(
                "the model gave {} samples, but its durations add up to {expected}",
                audio.len()
            )));
        }
        Ok((audio, frames))
    }
}
