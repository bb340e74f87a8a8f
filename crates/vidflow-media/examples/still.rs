//! Renders a few frames of the synthetic Timeline at every supported size to PNG
//! files, to look at the theme.
//!
//! ```text
//! cargo run --release -p vidflow-media --example still -- [OUT_DIR] [AVATAR]
//! ```
//!
//! Writes `OUT_DIR/still-WxH-FRAME.png` (default `target/stills`).

use std::path::PathBuf;
use std::sync::Arc;

use vidflow_core::VideoSize;
use vidflow_media::{FrameRenderer, synthetic};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "target/stills".into()));
    let avatar_spec = args.next().unwrap_or_else(|| "avatar_1".into());
    std::fs::create_dir_all(&dir)?;
    let fps = 30;
    let seconds = 9.0;
    for size in VideoSize::SUPPORTED {
        let timeline = synthetic::timeline(size, fps, seconds);
        let avatar = vidflow_avatar::Avatar::load(&avatar_spec)?;
        let renderer = FrameRenderer::new(Arc::new(timeline), Some(avatar))?;
        let mut rgba = vec![0u8; (size.width * size.height * 4) as usize];
        // Title card with a cue, the image slide mid-pan, mid-crossfade, the text slide.
        for (label, t) in [("title", 1.0), ("image", 4.6), ("fade", 6.1), ("text", 7.5)] {
            let n = (t * fps as f64) as u64;
            renderer.render_rgba(n, &mut rgba);
            let path = dir.join(format!("still-{size}-{label}.png"));
            image::RgbaImage::from_raw(size.width, size.height, rgba.clone())
                .ok_or("frame buffer has the wrong size")?
                .save(&path)?;
            println!("{}", path.display());
        }
    }
    Ok(())
}
