//! Resizing with `fast_image_resize` (separable convolution, SIMD inside, rows split over
//! the rayon pool) on strided frames, without copying them into tight buffers first.

use std::marker::PhantomData;

use fast_image_resize::pixels::{F32, InnerPixel, U8, U8x4};
use fast_image_resize::{
    FilterType, ImageView, ImageViewMut, PixelTrait, ResizeAlg, ResizeOptions, Resizer,
};

use super::KernelError;
use super::frame::{ChannelType, FrameView, FrameViewMut, PixelFormat, Plane, PlaneMut};

/// The resampling filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResizeFilter {
    /// Triangle filter (support 1), widened by the scale factor when shrinking.
    Bilinear,
    /// Lanczos windowed sinc (support 3), widened by the scale factor when shrinking.
    Lanczos3,
}

/// Reinterprets a row of samples as a row of `P` pixels.
fn cast<T: ChannelType, P: InnerPixel>(row: &[T]) -> &[P] {
    let per = size_of::<P>() / size_of::<T>();
    // `P` is fast_image_resize's `#[repr(C)]` pixel: `per` samples of type `T`.
    assert!(size_of::<P>() == per * size_of::<T>() && align_of::<P>() <= align_of::<T>());
    // SAFETY: same bytes, sizes and alignment checked above; every bit pattern of the
    // samples is a valid pixel.
    unsafe { std::slice::from_raw_parts(row.as_ptr() as *const P, row.len() / per) }
}

fn cast_mut<T: ChannelType, P: InnerPixel>(row: &mut [T]) -> &mut [P] {
    let per = size_of::<P>() / size_of::<T>();
    assert!(size_of::<P>() == per * size_of::<T>() && align_of::<P>() <= align_of::<T>());
    // SAFETY: as in `cast`, and the borrow is unique.
    unsafe { std::slice::from_raw_parts_mut(row.as_mut_ptr() as *mut P, row.len() / per) }
}

/// A plane seen as an image of `P` pixels.
struct SrcImage<'a, T, P> {
    plane: Plane<'a, T>,
    width: u32,
    pixel: PhantomData<P>,
}

// SAFETY: every row yielded is `width` pixels long.
unsafe impl<T: ChannelType, P: InnerPixel> ImageView for SrcImage<'_, T, P> {
    type Pixel = P;

    fn width(&self) -> u32 {
        self.width
    }

    fn height(&self) -> u32 {
        self.plane.rows() as u32
    }

    fn iter_rows(&self, start_row: u32) -> impl Iterator<Item = &[P]> {
        let plane = self.plane;
        (start_row as usize..plane.rows()).map(move |y| cast(plane.row(y)))
    }
}

/// A mutable plane seen as an image of `P` pixels.
struct DstImage<'a, 'b, T, P> {
    plane: &'b mut PlaneMut<'a, T>,
    width: u32,
    pixel: PhantomData<P>,
}

// SAFETY: every row yielded is `width` pixels long.
unsafe impl<T: ChannelType, P: InnerPixel> ImageView for DstImage<'_, '_, T, P> {
    type Pixel = P;

    fn width(&self) -> u32 {
        self.width
    }

    fn height(&self) -> u32 {
        self.plane.rows() as u32
    }

    fn iter_rows(&self, start_row: u32) -> impl Iterator<Item = &[P]> {
        let plane = self.plane.as_plane();
        (start_row as usize..plane.rows()).map(move |y| cast(plane.row(y)))
    }
}

// SAFETY: every row yielded is `width` pixels long, and rows do not overlap.
unsafe impl<T: ChannelType, P: InnerPixel> ImageViewMut for DstImage<'_, '_, T, P> {
    fn iter_rows_mut(&mut self, start_row: u32) -> impl Iterator<Item = &mut [P]> {
        let (stride, row_len, rows) =
            (self.plane.stride(), self.plane.row_len(), self.plane.rows());
        self.plane
            .data_mut()
            .chunks_mut(stride)
            .take(rows)
            .skip(start_row as usize)
            .map(move |r| cast_mut(&mut r[..row_len]))
    }
}

thread_local! {
    /// A resizer keeps scratch buffers between calls: one per calling thread.
    static RESIZER: std::cell::RefCell<Resizer> = std::cell::RefCell::new(Resizer::new());
}

/// Resizes one plane of `P` pixels with `options` (filter, crop), reporting failures as
/// `kernel`'s.
pub(crate) fn resize_plane<T: ChannelType, P: InnerPixel + PixelTrait>(
    kernel: &'static str,
    src: Plane<'_, T>,
    dst: &mut PlaneMut<'_, T>,
    options: &ResizeOptions,
) -> Result<(), KernelError> {
    let per = size_of::<P>() / size_of::<T>();
    let s = SrcImage::<T, P> {
        width: (src.row_len() / per) as u32,
        plane: src,
        pixel: PhantomData,
    };
    let width = (dst.row_len() / per) as u32;
    let mut d = DstImage::<T, P> {
        plane: dst,
        width,
        pixel: PhantomData,
    };
    RESIZER
        .with(|r| r.borrow_mut().resize_typed(&s, &mut d, options))
        .map_err(|e| KernelError::Backend {
            kernel,
            reason: e.to_string(),
        })
}

/// Resamples `src` into `dst` (same format, any sizes) with `filter`. Each plane is
/// resized on its own (I420 chroma planes to the chroma size of `dst`); premultiplied
/// RGBA is filtered as it is, which is the correct way to filter alpha.
///
/// ```
/// use vidflow_kernels::{self as kernels, Frame, PixelFormat, ResizeFilter};
/// let src = Frame::<u8>::from_vec(PixelFormat::Rgba8Premul, 4, 4, [10u8, 20, 30, 255].repeat(16))?;
/// let mut dst = Frame::<u8>::new(PixelFormat::Rgba8Premul, 3, 7)?;
/// kernels::resize(&src.view(), &mut dst.view_mut(), ResizeFilter::Lanczos3)?;
/// assert!(dst.as_slice().chunks(4).all(|p| p == [10, 20, 30, 255]));
/// # Ok::<(), kernels::KernelError>(())
/// ```
pub fn resize<T: ChannelType>(
    src: &FrameView<'_, T>,
    dst: &mut FrameViewMut<'_, T>,
    filter: ResizeFilter,
) -> Result<(), KernelError> {
    const K: &str = "resize";
    super::frame::expect_format(K, src.format(), dst.format())?;
    let filter = match filter {
        ResizeFilter::Bilinear => FilterType::Bilinear,
        ResizeFilter::Lanczos3 => FilterType::Lanczos3,
    };
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(filter))
        .use_alpha(false);
    let format = src.format();
    for p in 0..format.plane_count() {
        let sp = src.plane(p);
        let dp = dst.plane_mut(p);
        match format {
            PixelFormat::Rgba8Premul => resize_plane::<T, U8x4>(K, sp, dp, &options)?,
            PixelFormat::I420 | PixelFormat::Coverage8 => {
                resize_plane::<T, U8>(K, sp, dp, &options)?
            }
            PixelFormat::RgbF32Planar => resize_plane::<T, F32>(K, sp, dp, &options)?,
        }
    }
    Ok(())
}
