//! Mouth shapes.

use serde::{Deserialize, Serialize};

/// Rhubarb Lip Sync's nine mouth shapes.
///
/// A: closed (P, B, M); B: slightly open, clenched teeth (most consonants);
/// C: open (EH, AE); D: wide open (AA); E: slightly rounded (AO, ER);
/// F: puckered (UW, OW, W); G: teeth on lower lip (F, V); H: tongue up (L);
/// X: rest (silence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Viseme {
    A,
    B,
    C,
    D,
    E,
    F,
    G,
    H,
    X,
}

impl Viseme {
    /// All shapes in Rhubarb's order.
    pub const ALL: [Viseme; 9] = [
        Viseme::A,
        Viseme::B,
        Viseme::C,
        Viseme::D,
        Viseme::E,
        Viseme::F,
        Viseme::G,
        Viseme::H,
        Viseme::X,
    ];

    /// Shape for an ARPAbet phone (any case, stress digits ignored). Silence maps to X.
    pub fn from_arpabet(phone: &str) -> Viseme {
        let p: String = phone
            .chars()
            .filter(|c| c.is_ascii_alphabetic())
            .collect::<String>()
            .to_ascii_lowercase();
        match p.as_str() {
            "pau" | "sil" | "sp" | "h#" | "" => Viseme::X,
            "p" | "b" | "m" => Viseme::A,
            "f" | "v" => Viseme::G,
            "l" => Viseme::H,
            "uw" | "ow" | "w" | "oy" | "uh" => Viseme::F,
            "ao" | "er" | "r" => Viseme::E,
            "aa" | "aw" | "ay" | "ah" => Viseme::D,
            "eh" | "ae" | "ey" | "ih" | "iy" | "hh" | "y" => Viseme::C,
            // Remaining consonants: t d k g s z sh zh ch jh th dh n ng
            _ => Viseme::B,
        }
    }

    /// How open the mouth is, 0 (closed) to 1 (wide open); used by two-image sprite packs.
    pub fn openness(self) -> f32 {
        match self {
            Viseme::A | Viseme::X => 0.0,
            Viseme::B | Viseme::G | Viseme::H => 0.3,
            Viseme::E | Viseme::F => 0.5,
            Viseme::C => 0.7,
            Viseme::D => 1.0,
        }
    }

    /// The letter Rhubarb uses (`"A"`..`"H"`, `"X"`).
    pub fn letter(self) -> &'static str {
        match self {
            Viseme::A => "A",
            Viseme::B => "B",
            Viseme::C => "C",
            Viseme::D => "D",
            Viseme::E => "E",
            Viseme::F => "F",
            Viseme::G => "G",
            Viseme::H => "H",
            Viseme::X => "X",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arpabet_maps_to_rhubarb_shapes() {
        assert_eq!(Viseme::from_arpabet("pau"), Viseme::X);
        assert_eq!(Viseme::from_arpabet("M"), Viseme::A);
        assert_eq!(Viseme::from_arpabet("aa1"), Viseme::D);
        assert_eq!(Viseme::from_arpabet("f"), Viseme::G);
        assert_eq!(Viseme::from_arpabet("uw"), Viseme::F);
        assert_eq!(Viseme::from_arpabet("l"), Viseme::H);
        assert_eq!(Viseme::from_arpabet("t"), Viseme::B);
        assert_eq!(Viseme::from_arpabet("eh"), Viseme::C);
    }
}
