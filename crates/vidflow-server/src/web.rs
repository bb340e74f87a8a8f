//! The web page (`vidflow-web`) mounted on the service, and the API routes it needs beyond
//! the others: a session cookie for the media elements, a job's source texts, a study's
//! charts.
//!
//! Pages and assets are open (they hold no data) and carry a strict
//! Content-Security-Policy; the data comes from the API with the person's key.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;
use vidflow_avatar::Avatar;
use vidflow_core::{Article, Progress, Script, StageName};
use vidflow_jobs::{JobOutput, JobState};
use vidflow_web::pages::{self, Catalog, Choice};

use crate::AppState;
use crate::auth::{Caller, SESSION_COOKIE};
use crate::error::{ApiError, ErrorBody};
use crate::jobs_api::visible_job;

/// The pages and their assets, each response with the page's security headers.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/", get(new_video))
        .route("/ui", get(|| async { axum::response::Redirect::to("/") }))
        .route("/ui/jobs", get(|State(s): State<AppState>| async move {
            Html(pages::jobs(auth_on(&s)).into_string())
        }))
        .route(
            "/ui/jobs/{id}",
            get(
                |State(s): State<AppState>, Path(id): Path<String>| async move {
                    Html(pages::job(&id, auth_on(&s)).into_string())
                },
            ),
        )
        .route("/ui/studies", get(|State(s): State<AppState>| async move {
            Html(pages::studies(auth_on(&s)).into_string())
        }))
        .route(
            "/ui/studies/{id}",
            get(
                |State(s): State<AppState>, Path(id): Path<String>| async move {
                    Html(pages::study(&id, auth_on(&s)).into_string())
                },
            ),
        )
        .route("/ui/status", get(|State(s): State<AppState>| async move {
            Html(pages::status(auth_on(&s)).into_string())
        }))
        .route("/ui/assets/{name}", get(asset))
        .layer(middleware::from_fn(security_headers))
}

fn auth_on(s: &AppState) -> bool {
    !s.keys.is_empty()
}

async fn new_video(State(s): State<AppState>) -> Html<String> {
    let avatars = Avatar::builtin_names()
        .iter()
        .map(|id| Choice {
            id: (*id).to_owned(),
            label: Avatar::builtin(id).map_or_else(|_| (*id).to_owned(), |a| a.name().to_owned()),
        })
        .collect();
    // The server's own default first (sent as no voice at all), then `auto` and every
    // installed voice, best first.
    let default_voice = &s.config.video.voice;
    let default = match vidflow_speech::resolve(default_voice, None) {
        Ok(choice) => format!("Server default: {default_voice} (now {})", choice.id()),
        Err(_) => format!("Server default: {default_voice}"),
    };
    let voices = [
        Choice {
            id: String::new(),
            label: default,
        },
        Choice {
            id: "auto".to_owned(),
            label: "the best installed voice for the page's language".to_owned(),
        },
    ]
    .into_iter()
    .chain(
        vidflow_speech::voices()
            .into_iter()
            .filter(|v| v.installed)
            .map(|v| Choice {
                label: if v.engine == "flite" {
                    format!("{} (Flite)", v.description)
                } else {
                    format!("{} ({})", v.language, v.engine)
                },
                id: v.id,
            }),
    )
    .collect();
    let catalog = Catalog {
        avatars,
        voices,
        auth: auth_on(&s),
    };
    Html(pages::new_video(&catalog).into_string())
}

async fn asset(Path(name): Path<String>) -> Response {
    match vidflow_web::assets::get(&name) {
        Some(a) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(a.content_type),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            a.body,
        )
            .into_response(),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no asset '{}'", name.chars().take(40).collect::<String>()),
        )
        .into_response(),
    }
}

/// The page's security headers: the CSP, no sniffing, no referrer (job ids stay here).
async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(vidflow_web::CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

/// Start a browser session.
///
/// Sent with the API key in `Authorization` (or `X-API-Key`), answers 204 with an
/// HttpOnly, SameSite=Strict session cookie holding it, which the server accepts for
/// `GET` and `HEAD` only: what `<video>`, `<track>`, `<img>` and `EventSource` need,
/// since they cannot send headers. Anything that changes state still needs the header.
#[utoipa::path(
    post,
    path = "/v1/session",
    tag = "system",
    responses(
        (status = 204, description = "Session cookie set",
            headers(("Set-Cookie" = String, description = "vidflow_session=…; HttpOnly; SameSite=Strict; Path=/"))),
        (status = 401, description = "No valid API key", body = ErrorBody),
    )
)]
pub async fn start_session(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    // With auth off there is nothing to remember.
    let Some(key) = crate::auth::presented_key(&headers).filter(|_| auth_on(&s)) else {
        return resp;
    };
    // The key is checked by the auth layer before this runs; it is sent back only to the
    // browser that presented it, which cannot read it (HttpOnly).
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"));
    let cookie = format!(
        "{SESSION_COOKIE}={key}; Path=/; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// End the browser session: the cookie is cleared.
#[utoipa::path(
    delete,
    path = "/v1/session",
    tag = "system",
    responses(
        (status = 204, description = "Session cookie cleared"),
        (status = 401, description = "No valid API key", body = ErrorBody),
    )
)]
pub async fn end_session() -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
        ))
        .expect("a valid header"),
    );
    resp
}

/// What a video was made from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobSource {
    /// The request as the job stored it (`POST /v1/videos` accepts it again).
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    /// The text taken from the page; null when the job narrated a script.
    #[schema(value_type = Option<Object>)]
    pub article: Option<Article>,
    /// The script the narration read.
    #[schema(value_type = Option<Object>)]
    pub script: Option<Script>,
}

/// What a finished job's video says and why: its request, the text taken from the page and
/// the script. Read from the cache the job filled (a cache emptied since then makes the
/// server fetch and extract the page again).
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}/source",
    tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The request, text and script", body = JobSource),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "Not succeeded", body = ErrorBody),
    )
)]
pub async fn job_source(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobSource>, ApiError> {
    let job = visible_job(&s, &caller, &id).await?;
    if job.state != JobState::Succeeded {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_ready",
            format!(
                "job {id} is {}; its texts are shown once it succeeds",
                job.state
            ),
        ));
    }
    let workdir = s.jobs_dir.join(&job.id);
    let req = s.runner.request_of(&job, &workdir)?;
    let wf = s.engine.workflow_for(&req)?;
    let (article, script) = if wf.has(&StageName::SCRIPT) {
        let sink = |_: Progress| {};
        let outcome = s.engine.run_until(&req, &StageName::SCRIPT, &sink).await?;
        (
            outcome.get::<Article>().map(|a| a.as_ref().clone()),
            outcome.get::<Script>().map(|a| a.as_ref().clone()),
        )
    } else {
        (None, None)
    };
    let mut request = job.request.clone();
    if let Some(obj) = request.as_object_mut() {
        obj.remove("idempotency_key");
    }
    Ok(Json(JobSource {
        request,
        article,
        script,
    }))
}

/// A tuning study's chart, drawn on the server as SVG: `history.svg` (each trial in the
/// order it ran, the best so far as a line) or `front.svg` (the trade-off, the Pareto
/// front marked).
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}/charts/{chart}",
    tag = "tune",
    params(
        ("id" = String, Path, description = "A `POST /v1/tune` job's id"),
        ("chart" = String, Path, description = "`history.svg` or `front.svg`"),
    ),
    responses(
        (status = 200, description = "The chart", content_type = "image/svg+xml", body = String),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 404, description = "No such job or chart, or the job is not a finished study", body = ErrorBody),
    )
)]
pub async fn study_chart(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, chart)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let job = visible_job(&s, &caller, &id).await?;
    let Some(JobOutput::Stage { output, .. }) = &job.result else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_study",
            format!("job {id} is {} and has no study report", job.state),
        ));
    };
    let svg = match chart.as_str() {
        "history.svg" => vidflow_web::charts::history_svg(output),
        "front.svg" => vidflow_web::charts::front_svg(output),
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "charts are history.svg and front.svg",
            ));
        }
    }
    .ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_study",
            format!("job {id} is not a tuning study"),
        )
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'"),
        ],
        svg,
    )
        .into_response())
}
