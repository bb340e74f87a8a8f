//! The language of an article: declared by the page, or detected from its text.

use whatlang::Lang;

/// Reduces a declared language tag (`en-US`, `pt_BR`, `EN`) to its two-letter primary
/// subtag. Three-letter ISO 639-3 codes that have a two-letter form are shortened too, so
/// that downstream stages (voice choice) see one spelling per language.
pub fn normalise_tag(tag: &str) -> Option<String> {
    let primary = tag
        .trim()
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if !primary.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    match primary.len() {
        2 => Some(primary),
        3 => Some(
            Lang::from_code(primary.as_str())
                .and_then(two_letter)
                .map(str::to_owned)
                .unwrap_or(primary),
        ),
        _ => None,
    }
}

/// Guesses the language of `text`, as a two-letter code. Returns `None` when the detector is
/// not confident, because a wrong language picks a wrong voice, which is worse than the
/// default.
pub fn detect(text: &str) -> Option<String> {
    let info = whatlang::detect(text)?;
    if !info.is_reliable() {
        return None;
    }
    two_letter(info.lang()).map(str::to_owned)
}

/// ISO 639-1 code of a language whatlang knows (it speaks ISO 639-3).
fn two_letter(lang: Lang) -> Option<&'static str> {
    Some(match lang {
        Lang::Epo => "eo",
        Lang::Eng => "en",
        Lang::Rus => "ru",
        Lang::Cmn => "zh",
        Lang::Spa => "es",
        Lang::Por => "pt",
        Lang::Ita => "it",
        Lang::Ben => "bn",
        Lang::Fra => "fr",
        Lang::Deu => "de",
        Lang::Ukr => "uk",
        Lang::Kat => "ka",
        Lang::Ara => "ar",
        Lang::Hin => "hi",
        Lang::Jpn => "ja",
        Lang::Heb => "he",
        Lang::Yid => "yi",
        Lang::Pol => "pl",
        Lang::Amh => "am",
        Lang::Jav => "jv",
        Lang::Kor => "ko",
        Lang::Nob => "nb",
        Lang::Dan => "da",
        Lang::Swe => "sv",
        Lang::Fin => "fi",
        Lang::Tur => "tr",
        Lang::Nld => "nl",
        Lang::Hun => "hu",
        Lang::Ces => "cs",
        Lang::Ell => "el",
        Lang::Bul => "bg",
        Lang::Bel => "be",
        Lang::Mar => "mr",
        Lang::Kan => "kn",
        Lang::Ron => "ro",
        Lang::Slv => "sl",
        Lang::Hrv => "hr",
        Lang::Srp => "sr",
        Lang::Mkd => "mk",
        Lang::Lit => "lt",
        Lang::Lav => "lv",
        Lang::Est => "et",
        Lang::Tam => "ta",
        Lang::Vie => "vi",
        Lang::Urd => "ur",
        Lang::Tha => "th",
        Lang::Guj => "gu",
        Lang::Uzb => "uz",
        Lang::Pan => "pa",
        Lang::Aze => "az",
        Lang::Ind => "id",
        Lang::Tel => "te",
        Lang::Pes => "fa",
        Lang::Mal => "ml",
        Lang::Ori => "or",
        Lang::Mya => "my",
        Lang::Nep => "ne",
        Lang::Sin => "si",
        Lang::Khm => "km",
        Lang::Tuk => "tk",
        Lang::Aka => "ak",
        Lang::Zul => "zu",
        Lang::Sna => "sn",
        Lang::Afr => "af",
        Lang::Lat => "la",
        Lang::Slk => "sk",
        Lang::Cat => "ca",
        Lang::Tgl => "tl",
        Lang::Hye => "hy",
        Lang::Cym => "cy",
        // whatlang may learn languages this table does not know yet.
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_reduce_to_primary_subtag() {
        assert_eq!(normalise_tag("en-US").as_deref(), Some("en"));
        assert_eq!(normalise_tag(" pt_BR ").as_deref(), Some("pt"));
        assert_eq!(normalise_tag("FR").as_deref(), Some("fr"));
        assert_eq!(normalise_tag("deu").as_deref(), Some("de"));
        assert_eq!(normalise_tag("").as_deref(), None);
        assert_eq!(normalise_tag("english").as_deref(), None);
    }

    #[test]
    fn detects_clear_text() {
        let fr = "Le chat est assis sur le tapis et regarde les oiseaux qui chantent dans le jardin depuis ce matin.";
        assert_eq!(detect(fr).as_deref(), Some("fr"));
        let de = "Die Katze sitzt auf der Matte und beobachtet die Vögel, die seit heute Morgen im Garten singen.";
        assert_eq!(detect(de).as_deref(), Some("de"));
    }

    #[test]
    fn every_detectable_language_has_a_two_letter_code() {
        for lang in Lang::all() {
            assert!(
                two_letter(*lang).is_some(),
                "{lang:?} has no ISO 639-1 code"
            );
        }
    }
}
