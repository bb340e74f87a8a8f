//! `extract`: a page's main text, title and images.

use std::sync::Arc;
use std::time::Duration;

use vidflow_core::{
    Artifact, BoxFuture, Config, ContentKey, DataType, InputKeys, Inputs, MakeRequest, Page, Port,
    Stage, StageContext, StageOptions, VidflowError,
};

const VERSION: u32 = 2;

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
            let article = tokio::task::spawn_blocking(move || vidflow_extract::extract(&page))
                .await
                .map_err(crate::join_error)??;
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
