//! Search-space distributions and parameter values.
//!
//! Every parameter has an *external* value (what the objective sees: a float, an integer or
//! one of the categorical choices) and an *internal* one, a plain `f64` the samplers work on:
//! the float itself, the integer as a float, or the index of the choice.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where a parameter's values come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Distribution {
    /// A float in `[low, high]`, uniform or log-uniform, optionally on a grid of `step`.
    Float {
        /// Lower bound, inclusive.
        low: f64,
        /// Upper bound, inclusive.
        high: f64,
        /// Sample on a log scale.
        log: bool,
        /// Grid spacing from `low`; `None` for continuous.
        step: Option<f64>,
    },
    /// An integer in `[low, high]` on a grid of `step`, uniform or log-uniform.
    Int {
        /// Lower bound, inclusive.
        low: i64,
        /// Upper bound, inclusive.
        high: i64,
        /// Sample on a log scale (then `step` is 1).
        log: bool,
        /// Grid spacing from `low`.
        step: i64,
    },
    /// One of a fixed list of choices.
    Categorical {
        /// The choices, in order.
        choices: Vec<Choice>,
    },
}

/// One categorical choice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Choice {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
}

/// A parameter's value as the objective sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// Value of a [`Distribution::Int`].
    Int(i64),
    /// Value of a [`Distribution::Float`].
    Float(f64),
    /// Value of a [`Distribution::Categorical`].
    Choice(Choice),
}

impl From<&str> for Choice {
    fn from(s: &str) -> Self {
        Choice::Str(s.to_string())
    }
}
impl From<String> for Choice {
    fn from(s: String) -> Self {
        Choice::Str(s)
    }
}
impl From<bool> for Choice {
    fn from(b: bool) -> Self {
        Choice::Bool(b)
    }
}
impl From<i64> for Choice {
    fn from(i: i64) -> Self {
        Choice::Int(i)
    }
}
impl From<i32> for Choice {
    fn from(i: i32) -> Self {
        Choice::Int(i.into())
    }
}
impl From<u32> for Choice {
    fn from(i: u32) -> Self {
        Choice::Int(i.into())
    }
}
impl From<f64> for Choice {
    fn from(f: f64) -> Self {
        Choice::Float(f)
    }
}

impl From<f64> for ParamValue {
    fn from(x: f64) -> Self {
        ParamValue::Float(x)
    }
}
impl From<i64> for ParamValue {
    fn from(i: i64) -> Self {
        ParamValue::Int(i)
    }
}
impl From<i32> for ParamValue {
    fn from(i: i32) -> Self {
        ParamValue::Int(i.into())
    }
}
impl From<&str> for ParamValue {
    fn from(s: &str) -> Self {
        ParamValue::Choice(Choice::Str(s.to_string()))
    }
}
impl From<String> for ParamValue {
    fn from(s: String) -> Self {
        ParamValue::Choice(Choice::Str(s))
    }
}
impl From<bool> for ParamValue {
    fn from(b: bool) -> Self {
        ParamValue::Choice(Choice::Bool(b))
    }
}
impl From<Choice> for ParamValue {
    fn from(c: Choice) -> Self {
        ParamValue::Choice(c)
    }
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Choice::Bool(b) => write!(f, "{b}"),
            Choice::Int(i) => write!(f, "{i}"),
            Choice::Float(x) => write!(f, "{x}"),
            Choice::Str(s) => f.write_str(s),
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::Choice(c) => c.fmt(f),
        }
    }
}

impl ParamValue {
    /// The value as a float, for ints and floats (and numeric choices).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            ParamValue::Int(i) => Some(*i as f64),
            ParamValue::Float(x) => Some(*x),
            ParamValue::Choice(Choice::Int(i)) => Some(*i as f64),
            ParamValue::Choice(Choice::Float(x)) => Some(*x),
            ParamValue::Choice(_) => None,
        }
    }

    /// The value as an integer, for ints (and integer choices).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            ParamValue::Int(i) | ParamValue::Choice(Choice::Int(i)) => Some(*i),
            _ => None,
        }
    }

    /// The value as a string, for string choices.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ParamValue::Choice(Choice::Str(s)) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Distribution::Float {
                low,
                high,
                log,
                step,
            } => {
                write!(f, "float [{low}, {high}]")?;
                if *log {
                    f.write_str(" log")?;
                }
                if let Some(s) = step {
                    write!(f, " step {s}")?;
                }
                Ok(())
            }
            Distribution::Int {
                low,
                high,
                log,
                step,
            } => {
                write!(f, "int [{low}, {high}]")?;
                if *log {
                    f.write_str(" log")?;
                }
                if *step != 1 {
                    write!(f, " step {step}")?;
                }
                Ok(())
            }
            Distribution::Categorical { choices } => {
                f.write_str("categorical [")?;
                for (i, c) in choices.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("]")
            }
        }
    }
}

fn invalid(name: &str, reason: impl Into<String>) -> Error {
    Error::InvalidDistribution {
        name: name.to_string(),
        reason: reason.into(),
    }
}

impl Distribution {
    /// A float distribution, checked: finite bounds, `low <= high`, `low > 0` on a log
    /// scale, `step > 0` and not together with `log`. With a step, `high` is lowered onto
    /// the grid `low + k * step` (as Optuna does).
    pub fn float(name: &str, low: f64, high: f64, log: bool, step: Option<f64>) -> Result<Self> {
        if !low.is_finite() || !high.is_finite() {
            return Err(invalid(
                name,
                format!("bounds must be finite, got [{low}, {high}]"),
            ));
        }
        if low > high {
            return Err(Error::LowAboveHigh {
                name: name.to_string(),
                low,
                high,
            });
        }
        if log && low <= 0.0 {
            return Err(Error::LogNeedsPositiveLow {
                name: name.to_string(),
                low,
            });
        }
        let mut high = high;
        if let Some(step) = step {
            if log {
                return Err(invalid(name, "a float cannot have both log and step"));
            }
            if !(step.is_finite() && step > 0.0) {
                return Err(invalid(name, format!("step must be > 0, got {step}")));
            }
            // Snap high onto the grid; the tolerance keeps 0.1-style steps from losing
            // their last point to rounding.
            let k = ((high - low) / step + 1e-9).floor();
            high = low + k * step;
        }
        Ok(Distribution::Float {
            low,
            high,
            log,
            step,
        })
    }

    /// An integer distribution, checked like [`Distribution::float`]; a log scale needs
    /// `step == 1`.
    pub fn int(name: &str, low: i64, high: i64, log: bool, step: i64) -> Result<Self> {
        if low > high {
            return Err(Error::LowAboveHigh {
                name: name.to_string(),
                low: low as f64,
                high: high as f64,
            });
        }
        if log && low <= 0 {
            return Err(Error::LogNeedsPositiveLow {
                name: name.to_string(),
                low: low as f64,
            });
        }
        if step < 1 {
            return Err(invalid(name, format!("step must be >= 1, got {step}")));
        }
        if log && step != 1 {
            return Err(invalid(name, "an int on a log scale must have step 1"));
        }
        let high = low + (high - low) / step * step;
        Ok(Distribution::Int {
            low,
            high,
            log,
            step,
        })
    }

    /// A categorical distribution over `choices` (at least one; NaN floats refused).
    pub fn categorical(name: &str, choices: Vec<Choice>) -> Result<Self> {
        if choices.is_empty() {
            return Err(invalid(name, "a categorical needs at least one choice"));
        }
        if choices
            .iter()
            .any(|c| matches!(c, Choice::Float(x) if x.is_nan()))
        {
            return Err(invalid(name, "NaN is not a usable choice"));
        }
        Ok(Distribution::Categorical { choices })
    }

    /// Whether the distribution holds exactly one value.
    pub fn single(&self) -> bool {
        match self {
            Distribution::Float { low, high, .. } => low == high,
            Distribution::Int { low, high, .. } => low == high,
            Distribution::Categorical { choices } => choices.len() == 1,
        }
    }

    /// Whether an internal value lies in the distribution (and on its grid).
    pub fn contains(&self, internal: f64) -> bool {
        if internal.is_nan() {
            return false;
        }
        match self {
            Distribution::Float {
                low, high, step, ..
            } => {
                if internal < *low || internal > *high {
                    return false;
                }
                match step {
                    None => true,
                    Some(s) => {
                        let k = (internal - low) / s;
                        (k - k.round()).abs() < 1e-8
                    }
                }
            }
            Distribution::Int {
                low, high, step, ..
            } => {
                internal.fract() == 0.0
                    && internal >= *low as f64
                    && internal <= *high as f64
                    && (internal as i64 - low) % step == 0
            }
            Distribution::Categorical { choices } => {
                internal.fract() == 0.0 && internal >= 0.0 && (internal as usize) < choices.len()
            }
        }
    }

    /// The external value of an internal one.
    pub fn to_external(&self, internal: f64) -> ParamValue {
        match self {
            Distribution::Float { .. } => ParamValue::Float(internal),
            Distribution::Int { .. } => ParamValue::Int(internal.round() as i64),
            Distribution::Categorical { choices } => {
                let i = (internal.max(0.0) as usize).min(choices.len() - 1);
                ParamValue::Choice(choices[i].clone())
            }
        }
    }

    /// The internal value of an external one, if it fits this distribution's kind.
    pub fn to_internal(&self, value: &ParamValue) -> Option<f64> {
        match (self, value) {
            (Distribution::Float { .. }, v) => v.as_f64(),
            (Distribution::Int { .. }, ParamValue::Int(i)) => Some(*i as f64),
            (Distribution::Int { .. }, ParamValue::Float(x)) if x.fract() == 0.0 => Some(*x),
            (Distribution::Categorical { choices }, v) => {
                let wanted = match v {
                    ParamValue::Choice(c) => c.clone(),
                    ParamValue::Int(i) => Choice::Int(*i),
                    ParamValue::Float(x) => Choice::Float(*x),
                };
                choices
                    .iter()
                    .position(|c| choice_eq(c, &wanted))
                    .map(|i| i as f64)
            }
            _ => None,
        }
    }
}

/// Choices compare by value, with an integer equal to the same float (as JSON would).
fn choice_eq(a: &Choice, b: &Choice) -> bool {
    match (a, b) {
        (Choice::Int(i), Choice::Float(x)) | (Choice::Float(x), Choice::Int(i)) => *i as f64 == *x,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_step_snaps_high_onto_the_grid() {
        let d = Distribution::float("x", 0.0, 1.0, false, Some(0.3)).unwrap();
        assert_eq!(
            d,
            Distribution::Float {
                low: 0.0,
                high: 0.8999999999999999,
                log: false,
                step: Some(0.3)
            }
        );
        let d = Distribution::float("x", 0.0, 1.0, false, Some(0.1)).unwrap();
        assert!(matches!(d, Distribution::Float { high, .. } if (high - 1.0).abs() < 1e-12));
    }

    #[test]
    fn bad_bounds_are_typed_errors() {
        assert!(matches!(
            Distribution::float("x", 2.0, 1.0, false, None),
            Err(Error::LowAboveHigh { .. })
        ));
        assert!(matches!(
            Distribution::float("x", 0.0, 1.0, true, None),
            Err(Error::LogNeedsPositiveLow { .. })
        ));
        assert!(matches!(
            Distribution::int("n", 0, 10, true, 1),
            Err(Error::LogNeedsPositiveLow { .. })
        ));
        assert!(matches!(
            Distribution::int("n", 1, 10, false, 0),
            Err(Error::InvalidDistribution { .. })
        ));
        assert!(matches!(
            Distribution::float("x", f64::NAN, 1.0, false, None),
            Err(Error::InvalidDistribution { .. })
        ));
        assert!(matches!(
            Distribution::categorical("c", vec![]),
            Err(Error::InvalidDistribution { .. })
        ));
    }

    #[test]
    fn int_step_lowers_high_and_contains_checks_the_grid() {
        let d = Distribution::int("n", 1, 10, false, 4).unwrap();
        assert_eq!(
            d,
            Distribution::Int {
                low: 1,
                high: 9,
                log: false,
                step: 4
            }
        );
        assert!(d.contains(5.0));
        assert!(!d.contains(6.0));
        assert!(!d.contains(13.0));
    }

    #[test]
    fn categorical_round_trips_through_internal() {
        let d = Distribution::categorical("c", vec!["a".into(), 2i64.into(), 0.5.into()]).unwrap();
        for i in 0..3 {
            let v = d.to_external(i as f64);
            assert_eq!(d.to_internal(&v), Some(i as f64));
        }
        assert_eq!(d.to_internal(&ParamValue::Float(2.0)), Some(1.0));
        assert_eq!(d.to_internal(&ParamValue::Choice("b".into())), None);
    }
}
