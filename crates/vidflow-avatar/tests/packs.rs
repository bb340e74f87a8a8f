//! Sprite packs made in a temporary folder from generated PNGs.

use std::path::Path;

use image::{Rgba, RgbaImage};
use vidflow_avatar::{Avatar, AvatarError, Pose};
use vidflow_core::{ErrorKind, MotionSeed, VidflowError, Viseme};

const BW: u32 = 90;
const BH: u32 = 100;
/// Where the generated mouths and eyes sit in the base image.
const MOUTH: (u32, u32) = (45, 70);
const EYE: (u32, u32) = (35, 40);

/// A distinct opaque colour per mouth image.
fn mouth_color(i: usize) -> Rgba<u8> {
    Rgba([
        20 + 25 * i as u8,
        200 - 20 * i as u8,
        60 + 15 * i as u8,
        255,
    ])
}

fn save(dir: &Path, file: &str, img: &RgbaImage) {
    img.save(dir.join(file)).unwrap();
}

/// A transparent image with an opaque block of `color` centred on `at`.
fn blob(at: (u32, u32), half: (u32, u32), color: Rgba<u8>) -> RgbaImage {
    RgbaImage::from_fn(BW, BH, |x, y| {
        if x.abs_diff(at.0) <= half.0 && y.abs_diff(at.1) <= half.1 {
            color
        } else {
            Rgba([0, 0, 0, 0])
        }
    })
}

/// Writes base, eyes and mouths; `mouths` lists (key, file) pairs for `[mouths]`.
fn write_pack(dir: &Path, mouths: &[(&str, usize)]) {
    // The base: a rounded figure on transparency, skin-coloured.
    let base = RgbaImage::from_fn(BW, BH, |x, y| {
        let (dx, dy) = (x as f32 - 45.0, y as f32 - 50.0);
        if dx * dx / 1600.0 + dy * dy / 2200.0 <= 1.0 || y >= 85 {
            Rgba([230, 190, 160, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    });
    save(dir, "base.png", &base);
    save(
        dir,
        "eyes_open.png",
        &blob(EYE, (4, 3), Rgba([255, 255, 255, 255])),
    );
    save(
        dir,
        "eyes_closed.png",
        &blob(EYE, (5, 1), Rgba([40, 20, 10, 255])),
    );
    let mut table = String::new();
    for (key, i) in mouths {
        let file = format!("mouth_{key}.png");
        save(
            dir,
            &file,
            &blob(MOUTH, (6, 2 + *i as u32 / 2), mouth_color(*i)),
        );
        table.push_str(&format!("{key} = \"{file}\"\n"));
    }
    let manifest = format!(
        "name = \"Test presenter\"\nbase = \"base.png\"\neyes_open = \"eyes_open.png\"\neyes_closed = \"eyes_closed.png\"\n\n[mouths]\n{table}"
    );
    std::fs::write(dir.join("avatar.toml"), manifest).unwrap();
}

fn nine() -> Vec<(&'static str, usize)> {
    ["A", "B", "C", "D", "E", "F", "G", "H", "X"]
        .into_iter()
        .zip(0..)
        .collect()
}

fn pose(viseme: Viseme) -> Pose {
    Pose {
        viseme,
        ..Pose::rest()
    }
}

fn rgba_at(p: &tiny_skia::Pixmap, at: (u32, u32)) -> [u8; 4] {
    let c = p.pixel(at.0, at.1).unwrap();
    [c.red(), c.green(), c.blue(), c.alpha()]
}

#[test]
fn nine_shape_pack_loads_and_switches_mouths() {
    let dir = tempfile::tempdir().unwrap();
    write_pack(dir.path(), &nine());
    let a = Avatar::from_pack(dir.path()).unwrap();
    assert_eq!(a.name(), "Test presenter");
    assert!((a.aspect() - 0.9).abs() < 1e-6);
    assert!(a.id().starts_with("pack:"));

    // At the pack's own size and without motion, the layers are copied exactly.
    for (i, v) in Viseme::ALL.iter().enumerate() {
        let frame = a.render(&pose(*v), BW, BH);
        let c = mouth_color(i).0;
        assert_eq!(rgba_at(&frame, MOUTH), c, "{v:?} shows the wrong mouth");
        // Outside the figure stays transparent.
        assert_eq!(rgba_at(&frame, (1, 1))[3], 0);
    }
    let region = a.mouth_region(BW, BH).unwrap();
    assert!(region.left() <= 39 && region.right() >= 52 && region.top() <= 64);
    let frames: Vec<_> = Viseme::ALL
        .iter()
        .map(|v| a.render(&pose(*v), BW, BH))
        .collect();
    for i in 0..9 {
        for j in i + 1..9 {
            assert!(
                frames[i].data() != frames[j].data(),
                "{i} and {j} look the same"
            );
        }
    }
}

#[test]
fn blinks_switch_eye_overlays() {
    let dir = tempfile::tempdir().unwrap();
    write_pack(dir.path(), &nine());
    let a = Avatar::from_pack(dir.path()).unwrap();
    let eyes = |closure: f32| {
        let p = a.render(
            &Pose {
                eye_closure: closure,
                ..Pose::rest()
            },
            BW,
            BH,
        );
        rgba_at(&p, EYE)
    };
    assert_eq!(eyes(0.0), [255, 255, 255, 255]);
    assert_eq!(eyes(0.4), [255, 255, 255, 255]);
    assert_eq!(eyes(0.5), [40, 20, 10, 255]);
    assert_eq!(eyes(1.0), [40, 20, 10, 255]);
    let region = a.eye_region(BW, BH).unwrap();
    assert!(region.top() <= 37 && region.bottom() >= 43);
}

#[test]
fn two_shape_pack_opens_for_open_visemes() {
    let dir = tempfile::tempdir().unwrap();
    write_pack(dir.path(), &[("closed", 0), ("open", 5)]);
    let a = Avatar::from_pack(dir.path()).unwrap();
    for v in Viseme::ALL {
        let frame = a.render(&pose(v), BW, BH);
        let want = if v.openness() >= 0.5 { 5 } else { 0 };
        assert_eq!(rgba_at(&frame, MOUTH), mouth_color(want).0, "{v:?}");
    }
    assert!(a.render(&pose(Viseme::D), BW, BH).data() != a.render(&pose(Viseme::X), BW, BH).data());
}

#[test]
fn pack_scales_to_fit_bottom_centred_and_bobs() {
    let dir = tempfile::tempdir().unwrap();
    write_pack(dir.path(), &nine());
    let a = Avatar::from_pack(dir.path()).unwrap();
    // Twice the size, in a wider layer: centred, standing on the bottom edge.
    let p = a.render(&pose(Viseme::X), 400, 200);
    assert_eq!((p.width(), p.height()), (400, 200));
    assert_eq!(p.pixel(10, 199).unwrap().alpha(), 0, "left margin is empty");
    assert_eq!(
        p.pixel(200, 199).unwrap().alpha(),
        255,
        "figure on the bottom"
    );
    assert_eq!(p.pixel(200, 2).unwrap().alpha(), 0, "above the head");
    let m = rgba_at(&p, (200, 200 - 2 * (BH - MOUTH.1)));
    assert_eq!(m, mouth_color(8).0, "the mouth scales with the figure");

    let at = |t: f64, amount: f32| {
        a.render(
            &Pose {
                time: t,
                motion: MotionSeed { seed: 9, amount },
                ..Pose::rest()
            },
            180,
            200,
        )
    };
    let moving = at(1.1, 1.0);
    let opaque = moving.pixels().iter().filter(|p| p.alpha() > 0).count();
    assert!(
        opaque > 180 * 200 / 3,
        "the moving figure is drawn ({opaque} pixels)"
    );
    assert!(at(0.0, 1.0).data() != moving.data(), "bob moves the figure");
    assert!(
        at(0.0, 0.0).data() == at(1.1, 0.0).data(),
        "no motion, no bob"
    );
    assert!(at(2.0, 1.0).data() == at(2.0, 1.0).data(), "deterministic");
    // The bob never lifts the figure off the bottom edge.
    for i in 0..40 {
        let f = at(f64::from(i) * 0.25, 1.0);
        assert_eq!(
            f.pixel(90, 199).unwrap().alpha(),
            255,
            "gap under the figure at {i}"
        );
    }
}

#[test]
fn identity_follows_the_files() {
    let dir = tempfile::tempdir().unwrap();
    write_pack(dir.path(), &nine());
    let first = Avatar::from_pack(dir.path()).unwrap().id();
    assert_eq!(first, Avatar::from_pack(dir.path()).unwrap().id());
    // `load` accepts the folder or its avatar.toml.
    let spec = dir.path().to_str().unwrap();
    assert_eq!(Avatar::load(spec).unwrap().id(), first);
    let toml = dir.path().join("avatar.toml");
    assert_eq!(Avatar::load(toml.to_str().unwrap()).unwrap().id(), first);
    // Changing one mouth image changes the identity.
    save(
        dir.path(),
        "mouth_C.png",
        &blob(MOUTH, (7, 4), Rgba([1, 2, 3, 255])),
    );
    assert_ne!(Avatar::from_pack(dir.path()).unwrap().id(), first);
}

#[test]
fn name_defaults_to_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("my-presenter");
    std::fs::create_dir(&pack).unwrap();
    write_pack(&pack, &nine());
    let text = std::fs::read_to_string(pack.join("avatar.toml")).unwrap();
    std::fs::write(
        pack.join("avatar.toml"),
        text.replace("name = \"Test presenter\"\n", ""),
    )
    .unwrap();
    assert_eq!(Avatar::from_pack(&pack).unwrap().name(), "my-presenter");
}

/// Loads a pack after `edit` breaks it, and returns the error's message.
fn broken(edit: impl FnOnce(&Path)) -> (AvatarError, String) {
    let dir = tempfile::tempdir().unwrap();
    write_pack(dir.path(), &nine());
    edit(dir.path());
    let err = Avatar::from_pack(dir.path()).unwrap_err();
    let msg = err.to_string();
    let as_core: VidflowError = Avatar::from_pack(dir.path()).unwrap_err().into();
    assert_eq!(as_core.kind, ErrorKind::BadInput);
    (err, msg)
}

fn set_manifest(dir: &Path, f: impl FnOnce(String) -> String) {
    let p = dir.join("avatar.toml");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(p, f(text)).unwrap();
}

#[test]
fn missing_manifest_is_named() {
    let (err, msg) = broken(|d| std::fs::remove_file(d.join("avatar.toml")).unwrap());
    assert!(matches!(err, AvatarError::MissingManifest { .. }));
    assert!(msg.contains("avatar.toml"), "{msg}");
}

#[test]
fn missing_base_names_key_and_file() {
    let (err, msg) = broken(|d| std::fs::remove_file(d.join("base.png")).unwrap());
    assert!(matches!(err, AvatarError::MissingImage { .. }));
    assert!(msg.contains("`base`") && msg.contains("base.png"), "{msg}");
}

#[test]
fn undecodable_image_names_key_and_file() {
    let (err, msg) = broken(|d| std::fs::write(d.join("mouth_D.png"), b"not a png").unwrap());
    assert!(matches!(err, AvatarError::BadImage { .. }));
    assert!(
        msg.contains("mouths.D") && msg.contains("mouth_D.png"),
        "{msg}"
    );
}

#[test]
fn unknown_mouth_key_is_named() {
    let (err, msg) = broken(|d| set_manifest(d, |t| t + "Q = \"mouth_A.png\"\n"));
    assert!(matches!(err, AvatarError::Mouths { .. }));
    assert!(msg.contains("\"Q\""), "{msg}");
}

#[test]
fn incomplete_or_mixed_mouths_are_explained() {
    let (_, msg) = broken(|d| {
        set_manifest(d, |t| {
            t.replace("C = \"mouth_C.png\"\n", "")
                .replace("H = \"mouth_H.png\"\n", "")
        })
    });
    assert!(msg.contains("C, H"), "{msg}");
    let (_, msg) = broken(|d| set_manifest(d, |t| t + "open = \"mouth_D.png\"\n"));
    assert!(msg.contains("closed and open"), "{msg}");
    let (_, msg) = broken(|d| {
        set_manifest(d, |t| {
            t.split("[mouths]").next().unwrap().to_string() + "[mouths]\nopen = \"mouth_D.png\"\n"
        })
    });
    assert!(msg.contains("\"closed\""), "{msg}");
    let (_, msg) = broken(|d| set_manifest(d, |t| t.split("[mouths]").next().unwrap().into()));
    assert!(msg.contains("[mouths]") && msg.contains("missing"), "{msg}");
}

#[test]
fn overlay_of_the_wrong_size_is_named() {
    let (err, msg) = broken(|d| {
        RgbaImage::new(BW + 1, BH)
            .save(d.join("eyes_closed.png"))
            .unwrap()
    });
    assert!(matches!(err, AvatarError::SizeMismatch { .. }));
    assert!(msg.contains("eyes_closed") && msg.contains("91x100") && msg.contains("90x100"));
}

#[test]
fn bad_toml_and_unknown_keys_are_reported() {
    let (err, msg) = broken(|d| set_manifest(d, |t| t.replace("base = ", "base == ")));
    assert!(matches!(err, AvatarError::Manifest { .. }));
    assert!(msg.contains("avatar.toml"), "{msg}");
    let (_, msg) = broken(|d| set_manifest(d, |t| format!("eyes_opn = \"x.png\"\n{t}")));
    assert!(msg.contains("eyes_opn"), "{msg}");
    let (_, msg) = broken(|d| set_manifest(d, |t| t.replace("base = \"base.png\"\n", "")));
    assert!(msg.contains("base"), "{msg}");
}

#[test]
fn a_path_that_is_not_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain.txt");
    std::fs::write(&file, "x").unwrap();
    let err = Avatar::from_pack(&file).unwrap_err();
    assert!(matches!(err, AvatarError::NotAFolder { .. }));
    assert!(err.to_string().contains("plain.txt"));
    let err = Avatar::from_pack(&dir.path().join("absent")).unwrap_err();
    assert!(err.to_string().contains("absent"));
}

#[test]
fn files_outside_the_pack_are_refused() {
    // A valid image next to the pack folder, which a manifest must not be able to reach.
    let root = tempfile::tempdir().unwrap();
    let pack = root.path().join("pack");
    std::fs::create_dir(&pack).unwrap();
    write_pack(&pack, &nine());
    std::fs::copy(pack.join("mouth_A.png"), root.path().join("secret.png")).unwrap();
    let secret = root.path().join("secret.png").display().to_string();
    for (key, file) in [
        ("base", "../secret.png".to_string()),
        ("base", "./../pack/../secret.png".to_string()),
        ("base", secret.clone()),
        ("eyes_open", "../secret.png".to_string()),
        ("mouths.A", "../secret.png".to_string()),
    ] {
        write_pack(&pack, &nine());
        set_manifest(&pack, |t| match key {
            "base" => t.replace("base = \"base.png\"", &format!("base = {file:?}")),
            "eyes_open" => t.replace(
                "eyes_open = \"eyes_open.png\"",
                &format!("eyes_open = {file:?}"),
            ),
            _ => t.replace("A = \"mouth_A.png\"", &format!("A = {file:?}")),
        });
        let err = Avatar::from_pack(&pack).unwrap_err();
        assert!(
            matches!(err, AvatarError::OutsidePack { .. }),
            "{file}: {err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("`{key}`")) && msg.contains("outside the pack"),
            "{msg}"
        );
        let as_core: VidflowError = err.into();
        assert_eq!(as_core.kind, ErrorKind::BadInput);
    }
    // A link inside the pack that points out of it is refused too.
    #[cfg(unix)]
    {
        write_pack(&pack, &nine());
        std::os::unix::fs::symlink(root.path().join("secret.png"), pack.join("link.png")).unwrap();
        set_manifest(&pack, |t| {
            t.replace("base = \"base.png\"", "base = \"link.png\"")
        });
        let err = Avatar::from_pack(&pack).unwrap_err();
        assert!(matches!(err, AvatarError::OutsidePack { .. }), "{err}");
    }
    // Sub-folders inside the pack are fine.
    write_pack(&pack, &nine());
    std::fs::create_dir(pack.join("parts")).unwrap();
    std::fs::copy(pack.join("base.png"), pack.join("parts/base.png")).unwrap();
    set_manifest(&pack, |t| {
        t.replace("base = \"base.png\"", "base = \"parts/base.png\"")
    });
    Avatar::from_pack(&pack).unwrap();
}
