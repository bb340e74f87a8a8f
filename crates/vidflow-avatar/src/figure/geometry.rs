//! The figure space (360x400 units, head and shoulders, bottom-centred) and where it lands
//! in an output layer.

use tiny_skia::{IntRect, Rect, Transform};

/// Width of the figure space.
pub(crate) const FIGURE_W: f32 = 360.0;
/// Height of the figure space.
pub(crate) const FIGURE_H: f32 = 400.0;
/// The head turns about the base of the neck.
pub(super) const HEAD_PIVOT: (f32, f32) = (180.0, 292.0);
/// Centres of the eyes (viewer's left, viewer's right).
pub(super) const EYE_CENTRES: [(f32, f32); 2] = [(148.0, 170.0), (212.0, 170.0)];

/// Where the figure space lands in a `width` x `height` layer: scaled to fit, bottom-centred.
pub(crate) fn placement(width: u32, height: u32) -> Transform {
    let (w, h) = (width as f32, height as f32);
    let s = (w / FIGURE_W).min(h / FIGURE_H);
    Transform::from_row(s, 0.0, 0.0, s, (w - FIGURE_W * s) * 0.5, h - FIGURE_H * s)
}

/// The output pixels of `rect` (figure units) in a `width` x `height` layer.
pub(super) fn to_pixels(rect: Rect, width: u32, height: u32) -> Option<IntRect> {
    let r = rect.transform(placement(width.max(1), height.max(1)))?;
    let r = r.round_out()?;
    r.intersect(&IntRect::from_xywh(0, 0, width.max(1), height.max(1))?)
}
