//! What each subcommand does, in terms of the library crates.

use anyhow::{Context, Result};
use vidflow_avatar::Avatar;
use vidflow_core::{CancelFlag, Config, Registry, StageName, VideoSize, WorkflowDef};
use vidflow_stages::{Engine, MakeOutput};

use crate::cli::{
    BenchWhat, CacheAction, Cli, Command, ConfigAction, ExtractArgs, MakeArgs, MakeOptions,
    RunArgs, TuneWhat,
};
use crate::progress::Display;
use crate::settings;

/// Runs the parsed command line with the stage types and workflows of `registry`.
pub async fn run(cli: Cli, registry: Registry) -> Result<()> {
    let base = settings::base_figment(cli.config.as_deref())?;
    match cli.command {
        Command::Make(args) => make(base, *args, registry).await,
        Command::Run(args) => run_file(base, *args, registry).await,
        Command::Extract(args) => extract(base, args).await,
        Command::Cache {
            action:
                CacheAction::Prune {
                    max_age_days,
                    max_bytes,
                    json,
                },
            cache,
        } => {
            let cfg = Config::from_figment(&settings::cache_flags(base, &cache))?;
            prune_cache(&cfg, max_age_days, max_bytes, json).await
        }
        Command::Cache { action, cache } => {
            let cfg = Config::from_figment(&settings::cache_flags(base, &cache))?;
            let store = settings::open_cache(&cfg)?;
            match action {
                CacheAction::Stats { json } => {
                    let stats = store.stats().await;
                    if json {
                        let v: serde_json::Value = stats
                            .iter()
                            .map(|(name, s)| (name.clone(), serde_json::json!(s)))
                            .collect::<serde_json::Map<_, _>>()
                            .into();
                        println!("{}", serde_json::to_string_pretty(&v)?);
                    } else {
                        println!("cache folder: {}", cfg.cache.resolved_dir().display());
                        if stats.is_empty() {
                            println!("cache disabled");
                        }
                        for (name, s) in stats {
                            println!("{name:>8}: {} entries, {} bytes", s.entries, s.bytes);
                        }
                    }
                    Ok(())
                }
                CacheAction::Clear => {
                    store.clear().await.context("clearing the cache")?;
                    println!("cache cleared: {}", cfg.cache.resolved_dir().display());
                    Ok(())
                }
                CacheAction::Prune { .. } => unreachable!("matched above"),
            }
        }
        Command::Config {
            action: ConfigAction::Show,
        } => {
            let cfg = Config::from_figment(&base)?;
            println!("# effective configuration (secrets masked)");
            for (key, value, from) in settings::provenance(&base, &cfg) {
                println!("{key} = {value}    # {from}");
            }
            Ok(())
        }
        Command::Avatars { previews } => {
            for name in Avatar::builtin_names() {
                println!("{name}");
                if let Some(dir) = &previews {
                    let avatar = Avatar::builtin(name)?;
                    let path = dir.join(format!("{name}.png"));
                    vidflow_encode::write_atomic(&path, &avatar.preview_png(360, 400))?;
                }
            }
            Ok(())
        }
        Command::Voices(args) => crate::voices::list(&args),
        Command::Workflows => {
            let config = Config::from_figment(&base)?;
            for def in registry.workflows() {
                let wf = registry.build(def, &config)?;
                let stages: Vec<&str> = wf.stage_names().iter().map(|s| s.as_str()).collect();
                println!("{:<12} {}", def.id, stages.join(" → "));
                if !def.description.is_empty() {
                    println!("{:<12} {}", "", def.description);
                }
            }
            Ok(())
        }
        Command::Serve(args) => crate::serve::serve(base, args, registry).await,
        Command::Worker(args) => crate::shared_mode::worker(base, args, registry).await,
        Command::Status(args) if args.redis.is_some() => {
            crate::shared_mode::status(base, args).await
        }
        Command::Status(args) => crate::status::show(base, args).await,
        Command::Bench { what } => bench(what).await,
        Command::Tune { what } => match what {
            TuneWhat::Encode(args) => crate::tune::encode(base, *args, registry).await,
            TuneWhat::Render(args) => crate::tune::render(base, *args, registry).await,
        },
    }
}

async fn make(base: figment::Figment, args: MakeArgs, registry: Registry) -> Result<()> {
    let fig = settings::make_figment(base, &args.options);
    let cfg = settings::apply_encode_profile(settings::shared_cache(Config::from_figment(&fig)?))?;
    let req = settings::make_request(
        args.input.as_deref(),
        args.workflow.as_deref(),
        &args.options,
        &cfg,
    )?;
    let cache = settings::open_cache(&cfg)?;
    let engine = Engine::with_registry(cfg.clone(), cache, registry)?;
    run_request(&cfg, &engine, req, &args.options).await
}

/// `vidflow run FILE`: the workflow in the file, added to the registry under its id.
async fn run_file(base: figment::Figment, args: RunArgs, mut registry: Registry) -> Result<()> {
    let def = WorkflowDef::load(&args.workflow)?;
    let fig = settings::make_figment(base, &args.options);
    let cfg = settings::apply_encode_profile(settings::shared_cache(Config::from_figment(&fig)?))?;
    let req = settings::make_request(args.input.as_deref(), Some(&def.id), &args.options, &cfg)?;
    registry.add_workflow(def);
    let cache = settings::open_cache(&cfg)?;
    let engine = Engine::with_registry(cfg.clone(), cache, registry)?;
    run_request(&cfg, &engine, req, &args.options).await
}

/// Runs a request here (or on the shared queue's workers) and reports what it made.
async fn run_request(
    cfg: &Config,
    engine: &Engine,
    mut req: vidflow_core::MakeRequest,
    args: &MakeOptions,
) -> Result<()> {
    let display = Display::for_stderr(args.json);
    let report = if cfg.queue.is_shared() {
        crate::shared_mode::inline_local_page(&mut req)?;
        crate::shared_mode::make_remote(cfg, engine, &req, &display).await?
    } else {
        engine.make(&req, &display, CancelFlag::default()).await?
    };
    match &report.output {
        MakeOutput::Stage { stage, output, wav } => {
            let text = serde_json::to_string_pretty(output)?;
            match (&args.output, stage) {
                // With -o the JSON goes to the file (the WAV beside it after speak).
                (Some(path), s)
                    if *s != StageName::SPEAK || path.extension().is_some_and(|e| e == "json") =>
                {
                    vidflow_encode::write_atomic(path, text.as_bytes())?;
                    if !args.json {
                        crate::progress::say!("{stage} output written to {}", path.display());
                    }
                }
                _ => println!("{text}"),
            }
            if let Some(wav) = wav {
                crate::progress::say!("speech written to {}", wav.display());
            }
            if args.json {
                crate::progress::say!("{}", serde_json::to_string(&report.stages)?);
            }
        }
        MakeOutput::Video {
            path,
            duration,
            bytes,
            size,
            ..
        } => {
            if args.json {
                let mut v = serde_json::to_value(&report)?;
                // The process's own high-water mark, for `vidflow bench make` (ffmpeg is a
                // separate process and not counted here).
                if let Some(peak) = vidflow_metrics::peak_resident_bytes() {
                    v["peak_rss_bytes"] = peak.into();
                }
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                let reused: Vec<&str> = report
                    .stages
                    .iter()
                    .filter(|s| s.cached)
                    .map(|s| s.stage.as_str())
                    .collect();
                if !reused.is_empty() {
                    crate::progress::say!("reused from cache: {}", reused.join(", "));
                }
                crate::progress::say!(
                    "wrote {} ({size}, {duration:.1} s, {:.1} MB) in {:.1} s",
                    path.display(),
                    *bytes as f64 / 1e6,
                    report.seconds
                );
            }
        }
    }
    Ok(())
}

/// `vidflow bench …`: runs the benchmark and prints its JSON.
async fn bench(what: BenchWhat) -> Result<()> {
    let report = match what {
        BenchWhat::Extract { dir, worst } => vidflow_bench::extract::run(&dir, worst)?,
        BenchWhat::Snippets {
            evaldata,
            pages,
            include_hashed,
            worst,
        } => vidflow_bench::extract::run_snippets(&evaldata, &pages, include_hashed, worst)?,
        BenchWhat::Render {
            seconds,
            runs,
            sizes,
            presets,
        } => {
            let sizes = sizes
                .iter()
                .map(|s| VideoSize::parse(s))
                .collect::<Result<Vec<_>, _>>()
                .map_err(anyhow::Error::msg)?;
            vidflow_bench::render::run(&vidflow_bench::render::RenderBench {
                seconds,
                runs,
                sizes,
                presets,
            })
            .await?
        }
        BenchWhat::Kernels { runs } => vidflow_bench::kernels::run(runs)?,
        BenchWhat::Make {
            seconds,
            long_seconds,
            runs,
            preset,
            voice,
        } => {
            vidflow_bench::make::run(&vidflow_bench::make::MakeBench {
                seconds,
                long_seconds,
                runs,
                preset,
                voice,
            })
            .await?
        }
        BenchWhat::Dist {
            redis,
            runs,
            jobs,
            job_seconds,
            long_seconds,
            worker_threads,
            lease_seconds,
            chunk_seconds,
            pin_cores,
        } => {
            vidflow_bench::dist::run(vidflow_bench::dist::DistBench {
                redis,
                runs,
                jobs,
                job_seconds,
                long_seconds,
                worker_threads,
                lease_seconds,
                chunk_seconds,
                pin_cores,
            })
            .await?
        }
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn extract(base: figment::Figment, args: ExtractArgs) -> Result<()> {
    let mut fig = settings::cache_flags(base, &args.cache);
    if args.allow_private_network {
        fig = settings::flag(fig, "allow_private_network", Some(true));
    }
    let cfg = Config::from_figment(&fig)?;
    let cache = settings::open_cache(&cfg)?;
    let engine = Engine::new(cfg, cache)?;
    let article = engine
        .extract(&args.input, &Display::for_stderr(true))
        .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&article)?);
    } else {
        println!("{}", article.title);
        if let Some(b) = &article.byline {
            println!("{b}");
        }
        println!();
        println!("{}", article.text);
    }
    Ok(())
}

/// `vidflow cache prune`: one garbage-collection pass of the disk tier with the config's
/// bounds, or the flags' instead.
async fn prune_cache(
    cfg: &Config,
    max_age_days: Option<f64>,
    max_bytes: Option<u64>,
    json: bool,
) -> Result<()> {
    let ttl = match max_age_days {
        Some(d) if !(d.is_finite() && d > 0.0) => {
            return Err(vidflow_core::VidflowError::bad_input(format!(
                "--max-age-days must be a positive number of days, not {d}"
            ))
            .into());
        }
        Some(d) => Some(std::time::Duration::from_secs_f64(d * 86_400.0)),
        None => (cfg.cache.ttl > 0).then(|| std::time::Duration::from_secs(cfg.cache.ttl)),
    };
    let bound = max_bytes.or((cfg.cache.max_bytes > 0).then_some(cfg.cache.max_bytes));
    let dir = cfg.cache.resolved_dir();
    if !dir.exists() {
        return Err(vidflow_core::VidflowError::bad_input(format!(
            "there is no cache at {}",
            dir.display()
        ))
        .into());
    }
    let disk = vidflow_cache::DiskCache::open(&dir, ttl, bound)
        .map_err(vidflow_core::VidflowError::from)?;
    let report = disk.gc().await.map_err(vidflow_core::VidflowError::from)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "cache pruned: {}: {} expired, {} evicted, {} orphaned files, {} bytes freed",
            dir.display(),
            report.expired,
            report.evicted,
            report.orphans,
            report.bytes_freed
        );
    }
    Ok(())
}
