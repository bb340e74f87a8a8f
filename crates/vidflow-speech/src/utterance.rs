//! Spoken audio with word and phone timings, and how pieces of it are joined.

use vidflow_core::{PhoneTiming, VidflowError, WordTiming};

use crate::engine::Synthesis;

/// The phone name Flite uses for silence.
pub const PAUSE: &str = "pau";

/// What [`speak`](crate::speak) returns: mono PCM with the timing of every written word and
/// every phone, in seconds from the start of the audio.
///
/// Guarantees, whatever the text:
/// - `words` holds every whitespace-separated word of the text exactly once, in order, as
///   written (punctuation kept: `"world,"`); a word Flite does not pronounce (a lone dash)
///   gets a zero-length time where it stands;
/// - `phones` run from 0 without gaps or overlaps (each starts where the previous ends) and
///   the last one ends exactly at the end of the audio; silences are `"pau"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    /// Samples per second (16 000 for every voice but `kal`, which is 8 000).
    pub sample_rate: u32,
    /// Mono 16-bit samples.
    pub samples: Vec<i16>,
    /// Each written word with the time it is spoken; `segment` is 0.
    pub words: Vec<WordTiming>,
    /// Each phone (ARPAbet, lower case) with its time, gap-free from 0 to the end.
    pub phones: Vec<PhoneTiming>,
    /// Samples already moved out by [`Utterance::take_samples`]: they still count in the
    /// duration, so that what is appended later is timed after them.
    pub(crate) taken: usize,
}

impl Utterance {
    /// Length of the audio in seconds.
    pub fn duration(&self) -> f64 {
        if self.sample_rate == 0 {
            0.0
        } else {
            (self.taken + self.samples.len()) as f64 / self.sample_rate as f64
        }
    }

    /// Moves the samples out (a long narration goes to a file piece by piece) while the
    /// timings go on counting them.
    pub(crate) fn take_samples(&mut self) -> Vec<i16> {
        self.taken += self.samples.len();
        std::mem::take(&mut self.samples)
    }

    /// An utterance with no audio yet, to append to.
    pub(crate) fn empty() -> Utterance {
        Utterance {
            sample_rate: 0,
            samples: Vec::new(),
            words: Vec::new(),
            phones: Vec::new(),
            taken: 0,
        }
    }

    /// Builds an utterance from one Flite synthesis, given the written words it was made from
    /// and the phone span each one was matched to.
    pub(crate) fn from_synthesis(
        synth: Synthesis,
        written: &[&str],
        spans: &[Option<(usize, usize)>],
    ) -> Utterance {
        let rate = synth.sample_rate;
        let mut samples = synth.samples;
        let mut ends = synth.phones;
        if ends.is_empty() {
            ends.push((PAUSE.to_string(), samples.len() as f64 / f64::from(rate)));
        }
        // Flite's last phone may end a few milliseconds after its waveform does; padding the
        // audio with silence keeps every phone time exactly as Flite computed it.
        let last_end = ends.last().map_or(0.0, |(_, end)| *end);
        let needed = (last_end * f64::from(rate) - 1e-6).ceil().max(0.0) as usize;
        if needed > samples.len() {
            samples.resize(needed, 0);
        }
        let duration = samples.len() as f64 / f64::from(rate);

        let mut phones: Vec<PhoneTiming> = Vec::with_capacity(ends.len() + 1);
        let mut start = 0.0;
        for (name, end) in ends {
            let end = end.clamp(start, duration);
            phones.push(PhoneTiming {
                phone: name,
                start,
                end,
            });
            start = end;
        }
        // The phones must reach the end of the audio: stretch a final pause, or add one.
        let tail = phones.last_mut().expect("at least one phone");
        if tail.phone == PAUSE || duration - tail.end < 0.5 / f64::from(rate) {
            tail.end = duration;
        } else {
            let start = tail.end;
            phones.push(PhoneTiming {
                phone: PAUSE.to_string(),
                start,
                end: duration,
            });
        }

        let timed: Vec<Option<(f64, f64)>> = spans
            .iter()
            .map(|span| span.map(|(first, last)| (phones[first].start, phones[last].end)))
            .collect();
        let words = written
            .iter()
            .enumerate()
            .map(|(i, text)| {
                // An unspoken word sits where it was written: at the end of the word before
                // it, or at the start of the first spoken word after it.
                let (start, end) = timed[i].unwrap_or_else(|| {
                    let at = timed[..i]
                        .iter()
                        .rev()
                        .find_map(|t| t.map(|(_, end)| end))
                        .or_else(|| timed[i + 1..].iter().find_map(|t| t.map(|(s, _)| s)))
                        .unwrap_or(0.0);
                    (at, at)
                });
                WordTiming {
                    text: (*text).to_string(),
                    start,
                    end,
                    segment: 0,
                }
            })
            .collect();

        Utterance {
            sample_rate: rate,
            samples,
            words,
            phones,
            taken: 0,
        }
    }

    /// Appends `next` after this utterance's audio, shifting its times; a pause that ends this
    /// one and a pause that starts the next become one phone.
    pub(crate) fn append(&mut self, next: Utterance) -> Result<(), VidflowError> {
        if self.taken == 0 && self.samples.is_empty() && self.phones.is_empty() {
            *self = next;
            return Ok(());
        }
        if next.sample_rate != self.sample_rate {
            return Err(VidflowError::internal(format!(
                "cannot join speech at {} Hz to speech at {} Hz",
                next.sample_rate, self.sample_rate
            )));
        }
        let offset = self.duration();
        self.samples.extend_from_slice(&next.samples);
        let total = self.duration();

        let count = next.phones.len();
        for (k, phone) in next.phones.into_iter().enumerate() {
            // The last end is computed from the sample count, like every offset, so that the
            // next append starts exactly where this one ends.
            let end = if k + 1 == count {
                total
            } else {
                (offset + phone.end).min(total)
            };
            let previous = self.phones.last_mut();
            match previous {
                Some(prev) if k == 0 && prev.phone == PAUSE && phone.phone == PAUSE => {
                    prev.end = end;
                }
                _ => {
                    let start = self.phones.last().map_or(0.0, |p| p.end);
                    self.phones.push(PhoneTiming {
                        phone: phone.phone,
                        start,
                        end,
                    });
                }
            }
        }
        if count == 0 {
            self.extend_last_phone(total);
        }

        self.words
            .extend(next.words.into_iter().map(|w| WordTiming {
                start: (offset + w.start).min(total),
                end: (offset + w.end).min(total),
                ..w
            }));
        Ok(())
    }

    /// Appends `count` samples of silence, lengthening the final pause (or adding one).
    pub(crate) fn append_silence(&mut self, count: usize) {
        if count == 0 {
            return;
        }
        self.samples.resize(self.samples.len() + count, 0);
        let end = self.duration();
        self.extend_last_phone(end);
    }

    /// Makes the phones reach `end`: a final pause is stretched, anything else gets a pause
    /// after it.
    fn extend_last_phone(&mut self, end: f64) {
        match self.phones.last_mut() {
            Some(last) if last.phone == PAUSE => last.end = end,
            last => {
                let start = last.map_or(0.0, |p| p.end);
                self.phones.push(PhoneTiming {
                    phone: PAUSE.to_string(),
                    start,
                    end,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SynthToken;

    fn synthesis(samples: usize, phones: &[(&str, f64)]) -> Synthesis {
        Synthesis {
            sample_rate: 100,
            samples: vec![1; samples],
            phones: phones.iter().map(|(p, e)| (p.to_string(), *e)).collect(),
            tokens: Vec::<SynthToken>::new(),
        }
    }

    fn assert_gap_free(u: &Utterance) {
        assert_eq!(u.phones.first().unwrap().start, 0.0);
        for pair in u.phones.windows(2) {
            assert_eq!(pair[0].end, pair[1].start, "{pair:?}");
            assert!(pair[1].end >= pair[1].start);
        }
        assert_eq!(u.phones.last().unwrap().end, u.duration());
    }

    #[test]
    fn audio_is_padded_when_phones_run_past_it() {
        let u = Utterance::from_synthesis(
            synthesis(100, &[("pau", 0.2), ("hh", 0.6), ("pau", 1.034)]),
            &["hi"],
            &[Some((1, 1))],
        );
        assert_eq!(u.samples.len(), 104);
        assert_eq!(&u.samples[100..], &[0, 0, 0, 0]);
        assert_gap_free(&u);
        assert_eq!((u.words[0].start, u.words[0].end), (0.2, 0.6));
    }

    #[test]
    fn final_pause_is_stretched_or_added_to_reach_the_audio_end() {
        let u = Utterance::from_synthesis(
            synthesis(150, &[("pau", 0.2), ("hh", 0.6), ("pau", 1.0)]),
            &["hi"],
            &[Some((1, 1))],
        );
        assert_eq!(u.phones.len(), 3);
        assert_gap_free(&u);

        let u = Utterance::from_synthesis(
            synthesis(150, &[("pau", 0.2), ("hh", 0.6)]),
            &["hi"],
            &[Some((1, 1))],
        );
        assert_eq!(u.phones.last().unwrap().phone, "pau");
        assert_eq!(u.phones.len(), 3);
        assert_gap_free(&u);
    }

    #[test]
    fn unspoken_words_sit_between_their_neighbours() {
        let u = Utterance::from_synthesis(
            synthesis(100, &[("pau", 0.1), ("a", 0.3), ("b", 0.5), ("pau", 1.0)]),
            &["—", "a", "—", "b", "—"],
            &[None, Some((1, 1)), None, Some((2, 2)), None],
        );
        let times: Vec<(f64, f64)> = u.words.iter().map(|w| (w.start, w.end)).collect();
        assert_eq!(
            times,
            [(0.1, 0.1), (0.1, 0.3), (0.3, 0.3), (0.3, 0.5), (0.5, 0.5)]
        );
    }

    #[test]
    fn appending_shifts_times_and_merges_pauses() {
        let mut u = Utterance::empty();
        let part = |word: &str| {
            Utterance::from_synthesis(
                synthesis(100, &[("pau", 0.25), ("a", 0.5), ("pau", 1.0)]),
                &[word],
                &[Some((1, 1))],
            )
        };
        u.append(part("one")).unwrap();
        u.append(part("two")).unwrap();
        assert_eq!(u.samples.len(), 200);
        let names: Vec<&str> = u.phones.iter().map(|p| p.phone.as_str()).collect();
        assert_eq!(names, ["pau", "a", "pau", "a", "pau"]);
        assert_gap_free(&u);
        assert_eq!((u.words[1].start, u.words[1].end), (1.25, 1.5));

        u.append_silence(50);
        assert_eq!(u.samples.len(), 250);
        assert_eq!(u.phones.len(), 5);
        assert_gap_free(&u);
    }

    #[test]
    fn appending_a_different_rate_is_refused() {
        let mut u = Utterance::from_synthesis(synthesis(100, &[("pau", 1.0)]), &[], &[]);
        let mut other = u.clone();
        other.sample_rate = 200;
        assert!(u.append(other).is_err());
    }
}
