//! `vidflow status`: what a server's `GET /v1/status` says, as tables (or the JSON itself
//! with `--json`).

use std::time::Duration;

use anyhow::Result;
use comfy_table::{Cell, CellAlignment, Table};
use figment::Figment;
use serde_json::Value;
use vidflow_core::{Config, VidflowError};

use crate::cli::StatusArgs;

/// Asks the server and prints its answer.
pub async fn show(base: Figment, args: StatusArgs) -> Result<()> {
    let cfg = Config::from_figment(&base)?;
    let server = match &args.server {
        Some(s) => s.trim_end_matches('/').to_owned(),
        None => default_server(&cfg.server.addr),
    };
    let key = args
        .api_key
        .clone()
        .or_else(|| cfg.server.api_keys.first().cloned());
    let status = fetch(&server, key.as_deref()).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", render(&server, &status));
    }
    Ok(())
}

/// The URL of the server this machine's config describes; a server listening on every
/// address is asked on loopback.
fn default_server(addr: &str) -> String {
    let addr = addr
        .strip_prefix("0.0.0.0:")
        .map(|port| format!("127.0.0.1:{port}"))
        .or_else(|| {
            addr.strip_prefix("[::]:")
                .map(|port| format!("[::1]:{port}"))
        })
        .unwrap_or_else(|| addr.to_owned());
    format!("http://{addr}")
}

async fn fetch(server: &str, key: Option<&str>) -> Result<Value> {
    let url = format!("{server}/v1/status");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut req = client.get(&url);
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    let resp = req.send().await.map_err(|e| {
        VidflowError::transient(format!(
            "cannot reach the server at {server}: {e} (is `vidflow serve` running there? \
             name another with --server URL)"
        ))
    })?;
    let code = resp.status();
    let body = resp.text().await.unwrap_or_default();
    let json: Option<Value> = serde_json::from_str(&body).ok();
    if code.is_success() {
        return json.ok_or_else(|| {
            VidflowError::internal(format!("{url} did not answer with JSON: is it vidflow?")).into()
        });
    }
    let message = json
        .as_ref()
        .and_then(|j| j["error"]["message"].as_str())
        .unwrap_or(body.trim())
        .to_owned();
    let hint = if code == reqwest::StatusCode::UNAUTHORIZED {
        " (give the key with --api-key or VIDFLOW_API_KEY)"
    } else {
        ""
    };
    Err(VidflowError::bad_input(format!("{url} answered {code}: {message}{hint}")).into())
}

/// The status as tables: the service, its cache tiers, and (shared mode) the workers.
fn render(server: &str, s: &Value) -> String {
    let mut out = String::new();
    let mut service = table(&["", ""]);
    let row = |t: &mut Table, k: &str, v: String| {
        t.add_row(vec![Cell::new(k), Cell::new(v)]);
    };
    row(&mut service, "server", server.to_owned());
    row(
        &mut service,
        "version",
        s["version"].as_str().unwrap_or("?").to_owned(),
    );
    row(&mut service, "up", duration(s["uptime_seconds"].as_f64()));
    let jobs = &s["jobs"];
    row(
        &mut service,
        "jobs running",
        format!(
            "{} of {} slots",
            num(&jobs["running"]),
            num(&jobs["max_concurrent"])
        ),
    );
    row(
        &mut service,
        "jobs queued",
        format!(
            "{} (at most {})",
            num(&jobs["queued"]),
            num(&jobs["max_queued"])
        ),
    );
    let cache = &s["cache"];
    row(
        &mut service,
        "cache",
        if cache["enabled"].as_bool() == Some(false) {
            "off".to_owned()
        } else {
            match cache["hit_rate"].as_f64() {
                Some(r) => format!("on, hit rate {:.1}%", r * 100.0),
                None => "on, no look-ups yet".to_owned(),
            }
        },
    );
    row(
        &mut service,
        "disk free",
        bytes(s["disk"]["free_bytes"].as_u64()),
    );
    let queue = &s["shared_queue"];
    if queue.is_object() {
        row(
            &mut service,
            "shared queue",
            format!(
                "{} in stream, {} waiting, {} running, {} dead letters",
                num(&queue["stream_length"]),
                num(&queue["lag"]),
                num(&queue["pending"]),
                num(&queue["dead_letters"])
            ),
        );
        row(
            &mut service,
            "oldest running task",
            match queue["oldest_pending_seconds"].as_f64() {
                Some(v) if v > 0.0 => duration(Some(v)),
                _ => "none".to_owned(),
            },
        );
    } else {
        row(&mut service, "shared queue", "none (single machine)".into());
    }
    out.push_str(&format!("{service}\n"));

    if let Some(tiers) = cache["backends"].as_array().filter(|t| !t.is_empty()) {
        let mut t = table(&["cache tier", "hits", "misses"]);
        for tier in tiers {
            t.add_row(vec![
                Cell::new(tier["backend"].as_str().unwrap_or("?")),
                Cell::new(num(&tier["hits"])).set_alignment(CellAlignment::Right),
                Cell::new(num(&tier["misses"])).set_alignment(CellAlignment::Right),
            ]);
        }
        out.push_str(&format!("{t}\n"));
    }
    if let Some(workers) = queue["workers"].as_array() {
        if workers.is_empty() {
            out.push_str("no live workers\n");
        } else {
            let mut t = table(&[
                "worker", "host", "pid", "slots", "done", "failed", "running",
            ]);
            for w in workers {
                let tasks: Vec<&str> = w["tasks"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                t.add_row(vec![
                    Cell::new(w["name"].as_str().unwrap_or("?")),
                    Cell::new(w["host"].as_str().unwrap_or("?")),
                    Cell::new(num(&w["pid"])),
                    Cell::new(num(&w["concurrency"])).set_alignment(CellAlignment::Right),
                    Cell::new(num(&w["done"])).set_alignment(CellAlignment::Right),
                    Cell::new(num(&w["failed"])).set_alignment(CellAlignment::Right),
                    Cell::new(if tasks.is_empty() {
                        "idle".to_owned()
                    } else {
                        tasks.join("; ")
                    }),
                ]);
            }
            out.push_str(&format!("{t}\n"));
        }
    }
    out
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    if header.iter().any(|h| !h.is_empty()) {
        t.set_header(header.to_vec());
    }
    t
}

fn num(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

fn duration(seconds: Option<f64>) -> String {
    let Some(s) = seconds else {
        return "-".to_owned();
    };
    let whole = s as u64;
    match whole {
        0..60 => format!("{s:.1} s"),
        60..3600 => format!("{}m {:02}s", whole / 60, whole % 60),
        _ => format!("{}h {:02}m", whole / 3600, whole % 3600 / 60),
    }
}

fn bytes(b: Option<u64>) -> String {
    match b {
        None => "unknown".to_owned(),
        Some(b) if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        Some(b) => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_mode_status_becomes_tables() {
        let status = serde_json::json!({
            "version": "0.1.0", "uptime_seconds": 3725.0,
            "cache": {"enabled": true, "hit_rate": 0.875,
                "backends": [{"backend": "memory", "hits": 7, "misses": 1},
                             {"backend": "redis", "hits": 0, "misses": 1}]},
            "jobs": {"queued": 2, "running": 1, "max_concurrent": 4, "max_queued": 100},
            "disk": {"free_bytes": 5u64 << 30},
            "shared_queue": {"stream_length": 9, "pending": 1, "lag": 3,
                "oldest_pending_seconds": 2.5, "dead_letters": 0,
                "workers": [{"name": "box-1-ab", "host": "box", "pid": 42, "concurrency": 1,
                    "tasks": ["render chunk 3 of job j1"], "done": 5, "failed": 0,
                    "started_at_ms": 0, "seen_at_ms": 0}]}
        });
        let text = render("http://127.0.0.1:8080", &status);
        for want in [
            "http://127.0.0.1:8080",
            "1h 02m",
            "1 of 4 slots",
            "2 (at most 100)",
            "hit rate 87.5%",
            "5.0 GiB",
            "9 in stream, 3 waiting, 1 running, 0 dead letters",
            "2.5 s",
            "redis",
            "box-1-ab",
            "render chunk 3 of job j1",
        ] {
            assert!(text.contains(want), "no '{want}' in\n{text}");
        }
        let single = serde_json::json!({"version": "0.1.0", "uptime_seconds": 1.0,
            "cache": {"enabled": false, "backends": []}, "jobs": {}, "disk": {},
            "shared_queue": null});
        let text = render("http://h", &single);
        assert!(text.contains("none (single machine)"), "{text}");
        assert!(text.contains("off"), "{text}");
        assert!(!text.contains("worker"), "{text}");
    }

    #[test]
    fn the_default_server_is_the_configured_address_on_loopback() {
        assert_eq!(default_server("0.0.0.0:8080"), "http://127.0.0.1:8080");
        assert_eq!(default_server("10.0.0.5:9000"), "http://10.0.0.5:9000");
        assert_eq!(default_server("[::]:80"), "http://[::1]:80");
    }
}
