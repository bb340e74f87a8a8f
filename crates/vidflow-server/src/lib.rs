//! The HTTP API of vidflow (`vidflow serve`): submit a page, HTML or script and get a
//! narrated video back, with live progress, on the same pipeline the CLI uses.
//!
//! One process both answers requests and runs the jobs it accepts (a bounded pool over a
//! bounded queue, kept in SQLite in the data folder, rerun after a restart). The router is
//! built in one place, [`Server::router`], where every layer is visible: HTTP metrics,
//! CORS, one JSON error shape for every error, API keys, rate limits, a 1 MiB body limit,
//! and deadlines for a request's headers and body ([`connections`]: a slow client gets 408).
//! Routes and the OpenAPI 3.1 document come from the same handler annotations, so they
//! cannot drift apart; the document is at `/openapi.json` and a Swagger UI, served from the
//! binary, at `/docs`.
//!
//! ```no_run
//! use vidflow_core::Config;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = Config::default();
//! config.server.data_dir = Some("/var/lib/vidflow".into());
//! let server = vidflow_server::Server::start(config).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! // Runs until SIGTERM or SIGINT, then lets running jobs finish (up to the grace period).
//! server.serve(listener, vidflow_core::shutdown::shutdown_signal()).await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod auth;
pub mod catalog;
pub mod connections;
pub mod error;
pub mod jobs_api;
/// The Prometheus metrics (the `vidflow-metrics` crate, shared with the worker).
pub mod metrics {
    pub use vidflow_metrics::*;
}
pub mod request;
pub mod request_id;
pub mod retention;
pub mod status;
pub mod streams;
pub mod tune_api;
pub mod views;
pub mod web;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;
use tower_governor::GovernorError;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;
use vidflow_cache::TieredCache;
use vidflow_core::Registry;
use vidflow_core::{Config, VidflowError};
use vidflow_jobs::{
    JobExecutor, JobStore, RequestBuilder, Runner, RunnerConfig, SqliteJobStore, StoreError,
};
use vidflow_stages::Engine;

use crate::auth::{AuthThrottle, ClientKeyExtractor, KeySet, TrustedProxies};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::request::VideoRequest;
use vidflow_dist::{RedisJobStore, RemoteExecutor, TaskQueue};

/// Largest request body accepted, bytes; more gets 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What every handler shares.
pub type AppState = Arc<Service>;

/// The running service: configuration, pipeline, jobs, keys, metrics.
pub struct Service {
    /// The configuration in force.
    pub config: Config,
    /// The pipeline.
    pub engine: Arc<Engine>,
    /// The job runner: jobs in SQLite run in this process, or (shared mode) jobs in Redis
    /// run by the workers.
    pub runner: Runner,
    /// The shared task queue, in shared mode.
    pub queue: Option<TaskQueue>,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// Accepted API keys.
    pub keys: KeySet,
    /// Wrong keys counted per client address.
    pub auth_throttle: AuthThrottle,
    /// Proxies whose forwarding headers name the client.
    pub proxies: TrustedProxies,
    /// Open event streams, bounded.
    pub streams: streams::StreamSlots,
    /// The last readiness checks and when they ran (see [`status::ready`]).
    pub readiness: tokio::sync::Mutex<Option<(Instant, Vec<views::HealthCheck>)>>,
    /// When the service started.
    pub started: Instant,
    /// The data folder.
    pub data_dir: PathBuf,
    /// Job outputs: `<jobs_dir>/<id>/video.mp4`.
    pub jobs_dir: PathBuf,
    /// Becomes true when the server starts shutting down; ends event streams.
    pub shutdown: watch::Receiver<bool>,
    openapi_json: OnceLock<Bytes>,
    previews: Mutex<HashMap<&'static str, Bytes>>,
}

/// The service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Bad configuration or data folder.
    #[error(transparent)]
    Setup(#[from] VidflowError),
    /// The job store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The metrics registry refused a metric.
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// Serving failed.
    #[error("serving HTTP: {0}")]
    Io(#[from] std::io::Error),
}

/// The HTTP service, started and ready to serve.
pub struct Server {
    state: AppState,
    stop: watch::Sender<bool>,
}

impl Server {
    /// Opens the data folder (creating it), the cache (`<data_dir>/cache` unless
    /// `cache.dir` is set), the job store (`<data_dir>/jobs.db`), and starts the runner,
    /// which re-queues jobs an earlier process left unfinished.
    pub async fn start(config: Config) -> Result<Server, ServerError> {
        let cache = open_cache(&config)?;
        Self::start_with_cache(config, cache).await
    }

    /// Like [`Server::start`] with a cache built by the caller.
    pub async fn start_with_cache(
        config: Config,
        cache: Arc<TieredCache>,
    ) -> Result<Server, ServerError> {
        Self::start_with(config, cache, vidflow_stages::registry()).await
    }

    /// Like [`Server::start`] with a cache built by the caller and the stage types and
    /// workflows of `registry` (the built-in ones and your own): `workflow_id` selects
    /// among its workflows.
    pub async fn start_with(
        config: Config,
        cache: Arc<TieredCache>,
        registry: Registry,
    ) -> Result<Server, ServerError> {
        config.validate()?;
        let data_dir = config.server.resolved_data_dir();
        let jobs_dir = data_dir.join("jobs");
        std::fs::create_dir_all(&jobs_dir).map_err(|e| {
            VidflowError::bad_input(format!(
                "cannot create the data folder {}: {e}",
                jobs_dir.display()
            ))
        })?;
        let keys = KeySet::from_config(&config.server)?;
        let proxies = TrustedProxies::from_config(&config.server)?;
        let metrics = Arc::new(Metrics::new()?);
        metrics.watch_cache(cache.clone())?;
        let engine = Arc::new(Engine::with_registry(config.clone(), cache, registry)?);
        // Per-stage series at zero from the first scrape, for every stage a job may run.
        metrics.register_stages(engine.registry().stage_names());
        metrics.register_http_route("GET", "/metrics", 200);
        let defaults = config.video.clone();
        let build: Arc<RequestBuilder> = Arc::new(move |request: &serde_json::Value, output| {
            let req: VideoRequest = serde_json::from_value(request.clone()).map_err(|e| {
                VidflowError::bad_input(format!("stored request is unreadable: {e}"))
            })?;
            req.to_make_request(&defaults, output)
        });
        let (store, executor, queue, max_concurrent): (
            Arc<dyn JobStore>,
            Arc<dyn JobExecutor>,
            _,
            _,
        ) = if config.queue.is_shared() {
            let queue = TaskQueue::connect(&config.queue)
                .await
                .map_err(VidflowError::from)?;
            metrics.watch_queue()?;
            // The workers run the stages and count them; this process only follows.
            metrics.set_stages_run_here(false);
            let executor =
                RemoteExecutor::new(queue.clone(), engine.clone(), config.queue.chunk_seconds);
            // Here a running job is one handed to the workers and followed: cheap, so
            // every accepted job is handed over at once and the workers set the pace.
            let followed = config
                .server
                .max_queued_jobs
                .max(config.server.max_concurrent_jobs);
            (
                Arc::new(RedisJobStore::new(queue.clone())),
                Arc::new(executor),
                Some(queue),
                followed,
            )
        } else {
            (
                Arc::new(SqliteJobStore::open(&data_dir.join("jobs.db"))?),
                engine.clone(),
                None,
                config.server.max_concurrent_jobs,
            )
        };
        let runner = Runner::start(
            store,
            executor,
            build,
            RunnerConfig {
                max_concurrent,
                max_queued: config.server.max_queued_jobs,
                jobs_dir: jobs_dir.clone(),
            },
            metrics.clone(),
        )
        .await?;
        let (stop, shutdown) = watch::channel(false);
        let auth_throttle = AuthThrottle::new(config.server.auth_failures_per_minute);
        let streams = streams::StreamSlots::new(
            config.server.max_event_streams,
            config.server.max_event_streams_per_client,
        );
        let state = Arc::new(Service {
            config,
            engine,
            runner,
            queue,
            metrics,
            keys,
            auth_throttle,
            proxies,
            streams,
            readiness: tokio::sync::Mutex::new(None),
            started: Instant::now(),
            data_dir,
            jobs_dir,
            shutdown,
            openapi_json: OnceLock::new(),
            previews: Mutex::new(HashMap::new()),
        });
        retention::spawn(state.clone());
        Ok(Server { state, stop })
    }

    /// The shared state (runner, metrics, ...).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// What the request schema says of each workflow this server runs.
    fn workflow_rules(&self) -> Vec<request::WorkflowRule> {
        let engine = &self.state.engine;
        engine
            .registry()
            .workflows()
            .filter_map(|def| {
                let wf = engine.workflow(def).ok()?;
                Some(request::WorkflowRule {
                    id: def.id.clone(),
                    reads_page: def.stages.iter().any(|s| s.kind == "fetch"),
                    default_for_page: def.id == vidflow_stages::DEFAULT_WORKFLOW,
                    default_for_script: def.id == vidflow_stages::SCRIPT_WORKFLOW,
                    stages: wf.stage_names().iter().map(|n| n.to_string()).collect(),
                })
            })
            .collect()
    }

    /// The whole router: every route, the docs, and the layers in the order they apply.
    pub fn router(&self) -> Router {
        let (_, doc) = api_routes().split_for_parts();
        let (api, _) = limited_routes().split_for_parts();
        let (probes, _) = probe_routes().split_for_parts();
        let mut doc = serde_json::to_value(&doc).unwrap_or_default();
        if let Some(schema) = doc.pointer_mut("/components/schemas/VideoRequest")
            && let (Some(obj), serde_json::Value::Object(rules)) = (
                schema.as_object_mut(),
                request::schema_rules(&self.workflow_rules()),
            )
        {
            obj.extend(rules);
        }
        let json = serde_json::to_vec(&doc).unwrap_or_default();
        let _ = self.state.openapi_json.set(Bytes::from(json));
        let cfg = &self.state.config.server;

        let mut router = api
            .merge(web::pages())
            .merge(SwaggerUi::new("/docs").config(utoipa_swagger_ui::Config::from("/openapi.json")))
            .fallback(error::no_route)
            .layer(DefaultBodyLimit::max(BODY_LIMIT));
        if cfg.rate_limit_per_second > 0 {
            router = with_rate_limit(router, cfg.rate_limit_per_second, cfg.rate_limit_burst);
        }
        // Health probes come often and must never be refused for it: merged after the
        // rate limit, so it does not count them (auth below still applies).
        router
            .merge(probes)
            // Runs before the rate limiter: it names the client the limiter counts.
            .layer(middleware::from_fn_with_state(
                self.state.clone(),
                auth::require_key,
            ))
            .layer(middleware::from_fn(error::uniform_errors))
            .layer(cors(&cfg.cors_origins))
            .layer(middleware::from_fn_with_state(
                self.state.clone(),
                track_http,
            ))
            // Before anything reads the body: a body that never finishes ends in 408.
            .layer(middleware::from_fn_with_state(
                Duration::from_secs(self.state.config.limits.request_body_seconds),
                connections::bound_body,
            ))
            // Outermost: every response, errors from the layers above included, carries
            // the request's id.
            .layer(middleware::from_fn(request_id::assign))
            .with_state(self.state.clone())
    }

    /// Serves on `listener` (HTTP/1.1, under the request deadlines of [`connections`])
    /// until `signal` resolves; then stops accepting, ends event
    /// streams, gives running jobs `server.shutdown_grace_seconds` to finish, puts those
    /// still running back in the queue for the next start, and returns.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let router = self.router();
        let stop = self.stop.clone();
        let graceful = async move {
            signal.await;
            tracing::info!(
                "shutting down: no new connections; running jobs get their grace period"
            );
            let _ = stop.send(true);
        };
        let header_deadline = Duration::from_secs(self.state.config.limits.request_header_seconds);
        connections::serve(listener, router, header_deadline, graceful).await?;
        let grace = Duration::from_secs(self.state.config.server.shutdown_grace_seconds);
        self.state.runner.shutdown(grace).await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The cache for the service: memory, the configured folder (else `<data_dir>/cache`), then
/// the shared Redis tier when `cache.redis_url` is set.
pub fn open_cache(config: &Config) -> Result<Arc<TieredCache>, VidflowError> {
    let dir = config.server.resolved_data_dir().join("cache");
    TieredCache::from_config(&config.cache, &dir)
        .map(Arc::new)
        .map_err(|e| VidflowError::bad_input(format!("cannot open the cache: {e}")))
}

/// The OpenAPI document's fixed parts; paths come from the routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "vidflow",
        description = "Turns a web page into a narrated explainer video with an animated presenter. \
            Submit a job with `POST /v1/videos`, follow it at `GET /v1/jobs/{id}/events` (SSE) \
            or poll `GET /v1/jobs/{id}`, then fetch `/v1/jobs/{id}/video`. Every error has the \
            shape `{\"error\": {\"code\", \"message\", \"fields\"}}`."
    ),
    tags(
        (name = "videos", description = "Submitting video jobs"),
        (name = "tune", description = "Searching the encoder's and the render's settings"),
        (name = "jobs", description = "Job state, live events, cancellation and files"),
        (name = "catalog", description = "Avatars, voices and workflows"),
        (name = "system", description = "Status, health, metrics and this document"),
    ),
    components(schemas(error::ErrorBody)),
    modifiers(&SecuritySchemes),
    security(("bearer" = []), ("api_key" = []))
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

/// Every route with its OpenAPI description: the one list both are made from.
pub fn api_routes() -> OpenApiRouter<AppState> {
    limited_routes().merge(probe_routes())
}

/// The health probes, outside the rate limit.
fn probe_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(status::live))
        .routes(routes!(status::ready))
}

/// Every route but the health probes: these count against the rate limit.
fn limited_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(jobs_api::create_video))
        .routes(routes!(tune_api::create_tune))
        .routes(routes!(jobs_api::list_jobs))
        .routes(routes!(jobs_api::get_job, jobs_api::cancel_job))
        .routes(routes!(jobs_api::job_events))
        .routes(routes!(jobs_api::job_video))
        .routes(routes!(jobs_api::job_srt))
        .routes(routes!(jobs_api::job_vtt))
        .routes(routes!(web::job_source))
        .routes(routes!(web::study_chart))
        .routes(routes!(web::start_session, web::end_session))
        .routes(routes!(catalog::avatars))
        .routes(routes!(catalog::avatar_preview))
        .routes(routes!(catalog::voices))
        .routes(routes!(catalog::workflows))
        .routes(routes!(status::status))
        .routes(routes!(status::metrics))
        .routes(routes!(status::openapi_json))
}

/// Adds the per-client rate limit (token bucket: `per_second` steady, `burst` above it).
fn with_rate_limit(router: Router<AppState>, per_second: u32, burst: u32) -> Router<AppState> {
    let config = GovernorConfigBuilder::default()
        .per_nanosecond((1_000_000_000 / u64::from(per_second)).max(1))
        .burst_size(burst.max(1))
        .key_extractor(ClientKeyExtractor)
        .finish()
        .expect("period and burst are at least 1");
    let config = Arc::new(config);
    // Forget clients idle long enough to be back at a full burst, so memory stays flat.
    let limiter = config.limiter().clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            limiter.retain_recent();
        }
    });
    router.layer(
        GovernorLayer::new(config).error_handler(|e: GovernorError| match e {
            GovernorError::TooManyRequests { wait_time, .. } => ApiError {
                retry_after: Some(wait_time.max(1)),
                ..ApiError::new(
                    axum::http::StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("too many requests; try again in {} s", wait_time.max(1)),
                )
            }
            .into_response(),
            other => ApiError::internal("rate limiter", other).into_response(),
        }),
    )
}

fn cors(origins: &[String]) -> CorsLayer {
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::HEAD])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::RANGE,
            header::HeaderName::from_static("x-api-key"),
            header::HeaderName::from_static("last-event-id"),
            request_id::HEADER,
        ])
        .expose_headers([
            header::RETRY_AFTER,
            header::LOCATION,
            header::CONTENT_RANGE,
            header::ACCEPT_RANGES,
            request_id::HEADER,
        ])
        .max_age(Duration::from_secs(3600))
}

/// Counts every request and its latency by route template (not the raw path, which
/// would make one series per job id).
async fn track_http(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let resp = next.run(req).await;
    s.metrics.observe_http(
        method.as_str(),
        route.as_ref().map_or("unmatched", |r| r.as_str()),
        resp.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    resp
}
