//! `vidflow serve`: the HTTP service on the same library the CLI uses.

use anyhow::{Context, Result};
use figment::Figment;
use vidflow_core::{Config, Registry, shutdown::shutdown_signal};
use vidflow_server::{Server, ServerError};

use crate::cli::ServeArgs;
use crate::settings;

/// Starts the service, with the stage types and workflows of `registry`, and runs until
/// SIGTERM or SIGINT.
pub async fn serve(base: Figment, args: ServeArgs, registry: Registry) -> Result<()> {
    let mut fig = settings::flag(base, "server.addr", args.addr.clone());
    fig = settings::flag(fig, "server.data_dir", args.data_dir.clone());
    fig = settings::flag(fig, "queue.redis_url", args.redis.clone());
    if args.allow_private_network {
        fig = settings::flag(fig, "allow_private_network", Some(true));
    }
    if args.insecure {
        fig = settings::flag(fig, "server.insecure", Some(true));
    }
    let cfg = settings::apply_encode_profile(settings::shared_cache(Config::from_figment(&fig)?))?;
    cfg.server.check_exposure()?;
    if cfg.server.insecure && !cfg.server.has_keys() {
        tracing::warn!(
            "serving with no API keys (server.insecure): every client that reaches {} can submit, read and cancel every job",
            cfg.server.addr
        );
    }
    let addr = cfg.server.addr.clone();
    let data_dir = cfg.server.resolved_data_dir();
    let cache = vidflow_server::open_cache(&cfg)?;
    let server = Server::start_with(cfg, cache, registry)
        .await
        .map_err(setup_error)?;
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    // Tests and scripts read the real port from this line (with --addr HOST:0).
    crate::progress::say!(
        "vidflow listening on http://{bound} (data in {})",
        data_dir.display()
    );
    server
        .serve(listener, shutdown_signal())
        .await
        .map_err(setup_error)?;
    Ok(())
}

/// Keeps a bad-input error's kind visible to `main`, which maps it to exit code 2.
fn setup_error(e: ServerError) -> anyhow::Error {
    match e {
        ServerError::Setup(e) => e.into(),
        other => other.into(),
    }
}
