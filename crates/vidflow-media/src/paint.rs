//! Drawing and blending primitives shared by the layers: rounded shapes, soft shadows,
//! coverage masks, and integer blends on rectangular regions of a frame.
//!
//! All blending is integer arithmetic with exact rounding, so a frame's bytes depend only
//! on its inputs, never on which thread or in which order it was rendered.

use tiny_skia::{FillRule, Paint, Path, PathBuilder, Pixmap, Transform};

use crate::text::div255;

/// A pixel rectangle in frame coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PxRect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl PxRect {
    pub fn new(x: u32, y: u32, w: u32, h: u32) -> Self {
        PxRect { x, y, w, h }
    }

    /// Rounds a float rectangle to whole pixels.
    pub fn from_f32(r: Rect) -> Self {
        let x = r.x.round().max(0.0) as u32;
        let y = r.y.round().max(0.0) as u32;
        let w = (r.x + r.w).round().max(0.0) as u32 - x;
        let h = (r.y + r.h).round().max(0.0) as u32 - y;
        PxRect { x, y, w, h }
    }

    pub fn right(&self) -> u32 {
        self.x + self.w
    }

    pub fn bottom(&self) -> u32 {
        self.y + self.h
    }

    pub fn is_empty(&self) -> bool {
        self.w == 0 || self.h == 0
    }

    pub fn intersect(&self, o: &PxRect) -> Option<PxRect> {
        let x0 = self.x.max(o.x);
        let y0 = self.y.max(o.y);
        let x1 = self.right().min(o.right());
        let y1 = self.bottom().min(o.bottom());
        (x1 > x0 && y1 > y0).then(|| PxRect::new(x0, y0, x1 - x0, y1 - y0))
    }

    /// Grows to even coordinates and sizes (chroma blocks of yuv420p), inside the frame.
    pub fn even_outward(&self, fw: u32, fh: u32) -> PxRect {
        let x0 = self.x & !1;
        let y0 = self.y & !1;
        let x1 = (self.right() + 1).min(fw) & !1;
        let y1 = (self.bottom() + 1).min(fh) & !1;
        PxRect::new(x0, y0, x1.saturating_sub(x0), y1.saturating_sub(y0))
    }
}

/// A float rectangle used for layout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl Rect {
    pub fn new(x: f32, y: f32, w: f32, h: f32) -> Self {
        Rect { x, y, w, h }
    }
    pub fn right(&self) -> f32 {
        self.x + self.w
    }
    pub fn bottom(&self) -> f32 {
        self.y + self.h
    }
}

/// A rectangular part of a frame being composed: `buf` holds `rect.w * rect.h` RGBA
/// pixels, row by row.
pub(crate) struct Region<'a> {
    pub buf: &'a mut [u8],
    pub rect: PxRect,
}

impl Region<'_> {
    /// Copies the region's pixels out of a whole opaque frame of width `fw`.
    pub fn copy_from_frame(&mut self, frame: &[u8], fw: u32) {
        let r = self.rect;
        let row = r.w as usize * 4;
        for (i, yy) in (r.y..r.bottom()).enumerate() {
            let src = (yy as usize * fw as usize + r.x as usize) * 4;
            self.buf[i * row..(i + 1) * row].copy_from_slice(&frame[src..src + row]);
        }
    }

    /// Blends an opaque image `src` (covering `src_rect`) through a coverage `mask` of
    /// the same size: `out = src·m + out·(1−m)`.
    pub fn blend_opaque_masked(&mut self, src: &[u8], src_rect: PxRect, mask: &[u8]) {
        let Some(i) = self.rect.intersect(&src_rect) else {
            return;
        };
        for yy in i.y..i.bottom() {
            let d_row = ((yy - self.rect.y) * self.rect.w) as usize;
            let s_row = ((yy - src_rect.y) * src_rect.w) as usize;
            for xx in i.x..i.right() {
                let d = (d_row + (xx - self.rect.x) as usize) * 4;
                let s = s_row + (xx - src_rect.x) as usize;
                let m = mask[s] as u32;
                if m == 0 {
                    continue;
                }
                if m == 255 {
                    self.buf[d..d + 3].copy_from_slice(&src[s * 4..s * 4 + 3]);
                    continue;
                }
                let inv = 255 - m;
                for k in 0..3 {
                    let v = src[s * 4 + k] as u32 * m + self.buf[d + k] as u32 * inv;
                    self.buf[d + k] = div255(v) as u8;
                }
            }
        }
    }

    /// Blends a premultiplied RGBA layer `src` (covering `src_rect`) over the region,
    /// optionally through a coverage mask covering `mask_rect`; outside the mask's rect
    /// nothing is drawn.
    pub fn blend_premultiplied(
        &mut self,
        src: &[u8],
        src_rect: PxRect,
        mask: Option<(&[u8], PxRect)>,
    ) {
        let mut area = match self.rect.intersect(&src_rect) {
            Some(a) => a,
            None => return,
        };
        if let Some((_, mr)) = mask {
            area = match area.intersect(&mr) {
                Some(a) => a,
                None => return,
            };
        }
        for yy in area.y..area.bottom() {
            let d_row = ((yy - self.rect.y) * self.rect.w) as usize;
            let s_row = ((yy - src_rect.y) * src_rect.w) as usize;
            for xx in area.x..area.right() {
                let s = (s_row + (xx - src_rect.x) as usize) * 4;
                let mut a = src[s + 3] as u32;
                if a == 0 {
                    continue;
                }
                let d = (d_row + (xx - self.rect.x) as usize) * 4;
                match mask {
                    Some((m, mr)) => {
                        let mv = m[((yy - mr.y) * mr.w + (xx - mr.x)) as usize] as u32;
                        if mv == 0 {
                            continue;
                        }
                        a = div255(a * mv);
                        let inv = 255 - a;
                        for k in 0..3 {
                            let c = div255(src[s + k] as u32 * mv);
                            self.buf[d + k] =
                                (c + div255(self.buf[d + k] as u32 * inv)).min(255) as u8;
                        }
                    }
                    None => {
                        let inv = 255 - a;
                        for k in 0..3 {
                            let c = src[s + k] as u32;
                            self.buf[d + k] =
                                (c + div255(self.buf[d + k] as u32 * inv)).min(255) as u8;
                        }
                    }
                }
            }
        }
    }

    /// `out = out·(1−t) + other·t`, with `t = alpha / 255`; `other` has the region's shape.
    pub fn lerp_towards(&mut self, other: &[u8], alpha: u32) {
        let inv = 255 - alpha;
        for (d, s) in self.buf.iter_mut().zip(other) {
            *d = div255(*d as u32 * inv + *s as u32 * alpha) as u8;
        }
    }
}

/// A straight-alpha colour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub fn mix(self, o: Rgb, t: f32) -> Rgb {
        let m = |a: u8, b: u8| {
            (a as f32 + (b as f32 - a as f32) * t)
                .round()
                .clamp(0.0, 255.0) as u8
        };
        Rgb(m(self.0, o.0), m(self.1, o.1), m(self.2, o.2))
    }

    pub fn color(self, alpha: f32) -> tiny_skia::Color {
        tiny_skia::Color::from_rgba8(
            self.0,
            self.1,
            self.2,
            (alpha.clamp(0.0, 1.0) * 255.0).round() as u8,
        )
    }

    pub fn rgba(self, alpha: u8) -> [u8; 4] {
        [self.0, self.1, self.2, alpha]
    }

    /// WCAG relative luminance.
    pub fn luminance(self) -> f32 {
        let ch = |c: u8| {
            let c = c as f32 / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * ch(self.0) + 0.7152 * ch(self.1) + 0.0722 * ch(self.2)
    }

    /// WCAG contrast ratio between two colours.
    pub fn contrast(self, o: Rgb) -> f32 {
        let (a, b) = (self.luminance(), o.luminance());
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }
}

/// A rounded-rectangle path.
pub(crate) fn rounded_rect(r: Rect, radius: f32) -> Option<Path> {
    let rad = radius.min(r.w / 2.0).min(r.h / 2.0).max(0.0);
    // Control-point distance that makes a cubic approximate a quarter circle.
    let k = rad * 0.552_284_8;
    let (x0, y0, x1, y1) = (r.x, r.y, r.right(), r.bottom());
    let mut pb = PathBuilder::new();
    pb.move_to(x0 + rad, y0);
    pb.line_to(x1 - rad, y0);
    pb.cubic_to(x1 - rad + k, y0, x1, y0 + rad - k, x1, y0 + rad);
    pb.line_to(x1, y1 - rad);
    pb.cubic_to(x1, y1 - rad + k, x1 - rad + k, y1, x1 - rad, y1);
    pb.line_to(x0 + rad, y1);
    pb.cubic_to(x0 + rad - k, y1, x0, y1 - rad + k, x0, y1 - rad);
    pb.line_to(x0, y0 + rad);
    pb.cubic_to(x0, y0 + rad - k, x0 + rad - k, y0, x0 + rad, y0);
    pb.close();
    pb.finish()
}

/// Fills a rounded rectangle with a solid colour.
pub(crate) fn fill_rounded(pixmap: &mut Pixmap, r: Rect, radius: f32, color: tiny_skia::Color) {
    if let Some(path) = rounded_rect(r, radius) {
        let mut paint = Paint {
            anti_alias: true,
            ..Paint::default()
        };
        paint.set_color(color);
        pixmap.fill_path(
            &path,
            &paint,
            FillRule::Winding,
            Transform::identity(),
            None,
        );
    }
}

/// Fills a rounded rectangle with a vertical gradient.
pub(crate) fn fill_rounded_gradient(
    pixmap: &mut Pixmap,
    r: Rect,
    radius: f32,
    top: tiny_skia::Color,
    bottom: tiny_skia::Color,
) {
    let Some(path) = rounded_rect(r, radius) else {
        return;
    };
    let shader = tiny_skia::LinearGradient::new(
        tiny_skia::Point::from_xy(r.x, r.y),
        tiny_skia::Point::from_xy(r.x, r.bottom()),
        vec![
            tiny_skia::GradientStop::new(0.0, top),
            tiny_skia::GradientStop::new(1.0, bottom),
        ],
        tiny_skia::SpreadMode::Pad,
        Transform::identity(),
    );
    let mut paint = Paint {
        anti_alias: true,
        ..Paint::default()
    };
    if let Some(shader) = shader {
        paint.shader = shader;
    } else {
        paint.set_color(top);
    }
    pixmap.fill_path(
        &path,
        &paint,
        FillRule::Winding,
        Transform::identity(),
        None,
    );
}

/// A soft drop shadow under a rounded rectangle: stacked, growing, faint copies stand in
/// for a blur (drawn once into a static layer, so cost does not matter much).
pub(crate) fn soft_shadow(
    pixmap: &mut Pixmap,
    r: Rect,
    radius: f32,
    spread: f32,
    dy: f32,
    strength: f32,
) {
    let steps = 12;
    for i in 0..steps {
        // Outer rings get less alpha than inner ones (each inner ring also sits on every
        // outer one), which approximates a blur's falloff.
        let g = spread * (i as f32 + 1.0) / steps as f32;
        let rr = Rect::new(r.x - g, r.y - g + dy, r.w + 2.0 * g, r.h + 2.0 * g);
        fill_rounded(
            pixmap,
            rr,
            radius + g,
            tiny_skia::Color::from_rgba(0.05, 0.07, 0.12, strength / steps as f32)
                .unwrap_or(tiny_skia::Color::BLACK),
        );
    }
}

/// Fills a circle.
pub(crate) fn fill_circle(
    pixmap: &mut Pixmap,
    cx: f32,
    cy: f32,
    radius: f32,
    color: tiny_skia::Color,
) {
    if let Some(path) = PathBuilder::from_circle(cx, cy, radius) {
        let mut paint = Paint {
            anti_alias: true,
            ..Paint::default()
        };
        paint.set_color(color);
        pixmap.fill_path(
            &path,
            &paint,
            FillRule::Winding,
            Transform::identity(),
            None,
        );
    }
}

/// Anti-aliased coverage (0–255) of a rounded rectangle filling a `w` × `h` box.
pub(crate) fn rounded_mask(w: u32, h: u32, radius: f32) -> Vec<u8> {
    let Some(mut pm) = Pixmap::new(w.max(1), h.max(1)) else {
        return vec![0; (w * h) as usize];
    };
    fill_rounded(
        &mut pm,
        Rect::new(0.0, 0.0, w as f32, h as f32),
        radius,
        tiny_skia::Color::WHITE,
    );
    pm.pixels().iter().map(|p| p.alpha()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_outward_covers_and_aligns() {
        let r = PxRect::new(3, 5, 10, 7).even_outward(100, 100);
        assert_eq!(r, PxRect::new(2, 4, 12, 8));
        let edge = PxRect::new(95, 95, 5, 5).even_outward(100, 100);
        assert_eq!(edge, PxRect::new(94, 94, 6, 6));
    }

    #[test]
    fn rounded_mask_is_opaque_inside_and_clear_in_corners() {
        let m = rounded_mask(40, 30, 10.0);
        assert_eq!(m[(15 * 40 + 20) as usize], 255);
        assert_eq!(m[0], 0);
        assert_eq!(m[39], 0);
    }

    #[test]
    fn premultiplied_blend_over_opaque() {
        let mut buf = vec![0u8, 0, 0, 255, 100, 100, 100, 255];
        let mut region = Region {
            buf: &mut buf,
            rect: PxRect::new(0, 0, 2, 1),
        };
        // Half-transparent white, premultiplied.
        let src = [128u8, 128, 128, 128];
        region.blend_premultiplied(&src, PxRect::new(1, 0, 1, 1), None);
        assert_eq!(&buf[..4], &[0, 0, 0, 255]);
        assert_eq!(&buf[4..7], &[178, 178, 178]);
    }
}
