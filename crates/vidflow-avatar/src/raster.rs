//! Pre-rendered layers and the blits that place them.
//!
//! Filling the figures' large gradient shapes costs several milliseconds a frame, but those
//! shapes only ever move rigidly (the head sways, tilts and bobs; the shoulders breathe). So
//! each run of shapes that moves together is rendered once per output size into a layer, and
//! a frame composites the layers under that frame's motion. A still pose composites with
//! whole-pixel offsets, which is an exact copy.

use tiny_skia::{FillRule, IntRect, Mask, Pixmap, PixmapMut, Rect, Transform};

use crate::draw::Draw;

/// A pre-rendered run of drawing steps, placed at `(x, y)` in the output at rest.
pub(crate) struct Layer {
    pub x: i32,
    pub y: i32,
    pub pixmap: Pixmap,
    /// The same pixels as little-endian `u32`s (R in the low byte), for the resampler.
    packed: Vec<u32>,
    /// Per row, the columns `[first, end)` holding every non-transparent pixel (`first >=
    /// end` for a clear row), so the resampler can skip the clear margins of a layer.
    spans: Vec<(i32, i32)>,
}

/// Renders `draws` (figure units, placed by `base`) into a layer just large enough for them,
/// clipped to `limit` (output pixels). `clip` (figure units) bounds the `Clipped` steps.
pub(crate) fn rasterize<'a>(
    draws: impl Iterator<Item = &'a Draw> + Clone,
    clip: Option<&tiny_skia::Path>,
    base: Transform,
    limit: IntRect,
) -> Option<Layer> {
    let bounds = draws
        .clone()
        .map(Draw::bounds)
        .reduce(|a, b| a.join(&b).unwrap_or(a))?;
    // Two pixels of margin keep anti-aliased edges and bilinear sampling inside the layer.
    let area = bounds
        .transform(base)?
        .round_out()?
        .make_outset(2, 2)?
        .intersect(&limit)?;
    let mut pixmap = Pixmap::new(area.width(), area.height())?;
    let ts = Transform::from_translate(-area.x() as f32, -area.y() as f32).pre_concat(base);
    let mask = clip.and_then(|c| {
        let mut m = Mask::new(area.width(), area.height())?;
        m.fill_path(c, FillRule::Winding, true, ts);
        Some(m)
    });
    for d in draws {
        match d {
            Draw::Fill(path, paint) => pixmap.fill_path(path, paint, FillRule::Winding, ts, None),
            Draw::Stroke(path, paint, stroke) => pixmap.stroke_path(path, paint, stroke, ts, None),
            Draw::Clipped(path, paint) => {
                if let Some(m) = &mask {
                    pixmap.fill_path(path, paint, FillRule::Winding, ts, Some(m));
                }
            }
        }
    }
    Some(Layer::new(area.x(), area.y(), pixmap))
}

impl Layer {
    /// A layer of `pixmap` placed at `(x, y)`; the pixmap should have a transparent border.
    pub fn new(x: i32, y: i32, pixmap: Pixmap) -> Layer {
        let packed = pixmap
            .data()
            .chunks_exact(4)
            .map(|p| u32::from_le_bytes([p[0], p[1], p[2], p[3]]))
            .collect::<Vec<u32>>();
        let w = pixmap.width() as usize;
        let spans = packed
            .chunks_exact(w.max(1))
            .map(|row| {
                let first = row.iter().position(|&p| p != 0);
                let last = row.iter().rposition(|&p| p != 0);
                match (first, last) {
                    (Some(f), Some(l)) => (f as i32, l as i32 + 1),
                    _ => (w as i32, 0),
                }
            })
            .collect();
        Layer {
            x,
            y,
            pixmap,
            packed,
            spans,
        }
    }

    /// A layer of an image that may be opaque up to its edges (a sprite), given the
    /// transparent one-pixel border the resampler expects.
    pub fn bordered(x: i32, y: i32, image: &Pixmap) -> Option<Layer> {
        let mut pixmap = Pixmap::new(image.width() + 2, image.height() + 2)?;
        let (w, iw) = (pixmap.width() as usize * 4, image.width() as usize * 4);
        let data = pixmap.data_mut();
        for (row, src) in image.data().chunks_exact(iw).enumerate() {
            let at = (row + 1) * w + 4;
            data[at..at + iw].copy_from_slice(src);
        }
        Some(Layer::new(x - 1, y - 1, pixmap))
    }
}

/// Composites `layer` over `dst`, moved by `motion` (output pixels).
pub(crate) fn blit(dst: &mut PixmapMut<'_>, layer: &Layer, motion: Transform) {
    let (tx, ty) = (motion.tx, motion.ty);
    if !motion.has_scale() && !motion.has_skew() && tx.round() == tx && ty.round() == ty {
        over(dst, layer, layer.x + tx as i32, layer.y + ty as i32);
    } else {
        resample_over(dst, layer, motion);
    }
}

/// Bilinear resampling of `layer` under `motion`, composited source-over.
///
/// tiny-skia can do this with a pattern fill, but its high-precision pipeline costs about ten
/// times more; 8-bit weights are plenty for idle motion of a few pixels and degrees. Pixels
/// are handled as `u32` with two channels per 16-bit lane, so one multiply serves two channels.
fn resample_over(dst: &mut PixmapMut<'_>, layer: &Layer, motion: Transform) {
    // Layer pixel (i, j) sits at output (layer.x + i, layer.y + j) before motion.
    let placed = motion.pre_translate(layer.x as f32, layer.y as f32);
    let Some(inv) = placed.invert() else {
        return;
    };
    let (sw, sh) = (layer.pixmap.width() as i32, layer.pixmap.height() as i32);
    let Some(area) = Rect::from_xywh(0.0, 0.0, sw as f32, sh as f32)
        .and_then(|r| r.transform(placed))
        .and_then(|r| r.round_out())
        .and_then(|r| r.intersect(&IntRect::from_xywh(0, 0, dst.width(), dst.height())?))
    else {
        return;
    };
    let dw = dst.width() as usize;
    let src = &layer.packed;
    let out = dst.data_mut();
    const ONE: f32 = 65536.0;
    // Source coordinates in 16.16 fixed point step linearly along a destination row.
    let (du, dv) = ((inv.sx * ONE) as i64, (inv.ky * ONE) as i64);
    let stride = sw as usize;
    for y in area.top()..area.bottom() {
        // Pixel centres map to pixel centres; the -0.5 puts sample (i, j) at i + 0.5.
        let cx = area.left() as f32 + 0.5;
        let cy = y as f32 + 0.5;
        let mut u = ((inv.sx * cx + inv.kx * cy + inv.tx - 0.5) * ONE) as i64;
        let mut v = ((inv.ky * cx + inv.sy * cy + inv.ty - 0.5) * ONE) as i64;
        let row = y as usize * dw;
        let (x0, x1) = match visible_columns(layer, area.left(), area.right(), u, v, du, dv) {
            Some(r) => r,
            None => continue,
        };
        // Same positions as stepping from the row's left edge (integer steps are exact).
        u += du * (x0 - area.left()) as i64;
        v += dv * (x0 - area.left()) as i64;
        let line = Row {
            out: &mut out[row * 4..(row + dw) * 4],
            src,
            stride,
            size: (sw, sh),
            step: (du, dv),
        };
        line.resample(x0, x1, u, v);
    }
}

/// One output row of [`resample_over`] and the layer it samples.
struct Row<'a> {
    /// The row's RGBA bytes from column 0.
    out: &'a mut [u8],
    /// The layer's packed pixels.
    src: &'a [u32],
    stride: usize,
    /// The layer's width and height.
    size: (i32, i32),
    /// Source step per output column, 16.16 fixed point.
    step: (i64, i64),
}

impl Row<'_> {
    /// Columns `x0..x1`, the first sampling the layer at `(u, v)` (16.16 fixed point).
    fn resample(mut self, x0: i32, x1: i32, u: i64, v: i64) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && self.fits_avx2(x0, x1, u, v) {
            // SAFETY: the CPU supports AVX2 (checked above) and the positions fit 32 bits.
            let (x, u, v) = unsafe { self.resample_avx2(x0, x1, u, v) };
            return self.resample_scalar(x, x1, u, v);
        }
        self.resample_scalar(x0, x1, u, v)
    }

    fn resample_scalar(&mut self, x0: i32, x1: i32, mut u: i64, mut v: i64) {
        let (sw, sh) = self.size;
        let (du, dv) = self.step;
        let (src, stride) = (self.src, self.stride);
        for x in x0..x1 {
            let (ui, vi) = ((u >> 16) as i32, (v >> 16) as i32);
            // Layers carry a transparent margin, so skipping the outermost ring loses nothing.
            if ui >= 0 && vi >= 0 && ui < sw - 1 && vi < sh - 1 {
                let i = vi as usize * stride + ui as usize;
                let (p00, p10) = (src[i], src[i + 1]);
                let (p01, p11) = (src[i + stride], src[i + stride + 1]);
                if (p00 | p10 | p01 | p11) != 0 {
                    let fu = ((u >> 8) & 0xff) as u32;
                    let fv = ((v >> 8) & 0xff) as u32;
                    let s = lerp(lerp(p00, p10, fu), lerp(p01, p11, fu), fv);
                    let d = x as usize * 4;
                    let px = &mut self.out[d..d + 4];
                    let sa = s >> 24;
                    let result = if sa == 255 {
                        s
                    } else {
                        let dp = u32::from_le_bytes([px[0], px[1], px[2], px[3]]);
                        s + scale(dp, 255 - sa)
                    };
                    px.copy_from_slice(&result.to_le_bytes());
                }
            }
            u += du;
            v += dv;
        }
    }

    /// Whether every position and index the vector loop computes for columns `x0..x1`
    /// fits in 32-bit lanes, and the columns lie within the row.
    #[cfg(target_arch = "x86_64")]
    fn fits_avx2(&self, x0: i32, x1: i32, u: i64, v: i64) -> bool {
        let n = (x1 - x0).max(0) as i64;
        let (du, dv) = self.step;
        let fits = |a: i64| a.abs() < (1 << 30);
        let (sw, sh) = self.size;
        x0 >= 0
            && (x1 as usize) * 4 <= self.out.len()
            && fits(u)
            && fits(v)
            && fits(u + du * n)
            && fits(v + dv * n)
            && fits(du * 8)
            && fits(dv * 8)
            && (sw as i64 + 1) * (sh as i64 + 1) < (1 << 30)
    }

    /// Eight columns at a time, the same arithmetic as [`Row::resample_scalar`] in 16-bit
    /// channel lanes; returns the column and position where it stopped (fewer than eight
    /// columns before `x1`). A clear or out-of-layer sample comes out as the destination
    /// unchanged (`0 + d * 255 / 255`), so no lane needs a branch.
    ///
    /// # Safety
    /// The CPU must support AVX2, and [`Row::fits_avx2`] must hold.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn resample_avx2(&mut self, x0: i32, x1: i32, u: i64, v: i64) -> (i32, i64, i64) {
        use std::arch::x86_64::*;
        let (sw, sh) = self.size;
        let (du, dv) = self.step;
        let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let (mut x, mut u, mut v) = (x0, u, v);
        let zero = _mm256_setzero_si256();
        let w256 = _mm256_set1_epi16(256);
        let round = _mm256_set1_epi16(128);
        let ff = _mm256_set1_epi16(255);
        // Per pixel, its alpha (16-bit lane 3 of 4) into all four lanes.
        let alpha = _mm256_setr_epi8(
            6, 7, 6, 7, 6, 7, 6, 7, 14, 15, 14, 15, 14, 15, 14, 15, 6, 7, 6, 7, 6, 7, 6, 7, 14, 15,
            14, 15, 14, 15, 14, 15,
        );
        let stride = _mm256_set1_epi32(self.stride as i32);
        let (max_u, max_v) = (_mm256_set1_epi32(sw - 1), _mm256_set1_epi32(sh - 1));
        let src = self.src.as_ptr() as *const i32;
        // A bilinear step on unpacked pixels: (a * (256 - f) + b * f) >> 8, exact in u16.
        let mix = |a: __m256i, b: __m256i, f: __m256i| {
            let g = _mm256_sub_epi16(w256, f);
            _mm256_srli_epi16::<8>(_mm256_add_epi16(
                _mm256_mullo_epi16(a, g),
                _mm256_mullo_epi16(b, f),
            ))
        };
        while x + 8 <= x1 {
            let uu = _mm256_add_epi32(
                _mm256_set1_epi32(u as i32),
                _mm256_mullo_epi32(lanes, _mm256_set1_epi32(du as i32)),
            );
            let vv = _mm256_add_epi32(
                _mm256_set1_epi32(v as i32),
                _mm256_mullo_epi32(lanes, _mm256_set1_epi32(dv as i32)),
            );
            let (ui, vi) = (_mm256_srai_epi32::<16>(uu), _mm256_srai_epi32::<16>(vv));
            // 0 <= ui < sw - 1 and 0 <= vi < sh - 1.
            let inside = _mm256_and_si256(
                _mm256_and_si256(
                    _mm256_cmpgt_epi32(ui, _mm256_set1_epi32(-1)),
                    _mm256_cmpgt_epi32(max_u, ui),
                ),
                _mm256_and_si256(
                    _mm256_cmpgt_epi32(vi, _mm256_set1_epi32(-1)),
                    _mm256_cmpgt_epi32(max_v, vi),
                ),
            );
            let i = _mm256_add_epi32(_mm256_mullo_epi32(vi, stride), ui);
            let one = _mm256_set1_epi32(1);
            // SAFETY: lanes outside the layer are masked off and read nothing; the others
            // read i, i + 1, i + stride and i + stride + 1, all within the layer.
            let (p00, p10, p01, p11) = unsafe {
                let g = |at: __m256i| _mm256_mask_i32gather_epi32::<4>(zero, src, at, inside);
                let below = _mm256_add_epi32(i, stride);
                (
                    g(i),
                    g(_mm256_add_epi32(i, one)),
                    g(below),
                    g(_mm256_add_epi32(below, one)),
                )
            };
            // Fractions (0..=255) per pixel, then repeated over its four channel lanes.
            let byte = _mm256_set1_epi32(0xff);
            let fu = _mm256_and_si256(_mm256_srai_epi32::<8>(uu), byte);
            let fv = _mm256_and_si256(_mm256_srai_epi32::<8>(vv), byte);
            let fu = _mm256_or_si256(fu, _mm256_slli_epi32::<16>(fu));
            let fv = _mm256_or_si256(fv, _mm256_slli_epi32::<16>(fv));
            let at = x as usize * 4;
            // SAFETY: fits_avx2 checked x1 * 4 <= out.len() and x + 8 <= x1.
            let d = unsafe { _mm256_loadu_si256(self.out.as_ptr().add(at) as *const __m256i) };
            let half = |lo: bool| {
                let un = |p: __m256i| {
                    if lo {
                        _mm256_unpacklo_epi8(p, zero)
                    } else {
                        _mm256_unpackhi_epi8(p, zero)
                    }
                };
                let rep = |f: __m256i| {
                    if lo {
                        _mm256_unpacklo_epi32(f, f)
                    } else {
                        _mm256_unpackhi_epi32(f, f)
                    }
                };
                let (fu, fv) = (rep(fu), rep(fv));
                let s = mix(mix(un(p00), un(p10), fu), mix(un(p01), un(p11), fu), fv);
                // s + d * (255 - sa) / 255, rounded: t = d * k + 128; (t + (t >> 8)) >> 8.
                let k = _mm256_sub_epi16(ff, _mm256_shuffle_epi8(s, alpha));
                let t = _mm256_add_epi16(_mm256_mullo_epi16(un(d), k), round);
                let scaled = _mm256_srli_epi16::<8>(_mm256_add_epi16(t, _mm256_srli_epi16::<8>(t)));
                _mm256_add_epi16(s, scaled)
            };
            let result = _mm256_packus_epi16(half(true), half(false));
            // SAFETY: as for the load above.
            unsafe { _mm256_storeu_si256(self.out.as_mut_ptr().add(at) as *mut __m256i, result) };
            x += 8;
            u += du * 8;
            v += dv * 8;
        }
        (x, u, v)
    }
}

/// The destination columns `[x0, x1)` of a row (spanning `left..right`, source position
/// `(u, v)` at `left` stepping by `(du, dv)`, 16.16 fixed point) whose bilinear taps may
/// touch a non-transparent layer pixel; every other column of the row would draw nothing.
/// `None` when no column can. Falls back to the whole row when `u` does not increase.
fn visible_columns(
    layer: &Layer,
    left: i32,
    right: i32,
    u: i64,
    v: i64,
    du: i64,
    dv: i64,
) -> Option<(i32, i32)> {
    if right <= left {
        return None;
    }
    if du <= 0 {
        return Some((left, right));
    }
    let sh = layer.spans.len() as i64;
    let v_end = v + dv * (right - 1 - left) as i64;
    // Rows the taps can reach: row of v and the one below, over the whole row's travel.
    let lo = (v.min(v_end) >> 16).max(0);
    let hi = ((v.max(v_end) >> 16) + 1).min(sh - 1);
    if lo > hi {
        return None;
    }
    let (mut c0, mut c1) = (i32::MAX, i32::MIN);
    for &(f, e) in &layer.spans[lo as usize..=hi as usize] {
        if f < e {
            c0 = c0.min(f);
            c1 = c1.max(e);
        }
    }
    if c0 >= c1 {
        return None;
    }
    // Taps at columns ui and ui + 1 reach [c0, c1) when c0 - 1 <= ui <= c1 - 1.
    let ceil_div = |a: i64, b: i64| (a + b - 1).div_euclid(b);
    let first = left as i64 + ceil_div(((c0 as i64 - 1) << 16) - u, du).max(0);
    let end = left as i64 + ceil_div(((c1 as i64) << 16) - u, du).max(0);
    let (x0, x1) = (first.min(right as i64) as i32, end.min(right as i64) as i32);
    (x0 < x1).then_some((x0, x1))
}

/// `a + (b - a) * f / 256` on all four channels of packed pixels.
#[inline(always)]
fn lerp(a: u32, b: u32, f: u32) -> u32 {
    let g = 256 - f;
    let rb = ((a & 0x00ff_00ff) * g + (b & 0x00ff_00ff) * f) >> 8;
    let ag = ((a >> 8) & 0x00ff_00ff) * g + ((b >> 8) & 0x00ff_00ff) * f;
    (rb & 0x00ff_00ff) | (ag & 0xff00_ff00)
}

/// All four channels of a packed pixel times `k / 255` (k in 0..=255), rounded.
#[inline(always)]
fn scale(p: u32, k: u32) -> u32 {
    let mut rb = (p & 0x00ff_00ff) * k + 0x0080_0080;
    rb = ((rb + ((rb >> 8) & 0x00ff_00ff)) >> 8) & 0x00ff_00ff;
    let mut ag = ((p >> 8) & 0x00ff_00ff) * k + 0x0080_0080;
    ag = (ag + ((ag >> 8) & 0x00ff_00ff)) & 0xff00_ff00;
    rb | ag
}

/// Premultiplied source-over at a whole-pixel offset: exact, and much faster than a pattern
/// fill for the common still frame.
fn over(dst: &mut PixmapMut<'_>, layer: &Layer, x: i32, y: i32) {
    let (dw, dh) = (dst.width() as i32, dst.height() as i32);
    let (sw, sh) = (layer.pixmap.width() as i32, layer.pixmap.height() as i32);
    let (x0, y0) = (x.max(0), y.max(0));
    let (x1, y1) = ((x + sw).min(dw), (y + sh).min(dh));
    if x0 >= x1 || y0 >= y1 {
        return;
    }
    let src = layer.pixmap.data();
    let out = dst.data_mut();
    let n = (x1 - x0) as usize * 4;
    for row in y0..y1 {
        let s_off = (((row - y) * sw + (x0 - x)) * 4) as usize;
        let d_off = ((row * dw + x0) * 4) as usize;
        let s = &src[s_off..s_off + n];
        let d = &mut out[d_off..d_off + n];
        for (dp, sp) in d.chunks_exact_mut(4).zip(s.chunks_exact(4)) {
            let sa = sp[3];
            if sa == 0 {
                continue;
            }
            if sa == 255 {
                dp.copy_from_slice(sp);
                continue;
            }
            let inv = 255 - u16::from(sa);
            for c in 0..4 {
                // d = s + d * (1 - sa), rounded; stays within 0..=255 for premultiplied input.
                let v = u16::from(dp[c]) * inv + 128;
                dp[c] = sp[c] + ((v + (v >> 8)) >> 8) as u8;
            }
        }
    }
}

/// The output area layers may cover: the frame plus a margin for motion to bring in.
pub(crate) fn limit(width: u32, height: u32) -> IntRect {
    let mx = (width / 8).max(4) as i32;
    let my = (height / 8).max(4) as i32;
    IntRect::from_xywh(-mx, -my, width + 2 * mx as u32, height + 2 * my as u32)
        .expect("positive size")
}

/// Union of rectangles, for region queries.
pub(crate) fn union(rects: impl Iterator<Item = Rect>) -> Option<Rect> {
    rects.reduce(|a, b| a.join(&b).unwrap_or(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The resampler before it learned to skip clear columns: every column of every row.
    fn reference_resample_over(dst: &mut Pixmap, layer: &Layer, motion: Transform) {
        // Layer pixel (i, j) sits at output (layer.x + i, layer.y + j) before motion.
        let placed = motion.pre_translate(layer.x as f32, layer.y as f32);
        let Some(inv) = placed.invert() else {
            return;
        };
        let (sw, sh) = (layer.pixmap.width() as i32, layer.pixmap.height() as i32);
        let Some(area) = Rect::from_xywh(0.0, 0.0, sw as f32, sh as f32)
            .and_then(|r| r.transform(placed))
            .and_then(|r| r.round_out())
            .and_then(|r| r.intersect(&IntRect::from_xywh(0, 0, dst.width(), dst.height())?))
        else {
            return;
        };
        let dw = dst.width() as usize;
        let src = &layer.packed;
        let out = dst.data_mut();
        const ONE: f32 = 65536.0;
        // Source coordinates in 16.16 fixed point step linearly along a destination row.
        let (du, dv) = ((inv.sx * ONE) as i64, (inv.ky * ONE) as i64);
        let stride = sw as usize;
        for y in area.top()..area.bottom() {
            // Pixel centres map to pixel centres; the -0.5 puts sample (i, j) at i + 0.5.
            let cx = area.left() as f32 + 0.5;
            let cy = y as f32 + 0.5;
            let mut u = ((inv.sx * cx + inv.kx * cy + inv.tx - 0.5) * ONE) as i64;
            let mut v = ((inv.ky * cx + inv.sy * cy + inv.ty - 0.5) * ONE) as i64;
            let row = y as usize * dw;
            for x in area.left()..area.right() {
                let (ui, vi) = ((u >> 16) as i32, (v >> 16) as i32);
                // Layers carry a transparent margin, so skipping the outermost ring loses nothing.
                if ui >= 0 && vi >= 0 && ui < sw - 1 && vi < sh - 1 {
                    let i = vi as usize * stride + ui as usize;
                    let (p00, p10) = (src[i], src[i + 1]);
                    let (p01, p11) = (src[i + stride], src[i + stride + 1]);
                    if (p00 | p10 | p01 | p11) != 0 {
                        let fu = ((u >> 8) & 0xff) as u32;
                        let fv = ((v >> 8) & 0xff) as u32;
                        let s = lerp(lerp(p00, p10, fu), lerp(p01, p11, fu), fv);
                        let d = (row + x as usize) * 4;
                        let px = &mut out[d..d + 4];
                        let sa = s >> 24;
                        let result = if sa == 255 {
                            s
                        } else {
                            let dp = u32::from_le_bytes([px[0], px[1], px[2], px[3]]);
                            s + scale(dp, 255 - sa)
                        };
                        px.copy_from_slice(&result.to_le_bytes());
                    }
                }
                u += du;
                v += dv;
            }
        }
    }

    #[test]
    fn vector_rows_match_the_scalar_reference_over_translucent_backgrounds() {
        // Varied premultiplied pixels (clear, partial, opaque) and a translucent, varied
        // background, under motions whose rows span many 8-column steps and both edges.
        let (w, h) = (97u32, 53u32);
        let mut pm = Pixmap::new(w, h).unwrap();
        let mut seed = 12345u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for (i, px) in pm.data_mut().chunks_exact_mut(4).enumerate() {
            let (x, y) = (i as u32 % w, i as u32 / w);
            let edge = x == 0 || y == 0 || x == w - 1 || y == h - 1;
            let a = match next() % 3 {
                _ if edge => 0,
                0 => 0,
                1 => 255,
                _ => (next() % 256) as u8,
            };
            for c in &mut px[..3] {
                *c = ((next() % 256) * a as u32 / 255) as u8;
            }
            px[3] = a;
        }
        let layer = Layer::new(3, 4, pm);
        for (deg, tx, ty, s) in [
            (0.0, 0.37, -0.71, 1.0),
            (1.7, -1.2, 0.4, 1.013),
            (-3.3, 2.6, -1.9, 0.987),
            (12.0, -30.0, 5.0, 1.2),
            (-45.0, 40.0, 60.0, 0.8),
        ] {
            let motion = Transform::from_translate(tx, ty)
                .pre_concat(Transform::from_rotate_at(deg, 50.0, 30.0))
                .pre_scale(s, s);
            let mut got = Pixmap::new(130, 90).unwrap();
            for (i, px) in got.data_mut().chunks_exact_mut(4).enumerate() {
                let a = (i * 7 % 256) as u8;
                px.copy_from_slice(&[a / 2, a / 3, a, a]);
            }
            let mut want = got.clone();
            resample_over(&mut got.as_mut(), &layer, motion);
            reference_resample_over(&mut want, &layer, motion);
            assert_eq!(got.data(), want.data(), "rotation {deg}, scale {s}");
        }
    }

    #[test]
    fn skipping_clear_columns_draws_the_same_pixels() {
        // A layer with clear margins, a clear row and an off-centre blob.
        let mut pm = Pixmap::new(60, 40).unwrap();
        let mut paint = tiny_skia::Paint::default();
        paint.set_color_rgba8(200, 90, 40, 230);
        paint.anti_alias = true;
        let circle = tiny_skia::PathBuilder::from_circle(38.0, 22.0, 11.0).unwrap();
        pm.fill_path(
            &circle,
            &paint,
            FillRule::Winding,
            Transform::identity(),
            None,
        );
        let layer = Layer::new(7, 5, pm);
        for (deg, tx, ty, s) in [
            (0.0, 0.3, -0.7, 1.0),
            (2.5, 1.2, 0.4, 1.01),
            (-4.0, -2.6, 1.9, 0.99),
            (30.0, 3.0, -3.0, 1.0),
            (170.0, 60.0, 40.0, 1.0),
        ] {
            let motion = Transform::from_translate(tx, ty)
                .pre_concat(Transform::from_rotate_at(deg, 35.0, 30.0))
                .pre_scale(s, s);
            let mut got = Pixmap::new(80, 60).unwrap();
            got.fill(tiny_skia::Color::from_rgba8(10, 20, 30, 255));
            let mut want = got.clone();
            resample_over(&mut got.as_mut(), &layer, motion);
            reference_resample_over(&mut want, &layer, motion);
            assert_eq!(got.data(), want.data(), "rotation {deg}");
            assert_ne!(got.data(), Pixmap::new(80, 60).unwrap().data());
        }
    }
}
