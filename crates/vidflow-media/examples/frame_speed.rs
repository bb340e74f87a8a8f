//! Measures composition speed: milliseconds per frame of `render_i420` on the synthetic
//! Timeline, on one thread and on all threads (rayon), at 720p and 1080p.
//!
//! ```text
//! cargo run --release -p vidflow-media --example frame_speed -- [SECONDS] [AVATAR]
//! ```

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use vidflow_core::VideoSize;
use vidflow_media::{FrameRenderer, I420Frame, synthetic};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(12.0);
    let avatar_spec = args.next().unwrap_or_else(|| "avatar_1".into());
    let fps = 30;
    for size in [
        VideoSize {
            width: 1280,
            height: 720,
        },
        VideoSize {
            width: 1920,
            height: 1080,
        },
    ] {
        let timeline = Arc::new(synthetic::timeline(size, fps, seconds));
        let frames = timeline.frame_count;
        let avatar = vidflow_avatar::Avatar::load(&avatar_spec)?;

        // The presenter alone, at the size the renderer draws it.
        let renderer = FrameRenderer::new(timeline.clone(), Some(avatar.clone()))?;
        let (_, _, pw, ph) = renderer.presenter_region().ok_or("no presenter")?;
        let t = Instant::now();
        let reps = 60;
        for i in 0..reps {
            let pose = vidflow_avatar::Pose {
                viseme: vidflow_core::Viseme::ALL[i % 9],
                eye_closure: 0.0,
                time: i as f64 / fps as f64,
                motion: timeline.motion,
            };
            std::hint::black_box(avatar.render(&pose, pw, ph));
        }
        let avatar_ms = t.elapsed().as_secs_f64() * 1000.0 / reps as f64;

        // Whole-frame RGBA→I420 conversion alone.
        let rgba = vec![128u8; (size.width * size.height * 4) as usize];
        let mut out = I420Frame::new(size);
        let t = Instant::now();
        for _ in 0..reps {
            out.convert_from_rgba(&rgba, size.width, size.height);
        }
        let convert_ms = t.elapsed().as_secs_f64() * 1000.0 / reps as f64;

        // One thread, fresh renderer (includes building each slide and cue layer once).
        let renderer = FrameRenderer::new(timeline.clone(), Some(avatar.clone()))?;
        let t = Instant::now();
        for n in 0..frames {
            renderer.render_i420(n, &mut out);
        }
        let single_ms = t.elapsed().as_secs_f64() * 1000.0 / frames as f64;
        // Same renderer again: every layer is cached, so this is the per-frame cost alone.
        let t = Instant::now();
        for n in 0..frames {
            renderer.render_i420(n, &mut out);
        }
        let warm_time = t.elapsed();
        // A digest of every frame, so a faster renderer can be checked to draw the same bytes.
        let mut digest = std::hash::DefaultHasher::new();
        let mut rgba_frame = vec![0u8; (size.width * size.height * 4) as usize];
        for n in 0..frames {
            renderer.render_i420(n, &mut out);
            out.data.hash(&mut digest);
            if n % 5 == 0 {
                renderer.render_rgba(n, &mut rgba_frame);
                rgba_frame.hash(&mut digest);
            }
        }
        let frames_digest = digest.finish();
        let warm_ms = warm_time.as_secs_f64() * 1000.0 / frames as f64;

        // All threads, chunks of 30 frames in order, as the pipeline renders.
        let renderer = FrameRenderer::new(timeline.clone(), Some(avatar))?;
        let t = Instant::now();
        let chunk: Vec<u64> = (0..frames).collect();
        for c in chunk.chunks(30) {
            let done: Vec<I420Frame> = c
                .par_iter()
                .map(|&n| {
                    let mut f = I420Frame::new(size);
                    renderer.render_i420(n, &mut f);
                    f
                })
                .collect();
            std::hint::black_box(done);
        }
        let parallel_ms = t.elapsed().as_secs_f64() * 1000.0 / frames as f64;

        println!(
            "{{\"size\":\"{size}\",\"frames\":{frames},\"threads\":{},\"render_i420_ms_per_frame_1_thread\":{single_ms:.3},\"render_i420_ms_per_frame_all_threads\":{parallel_ms:.3},\"render_i420_ms_per_frame_layers_cached\":{warm_ms:.3},\"avatar_render_ms\":{avatar_ms:.3},\"full_frame_rgba_to_i420_ms\":{convert_ms:.3},\"avatar_size\":\"{pw}x{ph}\",\"frames_digest\":\"{frames_digest:016x}\"}}",
            rayon::current_num_threads()
        );
    }
    Ok(())
}
