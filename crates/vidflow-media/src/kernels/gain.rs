//! Per-channel gain: `out[c] = in[c] * gain[c % n]`, the kernel the original design
//! JIT-compiled with Numba.
//!
//! The channel of a sample is its index within the pixel for interleaved formats
//! (R, G, B, A = 0..4 in [`PixelFormat::Rgba8Premul`]) and its plane for planar ones
//! (Y, U, V or R, G, B = 0..3).

use rayon::prelude::*;

use super::frame::{FrameView, FrameViewMut, PixelFormat, band_rows, expect_same_size};
use super::{KernelError, multiversion};

/// Samples per unrolled step of the u8 loop; a multiple of 4 so an RGBA gain pattern
/// repeats exactly within it.
const LANES: usize = 64;

/// A u8 gain in 8.8 fixed point: `round(gain * 256)`, at most 65 535 (a gain just under
/// 256). The u8 kernels compute `min(255, (in * q + 128) >> 8)` — the product rounded
/// to nearest, halves up, then saturated.
///
/// ```
/// use vidflow_media::kernels::gain_to_q8;
/// assert_eq!(gain_to_q8(1.0), Ok(256));
/// assert_eq!(gain_to_q8(0.5), Ok(128));
/// assert!(gain_to_q8(-1.0).is_err());
/// ```
pub fn gain_to_q8(gain: f32) -> Result<u16, KernelError> {
    if !gain.is_finite() || !(0.0..256.0).contains(&gain) {
        return Err(KernelError::BadParameter {
            kernel: "gain_u8",
            reason: format!("gain {gain} is outside [0, 256)"),
        });
    }
    Ok((gain * 256.0).round().min(65535.0) as u16)
}

#[inline(always)]
fn mul_q8(s: u8, q: u16) -> u8 {
    ((s as u32 * q as u32 + 128) >> 8).min(255) as u8
}

/// The gain of each sample position within a [`LANES`]-long step of a row.
fn lane_pattern(
    kernel: &'static str,
    format: PixelFormat,
    plane: usize,
    gains: &[f32],
) -> Result<Vec<f32>, KernelError> {
    if gains.is_empty() {
        return Err(KernelError::BadParameter {
            kernel,
            reason: "no gains given".into(),
        });
    }
    Ok(match format {
        PixelFormat::Rgba8Premul => (0..LANES).map(|i| gains[(i % 4) % gains.len()]).collect(),
        PixelFormat::I420 | PixelFormat::RgbF32Planar => vec![gains[plane % gains.len()]; LANES],
    })
}

fn q8_pattern(
    format: PixelFormat,
    plane: usize,
    gains: &[f32],
) -> Result<[u16; LANES], KernelError> {
    let mut out = [0u16; LANES];
    for (o, g) in out
        .iter_mut()
        .zip(lane_pattern("gain_u8", format, plane, gains)?)
    {
        *o = gain_to_q8(g)?;
    }
    Ok(out)
}

fn f32_pattern(
    format: PixelFormat,
    plane: usize,
    gains: &[f32],
) -> Result<[f32; LANES], KernelError> {
    if let Some(g) = gains.iter().find(|g| !g.is_finite()) {
        return Err(KernelError::BadParameter {
            kernel: "gain_f32",
            reason: format!("gain {g} is not a finite number"),
        });
    }
    let mut out = [0f32; LANES];
    out.copy_from_slice(&lane_pattern("gain_f32", format, plane, gains)?);
    Ok(out)
}

#[inline(always)]
fn gain_row_u8_portable(src: &[u8], dst: &mut [u8], q: &[u16; LANES]) {
    let mut s = src.chunks_exact(LANES);
    let mut d = dst.chunks_exact_mut(LANES);
    for (s, d) in (&mut s).zip(&mut d) {
        for i in 0..LANES {
            d[i] = mul_q8(s[i], q[i]);
        }
    }
    for ((s, d), &q) in s.remainder().iter().zip(d.into_remainder()).zip(q) {
        *d = mul_q8(*s, q);
    }
}

#[inline(always)]
fn gain_row_u8_in_place_portable(row: &mut [u8], q: &[u16; LANES]) {
    let mut d = row.chunks_exact_mut(LANES);
    for d in &mut d {
        for i in 0..LANES {
            d[i] = mul_q8(d[i], q[i]);
        }
    }
    for (d, &q) in d.into_remainder().iter_mut().zip(q) {
        *d = mul_q8(*d, q);
    }
}

#[inline(always)]
fn gain_row_f32_portable(src: &[f32], dst: &mut [f32], g: &[f32; LANES]) {
    let mut s = src.chunks_exact(LANES);
    let mut d = dst.chunks_exact_mut(LANES);
    for (s, d) in (&mut s).zip(&mut d) {
        for i in 0..LANES {
            d[i] = s[i] * g[i];
        }
    }
    for ((s, d), &g) in s.remainder().iter().zip(d.into_remainder()).zip(g) {
        *d = *s * g;
    }
}

#[inline(always)]
fn gain_row_f32_in_place_portable(row: &mut [f32], g: &[f32; LANES]) {
    let mut d = row.chunks_exact_mut(LANES);
    for d in &mut d {
        for i in 0..LANES {
            d[i] *= g[i];
        }
    }
    for (d, &g) in d.into_remainder().iter_mut().zip(g) {
        *d *= g;
    }
}

/// 32 samples with AVX2 in 16-bit lanes: `mullo`/`mulhi` give the low and high halves of
/// `in * q`; a non-zero high half, or a low half that passes 65 535 when rounded, means
/// the result is over 255 and saturates. Identical to [`mul_q8`].
///
/// # Safety
/// The CPU must support AVX2; `s` must be readable and `d` writable for 32 bytes (they
/// may be the same address).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gain32_avx2(s: *const u8, d: *mut u8, q: std::arch::x86_64::__m256i) {
    use std::arch::x86_64::*;
    let zero = _mm256_setzero_si256();
    let half = |x: __m256i| {
        let lo = _mm256_mullo_epi16(x, q);
        let hi = _mm256_mulhi_epu16(x, q);
        let r = _mm256_srli_epi16::<8>(_mm256_adds_epu16(lo, _mm256_set1_epi16(128)));
        let over = _mm256_xor_si256(_mm256_cmpeq_epi16(hi, zero), _mm256_set1_epi16(-1));
        _mm256_min_epu16(_mm256_or_si256(r, over), _mm256_set1_epi16(255))
    };
    // SAFETY: the caller guarantees 32 readable and writable bytes.
    unsafe {
        let v = _mm256_loadu_si256(s as *const __m256i);
        let lo = half(_mm256_unpacklo_epi8(v, zero));
        let hi = half(_mm256_unpackhi_epi8(v, zero));
        _mm256_storeu_si256(d as *mut __m256i, _mm256_packus_epi16(lo, hi));
    }
}

/// The gains of one 128-bit lane's 8 samples after widening: the pattern repeats every 4
/// samples (or is constant), so samples 0..8 and 8..16 of each lane share it.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn q_vector(q: &[u16; LANES]) -> std::arch::x86_64::__m256i {
    // SAFETY: q has 64 entries; 16 are read.
    unsafe { std::arch::x86_64::_mm256_loadu_si256(q.as_ptr() as *const _) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn gain_row_u8_avx2(src: &[u8], dst: &mut [u8], q: &[u16; LANES]) {
    let n = src.len().min(dst.len()) / 32 * 32;
    let qv = q_vector(q);
    for i in (0..n).step_by(32) {
        // SAFETY: i + 32 <= n <= both lengths; AVX2 is enabled on this function.
        unsafe { gain32_avx2(src.as_ptr().add(i), dst.as_mut_ptr().add(i), qv) };
    }
    // n is a multiple of 4, so the pattern restarts in phase.
    gain_row_u8_portable(&src[n..], &mut dst[n..], q);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn gain_row_u8_in_place_avx2(row: &mut [u8], q: &[u16; LANES]) {
    let n = row.len() / 32 * 32;
    let qv = q_vector(q);
    let p = row.as_mut_ptr();
    for i in (0..n).step_by(32) {
        // SAFETY: i + 32 <= n <= row.len(); reading and writing the same bytes is fine.
        unsafe { gain32_avx2(p.add(i), p.add(i), qv) };
    }
    gain_row_u8_in_place_portable(&mut row[n..], q);
}

fn gain_row_u8(src: &[u8], dst: &mut [u8], q: &[u16; LANES]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { gain_row_u8_avx2(src, dst, q) };
    }
    gain_row_u8_portable(src, dst, q)
}

fn gain_row_u8_in_place(row: &mut [u8], q: &[u16; LANES]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { gain_row_u8_in_place_avx2(row, q) };
    }
    gain_row_u8_in_place_portable(row, q)
}

multiversion!(fn gain_row_f32(src: &[f32], dst: &mut [f32], g: &[f32; LANES]) => gain_row_f32_portable);
multiversion!(fn gain_row_f32_in_place(row: &mut [f32], g: &[f32; LANES]) => gain_row_f32_in_place_portable);

/// `dst = sat(src * gain)` per channel on u8 frames (RGBA or I420): each gain is taken to
/// 8.8 fixed point by [`gain_to_q8`], and each sample becomes
/// `min(255, (in * q + 128) >> 8)`. Channel `c` uses `gains[c % gains.len()]`.
///
/// ```
/// use vidflow_media::kernels::{self, Frame, PixelFormat};
/// let src = Frame::<u8>::from_vec(PixelFormat::Rgba8Premul, 1, 1, vec![10, 100, 200, 255])?;
/// let mut dst = Frame::<u8>::new(PixelFormat::Rgba8Premul, 1, 1)?;
/// kernels::gain_u8(&src.view(), &mut dst.view_mut(), &[1.5, 2.0])?;
/// assert_eq!(dst.as_slice(), &[15, 200, 255, 255]);
/// # Ok::<(), kernels::KernelError>(())
/// ```
pub fn gain_u8(
    src: &FrameView<'_, u8>,
    dst: &mut FrameViewMut<'_, u8>,
    gains: &[f32],
) -> Result<(), KernelError> {
    check_pair("gain_u8", src.format(), dst.format(), src, dst)?;
    for p in 0..src.format().plane_count() {
        let q = q8_pattern(src.format(), p, gains)?;
        let sp = src.plane(p);
        let dp = dst.plane_mut(p);
        let band = band_rows(sp.row_len());
        let rows = sp.rows();
        dp.par_rows_mut(0, rows, band)
            .zip(sp.par_rows(band))
            .for_each(|(d, s)| gain_row_u8(s, d, &q));
    }
    Ok(())
}

/// [`gain_u8`] on a frame in place.
///
/// ```
/// use vidflow_media::kernels::{self, Frame, PixelFormat};
/// let mut f = Frame::<u8>::from_vec(PixelFormat::Rgba8Premul, 1, 1, vec![3, 3, 3, 3])?;
/// kernels::gain_u8_in_place(&mut f.view_mut(), &[0.5])?;
/// assert_eq!(f.as_slice(), &[2, 2, 2, 2]); // 1.5 rounds up
/// # Ok::<(), kernels::KernelError>(())
/// ```
pub fn gain_u8_in_place(
    frame: &mut FrameViewMut<'_, u8>,
    gains: &[f32],
) -> Result<(), KernelError> {
    let format = frame.format();
    for p in 0..format.plane_count() {
        let q = q8_pattern(format, p, gains)?;
        let plane = frame.plane_mut(p);
        let band = band_rows(plane.row_len());
        let rows = plane.rows();
        plane
            .par_rows_mut(0, rows, band)
            .for_each(|d| gain_row_u8_in_place(d, &q));
    }
    Ok(())
}

/// `dst = src * gain` per channel (plane) on [`PixelFormat::RgbF32Planar`] frames, in
/// IEEE single precision (no clamping). Channel `c` uses `gains[c % gains.len()]`.
///
/// ```
/// use vidflow_media::kernels::{self, Frame, PixelFormat};
/// let src = Frame::<f32>::from_vec(PixelFormat::RgbF32Planar, 1, 1, vec![1.0, 1.0, 1.0])?;
/// let mut dst = Frame::<f32>::new(PixelFormat::RgbF32Planar, 1, 1)?;
/// kernels::gain_f32(&src.view(), &mut dst.view_mut(), &[0.5, 2.0, 4.0])?;
/// assert_eq!(dst.as_slice(), &[0.5, 2.0, 4.0]);
/// # Ok::<(), kernels::KernelError>(())
/// ```
pub fn gain_f32(
    src: &FrameView<'_, f32>,
    dst: &mut FrameViewMut<'_, f32>,
    gains: &[f32],
) -> Result<(), KernelError> {
    check_pair("gain_f32", src.format(), dst.format(), src, dst)?;
    for p in 0..src.format().plane_count() {
        let g = f32_pattern(src.format(), p, gains)?;
        let sp = src.plane(p);
        let dp = dst.plane_mut(p);
        let band = band_rows(sp.row_len() * 4);
        let rows = sp.rows();
        dp.par_rows_mut(0, rows, band)
            .zip(sp.par_rows(band))
            .for_each(|(d, s)| gain_row_f32(s, d, &g));
    }
    Ok(())
}

/// [`gain_f32`] on a frame in place.
///
/// ```
/// use vidflow_media::kernels::{self, Frame, PixelFormat};
/// let mut f = Frame::<f32>::from_vec(PixelFormat::RgbF32Planar, 1, 1, vec![1.0, 2.0, 3.0])?;
/// kernels::gain_f32_in_place(&mut f.view_mut(), &[2.0])?;
/// assert_eq!(f.as_slice(), &[2.0, 4.0, 6.0]);
/// # Ok::<(), kernels::KernelError>(())
/// ```
pub fn gain_f32_in_place(
    frame: &mut FrameViewMut<'_, f32>,
    gains: &[f32],
) -> Result<(), KernelError> {
    let format = frame.format();
    for p in 0..format.plane_count() {
        let g = f32_pattern(format, p, gains)?;
        let plane = frame.plane_mut(p);
        let band = band_rows(plane.row_len() * 4);
        let rows = plane.rows();
        plane
            .par_rows_mut(0, rows, band)
            .for_each(|d| gain_row_f32_in_place(d, &g));
    }
    Ok(())
}

fn check_pair<T: super::Sample>(
    kernel: &'static str,
    sf: PixelFormat,
    df: PixelFormat,
    src: &FrameView<'_, T>,
    dst: &FrameViewMut<'_, T>,
) -> Result<(), KernelError> {
    super::frame::expect_format(kernel, sf, df)?;
    expect_same_size(
        kernel,
        (src.width(), src.height()),
        (dst.width(), dst.height()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portable_and_dispatched_rows_agree() {
        let src: Vec<u8> = (0..1000u32).map(|i| (i * 37 % 256) as u8).collect();
        // A period-4 pattern, as the kernels build, with gains up to the 8.8 maximum.
        let q: [u16; LANES] = std::array::from_fn(|i| [0, 255, 700, 65535][i % 4]);
        let mut a = vec![0; src.len()];
        let mut b = vec![0; src.len()];
        gain_row_u8_portable(&src, &mut a, &q);
        gain_row_u8(&src, &mut b, &q);
        assert_eq!(a, b);
        let mut c = src.clone();
        gain_row_u8_in_place(&mut c, &q);
        assert_eq!(a, c);
        for (i, (&s, &o)) in src.iter().zip(&a).enumerate() {
            let exact = (s as f64 * q[i % LANES] as f64 / 256.0 + 0.5)
                .floor()
                .min(255.0);
            assert_eq!(o as f64, exact);
        }
    }
}
