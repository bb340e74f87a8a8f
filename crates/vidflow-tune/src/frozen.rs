//! A trial as it is stored: its state, parameters, values and attributes.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::distribution::{Distribution, ParamValue};

/// Where a trial stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialState {
    /// Enqueued with fixed parameters, waiting for an `ask` to pick it up.
    Waiting,
    /// Being evaluated.
    Running,
    /// Finished with objective values.
    Complete,
    /// Stopped early by a pruner.
    Pruned,
    /// The objective failed, returned NaN, or the process running it died.
    Failed,
}

impl TrialState {
    /// Complete, pruned or failed.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            TrialState::Complete | TrialState::Pruned | TrialState::Failed
        )
    }

    /// The state's name as stored (`waiting`, `running`, `complete`, `pruned`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            TrialState::Waiting => "waiting",
            TrialState::Running => "running",
            TrialState::Complete => "complete",
            TrialState::Pruned => "pruned",
            TrialState::Failed => "failed",
        }
    }

    /// The state of a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "waiting" => TrialState::Waiting,
            "running" => TrialState::Running,
            "complete" => TrialState::Complete,
            "pruned" => TrialState::Pruned,
            "failed" => TrialState::Failed,
            _ => return None,
        })
    }
}

impl fmt::Display for TrialState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One suggested parameter: its distribution and its internal value (see
/// [`crate::distribution`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// Where the value was drawn from.
    pub distribution: Distribution,
    /// The value in internal form (float, integer as float, or choice index).
    pub internal: f64,
}

impl Param {
    /// The value as the objective saw it.
    pub fn value(&self) -> ParamValue {
        self.distribution.to_external(self.internal)
    }
}

/// A snapshot of one trial.
#[derive(Clone, Debug, PartialEq)]
pub struct FrozenTrial {
    /// The storage's id of the trial (unique across studies in one storage).
    pub id: i64,
    /// The trial's number within its study, from 0.
    pub number: u64,
    /// Where it stands.
    pub state: TrialState,
    /// Objective values, one per direction, once complete.
    pub values: Option<Vec<f64>>,
    /// Suggested parameters by name.
    pub params: BTreeMap<String, Param>,
    /// Values reported with `Trial::report`, by step.
    pub intermediate_values: BTreeMap<u64, f64>,
    /// Attributes the user attached.
    pub user_attrs: BTreeMap<String, serde_json::Value>,
    /// Attributes samplers and pruners attached (e.g. NSGA-II's generation).
    pub system_attrs: BTreeMap<String, serde_json::Value>,
    /// Unix time (seconds) the trial started running.
    pub started_at: Option<f64>,
    /// Unix time (seconds) the trial finished.
    pub completed_at: Option<f64>,
}

impl FrozenTrial {
    /// The single objective value, for studies with one objective.
    pub fn value(&self) -> Option<f64> {
        self.values.as_ref().and_then(|v| v.first().copied())
    }

    /// A parameter's external value.
    pub fn param(&self, name: &str) -> Option<ParamValue> {
        self.params.get(name).map(Param::value)
    }

    /// The last step reported, if any.
    pub fn last_step(&self) -> Option<u64> {
        self.intermediate_values.keys().next_back().copied()
    }

    /// Wall time from start to finish, in seconds.
    pub fn duration_s(&self) -> Option<f64> {
        Some(self.completed_at? - self.started_at?)
    }
}

/// JSON cannot hold NaN or infinities; stored values keep them as strings.
pub(crate) mod json_f64 {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// A float that survives a JSON round trip whatever its value.
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub struct JsonF64(pub f64);

    impl Serialize for JsonF64 {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let x = self.0;
            if x.is_finite() {
                s.serialize_f64(x)
            } else if x.is_nan() {
                s.serialize_str("NaN")
            } else if x > 0.0 {
                s.serialize_str("inf")
            } else {
                s.serialize_str("-inf")
            }
        }
    }

    impl<'de> Deserialize<'de> for JsonF64 {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            #[derive(Deserialize)]
            #[serde(untagged)]
            enum Raw {
                Num(f64),
                Str(String),
            }
            match Raw::deserialize(d)? {
                Raw::Num(x) => Ok(JsonF64(x)),
                Raw::Str(s) => match s.as_str() {
                    "NaN" => Ok(JsonF64(f64::NAN)),
                    "inf" => Ok(JsonF64(f64::INFINITY)),
                    "-inf" => Ok(JsonF64(f64::NEG_INFINITY)),
                    other => Err(serde::de::Error::custom(format!("not a float: {other}"))),
                },
            }
        }
    }
}

/// A complete trial with `values` and nothing else, for the samplers' tests.
#[cfg(test)]
pub(crate) fn completed(number: u64, values: Vec<f64>) -> FrozenTrial {
    FrozenTrial {
        id: number as i64,
        number,
        state: TrialState::Complete,
        values: Some(values),
        params: BTreeMap::new(),
        intermediate_values: BTreeMap::new(),
        user_attrs: BTreeMap::new(),
        system_attrs: BTreeMap::new(),
        started_at: None,
        completed_at: None,
    }
}
