//! The web page of vidflow: what a person finds at `http://127.0.0.1:8080/` when
//! `vidflow serve` runs. A new-video form, live progress, the result with its captions and
//! texts, the jobs, the tuning studies and the service's status.
//!
//! This crate knows nothing of HTTP serving: it makes HTML ([`pages`]), hands out the
//! script and stylesheet compiled into the binary ([`assets`]) and draws a study's trials
//! as SVG ([`charts`]). The server mounts them and sends [`CONTENT_SECURITY_POLICY`] with
//! every page. Pages are shells: the data comes from the JSON API, fetched by the script
//! with the API key the person typed (kept in `sessionStorage`, never in a URL).
//!
//! ```
//! use vidflow_web::pages::{self, Catalog, Choice};
//!
//! let catalog = Catalog {
//!     avatars: vec![Choice { id: "avatar_1".into(), label: "Ada".into() }],
//!     voices: vec![Choice { id: "slt".into(), label: "US English, female".into() }],
//!     auth: true,
//! };
//! let html = pages::new_video(&catalog).into_string();
//! assert!(html.contains("avatar_1"));
//! assert!(!html.contains("<script>"), "no inline script: the CSP forbids it");
//! ```

#![warn(missing_docs)]

pub mod assets;
pub mod charts;
pub mod pages;

/// The Content-Security-Policy of every page: everything from this origin only, no inline
/// script or style, no framing. `data:` images only for the browser's own favicon probe.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Where the pages live: `/` and everything under this prefix (pages and assets).
pub const PREFIX: &str = "/ui";

/// True for paths that are pages or assets (served to anyone: they hold no data).
pub fn is_page(path: &str) -> bool {
    path == "/" || path == PREFIX || path.starts_with("/ui/")
}
