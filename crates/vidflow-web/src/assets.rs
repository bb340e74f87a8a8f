//! The script, the stylesheet and the voice samples, compiled into the binary: nothing is
//! fetched from elsewhere and there is no front-end build step.

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
}

/// The page's script: plain JavaScript, no framework.
pub const APP_JS: &str = include_str!("../assets/app.js");
/// The stylesheet: light and dark by `prefers-color-scheme`.
pub const STYLE_CSS: &str = include_str!("../assets/style.css");
/// The icon.
pub const ICON_SVG: &str = include_str!("../assets/icon.svg");

/// A short sample of each voice that has one (`docs/voices`, made by
/// `scripts/voice-samples`): the same paragraph, Opus in Ogg, about 40 kB each.
const VOICE_SAMPLES: &[(&str, &[u8])] = &[
    (
        "af_heart",
        include_bytes!("../../../docs/voices/af_heart.ogg"),
    ),
    (
        "am_michael",
        include_bytes!("../../../docs/voices/am_michael.ogg"),
    ),
    ("joe", include_bytes!("../../../docs/voices/joe.ogg")),
    ("slt", include_bytes!("../../../docs/voices/slt.ogg")),
];

/// Where the sample of voice `id` is served, if there is one.
pub fn voice_sample_url(id: &str) -> Option<String> {
    VOICE_SAMPLES
        .iter()
        .any(|(v, _)| *v == id)
        .then(|| format!("{}/assets/voice-{id}.ogg", crate::PREFIX))
}

/// The asset named `name` (as in `/ui/assets/NAME`).
pub fn get(name: &str) -> Option<Asset> {
    let (content_type, body): (&str, &[u8]) = match name {
        "app.js" => ("text/javascript; charset=utf-8", APP_JS.as_bytes()),
        "style.css" => ("text/css; charset=utf-8", STYLE_CSS.as_bytes()),
        "icon.svg" => ("image/svg+xml", ICON_SVG.as_bytes()),
        _ => {
            let id = name.strip_prefix("voice-")?.strip_suffix(".ogg")?;
            let (_, body) = VOICE_SAMPLES.iter().find(|(v, _)| *v == id)?;
            ("audio/ogg", body)
        }
    };
    Some(Asset { content_type, body })
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_assets_only() {
        assert!(super::get("app.js").is_some());
        assert!(
            super::get("style.css")
                .unwrap()
                .content_type
                .starts_with("text/css")
        );
        assert!(super::get("../Cargo.toml").is_none());
        assert!(super::get("voice-../app.js.ogg").is_none());
    }

    #[test]
    fn voice_samples_are_ogg_at_their_urls() {
        let url = super::voice_sample_url("af_heart").unwrap();
        let name = url.rsplit('/').next().unwrap();
        let sample = super::get(name).unwrap();
        assert_eq!(sample.content_type, "audio/ogg");
        assert!(sample.body.starts_with(b"OggS"));
        assert!(super::voice_sample_url("kal").is_none());
    }
}
