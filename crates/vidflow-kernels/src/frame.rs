//! Frames as kernels see them: a pixel format, a size, and one to three planes of
//! samples with row strides, either owned ([`Frame`]) or borrowed ([`FrameView`],
//! [`FrameViewMut`]) so that a kernel can work on someone else's buffer without a copy.

use std::fmt::Debug;

use rayon::prelude::*;

use super::KernelError;

/// How a frame's samples are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// One plane of interleaved R, G, B, A bytes, colour premultiplied by alpha.
    Rgba8Premul,
    /// yuv420p, 8 bits: a full-size Y plane, then U and V planes of
    /// `ceil(width / 2)` × `ceil(height / 2)` samples.
    I420,
    /// Three full-size `f32` planes: R, G, B (for float work; no alpha).
    RgbF32Planar,
    /// One plane of coverage bytes, 0 (outside) to 255 (inside): the anti-aliased mask of
    /// a shape, which [`composite_over_masked`](super::composite_over_masked) and
    /// [`copy_masked`](super::copy_masked) draw through.
    Coverage8,
}

impl PixelFormat {
    /// Number of planes.
    pub fn plane_count(self) -> usize {
        match self {
            PixelFormat::Rgba8Premul | PixelFormat::Coverage8 => 1,
            PixelFormat::I420 | PixelFormat::RgbF32Planar => 3,
        }
    }

    /// Number of colour channels per pixel (interleaved in one plane, or one per plane).
    pub fn channels(self) -> usize {
        match self {
            PixelFormat::Rgba8Premul => 4,
            PixelFormat::I420 | PixelFormat::RgbF32Planar => 3,
            PixelFormat::Coverage8 => 1,
        }
    }

    /// Samples per row and rows of `plane` in a `width` × `height` frame.
    ///
    /// # Panics
    /// If `plane >= self.plane_count()`.
    pub fn plane_size(self, plane: usize, width: u32, height: u32) -> (usize, usize) {
        assert!(plane < self.plane_count(), "{self:?} has no plane {plane}");
        let (w, h) = (width as usize, height as usize);
        match (self, plane) {
            (PixelFormat::Rgba8Premul, _) => (w * 4, h),
            (PixelFormat::I420, 0)
            | (PixelFormat::RgbF32Planar, _)
            | (PixelFormat::Coverage8, _) => (w, h),
            (PixelFormat::I420, _) => (w.div_ceil(2), h.div_ceil(2)),
        }
    }

    /// Name of the channel type this format stores (`"u8"` or `"f32"`).
    pub fn channel_type(self) -> &'static str {
        match self {
            PixelFormat::Rgba8Premul | PixelFormat::I420 | PixelFormat::Coverage8 => "u8",
            PixelFormat::RgbF32Planar => "f32",
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for u8 {}
    impl Sealed for f32 {}
}

/// The type of one channel value a frame holds: `u8` or `f32`.
pub trait ChannelType:
    sealed::Sealed + Copy + Default + Debug + PartialEq + Send + Sync + 'static
{
    /// `"u8"` or `"f32"`, matching [`PixelFormat::channel_type`].
    const NAME: &'static str;
}

impl ChannelType for u8 {
    const NAME: &'static str = "u8";
}

impl ChannelType for f32 {
    const NAME: &'static str = "f32";
}

/// Largest side accepted, so that offsets and fixed-point coordinates never overflow.
pub const MAX_SIDE: u32 = 1 << 15;

/// Checks the format/channel type pairing and the frame's size.
fn check_shape<T: ChannelType>(
    format: PixelFormat,
    width: u32,
    height: u32,
) -> Result<(), KernelError> {
    if format.channel_type() != T::NAME {
        return Err(KernelError::ChannelTypeMismatch {
            format,
            expected: format.channel_type(),
            got: T::NAME,
        });
    }
    if width == 0 || height == 0 {
        return Err(KernelError::Empty {
            format,
            width,
            height,
        });
    }
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(KernelError::TooLarge { width, height });
    }
    Ok(())
}

/// Checks one plane's stride and length against what the format needs.
fn check_plane(
    format: PixelFormat,
    width: u32,
    height: u32,
    plane: usize,
    len: usize,
    stride: usize,
) -> Result<(), KernelError> {
    let (row_len, rows) = format.plane_size(plane, width, height);
    if stride < row_len {
        return Err(KernelError::StrideTooSmall {
            format,
            plane,
            stride,
            row_len,
        });
    }
    let needed = stride
        .checked_mul(rows - 1)
        .and_then(|n| n.checked_add(row_len))
        .ok_or(KernelError::TooLarge { width, height })?;
    if len < needed {
        return Err(KernelError::PlaneTooShort {
            format,
            plane,
            len,
            needed,
        });
    }
    Ok(())
}

/// One plane of a borrowed frame: `rows` rows of `row_len` samples, `stride` apart.
#[derive(Debug, Clone, Copy)]
pub struct Plane<'a, T> {
    data: &'a [T],
    stride: usize,
    row_len: usize,
    rows: usize,
}

impl<'a, T: ChannelType> Plane<'a, T> {
    /// A tight plane over a scratch buffer of `rows` rows of `row_len` samples.
    pub(crate) fn tight(data: &'a [T], row_len: usize, rows: usize) -> Self {
        assert!(data.len() >= row_len * rows && row_len > 0 && rows > 0);
        Plane {
            data,
            stride: row_len,
            row_len,
            rows,
        }
    }

    /// Row `y` (`row_len` samples).
    ///
    /// # Panics
    /// If `y >= self.rows()`.
    pub fn row(&self, y: usize) -> &'a [T] {
        assert!(y < self.rows, "row {y} of a plane with {} rows", self.rows);
        &self.data[y * self.stride..y * self.stride + self.row_len]
    }

    /// All rows, top to bottom.
    pub fn rows_iter(&self) -> impl Iterator<Item = &'a [T]> + 'a {
        let (stride, row_len, data) = (self.stride, self.row_len, self.data);
        (0..self.rows).map(move |y| &data[y * stride..y * stride + row_len])
    }

    /// Samples between the starts of two rows.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Samples per row.
    pub fn row_len(&self) -> usize {
        self.row_len
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The underlying samples (from the first row's start; padding included).
    pub fn data(&self) -> &'a [T] {
        self.data
    }

    /// The rows in parallel with their index, in bands of at least `min_rows` rows.
    pub(crate) fn par_rows(&self, min_rows: usize) -> impl IndexedParallelIterator<Item = &'a [T]> {
        let row_len = self.row_len;
        // The last row may stop short of a full stride, so chunk a slice that does too.
        let end = (self.rows - 1) * self.stride + row_len;
        self.data[..end]
            .par_chunks(self.stride)
            .with_min_len(min_rows.max(1))
            .map(move |r| &r[..row_len])
    }
}

/// One plane of a mutably borrowed frame.
#[derive(Debug)]
pub struct PlaneMut<'a, T> {
    data: &'a mut [T],
    stride: usize,
    row_len: usize,
    rows: usize,
}

impl<'a, T: ChannelType> PlaneMut<'a, T> {
    /// A tight plane over a scratch buffer of `rows` rows of `row_len` samples.
    pub(crate) fn tight(data: &'a mut [T], row_len: usize, rows: usize) -> Self {
        assert!(data.len() >= row_len * rows && row_len > 0 && rows > 0);
        PlaneMut {
            data,
            stride: row_len,
            row_len,
            rows,
        }
    }

    /// Row `y`.
    ///
    /// # Panics
    /// If `y >= self.rows()`.
    pub fn row_mut(&mut self, y: usize) -> &mut [T] {
        assert!(y < self.rows, "row {y} of a plane with {} rows", self.rows);
        &mut self.data[y * self.stride..y * self.stride + self.row_len]
    }

    /// Row `y`, read-only.
    ///
    /// # Panics
    /// If `y >= self.rows()`.
    pub fn row(&self, y: usize) -> &[T] {
        assert!(y < self.rows, "row {y} of a plane with {} rows", self.rows);
        &self.data[y * self.stride..y * self.stride + self.row_len]
    }

    /// A read-only view of this plane.
    pub fn as_plane(&self) -> Plane<'_, T> {
        Plane {
            data: self.data,
            stride: self.stride,
            row_len: self.row_len,
            rows: self.rows,
        }
    }

    /// Samples between the starts of two rows.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Samples per row.
    pub fn row_len(&self) -> usize {
        self.row_len
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The underlying samples (from the first row's start; padding included).
    pub fn data_mut(&mut self) -> &mut [T] {
        self.data
    }

    /// Rows `first..first + count` in parallel, each `row_len` long, in bands of at least
    /// `min_rows` rows.
    pub(crate) fn par_rows_mut(
        &mut self,
        first: usize,
        count: usize,
        min_rows: usize,
    ) -> impl IndexedParallelIterator<Item = &mut [T]> {
        let row_len = self.row_len;
        let (start, end) = if count == 0 {
            (0, 0)
        } else {
            (
                first * self.stride,
                (first + count - 1) * self.stride + row_len,
            )
        };
        let stride = self.stride.max(1);
        self.data[start..end]
            .par_chunks_mut(stride)
            .with_min_len(min_rows.max(1))
            .map(move |r| &mut r[..row_len])
    }
}

/// Rows per parallel task so that each task touches at least ~64 KiB: fewer, larger
/// tasks than one per row keep rayon's overhead out of the measurement.
pub(crate) fn band_rows(row_bytes: usize) -> usize {
    (64 * 1024 / row_bytes.max(1)).max(1)
}

/// Where an image placed with its top-left corner at (`x`, `y`) overlaps a frame: the
/// part the kernels that put one image on another ([`composite_over`],
/// [`copy_masked`](super::copy_masked)) work on; the rest lies outside the frame.
///
/// [`composite_over`]: super::composite_over
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Overlap {
    /// The frame's first overlapped row.
    pub(crate) first_row: usize,
    /// How many rows overlap.
    pub(crate) rows: usize,
    /// The image's row that lies on `first_row`.
    pub(crate) image_row: usize,
    /// The overlapped columns, in the frame's pixels.
    pub(crate) frame_cols: std::ops::Range<usize>,
    /// The same columns, in the image's pixels.
    pub(crate) image_cols: std::ops::Range<usize>,
}

impl Overlap {
    /// The overlap of a `image` (width, height) at (`x`, `y`) with a `frame` (width,
    /// height); `None` when they do not meet.
    pub(crate) fn of(frame: (u32, u32), image: (u32, u32), x: i32, y: i32) -> Option<Overlap> {
        let (fw, fh) = (frame.0 as i64, frame.1 as i64);
        let (iw, ih) = (image.0 as i64, image.1 as i64);
        let (x, y) = (x as i64, y as i64);
        let (x0, x1) = (x.max(0), (x + iw).min(fw));
        let (y0, y1) = (y.max(0), (y + ih).min(fh));
        (x0 < x1 && y0 < y1).then(|| Overlap {
            first_row: y0 as usize,
            rows: (y1 - y0) as usize,
            image_row: (y0 - y) as usize,
            frame_cols: x0 as usize..x1 as usize,
            image_cols: (x0 - x) as usize..(x1 - x) as usize,
        })
    }
}

/// The bytes of `cols` in a row of RGBA pixels.
pub(crate) fn rgba_bytes(cols: &std::ops::Range<usize>) -> std::ops::Range<usize> {
    cols.start * 4..cols.end * 4
}

/// Below this many bytes a kernel runs on the calling thread.
const SPLIT_MIN_BYTES: usize = 1 << 20;

/// Rows per parallel task for `rows` rows of `row_bytes`: [`band_rows`], or all of them
/// (one task, on the calling thread) when the work is under [`SPLIT_MIN_BYTES`].
/// Splitting a small region costs more than it saves, and a caller that draws frames in
/// parallel (the renderer) already has every core busy with frames of its own.
pub(crate) fn task_rows(row_bytes: usize, rows: usize) -> usize {
    if row_bytes.saturating_mul(rows) < SPLIT_MIN_BYTES {
        rows.max(1)
    } else {
        band_rows(row_bytes)
    }
}

/// A frame that owns its samples: all planes in one buffer, one after another.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame<T: ChannelType = u8> {
    format: PixelFormat,
    width: u32,
    height: u32,
    strides: [usize; 3],
    offsets: [usize; 3],
    data: Vec<T>,
}

impl<T: ChannelType> Frame<T> {
    /// A zeroed frame with tightly packed rows (stride = row length).
    ///
    /// ```
    /// use vidflow_kernels::{Frame, PixelFormat};
    /// let f = Frame::<u8>::new(PixelFormat::I420, 5, 3).unwrap();
    /// assert_eq!(f.as_slice().len(), 5 * 3 + 2 * (3 * 2));
    /// ```
    pub fn new(format: PixelFormat, width: u32, height: u32) -> Result<Self, KernelError> {
        check_shape::<T>(format, width, height)?;
        let strides: Vec<usize> = (0..format.plane_count())
            .map(|p| format.plane_size(p, width, height).0)
            .collect();
        Self::with_strides(format, width, height, &strides)
    }

    /// A zeroed frame whose plane `i` has rows `strides[i]` samples apart.
    pub fn with_strides(
        format: PixelFormat,
        width: u32,
        height: u32,
        strides: &[usize],
    ) -> Result<Self, KernelError> {
        check_shape::<T>(format, width, height)?;
        if strides.len() != format.plane_count() {
            return Err(KernelError::PlaneCount {
                format,
                expected: format.plane_count(),
                got: strides.len(),
            });
        }
        let mut offsets = [0; 3];
        let mut s = [0; 3];
        let mut total = 0usize;
        for (p, &stride) in strides.iter().enumerate() {
            let (row_len, rows) = format.plane_size(p, width, height);
            if stride < row_len {
                return Err(KernelError::StrideTooSmall {
                    format,
                    plane: p,
                    stride,
                    row_len,
                });
            }
            offsets[p] = total;
            s[p] = stride;
            total = stride
                .checked_mul(rows)
                .and_then(|n| n.checked_add(total))
                .ok_or(KernelError::TooLarge { width, height })?;
        }
        Ok(Frame {
            format,
            width,
            height,
            strides: s,
            offsets,
            data: vec![T::default(); total],
        })
    }

    /// Wraps tightly packed samples (planes one after another, as ffmpeg's rawvideo
    /// formats lay them out).
    pub fn from_vec(
        format: PixelFormat,
        width: u32,
        height: u32,
        data: Vec<T>,
    ) -> Result<Self, KernelError> {
        let mut f = Self::new(format, width, height)?;
        if data.len() != f.data.len() {
            return Err(KernelError::PlaneTooShort {
                format,
                plane: 0,
                len: data.len(),
                needed: f.data.len(),
            });
        }
        f.data = data;
        Ok(f)
    }

    /// Pixel format.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// All samples (planes one after another, padding included).
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }

    /// All samples, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// The buffer.
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }

    /// Plane `i`.
    ///
    /// # Panics
    /// If the format has no plane `i`.
    pub fn plane(&self, i: usize) -> Plane<'_, T> {
        let (row_len, rows) = self.format.plane_size(i, self.width, self.height);
        let start = self.offsets[i];
        Plane {
            data: &self.data[start..start + self.strides[i] * rows],
            stride: self.strides[i],
            row_len,
            rows,
        }
    }

    /// A borrowed read-only view.
    pub fn view(&self) -> FrameView<'_, T> {
        let mut planes = [Plane {
            data: &[][..],
            stride: 0,
            row_len: 0,
            rows: 0,
        }; 3];
        for (p, slot) in planes
            .iter_mut()
            .enumerate()
            .take(self.format.plane_count())
        {
            *slot = self.plane(p);
        }
        FrameView {
            format: self.format,
            width: self.width,
            height: self.height,
            planes,
        }
    }

    /// A borrowed mutable view.
    pub fn view_mut(&mut self) -> FrameViewMut<'_, T> {
        let (format, width, height) = (self.format, self.width, self.height);
        let mut planes: [PlaneMut<'_, T>; 3] = std::array::from_fn(|_| PlaneMut {
            data: &mut [][..],
            stride: 0,
            row_len: 0,
            rows: 0,
        });
        let mut rest: &mut [T] = &mut self.data;
        for (p, slot) in planes.iter_mut().enumerate().take(format.plane_count()) {
            let (row_len, rows) = format.plane_size(p, width, height);
            let (this, tail) = rest.split_at_mut(self.strides[p] * rows);
            *slot = PlaneMut {
                data: this,
                stride: self.strides[p],
                row_len,
                rows,
            };
            rest = tail;
        }
        FrameViewMut {
            format,
            width,
            height,
            planes,
        }
    }
}

/// A read-only frame borrowed from someone's buffers.
#[derive(Debug, Clone, Copy)]
pub struct FrameView<'a, T: ChannelType = u8> {
    format: PixelFormat,
    width: u32,
    height: u32,
    planes: [Plane<'a, T>; 3],
}

impl<'a, T: ChannelType> FrameView<'a, T> {
    /// Wraps `planes` (one `(samples, stride)` pair per plane of `format`), checking
    /// that every stride covers a row and every slice holds every row.
    ///
    /// ```
    /// use vidflow_kernels::{FrameView, PixelFormat};
    /// let pixels = vec![0u8; 10 * 3]; // 2x3 RGBA with 2 bytes of padding per row
    /// let v = FrameView::new(PixelFormat::Rgba8Premul, 2, 3, &[(&pixels[..], 10)]).unwrap();
    /// assert_eq!(v.plane(0).row(2).len(), 8);
    /// assert!(FrameView::new(PixelFormat::Rgba8Premul, 3, 3, &[(&pixels[..], 10)]).is_err());
    /// ```
    pub fn new(
        format: PixelFormat,
        width: u32,
        height: u32,
        planes: &[(&'a [T], usize)],
    ) -> Result<Self, KernelError> {
        check_shape::<T>(format, width, height)?;
        if planes.len() != format.plane_count() {
            return Err(KernelError::PlaneCount {
                format,
                expected: format.plane_count(),
                got: planes.len(),
            });
        }
        let mut out = [Plane {
            data: &[][..],
            stride: 0,
            row_len: 0,
            rows: 0,
        }; 3];
        for (p, &(data, stride)) in planes.iter().enumerate() {
            check_plane(format, width, height, p, data.len(), stride)?;
            let (row_len, rows) = format.plane_size(p, width, height);
            out[p] = Plane {
                data,
                stride,
                row_len,
                rows,
            };
        }
        Ok(FrameView {
            format,
            width,
            height,
            planes: out,
        })
    }

    /// Pixel format.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Plane `i`.
    ///
    /// # Panics
    /// If the format has no plane `i`.
    pub fn plane(&self, i: usize) -> Plane<'a, T> {
        assert!(
            i < self.format.plane_count(),
            "{:?} has no plane {i}",
            self.format
        );
        self.planes[i]
    }
}

impl<'a> FrameView<'a, u8> {
    /// Wraps a tightly packed premultiplied RGBA image.
    pub fn rgba(data: &'a [u8], width: u32, height: u32) -> Result<Self, KernelError> {
        Self::new(
            PixelFormat::Rgba8Premul,
            width,
            height,
            &[(data, width as usize * 4)],
        )
    }
}

/// A mutable frame borrowed from someone's buffers.
#[derive(Debug)]
pub struct FrameViewMut<'a, T: ChannelType = u8> {
    format: PixelFormat,
    width: u32,
    height: u32,
    planes: [PlaneMut<'a, T>; 3],
}

impl<'a, T: ChannelType> FrameViewMut<'a, T> {
    /// Wraps `planes` (one `(samples, stride)` pair per plane of `format`); see
    /// [`FrameView::new`].
    pub fn new(
        format: PixelFormat,
        width: u32,
        height: u32,
        planes: Vec<(&'a mut [T], usize)>,
    ) -> Result<Self, KernelError> {
        check_shape::<T>(format, width, height)?;
        if planes.len() != format.plane_count() {
            return Err(KernelError::PlaneCount {
                format,
                expected: format.plane_count(),
                got: planes.len(),
            });
        }
        let mut out: [PlaneMut<'a, T>; 3] = std::array::from_fn(|_| PlaneMut {
            data: &mut [][..],
            stride: 0,
            row_len: 0,
            rows: 0,
        });
        for (p, (data, stride)) in planes.into_iter().enumerate() {
            check_plane(format, width, height, p, data.len(), stride)?;
            let (row_len, rows) = format.plane_size(p, width, height);
            out[p] = PlaneMut {
                data,
                stride,
                row_len,
                rows,
            };
        }
        Ok(FrameViewMut {
            format,
            width,
            height,
            planes: out,
        })
    }

    /// Pixel format.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Plane `i`, mutable.
    ///
    /// # Panics
    /// If the format has no plane `i`.
    pub fn plane_mut(&mut self, i: usize) -> &mut PlaneMut<'a, T> {
        assert!(
            i < self.format.plane_count(),
            "{:?} has no plane {i}",
            self.format
        );
        &mut self.planes[i]
    }

    /// All planes of the format, mutable, at once.
    pub fn planes_mut(&mut self) -> &mut [PlaneMut<'a, T>] {
        let n = self.format.plane_count();
        &mut self.planes[..n]
    }

    /// A read-only view of the same samples.
    pub fn as_view(&self) -> FrameView<'_, T> {
        let mut planes = [Plane {
            data: &[][..],
            stride: 0,
            row_len: 0,
            rows: 0,
        }; 3];
        for (p, slot) in planes
            .iter_mut()
            .enumerate()
            .take(self.format.plane_count())
        {
            *slot = self.planes[p].as_plane();
        }
        FrameView {
            format: self.format,
            width: self.width,
            height: self.height,
            planes,
        }
    }
}

impl<'a> FrameViewMut<'a, u8> {
    /// Wraps a tightly packed premultiplied RGBA image.
    pub fn rgba(data: &'a mut [u8], width: u32, height: u32) -> Result<Self, KernelError> {
        Self::new(
            PixelFormat::Rgba8Premul,
            width,
            height,
            vec![(data, width as usize * 4)],
        )
    }
}

/// Fails unless `format` is `expected`.
pub(crate) fn expect_format(
    kernel: &'static str,
    expected: PixelFormat,
    got: PixelFormat,
) -> Result<(), KernelError> {
    if expected == got {
        Ok(())
    } else {
        Err(KernelError::FormatMismatch {
            kernel,
            expected,
            got,
        })
    }
}

/// Fails unless the two frames have the same size.
pub(crate) fn expect_same_size(
    kernel: &'static str,
    src: (u32, u32),
    dst: (u32, u32),
) -> Result<(), KernelError> {
    if src == dst {
        Ok(())
    } else {
        Err(KernelError::SizeMismatch {
            kernel,
            src_width: src.0,
            src_height: src.1,
            dst_width: dst.0,
            dst_height: dst.1,
        })
    }
}
