//! `vidflow voices`: the voice catalog as a table or JSON, with which voice `auto` picks and,
//! on request, each installed voice's measured speed.

use std::time::Instant;

use anyhow::Result;
use comfy_table::{Cell, CellAlignment, Table};
use serde_json::json;
use vidflow_speech::{AUTO, VoiceEntry};

use crate::cli::VoicesArgs;

/// What `--measure` speaks: a short paragraph, so a measurement takes a second or two.
const MEASURE_TEXT: &str = "The narration is what a viewer judges first. A natural voice, \
    spoken offline on an ordinary processor, keeps the captions and the presenter's mouth on \
    the speech's own clock.";

/// Prints the catalog.
pub fn list(args: &VoicesArgs) -> Result<()> {
    let entries = vidflow_speech::voices();
    let auto = vidflow_speech::resolve(AUTO, args.lang.as_deref());
    let speeds: Vec<Option<f64>> = entries
        .iter()
        .map(|entry| {
            (args.measure && entry.installed)
                .then(|| measure(entry))
                .transpose()
        })
        .collect::<Result<_>>()?;
    let (auto_id, auto_note) = match &auto {
        Ok(choice) => (Some(choice.id()), choice.fallback.clone()),
        Err(e) => (None, Some(e.message.clone())),
    };
    if args.json {
        let voices: Vec<serde_json::Value> = entries
            .iter()
            .zip(&speeds)
            .map(|(v, speed)| {
                json!({
                    "id": v.id,
                    "engine": v.engine,
                    "language": v.language,
                    "sample_rate": v.sample_rate,
                    "licence": v.licence,
                    "any_use": v.any_use,
                    "installed": v.installed,
                    "real_time_factor": speed,
                    "auto": auto_id.as_deref() == Some(v.id.as_str()),
                })
            })
            .collect();
        let out = json!({
            "voices": voices,
            "auto": {"lang": args.lang, "voice": auto_id, "note": auto_note},
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let mut table = Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header([
        "voice",
        "engine",
        "language",
        "rate",
        "speed (RTF)",
        "installed",
        "any use",
        "licence",
    ]);
    for (v, speed) in entries.iter().zip(&speeds) {
        let id = if auto_id.as_deref() == Some(v.id.as_str()) {
            format!("{} ← auto", v.id)
        } else {
            v.id.clone()
        };
        table.add_row([
            Cell::new(id),
            Cell::new(v.engine),
            Cell::new(&v.language),
            Cell::new(format!("{} Hz", v.sample_rate)).set_alignment(CellAlignment::Right),
            Cell::new(match speed {
                Some(rtf) => format!("{rtf:.3}"),
                None if v.installed => "--measure".to_string(),
                None => "-".to_string(),
            })
            .set_alignment(CellAlignment::Right),
            Cell::new(if v.installed { "yes" } else { "no" }),
            Cell::new(if v.any_use { "yes" } else { "no" }),
            Cell::new(&v.licence),
        ]);
    }
    println!("{table}");
    match (&auto_id, &auto_note) {
        (Some(id), None) => println!("auto picks {id}"),
        (Some(id), Some(note)) => println!("auto picks {id}: {note}"),
        (None, Some(note)) => println!("auto picks nothing: {note}"),
        (None, None) => {}
    }
    if let Some(dir) = vidflow_neural::voices_dir() {
        println!("neural voices are looked for in {}", dir.display());
    }
    Ok(())
}

/// The real-time factor of `entry`: seconds of work per second of audio for one paragraph,
/// after the voice is loaded (one instance, the way each piece of a script is spoken).
fn measure(entry: &VoiceEntry) -> Result<f64> {
    let voice = vidflow_speech::resolve(&entry.id, None)?.load()?;
    let started = Instant::now();
    let spoken = voice.speak(MEASURE_TEXT)?;
    Ok(started.elapsed().as_secs_f64() / spoken.duration().max(1e-9))
}
