//! Tasks: the unit of work on the stream, and what a job becomes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use vidflow_core::{Progress, StageName};
use vidflow_stages::{ChunkPlan, MakeRequest};

use crate::error::DistError;

/// What a task does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskKind {
    /// One stage before rendering (fetch, extract, script, speak, storyboard).
    Stage(StageName),
    /// Render and encode one time chunk of the video.
    Chunk(u32),
    /// Join the chunks and mux the narration.
    Assemble,
}

impl TaskKind {
    /// The pipeline stage the task belongs to (render for chunks and assembly).
    pub fn stage(self) -> StageName {
        match self {
            TaskKind::Stage(s) => s,
            TaskKind::Chunk(_) | TaskKind::Assemble => StageName::Render,
        }
    }

    /// The `kind` field on the stream.
    fn field(self) -> String {
        match self {
            TaskKind::Stage(s) => s.as_str().to_owned(),
            TaskKind::Chunk(_) => "chunk".into(),
            TaskKind::Assemble => "assemble".into(),
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
    /// The stream entry's fields.
    pub fn fields(&self) -> [(&'static str, String); 3] {
        let chunk = match self.kind {
            TaskKind::Chunk(i) => i,
            _ => 0,
        };
        [
            ("job", self.job.clone()),
            ("kind", self.kind.field()),
            ("chunk", chunk.to_string()),
        ]
    }

    /// Reads a task back from a stream entry's fields.
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
            other => match StageName::parse(other) {
                Some(s) if s != StageName::Render => TaskKind::Stage(s),
                _ => {
                    return Err(DistError::Malformed {
                        what: "task",
                        detail: format!("unknown kind '{other}'"),
                    });
                }
            },
        };
        Ok(Task { job, kind })
    }
}

/// A job as the queue knows it: the request (its output path is the submitter's and is
/// ignored by workers) and how to split the render.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobSpec {
    /// What to make.
    pub request: MakeRequest,
    /// Seconds of video per render task.
    pub chunk_seconds: f64,
}

/// What follows a finished stage task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Another stage task.
    Stage(StageName),
    /// Plan the chunks and queue one render task each.
    Chunks,
    /// The job asked to stop here: its result is this stage's output.
    Finish,
}

impl JobSpec {
    /// The job's first task: fetch, or script when only a script is given.
    pub fn first(&self) -> StageName {
        if self.request.source.is_some() {
            StageName::Fetch
        } else {
            StageName::Script
        }
    }

    /// What follows `done`.
    pub fn after(&self, done: StageName) -> Next {
        if self.request.stop_after == Some(done) {
            return Next::Finish;
        }
        match done {
            StageName::Fetch => Next::Stage(StageName::Extract),
            StageName::Extract => Next::Stage(StageName::Script),
            StageName::Script => Next::Stage(StageName::Speak),
            StageName::Speak => Next::Stage(StageName::Storyboard),
            StageName::Storyboard | StageName::Render => Next::Chunks,
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
        /// How it was chunked (what `write_assembled` needs).
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
