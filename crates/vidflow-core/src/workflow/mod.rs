//! Workflows: stages wired into a graph from configuration, checked before anything runs.
//!
//! A [`WorkflowDef`] is what a TOML file (or a job on the queue) says: an id and a list of
//! stages, each with an id, a `type` from the [`Registry`], the ids of the stages it reads
//! from (`inputs`) and options of its own. [`Registry::build`] turns it into a
//! [`Workflow`]: every type is known, every input exists and makes a kind of value the
//! stage takes, every required input is connected, there is no cycle and one stage ends
//! it. Only then does anything run.
//!
//! ```toml
//! id = "narrate"
//! description = "A page's summary, spoken"
//!
//! [[stages]]
//! id = "fetch"
//! type = "fetch"
//!
//! [[stages]]
//! id = "extract"
//! type = "extract"
//! inputs = ["fetch"]
//! ```

mod plan;
mod run;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::artifact::DataType;
use crate::config::Config;
use crate::error::VidflowError;
use crate::progress::StageName;
use crate::stage::Stage;

pub use plan::{Plan, PlannedStage};
pub use run::{RunEnv, RunOutcome, StageReport};

/// A workflow as written: in a TOML file, or carried by a job on the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowDef {
    /// Its name (`explainer`, `narrate`, ...): what `workflow_id` selects.
    pub id: String,
    /// What it makes, for people.
    #[serde(default)]
    pub description: String,
    /// The stages, in the order they are written (ties in the running order follow it).
    pub stages: Vec<StageDef>,
}

/// One stage of a [`WorkflowDef`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageDef {
    /// Its name in this workflow (what progress events, `stop_after` and `inputs` use).
    pub id: String,
    /// Its type: a name in the [`Registry`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The stages whose outputs it takes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    /// Time limit of one try in seconds, instead of the stage type's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// Options of the stage type (its own table of settings).
    #[serde(flatten)]
    pub options: serde_json::Map<String, serde_json::Value>,
}

impl WorkflowDef {
    /// Parses a workflow file's text; errors name the line and what is wrong.
    pub fn from_toml(text: &str) -> Result<WorkflowDef, VidflowError> {
        toml::from_str(text)
            .map_err(|e| VidflowError::bad_input(format!("workflow is not valid: {e}")))
    }

    /// Reads and parses a workflow file.
    pub fn load(path: &std::path::Path) -> Result<WorkflowDef, VidflowError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            VidflowError::bad_input(format!("cannot read workflow {}: {e}", path.display()))
        })?;
        Self::from_toml(&text)
            .map_err(|e| VidflowError::bad_input(format!("{}: {}", path.display(), e.message)))
    }
}

/// A stage type's options from a workflow, read into the type's own settings struct.
#[derive(Debug, Clone, Copy)]
pub struct StageOptions<'a> {
    /// The stage's id in the workflow (for messages).
    pub stage: &'a str,
    /// The options as written.
    pub values: &'a serde_json::Map<String, serde_json::Value>,
}

impl StageOptions<'_> {
    /// The options as `T` (use `#[serde(deny_unknown_fields, default)]` on it so that a
    /// misspelt option is an error, not a silent default).
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, VidflowError> {
        serde_json::from_value(serde_json::Value::Object(self.values.clone())).map_err(|e| {
            VidflowError::bad_input(format!("stage '{}': bad options: {e}", self.stage))
        })
    }

    /// Refuses any option: for stage types that have none.
    pub fn none(&self) -> Result<(), VidflowError> {
        match self.values.keys().next() {
            None => Ok(()),
            Some(k) => Err(VidflowError::bad_input(format!(
                "stage '{}': unknown option '{k}' (this type takes none)",
                self.stage
            ))),
        }
    }
}

/// Builds a stage of one type from its options and the configuration.
pub type StageFactory =
    Arc<dyn Fn(StageOptions<'_>, &Config) -> Result<Arc<dyn Stage>, VidflowError> + Send + Sync>;

/// The stage types and named workflows a process knows. Adding a stage type is one
/// [`Registry::register`] line; adding a workflow is one [`Registry::add_workflow`].
#[derive(Clone, Default)]
pub struct Registry {
    stages: BTreeMap<String, StageFactory>,
    workflows: BTreeMap<String, WorkflowDef>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("stages", &self.stages.keys().collect::<Vec<_>>())
            .field("workflows", &self.workflows.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers stage type `kind` (replacing one of that name).
    pub fn register<F>(&mut self, kind: &str, factory: F) -> &mut Registry
    where
        F: Fn(StageOptions<'_>, &Config) -> Result<Arc<dyn Stage>, VidflowError>
            + Send
            + Sync
            + 'static,
    {
        self.stages.insert(kind.to_owned(), Arc::new(factory));
        self
    }

    /// Adds a named workflow (replacing one with its id). It is checked when built.
    pub fn add_workflow(&mut self, def: WorkflowDef) -> &mut Registry {
        self.workflows.insert(def.id.clone(), def);
        self
    }

    /// The stage types, by name.
    pub fn stage_types(&self) -> impl Iterator<Item = &str> {
        self.stages.keys().map(String::as_str)
    }

    /// Every stage name a run of this registry can report: the stage types (which name
    /// their stage in a workflow of your own that keeps the type's name) and the stage ids
    /// of the named workflows, sorted, once each. Metrics create their per-stage series
    /// from it, so that a stage that has not run yet still shows as zero.
    pub fn stage_names(&self) -> Vec<String> {
        let mut names: std::collections::BTreeSet<String> = self.stages.keys().cloned().collect();
        for def in self.workflows.values() {
            names.extend(def.stages.iter().map(|s| s.id.clone()));
        }
        names.into_iter().collect()
    }

    /// The named workflows.
    pub fn workflows(&self) -> impl Iterator<Item = &WorkflowDef> {
        self.workflows.values()
    }

    /// The workflow named `id`.
    pub fn workflow(&self, id: &str) -> Result<&WorkflowDef, VidflowError> {
        self.workflows.get(id).ok_or_else(|| {
            VidflowError::bad_input(format!(
                "unknown workflow '{id}': use one of {}",
                self.workflows
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }

    /// Checks `def` and builds its stages: the graph is valid or nothing is built.
    pub fn build(&self, def: &WorkflowDef, config: &Config) -> Result<Workflow, VidflowError> {
        let bad = |msg: String| VidflowError::bad_input(format!("workflow '{}': {msg}", def.id));
        if !valid_id(&def.id) {
            return Err(VidflowError::bad_input(format!(
                "workflow id '{}' is not valid: use 1 to 64 characters from a-z, A-Z, 0-9, '-' and '_'",
                def.id
            )));
        }
        if def.stages.is_empty() {
            return Err(bad("it has no stages".into()));
        }
        let mut index: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, s) in def.stages.iter().enumerate() {
            if !valid_id(&s.id) {
                return Err(bad(format!(
                    "stage id '{}' is not valid: use 1 to 64 characters from a-z, A-Z, 0-9, '-' and '_'",
                    s.id
                )));
            }
            if index.insert(&s.id, i).is_some() {
                return Err(bad(format!("two stages are named '{}'", s.id)));
            }
        }
        // Build every stage (its options are checked here).
        let mut built: Vec<Arc<dyn Stage>> = Vec::with_capacity(def.stages.len());
        for s in &def.stages {
            let factory = self.stages.get(&s.kind).ok_or_else(|| {
                bad(format!(
                    "stage '{}' has type '{}', which is not registered: use one of {}",
                    s.id,
                    s.kind,
                    self.stages.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
            })?;
            let options = StageOptions {
                stage: &s.id,
                values: &s.options,
            };
            built.push(factory(options, config).map_err(|e| bad(e.message))?);
        }
        // Wire inputs: each names a stage whose output kind this one takes, once.
        let mut inputs: Vec<Vec<usize>> = Vec::with_capacity(def.stages.len());
        for (i, s) in def.stages.iter().enumerate() {
            let ports = built[i].inputs();
            let mut wired: Vec<usize> = Vec::new();
            for name in &s.inputs {
                let &from = index.get(name.as_str()).ok_or_else(|| {
                    bad(format!(
                        "stage '{}' reads from '{name}', which is not a stage of this workflow",
                        s.id
                    ))
                })?;
                if from == i {
                    return Err(bad(format!("stage '{}' reads from itself", s.id)));
                }
                let kind = built[from].output();
                if !ports.iter().any(|p| p.data == kind) {
                    return Err(bad(format!(
                        "stage '{}' ({}) cannot read from '{name}': it makes a {kind}, and '{}' takes {}",
                        s.id,
                        s.kind,
                        s.id,
                        describe_ports(ports)
                    )));
                }
                if let Some(&other) = wired.iter().find(|&&o| built[o].output() == kind) {
                    return Err(bad(format!(
                        "stage '{}' reads a {kind} from both '{}' and '{name}': it takes one",
                        s.id, def.stages[other].id
                    )));
                }
                wired.push(from);
            }
            for port in ports.iter().filter(|p| p.required) {
                if !wired.iter().any(|&o| built[o].output() == port.data) {
                    return Err(bad(format!(
                        "stage '{}' ({}) needs a {} input: add a stage that makes one to its inputs",
                        s.id, s.kind, port.data
                    )));
                }
            }
            inputs.push(wired);
        }
        let order = topological_order(&inputs).ok_or_else(|| {
            bad(
                "its stages read from each other in a cycle: a workflow must run in one direction"
                    .into(),
            )
        })?;
        // One stage ends the workflow: its output is what the workflow makes.
        let read: Vec<bool> = (0..def.stages.len())
            .map(|i| inputs.iter().any(|ins| ins.contains(&i)))
            .collect();
        let ends: Vec<&str> = (0..def.stages.len())
            .filter(|&i| !read[i])
            .map(|i| def.stages[i].id.as_str())
            .collect();
        if ends.len() != 1 {
            return Err(bad(format!(
                "it ends in {} stages ({}): every stage but the last must feed another",
                ends.len(),
                ends.join(", ")
            )));
        }
        // Nodes in running order; inputs renumbered to positions in that order.
        let position: Vec<usize> = {
            let mut p = vec![0; order.len()];
            for (pos, &i) in order.iter().enumerate() {
                p[i] = pos;
            }
            p
        };
        let nodes: Vec<Node> = order
            .iter()
            .map(|&i| {
                let s = &def.stages[i];
                let stage = built[i].clone();
                Node {
                    name: StageName::new(s.id.clone()),
                    kind: s.kind.clone(),
                    timeout: s
                        .timeout_seconds
                        .map(Duration::from_secs)
                        .unwrap_or_else(|| stage.timeout(config)),
                    weight: stage.weight().max(0.0),
                    inputs: inputs[i].iter().map(|&o| position[o]).collect(),
                    stage,
                }
            })
            .collect();
        Ok(Workflow {
            def: def.clone(),
            nodes,
        })
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn describe_ports(ports: &[crate::stage::Port]) -> String {
    if ports.is_empty() {
        return "no inputs".into();
    }
    ports
        .iter()
        .map(|p| {
            if p.required {
                format!("a {}", p.data)
            } else {
                format!("optionally a {}", p.data)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Kahn's algorithm; among stages ready at once, the one written first runs first, so a
/// chain runs in the order it is written. `None` on a cycle.
fn topological_order(inputs: &[Vec<usize>]) -> Option<Vec<usize>> {
    let n = inputs.len();
    let mut waiting: Vec<usize> = inputs.iter().map(Vec::len).collect();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let next = (0..n).find(|&i| !done[i] && waiting[i] == 0)?;
        done[next] = true;
        order.push(next);
        for (i, ins) in inputs.iter().enumerate() {
            waiting[i] -= ins.iter().filter(|&&o| o == next).count();
        }
    }
    Some(order)
}

/// One stage of a built workflow.
pub(crate) struct Node {
    pub(crate) name: StageName,
    pub(crate) kind: String,
    pub(crate) stage: Arc<dyn Stage>,
    /// Positions (in running order) of the stages it reads.
    pub(crate) inputs: Vec<usize>,
    pub(crate) timeout: Duration,
    pub(crate) weight: f64,
}

/// A checked workflow with its stages built, in running order. Run it with
/// [`Workflow::run`]; see what a run would do with [`Workflow::plan`].
pub struct Workflow {
    def: WorkflowDef,
    nodes: Vec<Node>,
}

impl std::fmt::Debug for Workflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workflow")
            .field("id", &self.def.id)
            .field("stages", &self.stage_names())
            .finish()
    }
}

impl Workflow {
    /// Its id.
    pub fn id(&self) -> &str {
        &self.def.id
    }

    /// What it was built from.
    pub fn def(&self) -> &WorkflowDef {
        &self.def
    }

    /// Its stages' names, in running order.
    pub fn stage_names(&self) -> Vec<&StageName> {
        self.nodes.iter().map(|n| &n.name).collect()
    }

    /// The type of stage `name`.
    pub fn stage_type(&self, name: &StageName) -> Option<&str> {
        self.node(name).map(|i| self.nodes[i].kind.as_str())
    }

    /// The stage that ends it (what the workflow makes).
    pub fn last(&self) -> &StageName {
        &self.nodes[self.nodes.len() - 1].name
    }

    /// What the workflow makes (or stage `until` makes, when given).
    pub fn output(&self, until: Option<&StageName>) -> Option<DataType> {
        let i = match until {
            Some(name) => self.node(name)?,
            None => self.nodes.len() - 1,
        };
        Some(self.nodes[i].stage.output())
    }

    /// Whether it has a stage named `name`.
    pub fn has(&self, name: &StageName) -> bool {
        self.node(name).is_some()
    }

    /// The share of a whole run done when stage `name` is `part` (0–1) done, 0–100,
    /// weighted by the stages' usual costs.
    pub fn percent(&self, name: &StageName, part: f64) -> f64 {
        let Some(i) = self.node(name) else { return 0.0 };
        let total: f64 = self.nodes.iter().map(|n| n.weight).sum();
        if total <= 0.0 {
            return 0.0;
        }
        let before: f64 = self.nodes[..i].iter().map(|n| n.weight).sum();
        let own = self.nodes[i].weight * part.clamp(0.0, 1.0);
        ((before + own) / total * 1000.0).round() / 10.0
    }

    /// Whether stage `name` stores its output in the cache for `request` (a page given
    /// inline is never stored).
    pub fn stores(&self, name: &StageName, request: &crate::request::MakeRequest) -> bool {
        self.node(name)
            .is_some_and(|i| self.nodes[i].stage.stores(request))
    }

    /// The first stage whose work splits into chunks (a render), if any.
    pub fn chunked_stage(&self) -> Option<&StageName> {
        self.nodes
            .iter()
            .find(|n| n.stage.chunked().is_some())
            .map(|n| &n.name)
    }

    pub(crate) fn node(&self, name: &StageName) -> Option<usize> {
        self.nodes.iter().position(|n| &n.name == name)
    }

    /// Positions of `until` and every stage it depends on, in running order.
    pub(crate) fn needed(&self, until: usize) -> Vec<usize> {
        let mut need = vec![false; self.nodes.len()];
        need[until] = true;
        for i in (0..=until).rev() {
            if need[i] {
                for &j in &self.nodes[i].inputs {
                    need[j] = true;
                }
            }
        }
        (0..=until).filter(|&i| need[i]).collect()
    }

    /// The position of the stage a run ends at: `until`, else the last.
    pub(crate) fn end(&self, until: Option<&StageName>) -> Result<usize, VidflowError> {
        match until {
            None => Ok(self.nodes.len() - 1),
            Some(name) => self.node(name).ok_or_else(|| {
                VidflowError::bad_input(format!(
                    "workflow '{}' has no stage '{name}' to stop after: its stages are {}",
                    self.def.id,
                    self.stage_names()
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }),
        }
    }

    /// Checks a request against the workflow before anything runs: what every run needs,
    /// `stop_after` names one of its stages, and each stage's own check, in running order.
    pub fn check(&self, request: &crate::request::MakeRequest) -> Result<(), VidflowError> {
        request.check()?;
        let end = self.end(request.stop_after.as_ref())?;
        for i in self.needed(end) {
            let connected: Vec<DataType> = self.nodes[i]
                .inputs
                .iter()
                .map(|&j| self.nodes[j].stage.output())
                .collect();
            self.nodes[i].stage.check(request, &connected)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
