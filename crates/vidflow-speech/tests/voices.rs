//! The voice catalog and neural speech through the speak stage's entry points, with the real
//! Piper voice, ONNX Runtime and espeak-ng as `scripts/install-voices` installs them.
//!
//! Tests needing the neural voice skip, saying why, when it is not installed, unless
//! `VIDFLOW_REQUIRE_VOICES` is set, when they fail instead.

use std::path::{Path, PathBuf};

use vidflow_core::{ErrorKind, Script, Segment, Viseme};
use vidflow_neural::{KNOWN_VOICES, RUNTIME_LIBRARY, voices_dir};
use vidflow_speech::catalog::{resolve_in, voices_in};
use vidflow_speech::{AUTO, SpeakingVoice, speak_script_with};

/// The installed voices folder, or `None` (after saying why) when the tests should skip.
fn installed() -> Option<PathBuf> {
    let dir = voices_dir();
    if dir
        .as_ref()
        .is_some_and(|d| d.join(KNOWN_VOICES[0].model).is_file())
    {
        return dir;
    }
    if std::env::var_os("VIDFLOW_REQUIRE_VOICES").is_some() {
        panic!("VIDFLOW_REQUIRE_VOICES is set but no voice is installed in {dir:?}");
    }
    eprintln!("skipping: no neural voice in {dir:?} (run scripts/install-voices)");
    None
}

fn script(paragraphs: &[&str]) -> Script {
    Script {
        title: "t".into(),
        segments: paragraphs
            .iter()
            .map(|p| Segment {
                narration: (*p).to_string(),
                heading: None,
                key_sentence: String::new(),
                image: None,
            })
            .collect(),
    }
}

#[test]
fn without_neural_voices_auto_is_flite_slt_with_the_reason() {
    let empty = tempfile::tempdir().unwrap();
    for lang in [None, Some("en"), Some("en-GB")] {
        let choice = resolve_in(AUTO, lang, Some(empty.path())).unwrap();
        assert_eq!(choice.id(), "slt");
        assert_eq!(choice.engine(), "flite");
        let why = choice.fallback.expect("a fallback says why");
        assert!(why.contains("not installed"), "{why}");
        assert!(why.contains("scripts/install-voices"), "{why}");
        for known in KNOWN_VOICES {
            assert!(why.contains(known.id), "{why}");
        }
    }
    let listed = voices_in(Some(empty.path()));
    assert!(listed.iter().all(|v| v.installed == (v.engine == "flite")));
    assert_eq!(listed.len(), KNOWN_VOICES.len() + 5);
}

#[test]
fn a_language_no_voice_speaks_is_an_error_naming_it_unless_a_voice_is_chosen() {
    let empty = tempfile::tempdir().unwrap();
    let err = resolve_in(AUTO, Some("de-DE"), Some(empty.path())).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert!(err.message.contains("\"de-DE\""), "{}", err.message);
    assert!(err.message.contains("--voice-model"), "{}", err.message);
    assert!(err.message.contains("--voice "), "{}", err.message);
    // An explicit voice overrides the page's language.
    assert_eq!(
        resolve_in("awb", Some("de"), Some(empty.path()))
            .unwrap()
            .id(),
        "awb"
    );
}

#[test]
fn unknown_and_uninstalled_voices_are_named() {
    let empty = tempfile::tempdir().unwrap();
    let err = resolve_in("hal9000", None, Some(empty.path())).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert!(err.message.contains("hal9000") && err.message.contains("joe"));
    let err = resolve_in("joe", None, Some(empty.path())).unwrap_err();
    assert!(
        err.message.contains("\"joe\" is not installed"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains(KNOWN_VOICES[0].model),
        "{}",
        err.message
    );
    let err = resolve_in("/nowhere/voice.onnx", None, Some(empty.path())).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert!(
        err.message.contains("/nowhere/voice.onnx"),
        "{}",
        err.message
    );
}

#[test]
fn a_long_script_with_flite_keeps_every_word() {
    let sentence = "Each word of a long script is spoken and timed in order.";
    let paragraph = std::iter::repeat_n(sentence, 45)
        .collect::<Vec<_>>()
        .join(" ");
    let paragraphs: Vec<&str> = std::iter::repeat_n(paragraph.as_str(), 10).collect();
    let script = script(&paragraphs);
    let words = script.narration().split_whitespace().count();
    assert!(words >= 5_000, "{words}");
    let voice = resolve_in("slt", None, None).unwrap().load().unwrap();
    let speech = speak_script_with(&script, &voice, 0.3).unwrap();
    assert_eq!(speech.words.len(), words);
    assert!(
        speech
            .words
            .windows(2)
            .all(|w| w[0].end <= w[1].start + 1e-9)
    );
    assert_eq!(speech.segments.len(), 10);
}

/// A folder that looks like an installed voices folder, the model replaced by `model`.
fn voices_folder_with(real: &Path, model: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let joe = &KNOWN_VOICES[0];
    std::fs::write(dir.path().join(joe.model), model).unwrap();
    for name in [format!("{}.json", joe.model), RUNTIME_LIBRARY.to_string()] {
        std::os::unix::fs::symlink(real.join(&name), dir.path().join(&name)).unwrap();
    }
    dir
}

#[test]
fn neural_speech_is_on_the_audio_clock_in_order_and_parallel_pieces_join_cleanly() {
    let Some(dir) = installed() else { return };
    let choice = resolve_in("joe", Some("de"), Some(&dir)).unwrap();
    assert_eq!((choice.engine(), choice.id().as_str()), ("piper", "joe"));
    let params = choice.key_params().unwrap();
    assert!(params.contains(&("model_sha256", KNOWN_VOICES[0].sha256.to_string())));
    let voice = choice.load().unwrap();
    assert!(matches!(voice, SpeakingVoice::Neural(_)));
    // A second load in the same process is the same loaded voice.
    match (&voice, choice.load().unwrap()) {
        (SpeakingVoice::Neural(a), SpeakingVoice::Neural(b)) => {
            assert!(std::sync::Arc::ptr_eq(a, &b))
        }
        _ => unreachable!(),
    }
    // Long enough that each segment is cut into pieces spoken in parallel.
    let long = std::iter::repeat_n("A neural voice reads this sentence aloud, clearly.", 9)
        .collect::<Vec<_>>()
        .join(" ");
    let script = script(&["Hello there, this is vidflow.", &long, "— , The end."]);
    let speech = speak_script_with(&script, &voice, 0.45).unwrap();
    assert_eq!(speech.voice, "joe");
    assert_eq!(speech.sample_rate, 22_050);
    let narration = script.narration();
    let written: Vec<&str> = narration.split_whitespace().collect();
    let said: Vec<&str> = speech.words.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(said, written);
    let duration = speech.duration();
    let mut last = 0.0;
    for w in &speech.words {
        assert!(
            w.start >= last - 1e-9 && w.end >= w.start && w.end <= duration + 1e-9,
            "{w:?}"
        );
        last = w.end;
    }
    assert_eq!(speech.phones[0].start, 0.0);
    for pair in speech.phones.windows(2) {
        assert_eq!(pair[0].end, pair[1].start);
    }
    assert!((speech.phones.last().unwrap().end - duration).abs() < 1e-6);
    assert_eq!(speech.segments.len(), 3);
    assert!(speech.words.iter().all(|w| w.segment < 3));
    // IPA phones give mouth shapes: open vowels, closed lips, and rests.
    let shapes: std::collections::HashSet<Viseme> = speech
        .phones
        .iter()
        .map(|p| Viseme::from_phone(&p.phone))
        .collect();
    assert!(shapes.len() >= 5, "{shapes:?}");
}

#[test]
fn a_corrupt_model_is_refused_by_its_hash() {
    let Some(dir) = installed() else { return };
    let mut bytes = std::fs::read(dir.join(KNOWN_VOICES[0].model)).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    let folder = voices_folder_with(&dir, &bytes);
    let choice = resolve_in("joe", None, Some(folder.path())).unwrap();
    let err = choice.load().unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert!(err.message.contains("corrupt"), "{}", err.message);
    assert!(
        err.message.contains(KNOWN_VOICES[0].sha256),
        "{}",
        err.message
    );
}

#[test]
fn a_model_by_path_uses_its_own_hash_and_a_config_that_does_not_fit_is_refused() {
    let Some(dir) = installed() else { return };
    let joe = &KNOWN_VOICES[0];
    let own = tempfile::tempdir().unwrap();
    let model = own.path().join("mine.onnx");
    std::os::unix::fs::symlink(dir.join(joe.model), &model).unwrap();
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(format!("{}.json", joe.model))).unwrap())
            .unwrap();
    // The config claims speakers the model has no input for.
    config["num_speakers"] = 4.into();
    std::fs::write(own.path().join("mine.onnx.json"), config.to_string()).unwrap();
    let choice = resolve_in(model.to_str().unwrap(), None, Some(&dir)).unwrap();
    assert_eq!(choice.engine(), "piper");
    let params = choice.key_params().unwrap();
    assert!(
        params.contains(&("model_sha256", joe.sha256.to_string())),
        "{params:?}"
    );
    let err = choice.load().unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert!(err.message.contains("speakers"), "{}", err.message);
    assert!(err.message.contains("mine.onnx.json"), "{}", err.message);
}
