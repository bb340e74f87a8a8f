//! Small drawing vocabulary over tiny-skia: colours, paints and a terse path builder.
//!
//! The figures are written as coordinates in a fixed 360x400 unit space; these helpers keep
//! that code readable.

use tiny_skia::{
    Color, GradientStop, LinearGradient, Paint, Path, PathBuilder, Point, RadialGradient, Shader,
    SpreadMode, Transform,
};

/// An opaque colour from `0xRRGGBB`.
pub(crate) fn rgb(hex: u32) -> Color {
    Color::from_rgba8((hex >> 16) as u8, (hex >> 8) as u8, hex as u8, 255)
}

/// `color` with its alpha replaced.
pub(crate) fn alpha(color: Color, a: f32) -> Color {
    let mut c = color;
    c.set_alpha(a.clamp(0.0, 1.0));
    c
}

/// Linear mix of two colours, `t` = 0 gives `a`.
pub(crate) fn mix(a: Color, b: Color, t: f32) -> Color {
    let l = |x: f32, y: f32| x + (y - x) * t;
    Color::from_rgba(
        l(a.red(), b.red()),
        l(a.green(), b.green()),
        l(a.blue(), b.blue()),
        l(a.alpha(), b.alpha()),
    )
    .unwrap_or(a)
}

/// `color` darkened towards black by `t`.
pub(crate) fn shade(color: Color, t: f32) -> Color {
    mix(color, alpha(Color::BLACK, color.alpha()), t)
}

/// `color` lightened towards white by `t`.
pub(crate) fn tint(color: Color, t: f32) -> Color {
    mix(color, alpha(Color::WHITE, color.alpha()), t)
}

/// An anti-aliased solid paint.
pub(crate) fn solid(color: Color) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(color);
    p.anti_alias = true;
    p
}

fn stops(list: &[(f32, Color)]) -> Vec<GradientStop> {
    list.iter().map(|&(t, c)| GradientStop::new(t, c)).collect()
}

fn with_shader(shader: Option<Shader<'static>>, fallback: Color) -> Paint<'static> {
    let mut p = solid(fallback);
    if let Some(s) = shader {
        p.shader = s;
    }
    p
}

/// A linear gradient paint from `(x0, y0)` to `(x1, y1)`.
pub(crate) fn linear(x0: f32, y0: f32, x1: f32, y1: f32, list: &[(f32, Color)]) -> Paint<'static> {
    let shader = LinearGradient::new(
        Point::from_xy(x0, y0),
        Point::from_xy(x1, y1),
        stops(list),
        SpreadMode::Pad,
        Transform::identity(),
    );
    with_shader(shader, list[0].1)
}

/// A radial gradient paint centred on `(cx, cy)`, squashed to `rx` by `ry`.
pub(crate) fn radial(cx: f32, cy: f32, rx: f32, ry: f32, list: &[(f32, Color)]) -> Paint<'static> {
    // A unit circle stretched by the shader transform gives an elliptical falloff.
    let shader = RadialGradient::new(
        Point::from_xy(0.0, 0.0),
        0.0,
        Point::from_xy(0.0, 0.0),
        1.0,
        stops(list),
        SpreadMode::Pad,
        Transform::from_row(rx, 0.0, 0.0, ry, cx, cy),
    );
    with_shader(shader, list[0].1)
}

/// Terse path construction: `Pen::at(x, y).line(..).curve(..).close()`.
pub(crate) struct Pen(PathBuilder);

impl Pen {
    /// Starts a path at `(x, y)`.
    pub fn at(x: f32, y: f32) -> Self {
        let mut b = PathBuilder::new();
        b.move_to(x, y);
        Pen(b)
    }

    /// Starts another contour in the same path.
    pub fn jump(mut self, x: f32, y: f32) -> Self {
        self.0.move_to(x, y);
        self
    }

    /// Straight line to `(x, y)`.
    pub fn line(mut self, x: f32, y: f32) -> Self {
        self.0.line_to(x, y);
        self
    }

    /// Quadratic curve through control `(cx, cy)` to `(x, y)`.
    pub fn quad(mut self, cx: f32, cy: f32, x: f32, y: f32) -> Self {
        self.0.quad_to(cx, cy, x, y);
        self
    }

    /// Cubic curve through controls to `(x, y)`.
    #[allow(clippy::too_many_arguments)]
    pub fn curve(mut self, c1x: f32, c1y: f32, c2x: f32, c2y: f32, x: f32, y: f32) -> Self {
        self.0.cubic_to(c1x, c1y, c2x, c2y, x, y);
        self
    }

    /// Closes the current contour.
    pub fn close(mut self) -> Self {
        self.0.close();
        self
    }

    /// The finished path; `None` only for degenerate input (computed shapes may collapse).
    pub fn try_done(self) -> Option<Path> {
        self.0.finish()
    }

    /// The finished path of a fixed design shape.
    pub fn done(self) -> Path {
        self.0
            .finish()
            .expect("a fixed avatar shape has at least one segment")
    }
}

/// An ellipse centred on `(cx, cy)`.
pub(crate) fn ellipse(cx: f32, cy: f32, rx: f32, ry: f32) -> Path {
    let rect = tiny_skia::Rect::from_xywh(cx - rx, cy - ry, rx * 2.0, ry * 2.0)
        .expect("ellipse radii are positive");
    PathBuilder::from_oval(rect).expect("ellipse radii are positive")
}

/// Several circles in one path (their union under the non-zero fill rule).
pub(crate) fn circles(list: &[(f32, f32, f32)]) -> Path {
    let mut b = PathBuilder::new();
    for &(x, y, r) in list {
        b.push_circle(x, y, r);
    }
    b.finish().expect("at least one circle")
}

/// `path` mirrored about the figure's vertical centre line (x = 180).
pub(crate) fn mirror(path: &Path) -> Path {
    path.clone()
        .transform(Transform::from_row(-1.0, 0.0, 0.0, 1.0, 360.0, 0.0))
        .expect("mirroring keeps a path valid")
}

/// `path` together with its mirror image, as one path.
pub(crate) fn with_mirror(path: Path) -> Path {
    let m = mirror(&path);
    let mut b = PathBuilder::new();
    b.push_path(&path);
    b.push_path(&m);
    b.finish().expect("two non-empty paths")
}

/// One prepared drawing step.
#[derive(Clone)]
pub(crate) enum Draw {
    /// Fill a path.
    Fill(Path, Paint<'static>),
    /// Stroke a path.
    Stroke(Path, Paint<'static>, tiny_skia::Stroke),
    /// Fill a path, clipped to the layer's clip (the eyeballs, the mouth opening).
    Clipped(Path, Paint<'static>),
}

impl Draw {
    /// Everything the step may paint, in its own units.
    pub fn bounds(&self) -> tiny_skia::Rect {
        match self {
            Draw::Fill(p, _) | Draw::Clipped(p, _) => p.bounds(),
            Draw::Stroke(p, _, s) => {
                let b = p.bounds();
                b.outset(s.width * 0.5 + 1.0, s.width * 0.5 + 1.0)
                    .unwrap_or(b)
            }
        }
    }
}
