//! The Kokoro engine with the real model (kokoro-v1.0.int8), the real style vectors (af_heart,
//! am_michael), ONNX Runtime and espeak-ng, as `scripts/install-voices` installs them.
//!
//! Without them these tests skip, saying so, unless `VIDFLOW_REQUIRE_VOICES` is set, when they
//! fail instead. Texts are short: the model runs at about real time on one thread.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use vidflow_neural::{
    Engine, KNOWN_VOICES, KOKORO_HOP, KOKORO_MODEL, KOKORO_MODEL_SHA256, KnownVoice, KokoroOptions,
    KokoroVoice, NeuralError, NeuralSpeech, NeuralVoice, PAUSE, Phonemiser, RUNTIME_LIBRARY,
    Runtime, SENTENCE_GAP, voices_dir,
};

fn known(id: &str) -> &'static KnownVoice {
    KNOWN_VOICES
        .iter()
        .find(|v| v.id == id)
        .expect("a known voice")
}

/// The installed voices directory, or `None` (after saying why) when the tests should skip.
fn installed() -> Option<PathBuf> {
    let dir = voices_dir();
    let present = dir.as_ref().is_some_and(|d| {
        d.join(KOKORO_MODEL).is_file() && d.join(known("af_heart").model).is_file()
    });
    if present {
        return dir;
    }
    if std::env::var_os("VIDFLOW_REQUIRE_VOICES").is_some() {
        panic!(
            "VIDFLOW_REQUIRE_VOICES is set but the Kokoro voices are not installed in {dir:?}; run scripts/install-voices"
        );
    }
    eprintln!(
        "skipping: no Kokoro model in {dir:?} (run scripts/install-voices, or set VIDFLOW_REQUIRE_VOICES to make this a failure)"
    );
    None
}

fn runtime(dir: &Path) -> &'static Runtime {
    Runtime::load(&dir.join(RUNTIME_LIBRARY)).expect("ONNX Runtime loads")
}

/// af_heart, loaded once for all tests.
fn heart() -> Option<&'static KokoroVoice> {
    static VOICE: OnceLock<KokoroVoice> = OnceLock::new();
    let dir = installed()?;
    Some(VOICE.get_or_init(|| {
        KokoroVoice::load_known(runtime(&dir), &dir, known("af_heart"), 1)
            .expect("the installed voice loads")
    }))
}

fn rms(samples: &[i16]) -> f64 {
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / samples.len().max(1) as f64).sqrt()
}

/// Checks what every result promises: phones gap-free over the whole audio, words in order
/// without overlaps, each written word once.
fn check_invariants(text: &str, speech: &NeuralSpeech) {
    assert_eq!(speech.phones.first().expect("phones").start, 0.0);
    assert_eq!(speech.phones.last().unwrap().end, speech.duration());
    for pair in speech.phones.windows(2) {
        assert_eq!(pair[0].end, pair[1].start, "{pair:?}");
        assert!(pair[0].start <= pair[0].end, "{pair:?}");
    }
    let written: Vec<&str> = text.split_whitespace().collect();
    let words: Vec<&str> = speech.words.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(words, written);
    let mut previous_end = 0.0;
    for word in &speech.words {
        assert!(
            word.start >= previous_end,
            "{word:?} overlaps the word before"
        );
        assert!(word.end >= word.start, "{word:?}");
        assert!(word.end <= speech.duration(), "{word:?}");
        if word.text.chars().any(char::is_alphanumeric) {
            assert!(word.end > word.start, "{word:?} is spoken yet has no time");
        }
        previous_end = word.end;
    }
}

#[test]
fn speaks_audible_speech_whose_length_is_the_models_durations() {
    let Some(voice) = heart() else { return };
    let text = "Better than a robot, in 1990 the voice sounded natural.";
    let speech = voice.speak(text).unwrap();
    assert_eq!(speech.sample_rate, 24_000);
    // One sentence, one run: the audio is exactly the summed durations, 600 samples a frame.
    assert_eq!(
        speech.samples.len() as u64,
        speech.model_frames * KOKORO_HOP as u64
    );
    assert!(
        speech.duration() > 2.0 && speech.duration() < 8.0,
        "{}",
        speech.duration()
    );
    assert!(rms(&speech.samples) > 500.0, "rms {}", rms(&speech.samples));
    check_invariants(text, &speech);
    assert_eq!(speech.phones[0].phone, PAUSE);
    assert_eq!(speech.phones.last().unwrap().phone, PAUSE);
    // Phones are reported in IPA, diphthongs spelt out, never in Kokoro's own letters.
    let phones: Vec<&str> = speech.phones.iter().map(|p| p.phone.as_str()).collect();
    assert!(
        phones.contains(&"oʊ") && phones.contains(&"aɪ"),
        "{phones:?}"
    );
    for letter in ["A", "I", "O", "W", "Y", "Q", "ʤ", "ᵊ"] {
        assert!(
            !phones.iter().any(|p| p.contains(letter)),
            "{letter} in {phones:?}"
        );
    }
    // The year is the longest word to say.
    let year = speech.words.iter().find(|w| w.text == "1990").unwrap();
    assert!(year.end - year.start > 0.5, "{year:?}");
}

#[test]
fn sentences_are_joined_by_a_fixed_gap_and_words_follow_their_audio() {
    let Some(voice) = heart() else { return };
    let text = "First one here. Second, with a clause!";
    let speech = voice.speak(text).unwrap();
    check_invariants(text, &speech);
    let gap = (SENTENCE_GAP * 24_000.0).round() as u64;
    assert_eq!(
        speech.samples.len() as u64,
        speech.model_frames * KOKORO_HOP as u64 + gap
    );
    let second = speech.words.iter().find(|w| w.text == "Second,").unwrap();
    let here = speech.words.iter().find(|w| w.text == "here.").unwrap();
    assert!(second.start >= here.end + SENTENCE_GAP - 1e-9);
    // Each word's span is louder than the pauses the model put around the sentence.
    let at = |t: f64| (t * 24_000.0) as usize;
    for word in &speech.words {
        let span = &speech.samples[at(word.start)..at(word.end)];
        assert!(rms(span) > 300.0, "{word:?} is quiet: rms {}", rms(span));
    }
}

#[test]
fn a_sentence_longer_than_one_run_is_split_and_keeps_every_word() {
    let Some(voice) = heart() else { return };
    // One sentence (under the 60 words at which text is cut into sentences) with no
    // punctuation, yet over 510 phoneme tokens: halved between words until each part fits a
    // run.
    let text = "antidisestablishmentarianism ".repeat(20);
    let ipa = Phonemiser::new("en-us").phonemise(&text).unwrap().join(" ");
    assert!(ipa.chars().count() > 510, "{}", ipa.chars().count());
    let speech = voice.speak(&text).unwrap();
    check_invariants(&text, &speech);
    // Runs of one sentence follow each other with no gap: the audio is the durations exactly.
    assert_eq!(
        speech.samples.len() as u64,
        speech.model_frames * KOKORO_HOP as u64
    );
}

#[test]
fn the_same_text_gives_the_same_samples() {
    let Some(voice) = heart() else { return };
    let text = "Determinism matters.";
    let first = voice.speak(text).unwrap();
    assert_eq!(voice.speak(text).unwrap(), first);
    let dir = installed().unwrap();
    let other = KokoroVoice::load_known(runtime(&dir), &dir, known("af_heart"), 2).unwrap();
    assert_eq!(other.speak(text).unwrap(), first);
    assert_eq!(other.sha256(), voice.sha256());
}

#[test]
fn the_male_voice_differs_and_the_hash_names_both_files() {
    let Some(voice) = heart() else { return };
    let dir = installed().unwrap();
    let michael = KokoroVoice::load_known(runtime(&dir), &dir, known("am_michael"), 1).unwrap();
    let voice: &dyn NeuralVoice = voice;
    let michael: &dyn NeuralVoice = &michael;
    assert_eq!(michael.engine(), Engine::Kokoro);
    assert_eq!(michael.language(), "en_US");
    assert_ne!(michael.sha256(), voice.sha256());
    assert_ne!(michael.sha256(), KOKORO_MODEL_SHA256);
    let text = "Hello there.";
    assert_ne!(
        michael.speak(text).unwrap().samples,
        voice.speak(text).unwrap().samples
    );
}

#[test]
fn known_kokoro_voices_allow_any_use_and_af_heart_ranks_first() {
    let first_any_use = KNOWN_VOICES.iter().find(|v| v.any_use).unwrap();
    assert_eq!(first_any_use.id, "af_heart");
    for voice in KNOWN_VOICES.iter().filter(|v| v.engine == Engine::Kokoro) {
        assert!(voice.any_use && voice.sample_rate == 24_000, "{voice:?}");
        assert!(voice.model.starts_with("kokoro-") && voice.model.ends_with(".bin"));
    }
}

#[test]
fn pinned_hashes_that_do_not_match_are_refused() {
    let Some(dir) = installed() else { return };
    let style = dir.join(known("af_heart").model);
    for options in [
        KokoroOptions {
            model_sha256: Some("00".repeat(32)),
            ..KokoroOptions::default()
        },
        KokoroOptions {
            style_sha256: Some("11".repeat(32)),
            ..KokoroOptions::default()
        },
    ] {
        let err = KokoroVoice::load(runtime(&dir), &dir.join(KOKORO_MODEL), &style, &options)
            .unwrap_err();
        assert!(matches!(err, NeuralError::HashMismatch { .. }), "{err}");
        assert!(err.to_string().contains("install-voices"), "{err}");
    }
}

#[test]
fn broken_files_are_clear_errors() {
    let Some(dir) = installed() else { return };
    let runtime = runtime(&dir);
    let model = dir.join(KOKORO_MODEL);
    let tmp = tempfile::tempdir().unwrap();
    let name = |n: &str| tmp.path().join(n);

    // A style vector that is not whole rows.
    std::fs::write(name("af_bad.bin"), [0u8; 1000]).unwrap();
    let err = KokoroVoice::load(
        runtime,
        &model,
        &name("af_bad.bin"),
        &KokoroOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            NeuralError::NotKokoro {
                what: "style vector",
                ..
            }
        ),
        "{err}"
    );

    // A style vector whose name does not say the accent, with no espeak-ng voice given.
    let style = std::fs::read(dir.join(known("af_heart").model)).unwrap();
    std::fs::write(name("voice.bin"), &style).unwrap();
    let err = KokoroVoice::load(
        runtime,
        &model,
        &name("voice.bin"),
        &KokoroOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("accent"), "{err}");

    // A missing style vector; a model that is not ONNX; a vocabulary that is not JSON.
    let err = KokoroVoice::load(
        runtime,
        &model,
        &name("absent.bin"),
        &KokoroOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, NeuralError::Missing { .. }), "{err}");
    std::fs::write(name("af_x.bin"), &style).unwrap();
    std::fs::write(name("m.onnx"), b"not a model").unwrap();
    std::fs::copy(
        dir.join(format!("{KOKORO_MODEL}.json")),
        name("m.onnx.json"),
    )
    .unwrap();
    let err = KokoroVoice::load(
        runtime,
        &name("m.onnx"),
        &name("af_x.bin"),
        &KokoroOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, NeuralError::NotKokoro { what: "model", .. }),
        "{err}"
    );
    std::fs::write(name("m.onnx.json"), "{ not json").unwrap();
    let err = KokoroVoice::load(
        runtime,
        &name("m.onnx"),
        &name("af_x.bin"),
        &KokoroOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            NeuralError::NotKokoro {
                what: "vocabulary",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn text_and_phonemiser_problems_are_clear_errors() {
    let Some(voice) = heart() else { return };
    for text in ["", "  \n", "— … —"] {
        let err = voice.speak(text).unwrap_err();
        assert!(matches!(err, NeuralError::EmptyText), "{text:?}: {err}");
    }
    let dir = installed().unwrap();
    let load = || KokoroVoice::load_known(runtime(&dir), &dir, known("af_heart"), 1).unwrap();
    let err = load()
        .with_phonemiser(Phonemiser::with_program("/nonexistent/espeak-ng", "en-us"))
        .speak("Hello.")
        .unwrap_err();
    assert!(
        matches!(err, NeuralError::PhonemiserMissing { .. }),
        "{err}"
    );
    let err = load()
        .with_phonemiser(Phonemiser::with_program("true", "en-us"))
        .speak("Hello there.")
        .unwrap_err();
    assert!(matches!(err, NeuralError::EmptyClause { .. }), "{err}");
}

#[test]
fn awkward_text_keeps_every_written_word_in_order() {
    let Some(voice) = heart() else { return };
    let text = "On 5/12/2024 Dr. Smith paid $1,250.50 — \"really?\" she asked; \
                café, naïve, 10:30 & C++. Wait — what? —";
    let speech = voice.speak(text).unwrap();
    check_invariants(text, &speech);
    // The dash that is a clause of its own sits where the word before it ended.
    let wait = speech.words.iter().position(|w| w.text == "Wait").unwrap();
    assert_eq!(speech.words[wait + 1].start, speech.words[wait].end);
}
