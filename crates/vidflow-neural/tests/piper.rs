//! The Piper engine with the real voice (en_US-joe-medium), the real ONNX Runtime and the real
//! espeak-ng, as `scripts/install-voices` installs them.
//!
//! Without the voices directory these tests skip, saying so, unless `VIDFLOW_REQUIRE_VOICES`
//! is set (as it is where the voices are meant to be installed), when they fail instead.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use vidflow_neural::{
    HOP, KNOWN_VOICES, LoadOptions, NeuralError, NeuralSpeech, PAUSE, Phonemiser, PiperVoice,
    RUNTIME_LIBRARY, Runtime, SENTENCE_GAP, voices_dir,
};

/// The installed voices directory, or `None` (after saying why) when the tests should skip.
fn installed() -> Option<PathBuf> {
    let dir = voices_dir();
    let present = dir
        .as_ref()
        .is_some_and(|d| d.join(KNOWN_VOICES[0].model).is_file());
    if present {
        return dir;
    }
    if std::env::var_os("VIDFLOW_REQUIRE_VOICES").is_some() {
        panic!(
            "VIDFLOW_REQUIRE_VOICES is set but the voice is not installed in {dir:?}; run scripts/install-voices"
        );
    }
    eprintln!(
        "skipping: no Piper voice in {dir:?} (run scripts/install-voices, or set VIDFLOW_REQUIRE_VOICES to make this a failure)"
    );
    None
}

fn runtime(dir: &Path) -> &'static Runtime {
    Runtime::load(&dir.join(RUNTIME_LIBRARY)).expect("ONNX Runtime loads")
}

fn pinned() -> LoadOptions {
    LoadOptions {
        expected_sha256: Some(KNOWN_VOICES[0].sha256.to_string()),
        threads: 1,
    }
}

/// The voice, loaded once for all tests.
fn joe() -> Option<&'static PiperVoice> {
    static VOICE: OnceLock<PiperVoice> = OnceLock::new();
    let dir = installed()?;
    Some(VOICE.get_or_init(|| {
        PiperVoice::load(runtime(&dir), &dir.join(KNOWN_VOICES[0].model), &pinned())
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
    let first = speech.phones.first().expect("phones");
    assert_eq!(first.start, 0.0);
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
    let Some(voice) = joe() else { return };
    let text = "Better than a robot, in 1990 the voice sounded natural.";
    let speech = voice.speak(text).unwrap();
    assert_eq!(speech.sample_rate, 22_050);
    // One sentence: the audio is exactly the summed durations, 256 samples a frame.
    assert_eq!(
        speech.samples.len() as u64,
        speech.model_frames * HOP as u64
    );
    assert!(
        speech.duration() > 2.0 && speech.duration() < 8.0,
        "{}",
        speech.duration()
    );
    assert!(rms(&speech.samples) > 500.0, "rms {}", rms(&speech.samples));
    check_invariants(text, &speech);
    // Speech starts and ends with silence, and phones are IPA without stress marks.
    assert_eq!(speech.phones[0].phone, PAUSE);
    assert_eq!(speech.phones.last().unwrap().phone, PAUSE);
    assert!(speech.phones.iter().any(|p| p.phone == "ɹ"));
    assert!(!speech.phones.iter().any(|p| p.phone.contains('ˈ')));
}

#[test]
fn merged_and_expanded_words_each_get_their_own_time() {
    let Some(voice) = joe() else { return };
    // espeak-ng says "than a" as one word and "1990" as two.
    let text = "Better than a robot in 1990";
    let speech = voice.speak(text).unwrap();
    check_invariants(text, &speech);
    let than = &speech.words[1];
    let a = &speech.words[2];
    assert!(than.end <= a.start && a.end > a.start, "{than:?} {a:?}");
    // "1990" is the longest word to say, well over a third of a second.
    let year = speech.words.last().unwrap();
    assert!(year.end - year.start > 0.4, "{year:?}");
}

#[test]
fn sentences_are_joined_by_a_fixed_gap() {
    let Some(voice) = joe() else { return };
    let text = "First sentence here. Second one, with a clause! And a third?";
    let speech = voice.speak(text).unwrap();
    check_invariants(text, &speech);
    let gap = (SENTENCE_GAP * 22_050.0).round() as u64;
    assert_eq!(
        speech.samples.len() as u64,
        speech.model_frames * HOP as u64 + 2 * gap
    );
    // Words of later sentences start after the gap that precedes them.
    let second = speech.words.iter().find(|w| w.text == "Second").unwrap();
    let sentence = speech.words.iter().find(|w| w.text == "here.").unwrap();
    assert!(second.start >= sentence.end + SENTENCE_GAP - 1e-9);
}

#[test]
fn the_same_text_gives_the_same_samples() {
    let Some(voice) = joe() else { return };
    let text = "Determinism matters for the cache.";
    let first = voice.speak(text).unwrap();
    let second = voice.speak(text).unwrap();
    assert_eq!(first, second);
    // A freshly loaded copy of the voice says it identically too.
    let dir = installed().unwrap();
    let other =
        PiperVoice::load(runtime(&dir), &dir.join(KNOWN_VOICES[0].model), &pinned()).unwrap();
    assert_eq!(other.speak(text).unwrap(), first);
    assert_eq!(other.sha256(), KNOWN_VOICES[0].sha256);
}

#[test]
fn words_without_speech_get_zero_length_times_where_they_stand() {
    let Some(voice) = joe() else { return };
    let text = "Wait — what? —";
    let speech = voice.speak(text).unwrap();
    check_invariants(text, &speech);
    let dash = &speech.words[1];
    assert_eq!(dash.start, dash.end);
    assert_eq!(dash.start, speech.words[0].end);

    // A clause of nothing but a dash, before words that are spoken: in place, not after them.
    let text = "Well, —, here we are.";
    let speech = voice.speak(text).unwrap();
    check_invariants(text, &speech);
    assert_eq!(speech.words[1].start, speech.words[0].end);
}

#[test]
fn text_with_nothing_to_say_is_an_error() {
    let Some(voice) = joe() else { return };
    for text in ["", "   \n", "— … —"] {
        let err = voice.speak(text).unwrap_err();
        assert!(matches!(err, NeuralError::EmptyText), "{text:?}: {err}");
    }
}

#[test]
fn a_pinned_hash_that_does_not_match_is_refused() {
    let Some(dir) = installed() else { return };
    let options = LoadOptions {
        expected_sha256: Some("00".repeat(32)),
        threads: 1,
    };
    let err =
        PiperVoice::load(runtime(&dir), &dir.join(KNOWN_VOICES[0].model), &options).unwrap_err();
    assert!(matches!(err, NeuralError::HashMismatch { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains(KNOWN_VOICES[0].sha256), "{message}");
    assert!(message.contains("install-voices"), "{message}");
}

/// A voice directory with the real config (perhaps edited) beside `model`.
fn voice_dir_with(model: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> tempfile::TempDir {
    let dir = installed().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(dir.join("en_US-joe-medium.onnx.json")).unwrap();
    let mut config: serde_json::Value = serde_json::from_str(&config).unwrap();
    edit(&mut config);
    std::fs::write(tmp.path().join("v.onnx"), model).unwrap();
    std::fs::write(tmp.path().join("v.onnx.json"), config.to_string()).unwrap();
    tmp
}

#[test]
fn a_corrupt_or_missing_model_is_a_clear_error() {
    let Some(dir) = installed() else { return };
    let runtime = runtime(&dir);
    let tmp = voice_dir_with(b"not an onnx model", |_| {});
    let err =
        PiperVoice::load(runtime, &tmp.path().join("v.onnx"), &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, NeuralError::NotPiper { .. }), "{err}");

    let err = PiperVoice::load(runtime, &tmp.path().join("absent.onnx"), &pinned()).unwrap_err();
    assert!(matches!(err, NeuralError::Missing { .. }), "{err}");
    assert!(err.to_string().contains("absent.onnx"), "{err}");

    std::fs::write(tmp.path().join("v.onnx.json"), "{ not json").unwrap();
    let model = std::fs::read(dir.join(KNOWN_VOICES[0].model)).unwrap();
    std::fs::write(tmp.path().join("v.onnx"), model).unwrap();
    let err = PiperVoice::load(runtime, &tmp.path().join("v.onnx"), &pinned()).unwrap_err();
    assert!(matches!(err, NeuralError::BadConfig { .. }), "{err}");
}

#[test]
fn a_missing_runtime_library_is_a_clear_error() {
    let err = Runtime::load(Path::new("/nonexistent/libonnxruntime.so.1.32.0")).unwrap_err();
    assert!(matches!(err, NeuralError::Missing { .. }), "{err}");
    assert!(err.to_string().contains("install-voices"), "{err}");
}

#[test]
fn a_phoneme_the_voice_does_not_know_is_an_error() {
    let Some(dir) = installed() else { return };
    let model = std::fs::read(dir.join(KNOWN_VOICES[0].model)).unwrap();
    // The same voice, but with "ð" (the first sound of "the") taken out of its phoneme map.
    let tmp = voice_dir_with(&model, |config| {
        config["phoneme_id_map"]
            .as_object_mut()
            .unwrap()
            .remove("ð");
    });
    let voice = PiperVoice::load(
        runtime(&dir),
        &tmp.path().join("v.onnx"),
        &LoadOptions::default(),
    )
    .unwrap();
    let err = voice.speak("Say the word.").unwrap_err();
    match &err {
        NeuralError::UnknownPhoneme {
            phoneme, clause, ..
        } => {
            assert_eq!(*phoneme, 'ð');
            assert_eq!(clause, "Say the word.");
        }
        other => panic!("expected UnknownPhoneme, got {other}"),
    }
    assert!(err.to_string().contains("U+00F0"), "{err}");
}

#[test]
fn phonemiser_problems_are_clear_errors() {
    let Some(dir) = installed() else { return };
    let load =
        || PiperVoice::load(runtime(&dir), &dir.join(KNOWN_VOICES[0].model), &pinned()).unwrap();
    let voice = load().with_phonemiser(Phonemiser::with_program("/nonexistent/espeak-ng", "en-us"));
    let err = voice.speak("Hello.").unwrap_err();
    assert!(
        matches!(err, NeuralError::PhonemiserMissing { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("espeak-ng"), "{err}");

    // A phonemiser that says nothing for a clause with words in it: an error, not a gap.
    let voice = load().with_phonemiser(Phonemiser::with_program("true", "en-us"));
    let err = voice.speak("Hello there.").unwrap_err();
    match &err {
        NeuralError::EmptyClause { clause, .. } => assert_eq!(clause, "Hello there."),
        other => panic!("expected EmptyClause, got {other}"),
    }

    let voice = load().with_phonemiser(Phonemiser::with_program("false", "en-us"));
    let err = voice.speak("Hello.").unwrap_err();
    assert!(matches!(err, NeuralError::PhonemiserFailed { .. }), "{err}");

    // An espeak-ng voice that does not exist.
    let voice = load().with_phonemiser(Phonemiser::new("xx-nonexistent"));
    let err = voice.speak("Hello.").unwrap_err();
    assert!(matches!(err, NeuralError::PhonemiserFailed { .. }), "{err}");
}

#[test]
fn phones_map_to_the_mouth_shapes_their_sounds_need() {
    use vidflow_core::Viseme;
    let Some(voice) = joe() else { return };
    let speech = voice.speak("Move, fool.").unwrap();
    let shapes: Vec<Viseme> = speech
        .phones
        .iter()
        .map(|p| Viseme::from_phone(&p.phone))
        .collect();
    // m closes the lips, uː puckers, v and f put the teeth on the lip, l lifts the tongue,
    // and the pauses rest.
    for shape in [Viseme::A, Viseme::F, Viseme::G, Viseme::H, Viseme::X] {
        assert!(shapes.contains(&shape), "{shape:?} missing from {shapes:?}");
    }
}

#[test]
fn awkward_text_keeps_every_written_word_in_order() {
    let Some(voice) = joe() else { return };
    let text = "On 5/12/2024 Dr. Smith paid $1,250.50 (about €1,100) for 3.5 kg — \
                \"really?\" she asked; e.g. https://example.org/page… isn't it 100% OK?! \
                Yes: café, naïve, 10:30 & C++.";
    let speech = voice.speak(text).unwrap();
    check_invariants(text, &speech);
    assert!(rms(&speech.samples) > 500.0);
}
