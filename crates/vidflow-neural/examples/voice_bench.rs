//! Measures an installed voice: its real-time factor (seconds of computing per second of
//! audio) and how far its word times are from word boundaries found in the audio itself.
//!
//! ```sh
//! cargo run --release -p vidflow-neural --example voice_bench -- VOICE [THREADS] [OUT.wav]
//! ```
//!
//! `VOICE` is an id of `KNOWN_VOICES` (`joe`, `af_heart`, `am_michael`). Speaks the narration
//! in `narration.txt` (about a minute, the same as `piper_rtf`'s) once to warm up and three
//! times measured, and prints the median; with `OUT.wav` it also writes the audio.
//!
//! # Timing error
//!
//! The independent alignment is energy-based: the audio's RMS in 10 ms frames, a frame being
//! silent below 3% (−30 dB) of the 95th-percentile frame; a run of at least 80 ms of silent
//! frames is a pause. A pause the speaker makes between two words marks where one ended and the
//! next began, whatever the model says. Each pause is matched, in order, to the word boundary
//! of the model's word times nearest to it (both edges within 500 ms; a pause inside a word, such as a
//! long stop closure, matches none and is counted apart), and the error is the distance from
//! the pause's start to the earlier word's end and from its end to the later word's start, plus
//! the speech's first onset against the first word's start.
//!
//! What it cannot see: boundaries between words spoken without a pause (most of them, in
//! running speech), so it measures the word times only where they meet silence; and a quiet
//! consonant at a word's edge (a final `t`, a breathy `h`) can sit below the threshold, which
//! makes the energy edge earlier or later than the word's true edge by that consonant; and the
//! silent closure of a stop that starts a word (`p` in "the page") looks like a pause, though
//! it belongs to the word, so there the word's true start is the pause's start, not its end.
//! The errors are therefore an upper bound at pauses, and say nothing directly about
//! boundaries in connected speech.

use std::time::Instant;

use vidflow_neural::NeuralSpeech;

use vidflow_neural::{
    Engine, KNOWN_VOICES, KokoroVoice, LoadOptions, NeuralVoice, PiperVoice, RUNTIME_LIBRARY,
    Runtime, voices_dir,
};

const NARRATION: &str = include_str!("narration.txt");

/// The text to speak: `$VOICE_BENCH_TEXT` when set (for looking at one sentence), else the
/// narration.
fn narration() -> String {
    std::env::var("VOICE_BENCH_TEXT").unwrap_or_else(|_| NARRATION.to_string())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let id = args
        .next()
        .ok_or("usage: voice_rtf VOICE [THREADS] [OUT.wav]")?;
    let threads: usize = args.next().map_or(Ok(1), |a| a.parse())?;
    let wav = args.next();
    let known = KNOWN_VOICES
        .iter()
        .find(|v| v.id == id)
        .ok_or_else(|| format!("no known voice {id:?}"))?;
    let dir = voices_dir().ok_or("no home directory to find the voices in")?;
    let runtime = Runtime::load(&dir.join(RUNTIME_LIBRARY))?;
    let voice: Box<dyn NeuralVoice> = match known.engine {
        Engine::Piper => Box::new(PiperVoice::load(
            runtime,
            &dir.join(known.model),
            &LoadOptions {
                expected_sha256: Some(known.sha256.to_string()),
                threads,
            },
        )?),
        Engine::Kokoro => Box::new(KokoroVoice::load_known(runtime, &dir, known, threads)?),
    };
    let text = narration();
    let speech = voice.speak(&text)?;
    if std::env::var_os("VOICE_BENCH_DEBUG").is_some() {
        for w in &speech.words {
            println!("{:?} {:.3}-{:.3}", w.text, w.start, w.end);
        }
    }
    let errors = timing_errors(&speech);
    println!(
        "{id}: word times against energy pauses: {} edges, mean {:.0} ms, p95 {:.0} ms, max {:.0} ms ({} pauses inside words, left out)",
        errors.errors.len(),
        mean(&errors.errors),
        percentile(&errors.errors, 0.95),
        percentile(&errors.errors, 1.0),
        errors.unmatched
    );
    println!(
        "{id}: word starts after a pause: mean {:.0} ms, p95 {:.0} ms; word ends before a pause: mean {:.0} ms, p95 {:.0} ms",
        mean(&errors.starts),
        percentile(&errors.starts, 0.95),
        mean(&errors.ends),
        percentile(&errors.ends, 0.95),
    );
    if std::env::var_os("VOICE_BENCH_NO_RTF").is_some() {
        return Ok(());
    }
    let mut seconds = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        voice.speak(&text)?;
        seconds.push(start.elapsed().as_secs_f64());
    }
    seconds.sort_by(f64::total_cmp);
    let median = seconds[1];
    println!(
        "{id}, threads {threads}: {:.1} s of audio in {median:.2} s (median of 3; runs {:.2} {:.2} {:.2}): real-time factor {:.3}",
        speech.duration(),
        seconds[0],
        seconds[1],
        seconds[2],
        median / speech.duration()
    );
    if let Some(path) = wav {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: speech.sample_rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(&path, spec)?;
        for sample in &speech.samples {
            writer.write_sample(*sample)?;
        }
        writer.finalize()?;
        println!("wrote {path}");
    }
    Ok(())
}

/// The timing errors, in ms, of every edge matched, and how many pauses matched no boundary.
struct TimingErrors {
    errors: Vec<f64>,
    /// The errors of the words' ends (before a pause) alone.
    ends: Vec<f64>,
    /// The errors of the words' starts (after a pause) alone.
    starts: Vec<f64>,
    unmatched: usize,
}

/// Compares the model's word times with the pauses found in the audio (see the module docs).
fn timing_errors(speech: &NeuralSpeech) -> TimingErrors {
    const FRAME: f64 = 0.010;
    const MIN_PAUSE: f64 = 0.080;
    const MAX_DISTANCE: f64 = 0.500;
    let rate = f64::from(speech.sample_rate);
    let frame = (FRAME * rate) as usize;
    let rms: Vec<f64> = speech
        .samples
        .chunks(frame)
        .map(|c| (c.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / c.len() as f64).sqrt())
        .collect();
    let mut sorted = rms.clone();
    sorted.sort_by(f64::total_cmp);
    let loud = sorted[(sorted.len() as f64 * 0.95) as usize];
    let silent: Vec<bool> = rms.iter().map(|&r| r < loud * 0.03).collect();
    // Pauses: runs of silent frames at least MIN_PAUSE long, as (start, end) in seconds; the
    // leading and trailing silence give the speech's first onset and last offset.
    let mut pauses = Vec::new();
    let mut i = 0;
    while i < silent.len() {
        if !silent[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < silent.len() && silent[i] {
            i += 1;
        }
        if (i - start) as f64 * FRAME >= MIN_PAUSE || start == 0 || i == silent.len() {
            pauses.push((start as f64 * FRAME, i as f64 * FRAME));
        }
    }
    let spoken: Vec<_> = speech.words.iter().filter(|w| w.end > w.start).collect();
    let mut starts = Vec::new();
    let mut ends = Vec::new();
    let mut unmatched = 0;
    let mut next_boundary = 0;
    for &(start, end) in &pauses {
        if start == 0.0 {
            // The first onset.
            starts.push((spoken[0].start - end).abs() * 1000.0);
            continue;
        }
        if end >= speech.duration() - FRAME {
            ends.push((spoken[spoken.len() - 1].end - start).abs() * 1000.0);
            continue;
        }
        // The nearest boundary at or after the last one matched: pauses and boundaries both
        // run forwards in time.
        let middle = (start + end) / 2.0;
        let best = (next_boundary..spoken.len().saturating_sub(1)).min_by(|&a, &b| {
            let at = |k: usize| ((spoken[k].end + spoken[k + 1].start) / 2.0 - middle).abs();
            at(a).total_cmp(&at(b))
        });
        match best {
            Some(k)
                if (spoken[k].end - start).abs() <= MAX_DISTANCE
                    && (spoken[k + 1].start - end).abs() <= MAX_DISTANCE =>
            {
                ends.push((spoken[k].end - start).abs() * 1000.0);
                starts.push((spoken[k + 1].start - end).abs() * 1000.0);
                if std::env::var_os("VOICE_BENCH_DEBUG").is_some() {
                    println!(
                        "pause {start:.2}-{end:.2}: {:?} ends {:.3}, {:?} starts {:.3}",
                        spoken[k].text,
                        spoken[k].end,
                        spoken[k + 1].text,
                        spoken[k + 1].start
                    );
                }
                next_boundary = k + 1;
            }
            _ => {
                if std::env::var_os("VOICE_BENCH_DEBUG").is_some() {
                    println!("pause {start:.2}-{end:.2}: no word boundary near");
                }
                unmatched += 1
            }
        }
    }
    let errors = starts.iter().chain(&ends).copied().collect();
    TimingErrors {
        errors,
        ends,
        starts,
        unmatched,
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// The `p` quantile (nearest rank) of `values`.
fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
