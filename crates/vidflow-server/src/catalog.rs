//! What the service offers: presenters (with previews), voices and workflows.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use vidflow_avatar::Avatar;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::jobs_api::BinaryFile;
use crate::views::{AvatarView, VoiceView, WorkflowView};

/// The built-in presenters.
#[utoipa::path(
    get,
    path = "/v1/avatars",
    tag = "catalog",
    responses(
        (status = 200, description = "Avatars", body = Vec<AvatarView>),
        (status = 401, description = "No valid API key", body = ErrorBody),
    )
)]
pub async fn avatars() -> Result<Json<Vec<AvatarView>>, ApiError> {
    Avatar::builtin_names()
        .iter()
        .map(|id| {
            let avatar = Avatar::builtin(id).map_err(|e| ApiError::internal("avatar", e))?;
            Ok(AvatarView {
                id: (*id).to_owned(),
                name: avatar.name().to_owned(),
                preview_url: format!("/v1/avatars/{id}/preview.png"),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()
        .map(Json)
}

/// A PNG of a built-in presenter.
#[utoipa::path(
    get,
    path = "/v1/avatars/{id}/preview.png",
    tag = "catalog",
    params(("id" = String, Path, description = "The avatar's id")),
    responses(
        (status = 200, description = "The preview", content_type = "image/png", body = BinaryFile),
        (status = 401, description = "No valid API key", body = ErrorBody),
        (status = 404, description = "No such avatar", body = ErrorBody),
    )
)]
pub async fn avatar_preview(
    State(s): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let Some(name) = Avatar::builtin_names().iter().find(|n| **n == id) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "no avatar '{}': use one of {}",
                id.chars().take(40).collect::<String>(),
                Avatar::builtin_names().join(", ")
            ),
        ));
    };
    let cached = s
        .previews
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(*name)
        .cloned();
    let png = match cached {
        Some(png) => png,
        None => {
            let name: &'static str = name;
            let png = tokio::task::spawn_blocking(move || {
                Avatar::builtin(name).map(|a| Bytes::from(a.preview_png(360, 400)))
            })
            .await
            .map_err(|e| ApiError::internal("preview", e))?
            .map_err(|e| ApiError::internal("preview", e))?;
            s.previews
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name, png.clone());
            png
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        png,
    )
        .into_response())
}

/// The voices installed on this server (Flite's, always; neural voices whose files are in
/// place), best first; `auto` picks the first whose licence allows any use of the output.
#[utoipa::path(
    get,
    path = "/v1/voices",
    tag = "catalog",
    responses(
        (status = 200, description = "Installed voices", body = Vec<VoiceView>),
        (status = 401, description = "No valid API key", body = ErrorBody),
    )
)]
pub async fn voices() -> Result<Json<Vec<VoiceView>>, ApiError> {
    Ok(Json(
        vidflow_speech::voices()
            .into_iter()
            .filter(|v| v.installed)
            .map(|v| VoiceView {
                sample_url: vidflow_web::assets::voice_sample_url(&v.id),
                id: v.id,
                engine: v.engine.to_owned(),
                language: v.language,
                sample_rate: v.sample_rate,
                licence: v.licence,
                any_use: v.any_use,
                description: v.description,
            })
            .collect(),
    ))
}

/// The workflows this server runs, each with its stages (what `workflow_id` and
/// `stop_after` may name).
#[utoipa::path(
    get,
    path = "/v1/workflows",
    tag = "catalog",
    responses(
        (status = 200, description = "Workflows", body = Vec<WorkflowView>),
        (status = 401, description = "No valid API key", body = ErrorBody),
    )
)]
pub async fn workflows(State(s): State<AppState>) -> Result<Json<Vec<WorkflowView>>, ApiError> {
    s.engine
        .registry()
        .workflows()
        .map(|def| {
            let wf = s.engine.workflow(def)?;
            Ok(WorkflowView {
                id: def.id.clone(),
                description: def.description.clone(),
                stages: wf.stage_names().iter().map(|n| n.to_string()).collect(),
                output: wf
                    .output(None)
                    .map_or_else(String::new, |d| d.as_str().to_owned()),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()
        .map(Json)
}
