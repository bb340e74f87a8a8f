//! Sprite packs: a presenter made of the user's own images.
//!
//! A pack is a folder with `avatar.toml`, a base image (the figure without eye or mouth
//! detail), optional eyes-open/eyes-closed overlays and either nine mouth overlays (Rhubarb's
//! A–H and X) or just `closed` and `open`. All overlays have the base image's size and are
//! composited over it. Layers are scaled once per output size and kept, so a frame is three
//! blits.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use image::imageops::FilterType;
use serde::Deserialize;
use tiny_skia::{IntRect, IntSize, Pixmap, PixmapMut, Transform};
use vidflow_core::Viseme;

use crate::Pose;
use crate::error::AvatarError;
use crate::motion::idle;
use crate::raster::{self, Layer};

/// The manifest's file name inside a pack folder.
pub const MANIFEST: &str = "avatar.toml";

/// The keys of `[mouths]` for a nine-shape pack.
const NINE: [&str; 9] = ["A", "B", "C", "D", "E", "F", "G", "H", "X"];

/// `avatar.toml` as written by the user.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    name: Option<String>,
    base: String,
    eyes_open: Option<String>,
    eyes_closed: Option<String>,
    mouths: Option<BTreeMap<String, String>>,
}

/// Which mouth image a viseme shows.
#[derive(Debug, Clone)]
enum Mouths {
    /// One image per shape, in [`Viseme::ALL`] order.
    Nine(Vec<Pixmap>),
    /// Closed and open; open from [`Viseme::openness`] 0.5 up.
    Two { closed: Pixmap, open: Pixmap },
}

/// The layers of one pack scaled and placed for one output size.
struct Scaled {
    /// Height of the scaled figure, in pixels.
    height: u32,
    base: Layer,
    eyes_open: Option<Layer>,
    eyes_closed: Option<Layer>,
    mouths: Vec<Layer>,
}

/// A loaded sprite pack.
pub(crate) struct SpritePack {
    pub name: String,
    pub id: String,
    base: Pixmap,
    eyes_open: Option<Pixmap>,
    eyes_closed: Option<Pixmap>,
    mouths: Mouths,
    /// Scaled layers per output size; a render worker pool asks for the same size every frame.
    scaled: Mutex<HashMap<(u32, u32), Arc<Scaled>>>,
}

/// How many output sizes keep their scaled layers before the cache starts over.
const SIZES_KEPT: usize = 8;

impl SpritePack {
    /// Loads and checks the pack in `dir`.
    pub(crate) fn load(dir: &Path) -> Result<SpritePack, AvatarError> {
        if !dir.is_dir() {
            return Err(AvatarError::NotAFolder {
                path: dir.to_path_buf(),
            });
        }
        let manifest_path = dir.join(MANIFEST);
        if !manifest_path.is_file() {
            return Err(AvatarError::MissingManifest {
                dir: dir.to_path_buf(),
            });
        }
        let text = std::fs::read(&manifest_path).map_err(|source| AvatarError::Read {
            path: manifest_path.clone(),
            source,
        })?;
        let manifest: Manifest = std::str::from_utf8(&text)
            .map_err(|e| e.to_string())
            .and_then(|s| toml::from_str(s).map_err(|e| e.to_string()))
            .map_err(|message| AvatarError::Manifest {
                path: manifest_path.clone(),
                message: message.trim_end().to_string(),
            })?;

        // The identity covers the manifest and every image's bytes, so editing any file of
        // the pack changes the cache keys of frames drawn with it.
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"vidflow sprite pack v1\0");
        hasher.update(&text);
        let mut read = |key: &str, file: &str| -> Result<Pixmap, AvatarError> {
            let path = inside_pack(dir, key, file)?;
            let bytes = std::fs::read(&path).map_err(|source| {
                if source.kind() == std::io::ErrorKind::NotFound {
                    AvatarError::MissingImage {
                        key: key.to_string(),
                        path: path.clone(),
                    }
                } else {
                    AvatarError::Read {
                        path: path.clone(),
                        source,
                    }
                }
            })?;
            hasher.update(key.as_bytes());
            hasher.update(&(bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
            decode(&bytes).map_err(|reason| AvatarError::BadImage {
                key: key.to_string(),
                path,
                reason,
            })
        };

        let base = read("base", &manifest.base)?;
        let size = (base.width(), base.height());
        let check = |key: &str, file: &str, img: Pixmap| -> Result<Pixmap, AvatarError> {
            if (img.width(), img.height()) == size {
                Ok(img)
            } else {
                Err(AvatarError::SizeMismatch {
                    key: key.to_string(),
                    path: dir.join(file),
                    got_w: img.width(),
                    got_h: img.height(),
                    want_w: size.0,
                    want_h: size.1,
                })
            }
        };
        let mut overlay =
            |key: &str, file: &Option<String>| -> Result<Option<Pixmap>, AvatarError> {
                match file {
                    Some(f) => {
                        let img = read(key, f)?;
                        check(key, f, img).map(Some)
                    }
                    None => Ok(None),
                }
            };
        let eyes_open = overlay("eyes_open", &manifest.eyes_open)?;
        let eyes_closed = overlay("eyes_closed", &manifest.eyes_closed)?;

        let mouth_problem = |problem: String| AvatarError::Mouths {
            path: manifest_path.clone(),
            problem,
        };
        let table = manifest.mouths.ok_or_else(|| {
            mouth_problem(
                "missing: give all nine shapes A, B, C, D, E, F, G, H and X, or closed and open"
                    .into(),
            )
        })?;
        if let Some(bad) = table
            .keys()
            .find(|k| !NINE.contains(&k.as_str()) && *k != "closed" && *k != "open")
        {
            return Err(mouth_problem(format!(
                "unknown key \"{bad}\": use A, B, C, D, E, F, G, H and X, or closed and open"
            )));
        }
        let two = table.contains_key("closed") || table.contains_key("open");
        let mouths = if two {
            if let Some(k) = table.keys().find(|k| NINE.contains(&k.as_str())) {
                return Err(mouth_problem(format!(
                    "mixes shape \"{k}\" with closed/open: give either all nine shapes or closed and open"
                )));
            }
            let need = |k: &str| {
                table.get(k).ok_or_else(|| {
                    mouth_problem(format!(
                        "has {} but not \"{k}\": a two-image pack needs both closed and open",
                        if k == "open" { "closed" } else { "open" }
                    ))
                })
            };
            let (closed_file, open_file) = (need("closed")?.clone(), need("open")?.clone());
            let closed = overlay("mouths.closed", &Some(closed_file))?.expect("given");
            let open = overlay("mouths.open", &Some(open_file))?.expect("given");
            Mouths::Two { closed, open }
        } else {
            let missing: Vec<&str> = NINE
                .iter()
                .copied()
                .filter(|k| !table.contains_key(*k))
                .collect();
            if !missing.is_empty() {
                return Err(mouth_problem(format!(
                    "missing shape{} {}: give all nine A, B, C, D, E, F, G, H and X, or closed and open",
                    if missing.len() > 1 { "s" } else { "" },
                    missing.join(", ")
                )));
            }
            let mut list = Vec::with_capacity(9);
            for k in NINE {
                let file = table[k].clone();
                list.push(overlay(&format!("mouths.{k}"), &Some(file))?.expect("given"));
            }
            Mouths::Nine(list)
        };

        let name = manifest
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| {
                dir.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "sprite pack".into())
            });
        Ok(SpritePack {
            name,
            id: format!("pack:{}", hasher.finalize().to_hex()),
            base,
            eyes_open,
            eyes_closed,
            mouths,
            scaled: Mutex::new(HashMap::new()),
        })
    }

    /// Width over height of the base image.
    pub(crate) fn aspect(&self) -> f32 {
        self.base.width() as f32 / self.base.height() as f32
    }

    fn mouth_layers(&self) -> Vec<&Pixmap> {
        match &self.mouths {
            Mouths::Nine(list) => list.iter().collect(),
            Mouths::Two { closed, open } => vec![closed, open],
        }
    }

    fn mouth_index(&self, v: Viseme) -> usize {
        match &self.mouths {
            Mouths::Nine(_) => Viseme::ALL.iter().position(|&x| x == v).unwrap_or(8),
            Mouths::Two { .. } => usize::from(v.openness() >= 0.5),
        }
    }

    /// The figure's placement in a `width` x `height` layer: (x, y, scaled w, scaled h).
    fn fit(&self, width: u32, height: u32) -> (i32, i32, u32, u32) {
        let (bw, bh) = (self.base.width() as f32, self.base.height() as f32);
        let s = (width as f32 / bw).min(height as f32 / bh);
        let w = ((bw * s).round() as u32).clamp(1, width);
        let h = ((bh * s).round() as u32).clamp(1, height);
        (((width - w) / 2) as i32, (height - h) as i32, w, h)
    }

    fn scaled(&self, width: u32, height: u32) -> Arc<Scaled> {
        let mut cache = self.scaled.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = cache.get(&(width, height)) {
            return s.clone();
        }
        let (x, y, w, h) = self.fit(width, height);
        let scale = |p: &Pixmap| {
            Layer::bordered(x, y, &resize(p, w, h)).expect("scaled size is at least 1x1")
        };
        let s = Arc::new(Scaled {
            height: h,
            base: scale(&self.base),
            eyes_open: self.eyes_open.as_ref().map(scale),
            eyes_closed: self.eyes_closed.as_ref().map(scale),
            mouths: self.mouth_layers().into_iter().map(scale).collect(),
        });
        if cache.len() >= SIZES_KEPT {
            cache.clear();
        }
        cache.insert((width, height), s.clone());
        s
    }

    /// Composites the pack for `pose` into a fresh `width` x `height` layer.
    pub(crate) fn render_onto(&self, pose: &Pose, out: &mut PixmapMut<'_>) {
        let s = self.scaled(out.width(), out.height());
        // The pack bobs down by up to 1.2% of its height. Only down: the figure stands on the
        // bottom edge, and lifting it would open a gap under it. Fractional offsets are
        // resampled, so the motion is smooth; no motion is an exact copy.
        let m = idle(pose.time, pose.motion);
        let amount = pose.motion.amount.clamp(0.0, 1.0);
        let bob = if amount > 0.0 {
            (amount + m.wave) * 0.5 * 0.012 * s.height as f32
        } else {
            0.0
        };
        let ts = Transform::from_translate(0.0, bob);
        let closed = pose.eye_closure.is_finite() && pose.eye_closure >= 0.5;
        let eyes = if closed { &s.eyes_closed } else { &s.eyes_open };
        let mouth = &s.mouths[self.mouth_index(pose.viseme)];
        let layers = [Some(&s.base), eyes.as_ref(), Some(mouth)];
        for layer in layers.into_iter().flatten() {
            raster::blit(out, layer, ts);
        }
    }

    /// The pixels any of `layers` paints, in a `width` x `height` layer at rest.
    fn region<'a>(
        &self,
        layers: impl Iterator<Item = &'a Pixmap>,
        width: u32,
        height: u32,
    ) -> Option<IntRect> {
        let mut acc: Option<(u32, u32, u32, u32)> = None;
        for layer in layers {
            if let Some((l, t, r, b)) = opaque_bounds(layer) {
                acc = Some(match acc {
                    None => (l, t, r, b),
                    Some((l0, t0, r0, b0)) => (l0.min(l), t0.min(t), r0.max(r), b0.max(b)),
                });
            }
        }
        let (l, t, r, b) = acc?;
        let (x, y, w, h) = self.fit(width.max(1), height.max(1));
        let sx = w as f32 / self.base.width() as f32;
        let sy = h as f32 / self.base.height() as f32;
        let left = x + (l as f32 * sx).floor() as i32 - 1;
        let top = y + (t as f32 * sy).floor() as i32 - 1;
        let right = x + (r as f32 * sx).ceil() as i32 + 1;
        let bottom = y + (b as f32 * sy).ceil() as i32 + 1;
        IntRect::from_ltrb(left, top, right, bottom)?.intersect(&IntRect::from_xywh(
            0,
            0,
            width.max(1),
            height.max(1),
        )?)
    }

    /// Where the mouth overlays paint.
    pub(crate) fn mouth_region(&self, width: u32, height: u32) -> Option<IntRect> {
        self.region(self.mouth_layers().into_iter(), width, height)
    }

    /// Where the eye overlays paint.
    pub(crate) fn eye_region(&self, width: u32, height: u32) -> Option<IntRect> {
        let layers = self.eyes_open.iter().chain(self.eyes_closed.iter());
        self.region(layers, width, height)
    }
}

/// Bounds (left, top, right, bottom; right/bottom exclusive) of the non-transparent pixels.
fn opaque_bounds(p: &Pixmap) -> Option<(u32, u32, u32, u32)> {
    let w = p.width() as usize;
    let mut b: Option<(u32, u32, u32, u32)> = None;
    for (i, px) in p.pixels().iter().enumerate() {
        if px.alpha() == 0 {
            continue;
        }
        let (x, y) = ((i % w) as u32, (i / w) as u32);
        b = Some(match b {
            None => (x, y, x + 1, y + 1),
            Some((l, t, r, bo)) => (l.min(x), t.min(y), r.max(x + 1), bo.max(y + 1)),
        });
    }
    b
}

/// The path of `file`, named by `key` in the manifest, if it lies inside the pack `dir`.
///
/// A pack may come from someone else, and the server loads packs by folder; a manifest that
/// names `/etc/passwd` or `../../secret.png` must not read (and report on) files outside it.
/// Names are checked as written (no absolute paths, no `..`), and then the resolved path
/// must still be inside the folder, which catches links that point out of it.
fn inside_pack(dir: &Path, key: &str, file: &str) -> Result<PathBuf, AvatarError> {
    use std::path::Component;
    let outside = || AvatarError::OutsidePack {
        key: key.to_string(),
        file: file.to_string(),
        dir: dir.to_path_buf(),
    };
    let relative = Path::new(file);
    let plain = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !plain {
        return Err(outside());
    }
    let path = dir.join(relative);
    // A missing file is reported as missing by the read that follows; only a file that
    // exists can be a link out of the pack.
    if let (Ok(real_dir), Ok(real)) = (dir.canonicalize(), path.canonicalize())
        && !real.starts_with(&real_dir)
    {
        return Err(outside());
    }
    Ok(path)
}

/// Decodes PNG, JPEG, GIF or WebP into a premultiplied pixmap.
fn decode(bytes: &[u8]) -> Result<Pixmap, String> {
    let img = image::load_from_memory(bytes).map_err(|e| e.to_string())?;
    let rgba = img.to_rgba8();
    let (w, h) = rgba.dimensions();
    let size = IntSize::from_wh(w, h).ok_or_else(|| "the image is empty (0 pixels)".to_string())?;
    let mut data = rgba.into_raw();
    for px in data.chunks_exact_mut(4) {
        let a = u16::from(px[3]);
        for c in &mut px[..3] {
            *c = ((u16::from(*c) * a + 127) / 255) as u8;
        }
    }
    Pixmap::from_vec(data, size).ok_or_else(|| "the image has an impossible size".to_string())
}

/// Resizes a premultiplied pixmap. Resampling premultiplied values avoids dark fringes at
/// transparent edges; the triangle filter never overshoots, so colour stays within alpha.
fn resize(p: &Pixmap, w: u32, h: u32) -> Pixmap {
    if p.width() == w && p.height() == h {
        return p.clone();
    }
    let img = image::RgbaImage::from_raw(p.width(), p.height(), p.data().to_vec())
        .expect("pixmap data is width*height*4 bytes");
    let mut data = image::imageops::resize(&img, w, h, FilterType::Triangle).into_raw();
    for px in data.chunks_exact_mut(4) {
        let a = px[3];
        for c in &mut px[..3] {
            *c = (*c).min(a);
        }
    }
    Pixmap::from_vec(data, IntSize::from_wh(w, h).expect("non-zero size"))
        .expect("data matches size")
}

/// Paths a spec may be, resolved: a folder, or `avatar.toml` inside one.
pub(crate) fn pack_dir(spec: &Path) -> PathBuf {
    if spec.file_name().is_some_and(|n| n == MANIFEST) && spec.is_file() {
        match spec.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    } else {
        spec.to_path_buf()
    }
}

impl std::fmt::Debug for SpritePack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpritePack")
            .field("name", &self.name)
            .field("id", &self.id)
            .field("size", &(self.base.width(), self.base.height()))
            .finish_non_exhaustive()
    }
}
