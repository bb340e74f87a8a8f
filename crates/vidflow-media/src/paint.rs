//! Drawing primitives shared by the layers (rounded shapes, soft shadows, coverage
//! masks) and [`Region`], a rectangle of a frame being composed, whose blends are the
//! [`kernels`]'.
//!
//! All blending is integer arithmetic with exact rounding, so a frame's bytes depend only
//! on its inputs, never on which thread or in which order it was rendered.

use tiny_skia::{FillRule, Paint, Path, PathBuilder, Pixmap, Transform};

use crate::kernels::{self, FrameView, FrameViewMut, PixelFormat};

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
///
/// Its methods place layers given in frame coordinates and hand the overlapping pixels
/// to the [`kernels`], which do all the blending.
pub(crate) struct Region<'a> {
    pub buf: &'a mut [u8],
    pub rect: PxRect,
}

/// `rect` (which lies inside `whole`) of a tightly packed one-plane `format` image
/// (RGBA or coverage) covering `whole`,
/// as a view that strides over the rest.
///
/// # Panics
/// If `rect` is not inside `whole` or `buf` is too short: the renderer's own geometry
/// guarantees both.
pub(crate) fn view_of<'a>(
    buf: &'a [u8],
    whole: PxRect,
    rect: PxRect,
    format: PixelFormat,
) -> FrameView<'a, u8> {
    let bpp = match format {
        PixelFormat::Rgba8Premul => 4,
        _ => 1,
    };
    let stride = whole.w as usize * bpp;
    let at = (rect.y - whole.y) as usize * stride + (rect.x - whole.x) as usize * bpp;
    FrameView::new(format, rect.w, rect.h, &[(&buf[at..], stride)])
        .expect("a rectangle inside its image")
}

impl Region<'_> {
    /// The region as a frame the kernels can write.
    fn view_mut(&mut self) -> FrameViewMut<'_, u8> {
        FrameViewMut::rgba(self.buf, self.rect.w, self.rect.h).expect("a region holds its pixels")
    }

    /// The part of the region covering `rect` (inside the region).
    pub fn sub_view_mut(&mut self, rect: PxRect) -> FrameViewMut<'_, u8> {
        let r = self.rect;
        let stride = r.w as usize * 4;
        let at = (rect.y - r.y) as usize * stride + (rect.x - r.x) as usize * 4;
        FrameViewMut::new(
            PixelFormat::Rgba8Premul,
            rect.w,
            rect.h,
            vec![(&mut self.buf[at..], stride)],
        )
        .expect("a rectangle inside its region")
    }

    /// Where `rect`'s top-left corner falls in the region, for the kernels' offsets.
    fn offset_of(&self, rect: PxRect) -> (i32, i32) {
        (
            rect.x as i32 - self.rect.x as i32,
            rect.y as i32 - self.rect.y as i32,
        )
    }

    /// Copies the region's pixels out of a whole opaque frame of width `fw`.
    pub fn copy_from_frame(&mut self, frame: &[u8], fw: u32) {
        self.copy_rect_from_frame(frame, fw, self.rect);
    }

    /// Copies the pixels of `rect` (inside the region) out of a whole opaque frame of
    /// width `fw`.
    pub fn copy_rect_from_frame(&mut self, frame: &[u8], fw: u32, rect: PxRect) {
        let r = self.rect;
        let n = rect.w as usize * 4;
        for yy in rect.y..rect.bottom() {
            let src = (yy as usize * fw as usize + rect.x as usize) * 4;
            let dst = ((yy - r.y) as usize * r.w as usize + (rect.x - r.x) as usize) * 4;
            self.buf[dst..dst + n].copy_from_slice(&frame[src..src + n]);
        }
    }

    /// Copies `src` (premultiplied RGBA covering `src_rect`) into the region through a
    /// coverage mask covering `mask_rect`, which must contain `src_rect`
    /// ([`kernels::copy_masked`]): a picture into its rounded panel, or the presenter drawn
    /// over its background back into the rounded card.
    pub fn copy_masked(&mut self, src: &[u8], src_rect: PxRect, mask: &[u8], mask_rect: PxRect) {
        let Some(area) = self.rect.intersect(&src_rect) else {
            return;
        };
        let layer = view_of(src, src_rect, area, PixelFormat::Rgba8Premul);
        let mask = view_of(mask, mask_rect, area, PixelFormat::Coverage8);
        let (x, y) = self.offset_of(area);
        kernels::copy_masked(&mut self.view_mut(), &layer, &mask, x, y)
            .expect("layer, mask and region agree");
    }

    /// Copies the region's pixels out of a whole opaque frame of width `fw`, except those
    /// inside `hole` (which something else is about to cover).
    pub fn copy_from_frame_around(&mut self, frame: &[u8], fw: u32, hole: PxRect) {
        let r = self.rect;
        let Some(h) = r.intersect(&hole) else {
            return self.copy_from_frame(frame, fw);
        };
        // Above, below, left of and right of the hole.
        for part in [
            PxRect::new(r.x, r.y, r.w, h.y - r.y),
            PxRect::new(r.x, h.bottom(), r.w, r.bottom() - h.bottom()),
            PxRect::new(r.x, h.y, h.x - r.x, h.h),
            PxRect::new(h.right(), h.y, r.right() - h.right(), h.h),
        ] {
            self.copy_rect_from_frame(frame, fw, part);
        }
    }

    /// Composites a premultiplied RGBA layer `src` (covering `src_rect`) over the region
    /// ([`kernels::composite_over`]), or, given a coverage mask covering `mask_rect`, only
    /// within the mask and scaled by its coverage ([`kernels::composite_over_masked`]).
    pub fn composite(&mut self, src: &[u8], src_rect: PxRect, mask: Option<(&[u8], PxRect)>) {
        let Some(area) = self.rect.intersect(&src_rect) else {
            return;
        };
        let done = match mask {
            None => {
                let layer = view_of(src, src_rect, src_rect, PixelFormat::Rgba8Premul);
                let (x, y) = self.offset_of(src_rect);
                kernels::composite_over(&mut self.view_mut(), &layer, x, y, 255)
            }
            Some((mask, mask_rect)) => {
                let Some(area) = area.intersect(&mask_rect) else {
                    return;
                };
                let layer = view_of(src, src_rect, area, PixelFormat::Rgba8Premul);
                let mask = view_of(mask, mask_rect, area, PixelFormat::Coverage8);
                let (x, y) = self.offset_of(area);
                kernels::composite_over_masked(&mut self.view_mut(), &layer, &mask, x, y)
            }
        };
        done.expect("layer, mask and region agree");
    }

    /// Fills the region with `from` crossfaded towards `to` by `weight / 255`, reading
    /// both from whole frames of width `fw` ([`kernels::crossfade`]): a crossfade of two
    /// static layers without copying either first.
    pub fn crossfade_frames(&mut self, from: &[u8], to: &[u8], fw: u32, weight: u8) {
        let whole = PxRect::new(0, 0, fw, (from.len() / (fw as usize * 4)) as u32);
        let (a, b) = (
            view_of(from, whole, self.rect, PixelFormat::Rgba8Premul),
            view_of(to, whole, self.rect, PixelFormat::Rgba8Premul),
        );
        kernels::crossfade(&a, &b, &mut self.view_mut(), weight).expect("frames cover the region");
    }

    /// Writes `from` crossfaded towards `to` (both tightly packed, covering `rect` inside
    /// the region) into the region's part at `rect`.
    pub fn crossfade_rect(&mut self, from: &[u8], to: &[u8], rect: PxRect, weight: u8) {
        let (a, b) = (
            view_of(from, rect, rect, PixelFormat::Rgba8Premul),
            view_of(to, rect, rect, PixelFormat::Rgba8Premul),
        );
        kernels::crossfade(&a, &b, &mut self.sub_view_mut(rect), weight)
            .expect("a rectangle inside its region");
    }

    /// Copies the pixels of `rect` (which must lie inside the region) out into `dst`,
    /// tightly packed.
    pub fn copy_to(&self, dst: &mut [u8], rect: PxRect) {
        let n = rect.w as usize * 4;
        for (i, yy) in (rect.y..rect.bottom()).enumerate() {
            let s0 = ((yy - self.rect.y) * self.rect.w + (rect.x - self.rect.x)) as usize * 4;
            dst[i * n..(i + 1) * n].copy_from_slice(&self.buf[s0..s0 + n]);
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
    use crate::kernels::div255;

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

    /// A deterministic byte sequence (xorshift), for comparing blends with the formulas.
    fn noise(len: usize, mut seed: u32) -> Vec<u8> {
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                (seed >> 7) as u8
            })
            .collect()
    }

    /// Premultiplied pixels: transparent, opaque and partial runs, channels <= alpha.
    fn premultiplied(len: usize, seed: u32) -> Vec<u8> {
        let raw = noise(len * 4, seed);
        raw.chunks_exact(4)
            .enumerate()
            .flat_map(|(i, p)| {
                let a = match i % 7 {
                    0 | 1 => 0,
                    2 | 3 => 255,
                    _ => p[3],
                };
                let c = |v: u8| div255(v as u32 * a as u32) as u8;
                [c(p[0]), c(p[1]), c(p[2]), a]
            })
            .collect()
    }

    /// Coverage with 0 and 255 runs, like an anti-aliased rounded mask.
    fn coverage(len: usize, seed: u32) -> Vec<u8> {
        noise(len, seed)
            .into_iter()
            .enumerate()
            .map(|(i, v)| match i % 5 {
                0 => 0,
                1 | 2 => 255,
                _ => v,
            })
            .collect()
    }

    /// Pixel (x, y) of `rect` in a tightly packed RGBA image covering `rect`, if inside.
    fn at(rect: PxRect, x: u32, y: u32) -> Option<usize> {
        let inside = x >= rect.x && y >= rect.y && x < rect.right() && y < rect.bottom();
        inside.then(|| ((y - rect.y) * rect.w + x - rect.x) as usize)
    }

    #[test]
    fn composite_places_the_layer_and_mask_in_frame_coordinates() {
        let region = PxRect::new(6, 4, 37, 23);
        let src_rect = PxRect::new(9, 1, 29, 17);
        let mask_rect = PxRect::new(2, 6, 30, 18);
        let dst = noise((region.w * region.h * 4) as usize, 7);
        let src = premultiplied((src_rect.w * src_rect.h) as usize, 11);
        let mask = coverage((mask_rect.w * mask_rect.h) as usize, 13);
        for with_mask in [true, false] {
            let mut got = dst.clone();
            let m = with_mask.then_some((mask.as_slice(), mask_rect));
            Region {
                buf: &mut got,
                rect: region,
            }
            .composite(&src, src_rect, m);
            let mut want = dst.clone();
            for y in region.y..region.bottom() {
                for x in region.x..region.right() {
                    let d = at(region, x, y).unwrap() * 4;
                    let Some(s) = at(src_rect, x, y) else {
                        continue;
                    };
                    let mv = match (with_mask, at(mask_rect, x, y)) {
                        (false, _) => 255,
                        (true, Some(i)) => mask[i] as u32,
                        (true, None) => continue,
                    };
                    let a = div255(src[s * 4 + 3] as u32 * mv);
                    for k in 0..4 {
                        let c = div255(src[s * 4 + k] as u32 * mv);
                        want[d + k] = (c + div255(want[d + k] as u32 * (255 - a))).min(255) as u8;
                    }
                }
            }
            assert_eq!(got, want, "mask: {with_mask}");
        }
    }

    #[test]
    fn copy_masked_places_the_image_and_mask_in_frame_coordinates() {
        let region = PxRect::new(3, 5, 31, 19);
        let src_rect = PxRect::new(7, 2, 30, 20);
        let mask_rect = PxRect::new(5, 1, 33, 22);
        let dst = noise((region.w * region.h * 4) as usize, 3);
        let src = noise((src_rect.w * src_rect.h * 4) as usize, 5);
        let mask = coverage((mask_rect.w * mask_rect.h) as usize, 9);
        let mut got = dst.clone();
        Region {
            buf: &mut got,
            rect: region,
        }
        .copy_masked(&src, src_rect, &mask, mask_rect);
        let mut want = dst.clone();
        for y in region.y..region.bottom() {
            for x in region.x..region.right() {
                let d = at(region, x, y).unwrap() * 4;
                let Some(i) = at(src_rect, x, y) else {
                    continue;
                };
                let m = mask[at(mask_rect, x, y).unwrap()] as u32;
                for k in 0..4 {
                    want[d + k] =
                        div255(src[i * 4 + k] as u32 * m + want[d + k] as u32 * (255 - m)) as u8;
                }
            }
        }
        assert_eq!(got, want);
    }

    #[test]
    fn crossfading_frames_equals_crossfading_copies() {
        let (fw, fh) = (21u32, 13u32);
        let from = noise((fw * fh * 4) as usize, 17);
        let to = noise((fw * fh * 4) as usize, 19);
        let rect = PxRect::new(3, 2, 15, 9);
        let inner = PxRect::new(5, 4, 7, 5);
        for alpha in [0u8, 1, 128, 254, 255] {
            let len = (rect.w * rect.h * 4) as usize;
            let mut fused = vec![0; len];
            let mut region = Region {
                buf: &mut fused,
                rect,
            };
            region.crossfade_frames(&from, &to, fw, alpha);
            let expected: Vec<u8> = (0..len)
                .map(|i| {
                    let (x, y) = (
                        (i / 4) as u32 % rect.w + rect.x,
                        (i / 4) as u32 / rect.w + rect.y,
                    );
                    let j = ((y * fw + x) * 4) as usize + i % 4;
                    let t = alpha as u32;
                    div255(from[j] as u32 * (255 - t) + to[j] as u32 * t) as u8
                })
                .collect();
            assert_eq!(fused, expected, "alpha {alpha}");
            // The same pixels, crossfaded from copies of a smaller rectangle.
            let copy = |frame: &[u8]| {
                let mut buf = vec![0; (inner.w * inner.h * 4) as usize];
                Region {
                    buf: &mut buf,
                    rect: inner,
                }
                .copy_from_frame(frame, fw);
                buf
            };
            let mut again = vec![0; len];
            let mut region = Region {
                buf: &mut again,
                rect,
            };
            region.crossfade_rect(&copy(&from), &copy(&to), inner, alpha);
            let inner_region = Region {
                buf: &mut again,
                rect,
            };
            let mut got = vec![0; (inner.w * inner.h * 4) as usize];
            inner_region.copy_to(&mut got, inner);
            let mut want = vec![0; got.len()];
            Region {
                buf: &mut fused,
                rect,
            }
            .copy_to(&mut want, inner);
            assert_eq!(got, want, "alpha {alpha}");
        }
    }

    #[test]
    fn premultiplied_layer_over_opaque() {
        let mut buf = vec![0u8, 0, 0, 255, 100, 100, 100, 255];
        let mut region = Region {
            buf: &mut buf,
            rect: PxRect::new(0, 0, 2, 1),
        };
        // Half-transparent white, premultiplied.
        let src = [128u8, 128, 128, 128];
        region.composite(&src, PxRect::new(1, 0, 1, 1), None);
        assert_eq!(&buf[..4], &[0, 0, 0, 255]);
        assert_eq!(&buf[4..], &[178, 178, 178, 255]);
    }
}
