//! Measures how fast each voice talks and how fast Flite synthesises, on ordinary prose.
//!
//! The script stage needs the first figure (words per second) to fit a narration into a time
//! budget; the second (real-time factor: seconds of synthesis per second of audio) says what
//! the speak stage costs.
//!
//! ```text
//! cargo run -p vidflow-speech --example speech_rate --release [VOICE...]
//! ```

use std::time::Instant;

use vidflow_speech::{Voice, speak};

/// Ordinary explanatory prose, the kind of text the script stage hands over.
const PROSE: &str = "The city council met on Tuesday evening to discuss the future of the old \
railway station. For more than twenty years the building has stood empty, its windows boarded \
and its platforms overgrown. Several groups have proposed plans to bring it back to life. One \
would turn the main hall into a covered market, with space for local farmers and small shops. \
Another would convert the upper floors into apartments, arguing that the town needs more homes \
close to the centre. A third group wants a museum that tells the story of the line and the \
people who worked on it. Councillors listened to each proposal in turn and asked about costs, \
funding and the time each project would take. The market plan is the cheapest, but it depends \
on traders signing long leases before work begins. The housing plan would bring in the most \
money over time, although neighbours worry about traffic and parking. The museum has strong \
support from older residents, yet it would need a grant from the national heritage fund, \
which is far from certain. After two hours of debate, the council agreed to ask for detailed \
studies of all three ideas. A final decision is expected early next year. Until then, the \
station will stay closed, but the council has promised to repair the roof so that the \
building does not fall further into ruin while the town makes up its mind.";

fn main() -> Result<(), vidflow_core::VidflowError> {
    let requested: Vec<String> = std::env::args().skip(1).collect();
    let names: Vec<&str> = if requested.is_empty() {
        Voice::names().to_vec()
    } else {
        requested.iter().map(String::as_str).collect()
    };
    // Warm up: registering a voice and Flite's first call are one-off costs.
    for name in &names {
        speak(&Voice::load(name)?, "Warming up.")?;
    }
    println!("voice  words  audio_s  words_per_s  speech_words_per_s  synth_s  real_time_factor");
    for name in &names {
        let voice = Voice::load(name)?;
        let started = Instant::now();
        let utterance = speak(&voice, PROSE)?;
        let synth = started.elapsed().as_secs_f64();
        let audio = utterance.duration();
        let words = utterance.words.len();
        // Without the leading and trailing silence: the rate while actually talking.
        let talking = utterance.words.last().map_or(0.0, |w| w.end)
            - utterance.words.first().map_or(0.0, |w| w.start);
        println!(
            "{:<6} {:>5}  {:>7.2}  {:>11.2}  {:>18.2}  {:>7.3}  {:>16.4}",
            voice.name(),
            words,
            audio,
            words as f64 / audio,
            words as f64 / talking,
            synth,
            synth / audio
        );
    }
    Ok(())
}
