//! The Ken Burns sampler: a moving crop window over an image, scaled to the output frame
//! by bilinear convolution (`fast_image_resize`, SIMD inside, rows split over the rayon
//! pool), straight from strided frames.

use fast_image_resize::pixels::U8x4;
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions};

use super::KernelError;
use super::frame::{FrameView, FrameViewMut, PixelFormat, expect_format};
use super::resize::resize_plane;

/// A window over the source image, in source pixels (fractions allowed), with its
/// top-left corner at (`x`, `y`). It must lie inside the image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceWindow {
    /// Left edge (>= 0).
    pub x: f64,
    /// Top edge (>= 0).
    pub y: f64,
    /// Width (> 0; `x + width` at most the image's width).
    pub width: f64,
    /// Height (> 0; `y + height` at most the image's height).
    pub height: f64,
}

/// Samples `window` of `src` into all of `dst` (both premultiplied RGBA).
///
/// Along each axis, output pixel `i` of `n` is centred on source position `c = x + (i +
/// ½)·width/n`; it is the weighted mean of the source pixels `j` (centred on `j + ½`)
/// with weights `max(0, 1 − |j + ½ − c| / f)`, where `f = max(1, width/n)` widens the
/// triangle when the window shrinks (so shrinking averages source pixels rather than
/// skipping them). The vertical pass runs first and is rounded to u8, then the
/// horizontal one: Pillow's bilinear filter, which `fast_image_resize` computes in fixed
/// point, each sample within one code value of the real-valued result.
///
/// ```
/// use vidflow_kernels::{self as kernels, Frame, PixelFormat, SourceWindow};
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
    const K: &str = "ken_burns";
    expect_format(K, PixelFormat::Rgba8Premul, src.format())?;
    expect_format(K, PixelFormat::Rgba8Premul, dst.format())?;
    let SourceWindow {
        x,
        y,
        width,
        height,
    } = window;
    let (sw, sh) = (src.width() as f64, src.height() as f64);
    let inside = [x, y, width, height].iter().all(|v| v.is_finite())
        && x >= 0.0
        && y >= 0.0
        && width > 0.0
        && height > 0.0
        && x + width <= sw
        && y + height <= sh;
    if !inside {
        return Err(KernelError::BadParameter {
            kernel: K,
            reason: format!(
                "window at {x}, {y} of {width}x{height} must have a positive size and lie inside the {sw}x{sh} image"
            ),
        });
    }
    let options = ResizeOptions::new()
        .crop(x, y, width, height)
        .resize_alg(ResizeAlg::Convolution(FilterType::Bilinear))
        .use_alpha(false);
    resize_plane::<u8, U8x4>(K, src.plane(0), dst.plane_mut(0), &options)
}
