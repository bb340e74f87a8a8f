//! The nine Rhubarb mouth shapes of the built-in presenters, as geometry.
//!
//! A mouth is described by a few numbers (width, how far the lips part above and below the
//! seam, how round the opening is, how much of the teeth and tongue shows) and turned into
//! paths once per avatar, so a frame only picks the prepared shape for its viseme.

use tiny_skia::{Color, Path, Stroke};
use vidflow_core::Viseme;

use crate::draw::{Draw, Pen, alpha, ellipse, linear, mix, shade, solid, tint};

/// Centre of the mouth (the lip seam at rest) in figure units.
pub(crate) const MOUTH_X: f32 = 180.0;
/// Centre of the mouth (the lip seam at rest) in figure units.
pub(crate) const MOUTH_Y: f32 = 236.0;

/// What shows of the tongue.
#[derive(Clone, Copy, PartialEq)]
enum Tongue {
    None,
    /// Resting on the floor of the mouth.
    Low,
    /// Tip raised to the upper teeth (L).
    Up,
}

/// The numbers that make one mouth shape, in figure units.
#[derive(Clone, Copy)]
struct Shape {
    /// Half the width, corner to corner.
    half_w: f32,
    /// How far the opening reaches above the seam.
    up: f32,
    /// How far the opening reaches below the seam.
    down: f32,
    /// 0 gives pointed corners (a wide grin), 1 an oval (an "o").
    round: f32,
    /// Upper lip thickness at the peaks.
    lip_up: f32,
    /// Lower lip thickness at the middle.
    lip_down: f32,
    /// How far the corners rise (a relaxed smile).
    smile: f32,
    /// Height of the upper teeth showing below the upper lip.
    upper_teeth: f32,
    /// Height of the lower teeth showing above the lower lip.
    lower_teeth: f32,
    tongue: Tongue,
    /// Upper teeth resting on a tucked lower lip (F, V).
    bite: bool,
}

fn shape_of(v: Viseme) -> Shape {
    let base = Shape {
        half_w: 20.0,
        up: 0.0,
        down: 0.0,
        round: 0.3,
        lip_up: 4.2,
        lip_down: 5.6,
        smile: 0.0,
        upper_teeth: 0.0,
        lower_teeth: 0.0,
        tongue: Tongue::None,
        bite: false,
    };
    match v {
        // Rest: relaxed, closed, a hint of a smile.
        Viseme::X => Shape { smile: 2.6, ..base },
        // M, B, P: lips pressed together, pulled in a little.
        Viseme::A => Shape {
            half_w: 17.5,
            lip_up: 3.2,
            lip_down: 4.2,
            smile: -0.4,
            ..base
        },
        // Most consonants: slightly open, teeth together.
        Viseme::B => Shape {
            half_w: 21.0,
            up: 3.4,
            down: 3.8,
            round: 0.15,
            smile: 1.2,
            upper_teeth: 3.6,
            lower_teeth: 3.0,
            ..base
        },
        // EH, AE: open.
        Viseme::C => Shape {
            half_w: 22.0,
            up: 6.0,
            down: 10.0,
            round: 0.35,
            smile: 0.8,
            upper_teeth: 4.2,
            tongue: Tongue::Low,
            ..base
        },
        // AA: wide open, jaw dropped.
        Viseme::D => Shape {
            half_w: 23.5,
            up: 8.5,
            down: 17.0,
            round: 0.55,
            lip_down: 5.0,
            upper_teeth: 4.6,
            lower_teeth: 2.4,
            tongue: Tongue::Low,
            ..base
        },
        // AO, ER: slightly rounded.
        Viseme::E => Shape {
            half_w: 15.5,
            up: 5.5,
            down: 8.0,
            round: 0.85,
            lip_up: 4.8,
            lip_down: 6.0,
            upper_teeth: 2.6,
            ..base
        },
        // UW, OW, W: puckered.
        Viseme::F => Shape {
            half_w: 10.5,
            up: 3.6,
            down: 4.6,
            round: 1.0,
            lip_up: 5.6,
            lip_down: 6.6,
            ..base
        },
        // F, V: upper teeth on the lower lip.
        Viseme::G => Shape {
            half_w: 19.5,
            up: 2.6,
            down: 1.2,
            round: 0.1,
            lip_up: 4.4,
            lip_down: 4.4,
            smile: 0.6,
            upper_teeth: 4.8,
            bite: true,
            ..base
        },
        // L: open, tongue tip up behind the teeth.
        Viseme::H => Shape {
            half_w: 21.0,
            up: 6.5,
            down: 11.0,
            round: 0.4,
            smile: 0.4,
            upper_teeth: 3.6,
            tongue: Tongue::Up,
            ..base
        },
    }
}

/// Colours a mouth is drawn with.
#[derive(Clone, Copy)]
pub(crate) struct MouthColors {
    /// Lip colour.
    pub lip: Color,
    /// Skin, for the corner creases.
    pub skin: Color,
}

/// A prepared mouth shape: its opening (the clip for teeth and tongue) and drawing steps.
#[derive(Clone)]
pub(crate) struct MouthArt {
    /// The dark opening between the lips; `None` when the lips are closed.
    pub opening: Option<Path>,
    /// Steps in painting order.
    pub steps: Vec<Draw>,
    /// Everything the mouth may paint, for [`crate::Avatar::mouth_region`].
    pub outline: Path,
}

const K: f32 = 0.552_284_8;

/// Control points of the quarter from corner `(-a, cy)` to the apex `(0, -b)` (b negative = below),
/// blended between a pointed lens (`round` 0) and an ellipse (`round` 1).
fn quarter(a: f32, b: f32, cy: f32, round: f32) -> [(f32, f32); 2] {
    let lens = [(-a * 0.72, cy * 0.6 - b * 0.62), (-a * 0.36, -b)];
    let oval = [(-a, cy - b * K), (-a * K, -b)];
    let l = |p: f32, q: f32| p + (q - p) * round;
    [
        (l(lens[0].0, oval[0].0), l(lens[0].1, oval[0].1)),
        (l(lens[1].0, oval[1].0), l(lens[1].1, oval[1].1)),
    ]
}

/// A closed contour through the two corners with apexes `top` (above, positive) and
/// `bottom` (below, positive), centred on the mouth.
fn lens(a: f32, top: f32, bottom: f32, cy: f32, round: f32) -> Option<Path> {
    let (x, y) = (MOUTH_X, MOUTH_Y);
    let t = quarter(a, top, cy, round);
    let b = quarter(a, -bottom, cy, round);
    Pen::at(x - a, y + cy)
        .curve(x + t[0].0, y + t[0].1, x + t[1].0, y + t[1].1, x, y - top)
        .curve(
            x - t[1].0,
            y + t[1].1,
            x - t[0].0,
            y + t[0].1,
            x + a,
            y + cy,
        )
        .curve(
            x - b[0].0,
            y + b[0].1,
            x - b[1].0,
            y + b[1].1,
            x,
            y + bottom,
        )
        .curve(
            x + b[1].0,
            y + b[1].1,
            x + b[0].0,
            y + b[0].1,
            x - a,
            y + cy,
        )
        .close()
        .try_done()
}

/// The outer lip outline: a cupid's bow on top and a full lower lip.
fn lips_outline(s: &Shape) -> Path {
    let (x, y) = (MOUTH_X, MOUTH_Y);
    let a = s.half_w + 2.0;
    let cy = -s.smile;
    let top = s.up + s.lip_up;
    let bottom = s.down + s.lip_down;
    let peak = a * 0.32;
    let dip = top - s.lip_up * 0.32;
    let lo = quarter(a, -bottom, cy, (s.round + 0.45).min(1.0));
    Pen::at(x - a, y + cy)
        .curve(
            x - a * 0.8,
            y + cy - top * 0.55,
            x - peak - 5.0,
            y - top - 0.6,
            x - peak,
            y - top,
        )
        .quad(x - peak * 0.45, y - top, x, y - dip)
        .quad(x + peak * 0.45, y - top, x + peak, y - top)
        .curve(
            x + peak + 5.0,
            y - top - 0.6,
            x + a * 0.8,
            y + cy - top * 0.55,
            x + a,
            y + cy,
        )
        .curve(
            x - lo[0].0,
            y + lo[0].1,
            x - lo[1].0,
            y + lo[1].1,
            x,
            y + bottom,
        )
        .curve(
            x + lo[1].0,
            y + lo[1].1,
            x + lo[0].0,
            y + lo[0].1,
            x - a,
            y + cy,
        )
        .close()
        .done()
}

/// Builds the drawing of `viseme` in the given colours.
pub(crate) fn mouth_art(viseme: Viseme, colors: MouthColors) -> MouthArt {
    let s = shape_of(viseme);
    let (x, y) = (MOUTH_X, MOUTH_Y);
    let lip = colors.lip;
    let inner = rgb_dark(lip);
    let mut steps = Vec::new();

    let outline = lips_outline(&s);
    // Upper lip sits in shadow, the lower lip catches light.
    steps.push(Draw::Fill(
        outline.clone(),
        linear(
            x,
            y - s.up - s.lip_up,
            x,
            y + s.down + s.lip_down,
            &[
                (0.0, shade(lip, 0.18)),
                (0.45, shade(lip, 0.08)),
                (0.55, lip),
                (1.0, tint(lip, 0.06)),
            ],
        ),
    ));
    // Gloss on the lower lip.
    steps.push(Draw::Fill(
        ellipse(
            x + 1.5,
            y + s.down + s.lip_down * 0.45,
            (s.half_w * 0.38).max(3.0),
            (s.lip_down * 0.28).max(1.0),
        ),
        solid(alpha(tint(lip, 0.55), 0.35)),
    ));

    let opening = if s.up + s.down > 0.5 {
        lens(s.half_w, s.up, s.down, -s.smile * 0.5, s.round)
    } else {
        None
    };
    if let Some(open) = &opening {
        let depth = s.up + s.down;
        steps.push(Draw::Fill(
            open.clone(),
            linear(
                x,
                y - s.up,
                x,
                y + s.down,
                &[(0.0, shade(inner, 0.35)), (1.0, inner)],
            ),
        ));
        if s.tongue != Tongue::None {
            let tongue_color = mix(lip, Color::from_rgba8(214, 96, 110, 255), 0.55);
            let path = match s.tongue {
                Tongue::Low => ellipse(x, y + s.down + depth * 0.08, s.half_w * 0.62, depth * 0.42),
                _ => Pen::at(x - s.half_w * 0.5, y + s.down + 2.0)
                    .curve(
                        x - s.half_w * 0.46,
                        y - s.up * 0.2,
                        x - s.half_w * 0.3,
                        y - s.up + s.upper_teeth * 0.7,
                        x,
                        y - s.up + s.upper_teeth * 0.6,
                    )
                    .curve(
                        x + s.half_w * 0.3,
                        y - s.up + s.upper_teeth * 0.7,
                        x + s.half_w * 0.46,
                        y - s.up * 0.2,
                        x + s.half_w * 0.5,
                        y + s.down + 2.0,
                    )
                    .close()
                    .done(),
            };
            steps.push(Draw::Clipped(
                path,
                linear(
                    x,
                    y - s.up,
                    x,
                    y + s.down,
                    &[
                        (0.0, tint(tongue_color, 0.12)),
                        (1.0, shade(tongue_color, 0.2)),
                    ],
                ),
            ));
        }
        let teeth = Color::from_rgba8(250, 248, 242, 255);
        let teeth_paint = |top: f32, bottom: f32| {
            linear(
                x,
                top,
                x,
                bottom,
                &[
                    (0.0, teeth),
                    (1.0, mix(teeth, Color::from_rgba8(200, 196, 190, 255), 0.7)),
                ],
            )
        };
        if s.upper_teeth > 0.0 && !s.bite {
            let bottom = y - s.up + s.upper_teeth;
            let p = Pen::at(x - s.half_w, y - s.up - 3.0)
                .line(x + s.half_w, y - s.up - 3.0)
                .line(x + s.half_w, bottom - 0.8)
                .quad(x, bottom + 1.2, x - s.half_w, bottom - 0.8)
                .close()
                .done();
            steps.push(Draw::Clipped(p, teeth_paint(y - s.up, bottom)));
        }
        if s.lower_teeth > 0.0 {
            let top = y + s.down - s.lower_teeth;
            let p = Pen::at(x - s.half_w, top + 0.8)
                .quad(x, top - 0.8, x + s.half_w, top + 0.8)
                .line(x + s.half_w, y + s.down + 3.0)
                .line(x - s.half_w, y + s.down + 3.0)
                .close()
                .done();
            steps.push(Draw::Clipped(p, teeth_paint(y + s.down, top)));
        }
        if s.upper_teeth > 0.0 && s.lower_teeth > 0.0 && !s.bite {
            // The line where the teeth meet.
            let meet = y - s.up + s.upper_teeth + 0.3;
            steps.push(Draw::Clipped(
                Pen::at(x - s.half_w, meet)
                    .line(x + s.half_w, meet)
                    .line(x + s.half_w, meet + 0.9)
                    .line(x - s.half_w, meet + 0.9)
                    .close()
                    .done(),
                solid(alpha(inner, 0.8)),
            ));
        }
    }

    if s.bite {
        // F/V: the upper incisors rest on the lower lip, outside the opening.
        let w = s.half_w * 0.42;
        let top = y - s.up - 0.5;
        let bottom = y + s.upper_teeth - s.up;
        let teeth = Color::from_rgba8(250, 248, 242, 255);
        steps.push(Draw::Fill(
            Pen::at(x - w, top)
                .line(x + w, top)
                .line(x + w, bottom - 1.2)
                .quad(x + w, bottom, x + w - 1.5, bottom)
                .line(x - w + 1.5, bottom)
                .quad(x - w, bottom, x - w, bottom - 1.2)
                .close()
                .done(),
            linear(
                x,
                top,
                x,
                bottom,
                &[
                    (0.0, shade(teeth, 0.1)),
                    (0.3, teeth),
                    (1.0, shade(teeth, 0.08)),
                ],
            ),
        ));
        let thin = Stroke {
            width: 0.6,
            ..Stroke::default()
        };
        steps.push(Draw::Stroke(
            Pen::at(x, top + 1.0).line(x, bottom - 0.5).done(),
            solid(alpha(shade(teeth, 0.35), 0.8)),
            thin,
        ));
    }

    if opening.is_none() {
        // Closed lips: the seam, curving up at the corners when smiling.
        let a = s.half_w;
        let cy = -s.smile;
        let seam = Stroke {
            width: 1.7,
            line_cap: tiny_skia::LineCap::Round,
            ..Stroke::default()
        };
        steps.push(Draw::Stroke(
            Pen::at(x - a, y + cy)
                .curve(x - a * 0.5, y + 0.9, x + a * 0.5, y + 0.9, x + a, y + cy)
                .done(),
            solid(alpha(shade(lip, 0.55), 0.95)),
            seam,
        ));
    }

    // Corner creases sell the expression: deeper when pressed or smiling.
    let crease = Stroke {
        width: 1.0,
        line_cap: tiny_skia::LineCap::Round,
        ..Stroke::default()
    };
    let a = s.half_w + 2.0;
    let cy = -s.smile;
    let lift = s.smile.max(0.0) * 0.6 + 1.0;
    let corner = Pen::at(x - a - 0.5, y + cy - lift)
        .quad(x - a - 2.2, y + cy + 0.3, x - a - 0.6, y + cy + 1.8)
        .jump(x + a + 0.5, y + cy - lift)
        .quad(x + a + 2.2, y + cy + 0.3, x + a + 0.6, y + cy + 1.8)
        .done();
    steps.push(Draw::Stroke(
        corner,
        solid(alpha(shade(colors.skin, 0.4), 0.28)),
        crease,
    ));

    MouthArt {
        opening,
        steps,
        outline: ellipse(
            x,
            y + ((s.down + s.lip_down) - (s.up + s.lip_up)) * 0.5,
            a + 4.0,
            (s.up + s.down + s.lip_up + s.lip_down) * 0.5 + 5.0,
        ),
    }
}

/// The dark red of the inside of a mouth, matched to the lips.
fn rgb_dark(lip: Color) -> Color {
    shade(mix(lip, Color::from_rgba8(90, 20, 30, 255), 0.6), 0.45)
}
