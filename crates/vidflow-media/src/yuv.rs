//! yuv420p (I420) frames as the encoder takes them: whole, or as a slide's shared static
//! layer with rectangles replaced; filled from RGBA by [`kernels::rgba_to_i420`] in
//! BT.709, limited range.
//!
//! Converting in Rust and piping yuv420p to ffmpeg is much cheaper than letting ffmpeg
//! convert RGB itself, and it lets the renderer convert only the parts of a frame that
//! changed (see [`convert_rect`]).

use vidflow_core::VideoSize;

use crate::kernels::{self, ColorSpace, FrameView, FrameViewMut, PixelFormat};

/// One yuv420p frame: the Y plane, then U, then V, tightly packed — the layout ffmpeg's
/// `-f rawvideo -pix_fmt yuv420p` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct I420Frame {
    /// Width in pixels (even).
    pub width: u32,
    /// Height in pixels (even).
    pub height: u32,
    /// Y (`width*height` bytes), then U and V (`width/2*height/2` bytes each).
    pub data: Vec<u8>,
}

impl I420Frame {
    /// A black-initialised (all zero) frame buffer of `size`.
    pub fn new(size: VideoSize) -> Self {
        I420Frame {
            width: size.width,
            height: size.height,
            data: vec![0; i420_len(size.width, size.height)],
        }
    }

    /// The raw bytes, ready for the encoder's stdin.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// The Y, U and V planes.
    pub fn planes(&self) -> (&[u8], &[u8], &[u8]) {
        let y_len = self.width as usize * self.height as usize;
        let c_len = chroma_len(self.width, self.height);
        let (y, rest) = self.data.split_at(y_len);
        let (u, v) = rest.split_at(c_len);
        (y, u, &v[..c_len])
    }

    /// Converts a tightly packed, opaque RGBA image to a new frame (BT.709, limited range).
    ///
    /// # Panics
    /// If `rgba` is shorter than `width * height * 4`, or a dimension is odd or zero.
    pub fn from_rgba(rgba: &[u8], width: u32, height: u32) -> I420Frame {
        let mut frame = I420Frame {
            width,
            height,
            data: Vec::new(),
        };
        frame.convert_from_rgba(rgba, width, height);
        frame
    }

    /// Converts a tightly packed, opaque RGBA image into this frame (BT.709, limited
    /// range), resizing it to `width` × `height` if needed.
    ///
    /// # Panics
    /// If `rgba` is shorter than `width * height * 4`, or a dimension is odd or zero.
    pub fn convert_from_rgba(&mut self, rgba: &[u8], width: u32, height: u32) {
        assert!(
            width.is_multiple_of(2) && height.is_multiple_of(2) && width > 0 && height > 0,
            "I420 conversion needs even, non-zero dimensions, got {width}x{height}"
        );
        assert!(
            rgba.len() >= width as usize * height as usize * 4,
            "I420 conversion: buffer of {} bytes is too small for {width}x{height}",
            rgba.len()
        );
        self.reshape(width, height);
        convert_rect(rgba, width, height, self, 0, 0);
    }

    /// Makes the buffer the right length for `width` × `height`.
    fn reshape(&mut self, width: u32, height: u32) {
        self.width = width;
        self.height = height;
        self.data.resize(i420_len(width, height), 0);
    }
}

fn chroma_len(width: u32, height: u32) -> usize {
    width.div_ceil(2) as usize * height.div_ceil(2) as usize
}

pub(crate) fn i420_len(width: u32, height: u32) -> usize {
    width as usize * height as usize + 2 * chroma_len(width, height)
}

/// Converts a `w` × `h` RGBA patch (tightly packed) into the I420 frame `out` at
/// (`x`, `y`). All four numbers must be even so that chroma blocks line up with the
/// whole-frame conversion, which makes the result identical to converting the whole
/// frame.
pub(crate) fn convert_rect(rgba: &[u8], w: u32, h: u32, out: &mut I420Frame, x: u32, y: u32) {
    debug_assert!(
        x.is_multiple_of(2) && y.is_multiple_of(2) && w.is_multiple_of(2) && h.is_multiple_of(2)
    );
    debug_assert!(x + w <= out.width && y + h <= out.height);
    let fw = out.width as usize;
    let y_len = fw * out.height as usize;
    let c_len = chroma_len(out.width, out.height);
    let cw = fw / 2;
    let (y_plane, rest) = out.data.split_at_mut(y_len);
    let (u_plane, v_plane) = rest.split_at_mut(c_len);
    let y_off = y as usize * fw + x as usize;
    let c_off = (y / 2) as usize * cw + (x / 2) as usize;
    to_yuv420(
        rgba,
        w,
        h,
        vec![
            (&mut y_plane[y_off..], fw),
            (&mut u_plane[c_off..], cw),
            (&mut v_plane[c_off..c_len], cw),
        ],
    );
}

/// Converts `w`x`h` RGBA (even sizes) into one tightly packed yuv420p block: Y, then U, V.
pub(crate) fn convert_block(rgba: &[u8], w: u32, h: u32, out: &mut [u8]) {
    let (wu, hu) = (w as usize, h as usize);
    let c_len = (wu / 2) * (hu / 2);
    let (y_plane, rest) = out.split_at_mut(wu * hu);
    let (u_plane, v_plane) = rest.split_at_mut(c_len);
    to_yuv420(
        rgba,
        w,
        h,
        vec![
            (y_plane, wu),
            (u_plane, wu / 2),
            (&mut v_plane[..c_len], wu / 2),
        ],
    );
}

/// BT.709 limited-range conversion of tightly packed RGBA into the Y, U and V `planes`
/// (each with its stride; sizes checked by the callers, so the only failure left is a
/// bug here).
fn to_yuv420(rgba: &[u8], w: u32, h: u32, planes: Vec<(&mut [u8], usize)>) {
    let src = FrameView::rgba(rgba, w, h).expect("RGBA patch holds its pixels");
    let mut dst =
        FrameViewMut::new(PixelFormat::I420, w, h, planes).expect("I420 planes hold the patch");
    kernels::rgba_to_i420(&src, &mut dst, ColorSpace::BT709_LIMITED)
        .expect("RGBA to I420 conversion with checked sizes");
}

impl AsRef<[u8]> for I420Frame {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

/// Where one run of a frame's bytes comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum I420Source {
    /// From the shared base frame.
    Base,
    /// From the frame's own patch bytes.
    Patch,
}

/// A run of bytes of a yuv420p frame: `len` bytes from `source` starting at `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct I420Run {
    /// Which buffer.
    pub source: I420Source,
    /// Offset in that buffer.
    pub start: usize,
    /// Number of bytes.
    pub len: usize,
}

/// A yuv420p frame described as a shared base frame (a slide's static layer) with
/// rectangles replaced: the runs, read in order, are the frame's bytes.
///
/// Most explainer frames differ from their slide's static layer only where the presenter,
/// the Ken Burns image and the subtitle are; sending the base's bytes straight from the
/// shared layer (vectored writes) saves copying a whole frame per frame.
#[derive(Debug, Clone)]
pub struct I420Patched {
    /// The shared frame most bytes come from.
    pub base: std::sync::Arc<I420Frame>,
    /// The replaced rectangles' bytes.
    pub patch: Vec<u8>,
    /// The frame's bytes in order.
    pub runs: Vec<I420Run>,
}

impl I420Patched {
    /// Builds the runs for `rects` (even-aligned, pairwise disjoint, inside the frame) whose
    /// yuv420p blocks lie in `patch` one after another, each as its Y block (`w*h`), then U
    /// and V (`w/2*h/2` each).
    pub(crate) fn new(
        base: std::sync::Arc<I420Frame>,
        rects: &[crate::paint::PxRect],
        patch: Vec<u8>,
    ) -> I420Patched {
        let (fw, fh) = (base.width as usize, base.height as usize);
        // Each rect's block offsets in the patch.
        let mut block = 0usize;
        let mut blocks = Vec::with_capacity(rects.len());
        for r in rects {
            let (w, h) = (r.w as usize, r.h as usize);
            blocks.push(block);
            block += w * h + 2 * (w / 2) * (h / 2);
        }
        debug_assert_eq!(block, patch.len());
        let mut runs = Vec::new();
        let mut cursor = 0usize;
        let push = |runs: &mut Vec<I420Run>, source, start, len| {
            if len > 0 {
                runs.push(I420Run { source, start, len });
            }
        };
        let planes = [
            (0usize, fw, fh, 1usize, 0usize),
            (fw * fh, fw / 2, fh / 2, 2, 1),
            (fw * fh + (fw / 2) * (fh / 2), fw / 2, fh / 2, 2, 2),
        ];
        let mut order: Vec<usize> = (0..rects.len()).collect();
        order.sort_by_key(|&i| rects[i].x);
        for (plane_off, pw, ph, div, which) in planes {
            for row in 0..ph {
                for &i in &order {
                    let r = &rects[i];
                    let (x, y, w, h) = (
                        r.x as usize / div,
                        r.y as usize / div,
                        r.w as usize / div,
                        r.h as usize / div,
                    );
                    if row < y || row >= y + h {
                        continue;
                    }
                    let at = plane_off + row * pw + x;
                    push(&mut runs, I420Source::Base, cursor, at - cursor);
                    let (rw, rh) = (r.w as usize, r.h as usize);
                    let plane_in_block = match which {
                        0 => 0,
                        1 => rw * rh,
                        _ => rw * rh + (rw / 2) * (rh / 2),
                    };
                    let start = blocks[i] + plane_in_block + (row - y) * w;
                    push(&mut runs, I420Source::Patch, start, w);
                    cursor = at + w;
                }
            }
        }
        push(
            &mut runs,
            I420Source::Base,
            cursor,
            base.data.len() - cursor,
        );
        I420Patched { base, patch, runs }
    }

    /// The frame's bytes, copied out (for tests and for callers that need one buffer).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.base.data.len());
        for r in &self.runs {
            let src = match r.source {
                I420Source::Base => &self.base.data,
                I420Source::Patch => &self.patch,
            };
            out.extend_from_slice(&src[r.start..r.start + r.len]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference BT.709 limited-range conversion of one colour.
    fn reference(r: f64, g: f64, b: f64) -> (f64, f64, f64) {
        let (kr, kb) = (0.2126, 0.0722);
        let kg = 1.0 - kr - kb;
        let (r, g, b) = (r / 255.0, g / 255.0, b / 255.0);
        let y = kr * r + kg * g + kb * b;
        let u = (b - y) / (2.0 * (1.0 - kb));
        let v = (r - y) / (2.0 * (1.0 - kr));
        (16.0 + 219.0 * y, 128.0 + 224.0 * u, 128.0 + 224.0 * v)
    }

    #[test]
    fn solid_colours_match_bt709_limited_within_one() {
        let colours = [
            [0u8, 0, 0],
            [255, 255, 255],
            [255, 0, 0],
            [0, 255, 0],
            [0, 0, 255],
            [90, 140, 220],
            [246, 247, 251],
        ];
        for c in colours {
            let (w, h) = (64u32, 32u32);
            let rgba: Vec<u8> = (0..w * h).flat_map(|_| [c[0], c[1], c[2], 255]).collect();
            let out = I420Frame::from_rgba(&rgba, w, h);
            assert_eq!(out.data.len(), (w * h * 3 / 2) as usize);
            let (ey, eu, ev) = reference(c[0] as f64, c[1] as f64, c[2] as f64);
            let (yp, up, vp) = out.planes();
            for &v in yp {
                assert!((v as f64 - ey).abs() <= 1.0, "{c:?}: Y {v} vs {ey:.1}");
            }
            for &v in up {
                assert!((v as f64 - eu).abs() <= 1.0, "{c:?}: U {v} vs {eu:.1}");
            }
            for &v in vp {
                assert!((v as f64 - ev).abs() <= 1.0, "{c:?}: V {v} vs {ev:.1}");
            }
        }
    }

    #[test]
    fn patched_frame_reads_as_base_with_rectangles_replaced() {
        use crate::paint::PxRect;
        let (fw, fh) = (12u32, 8u32);
        let base = std::sync::Arc::new(I420Frame {
            width: fw,
            height: fh,
            data: (0..i420_len(fw, fh)).map(|i| (i % 200) as u8).collect(),
        });
        let rects = [PxRect::new(6, 2, 4, 4), PxRect::new(0, 4, 2, 4)];
        let len: usize = rects.iter().map(|r| i420_len(r.w, r.h)).sum();
        let patch: Vec<u8> = (0..len).map(|i| 200 + (i % 50) as u8).collect();
        let p = I420Patched::new(base.clone(), &rects, patch.clone());

        // The same frame built plane by plane, by hand.
        let mut want = base.data.clone();
        let mut block = 0;
        for r in rects {
            let (w, h) = (r.w as usize, r.h as usize);
            let planes = [
                (0, fw as usize, 1, w * h),
                ((fw * fh) as usize, fw as usize / 2, 2, (w / 2) * (h / 2)),
                (
                    (fw * fh) as usize * 5 / 4,
                    fw as usize / 2,
                    2,
                    (w / 2) * (h / 2),
                ),
            ];
            let mut in_block = block;
            for (off, pw, div, plane_len) in planes {
                let (x, y, bw) = (r.x as usize / div, r.y as usize / div, w / div);
                for row in 0..h / div {
                    let dst = off + (y + row) * pw + x;
                    let src = in_block + row * bw;
                    want[dst..dst + bw].copy_from_slice(&patch[src..src + bw]);
                }
                in_block += plane_len;
            }
            block = in_block;
        }
        assert_eq!(p.to_bytes(), want);
        let total: usize = p.runs.iter().map(|r| r.len).sum();
        assert_eq!(total, base.data.len());
    }

    #[test]
    fn converting_a_rect_equals_converting_the_frame() {
        let (w, h) = (96u32, 64u32);
        let rgba: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                [
                    (x * 7 % 256) as u8,
                    (y * 11 % 256) as u8,
                    ((x + y) * 5 % 256) as u8,
                    255,
                ]
            })
            .collect();
        // Patch a 30x18 rect at (34, 20) into a frame that starts grey.
        let grey = vec![128u8; (w * h * 4) as usize];
        let mut patched = I420Frame::from_rgba(&grey, w, h);
        let mut mixed = grey.clone();
        let (rx, ry, rw, rh) = (34u32, 20u32, 30u32, 18u32);
        let mut patch = Vec::new();
        for yy in ry..ry + rh {
            let o = ((yy * w + rx) * 4) as usize;
            patch.extend_from_slice(&rgba[o..o + (rw * 4) as usize]);
            mixed[o..o + (rw * 4) as usize].copy_from_slice(&rgba[o..o + (rw * 4) as usize]);
        }
        convert_rect(&patch, rw, rh, &mut patched, rx, ry);
        assert_eq!(patched, I420Frame::from_rgba(&mixed, w, h));
    }
}
