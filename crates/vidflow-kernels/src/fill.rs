//! Solid fills and two-colour linear gradients (slide backgrounds).

use rayon::prelude::*;

use super::frame::{FrameViewMut, PixelFormat, band_rows, expect_format};
use super::{KernelError, div255, multiversion};

#[inline(always)]
fn fill_row_portable(row: &mut [u8], color: [u8; 4]) {
    for px in row.chunks_exact_mut(4) {
        px.copy_from_slice(&color);
    }
}

multiversion!(fn fill_row(row: &mut [u8], color: [u8; 4]) => fill_row_portable);

/// Sets every pixel of a premultiplied RGBA frame to `color` (premultiplied).
///
/// ```
/// use vidflow_kernels::{self as kernels, Frame, PixelFormat};
/// let mut f = Frame::<u8>::new(PixelFormat::Rgba8Premul, 3, 2)?;
/// kernels::fill(&mut f.view_mut(), [1, 2, 3, 4])?;
/// assert_eq!(f.as_slice(), [1, 2, 3, 4].repeat(6).as_slice());
/// # Ok::<(), kernels::KernelError>(())
/// ```
pub fn fill(dst: &mut FrameViewMut<'_, u8>, color: [u8; 4]) -> Result<(), KernelError> {
    expect_format("fill", PixelFormat::Rgba8Premul, dst.format())?;
    let plane = dst.plane_mut(0);
    let (rows, band) = (plane.rows(), band_rows(plane.row_len()));
    plane
        .par_rows_mut(0, rows, band)
        .for_each(|r| fill_row(r, color));
    Ok(())
}

/// A gradient's weight of `to` at each pixel, in 16.16 fixed point:
/// `k(x, y) = clamp((a·x + b·y + c) >> 16, 0, 255)` (arithmetic shift).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GradientRamp {
    /// Change of `k` per pixel to the right, times 65 536.
    pub a: i32,
    /// Change of `k` per pixel down, times 65 536.
    pub b: i32,
    /// `k` at pixel (0, 0), times 65 536, plus 32 768 so the shift rounds to nearest.
    pub c: i32,
}

impl GradientRamp {
    /// The weight of `to` at pixel (`x`, `y`), 0..=255.
    #[inline(always)]
    pub fn weight(&self, x: i32, y: i32) -> u32 {
        ((self.a * x + self.b * y + self.c) >> 16).clamp(0, 255) as u32
    }
}

/// The ramp of a `width` × `height` gradient at `angle_degrees` (0 = left to right,
/// 90 = top to bottom): with `d = (cos θ, sin θ)` and `L = |width·dx| + |height·dy|`
/// (the frame's extent along `d`), a pixel centre `p` gets
/// `t = ((p − centre)·d) / L + 1/2`, which runs from 0 at the first corner to 1 at the
/// last, and `k = 255·t` is rounded into 16.16 fixed point.
///
/// ```
/// use vidflow_kernels::gradient_weights;
/// let ramp = gradient_weights(256, 1, 0.0)?;
/// assert_eq!(ramp.weight(0, 0), 0);
/// assert_eq!(ramp.weight(255, 0), 255);
/// # Ok::<(), vidflow_kernels::KernelError>(())
/// ```
pub fn gradient_weights(
    width: u32,
    height: u32,
    angle_degrees: f32,
) -> Result<GradientRamp, KernelError> {
    if !angle_degrees.is_finite() {
        return Err(KernelError::BadParameter {
            kernel: "linear_gradient",
            reason: format!("angle {angle_degrees} is not a finite number"),
        });
    }
    let (w, h) = (width as f64, height as f64);
    let theta = (angle_degrees as f64).to_radians();
    let (dx, dy) = (theta.cos(), theta.sin());
    let len = (w * dx).abs() + (h * dy).abs();
    let fixed = |v: f64| (v * 65536.0).round() as i32;
    let a = 255.0 * dx / len;
    let b = 255.0 * dy / len;
    let c = 255.0 * ((0.5 - w / 2.0) * dx + (0.5 - h / 2.0) * dy) / len + 127.5;
    Ok(GradientRamp {
        a: fixed(a),
        b: fixed(b),
        c: fixed(c) + 32768,
    })
}

#[inline(always)]
fn gradient_row_portable(row: &mut [u8], ramp: GradientRamp, y: i32, from: [u8; 4], to: [u8; 4]) {
    let base = ramp.b * y + ramp.c;
    for (x, px) in row.chunks_exact_mut(4).enumerate() {
        let k = ((ramp.a * x as i32 + base) >> 16).clamp(0, 255) as u32;
        for c in 0..4 {
            px[c] = div255(from[c] as u32 * (255 - k) + to[c] as u32 * k) as u8;
        }
    }
}

multiversion!(fn gradient_row(row: &mut [u8], ramp: GradientRamp, y: i32, from: [u8; 4], to: [u8; 4]) => gradient_row_portable);

/// Fills a premultiplied RGBA frame with a linear gradient from `from` to `to`
/// (premultiplied colours) along `angle_degrees`. Each channel is
/// `div255(from·(255 − k) + to·k)` with `k` from [`gradient_weights`] and
/// `div255(v) = round(v / 255)`.
///
/// ```
/// use vidflow_kernels::{self as kernels, Frame, PixelFormat};
/// let mut f = Frame::<u8>::new(PixelFormat::Rgba8Premul, 2, 1)?;
/// kernels::linear_gradient(&mut f.view_mut(), [0, 0, 0, 255], [255, 255, 255, 255], 0.0)?;
/// assert_eq!(f.as_slice(), &[64, 64, 64, 255, 191, 191, 191, 255]);
/// # Ok::<(), kernels::KernelError>(())
/// ```
pub fn linear_gradient(
    dst: &mut FrameViewMut<'_, u8>,
    from: [u8; 4],
    to: [u8; 4],
    angle_degrees: f32,
) -> Result<(), KernelError> {
    expect_format("linear_gradient", PixelFormat::Rgba8Premul, dst.format())?;
    let ramp = gradient_weights(dst.width(), dst.height(), angle_degrees)?;
    let plane = dst.plane_mut(0);
    let (rows, band) = (plane.rows(), band_rows(plane.row_len()));
    plane
        .par_rows_mut(0, rows, band)
        .enumerate()
        .for_each(|(y, r)| gradient_row(r, ramp, y as i32, from, to));
    Ok(())
}
