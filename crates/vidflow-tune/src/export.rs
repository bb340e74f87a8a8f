//! Trials exported as CSV (one row per trial, a column per parameter and attribute, like
//! Optuna's `trials_dataframe`) and as JSON (an array of trial objects).

use std::collections::BTreeSet;
use std::io::Write;

use serde::Serialize;

use crate::error::Result;
use crate::frozen::FrozenTrial;
use crate::study::Study;

/// One trial as exported to JSON.
#[derive(Serialize)]
struct TrialJson<'a> {
    number: u64,
    state: &'a str,
    values: Option<Vec<Option<f64>>>,
    params: std::collections::BTreeMap<&'a str, crate::distribution::ParamValue>,
    distributions: std::collections::BTreeMap<&'a str, &'a crate::distribution::Distribution>,
    intermediate_values: std::collections::BTreeMap<u64, Option<f64>>,
    user_attrs: &'a std::collections::BTreeMap<String, serde_json::Value>,
    started_at: Option<f64>,
    completed_at: Option<f64>,
    duration_s: Option<f64>,
}

/// Non-finite floats have no JSON form; they are exported as `null`.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt(x: Option<f64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

/// Writes `trials` as CSV: number, state, value(s), start, completion, duration, then
/// `params_<name>` and `user_attrs_<name>` columns (sorted by name).
pub fn write_csv(
    trials: &[impl AsRef<FrozenTrial>],
    n_objectives: usize,
    mut w: impl Write,
) -> Result<()> {
    let params: BTreeSet<&str> = trials
        .iter()
        .flat_map(|t| t.as_ref().params.keys().map(String::as_str))
        .collect();
    let attrs: BTreeSet<&str> = trials
        .iter()
        .flat_map(|t| t.as_ref().user_attrs.keys().map(String::as_str))
        .collect();
    let mut header = vec!["number".to_string(), "state".to_string()];
    if n_objectives == 1 {
        header.push("value".into());
    } else {
        header.extend((0..n_objectives).map(|i| format!("values_{i}")));
    }
    header.extend(["started_at", "completed_at", "duration_s"].map(String::from));
    header.extend(params.iter().map(|p| format!("params_{p}")));
    header.extend(attrs.iter().map(|a| format!("user_attrs_{a}")));
    let header: Vec<String> = header.iter().map(|h| csv_field(h)).collect();
    writeln!(w, "{}", header.join(","))?;
    for t in trials {
        let t = t.as_ref();
        let mut row = vec![t.number.to_string(), t.state.to_string()];
        for i in 0..n_objectives {
            row.push(opt(t.values.as_ref().and_then(|v| v.get(i).copied())));
        }
        row.push(opt(t.started_at));
        row.push(opt(t.completed_at));
        row.push(opt(t.duration_s()));
        for p in &params {
            row.push(
                t.param(p)
                    .map(|v| csv_field(&v.to_string()))
                    .unwrap_or_default(),
            );
        }
        for a in &attrs {
            row.push(
                t.user_attrs
                    .get(*a)
                    .map(|v| match v {
                        serde_json::Value::String(s) => csv_field(s),
                        other => csv_field(&other.to_string()),
                    })
                    .unwrap_or_default(),
            );
        }
        writeln!(w, "{}", row.join(","))?;
    }
    Ok(())
}

/// Writes `trials` as a pretty JSON array.
pub fn write_json(trials: &[impl AsRef<FrozenTrial>], mut w: impl Write) -> Result<()> {
    let out: Vec<TrialJson<'_>> = trials
        .iter()
        .map(|t| {
            let t = t.as_ref();
            TrialJson {
                number: t.number,
                state: t.state.as_str(),
                values: t
                    .values
                    .as_ref()
                    .map(|v| v.iter().map(|x| finite(*x)).collect()),
                params: t
                    .params
                    .iter()
                    .map(|(k, p)| (k.as_str(), p.value()))
                    .collect(),
                distributions: t
                    .params
                    .iter()
                    .map(|(k, p)| (k.as_str(), &p.distribution))
                    .collect(),
                intermediate_values: t
                    .intermediate_values
                    .iter()
                    .map(|(k, v)| (*k, finite(*v)))
                    .collect(),
                user_attrs: &t.user_attrs,
                started_at: t.started_at,
                completed_at: t.completed_at,
                duration_s: t.duration_s(),
            }
        })
        .collect();
    serde_json::to_writer_pretty(&mut w, &out).map_err(std::io::Error::from)?;
    writeln!(w)?;
    Ok(())
}

impl Study {
    /// Writes all trials as CSV (see [`write_csv`]).
    pub fn write_csv(&self, w: impl Write) -> Result<()> {
        write_csv(&self.trials()?, self.directions().len(), w)
    }

    /// Writes all trials as JSON (see [`write_json`]).
    pub fn write_json(&self, w: impl Write) -> Result<()> {
        write_json(&self.trials()?, w)
    }
}
