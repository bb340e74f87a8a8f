//! Measures any installed voice's real-time factor: seconds of computing per second of audio.
//!
//! ```sh
//! cargo run --release -p vidflow-neural --example voice_rtf -- VOICE [THREADS] [OUT.wav]
//! ```
//!
//! `VOICE` is an id of `KNOWN_VOICES` (`joe`, `af_heart`, `am_michael`). Speaks the same
//! narration of about a minute as `piper_rtf`, once to warm up and three times measured, and
//! prints the median; with `OUT.wav` it also writes the audio.

use std::time::Instant;

use vidflow_neural::{
    Engine, KNOWN_VOICES, KokoroVoice, LoadOptions, NeuralVoice, PiperVoice, RUNTIME_LIBRARY,
    Runtime, voices_dir,
};

const NARRATION: &str = include_str!("narration.txt");

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
    let speech = voice.speak(NARRATION)?;
    let mut seconds = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        voice.speak(NARRATION)?;
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
