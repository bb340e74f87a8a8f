//! Subtitle files: SubRip (`.srt`) and WebVTT (`.vtt`) from the timeline's cues.

use std::fmt::Write;

use vidflow_core::Cue;

/// SubRip text: cues numbered from 1, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, then the cue's lines,
/// and a blank line after each cue.
///
/// Cues without any text are left out (an empty cue would end the block early in players);
/// the rest are numbered without gaps.
///
/// ```
/// use vidflow_core::Cue;
/// let cues = [Cue { start: 0.0, end: 1.25, lines: vec!["Hello there,".into(), "world.".into()] }];
/// assert_eq!(
///     vidflow_encode::srt(&cues),
///     "1\n00:00:00,000 --> 00:00:01,250\nHello there,\nworld.\n\n"
/// );
/// ```
pub fn srt(cues: &[Cue]) -> String {
    let mut out = String::new();
    for (n, (cue, lines)) in printable(cues).enumerate() {
        let _ = write!(
            out,
            "{}\n{} --> {}\n",
            n + 1,
            timestamp(cue.start, ','),
            timestamp(cue.end, ',')
        );
        for line in lines {
            out.push_str(&line.replace("-->", "->"));
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// WebVTT text: the `WEBVTT` header, then `HH:MM:SS.mmm --> HH:MM:SS.mmm` and the cue's lines
/// for each cue, a blank line after each.
///
/// `&`, `<` and `>` are escaped, since WebVTT cue text is markup.
///
/// ```
/// use vidflow_core::Cue;
/// let cues = [Cue { start: 61.5, end: 63.0, lines: vec!["Fish & chips".into()] }];
/// assert_eq!(
///     vidflow_encode::vtt(&cues),
///     "WEBVTT\n\n00:01:01.500 --> 00:01:03.000\nFish &amp; chips\n\n"
/// );
/// ```
pub fn vtt(cues: &[Cue]) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for (cue, lines) in printable(cues) {
        let _ = writeln!(
            out,
            "{} --> {}",
            timestamp(cue.start, '.'),
            timestamp(cue.end, '.')
        );
        for line in lines {
            let escaped = line
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            out.push_str(&escaped);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// Each cue with its non-empty, trimmed lines; cues with no text are skipped. A line holding
/// a newline becomes several lines, since a blank line inside a cue would end it.
fn printable(cues: &[Cue]) -> impl Iterator<Item = (&Cue, Vec<&str>)> {
    cues.iter()
        .map(|cue| {
            let lines: Vec<&str> = cue
                .lines
                .iter()
                .flat_map(|l| l.lines())
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            (cue, lines)
        })
        .filter(|(_, lines)| !lines.is_empty())
}

/// `HH:MM:SS<sep>mmm`, rounded to the millisecond; negative times are clamped to zero.
fn timestamp(seconds: f64, sep: char) -> String {
    let ms = if seconds.is_finite() && seconds > 0.0 {
        (seconds * 1000.0).round() as u64
    } else {
        0
    };
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, ms) = (rest / 1000, rest % 1000);
    format!("{h:02}:{m:02}:{s:02}{sep}{ms:03}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cue(start: f64, end: f64, lines: &[&str]) -> Cue {
        Cue {
            start,
            end,
            lines: lines.iter().map(|l| l.to_string()).collect(),
        }
    }

    fn sample() -> Vec<Cue> {
        vec![
            cue(
                0.0,
                2.4995,
                &["The quick brown fox", "jumps over the lazy dog."],
            ),
            cue(2.5, 3.0, &["   "]),
            cue(3.0, 3661.007, &["One <b>hour</b> later --> & on"]),
            cue(3661.5, 3662.25, &["two\nlines"]),
        ]
    }

    #[test]
    fn srt_snapshot() {
        let expected = "\
1
00:00:00,000 --> 00:00:02,500
The quick brown fox
jumps over the lazy dog.

2
00:00:03,000 --> 01:01:01,007
One <b>hour</b> later -> & on

3
01:01:01,500 --> 01:01:02,250
two
lines

";
        assert_eq!(srt(&sample()), expected);
    }

    #[test]
    fn vtt_snapshot() {
        let expected = "\
WEBVTT

00:00:00.000 --> 00:00:02.500
The quick brown fox
jumps over the lazy dog.

00:00:03.000 --> 01:01:01.007
One &lt;b&gt;hour&lt;/b&gt; later --&gt; &amp; on

01:01:01.500 --> 01:01:02.250
two
lines

";
        assert_eq!(vtt(&sample()), expected);
    }

    #[test]
    fn no_cues() {
        assert_eq!(srt(&[]), "");
        assert_eq!(vtt(&[]), "WEBVTT\n\n");
    }

    #[test]
    fn timestamps_round_and_clamp() {
        assert_eq!(timestamp(-1.0, ','), "00:00:00,000");
        assert_eq!(timestamp(f64::NAN, '.'), "00:00:00.000");
        assert_eq!(timestamp(59.9996, '.'), "00:01:00.000");
        assert_eq!(timestamp(100.0 * 3600.0, ','), "100:00:00,000");
    }
}
