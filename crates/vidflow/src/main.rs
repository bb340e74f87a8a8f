//! `vidflow`: turns a web page into a narrated explainer video with an animated presenter.
//!
//! The binary only parses arguments and wires the library crates together; every
//! capability lives in a crate named for it (see the workspace README).

mod bench;
mod bench_dist;
mod cli;
mod commands;
mod progress;
mod sample;
mod serve;
mod settings;
mod worker;

use std::process::ExitCode;

use clap::Parser;
use vidflow_core::VidflowError;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    progress::init_logging(cli.verbose);
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
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Library errors carry their kind (bad input → 2); anything else is internal.
            let code = err
                .downcast_ref::<VidflowError>()
                .map(|e| e.exit_code())
                .unwrap_or(1);
            eprintln!("error: {err:#}");
            ExitCode::from(code as u8)
        }
    }
}
