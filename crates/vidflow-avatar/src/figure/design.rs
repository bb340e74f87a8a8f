//! What a built-in presenter is made of: palette, haircut, outfit and proportions.

use tiny_skia::Color;

/// Colours of one presenter.
#[derive(Clone, Copy)]
pub(crate) struct Palette {
    pub skin: Color,
    pub lip: Color,
    pub hair: Color,
    pub hair_light: Color,
    pub iris: Color,
    pub brow: Color,
    /// The outer garment.
    pub clothing: Color,
    /// The shirt or collar under it.
    pub shirt: Color,
    /// Tie, jewellery or glasses frames.
    pub accent: Color,
}

/// Haircuts the figures can wear.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Hair {
    /// Short, side-parted, swept across the forehead.
    SidePart,
    /// Shoulder-length waves with a side-swept fringe.
    LongWavy,
    /// Short rounded curls.
    Curly,
}

/// Clothing the figures can wear.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Outfit {
    /// Jacket with lapels over a collared shirt and tie.
    Blazer,
    /// Scoop-necked top with a pendant.
    Blouse,
    /// Crew-neck sweater over a collared shirt.
    Sweater,
}

/// The design of one built-in presenter.
#[derive(Clone, Copy)]
pub(crate) struct Design {
    pub palette: Palette,
    pub hair: Hair,
    pub outfit: Outfit,
    /// Half the face width at the cheekbones.
    pub face_half_w: f32,
    /// Half the neck width.
    pub neck_half_w: f32,
    /// Shoulder width relative to the default.
    pub shoulders: f32,
    /// Thickness of the upper lash line.
    pub lash: f32,
    /// A flick at the outer corner of the lash line.
    pub wing: bool,
    /// Brow thickness relative to the default.
    pub brow: f32,
    pub glasses: bool,
}
