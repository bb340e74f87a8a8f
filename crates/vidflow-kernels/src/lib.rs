//! Native frame kernels: compiled, parallel (rayon over rows or tiles) and vectorised
//! loops over [`Frame`]s, usable on their own.
//!
//! | kernel | function |
//! |---|---|
//! | per-channel gain, u8 saturating and f32 | [`gain_u8`], [`gain_u8_in_place`], [`gain_f32`], [`gain_f32_in_place`] |
//! | premultiplied RGBA layer over a frame at an offset, with opacity or through a coverage mask | [`composite_over`], [`composite_over_masked`] |
//! | premultiplied RGBA layer over a frame under an affine map, bilinear (the presenter's motion) | [`affine_over`] |
//! | two frames mixed by a weight, or an image copied through a coverage mask | [`crossfade`], [`copy_masked`] |
//! | RGBA ↔ I420, BT.601/BT.709, limited/full range | [`rgba_to_i420`], [`i420_to_rgba`] |
//! | resize, bilinear and Lanczos3 | [`resize`] |
//! | fill, linear gradient | [`fill`], [`linear_gradient`] |
//! | box and Gaussian blur (separable) | [`box_blur`], [`gaussian_blur`] |
//! | Ken Burns crop-and-scale sampler | [`ken_burns`] |
//!
//! Integer kernels define their rounding exactly (see each function), so a plain scalar
//! loop reproduces them bit for bit; the tests hold them to that. Hot loops are written so
//! that the compiler vectorises them, and are compiled twice — for the baseline CPU and
//! for AVX2 — with the AVX2 copy picked at run time when the CPU has it; compositing
//! also has hand-written AVX2. On aarch64 NEON is part of the baseline, so the baseline
//! copy is already vectorised with it.
//!
//! ```
//! use vidflow_kernels::{self as kernels, Frame, PixelFormat};
//!
//! let mut frame = Frame::<u8>::new(PixelFormat::Rgba8Premul, 64, 36)?;
//! kernels::fill(&mut frame.view_mut(), [200, 100, 50, 255])?;
//! kernels::gain_u8_in_place(&mut frame.view_mut(), &[0.5, 1.0, 2.0, 1.0])?;
//! assert_eq!(&frame.as_slice()[..4], &[100, 100, 100, 255]);
//! # Ok::<(), kernels::KernelError>(())
//! ```

mod affine;
pub mod bench;
mod blur;
mod composite;
mod convert;
mod fill;
mod frame;
mod gain;
mod kenburns;
mod mix;
mod resize;

pub use affine::{Affine, PackedLayer, affine_over};
pub use blur::{box_blur, gaussian_blur, gaussian_weights};
pub use composite::over_pixel;
pub use composite::{composite_over, composite_over_masked};
pub use convert::{ColorSpace, YuvMatrix, YuvRange, i420_to_rgba, rgba_to_i420};
pub use fill::{fill, gradient_weights, linear_gradient};
pub use frame::{
    ChannelType, Frame, FrameView, FrameViewMut, MAX_SIDE, PixelFormat, Plane, PlaneMut,
};
pub use gain::{gain_f32, gain_f32_in_place, gain_to_q8, gain_u8, gain_u8_in_place};
pub use kenburns::{SourceWindow, ken_burns};
pub use mix::{copy_masked, crossfade};
pub use resize::{ResizeFilter, resize};

/// Why a kernel refused its input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KernelError {
    /// A frame with no pixels.
    #[error("{format:?} frame of {width}x{height} is empty: width and height must be at least 1")]
    Empty {
        /// The frame's format.
        format: PixelFormat,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
    },
    /// A side longer than [`MAX_SIDE`].
    #[error("frame of {width}x{height} is too large: each side must be at most {MAX_SIDE}")]
    TooLarge {
        /// The frame's width.
        width: u32,
        /// Its height.
        height: u32,
    },
    /// The channel type does not match the format.
    #[error("{format:?} frames hold {expected} channels, not {got}")]
    ChannelTypeMismatch {
        /// The frame's format.
        format: PixelFormat,
        /// The channel type the format stores.
        expected: &'static str,
        /// The channel type given.
        got: &'static str,
    },
    /// Wrong number of planes for the format.
    #[error("{format:?} frames have {expected} planes, got {got}")]
    PlaneCount {
        /// The frame's format.
        format: PixelFormat,
        /// Planes the format has.
        expected: usize,
        /// Planes given.
        got: usize,
    },
    /// A stride shorter than a row.
    #[error(
        "{format:?} plane {plane}: stride of {stride} samples is shorter than a row of {row_len}"
    )]
    StrideTooSmall {
        /// The frame's format.
        format: PixelFormat,
        /// Which plane.
        plane: usize,
        /// The stride given.
        stride: usize,
        /// Samples in one row.
        row_len: usize,
    },
    /// A plane's buffer that does not hold all its rows.
    #[error("{format:?} plane {plane}: buffer of {len} samples is too short, it needs {needed}")]
    PlaneTooShort {
        /// The frame's format.
        format: PixelFormat,
        /// Which plane.
        plane: usize,
        /// Samples given.
        len: usize,
        /// Samples needed.
        needed: usize,
    },
    /// A kernel given a frame of a format it does not handle.
    #[error("{kernel}: expected a {expected:?} frame, got {got:?}")]
    FormatMismatch {
        /// The kernel.
        kernel: &'static str,
        /// The format it needs.
        expected: PixelFormat,
        /// The format given.
        got: PixelFormat,
    },
    /// Source and destination sizes that must match but do not.
    #[error(
        "{kernel}: source is {src_width}x{src_height} but destination is {dst_width}x{dst_height}; they must match"
    )]
    SizeMismatch {
        /// The kernel.
        kernel: &'static str,
        /// Source width.
        src_width: u32,
        /// Source height.
        src_height: u32,
        /// Destination width.
        dst_width: u32,
        /// Destination height.
        dst_height: u32,
    },
    /// A parameter out of its range (a gain, a radius, a window...).
    #[error("{kernel}: {reason}")]
    BadParameter {
        /// The kernel.
        kernel: &'static str,
        /// What is wrong, and what is allowed.
        reason: String,
    },
    /// The library underneath refused (sizes are checked first, so this is unexpected).
    #[error("{kernel}: {reason}")]
    Backend {
        /// The kernel.
        kernel: &'static str,
        /// The library's message.
        reason: String,
    },
}

/// Defines `fn $name(args) -> ret` that runs `$portable` (an `#[inline(always)]` function
/// with the same arguments) compiled for AVX2 when the CPU has it, and as compiled for the
/// baseline otherwise. The AVX2 copy is the same source, so both give identical results.
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? => $portable:path) => {
        $(#[$m])* $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $portable($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2, checked just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $portable($($arg),*)
        }
    };
}
pub(crate) use multiversion;

/// `round(v / 255)` for `v <= 255 * 255`, exactly, without a division: the rounding of
/// every integer blend here (compositing, mixing, fills) and in the renderer.
///
/// In `u16` as well as `u32`: no step passes 65 535 for `v` in range, and a loop in
/// 16-bit lanes vectorises twice as wide.
#[inline(always)]
pub fn div255<T>(v: T) -> T
where
    T: Copy + From<u8> + std::ops::Add<Output = T> + std::ops::Shr<u32, Output = T>,
{
    let v = v + T::from(128);
    (v + (v >> 8)) >> 8
}

#[cfg(test)]
mod tests {
    use super::div255;

    #[test]
    fn div255_is_exact_in_both_widths() {
        for v in 0..=(255u32 * 255) {
            let want = (v as f64 / 255.0).round() as u32;
            assert_eq!(div255(v), want, "{v}");
            assert_eq!(div255(v as u16) as u32, want, "{v} in u16");
        }
    }
}
