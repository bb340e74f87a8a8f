//! Mixing two images: by one weight (a crossfade) or by a coverage mask (copying through
//! an anti-aliased shape).
//!
//! Both compute, per sample, `div255(a * (255 - w) + b * w)` with `div255(v) = round(v /
//! 255)`: weight 0 gives `a` and 255 gives `b` exactly.

use rayon::prelude::*;

use super::frame::{
    FrameView, FrameViewMut, Overlap, PixelFormat, expect_format, expect_same_size, rgba_bytes,
    task_rows,
};
use super::{KernelError, div255, multiversion};

/// `a` mixed towards `b` by `w / 255`, in 16-bit lanes (twice as many per vector as 32).
#[inline(always)]
fn mix(a: u8, b: u8, w: u16) -> u8 {
    div255(a as u16 * (255 - w) + b as u16 * w) as u8
}

#[inline(always)]
fn crossfade_row_portable(from: &[u8], to: &[u8], out: &mut [u8], weight: u16) {
    for ((o, &a), &b) in out.iter_mut().zip(from).zip(to) {
        *o = mix(a, b, weight);
    }
}

multiversion!(fn crossfade_row(from: &[u8], to: &[u8], out: &mut [u8], weight: u16) => crossfade_row_portable);

/// Writes `from` crossfaded towards `to` by `weight / 255` into `dst`: per sample,
/// `div255(from * (255 - weight) + to * weight)`. All three frames have one format (any
/// u8 one) and one size; rows are mixed in parallel on the current rayon pool.
///
/// ```
/// use vidflow_kernels::{self as kernels, Frame, PixelFormat};
/// let from = Frame::<u8>::from_vec(PixelFormat::Rgba8Premul, 1, 1, vec![0, 100, 200, 255])?;
/// let to = Frame::<u8>::from_vec(PixelFormat::Rgba8Premul, 1, 1, vec![255, 100, 0, 255])?;
/// let mut out = Frame::<u8>::new(PixelFormat::Rgba8Premul, 1, 1)?;
/// kernels::crossfade(&from.view(), &to.view(), &mut out.view_mut(), 51)?;
/// assert_eq!(out.as_slice(), &[51, 100, 160, 255]);
/// # Ok::<(), kernels::KernelError>(())
/// ```
pub fn crossfade(
    from: &FrameView<'_, u8>,
    to: &FrameView<'_, u8>,
    dst: &mut FrameViewMut<'_, u8>,
    weight: u8,
) -> Result<(), KernelError> {
    const K: &str = "crossfade";
    let format = dst.format();
    expect_format(K, format, from.format())?;
    expect_format(K, format, to.format())?;
    let size = (dst.width(), dst.height());
    expect_same_size(K, (from.width(), from.height()), size)?;
    expect_same_size(K, (to.width(), to.height()), size)?;
    for p in 0..format.plane_count() {
        let (a, b) = (from.plane(p), to.plane(p));
        let out = dst.plane_mut(p);
        let rows = out.rows();
        let band = task_rows(out.row_len(), rows);
        out.par_rows_mut(0, rows, band)
            .enumerate()
            .for_each(|(y, row)| crossfade_row(a.row(y), b.row(y), row, weight as u16));
    }
    Ok(())
}

/// Two channels of packed pixels (R and B, or G and A, in 16-bit lanes of a `u32`) of
/// `s` and `d` mixed as [`mix`] does; no lane overflows (255·255 + 128 + 254 < 65 536).
#[inline(always)]
fn mix_packed(s: u32, ks: u32, d: u32, kd: u32) -> u32 {
    let mut rb = (s & 0x00ff_00ff) * ks + (d & 0x00ff_00ff) * kd + 0x0080_0080;
    rb = ((rb + ((rb >> 8) & 0x00ff_00ff)) >> 8) & 0x00ff_00ff;
    let mut ag = ((s >> 8) & 0x00ff_00ff) * ks + ((d >> 8) & 0x00ff_00ff) * kd + 0x0080_0080;
    ag = (ag + ((ag >> 8) & 0x00ff_00ff)) & 0xff00_ff00;
    rb | ag
}

/// One row of [`copy_masked`]: whole rows inside or outside the shape are copied or
/// skipped, and within a row so are pixels of coverage 255 or 0 (most of an
/// anti-aliased shape); the rest are mixed two channels at a time.
fn copy_masked_row(src: &[u8], mask: &[u8], dst: &mut [u8]) {
    if mask.iter().all(|&m| m == 255) {
        dst.copy_from_slice(src);
        return;
    }
    if mask.iter().all(|&m| m == 0) {
        return;
    }
    for ((d, s), &m) in dst.chunks_exact_mut(4).zip(src.chunks_exact(4)).zip(mask) {
        match m {
            0 => {}
            255 => d.copy_from_slice(s),
            m => {
                let dp = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
                let sp = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                let v = mix_packed(sp, m as u32, dp, 255 - m as u32);
                d.copy_from_slice(&v.to_le_bytes());
            }
        }
    }
}

/// Copies `src` (premultiplied RGBA) into `dst` through `mask` (a
/// [`PixelFormat::Coverage8`] frame of `src`'s size), with `src`'s top-left corner at
/// (`x`, `y`) (the part outside `dst` is skipped): per channel, alpha included,
/// `out = div255(d * (255 - m) + s * m)` for the pixel's coverage `m`.
///
/// This puts an opaque picture into a rounded panel, or a presenter drawn over its
/// background back into the rounded card, with anti-aliased edges.
///
/// ```
/// use vidflow_kernels::{self as kernels, Frame, PixelFormat};
/// let mut frame = Frame::<u8>::from_vec(PixelFormat::Rgba8Premul, 2, 1, vec![0, 0, 200, 255, 0, 0, 200, 255])?;
/// let picture = Frame::<u8>::from_vec(PixelFormat::Rgba8Premul, 1, 1, vec![255, 0, 0, 255])?;
/// let mask = Frame::<u8>::from_vec(PixelFormat::Coverage8, 1, 1, vec![51])?;
/// kernels::copy_masked(&mut frame.view_mut(), &picture.view(), &mask.view(), 1, 0)?;
/// assert_eq!(frame.as_slice(), &[0, 0, 200, 255, 51, 0, 160, 255]);
/// # Ok::<(), kernels::KernelError>(())
/// ```
pub fn copy_masked(
    dst: &mut FrameViewMut<'_, u8>,
    src: &FrameView<'_, u8>,
    mask: &FrameView<'_, u8>,
    x: i32,
    y: i32,
) -> Result<(), KernelError> {
    const K: &str = "copy_masked";
    expect_format(K, PixelFormat::Rgba8Premul, dst.format())?;
    expect_format(K, PixelFormat::Rgba8Premul, src.format())?;
    expect_format(K, PixelFormat::Coverage8, mask.format())?;
    expect_same_size(
        K,
        (src.width(), src.height()),
        (mask.width(), mask.height()),
    )?;
    let Some(o) = Overlap::of(
        (dst.width(), dst.height()),
        (src.width(), src.height()),
        x,
        y,
    ) else {
        return Ok(());
    };
    let (d_span, s_span) = (rgba_bytes(&o.frame_cols), rgba_bytes(&o.image_cols));
    let m_span = o.image_cols.clone();
    let (sp, mp) = (src.plane(0), mask.plane(0));
    let band = task_rows(d_span.len(), o.rows);
    dst.plane_mut(0)
        .par_rows_mut(o.first_row, o.rows, band)
        .enumerate()
        .for_each(|(i, drow)| {
            let sy = o.image_row + i;
            copy_masked_row(
                &sp.row(sy)[s_span.clone()],
                &mp.row(sy)[m_span.clone()],
                &mut drow[d_span.clone()],
            );
        });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_mix_equals_the_per_channel_mix() {
        let mut seed = 0x9e37_79b9u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for _ in 0..20_000 {
            let (s, d, m) = (next(), next(), next() % 256);
            let got = mix_packed(s, m, d, 255 - m).to_le_bytes();
            let (sb, db) = (s.to_le_bytes(), d.to_le_bytes());
            for c in 0..4 {
                assert_eq!(got[c], mix(db[c], sb[c], m as u16), "{s:08x} {d:08x} {m}");
            }
        }
    }
}
