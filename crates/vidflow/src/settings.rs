//! Turning configuration layers and flags into the Config, the cache and a MakeRequest.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use figment::{Figment, providers::Serialized};
use serde::Serialize;
use vidflow_cache::TieredCache;
use vidflow_core::{Config, MakeRequest, Source, StageName, VideoSize, VidflowError};

use crate::cli::{CacheArgs, MakeOptions};

/// The layered figment (defaults, file, environment), flags still to be merged.
pub fn base_figment(config_file: Option<&Path>) -> Result<Figment> {
    Ok(Config::figment(config_file)?)
}

/// A flag's value; its type name tells `config show` that a flag set it.
#[derive(Serialize)]
#[serde(transparent)]
struct CommandLineFlag<T>(T);

/// Merges one flag value, named as its config key, into the figment.
pub fn flag<T: Serialize>(fig: Figment, key: &str, value: Option<T>) -> Figment {
    match value {
        Some(v) => fig.merge(Serialized::default(key, CommandLineFlag(v))),
        None => fig,
    }
}

/// Merges the cache flags.
pub fn cache_flags(mut fig: Figment, cache: &CacheArgs) -> Figment {
    fig = flag(fig, "cache.dir", cache.cache_dir.clone());
    fig = flag(fig, "cache.redis_url", cache.cache_redis.clone());
    if cache.no_cache {
        fig = flag(fig, "cache.enabled", Some(false));
    }
    fig
}

/// The figment for `make`, with every flag merged over file and environment.
pub fn make_figment(fig: Figment, args: &MakeOptions) -> Figment {
    let mut fig = cache_flags(fig, &args.cache);
    fig = flag(fig, "video.avatar", args.avatar.clone());
    fig = flag(fig, "video.size", args.size.clone());
    fig = flag(fig, "video.fps", args.fps);
    fig = flag(fig, "video.max_seconds", args.max_seconds);
    fig = flag(fig, "video.voice", args.voice.clone());
    // A model by path is a voice like any other: the speak stage tells them apart.
    fig = flag(
        fig,
        "video.voice",
        args.voice_model.as_ref().map(|p| {
            std::path::absolute(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string()
        }),
    );
    fig = flag(fig, "video.preset", args.preset.clone());
    fig = flag(fig, "video.crf", args.crf);
    fig = flag(fig, "threads", args.threads);
    fig = flag(fig, "chunk_frames", args.chunk_frames);
    if args.no_subtitles {
        fig = flag(fig, "video.subtitles", Some(false));
    }
    if args.allow_private_network {
        fig = flag(fig, "allow_private_network", Some(true));
    }
    fig = flag(fig, "queue.redis_url", args.remote.clone());
    fig = flag(fig, "video.encode_profile", args.encode_profile.clone());
    fig
}

/// In shared mode the cache's Redis tier is the queue's Redis unless set apart: results
/// must be where every worker and server can read them.
pub fn shared_cache(mut cfg: Config) -> Config {
    if cfg.cache.redis_url.is_none() && cfg.queue.redis_url.is_some() {
        cfg.cache.redis_url = cfg.queue.redis_url.clone();
        cfg.cache.redis_ca_file = cfg.queue.redis_ca_file.clone();
    }
    cfg
}

/// The cache the config asks for (memory, disk, then Redis when `cache.redis_url` is set).
pub fn open_cache(cfg: &Config) -> Result<Arc<TieredCache>> {
    let dir = cfg.cache.resolved_dir();
    let cache = TieredCache::from_config(&cfg.cache, &dir).map_err(|e| {
        VidflowError::bad_input(format!("cannot open the cache at {}: {e}", dir.display()))
    })?;
    Ok(Arc::new(cache))
}

/// The config with `video.encode_profile` applied: the tuned point's preset, CRF and x264
/// settings replace the configured ones (the profile is read once, here, so a bad file
/// stops the command before anything runs).
pub fn apply_encode_profile(mut cfg: Config) -> Result<Config> {
    if let Some(path) = cfg.video.encode_profile.take() {
        let p = vidflow_profiles::load_profile(&path, "encode")?;
        cfg.video.preset = p.preset;
        cfg.video.crf = p.crf;
        cfg.video.x264 = p.x264;
    }
    Ok(cfg)
}

/// The request for `make` or `run` from its arguments and the effective config.
pub fn make_request(
    input: Option<&str>,
    workflow: Option<&str>,
    args: &MakeOptions,
    cfg: &Config,
) -> Result<MakeRequest> {
    let size = VideoSize::parse(&cfg.video.size)
        .map_err(|e| VidflowError::bad_input(format!("invalid --size: {e}")))?;
    // Checked against the workflow's stages before anything runs.
    let stop_after = args.stop_after.as_deref().map(StageName::new);
    let script_text = match &args.script {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
            VidflowError::bad_input(format!("cannot read script {}: {e}", path.display()))
        })?),
        None => None,
    };
    let output = args.output.clone().unwrap_or_else(|| {
        PathBuf::from(if stop_after == Some(StageName::SPEAK) {
            "vidflow-speech.wav"
        } else {
            "vidflow.mp4"
        })
    });
    let (preset, crf, x264) = (
        cfg.video.preset.clone(),
        cfg.video.crf,
        cfg.video.x264.clone(),
    );
    let source = match (input, &args.base_url) {
        (None, Some(_)) => {
            return Err(VidflowError::bad_input(
                "--base-url needs a local page to read (a path or file:// URL)",
            )
            .into());
        }
        (None, None) => None,
        (Some(i), None) => Some(Source::Url(i.to_owned())),
        (Some(i), Some(base)) => Some(with_base_url(i, base)?),
    };
    Ok(MakeRequest {
        source,
        script_text,
        workflow: workflow.map(str::to_owned),
        avatar: cfg.video.avatar.clone(),
        size,
        fps: cfg.video.fps,
        max_seconds: cfg.video.max_seconds,
        voice: cfg.video.voice.clone(),
        preset,
        crf,
        x264,
        subtitles: cfg.video.subtitles,
        stop_after,
        params: Default::default(),
        output,
    })
}

/// A local page read here, its relative addresses resolved against `base` (`--base-url`).
fn with_base_url(input: &str, base: &str) -> Result<Source> {
    let parsed = reqwest::Url::parse(base)
        .map_err(|e| VidflowError::bad_input(format!("invalid --base-url {base:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(VidflowError::bad_input(format!(
            "invalid --base-url {base:?}: it must be an http(s) URL"
        ))
        .into());
    }
    let Some(path) = vidflow_core::request::local_path(input) else {
        return Err(VidflowError::bad_input(format!(
            "--base-url applies to a local page; {input:?} is fetched from its own address"
        ))
        .into());
    };
    let bytes = std::fs::read(&path)
        .map_err(|e| VidflowError::bad_input(format!("cannot read {}: {e}", path.display())))?;
    Ok(Source::Html {
        html: String::from_utf8_lossy(&bytes).into_owned(),
        base_url: parsed.into(),
    })
}

/// Every leaf of the config with its value and where it came from.
pub fn provenance(fig: &Figment, cfg: &Config) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let value = serde_json::to_value(cfg).unwrap_or_default();
    walk(&value, String::new(), &mut |key, v| {
        let shown = if key == "llm.api_key" && !v.is_null() {
            "\"********\"".to_string()
        } else if (key == "cache.redis_url" || key == "queue.redis_url")
            && let Some(url) = v.as_str()
        {
            serde_json::Value::from(vidflow_core::config::mask_url_password(url)).to_string()
        } else if key == "server.api_keys" {
            // Keys are secrets even in a list: show how many, never which.
            let n = v.as_array().map_or(0, Vec::len);
            serde_json::json!(vec!["********"; n]).to_string()
        } else {
            v.to_string()
        };
        let from = fig
            .find_metadata(&key)
            .map(|m| {
                if m.name.contains("CommandLineFlag") {
                    "command-line flag".to_string()
                } else if m.name.contains("Config") {
                    "default".to_string()
                } else {
                    match &m.source {
                        Some(src) => format!("{} ({src})", m.name),
                        None => m.name.to_string(),
                    }
                }
            })
            .unwrap_or_else(|| "default".into());
        out.push((key, shown, from));
    });
    out
}

fn walk(v: &serde_json::Value, prefix: String, f: &mut dyn FnMut(String, &serde_json::Value)) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                walk(child, key, f);
            }
        }
        leaf => f(prefix, leaf),
    }
}
