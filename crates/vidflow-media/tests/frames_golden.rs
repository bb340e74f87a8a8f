//! Golden frames: a fixed set of frames, rendered through every output path
//! (`render_rgba`, `render_i420`, `render_i420_shared`), hashed with blake3 and compared
//! with hashes recorded from the renderer as it was before it moved onto the kernel
//! family. A single changed byte in any of them fails the test.
//!
//! The frames cover what the renderer draws: the title card, an image slide under Ken
//! Burns, text slides, both crossfades, subtitle cues (as given and re-wrapped), all nine
//! mouth shapes, blinks, idle motion and a still figure, a sprite pack, long Latin text
//! that wraps (hyphens, slashes, a word wider than its box), in landscape and portrait.
//!
//! When a change is *meant* to alter frames, run with `VIDFLOW_PRINT_GOLDEN=1` to print
//! the new table, and say why in the commit.

use std::sync::Arc;

use vidflow_avatar::Avatar;
use vidflow_core::{Cue, MotionSeed, Timeline, VideoSize};
use vidflow_media::{FrameRenderer, I420Frame, synthetic};

fn size(width: u32, height: u32) -> VideoSize {
    VideoSize { width, height }
}

/// Frames of the nine-second synthetic timeline (slides at 0, 3 and 6 s; crossfades over
/// frames 90–98 and 180–188; cues from 0.3 s every 2.5 s; blinks at 3.1 and 6.2 s).
/// 13–41 step through the viseme track's spans while the first cue speaks, so every
/// mouth shape is drawn; 400 is past the end.
const SUNSET_FRAMES: &[u64] = &[
    0, 13, 16, 20, 23, 27, 31, 34, 38, 41, 80, 92, 94, 97, 100, 120, 150, 175, 183, 186, 189, 200,
    240, 269, 400,
];

/// Fewer frames for the large sizes: the same moments, without the viseme walk.
const SUNSET_FRAMES_SHORT: &[u64] = &[0, 20, 94, 120, 175, 186, 200, 269];

/// A timeline whose texts must wrap: long titles and bodies with hyphens, slashes and a
/// word too wide for its box, and cues too long for two lines as given.
fn wrapping_timeline(size: VideoSize) -> Timeline {
    let mut tl = synthetic::timeline(size, 30, 9.0);
    tl.title = "State-of-the-art colour science: why the well-known sunset/sunrise \
                palette shifts — an in-depth, step-by-step look at Rayleigh scattering"
        .into();
    tl.slides[0].body = "Read-along notes (with e.g. cross-references) for everyone who \
                         ever wondered about Donaudampfschifffahrtsgesellschaftskapitänsmützen \
                         and sunsets alike."
        .into();
    tl.slides[1].heading =
        Some("Scattering, absorption and re-emission in a thick, long-path atmosphere".into());
    tl.slides[1].body = "Sunlight crossing more air at dusk loses its blue to scattering — \
                         the short-wavelength end of the spectrum (roughly 400–490 nm) is \
                         redirected many times over, leaving the long-wavelength reds, oranges \
                         and golds that reach an observer's eye at a low sun angle of 5°/10°."
        .into();
    tl.slides[2].heading = Some("What to look for, and where".into());
    tl.slides[2].body = "Pneumonoultramicroscopicsilicovolcanoconiosis-level dust aside: the \
                         clearer the air, the deeper the colours. After rain, sunsets glow \
                         the longest; over the sea, the horizon stays sharp; in cities, \
                         haze/smog washes the palette out into a pale, milky orange-grey."
        .into();
    tl.cues = vec![
        Cue {
            start: 0.3,
            end: 2.5,
            lines: vec![
                "This cue was given as three lines,".into(),
                "so the renderer has to re-wrap it".into(),
                "into two that fit the band below.".into(),
            ],
        },
        Cue {
            start: 2.8,
            end: 5.0,
            lines: vec![
                "A single, very long subtitle line with a well-known hyphenated phrase and \
                 a/b/c slashes that cannot fit on one line as it was given"
                    .into(),
            ],
        },
        Cue {
            start: 5.3,
            end: 8.5,
            lines: vec!["Short.".into(), "Two lines.".into()],
        },
    ];
    tl
}

/// One rendered case: a name, the renderer and the frames to check.
struct Case {
    name: String,
    renderer: FrameRenderer,
    frames: &'static [u64],
}

fn avatar(name: &str) -> Avatar {
    Avatar::builtin(name).expect("built-in avatar")
}

/// A small sprite pack drawn procedurally: base, eye overlays, closed and open mouths.
fn sprite_pack(dir: &std::path::Path) -> Avatar {
    let (w, h) = (90u32, 100u32);
    let save = |name: &str, f: &dyn Fn(u32, u32) -> [u8; 4]| {
        let img = image::RgbaImage::from_fn(w, h, |x, y| image::Rgba(f(x, y)));
        img.save(dir.join(name)).expect("write pack image");
    };
    let inside = |x: u32, y: u32, cx: f32, cy: f32, rx: f32, ry: f32| {
        let (dx, dy) = ((x as f32 - cx) / rx, (y as f32 - cy) / ry);
        dx * dx + dy * dy <= 1.0
    };
    save("base.png", &|x, y| {
        if inside(x, y, 45.0, 35.0, 24.0, 28.0) {
            [230, 190, 160, 255]
        } else if y > 62 && inside(x, y, 45.0, 100.0, 44.0, 38.0) {
            [40, 70, 140, 255]
        } else if inside(x, y, 45.0, 35.0, 26.0, 30.0) {
            [230, 190, 160, 128]
        } else {
            [0, 0, 0, 0]
        }
    });
    save("eyes_open.png", &|x, y| {
        if inside(x, y, 36.0, 30.0, 3.0, 3.5) || inside(x, y, 54.0, 30.0, 3.0, 3.5) {
            [20, 20, 30, 255]
        } else {
            [0, 0, 0, 0]
        }
    });
    save("eyes_closed.png", &|x, y| {
        if (y == 30 || y == 31) && ((32..41).contains(&x) || (50..59).contains(&x)) {
            [20, 20, 30, 255]
        } else {
            [0, 0, 0, 0]
        }
    });
    save("closed.png", &|x, y| {
        if y == 48 && (38..53).contains(&x) {
            [120, 40, 40, 255]
        } else {
            [0, 0, 0, 0]
        }
    });
    save("open.png", &|x, y| {
        if inside(x, y, 45.0, 48.0, 8.0, 5.0) {
            [90, 20, 30, 230]
        } else {
            [0, 0, 0, 0]
        }
    });
    std::fs::write(
        dir.join("avatar.toml"),
        "name = \"Golden pack\"\nbase = \"base.png\"\neyes_open = \"eyes_open.png\"\n\
         eyes_closed = \"eyes_closed.png\"\n[mouths]\nclosed = \"closed.png\"\nopen = \"open.png\"\n",
    )
    .expect("write pack manifest");
    Avatar::from_pack(dir).expect("load the golden sprite pack")
}

fn cases(pack_dir: &std::path::Path) -> Vec<Case> {
    let new = |tl: Timeline, a: Avatar| {
        FrameRenderer::new(Arc::new(tl), Some(a)).expect("renderer for a golden case")
    };
    let mut out = Vec::new();
    for (w, h, frames) in [
        (1280, 720, SUNSET_FRAMES),
        (1920, 1080, SUNSET_FRAMES_SHORT),
        (1080, 1920, SUNSET_FRAMES_SHORT),
        (854, 480, SUNSET_FRAMES_SHORT),
    ] {
        out.push(Case {
            name: format!("sunset/avatar_1/{w}x{h}"),
            renderer: new(synthetic::timeline(size(w, h), 30, 9.0), avatar("avatar_1")),
            frames,
        });
    }
    // A still figure: the presenter's layers are placed at whole pixels (exact copies).
    let mut still = synthetic::timeline(size(1280, 720), 30, 9.0);
    still.motion = MotionSeed {
        seed: 3,
        amount: 0.0,
    };
    out.push(Case {
        name: "still/avatar_2/1280x720".into(),
        renderer: new(still, avatar("avatar_2")),
        frames: &[0, 20, 94, 120, 186, 200],
    });
    for (w, h) in [(1280, 720), (1080, 1920)] {
        out.push(Case {
            name: format!("wrapping/avatar_3/{w}x{h}"),
            renderer: new(wrapping_timeline(size(w, h)), avatar("avatar_3")),
            frames: &[0, 20, 94, 120, 186, 200, 230],
        });
    }
    let mut quiet = synthetic::timeline(size(1280, 720), 30, 9.0);
    quiet.burn_subtitles = false;
    out.push(Case {
        name: "pack/no-subtitles/1280x720".into(),
        renderer: new(quiet, sprite_pack(pack_dir)),
        frames: &[0, 20, 94, 120, 186, 200],
    });
    out
}

/// The first 128 bits of a blake3 hash, in hex: plenty to tell frames apart.
fn hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex()[..32].to_string()
}

/// One line per frame: `case frame rgba-hash i420-hash`.
fn rendered_table() -> Vec<String> {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut lines = Vec::new();
    for case in cases(dir.path()) {
        let r = &case.renderer;
        let s = r.size();
        let mut rgba = vec![0u8; (s.width * s.height * 4) as usize];
        let mut i420 = I420Frame::new(s);
        for &n in case.frames {
            r.render_rgba(n, &mut rgba);
            r.render_i420(n, &mut i420);
            let shared = r.render_i420_shared(n).into_bytes();
            assert!(
                shared == i420.data,
                "{} frame {n}: render_i420_shared and render_i420 disagree",
                case.name
            );
            lines.push(format!(
                "{} {n} {} {}",
                case.name,
                hash(&rgba),
                hash(&i420.data)
            ));
        }
    }
    lines
}

#[test]
fn frames_are_byte_identical_to_the_recorded_ones() {
    let got = rendered_table();
    if std::env::var_os("VIDFLOW_PRINT_GOLDEN").is_some() {
        println!("const GOLDEN: &str = \"\\\n{}\";", got.join("\n"));
    }
    let want: Vec<&str> = GOLDEN.lines().collect();
    let differing: Vec<String> = got
        .iter()
        .zip(&want)
        .filter(|(g, w)| g != w)
        .map(|(g, w)| format!("  got  {g}\n  want {w}"))
        .collect();
    assert!(
        differing.is_empty() && got.len() == want.len(),
        "{} of {} golden frames differ ({} rendered, {} recorded):\n{}",
        differing.len(),
        want.len(),
        got.len(),
        want.len(),
        differing.join("\n")
    );
}

/// Recorded at 6236f57, before the renderer moved onto the kernel family.
const GOLDEN: &str = "\
sunset/avatar_1/1280x720 0 e0cd8bf6301cf72ee7c4a3f6df56c1bc d7ff0e563f530a8c72367250d21dbb27
sunset/avatar_1/1280x720 13 3e0c6830010908d081a8c8eb6761266d f8624b61a402863db479326bc7d86fa3
sunset/avatar_1/1280x720 16 cc4c4e5fee33879ac3e31853dfddc8b9 e8f061167c1a0cccab2cf222ed982236
sunset/avatar_1/1280x720 20 09d44860c11595d79600f50dc8071c8e 6b4dbc8c1b3f2e5326a54244e5dcd8a3
sunset/avatar_1/1280x720 23 171a00e219b2965ba4231b757379ca46 7863993611a3fa8877bc7eadbb86094a
sunset/avatar_1/1280x720 27 ae95e7836cc9dd3f182d12b4176eae3d 997162373925571da979171557c12634
sunset/avatar_1/1280x720 31 67e314528870ea48d26e5ff6572667b7 5b3403ba8c82f2c264cd71e7c7c89acd
sunset/avatar_1/1280x720 34 3970ca39414957b60ecd44d5bf351be3 f71452ce0e7091efa9947e92eb3af410
sunset/avatar_1/1280x720 38 843d9f2f7f5e236a68b8612da42ef0c0 c1d2d16d456b4c6b7130bde8ecae3846
sunset/avatar_1/1280x720 41 a3408af4126ede118c4f424895aad393 d5ec08e4b1c5a4844d04776342771664
sunset/avatar_1/1280x720 80 0d0955d68d24c13877c56c4bdb16b289 6234d32a276c1b201565006abcda8891
sunset/avatar_1/1280x720 92 a4fd3e929e6bf4839079a70a99c1a203 9f27bd9bd85ffca06cab18c93ef8c85c
sunset/avatar_1/1280x720 94 a3a0ea59ec7c7894def485b5ceaa08fd 254b71511405b48ef1344f637d4388b9
sunset/avatar_1/1280x720 97 524ee9721d188ce67205a084672d0579 83498753a48ad4a26cb212f064402d2f
sunset/avatar_1/1280x720 100 1b14173c26b0d57e0ca7d8b40d215536 7e686285d1ffa49067b9a45fda2200e8
sunset/avatar_1/1280x720 120 a048b815e0e02cd01dd2ba0dc661bb82 4fb6573ccb287442d645df92247751e4
sunset/avatar_1/1280x720 150 1ef95e1454134801faea4203b7c320b8 33deaaaee92e146049fd6d9f0780a6a6
sunset/avatar_1/1280x720 175 3d531cacaec203f260ff79db6b10f9c2 9c428cf37156775e6e804b3dc5d76c02
sunset/avatar_1/1280x720 183 f45a56abae5eb954a6cc561f2201bb7d 88aada8c0a24929e3ef44c6ea38f0f57
sunset/avatar_1/1280x720 186 010fc79d2669206462c7f10d716d2731 d49cbd8634c2cd74eca15a5a77b03031
sunset/avatar_1/1280x720 189 2d4da40adb4f760ff207e560fbf1d1e0 8d96ef851e3b722e71b3762949dacb28
sunset/avatar_1/1280x720 200 48c0c3de65a5edb01900dd0e5599cb23 723fe734845b1b6d2e01d576dae84dc0
sunset/avatar_1/1280x720 240 7e9d53f9d3bf30f145c2a80a249db525 537b1da8624800008cd7f46d3c01afb4
sunset/avatar_1/1280x720 269 95ac69f77dcd28e51b8f285616231121 eb053f71842da674e4d7c8d67afcf27a
sunset/avatar_1/1280x720 400 95ac69f77dcd28e51b8f285616231121 eb053f71842da674e4d7c8d67afcf27a
sunset/avatar_1/1920x1080 0 0c000b25e410b9ed457824a352388264 08504b28fd223fe263cdfbfb44809cd0
sunset/avatar_1/1920x1080 20 6f29e82cf042b470112177e500f51526 fdaf43f0a26a4aa58ef797e3d1b323a8
sunset/avatar_1/1920x1080 94 ab5f838fb1ce24550e852954bbead448 32e891849635dd1e7cc6800c930c6907
sunset/avatar_1/1920x1080 120 31a822882c9c82d092d103f4d2f2120c b81cc76528cfb97f8242fdf33ad21762
sunset/avatar_1/1920x1080 175 acb01e60414e4c5dda72ab1b014c3747 ddad26923059947bc45530c0de10f000
sunset/avatar_1/1920x1080 186 96b029cc238d76a9d84d99f5a3f50c41 47ebd4f1b7c12ee464dc6e3f2fdb66c6
sunset/avatar_1/1920x1080 200 b1d9a9f9b0822078d72b3a72630933bf 1747aa6c10361f78273ecce1248bb796
sunset/avatar_1/1920x1080 269 0c38399971f445c0ad67bf9a90a74d4b 5f7d5ef51dc088ce77903a60a7ef0607
sunset/avatar_1/1080x1920 0 5f449369e8a5c97090ad633c1523e711 bb636944599feb452514d6daabcddd44
sunset/avatar_1/1080x1920 20 9debc987d07be3560d41919210f40496 b923cd85f1e1901a25627d21c9a370e2
sunset/avatar_1/1080x1920 94 ae0805e9f31bc2a7392038a565e932c6 e0fb6c65dc6a601484148e530dfc1862
sunset/avatar_1/1080x1920 120 dbe83dfcf87b781e61de812c9425c9f6 0387de5ab71c8d8ae85ccbddf9aab446
sunset/avatar_1/1080x1920 175 446a5f30b8dac3b7dcbc9c84e7a09870 9429082846074ffb914f260238e574fc
sunset/avatar_1/1080x1920 186 c499175ccce21538d92a49b9a84db9cf 8fa424dc99e8f090f12f3db6ee1d083e
sunset/avatar_1/1080x1920 200 5ebe6fa8be866ee4f653ef19fe6f01f5 bac39c3f561adad1d4b9416490d1babb
sunset/avatar_1/1080x1920 269 5457d15b3f6a1e01ea60c39b764c3fcf 6fe553fbb7f9f10a0e32da9cf43776df
sunset/avatar_1/854x480 0 d250f1acaee4d9ea5deb5c49397ead16 84ed88ac9764df3e354ed1de0ab6b20c
sunset/avatar_1/854x480 20 cbbbcb8099c41238631111b871cba3dc 7cc65863138199eb264b6f04bc237add
sunset/avatar_1/854x480 94 52b0e995e4bd2c65d44b7a64fe89fa5f c7275bc6f2441fe5dadd86a2ddbc6eac
sunset/avatar_1/854x480 120 d05c273a9fa26089e14004688bc6e09c 1921d0b5fccea42b3ea9e749298edbf1
sunset/avatar_1/854x480 175 2e8aa56cd1190eeff7ab0fef92eb2e88 6b9b9e621c1ea8d51a97a900463ca17e
sunset/avatar_1/854x480 186 5b7365db6233428cef29f8fffaa79c67 9011ed90ba6715370274a281af9dd891
sunset/avatar_1/854x480 200 038f403925684e8bcbd534ae76893137 10d7d82b6e794d2d082f8c68d636d906
sunset/avatar_1/854x480 269 506cc1c675e1f2585e1340cc69d925cb 6313bb0b78ace22ecc6bc7ad0c4115de
still/avatar_2/1280x720 0 8918e3eb63ce48649e2b01313d6c99bd 2f03b4cd17ec1e106303f91a94dbe7fe
still/avatar_2/1280x720 20 3f66ea162dbaecef6c3067282d62ad83 afaa3ba305db5c1f8a2989f9d1cfa783
still/avatar_2/1280x720 94 ee31a401c591d9fd4b6cc1e2b5790bad c8cf91053947b33b851fa116ab56eac5
still/avatar_2/1280x720 120 4e2f21a9b2b8adbc9d3aefe416234519 45cba3841beaeef85f44fbbb4a4bf158
still/avatar_2/1280x720 186 f6e3cb2bdcad418bd53988b65ce356e1 07eb180cbc7328c012ff53226beecb0d
still/avatar_2/1280x720 200 f79d74907a7371f44cd06e9d283666ab e1ca7147921e5e2b8b1c2898767c3168
wrapping/avatar_3/1280x720 0 af6ba67f8e2e5ca3d1a6451fec75733d 8b1227dccdf65f364178d64a2bc9b7a9
wrapping/avatar_3/1280x720 20 8641cdb8b461160a7bea6cc51a015885 a0884eebf8d00af5741b6f286dcf5211
wrapping/avatar_3/1280x720 94 3dc8b4d9416c4e23572f2b483604c988 5eb8ff69c0ce069da074e9e5395d633d
wrapping/avatar_3/1280x720 120 b0cc80b9c7a22d0fe7aafde633fbfa27 113a634a662b4afe1167fc4449dc703a
wrapping/avatar_3/1280x720 186 499d39d76a47326ccbe98ccd9630cc08 1ec03edb5b568dc20bb6946124dfcf88
wrapping/avatar_3/1280x720 200 acfd7fd31ca6e3a8401ad50f16036b8b 505fa0483fe8b0a8cf2af039f12a7540
wrapping/avatar_3/1280x720 230 f60477d2c3c7adcc25307bbe5e34d370 32b0ad68ffb930e36a39a5866e6df7f6
wrapping/avatar_3/1080x1920 0 63f0586df923d4387bef7e9fa50a9f8d 9b7bc879502a8eec02c5d1319f375f31
wrapping/avatar_3/1080x1920 20 db4692bee532b68f94917c61b9269bd0 35bdfb750d0bf57d8b059d2f610f12d3
wrapping/avatar_3/1080x1920 94 5ac03c52bdcb49dda1be0182a4c5a07d 6361a3c0cf2ec920af61c7af31c61ff6
wrapping/avatar_3/1080x1920 120 d16253166438bcd6b06d82175454e814 fa8c5de718f0d9fe6ea6ea290934edb6
wrapping/avatar_3/1080x1920 186 2778e4014a9d7c0eb44ed4ae4c2c4d3a 2b61464c808943adafd412b058484ed0
wrapping/avatar_3/1080x1920 200 601cbeb7186a3ae1f3c85169eae85f69 0cdaca1f96ed7c1456004f3c51e06094
wrapping/avatar_3/1080x1920 230 2d16c3c8354ffb80f5613da87b55eb51 ec9f4e7fec22dca903586f90b77249fd
pack/no-subtitles/1280x720 0 ba20254d6cc49824c269a690b9e30b3d 0dd368858fba58935954331ae9853fcd
pack/no-subtitles/1280x720 20 69ca5e8fb40c3bd71c551b9efcc91558 81cdb321a5bc5ffbcf7b2c0e612bbb9a
pack/no-subtitles/1280x720 94 034a07854010a5eb9e496f80b890c620 353f3039bb667f56dc38698661caa25b
pack/no-subtitles/1280x720 120 1d0431dfa96c31679091643b7f0077b9 3872cb93fa4566d4da96dbedc788936e
pack/no-subtitles/1280x720 186 f8a29f38ed3612a414215a12fcdf79c0 53230645d640c78f812ce1b35b8538d5
pack/no-subtitles/1280x720 200 c3b03bb2cf051a58dbf3237867c4075d 621ad49dbd7f89508fd085efee4afa11
";
