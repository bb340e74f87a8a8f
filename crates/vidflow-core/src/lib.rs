//! Shared types of the vidflow pipeline.
//!
//! Every stage of vidflow reads and writes the types defined here, so that stages,
//! the cache, the CLI and the server agree on one vocabulary without depending on
//! each other:
//!
//! ```text
//! URL ─fetch→ Page ─extract→ Article ─script→ Script ─speak→ Speech
//!                                 └──────── storyboard ←───────┘ → Timeline → frames → MP4
//! ```
//!
//! Content keys ([`ContentKey`]) name a stage's output by what produced it, so an
//! unchanged prefix of the pipeline is never recomputed:
//!
//! ```
//! use vidflow_core::ContentKey;
//! let page = ContentKey::builder("fetch", 1).param("url", "https://example.org/").build();
//! let article = ContentKey::builder("extract", 1).input(&page).build();
//! assert_ne!(page, article);
//! // Same recipe, same key.
//! assert_eq!(article, ContentKey::builder("extract", 1).input(&page).build());
//! ```

pub mod article;
pub mod artifact;
pub mod cancel;
pub mod chunks;
pub mod clock;
pub mod codec;
pub mod config;
pub mod error;
pub mod key;
pub mod page;
pub mod pcm;
pub mod progress;
pub mod request;
pub mod script;
pub mod shutdown;
pub mod speech;
pub mod stage;
pub mod timeline;
pub mod viseme;
pub mod workflow;

pub use article::{Article, ArticleImage, Paragraph};
pub use artifact::{Artifact, ArtifactType, DataType, Scratch, Video};
pub use cancel::CancelFlag;
pub use chunks::{ChunkKeys, ChunkPlan, ChunkReport, ChunkSpan, MIN_CHUNK_FRAMES};
pub use clock::{Clock, ClockHand};
pub use config::{Config, QueueConfig, ServerConfig};
pub use error::{ErrorKind, VidflowError};
pub use key::{ContentKey, ContentKeyBuilder};
pub use page::Page;
pub use pcm::{Pcm, PcmWriter};
pub use progress::{Progress, ProgressSink, StageName};
pub use request::{MakeRequest, Source};
pub use script::{Script, Segment};
pub use speech::{PhoneTiming, Speech, SpeechSegment, WordTiming};
pub use stage::{
    BoxFuture, CachedValue, ChunkedStage, Input, InputKeys, Inputs, NoCache, Port, ProgressHandle,
    Stage, StageCache, StageContext, TrialEnded,
};
pub use timeline::{
    Blink, Cue, ImageAsset, MotionSeed, Slide, SlideLayout, Timeline, VideoSize, VisemeSpan,
};
pub use viseme::Viseme;
pub use workflow::{
    Plan, PlannedStage, Registry, RunEnv, RunOutcome, StageDef, StageOptions, StageReport,
    Workflow, WorkflowDef,
};
