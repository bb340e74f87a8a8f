//! Measures a Piper voice's real-time factor: seconds of computing per second of audio.
//!
//! ```sh
//! cargo run --release -p vidflow-neural --example piper_rtf -- [THREADS] [OUT.wav]
//! ```
//!
//! Speaks a fixed narration of about a minute with the installed `joe` voice, once to warm up
//! and three times measured, and prints the median; with `OUT.wav` it also writes the audio.

use std::time::Instant;

use vidflow_neural::{KNOWN_VOICES, LoadOptions, PiperVoice, RUNTIME_LIBRARY, Runtime, voices_dir};

const NARRATION: &str = "vidflow turns a web page into a narrated explainer video. It fetches \
the page, finds its main text, writes a short script, and speaks it with a neural voice that \
runs on the processor, with no network and no graphics card. Every word's time comes from the \
voice model itself, so the subtitles and the presenter's mouth follow the speech exactly. The \
slides are drawn from the page's own headings and images, and the frames stream straight into \
the encoder, so memory stays flat however long the video is. Each stage is cached by content: \
change only the presenter, and the speech is not spoken again. When many videos are wanted, \
workers on other machines share the rendering through a queue, and a worker that dies has its \
task taken over by another. A tuner searches the encoder's settings for the smallest file that \
still looks the same, and remembers what it found. The whole thing is one program, usable from \
the command line, as a web service, or as a worker.";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().map_or(Ok(1), |a| a.parse())?;
    let wav = args.next();
    let dir = voices_dir().ok_or("no home directory to find the voices in")?;
    let runtime = Runtime::load(&dir.join(RUNTIME_LIBRARY))?;
    let joe = &KNOWN_VOICES[0];
    let options = LoadOptions {
        expected_sha256: Some(joe.sha256.to_string()),
        threads,
    };
    let voice = PiperVoice::load(runtime, &dir.join(joe.model), &options)?;
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
        "threads {threads}: {:.1} s of audio in {median:.2} s (median of 3): real-time factor {:.3}",
        speech.duration(),
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
