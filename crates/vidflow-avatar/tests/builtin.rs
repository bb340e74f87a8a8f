//! The built-in presenters: determinism, mouth shapes, blinks, idle motion, framing.

use tiny_skia::{IntRect, Pixmap};
use vidflow_avatar::{Avatar, AvatarError, Pose};
use vidflow_core::{ErrorKind, MotionSeed, VidflowError, Viseme};

const W: u32 = 360;
const H: u32 = 400;

fn still(viseme: Viseme) -> Pose {
    Pose {
        viseme,
        ..Pose::rest()
    }
}

/// Bounding box of the pixels that differ, and how many differ.
fn diff(a: &Pixmap, b: &Pixmap) -> (Option<IntRect>, usize) {
    assert_eq!((a.width(), a.height()), (b.width(), b.height()));
    let w = a.width() as i32;
    let mut count = 0;
    let mut bb: Option<(i32, i32, i32, i32)> = None;
    for (i, (p, q)) in a.pixels().iter().zip(b.pixels()).enumerate() {
        if p != q {
            count += 1;
            let (x, y) = (i as i32 % w, i as i32 / w);
            bb = Some(match bb {
                None => (x, y, x + 1, y + 1),
                Some((l, t, r, b)) => (l.min(x), t.min(y), r.max(x + 1), b.max(y + 1)),
            });
        }
    }
    (
        bb.and_then(|(l, t, r, b)| IntRect::from_ltrb(l, t, r, b)),
        count,
    )
}

fn contains(outer: IntRect, inner: IntRect) -> bool {
    outer.left() <= inner.left()
        && outer.top() <= inner.top()
        && outer.right() >= inner.right()
        && outer.bottom() >= inner.bottom()
}

#[test]
fn names_are_the_three_builtins_and_all_load() {
    let names = Avatar::builtin_names();
    assert_eq!(names, ["avatar_1", "avatar_2", "avatar_3"]);
    for n in names {
        let a = Avatar::builtin(n).unwrap();
        assert_eq!(a.name(), *n);
        assert!((a.aspect() - 0.9).abs() < 1e-6);
        assert_eq!(a.id(), Avatar::load(n).unwrap().id(), "id is stable");
    }
    let ids: std::collections::HashSet<String> = names
        .iter()
        .map(|n| Avatar::builtin(n).unwrap().id())
        .collect();
    assert_eq!(ids.len(), 3, "each presenter has its own id");
}

#[test]
fn unknown_builtin_lists_the_names() {
    let err = Avatar::builtin("avatar_9").unwrap_err();
    assert!(matches!(err, AvatarError::UnknownAvatar { .. }));
    let msg = err.to_string();
    assert!(msg.contains("avatar_9"), "{msg}");
    for n in Avatar::builtin_names() {
        assert!(msg.contains(n), "{msg}");
    }
    // Through `load`, a name that is no folder either gets the same answer, as bad input.
    let err = Avatar::load("no_such_avatar").unwrap_err();
    assert!(err.to_string().contains("avatar_1, avatar_2, avatar_3"));
    let v: VidflowError = err.into();
    assert_eq!(v.kind, ErrorKind::BadInput);
}

#[test]
fn same_pose_gives_identical_pixels() {
    for n in Avatar::builtin_names() {
        let a = Avatar::builtin(n).unwrap();
        let pose = Pose {
            viseme: Viseme::C,
            eye_closure: 0.4,
            time: 2.37,
            motion: MotionSeed {
                seed: 99,
                amount: 0.8,
            },
        };
        let first = a.render(&pose, W, H);
        assert!(first.data() == a.render(&pose, W, H).data());
        // A clone, and an avatar built afresh (with no pre-rendered layers yet), agree too.
        assert!(first.data() == a.clone().render(&pose, W, H).data());
        assert!(first.data() == Avatar::builtin(n).unwrap().render(&pose, W, H).data());
        // Rendering other sizes in between does not disturb anything.
        a.render(&pose, 128, 96);
        assert!(first.data() == a.render(&pose, W, H).data());
    }
}

#[test]
fn rest_and_wide_open_differ_only_around_the_mouth() {
    for n in Avatar::builtin_names() {
        let a = Avatar::builtin(n).unwrap();
        let x = a.render(&still(Viseme::X), W, H);
        let d = a.render(&still(Viseme::D), W, H);
        let (bb, count) = diff(&x, &d);
        let bb = bb.expect("X and D must differ");
        let mouth = a.mouth_region(W, H).unwrap();
        assert!(
            contains(mouth, bb),
            "{n}: changes {bb:?} outside mouth {mouth:?}"
        );
        // The mouth region is a small part of the frame: the lower middle of the face.
        assert!(mouth.width() < W / 4 && mouth.height() < H / 6, "{mouth:?}");
        assert!(mouth.top() > (H / 2) as i32 && mouth.bottom() < (H * 3 / 4) as i32);
        assert!(count > 300, "{n}: only {count} pixels changed");
    }
}

#[test]
fn every_pair_of_mouth_shapes_differs() {
    for n in Avatar::builtin_names() {
        let a = Avatar::builtin(n).unwrap();
        let frames: Vec<Pixmap> = Viseme::ALL
            .iter()
            .map(|&v| a.render(&still(v), W, H))
            .collect();
        for i in 0..frames.len() {
            for j in i + 1..frames.len() {
                let (_, count) = diff(&frames[i], &frames[j]);
                assert!(
                    count > 40,
                    "{n}: {:?} and {:?} differ in only {count} pixels",
                    Viseme::ALL[i],
                    Viseme::ALL[j]
                );
            }
        }
    }
}

#[test]
fn closing_the_eyes_changes_only_the_eyes() {
    for n in Avatar::builtin_names() {
        let a = Avatar::builtin(n).unwrap();
        let open = a.render(&Pose::rest(), W, H);
        let shut = a.render(
            &Pose {
                eye_closure: 1.0,
                ..Pose::rest()
            },
            W,
            H,
        );
        let half = a.render(
            &Pose {
                eye_closure: 0.5,
                ..Pose::rest()
            },
            W,
            H,
        );
        let (bb, count) = diff(&open, &shut);
        let bb = bb.expect("a blink must show");
        let eyes = a.eye_region(W, H).unwrap();
        assert!(
            contains(eyes, bb),
            "{n}: blink changed {bb:?}, eyes are {eyes:?}"
        );
        assert!(count > 150, "{n}: blink changed only {count} pixels");
        assert!(eyes.bottom() < a.mouth_region(W, H).unwrap().top());
        // Half closed is in between: different from both.
        assert!(diff(&open, &half).1 > 0 && diff(&half, &shut).1 > 0);
        // Out-of-range closure is clamped, not an error.
        let over = a.render(
            &Pose {
                eye_closure: 3.0,
                ..Pose::rest()
            },
            W,
            H,
        );
        assert!(over.data() == shut.data());
    }
}

#[test]
fn idle_motion_moves_over_time_only_when_enabled() {
    for n in Avatar::builtin_names() {
        let a = Avatar::builtin(n).unwrap();
        let at = |t: f64, amount: f32| {
            a.render(
                &Pose {
                    time: t,
                    motion: MotionSeed { seed: 3, amount },
                    ..Pose::rest()
                },
                W,
                H,
            )
        };
        let frames: Vec<Pixmap> = [0.0, 0.7, 1.4, 2.1].iter().map(|&t| at(t, 1.0)).collect();
        for w in frames.windows(2) {
            assert!(diff(&w[0], &w[1]).1 > 100, "{n}: motion too small to see");
        }
        // Still: time does not matter, and it matches the rest pose exactly.
        let still0 = at(0.0, 0.0);
        assert!(still0.data() == at(5.5, 0.0).data());
        assert!(still0.data() == a.render(&Pose::rest(), W, H).data());
        // Motion is small: consecutive frames at 30 fps differ only slightly.
        let (_, step) = diff(&at(1.0, 1.0), &at(1.0 + 1.0 / 30.0, 1.0));
        assert!(
            step < (W * H / 4) as usize,
            "{n}: {step} pixels changed in one frame"
        );
        // Different seeds move differently.
        let other = a.render(
            &Pose {
                time: 1.4,
                motion: MotionSeed {
                    seed: 4,
                    amount: 1.0,
                },
                ..Pose::rest()
            },
            W,
            H,
        );
        assert!(diff(&frames[2], &other).1 > 0);
    }
}

#[test]
fn layer_is_framed_bottom_centre_on_transparent_background() {
    for n in Avatar::builtin_names() {
        let a = Avatar::builtin(n).unwrap();
        let p = a.render(&Pose::rest(), W, H);
        let alpha = |x: u32, y: u32| p.pixel(x, y).unwrap().alpha();
        for (x, y) in [(0, 0), (W - 1, 0), (W / 2, 2)] {
            assert_eq!(
                alpha(x, y),
                0,
                "{n}: background at ({x},{y}) not transparent"
            );
        }
        // Face and clothing are opaque; the clothing reaches the bottom edge.
        assert_eq!(alpha(W / 2, H * 45 / 100), 255, "{n}: face");
        assert_eq!(alpha(W / 4, H - 1), 255, "{n}: shoulders");
        // Some pixels are partly transparent: edges are anti-aliased.
        assert!(p.pixels().iter().any(|c| c.alpha() > 0 && c.alpha() < 255));

        // In a wide layer the figure is centred with empty sides and stands on the bottom.
        let wide = a.render(&Pose::rest(), 800, 200);
        let col_empty = |x: u32| (0..200).all(|y| wide.pixel(x, y).unwrap().alpha() == 0);
        assert!(col_empty(0) && col_empty(799) && col_empty(300) && col_empty(500));
        assert!(!col_empty(400));
        assert!(wide.pixel(400, 199).unwrap().alpha() > 0);

        // Degenerate sizes still give a layer.
        let tiny = a.render(&Pose::rest(), 0, 0);
        assert_eq!((tiny.width(), tiny.height()), (1, 1));
    }
}

#[test]
fn the_three_presenters_look_different() {
    let frames: Vec<Pixmap> = Avatar::builtin_names()
        .iter()
        .map(|n| Avatar::builtin(n).unwrap().render(&Pose::rest(), W, H))
        .collect();
    // Skin, hair and clothing differ, so most of the figure differs.
    for i in 0..3 {
        for j in i + 1..3 {
            let (_, count) = diff(&frames[i], &frames[j]);
            assert!(count > (W * H / 3) as usize, "{i} vs {j}: {count}");
        }
    }
}

#[test]
fn preview_is_a_png_of_the_requested_size() {
    let a = Avatar::builtin("avatar_2").unwrap();
    let png = a.preview_png(180, 200);
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let img = image::load_from_memory(&png).unwrap();
    assert_eq!((img.width(), img.height()), (180, 200));
    let rgba = img.to_rgba8();
    assert_eq!(rgba.get_pixel(0, 0)[3], 0);
    assert_eq!(rgba.get_pixel(90, 90)[3], 255);
}

#[test]
fn every_pose_renders_at_video_sizes() {
    let a = Avatar::builtin("avatar_3").unwrap();
    for (w, h) in [(1080, 1200), (270, 300), (64, 71)] {
        for v in Viseme::ALL {
            let p = a.render(
                &Pose {
                    viseme: v,
                    eye_closure: 0.3,
                    time: 4.0,
                    motion: MotionSeed {
                        seed: 1,
                        amount: 1.0,
                    },
                },
                w,
                h,
            );
            assert_eq!((p.width(), p.height()), (w, h));
        }
    }
}
