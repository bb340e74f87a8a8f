//! A premultiplied RGBA layer composited over a frame ("source over"), at an offset,
//! scaled by an opacity or by a coverage mask.

use rayon::prelude::*;

use super::frame::{
    FrameView, FrameViewMut, Overlap, PixelFormat, expect_format, rgba_bytes, task_rows,
};
use super::{KernelError, div255};

/// One pixel, exactly as [`composite_over`] defines it; `opacity` is the layer's, or
/// the pixel's coverage for [`composite_over_masked`].
#[inline(always)]
pub fn over_pixel(s: &[u8], d: &mut [u8], opacity: u32) {
    let mut sp = [s[0] as u32, s[1] as u32, s[2] as u32, s[3] as u32];
    if opacity != 255 {
        for c in &mut sp {
            *c = div255(*c * opacity);
        }
    }
    let inv = 255 - sp[3];
    for c in 0..4 {
        d[c] = (sp[c] + div255(d[c] as u32 * inv)).min(255) as u8;
    }
}

/// How much of the layer a row shows: one opacity, or a coverage byte per pixel.
#[derive(Clone, Copy)]
enum Weight<'a> {
    Opacity(u32),
    Mask(&'a [u8]),
}

/// The portable row loop: also the tail of the AVX2 one.
fn over_row_portable(src: &[u8], dst: &mut [u8], weight: Weight<'_>) {
    let pixels = src.chunks_exact(4).zip(dst.chunks_exact_mut(4));
    match weight {
        Weight::Opacity(opacity) => pixels.for_each(|(s, d)| over_pixel(s, d, opacity)),
        Weight::Mask(mask) => pixels
            .zip(mask)
            .for_each(|((s, d), &m)| over_pixel(s, d, m as u32)),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn over_row_avx2(src: &[u8], dst: &mut [u8], weight: Weight<'_>) {
    use std::arch::x86_64::*;
    let mut n = src.len().min(dst.len()) / 32 * 32;
    if let Weight::Mask(mask) = weight {
        n = n.min(mask.len() * 4 / 32 * 32);
    }
    let zero = _mm256_setzero_si256();
    let c255 = _mm256_set1_epi16(255);
    let c128 = _mm256_set1_epi16(128);
    // Copies each pixel's alpha word to its four channel words (per 128-bit lane).
    let alpha = _mm256_setr_epi8(
        6, 7, 6, 7, 6, 7, 6, 7, 14, 15, 14, 15, 14, 15, 14, 15, 6, 7, 6, 7, 6, 7, 6, 7, 14, 15, 14,
        15, 14, 15, 14, 15,
    );
    // Spreads eight coverage bytes (in both lanes) over their pixels' four bytes each: the
    // low lane takes pixels 0–3, the high lane 4–7, as the pixels lie in a 32-byte load.
    let spread = _mm256_setr_epi8(
        0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7,
        7, 7,
    );
    // div255 in 16-bit lanes: exact for v <= 255 * 255 (no lane passes 65 535).
    let div255 = |v: __m256i| {
        let v = _mm256_add_epi16(v, c128);
        _mm256_srli_epi16::<8>(_mm256_add_epi16(v, _mm256_srli_epi16::<8>(v)))
    };
    // s' = div255(s * k) where k is not all 255, then s' + div255(d * (255 - alpha(s'))).
    let half = |s: __m256i, d: __m256i, k: Option<__m256i>| {
        let s = match k {
            Some(k) => div255(_mm256_mullo_epi16(s, k)),
            None => s,
        };
        let inv = _mm256_sub_epi16(c255, _mm256_shuffle_epi8(s, alpha));
        _mm256_add_epi16(s, div255(_mm256_mullo_epi16(d, inv)))
    };
    let uniform = match weight {
        Weight::Opacity(255) => None,
        Weight::Opacity(o) => Some(_mm256_set1_epi16(o as i16)),
        Weight::Mask(_) => None,
    };
    let mut i = 0;
    while i < n {
        // SAFETY: i + 32 <= n <= both lengths (and mask.len() * 4); unaligned loads and
        // stores.
        unsafe {
            let s = _mm256_loadu_si256(src.as_ptr().add(i) as *const __m256i);
            let d = _mm256_loadu_si256(dst.as_ptr().add(i) as *const __m256i);
            let (klo, khi) = match weight {
                Weight::Mask(mask) => {
                    let m8 = _mm_loadl_epi64(mask.as_ptr().add(i / 4) as *const __m128i);
                    let m = _mm256_shuffle_epi8(_mm256_broadcastq_epi64(m8), spread);
                    (
                        Some(_mm256_unpacklo_epi8(m, zero)),
                        Some(_mm256_unpackhi_epi8(m, zero)),
                    )
                }
                Weight::Opacity(_) => (uniform, uniform),
            };
            let lo = half(
                _mm256_unpacklo_epi8(s, zero),
                _mm256_unpacklo_epi8(d, zero),
                klo,
            );
            let hi = half(
                _mm256_unpackhi_epi8(s, zero),
                _mm256_unpackhi_epi8(d, zero),
                khi,
            );
            // Sums are at most 510: the signed-to-unsigned pack saturates them to 255.
            _mm256_storeu_si256(
                dst.as_mut_ptr().add(i) as *mut __m256i,
                _mm256_packus_epi16(lo, hi),
            );
        }
        i += 32;
    }
    let rest = match weight {
        Weight::Mask(mask) => Weight::Mask(&mask[n / 4..]),
        w => w,
    };
    over_row_portable(&src[n..], &mut dst[n..], rest);
}

fn over_row(src: &[u8], dst: &mut [u8], weight: Weight<'_>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { over_row_avx2(src, dst, weight) };
    }
    over_row_portable(src, dst, weight)
}

/// Composites `layer` (premultiplied RGBA) over `dst` (premultiplied RGBA) with its
/// top-left corner at (`x`, `y`), which may put it partly or wholly outside `dst` (the
/// outside part is skipped), scaled by `opacity` (255 = as is).
///
/// Per channel, with `div255(v) = round(v / 255)` (halves up, exact integers):
/// `s' = div255(s * opacity)` (or `s` when `opacity` is 255),
/// `out = min(255, s' + div255(d * (255 - alpha(s'))))`, for R, G, B and alpha alike.
///
/// ```
/// use vidflow_kernels::{self as kernels, Frame, PixelFormat};
/// let mut frame = Frame::<u8>::from_vec(PixelFormat::Rgba8Premul, 2, 1, vec![0, 0, 200, 255, 0, 0, 200, 255])?;
/// let layer = Frame::<u8>::from_vec(PixelFormat::Rgba8Premul, 1, 1, vec![128, 0, 0, 128])?;
/// kernels::composite_over(&mut frame.view_mut(), &layer.view(), 1, 0, 255)?;
/// assert_eq!(frame.as_slice(), &[0, 0, 200, 255, 128, 0, 100, 255]);
/// # Ok::<(), kernels::KernelError>(())
/// ```
pub fn composite_over(
    dst: &mut FrameViewMut<'_, u8>,
    layer: &FrameView<'_, u8>,
    x: i32,
    y: i32,
    opacity: u8,
) -> Result<(), KernelError> {
    if opacity == 0 {
        expect_format("composite_over", PixelFormat::Rgba8Premul, dst.format())?;
        return expect_format("composite_over", PixelFormat::Rgba8Premul, layer.format());
    }
    composite("composite_over", dst, layer, None, x, y, opacity as u32)
}

/// Composites `layer` over `dst` as [`composite_over`] does, but through `mask` (a
/// [`PixelFormat::Coverage8`] frame of the layer's size) instead of one opacity: each
/// pixel's coverage `m` scales it, `s' = div255(s * m)` on all four channels, then
/// `out = min(255, s' + div255(d * (255 - alpha(s'))))`.
///
/// This is how a layer is drawn inside an anti-aliased shape (the presenter inside the
/// rounded card): coverage 255 is [`composite_over`] at full opacity, 0 leaves `dst`.
///
/// ```
/// use vidflow_kernels::{self as kernels, Frame, PixelFormat};
/// let mut frame = Frame::<u8>::from_vec(PixelFormat::Rgba8Premul, 2, 1, vec![0, 0, 200, 255, 0, 0, 200, 255])?;
/// let layer = Frame::<u8>::from_vec(PixelFormat::Rgba8Premul, 2, 1, vec![255, 0, 0, 255, 255, 0, 0, 255])?;
/// let mask = Frame::<u8>::from_vec(PixelFormat::Coverage8, 2, 1, vec![255, 51])?;
/// kernels::composite_over_masked(&mut frame.view_mut(), &layer.view(), &mask.view(), 0, 0)?;
/// assert_eq!(frame.as_slice(), &[255, 0, 0, 255, 51, 0, 160, 255]);
/// # Ok::<(), kernels::KernelError>(())
/// ```
pub fn composite_over_masked(
    dst: &mut FrameViewMut<'_, u8>,
    layer: &FrameView<'_, u8>,
    mask: &FrameView<'_, u8>,
    x: i32,
    y: i32,
) -> Result<(), KernelError> {
    const K: &str = "composite_over_masked";
    expect_format(K, PixelFormat::Coverage8, mask.format())?;
    super::frame::expect_same_size(
        K,
        (layer.width(), layer.height()),
        (mask.width(), mask.height()),
    )?;
    composite(K, dst, layer, Some(mask), x, y, 255)
}

fn composite(
    kernel: &'static str,
    dst: &mut FrameViewMut<'_, u8>,
    layer: &FrameView<'_, u8>,
    mask: Option<&FrameView<'_, u8>>,
    x: i32,
    y: i32,
    opacity: u32,
) -> Result<(), KernelError> {
    expect_format(kernel, PixelFormat::Rgba8Premul, dst.format())?;
    expect_format(kernel, PixelFormat::Rgba8Premul, layer.format())?;
    let Some(o) = Overlap::of(
        (dst.width(), dst.height()),
        (layer.width(), layer.height()),
        x,
        y,
    ) else {
        return Ok(());
    };
    // Byte ranges of the visible span in a destination row and a layer row, and the
    // pixels of it in a mask row.
    let (d_span, l_span) = (rgba_bytes(&o.frame_cols), rgba_bytes(&o.image_cols));
    let m_span = o.image_cols.clone();
    let src = layer.plane(0);
    let mask = mask.map(|m| m.plane(0));
    let band = task_rows(d_span.len(), o.rows);
    dst.plane_mut(0)
        .par_rows_mut(o.first_row, o.rows, band)
        .enumerate()
        .for_each(|(i, drow)| {
            let ly = o.image_row + i;
            let weight = match mask {
                Some(m) => Weight::Mask(&m.row(ly)[m_span.clone()]),
                None => Weight::Opacity(opacity),
            };
            over_row(
                &src.row(ly)[l_span.clone()],
                &mut drow[d_span.clone()],
                weight,
            );
        });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avx2_row_matches_portable_row() {
        let src: Vec<u8> = (0..4 * 77u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
            .collect();
        let dst0: Vec<u8> = (0..4 * 77u32).map(|i| (i * 31 % 256) as u8).collect();
        let mask: Vec<u8> = (0..77u32)
            .map(|i| match i % 5 {
                0 => 0,
                1 | 2 => 255,
                _ => (i.wrapping_mul(40503) >> 3) as u8,
            })
            .collect();
        let weights = [0, 1, 77, 128, 254, 255]
            .map(Weight::Opacity)
            .into_iter()
            .chain([Weight::Mask(&mask)]);
        for (k, weight) in weights.enumerate() {
            let mut a = dst0.clone();
            let mut b = dst0.clone();
            over_row_portable(&src, &mut a, weight);
            over_row(&src, &mut b, weight);
            assert_eq!(a, b, "weight {k}");
        }
    }
}
