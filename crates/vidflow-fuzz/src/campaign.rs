//! Running a target over its corpus and mutations, with each input's fate recorded.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fastrand::Rng;

use crate::Target;
use crate::mutate::Mutator;

/// How long a campaign runs.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    /// This many inputs (the corpus first, then mutations): the same work on every machine.
    Inputs(u64),
    /// Until this much time has passed.
    Time(Duration),
}

/// A target's run.
#[derive(Debug, Clone)]
pub struct Campaign {
    /// The RNG seed; printed, so that a run can be repeated.
    pub seed: u64,
    /// When to stop.
    pub budget: Budget,
    /// An input running longer than this stops the process, the input saved.
    pub max_input_time: Duration,
    /// Folder of seed inputs.
    pub corpus_dir: PathBuf,
    /// Where each input is written before it runs (`<dir>/<target>`), so that a crash the
    /// process cannot survive (a stack overflow, the memory ceiling) leaves it behind.
    pub current_dir: PathBuf,
    /// Where crashing inputs are saved (`<dir>/<target>/<hash>`).
    pub crash_dir: PathBuf,
}

/// An input that made the target panic.
#[derive(Debug, Clone)]
pub struct Crash {
    /// The panic message and where it was raised.
    pub message: String,
    /// Where the input was saved, if it could be.
    pub saved: Option<PathBuf>,
    /// The input.
    pub input: Vec<u8>,
}

/// What a campaign did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The target's name.
    pub target: &'static str,
    /// Inputs run.
    pub inputs: u64,
    /// Seed inputs among them.
    pub corpus: usize,
    /// Inputs that panicked.
    pub crashes: Vec<Crash>,
    /// The slowest input's time.
    pub slowest: Duration,
    /// How long the campaign took.
    pub elapsed: Duration,
}

/// The repository root (this crate is `crates/vidflow-fuzz` in it).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl Campaign {
    /// A campaign for `target` with the repository's corpus and `target/` folders.
    pub fn new(target: &Target, seed: u64, budget: Budget) -> Campaign {
        let root = repo_root();
        Campaign {
            seed,
            budget,
            max_input_time: Duration::from_secs(10),
            corpus_dir: Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("corpus")
                .join(target.name),
            current_dir: root.join("target/fuzz-current"),
            crash_dir: root.join("target/fuzz-crashes"),
        }
    }

    /// Runs `target`: every corpus entry once as it is, then mutations until the budget is
    /// spent. Panics are caught and recorded; a hang or a stack overflow ends the process
    /// with the input on disk.
    ///
    /// # Errors
    ///
    /// When the corpus folder is missing or empty, or the current-input file cannot be
    /// written (without it a fatal crash would lose its input).
    pub fn run(&self, target: &Target) -> Result<Outcome, CampaignError> {
        let corpus = load_corpus(&self.corpus_dir)?;
        std::fs::create_dir_all(&self.current_dir).map_err(|source| CampaignError::Write {
            path: self.current_dir.clone(),
            source,
        })?;
        let current = self.current_dir.join(target.name);
        install_panic_capture();

        let mutator = Mutator {
            others: &corpus,
            tokens: target.tokens,
            nest: target.nest,
            max_len: target.max_len,
        };
        let mut rng = Rng::with_seed(self.seed);
        let watchdog = Watchdog::start(target.name, current.clone(), self.max_input_time);
        let started = Instant::now();
        let mut outcome = Outcome {
            target: target.name,
            inputs: 0,
            corpus: corpus.len(),
            crashes: Vec::new(),
            slowest: Duration::ZERO,
            elapsed: Duration::ZERO,
        };
        loop {
            let spent = match self.budget {
                Budget::Inputs(n) => outcome.inputs >= n,
                Budget::Time(t) => started.elapsed() >= t,
            };
            if spent {
                break;
            }
            let n = outcome.inputs as usize;
            let input = if n < corpus.len() {
                corpus[n].clone()
            } else {
                let base = &corpus[rng.usize(0..corpus.len())];
                mutator.mutate(&mut rng, base)
            };
            std::fs::write(&current, &input).map_err(|source| CampaignError::Write {
                path: current.clone(),
                source,
            })?;
            let t0 = Instant::now();
            watchdog.arm();
            let result = run_one(target, &input);
            watchdog.disarm();
            outcome.slowest = outcome.slowest.max(t0.elapsed());
            outcome.inputs += 1;
            if let Err(message) = result {
                let saved = save_crash(&self.crash_dir.join(target.name), &input);
                outcome.crashes.push(Crash {
                    message,
                    saved,
                    input,
                });
            }
        }
        watchdog.stop();
        outcome.elapsed = started.elapsed();
        Ok(outcome)
    }
}

/// Runs one input, turning a panic into its message.
pub fn run_one(target: &Target, input: &[u8]) -> Result<(), String> {
    install_panic_capture();
    CAPTURING.with(|c| c.set(true));
    let result = catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    CAPTURING.with(|c| c.set(false));
    result.map_err(|payload| {
        LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| {
                payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic with a non-string payload".into())
            })
    })
}

/// Why a campaign could not run.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    /// The corpus folder is missing, unreadable or empty.
    #[error("corpus {}: {problem}", path.display())]
    Corpus {
        /// The folder.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A file the harness needs could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The corpus entries, in file-name order so that a seed repeats a run exactly.
pub fn load_corpus(dir: &Path) -> Result<Vec<Vec<u8>>, CampaignError> {
    let problem = |problem: String| CampaignError::Corpus {
        path: dir.to_path_buf(),
        problem,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| problem(e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let corpus = paths
        .iter()
        .map(|p| std::fs::read(p).map_err(|e| problem(format!("{}: {e}", p.display()))))
        .collect::<Result<Vec<_>, _>>()?;
    if corpus.is_empty() {
        return Err(problem("no seed inputs".into()));
    }
    Ok(corpus)
}

fn save_crash(dir: &Path, input: &[u8]) -> Option<PathBuf> {
    std::fs::create_dir_all(dir).ok()?;
    let path = dir.join(&blake3::hash(input).to_hex()[..16]);
    std::fs::write(&path, input).ok()?;
    Some(path)
}

thread_local! {
    /// Whether this thread is running a target (its panics are captured, not printed).
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    /// The last captured panic's message and location.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// A panic hook that records a target's panic instead of printing it, and leaves every
/// other panic (a failing test's, say) to the hook that was there before.
fn install_panic_capture() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CAPTURING.with(Cell::get) {
                let location = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{message}{location}")));
            } else {
                previous(info);
            }
        }));
    });
}

/// Watches the input in flight; one that runs past its limit is saved and the process ends,
/// since a thread stuck in a loop cannot be stopped from outside.
struct Watchdog {
    /// When the input in flight started, in ms since `epoch`; 0 when none is.
    armed_at: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
    epoch: Instant,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    fn start(target: &'static str, current: PathBuf, limit: Duration) -> Watchdog {
        let armed_at = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let epoch = Instant::now();
        let thread = {
            let (armed_at, done) = (armed_at.clone(), done.clone());
            std::thread::Builder::new()
                .name(format!("watchdog-{target}"))
                .spawn(move || {
                    while !done.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(50));
                        let at = armed_at.load(Ordering::Relaxed);
                        if at == 0 {
                            continue;
                        }
                        let running = epoch.elapsed().saturating_sub(Duration::from_millis(at));
                        if running > limit {
                            let saved = std::fs::read(&current).ok().and_then(|input| {
                                save_crash(
                                    &repo_root().join("target/fuzz-crashes").join(target),
                                    &input,
                                )
                            });
                            eprintln!(
                                "vidflow-fuzz: {target}: an input ran for more than {:.1} s (limit {:.1} s); it is in {}{}",
                                running.as_secs_f64(),
                                limit.as_secs_f64(),
                                current.display(),
                                saved
                                    .map(|p| format!(" and {}", p.display()))
                                    .unwrap_or_default()
                            );
                            std::process::exit(3);
                        }
                    }
                })
                .ok()
        };
        Watchdog {
            armed_at,
            done,
            epoch,
            thread,
        }
    }

    fn arm(&self) {
        // +1 so that an input starting in the first millisecond is not read as "none".
        let now = self.epoch.elapsed().as_millis() as u64 + 1;
        self.armed_at.store(now, Ordering::Relaxed);
    }

    fn disarm(&self) {
        self.armed_at.store(0, Ordering::Relaxed);
    }

    fn stop(mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
