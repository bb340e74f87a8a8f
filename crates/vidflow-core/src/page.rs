//! A fetched web page.

use serde::{Deserialize, Serialize};

/// The bytes of a page as fetched, with where they finally came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// The URL or path the user asked for.
    pub requested: String,
    /// The URL after redirects (`file://` URL for local files). Relative links resolve against it.
    pub final_url: String,
    /// The media type without parameters, e.g. `text/html`.
    pub content_type: String,
    /// Character set named by the server or the page, if any.
    pub charset: Option<String>,
    /// The body exactly as received.
    pub body: Vec<u8>,
}
