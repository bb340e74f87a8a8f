//! Voices through the real binary: `vidflow voices`, a page in a language no installed voice
//! speaks, a missing model, and a neural voice without espeak-ng; each a clear error with
//! nothing left behind, or a correct result.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

const GERMAN: &str = "<html lang=\"de\"><head><title>Fraktale</title></head><body><article>\
<h1>Fraktale</h1><p>Ein Fraktal ist eine Form, die sich in jedem Maßstab selbst ähnelt. \
Man nimmt eine Zahl, quadriert sie, addiert eine Konstante und wiederholt das immer wieder. \
So entstehen aus einfachen Regeln unendlich reiche Formen, die man stundenlang betrachten \
kann.</p><p>Die Mandelbrot-Menge ist das bekannteste Beispiel dafür. Sie wurde im Jahr 1980 \
zum ersten Mal mit einem Rechner gezeichnet, und seitdem fasziniert sie Menschen auf der \
ganzen Welt.</p></article></body></html>";

/// The installed voices folder, or `None` (after saying why) when the test should skip.
fn installed() -> Option<PathBuf> {
    let dir = vidflow_neural::voices_dir()
        .filter(|d| d.join(vidflow_neural::KNOWN_VOICES[0].model).is_file());
    if dir.is_none() {
        assert!(
            std::env::var_os("VIDFLOW_REQUIRE_VOICES").is_none(),
            "VIDFLOW_REQUIRE_VOICES is set but no neural voice is installed"
        );
        eprintln!("skipping: no neural voice installed (run scripts/install-voices)");
    }
    dir
}

fn make(dir: &Path, args: &[&str], voices: &Path, path: Option<&Path>) -> Output {
    let mut c = vidflow();
    c.current_dir(dir)
        .env_remove("VIDFLOW_VIDEO__VOICE")
        .env("VIDFLOW_VOICES_DIR", voices)
        .args([
            "make",
            "--preset",
            "ultrafast",
            "--cache-dir",
            "cache",
            "-o",
            "out.mp4",
        ])
        .args(args);
    if let Some(path) = path {
        c.env("PATH", path);
    }
    c.output().unwrap()
}

#[test]
fn voices_lists_every_voice_and_says_what_auto_picks() {
    let empty = tempfile::tempdir().unwrap();
    let o = vidflow()
        .env("VIDFLOW_VOICES_DIR", empty.path())
        .args(["voices", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let voices = v["voices"].as_array().unwrap();
    assert_eq!(voices.len(), vidflow_neural::KNOWN_VOICES.len() + 5);
    for voice in voices {
        for field in ["id", "engine", "language", "licence"] {
            assert!(voice[field].is_string(), "{voice}");
        }
        assert!(voice["sample_rate"].as_u64().unwrap() >= 8_000);
        assert_eq!(voice["installed"], voice["engine"] == "flite", "{voice}");
    }
    assert_eq!(v["auto"]["voice"], "slt", "{v}");
    assert!(
        v["auto"]["note"]
            .as_str()
            .unwrap()
            .contains("install-voices"),
        "{v}"
    );

    let o = vidflow()
        .env("VIDFLOW_VOICES_DIR", empty.path())
        .args(["voices", "--lang", "de"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("auto picks nothing") && table.contains("\"de\""),
        "{table}"
    );
}

#[test]
fn a_page_in_a_language_no_voice_speaks_is_refused_unless_a_voice_is_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("no-voices");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(dir.path().join("de.html"), GERMAN).unwrap();
    let o = make(dir.path(), &["de.html", "--max-seconds", "5"], &empty, None);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("language is \"de\""), "{err}");
    assert!(err.contains("--voice-model"), "{err}");
    assert!(!dir.path().join("out.mp4").exists());

    let o = make(
        dir.path(),
        &[
            "de.html",
            "--max-seconds",
            "5",
            "--voice-model",
            "nowhere/de.onnx",
        ],
        &empty,
        None,
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("nowhere/de.onnx"), "{err}");
    assert!(!dir.path().join("out.mp4").exists());
}

#[test]
fn a_neural_voice_without_espeak_ng_fails_clearly_and_with_it_makes_the_video() {
    let Some(voices) = installed() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("script.txt"),
        "A neural voice reads this.\n\nThen a second paragraph, in 1990.",
    )
    .unwrap();
    // A PATH with ffmpeg and ffprobe but no espeak-ng.
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for tool in ["ffmpeg", "ffprobe"] {
        let real = which(tool);
        std::os::unix::fs::symlink(real, bin.join(tool)).unwrap();
    }
    let args = [
        "--script",
        "script.txt",
        "--voice",
        "joe",
        "--max-seconds",
        "10",
    ];
    let o = make(dir.path(), &args, &voices, Some(&bin));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("espeak-ng"), "{err}");
    assert!(err.contains("install"), "{err}");
    assert!(!dir.path().join("out.mp4").exists());

    let o = make(dir.path(), &args, &voices, None);
    assert!(o.status.success(), "{}", stderr(&o));
    let srt = std::fs::read_to_string(dir.path().join("out.srt")).unwrap();
    assert!(srt.contains("1990."), "{srt}");
    let probe = ffprobe(&dir.path().join("out.mp4"));
    let streams = probe["streams"].as_array().unwrap();
    assert!(
        streams.iter().any(|s| s["codec_type"] == "audio"),
        "{probe}"
    );
}

fn which(tool: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{tool} is not on PATH"))
}
