//! Speaks the text on standard input with an installed voice and writes a 16-bit WAV.
//!
//! ```sh
//! echo "Hello there." | cargo run --release -p vidflow-neural --example speak_wav -- VOICE OUT.wav
//! ```
//!
//! `VOICE` is an id of `KNOWN_VOICES` (`joe`, `af_heart`, `am_michael`); `scripts/voice-samples`
//! uses it for the samples in `docs/voices/`.

use std::io::Read;

use vidflow_neural::{
    Engine, KNOWN_VOICES, KokoroVoice, LoadOptions, NeuralVoice, PiperVoice, RUNTIME_LIBRARY,
    Runtime, voices_dir,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(id), Some(path)) = (args.next(), args.next()) else {
        return Err("usage: speak_wav VOICE OUT.wav < text".into());
    };
    let known = KNOWN_VOICES
        .iter()
        .find(|v| v.id == id)
        .ok_or_else(|| format!("no known voice {id:?}"))?;
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    let dir = voices_dir().ok_or("no home directory to find the voices in")?;
    let runtime = Runtime::load(&dir.join(RUNTIME_LIBRARY))?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
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
    let speech = voice.speak(&text)?;
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
    eprintln!("{id}: {:.1} s written to {path}", speech.duration());
    Ok(())
}
