//! The sprite-pack loader: `avatar.toml` and its images, then a render of the pack.

use std::path::PathBuf;
use std::sync::OnceLock;

use vidflow_avatar::{Avatar, Pose, Viseme};

use crate::Target;

pub(super) const TARGET: Target = Target {
    name: "avatar",
    about: "vidflow_avatar::Avatar::from_pack on a pack folder (avatar.toml + images), then renders",
    run,
    tokens: &[
        b"\n--- ",
        b"avatar.toml\n",
        b"base = \"",
        b"eyes_open = \"",
        b"[mouths]\n",
        b"A = \"",
        b"closed = \"",
        b"open = \"",
        b"../",
        b"/etc/passwd",
        b"./",
        b"base.png",
        b"\"\n",
        b"IHDR",
        b"IDAT",
        b"IEND",
        b"\x89PNG\r\n\x1a\n",
        b"GIF89a",
        b"\xff\xd8\xff",
        b"RIFF",
        b"\x00\x00\xff\xff",
        b"\xff\xff\xff\x7f",
    ],
    nest: &[b"[", b"{a="],
    max_len: 1 << 20,
    test_inputs: 300,
};

/// An input is a pack written out as files: sections that start with a line
/// `--- <file name>` and hold that file's bytes. Names are kept to plain file names, so the
/// fuzzer writes only inside its own folder (what a manifest may *read* is the loader's
/// business, and part of what is tested).
fn files(input: &[u8]) -> Vec<(String, &[u8])> {
    let mut out = Vec::new();
    let mut rest = input;
    // The first section's marker may be at the very start, without a newline before it.
    if let Some(stripped) = rest.strip_prefix(b"--- ") {
        rest = stripped;
    } else {
        return out;
    }
    loop {
        let end = find(rest, b"\n--- ").unwrap_or(rest.len());
        let section = &rest[..end];
        let (name, body) = match section.iter().position(|&b| b == b'\n') {
            Some(nl) => (&section[..nl], &section[nl + 1..]),
            None => (section, &[][..]),
        };
        let name: String = String::from_utf8_lossy(name)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            .collect();
        // Names past a file system's 255-byte limit would fail to be written, which is the
        // harness's problem, not the loader's.
        let name: String = name.chars().take(100).collect();
        if !name.is_empty() && name != "." && name != ".." {
            out.push((name, body));
        }
        if end >= rest.len() {
            return out;
        }
        rest = &rest[end + 5..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn scratch_root() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("vidflow-fuzz-avatar")
            .tempdir()
            .expect("a temporary folder for packs");
        dir.keep()
    })
}

fn run(input: &[u8]) {
    let dir =
        scratch_root().join(format!("{:?}", std::thread::current().id()).replace(['(', ')'], ""));
    let pack = dir.join("pack");
    let _ = std::fs::remove_dir_all(&pack);
    std::fs::create_dir_all(&pack).expect("the pack folder is made");
    // A file beside the pack that no manifest may reach.
    std::fs::write(dir.join("secret.png"), b"outside").expect("the outside file is written");
    for (name, body) in files(input) {
        std::fs::write(pack.join(name), body).expect("a pack file is written");
    }
    let Ok(avatar) = Avatar::from_pack(&pack) else {
        return;
    };
    assert!(avatar.aspect().is_finite() && avatar.aspect() > 0.0);
    for (w, h) in [(64, 64), (37, 5), (1, 1)] {
        for viseme in [Viseme::X, Viseme::A, Viseme::D] {
            let pose = Pose {
                viseme,
                eye_closure: 1.0,
                ..Pose::rest()
            };
            let layer = avatar.render(&pose, w, h);
            assert_eq!((layer.width(), layer.height()), (w, h));
        }
        for region in [avatar.mouth_region(w, h), avatar.eye_region(w, h)]
            .into_iter()
            .flatten()
        {
            assert!(
                region.right() <= w as i32
                    && region.bottom() <= h as i32
                    && region.x() >= 0
                    && region.y() >= 0,
                "region {region:?} is outside the {w}x{h} layer"
            );
        }
    }
}
