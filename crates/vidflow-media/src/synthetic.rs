//! A synthetic Timeline for examples, benchmarks and tests: a title card, a slide with a
//! generated picture, a text slide, subtitle cues, a viseme track and blinks — every
//! feature the renderer draws, without needing the rest of the pipeline.
//!
//! ```
//! use vidflow_core::VideoSize;
//! let tl = vidflow_media::synthetic::timeline(VideoSize { width: 1280, height: 720 }, 30, 9.0);
//! assert_eq!(tl.frame_count, 270);
//! assert_eq!(tl.slides.len(), 3);
//! ```

use std::io::Cursor;

use vidflow_core::{
    Blink, Cue, ImageAsset, MotionSeed, Slide, SlideLayout, Timeline, VideoSize, Viseme, VisemeSpan,
};

/// A PNG of a hilly landscape at dusk, `width` × `height`, drawn procedurally (so tests
/// and demos need no image files).
pub fn picture_png(width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width.max(1) as f32, height.max(1) as f32);
    let img = image::RgbaImage::from_fn(width.max(1), height.max(1), |x, y| {
        let (fx, fy) = (x as f32 / w, y as f32 / h);
        // Sky: warm at the horizon, deep blue above.
        let sky = |t: f32| -> [f32; 3] { [40.0 + 200.0 * t, 60.0 + 110.0 * t, 120.0 + 40.0 * t] };
        let mut c = sky(fy.min(1.0));
        // Sun.
        let (dx, dy) = (fx - 0.68, (fy - 0.42) * h / w);
        let d = (dx * dx + dy * dy).sqrt();
        if d < 0.07 {
            c = [255.0, 214.0, 140.0];
        } else if d < 0.16 {
            let g = 1.0 - (d - 0.07) / 0.09;
            c = [
                c[0] + (255.0 - c[0]) * g * 0.5,
                c[1] + (200.0 - c[1]) * g * 0.5,
                c[2] * (1.0 - 0.3 * g),
            ];
        }
        // Three ridges of hills, nearer ones darker.
        for (i, (base, amp, freq, col)) in [
            (0.58, 0.05, 7.0, [88.0, 84.0, 120.0]),
            (0.68, 0.06, 11.0, [58.0, 70.0, 92.0]),
            (0.80, 0.05, 5.0, [30.0, 44.0, 56.0]),
        ]
        .into_iter()
        .enumerate()
        {
            let ridge =
                base + amp * (fx * freq + i as f32).sin() + amp * 0.4 * (fx * freq * 2.7).cos();
            if fy > ridge {
                c = col;
            }
        }
        image::Rgba([c[0] as u8, c[1] as u8, c[2] as u8, 255])
    });
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("encoding a PNG into memory");
    out
}

/// A Timeline of `seconds` at `size` and `fps` with three slides (title card, text with
/// image, text only), a subtitle cue about every 2.5 s, a viseme track cycling through
/// all nine shapes while "speaking", blinks every 3.1 s and gentle idle motion.
pub fn timeline(size: VideoSize, fps: u32, seconds: f64) -> Timeline {
    let duration = seconds.max(0.5);
    let third = duration / 3.0;
    let slides = vec![
        Slide {
            start: 0.0,
            end: third,
            index: 0,
            heading: None,
            body: "A short tour of why the sky changes colour at the end of the day.".into(),
            image: None,
            layout: SlideLayout::Title,
        },
        Slide {
            start: third,
            end: 2.0 * third,
            index: 1,
            heading: Some("Scattering".into()),
            body: "Sunlight crossing more air at dusk loses its blue to scattering, leaving reds and oranges."
                .into(),
            image: Some(0),
            layout: SlideLayout::TextImage,
        },
        Slide {
            start: 2.0 * third,
            end: duration,
            index: 2,
            heading: Some("What to look for".into()),
            body: "The clearer the air, the deeper the colours: after rain, sunsets glow the longest."
                .into(),
            image: None,
            layout: SlideLayout::Text,
        },
    ];
    let words = [
        ("Every evening the sky", "puts on a show of colour."),
        ("Light travels further", "through the air at sunset,"),
        ("and the blue is scattered", "away before it reaches us."),
        ("What is left", "is red, orange and gold."),
        (
            "After rain the air is clear,",
            "and the colours run deepest.",
        ),
    ];
    let mut cues = Vec::new();
    let mut t = 0.3;
    let mut i = 0;
    while t + 2.0 < duration {
        let (a, b) = words[i % words.len()];
        cues.push(Cue {
            start: t,
            end: t + 2.2,
            lines: vec![a.into(), b.into()],
        });
        t += 2.5;
        i += 1;
    }
    let mut visemes = Vec::new();
    let step = 0.12;
    let mut t = 0.0;
    let mut k = 0;
    while t < duration {
        let end = (t + step).min(duration);
        let speaking = cues.iter().any(|c| c.start <= t && t < c.end);
        let shape = if speaking {
            Viseme::ALL[k % 9]
        } else {
            Viseme::X
        };
        visemes.push(VisemeSpan {
            start: t,
            end,
            shape,
        });
        t = end;
        k += 1;
    }
    let blinks = (1..)
        .map(|i| i as f64 * 3.1)
        .take_while(|&b| b + 0.2 < duration)
        .map(|start| Blink {
            start,
            duration: 0.18,
        })
        .collect();
    Timeline {
        size,
        fps,
        duration,
        frame_count: (duration * fps as f64).ceil() as u64,
        title: "Why Sunsets Are Red: Light, Air and the Colours of Evening".into(),
        source: "https://www.example.org/science/why-sunsets-are-red".into(),
        site_name: Some("example.org".into()),
        byline: None,
        published: None,
        slides,
        cues,
        visemes,
        blinks,
        motion: MotionSeed {
            seed: 42,
            amount: 1.0,
        },
        images: vec![ImageAsset {
            url: "https://www.example.org/img/dusk.png".into(),
            bytes: picture_png(1200, 800),
        }],
        accent: [37, 99, 235],
        burn_subtitles: true,
    }
}
