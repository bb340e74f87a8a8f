//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Turn a web page into a narrated explainer video with an animated presenter.
#[derive(Debug, Parser)]
#[command(name = "vidflow", version, about, propagate_version = true)]
pub struct Cli {
    /// Configuration file (default: ./vidflow.toml, then ~/.config/vidflow/vidflow.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log lines as text, or as JSON objects (one per line, with the spans they happened
    /// in: job, stage, task) for a log collector.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "VIDFLOW_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a video from a page: vidflow make https://example.org/post --avatar avatar_1 -o post.mp4
    Make(Box<MakeArgs>),
    /// Run a workflow from a file: vidflow run narrate.toml --input https://example.org/post
    Run(Box<RunArgs>),
    /// Print a page's main text: vidflow extract page.html --json
    Extract(ExtractArgs),
    /// Inspect or empty the stage cache.
    Cache {
        #[command(subcommand)]
        action: CacheAction,
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Show the effective configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// List the built-in presenters.
    Avatars {
        /// Write a preview PNG of each into this folder.
        #[arg(long, value_name = "DIR")]
        previews: Option<PathBuf>,
    },
    /// List every voice (Flite's and the neural ones) with engine, language, sample rate,
    /// licence, whether it is installed, and which one `auto` picks: vidflow voices --measure
    Voices(VoicesArgs),
    /// List the workflows (`make --workflow ID`) with their stages.
    Workflows,
    /// Run the HTTP service: vidflow serve --addr 127.0.0.1:8080 --data-dir DIR
    Serve(ServeArgs),
    /// Run tasks from the shared queue: vidflow worker --redis redis://host:6379/0
    Worker(WorkerArgs),
    /// How a server stands, as tables: vidflow status --server http://127.0.0.1:8080
    ///
    /// What the server's GET /v1/status says (jobs, cache tiers, disk, the shared queue
    /// and its workers); --json prints that JSON. With --redis URL the shared queue is read
    /// directly, without a server.
    Status(StatusArgs),
    /// Measure speed, memory and quality (JSON output).
    Bench {
        #[command(subcommand)]
        what: BenchWhat,
    },
    /// Search vidflow's own settings: vidflow tune encode page.html --target-ssim 0.98 --storage study.db
    Tune {
        #[command(subcommand)]
        what: TuneWhat,
    },
}

/// `vidflow tune …`.
#[derive(Debug, Subcommand)]
pub enum TuneWhat {
    /// The encoder's settings (preset, CRF, tune, keyframe interval, AQ) on a sample of the
    /// page's (or script's) video: the Pareto front of size, SSIM and encode time, or with
    /// --target-ssim the smallest file that reaches it. `make --encode-profile FILE` uses it.
    Encode(Box<TuneEncodeArgs>),
    /// The render's throughput settings (threads, chunk frames, chunks ahead, preset) for
    /// frames per second on this machine; --write-config puts the best in a config file.
    Render(Box<TuneRenderArgs>),
}

/// The search's bookkeeping, shared by both searches.
#[derive(Debug, Args)]
pub struct StudyArgs {
    /// Trials to run (a resumed study adds these to the ones it has).
    #[arg(long)]
    pub trials: Option<usize>,
    /// Keep the study in this SQLite file (resumed when it exists; Ctrl-C keeps it).
    #[arg(long, value_name = "FILE")]
    pub storage: Option<PathBuf>,
    /// The study's name in its file.
    #[arg(long)]
    pub study: Option<String>,
    /// Seed of the sampler (the same seed repeats a search).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// `vidflow tune encode`.
#[derive(Debug, Args)]
pub struct TuneEncodeArgs {
    /// Page to sample: http(s) URL, file:// URL or local path. Optional with --script.
    pub input: Option<String>,
    /// The smallest file whose SSIM reaches this (0.98 is visually lossless for slides).
    #[arg(long)]
    pub target_ssim: Option<f64>,
    /// Seconds of video in the sample.
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Trials run at once.
    #[arg(long)]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub study: StudyArgs,
    #[command(flatten)]
    pub options: MakeOptions,
}

/// `vidflow tune render`.
#[derive(Debug, Args)]
pub struct TuneRenderArgs {
    /// Write the best settings into this config file (created when missing).
    #[arg(long, value_name = "FILE")]
    pub write_config: Option<PathBuf>,
    #[command(flatten)]
    pub study: StudyArgs,
    #[command(flatten)]
    pub options: MakeOptions,
}

/// `vidflow make`.
#[derive(Debug, Args)]
pub struct MakeArgs {
    /// Page to read: http(s) URL, file:// URL or local path. Optional with --script.
    pub input: Option<String>,
    /// Workflow to run: explainer (default), own-script (default with only --script),
    /// narrate, slides (see `vidflow workflows`).
    #[arg(long, value_name = "ID")]
    pub workflow: Option<String>,
    #[command(flatten)]
    pub options: MakeOptions,
}

/// `vidflow voices`.
#[derive(Debug, Args)]
pub struct VoicesArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Measure each installed voice's real-time factor (seconds of work per second of audio,
    /// one sentence, after loading).
    #[arg(long)]
    pub measure: bool,
    /// Show which voice `auto` picks for a page in this language (e.g. en, de).
    #[arg(long, value_name = "LANG")]
    pub lang: Option<String>,
}

/// `vidflow run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The workflow file (TOML: an `id` and `[[stages]]` with `id`, `type`, `inputs`).
    pub workflow: PathBuf,
    /// Page to read: http(s) URL, file:// URL or local path (for workflows that read one).
    #[arg(long)]
    pub input: Option<String>,
    #[command(flatten)]
    pub options: MakeOptions,
}

/// What a run makes and how: shared by `make` and `run`.
#[derive(Debug, Args)]
pub struct MakeOptions {
    /// Presenter: avatar_1, avatar_2, avatar_3 or a sprite-pack folder.
    #[arg(long)]
    pub avatar: Option<String>,
    /// Output MP4 (subtitles go beside it as .srt and .vtt).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Frame size: 1280x720, 1920x1080, 1080x1920 or 1080x1080.
    #[arg(long)]
    pub size: Option<String>,
    /// Frames per second: 24, 25, 30 or 60.
    #[arg(long)]
    pub fps: Option<u32>,
    /// Narration length budget in seconds.
    #[arg(long)]
    pub max_seconds: Option<f64>,
    /// Voice: auto (the best installed voice whose licence allows any use, by the page's
    /// language), a neural voice (see `vidflow voices`), or Flite's slt, awb, rms, kal, kal16.
    #[arg(long, value_name = "ID")]
    pub voice: Option<String>,
    /// Speak with this Piper voice model (any language Piper covers), its .onnx.json beside it.
    #[arg(long, value_name = "FILE", conflicts_with = "voice")]
    pub voice_model: Option<PathBuf>,
    /// x264 preset (ultrafast … veryslow).
    #[arg(long)]
    pub preset: Option<String>,
    /// x264 constant rate factor, 0–51 (lower is better and bigger).
    #[arg(long)]
    pub crf: Option<u8>,
    /// Do not burn subtitles into the video (the .srt/.vtt files are still written).
    #[arg(long)]
    pub no_subtitles: bool,
    /// Use this script (one segment per paragraph) instead of summarising the page.
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// Stop after a stage and write its output as JSON (in the explainer: fetch, extract,
    /// script, speak, storyboard).
    #[arg(long, value_name = "STAGE")]
    pub stop_after: Option<String>,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
    /// Allow loopback and private-network addresses (for pages on your own machine or LAN).
    #[arg(long)]
    pub allow_private_network: bool,
    /// For a saved local page: resolve its relative links and images against this http(s)
    /// URL (where the page came from) instead of the file's folder.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Frame workers (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Frames per render chunk.
    #[arg(long)]
    pub chunk_frames: Option<usize>,
    /// Run on the workers of this shared queue instead of here (sets queue.redis_url; a
    /// local page is sent inline, since the workers may be on other machines).
    #[arg(long, value_name = "REDIS_URL")]
    pub remote: Option<String>,
    /// Encode with the setting `vidflow tune encode --storage FILE` chose (config
    /// `video.encode_profile`).
    #[arg(long, value_name = "FILE")]
    pub encode_profile: Option<PathBuf>,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// `vidflow worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The shared queue's Redis (config `queue.redis_url`; also the shared cache unless
    /// `cache.redis_url` is set).
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Tasks run at once (config `queue.concurrency`).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Where to serve /metrics (config `queue.worker_metrics_addr`; empty turns it off).
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics_addr: Option<String>,
    /// Frame workers per render task (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Allow pages on loopback and private networks (config `allow_private_network`).
    #[arg(long)]
    pub allow_private_network: bool,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// `vidflow status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The server to ask (default: http:// and config `server.addr`).
    #[arg(long, value_name = "URL", conflicts_with = "redis")]
    pub server: Option<String>,
    /// The server's API key (default: the first of config `server.api_keys`).
    #[arg(
        long,
        value_name = "KEY",
        env = "VIDFLOW_API_KEY",
        hide_env_values = true
    )]
    pub api_key: Option<String>,
    /// Read the shared queue's Redis directly instead of asking a server (config
    /// `queue.redis_url`).
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
    /// Also list this many dead letters (with --redis).
    #[arg(long, default_value_t = 10)]
    pub dead_letters: usize,
}

/// Cache location flags shared by several commands.
#[derive(Debug, Args, Clone, Default)]
pub struct CacheArgs {
    /// Cache folder (default ~/.cache/vidflow).
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the cache.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Shared Redis cache tier after memory and disk (sets cache.redis_url).
    #[arg(long, global = true, value_name = "URL")]
    pub cache_redis: Option<String>,
}

/// `vidflow serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (config `server.addr`; port 0 picks a free port).
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,
    /// Jobs database, job outputs and the default cache (config `server.data_dir`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Allow submitted URLs on loopback and private networks (config `allow_private_network`).
    #[arg(long)]
    pub allow_private_network: bool,
    /// Shared mode: jobs in this Redis, run by `vidflow worker` processes (config
    /// `queue.redis_url`).
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Serve on a non-loopback address with no API keys (config `server.insecure`);
    /// refused without it.
    #[arg(long)]
    pub insecure: bool,
}

/// `vidflow extract`.
#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// Page: http(s) URL, file:// URL or local path.
    pub input: String,
    /// Print JSON {title, byline, lang, text, paragraphs, images}.
    #[arg(long)]
    pub json: bool,
    /// Allow loopback and private-network addresses.
    #[arg(long)]
    pub allow_private_network: bool,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// `vidflow cache …`.
#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Entries and bytes per tier.
    Stats {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Remove every entry.
    Clear,
    /// Remove the disk tier's entries older than the cache's TTL (`cache.ttl`) and, oldest
    /// written first, those over its size bound (`cache.max_bytes`), and files no entry
    /// refers to; safe while other vidflow processes use the cache.
    Prune {
        /// Remove entries older than this many days (instead of `cache.ttl`).
        #[arg(long, value_name = "DAYS")]
        max_age_days: Option<f64>,
        /// Keep the disk tier under this many bytes (instead of `cache.max_bytes`).
        #[arg(long, value_name = "BYTES")]
        max_bytes: Option<u64>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

/// `vidflow config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the effective configuration and where each value came from.
    Show,
}

/// `vidflow bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchWhat {
    /// End-to-end speed vs. encode-only, peak memory (60 s and 10 min), cached rerun time.
    Make {
        /// Narration seconds for the main run.
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
        /// Length of the long run for the memory figure, seconds (0 skips it).
        #[arg(long, default_value_t = 600.0)]
        long_seconds: f64,
        /// Runs to take the median of.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// x264 preset.
        #[arg(long, default_value = "veryfast")]
        preset: String,
        /// Voice of every run (Flite's `slt` by default: the figures in the README, and
        /// minutes rather than an hour for a long neural narration).
        #[arg(long, default_value = "slt")]
        voice: String,
    },
    /// Render-only fps (no encoder) at 720p and 1080p, end-to-end fps at ultrafast and
    /// veryfast next to ffmpeg encode-only fps of the same frames and audio.
    Render {
        /// Narration seconds of the explainer rendered.
        #[arg(long, default_value_t = 30.0)]
        seconds: f64,
        /// Runs to take the median of.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Frame sizes to measure (repeat the flag; default 1280x720 and 1920x1080).
        #[arg(long = "size")]
        sizes: Vec<String>,
        /// x264 presets to measure (repeat the flag; default ultrafast and veryfast).
        #[arg(long = "preset")]
        presets: Vec<String>,
    },
    /// Frame kernels at 720p, 1080p and 2160p: ms per frame and GB/s, one thread and all
    /// cores, next to a plain memory copy of the same bytes.
    Kernels {
        /// Runs to take the median of (at least 5).
        #[arg(long, default_value_t = 7)]
        runs: usize,
    },
    /// Shared mode with real worker processes: 8 short jobs and one long chunked video on
    /// 1 and on 2 workers, and the extra time when a worker is killed mid-chunk. Needs a
    /// throwaway Redis (scripts/bench-dist starts one).
    Dist {
        /// The Redis to use; the bench writes under fresh key prefixes.
        #[arg(long, value_name = "URL")]
        redis: String,
        /// Runs to take the median of.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Short jobs per throughput run.
        #[arg(long, default_value_t = 8)]
        jobs: usize,
        /// Narration seconds of each short job.
        #[arg(long, default_value_t = 8.0)]
        job_seconds: f64,
        /// Narration seconds of the long video (0 skips it and the kill run).
        #[arg(long, default_value_t = 300.0)]
        long_seconds: f64,
        /// Frame threads per worker (0 = one per core; 1 models one core per machine).
        #[arg(long, default_value_t = 0)]
        worker_threads: usize,
        /// Seconds before a dead worker's task is taken over.
        #[arg(long, default_value_t = 10)]
        lease_seconds: u64,
        /// Seconds of video per render task.
        #[arg(long, default_value_t = 10.0)]
        chunk_seconds: f64,
        /// Pin worker i to core i: each worker models a one-core machine (its encoder too),
        /// so 1 vs 2 workers measures the scaling that two machines would give.
        #[arg(long)]
        pin_cores: bool,
    },
    /// Main-text extraction quality on a fixture folder (word F1, title accuracy).
    Extract {
        /// Folder of fixtures (<name>/source.html, expected.html, expected-metadata.json).
        #[arg(default_value = "../shared/fixtures/readability")]
        dir: PathBuf,
        /// Also list the N pages with the lowest word F1, with the blocks they lose and gain.
        #[arg(long, value_name = "N")]
        worst: Option<usize>,
    },
    /// Boilerplate kept and content lost on snippet-annotated pages (trafilatura's
    /// `tests/evaldata.json` format): precision, recall and F1 over the passages.
    Snippets {
        /// The evaluation file: page URL -> {"file", "with": [...], "without": [...]}.
        evaldata: PathBuf,
        /// Folders to look for the pages' files in, in order (e.g. trafilatura's
        /// tests/cache and tests/eval).
        #[arg(long = "pages", value_name = "DIR", required = true)]
        pages: Vec<PathBuf>,
        /// Also score pages whose file is named by a 32-digit hex hash (left out by
        /// default: that is how the article-extraction benchmark, kept for checking, names
        /// its pages).
        #[arg(long)]
        include_hashed: bool,
        /// Also list the N pages that keep the most boilerplate or lose the most text.
        #[arg(long, value_name = "N")]
        worst: Option<usize>,
    },
}
