//! Tasks: the unit of work on the stream, and what a job becomes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use vidflow_core::{ChunkPlan, MakeRequest, Progress, StageName, Workflow, WorkflowDef};

use crate::error::DistError;

/// What a task does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaskKind {
    /// One stage of the job's workflow, run whole.
    Stage(StageName),
    /// One time chunk of the stage whose work splits into chunks (the render).
    Chunk(u32),
    /// Join the chunks (and mux the narration).
    Assemble,
}

impl TaskKind {
    /// The label of the task's kind in metrics and logs (`fetch`, `chunk`, `assemble`).
    pub fn label(&self) -> &str {
        match self {
            TaskKind::Stage(s) => s.as_str(),
            TaskKind::Chunk(_) => "chunk",
            TaskKind::Assemble => "assemble",
        }
    }
}

impl std::fmt::Display for TaskKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaskKind::Stage(s) => write!(f, "{s}"),
            TaskKind::Chunk(i) => write!(f, "render chunk {i}"),
            TaskKind::Assemble => f.write_str("render (joining chunks)"),
        }
    }
}

/// One task of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// The job it belongs to.
    pub job: String,
    /// What it does.
    pub kind: TaskKind,
}

impl Task {
    /// The stream entry's fields: `kind` is `stage`, `chunk` or `assemble`; `stage` names
    /// the workflow's stage (any name a workflow gives it) and `chunk` the chunk.
    pub fn fields(&self) -> [(&'static str, String); 4] {
        let (kind, stage, chunk) = match &self.kind {
            TaskKind::Stage(s) => ("stage", s.to_string(), 0),
            TaskKind::Chunk(i) => ("chunk", String::new(), *i),
            TaskKind::Assemble => ("assemble", String::new(), 0),
        };
        [
            ("job", self.job.clone()),
            ("kind", kind.to_owned()),
            ("stage", stage),
            ("chunk", chunk.to_string()),
        ]
    }

    /// Reads a task back from a stream entry's fields. An entry written before tasks
    /// named their stage in a field of its own has the stage's name as its `kind`.
    pub fn from_fields(map: &HashMap<String, redis::Value>) -> Result<Task, DistError> {
        let text = |name: &'static str| -> Result<String, DistError> {
            map.get(name)
                .and_then(|v| redis::from_redis_value_ref::<String>(v).ok())
                .ok_or_else(|| DistError::Malformed {
                    what: "task",
                    detail: format!("no {name} field"),
                })
        };
        let job = text("job")?;
        let kind = text("kind")?;
        let kind = match kind.as_str() {
            "chunk" => {
                let i = text("chunk")?.parse().map_err(|_| DistError::Malformed {
                    what: "task",
                    detail: "chunk is not a number".into(),
                })?;
                TaskKind::Chunk(i)
            }
            "assemble" => TaskKind::Assemble,
            "stage" => match text("stage")? {
                s if s.is_empty() => {
                    return Err(DistError::Malformed {
                        what: "task",
                        detail: "empty stage name".into(),
                    });
                }
                s => TaskKind::Stage(StageName::new(s)),
            },
            legacy @ ("fetch" | "extract" | "script" | "speak" | "storyboard") => {
                TaskKind::Stage(StageName::new(legacy))
            }
            other => {
                return Err(DistError::Malformed {
                    what: "task",
                    detail: format!("unknown kind '{other}'"),
                });
            }
        };
        Ok(Task { job, kind })
    }
}

/// A job as the queue knows it: the workflow it runs (carried whole, so that a worker
/// runs a workflow from a file it has never seen), the request (its output path is the
/// submitter's and is ignored by workers) and how to split the work.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobSpec {
    /// The workflow; `None` in specs written before jobs carried theirs (the request's
    /// own choice, or the default, then).
    #[serde(default)]
    pub workflow: Option<WorkflowDef>,
    /// What to make.
    pub request: MakeRequest,
    /// Seconds of video per chunked task.
    pub chunk_seconds: f64,
    /// The HTTP request that submitted the job, if one did: workers name it in the log
    /// lines of the job's tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// What follows a finished stage task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Another stage task.
    Stage(StageName),
    /// Plan the chunks and queue one task each.
    Chunks,
    /// The job is done: its result is this stage's output.
    Finish,
}

impl JobSpec {
    /// What the job's first task does.
    pub fn first(workflow: &Workflow) -> Next {
        match workflow.stage_names().first() {
            Some(first) => Self::next_is(workflow, first),
            None => Next::Finish,
        }
    }

    /// What follows stage `done` (or, after assembly, the chunked stage).
    pub fn after(workflow: &Workflow, request: &MakeRequest, done: &StageName) -> Next {
        if request.stop_after.as_ref() == Some(done) {
            return Next::Finish;
        }
        let names = workflow.stage_names();
        match names.iter().position(|n| *n == done) {
            Some(i) if i + 1 < names.len() => Self::next_is(workflow, names[i + 1]),
            _ => Next::Finish,
        }
    }

    fn next_is(workflow: &Workflow, stage: &StageName) -> Next {
        if workflow.chunked_stage() == Some(stage) {
            Next::Chunks
        } else {
            Next::Stage(stage.clone())
        }
    }
}

/// Something that happened to a job in the queue, in the job's event stream. Any number
/// of servers read the same stream, from the start, so a server that restarts (or a second
/// one) sees everything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QueueEvent {
    /// A stage's progress, as a worker reported it.
    Progress {
        /// The event.
        progress: Progress,
    },
    /// The render was split into `chunks` tasks over `frames` frames.
    Planned {
        /// Render tasks.
        chunks: u32,
        /// Frames in the video.
        frames: u64,
    },
    /// A render chunk is encoded and stored.
    ChunkDone {
        /// Which chunk.
        index: u32,
        /// Its frames.
        frames: u64,
        /// The worker that did it.
        worker: String,
    },
    /// The job is done.
    Succeeded {
        /// What it produced.
        result: RemoteResult,
    },
    /// The job failed.
    Failed {
        /// `bad_input`, `transient` or `internal`.
        kind: String,
        /// What failed, naming the stage.
        message: String,
    },
    /// The job was cancelled; workers dropped its tasks.
    Cancelled,
}

impl QueueEvent {
    /// True for the events that end a job.
    pub fn is_last(&self) -> bool {
        matches!(
            self,
            QueueEvent::Succeeded { .. } | QueueEvent::Failed { .. } | QueueEvent::Cancelled
        )
    }
}

/// What a job made, as the queue records it: pointers into the shared cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RemoteResult {
    /// A video, assembled and stored in the shared cache.
    Video {
        /// How it was chunked (what delivering it needs).
        plan: ChunkPlan,
        /// The cache key of the MP4.
        key: String,
        /// Its size.
        bytes: u64,
    },
    /// A partial run's output.
    Stage {
        /// The last stage run.
        stage: StageName,
        /// Its output.
        output: serde_json::Value,
    },
}
