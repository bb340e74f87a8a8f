//! Glasses: lenses with a faint glare, and the frame.

use tiny_skia::Color;

use super::geometry::EYE_CENTRES;
use super::steps::{Op, Part, fill, line, stroke};
use crate::draw::{Pen, alpha, mirror, solid, with_mirror};

/// Glasses framed in `frame`.
pub(super) fn glasses(ops: &mut Vec<Op>, frame: Color) {
    let lens = |cx: f32, cy: f32| {
        let (hw, hh, r) = (20.0, 14.5, 8.0);
        Pen::at(cx - hw + r, cy - hh)
            .line(cx + hw - r, cy - hh)
            .quad(cx + hw, cy - hh, cx + hw, cy - hh + r)
            .line(cx + hw - 1.0, cy + hh - r)
            .quad(cx + hw - 1.5, cy + hh, cx + hw - r, cy + hh)
            .line(cx - hw + r, cy + hh)
            .quad(cx - hw + 1.5, cy + hh, cx - hw + 1.0, cy + hh - r)
            .line(cx - hw, cy - hh + r)
            .quad(cx - hw, cy - hh, cx - hw + r, cy - hh)
            .close()
            .done()
    };
    let (cx, cy) = EYE_CENTRES[0];
    let left = lens(cx, cy + 1.0);
    let right = mirror(&left);
    let mut both = tiny_skia::PathBuilder::new();
    both.push_path(&left);
    both.push_path(&right);
    let both = both.finish().expect("two lenses");
    ops.push(fill(
        Part::Head,
        both.clone(),
        solid(alpha(Color::WHITE, 0.08)),
    ));
    // Glare across the lenses.
    ops.push(line(
        Part::Head,
        with_mirror(Pen::at(cx + 4.0, cy - 9.0).line(cx + 12.0, cy + 2.0).done()),
        solid(alpha(Color::WHITE, 0.14)),
        stroke(2.5),
    ));
    let paint = solid(frame);
    ops.push(line(Part::Head, both, paint.clone(), stroke(2.4)));
    ops.push(line(
        Part::Head,
        Pen::at(168.0, 166.0)
            .quad(180.0, 159.0, 192.0, 166.0)
            .jump(128.0, 164.0)
            .line(108.0, 168.0)
            .jump(232.0, 164.0)
            .line(252.0, 168.0)
            .done(),
        paint,
        stroke(2.8),
    ));
}
