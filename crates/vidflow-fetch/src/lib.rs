//! The fetch stage of vidflow: turns what the user typed (an `http(s)://` URL, a `file://`
//! URL, or a local path) into a [`vidflow_core::Page`], and fetches the images a page
//! refers to. It does so safely, because the URL may come from a stranger:
//!
//! - **SSRF guard**, on by default: loopback, private, link-local, CGNAT, multicast,
//!   unspecified and other non-public addresses are refused after DNS resolution (inside
//!   the client's resolver, see [`GuardedResolver`]), for IP-literal hosts before
//!   connecting, and again on every redirect hop. [`FetchPolicy::allow_private_network`]
//!   (`--allow-private-network`) lifts it for local use. The rule is [`is_forbidden_ip`].
//! - **Limits** (defaults; the config's `[limits]` and `timeouts.fetch` set them, see
//!   [`FetchPolicy::from_config`]): at most 5 redirects (followed by hand, each
//!   re-checked), 20 s per fetch in all (the body included, so a server trickling a byte a
//!   second is cut off), 10 MiB per page after gzip decoding and 8 MiB per image, read as a
//!   stream and abandoned at the limit; images declaring over 40 megapixels are refused
//!   before anything decodes them. A body in a `Content-Encoding` vidflow did not ask for
//!   (brotli, say) is refused.
//! - **Types**: pages must be HTML, XHTML or plain text; images must be images.
//! - **Errors** say what failed and why, and are classified: the user's fault is
//!   [`ErrorKind::BadInput`](vidflow_core::ErrorKind::BadInput); timeouts, dropped
//!   connections and 5xx answers are
//!   [`ErrorKind::Transient`](vidflow_core::ErrorKind::Transient), so the pipeline retries.
//!
//! ```
//! use vidflow_fetch::{FetchPolicy, Fetcher};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), vidflow_core::VidflowError> {
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("saved-page.html");
//! std::fs::write(&path, "<html><title>Saved</title><p>Hello</p></html>").unwrap();
//!
//! let fetcher = Fetcher::new(FetchPolicy::default())?;
//! let page = fetcher.fetch_page(path.to_str().unwrap()).await?;
//! assert_eq!(page.content_type, "text/html");
//! assert!(page.final_url.starts_with("file:///"));
//!
//! // The default policy will not reach into the local network.
//! let refused = fetcher.fetch_page("http://127.0.0.1:9/").await.unwrap_err();
//! assert!(refused.message.contains("--allow-private-network"));
//!
//! // Inline images decode without a network.
//! let gif = fetcher
//!     .fetch_image("data:image/gif;base64,R0lGODlhAQABAAAAACw=")
//!     .await?;
//! assert!(gif.starts_with(b"GIF89a"));
//! # Ok(())
//! # }
//! ```
//!
//! Fetching from the web looks the same:
//!
//! ```no_run
//! # async fn run() -> Result<(), vidflow_core::VidflowError> {
//! let fetcher = vidflow_fetch::Fetcher::new(Default::default())?;
//! let page = fetcher.fetch_page("https://example.org/some-article").await?;
//! println!("{} bytes of {} from {}", page.body.len(), page.content_type, page.final_url);
//! # Ok(())
//! # }
//! ```

mod data_url;
mod fetcher;
mod guard;
mod local;
mod media;

#[cfg(test)]
mod hop_tests;
#[cfg(test)]
#[path = "../tests/common/mod.rs"]
mod test_server;

pub use data_url::{DataUrl, decode_data_url};
pub use fetcher::{FetchPolicy, Fetcher};
pub use guard::{
    ForbiddenAddress, GuardedResolver, LookupFailure, forbidden_reason, is_forbidden_ip,
};
