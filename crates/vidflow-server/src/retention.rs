//! The retention sweep: finished jobs go by age (`server.retention_days`) and by the size of
//! the jobs' files (`server.retention_max_bytes`), at start and then every few minutes, until
//! the server shuts down. The runner does the deleting (see [`Runner::prune`]), so a queued or
//! running job, or one being downloaded, is never touched.
//!
//! [`Runner::prune`]: vidflow_jobs::Runner::prune

use std::time::Duration;

use vidflow_core::ServerConfig;
use vidflow_jobs::Retention;

use crate::AppState;

/// How often the sweep runs after the first one at start.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// What `config` keeps.
pub fn retention(config: &ServerConfig) -> Retention {
    Retention {
        max_age: (config.retention_days > 0.0)
            .then(|| Duration::from_secs_f64(config.retention_days * 86_400.0)),
        max_bytes: (config.retention_max_bytes > 0).then_some(config.retention_max_bytes),
    }
}

/// Starts the sweep (nothing to do when the config keeps everything).
pub(crate) fn spawn(state: AppState) {
    let keep = retention(&state.config.server);
    if !keep.is_bounded() {
        return;
    }
    let mut stop = state.shutdown.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|stopping| *stopping) => break,
            }
            match state.runner.prune(keep).await {
                Ok(report) => {
                    state.metrics.observe_retention(
                        report.jobs_deleted,
                        report.bytes_freed,
                        report.bytes_kept,
                    );
                    if report.jobs_deleted > 0 || report.in_use > 0 {
                        tracing::info!(
                            jobs_deleted = report.jobs_deleted,
                            bytes_freed = report.bytes_freed,
                            bytes_kept = report.bytes_kept,
                            in_use = report.in_use,
                            "retention sweep"
                        );
                    }
                }
                Err(e) => tracing::warn!("retention sweep failed: {e}"),
            }
        }
    });
}
