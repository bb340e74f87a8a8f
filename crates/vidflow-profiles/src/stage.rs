//! Tuning as workflow stages: a search runs on the explainer's own storyboard, wherever
//! workflows run (the command line, a job of the HTTP API), reporting each trial as it
//! ends and making a JSON report.

use std::sync::Arc;

use vidflow_avatar::Avatar;
use vidflow_core::{
    Artifact, BoxFuture, Config, ContentKey, DataType, InputKeys, Inputs, MakeRequest, Port,
    Registry, Speech, Stage, StageContext, StageOptions, Timeline, VidflowError, WorkflowDef,
};

use crate::encode::EncodeTuning;
use crate::render::RenderTuning;
use crate::sample::EncodeSample;

/// The request's settings of a tuning stage (`params[kind]`), or the defaults.
fn settings<T: serde::de::DeserializeOwned + Default>(
    request: &MakeRequest,
    kind: &str,
) -> Result<T, VidflowError> {
    match request.params.get(kind) {
        None => Ok(T::default()),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| VidflowError::bad_input(format!("{kind} settings: {e}"))),
    }
}

fn presenter(request: &MakeRequest) -> Result<Avatar, VidflowError> {
    Avatar::load(&request.avatar).map_err(|e| VidflowError::bad_input(e.to_string()))
}

/// `tune_encode`: searches the encoder's settings on a sample of the storyboard's video.
/// Settings: `params.tune_encode` ([`EncodeTuning`]); its study goes to their `storage`, or
/// beside the request's output (`study.db`) when none is given.
pub struct TuneEncodeStage;

impl TuneEncodeStage {
    /// The registry's factory: no options (the request carries the settings).
    pub fn build(
        options: StageOptions<'_>,
        _config: &Config,
    ) -> Result<Arc<dyn Stage>, VidflowError> {
        options.none()?;
        Ok(Arc::new(TuneEncodeStage))
    }
}

impl Stage for TuneEncodeStage {
    fn inputs(&self) -> &[Port] {
        const PORTS: [Port; 1] = [Port::required(DataType::Timeline)];
        &PORTS
    }

    fn output(&self) -> DataType {
        DataType::Document
    }

    fn check(&self, request: &MakeRequest, _connected: &[DataType]) -> Result<(), VidflowError> {
        settings::<EncodeTuning>(request, "tune_encode")?.check()?;
        presenter(request).map(|_| ())
    }

    fn key(&self, request: &MakeRequest, inputs: InputKeys<'_>) -> ContentKey {
        let mut key = ContentKey::builder("tune_encode", 1)
            .param_json("settings", &request.params.get("tune_encode"))
            .param("avatar", &request.avatar);
        if let Some(t) = inputs.get(DataType::Timeline) {
            key = key.input(t);
        }
        key.build()
    }

    fn run<'a>(
        &'a self,
        ctx: &'a StageContext<'a>,
        inputs: &'a Inputs,
    ) -> BoxFuture<'a, Result<Artifact, VidflowError>> {
        Box::pin(async move {
            let mut options: EncodeTuning = settings(ctx.request, "tune_encode")?;
            if options.storage.is_none() {
                options.storage = Some(ctx.request.output.with_file_name("study.db"));
            }
            let timeline: Arc<Timeline> = inputs.need::<Timeline>()?.clone();
            let avatar = presenter(ctx.request)?;
            let cancel = ctx.cancel().clone();
            let progress = ctx.progress();
            let report = tokio::task::spawn_blocking(move || {
                let sample = EncodeSample::render(timeline, Some(avatar), options.seconds)?;
                crate::encode::tune(&sample, &options, &cancel, &|trial, done, total| {
                    progress.trial(trial);
                    progress.report(done as u64, total as u64);
                })
            })
            .await
            .map_err(|e| VidflowError::internal(format!("tuning stopped: {e}")))??;
            Ok(Artifact::from(report))
        })
    }

    /// A search is as long as its trials; the workflow may set `timeout_seconds`.
    fn timeout(&self, config: &Config) -> std::time::Duration {
        std::time::Duration::from_secs(config.timeouts.render)
    }

    /// A search measures this machine now: never taken from the cache.
    fn stores(&self, _request: &MakeRequest) -> bool {
        false
    }

    fn retries(&self) -> bool {
        false
    }

    fn weight(&self) -> f64 {
        75.0
    }

    fn estimate_seconds(&self, request: &MakeRequest) -> f64 {
        let options: EncodeTuning = settings(request, "tune_encode").unwrap_or_default();
        options.trials as f64 * options.seconds * 0.5
    }
}

/// `tune_render`: searches the render's throughput settings by rendering the storyboard's
/// video end to end. Settings: `params.tune_render` ([`RenderTuning`]).
pub struct TuneRenderStage {
    current: crate::render::RenderChoice,
}

impl TuneRenderStage {
    /// The registry's factory: no options; the configuration's settings are tried first.
    pub fn build(
        options: StageOptions<'_>,
        config: &Config,
    ) -> Result<Arc<dyn Stage>, VidflowError> {
        options.none()?;
        Ok(Arc::new(TuneRenderStage {
            current: crate::render::RenderChoice {
                threads: config.threads,
                chunk_frames: config.chunk_frames,
                render_ahead: config.render_ahead,
                preset: config.video.preset.clone(),
            },
        }))
    }
}

impl Stage for TuneRenderStage {
    fn inputs(&self) -> &[Port] {
        const PORTS: [Port; 2] = [
            Port::required(DataType::Timeline),
            Port::required(DataType::Speech),
        ];
        &PORTS
    }

    fn output(&self) -> DataType {
        DataType::Document
    }

    fn check(&self, request: &MakeRequest, _connected: &[DataType]) -> Result<(), VidflowError> {
        settings::<RenderTuning>(request, "tune_render")?;
        presenter(request).map(|_| ())
    }

    fn key(&self, request: &MakeRequest, inputs: InputKeys<'_>) -> ContentKey {
        let mut key = ContentKey::builder("tune_render", 1)
            .param_json("settings", &request.params.get("tune_render"));
        for data in [DataType::Timeline, DataType::Speech] {
            if let Some(k) = inputs.get(data) {
                key = key.input(k);
            }
        }
        key.build()
    }

    fn run<'a>(
        &'a self,
        ctx: &'a StageContext<'a>,
        inputs: &'a Inputs,
    ) -> BoxFuture<'a, Result<Artifact, VidflowError>> {
        Box::pin(async move {
            let mut options: RenderTuning = settings(ctx.request, "tune_render")?;
            if options.current.is_none() {
                options.current = Some(self.current.clone());
            }
            let timeline: Arc<Timeline> = inputs.need::<Timeline>()?.clone();
            let speech: Arc<Speech> = inputs.need::<Speech>()?.clone();
            let avatar = presenter(ctx.request)?;
            let cancel = ctx.cancel().clone();
            let progress = ctx.progress();
            let report = tokio::task::spawn_blocking(move || {
                crate::render::tune(
                    timeline,
                    speech,
                    Some(avatar),
                    &options,
                    &cancel,
                    &|trial, done, total| {
                        progress.trial(trial);
                        progress.report(done as u64, total as u64);
                    },
                )
            })
            .await
            .map_err(|e| VidflowError::internal(format!("tuning stopped: {e}")))??;
            Ok(Artifact::from(report))
        })
    }

    fn timeout(&self, config: &Config) -> std::time::Duration {
        std::time::Duration::from_secs(config.timeouts.render)
    }

    fn stores(&self, _request: &MakeRequest) -> bool {
        false
    }

    fn retries(&self) -> bool {
        false
    }

    fn weight(&self) -> f64 {
        75.0
    }
}

/// The tuning workflows, as shipped in `workflows/`.
const WORKFLOWS: [(&str, &str); 3] = [
    ("tune-encode", include_str!("../workflows/tune-encode.toml")),
    (
        "tune-encode-script",
        include_str!("../workflows/tune-encode-script.toml"),
    ),
    ("tune-render", include_str!("../workflows/tune-render.toml")),
];

/// Adds the tuning stage types (`tune_encode`, `tune_render`) and workflows
/// (`tune-encode`, `tune-encode-script`, `tune-render`) to `registry`.
pub fn register(registry: &mut Registry) {
    registry
        .register("tune_encode", TuneEncodeStage::build)
        .register("tune_render", TuneRenderStage::build);
    for (name, text) in WORKFLOWS {
        match WorkflowDef::from_toml(text) {
            Ok(def) => {
                registry.add_workflow(def);
            }
            // Shipped in the binary and tested: only a broken build gets here.
            Err(e) => tracing::error!("built-in workflow {name} does not parse: {e}"),
        }
    }
}
