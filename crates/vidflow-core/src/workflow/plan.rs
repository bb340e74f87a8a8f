//! Dry runs: what running a workflow would do, worked out without running it.

use serde::Serialize;

use crate::error::VidflowError;
use crate::progress::StageName;
use crate::request::MakeRequest;
use crate::stage::StageCache;

use super::Workflow;

/// What a run would do, worked out without running it: for `dry_run` requests.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The workflow that would run.
    pub workflow: String,
    /// The stages in order, each with its key and whether the cache holds its output.
    pub stages: Vec<PlannedStage>,
    /// Estimated wall time in seconds (stages served from the cache count as free).
    pub estimated_seconds: f64,
    /// Upper bound on the video's length, seconds (the narration budget).
    pub max_video_seconds: f64,
}

/// One stage of a [`Plan`].
#[derive(Debug, Clone, Serialize)]
pub struct PlannedStage {
    /// Which stage.
    pub stage: StageName,
    /// Its content key; `None` where it depends on what the stage before produces.
    pub key: Option<String>,
    /// Whether its output is in the cache (by index lookup); `None` when not known.
    pub cached: Option<bool>,
    /// The tier that holds it.
    pub backend: Option<String>,
    /// Estimated wall time, seconds (0 when cached).
    pub estimated_seconds: f64,
    /// Estimated wall time were it not cached (0 for what is never stored).
    #[serde(skip)]
    pub uncached_seconds: f64,
}

impl Plan {
    /// The plan with what the cache holds left out: `cached` and `backend` unknown, every
    /// stage costed as if it ran. For a caller of a shared service who must not learn what
    /// other users fetched or made.
    pub fn without_cache_hits(mut self) -> Plan {
        for stage in &mut self.stages {
            stage.cached = None;
            stage.backend = None;
            stage.estimated_seconds = stage.uncached_seconds;
        }
        self.estimated_seconds = self.stages.iter().map(|s| s.estimated_seconds).sum();
        self
    }
}

impl Workflow {
    /// Works out what running `request` would do: every stage's key, which the cache
    /// already holds (index look-ups only: nothing is fetched or decoded), and an estimate
    /// of the wall time. Stages after `request.stop_after` are left out. The request must
    /// have passed [`Workflow::check`].
    pub async fn plan(
        &self,
        request: &MakeRequest,
        cache: &dyn StageCache,
    ) -> Result<Plan, VidflowError> {
        let keys = self.keys(request, request.stop_after.as_ref())?;
        let mut stages = Vec::with_capacity(keys.len());
        for (name, key) in keys {
            let stage = &self.nodes[self.node(&name).expect("a stage of this workflow")].stage;
            // What is never stored (a page given inline) is free and always fresh.
            let stores = stage.stores(request);
            let backend = if stores {
                cache.contains(&key).await
            } else {
                None
            };
            let cached = backend.is_some();
            let uncached_seconds = if stores {
                stage.estimate_seconds(request)
            } else {
                0.0
            };
            stages.push(PlannedStage {
                estimated_seconds: if cached { 0.0 } else { uncached_seconds },
                uncached_seconds,
                stage: name,
                key: Some(key.to_string()),
                cached: Some(cached),
                backend: backend.map(str::to_owned),
            });
        }
        // Every stage runs in order (each looks itself up), so the costs simply add.
        let estimated = stages.iter().map(|s| s.estimated_seconds).sum();
        Ok(Plan {
            workflow: self.id().to_owned(),
            stages,
            estimated_seconds: estimated,
            max_video_seconds: request.max_seconds,
        })
    }
}
