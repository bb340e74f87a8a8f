//! A workflow of your own: a built-in stage (`script`, the user's own text) and a stage
//! type of your own (`shout`), wired in TOML, run twice on a cache. The second run takes
//! both stages from the cache.
//!
//! `cargo run -p vidflow-stages --example custom_workflow`

mod shout;

use std::sync::Arc;

use vidflow_cache::{MemoryCache, TieredCache};
use vidflow_core::{CancelFlag, Config, MakeRequest, VideoSize, WorkflowDef};
use vidflow_stages::{Engine, MakeOutput};

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
    registry.register("shout", shout::Shout::build);
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
        x264: Default::default(),
        subtitles: true,
        stop_after: None,
        params: Default::default(),
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
