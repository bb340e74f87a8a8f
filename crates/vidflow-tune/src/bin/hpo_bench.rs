//! The hpo-bench/1 benchmark runner (`shared/bench/hpo-bench.md`): one run of one problem
//! with one sampler, printed as exactly one JSON line on stdout.
//!
//! ```text
//! hpo_bench --function NAME --sampler SAMPLER --trials N --seed S
//!           [--report-at N1,N2,...] [--storage memory|sqlite:///PATH]
//!           [--study-name NAME] [--resume] [--jobs J] [--objective-sleep-ms MS]
//!           [--heartbeat-ms MS --grace-ms MS]
//! ```
//!
//! The options after `--storage` are this runner's own, for the protocol's storage and
//! parallel sections and for the crash tests: `--study-name` shares one study between
//! processes, `--resume` adds N trials to an existing study, `--jobs` runs trials on
//! threads, `--objective-sleep-ms` makes each evaluation slow (counted as objective time).
//!
//! It is a binary of the library crate (not an example) so that the crate's integration
//! tests can drive it as a real process (`CARGO_BIN_EXE_hpo_bench`): two of them on one
//! study file, and one killed with SIGKILL in the middle of a trial.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vidflow_tune::benchmarks::{
    MIXED_ACTIVATIONS, ZDT1_HV_OPTIMUM, ZDT1_HV_REF, ackley, hypervolume_2d, mixed, rastrigin,
    rosenbrock, sphere, zdt1,
};
use vidflow_tune::{
    Direction, FrozenTrial, Heartbeat, MemoryStorage, Nsga2Sampler, RandomSampler, Sampler,
    SqliteStorage, Storage, Study, TpeOptions, TpeSampler, Trial, TrialOutcome, TrialState,
};

const PROBLEMS: [&str; 6] = [
    "sphere5",
    "rosenbrock4",
    "ackley5",
    "rastrigin3",
    "mixed4",
    "zdt1_5",
];
const SAMPLERS: [&str; 5] = [
    "tpe",
    "tpe-independent",
    "tpe-multivariate",
    "random",
    "nsga2",
];

struct Args {
    function: String,
    sampler: String,
    trials: usize,
    seed: u64,
    report_at: Vec<usize>,
    storage: String,
    study_name: String,
    resume: bool,
    jobs: usize,
    sleep: Duration,
    heartbeat: Option<Heartbeat>,
}

fn usage() -> &'static str {
    "usage: hpo_bench --function NAME --sampler SAMPLER --trials N --seed S \
     [--report-at N1,N2,...] [--storage memory|sqlite:///PATH] [--study-name NAME] [--resume] \
     [--jobs J] [--objective-sleep-ms MS] [--heartbeat-ms MS --grace-ms MS]"
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut get = BTreeMap::new();
    let mut resume = false;
    while let Some(a) = it.next() {
        match a.as_str() {
            "--resume" => resume = true,
            "--help" | "-h" => return Err(usage().to_string()),
            flag if flag.starts_with("--") => {
                let v = it
                    .next()
                    .ok_or_else(|| format!("{flag} needs a value\n{}", usage()))?;
                get.insert(flag.trim_start_matches("--").to_string(), v);
            }
            other => return Err(format!("unexpected argument `{other}`\n{}", usage())),
        }
    }
    let need = |k: &str| {
        get.get(k)
            .cloned()
            .ok_or_else(|| format!("--{k} is required\n{}", usage()))
    };
    let num = |k: &str, v: String| {
        v.parse::<u64>()
            .map_err(|_| format!("--{k} wants a non-negative integer, got `{v}`"))
    };
    let function = need("function")?;
    if !PROBLEMS.contains(&function.as_str()) {
        return Err(format!(
            "unknown function `{function}`; one of: {}",
            PROBLEMS.join(" ")
        ));
    }
    let sampler = need("sampler")?;
    if !SAMPLERS.contains(&sampler.as_str()) {
        return Err(format!(
            "unknown sampler `{sampler}`; one of: {}",
            SAMPLERS.join(" ")
        ));
    }
    let trials = num("trials", need("trials")?)? as usize;
    if trials == 0 {
        return Err("--trials must be at least 1".into());
    }
    let seed = num("seed", need("seed")?)?;
    let mut report_at = Vec::new();
    if let Some(r) = get.get("report-at") {
        for part in r.split(',').filter(|s| !s.is_empty()) {
            let n = num("report-at", part.to_string())? as usize;
            if n == 0 || n > trials {
                return Err(format!("--report-at {n} must lie in 1..={trials}"));
            }
            report_at.push(n);
        }
    }
    report_at.push(trials);
    report_at.sort_unstable();
    report_at.dedup();
    let ms = |k: &str| -> Result<Option<Duration>, String> {
        get.get(k)
            .map(|v| num(k, v.clone()).map(Duration::from_millis))
            .transpose()
    };
    let heartbeat = match (ms("heartbeat-ms")?, ms("grace-ms")?) {
        (None, None) => Some(Heartbeat::default()),
        (Some(interval), grace) => Some(Heartbeat {
            interval,
            grace: grace.unwrap_or(interval * 6),
            retry: true,
        }),
        (None, Some(_)) => return Err("--grace-ms needs --heartbeat-ms".into()),
    };
    Ok(Args {
        function,
        sampler,
        trials,
        seed,
        report_at,
        storage: get
            .get("storage")
            .cloned()
            .unwrap_or_else(|| "memory".into()),
        study_name: get
            .get("study-name")
            .cloned()
            .unwrap_or_else(|| "hpo-bench".into()),
        resume,
        jobs: get
            .get("jobs")
            .map(|v| num("jobs", v.clone()))
            .transpose()?
            .unwrap_or(1)
            .max(1) as usize,
        sleep: ms("objective-sleep-ms")?.unwrap_or_default(),
        heartbeat,
    })
}

fn make_sampler(name: &str, seed: u64) -> Box<dyn Sampler> {
    let tpe = |multivariate| {
        Box::new(TpeSampler::with_options(TpeOptions {
            seed: Some(seed),
            multivariate,
            ..TpeOptions::default()
        })) as Box<dyn Sampler>
    };
    match name {
        "tpe" => tpe(None),
        "tpe-independent" => tpe(Some(false)),
        "tpe-multivariate" => tpe(Some(true)),
        "random" => Box::new(RandomSampler::new(Some(seed))),
        "nsga2" => Box::new(Nsga2Sampler::new(Some(seed))),
        _ => unreachable!("checked in parse_args"),
    }
}

/// Suggests the problem's parameters in protocol order; returns them as numbers (the
/// categorical as its index) for the objective.
fn suggest(function: &str, trial: &mut Trial) -> vidflow_tune::Result<Vec<f64>> {
    let float_vars = |trial: &mut Trial, n: usize, lo: f64, hi: f64| {
        (0..n)
            .map(|i| trial.suggest_float(&format!("x{i}"), lo, hi))
            .collect::<vidflow_tune::Result<Vec<f64>>>()
    };
    match function {
        "sphere5" => float_vars(trial, 5, -5.0, 5.0),
        "rosenbrock4" => float_vars(trial, 4, -5.0, 10.0),
        "ackley5" => float_vars(trial, 5, -32.768, 32.768),
        "rastrigin3" => float_vars(trial, 3, -5.12, 5.12),
        "zdt1_5" => float_vars(trial, 5, 0.0, 1.0),
        "mixed4" => {
            let x = trial.suggest_float("x", -5.0, 5.0)?;
            let n = trial.suggest_int("n", 1, 20)?;
            let lr = trial.suggest_float_log("lr", 1e-5, 1e-1)?;
            let act = trial.suggest_categorical("act", &MIXED_ACTIVATIONS)?;
            let idx = MIXED_ACTIVATIONS
                .iter()
                .position(|a| *a == act)
                .unwrap_or(0);
            Ok(vec![x, n as f64, lr, idx as f64])
        }
        _ => unreachable!("checked in parse_args"),
    }
}

fn evaluate(function: &str, x: &[f64]) -> Vec<f64> {
    match function {
        "sphere5" => vec![sphere(x)],
        "rosenbrock4" => vec![rosenbrock(x)],
        "ackley5" => vec![ackley(x)],
        "rastrigin3" => vec![rastrigin(x)],
        "mixed4" => vec![
            mixed(x[0], x[1] as i64, x[2], MIXED_ACTIVATIONS[x[3] as usize])
                .expect("the activation comes from the list"),
        ],
        "zdt1_5" => {
            let (a, b) = zdt1(x);
            vec![a, b]
        }
        _ => unreachable!("checked in parse_args"),
    }
}

/// Process CPU time (user + system) in milliseconds.
fn cpu_ms() -> Option<f64> {
    #[cfg(unix)]
    {
        // SAFETY: getrusage only writes into the struct we pass.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
            return None;
        }
        let t = |tv: libc::timeval| tv.tv_sec as f64 * 1e3 + tv.tv_usec as f64 / 1e3;
        Some(t(ru.ru_utime) + t(ru.ru_stime))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

struct Checkpoint {
    trials: usize,
    wall_ms: f64,
    objective_ms: f64,
    cpu_ms: Option<f64>,
}

fn open_storage(args: &Args) -> Result<Arc<dyn Storage>, String> {
    if args.storage == "memory" {
        return Ok(Arc::new(MemoryStorage::new()));
    }
    if let Some(path) = args.storage.strip_prefix("sqlite:///") {
        let s = SqliteStorage::open_with(path, args.heartbeat, !args.resume)
            .map_err(|e| e.to_string())?;
        return Ok(Arc::new(s));
    }
    Err(format!(
        "unsupported storage `{}`: memory or sqlite:///PATH (no journal storage here)",
        args.storage
    ))
}

fn best_value(trials: &[&FrozenTrial]) -> Option<f64> {
    trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .filter_map(|t| t.value())
        .fold(None, |b: Option<f64>, v| Some(b.map_or(v, |b| b.min(v))))
}

fn hypervolume(trials: &[&FrozenTrial]) -> f64 {
    let pts: Vec<(f64, f64)> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .filter_map(|t| t.values.as_ref().map(|v| (v[0], v[1])))
        .collect();
    hypervolume_2d(&pts, ZDT1_HV_REF)
}

fn params_json(t: &FrozenTrial) -> Value {
    t.params
        .iter()
        .map(|(k, p)| {
            (
                k.clone(),
                serde_json::to_value(p.value()).unwrap_or(Value::Null),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn run(args: &Args) -> Result<Value, String> {
    let multi = args.function == "zdt1_5";
    let directions = if multi {
        vec![Direction::Minimize, Direction::Minimize]
    } else {
        vec![Direction::Minimize]
    };
    let cpu0 = cpu_ms();
    let t_create = Instant::now();
    let storage = open_storage(args)?;
    let builder = Study::builder()
        .name(args.study_name.clone())
        .directions(directions.clone())
        .storage(storage)
        .sampler(make_sampler(&args.sampler, args.seed));
    let study = if args.resume {
        builder.load()
    } else {
        builder.create_or_load()
    }
    .map_err(|e| e.to_string())?;
    let before = study.trials().map_err(|e| e.to_string())?.len();
    let create_ms = t_create.elapsed().as_secs_f64() * 1e3;

    let start = Instant::now();
    let cpu_start = cpu_ms();
    let objective_ns = AtomicU64::new(0);
    let mut checkpoints = Vec::new();
    let mut mine: Vec<u64> = Vec::with_capacity(args.trials);
    let run_one = |trial: &mut Trial| -> Result<Vec<f64>, String> {
        let x = suggest(&args.function, trial).map_err(|e| e.to_string())?;
        let t0 = Instant::now();
        let v = evaluate(&args.function, &x);
        if !args.sleep.is_zero() {
            std::thread::sleep(args.sleep);
        }
        objective_ns.fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Ok(v)
    };
    if args.jobs > 1 {
        study
            .optimize_parallel(
                |t| run_one(t).map_err(vidflow_tune::TrialError::Failed),
                Some(args.trials),
                None,
                args.jobs,
            )
            .map_err(|e| e.to_string())?;
        checkpoints.push(Checkpoint {
            trials: args.trials,
            wall_ms: start.elapsed().as_secs_f64() * 1e3,
            objective_ms: objective_ns.load(Ordering::Relaxed) as f64 / 1e6,
            cpu_ms: cpu_ms().zip(cpu_start).map(|(a, b)| a - b),
        });
    } else {
        let mut next = 0;
        for i in 1..=args.trials {
            let mut trial = study.ask().map_err(|e| e.to_string())?;
            mine.push(trial.number());
            let outcome = match run_one(&mut trial) {
                Ok(v) => TrialOutcome::Complete(v),
                Err(e) => TrialOutcome::Failed(e),
            };
            study.tell(trial, outcome).map_err(|e| e.to_string())?;
            if args.report_at.get(next) == Some(&i) {
                checkpoints.push(Checkpoint {
                    trials: i,
                    wall_ms: start.elapsed().as_secs_f64() * 1e3,
                    objective_ms: objective_ns.load(Ordering::Relaxed) as f64 / 1e6,
                    cpu_ms: cpu_ms().zip(cpu_start).map(|(a, b)| a - b),
                });
                next += 1;
            }
        }
    }
    let all = study.trials().map_err(|e| e.to_string())?;
    // This run's trials, in the order it ran them (other processes may share the study).
    let ours: Vec<&FrozenTrial> = if args.jobs > 1 {
        all.iter().skip(before).map(|t| &**t).collect()
    } else {
        mine.iter()
            .filter_map(|n| all.iter().find(|t| t.number == *n).map(|t| &**t))
            .collect()
    };
    let metric = |n: usize| -> (Value, Value) {
        let first = &ours[..n.min(ours.len())];
        if multi {
            (Value::Null, json!(hypervolume(first)))
        } else {
            (json!(best_value(first)), Value::Null)
        }
    };
    let cp_json: Vec<Value> = checkpoints
        .iter()
        .map(|c| {
            let (best, hv) = metric(c.trials);
            json!({
                "trials": c.trials,
                "best_value": best,
                "hypervolume": hv,
                "wall_ms": c.wall_ms,
                "objective_ms": c.objective_ms,
                "overhead_ms_per_trial": (c.wall_ms - c.objective_ms) / c.trials as f64,
                "cpu_ms": c.cpu_ms,
                "overhead_cpu_ms_per_trial": c.cpu_ms.map(|cpu| (cpu - c.objective_ms) / c.trials as f64),
            })
        })
        .collect();
    let last = checkpoints.last().expect("the last checkpoint is N");
    let (best, hv) = metric(args.trials);
    let best_params = if multi {
        Value::Null
    } else {
        ours.iter()
            .filter(|t| t.state == TrialState::Complete)
            .min_by(|a, b| {
                a.value()
                    .unwrap_or(f64::NAN)
                    .total_cmp(&b.value().unwrap_or(f64::NAN))
            })
            .map(|t| params_json(t))
            .unwrap_or(Value::Null)
    };
    let n_complete = ours
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .count();
    let mut out = json!({
        "protocol": "hpo-bench/1",
        "impl": format!("vidflow-tune-{}", env!("CARGO_PKG_VERSION")),
        "function": args.function,
        "sampler": args.sampler,
        "trials": args.trials,
        "seed": args.seed,
        "storage": args.storage,
        "directions": directions.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        "n_complete": n_complete,
        "best_value": best,
        "best_params": best_params,
        "hypervolume": hv,
        "hv_ref": if multi { json!([ZDT1_HV_REF.0, ZDT1_HV_REF.1]) } else { Value::Null },
        "hv_gap": hv.as_f64().map(|h| ZDT1_HV_OPTIMUM - h),
        "create_ms": create_ms,
        "wall_ms": last.wall_ms,
        "objective_ms": last.objective_ms,
        "overhead_ms_per_trial": (last.wall_ms - last.objective_ms) / args.trials as f64,
        "cpu_ms": last.cpu_ms,
        "overhead_cpu_ms_per_trial": last.cpu_ms.map(|c| (c - last.objective_ms) / args.trials as f64),
        "process_cpu_ms": cpu_ms().zip(cpu0).map(|(a, b)| a - b),
        "jobs": args.jobs,
        "study_name": args.study_name,
        "trials_in_study": all.len(),
        "trials_before": before,
    });
    if args.report_at.len() > 1 || std::env::args().any(|a| a == "--report-at") {
        out["checkpoints"] = Value::Array(cp_json);
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("hpo_bench: {msg}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("hpo_bench: {msg}");
            ExitCode::FAILURE
        }
    }
}
