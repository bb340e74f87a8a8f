//! `storyboard`: from script and speech to a [`Timeline`] — slides (with the page's images,
//! fetched here), subtitle cues, the viseme track and blinks.

mod timeline;

use std::sync::Arc;
use std::time::Duration;

use vidflow_core::{
    Article, Artifact, BoxFuture, Config, ContentKey, DataType, InputKeys, Inputs, MakeRequest,
    Page, Port, Script, Speech, Stage, StageContext, StageOptions, VidflowError,
};

use crate::fetch::ImageFetcher;

pub use timeline::{
    MAX_LINE_CHARS, MAX_LINES, StoryboardOptions, accent_for, blinks, build_timeline,
    subtitle_cues, viseme_track, wrap_lines,
};

const VERSION: u32 = 2;

/// Lays out the video.
pub struct StoryboardStage {
    images: ImageFetcher,
}

impl StoryboardStage {
    /// The registry's factory: no options; image fetches follow the fetch limits.
    pub fn build(
        options: StageOptions<'_>,
        config: &Config,
    ) -> Result<Arc<dyn Stage>, VidflowError> {
        options.none()?;
        Ok(Arc::new(StoryboardStage {
            images: ImageFetcher::new(config)?,
        }))
    }

    /// Fetches the images the script's slides show; one that fails is left out (its slide
    /// shows text only) rather than failing the video.
    async fn fetch_images(
        &self,
        article: &Article,
        script: &Script,
        page: Option<&Page>,
    ) -> Vec<Option<Vec<u8>>> {
        let mut out = vec![None; article.images.len()];
        for seg in &script.segments {
            if let Some(i) = seg.image
                && let Some(img) = article.images.get(i)
                && out[i].is_none()
            {
                match self.images.fetch(page, &img.url).await {
                    Ok(bytes) => out[i] = Some(bytes),
                    Err(e) => tracing::warn!("image {} skipped: {}", img.url, e.message),
                }
            }
        }
        out
    }
}

/// Where the page came from, as the video's footer names it.
fn source_label(request: &MakeRequest) -> &str {
    request.source.as_ref().map_or("", |s| s.label())
}

/// The host of a web address ("https://www.example.org/a" → "example.org"); `None` for a
/// local file or path, whose name says nothing about who published the page.
fn web_host(s: &str) -> Option<String> {
    let rest = s
        .trim()
        .strip_prefix("https://")
        .or_else(|| s.trim().strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = host.split(':').next().unwrap_or("");
    let host = host.strip_prefix("www.").unwrap_or(host);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The footer's text: a local file by its name, a URL without its scheme.
fn display_source(s: &str) -> String {
    let trimmed = s
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_start_matches("file://");
    if s.starts_with("file://") || std::path::Path::new(s).exists() {
        std::path::Path::new(trimmed)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| trimmed.to_owned())
    } else {
        trimmed.trim_end_matches('/').to_owned()
    }
}

impl Stage for StoryboardStage {
    fn inputs(&self) -> &[Port] {
        const PORTS: [Port; 4] = [
            Port::optional(DataType::Page),
            Port::optional(DataType::Article),
            Port::required(DataType::Script),
            Port::required(DataType::Speech),
        ];
        &PORTS
    }

    fn output(&self) -> DataType {
        DataType::Timeline
    }

    fn key(&self, request: &MakeRequest, inputs: InputKeys<'_>) -> ContentKey {
        let mut key = ContentKey::builder("storyboard", VERSION);
        for data in [DataType::Script, DataType::Speech] {
            if let Some(k) = inputs.get(data) {
                key = key.input(k);
            }
        }
        key = key
            .param("size", request.size.to_string())
            .param_json("fps", &request.fps)
            .param_json("subtitles", &request.subtitles)
            .param("source", source_label(request));
        // The article chains its page; a page alone (no article) is keyed by itself.
        match (inputs.get(DataType::Article), inputs.get(DataType::Page)) {
            (Some(article), _) => key = key.input(article),
            (None, Some(page)) => key = key.input(page),
            (None, None) => {}
        }
        key.build()
    }

    fn run<'a>(
        &'a self,
        ctx: &'a StageContext<'a>,
        inputs: &'a Inputs,
    ) -> BoxFuture<'a, Result<Artifact, VidflowError>> {
        Box::pin(async move {
            let req = ctx.request;
            let no_article = Article::default();
            let article = inputs.get::<Article>().map_or(&no_article, |a| a.as_ref());
            let script = inputs.need::<Script>()?;
            let speech = inputs.need::<Speech>()?;
            // Blinks and idle motion are seeded by the script, so a frame is a pure
            // function of the storyboard's inputs.
            let seed = inputs.key(DataType::Script).map_or(0, |k| {
                u64::from_le_bytes(
                    blake3::hash(k.as_str().as_bytes()).as_bytes()[..8]
                        .try_into()
                        .expect("8 bytes"),
                )
            });
            let page = inputs.get::<Page>().map(|p| p.as_ref());
            let images = self.fetch_images(article, script, page).await;
            let opts = StoryboardOptions {
                size: req.size,
                fps: req.fps,
                burn_subtitles: req.subtitles,
                source: display_source(source_label(req)),
                host: web_host(source_label(req)),
                seed,
            };
            Ok(Artifact::from(build_timeline(
                article, script, speech, &images, &opts,
            )))
        })
    }

    fn timeout(&self, config: &Config) -> Duration {
        Duration::from_secs(config.timeouts.storyboard)
    }

    fn weight(&self) -> f64 {
        5.0
    }

    fn estimate_seconds(&self, _request: &MakeRequest) -> f64 {
        0.3
    }
}

#[cfg(test)]
mod tests {
    use super::web_host;

    #[test]
    fn web_host_names_web_pages_only() {
        assert_eq!(
            web_host("https://www.Example.org:8443/a/b?x#y").as_deref(),
            Some("example.org")
        );
        assert_eq!(
            web_host("http://user@news.example/").as_deref(),
            Some("news.example")
        );
        assert_eq!(web_host("file:///tmp/index.html"), None);
        assert_eq!(web_host("./saved/index.html"), None);
        assert_eq!(web_host("https://"), None);
    }
}
