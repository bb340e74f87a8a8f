//! One JSON shape for every error the API returns:
//! `{"error": {"code", "message", "fields": [{"field", "message"}]}}`.

use axum::Json;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use vidflow_core::{ErrorKind, VidflowError};
use vidflow_jobs::{CancelError, StoreError, SubmitError};

/// The body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"error": {"code": "validation_failed", "message": "the request has 2 invalid fields",
    "fields": [{"field": "options.crf", "message": "greater than 51"}, {"field": "options.fps", "message": "use 24, 25, 30 or 60"}]}}))]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong, for programs (`code`) and people (`message`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable code (`not_found`, `validation_failed`, `queue_full`, ...).
    pub code: String,
    /// What failed and why.
    pub message: String,
    /// The request fields at fault (validation errors); empty otherwise.
    pub fields: Vec<FieldError>,
}

/// One invalid field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// Path of the field in the request body (`options.fps`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// An error on its way to becoming a response.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Machine-readable code.
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// Invalid fields.
    pub fields: Vec<FieldError>,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
            retry_after: None,
        }
    }

    /// 404 for a missing job.
    pub fn job_not_found(id: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no job {id}"))
    }

    /// 422 listing invalid fields.
    pub fn invalid_fields(fields: Vec<FieldError>) -> ApiError {
        let message = match fields.as_slice() {
            [one] => format!("invalid field {}: {}", one.field, one.message),
            many => format!("the request has {} invalid fields", many.len()),
        };
        ApiError {
            fields,
            ..ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                message,
            )
        }
    }

    /// 500 without internals in the message (they go to the log).
    pub fn internal(context: &str, error: impl std::fmt::Display) -> ApiError {
        tracing::error!("{context}: {error}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("{context}; see the server log"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                fields: self.fields,
            },
        };
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadCursor(_) => ApiError {
                fields: vec![FieldError {
                    field: "cursor".into(),
                    message: e.to_string(),
                }],
                ..ApiError::new(StatusCode::BAD_REQUEST, "bad_cursor", e.to_string())
            },
            other => ApiError::internal("the job store failed", other),
        }
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::QueueFull { retry_after_s, .. } => ApiError {
                retry_after: Some(retry_after_s),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "queue_full", e.to_string())
            },
            SubmitError::Conflict { .. } | SubmitError::KeyTaken { .. } => {
                ApiError::new(StatusCode::CONFLICT, "idempotency_conflict", e.to_string())
            }
            SubmitError::ShuttingDown => ApiError {
                retry_after: Some(5),
                ..ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "shutting_down",
                    e.to_string(),
                )
            },
            SubmitError::Store(s) => s.into(),
        }
    }
}

impl From<CancelError> for ApiError {
    fn from(e: CancelError) -> Self {
        match e {
            CancelError::NotFound(id) => ApiError::job_not_found(&id),
            CancelError::Finished(_) => {
                ApiError::new(StatusCode::CONFLICT, "job_finished", e.to_string())
            }
            CancelError::Store(s) => s.into(),
        }
    }
}

impl From<VidflowError> for ApiError {
    fn from(e: VidflowError) -> Self {
        match e.kind {
            ErrorKind::BadInput => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_input", e.message)
            }
            ErrorKind::Cancelled => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "cancelled", e.message)
            }
            ErrorKind::Transient => ApiError {
                retry_after: Some(5),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e.message)
            },
            ErrorKind::Internal => ApiError::internal("the pipeline failed", e.message),
        }
    }
}

/// The code for a status whose response did not come from our handlers.
fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_ACCEPTABLE => "not_acceptable",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::RANGE_NOT_SATISFIABLE => "range_not_satisfiable",
        StatusCode::UNPROCESSABLE_ENTITY => "validation_failed",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_client_error() => "bad_request",
        _ => "internal",
    }
}

/// Rewrites any error response that is not already ours (axum's rejections, 405, 413,
/// the rate limiter, the file server) into the uniform JSON shape, keeping its headers
/// (`Allow`, `Retry-After`, CORS).
pub async fn uniform_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    // Cheap clones (reference-counted), kept only to name them in a 405's message.
    let uri = req.uri().clone();
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    // Error bodies from the stack are short texts; anything longer is cut.
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    let message = match (text.is_empty(), status) {
        (_, StatusCode::PAYLOAD_TOO_LARGE) => {
            format!(
                "request body too large: at most {} bytes",
                crate::BODY_LIMIT
            )
        }
        (_, StatusCode::METHOD_NOT_ALLOWED) => {
            format!(
                "{method} is not allowed on {}; the Allow header lists what is",
                uri.path()
            )
        }
        (true, StatusCode::NOT_FOUND) => "no such route".to_owned(),
        (true, s) => s.canonical_reason().unwrap_or("error").to_owned(),
        (false, _) => text,
    };
    let body = ErrorBody {
        error: ErrorDetail {
            code: code_for(status).to_owned(),
            message,
            fields: Vec::new(),
        },
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(bytes))
}

/// The fallback for paths no route matches.
pub async fn no_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}
