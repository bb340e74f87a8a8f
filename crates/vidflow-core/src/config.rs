//! vidflow's configuration: one struct, layered from defaults, `vidflow.toml`, `VIDFLOW_*`
//! environment variables and then command-line flags (figment).

use std::path::{Path, PathBuf};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};

use crate::error::VidflowError;

/// Everything a user can configure. Field names are the TOML keys; nested tables use
/// `__` in environment variables (`VIDFLOW_CACHE__DIR=/tmp/c`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Frame workers; 0 means one per core.
    pub threads: usize,
    /// Frames rendered per chunk (bounds memory: chunk × frame size is in flight).
    pub chunk_frames: usize,
    /// Rendered chunks that may wait for the encoder (1: the renderer works one chunk
    /// ahead); more smooths bursts at the cost of memory.
    pub render_ahead: usize,
    /// Tries for transient failures (network fetch, remote LLM/TTS). Never for bad input.
    pub retry_attempts: u32,
    /// First backoff between tries in milliseconds; doubles each try.
    pub retry_backoff_ms: u64,
    /// Lift the SSRF guard (allow loopback and private addresses). For local use only.
    pub allow_private_network: bool,
    /// Per-stage time limits.
    pub timeouts: Timeouts,
    /// Size and count limits on what strangers send: pages, images, redirects, and
    /// requests to `vidflow serve`.
    pub limits: Limits,
    /// The stage cache.
    pub cache: CacheConfig,
    /// Defaults for the video a `make` produces.
    pub video: VideoDefaults,
    /// Optional OpenAI-compatible chat model that writes the script.
    pub llm: LlmConfig,
    /// The HTTP service (`vidflow serve`).
    pub server: ServerConfig,
    /// Shared mode: the Redis Streams task queue that `vidflow worker` processes serve.
    pub queue: QueueConfig,
}

/// Shared mode: servers and `vidflow make --remote` turn jobs into tasks on a Redis stream;
/// `vidflow worker` processes run them. Off while `redis_url` is unset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// The Redis holding the task stream (`redis://host:6379/0`). Also the shared cache's
    /// Redis when `cache.redis_url` is unset. `rediss://` connects over TLS.
    pub redis_url: Option<String>,
    /// For a `rediss://` URL: a PEM file of the certificate authorities to trust instead of
    /// the system's (a managed Redis's own CA).
    pub redis_ca_file: Option<PathBuf>,
    /// Prefix of every queue and job key.
    pub prefix: String,
    /// Tasks a worker runs at once.
    pub concurrency: usize,
    /// Seconds of video per render task; chunks are joined without re-encoding.
    pub chunk_seconds: f64,
    /// A task whose worker has not renewed its claim for this many seconds is taken over
    /// by another worker.
    pub lease_seconds: u64,
    /// Deliveries before a task goes to the dead-letter stream and its job fails.
    pub max_deliveries: u64,
    /// Where a worker serves `/metrics` (host:port); empty turns it off.
    pub worker_metrics_addr: String,
    /// On SIGTERM, seconds a worker's running tasks get to finish before they are handed
    /// back (left unacknowledged for another worker).
    pub worker_grace_seconds: u64,
    /// Seconds a job's queue records (events, plan, result pointer) are kept.
    pub job_ttl_seconds: u64,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            redis_url: None,
            redis_ca_file: None,
            // Apart from the cache's `vidflow:`, so that `cache clear` never empties the queue.
            prefix: "vidflow-queue:".into(),
            concurrency: 1,
            chunk_seconds: 10.0,
            lease_seconds: 30,
            max_deliveries: 3,
            worker_metrics_addr: "127.0.0.1:9464".into(),
            worker_grace_seconds: 30,
            job_ttl_seconds: 7 * 24 * 3600,
        }
    }
}

impl QueueConfig {
    /// True when a queue Redis is configured.
    pub fn is_shared(&self) -> bool {
        self.redis_url.is_some()
    }
}

/// Per-stage time limits in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    /// Fetching the page (all redirects, whole body).
    pub fetch: u64,
    /// Extracting the main text.
    pub extract: u64,
    /// Writing the script (remote LLM included).
    pub script: u64,
    /// Speaking the script.
    pub speak: u64,
    /// Building the timeline (fetching the page's images included).
    pub storyboard: u64,
    /// Rendering and encoding the video.
    pub render: u64,
}

/// Limits on what a page, its images and an API client may make vidflow read or hold.
/// The fetch's time limit is `timeouts.fetch`, which bounds the whole fetch (every
/// redirect and the body), so a server trickling a byte a second is cut off too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest page body read, in bytes (after any gzip decoding); more is refused.
    pub max_page_bytes: u64,
    /// Largest image read, in bytes.
    pub max_image_bytes: u64,
    /// Largest image by its declared width × height; a bigger one (a decompression bomb,
    /// a few KB that would decode to gigabytes) is refused before it is decoded.
    pub max_decoded_pixels: u64,
    /// Redirects a fetch follows before giving up.
    pub max_redirects: usize,
    /// `vidflow serve`: seconds a client gets to send a request's headers; a slower one
    /// gets 408 and is disconnected.
    pub request_header_seconds: u64,
    /// `vidflow serve`: seconds a client gets to send a request's whole body; a slower
    /// one gets 408 and is disconnected.
    pub request_body_seconds: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_page_bytes: 10 * 1024 * 1024,
            max_image_bytes: 8 * 1024 * 1024,
            // 40 megapixels (an 8000 × 5000 photo): 160 MB decoded as RGBA.
            max_decoded_pixels: 40_000_000,
            max_redirects: 5,
            request_header_seconds: 10,
            request_body_seconds: 30,
        }
    }
}

impl Limits {
    /// Checks that every limit lets something through.
    pub fn check(&self) -> Result<(), VidflowError> {
        for (name, value) in [
            ("max_page_bytes", self.max_page_bytes),
            ("max_image_bytes", self.max_image_bytes),
            ("max_decoded_pixels", self.max_decoded_pixels),
            ("request_header_seconds", self.request_header_seconds),
            ("request_body_seconds", self.request_body_seconds),
        ] {
            if value == 0 {
                return Err(VidflowError::bad_input(format!(
                    "limits.{name} must be at least 1"
                )));
            }
        }
        Ok(())
    }
}

/// The stage cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Turn the cache off entirely.
    pub enabled: bool,
    /// On-disk store; default `~/.cache/vidflow`.
    pub dir: Option<PathBuf>,
    /// Entries older than this many seconds are recomputed; 0 keeps them forever.
    pub ttl: u64,
    /// Bound on the disk store in bytes; 0 means unbounded.
    pub max_bytes: u64,
    /// Bound on the in-memory tier in bytes.
    pub memory_max_bytes: u64,
    /// Shared Redis tier after memory and disk (`redis://host:6379/0`, or `rediss://` for
    /// TLS); off when unset.
    pub redis_url: Option<String>,
    /// For a `rediss://` URL: a PEM file of the certificate authorities to trust instead of
    /// the system's (a managed Redis's own CA).
    pub redis_ca_file: Option<PathBuf>,
    /// Prefix of every Redis key this cache writes.
    pub redis_prefix: String,
    /// Largest single Redis value in bytes; bigger entries are split into parts.
    pub redis_part_bytes: u64,
    /// Time limit on each Redis call in milliseconds; a slower Redis counts as down.
    pub redis_timeout_ms: u64,
}

/// The HTTP service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on.
    pub addr: String,
    /// Jobs database, outputs and the default cache live here; default `./vidflow-data`.
    pub data_dir: Option<PathBuf>,
    /// Jobs run at once.
    pub max_concurrent_jobs: usize,
    /// Jobs waiting beyond the running ones; more get 429.
    pub max_queued_jobs: usize,
    /// API keys accepted (plain or `sha256:<hex>`); auth is on when any key is configured.
    pub api_keys: Vec<String>,
    /// A file with one API key (plain or `sha256:<hex>`) per line, `#` comments allowed.
    pub keys_file: Option<PathBuf>,
    /// Serve on a non-loopback address with no API key configured. Refused otherwise
    /// (`vidflow serve --insecure` sets it): anyone who can reach the port could submit,
    /// read and cancel every job. Only for a port published on loopback or a private net.
    pub insecure: bool,
    /// Admin keys (plain or `sha256:<hex>`): accepted like `api_keys`, and they see, cancel
    /// and download every job; any other key sees only the jobs it submitted.
    pub admin_keys: Vec<String>,
    /// Leave `/health/*` open when auth is on.
    pub open_health: bool,
    /// Leave `/metrics` open when auth is on.
    pub open_metrics: bool,
    /// Requests per second allowed per key (or per client IP when auth is off); 0 = no limit.
    pub rate_limit_per_second: u32,
    /// Burst above the steady rate.
    pub rate_limit_burst: u32,
    /// Wrong or missing API keys a client address may present per minute before it gets
    /// 429 (guessing keys is throttled even when the rate limit is off); 0 = no limit.
    pub auth_failures_per_minute: u32,
    /// Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` / `Forwarded` headers
    /// name the client; empty (the default) trusts no header and uses the peer address.
    pub trusted_proxies: Vec<String>,
    /// Event streams (`/v1/jobs/{id}/events`) open at once, in all; more get 429.
    pub max_event_streams: usize,
    /// Event streams one client (key, or address without auth) may hold open at once.
    pub max_event_streams_per_client: usize,
    /// Origins allowed by CORS (`*` for any); none by default.
    pub cors_origins: Vec<String>,
    /// Seconds running jobs get to finish on SIGTERM/SIGINT before they are stopped
    /// (and re-queued for the next start).
    pub shutdown_grace_seconds: u64,
    /// Finished jobs (records and files) are deleted this many days after they ended;
    /// 0 keeps them until deleted by hand.
    pub retention_days: f64,
    /// While finished jobs' files take more than this many bytes, the oldest are deleted;
    /// 0 sets no bound. Queued and running jobs, and files being downloaded, are never
    /// touched.
    pub retention_max_bytes: u64,
}

/// Defaults for `make`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VideoDefaults {
    /// `WIDTHxHEIGHT`, one of 1280x720, 1920x1080, 1080x1920, 1080x1080.
    pub size: String,
    /// 24, 25, 30 or 60.
    pub fps: u32,
    /// Narration length budget in seconds.
    pub max_seconds: f64,
    /// Voice: `auto` (the best installed voice whose licence allows any use of the output,
    /// matching the page's language; Flite's `slt` when none is installed), a voice id from
    /// `vidflow voices`, or a path to a Piper `.onnx` model.
    pub voice: String,
    /// Presenter: built-in name or sprite-pack folder.
    pub avatar: String,
    /// x264 preset.
    pub preset: String,
    /// x264 constant rate factor (0–51).
    pub crf: u8,
    /// Burn subtitles into the frames.
    pub subtitles: bool,
    /// x264 settings beyond preset and CRF.
    pub x264: X264Tuning,
    /// A study file of `vidflow tune encode`: its chosen point sets preset, CRF and the
    /// x264 settings (over `preset`, `crf` and `x264` here).
    pub encode_profile: Option<PathBuf>,
}

/// OpenAI-compatible `/v1/chat/completions` endpoint for the script stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct LlmConfig {
    /// Base URL, e.g. `https://api.example.com/v1`; unset means the built-in summary.
    pub base_url: Option<String>,
    /// Model name.
    pub model: Option<String>,
    /// API key (never printed).
    pub api_key: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            threads: 0,
            chunk_frames: 24,
            render_ahead: 1,
            retry_attempts: 3,
            retry_backoff_ms: 500,
            allow_private_network: false,
            timeouts: Timeouts::default(),
            limits: Limits::default(),
            cache: CacheConfig::default(),
            video: VideoDefaults::default(),
            llm: LlmConfig::default(),
            server: ServerConfig::default(),
            queue: QueueConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: "127.0.0.1:8080".into(),
            data_dir: None,
            max_concurrent_jobs: 1,
            max_queued_jobs: 64,
            api_keys: Vec::new(),
            keys_file: None,
            admin_keys: Vec::new(),
            insecure: false,
            open_health: true,
            open_metrics: true,
            rate_limit_per_second: 50,
            rate_limit_burst: 100,
            auth_failures_per_minute: 30,
            trusted_proxies: Vec::new(),
            max_event_streams: 1024,
            max_event_streams_per_client: 16,
            cors_origins: Vec::new(),
            shutdown_grace_seconds: 30,
            retention_days: 30.0,
            retention_max_bytes: 0,
        }
    }
}

impl ServerConfig {
    /// True when any API key (plain, admin or a keys file) is configured.
    pub fn has_keys(&self) -> bool {
        !self.api_keys.is_empty() || !self.admin_keys.is_empty() || self.keys_file.is_some()
    }

    /// Refuses to expose an open API: a non-loopback `addr` with no API keys, unless
    /// `insecure` says that is meant.
    pub fn check_exposure(&self) -> Result<(), VidflowError> {
        let Ok(addr) = self.addr.parse::<std::net::SocketAddr>() else {
            return Ok(()); // `validate` names a bad address
        };
        if addr.ip().is_loopback() || self.has_keys() || self.insecure {
            return Ok(());
        }
        Err(VidflowError::bad_input(format!(
            "refusing to serve on {} with no API keys: anyone who can reach it could submit, read and cancel every job. Set server.api_keys or server.keys_file, listen on 127.0.0.1, or pass --insecure (server.insecure = true) if the port is reachable only by trusted clients",
            self.addr
        )))
    }

    /// The data folder: the configured one, else `./vidflow-data`.
    pub fn resolved_data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("vidflow-data"))
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            fetch: 20,
            extract: 30,
            script: 120,
            speak: 600,
            storyboard: 60,
            render: 6 * 3600,
        }
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            enabled: true,
            dir: None,
            ttl: 30 * 24 * 3600,
            max_bytes: 4 * 1024 * 1024 * 1024,
            memory_max_bytes: 128 * 1024 * 1024,
            redis_url: None,
            redis_ca_file: None,
            redis_prefix: "vidflow:".into(),
            redis_part_bytes: 4 * 1024 * 1024,
            redis_timeout_ms: 500,
        }
    }
}

impl Default for VideoDefaults {
    fn default() -> Self {
        VideoDefaults {
            size: "1280x720".into(),
            fps: 30,
            max_seconds: 60.0,
            voice: "auto".into(),
            avatar: "avatar_1".into(),
            preset: "veryfast".into(),
            crf: 23,
            subtitles: true,
            x264: X264Tuning::default(),
            encode_profile: None,
        }
    }
}

/// The x264 presets vidflow offers, fastest first.
pub const PRESETS: [&str; 9] = [
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
];

/// libx264 settings beyond preset and CRF; each left to x264 when unset. What
/// `vidflow tune encode` searches besides preset and CRF.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct X264Tuning {
    /// `-tune`: psychovisual settings for a kind of content (`film`, `animation`,
    /// `stillimage`, ...).
    pub tune: Option<String>,
    /// `-g`: the most frames between two keyframes.
    pub keyint: Option<u32>,
    /// `aq-mode`: adaptive quantisation (0 off, 1 variance, 2 auto-variance, 3 auto-variance
    /// biased to dark scenes).
    pub aq_mode: Option<u8>,
}

/// The `-tune` values x264 knows.
pub const X264_TUNES: [&str; 8] = [
    "film",
    "animation",
    "grain",
    "stillimage",
    "fastdecode",
    "zerolatency",
    "psnr",
    "ssim",
];

impl X264Tuning {
    /// Checks each setting, naming the first that is out of range.
    pub fn check(&self) -> Result<(), VidflowError> {
        if let Some(t) = &self.tune
            && !X264_TUNES.contains(&t.as_str())
        {
            return Err(VidflowError::bad_input(format!(
                "invalid x264 tune '{t}': use one of {}",
                X264_TUNES.join(", ")
            )));
        }
        if let Some(k) = self.keyint
            && !(1..=1000).contains(&k)
        {
            return Err(VidflowError::bad_input(format!(
                "invalid keyframe interval {k}: use 1 to 1000 frames"
            )));
        }
        if let Some(a) = self.aq_mode
            && a > 3
        {
            return Err(VidflowError::bad_input(format!(
                "invalid aq-mode {a}: use 0 to 3"
            )));
        }
        Ok(())
    }

    /// True when every setting is left to x264.
    pub fn is_default(&self) -> bool {
        self == &X264Tuning::default()
    }
}

/// Checks x264 settings: a known preset and a CRF of 0 to 51.
pub fn check_encoder(preset: &str, crf: u8) -> Result<(), VidflowError> {
    if crf > 51 {
        return Err(VidflowError::bad_input(format!(
            "invalid crf {crf}: use 0 to 51"
        )));
    }
    if !PRESETS.contains(&preset) {
        return Err(VidflowError::bad_input(format!(
            "invalid preset '{preset}': use one of {}",
            PRESETS.join(", ")
        )));
    }
    Ok(())
}

impl CacheConfig {
    /// The disk store's folder: the configured one, else `~/.cache/vidflow`.
    pub fn resolved_dir(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| {
            dirs::cache_dir()
                .unwrap_or_else(|| PathBuf::from(".cache"))
                .join("vidflow")
        })
    }
}

impl Config {
    /// Builds the layered figment: defaults, then the first config file found (explicit
    /// path, `./vidflow.toml`, `~/.config/vidflow/vidflow.toml`), then `VIDFLOW_*` variables.
    /// Callers merge their flags on top and extract.
    pub fn figment(explicit: Option<&Path>) -> Result<Figment, VidflowError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = explicit {
            if !path.is_file() {
                return Err(VidflowError::bad_input(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            check_file_nesting(path)?;
            fig = fig.merge(Toml::file_exact(path));
        } else if let Some(found) = Self::default_files().into_iter().find(|p| p.is_file()) {
            check_file_nesting(&found)?;
            fig = fig.merge(Toml::file_exact(found));
        }
        // Only keys that name a config field: other VIDFLOW_* variables (VIDFLOW_LOG,
        // VIDFLOW_TEST_REDIS_URL, ...) are not configuration and must not trip validation.
        for (name, value) in std::env::vars_os() {
            let (Some(name), Some(value)) = (name.to_str(), value.to_str()) else {
                continue; // figment skips variables that are not Unicode, and so do we
            };
            if let Some(key) = name.strip_prefix("VIDFLOW_")
                && Self::is_config_key(key)
            {
                check_env_nesting(name, key, value)?;
            }
        }
        Ok(fig.merge(
            Env::prefixed("VIDFLOW_")
                .split("__")
                .filter(|key| Self::is_config_key(key.as_str())),
        ))
    }

    /// Whether `key` (a `VIDFLOW_*` name without the prefix) names a config field.
    fn is_config_key(key: &str) -> bool {
        let key = key.to_ascii_lowercase();
        Self::TOP_LEVEL_KEYS.iter().any(|k| {
            key == *k || key.starts_with(&format!("{k}.")) || key.starts_with(&format!("{k}__"))
        })
    }

    /// Top-level keys, the only ones read from the environment.
    pub const TOP_LEVEL_KEYS: [&'static str; 13] = [
        "threads",
        "chunk_frames",
        "render_ahead",
        "retry_attempts",
        "retry_backoff_ms",
        "allow_private_network",
        "timeouts",
        "limits",
        "cache",
        "video",
        "llm",
        "server",
        "queue",
    ];

    /// The places a config file is looked for, in order.
    pub fn default_files() -> Vec<PathBuf> {
        let mut files = vec![PathBuf::from("vidflow.toml")];
        if let Some(dir) = dirs::config_dir() {
            files.push(dir.join("vidflow").join("vidflow.toml"));
        }
        files
    }

    /// Extracts and validates a config from a figment.
    pub fn from_figment(fig: &Figment) -> Result<Config, VidflowError> {
        let cfg: Config = fig
            .extract()
            .map_err(|e| VidflowError::bad_input(format!("invalid configuration: {e}")))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks values that types alone cannot.
    pub fn validate(&self) -> Result<(), VidflowError> {
        crate::timeline::VideoSize::parse(&self.video.size)
            .map_err(|e| VidflowError::bad_input(format!("invalid video.size: {e}")))?;
        if ![24, 25, 30, 60].contains(&self.video.fps) {
            return Err(VidflowError::bad_input(format!(
                "invalid fps {}: use 24, 25, 30 or 60",
                self.video.fps
            )));
        }
        if !(self.video.max_seconds > 0.0 && self.video.max_seconds <= 3600.0) {
            return Err(VidflowError::bad_input(format!(
                "invalid max_seconds {}: use a number of seconds between 1 and 3600",
                self.video.max_seconds
            )));
        }
        check_encoder(&self.video.preset, self.video.crf)?;
        self.video.x264.check()?;
        self.limits.check()?;
        if self.chunk_frames == 0 {
            return Err(VidflowError::bad_input("chunk_frames must be at least 1"));
        }
        if !(1..=8).contains(&self.render_ahead) {
            return Err(VidflowError::bad_input("render_ahead must be 1 to 8"));
        }
        if self.server.max_concurrent_jobs == 0 {
            return Err(VidflowError::bad_input(
                "server.max_concurrent_jobs must be at least 1",
            ));
        }
        let days = self.server.retention_days;
        if !(days.is_finite() && days >= 0.0) {
            return Err(VidflowError::bad_input(format!(
                "server.retention_days must be 0 (keep finished jobs) or a positive number of days, not {days}"
            )));
        }
        if self.server.addr.parse::<std::net::SocketAddr>().is_err() {
            return Err(VidflowError::bad_input(format!(
                "invalid server.addr '{}': use host:port with an IP address, like 127.0.0.1:8080",
                self.server.addr
            )));
        }
        if let Some(url) = &self.cache.redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(VidflowError::bad_input(format!(
                "invalid cache.redis_url '{}': use redis://host:port/db",
                mask_url_password(url)
            )));
        }
        if let Some(url) = &self.queue.redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(VidflowError::bad_input(format!(
                "invalid queue.redis_url '{}': use redis://host:port/db",
                mask_url_password(url)
            )));
        }
        for (what, url, ca) in [
            ("cache", &self.cache.redis_url, &self.cache.redis_ca_file),
            ("queue", &self.queue.redis_url, &self.queue.redis_ca_file),
        ] {
            let Some(ca) = ca else { continue };
            if !url
                .as_deref()
                .is_some_and(|u| u.trim().starts_with("rediss://"))
            {
                return Err(VidflowError::bad_input(format!(
                    "{what}.redis_ca_file is set but {what}.redis_url is not a rediss:// (TLS) URL"
                )));
            }
            if !ca.is_file() {
                return Err(VidflowError::bad_input(format!(
                    "{what}.redis_ca_file {} does not exist or is not a file",
                    ca.display()
                )));
            }
        }
        if self.queue.concurrency == 0 {
            return Err(VidflowError::bad_input(
                "queue.concurrency must be at least 1",
            ));
        }
        if !(self.queue.chunk_seconds.is_finite() && self.queue.chunk_seconds >= 1.0) {
            return Err(VidflowError::bad_input(format!(
                "invalid queue.chunk_seconds {}: use at least 1 second",
                self.queue.chunk_seconds
            )));
        }
        if self.queue.lease_seconds == 0 || self.queue.max_deliveries == 0 {
            return Err(VidflowError::bad_input(
                "queue.lease_seconds and queue.max_deliveries must be at least 1",
            ));
        }
        if self.cache.redis_part_bytes < 1024 {
            return Err(VidflowError::bad_input(
                "cache.redis_part_bytes must be at least 1024",
            ));
        }
        Ok(())
    }

    /// The config as TOML with secrets masked, for `vidflow config show`.
    pub fn to_masked_toml(&self) -> String {
        let mut shown = self.clone();
        if shown.llm.api_key.is_some() {
            shown.llm.api_key = Some("********".into());
        }
        for key in &mut shown.server.api_keys {
            *key = "********".into();
        }
        if let Some(url) = &shown.cache.redis_url {
            shown.cache.redis_url = Some(mask_url_password(url));
        }
        if let Some(url) = &shown.queue.redis_url {
            shown.queue.redis_url = Some(mask_url_password(url));
        }
        toml_string(&shown)
    }
}

/// The deepest nesting of tables, arrays and dotted keys a config file or a `VIDFLOW_*`
/// variable may have. vidflow's own settings nest three deep. figment's parser of variable
/// values recurses once per level with no limit, so thousands of levels overflowed the
/// stack and killed the process instead of being an error.
pub const MAX_CONFIG_NESTING: usize = 32;

/// Refuses a config file nested deeper than [`MAX_CONFIG_NESTING`], before it is parsed. A
/// file that cannot be read is left to the parser, which names the problem.
fn check_file_nesting(path: &Path) -> Result<(), VidflowError> {
    let Ok(text) = std::fs::read(path) else {
        return Ok(());
    };
    let depth = toml_nesting(&String::from_utf8_lossy(&text));
    if depth > MAX_CONFIG_NESTING {
        return Err(VidflowError::bad_input(format!(
            "invalid configuration: config file {} nests tables, arrays or dotted keys {depth} deep; at most {MAX_CONFIG_NESTING} levels are allowed",
            path.display()
        )));
    }
    Ok(())
}

/// Refuses a `VIDFLOW_*` variable nested deeper than [`MAX_CONFIG_NESTING`]: its name by
/// levels separated by `__` or `.`, its value by brackets. figment's value syntax differs from TOML's
/// in its quoting, so every `[` and `{` counts, quoted or not: a bound that cannot be
/// dodged, and no real setting comes near it.
fn check_env_nesting(name: &str, key: &str, value: &str) -> Result<(), VidflowError> {
    // figment nests at `.` in a variable's name as well as at `__`.
    let key_depth: usize = key.split("__").map(|part| part.split('.').count()).sum();
    let value_depth = value.bytes().filter(|b| matches!(b, b'[' | b'{')).count();
    let depth = key_depth + value_depth;
    if depth > MAX_CONFIG_NESTING {
        return Err(VidflowError::bad_input(format!(
            "invalid configuration: environment variable {name:.80} nests {depth} levels deep (name parts split by __ or . plus [ and {{ in the value); at most {MAX_CONFIG_NESTING} are allowed"
        )));
    }
    Ok(())
}

/// How deeply a TOML document nests: open brackets and braces plus the dots of the key
/// being read, at the deepest point. Strings and comments are skipped as TOML reads them.
/// Dots in numbers and dates count too, which over-counts by one at most.
fn toml_nesting(text: &str) -> usize {
    let b = text.as_bytes();
    let (mut brackets, mut dots, mut deepest) = (0usize, 0usize, 0usize);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            q @ (b'"' | b'\'') => {
                i = skip_toml_string(b, i, q);
                continue;
            }
            b'[' | b'{' => {
                brackets += 1;
                dots = 0;
            }
            b']' | b'}' => {
                brackets = brackets.saturating_sub(1);
                dots = 0;
            }
            b'.' => dots += 1,
            b'\n' | b',' | b'=' => dots = 0,
            _ => {}
        }
        // A key `a.b.c` is as deep as the table it opens: one more than its dots.
        deepest = deepest.max(brackets + dots + 1);
        i += 1;
    }
    deepest
}

/// The index just past the string starting with quote `q` at `start`: basic (`"`, with
/// escapes) or literal (`'`), single-line or triple-quoted multi-line. An unterminated
/// single-line string ends at the line's end, as the TOML parser gives up there.
fn skip_toml_string(b: &[u8], start: usize, q: u8) -> usize {
    let triple = [q, q, q];
    let multi = b[start..].starts_with(&triple);
    let mut i = start + if multi { 3 } else { 1 };
    while i < b.len() {
        match b[i] {
            b'\\' if q == b'"' => i += 1,
            b'\n' if !multi => return i,
            c if c == q && (!multi || b[i..].starts_with(&triple)) => {
                // A multi-line string may end with up to two more quotes before the closing three.
                let mut end = i + if multi { 3 } else { 1 };
                while multi && end < b.len() && b[end] == q && end < i + 5 {
                    end += 1;
                }
                return end;
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// `redis://user:secret@host/0` → `redis://user:********@host/0`; other strings unchanged.
pub fn mask_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or("", |(u, _)| u);
            format!("{scheme}://{user}:********@{host}{path}")
        }
        None => url.to_owned(),
    }
}

fn toml_string(cfg: &Config) -> String {
    // figment re-exports no TOML writer; JSON-to-TOML by hand would be a reimplementation,
    // so we lean on the `toml` crate that figment already pulls in.
    toml::to_string_pretty(cfg).unwrap_or_else(|e| format!("# cannot print config: {e}"))
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closure type is not ours to change
mod tests {
    use super::*;

    #[test]
    fn an_open_api_on_a_public_address_is_refused_unless_meant() {
        let mut server = ServerConfig {
            addr: "0.0.0.0:8080".into(),
            ..ServerConfig::default()
        };
        let err = server.check_exposure().unwrap_err();
        assert!(err.message.contains("--insecure"), "{}", err.message);
        server.insecure = true;
        assert!(server.check_exposure().is_ok());
        server.insecure = false;
        server.admin_keys = vec!["k".into()];
        assert!(server.check_exposure().is_ok());
        let local = ServerConfig::default();
        assert!(local.check_exposure().is_ok(), "127.0.0.1 needs no keys");
        let v6 = ServerConfig {
            addr: "[::1]:8080".into(),
            ..ServerConfig::default()
        };
        assert!(v6.check_exposure().is_ok());
    }

    #[test]
    fn defaults_validate_and_bad_values_are_named() {
        Config::default().validate().unwrap();
        let mut c = Config::default();
        c.video.fps = 29;
        assert!(c.validate().unwrap_err().message.contains("fps 29"));
        let mut c = Config::default();
        c.video.size = "640x480".into();
        assert!(c.validate().unwrap_err().message.contains("640x480"));
    }

    #[test]
    fn limits_default_sensibly_and_refuse_zero() {
        let l = Limits::default();
        assert_eq!(l.max_page_bytes, 10 * 1024 * 1024);
        assert_eq!(l.max_decoded_pixels, 40_000_000);
        assert_eq!(l.max_redirects, 5);
        for set in [
            |l: &mut Limits| l.max_page_bytes = 0,
            |l: &mut Limits| l.max_image_bytes = 0,
            |l: &mut Limits| l.max_decoded_pixels = 0,
            |l: &mut Limits| l.request_header_seconds = 0,
            |l: &mut Limits| l.request_body_seconds = 0,
        ] {
            let mut c = Config::default();
            set(&mut c.limits);
            let e = c.validate().unwrap_err();
            assert!(e.message.starts_with("limits."), "{}", e.message);
        }
        // No redirects at all is a policy, not a mistake.
        let mut c = Config::default();
        c.limits.max_redirects = 0;
        c.validate().unwrap();
    }

    #[test]
    fn file_then_env_layering() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("vidflow.toml", "threads = 3\n[video]\nfps = 25\n")?;
            jail.set_env("VIDFLOW_VIDEO__FPS", "60");
            jail.set_env("VIDFLOW_LOG", "debug");
            let cfg = Config::from_figment(&Config::figment(None).unwrap()).unwrap();
            assert_eq!(cfg.threads, 3);
            assert_eq!(cfg.video.fps, 60);
            Ok(())
        });
    }

    #[test]
    fn secrets_are_masked() {
        let mut c = Config::default();
        c.server.api_keys = vec!["topsecret".into()];
        c.cache.redis_url = Some("redis://me:hunter2@cache.local:6379/0".into());
        let shown = c.to_masked_toml();
        assert!(
            !shown.contains("topsecret") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(
            shown.contains("redis://me:********@cache.local:6379/0"),
            "{shown}"
        );
        assert_eq!(mask_url_password("redis://localhost"), "redis://localhost");
    }

    #[test]
    fn nesting_is_measured_past_strings_and_comments() {
        assert_eq!(toml_nesting(""), 0);
        assert_eq!(toml_nesting("threads = 3\n[video]\nfps = 25\n"), 2);
        assert_eq!(toml_nesting("[video.x264]\ntune = \"film\"\n"), 3);
        assert_eq!(toml_nesting("a.b.c = 1"), 3);
        assert_eq!(toml_nesting("a = [[1, 2], [3]]"), 3);
        let deep = "[".repeat(100);
        for quoted in [
            format!("a = \"{deep}\""),
            format!("a = '{deep}'"),
            format!("a = \"\"\"\n{deep}\n\"\"\""),
            format!("a = '''\n{deep}\n'''"),
            format!("a = \"\\\"{deep}\""),
            format!("# {deep}\na = 1"),
        ] {
            assert!(toml_nesting(&quoted) <= 2, "{quoted}");
        }
        assert!(toml_nesting(&format!("a = \"x\"\nb = {deep}")) > 100);
        assert!(toml_nesting(&format!("a = \"\"\"x\"\"\"\"\nb = {deep}")) > 100);
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        // The TOML parser refuses these past its own recursion limit, with an error quoting
        // a line of brackets; the check names the limit and does not depend on that parser.
        let cases = [
            format!("a = {}1{}", "[".repeat(100_000), "]".repeat(100_000)),
            format!("a = {}", "{b=".repeat(100_000)),
            format!("{} = 1", vec!["video"; 100_000].join(".")),
            format!("[{}]", vec!["t"; 100_000].join(".")),
        ];
        for text in cases {
            figment::Jail::expect_with(|jail| {
                jail.create_file("deep.toml", &text)?;
                let err = Config::figment(Some(Path::new("deep.toml"))).unwrap_err();
                assert_eq!(err.kind, crate::ErrorKind::BadInput);
                assert!(
                    err.message.contains("deep.toml") && err.message.contains("at most 32"),
                    "{}",
                    err.message
                );
                Ok(())
            });
        }
        let legit = format!(
            "[video.x264]\ntune = \"film\"\n[server]\napi_keys = [{}]\n",
            vec!["\"k\""; 500].join(",")
        );
        figment::Jail::expect_with(|jail| {
            jail.create_file("ok.toml", &legit)?;
            Config::from_figment(&Config::figment(Some(Path::new("ok.toml"))).unwrap()).unwrap();
            Ok(())
        });
    }

    #[test]
    fn deeply_nested_environment_values_are_refused() {
        // Before the check, both of these overflowed a 2 MiB stack (a tokio worker's) and
        // killed the process: figment's value parser and its key nesting have no limit.
        figment::Jail::expect_with(|jail| {
            jail.set_env("VIDFLOW_SERVER__API_KEYS", "[".repeat(100_000));
            let err = Config::figment(None).unwrap_err();
            assert!(
                err.message.contains("VIDFLOW_SERVER__API_KEYS")
                    && err.message.contains("at most 32"),
                "{}",
                err.message
            );
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.set_env(format!("VIDFLOW_CACHE{}", "__X".repeat(5_000)), "1");
            let err = Config::figment(None).unwrap_err();
            assert!(err.message.contains("at most 32"), "{}", err.message);
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            // Found by fuzzing: figment also nests at dots in a variable's name.
            jail.set_env(format!("VIDFLOW_CACHE__R{}", ".a".repeat(100_000)), "1");
            let err = Config::figment(None).unwrap_err();
            assert!(err.message.contains("at most 32"), "{}", err.message);
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            // Variables that are not configuration are not ours to judge.
            jail.set_env("VIDFLOW_LOG", "[".repeat(100));
            jail.set_env("VIDFLOW_SERVER__API_KEYS", "[\"a\", \"b\"]");
            let cfg = Config::from_figment(&Config::figment(None).unwrap()).unwrap();
            assert_eq!(cfg.server.api_keys, ["a", "b"]);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_rejected() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("vidflow.toml", "treads = 3\n")?;
            let err = Config::from_figment(&Config::figment(None).unwrap()).unwrap_err();
            assert!(err.message.contains("treads"), "{}", err.message);
            Ok(())
        });
    }
}
