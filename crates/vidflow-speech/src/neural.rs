//! Neural voices in the speak stage: loaded once per process, run on several cores at once,
//! their output turned into the pipeline's [`Utterance`]s.
//!
//! A loaded model runs one text at a time, so a voice is kept as a small pool of instances
//! (one per core, at most [`MAX_INSTANCES`]); the first is loaded when the voice is first
//! used, the others when parallel work first needs them, and all are kept for the process.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, LazyLock, Mutex};

use vidflow_core::VidflowError;
use vidflow_neural::{NeuralError, NeuralSpeech, NeuralVoice};

use crate::Utterance;

/// The most instances of one voice a process loads (each holds the model in memory).
pub const MAX_INSTANCES: usize = 4;

/// Words per piece of text handed to one instance: long enough that a run's fixed costs are
/// small, short enough that a long segment spreads over the cores.
const PIECE_WORDS: usize = 60;

type Loader = dyn Fn(usize) -> Result<Box<dyn NeuralVoice>, NeuralError> + Send + Sync;

/// One neural voice, loaded, as a pool of instances that speak in parallel.
pub struct NeuralPool {
    id: String,
    sha256: String,
    sample_rate: u32,
    language: String,
    capacity: usize,
    load: Box<Loader>,
    state: Mutex<PoolState>,
    returned: Condvar,
}

struct PoolState {
    idle: Vec<Box<dyn NeuralVoice>>,
    made: usize,
}

impl std::fmt::Debug for NeuralPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NeuralPool")
            .field("id", &self.id)
            .field("sha256", &self.sha256)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// The voices loaded in this process, by what identifies their files.
static POOLS: LazyLock<Mutex<HashMap<String, Arc<NeuralPool>>>> = LazyLock::new(Default::default);

impl NeuralPool {
    /// The pool for `key`, loading its first instance with `load` (given the threads per run)
    /// when this process has not loaded it yet.
    pub(crate) fn shared(
        key: String,
        id: String,
        load: impl Fn(usize) -> Result<Box<dyn NeuralVoice>, NeuralError> + Send + Sync + 'static,
    ) -> Result<Arc<NeuralPool>, VidflowError> {
        // Held while the first instance loads, so two jobs asking at once load it once.
        let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pool) = pools.get(&key) {
            return Ok(pool.clone());
        }
        let first = load(1).map_err(|e| neural_error(e).context(format!("voice {id}")))?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let pool = Arc::new(NeuralPool {
            id,
            sha256: first.sha256().to_string(),
            sample_rate: first.sample_rate(),
            language: first.language().to_string(),
            capacity: cores.clamp(1, MAX_INSTANCES),
            load: Box::new(load),
            state: Mutex::new(PoolState {
                idle: vec![first],
                made: 1,
            }),
            returned: Condvar::new(),
        });
        tracing::info!(voice = %pool.id, sha256 = %pool.sha256, "loaded a neural voice");
        pools.insert(key, pool.clone());
        Ok(pool)
    }

    /// The voice's id (catalog id or model path).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The model's sha256.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Samples per second of its audio.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The language it speaks, e.g. `en_US`.
    pub fn language(&self) -> &str {
        &self.language
    }

    /// How many texts it speaks at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Speaks `text` with an idle instance, loading another when all are busy and the pool is
    /// not full, else waiting for one.
    pub fn speak(&self, text: &str) -> Result<NeuralSpeech, VidflowError> {
        let instance = self.take()?;
        let result = instance.speak(text);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.idle.push(instance);
        drop(state);
        self.returned.notify_one();
        result.map_err(neural_error)
    }

    fn take(&self) -> Result<Box<dyn NeuralVoice>, VidflowError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(instance) = state.idle.pop() {
                return Ok(instance);
            }
            if state.made < self.capacity {
                state.made += 1;
                drop(state);
                return (self.load)(1).map_err(|e| {
                    self.state.lock().unwrap_or_else(|e| e.into_inner()).made -= 1;
                    neural_error(e).context(format!("voice {}", self.id))
                });
            }
            state = self.returned.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Speaks each of `texts` as pieces of a few sentences, all pieces spread over the pool's
    /// instances at once, each text's pieces joined in order with the voice's own gap between
    /// sentences. Every text's result is returned, in order.
    pub(crate) fn speak_all(&self, texts: &[&str]) -> Vec<Result<Utterance, VidflowError>> {
        let pieces: Vec<(usize, String)> = texts
            .iter()
            .enumerate()
            .flat_map(|(t, text)| pieces(text).into_iter().map(move |p| (t, p)))
            .collect();
        let spoken: Vec<Result<Utterance, VidflowError>> = if pieces.len() <= 1 {
            pieces
                .iter()
                .map(|(_, piece)| self.speak(piece).map(utterance))
                .collect()
        } else {
            let threads = self.capacity.min(pieces.len());
            match rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("speak-{i}"))
                .build()
            {
                Ok(pool) => {
                    use rayon::prelude::*;
                    pool.install(|| {
                        pieces
                            .par_iter()
                            .map(|(_, piece)| self.speak(piece).map(utterance))
                            .collect()
                    })
                }
                Err(e) => {
                    let e = VidflowError::internal(format!("cannot start speech threads: {e}"));
                    return texts.iter().map(|_| Err(e.clone())).collect();
                }
            }
        };
        let gap = (vidflow_neural::SENTENCE_GAP * f64::from(self.sample_rate)).round() as usize;
        let mut out: Vec<Result<Utterance, VidflowError>> = texts
            .iter()
            .map(|_| {
                Err(VidflowError::bad_input(
                    "nothing to speak: the text is empty or only whitespace",
                ))
            })
            .collect();
        let mut started = vec![false; texts.len()];
        for ((t, _), piece) in pieces.iter().zip(spoken) {
            let t = *t;
            if started[t] && out[t].is_err() {
                continue; // an earlier piece of this text failed: that error stands
            }
            let joined = match (started[t], piece) {
                (_, Err(e)) => Err(e),
                (false, Ok(piece)) => Ok(piece),
                (true, Ok(piece)) => {
                    let mut whole = std::mem::replace(&mut out[t], Ok(Utterance::empty()))
                        .expect("checked above");
                    whole.append_silence(gap);
                    whole.append(piece).map(|()| whole)
                }
            };
            started[t] = true;
            out[t] = joined;
        }
        out
    }
}

/// `text` cut after sentence ends into pieces of about [`PIECE_WORDS`] words (a piece holds
/// whole sentences; a sentence longer than that is a piece of its own).
fn pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for word in text.split_whitespace() {
        current.push(word);
        let ends_sentence = word
            .trim_end_matches(['"', '\'', ')', ']', '”', '’'])
            .ends_with(['.', '!', '?']);
        if ends_sentence && current.len() >= PIECE_WORDS {
            out.push(current.join(" "));
            current.clear();
        }
    }
    if !current.is_empty() {
        // A tail with nothing to say (a lone dash) joins the piece before it, where its words
        // get their zero-length times.
        let speaks = current.iter().any(|w| w.chars().any(char::is_alphanumeric));
        match out.last_mut() {
            Some(last) if !speaks => {
                last.push(' ');
                last.push_str(&current.join(" "));
            }
            _ => out.push(current.join(" ")),
        }
    }
    out
}

/// A neural voice's speech as the pipeline's utterance.
fn utterance(speech: NeuralSpeech) -> Utterance {
    Utterance {
        sample_rate: speech.sample_rate,
        samples: speech.samples,
        words: speech.words,
        phones: speech.phones,
        taken: 0,
    }
}

/// A neural voice's error as vidflow's: a missing, corrupt or mismatched file, or text the
/// voice cannot say, is the user's to fix; a runtime failure or a missing program (like a
/// missing ffmpeg) is vidflow's.
pub(crate) fn neural_error(e: NeuralError) -> VidflowError {
    match e {
        NeuralError::Inference { .. }
        | NeuralError::RuntimeConflict { .. }
        | NeuralError::PhonemiserMissing { .. }
        | NeuralError::PhonemiserFailed { .. } => VidflowError::internal(e.to_string()),
        _ => VidflowError::bad_input(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_keep_every_word_in_order_and_cut_only_after_sentences() {
        let sentence = "one two three four five six seven eight nine ten.";
        let text = std::iter::repeat_n(sentence, 15)
            .collect::<Vec<_>>()
            .join(" ");
        let cut = pieces(&text);
        assert!(cut.len() > 1, "{cut:?}");
        assert_eq!(cut.join(" "), text);
        for piece in &cut {
            assert!(piece.ends_with('.'), "{piece}");
        }
        assert_eq!(pieces("no end here"), ["no end here"]);
        assert!(pieces(&format!("{text} —")).last().unwrap().ends_with(" —"));
        assert!(pieces("").is_empty());
    }
}
