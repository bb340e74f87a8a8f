//! `vidflow bench extract`: main-text extraction quality on a fixture folder (word F1,
//! title accuracy).

use std::path::Path;

use crate::BenchError;

/// Scores every fixture in `dir` (`<name>/source.html`, `expected.html`,
/// `expected-metadata.json`).
pub fn run(dir: &Path) -> Result<serde_json::Value, BenchError> {
    let report = vidflow_extract::eval::evaluate_dir(dir)?;
    Ok(serde_json::to_value(&report)?)
}
