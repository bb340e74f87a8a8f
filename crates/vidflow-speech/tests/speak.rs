//! The speak stage against the real Flite library: every voice, written words kept, phones
//! gap-free, scripts offset correctly, bad input refused, and threads safe.

use std::thread;

use vidflow_core::{ErrorKind, PhoneTiming, Script, Segment, WordTiming};
use vidflow_speech::{Utterance, Voice, speak, speak_script};

const HELLO: &str = "Hello world, this is vidflow.";

fn texts(words: &[WordTiming]) -> Vec<&str> {
    words.iter().map(|w| w.text.as_str()).collect()
}

/// Phones start at 0, each starts where the previous ended, none runs backwards, and the last
/// ends at the audio's end (within one sample period).
fn assert_phones_cover(phones: &[PhoneTiming], duration: f64, sample_rate: u32) {
    assert!(!phones.is_empty());
    assert_eq!(phones[0].start, 0.0);
    for pair in phones.windows(2) {
        assert_eq!(pair[0].end, pair[1].start, "gap or overlap: {pair:?}");
    }
    for phone in phones {
        assert!(phone.end >= phone.start, "backwards: {phone:?}");
        assert!(!phone.phone.is_empty());
    }
    let last = phones.last().unwrap();
    assert_eq!(last.phone, "pau");
    assert!(
        (last.end - duration).abs() <= 1.0 / f64::from(sample_rate),
        "last phone ends at {} but the audio at {duration}",
        last.end
    );
}

/// Words are in order, inside the audio, and each spoken word spans some phones.
fn assert_words_ordered(words: &[WordTiming], duration: f64) {
    let mut previous_end = 0.0;
    for word in words {
        assert!(
            word.start >= previous_end - 1e-9,
            "{word:?} starts before {previous_end}"
        );
        assert!(word.end >= word.start, "{word:?}");
        assert!(word.end <= duration + 1e-9, "{word:?} after {duration}");
        previous_end = word.end;
    }
}

fn rms(samples: &[i16]) -> f64 {
    let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (sum / samples.len() as f64).sqrt()
}

fn assert_sane(utterance: &Utterance, text: &str) {
    let written: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(texts(&utterance.words), written);
    assert_phones_cover(
        &utterance.phones,
        utterance.duration(),
        utterance.sample_rate,
    );
    assert_words_ordered(&utterance.words, utterance.duration());
}

#[test]
fn every_voice_speaks_hello_world() {
    for name in Voice::names() {
        let voice = Voice::load(name).unwrap();
        let u = speak(&voice, HELLO).unwrap();
        assert!(
            [8_000, 16_000].contains(&u.sample_rate),
            "{name}: {} Hz",
            u.sample_rate
        );
        let duration = u.duration();
        assert!((1.0..5.0).contains(&duration), "{name}: {duration} s");
        assert!(rms(&u.samples) > 300.0, "{name}: nearly silent");
        assert_sane(&u, HELLO);
        assert_eq!(u.words[1].text, "world,");
        for word in &u.words {
            assert!(word.end - word.start > 0.05, "{name}: {word:?} too short");
        }
        // The words are spoken in the middle, between the opening and closing pauses.
        assert!(u.words[0].start > 0.0);
        assert!(u.words[4].end < duration);
        // Every phone inside a word is a real phone, not a pause.
        let inside: Vec<&PhoneTiming> = u
            .phones
            .iter()
            .filter(|p| p.start >= u.words[0].start && p.end <= u.words[0].end)
            .collect();
        assert_eq!(
            inside.iter().map(|p| p.phone.as_str()).collect::<Vec<_>>(),
            ["hh", "ax", "l", "ow"],
            "{name}"
        );
    }
}

#[test]
fn kal_speaks_at_eight_kilohertz_and_the_others_at_sixteen() {
    let rate = |name: &str| {
        speak(&Voice::load(name).unwrap(), "Yes.")
            .unwrap()
            .sample_rate
    };
    assert_eq!(rate("kal"), 8_000);
    for name in ["slt", "awb", "rms", "kal16"] {
        assert_eq!(rate(name), 16_000, "{name}");
    }
}

#[test]
fn numbers_and_abbreviations_keep_their_written_form() {
    let text = "In 1990 Dr. Smith paid $5.";
    let u = speak(&Voice::load("slt").unwrap(), text).unwrap();
    assert_sane(&u, text);
    assert_eq!(
        texts(&u.words),
        ["In", "1990", "Dr.", "Smith", "paid", "$5."]
    );
    // "1990" is said as two words and "$5." as "five dollars": longer than their neighbours.
    let length = |i: usize| u.words[i].end - u.words[i].start;
    assert!(length(1) > length(0) * 2.0, "1990: {}", length(1));
    assert!(length(5) > length(4), "$5.: {}", length(5));
    for word in &u.words {
        assert!(word.end > word.start, "{word:?}");
    }
}

#[test]
fn punctuation_and_symbols_flite_does_not_say_are_still_words() {
    // Flite drops a lone quote or bracket and says nothing for a dash; subtitles still need
    // every written word, so each is there, in order, with a zero-length time where it stands.
    let text = "He said \" hello \" — then ( quietly ) left... café “curly” 50% x-y foo/bar";
    let u = speak(&Voice::load("slt").unwrap(), text).unwrap();
    assert_sane(&u, text);
    // He said " hello " — then ( quietly ) ...
    for i in [2, 4, 5, 7, 9] {
        let unsaid = &u.words[i];
        assert_eq!(unsaid.start, unsaid.end, "{unsaid:?}");
        assert_eq!(unsaid.start, u.words[i - 1].end, "{unsaid:?}");
    }
    assert_eq!(u.words[5].text, "—");
    for i in [0, 1, 3, 6, 8, 10, 11, 12, 13, 14, 15] {
        assert!(u.words[i].end > u.words[i].start, "{:?}", u.words[i]);
    }
}

#[test]
fn control_characters_do_not_reach_flite() {
    let text = "bell\u{7}ring and a\u{0}nul";
    let u = speak(&Voice::load("slt").unwrap(), text).unwrap();
    assert_sane(&u, text);
    assert_eq!(u.words[0].text, "bell\u{7}ring");
}

#[test]
fn empty_or_blank_text_is_bad_input() {
    let voice = Voice::load("slt").unwrap();
    for text in ["", "   ", "\n\t \u{a0}"] {
        let err = speak(&voice, text).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadInput, "{text:?}");
        assert!(err.message.contains("empty"), "{}", err.message);
    }
}

#[test]
fn unknown_voice_is_bad_input_naming_the_choices() {
    let err = Voice::load("robot").unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert_eq!(err.exit_code(), 2);
    assert!(err.message.contains("\"robot\""), "{}", err.message);
    assert!(
        err.message.contains("slt, awb, rms, kal"),
        "{}",
        err.message
    );
}

#[test]
fn speaking_is_deterministic() {
    let voice = Voice::load("awb").unwrap();
    assert_eq!(speak(&voice, HELLO).unwrap(), speak(&voice, HELLO).unwrap());
}

#[test]
fn long_text_is_spoken_whole_in_chunks() {
    // About 3000 words: many chunks, each a separate Flite utterance, joined seamlessly.
    let sentence = "The committee reviewed 12 proposals, and Dr. Jones said the third was \
                    the best value for money.";
    let text = vec![sentence; 180].join(" ");
    let voice = Voice::load("kal16").unwrap();
    let u = speak(&voice, &text).unwrap();
    assert_sane(&u, &text);
    assert_eq!(u.words.len(), 180 * 17);
    // Roughly three words a second, as for short text: chunking adds no long silences.
    let rate = u.words.len() as f64 / u.duration();
    assert!((2.0..4.5).contains(&rate), "{rate} words per second");
    // The same sentence takes about the same time wherever it falls.
    let lengths: Vec<f64> = u
        .words
        .chunks(17)
        .map(|s| s.last().unwrap().end - s[0].start)
        .collect();
    let shortest = lengths.iter().copied().fold(f64::INFINITY, f64::min);
    let longest = lengths.iter().copied().fold(0.0, f64::max);
    assert!(longest - shortest < 0.5, "{shortest}..{longest}");
}

fn script(narrations: &[&str]) -> Script {
    Script {
        title: "Test".into(),
        segments: narrations
            .iter()
            .map(|n| Segment {
                narration: (*n).to_string(),
                heading: None,
                key_sentence: n.split('.').next().unwrap_or_default().to_string(),
                image: None,
            })
            .collect(),
    }
}

#[test]
fn script_segments_are_offset_and_separated_by_the_pause() {
    let voice = Voice::load("slt").unwrap();
    let narrations = [
        "First we fetch the page.",
        "Then we read it, in 1990 style.",
        "Finally we speak.",
    ];
    let pause = 0.5;
    let speech = speak_script(&script(&narrations), &voice, pause).unwrap();
    assert_eq!(speech.voice, "slt");
    assert_eq!(speech.sample_rate, 16_000);
    assert_eq!(speech.segments.len(), 3);
    assert_phones_cover(&speech.phones, speech.duration(), speech.sample_rate);
    assert_words_ordered(&speech.words, speech.duration());

    let all: Vec<&str> = narrations
        .iter()
        .flat_map(|n| n.split_whitespace())
        .collect();
    assert_eq!(texts(&speech.words), all);

    assert_eq!(speech.segments[0].start, 0.0);
    assert_eq!(speech.segments[2].end, speech.duration());
    let mut offset = 0.0;
    for (i, narration) in narrations.iter().enumerate() {
        let alone = speak(&voice, narration).unwrap();
        let span = &speech.segments[i];
        assert_eq!(
            span.start, offset,
            "segment {i} starts where the previous ended"
        );
        // Each segment's words are exactly the words spoken alone, shifted by its start.
        let words: Vec<&WordTiming> = speech.words.iter().filter(|w| w.segment == i).collect();
        assert_eq!(words.len(), alone.words.len());
        for (joined, single) in words.iter().zip(&alone.words) {
            assert_eq!(joined.text, single.text);
            assert!((joined.start - (span.start + single.start)).abs() < 1e-9);
            assert!((joined.end - (span.start + single.end)).abs() < 1e-9);
        }
        let expected = alone.duration() + if i < 2 { pause } else { 0.0 };
        assert!(
            (span.end - span.start - expected).abs() <= 1.0 / 16_000.0,
            "segment {i}: {span:?}, expected {expected} s"
        );
        // The audio itself is the segment's audio followed by silence.
        let first = (span.start * 16_000.0).round() as usize;
        assert_eq!(
            &speech.samples.to_vec().unwrap()[first..first + alone.samples.len()],
            &alone.samples[..]
        );
        offset = span.end;
    }
    // Segment 2 starts after segment 1's last word plus the pause.
    let last_of_first = speech.words.iter().rfind(|w| w.segment == 0).unwrap();
    let first_of_second = speech.words.iter().find(|w| w.segment == 1).unwrap();
    assert!(speech.segments[1].start >= last_of_first.end + pause);
    assert!(first_of_second.start > speech.segments[1].start);
}

#[test]
fn zero_pause_joins_segments_back_to_back() {
    let voice = Voice::load("kal").unwrap();
    let speech = speak_script(&script(&["One.", "Two."]), &voice, 0.0).unwrap();
    let one = speak(&voice, "One.").unwrap();
    let two = speak(&voice, "Two.").unwrap();
    assert_eq!(speech.samples.len(), one.samples.len() + two.samples.len());
    assert_eq!(speech.segments[0].end, speech.segments[1].start);
    assert_phones_cover(&speech.phones, speech.duration(), speech.sample_rate);
}

#[test]
fn bad_scripts_and_pauses_are_bad_input() {
    let voice = Voice::load("slt").unwrap();
    let err = speak_script(&script(&[]), &voice, 0.5).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);

    let err = speak_script(&script(&["Fine.", "  "]), &voice, 0.5).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert!(err.message.contains("segment 2 of 2"), "{}", err.message);

    for pause in [-0.1, f64::NAN, f64::INFINITY] {
        let err = speak_script(&script(&["Fine."]), &voice, pause).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadInput, "{pause}");
    }
}

#[test]
fn threads_speaking_at_once_get_the_same_results_as_alone() {
    let jobs = [
        ("slt", HELLO),
        ("awb", "In 1990 Dr. Smith paid $5."),
        (
            "rms",
            "Several threads talk at the same time, and none of them crashes.",
        ),
        ("kal16", "Flite is not reentrant, so the calls take turns."),
    ];
    let expected: Vec<Utterance> = jobs
        .iter()
        .map(|(name, text)| speak(&Voice::load(name).unwrap(), text).unwrap())
        .collect();
    let handles: Vec<_> = jobs
        .iter()
        .map(|&(name, text)| {
            thread::spawn(move || {
                let voice = Voice::load(name).unwrap();
                (0..3)
                    .map(|_| speak(&voice, text).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for (handle, expected) in handles.into_iter().zip(&expected) {
        for got in handle.join().expect("speaking thread panicked") {
            assert_eq!(&got, expected);
        }
    }
}
