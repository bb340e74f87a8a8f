//! Pre-rendered layers and the blits that place them.
//!
//! Filling the figures' large gradient shapes costs several milliseconds a frame, but those
//! shapes only ever move rigidly (the head sways, tilts and bobs; the shoulders breathe). So
//! each run of shapes that moves together is rendered once per output size into a layer, and
//! a frame composites the layers under that frame's motion. A still pose composites with
//! whole-pixel offsets, which is an exact copy.

use tiny_skia::{FillRule, IntRect, Mask, Pixmap, PixmapMut, Rect, Transform};
use vidflow_kernels::{Affine, FrameView, FrameViewMut, PackedLayer, affine_over, composite_over};

use crate::draw::Draw;

/// A pre-rendered run of drawing steps, placed at `(x, y)` in the output at rest.
pub(crate) struct Layer {
    pub x: i32,
    pub y: i32,
    pub pixmap: Pixmap,
    /// The same pixels as little-endian `u32`s (R in the low byte), for the resampler.
    packed: Vec<u32>,
    /// Per row, the columns `[first, end)` holding every non-transparent pixel (`first >=
    /// end` for a clear row), so the resampler can skip the clear margins of a layer.
    spans: Vec<(i32, i32)>,
}

/// Renders `draws` (figure units, placed by `base`) into a layer just large enough for them,
/// clipped to `limit` (output pixels). `clip` (figure units) bounds the `Clipped` steps.
pub(crate) fn rasterize<'a>(
    draws: impl Iterator<Item = &'a Draw> + Clone,
    clip: Option<&tiny_skia::Path>,
    base: Transform,
    limit: IntRect,
) -> Option<Layer> {
    let bounds = draws
        .clone()
        .map(Draw::bounds)
        .reduce(|a, b| a.join(&b).unwrap_or(a))?;
    // Two pixels of margin keep anti-aliased edges and bilinear sampling inside the layer.
    let area = bounds
        .transform(base)?
        .round_out()?
        .make_outset(2, 2)?
        .intersect(&limit)?;
    let mut pixmap = Pixmap::new(area.width(), area.height())?;
    let ts = Transform::from_translate(-area.x() as f32, -area.y() as f32).pre_concat(base);
    let mask = clip.and_then(|c| {
        let mut m = Mask::new(area.width(), area.height())?;
        m.fill_path(c, FillRule::Winding, true, ts);
        Some(m)
    });
    for d in draws {
        match d {
            Draw::Fill(path, paint) => pixmap.fill_path(path, paint, FillRule::Winding, ts, None),
            Draw::Stroke(path, paint, stroke) => pixmap.stroke_path(path, paint, stroke, ts, None),
            Draw::Clipped(path, paint) => {
                if let Some(m) = &mask {
                    pixmap.fill_path(path, paint, FillRule::Winding, ts, Some(m));
                }
            }
        }
    }
    Some(Layer::new(area.x(), area.y(), pixmap))
}

impl Layer {
    /// A layer of `pixmap` placed at `(x, y)`; the pixmap should have a transparent border.
    pub fn new(x: i32, y: i32, pixmap: Pixmap) -> Layer {
        let (packed, spans) = PackedLayer::pack(pixmap.data(), pixmap.width());
        Layer {
            x,
            y,
            pixmap,
            packed,
            spans,
        }
    }

    /// A layer of an image that may be opaque up to its edges (a sprite), given the
    /// transparent one-pixel border the resampler expects.
    pub fn bordered(x: i32, y: i32, image: &Pixmap) -> Option<Layer> {
        let mut pixmap = Pixmap::new(image.width() + 2, image.height() + 2)?;
        let (w, iw) = (pixmap.width() as usize * 4, image.width() as usize * 4);
        let data = pixmap.data_mut();
        for (row, src) in image.data().chunks_exact(iw).enumerate() {
            let at = (row + 1) * w + 4;
            data[at..at + iw].copy_from_slice(src);
        }
        Some(Layer::new(x - 1, y - 1, pixmap))
    }
}

/// Composites `layer` over `dst`, moved by `motion` (output pixels).
pub(crate) fn blit(dst: &mut PixmapMut<'_>, layer: &Layer, motion: Transform) {
    let (tx, ty) = (motion.tx, motion.ty);
    if !motion.has_scale() && !motion.has_skew() && tx.round() == tx && ty.round() == ty {
        over(dst, layer, layer.x + tx as i32, layer.y + ty as i32);
    } else {
        resample_over(dst, layer, motion);
    }
}

/// Bilinear resampling of `layer` under `motion`, composited source-over by the kernel
/// family's [`affine_over`].
///
/// tiny-skia can do this with a pattern fill, but its high-precision pipeline costs about ten
/// times more; 8-bit weights are plenty for idle motion of a few pixels and degrees.
fn resample_over(dst: &mut PixmapMut<'_>, layer: &Layer, motion: Transform) {
    // Layer pixel (i, j) sits at output (layer.x + i, layer.y + j) before motion.
    let placed = motion.pre_translate(layer.x as f32, layer.y as f32);
    let Some(inv) = placed.invert() else {
        return;
    };
    let (sw, sh) = (layer.pixmap.width(), layer.pixmap.height());
    let Some(area) = Rect::from_xywh(0.0, 0.0, sw as f32, sh as f32)
        .and_then(|r| r.transform(placed))
        .and_then(|r| r.round_out())
        .and_then(|r| r.intersect(&IntRect::from_xywh(0, 0, dst.width(), dst.height())?))
    else {
        return;
    };
    let (w, h) = (dst.width(), dst.height());
    let Ok(mut frame) = FrameViewMut::rgba(dst.data_mut(), w, h) else {
        return;
    };
    let packed = PackedLayer {
        pixels: &layer.packed,
        width: sw,
        height: sh,
        spans: &layer.spans,
    };
    let inverse = Affine {
        sx: inv.sx,
        ky: inv.ky,
        kx: inv.kx,
        sy: inv.sy,
        tx: inv.tx,
        ty: inv.ty,
    };
    let area = [area.left(), area.top(), area.right(), area.bottom()];
    // The layer's pixels and spans were made for its size: the kernel cannot refuse them.
    let _ = affine_over(&mut frame, &packed, inverse, area);
}

/// Premultiplied source-over at a whole-pixel offset (the kernel family's
/// [`composite_over`]): exact, and much faster than a pattern fill for the common still
/// frame.
fn over(dst: &mut PixmapMut<'_>, layer: &Layer, x: i32, y: i32) {
    let (w, h) = (dst.width(), dst.height());
    let (sw, sh) = (layer.pixmap.width(), layer.pixmap.height());
    let (Ok(mut frame), Ok(src)) = (
        FrameViewMut::rgba(dst.data_mut(), w, h),
        FrameView::rgba(layer.pixmap.data(), sw, sh),
    ) else {
        return;
    };
    // Both are premultiplied RGBA of their own size: the kernel cannot refuse them.
    let _ = composite_over(&mut frame, &src, x, y, 255);
}

/// The output area layers may cover: the frame plus a margin for motion to bring in.
pub(crate) fn limit(width: u32, height: u32) -> IntRect {
    let mx = (width / 8).max(4) as i32;
    let my = (height / 8).max(4) as i32;
    IntRect::from_xywh(-mx, -my, width + 2 * mx as u32, height + 2 * my as u32)
        .expect("positive size")
}

/// Union of rectangles, for region queries.
pub(crate) fn union(rects: impl Iterator<Item = Rect>) -> Option<Rect> {
    rects.reduce(|a, b| a.join(&b).unwrap_or(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(a * (256 - f) + b * f) >> 8` on each channel of packed pixels.
    fn lerp(a: u32, b: u32, f: u32) -> u32 {
        (0..4).fold(0, |out, c| {
            let (x, y) = ((a >> (8 * c)) & 0xff, (b >> (8 * c)) & 0xff);
            out | (((x * (256 - f) + y * f) >> 8) << (8 * c))
        })
    }

    /// `round(p * k / 255)` on each channel of a packed pixel.
    fn scale(p: u32, k: u32) -> u32 {
        (0..4).fold(0, |out, c| {
            let x = (p >> (8 * c)) & 0xff;
            out | ((((x * k) as f64 / 255.0).round() as u32) << (8 * c))
        })
    }

    /// The resampler before it learned to skip clear columns: every column of every row.
    fn reference_resample_over(dst: &mut Pixmap, layer: &Layer, motion: Transform) {
        // Layer pixel (i, j) sits at output (layer.x + i, layer.y + j) before motion.
        let placed = motion.pre_translate(layer.x as f32, layer.y as f32);
        let Some(inv) = placed.invert() else {
            return;
        };
        let (sw, sh) = (layer.pixmap.width() as i32, layer.pixmap.height() as i32);
        let Some(area) = Rect::from_xywh(0.0, 0.0, sw as f32, sh as f32)
            .and_then(|r| r.transform(placed))
            .and_then(|r| r.round_out())
            .and_then(|r| r.intersect(&IntRect::from_xywh(0, 0, dst.width(), dst.height())?))
        else {
            return;
        };
        let dw = dst.width() as usize;
        let src = &layer.packed;
        let out = dst.data_mut();
        const ONE: f32 = 65536.0;
        // Source coordinates in 16.16 fixed point step linearly along a destination row.
        let (du, dv) = ((inv.sx * ONE) as i64, (inv.ky * ONE) as i64);
        let stride = sw as usize;
        for y in area.top()..area.bottom() {
            // Pixel centres map to pixel centres; the -0.5 puts sample (i, j) at i + 0.5.
            let cx = area.left() as f32 + 0.5;
            let cy = y as f32 + 0.5;
            let mut u = ((inv.sx * cx + inv.kx * cy + inv.tx - 0.5) * ONE) as i64;
            let mut v = ((inv.ky * cx + inv.sy * cy + inv.ty - 0.5) * ONE) as i64;
            let row = y as usize * dw;
            for x in area.left()..area.right() {
                let (ui, vi) = ((u >> 16) as i32, (v >> 16) as i32);
                // Layers carry a transparent margin, so skipping the outermost ring loses nothing.
                if ui >= 0 && vi >= 0 && ui < sw - 1 && vi < sh - 1 {
                    let i = vi as usize * stride + ui as usize;
                    let (p00, p10) = (src[i], src[i + 1]);
                    let (p01, p11) = (src[i + stride], src[i + stride + 1]);
                    if (p00 | p10 | p01 | p11) != 0 {
                        let fu = ((u >> 8) & 0xff) as u32;
                        let fv = ((v >> 8) & 0xff) as u32;
                        let s = lerp(lerp(p00, p10, fu), lerp(p01, p11, fu), fv);
                        let d = (row + x as usize) * 4;
                        let px = &mut out[d..d + 4];
                        let sa = s >> 24;
                        let result = if sa == 255 {
                            s
                        } else {
                            let dp = u32::from_le_bytes([px[0], px[1], px[2], px[3]]);
                            s + scale(dp, 255 - sa)
                        };
                        px.copy_from_slice(&result.to_le_bytes());
                    }
                }
                u += du;
                v += dv;
            }
        }
    }

    #[test]
    fn vector_rows_match_the_scalar_reference_over_translucent_backgrounds() {
        // Varied premultiplied pixels (clear, partial, opaque) and a translucent, varied
        // background, under motions whose rows span many 8-column steps and both edges.
        let (w, h) = (97u32, 53u32);
        let mut pm = Pixmap::new(w, h).unwrap();
        let mut seed = 12345u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for (i, px) in pm.data_mut().chunks_exact_mut(4).enumerate() {
            let (x, y) = (i as u32 % w, i as u32 / w);
            let edge = x == 0 || y == 0 || x == w - 1 || y == h - 1;
            let a = match next() % 3 {
                _ if edge => 0,
                0 => 0,
                1 => 255,
                _ => (next() % 256) as u8,
            };
            for c in &mut px[..3] {
                *c = ((next() % 256) * a as u32 / 255) as u8;
            }
            px[3] = a;
        }
        let layer = Layer::new(3, 4, pm);
        for (deg, tx, ty, s) in [
            (0.0, 0.37, -0.71, 1.0),
            (1.7, -1.2, 0.4, 1.013),
            (-3.3, 2.6, -1.9, 0.987),
            (12.0, -30.0, 5.0, 1.2),
            (-45.0, 40.0, 60.0, 0.8),
        ] {
            let motion = Transform::from_translate(tx, ty)
                .pre_concat(Transform::from_rotate_at(deg, 50.0, 30.0))
                .pre_scale(s, s);
            let mut got = Pixmap::new(130, 90).unwrap();
            for (i, px) in got.data_mut().chunks_exact_mut(4).enumerate() {
                let a = (i * 7 % 256) as u8;
                px.copy_from_slice(&[a / 2, a / 3, a, a]);
            }
            let mut want = got.clone();
            resample_over(&mut got.as_mut(), &layer, motion);
            reference_resample_over(&mut want, &layer, motion);
            assert_eq!(got.data(), want.data(), "rotation {deg}, scale {s}");
        }
    }

    #[test]
    fn skipping_clear_columns_draws_the_same_pixels() {
        // A layer with clear margins, a clear row and an off-centre blob.
        let mut pm = Pixmap::new(60, 40).unwrap();
        let mut paint = tiny_skia::Paint::default();
        paint.set_color_rgba8(200, 90, 40, 230);
        paint.anti_alias = true;
        let circle = tiny_skia::PathBuilder::from_circle(38.0, 22.0, 11.0).unwrap();
        pm.fill_path(
            &circle,
            &paint,
            FillRule::Winding,
            Transform::identity(),
            None,
        );
        let layer = Layer::new(7, 5, pm);
        for (deg, tx, ty, s) in [
            (0.0, 0.3, -0.7, 1.0),
            (2.5, 1.2, 0.4, 1.01),
            (-4.0, -2.6, 1.9, 0.99),
            (30.0, 3.0, -3.0, 1.0),
            (170.0, 60.0, 40.0, 1.0),
        ] {
            let motion = Transform::from_translate(tx, ty)
                .pre_concat(Transform::from_rotate_at(deg, 35.0, 30.0))
                .pre_scale(s, s);
            let mut got = Pixmap::new(80, 60).unwrap();
            got.fill(tiny_skia::Color::from_rgba8(10, 20, 30, 255));
            let mut want = got.clone();
            resample_over(&mut got.as_mut(), &layer, motion);
            reference_resample_over(&mut want, &layer, motion);
            assert_eq!(got.data(), want.data(), "rotation {deg}");
            assert_ne!(got.data(), Pixmap::new(80, 60).unwrap().data());
        }
    }
}
