//! The script and stylesheet, compiled into the binary: nothing is fetched from elsewhere
//! and there is no front-end build step.

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

/// The asset named `name` (as in `/ui/assets/NAME`).
pub fn get(name: &str) -> Option<Asset> {
    let (content_type, body) = match name {
        "app.js" => ("text/javascript; charset=utf-8", APP_JS),
        "style.css" => ("text/css; charset=utf-8", STYLE_CSS),
        "icon.svg" => ("image/svg+xml", ICON_SVG),
        _ => return None,
    };
    Some(Asset {
        content_type,
        body: body.as_bytes(),
    })
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
    }
}
