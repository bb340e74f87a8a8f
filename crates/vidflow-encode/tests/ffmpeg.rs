//! End-to-end tests against the real ffmpeg and ffprobe.

use std::f64::consts::TAU;
use std::path::Path;
use std::process::Command;

use vidflow_core::ErrorKind;
use vidflow_encode::{
    EncodeError, EncodeSettings, VideoEncoder, encode_only_fps, probe, top_level_atoms, write_wav,
};

const SAMPLE_RATE: u32 = 22_050;

fn small() -> EncodeSettings {
    EncodeSettings {
        width: 320,
        height: 240,
        fps: 25,
        ..EncodeSettings::default()
    }
}

/// A 440 Hz sine tone of `seconds`.
fn sine(seconds: f64) -> Vec<i16> {
    let n = (seconds * SAMPLE_RATE as f64).round() as usize;
    (0..n)
        .map(|i| ((i as f64 * 440.0 * TAU / SAMPLE_RATE as f64).sin() * 10_000.0) as i16)
        .collect()
}

/// Frame `n`: a diagonal luma gradient that slides with `n`, flat chroma.
fn frame(s: &EncodeSettings, n: u64) -> Vec<u8> {
    let (w, h) = (s.width as usize, s.height as usize);
    let mut out = Vec::with_capacity(s.frame_len());
    for y in 0..h {
        for x in 0..w {
            out.push(((x + y) / 2 + n as usize * 3).clamp(16, 235) as u8);
        }
    }
    out.resize(s.frame_len(), 128);
    out
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Decodes frame 0 of a video back to yuv420p with ffmpeg.
fn first_frame(path: &Path) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-i"])
        .arg(path)
        .args([
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            "pipe:1",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn two_seconds_with_audio_probe_as_h264_aac_faststart() {
    let dir = tempfile::tempdir().unwrap();
    let s = small();
    let wav = dir.path().join("voice.wav");
    write_wav(&wav, &sine(2.0).into(), SAMPLE_RATE).unwrap();
    let out = dir.path().join("clip.mp4");

    let mut encoder = VideoEncoder::start(&out, Some(&wav), &s).unwrap();
    for n in 0..50 {
        encoder.write_frame(frame(&s, n)).unwrap();
    }
    assert_eq!(encoder.frames_written(), 50);
    // Nothing may appear under the target's name before finish.
    assert!(!out.exists());
    let video = encoder.finish().unwrap();

    assert_eq!(video.path, out);
    assert_eq!(video.frames, 50);
    assert_eq!(video.bytes, std::fs::metadata(&out).unwrap().len());
    assert_eq!(entries(dir.path()), ["clip.mp4", "voice.wav"]);

    let p = probe(&out).unwrap();
    assert_eq!(p.video_codec, "h264");
    assert_eq!(p.audio_codec.as_deref(), Some("aac"));
    assert_eq!((p.width, p.height), (320, 240));
    assert!((p.fps - 25.0).abs() < 1e-6, "fps {}", p.fps);
    assert!((p.duration - 2.0).abs() < 0.1, "duration {}", p.duration);
    assert!(
        (p.video_duration - 2.0).abs() < 0.04,
        "video {}",
        p.video_duration
    );
    let audio = p.audio_duration.unwrap();
    assert!((audio - 2.0).abs() < 0.1, "audio {audio}");
    assert_eq!(p.frames, Some(50));
    assert!(p.faststart);

    // The atom order itself: the index (moov) sits before the media data (mdat).
    let atoms = top_level_atoms(&out).unwrap();
    let at = |name: &str| atoms.iter().position(|a| a == name).unwrap();
    assert_eq!(atoms[0], "ftyp");
    assert!(at("moov") < at("mdat"), "{atoms:?}");

    // What went in is what comes out: frame 0 decodes close to the frame sent.
    let decoded = first_frame(&out);
    let sent = frame(&s, 0);
    assert_eq!(decoded.len(), sent.len());
    let luma = (s.width * s.height) as usize;
    let mean_error = decoded[..luma]
        .iter()
        .zip(&sent[..luma])
        .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs() as f64)
        .sum::<f64>()
        / luma as f64;
    assert!(mean_error < 3.0, "mean luma error {mean_error}");
}

#[test]
fn video_as_long_as_uneven_audio_matches_within_one_frame() {
    let dir = tempfile::tempdir().unwrap();
    let s = small();
    let seconds = 1.23;
    let wav = dir.path().join("voice.wav");
    write_wav(&wav, &sine(seconds).into(), SAMPLE_RATE).unwrap();
    let out = dir.path().join("uneven.mp4");
    let frames = (seconds * s.fps as f64).ceil() as u64;
    let mut encoder = VideoEncoder::start(&out, Some(&wav), &s).unwrap();
    for n in 0..frames {
        encoder.write_frame(frame(&s, n)).unwrap();
    }
    encoder.finish().unwrap();
    let p = probe(&out).unwrap();
    let one_frame = 1.0 / s.fps as f64;
    assert!((p.video_duration - seconds).abs() <= one_frame, "{p:?}");
    assert!((p.duration - seconds).abs() <= one_frame + 0.03, "{p:?}");
    assert!((p.audio_duration.unwrap() - seconds).abs() < 0.05, "{p:?}");
}

#[test]
fn abort_leaves_no_temp_and_keeps_the_old_output() {
    let dir = tempfile::tempdir().unwrap();
    let s = small();
    let out = dir.path().join("clip.mp4");
    std::fs::write(&out, b"previous video").unwrap();
    let mut encoder = VideoEncoder::start(&out, None, &s).unwrap();
    for n in 0..20 {
        encoder.write_frame(frame(&s, n)).unwrap();
    }
    assert_eq!(
        entries(dir.path()).len(),
        2,
        "the temporary file exists while encoding"
    );
    encoder.abort();
    assert_eq!(entries(dir.path()), ["clip.mp4"]);
    assert_eq!(std::fs::read(&out).unwrap(), b"previous video");
}

#[test]
fn drop_without_finish_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = small();
    let out = dir.path().join("clip.mp4");
    {
        let mut encoder = VideoEncoder::start(&out, None, &s).unwrap();
        for n in 0..20 {
            encoder.write_frame(frame(&s, n)).unwrap();
        }
    }
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn ffmpeg_failure_carries_its_message_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = EncodeSettings {
        preset: "no-such-preset".into(),
        ..small()
    };
    let out = dir.path().join("clip.mp4");
    let mut encoder = VideoEncoder::start(&out, None, &s).unwrap();
    // ffmpeg only opens the encoder once the first frame arrives, so the failure shows
    // either while frames are written or at finish.
    let mut failure = None;
    for n in 0..50 {
        if let Err(e) = encoder.write_frame(frame(&s, n)) {
            failure = Some(e);
            break;
        }
    }
    let err = match failure {
        Some(e) => {
            // The encoder stays failed.
            let again = encoder.write_frame(frame(&s, 0)).unwrap_err();
            assert!(
                matches!(again, EncodeError::AlreadyFailed { .. }),
                "{again}"
            );
            e
        }
        None => encoder.finish().unwrap_err(),
    };
    assert!(matches!(err, EncodeError::Ffmpeg { .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::Internal);
    let msg = err.to_string();
    assert!(
        msg.contains("no-such-preset"),
        "ffmpeg's own words missing: {msg}"
    );
    assert!(msg.contains("clip.mp4"), "{msg}");
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn missing_output_folder_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("missing").join("clip.mp4");
    let err = VideoEncoder::start(&out, None, &small()).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::BadInput);
    let msg = err.to_string();
    assert!(
        msg.contains("missing") && msg.contains("does not exist"),
        "{msg}"
    );
}

#[test]
fn missing_audio_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("nowhere.wav");
    let err = VideoEncoder::start(&dir.path().join("a.mp4"), Some(&wav), &small())
        .err()
        .unwrap();
    assert!(err.to_string().contains("nowhere.wav"), "{err}");
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn wrong_frame_size_stops_the_encode_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let s = small();
    let out = dir.path().join("clip.mp4");
    let mut encoder = VideoEncoder::start(&out, None, &s).unwrap();
    encoder.write_frame(frame(&s, 0)).unwrap();
    let err = encoder.write_frame(vec![0; 100]).unwrap_err();
    assert!(
        matches!(
            err,
            EncodeError::FrameSize {
                index: 1,
                got: 100,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("320x240"), "{err}");
    assert!(entries(dir.path()).is_empty());
    assert!(matches!(
        encoder.finish().unwrap_err(),
        EncodeError::AlreadyFailed { .. }
    ));
}

#[test]
fn finish_without_frames_is_an_error_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clip.mp4");
    let encoder = VideoEncoder::start(&out, None, &small()).unwrap();
    let err = encoder.finish().unwrap_err();
    assert!(err.to_string().contains("no frames"), "{err}");
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn output_without_extension_is_mp4() {
    let dir = tempfile::tempdir().unwrap();
    let s = small();
    let out = dir.path().join("clip");
    let mut encoder = VideoEncoder::start(&out, None, &s).unwrap();
    for n in 0..5 {
        encoder.write_frame(frame(&s, n)).unwrap();
    }
    encoder.finish().unwrap();
    assert_eq!(top_level_atoms(&out).unwrap()[0], "ftyp");
    assert_eq!(probe(&out).unwrap().frames, Some(5));
}

#[test]
fn probe_sees_a_file_without_faststart() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plain.mp4");
    let status = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x48:rate=10:duration=0.5",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let p = probe(&out).unwrap();
    assert!(!p.faststart);
    assert_eq!((p.width, p.height), (64, 48));
    assert!(p.audio_codec.is_none() && p.audio_duration.is_none());
    let atoms = top_level_atoms(&out).unwrap();
    let at = |name: &str| atoms.iter().position(|a| a == name).unwrap();
    assert!(at("mdat") < at("moov"), "{atoms:?}");
}

#[test]
fn wav_round_trips_through_hound() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("voice.wav");
    let samples: Vec<i16> = sine(0.5)
        .into_iter()
        .chain([i16::MIN, i16::MAX, 0, -1])
        .collect();
    write_wav(&path, &samples.clone().into(), SAMPLE_RATE).unwrap();
    assert_eq!(entries(dir.path()), ["voice.wav"]);

    let mut reader = hound::WavReader::open(&path).unwrap();
    let spec = reader.spec();
    assert_eq!(spec.channels, 1);
    assert_eq!(spec.sample_rate, SAMPLE_RATE);
    assert_eq!(spec.bits_per_sample, 16);
    assert_eq!(spec.sample_format, hound::SampleFormat::Int);
    let read: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    assert_eq!(read, samples);
}

#[test]
fn encode_only_fps_is_positive() {
    let s = small();
    let frames: Vec<Vec<u8>> = (0..5).map(|n| frame(&s, n)).collect();
    let fps = encode_only_fps(&frames, 40, None, &s).unwrap();
    assert!(fps.is_finite() && fps > 0.0, "{fps}");
    assert!(encode_only_fps(&[], 10, None, &s).is_err());
}
