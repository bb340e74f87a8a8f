//! Times every frame kernel at 720p, 1080p and 2160p, on one thread and on all cores,
//! next to a memory copy of the same bytes, and prints the report as JSON.
//!
//! ```sh
//! cargo run --release -p vidflow-kernels --example bench > kernels.json
//! cargo run --release -p vidflow-kernels --example bench -- gain_u8 composite
//! ```

use vidflow_kernels::bench::{self, BenchKernel, BenchOptions};

fn main() {
    let mut options = BenchOptions::default();
    let names: Vec<String> = std::env::args().skip(1).collect();
    if !names.is_empty() {
        options.kernels = match names.iter().map(|n| n.parse::<BenchKernel>()).collect() {
            Ok(k) => k,
            Err(e) => {
                eprintln!("bench_kernels: {e}");
                std::process::exit(2);
            }
        };
    }
    match bench::run(&options) {
        Ok(report) => match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("bench_kernels: cannot write the report: {e}");
                std::process::exit(1);
            }
        },
        Err(e) => {
            eprintln!("bench_kernels: {e}");
            std::process::exit(1);
        }
    }
}
