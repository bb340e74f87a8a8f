//! The eyes: almond outlines, and the lids and lash lines that follow a blink.

use tiny_skia::Path;

use crate::draw::Pen;

/// An almond eye: two cubic curves between the same corners.
#[derive(Clone, Copy)]
pub(super) struct EyeCurves {
    pub(super) outer: (f32, f32),
    pub(super) inner: (f32, f32),
    /// Controls of the upper curve, outer to inner.
    pub(super) top: [(f32, f32); 2],
    /// Controls of the lower curve, outer to inner.
    pub(super) bottom: [(f32, f32); 2],
}

impl EyeCurves {
    /// The left eye (viewer's left) at `(cx, cy)`; the right one mirrors it.
    pub(super) fn new(cx: f32, cy: f32, mirrored: bool) -> Self {
        // Outer corner slightly higher than the inner one: a friendly upward tilt.
        let pts = [
            (cx - 16.5, cy - 0.5),
            (cx + 15.0, cy + 1.8),
            (cx - 10.0, cy - 11.5),
            (cx + 7.0, cy - 12.0),
            (cx - 9.0, cy + 7.5),
            (cx + 8.0, cy + 7.2),
        ];
        let m = |(x, y): (f32, f32)| {
            if mirrored { (2.0 * cx - x, y) } else { (x, y) }
        };
        EyeCurves {
            outer: m(pts[0]),
            inner: m(pts[1]),
            top: [m(pts[2]), m(pts[3])],
            bottom: [m(pts[4]), m(pts[5])],
        }
    }

    /// Controls of the lid edge for `closure` (0 = the upper curve, 1 = the lower curve).
    pub(super) fn lid(&self, closure: f32) -> [(f32, f32); 2] {
        let l = |a: (f32, f32), b: (f32, f32)| {
            (a.0 + (b.0 - a.0) * closure, a.1 + (b.1 - a.1) * closure)
        };
        [
            l(self.top[0], self.bottom[0]),
            l(self.top[1], self.bottom[1]),
        ]
    }

    pub(super) fn white(&self) -> Path {
        let (o, i, t, b) = (self.outer, self.inner, self.top, self.bottom);
        Pen::at(o.0, o.1)
            .curve(t[0].0, t[0].1, t[1].0, t[1].1, i.0, i.1)
            .curve(b[1].0, b[1].1, b[0].0, b[0].1, o.0, o.1)
            .close()
            .done()
    }

    /// The lid covering the eye down to `closure`; `None` while the eye is open.
    pub(super) fn lid_cover(&self, closure: f32) -> Option<Path> {
        if closure <= 0.01 {
            return None;
        }
        let (o, i, t) = (self.outer, self.inner, self.top);
        let l = self.lid(closure);
        // Overshoot the upper curve a little so no sliver of white shows along the lash line.
        Pen::at(o.0, o.1)
            .curve(t[0].0, t[0].1 - 1.0, t[1].0, t[1].1 - 1.0, i.0, i.1)
            .curve(l[1].0, l[1].1, l[0].0, l[0].1, o.0, o.1)
            .close()
            .try_done()
    }

    /// The lash line along the lid edge.
    pub(super) fn lash_line(&self, closure: f32, wing: bool) -> Path {
        let (o, i) = (self.outer, self.inner);
        let l = self.lid(closure);
        let mut pen = Pen::at(i.0, i.1).curve(l[1].0, l[1].1, l[0].0, l[0].1, o.0, o.1);
        if wing {
            // The flick points away from the face and up, and droops as the eye closes.
            let dir = if o.0 < i.0 { -1.0 } else { 1.0 };
            pen = pen.quad(
                o.0 + dir * 2.5,
                o.1 - 1.0,
                o.0 + dir * 5.5,
                o.1 - 3.5 + closure * 3.0,
            );
        }
        pen.done()
    }
}
