//! One frame of a figure: the pose's motion applied to the pre-rendered layers, the
//! eyelids drawn for its blink, and its mouth.

use tiny_skia::{FillRule, IntRect, PixmapMut, Transform};
use vidflow_core::Viseme;

use super::Figure;
use super::geometry::{FIGURE_H, HEAD_PIVOT, to_pixels};
use super::layers::Step;
use super::steps::Part;
use crate::Pose;
use crate::motion::{Idle, idle};
use crate::raster;

impl Figure {
    /// Draws the figure for `pose` into a fresh `width` x `height` layer.
    pub(crate) fn render_onto(&self, pose: &Pose, pixmap: &mut PixmapMut<'_>) {
        let (width, height) = (pixmap.width(), pixmap.height());
        let raster = self.raster(width, height);
        let base = raster.base;
        let m = idle(pose.time, pose.motion);
        // Breathing lifts the shoulders: a slight vertical stretch anchored at the bottom edge.
        let rise = 1.0 + 0.012 * m.breath;
        let body = Transform::from_row(1.0, 0.0, 0.0, rise, 0.0, FIGURE_H * (1.0 - rise));
        let lift = (FIGURE_H - HEAD_PIVOT.1) * (rise - 1.0);
        let head = Transform::from_translate(m.sway, m.bob - lift).pre_concat(
            Transform::from_rotate_at(m.tilt_deg, HEAD_PIVOT.0, HEAD_PIVOT.1),
        );
        // The same motions in output pixels, for moving the pre-rendered layers.
        let to_pixels = |t: Transform| match base.invert() {
            Some(inv) => base.pre_concat(t).pre_concat(inv),
            None => Transform::identity(),
        };
        // A still figure composites with exact whole-pixel copies.
        let (head_px, body_px) = if m == Idle::default() {
            (Transform::identity(), Transform::identity())
        } else {
            (to_pixels(head), to_pixels(body))
        };
        let closure = if pose.eye_closure.is_finite() {
            pose.eye_closure.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let shape = Viseme::ALL
            .iter()
            .position(|&v| v == pose.viseme)
            .unwrap_or(8);

        for step in &raster.steps {
            match step {
                Step::Layer(part, layer) => {
                    let motion = if *part == Part::Head {
                        head_px
                    } else {
                        body_px
                    };
                    raster::blit(pixmap, layer, motion);
                }
                Step::Lids => self.draw_lids(pixmap, base.pre_concat(head), closure),
                Step::Mouth => {
                    if let Some(layer) = &raster.mouths[shape] {
                        raster::blit(pixmap, layer, head_px);
                    }
                }
            }
        }
    }

    fn draw_lids(&self, pixmap: &mut PixmapMut<'_>, head: Transform, closure: f32) {
        for eye in &self.eyes {
            if let Some(lid) = eye.lid_cover(closure) {
                pixmap.fill_path(&lid, &self.lid_paint, FillRule::Winding, head, None);
            }
            let mut lash = self.lash_stroke.clone();
            // A shut eye reads as a thinner line than an open one's lashes.
            lash.width *= 1.0 - 0.25 * closure;
            pixmap.stroke_path(
                &eye.lash_line(closure, self.wing),
                &self.lash_paint,
                &lash,
                head,
                None,
            );
        }
    }

    /// Pixels the mouth may touch at rest pose in a `width` x `height` layer.
    pub(crate) fn mouth_region(&self, width: u32, height: u32) -> Option<IntRect> {
        let rect = raster::union(self.mouths.iter().map(|m| m.outline.bounds()))?;
        to_pixels(rect, width, height)
    }

    /// Pixels the eyes and lids may touch at rest pose in a `width` x `height` layer.
    pub(crate) fn eye_region(&self, width: u32, height: u32) -> Option<IntRect> {
        let rect = self.eye_whites.bounds().outset(9.0, 5.0)?;
        to_pixels(rect, width, height)
    }
}
