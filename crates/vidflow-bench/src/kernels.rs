//! `vidflow bench kernels`: the frame kernels at 720p, 1080p and 2160p, one thread and all
//! cores, each next to a memory copy of the same bytes timed just before it.

use vidflow_kernels::bench::{BenchOptions, run as run_kernels};

use crate::BenchError;

/// Runs the kernel benchmark with `runs` runs per figure (at least 5).
pub fn run(runs: usize) -> Result<serde_json::Value, BenchError> {
    let report = run_kernels(&BenchOptions {
        runs,
        ..BenchOptions::default()
    })?;
    Ok(serde_json::to_value(&report)?)
}
