//! The Ken Burns sampler: a moving crop window over an image, scaled to the output frame
//! by bilinear sampling in fixed point.

use rayon::prelude::*;

use super::KernelError;
use super::frame::{FrameView, FrameViewMut, PixelFormat, band_rows, expect_format};

/// A window over the source image, in source pixels (fractions allowed). Its top-left
/// corner is (`x`, `y`); it may reach outside the image, where the edge pixels repeat.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceWindow {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width (> 0).
    pub width: f64,
    /// Height (> 0).
    pub height: f64,
}

/// Largest coordinate accepted (in source pixels), so fixed-point positions fit.
const MAX_COORD: f64 = 1.0e6;

/// Where output column (or row) `i` samples: a source position in 16.16 fixed point,
/// `start + i·step`, clamped to the image.
#[derive(Debug, Clone, Copy)]
struct Axis {
    start: i64,
    step: i64,
    last: i64,
}

impl Axis {
    /// Output pixel `i`'s centre maps to `origin + (i + ½)·extent/out − ½` source pixels.
    fn new(origin: f64, extent: f64, out: u32, src: u32) -> Self {
        let scale = extent / out as f64;
        Axis {
            start: ((origin + 0.5 * scale - 0.5) * 65536.0).round() as i64,
            step: (scale * 65536.0).round() as i64,
            last: (src as i64 - 1) << 16,
        }
    }

    /// (first source index, second source index, weight of the second out of 256).
    #[inline(always)]
    fn at(&self, i: usize) -> (usize, usize, u32) {
        let pos = (self.start + i as i64 * self.step).clamp(0, self.last);
        let i0 = (pos >> 16) as usize;
        let i1 = if pos < self.last { i0 + 1 } else { i0 };
        (i0, i1, ((pos >> 8) & 0xff) as u32)
    }
}

/// Samples `window` of `src` into all of `dst` (both premultiplied RGBA), bilinearly.
///
/// Output pixel `(i, j)` looks at source position `px = x + (i + ½)·width/W − ½` (and
/// likewise `py`), both taken to 16.16 fixed point as `round(x₀·65536) + i·round(s·65536)`
/// and clamped to `[0, side − 1]`. With `x0 = ⌊px⌋`, `fx` the top 8 bits of its
/// fraction, `x1 = min(x0 + 1, side − 1)` (and likewise in y), each channel is
/// `(p00·(256−fx)·(256−fy) + p10·fx·(256−fy) + p01·(256−fx)·fy + p11·fx·fy + 32768) >> 16`.
///
/// ```
/// use vidflow_media::kernels::{self, Frame, PixelFormat, SourceWindow};
/// let src = Frame::<u8>::from_vec(PixelFormat::Rgba8Premul, 2, 1, vec![0, 0, 0, 255, 200, 200, 200, 255])?;
/// let mut dst = Frame::<u8>::new(PixelFormat::Rgba8Premul, 4, 1)?;
/// let window = SourceWindow { x: 0.0, y: 0.0, width: 2.0, height: 1.0 };
/// kernels::ken_burns(&src.view(), window, &mut dst.view_mut())?;
/// assert_eq!(&dst.as_slice()[..16], &[0, 0, 0, 255, 50, 50, 50, 255, 150, 150, 150, 255, 200, 200, 200, 255]);
/// # Ok::<(), kernels::KernelError>(())
/// ```
pub fn ken_burns(
    src: &FrameView<'_, u8>,
    window: SourceWindow,
    dst: &mut FrameViewMut<'_, u8>,
) -> Result<(), KernelError> {
    expect_format("ken_burns", PixelFormat::Rgba8Premul, src.format())?;
    expect_format("ken_burns", PixelFormat::Rgba8Premul, dst.format())?;
    let SourceWindow {
        x,
        y,
        width,
        height,
    } = window;
    let ok = [x, y, width, height]
        .iter()
        .all(|v| v.is_finite() && v.abs() <= MAX_COORD)
        && width > 0.0
        && height > 0.0;
    if !ok {
        return Err(KernelError::BadParameter {
            kernel: "ken_burns",
            reason: format!(
                "window {x}, {y}, {width}x{height} needs a positive size and finite coordinates within ±{MAX_COORD}"
            ),
        });
    }
    let (dw, dh) = (dst.width(), dst.height());
    let xa = Axis::new(x, width, dw, src.width());
    let ya = Axis::new(y, height, dh, src.height());
    // Columns are the same on every row: look them up once.
    let cols: Vec<(usize, usize, u32)> = (0..dw as usize).map(|i| xa.at(i)).collect();
    let lo = cols
        .first()
        .map_or(0, |c| c.0.min(cols.last().map_or(0, |l| l.0)));
    let hi = cols.iter().map(|c| c.1).max().unwrap_or(0) + 1;
    let sp = src.plane(0);
    let plane = dst.plane_mut(0);
    let band = band_rows(plane.row_len());
    plane
        .par_rows_mut(0, dh as usize, band)
        .enumerate()
        .for_each_init(Vec::new, |mix: &mut Vec<u32>, (j, out)| {
            let (y0, y1, fy) = ya.at(j);
            let (r0, r1) = (sp.row(y0), sp.row(y1));
            // The two source rows blended vertically over the columns in use.
            mix.clear();
            mix.extend(
                r0[lo * 4..hi * 4]
                    .iter()
                    .zip(&r1[lo * 4..hi * 4])
                    .map(|(&a, &b)| a as u32 * (256 - fy) + b as u32 * fy),
            );
            for (px, &(x0, x1, fx)) in out.chunks_exact_mut(4).zip(&cols) {
                let (a, b) = ((x0 - lo) * 4, (x1 - lo) * 4);
                for c in 0..4 {
                    px[c] = ((mix[a + c] * (256 - fx) + mix[b + c] * fx + 32768) >> 16) as u8;
                }
            }
        });
    Ok(())
}
