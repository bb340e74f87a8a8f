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
/// use vidflow_kernels::gain_to_q8;
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
        PixelFormat::I420 | PixelFormat::RgbF32Planar | PixelFormat::Coverage8 => {
            vec![gains[plane % gains.len()]; LANES]
        }
    })
}

/// A plane's u8 gains, worked out once for all its rows.
struct RowGains {
    /// The 8.8 gain of each sample position in a [`LANES`]-long step.
    q: [u16; LANES],
    /// [`saturation_limit`] of each of the first 32 positions (what one AVX2 step needs).
    limit: [u8; 32],
}

impl RowGains {
    fn new(q: [u16; LANES]) -> RowGains {
        RowGains {
            q,
            limit: std::array::from_fn(|i| saturation_limit(q[i])),
        }
    }
}

fn q8_pattern(format: PixelFormat, plane: usize, gains: &[f32]) -> Result<RowGains, KernelError> {
    let mut out = [0u16; LANES];
    for (o, g) in out
        .iter_mut()
        .zip(lane_pattern("gain_u8", format, plane, gains)?)
    {
        *o = gain_to_q8(g)?;
    }
    Ok(RowGains::new(out))
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

/// The largest sample that does not saturate under gain `q`: `x * q + 128 < 65 536`
/// holds exactly for `x <= limit`, so below it the whole product fits 16 bits.
fn saturation_limit(q: u16) -> u8 {
    match q {
        0 => u8::MAX,
        q => ((65_535 - 128) / q as u32).min(255) as u8,
    }
}

/// 32 samples with AVX2. A sample above its lane's [`saturation_limit`] gives 255; every
/// other one gives `(in * q + 128) >> 8` computed in 16-bit lanes, where it cannot
/// overflow. Identical to [`mul_q8`], with one 16-bit multiply per 16 samples (the
/// high-half multiply of a full 24-bit product costs twice as much again, and LLVM turns
/// it into 32-bit multiplies).
///
/// # Safety
/// The CPU must support AVX2; `s` must be readable and `d` writable for 32 bytes (they
/// may be the same address).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gain32_avx2(s: *const u8, d: *mut u8, g: &GainAvx2) {
    use std::arch::x86_64::*;
    let zero = _mm256_setzero_si256();
    let round = _mm256_set1_epi16(128);
    // SAFETY: the caller guarantees 32 readable and writable bytes.
    unsafe {
        let v = _mm256_loadu_si256(s as *const __m256i);
        let fits = _mm256_cmpeq_epi8(_mm256_min_epu8(v, g.limit), v);
        let lo = _mm256_mullo_epi16(_mm256_unpacklo_epi8(v, zero), g.q);
        let hi = _mm256_mullo_epi16(_mm256_unpackhi_epi8(v, zero), g.q);
        let lo = _mm256_srli_epi16::<8>(_mm256_add_epi16(lo, round));
        let hi = _mm256_srli_epi16::<8>(_mm256_add_epi16(hi, round));
        let saturated = _mm256_andnot_si256(fits, _mm256_set1_epi8(-1));
        let out = _mm256_or_si256(_mm256_packus_epi16(lo, hi), saturated);
        _mm256_storeu_si256(d as *mut __m256i, out);
    }
}

/// A row's gains as AVX2 vectors.
#[cfg(target_arch = "x86_64")]
struct GainAvx2 {
    /// The gains of one 128-bit lane's 8 samples after widening: the pattern repeats
    /// every 4 samples (or is constant), so samples 0..8 and 8..16 of each lane share it.
    q: std::arch::x86_64::__m256i,
    /// [`saturation_limit`] of each of 32 samples.
    limit: std::arch::x86_64::__m256i,
}

#[cfg(target_arch = "x86_64")]
impl GainAvx2 {
    #[target_feature(enable = "avx2")]
    fn new(g: &RowGains) -> Self {
        // SAFETY: q has 64 entries and limit 32; 32 bytes are read from each.
        unsafe {
            use std::arch::x86_64::*;
            GainAvx2 {
                q: _mm256_loadu_si256(g.q.as_ptr() as *const __m256i),
                limit: _mm256_loadu_si256(g.limit.as_ptr() as *const __m256i),
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn gain_row_u8_avx2(src: &[u8], dst: &mut [u8], gains: &RowGains) {
    let n = src.len().min(dst.len()) / 32 * 32;
    let g = GainAvx2::new(gains);
    for i in (0..n).step_by(32) {
        // SAFETY: i + 32 <= n <= both lengths; AVX2 is enabled on this function.
        unsafe { gain32_avx2(src.as_ptr().add(i), dst.as_mut_ptr().add(i), &g) };
    }
    // n is a multiple of 4, so the pattern restarts in phase.
    gain_row_u8_portable(&src[n..], &mut dst[n..], &gains.q);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn gain_row_u8_in_place_avx2(row: &mut [u8], gains: &RowGains) {
    let n = row.len() / 32 * 32;
    let g = GainAvx2::new(gains);
    let p = row.as_mut_ptr();
    for i in (0..n).step_by(32) {
        // SAFETY: i + 32 <= n <= row.len(); reading and writing the same bytes is fine.
        unsafe { gain32_avx2(p.add(i), p.add(i), &g) };
    }
    gain_row_u8_in_place_portable(&mut row[n..], &gains.q);
}

fn gain_row_u8(src: &[u8], dst: &mut [u8], gains: &RowGains) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { gain_row_u8_avx2(src, dst, gains) };
    }
    gain_row_u8_portable(src, dst, &gains.q)
}

fn gain_row_u8_in_place(row: &mut [u8], gains: &RowGains) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { gain_row_u8_in_place_avx2(row, gains) };
    }
    gain_row_u8_in_place_portable(row, &gains.q)
}

multiversion!(fn gain_row_f32(src: &[f32], dst: &mut [f32], g: &[f32; LANES]) => gain_row_f32_portable);
multiversion!(fn gain_row_f32_in_place(row: &mut [f32], g: &[f32; LANES]) => gain_row_f32_in_place_portable);

/// `dst = sat(src * gain)` per channel on u8 frames (RGBA or I420): each gain is taken to
/// 8.8 fixed point by [`gain_to_q8`], and each sample becomes
/// `min(255, (in * q + 128) >> 8)`. Channel `c` uses `gains[c % gains.len()]`.
///
/// ```
/// use vidflow_kernels::{self as kernels, Frame, PixelFormat};
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
/// use vidflow_kernels::{self as kernels, Frame, PixelFormat};
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
/// use vidflow_kernels::{self as kernels, Frame, PixelFormat};
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
/// use vidflow_kernels::{self as kernels, Frame, PixelFormat};
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

fn check_pair<T: super::ChannelType>(
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
    fn dispatched_rows_are_exact_for_every_sample_at_edge_gains() {
        // Gains around the saturation edges: 256 (exactly 1.0), 257 (255 * 257 + 128
        // just passes 65 535), 65 407..65 409 (limit 1 vs 0).
        let edges = [
            0u16, 1, 255, 256, 257, 258, 511, 512, 32768, 65407, 65408, 65409, 65535,
        ];
        let src: Vec<u8> = (0..=255u8).flat_map(|x| [x; 4]).collect();
        for &a in &edges {
            for &b in &[0u16, 256, 257, 65535] {
                let q: [u16; LANES] = std::array::from_fn(|i| [a, b, 300, a][i % 4]);
                let mut expect = vec![0; src.len()];
                for (i, (o, &s)) in expect.iter_mut().zip(&src).enumerate() {
                    *o = mul_q8(s, q[i % LANES]);
                }
                let mut got = vec![0; src.len()];
                gain_row_u8(&src, &mut got, &RowGains::new(q));
                assert_eq!(got, expect, "gains {a}, {b}");
            }
        }
    }

    #[test]
    fn portable_and_dispatched_rows_agree() {
        let src: Vec<u8> = (0..1000u32).map(|i| (i * 37 % 256) as u8).collect();
        // A period-4 pattern, as the kernels build, with gains up to the 8.8 maximum.
        let q: [u16; LANES] = std::array::from_fn(|i| [0, 255, 700, 65535][i % 4]);
        let mut a = vec![0; src.len()];
        let mut b = vec![0; src.len()];
        gain_row_u8_portable(&src, &mut a, &q);
        gain_row_u8(&src, &mut b, &RowGains::new(q));
        assert_eq!(a, b);
        let mut c = src.clone();
        gain_row_u8_in_place(&mut c, &RowGains::new(q));
        assert_eq!(a, c);
        for (i, (&s, &o)) in src.iter().zip(&a).enumerate() {
            let exact = (s as f64 * q[i % LANES] as f64 / 256.0 + 0.5)
                .floor()
                .min(255.0);
            assert_eq!(o as f64, exact);
        }
    }
}
