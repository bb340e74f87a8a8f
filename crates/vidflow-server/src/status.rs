//! How the service stands: status, health checks, metrics and the OpenAPI document.

use std::path::Path;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::ErrorBody;
use crate::views::{
    CacheStatus, CacheTierStatus, DiskStatus, Health, HealthCheck, JobsStatus, StatusView,
};

/// Each subsystem's state: version, uptime, cache and hit rate, queue, free disk.
#[utoipa::path(
    get,
    path = "/v1/status",
    tag = "system",
    responses(
        (status = 200, description = "Status", body = StatusView),
        (status = 401, description = "No valid API key", body = ErrorBody),
    )
)]
pub async fn status(State(s): State<AppState>) -> Json<StatusView> {
    let counters = s.engine.cache().counters();
    let hits: u64 = counters.backends.iter().map(|b| b.hits).sum();
    // A look-up that misses every tier counts one miss per tier; the last tier's misses
    // are the look-ups nothing answered.
    let missed = counters.backends.last().map_or(0, |b| b.misses);
    let load = s.runner.load();
    let shared_queue = match &s.queue {
        Some(q) => match q.status().await {
            Ok(st) => Some(st.into()),
            Err(e) => {
                tracing::warn!("cannot read the shared queue's status: {e}");
                None
            }
        },
        None => None,
    };
    Json(StatusView {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        uptime_seconds: s.started.elapsed().as_secs_f64(),
        cache: CacheStatus {
            enabled: s.engine.cache().is_enabled(),
            backends: counters
                .backends
                .iter()
                .map(|b| CacheTierStatus {
                    backend: b.backend.to_owned(),
                    hits: b.hits,
                    misses: b.misses,
                })
                .collect(),
            hit_rate: (hits + missed > 0).then(|| hits as f64 / (hits + missed) as f64),
        },
        jobs: JobsStatus {
            queued: load.queued,
            running: load.running,
            max_concurrent: load.max_concurrent,
            max_queued: load.max_queued,
        },
        disk: DiskStatus {
            free_bytes: free_bytes(&s.data_dir),
        },
        shared_queue,
    })
}

/// Free bytes for unprivileged users on the file system holding `dir`.
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a valid C string and `st` a properly sized out-parameter.
    let rc = unsafe { libc::statvfs(path.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "system",
    security(()),
    responses((status = 200, description = "Alive", body = Health))
)]
pub async fn live() -> Response {
    // A constant body: this is what load balancers hit most.
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        Bytes::from_static(br#"{"status":"ok","checks":[]}"#),
    )
        .into_response()
}

/// Readiness: the data folder is writable, ffmpeg is installed, the speech engine loads.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "system",
    security(()),
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Not ready; the failing checks say why", body = Health),
    )
)]
pub async fn ready(State(s): State<AppState>) -> Response {
    // Probes come every few seconds from every balancer: the checks (a file write, an
    // ffmpeg run, a voice load) run at most once per READY_TTL, and a probe that comes
    // while they run waits for their answer instead of starting more.
    let checks = {
        let mut cached = s.readiness.lock().await;
        match cached.as_ref() {
            Some((at, checks)) if at.elapsed() < READY_TTL => checks.clone(),
            _ => {
                let checks = readiness_checks(&s).await;
                *cached = Some((std::time::Instant::now(), checks.clone()));
                checks
            }
        }
    };
    let ok = !checks.is_empty() && checks.iter().all(|c| c.ok);
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Health {
        status: if ok { "ok" } else { "unavailable" }.into(),
        checks,
    };
    (status, Json(body)).into_response()
}

/// How long readiness answers are reused.
pub const READY_TTL: std::time::Duration = std::time::Duration::from_secs(10);

/// The readiness facts, measured now. Messages name no paths: the probe is often open.
async fn readiness_checks(s: &AppState) -> Vec<HealthCheck> {
    let data_dir = s.data_dir.clone();
    let voice = s.config.video.voice.clone();
    tokio::task::spawn_blocking(move || {
        let probe = data_dir.join(format!(".ready-{}", std::process::id()));
        let dir_check =
            match std::fs::write(&probe, b"ok").and_then(|()| std::fs::remove_file(&probe)) {
                Ok(()) => HealthCheck {
                    name: "data_dir".into(),
                    ok: true,
                    message: "the data folder is writable".into(),
                },
                Err(e) => HealthCheck {
                    name: "data_dir".into(),
                    ok: false,
                    message: format!("cannot write to the data folder: {}", e.kind()),
                },
            };
        let ffmpeg = match vidflow_encode::ffmpeg_version() {
            Ok(v) => HealthCheck {
                name: "ffmpeg".into(),
                ok: true,
                message: v,
            },
            Err(_) => HealthCheck {
                name: "ffmpeg".into(),
                ok: false,
                message: "ffmpeg cannot be run".into(),
            },
        };
        // Resolved, not loaded: a neural voice takes a second or more to load.
        let speech = match vidflow_speech::resolve(&voice, None) {
            Ok(choice) => HealthCheck {
                name: "speech".into(),
                ok: true,
                message: match &choice.fallback {
                    None => format!("voice {} ({})", choice.id(), choice.engine()),
                    Some(why) => why.clone(),
                },
            },
            Err(_) => HealthCheck {
                name: "speech".into(),
                ok: false,
                message: "the configured voice cannot be used".into(),
            },
        };
        vec![dir_check, ffmpeg, speech]
    })
    .await
    .unwrap_or_default()
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "system",
    security(()),
    responses(
        (status = 200, description = "Metrics", content_type = "text/plain", body = String),
        (status = 401, description = "No valid API key (when metrics are not open)", body = ErrorBody),
    )
)]
pub async fn metrics(State(s): State<AppState>) -> Response {
    let load = s.runner.load();
    s.metrics.set_load(load.queued, load.running);
    if let Some(q) = &s.queue {
        vidflow_dist::refresh_queue_gauges(&s.metrics, q).await;
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        s.metrics.render(),
    )
        .into_response()
}

/// This document (OpenAPI 3.1).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "system",
    security(()),
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object))
)]
pub async fn openapi_json(State(s): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        s.openapi_json.get().cloned().unwrap_or_default(),
    )
        .into_response()
}
