//! A premultiplied RGBA layer composited over a frame under an affine map (sub-pixel
//! motion, rotation, scale), sampled bilinearly: how the presenter's pre-rendered layers
//! move from frame to frame.

use super::KernelError;
use super::frame::{FrameViewMut, PixelFormat, expect_format};

/// A layer as [`affine_over`] reads it: premultiplied RGBA pixels packed as little-endian
/// `u32`s (R in the low byte), with a transparent border of at least one pixel, and per
/// row the columns that hold anything (so clear margins cost nothing).
#[derive(Debug, Clone, Copy)]
pub struct PackedLayer<'a> {
    /// `width * height` pixels, row after row.
    pub pixels: &'a [u32],
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Per row, the columns `[first, end)` holding every non-transparent pixel (`first >=
    /// end` for a clear row).
    pub spans: &'a [(i32, i32)],
}

impl PackedLayer<'_> {
    /// Packs premultiplied RGBA bytes (`width` pixels a row) into the pixels and row spans
    /// a [`PackedLayer`] borrows.
    pub fn pack(rgba: &[u8], width: u32) -> (Vec<u32>, Vec<(i32, i32)>) {
        let packed = rgba
            .chunks_exact(4)
            .map(|p| u32::from_le_bytes([p[0], p[1], p[2], p[3]]))
            .collect::<Vec<u32>>();
        let w = width as usize;
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
        (packed, spans)
    }
}

/// Where a destination pixel samples the layer: layer position `(u, v)` of destination
/// point `(x, y)` is `u = sx·x + kx·y + tx`, `v = ky·x + sy·y + ty` (the inverse of the
/// map that places the layer; sample `(i, j)` sits at `(i + 0.5, j + 0.5)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    /// ∂u/∂x.
    pub sx: f32,
    /// ∂v/∂x.
    pub ky: f32,
    /// ∂u/∂y.
    pub kx: f32,
    /// ∂v/∂y.
    pub sy: f32,
    /// u at the origin.
    pub tx: f32,
    /// v at the origin.
    pub ty: f32,
}

/// Composites `layer` over the destination columns `left..right` of rows `top..bottom`
/// (clamped to the frame), each pixel sampling the layer bilinearly at `inverse` of its
/// centre, source-over: `out = s + div255(d · (255 − alpha(s)))` per channel, with 8-bit
/// bilinear weights (`(a·(256 − f) + b·f) >> 8`). Samples whose taps leave the layer, or
/// touch only clear pixels, leave the destination as it is.
///
/// ```
/// use vidflow_kernels::{Affine, Frame, PackedLayer, PixelFormat, affine_over};
/// // A 3x3 layer, clear but for an opaque red centre.
/// let mut rgba = vec![0u8; 3 * 3 * 4];
/// rgba[16..20].copy_from_slice(&[255, 0, 0, 255]);
/// let (pixels, spans) = PackedLayer::pack(&rgba, 3);
/// let layer = PackedLayer { pixels: &pixels, width: 3, height: 3, spans: &spans };
/// let mut frame = Frame::<u8>::new(PixelFormat::Rgba8Premul, 4, 4)?;
/// // Placed with its top-left corner at (1, 1): the centre lands on pixel (2, 2).
/// let at = Affine { sx: 1.0, ky: 0.0, kx: 0.0, sy: 1.0, tx: -1.0, ty: -1.0 };
/// affine_over(&mut frame.view_mut(), &layer, at, [0, 0, 4, 4])?;
/// assert_eq!(&frame.as_slice()[(2 * 4 + 2) * 4..][..4], &[255, 0, 0, 255]);
/// # Ok::<(), vidflow_kernels::KernelError>(())
/// ```
pub fn affine_over(
    dst: &mut FrameViewMut<'_, u8>,
    layer: &PackedLayer<'_>,
    inverse: Affine,
    area: [i32; 4],
) -> Result<(), KernelError> {
    const K: &str = "affine_over";
    expect_format(K, PixelFormat::Rgba8Premul, dst.format())?;
    let (sw, sh) = (layer.width as usize, layer.height as usize);
    if layer.pixels.len() != sw * sh || layer.spans.len() != sh {
        return Err(KernelError::BadParameter {
            kernel: K,
            reason: format!(
                "a {sw}x{sh} layer needs {} pixels and {sh} row spans, got {} and {}",
                sw * sh,
                layer.pixels.len(),
                layer.spans.len()
            ),
        });
    }
    let (dw, dh) = (dst.width() as i32, dst.height() as i32);
    let [left, top, right, bottom] = area;
    let (left, right) = (left.clamp(0, dw), right.clamp(0, dw));
    let (top, bottom) = (top.clamp(0, dh), bottom.clamp(0, dh));
    if left >= right || top >= bottom || sw == 0 || sh == 0 {
        return Ok(());
    }
    const ONE: f32 = 65536.0;
    let inv = inverse;
    // Source coordinates in 16.16 fixed point step linearly along a destination row.
    let (du, dv) = ((inv.sx * ONE) as i64, (inv.ky * ONE) as i64);
    let plane = dst.plane_mut(0);
    for y in top..bottom {
        // Pixel centres map to pixel centres; the -0.5 puts sample (i, j) at i + 0.5.
        let cx = left as f32 + 0.5;
        let cy = y as f32 + 0.5;
        let mut u = ((inv.sx * cx + inv.kx * cy + inv.tx - 0.5) * ONE) as i64;
        let mut v = ((inv.ky * cx + inv.sy * cy + inv.ty - 0.5) * ONE) as i64;
        let Some((x0, x1)) = visible_columns(layer.spans, left, right, u, v, du, dv) else {
            continue;
        };
        // Same positions as stepping from the row's left edge (integer steps are exact).
        u += du * (x0 - left) as i64;
        v += dv * (x0 - left) as i64;
        let line = Row {
            out: plane.row_mut(y as usize),
            src: layer.pixels,
            stride: sw,
            size: (sw as i32, sh as i32),
            step: (du, dv),
        };
        line.resample(x0, x1, u, v);
    }
    Ok(())
}

/// One output row of [`affine_over`] and the layer it samples.
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
    spans: &[(i32, i32)],
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
    let sh = spans.len() as i64;
    let v_end = v + dv * (right - 1 - left) as i64;
    // Rows the taps can reach: row of v and the one below, over the whole row's travel.
    let lo = (v.min(v_end) >> 16).max(0);
    let hi = ((v.max(v_end) >> 16) + 1).min(sh - 1);
    if lo > hi {
        return None;
    }
    let (mut c0, mut c1) = (i32::MAX, i32::MIN);
    for &(f, e) in &spans[lo as usize..=hi as usize] {
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

/// All four channels of a packed pixel times `k / 255` (k in 0..=255), rounded: [`div255`]
/// on two channels per 32-bit word.
///
/// [`div255`]: crate::div255
#[inline(always)]
fn scale(p: u32, k: u32) -> u32 {
    let mut rb = (p & 0x00ff_00ff) * k + 0x0080_0080;
    rb = ((rb + ((rb >> 8) & 0x00ff_00ff)) >> 8) & 0x00ff_00ff;
    let mut ag = ((p >> 8) & 0x00ff_00ff) * k + 0x0080_0080;
    ag = (ag + ((ag >> 8) & 0x00ff_00ff)) & 0xff00_ff00;
    rb | ag
}
