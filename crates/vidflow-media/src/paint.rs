//! Drawing and blending primitives shared by the layers: rounded shapes, soft shadows,
//! coverage masks, and integer blends on rectangular regions of a frame.
//!
//! All blending is integer arithmetic with exact rounding, so a frame's bytes depend only
//! on its inputs, never on which thread or in which order it was rendered.

use tiny_skia::{FillRule, Paint, Path, PathBuilder, Pixmap, Transform};

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
    /// the same size: `out = src·m + out·(1−m)` on R, G and B; alpha is kept.
    ///
    /// Branch-free over whole rows (m = 0 and m = 255 fall out of the formula exactly),
    /// so the loop stays tight however the mask's edges fall.
    pub fn blend_opaque_masked(&mut self, src: &[u8], src_rect: PxRect, mask: &[u8]) {
        let Some(i) = self.rect.intersect(&src_rect) else {
            return;
        };
        let n = i.w as usize;
        for yy in i.y..i.bottom() {
            let d0 = ((yy - self.rect.y) * self.rect.w + (i.x - self.rect.x)) as usize * 4;
            let s0 = ((yy - src_rect.y) * src_rect.w + (i.x - src_rect.x)) as usize;
            let dst = &mut self.buf[d0..d0 + n * 4];
            let s = &src[s0 * 4..(s0 + n) * 4];
            let m = &mask[s0..s0 + n];
            for ((d, s), &m) in dst.chunks_exact_mut(4).zip(s.chunks_exact(4)).zip(m) {
                let dp = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
                let sp = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                // Most of a rounded mask is fully in or fully out: those skip the arithmetic
                // (and m = 0 / 255 give exactly `out` / `src` through it anyway).
                let v = match m {
                    0 => continue,
                    255 => sp,
                    m => mix_packed(sp, m as u32, dp, 255 - m as u32),
                };
                d.copy_from_slice(&((v & 0x00ff_ffff) | (dp & 0xff00_0000)).to_le_bytes());
            }
        }
    }

    /// Blends a premultiplied RGBA layer `src` (covering `src_rect`) over the region,
    /// optionally through a coverage mask covering `mask_rect`; outside the mask's rect
    /// nothing is drawn.
    ///
    /// Per pixel: `a' = a·m`, `c' = c·m`, `out = min(c' + out·(1−a'), 255)` on R, G and
    /// B (each product rounded to the nearest 1/255), alpha kept; a source pixel with
    /// zero alpha leaves the pixel untouched.
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
        let n = area.w as usize;
        for yy in area.y..area.bottom() {
            let d0 = ((yy - self.rect.y) * self.rect.w + (area.x - self.rect.x)) as usize * 4;
            let s0 = ((yy - src_rect.y) * src_rect.w + (area.x - src_rect.x)) as usize * 4;
            let dst = &mut self.buf[d0..d0 + n * 4];
            let s = &src[s0..s0 + n * 4];
            match mask {
                Some((m, mr)) => {
                    let m0 = ((yy - mr.y) * mr.w + (area.x - mr.x)) as usize;
                    let m = &m[m0..m0 + n];
                    for ((d, s), &mv) in dst.chunks_exact_mut(4).zip(s.chunks_exact(4)).zip(m) {
                        let sp = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                        if sp >> 24 == 0 || mv == 0 {
                            continue;
                        }
                        let dp = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
                        let out = if sp >> 24 == 255 && mv == 255 {
                            // Opaque and fully covered: c' = c and 1 − a' = 0.
                            (sp & 0x00ff_ffff) | (dp & 0xff00_0000)
                        } else {
                            // All four channels times the coverage: (c', a') in one go.
                            over_packed(scale_packed(sp, mv as u32), dp)
                        };
                        d.copy_from_slice(&out.to_le_bytes());
                    }
                }
                None => {
                    for (d, s) in dst.chunks_exact_mut(4).zip(s.chunks_exact(4)) {
                        let sp = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                        // Subtitle layers are mostly clear: skip those pixels.
                        if sp >> 24 == 0 {
                            continue;
                        }
                        let dp = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
                        d.copy_from_slice(&over_packed(sp, dp).to_le_bytes());
                    }
                }
            }
        }
    }

    /// `out = out·(1−t) + other·t`, with `t = alpha / 255`; `other` has the region's shape.
    pub fn lerp_towards(&mut self, other: &[u8], alpha: u32) {
        let (t, inv) = (alpha.min(255) as u16, 255 - alpha.min(255) as u16);
        for (d, s) in self.buf.iter_mut().zip(other) {
            *d = div255_u16(*d as u16 * inv + *s as u16 * t) as u8;
        }
    }

    /// Fills the region with `from·(1−t) + to·t` (`t = alpha / 255`), reading both from
    /// whole frames of width `fw`: a crossfade of two static layers without copying
    /// either first.
    pub fn lerp_frames(&mut self, from: &[u8], to: &[u8], fw: u32, alpha: u32) {
        let (t, inv) = (alpha.min(255) as u16, 255 - alpha.min(255) as u16);
        let r = self.rect;
        let row = r.w as usize * 4;
        for (i, yy) in (r.y..r.bottom()).enumerate() {
            let src = (yy as usize * fw as usize + r.x as usize) * 4;
            let dst = &mut self.buf[i * row..(i + 1) * row];
            let (a, b) = (&from[src..src + row], &to[src..src + row]);
            for ((d, &a), &b) in dst.iter_mut().zip(a).zip(b) {
                *d = div255_u16(a as u16 * inv + b as u16 * t) as u8;
            }
        }
    }

    /// Copies `src`, a tightly packed image covering `src_rect` (inside the region), into
    /// the region.
    pub fn copy_from_rect(&mut self, src: &[u8], src_rect: PxRect) {
        let Some(i) = self.rect.intersect(&src_rect) else {
            return;
        };
        let n = i.w as usize * 4;
        for yy in i.y..i.bottom() {
            let d0 = ((yy - self.rect.y) * self.rect.w + (i.x - self.rect.x)) as usize * 4;
            let s0 = ((yy - src_rect.y) * src_rect.w + (i.x - src_rect.x)) as usize * 4;
            self.buf[d0..d0 + n].copy_from_slice(&src[s0..s0 + n]);
        }
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

    /// Puts `src` (tightly packed, covering `rect` inside the region) back into the region
    /// through a coverage mask `(mask, mask_rect)` that covers `rect`:
    /// `out = out + (src − out)·m/255`. Rows whose coverage is complete (`full_rows[i]`, for
    /// row `i` of `rect`) are plain copies.
    pub fn put_masked(
        &mut self,
        src: &[u8],
        rect: PxRect,
        mask: (&[u8], PxRect),
        full_rows: &[bool],
    ) {
        let (m, mr) = mask;
        let n = rect.w as usize;
        for (i, yy) in (rect.y..rect.bottom()).enumerate() {
            let d0 = ((yy - self.rect.y) * self.rect.w + (rect.x - self.rect.x)) as usize * 4;
            let s = &src[i * n * 4..(i + 1) * n * 4];
            let dst = &mut self.buf[d0..d0 + n * 4];
            if full_rows[i] {
                dst.copy_from_slice(s);
                continue;
            }
            let m0 = ((yy - mr.y) * mr.w + (rect.x - mr.x)) as usize;
            for ((d, s), &mv) in dst
                .chunks_exact_mut(4)
                .zip(s.chunks_exact(4))
                .zip(&m[m0..m0 + n])
            {
                match mv {
                    0 => {}
                    255 => d.copy_from_slice(s),
                    _ => {
                        let (t, inv) = (mv as u16, 255 - mv as u16);
                        for c in 0..4 {
                            d[c] = div255_u16(d[c] as u16 * inv + s[c] as u16 * t) as u8;
                        }
                    }
                }
            }
        }
    }
}

/// `text::div255` in 16 bits: exact for `v <= 255 * 255` (every step stays below 65 536), and
/// twice as many lanes when the loop is vectorised.
#[inline(always)]
fn div255_u16(v: u16) -> u16 {
    let v = v + 128;
    (v + (v >> 8)) >> 8
}

/// All four channels of a packed pixel times `k / 255` (`k <= 255`), each rounded as
/// `text::div255` does. Two channels share a 32-bit word in 16-bit lanes; no lane overflows
/// (255·255 + 128 + 254 < 65 536), so this equals the per-channel arithmetic.
#[inline(always)]
fn scale_packed(p: u32, k: u32) -> u32 {
    let mut rb = (p & 0x00ff_00ff) * k + 0x0080_0080;
    rb = ((rb + ((rb >> 8) & 0x00ff_00ff)) >> 8) & 0x00ff_00ff;
    let mut ag = ((p >> 8) & 0x00ff_00ff) * k + 0x0080_0080;
    ag = (ag + ((ag >> 8) & 0x00ff_00ff)) & 0xff00_ff00;
    rb | ag
}

/// `div255(s·ks + d·kd)` per channel with `ks + kd = 255`, in 16-bit lanes.
#[inline(always)]
fn mix_packed(s: u32, ks: u32, d: u32, kd: u32) -> u32 {
    let mut rb = (s & 0x00ff_00ff) * ks + (d & 0x00ff_00ff) * kd + 0x0080_0080;
    rb = ((rb + ((rb >> 8) & 0x00ff_00ff)) >> 8) & 0x00ff_00ff;
    let mut ag = ((s >> 8) & 0x00ff_00ff) * ks + ((d >> 8) & 0x00ff_00ff) * kd + 0x0080_0080;
    ag = (ag + ((ag >> 8) & 0x00ff_00ff)) & 0xff00_ff00;
    rb | ag
}

/// Premultiplied source-over on R, G and B with the destination's alpha kept:
/// `min(c + div255(d·(255−a)), 255)` per channel.
#[inline(always)]
fn over_packed(s: u32, d: u32) -> u32 {
    let k = 255 - (s >> 24);
    let dk = scale_packed(d, k);
    // Sums in 16-bit lanes (at most 510), then saturate lanes that passed 255.
    let rb = (s & 0x00ff_00ff) + (dk & 0x00ff_00ff);
    let g = ((s >> 8) & 0xff) + ((dk >> 8) & 0xff);
    let over = rb & 0x0100_0100;
    let rb = (rb | (over - (over >> 8))) & 0x00ff_00ff;
    let g = g.min(255);
    rb | (g << 8) | (d & 0xff00_0000)
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
    use crate::text::div255;

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

    #[test]
    fn masked_premultiplied_blend_matches_the_formula() {
        let frame = PxRect::new(0, 0, 37, 23);
        let src_rect = PxRect::new(5, 3, 29, 17);
        let mask_rect = PxRect::new(2, 1, 30, 18);
        let dst = noise((frame.w * frame.h * 4) as usize, 7);
        let src = premultiplied((src_rect.w * src_rect.h) as usize, 11);
        let mask = coverage((mask_rect.w * mask_rect.h) as usize, 13);
        for with_mask in [true, false] {
            let mut got = dst.clone();
            let mut region = Region {
                buf: &mut got,
                rect: frame,
            };
            let m = with_mask.then_some((mask.as_slice(), mask_rect));
            region.blend_premultiplied(&src, src_rect, m);
            let mut want = dst.clone();
            for y in 0..frame.h {
                for x in 0..frame.w {
                    let d = ((y * frame.w + x) * 4) as usize;
                    let inside =
                        |r: PxRect| x >= r.x && y >= r.y && x < r.right() && y < r.bottom();
                    if !inside(src_rect) || (with_mask && !inside(mask_rect)) {
                        continue;
                    }
                    let s = (((y - src_rect.y) * src_rect.w + x - src_rect.x) * 4) as usize;
                    let mv = if with_mask {
                        mask[((y - mask_rect.y) * mask_rect.w + x - mask_rect.x) as usize] as u32
                    } else {
                        255
                    };
                    let a = div255(src[s + 3] as u32 * mv);
                    if src[s + 3] == 0 {
                        continue;
                    }
                    for k in 0..3 {
                        let c = div255(src[s + k] as u32 * mv);
                        want[d + k] = (c + div255(want[d + k] as u32 * (255 - a))).min(255) as u8;
                    }
                }
            }
            assert_eq!(got, want, "mask: {with_mask}");
        }
    }

    #[test]
    fn masked_opaque_blend_matches_the_formula() {
        let frame = PxRect::new(0, 0, 31, 19);
        let src_rect = PxRect::new(4, 2, 30, 20);
        let dst = noise((frame.w * frame.h * 4) as usize, 3);
        let src = noise((src_rect.w * src_rect.h * 4) as usize, 5);
        let mask = coverage((src_rect.w * src_rect.h) as usize, 9);
        let mut got = dst.clone();
        Region {
            buf: &mut got,
            rect: frame,
        }
        .blend_opaque_masked(&src, src_rect, &mask);
        let mut want = dst.clone();
        for y in src_rect.y..frame.h {
            for x in src_rect.x..frame.w {
                let d = ((y * frame.w + x) * 4) as usize;
                let i = ((y - src_rect.y) * src_rect.w + x - src_rect.x) as usize;
                let m = mask[i] as u32;
                for k in 0..3 {
                    want[d + k] =
                        div255(src[i * 4 + k] as u32 * m + want[d + k] as u32 * (255 - m)) as u8;
                }
            }
        }
        assert_eq!(got, want);
    }

    #[test]
    fn crossfading_frames_equals_copying_then_lerping() {
        let (fw, fh) = (21u32, 13u32);
        let from = noise((fw * fh * 4) as usize, 17);
        let to = noise((fw * fh * 4) as usize, 19);
        let rect = PxRect::new(3, 2, 15, 9);
        for alpha in [0, 1, 128, 254, 255] {
            let len = (rect.w * rect.h * 4) as usize;
            let (mut a, mut b, mut fused) = (vec![0; len], vec![0; len], vec![0; len]);
            Region { buf: &mut b, rect }.copy_from_frame(&to, fw);
            let mut ra = Region { buf: &mut a, rect };
            ra.copy_from_frame(&from, fw);
            ra.lerp_towards(&b, alpha);
            Region {
                buf: &mut fused,
                rect,
            }
            .lerp_frames(&from, &to, fw, alpha);
            assert_eq!(fused, a, "alpha {alpha}");
            let expected: Vec<u8> = (0..len)
                .map(|i| {
                    let (x, y) = (
                        (i / 4) as u32 % rect.w + rect.x,
                        (i / 4) as u32 / rect.w + rect.y,
                    );
                    let j = ((y * fw + x) * 4) as usize + i % 4;
                    div255(from[j] as u32 * (255 - alpha) + to[j] as u32 * alpha) as u8
                })
                .collect();
            assert_eq!(fused, expected, "alpha {alpha}");
        }
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
