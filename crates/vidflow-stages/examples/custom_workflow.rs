//! A workflow of your own: a built-in stage (`script`, the user's own text) and a stage
//! type of your own (`shout`), wired in TOML, run twice on a cache. The second run takes
//! both stages from the cache.
//!
//! `cargo run -p vidflow-stages --example custom_workflow`

use std::sync::Arc;

use vidflow_cache::{MemoryCache, TieredCache};
use vidflow_core::{
    Artifact, BoxFuture, CancelFlag, Config, ContentKey, DataType, InputKeys, Inputs, MakeRequest,
    Port, Script, Stage, StageContext, VideoSize, VidflowError, WorkflowDef,
};
use vidflow_stages::{Engine, MakeOutput};

/// The new stage type: a script in capitals.
struct Shout;

impl Stage for Shout {
    /// It takes a script...
    fn inputs(&self) -> &[Port] {
        const PORTS: [Port; 1] = [Port::required(DataType::Script)];
        &PORTS
    }

    /// ...and makes one.
    fn output(&self) -> DataType {
        DataType::Script
    }

    /// Its output depends on its input alone: the key chains the input's key.
    fn key(&self, _request: &MakeRequest, inputs: InputKeys<'_>) -> ContentKey {
        let mut key = ContentKey::builder("shout", 1);
        if let Some(script) = inputs.get(DataType::Script) {
            key = key.input(script);
        }
        key.build()
    }

    fn run<'a>(
        &'a self,
        _ctx: &'a StageContext<'a>,
        inputs: &'a Inputs,
    ) -> BoxFuture<'a, Result<Artifact, VidflowError>> {
        Box::pin(async move {
            let mut script: Script = inputs.need::<Script>()?.as_ref().clone();
            for segment in &mut script.segments {
                segment.narration = segment.narration.to_uppercase();
            }
            Ok(Artifact::from(script))
        })
    }
}

const WORKFLOW: &str = r#"
id = "shouted"
description = "Your script, in capitals"

[[stages]]
id = "script"
type = "script"

[[stages]]
id = "shout"
type = "shout"
inputs = ["script"]
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The built-in stages and workflows, plus one stage type and one workflow.
    let mut registry = vidflow_stages::registry();
    registry.register("shout", |options, _config| {
        options.none()?;
        Ok(Arc::new(Shout))
    });
    registry.add_workflow(WorkflowDef::from_toml(WORKFLOW)?);

    let cache = TieredCache::new(vec![Arc::new(MemoryCache::new(16 << 20, None))]);
    let engine = Engine::with_registry(Config::default(), Arc::new(cache), registry)?;
    let request = MakeRequest {
        source: None,
        script_text: Some("Tide pools\n\nThe sea fills them twice a day.".into()),
        workflow: Some("shouted".into()),
        avatar: "avatar_1".into(),
        size: VideoSize {
            width: 1280,
            height: 720,
        },
        fps: 30,
        max_seconds: 30.0,
        voice: "slt".into(),
        preset: "veryfast".into(),
        crf: 23,
        subtitles: true,
        stop_after: None,
        output: std::env::temp_dir().join("shouted.json"),
    };
    for run in ["first", "second"] {
        let report = engine
            .make(&request, &|_| {}, CancelFlag::default())
            .await?;
        for stage in &report.stages {
            let from = if stage.cached { "cache" } else { "computed" };
            println!("{run} run: {:<7} {from:<8} {}", stage.stage, stage.key);
        }
        if let MakeOutput::Stage { output, .. } = &report.output {
            println!("{}", output["segments"][0]["narration"]);
        }
    }
    Ok(())
}
