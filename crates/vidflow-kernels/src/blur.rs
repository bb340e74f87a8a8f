//! Separable blurs for soft shadows and backdrops: a box blur by running sums (cost
//! independent of the radius) and a Gaussian blur with fixed-point weights.
//!
//! Both work on every u8 format, plane by plane; edges repeat the outermost pixel; the
//! horizontal pass runs first and its result is rounded to u8 before the vertical pass.

use rayon::prelude::*;

use super::KernelError;
use super::frame::{FrameView, FrameViewMut, PixelFormat, Plane, PlaneMut, expect_same_size};

/// Largest box radius: keeps the reciprocal division exact (window under 4 096).
const MAX_BOX_RADIUS: u32 = 1000;
/// Largest Gaussian sigma (radius `ceil(3σ)`).
const MAX_SIGMA: f32 = 300.0;
/// Gaussian weights sum to this.
const GAUSS_ONE: u32 = 1 << 14;

/// Interleaved channels in a plane of `format`.
fn channels_in_plane(format: PixelFormat) -> usize {
    match format {
        PixelFormat::Rgba8Premul => 4,
        _ => 1,
    }
}

/// `round(s / n)` for odd `n < 4096` and `s <= 255 * n`, as `((s + n/2) · m) >> 32`
/// with `m = floor(2^32 / n) + 1`: exact in that range (and vectorisable, unlike `/`).
#[derive(Clone, Copy)]
struct RoundDiv {
    half: u32,
    m: u64,
}

impl RoundDiv {
    fn new(n: u32) -> Self {
        RoundDiv {
            half: n / 2,
            m: (1u64 << 32) / n as u64 + 1,
        }
    }

    #[inline(always)]
    fn apply(self, s: u32) -> u8 {
        (((s + self.half) as u64 * self.m) >> 32) as u8
    }
}

/// Horizontal box pass over one row: `cpp` interleaved channels, radius `r`.
fn box_row(src: &[u8], dst: &mut [u8], cpp: usize, r: usize, div: RoundDiv) {
    let w = src.len() / cpp;
    let at = |x: isize, c: usize| src[(x.clamp(0, w as isize - 1) as usize) * cpp + c] as u32;
    for c in 0..cpp {
        let mut sum: u32 = (-(r as isize)..=r as isize).map(|i| at(i, c)).sum();
        for x in 0..w {
            dst[x * cpp + c] = div.apply(sum);
            sum = sum + at(x as isize + r as isize + 1, c) - at(x as isize - r as isize, c);
        }
    }
}

#[inline(always)]
fn add_row_portable(sums: &mut [u32], add: &[u8], sub: &[u8]) {
    for ((s, &a), &b) in sums.iter_mut().zip(add).zip(sub) {
        *s = *s + a as u32 - b as u32;
    }
}

#[inline(always)]
fn divide_row_portable(sums: &[u32], out: &mut [u8], div: RoundDiv) {
    for (o, &s) in out.iter_mut().zip(sums) {
        *o = div.apply(s);
    }
}

#[inline(always)]
fn accumulate_row_portable(acc: &mut [u32], row: &[u8], w: u32) {
    for (a, &v) in acc.iter_mut().zip(row) {
        *a += w * v as u32;
    }
}

#[inline(always)]
fn gauss_out_row_portable(acc: &[u32], out: &mut [u8]) {
    for (o, &a) in out.iter_mut().zip(acc) {
        *o = ((a + GAUSS_ONE / 2) >> 14).min(255) as u8;
    }
}

super::multiversion!(fn add_row(sums: &mut [u32], add: &[u8], sub: &[u8]) => add_row_portable);
super::multiversion!(fn divide_row(sums: &[u32], out: &mut [u8], div: RoundDiv) => divide_row_portable);
super::multiversion!(fn accumulate_row(acc: &mut [u32], row: &[u8], w: u32) => accumulate_row_portable);
super::multiversion!(fn gauss_out_row(acc: &[u32], out: &mut [u8]) => gauss_out_row_portable);

/// Output rows per parallel task of a vertical pass: enough tasks to balance the
/// threads, few enough that re-priming the window per task stays cheap.
fn vertical_band(rows: usize, r: usize) -> usize {
    let tasks = rayon::current_num_threads() * 4;
    rows.div_ceil(tasks).max(2 * r + 1).max(16)
}

/// Vertical box pass: `tmp` (tight rows) into `dst`.
fn box_vertical(tmp: Plane<'_, u8>, dst: &mut PlaneMut<'_, u8>, r: usize, div: RoundDiv) {
    let rows = tmp.rows();
    let band = vertical_band(rows, r);
    let clamp = |y: isize| tmp.row(y.clamp(0, rows as isize - 1) as usize);
    dst.par_rows_mut(0, rows, 1)
        .chunks(band)
        .enumerate()
        .for_each(|(bi, mut out_rows)| {
            let y0 = (bi * band) as isize;
            let mut sums = vec![0u32; tmp.row_len()];
            for i in -(r as isize)..=r as isize {
                accumulate_row(&mut sums, clamp(y0 + i), 1);
            }
            for (k, out) in out_rows.iter_mut().enumerate() {
                let y = y0 + k as isize;
                divide_row(&sums, out, div);
                add_row(&mut sums, clamp(y + r as isize + 1), clamp(y - r as isize));
            }
        });
}

fn check_pair(
    kernel: &'static str,
    src: &FrameView<'_, u8>,
    dst: &FrameViewMut<'_, u8>,
) -> Result<(), KernelError> {
    super::frame::expect_format(kernel, src.format(), dst.format())?;
    expect_same_size(
        kernel,
        (src.width(), src.height()),
        (dst.width(), dst.height()),
    )
}

/// A box blur of `radius` pixels (a window of `2·radius + 1`, at most 1000) into `dst`.
/// Each pass gives `round(sum / (2·radius + 1))` over the window, edges repeated.
///
/// ```
/// use vidflow_kernels::{self as kernels, Frame, PixelFormat};
/// let src = Frame::<u8>::from_vec(PixelFormat::I420, 3, 1, vec![0, 90, 0, 8, 9, 10, 11])?;
/// let mut dst = Frame::<u8>::new(PixelFormat::I420, 3, 1)?;
/// kernels::box_blur(&src.view(), &mut dst.view_mut(), 1)?;
/// assert_eq!(&dst.as_slice()[..3], &[30, 30, 30]);
/// # Ok::<(), kernels::KernelError>(())
/// ```
pub fn box_blur(
    src: &FrameView<'_, u8>,
    dst: &mut FrameViewMut<'_, u8>,
    radius: u32,
) -> Result<(), KernelError> {
    check_pair("box_blur", src, dst)?;
    if radius > MAX_BOX_RADIUS {
        return Err(KernelError::BadParameter {
            kernel: "box_blur",
            reason: format!("radius {radius} is larger than {MAX_BOX_RADIUS}"),
        });
    }
    let cpp = channels_in_plane(src.format());
    let r = radius as usize;
    let div = RoundDiv::new(2 * radius + 1);
    for p in 0..src.format().plane_count() {
        let sp = src.plane(p);
        let mut tmp = vec![0u8; sp.row_len() * sp.rows()];
        tmp.par_chunks_mut(sp.row_len())
            .zip(sp.par_rows(1))
            .for_each(|(t, s)| box_row(s, t, cpp, r, div));
        let tmp_plane = Plane::tight(&tmp, sp.row_len(), sp.rows());
        box_vertical(tmp_plane, dst.plane_mut(p), r, div);
    }
    Ok(())
}

/// The Gaussian weights for `sigma`: `2r + 1` integers (`r = ceil(3σ)`) for
/// `i = −r..=r`, proportional to `exp(−i² / 2σ²)` and summing to exactly 16 384. Weight
/// `i` is the step of the rounded running total (`round(16 384 · Σ_{j≤i} g_j / Σ g)`),
/// so rounding never drifts the sum and no weight is negative.
///
/// ```
/// let w = vidflow_kernels::gaussian_weights(1.0)?;
/// assert_eq!(w.len(), 7);
/// assert_eq!(w.iter().map(|&v| v as u32).sum::<u32>(), 16384);
/// # Ok::<(), vidflow_kernels::KernelError>(())
/// ```
pub fn gaussian_weights(sigma: f32) -> Result<Vec<u16>, KernelError> {
    if !sigma.is_finite() || sigma <= 0.0 || sigma > MAX_SIGMA {
        return Err(KernelError::BadParameter {
            kernel: "gaussian_blur",
            reason: format!("sigma {sigma} is outside (0, {MAX_SIGMA}]"),
        });
    }
    let s = sigma as f64;
    let r = (3.0 * s).ceil() as i64;
    let raw: Vec<f64> = (-r..=r)
        .map(|i| (-(i * i) as f64 / (2.0 * s * s)).exp())
        .collect();
    let total: f64 = raw.iter().sum();
    let (mut running, mut prev) = (0.0, 0u32);
    let mut w = Vec::with_capacity(raw.len());
    for v in &raw {
        running += v;
        let now = ((running / total * GAUSS_ONE as f64).round() as u32).min(GAUSS_ONE);
        w.push((now - prev) as u16);
        prev = now;
    }
    // The last step lands on the total exactly, up to floating-point dust.
    if let Some(last) = w.last_mut() {
        *last += (GAUSS_ONE - prev) as u16;
    }
    Ok(w)
}

/// A Gaussian blur of standard deviation `sigma` pixels (at most 300) into `dst`. Each
/// pass gives `min(255, (Σ wᵢ·pᵢ + 8192) >> 14)` with the weights of
/// [`gaussian_weights`], edges repeated.
///
/// ```
/// use vidflow_kernels::{self as kernels, Frame, PixelFormat};
/// let src = Frame::<u8>::from_vec(PixelFormat::Rgba8Premul, 1, 1, vec![9, 8, 7, 255])?;
/// let mut dst = Frame::<u8>::new(PixelFormat::Rgba8Premul, 1, 1)?;
/// kernels::gaussian_blur(&src.view(), &mut dst.view_mut(), 2.5)?;
/// assert_eq!(dst.as_slice(), &[9, 8, 7, 255]);
/// # Ok::<(), kernels::KernelError>(())
/// ```
pub fn gaussian_blur(
    src: &FrameView<'_, u8>,
    dst: &mut FrameViewMut<'_, u8>,
    sigma: f32,
) -> Result<(), KernelError> {
    check_pair("gaussian_blur", src, dst)?;
    let weights = gaussian_weights(sigma)?;
    let r = weights.len() / 2;
    let cpp = channels_in_plane(src.format());
    for p in 0..src.format().plane_count() {
        let sp = src.plane(p);
        let (row_len, rows) = (sp.row_len(), sp.rows());
        let mut tmp = vec![0u8; row_len * rows];
        PlaneMut::tight(&mut tmp, row_len, rows)
            .par_rows_mut(0, rows, 1)
            .zip(sp.par_rows(1))
            .for_each_init(
                || (Vec::new(), Vec::new()),
                |(pad, acc): &mut (Vec<u8>, Vec<u32>), (t, s)| {
                    // The row with `r` repeated edge pixels on each side.
                    pad.clear();
                    for _ in 0..r {
                        pad.extend_from_slice(&s[..cpp]);
                    }
                    pad.extend_from_slice(s);
                    for _ in 0..r {
                        pad.extend_from_slice(&s[row_len - cpp..]);
                    }
                    acc.clear();
                    acc.resize(row_len, 0);
                    for (k, &w) in weights.iter().enumerate() {
                        accumulate_row(acc, &pad[k * cpp..k * cpp + row_len], w as u32);
                    }
                    gauss_out_row(acc, t);
                },
            );
        let tmp_plane = Plane::tight(&tmp, row_len, rows);
        dst.plane_mut(p)
            .par_rows_mut(0, rows, 1)
            .enumerate()
            .for_each_init(Vec::new, |acc: &mut Vec<u32>, (y, out)| {
                acc.clear();
                acc.resize(row_len, 0);
                for (k, &w) in weights.iter().enumerate() {
                    let sy = (y as isize + k as isize - r as isize).clamp(0, rows as isize - 1);
                    accumulate_row(acc, tmp_plane.row(sy as usize), w as u32);
                }
                gauss_out_row(acc, out);
            });
    }
    Ok(())
}
