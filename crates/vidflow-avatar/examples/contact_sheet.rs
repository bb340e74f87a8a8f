//! Writes a contact sheet: every built-in avatar (rows) in every mouth shape plus a blink and a
//! moved idle pose (columns), on a neutral backdrop, so the drawings can be checked by eye.
//!
//! ```text
//! cargo run -p vidflow-avatar --example contact_sheet -- [OUT.png] [CELL_WIDTH]
//! ```
//!
//! Defaults: `target/avatar_contact_sheet.png`, cells 240 pixels wide.

use std::time::Instant;

use tiny_skia::{Color, Pixmap, PixmapPaint, Transform};
use vidflow_avatar::{Avatar, Pose};
use vidflow_core::{MotionSeed, Viseme};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .unwrap_or_else(|| "target/avatar_contact_sheet.png".to_string());
    let cell_w: u32 = match args.next() {
        Some(w) => w.parse()?,
        None => 240,
    };
    let cell_h = cell_w * 10 / 9;

    // Columns: the nine shapes, a half blink, a full blink, and a moment of idle motion.
    let mut columns: Vec<(String, Pose)> = Viseme::ALL
        .iter()
        .map(|&v| {
            (
                v.letter().to_string(),
                Pose {
                    viseme: v,
                    ..Pose::rest()
                },
            )
        })
        .collect();
    columns.push((
        "half blink".into(),
        Pose {
            eye_closure: 0.5,
            ..Pose::rest()
        },
    ));
    columns.push((
        "blink".into(),
        Pose {
            eye_closure: 1.0,
            ..Pose::rest()
        },
    ));
    columns.push((
        "motion".into(),
        Pose {
            viseme: Viseme::C,
            time: 3.3,
            motion: MotionSeed {
                seed: 11,
                amount: 1.0,
            },
            ..Pose::rest()
        },
    ));

    let names = Avatar::builtin_names();
    let mut sheet = Pixmap::new(cell_w * columns.len() as u32, cell_h * names.len() as u32)
        .ok_or("sheet too large")?;
    sheet.fill(Color::from_rgba8(226, 232, 240, 255));
    let started = Instant::now();
    let mut frames = 0u32;
    for (row, name) in names.iter().enumerate() {
        let avatar = Avatar::builtin(name)?;
        for (col, (_, pose)) in columns.iter().enumerate() {
            let layer = avatar.render(pose, cell_w, cell_h);
            frames += 1;
            sheet.draw_pixmap(
                (col as u32 * cell_w) as i32,
                (row as u32 * cell_h) as i32,
                layer.as_ref(),
                &PixmapPaint::default(),
                Transform::identity(),
                None,
            );
        }
    }
    let per_frame = started.elapsed().as_secs_f64() * 1000.0 / f64::from(frames);
    sheet.save_png(&out)?;
    let labels: Vec<&str> = columns.iter().map(|(l, _)| l.as_str()).collect();
    println!(
        "wrote {out}: rows {}, columns {} ({per_frame:.2} ms per {cell_w}x{cell_h} layer)",
        names.join(", "),
        labels.join(", ")
    );
    Ok(())
}
