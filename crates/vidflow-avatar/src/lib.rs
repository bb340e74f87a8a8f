//! Animated presenters: built-in vector avatars and sprite packs, with Rhubarb mouth shapes,
//! blinks and idle motion.
//!
//! The renderer asks an [`Avatar`] for one transparent RGBA layer per frame, given a [`Pose`]
//! (mouth shape, how far the eyes are closed, the time and the motion seed) and a size. The
//! layer is a pure function of those inputs, so frames can be rendered in any order, on any
//! thread or machine, and still match.
//!
//! Three presenters are built in (`avatar_1`, `avatar_2`, `avatar_3`), drawn as vector art
//! with tiny-skia. A user can also bring a sprite pack: a folder with `avatar.toml` naming a
//! base image, optional eyes-open/closed overlays and mouth images (see [`Avatar::from_pack`]).
//!
//! ```
//! use vidflow_avatar::{Avatar, Pose};
//! use vidflow_core::{MotionSeed, Viseme};
//!
//! let presenter = Avatar::load("avatar_1")?;
//! let pose = Pose {
//!     viseme: Viseme::D,
//!     eye_closure: 0.0,
//!     time: 1.5,
//!     motion: MotionSeed { seed: 7, amount: 1.0 },
//! };
//! let layer = presenter.render(&pose, 360, 400);
//! assert_eq!((layer.width(), layer.height()), (360, 400));
//! // The background stays transparent, ready to composite over a slide.
//! assert_eq!(layer.pixel(0, 0).unwrap().alpha(), 0);
//! // Same pose, same pixels.
//! assert_eq!(layer.data(), presenter.render(&pose, 360, 400).data());
//! # Ok::<(), vidflow_avatar::AvatarError>(())
//! ```

mod draw;
mod error;
mod figure;
mod motion;
mod mouth;
mod pack;
mod raster;

use std::path::Path;
use std::sync::Arc;

pub use error::AvatarError;
pub use pack::MANIFEST;
pub use tiny_skia;
pub use vidflow_core::{MotionSeed, Viseme};

use figure::Figure;
use pack::SpritePack;
use tiny_skia::{IntRect, Pixmap};

/// The built-in presenters' names, in order.
const BUILTIN: &[&str] = &["avatar_1", "avatar_2", "avatar_3"];

/// Version of the built-in drawings; part of [`Avatar::id`], so cached frames of an older
/// drawing are never reused. Bump it whenever the figures' look changes.
const FIGURE_VERSION: u32 = 1;

/// What the presenter is doing at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    /// The mouth shape.
    pub viseme: Viseme,
    /// How far the eyes are closed: 0 open, 1 shut (values outside are clamped).
    pub eye_closure: f32,
    /// Seconds since the start of the video; drives the idle motion.
    pub time: f64,
    /// Phases and amplitude of the idle motion; amount 0 keeps the figure still.
    pub motion: MotionSeed,
}

impl Pose {
    /// Mouth at rest, eyes open, no motion: the pose of previews.
    pub fn rest() -> Pose {
        Pose {
            viseme: Viseme::X,
            eye_closure: 0.0,
            time: 0.0,
            motion: MotionSeed {
                seed: 0,
                amount: 0.0,
            },
        }
    }
}

#[derive(Clone)]
enum Kind {
    Vector(Arc<Figure>),
    Pack(Arc<SpritePack>),
}

/// A presenter that can be drawn in any [`Pose`]: a built-in vector figure or a sprite pack.
///
/// Cheap to clone (the prepared drawing is shared) and safe to use from many threads.
#[derive(Clone)]
pub struct Avatar {
    name: String,
    id: String,
    kind: Kind,
}

impl std::fmt::Debug for Avatar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Avatar")
            .field("name", &self.name)
            .field("id", &self.id)
            .finish()
    }
}

impl Avatar {
    /// Names of the built-in presenters: `avatar_1`, `avatar_2`, `avatar_3`.
    pub fn builtin_names() -> &'static [&'static str] {
        BUILTIN
    }

    /// A built-in presenter by name; an unknown name is an error that lists the known ones.
    pub fn builtin(name: &str) -> Result<Avatar, AvatarError> {
        let design = figure::design(name).ok_or_else(|| AvatarError::UnknownAvatar {
            name: name.to_string(),
            known: BUILTIN.join(", "),
        })?;
        Ok(Avatar {
            name: name.to_string(),
            id: format!("builtin:{name}@v{FIGURE_VERSION}"),
            kind: Kind::Vector(Arc::new(Figure::build(&design))),
        })
    }

    /// Loads the sprite pack in folder `dir`.
    ///
    /// The folder holds `avatar.toml`:
    ///
    /// ```toml
    /// name = "My presenter"
    /// base = "base.png"              # required: the figure without eye or mouth detail
    /// eyes_open = "eyes_open.png"    # optional overlays, the same size as base
    /// eyes_closed = "eyes_closed.png"
    /// [mouths]                       # all nine A, B, C, D, E, F, G, H and X ...
    /// A = "mouth_A.png"
    /// # ... or just two: closed = "...", open = "..." (open from Viseme::openness() 0.5)
    /// ```
    ///
    /// Images may be PNG, JPEG, GIF or WebP; paths are relative to the folder. Errors name
    /// the file or key at fault.
    pub fn from_pack(dir: &Path) -> Result<Avatar, AvatarError> {
        let pack = SpritePack::load(dir)?;
        Ok(Avatar {
            name: pack.name.clone(),
            id: pack.id.clone(),
            kind: Kind::Pack(Arc::new(pack)),
        })
    }

    /// A built-in name, or else a sprite-pack folder (or its `avatar.toml`).
    pub fn load(spec: &str) -> Result<Avatar, AvatarError> {
        if BUILTIN.contains(&spec) {
            return Avatar::builtin(spec);
        }
        let path = Path::new(spec);
        if path.exists() {
            return Avatar::from_pack(&pack::pack_dir(path));
        }
        Err(AvatarError::UnknownAvatar {
            name: spec.to_string(),
            known: BUILTIN.join(", "),
        })
    }

    /// Stable identity for cache keys: the built-in name and drawing version, or a blake3
    /// hash of the pack's manifest and images.
    pub fn id(&self) -> String {
        self.id.clone()
    }

    /// The presenter's name: the built-in name, or the pack's `name` (else its folder name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Natural width over height of the figure (0.9 for the built-ins).
    pub fn aspect(&self) -> f32 {
        match &self.kind {
            Kind::Vector(_) => figure::FIGURE_W / figure::FIGURE_H,
            Kind::Pack(p) => p.aspect(),
        }
    }

    /// Draws the avatar for `pose` as a premultiplied RGBA layer, transparent background.
    ///
    /// The figure keeps its aspect, fills the layer's width or height and sits at the bottom
    /// centre. A zero width or height is drawn as 1.
    pub fn render(&self, pose: &Pose, width: u32, height: u32) -> Pixmap {
        let mut pixmap =
            Pixmap::new(width.max(1), height.max(1)).expect("avatar layer size fits in memory");
        self.render_onto(pose, &mut pixmap.as_mut());
        pixmap
    }

    /// Draws the avatar for `pose` over what `target` already holds (premultiplied RGBA),
    /// laid out as [`render`](Self::render) lays it out in a layer of the target's size.
    ///
    /// Drawing straight onto the background saves a presenter-sized layer and a second
    /// blend per frame; the result equals compositing `render`'s layer over the target up
    /// to rounding.
    ///
    /// ```
    /// use tiny_skia::{Color, Pixmap};
    /// use vidflow_avatar::{Avatar, Pose};
    ///
    /// let avatar = Avatar::builtin("avatar_1").unwrap();
    /// let mut card = Pixmap::new(90, 100).unwrap();
    /// card.fill(Color::from_rgba8(40, 60, 90, 255));
    /// avatar.render_onto(&Pose::rest(), &mut card.as_mut());
    /// assert!(card.pixels().iter().all(|p| p.alpha() == 255));
    /// ```
    pub fn render_onto(&self, pose: &Pose, target: &mut tiny_skia::PixmapMut<'_>) {
        match &self.kind {
            Kind::Vector(f) => f.render_onto(pose, target),
            Kind::Pack(p) => p.render_onto(pose, target),
        }
    }

    /// A PNG of the presenter at rest, for pickers and documentation.
    pub fn preview_png(&self, width: u32, height: u32) -> Vec<u8> {
        self.render(&Pose::rest(), width, height)
            .encode_png()
            .expect("encoding a pixmap to PNG in memory does not fail")
    }

    /// The pixels the mouth can change in a `width` x `height` layer, at rest (no motion).
    /// `None` for a pack whose mouth images are fully transparent.
    pub fn mouth_region(&self, width: u32, height: u32) -> Option<IntRect> {
        match &self.kind {
            Kind::Vector(f) => f.mouth_region(width, height),
            Kind::Pack(p) => p.mouth_region(width, height),
        }
    }

    /// The pixels blinking can change in a `width` x `height` layer, at rest (no motion).
    /// `None` for a pack without eye overlays.
    pub fn eye_region(&self, width: u32, height: u32) -> Option<IntRect> {
        match &self.kind {
            Kind::Vector(f) => f.eye_region(width, height),
            Kind::Pack(p) => p.eye_region(width, height),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avatar_is_shareable_across_threads() {
        fn check<T: Clone + Send + Sync>() {}
        check::<Avatar>();
    }
}
