//! The `vidflow` command line as a library, so that a program of your own can add stage
//! types and workflows and still have every subcommand: `make`, `run`, `serve`, `worker`,
//! `bench`, ...
//!
//! ```no_run
//! use std::process::ExitCode;
//!
//! fn main() -> ExitCode {
//!     let mut registry = vidflow_stages::registry();
//!     // registry.register("shout", my_stages::Shout::build);
//!     vidflow::main_with(registry)
//! }
//! ```

mod cli;
mod commands;
mod progress;
mod serve;
mod settings;
mod shared_mode;
mod status;
mod tune;
mod voices;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;
use vidflow_core::{Registry, VidflowError};

/// Two malloc arenas instead of glibc's eight per core. Frames are drawn on worker threads
/// and freed on the encoder's, in sizes that change with what moves on screen; with an arena
/// per thread the freed space scatters and a long render's memory creeps up (a 10-minute
/// render peaked 12 MiB above a 1-minute one; with two arenas, 2 MiB). Frames allocate a
/// few buffers each, so two arenas cost no measurable contention. Called before any thread
/// starts.
fn limit_allocator_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes a malloc tunable; no other thread exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Runs the command line of this process with the stage types and workflows of
/// `registry`; returns the exit code (0 success, 2 bad input, 1 anything else).
pub fn main_with(registry: Registry) -> ExitCode {
    limit_allocator_arenas();
    let cli = cli::Cli::parse();
    progress::init_logging(cli.verbose, cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(commands::run(cli, registry));
    // Dropping the runtime would wait for every blocking task, among them the work of a
    // stage that timed out (a page that takes the extractor minutes): the answer is known,
    // so give such work a moment and leave it behind.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if progress::json_logs() {
                tracing::error!(error = format!("{err:#}"), "failed");
            } else {
                eprintln!("error: {err:#}");
            }
            ExitCode::from(exit_code(&err))
        }
    }
}

/// Runs one command line (`args`, program name first) in this process, as the binary
/// would: for programs and tests that drive the CLI with a registry of their own.
pub async fn run<I, T>(args: I, registry: Registry) -> anyhow::Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = cli::Cli::try_parse_from(args)?;
    commands::run(cli, registry).await
}

/// The exit code for an error: library errors carry their kind (bad input → 2); anything
/// else is internal.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    err.downcast_ref::<VidflowError>()
        .map(|e| e.exit_code())
        .unwrap_or(1) as u8
}
