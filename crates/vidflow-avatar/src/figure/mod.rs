//! The built-in vector presenters: their designs and the per-frame renderer.
//!
//! A figure is drawn in a fixed space of 360x400 units (head and shoulders, bottom-centred).
//! Everything that does not depend on the pose — silhouettes, gradients, hair, clothing, the
//! nine mouths — is turned into tiny-skia paths once, when the avatar is created
//! ([`art`]), and rendered into layers once per output size ([`layers`], with
//! [`crate::raster`]). A frame then only computes the motion transforms, composites the
//! layers under them, and draws the eyelids for the current blink as vectors ([`render`]).
//!
//! | file | holds |
//! |---|---|
//! | `geometry` | the figure space, where it lands in a layer, and the head's pivot and eyes |
//! | `design` | what a presenter is made of: palette, haircut, outfit, proportions |
//! | `presenters` | the built-in presenters' designs, by name |
//! | `steps` | the drawing steps a figure is built from |
//! | `art` | a design turned into those steps: neck, face, eyes, brows, in order |
//! | `eyes`, `hair`, `clothing`, `glasses` | the parts' shapes |
//! | `layers` | the steps pre-rendered once per output size, and their cache |
//! | `render` | one frame: motion, layers, eyelids, mouth |

mod art;
mod clothing;
mod design;
mod eyes;
mod geometry;
mod glasses;
mod hair;
mod layers;
mod presenters;
mod render;
mod steps;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tiny_skia::{Paint, Path, Stroke};

pub(crate) use design::Design;
pub(crate) use geometry::{FIGURE_H, FIGURE_W};
pub(crate) use presenters::design;

use crate::mouth::MouthArt;
use eyes::EyeCurves;
use layers::Raster;
use steps::Op;

/// A built-in presenter, prepared for rendering.
pub(crate) struct Figure {
    ops: Vec<Op>,
    eyes: [EyeCurves; 2],
    /// Both eyes' almonds: the clip of the eyeballs.
    eye_whites: Path,
    lid_paint: Paint<'static>,
    lash_paint: Paint<'static>,
    lash_stroke: Stroke,
    wing: bool,
    mouths: Vec<MouthArt>,
    /// Pre-rendered layers per output size; a video asks for one size every frame.
    rasters: Mutex<HashMap<(u32, u32), Arc<Raster>>>,
}
