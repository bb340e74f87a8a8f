//! `vidflow tune encode` and `vidflow tune render`: the tuning workflows run on this
//! machine, their reports shown as tables (or JSON), a render search's best settings
//! written into a config file.

use std::path::Path;

use anyhow::{Context, Result};
use figment::Figment;
use vidflow_core::{CancelFlag, Config, Registry, shutdown::shutdown_signal};
use vidflow_profiles::{EncodeTuning, RenderTuning};
use vidflow_stages::{Engine, MakeOutput};

use crate::cli::{StudyArgs, TuneEncodeArgs, TuneRenderArgs};
use crate::progress::Display;
use crate::settings;

/// A script for `tune render` when no page is given: a few slides of plain prose.
const RENDER_SCRIPT: &str = "Tuning the render\n\n\
    Every frame of a video is drawn from its timeline, converted to the encoder's colours and \
    streamed to x264 while the next frames are drawn.\n\n\
    How many threads draw, how many frames they draw at once and how far they may run ahead \
    of the encoder decide how busy the machine stays.\n\n\
    The fastest choice depends on the machine, so vidflow measures it here, on real frames.";

/// [`RENDER_SCRIPT`] cut to what `max_seconds` of narration holds at the estimated pace: a
/// short video measures the steady rate as well as a long one, and a script of our own must
/// obey the narration limit like a user's.
fn render_script(max_seconds: f64) -> String {
    let allowed = ((max_seconds * vidflow_stages::WORDS_PER_SECOND).floor() as usize).max(2);
    let mut paragraphs = RENDER_SCRIPT.split("\n\n");
    let title = paragraphs.next().unwrap_or_default();
    let mut used = title.split_whitespace().count();
    let mut out = vec![title.to_owned()];
    for p in paragraphs {
        let words: Vec<&str> = p.split_whitespace().collect();
        if used + words.len() <= allowed {
            used += words.len();
            out.push(p.to_owned());
            continue;
        }
        // Nothing but the title fits whole: keep the words that do, as a sentence.
        if out.len() == 1 && used < allowed {
            let cut = words[..allowed - used].join(" ");
            out.push(format!("{}.", cut.trim_end_matches([',', ';', ':'])));
        }
        break;
    }
    out.join("\n\n")
}

/// Runs `vidflow tune encode`.
pub async fn encode(base: Figment, args: TuneEncodeArgs, registry: Registry) -> Result<()> {
    let fig = settings::make_figment(base, &args.options);
    let cfg = Config::from_figment(&fig)?;
    let workflow = if args.input.is_some() {
        "tune-encode"
    } else {
        "tune-encode-script"
    };
    let mut req =
        settings::make_request(args.input.as_deref(), Some(workflow), &args.options, &cfg)?;
    let defaults = EncodeTuning::default();
    let tuning = EncodeTuning {
        trials: args.study.trials.unwrap_or(defaults.trials),
        jobs: args.jobs.unwrap_or(defaults.jobs),
        target_ssim: args.target_ssim,
        seed: args.study.seed,
        storage: args.study.storage.clone(),
        study: args.study.study.clone().unwrap_or(defaults.study),
        seconds: args.seconds.unwrap_or(defaults.seconds),
    };
    tuning.check()?;
    req.params
        .insert("tune_encode".into(), serde_json::to_value(&tuning)?);
    let report = run(&cfg, registry, req, args.options.json).await?;
    if args.options.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_encode(&report, &args.study);
    }
    Ok(())
}

/// Runs `vidflow tune render`.
pub async fn render(base: Figment, args: TuneRenderArgs, registry: Registry) -> Result<()> {
    let fig = settings::make_figment(base, &args.options);
    let mut cfg = Config::from_figment(&fig)?;
    if args.options.max_seconds.is_none() {
        // A short video measures the steady rate; long ones only take longer.
        cfg.video.max_seconds = 8.0;
    }
    let mut req = settings::make_request(None, Some("tune-render"), &args.options, &cfg)?;
    if req.script_text.is_none() {
        req.script_text = Some(render_script(cfg.video.max_seconds));
    }
    let defaults = RenderTuning::default();
    let tuning = RenderTuning {
        trials: args.study.trials.unwrap_or(defaults.trials),
        seed: args.study.seed,
        storage: args.study.storage.clone(),
        study: args.study.study.clone().unwrap_or(defaults.study),
        current: None,
    };
    req.params
        .insert("tune_render".into(), serde_json::to_value(&tuning)?);
    let report = run(&cfg, registry, req, args.options.json).await?;
    if let Some(path) = &args.write_config
        && let Some(best) = report["best"]["choice"].as_object()
    {
        write_config(path, best)?;
        if !args.options.json {
            crate::progress::say!("best settings written to {}", path.display());
        }
    }
    if args.options.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_render(&report);
    }
    Ok(())
}

/// Runs a tuning workflow here until it ends or Ctrl-C (the study keeps what finished).
async fn run(
    cfg: &Config,
    registry: Registry,
    req: vidflow_core::MakeRequest,
    quiet: bool,
) -> Result<serde_json::Value> {
    let cache = settings::open_cache(cfg)?;
    let engine = Engine::with_registry(cfg.clone(), cache, registry)?;
    let cancel = CancelFlag::default();
    let watcher = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            cancel.cancel();
        })
    };
    let display = Display::for_stderr(quiet);
    let made = engine.make(&req, &display, cancel.clone()).await;
    watcher.abort();
    let made = match made {
        Err(e) if cancel.is_cancelled() => {
            return Err(anyhow::Error::new(e).context(
                "stopped: every finished trial is in the study; run the same command again to go on",
            ));
        }
        other => other?,
    };
    match made.output {
        MakeOutput::Stage { output, .. } => Ok(output),
        MakeOutput::Video { .. } => anyhow::bail!("the tuning workflow made a video, not a report"),
    }
}

fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "-".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn encode_row(r: &serde_json::Value) -> String {
    let c = &r["choice"];
    let tune = c["x264"]["tune"].as_str().unwrap_or("none");
    format!(
        "{:>5}  {:<9} {:>3}  {:<10} {:>6} {:>3}  {:>10}  {:>7}  {:>7}",
        cell(&r["trial"]),
        cell(&c["preset"]),
        cell(&c["crf"]),
        tune,
        cell(&c["x264"]["keyint"]),
        cell(&c["x264"]["aq_mode"]),
        r["bytes"].as_u64().map_or("-".into(), |b| b.to_string()),
        r["ssim"].as_f64().map_or("-".into(), |s| format!("{s:.4}")),
        r["seconds"]
            .as_f64()
            .map_or("-".into(), |s| format!("{s:.2}")),
    )
}

fn print_encode(report: &serde_json::Value, study: &StudyArgs) {
    let t = &report["trials"];
    println!(
        "study {} ({} complete, {} pruned, {} failed){}",
        cell(&report["study"]),
        cell(&t["complete"]),
        cell(&t["pruned"]),
        cell(&t["failed"]),
        report["target_ssim"]
            .as_f64()
            .map_or(String::new(), |s| format!(", target SSIM {s}"))
    );
    let header = format!(
        "{:>5}  {:<9} {:>3}  {:<10} {:>6} {:>3}  {:>10}  {:>7}  {:>7}",
        "trial", "preset", "crf", "tune", "keyint", "aq", "bytes", "ssim", "seconds"
    );
    let title = if report["target_ssim"].is_null() {
        "Pareto front (size, SSIM, encode time):"
    } else {
        "trials that reach the target, smallest first:"
    };
    println!("{title}\n{header}");
    for r in report["front"].as_array().into_iter().flatten() {
        println!("{}", encode_row(r));
    }
    if !report["x264_defaults"].is_null() {
        println!("x264 defaults:\n{}", encode_row(&report["x264_defaults"]));
    }
    match report.get("chosen").filter(|c| !c.is_null()) {
        Some(c) => {
            println!("chosen:\n{}", encode_row(c));
            if let Some(path) = &study.storage {
                println!(
                    "use it: vidflow make PAGE --encode-profile {}",
                    path.display()
                );
            }
        }
        None => println!("no trial reached the target: try a lower --target-ssim or more --trials"),
    }
}

fn print_render(report: &serde_json::Value) {
    println!(
        "{} frames at {}: frames per second of an end-to-end render",
        cell(&report["frames"]),
        cell(&report["size"])
    );
    println!(
        "{:>5}  {:>7} {:>12} {:>12}  {:<10} {:>8}",
        "trial", "threads", "chunk_frames", "render_ahead", "preset", "fps"
    );
    for r in report["all"].as_array().into_iter().flatten() {
        let c = &r["choice"];
        println!(
            "{:>5}  {:>7} {:>12} {:>12}  {:<10} {:>8}",
            cell(&r["trial"]),
            cell(&c["threads"]),
            cell(&c["chunk_frames"]),
            cell(&c["render_ahead"]),
            cell(&c["preset"]),
            r["fps"].as_f64().map_or("-".into(), |f| format!("{f:.1}")),
        );
    }
    for (label, key) in [("current", "current"), ("best", "best")] {
        if let Some(fps) = report[key]["fps"].as_f64() {
            println!("{label}: {fps:.1} fps");
        }
    }
}

/// Sets `threads`, `chunk_frames`, `render_ahead` and `video.preset` in the TOML file at
/// `path`, keeping everything else in it as it is (comments included).
fn write_config(path: &Path, best: &serde_json::Map<String, serde_json::Value>) -> Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    for key in ["threads", "chunk_frames", "render_ahead"] {
        if let Some(v) = best.get(key).and_then(serde_json::Value::as_i64) {
            doc[key] = toml_edit::value(v);
        }
    }
    if let Some(preset) = best.get("preset").and_then(serde_json::Value::as_str) {
        if !doc.contains_table("video") {
            doc["video"] = toml_edit::table();
        }
        doc["video"]["preset"] = toml_edit::value(preset);
    }
    vidflow_encode::write_atomic(path, doc.to_string().as_bytes())?;
    // The file must still be a configuration vidflow accepts.
    Config::from_figment(&Config::figment(Some(path))?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_render_script_fits_the_narration_limit() {
        for max_seconds in [4.0, 8.0, 30.0, 600.0] {
            let script = render_script(max_seconds);
            vidflow_stages::script::check_script_length(&script, max_seconds)
                .unwrap_or_else(|e| panic!("{max_seconds} s: {e}"));
            assert!(script.starts_with("Tuning the render\n\n"), "{script}");
            assert!(script.ends_with('.'), "{script}");
        }
        assert_eq!(render_script(600.0), RENDER_SCRIPT);
        assert!(render_script(4.0).split_whitespace().count() <= 11);
    }
}
