//! The drawing steps a figure is built from: shapes that move with the body or the head,
//! and markers for the parts drawn per frame (eyelids, mouth).

use tiny_skia::{LineCap, LineJoin, Paint, Path, Stroke};

use crate::draw::Draw;

/// What a drawing step moves with.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Part {
    /// Shoulders and neck: breathing.
    Body,
    /// Everything on the head: sway, bob, tilt.
    Head,
}

/// One step of drawing a figure.
#[derive(Clone)]
pub(super) enum Op {
    /// A pose-independent shape that moves with `Part` (boxed: most of the list is these,
    /// and the markers should not pay for their size).
    Draw(Part, Box<Draw>),
    /// The eyelids and lash lines, which follow the pose's eye closure.
    Lids,
    /// The mouth for the pose's viseme.
    Mouth,
}

/// A filled shape moving with `part`.
pub(super) fn fill(part: Part, path: Path, paint: Paint<'static>) -> Op {
    Op::Draw(part, Box::new(Draw::Fill(path, paint)))
}

/// A stroked line moving with `part`.
pub(super) fn line(part: Part, path: Path, paint: Paint<'static>, stroke: Stroke) -> Op {
    Op::Draw(part, Box::new(Draw::Stroke(path, paint, stroke)))
}

/// A round-capped, round-joined stroke of `width` units.
pub(super) fn stroke(width: f32) -> Stroke {
    Stroke {
        width,
        line_cap: LineCap::Round,
        line_join: LineJoin::Round,
        ..Stroke::default()
    }
}
