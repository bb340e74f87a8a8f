//! `vidflow-fuzz TARGET|all`: runs fuzz targets for a time or a number of inputs and prints
//! inputs tried and crashes per target. `scripts/fuzz` wraps it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::Parser;
use vidflow_fuzz::{Budget, Campaign, Outcome, Target, all_targets, target};

/// Fuzz vidflow's parsers and decoders with seeded mutations of the committed corpus.
#[derive(Parser)]
struct Args {
    /// A target (extract, config, api_json, script, avatar, cache) or `all`.
    target: String,
    /// Seconds per target.
    #[arg(long, conflicts_with = "inputs")]
    seconds: Option<f64>,
    /// Inputs per target, instead of a time.
    #[arg(long)]
    inputs: Option<u64>,
    /// RNG seed; a random one (printed) by default.
    #[arg(long)]
    seed: Option<u64>,
    /// An input taking longer than this ends the run, saved.
    #[arg(long, default_value_t = 10.0)]
    max_input_seconds: f64,
    /// Heap ceiling for the process in MiB; an input passing it ends the run.
    #[arg(long, default_value_t = 2048)]
    memory_mb: usize,
}

/// Each target runs on a thread with the stack of a tokio worker, where the server runs
/// this code: a recursion that fits the main thread's 8 MiB may not fit there.
const TARGET_STACK: usize = 2 << 20;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    vidflow_fuzz::HEAP.set_limit(args.memory_mb << 20);
    let chosen: Vec<&'static Target> = if args.target == "all" {
        all_targets().iter().collect()
    } else {
        match target(&args.target) {
            Some(t) => vec![t],
            None => bail!(
                "unknown target {:?}: use one of {} or all",
                args.target,
                all_targets()
                    .iter()
                    .map(|t| t.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    };
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    let budget = match (args.seconds, args.inputs) {
        (_, Some(n)) => Budget::Inputs(n),
        (Some(s), None) if s.is_finite() && s > 0.0 => Budget::Time(Duration::from_secs_f64(s)),
        (Some(s), None) => bail!("--seconds {s}: give a positive number of seconds"),
        (None, None) => Budget::Time(Duration::from_secs(10)),
    };
    println!("seed {seed} (repeat with --seed {seed})");
    println!(
        "{:<10} {:>9} {:>7} {:>8} {:>11} {:>8}",
        "target", "inputs", "corpus", "crashes", "slowest_ms", "seconds"
    );
    let mut outcomes = Vec::new();
    for t in chosen {
        let mut campaign = Campaign::new(t, seed, budget);
        campaign.max_input_time = Duration::from_secs_f64(args.max_input_seconds);
        let outcome = std::thread::Builder::new()
            .name(format!("fuzz-{}", t.name))
            .stack_size(TARGET_STACK)
            .spawn(move || campaign.run(t))
            .context("starting the target's thread")?
            .join()
            .map_err(|_| anyhow::anyhow!("the {} campaign itself panicked", t.name))?
            .with_context(|| format!("fuzzing {}", t.name))?;
        print_row(&outcome);
        outcomes.push(outcome);
    }
    let inputs: u64 = outcomes.iter().map(|o| o.inputs).sum();
    let crashes: usize = outcomes.iter().map(|o| o.crashes.len()).sum();
    println!("total      {inputs:>9} inputs, {crashes} crashes");
    for o in &outcomes {
        for c in &o.crashes {
            println!(
                "CRASH {}: {} (input {})",
                o.target,
                c.message,
                c.saved
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "not saved".into())
            );
        }
    }
    if crashes > 0 {
        std::process::exit(1);
    }
    Ok(())
}

fn print_row(o: &Outcome) {
    println!(
        "{:<10} {:>9} {:>7} {:>8} {:>11.1} {:>8.1}",
        o.target,
        o.inputs,
        o.corpus,
        o.crashes.len(),
        o.slowest.as_secs_f64() * 1e3,
        o.elapsed.as_secs_f64()
    );
}
