//! RGBA ↔ I420 (yuv420p) in BT.601 or BT.709, limited or full range: RGBA → I420 through
//! `yuvutils-rs` (this module is the frame plumbing and the choice of matrix and range),
//! I420 → RGBA in our own fixed-point loop.

use rayon::prelude::*;
use yuvutils_rs::{BufferStoreMut, YuvConversionMode, YuvPlanarImageMut};

use super::KernelError;
use super::frame::{
    FrameView, FrameViewMut, PixelFormat, band_rows, expect_format, expect_same_size,
};

/// Which luma coefficients (Kr, Kb).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum YuvMatrix {
    /// BT.601 (SD video, JPEG): Kr = 0.299, Kb = 0.114.
    Bt601,
    /// BT.709 (HD video): Kr = 0.2126, Kb = 0.0722.
    Bt709,
}

/// Which code values black and white map to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum YuvRange {
    /// "TV" range: Y in 16..=235, U and V in 16..=240.
    Limited,
    /// "PC" range: every code value 0..=255.
    Full,
}

/// A matrix and a range: how RGB and YUV relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ColorSpace {
    /// Luma coefficients.
    pub matrix: YuvMatrix,
    /// Code value range.
    pub range: YuvRange,
}

impl ColorSpace {
    /// BT.709, limited range: what vidflow feeds the encoder (and what players assume
    /// for untagged HD video).
    pub const BT709_LIMITED: ColorSpace = ColorSpace {
        matrix: YuvMatrix::Bt709,
        range: YuvRange::Limited,
    };
    /// BT.709, full range.
    pub const BT709_FULL: ColorSpace = ColorSpace {
        matrix: YuvMatrix::Bt709,
        range: YuvRange::Full,
    };
    /// BT.601, limited range.
    pub const BT601_LIMITED: ColorSpace = ColorSpace {
        matrix: YuvMatrix::Bt601,
        range: YuvRange::Limited,
    };
    /// BT.601, full range (JPEG).
    pub const BT601_FULL: ColorSpace = ColorSpace {
        matrix: YuvMatrix::Bt601,
        range: YuvRange::Full,
    };

    fn parts(self) -> (yuvutils_rs::YuvRange, yuvutils_rs::YuvStandardMatrix) {
        let range = match self.range {
            YuvRange::Limited => yuvutils_rs::YuvRange::Limited,
            YuvRange::Full => yuvutils_rs::YuvRange::Full,
        };
        let matrix = match self.matrix {
            YuvMatrix::Bt601 => yuvutils_rs::YuvStandardMatrix::Bt601,
            YuvMatrix::Bt709 => yuvutils_rs::YuvStandardMatrix::Bt709,
        };
        (range, matrix)
    }
}

fn stride_u32(kernel: &'static str, stride: usize) -> Result<u32, KernelError> {
    u32::try_from(stride).map_err(|_| KernelError::BadParameter {
        kernel,
        reason: format!("stride of {stride} samples does not fit in 32 bits"),
    })
}

/// Converts premultiplied RGBA to I420 of the same size. Alpha is ignored: premultiplied
/// colour is the colour over black. Chroma comes from the rounded mean RGB of each 2×2
/// block (of what exists of it at an odd right or bottom edge). Rows are converted in
/// parallel on the current rayon pool.
///
/// ```
/// use vidflow_kernels::{self as kernels, ColorSpace, Frame, PixelFormat};
/// let rgba = Frame::<u8>::from_vec(PixelFormat::Rgba8Premul, 2, 2, [255u8, 255, 255, 255].repeat(4))?;
/// let mut yuv = Frame::<u8>::new(PixelFormat::I420, 2, 2)?;
/// kernels::rgba_to_i420(&rgba.view(), &mut yuv.view_mut(), ColorSpace::BT709_LIMITED)?;
/// assert_eq!(yuv.as_slice(), &[235, 235, 235, 235, 128, 128]);
/// # Ok::<(), kernels::KernelError>(())
/// ```
pub fn rgba_to_i420(
    src: &FrameView<'_, u8>,
    dst: &mut FrameViewMut<'_, u8>,
    space: ColorSpace,
) -> Result<(), KernelError> {
    const K: &str = "rgba_to_i420";
    expect_format(K, PixelFormat::Rgba8Premul, src.format())?;
    expect_format(K, PixelFormat::I420, dst.format())?;
    let (w, h) = (src.width(), src.height());
    expect_same_size(K, (w, h), (dst.width(), dst.height()))?;
    let rgba = src.plane(0);
    let rgba_stride = stride_u32(K, rgba.stride())?;
    let [yp, up, vp] = dst.planes_mut() else {
        unreachable!("I420 has three planes")
    };
    let mut planar = YuvPlanarImageMut {
        y_stride: stride_u32(K, yp.stride())?,
        u_stride: stride_u32(K, up.stride())?,
        v_stride: stride_u32(K, vp.stride())?,
        y_plane: BufferStoreMut::Borrowed(yp.data_mut()),
        u_plane: BufferStoreMut::Borrowed(up.data_mut()),
        v_plane: BufferStoreMut::Borrowed(vp.data_mut()),
        width: w,
        height: h,
    };
    let (range, matrix) = space.parts();
    yuvutils_rs::rgba_to_yuv420(
        &mut planar,
        rgba.data(),
        rgba_stride,
        range,
        matrix,
        YuvConversionMode::Balanced,
    )
    .map_err(|e| KernelError::Backend {
        kernel: K,
        reason: e.to_string(),
    })
}

/// The inverse transform in 16.16 fixed point: `value = (y_mul·(Y − y_off) + Σ coef·(C − 128)
/// + 32768) >> 16`, clamped to 0..=255.
#[derive(Debug, Clone, Copy)]
struct Inverse {
    y_off: i32,
    y_mul: i32,
    cr_r: i32,
    cb_g: i32,
    cr_g: i32,
    cb_b: i32,
}

impl Inverse {
    fn new(space: ColorSpace) -> Self {
        let (kr, kb) = match space.matrix {
            YuvMatrix::Bt601 => (0.299, 0.114),
            YuvMatrix::Bt709 => (0.2126, 0.0722),
        };
        let kg = 1.0 - kr - kb;
        let (y_off, y_scale, c_scale) = match space.range {
            YuvRange::Limited => (16, 255.0 / 219.0, 255.0 / 224.0),
            YuvRange::Full => (0, 1.0, 1.0),
        };
        let q = |v: f64| (v * 65536.0).round() as i32;
        Inverse {
            y_off,
            y_mul: q(y_scale),
            cr_r: q(2.0 * (1.0 - kr) * c_scale),
            cb_g: q(2.0 * (1.0 - kb) * kb / kg * c_scale),
            cr_g: q(2.0 * (1.0 - kr) * kr / kg * c_scale),
            cb_b: q(2.0 * (1.0 - kb) * c_scale),
        }
    }
}

/// Each chroma sample's contribution to R, G and B (rounding bias included), for a row.
#[inline(always)]
fn chroma_terms_portable(ur: &[u8], vr: &[u8], terms: &mut [[i32; 3]], k: Inverse) {
    for ((t, &u), &v) in terms.iter_mut().zip(ur).zip(vr) {
        let (u, v) = (u as i32 - 128, v as i32 - 128);
        *t = [
            k.cr_r * v + 32768,
            32768 - k.cb_g * u - k.cr_g * v,
            k.cb_b * u + 32768,
        ];
    }
}

#[inline(always)]
fn i420_row_portable(yr: &[u8], terms: &[[i32; 3]], out: &mut [u8], k: Inverse) {
    // Two pixels per chroma sample; the odd last pixel of an odd width after the loop.
    let px = |y: u8, t: &[i32; 3], o: &mut [u8]| {
        let y = k.y_mul * (y as i32 - k.y_off);
        for c in 0..3 {
            o[c] = ((y + t[c]) >> 16).clamp(0, 255) as u8;
        }
        o[3] = 255;
    };
    let mut pairs = out.chunks_exact_mut(8);
    for ((o, y2), t) in (&mut pairs).zip(yr.chunks_exact(2)).zip(terms) {
        let (a, b) = o.split_at_mut(4);
        px(y2[0], t, a);
        px(y2[1], t, b);
    }
    let rest = pairs.into_remainder();
    if rest.len() == 4 {
        let x = yr.len() - 1;
        px(yr[x], &terms[x / 2], rest);
    }
}

super::multiversion!(fn chroma_terms(ur: &[u8], vr: &[u8], terms: &mut [[i32; 3]], k: Inverse) => chroma_terms_portable);
super::multiversion!(fn i420_row(yr: &[u8], terms: &[[i32; 3]], out: &mut [u8], k: Inverse) => i420_row_portable);

/// Converts I420 to opaque RGBA (alpha 255) of the same size; each chroma sample covers
/// its 2×2 block (nearest, no chroma interpolation). The inverse matrix runs in 16.16
/// fixed point, rounded to nearest — within one code value of the exact formulas. (This
/// direction is our own loop: `yuvutils-rs` 0.8's decoder is off by up to 2.)
///
/// ```
/// use vidflow_kernels::{self as kernels, ColorSpace, Frame, PixelFormat};
/// let yuv = Frame::<u8>::from_vec(PixelFormat::I420, 2, 2, vec![16, 16, 235, 235, 128, 128])?;
/// let mut rgba = Frame::<u8>::new(PixelFormat::Rgba8Premul, 2, 2)?;
/// kernels::i420_to_rgba(&yuv.view(), &mut rgba.view_mut(), ColorSpace::BT709_LIMITED)?;
/// assert_eq!(&rgba.as_slice()[..4], &[0, 0, 0, 255]);
/// assert_eq!(&rgba.as_slice()[8..12], &[255, 255, 255, 255]);
/// # Ok::<(), kernels::KernelError>(())
/// ```
pub fn i420_to_rgba(
    src: &FrameView<'_, u8>,
    dst: &mut FrameViewMut<'_, u8>,
    space: ColorSpace,
) -> Result<(), KernelError> {
    const K: &str = "i420_to_rgba";
    expect_format(K, PixelFormat::I420, src.format())?;
    expect_format(K, PixelFormat::Rgba8Premul, dst.format())?;
    let (w, h) = (src.width(), src.height());
    expect_same_size(K, (w, h), (dst.width(), dst.height()))?;
    let (yp, up, vp) = (src.plane(0), src.plane(1), src.plane(2));
    let k = Inverse::new(space);
    let out = dst.plane_mut(0);
    let band = band_rows(out.row_len());
    out.par_rows_mut(0, h as usize, band)
        .enumerate()
        .for_each_init(Vec::new, |terms: &mut Vec<[i32; 3]>, (y, row)| {
            terms.resize(up.row_len(), [0; 3]);
            chroma_terms(up.row(y / 2), vp.row(y / 2), terms, k);
            i420_row(yp.row(y), terms, row, k);
        });
    Ok(())
}
