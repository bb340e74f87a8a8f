//! `extract`: a page's main text, title and images.

use std::sync::Arc;
use std::time::Duration;

use vidflow_core::request::NO_BASE_URL;
use vidflow_core::{
    Article, Artifact, BoxFuture, Config, ContentKey, DataType, InputKeys, Inputs, MakeRequest,
    Page, Port, Stage, StageContext, StageOptions, VidflowError,
};

// 3: relative images of HTML given without a base URL are dropped.
// 4: boilerplate Readability keeps (link lists, captions, tail lines) is trimmed.
// 5: ruby readings (`<rt>`, `<rp>`) are left out of the text.
// 6: an article shown only in `<noscript>` is read.
const VERSION: u32 = 6;

/// Finds the main text of a page.
pub struct ExtractStage;

impl ExtractStage {
    /// The registry's factory: no options.
    pub fn build(
        options: StageOptions<'_>,
        _config: &Config,
    ) -> Result<Arc<dyn Stage>, VidflowError> {
        options.none()?;
        Ok(Arc::new(ExtractStage))
    }
}

impl Stage for ExtractStage {
    fn inputs(&self) -> &[Port] {
        const PORTS: [Port; 1] = [Port::required(DataType::Page)];
        &PORTS
    }

    fn output(&self) -> DataType {
        DataType::Article
    }

    fn key(&self, _request: &MakeRequest, inputs: InputKeys<'_>) -> ContentKey {
        let mut key = ContentKey::builder("extract", VERSION);
        if let Some(page) = inputs.get(DataType::Page) {
            key = key.input(page);
        }
        key.build()
    }

    fn run<'a>(
        &'a self,
        _ctx: &'a StageContext<'a>,
        inputs: &'a Inputs,
    ) -> BoxFuture<'a, Result<Artifact, VidflowError>> {
        Box::pin(async move {
            let page: Arc<Page> = inputs.need::<Page>()?.clone();
            let no_base = page.final_url.starts_with(NO_BASE_URL);
            let mut article = tokio::task::spawn_blocking(move || vidflow_extract::extract(&page))
                .await
                .map_err(crate::join_error)??;
            if no_base {
                let skipped = skip_unresolvable_images(&mut article);
                if skipped > 0 {
                    tracing::warn!(
                        skipped,
                        "{skipped} relative image(s) skipped: the HTML came without a base URL to resolve them against (give base_url in the API, or --base-url with a local file)"
                    );
                }
            }
            Ok(Artifact::from(article))
        })
    }

    fn timeout(&self, config: &Config) -> Duration {
        Duration::from_secs(config.timeouts.extract)
    }

    fn weight(&self) -> f64 {
        2.0
    }

    fn estimate_seconds(&self, _request: &MakeRequest) -> f64 {
        0.2
    }
}

/// Drops the images that were relative in HTML given with no base URL (they resolved against
/// [`NO_BASE_URL`] and can never be fetched); returns how many.
fn skip_unresolvable_images(article: &mut Article) -> usize {
    let before = article.images.len();
    article.images.retain(|i| !i.url.starts_with(NO_BASE_URL));
    before - article.images.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vidflow_core::ArticleImage;

    fn image(url: &str) -> ArticleImage {
        ArticleImage {
            url: url.into(),
            alt: None,
            near_paragraph: 0,
        }
    }

    #[test]
    fn relative_images_of_html_without_a_base_are_skipped_and_counted() {
        let mut article = Article {
            images: vec![
                image("https://page.invalid/img/a.png"),
                image("https://cdn.example/b.png"),
                image("data:image/png;base64,AAAA"),
                image("https://page.invalid/c.jpg"),
            ],
            ..Article::default()
        };
        assert_eq!(skip_unresolvable_images(&mut article), 2);
        let left: Vec<&str> = article.images.iter().map(|i| i.url.as_str()).collect();
        assert_eq!(
            left,
            ["https://cdn.example/b.png", "data:image/png;base64,AAAA"]
        );
    }
}
