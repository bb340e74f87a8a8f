//! `fetch`: the page a request names (a URL or a local file, through the SSRF guard), or
//! the HTML it carries.

use std::sync::Arc;
use std::time::Duration;

use vidflow_core::{
    Artifact, BoxFuture, Config, ContentKey, DataType, ErrorKind, InputKeys, Inputs, MakeRequest,
    Page, Port, Source, Stage, StageContext, StageOptions, VidflowError,
};
use vidflow_fetch::{FetchPolicy, Fetcher};

/// Version of the stage's output; bump it to invalidate its cache entries.
const VERSION: u32 = 1;

/// How much longer the stage's time limit is than the fetcher's deadline.
const FETCH_BACKSTOP: Duration = Duration::from_secs(5);

/// Fetches the page.
pub struct FetchStage {
    fetcher: Fetcher,
    allow_private_network: bool,
}

impl FetchStage {
    /// The registry's factory: no options; limits come from the configuration (`[limits]`
    /// and `timeouts.fetch`).
    pub fn build(
        options: StageOptions<'_>,
        config: &Config,
    ) -> Result<Arc<dyn Stage>, VidflowError> {
        options.none()?;
        let policy = FetchPolicy::from_config(config);
        Ok(Arc::new(FetchStage {
            fetcher: Fetcher::new(policy)?,
            allow_private_network: config.allow_private_network,
        }))
    }
}

/// A page's key: HTML given inline by its bytes, a local file by its bytes (an edit makes
/// a new key), a remote page by its URL (kept for the cache's TTL) and the guard's policy.
///
/// The policy is part of a remote page's key because the cache is shared: a page fetched
/// by a run allowed onto private networks must never answer a run that is not (an API
/// user would read an intranet page through the cache). Keys chain, so every stage below
/// is kept apart too.
pub(crate) fn page_key(source: &Source, allow_private_network: bool) -> ContentKey {
    let key = ContentKey::builder("fetch", VERSION);
    match source {
        Source::Html { html, base_url } => key
            .param("base_url", base_url)
            .bytes("html", html.as_bytes())
            .build(),
        Source::Url(input) => {
            let mut key = key.param("input", input);
            match source.local_path() {
                Some(path) => {
                    if let Ok(bytes) = std::fs::read(path) {
                        key = key.bytes("file", &bytes);
                    }
                }
                // Public-only keys stay as they were, so existing cache entries still serve.
                None if allow_private_network => key = key.param("network", "private allowed"),
                None => {}
            }
            key.build()
        }
    }
}

impl Stage for FetchStage {
    fn inputs(&self) -> &[Port] {
        &[]
    }

    fn output(&self) -> DataType {
        DataType::Page
    }

    fn check(&self, request: &MakeRequest, _connected: &[DataType]) -> Result<(), VidflowError> {
        match request.source {
            Some(_) => Ok(()),
            None => Err(VidflowError::bad_input(
                "this workflow reads a page: give a URL, a path or HTML",
            )),
        }
    }

    fn key(&self, request: &MakeRequest, _inputs: InputKeys<'_>) -> ContentKey {
        match &request.source {
            Some(source) => page_key(source, self.allow_private_network),
            // Refused by `check`; a key that names the absence keeps plans total.
            None => ContentKey::builder("fetch", VERSION).build(),
        }
    }

    fn run<'a>(
        &'a self,
        ctx: &'a StageContext<'a>,
        _inputs: &'a Inputs,
    ) -> BoxFuture<'a, Result<Artifact, VidflowError>> {
        Box::pin(async move {
            match &ctx.request.source {
                Some(Source::Html { html, base_url }) => Ok(Artifact::from(Page {
                    requested: base_url.clone(),
                    final_url: base_url.clone(),
                    content_type: "text/html".into(),
                    charset: Some("utf-8".into()),
                    body: html.clone().into_bytes(),
                })),
                Some(Source::Url(input)) => {
                    let page = self.fetcher.fetch_page(input).await.map_err(|e| {
                        // A server that keeps failing is the user's URL's problem.
                        if e.kind == ErrorKind::Transient {
                            VidflowError::bad_input(e.message)
                        } else {
                            e
                        }
                    })?;
                    Ok(Artifact::from(page))
                }
                None => Err(VidflowError::bad_input(
                    "this workflow reads a page: give a URL, a path or HTML",
                )),
            }
        })
    }

    fn timeout(&self, config: &Config) -> Duration {
        // The fetcher's own deadline (`timeouts.fetch`, the whole body included) ends a slow
        // server first and names the page; this one is the backstop.
        Duration::from_secs(config.timeouts.fetch) + FETCH_BACKSTOP
    }

    fn weight(&self) -> f64 {
        2.0
    }

    fn estimate_seconds(&self, request: &MakeRequest) -> f64 {
        match &request.source {
            Some(s @ Source::Url(_)) if s.local_path().is_none() => 1.0,
            _ => 0.01,
        }
    }

    fn stores(&self, request: &MakeRequest) -> bool {
        !matches!(request.source, Some(Source::Html { .. }))
    }
}

/// Images a page's slides show, fetched relative to the page (a web page may not pull in
/// `file://` images); shared by the storyboard.
pub(crate) struct ImageFetcher {
    fetcher: Fetcher,
}

impl ImageFetcher {
    pub(crate) fn new(config: &Config) -> Result<ImageFetcher, VidflowError> {
        let policy = FetchPolicy::from_config(config);
        Ok(ImageFetcher {
            fetcher: Fetcher::new(policy)?,
        })
    }

    /// The image at `url`; relative to `page` when there is one.
    pub(crate) async fn fetch(
        &self,
        page: Option<&Page>,
        url: &str,
    ) -> Result<Vec<u8>, VidflowError> {
        match page {
            Some(p) => self.fetcher.fetch_image_for_page(p, url).await,
            None => self.fetcher.fetch_image(url).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_page_fetched_with_private_networks_allowed_has_its_own_key() {
        let remote = Source::Url("https://intranet.example/report".into());
        assert_ne!(
            page_key(&remote, true),
            page_key(&remote, false),
            "a private-network fetch must not answer a public-only run"
        );
        // Inline HTML never touches the network: one key whatever the policy.
        let html = Source::Html {
            html: "<p>Hi</p>".into(),
            base_url: "https://example.org/".into(),
        };
        assert_eq!(page_key(&html, true), page_key(&html, false));
    }
}
