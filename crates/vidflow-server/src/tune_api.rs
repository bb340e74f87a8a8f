//! `POST /v1/tune`: a search of the encoder's or the render's settings, run as a job like
//! a video (followed with `/v1/jobs/{id}` and its events; each trial is an SSE `trial`
//! event and counts in `vidflow_tune_trials_total`).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ErrorBody, FieldError};
use crate::jobs_api::{VideoOk, json_body, submit};
use crate::request::{TuneOptions, VideoOptions, VideoRequest};
use crate::request_id::RequestId;
use crate::views::Accepted;

/// What is searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TuneKind {
    /// x264's preset, CRF, tune, keyframe interval and AQ mode on a sample of the video:
    /// the smallest file at `target_ssim`, or the Pareto front of size, SSIM and time.
    /// Its job id is an `options.encode_profile` for `POST /v1/videos`.
    Encode,
    /// Frame threads, chunk size, chunks ahead and preset, for frames per second on the
    /// server (needs a `script`: the render is what is measured, not the page).
    Render,
}

/// A tuning search: `kind`, and exactly one of `url`, `html` or `script` whose video is
/// sampled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "encode",
    "url": "https://example.org/article",
    "tune": {"trials": 40, "target_ssim": 0.98, "seconds": 6}
}))]
pub struct TuneRequest {
    /// `encode` or `render`.
    pub kind: TuneKind,
    /// Page whose explainer is sampled (`http://` or `https://`).
    pub url: Option<String>,
    /// The page itself (HTML).
    pub html: Option<String>,
    /// URL that relative links in `html` resolve against.
    pub base_url: Option<String>,
    /// Your own script, whose video is sampled.
    pub script: Option<String>,
    /// Presenter drawn in the sample.
    pub avatar: Option<String>,
    /// Idempotency key, as for `POST /v1/videos`.
    pub idempotency_key: Option<String>,
    /// The video's options (size, fps, voice, ...), as for `POST /v1/videos`.
    #[serde(default)]
    pub options: VideoOptions,
    /// How the search runs.
    #[serde(default)]
    pub tune: TuneOptions,
    /// Validate and return the plan without starting a job.
    #[serde(default)]
    pub dry_run: bool,
}

impl TuneRequest {
    /// The video request that runs the search: the tuning workflow for `kind` and the
    /// source, every field checked by [`VideoRequest`]'s rules.
    fn into_video_request(self) -> Result<VideoRequest, ApiError> {
        let workflow = match (self.kind, self.script.is_some()) {
            (TuneKind::Encode, false) => "tune-encode",
            (TuneKind::Encode, true) => "tune-encode-script",
            (TuneKind::Render, true) => "tune-render",
            (TuneKind::Render, false) => {
                return Err(ApiError::invalid_fields(vec![FieldError {
                    field: "script".into(),
                    message: "a render search needs a script (its render is what is measured)"
                        .into(),
                }]));
            }
        };
        let req = VideoRequest {
            url: self.url,
            html: self.html,
            base_url: self.base_url,
            script: self.script,
            avatar: self.avatar,
            workflow_id: Some(workflow.into()),
            idempotency_key: self.idempotency_key,
            options: self.options,
            tune: Some(self.tune),
            dry_run: self.dry_run,
        };
        req.check()?;
        Ok(req)
    }
}

/// Start a tuning search.
///
/// Runs as a job: follow it at `status_url` and `events_url` (an SSE `trial` event per
/// trial); its result is the report (every trial, the front, the chosen setting and
/// x264's defaults beside it). A finished encode search's job id is an
/// `options.encode_profile` for `POST /v1/videos`.
#[utoipa::path(
    post,
    path = "/v1/tune",
    tag = "tune",
    request_body(content = TuneRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "Search accepted", body = Accepted,
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
pub async fn create_tune(
    State(s): State<AppState>,
    caller: crate::auth::Caller,
    request_id: Option<Extension<RequestId>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = json_body(&headers, body)?;
    let req: TuneRequest = crate::request::parse_json(&body)?;
    let request_id = request_id.map(|Extension(RequestId(id))| id);
    submit(&s, &caller, req.into_video_request()?, request_id).await
}
