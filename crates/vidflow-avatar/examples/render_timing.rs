//! Measures how long one avatar layer takes to render, per built-in presenter.
//!
//! ```text
//! cargo run --release -p vidflow-avatar --example render_timing -- [WIDTH] [HEIGHT] [FRAMES] [MOTION]
//! ```
//!
//! Defaults: 360x400, 300 frames of speech-like poses with blinks and idle motion amount 1.

use std::time::Instant;

use vidflow_avatar::{Avatar, Pose};
use vidflow_core::{MotionSeed, Viseme};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let width: u32 = args.next().map_or(Ok(360), |a| a.parse())?;
    let height: u32 = args.next().map_or(Ok(400), |a| a.parse())?;
    let frames: u32 = args.next().map_or(Ok(300), |a| a.parse())?;
    let amount: f32 = args.next().map_or(Ok(1.0), |a| a.parse())?;
    for name in Avatar::builtin_names() {
        let avatar = Avatar::builtin(name)?;
        let pose = |i: u32| Pose {
            viseme: Viseme::ALL[(i as usize / 3) % 9],
            eye_closure: if i % 90 < 4 { 1.0 } else { 0.0 },
            time: f64::from(i) / 30.0,
            motion: MotionSeed { seed: 5, amount },
        };
        // Warm up caches and the allocator.
        for i in 0..10 {
            std::hint::black_box(avatar.render(&pose(i), width, height));
        }
        let start = Instant::now();
        for i in 0..frames {
            std::hint::black_box(avatar.render(&pose(i), width, height));
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(frames);
        println!(
            "{name}: {ms:.3} ms per {width}x{height} layer ({frames} frames, motion {amount})"
        );
    }
    Ok(())
}
