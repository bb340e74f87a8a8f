//! Frame composition through the public API: determinism, lip sync, subtitles, broken
//! images, and yuv420p consistency.

use std::sync::Arc;

use rayon::prelude::*;
use vidflow_avatar::Avatar;
use vidflow_core::{
    Cue, ImageAsset, MotionSeed, Slide, SlideLayout, Timeline, VideoSize, Viseme, VisemeSpan,
};
use vidflow_media::{FrameRenderer, I420Frame, synthetic};

const HD: VideoSize = VideoSize {
    width: 1280,
    height: 720,
};

fn avatar() -> Avatar {
    Avatar::load("avatar_1").expect("built-in avatar")
}

fn renderer(tl: Timeline) -> FrameRenderer {
    FrameRenderer::new(Arc::new(tl), Some(avatar())).expect("renderer")
}

fn rgba(r: &FrameRenderer, n: u64) -> Vec<u8> {
    let s = r.size();
    let mut out = vec![0; (s.width * s.height * 4) as usize];
    r.render_rgba(n, &mut out);
    out
}

fn i420(r: &FrameRenderer, n: u64) -> Vec<u8> {
    let mut f = I420Frame::new(r.size());
    r.render_i420(n, &mut f);
    f.data
}

/// The pixels of `rect` in an RGBA frame of width `w`.
fn crop(frame: &[u8], w: u32, rect: (u32, u32, u32, u32)) -> Vec<u8> {
    let (x, y, rw, rh) = rect;
    let mut out = Vec::new();
    for yy in y..y + rh {
        let o = ((yy * w + x) * 4) as usize;
        out.extend_from_slice(&frame[o..o + (rw * 4) as usize]);
    }
    out
}

/// A Timeline with text slides only, still presenter, no blinks, no cues: only the
/// visemes change what is drawn.
fn still_timeline(visemes: Vec<VisemeSpan>) -> Timeline {
    let mut tl = synthetic::timeline(HD, 30, 4.0);
    for s in &mut tl.slides {
        s.layout = SlideLayout::Text;
        s.image = None;
    }
    tl.slides = vec![Slide {
        start: 0.0,
        end: 4.0,
        index: 0,
        ..tl.slides[2].clone()
    }];
    tl.cues.clear();
    tl.blinks.clear();
    tl.motion = MotionSeed {
        seed: 9,
        amount: 0.0,
    };
    tl.visemes = visemes;
    tl
}

#[test]
fn renderer_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FrameRenderer>();
}

#[test]
fn same_frame_same_bytes_in_any_order_and_from_any_thread() {
    let tl = synthetic::timeline(HD, 30, 6.0);
    let frames: Vec<u64> = vec![0, 5, 59, 61, 64, 70, 100, 121, 125, 150, 179];
    let first = renderer(tl.clone());
    let forward: Vec<Vec<u8>> = frames.iter().map(|&n| i420(&first, n)).collect();
    // Again on the same renderer (caches warm), then backwards on a fresh one.
    let again: Vec<Vec<u8>> = frames.iter().map(|&n| i420(&first, n)).collect();
    assert_eq!(forward, again);
    let second = renderer(tl.clone());
    let mut backward: Vec<Vec<u8>> = frames.iter().rev().map(|&n| i420(&second, n)).collect();
    backward.reverse();
    assert_eq!(forward, backward);
    // Many threads at once on a third renderer.
    let third = renderer(tl);
    let parallel: Vec<Vec<u8>> = frames.par_iter().map(|&n| i420(&third, n)).collect();
    assert_eq!(forward, parallel);
    // And the frames do change over time.
    assert_ne!(forward[0], forward[6]);
}

#[test]
fn i420_equals_converting_the_rgba_frame() {
    // Covers plain frames, crossfades (around 2 s and 4 s), cues and the image slide.
    let tl = synthetic::timeline(HD, 30, 6.0);
    let r = renderer(tl);
    // Frames that share a cue (60..=66) reuse its converted block after the first.
    for n in [0u64, 10, 60, 61, 62, 66, 75, 90, 120, 123, 160, 179, 61] {
        let rgba = rgba(&r, n);
        assert!(
            rgba.chunks_exact(4).all(|p| p[3] == 255),
            "frame {n} not opaque"
        );
        let expected = I420Frame::from_rgba(&rgba, r.size().width, r.size().height);
        assert!(
            i420(&r, n) == expected.data,
            "frame {n}: render_i420 differs from rgba_to_i420(render_rgba)"
        );
    }
}

#[test]
fn lip_sync_mouth_moves_with_visemes_and_nothing_else() {
    let tl = still_timeline(vec![
        VisemeSpan {
            start: 0.0,
            end: 1.0,
            shape: Viseme::X,
        },
        VisemeSpan {
            start: 1.0,
            end: 2.0,
            shape: Viseme::D,
        },
        VisemeSpan {
            start: 2.0,
            end: 3.0,
            shape: Viseme::X,
        },
        VisemeSpan {
            start: 3.0,
            end: 4.0,
            shape: Viseme::D,
        },
    ]);
    let r = renderer(tl);
    let w = r.size().width;
    let mouth = r.mouth_region().unwrap();
    let (px, py, pw, ph) = r.presenter_region().unwrap();
    assert!(mouth.2 > 0 && mouth.3 > 0);
    assert!(
        mouth.0 >= px
            && mouth.1 >= py
            && mouth.0 + mouth.2 <= px + pw
            && mouth.1 + mouth.3 <= py + ph
    );
    let at_x = rgba(&r, 15); // 0.5 s
    let at_d = rgba(&r, 45); // 1.5 s
    let at_x_again = rgba(&r, 75); // 2.5 s
    let at_d_again = rgba(&r, 105); // 3.5 s
    assert_ne!(
        crop(&at_x, w, mouth),
        crop(&at_d, w, mouth),
        "mouth region must differ between X and D"
    );
    // Same viseme, no blink, no motion: identical, whole frame included.
    assert!(crop(&at_x, w, mouth) == crop(&at_x_again, w, mouth));
    assert!(at_x == at_x_again);
    assert!(at_d == at_d_again);
}

#[test]
fn subtitles_appear_only_while_a_cue_is_active_and_burning_is_on() {
    let mut tl = still_timeline(vec![]);
    tl.cues = vec![Cue {
        start: 1.0,
        end: 2.0,
        lines: vec![
            "Subtitles sit on a dark".into(),
            "backing near the bottom".into(),
        ],
    }];
    let with = renderer(tl.clone());
    tl.burn_subtitles = false;
    let without = renderer(tl);
    let w = with.size().width;
    let band = with.subtitle_region();
    let luma = |px: &[u8]| {
        px.chunks_exact(4)
            .map(|p| p[0] as u64 + p[1] as u64 + p[2] as u64)
            .sum::<u64>()
    };
    // Before and after the cue: no subtitles, and burning makes no difference.
    for n in [15u64, 75] {
        assert!(
            rgba(&with, n) == rgba(&without, n),
            "frame {n} has subtitles outside the cue"
        );
    }
    // During the cue: the band changes (darker backing with light text), nothing else does.
    let on = rgba(&with, 45);
    let off = rgba(&without, 45);
    assert_ne!(crop(&on, w, band), crop(&off, w, band));
    assert!(luma(&crop(&on, w, band)) < luma(&crop(&off, w, band)));
    let mut outside_on = on.clone();
    let mut outside_off = off.clone();
    for buf in [&mut outside_on, &mut outside_off] {
        let (x, y, bw, bh) = band;
        for yy in y..y + bh {
            let o = ((yy * w + x) * 4) as usize;
            buf[o..o + (bw * 4) as usize].fill(0);
        }
    }
    assert!(
        outside_on == outside_off,
        "subtitles drawn outside their band"
    );
}

#[test]
fn broken_image_bytes_fall_back_to_the_text_layout() {
    let good = synthetic::picture_png(300, 200);
    let mut truncated = good.clone();
    truncated.truncate(good.len() / 3);
    let mut tl = synthetic::timeline(HD, 30, 6.0);
    tl.images = vec![
        ImageAsset {
            url: "a".into(),
            bytes: b"<html>not an image</html>".to_vec(),
        },
        ImageAsset {
            url: "b".into(),
            bytes: truncated,
        },
        ImageAsset {
            url: "c".into(),
            bytes: Vec::new(),
        },
        ImageAsset {
            url: "d".into(),
            bytes: vec![0x89, b'P', b'N', b'G', 0, 0, 0, 0],
        },
    ];
    for (i, image) in [Some(0), Some(1), Some(2), Some(3), Some(99)]
        .into_iter()
        .enumerate()
    {
        let mut broken = tl.clone();
        broken.slides[1].image = image;
        let r = FrameRenderer::new(Arc::new(broken.clone()), Some(avatar()))
            .unwrap_or_else(|e| panic!("case {i}: {e}"));
        // Same frames as if the slide had been a text slide to begin with.
        let mut text = broken;
        text.slides[1].layout = SlideLayout::Text;
        text.slides[1].image = None;
        let reference = renderer(text);
        for n in [60u64, 70, 100] {
            assert!(i420(&r, n) == i420(&reference, n), "case {i}, frame {n}");
        }
    }
}

#[test]
fn image_slides_pan_and_zoom() {
    let r = renderer(synthetic::timeline(HD, 30, 6.0));
    // Slide 2 (60..120) shows the picture; with motion off the still parts match, the
    // panel does not.
    let a = rgba(&r, 70);
    let b = rgba(&r, 110);
    assert_ne!(a, b);
}

#[test]
fn every_supported_size_renders_with_everything_on_screen() {
    for size in VideoSize::SUPPORTED {
        let r = renderer(synthetic::timeline(size, 25, 3.0));
        assert_eq!(r.size(), size);
        let mut f = I420Frame::new(size);
        for n in [0, 12, 25, 40, 74] {
            r.render_i420(n, &mut f);
            assert_eq!(
                f.as_bytes().len(),
                (size.width * size.height * 3 / 2) as usize
            );
        }
        // The presenter and the subtitle band do not overlap.
        let (px, py, pw, ph) = r.presenter_region().unwrap();
        let (sx, sy, sw, sh) = r.subtitle_region();
        let overlap = px < sx + sw && sx < px + pw && py < sy + sh && sy < py + ph;
        assert!(!overlap, "{size}: presenter covers the subtitles");
        assert!(px + pw <= size.width && py + ph <= size.height);
    }
}

#[test]
fn odd_sizes_are_refused_with_a_clear_error() {
    let mut tl = synthetic::timeline(HD, 30, 1.0);
    tl.size = VideoSize {
        width: 641,
        height: 480,
    };
    let err = FrameRenderer::new(Arc::new(tl), Some(avatar())).unwrap_err();
    assert!(err.to_string().contains("641x480"), "{err}");
}

#[test]
fn a_timeline_without_slides_still_renders_a_title_card() {
    let mut tl = synthetic::timeline(HD, 30, 2.0);
    tl.slides.clear();
    let r = renderer(tl);
    let f = rgba(&r, 10);
    assert!(f.chunks_exact(4).all(|p| p[3] == 255));
    // Frames past the end hold the last moment.
    assert!(i420(&r, 59) == i420(&r, 10_000));
}

#[test]
fn without_a_presenter_only_the_presenters_rectangle_differs() {
    let tl = synthetic::timeline(HD, 30, 9.0);
    let with = renderer(tl.clone());
    let without = FrameRenderer::new(Arc::new(tl), None).expect("renderer without presenter");
    assert_eq!(without.presenter_region(), None);
    assert_eq!(without.mouth_region(), None);
    let (px, py, pw, ph) = with.presenter_region().unwrap();
    let w = HD.width;
    // Title card, image slide, a crossfade, text slide; with and without a cue.
    for n in [0u64, 20, 94, 120, 186, 200] {
        let (a, b) = (rgba(&with, n), rgba(&without, n));
        assert!(
            crop(&a, w, (px, py, pw, ph)) != crop(&b, w, (px, py, pw, ph)),
            "frame {n}: the presenter is missing"
        );
        let outside = |frame: &[u8]| {
            let mut f = frame.to_vec();
            for y in py..py + ph {
                let o = ((y * w + px) * 4) as usize;
                f[o..o + (pw * 4) as usize].fill(0);
            }
            f
        };
        assert!(
            outside(&a) == outside(&b),
            "frame {n}: a frame without presenter differs outside its rectangle"
        );
        assert!(
            b.chunks_exact(4).all(|p| p[3] == 255),
            "frame {n} not opaque"
        );
        // The encoder's path agrees with the RGBA one.
        assert!(
            i420(&without, n) == I420Frame::from_rgba(&b, HD.width, HD.height).data,
            "frame {n}: render_i420 without presenter differs from converting render_rgba"
        );
    }
}
