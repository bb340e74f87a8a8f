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

    /// Shape for an IPA phone as a neural voice reports it (`"ɑː"`, `"ɹ"`, `"pau"` for
    /// silence): its first symbol decides, length marks and diacritics after it do not change
    /// the mouth. The groups follow [`Viseme::from_arpabet`]'s, phone for phone (`ɑ` is `aa`,
    /// `ɚ` is `er`, `ə` is `ah`), so both engines move the mouth alike.
    pub fn from_ipa(phone: &str) -> Viseme {
        if phone == "pau" {
            return Viseme::X;
        }
        let Some(first) = phone.chars().next() else {
            return Viseme::X;
        };
        match first {
            'p' | 'b' | 'm' | 'ʙ' | 'ɓ' => Viseme::A,
            'f' | 'v' | 'ɱ' | 'ʋ' | 'ɸ' | 'β' => Viseme::G,
            'l' | 'ɫ' | 'ɬ' | 'ɮ' | 'ɭ' | 'ʎ' | 'ʟ' | 'ɺ' => Viseme::H,
            'u' | 'ʊ' | 'o' | 'w' | 'ʍ' | 'ɥ' | 'y' | 'ʏ' | 'ø' | 'ɵ' | 'ʉ' => Viseme::F,
            'ɔ' | 'ɒ' | 'ɚ' | 'ɝ' | 'ɜ' | 'ɹ' | 'r' | 'ɻ' | 'ʁ' | 'œ' | 'ɞ' => Viseme::E,
            'a' | 'ɑ' | 'ɐ' | 'ʌ' | 'ə' | 'ɶ' => Viseme::D,
            'e' | 'ɛ' | 'æ' | 'i' | 'ɪ' | 'ɨ' | 'ᵻ' | 'ɘ' | 'ɤ' | 'ɯ' | 'j' | 'h' | 'ɦ' | 'ç' => {
                Viseme::C
            }
            c if c.is_whitespace() || c.is_ascii_punctuation() => Viseme::X,
            // Remaining consonants: t d k ɡ s z ʃ ʒ θ ð n ŋ ɾ ʔ x and the like.
            _ => Viseme::B,
        }
    }

    /// Shape for a phone in either alphabet: ARPAbet as Flite reports it, or IPA as the neural
    /// voices do.
    ///
    /// ARPAbet phones are ASCII; so are a few IPA phones. Where a single letter is a phone in
    /// both with the same sound (`b`, `m`, `s`, `w`, ...) either reading gives the same shape;
    /// the letters that are IPA vowels or glides and no ARPAbet phone (`a e i o u j h x`) are
    /// read as IPA. Everything else ASCII is read as ARPAbet, exactly as before.
    pub fn from_phone(phone: &str) -> Viseme {
        let ipa_only = matches!(phone, "a" | "e" | "i" | "o" | "u" | "j" | "h" | "x");
        if phone.is_ascii() && !ipa_only {
            Viseme::from_arpabet(phone)
        } else {
            Viseme::from_ipa(phone)
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

    #[test]
    fn ipa_maps_like_the_matching_arpabet() {
        // (IPA as espeak-ng writes it, the ARPAbet phone for the same sound)
        let pairs = [
            ("pau", "pau"),
            ("m", "m"),
            ("b", "b"),
            ("ɑː", "aa"),
            ("ʌ", "ah"),
            ("ə", "ah"),
            ("æ", "ae"),
            ("ɛ", "eh"),
            ("iː", "iy"),
            ("ɪ", "ih"),
            ("uː", "uw"),
            ("ʊ", "uh"),
            ("o", "ow"),
            ("ɔː", "ao"),
            ("ɚ", "er"),
            ("ɹ", "r"),
            ("f", "f"),
            ("v", "v"),
            ("l", "l"),
            ("w", "w"),
            ("j", "y"),
            ("h", "hh"),
            ("θ", "th"),
            ("ð", "dh"),
            ("ʃ", "sh"),
            ("ŋ", "ng"),
            ("ɡ", "g"),
            ("t", "t"),
            ("ɾ", "t"),
        ];
        for (ipa, arpabet) in pairs {
            assert_eq!(
                Viseme::from_ipa(ipa),
                Viseme::from_arpabet(arpabet),
                "{ipa} vs {arpabet}"
            );
            assert_eq!(
                Viseme::from_phone(ipa),
                Viseme::from_arpabet(arpabet),
                "{ipa}"
            );
        }
        assert_eq!(Viseme::from_ipa(""), Viseme::X);
    }

    #[test]
    fn from_phone_reads_flite_phones_as_before() {
        for phone in [
            "pau", "aa", "ae", "ah", "ao", "aw", "ax", "ay", "ch", "dh", "eh", "er",
        ] {
            assert_eq!(
                Viseme::from_phone(phone),
                Viseme::from_arpabet(phone),
                "{phone}"
            );
        }
        for phone in [
            "hh", "ih", "iy", "jh", "ng", "ow", "oy", "sh", "th", "uh", "uw", "zh",
        ] {
            assert_eq!(
                Viseme::from_phone(phone),
                Viseme::from_arpabet(phone),
                "{phone}"
            );
        }
    }
}
