//! RGBA → yuv420p (I420), BT.709 limited range, through `yuvutils-rs`.
//!
//! Converting in Rust and piping yuv420p to ffmpeg is much cheaper than letting ffmpeg
//! convert RGB itself, and it lets the renderer convert only the parts of a frame that
//! changed (see [`convert_rect`]).

use vidflow_core::VideoSize;
use yuvutils_rs::{
    BufferStoreMut, YuvConversionMode, YuvPlanarImageMut, YuvRange, YuvStandardMatrix,
};

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

fn i420_len(width: u32, height: u32) -> usize {
    width as usize * height as usize + 2 * chroma_len(width, height)
}

/// Converts a tightly packed, opaque RGBA image to I420 (BT.709, limited range) into
/// `out`, which is resized to `width` × `height` if needed.
///
/// # Panics
/// If `rgba` is shorter than `width * height * 4`, or a dimension is odd or zero.
pub fn rgba_to_i420(rgba: &[u8], width: u32, height: u32, out: &mut I420Frame) {
    assert!(
        width.is_multiple_of(2) && height.is_multiple_of(2) && width > 0 && height > 0,
        "rgba_to_i420 needs even, non-zero dimensions, got {width}x{height}"
    );
    assert!(
        rgba.len() >= width as usize * height as usize * 4,
        "rgba_to_i420: buffer of {} bytes is too small for {width}x{height}",
        rgba.len()
    );
    out.reshape(width, height);
    convert_rect(rgba, width, height, out, 0, 0);
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
    let mut planar = YuvPlanarImageMut {
        y_plane: BufferStoreMut::Borrowed(&mut y_plane[y_off..]),
        y_stride: fw as u32,
        u_plane: BufferStoreMut::Borrowed(&mut u_plane[c_off..]),
        u_stride: cw as u32,
        v_plane: BufferStoreMut::Borrowed(&mut v_plane[c_off..c_len]),
        v_stride: cw as u32,
        width: w,
        height: h,
    };
    // Sizes and strides are checked above, so the only failure left is a bug here.
    yuvutils_rs::rgba_to_yuv420(
        &mut planar,
        rgba,
        w * 4,
        YuvRange::Limited,
        YuvStandardMatrix::Bt709,
        YuvConversionMode::Balanced,
    )
    .expect("RGBA to I420 conversion with checked sizes");
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
            let mut out = I420Frame::new(VideoSize {
                width: 2,
                height: 2,
            });
            rgba_to_i420(&rgba, w, h, &mut out);
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
        let mut whole = I420Frame::new(VideoSize {
            width: w,
            height: h,
        });
        rgba_to_i420(&rgba, w, h, &mut whole);
        // Patch a 30x18 rect at (34, 20) into a frame that starts grey.
        let mut patched = I420Frame::new(VideoSize {
            width: w,
            height: h,
        });
        let grey = vec![128u8; (w * h * 4) as usize];
        rgba_to_i420(&grey, w, h, &mut patched);
        let mut mixed = grey.clone();
        let (rx, ry, rw, rh) = (34u32, 20u32, 30u32, 18u32);
        let mut patch = Vec::new();
        for yy in ry..ry + rh {
            let o = ((yy * w + rx) * 4) as usize;
            patch.extend_from_slice(&rgba[o..o + (rw * 4) as usize]);
            mixed[o..o + (rw * 4) as usize].copy_from_slice(&rgba[o..o + (rw * 4) as usize]);
        }
        convert_rect(&patch, rw, rh, &mut patched, rx, ry);
        let mut expected = I420Frame::new(VideoSize {
            width: w,
            height: h,
        });
        rgba_to_i420(&mixed, w, h, &mut expected);
        assert_eq!(patched, expected);
    }
}
