//! Page images as slides show them: decoded once, and the slow pan and zoom (the Ken
//! Burns path) across them.
//!
//! Each image is decoded once, flattened onto an opaque backdrop and pre-scaled so that
//! at the tightest zoom one source pixel maps to about one panel pixel; per frame only a
//! panel-sized window is resampled ([`kernels::ken_burns`]), which keeps the per-frame
//! cost independent of how large the page's image was.

use std::io::Cursor;

use crate::kernels::{self, FrameView, FrameViewMut, ResizeFilter, SourceWindow, div255};

/// How much the window zooms over a slide (1.0 = the whole cover-fit image).
pub(crate) const MAX_ZOOM: f64 = 1.14;

/// A decoded, opaque, pre-scaled image.
#[derive(Debug, Clone)]
pub(crate) struct Picture {
    pub width: u32,
    pub height: u32,
    /// Opaque RGBA.
    pub rgba: Vec<u8>,
}

/// Largest image accepted, in pixels per side and decoded bytes; a page's image bigger
/// than this is skipped rather than allowed to exhaust memory.
const MAX_SIDE: u32 = 12_000;
const MAX_DECODED_BYTES: u64 = 256 * 1024 * 1024;

/// Decodes `bytes` (PNG, JPEG, GIF, WebP), flattens transparency onto `backdrop`, and
/// scales it down so it is no larger than needed to cover `panel` at [`MAX_ZOOM`].
/// Returns `None` for bytes that are not a usable image.
pub(crate) fn decode(bytes: &[u8], panel: (u32, u32), backdrop: [u8; 3]) -> Option<Picture> {
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(limits);
    let img = reader.decode().ok()?.into_rgba8();
    let (w, h) = img.dimensions();
    // Tiny images (tracking pixels, spacers, icons) make a blurry panel: treat as absent.
    if w < 16 || h < 16 {
        return None;
    }
    let mut rgba = img.into_raw();
    for px in rgba.chunks_exact_mut(4) {
        let a = px[3] as u32;
        if a < 255 {
            for k in 0..3 {
                px[k] = div255(px[k] as u32 * a + backdrop[k] as u32 * (255 - a)) as u8;
            }
            px[3] = 255;
        }
    }
    let (pw, ph) = (panel.0.max(1) as f64, panel.1.max(1) as f64);
    // Scale at which the image just covers the panel, times the deepest zoom.
    let cover = (pw / w as f64).max(ph / h as f64) * MAX_ZOOM;
    if cover >= 1.0 {
        return Some(Picture {
            width: w,
            height: h,
            rgba,
        });
    }
    let nw = ((w as f64 * cover).ceil() as u32).max(1);
    let nh = ((h as f64 * cover).ceil() as u32).max(1);
    let mut scaled = vec![0u8; nw as usize * nh as usize * 4];
    kernels::resize(
        &FrameView::rgba(&rgba, w, h).ok()?,
        &mut FrameViewMut::rgba(&mut scaled, nw, nh).ok()?,
        ResizeFilter::Lanczos3,
    )
    .ok()?;
    Some(Picture {
        width: nw,
        height: nh,
        rgba: scaled,
    })
}

/// The source window shown in a `panel`-sized box at
/// `progress` (0 at the slide's start, 1 at its end). Direction and zoom sense vary with
/// `seed` so consecutive slides do not all move alike.
pub(crate) fn window(pic: &Picture, panel: (u32, u32), progress: f64, seed: usize) -> SourceWindow {
    let (iw, ih) = (pic.width as f64, pic.height as f64);
    let aspect = panel.0.max(1) as f64 / panel.1.max(1) as f64;
    // The largest panel-shaped window inside the image.
    let (cw, ch) = if iw / ih > aspect {
        (ih * aspect, ih)
    } else {
        (iw, iw / aspect)
    };
    // Gentle ease in and out so the motion starts and ends without a jolt.
    let p = progress.clamp(0.0, 1.0);
    let e = 0.5 - 0.5 * (std::f64::consts::PI * p).cos();
    let zoom_in = seed.is_multiple_of(2);
    let z = if zoom_in {
        1.0 + (MAX_ZOOM - 1.0) * e
    } else {
        MAX_ZOOM - (MAX_ZOOM - 1.0) * e
    };
    let (ww, wh) = (cw / z, ch / z);
    // Pan between two anchor points (as fractions of the free travel).
    let anchors = [(0.2, 0.3), (0.8, 0.6), (0.3, 0.75), (0.7, 0.25), (0.5, 0.5)];
    let a = anchors[seed % anchors.len()];
    let b = anchors[(seed * 3 + 2) % anchors.len()];
    let fx = a.0 + (b.0 - a.0) * e;
    let fy = a.1 + (b.1 - a.1) * e;
    SourceWindow {
        x: (iw - ww) * fx,
        y: (ih - wh) * fy,
        width: ww,
        height: wh,
    }
}

/// Resamples `window` of `pic` into all of `dst` (opaque RGBA, strided or not). Returns
/// false, leaving `dst` as it was, if the window does not lie inside the picture (never
/// by construction; see [`render_window`]).
pub(crate) fn render_window_into(
    pic: &Picture,
    window: SourceWindow,
    dst: &mut FrameViewMut<'_, u8>,
) -> bool {
    FrameView::rgba(&pic.rgba, pic.width, pic.height)
        .is_ok_and(|src| kernels::ken_burns(&src, window, dst).is_ok())
}

/// Resamples `window` of `pic` into `out` (`panel.0 * panel.1 * 4` bytes, opaque RGBA).
pub(crate) fn render_window(
    pic: &Picture,
    window: SourceWindow,
    panel: (u32, u32),
    out: &mut Vec<u8>,
) {
    let (pw, ph) = panel;
    out.resize((pw * ph * 4) as usize, 0);
    let (Ok(src), Ok(mut dst)) = (
        FrameView::rgba(&pic.rgba, pic.width, pic.height),
        FrameViewMut::rgba(out, pw, ph),
    ) else {
        return;
    };
    // The window lies inside the picture by construction; were rounding ever to push it a
    // hair outside, the sampler refuses it and the panel keeps its previous pixels, as it
    // always has.
    let _ = kernels::ken_burns(&src, window, &mut dst);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_fn(w, h, |x, y| {
            image::Rgba([
                (x % 256) as u8,
                (y % 256) as u8,
                90,
                if x < 4 { 0 } else { 255 },
            ])
        });
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn decodes_flattens_and_prescales() {
        let pic = decode(&png(2000, 1000), (400, 300), [10, 20, 30]).unwrap();
        // Covers 400x300 at MAX_ZOOM: height drives (300/1000), so about 342 px tall.
        assert!(pic.height >= 342 && pic.height <= 344, "{}", pic.height);
        assert!(pic.rgba.chunks_exact(4).all(|p| p[3] == 255));
        let small = decode(&png(100, 80), (400, 300), [10, 20, 30]).unwrap();
        assert_eq!((small.width, small.height), (100, 80));
        assert_eq!(&small.rgba[..4], &[10, 20, 30, 255]);
    }

    #[test]
    fn rejects_junk_and_truncated_images() {
        assert!(decode(b"not an image at all", (10, 10), [0; 3]).is_none());
        assert!(decode(&[], (10, 10), [0; 3]).is_none());
        let mut truncated = png(200, 200);
        truncated.truncate(truncated.len() / 2);
        assert!(decode(&truncated, (10, 10), [0; 3]).is_none());
        assert!(decode(&png(8, 8), (10, 10), [0; 3]).is_none());
    }

    #[test]
    fn window_stays_inside_and_moves() {
        let pic = Picture {
            width: 800,
            height: 500,
            rgba: vec![0; 800 * 500 * 4],
        };
        for seed in 0..6 {
            let mut prev = None;
            for i in 0..=10 {
                let SourceWindow {
                    x: l,
                    y: t,
                    width: w,
                    height: h,
                } = window(&pic, (300, 200), i as f64 / 10.0, seed);
                assert!(l >= 0.0 && t >= 0.0 && l + w <= 800.0 + 1e-9 && t + h <= 500.0 + 1e-9);
                assert!(((w / h) - 1.5).abs() < 1e-9);
                if let Some(p) = prev {
                    assert_ne!(p, (l, t, w, h));
                }
                prev = Some((l, t, w, h));
            }
        }
    }
}
