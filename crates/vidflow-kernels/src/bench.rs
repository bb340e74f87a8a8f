//! `vidflow bench kernels`: each kernel's time per frame and bandwidth, on one thread and
//! on all cores, next to a plain memory copy of the same number of bytes measured in the
//! same run (the machine's limit).
//!
//! The kernels timed are the very functions `vidflow_media::FrameRenderer` draws
//! with (compositing, crossfades, masked copies, the Ken Burns sampler, RGBA → I420),
//! so these figures describe the code that draws a video.
//!
//! ```no_run
//! use vidflow_kernels::bench::{self, BenchKernel, BenchOptions};
//! let report = bench::run(&BenchOptions {
//!     sizes: vec![(1280, 720)],
//!     runs: 5,
//!     kernels: vec![BenchKernel::GainU8, BenchKernel::Composite],
//! })?;
//! for k in &report.results {
//!     println!("{} {}x{}: {:.2} ms", k.kernel, k.width, k.height, k.all_cores.median_ms);
//! }
//! # Ok::<(), vidflow_kernels::KernelError>(())
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use super::{
    Affine, ColorSpace, Frame, KernelError, PackedLayer, PixelFormat, ResizeFilter, SourceWindow,
    affine_over, box_blur, composite_over, composite_over_masked, copy_masked, crossfade, fill,
    gain_f32, gain_u8, gaussian_blur, i420_to_rgba, ken_burns, linear_gradient, resize,
    rgba_to_i420,
};

/// A kernel the benchmark can time, with the parameters it is timed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BenchKernel {
    /// RGBA u8 gain, out of place, gains (0.9, 1.1, 1.3, 1.0).
    GainU8,
    /// RGB f32 planar gain, out of place.
    GainF32,
    /// A full-frame premultiplied layer (a mix of clear, partial and opaque pixels) over
    /// the frame at (0, 0), opacity 255. The renderer draws subtitles with it.
    Composite,
    /// The same layer through a coverage mask (runs of 0, 255 and partial coverage). The
    /// renderer draws a presenter partly inside a region with it.
    CompositeMasked,
    /// A full-frame premultiplied layer over the frame under a small rotation and a
    /// sub-pixel shift, sampled bilinearly: how the renderer moves the presenter's layers.
    AffineOver,
    /// Two frames crossfaded into a third: the renderer's crossfade between slides.
    Crossfade,
    /// A frame copied into another through a coverage mask: the renderer's picture in its
    /// rounded panel and presenter in its rounded card.
    CopyMasked,
    /// RGBA → I420, BT.709 limited: every frame the renderer sends to the encoder.
    RgbaToI420,
    /// I420 → RGBA, BT.709 limited.
    I420ToRgba,
    /// Bilinear resize from 1.5× the size down to the size.
    ResizeBilinear,
    /// Lanczos3 resize from 1.5× the size down to the size.
    ResizeLanczos3,
    /// Solid fill.
    Fill,
    /// Linear gradient at 30°.
    LinearGradient,
    /// Box blur, radius 8.
    BoxBlur,
    /// Gaussian blur, sigma 2.
    GaussianBlur,
    /// Ken Burns sampler: a window of 0.88× a source 1.25× the size, scaled to the size
    /// (the renderer's image panel).
    KenBurns,
}

impl BenchKernel {
    /// Every kernel, in report order.
    pub const ALL: [BenchKernel; 16] = [
        BenchKernel::GainU8,
        BenchKernel::GainF32,
        BenchKernel::Composite,
        BenchKernel::CompositeMasked,
        BenchKernel::AffineOver,
        BenchKernel::Crossfade,
        BenchKernel::CopyMasked,
        BenchKernel::RgbaToI420,
        BenchKernel::I420ToRgba,
        BenchKernel::ResizeBilinear,
        BenchKernel::ResizeLanczos3,
        BenchKernel::Fill,
        BenchKernel::LinearGradient,
        BenchKernel::BoxBlur,
        BenchKernel::GaussianBlur,
        BenchKernel::KenBurns,
    ];

    /// The name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            BenchKernel::GainU8 => "gain_u8",
            BenchKernel::GainF32 => "gain_f32",
            BenchKernel::Composite => "composite",
            BenchKernel::CompositeMasked => "composite_masked",
            BenchKernel::AffineOver => "affine_over",
            BenchKernel::Crossfade => "crossfade",
            BenchKernel::CopyMasked => "copy_masked",
            BenchKernel::RgbaToI420 => "rgba_to_i420",
            BenchKernel::I420ToRgba => "i420_to_rgba",
            BenchKernel::ResizeBilinear => "resize_bilinear",
            BenchKernel::ResizeLanczos3 => "resize_lanczos3",
            BenchKernel::Fill => "fill",
            BenchKernel::LinearGradient => "linear_gradient",
            BenchKernel::BoxBlur => "box_blur",
            BenchKernel::GaussianBlur => "gaussian_blur",
            BenchKernel::KenBurns => "ken_burns",
        }
    }
}

impl fmt::Display for BenchKernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BenchKernel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        BenchKernel::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = BenchKernel::ALL.iter().map(|k| k.name()).collect();
                format!("unknown kernel {s:?}; known: {}", names.join(", "))
            })
    }
}

/// What to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchOptions {
    /// Frame sizes (width, height).
    pub sizes: Vec<(u32, u32)>,
    /// Timed runs per figure (at least 5); the median is reported.
    pub runs: usize,
    /// Which kernels.
    pub kernels: Vec<BenchKernel>,
}

impl Default for BenchOptions {
    /// 1280x720, 1920x1080 and 3840x2160; 7 runs; every kernel.
    fn default() -> Self {
        BenchOptions {
            sizes: vec![(1280, 720), (1920, 1080), (3840, 2160)],
            runs: 7,
            kernels: BenchKernel::ALL.to_vec(),
        }
    }
}

/// One kernel at one size on one pool, next to a memory copy of the same bytes.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    /// Threads in the pool.
    pub threads: usize,
    /// Median milliseconds per frame.
    pub median_ms: f64,
    /// Bytes read plus bytes written per second, in 10^9.
    pub gb_per_s: f64,
    /// Median of a plain memory copy moving the same bytes (half read, half written).
    pub memcpy_ms: f64,
    /// The copy's bandwidth, in 10^9 bytes per second.
    pub memcpy_gb_per_s: f64,
    /// `gb_per_s / memcpy_gb_per_s`: 1.0 means as fast as the memory allows.
    pub ratio_to_memcpy: f64,
}

/// One kernel at one size.
#[derive(Debug, Clone, Serialize)]
pub struct KernelFigure {
    /// Kernel name.
    pub kernel: BenchKernel,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// Bytes the kernel reads plus writes per frame (frames and layers, not scratch).
    pub bytes_per_frame: u64,
    /// On a one-thread pool.
    pub single_thread: Timing,
    /// On a pool with a thread per core.
    pub all_cores: Timing,
}

/// The whole benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct KernelBenchReport {
    /// Threads of the all-cores pool.
    pub cores: usize,
    /// Timed runs per figure.
    pub runs: usize,
    /// SIMD extensions the CPU offers that the kernels use.
    pub simd: Vec<&'static str>,
    /// One entry per kernel and size.
    pub results: Vec<KernelFigure>,
}

fn simd_features() -> Vec<&'static str> {
    let mut out = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            out.push("avx2");
        }
        if std::arch::is_x86_feature_detected!("avx512bw") {
            out.push("avx512bw");
        }
    }
    #[cfg(target_arch = "aarch64")]
    out.push("neon");
    out
}

/// Median of `runs` timings of `f` (after one untimed warm-up run), in milliseconds.
fn median_ms(
    runs: usize,
    mut f: impl FnMut() -> Result<(), KernelError>,
) -> Result<f64, KernelError> {
    f()?;
    let mut t = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f()?;
        t.push(start.elapsed().as_secs_f64() * 1e3);
    }
    t.sort_by(f64::total_cmp);
    Ok(t[t.len() / 2])
}

/// Deterministic, varied bytes (xorshift).
fn noise(len: usize, mut seed: u32) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            (seed >> 24) as u8
        })
        .collect()
}

/// A premultiplied layer: runs of clear, opaque and partial pixels, like a presenter or
/// a subtitle layer.
fn layer_pixels(w: u32, h: u32) -> Vec<u8> {
    let mut px = noise(w as usize * h as usize * 4, 7);
    for (i, p) in px.chunks_exact_mut(4).enumerate() {
        let a = match (i / 37) % 3 {
            0 => 0,
            1 => 255,
            _ => p[3],
        };
        p[3] = a;
        for c in &mut p[..3] {
            *c = (*c as u32 * a as u32 / 255) as u8;
        }
    }
    px
}

/// A coverage mask like an anti-aliased shape's: runs of 0 and 255 with partial edges.
fn coverage_pixels(w: u32, h: u32) -> Vec<u8> {
    noise(w as usize * h as usize, 12)
        .into_iter()
        .enumerate()
        .map(|(i, v)| match (i / 41) % 4 {
            0 => 0,
            1 | 2 => 255,
            _ => v,
        })
        .collect()
}

/// The inputs and outputs of one kernel at one size, built once and reused every run.
struct Case {
    bytes: u64,
    body: Box<dyn FnMut() -> Result<(), KernelError> + Send>,
}

fn rgba(w: u32, h: u32, seed: u32) -> Result<Frame<u8>, KernelError> {
    Frame::from_vec(
        PixelFormat::Rgba8Premul,
        w,
        h,
        noise(w as usize * h as usize * 4, seed),
    )
}

fn case(kernel: BenchKernel, w: u32, h: u32) -> Result<Case, KernelError> {
    let n = w as u64 * h as u64;
    let rgba_bytes = n * 4;
    let i420_bytes = Frame::<u8>::new(PixelFormat::I420, w, h)?.as_slice().len() as u64;
    let big = ((w * 3).div_ceil(2), (h * 3).div_ceil(2));
    Ok(match kernel {
        BenchKernel::GainU8 => {
            let src = rgba(w, h, 1)?;
            let mut dst = Frame::<u8>::new(PixelFormat::Rgba8Premul, w, h)?;
            Case {
                bytes: 2 * rgba_bytes,
                body: Box::new(move || {
                    gain_u8(&src.view(), &mut dst.view_mut(), &[0.9, 1.1, 1.3, 1.0])
                }),
            }
        }
        BenchKernel::GainF32 => {
            let data: Vec<f32> = noise(n as usize * 3, 2)
                .into_iter()
                .map(|v| v as f32 / 255.0)
                .collect();
            let src = Frame::<f32>::from_vec(PixelFormat::RgbF32Planar, w, h, data)?;
            let mut dst = Frame::<f32>::new(PixelFormat::RgbF32Planar, w, h)?;
            Case {
                bytes: 2 * n * 12,
                body: Box::new(move || {
                    gain_f32(&src.view(), &mut dst.view_mut(), &[0.9, 1.1, 1.3])
                }),
            }
        }
        BenchKernel::Composite => {
            let layer = Frame::from_vec(PixelFormat::Rgba8Premul, w, h, layer_pixels(w, h))?;
            let mut dst = rgba(w, h, 3)?;
            Case {
                bytes: 3 * rgba_bytes,
                body: Box::new(move || {
                    composite_over(&mut dst.view_mut(), &layer.view(), 0, 0, 255)
                }),
            }
        }
        BenchKernel::CompositeMasked => {
            let layer = Frame::from_vec(PixelFormat::Rgba8Premul, w, h, layer_pixels(w, h))?;
            let mask = Frame::from_vec(PixelFormat::Coverage8, w, h, coverage_pixels(w, h))?;
            let mut dst = rgba(w, h, 3)?;
            Case {
                bytes: 3 * rgba_bytes + n,
                body: Box::new(move || {
                    composite_over_masked(&mut dst.view_mut(), &layer.view(), &mask.view(), 0, 0)
                }),
            }
        }
        BenchKernel::AffineOver => {
            // The layer needs a clear border; its rows are otherwise the composite's mix.
            let mut px = layer_pixels(w, h);
            let row = w as usize * 4;
            for (y, line) in px.chunks_exact_mut(row).enumerate() {
                if y == 0 || y + 1 == h as usize {
                    line.fill(0);
                }
                line[..4].fill(0);
                line[row - 4..].fill(0);
            }
            let (pixels, spans) = PackedLayer::pack(&px, w);
            let mut dst = rgba(w, h, 3)?;
            // 1.5 degrees about the centre, shifted by a third of a pixel.
            let (sin, cos) = 1.5f32.to_radians().sin_cos();
            let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
            let inverse = Affine {
                sx: cos,
                kx: sin,
                ky: -sin,
                sy: cos,
                tx: cx - cos * cx - sin * cy + 0.33,
                ty: cy + sin * cx - cos * cy + 0.33,
            };
            Case {
                bytes: 3 * rgba_bytes,
                body: Box::new(move || {
                    let layer = PackedLayer {
                        pixels: &pixels,
                        width: w,
                        height: h,
                        spans: &spans,
                    };
                    affine_over(
                        &mut dst.view_mut(),
                        &layer,
                        inverse,
                        [0, 0, w as i32, h as i32],
                    )
                }),
            }
        }
        BenchKernel::Crossfade => {
            let (from, to) = (rgba(w, h, 13)?, rgba(w, h, 14)?);
            let mut dst = Frame::<u8>::new(PixelFormat::Rgba8Premul, w, h)?;
            Case {
                bytes: 3 * rgba_bytes,
                body: Box::new(move || {
                    crossfade(&from.view(), &to.view(), &mut dst.view_mut(), 77)
                }),
            }
        }
        BenchKernel::CopyMasked => {
            let src = rgba(w, h, 15)?;
            let mask = Frame::from_vec(PixelFormat::Coverage8, w, h, coverage_pixels(w, h))?;
            let mut dst = rgba(w, h, 16)?;
            Case {
                bytes: 3 * rgba_bytes + n,
                body: Box::new(move || {
                    copy_masked(&mut dst.view_mut(), &src.view(), &mask.view(), 0, 0)
                }),
            }
        }
        BenchKernel::RgbaToI420 => {
            let src = rgba(w, h, 4)?;
            let mut dst = Frame::<u8>::new(PixelFormat::I420, w, h)?;
            Case {
                bytes: rgba_bytes + i420_bytes,
                body: Box::new(move || {
                    rgba_to_i420(&src.view(), &mut dst.view_mut(), ColorSpace::BT709_LIMITED)
                }),
            }
        }
        BenchKernel::I420ToRgba => {
            let len = Frame::<u8>::new(PixelFormat::I420, w, h)?.as_slice().len();
            let src = Frame::from_vec(PixelFormat::I420, w, h, noise(len, 5))?;
            let mut dst = Frame::<u8>::new(PixelFormat::Rgba8Premul, w, h)?;
            Case {
                bytes: rgba_bytes + i420_bytes,
                body: Box::new(move || {
                    i420_to_rgba(&src.view(), &mut dst.view_mut(), ColorSpace::BT709_LIMITED)
                }),
            }
        }
        BenchKernel::ResizeBilinear | BenchKernel::ResizeLanczos3 => {
            let filter = if kernel == BenchKernel::ResizeBilinear {
                ResizeFilter::Bilinear
            } else {
                ResizeFilter::Lanczos3
            };
            let src = rgba(big.0, big.1, 6)?;
            let mut dst = Frame::<u8>::new(PixelFormat::Rgba8Premul, w, h)?;
            Case {
                bytes: big.0 as u64 * big.1 as u64 * 4 + rgba_bytes,
                body: Box::new(move || resize(&src.view(), &mut dst.view_mut(), filter)),
            }
        }
        BenchKernel::Fill => {
            let mut dst = Frame::<u8>::new(PixelFormat::Rgba8Premul, w, h)?;
            Case {
                bytes: rgba_bytes,
                body: Box::new(move || fill(&mut dst.view_mut(), [20, 40, 60, 255])),
            }
        }
        BenchKernel::LinearGradient => {
            let mut dst = Frame::<u8>::new(PixelFormat::Rgba8Premul, w, h)?;
            Case {
                bytes: rgba_bytes,
                body: Box::new(move || {
                    linear_gradient(
                        &mut dst.view_mut(),
                        [10, 20, 60, 255],
                        [240, 200, 90, 255],
                        30.0,
                    )
                }),
            }
        }
        BenchKernel::BoxBlur | BenchKernel::GaussianBlur => {
            let src = rgba(w, h, 8)?;
            let mut dst = Frame::<u8>::new(PixelFormat::Rgba8Premul, w, h)?;
            let gauss = kernel == BenchKernel::GaussianBlur;
            Case {
                bytes: 2 * rgba_bytes,
                body: Box::new(move || {
                    if gauss {
                        gaussian_blur(&src.view(), &mut dst.view_mut(), 2.0)
                    } else {
                        box_blur(&src.view(), &mut dst.view_mut(), 8)
                    }
                }),
            }
        }
        BenchKernel::KenBurns => {
            let (sw, sh) = ((w * 5).div_ceil(4), (h * 5).div_ceil(4));
            let src = rgba(sw, sh, 9)?;
            let mut dst = Frame::<u8>::new(PixelFormat::Rgba8Premul, w, h)?;
            let window = SourceWindow {
                x: sw as f64 * 0.05,
                y: sh as f64 * 0.07,
                width: sw as f64 * 0.88,
                height: sh as f64 * 0.88,
            };
            let read = (window.width * window.height * 4.0) as u64;
            Case {
                bytes: read + rgba_bytes,
                body: Box::new(move || ken_burns(&src.view(), window, &mut dst.view_mut())),
            }
        }
    })
}

/// A memory copy that moves `bytes` (half read, half written), split over the pool.
fn memcpy_case(bytes: u64) -> impl FnMut() -> Result<(), KernelError> {
    let half = (bytes / 2) as usize;
    let src = noise(half, 11);
    let mut dst = vec![0u8; half];
    move || {
        // Chunks of 1 MiB: big enough for a streaming copy, enough of them to share.
        dst.par_chunks_mut(1 << 20)
            .zip(src.par_chunks(1 << 20))
            .for_each(|(d, s)| d.copy_from_slice(s));
        std::hint::black_box(&dst);
        Ok(())
    }
}

fn pool(threads: usize) -> Result<rayon::ThreadPool, KernelError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| KernelError::Backend {
            kernel: "bench",
            reason: format!("cannot start a pool of {threads} threads: {e}"),
        })
}

fn timing(
    pool: &rayon::ThreadPool,
    runs: usize,
    bytes: u64,
    case: &mut Case,
) -> Result<Timing, KernelError> {
    let mut copy = memcpy_case(bytes);
    let memcpy_ms = pool.install(|| median_ms(runs, &mut copy))?;
    let ms = pool.install(|| median_ms(runs, &mut case.body))?;
    let gbps = |ms: f64| bytes as f64 / (ms * 1e-3) / 1e9;
    Ok(Timing {
        threads: pool.current_num_threads(),
        median_ms: ms,
        gb_per_s: gbps(ms),
        memcpy_ms,
        memcpy_gb_per_s: gbps(memcpy_ms),
        ratio_to_memcpy: gbps(ms) / gbps(memcpy_ms),
    })
}

/// Runs the benchmark: for each kernel and size, the median of `runs` timed frames on a
/// one-thread pool and on an all-cores pool, each next to a memory copy of the same
/// bytes timed on the same pool just before it.
pub fn run(options: &BenchOptions) -> Result<KernelBenchReport, KernelError> {
    if options.runs < 5 {
        return Err(KernelError::BadParameter {
            kernel: "bench",
            reason: format!(
                "{} runs is too few for a median; use at least 5",
                options.runs
            ),
        });
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let single = pool(1)?;
    let all = pool(cores)?;
    let mut results = Vec::new();
    for &kernel in &options.kernels {
        for &(w, h) in &options.sizes {
            let mut c = case(kernel, w, h)?;
            let bytes = c.bytes;
            let single_thread = timing(&single, options.runs, bytes, &mut c)?;
            let all_cores = timing(&all, options.runs, bytes, &mut c)?;
            results.push(KernelFigure {
                kernel,
                width: w,
                height: h,
                bytes_per_frame: bytes,
                single_thread,
                all_cores,
            });
        }
    }
    Ok(KernelBenchReport {
        cores,
        runs: options.runs,
        simd: simd_features(),
        results,
    })
}
