//! Text layout and drawing with `ab_glyph` and the embedded DejaVu Sans fonts.
//!
//! The pieces a slide needs: [`measure`] a string, [`wrap`] it into lines that fit a
//! width (with `textwrap`'s first-fit over pixel widths, breaking at spaces and, in
//! Chinese and Japanese, where `unicode-linebreak` allows; words are never split unless
//! one word alone is wider than the box), [`fit`] it
//! into a box by shrinking the type (and, as a last resort at the smallest size, cutting
//! it with an ellipsis), and [`draw`] the result onto a `tiny_skia` pixmap.
//!
//! Text is drawn once per string into a cached layer (a slide's static layer, a subtitle
//! cue), never per frame, so none of this sits on the per-frame path.
//!
//! ```
//! use vidflow_media::text::{self, Align, FitOptions, Weight};
//! let block = text::fit(
//!     "A long page title that will have to wrap onto more than one line",
//!     Weight::Bold,
//!     400.0,
//!     120.0,
//!     &FitOptions { max_size: 48.0, min_size: 16.0, max_lines: 3, line_spacing: 1.2 },
//! );
//! assert!(block.width <= 400.0 && block.height <= 120.0);
//! let mut pixmap = tiny_skia::Pixmap::new(400, 120).unwrap();
//! text::draw(&mut pixmap, &block, 0.0, 0.0, 400.0, Align::Left, [20, 20, 30, 255], None);
//! assert!(pixmap.pixels().iter().any(|p| p.alpha() > 0));
//! ```

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, Glyph, PxScale, ScaleFont};
use textwrap::core::Fragment;
use textwrap::wrap_algorithms::wrap_first_fit;
use unicode_linebreak::{BreakClass, BreakOpportunity};
use unicode_segmentation::UnicodeSegmentation;

use crate::kernels::{self, div255};

/// Font weight; both are DejaVu Sans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Weight {
    /// DejaVu Sans.
    Regular,
    /// DejaVu Sans Bold.
    Bold,
}

/// Horizontal alignment of lines within their box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Flush left.
    Left,
    /// Centred.
    Center,
    /// Flush right.
    Right,
}

/// The font for `weight`, parsed once for the whole process.
pub fn font(weight: Weight) -> &'static FontRef<'static> {
    static REGULAR: OnceLock<FontRef<'static>> = OnceLock::new();
    static BOLD: OnceLock<FontRef<'static>> = OnceLock::new();
    // The DejaVu bytes are compiled into the binary and known to parse; a failure here
    // would mean a corrupted build, not anything a user did.
    match weight {
        Weight::Regular => REGULAR.get_or_init(|| {
            FontRef::try_from_slice(dejavu::sans::regular()).expect("embedded DejaVu Sans parses")
        }),
        Weight::Bold => BOLD.get_or_init(|| {
            FontRef::try_from_slice(dejavu::sans::bold()).expect("embedded DejaVu Sans Bold parses")
        }),
    }
}

/// Vertical metrics of a font at a size, in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    /// Distance from the top of a line to its baseline.
    pub ascent: f32,
    /// Distance from the baseline to the bottom of a line (positive).
    pub descent: f32,
}

/// Ascent and descent of `weight` at `size` pixels.
pub fn metrics(weight: Weight, size: f32) -> Metrics {
    let f = font(weight).as_scaled(PxScale::from(size));
    Metrics {
        ascent: f.ascent(),
        descent: -f.descent(),
    }
}

/// Width in pixels of `text` on one line (advances plus kerning).
pub fn measure(text: &str, weight: Weight, size: f32) -> f32 {
    let f = font(weight).as_scaled(PxScale::from(size));
    let mut width = 0.0;
    let mut prev = None;
    for c in text.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = prev {
            width += f.kern(p, id);
        }
        width += f.h_advance(id);
        prev = Some(id);
    }
    width
}

/// A piece of text that wrapping keeps whole, with its width in pixels: a word between
/// spaces, or a stretch of a word between two characters that [`unicode_linebreak`] may
/// break in a script written without spaces (Chinese, Japanese).
#[derive(Debug)]
struct Piece<'a> {
    text: &'a str,
    width: f64,
    /// The width of the space that follows it on the same line (0 inside a word).
    space: f64,
}

impl Fragment for Piece<'_> {
    fn width(&self) -> f64 {
        self.width
    }

    fn whitespace_width(&self) -> f64 {
        self.space
    }

    fn penalty_width(&self) -> f64 {
        0.0
    }
}

/// Whether a line may break next to `c` inside a word: only in scripts written without
/// spaces between words. (Elsewhere a word stays whole, as it always has here, even where
/// UAX #14 would allow a break after a hyphen or a slash. Thai is written without spaces
/// too, but `unicode_linebreak` resolves it as alphabetic: finding its word boundaries
/// takes a dictionary, so Thai breaks at its spaces, and a run wider than the line is
/// split between grapheme clusters.)
fn breaks_inside_words(c: char) -> bool {
    matches!(
        unicode_linebreak::break_property(c as u32),
        BreakClass::Ideographic | BreakClass::ConditionalJapaneseStarter
    )
}

/// The pieces of `word`: split where UAX #14 allows a break next to a character of a
/// script written without spaces.
fn word_pieces(word: &str) -> impl Iterator<Item = &str> {
    let mut cuts = vec![0];
    cuts.extend(
        unicode_linebreak::linebreaks(word)
            .filter(|&(at, kind)| kind == BreakOpportunity::Allowed && at < word.len())
            .map(|(at, _)| at)
            .filter(|&at| {
                let before = word[..at].chars().next_back();
                let after = word[at..].chars().next();
                before.is_some_and(breaks_inside_words) || after.is_some_and(breaks_inside_words)
            }),
    );
    cuts.push(word.len());
    cuts.dedup();
    (0..cuts.len() - 1).map(move |i| &word[cuts[i]..cuts[i + 1]])
}

/// `piece` cut into lines no wider than `max_width` between grapheme clusters, greedily
/// (each line at least one cluster): for a piece too wide for any line.
fn split_overlong(piece: &str, weight: Weight, size: f32, max_width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for g in piece.graphemes(true) {
        let mut next = line.clone();
        next.push_str(g);
        if !line.is_empty() && measure(&next, weight, size) > max_width {
            lines.push(std::mem::replace(&mut line, g.to_string()));
        } else {
            line = next;
        }
    }
    lines.push(line);
    lines
}

/// Breaks `text` into lines no wider than `max_width`, greedily (first fit).
///
/// Lines break at whitespace and, in Chinese and Japanese, between the characters the
/// Unicode line breaking rules (UAX #14) allow; other words are kept whole. Only a piece
/// that alone is wider than `max_width` is broken between grapheme clusters. Runs of
/// whitespace collapse to one space.
///
/// ```
/// use vidflow_media::text::{self, Weight};
/// let lines = text::wrap("星期一我们去公园散步，看见很多人在跑步。", Weight::Regular, 24.0, 150.0);
/// assert!(lines.len() > 1);
/// assert_eq!(lines.concat(), "星期一我们去公园散步，看见很多人在跑步。");
/// ```
pub fn wrap(text: &str, weight: Weight, size: f32, max_width: f32) -> Vec<String> {
    let space = measure(" ", weight, size) as f64;
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut lines = Vec::new();
    // Pieces waiting to be set, from the start of a line on.
    let mut run: Vec<Piece<'_>> = Vec::new();
    let set = |run: &mut Vec<Piece<'_>>, lines: &mut Vec<String>| {
        if run.is_empty() {
            // First fit would make one empty line of no pieces.
            return;
        }
        for line in wrap_first_fit(run, &[max_width as f64]) {
            let mut text = String::new();
            for (i, p) in line.iter().enumerate() {
                text.push_str(p.text);
                if p.space > 0.0 && i + 1 < line.len() {
                    text.push(' ');
                }
            }
            lines.push(text);
        }
        run.clear();
    };
    for (w, word) in words.iter().enumerate() {
        let last_piece = word_pieces(word).count() - 1;
        for (i, text) in word_pieces(word).enumerate() {
            let spaced = i == last_piece && w + 1 < words.len();
            let width = measure(text, weight, size);
            let (text, width) = if width <= max_width {
                (text, width)
            } else {
                // Too wide for any line: it starts a line of its own, whole lines of it
                // follow, and its last part begins a line the next pieces may join.
                set(&mut run, &mut lines);
                let mut parts = split_overlong(text, weight, size, max_width);
                let tail = parts.pop().unwrap_or_default();
                lines.extend(parts);
                let at = text.len() - tail.len();
                (&text[at..], measure(&text[at..], weight, size))
            };
            run.push(Piece {
                text,
                width: width as f64,
                space: if spaced { space } else { 0.0 },
            });
        }
    }
    set(&mut run, &mut lines);
    lines
}

/// How [`fit`] may set a block of text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    /// The size to use when everything fits.
    pub max_size: f32,
    /// The smallest size to shrink to before cutting the text.
    pub min_size: f32,
    /// Most lines allowed.
    pub max_lines: usize,
    /// Baseline-to-baseline distance as a multiple of the size.
    pub line_spacing: f32,
}

/// Text set into lines at one size, ready to [`draw`].
#[derive(Debug, Clone, PartialEq)]
pub struct TextBlock {
    /// The lines, top to bottom.
    pub lines: Vec<String>,
    /// Font weight.
    pub weight: Weight,
    /// Font size in pixels.
    pub size: f32,
    /// Baseline-to-baseline distance in pixels.
    pub line_advance: f32,
    /// Width of the widest line.
    pub width: f32,
    /// Height from the top of the first line to the bottom of the last.
    pub height: f32,
}

impl TextBlock {
    /// Sets `lines` as they are at `size` (no wrapping).
    pub fn from_lines(lines: Vec<String>, weight: Weight, size: f32, line_spacing: f32) -> Self {
        let m = metrics(weight, size);
        let line_advance = size * line_spacing;
        let width = lines
            .iter()
            .map(|l| measure(l, weight, size))
            .fold(0.0, f32::max);
        let height = if lines.is_empty() {
            0.0
        } else {
            m.ascent + m.descent + line_advance * (lines.len() - 1) as f32
        };
        TextBlock {
            lines,
            weight,
            size,
            line_advance,
            width,
            height,
        }
    }

    /// True when the block has no lines.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// Sets `text` into a `box_w` × `box_h` box: the largest size from `max_size` down to
/// `min_size` at which the wrapped text fits in `max_lines` lines; if it does not fit
/// even at `min_size`, the lines that fit are kept and the last ends with "…".
///
/// The result never exceeds the box: `width <= box_w` and `height <= box_h` (for a box
/// too small for one line at `min_size`, the size keeps shrinking until one line fits).
pub fn fit(text: &str, weight: Weight, box_w: f32, box_h: f32, opts: &FitOptions) -> TextBlock {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() || box_w < 1.0 || box_h < 1.0 {
        return TextBlock::from_lines(Vec::new(), weight, opts.min_size, opts.line_spacing);
    }
    let max_lines = opts.max_lines.max(1);
    let min_size = opts.min_size.min(opts.max_size).max(1.0);
    let mut size = opts.max_size.max(min_size);
    loop {
        let lines = wrap(&text, weight, size, box_w);
        let block = TextBlock::from_lines(lines, weight, size, opts.line_spacing);
        if block.lines.len() <= max_lines && block.height <= box_h && block.width <= box_w {
            return block;
        }
        if size <= min_size {
            break;
        }
        // Shrink in small steps so the chosen size is close to the largest that fits.
        size = (size * 0.95).max(min_size);
    }
    // Even the smallest size overflows: keep what fits and mark the cut.
    let mut size = min_size;
    loop {
        let m = metrics(weight, size);
        let advance = size * opts.line_spacing;
        let fit_lines = if box_h < m.ascent + m.descent {
            0
        } else {
            1 + ((box_h - m.ascent - m.descent) / advance).floor() as usize
        };
        let keep = fit_lines.min(max_lines);
        if keep >= 1 {
            let mut lines = wrap(&text, weight, size, box_w);
            if lines.len() > keep {
                lines.truncate(keep);
                let last = lines.pop().unwrap_or_default();
                lines.push(ellipsize(&last, weight, size, box_w));
            }
            return TextBlock::from_lines(lines, weight, size, opts.line_spacing);
        }
        if size <= 1.0 {
            return TextBlock::from_lines(Vec::new(), weight, size, opts.line_spacing);
        }
        size = (size * 0.9).max(1.0);
    }
}

/// `line` followed by "…", shortened (by words, then characters) until it fits `max_width`.
pub fn ellipsize(line: &str, weight: Weight, size: f32, max_width: f32) -> String {
    let mut words: Vec<&str> = line.split(' ').collect();
    loop {
        let candidate = format!("{}…", words.join(" "));
        if measure(&candidate, weight, size) <= max_width || words.len() <= 1 {
            break;
        }
        words.pop();
    }
    let mut base: String = words.join(" ");
    loop {
        let candidate = format!("{}…", base.trim_end_matches([' ', ',', ';', ':', '.']));
        if measure(&candidate, weight, size) <= max_width || base.is_empty() {
            return if measure(&candidate, weight, size) <= max_width {
                candidate
            } else {
                String::new()
            };
        }
        base.pop();
    }
}

/// A pixel rectangle that drawing is clipped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clip {
    /// Left edge (inclusive).
    pub x0: i32,
    /// Top edge (inclusive).
    pub y0: i32,
    /// Right edge (exclusive).
    pub x1: i32,
    /// Bottom edge (exclusive).
    pub y1: i32,
}

/// Draws `block` with its top-left corner at (`x`, `y`); lines are aligned within
/// `box_w`. `color` is straight (not premultiplied) RGBA. Pixels outside `clip` (and
/// outside the pixmap) are never touched.
#[allow(clippy::too_many_arguments)]
pub fn draw(
    pixmap: &mut tiny_skia::Pixmap,
    block: &TextBlock,
    x: f32,
    y: f32,
    box_w: f32,
    align: Align,
    color: [u8; 4],
    clip: Option<Clip>,
) {
    let (pw, ph) = (pixmap.width() as i32, pixmap.height() as i32);
    let clip = clip.unwrap_or(Clip {
        x0: 0,
        y0: 0,
        x1: pw,
        y1: ph,
    });
    let clip = Clip {
        x0: clip.x0.max(0),
        y0: clip.y0.max(0),
        x1: clip.x1.min(pw),
        y1: clip.y1.min(ph),
    };
    let stride = pw as usize * 4;
    let data = pixmap.data_mut();
    let f = font(block.weight);
    let scaled = f.as_scaled(PxScale::from(block.size));
    let ascent = scaled.ascent();
    for (i, line) in block.lines.iter().enumerate() {
        let lw = measure(line, block.weight, block.size);
        let lx = match align {
            Align::Left => x,
            Align::Center => x + (box_w - lw) / 2.0,
            Align::Right => x + box_w - lw,
        };
        let baseline = y + ascent + block.line_advance * i as f32;
        let mut caret = lx;
        let mut prev = None;
        for c in line.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                caret += scaled.kern(p, id);
            }
            let glyph: Glyph =
                id.with_scale_and_position(block.size, ab_glyph::point(caret, baseline));
            caret += scaled.h_advance(id);
            prev = Some(id);
            let Some(outlined) = f.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outlined.px_bounds();
            let (bx, by) = (bounds.min.x as i32, bounds.min.y as i32);
            outlined.draw(|gx, gy, coverage| {
                let px = bx + gx as i32;
                let py = by + gy as i32;
                if px < clip.x0 || py < clip.y0 || px >= clip.x1 || py >= clip.y1 {
                    return;
                }
                let a = (coverage.clamp(0.0, 1.0) * color[3] as f32).round() as u32;
                if a == 0 {
                    return;
                }
                let o = py as usize * stride + px as usize * 4;
                // The colour at this coverage, premultiplied, over what is there.
                let c = |k: usize| div255(color[k] as u32 * a) as u8;
                let src = [c(0), c(1), c(2), a as u8];
                kernels::over_pixel(&src, &mut data[o..o + 4], 255);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_words_whole() {
        let text = "the quick brown fox jumps over the lazy dog again and again";
        let lines = wrap(text, Weight::Regular, 20.0, 150.0);
        assert!(lines.len() > 1);
        let words: Vec<&str> = lines.iter().flat_map(|l| l.split(' ')).collect();
        assert_eq!(words, text.split(' ').collect::<Vec<_>>());
        for l in &lines {
            assert!(measure(l, Weight::Regular, 20.0) <= 150.0, "{l}");
        }
    }

    #[test]
    fn wrap_splits_only_a_word_wider_than_the_box() {
        let lines = wrap(
            "a Donaudampfschifffahrtsgesellschaft b",
            Weight::Bold,
            20.0,
            120.0,
        );
        assert_eq!(lines.first().map(String::as_str), Some("a"));
        assert_eq!(lines.last().map(String::as_str), Some("b"));
        assert!(lines.len() >= 4);
        for l in &lines {
            assert!(measure(l, Weight::Bold, 20.0) <= 120.0, "{l}");
        }
        assert_eq!(
            lines[1..lines.len() - 1].concat(),
            "Donaudampfschifffahrtsgesellschaft"
        );
    }

    /// Every line fits, and the lines read back as the paragraph: `joiner` between lines
    /// (a space where the break was at one, nothing inside Chinese or Japanese).
    fn check_wrapped(
        lines: &[String],
        text: &str,
        weight: Weight,
        size: f32,
        max: f32,
        joiner: &str,
    ) {
        assert!(lines.len() > 1, "{lines:?}");
        for l in lines {
            assert!(measure(l, weight, size) <= max, "{l} is too wide");
        }
        assert_eq!(lines.join(joiner), text);
    }

    #[test]
    fn chinese_wraps_between_characters_within_the_width() {
        let text = "光线穿过大气层时，短波长的蓝光被空气分子散射得更多，所以白天的天空是蓝色的，而日落时阳光穿过更厚的大气，只剩下红色和橙色。";
        let lines = wrap(text, Weight::Regular, 24.0, 200.0);
        check_wrapped(&lines, text, Weight::Regular, 24.0, 200.0, "");
        // UAX #14: no line starts with closing punctuation.
        assert!(
            lines.iter().all(|l| !l.starts_with(['，', '。'])),
            "{lines:?}"
        );
    }

    #[test]
    fn japanese_wraps_within_the_width_keeping_punctuation_attached() {
        let text = "夕焼けが赤いのは、太陽の光が厚い大気を通る間に青い光が散乱されてしまうからです。雨の後は空気が澄んでいて、色がいっそう深く見えます。";
        let lines = wrap(text, Weight::Bold, 30.0, 260.0);
        check_wrapped(&lines, text, Weight::Bold, 30.0, 260.0, "");
        assert!(
            lines.iter().all(|l| !l.starts_with(['、', '。'])),
            "{lines:?}"
        );
    }

    #[test]
    fn thai_wraps_at_its_spaces_and_splits_only_runs_wider_than_the_line() {
        // Thai puts spaces between phrases, not words.
        let text =
            "ท้องฟ้าตอนเย็นเป็นสีแดง เพราะแสงอาทิตย์ต้องผ่านอากาศหนา แสงสีฟ้าจึงกระเจิงออกไป เหลือแต่สีแดงและสีส้ม";
        let lines = wrap(text, Weight::Regular, 20.0, 400.0);
        check_wrapped(&lines, text, Weight::Regular, 20.0, 400.0, " ");
        // A run wider than the line breaks between grapheme clusters: no line starts with
        // a combining vowel or tone mark.
        let run = "ท้องฟ้าตอนเย็นเป็นสีแดงเพราะแสงอาทิตย์ต้องผ่านอากาศหนา";
        let lines = wrap(run, Weight::Regular, 20.0, 60.0);
        check_wrapped(&lines, run, Weight::Regular, 20.0, 60.0, "");
        for l in &lines {
            let first = l.chars().next().unwrap();
            assert!(first != '\u{0E31}', "{l}");
            assert!(!('\u{0E34}'..='\u{0E3A}').contains(&first), "{l}");
            assert!(!('\u{0E47}'..='\u{0E4E}').contains(&first), "{l}");
        }
    }

    #[test]
    fn dejavu_draws_latin_but_not_chinese_japanese_or_thai() {
        // The CJK and Thai tests above are about line breaking: DejaVu Sans has no glyphs
        // for those scripts, so they are drawn as its missing-glyph box.
        for weight in [Weight::Regular, Weight::Bold] {
            let f = font(weight);
            assert_ne!(f.glyph_id('é').0, 0);
            for c in ['光', 'あ', 'カ', 'ก'] {
                assert_eq!(f.glyph_id(c).0, 0, "{c}");
            }
        }
    }

    #[test]
    fn words_and_spaces_add_up_to_the_line() {
        // Wrapping sums the widths of words and spaces; that equals measuring the whole
        // line because DejaVu has no kerning pairs with the space.
        for weight in [Weight::Regular, Weight::Bold] {
            let f = font(weight).as_scaled(PxScale::from(32.0));
            let space = f.glyph_id(' ');
            for c in (0x21u8..0x7f)
                .map(char::from)
                .chain("éÀçßØœ—–…’“”«»".chars())
            {
                let id = f.glyph_id(c);
                assert_eq!(f.kern(space, id), 0.0, "space then {c}");
                assert_eq!(f.kern(id, space), 0.0, "{c} then space");
            }
        }
    }

    #[test]
    fn fit_shrinks_before_cutting() {
        let opts = FitOptions {
            max_size: 40.0,
            min_size: 12.0,
            max_lines: 3,
            line_spacing: 1.2,
        };
        let short = fit("Hello", Weight::Bold, 300.0, 100.0, &opts);
        assert_eq!(short.size, 40.0);
        assert_eq!(short.lines, vec!["Hello"]);
        let long = fit(&"word ".repeat(30), Weight::Bold, 300.0, 100.0, &opts);
        assert!(long.size < 40.0);
        assert!(long.width <= 300.0 && long.height <= 100.0);
        let huge = fit(&"word ".repeat(500), Weight::Bold, 300.0, 100.0, &opts);
        assert_eq!(huge.size, 12.0);
        assert!(huge.lines.len() <= 3);
        assert!(huge.lines.last().unwrap().ends_with('…'));
        assert!(huge.width <= 300.0 && huge.height <= 100.0);
    }

    #[test]
    fn draw_stays_inside_the_clip() {
        let block = fit(
            "Overflowing text",
            Weight::Regular,
            200.0,
            40.0,
            &FitOptions {
                max_size: 30.0,
                min_size: 30.0,
                max_lines: 1,
                line_spacing: 1.2,
            },
        );
        let mut pixmap = tiny_skia::Pixmap::new(300, 100).unwrap();
        let clip = Clip {
            x0: 10,
            y0: 10,
            x1: 60,
            y1: 30,
        };
        draw(
            &mut pixmap,
            &block,
            0.0,
            0.0,
            300.0,
            Align::Left,
            [0, 0, 0, 255],
            Some(clip),
        );
        for y in 0..100 {
            for x in 0..300 {
                let inside = (10..60).contains(&x) && (10..30).contains(&y);
                if !inside {
                    assert_eq!(pixmap.pixel(x, y).unwrap().alpha(), 0, "({x},{y})");
                }
            }
        }
        assert!(pixmap.pixels().iter().any(|p| p.alpha() > 0));
    }
}
