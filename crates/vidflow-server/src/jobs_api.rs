//! `/v1/videos` and `/v1/jobs/...`: submitting, reading, following, cancelling jobs and
//! fetching their files.

use std::collections::VecDeque;
use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};
use tower::ServiceExt;
use tower_http::services::ServeFile;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use vidflow_jobs::{
    FileLease, JobEvent, JobOutput, JobQuery, JobState, JobUpdate, Runner, VIDEO_FILE,
};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody, FieldError};
use crate::request::VideoRequest;
use crate::request_id::RequestId;
use crate::views::{Accepted, JobList, JobStateView, JobView, PlanView};

/// What `POST /v1/videos` answers with 200: the plan of a dry run, or the job an existing
/// `idempotency_key` names.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum VideoOk {
    /// `"dry_run": true`.
    Plan(PlanView),
    /// A repeated `idempotency_key` with the same body.
    Existing(Accepted),
}

/// Submit a video job.
///
/// Exactly one of `url`, `html` or `script`; `workflow_id` picks the workflow
/// (`GET /v1/workflows`). Returns 202 with the job's URLs; with an `idempotency_key`
/// already used for the same body, 200 with that job; with a different body, 409.
/// `"dry_run": true` validates and returns the plan without starting anything.
#[utoipa::path(
    post,
    path = "/v1/videos",
    tag = "videos",
    request_body(content = VideoRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "Job accepted", body = Accepted,
            headers(("Location" = String, description = "The job's URL"))),
        (status = 200, description = "The plan (dry run), or the existing job for this idempotency_key", body = VideoOk),
        (status = 400, description = "Not JSON, or more after the JSON value", body = ErrorBody),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 409, description = "idempotency_key already used with a different body", body = ErrorBody),
        (status = 408, description = "The body did not arrive within limits.request_body_seconds", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB", body = ErrorBody),
        (status = 415, description = "Not application/json, or compressed (Content-Encoding)", body = ErrorBody),
        (status = 422, description = "Invalid fields (all of them listed)", body = ErrorBody),
        (status = 429, description = "Queue full or rate limited", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Shutting down", body = ErrorBody),
    )
)]
pub async fn create_video(
    State(s): State<AppState>,
    caller: Caller,
    request_id: Option<Extension<RequestId>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = json_body(&headers, body)?;
    let req = VideoRequest::from_json(&body)?;
    submit(
        &s,
        &caller,
        req,
        request_id.map(|Extension(RequestId(id))| id),
    )
    .await
}

/// The body of a JSON request: 413 over the limit, 408 when it came too slowly, 415 when
/// it is not JSON or is compressed.
pub(crate) fn json_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Bytes, ApiError> {
    let body = body.map_err(|r| {
        if let Some(timeout) = crate::connections::body_deadline_answer(&r) {
            return timeout;
        }
        let status = r.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "payload_too_large"
        } else {
            "bad_request"
        };
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!(
                "request body too large: at most {} bytes",
                crate::BODY_LIMIT
            )
        } else {
            r.body_text()
        };
        ApiError::new(status, code, message)
    })?;
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case("application/json")
                || (v.starts_with("application/") && v.ends_with("+json"))
        });
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ));
    }
    // The server decodes no compression; compressed bytes read as JSON would only fail
    // later with a confusing message (and decoding them would invite bombs).
    if let Some(encoding) = headers.get(header::CONTENT_ENCODING) {
        let encoding = String::from_utf8_lossy(encoding.as_bytes());
        if !encoding.trim().eq_ignore_ascii_case("identity") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!(
                    "Content-Encoding {:?} is not supported: send the body uncompressed",
                    encoding.chars().take(40).collect::<String>()
                ),
            ));
        }
    }
    Ok(body)
}

/// Checks a parsed request against the pipeline and queues it (or plans it, for a dry
/// run): the part `POST /v1/videos` and `POST /v1/tune` share. `request_id` is the
/// submitting request's, kept with the job for its logs.
pub(crate) async fn submit(
    s: &AppState,
    caller: &Caller,
    req: VideoRequest,
    request_id: Option<String>,
) -> Result<Response, ApiError> {
    let hash = req.canonical_hash();
    let mut req = req;
    resolve_encode_profile(s, caller, &mut req).await?;
    // Checked against the pipeline before anything is stored: bad input is a 422 now, not
    // a failed job later. The dry run's output path only has to be in an existing folder.
    let make = req.to_make_request(&s.config.video, s.jobs_dir.join(VIDEO_FILE))?;
    check_workflow(s, &make)?;
    if req.dry_run {
        let plan = s.engine.plan(&make).await?;
        // The cache is shared by every key: whether it holds a stage's output would tell
        // one key what others fetched and made. Only a caller who sees every job is told.
        let plan = if caller.admin {
            plan
        } else {
            plan.without_cache_hits()
        };
        return Ok(Json(VideoOk::Plan(PlanView::from(plan))).into_response());
    }
    s.engine.validate(&make)?;
    let mut stored = req.clone();
    stored.dry_run = false;
    // The job runs the workflow it was accepted for, even if the defaults change later.
    stored.workflow_id = Some(s.engine.workflow_def(&make)?.id);
    let value = serde_json::to_value(&stored)
        .map_err(|e| ApiError::internal("cannot store the request", e))?;
    let submitted = s
        .runner
        .submit_owned(
            value,
            hash,
            req.idempotency_key.clone(),
            request_id,
            caller.owner(),
        )
        .await?;
    let id = &submitted.job.id;
    let accepted = Accepted {
        job_id: id.clone(),
        status_url: format!("/v1/jobs/{id}"),
        events_url: format!("/v1/jobs/{id}/events"),
        existing: submitted.existing,
    };
    let location = HeaderValue::from_str(&accepted.status_url)
        .map_err(|e| ApiError::internal("bad job id", e))?;
    let mut resp = if submitted.existing {
        (StatusCode::OK, Json(VideoOk::Existing(accepted))).into_response()
    } else {
        (StatusCode::ACCEPTED, Json(accepted)).into_response()
    };
    resp.headers_mut().insert(header::LOCATION, location);
    Ok(resp)
}

/// `options.encode_profile` names a finished encode search: its chosen preset, CRF and
/// x264 settings fill the options the request leaves out (written into the stored
/// request, so a rerun after a restart encodes the same way). Anything else is a 422.
async fn resolve_encode_profile(
    s: &AppState,
    caller: &Caller,
    req: &mut VideoRequest,
) -> Result<(), ApiError> {
    let Some(id) = req.options.encode_profile.clone() else {
        return Ok(());
    };
    let field = |message: String| {
        ApiError::invalid_fields(vec![FieldError {
            field: "options.encode_profile".into(),
            message,
        }])
    };
    let job = visible_job(s, caller, &id).await.ok().ok_or_else(|| {
        field(format!(
            "no job '{id}': give the id of a finished POST /v1/tune encode job"
        ))
    })?;
    let chosen = match &job.result {
        Some(JobOutput::Stage { output, .. }) if output["kind"] == "encode" => {
            output["chosen"]["choice"].clone()
        }
        _ => {
            return Err(field(format!(
                "job '{id}' is not a finished encode search (it is {})",
                job.state.as_str()
            )));
        }
    };
    #[derive(Deserialize)]
    struct Choice {
        preset: crate::request::Preset,
        crf: u8,
        x264: crate::request::X264Options,
    }
    let choice: Choice = serde_json::from_value(chosen).map_err(|_| {
        field(format!(
            "the encode search '{id}' found no setting that reached its target"
        ))
    })?;
    let o = &mut req.options;
    o.preset = o.preset.or(Some(choice.preset));
    o.crf = o.crf.or(Some(choice.crf));
    let mine = o.x264.take().unwrap_or_default();
    o.x264 = Some(crate::request::X264Options {
        tune: mine.tune.or(choice.x264.tune),
        keyint: mine.keyint.or(choice.x264.keyint),
        aq_mode: mine.aq_mode.or(choice.x264.aq_mode),
    });
    Ok(())
}

/// The workflow `make` names exists and has the stage it stops after: each a 422 naming
/// its field.
fn check_workflow(s: &AppState, make: &vidflow_core::MakeRequest) -> Result<(), ApiError> {
    let wf = s.engine.workflow_for(make).map_err(|e| {
        ApiError::invalid_fields(vec![FieldError {
            field: "workflow_id".into(),
            message: e.message,
        }])
    })?;
    if let Some(stop) = &make.stop_after
        && !wf.has(stop)
    {
        return Err(ApiError::invalid_fields(vec![FieldError {
            field: "options.stop_after".into(),
            message: format!(
                "workflow '{}' has no stage '{}': its stages are {}",
                wf.id(),
                stop.as_str().chars().take(40).collect::<String>(),
                wf.stage_names()
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }]));
    }
    Ok(())
}

/// Filters and paging of `GET /v1/jobs`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only jobs in this state.
    pub state: Option<JobStateView>,
    /// Jobs per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[0-9]*$")]
    pub cursor: Option<String>,
}

/// List jobs, newest first.
#[utoipa::path(
    get,
    path = "/v1/jobs",
    tag = "jobs",
    params(ListParams),
    responses(
        (status = 200, description = "A page of jobs", body = JobList),
        (status = 400, description = "Bad query or cursor", body = ErrorBody),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 422, description = "Bad limit", body = ErrorBody),
    )
)]
pub async fn list_jobs(
    State(s): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<Json<JobList>, ApiError> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid_fields(vec![FieldError {
            field: "limit".into(),
            message: "use 1 to 200".into(),
        }]));
    }
    let page = s
        .runner
        .list(&JobQuery {
            state: params.state.map(JobState::from),
            limit: limit as usize,
            // `cursor=` is the same as no cursor: the first page.
            cursor: params.cursor.filter(|c| !c.is_empty()),
            owner: caller.list_filter(),
        })
        .await?;
    Ok(Json(JobList {
        jobs: page.jobs.iter().map(JobView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// A job: its state, stage and percent, per-stage timings and cache hits, result links.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}",
    tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
    )
)]
pub async fn get_job(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let job = visible_job(&s, &caller, &id).await?;
    Ok(Json(JobView::from(&job)))
}

/// `DELETE /v1/jobs/{id}`'s query.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// Also forget the job: its record and its files (an unfinished job is cancelled
    /// first). Answers 204.
    #[serde(default)]
    pub purge: bool,
}

/// The job `id` when `caller` may see it; another key's job is a 404 like a missing one,
/// so ids cannot be probed.
pub(crate) async fn visible_job(
    s: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<vidflow_jobs::Job, ApiError> {
    s.runner
        .get(id)
        .await?
        .filter(|job| caller.may_see(job))
        .ok_or_else(|| ApiError::job_not_found(id))
}

/// Cancel a job: a queued job never starts; a running one stops within a second or two
/// (its ffmpeg is killed) and its files are removed. With `purge=true`, also delete the
/// job, finished or not, and its files.
#[utoipa::path(
    delete,
    path = "/v1/jobs/{id}",
    tag = "jobs",
    params(("id" = String, Path, description = "The job's id"), DeleteParams),
    responses(
        (status = 200, description = "Cancelled", body = JobView),
        (status = 204, description = "Deleted (purge=true)"),
        (status = 202, description = "Told to stop; still stopping", body = JobView),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "Already finished", body = ErrorBody),
    )
)]
pub async fn cancel_job(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Query<DeleteParams>,
) -> Result<Response, ApiError> {
    visible_job(&s, &caller, &id).await?;
    if params.purge {
        return if s.runner.delete(&id).await? {
            Ok(StatusCode::NO_CONTENT.into_response())
        } else {
            Err(ApiError::job_not_found(&id))
        };
    }
    let job = s.runner.cancel(&id).await?;
    let status = if job.state.is_finished() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(JobView::from(&job))).into_response())
}

/// Follow a job live (Server-Sent Events).
///
/// The first event is `state` (the whole job, as `GET /v1/jobs/{id}`), then
/// `stage_started`, `progress`, `stage_finished` (and `retrying`) as they happen, and last
/// `done`, `failed` or `cancelled` with the finished job. Each event's `id` is its place in
/// the job's sequence. A client that connects after the job finished gets `state` and the
/// final event.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}/events",
    tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "An event stream", content_type = "text/event-stream", body = SseFrame),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 429, description = "Too many event streams open (per client or in all)", body = ErrorBody),
    )
)]
pub async fn job_events(
    State(s): State<AppState>,
    caller: Caller,
    client: Option<Extension<crate::auth::Client>>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let watch = s
        .runner
        .watch(&id)
        .await?
        .filter(|w| caller.may_see(&w.job))
        .ok_or_else(|| ApiError::job_not_found(&id))?;
    let client = client.map_or(crate::auth::Client::Unknown, |Extension(c)| c);
    let slot = s.streams.take(client)?;
    let mut pending = VecDeque::new();
    pending.push_back(sse_event(
        "state",
        Some(watch.seq),
        &job_json("state", &watch.job),
    ));
    if let Some(last) = JobEvent::finished(&watch.job) {
        pending.push_back(sse_event(last.name(), None, &event_json(&last)));
    }
    let stream = JobEventStream {
        pending,
        updates: watch.updates,
        shutdown: s.shutdown.clone(),
        runner: s.runner.clone(),
        id,
        _slot: slot,
    };
    let stream = futures_util::stream::unfold(stream, JobEventStream::next);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// One client's SSE stream of a job's events: what is still to send, and the job's live
/// updates.
struct JobEventStream {
    pending: VecDeque<Event>,
    updates: Option<broadcast::Receiver<JobUpdate>>,
    shutdown: watch::Receiver<bool>,
    runner: Runner,
    id: String,
    /// Counted among the open streams until this stream is dropped.
    _slot: crate::streams::StreamSlot,
}

impl JobEventStream {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, JobEventStream)> {
        if let Some(ev) = self.pending.pop_front() {
            return Some((Ok(ev), self));
        }
        let mut rx = self.updates.take()?;
        if *self.shutdown.borrow() {
            return None;
        }
        loop {
            tokio::select! {
                // The server is stopping: end the stream so the connection can close.
                _ = self.shutdown.changed() => return None,
                got = rx.recv() => match got {
                    Ok(update) => {
                        let ev = sse_event(update.event.name(), Some(update.seq), &event_json(&update.event));
                        if !update.event.is_last() {
                            self.updates = Some(rx);
                        }
                        return Some((Ok(ev), self));
                    }
                    // Too far behind: skip to the job as it is now.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if let Ok(Some(job)) = self.runner.get(&self.id).await {
                            self.updates = Some(rx);
                            return Some((Ok(sse_event("state", None, &job_json("state", &job))), self));
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    }
}

/// One Server-Sent Event as sent: `event:` its name, `id:` its place in the job's
/// sequence, `data:` a JSON object with the same `event` name and its fields.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SseFrame {
    /// `state`, `stage_started`, `progress`, `stage_finished`, `retrying`, `done`,
    /// `failed` or `cancelled`.
    #[schema(example = "progress")]
    pub event: String,
    /// Sequence number within the job.
    #[schema(example = "7")]
    pub id: Option<String>,
    /// The event as JSON text.
    #[schema(
        example = r#"{"event":"progress","stage":"render","done":240,"total":900,"percent":45.0}"#
    )]
    pub data: String,
}

fn sse_event(name: &str, seq: Option<u64>, data: &serde_json::Value) -> Event {
    let ev = Event::default().event(name).data(data.to_string());
    match seq {
        Some(seq) => ev.id(seq.to_string()),
        None => ev,
    }
}

fn job_json(name: &str, job: &vidflow_jobs::Job) -> serde_json::Value {
    serde_json::json!({ "event": name, "job": JobView::from(job) })
}

/// An event as JSON, with any job in it shown as the API shows jobs.
fn event_json(event: &JobEvent) -> serde_json::Value {
    match event {
        JobEvent::State { job }
        | JobEvent::Done { job }
        | JobEvent::Failed { job }
        | JobEvent::Cancelled { job } => job_json(event.name(), job),
        other => serde_json::to_value(other).unwrap_or_default(),
    }
}

/// A file in a response body.
pub struct BinaryFile;

impl PartialSchema for BinaryFile {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl ToSchema for BinaryFile {}

/// The job's MP4. Supports `Range` (206 Partial Content), so players can seek.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}/video",
    tag = "jobs",
    params(
        ("id" = String, Path, description = "The job's id"),
        ("Range" = Option<String>, Header, description = "Byte range, e.g. bytes=0-1023"),
    ),
    responses(
        (status = 200, description = "The video", content_type = "video/mp4", body = BinaryFile),
        (status = 206, description = "The requested range", content_type = "video/mp4", body = BinaryFile),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 404, description = "No such job, or it made no video", body = ErrorBody),
        (status = 409, description = "Not finished yet", body = ErrorBody),
        (status = 416, description = "Range outside the file", body = ErrorBody),
    )
)]
pub async fn job_video(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    serve_job_file(&s, &caller, &id, VIDEO_FILE, "video/mp4", req).await
}

/// The job's subtitles as SubRip.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}/subtitles.srt",
    tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "SubRip subtitles", content_type = "application/x-subrip", body = String),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 404, description = "No such job, or it made no video", body = ErrorBody),
        (status = 409, description = "Not finished yet", body = ErrorBody),
    )
)]
pub async fn job_srt(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    serve_job_file(
        &s,
        &caller,
        &id,
        "video.srt",
        "application/x-subrip; charset=utf-8",
        req,
    )
    .await
}

/// The job's subtitles as WebVTT.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}/subtitles.vtt",
    tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "WebVTT subtitles", content_type = "text/vtt", body = String),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 404, description = "No such job, or it made no video", body = ErrorBody),
        (status = 409, description = "Not finished yet", body = ErrorBody),
    )
)]
pub async fn job_vtt(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    serve_job_file(
        &s,
        &caller,
        &id,
        "video.vtt",
        "text/vtt; charset=utf-8",
        req,
    )
    .await
}

async fn serve_job_file(
    s: &AppState,
    caller: &Caller,
    id: &str,
    file: &str,
    content_type: &'static str,
    req: Request,
) -> Result<Response, ApiError> {
    let job = visible_job(s, caller, id).await?;
    if !job.state.is_finished() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_ready",
            format!(
                "job {id} is {}; its files exist once it succeeds",
                job.state
            ),
        ));
    }
    if !(job.state == JobState::Succeeded && matches!(job.result, Some(JobOutput::Video { .. }))) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_video",
            format!("job {id} {} without a video", job.state),
        ));
    }
    // The folder is named by the stored job's id, never by the path as typed.
    let dir = s.jobs_dir.join(&job.id);
    let path = dir.join(file);
    if !path.is_file() {
        // Shared mode: another server followed this job; its files are in the shared cache.
        if let Err(e) = s.runner.restore_files(&job, &dir).await {
            tracing::warn!(job = %job.id, "cannot restore the job's files: {}", e.message);
        }
    }
    // Retention leaves the job alone while its file is being sent.
    let lease = s.runner.lease_files(&job.id);
    let mut req = req;
    // A Range header that is not a byte range is ignored (RFC 9110 §14.2), not refused.
    if req
        .headers()
        .get(header::RANGE)
        .is_some_and(|r| !r.as_bytes().starts_with(b"bytes="))
    {
        req.headers_mut().remove(header::RANGE);
    }
    let resp = ServeFile::new(&path)
        .oneshot(req)
        .await
        .unwrap_or_else(|never| match never {});
    if resp.status() == StatusCode::NOT_FOUND {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "file_missing",
            format!("the {file} of job {id} is no longer on the server"),
        ));
    }
    let mut resp = resp.map(|body| {
        Body::new(LeasedBody {
            body: Body::new(body),
            _lease: lease,
        })
    });
    if resp.status().is_success() {
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    Ok(resp)
}

/// A file's body holding the job's [`FileLease`] until the last byte is sent (or the client
/// goes), so that retention does not delete what a download is reading.
struct LeasedBody {
    body: Body,
    _lease: FileLease,
}

impl http_body::Body for LeasedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
