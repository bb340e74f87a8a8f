//! Showing a run's progress: a bar per stage on a terminal, plain log lines otherwise.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use vidflow_core::{Progress, ProgressSink, StageName};

/// Set once logs are JSON: stderr then carries JSON lines only (progress goes through the
/// stage spans' log lines instead of plain text).
static JSON_LOGS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Tells the user something on stderr: a plain line, or with JSON logs an `info` event.
macro_rules! say {
    ($($arg:tt)*) => {
        if $crate::progress::json_logs() {
            tracing::info!("{}", format!($($arg)*));
        } else {
            eprintln!($($arg)*);
        }
    };
}
pub(crate) use say;

/// True when log lines are JSON.
pub fn json_logs() -> bool {
    JSON_LOGS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Sets up `tracing` output on stderr, as text or JSON; `VIDFLOW_LOG` overrides the level.
pub fn init_logging(verbose: u8, format: crate::cli::LogFormat) {
    let default = match verbose {
        // A log collector wants the stage lines; a person at a terminal, the bars.
        0 if format == crate::cli::LogFormat::Json => "info",
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("VIDFLOW_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    JSON_LOGS.store(
        format == crate::cli::LogFormat::Json,
        std::sync::atomic::Ordering::Relaxed,
    );
    let _ = match format {
        crate::cli::LogFormat::Text => builder.try_init(),
        crate::cli::LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
}

/// Where progress goes.
pub enum Display {
    /// indicatif bars (stderr is a terminal).
    Bars {
        multi: MultiProgress,
        bars: Mutex<HashMap<StageName, ProgressBar>>,
    },
    /// One line per event on stderr.
    Lines,
    /// Nothing (JSON mode keeps stderr for errors only when not a terminal).
    Quiet,
}

impl Display {
    /// Bars on a terminal, plain lines otherwise; nothing when `quiet`.
    pub fn for_stderr(quiet: bool) -> Display {
        if json_logs() {
            Display::Quiet
        } else if std::io::stderr().is_terminal() {
            Display::Bars {
                multi: MultiProgress::new(),
                bars: Mutex::new(HashMap::new()),
            }
        } else if quiet {
            Display::Quiet
        } else {
            Display::Lines
        }
    }
}

fn describe_finish(cached: bool, backend: &Option<String>, seconds: f64) -> String {
    if cached {
        format!(
            "reused from cache ({}) in {seconds:.2} s",
            backend.as_deref().unwrap_or("cache")
        )
    } else {
        format!("done in {seconds:.2} s")
    }
}

fn describe_trial(number: u64, state: &str, values: &[f64], best: Option<f64>) -> String {
    let values: Vec<String> = values.iter().map(|v| format!("{v:.4}")).collect();
    let mut text = format!("trial {number} {state}");
    if !values.is_empty() {
        text.push_str(&format!(" [{}]", values.join(", ")));
    }
    if let Some(best) = best {
        text.push_str(&format!(", best {best:.4}"));
    }
    text
}

impl ProgressSink for Display {
    fn report(&self, event: Progress) {
        match self {
            Display::Quiet => {}
            Display::Lines => match event {
                Progress::StageStarted { stage, .. } => eprintln!("{stage}: started"),
                Progress::StageProgress {
                    stage, done, total, ..
                } => {
                    eprintln!("{stage}: {done}/{total}")
                }
                Progress::StageFinished {
                    stage,
                    cached,
                    backend,
                    seconds,
                    ..
                } => eprintln!("{stage}: {}", describe_finish(cached, &backend, seconds)),
                Progress::Trial {
                    stage,
                    number,
                    state,
                    values,
                    best,
                } => eprintln!("{stage}: {}", describe_trial(number, &state, &values, best)),
                Progress::Retrying {
                    stage,
                    attempt,
                    error,
                } => eprintln!("{stage}: try {attempt} failed ({error}); retrying"),
            },
            Display::Bars { multi, bars } => {
                let mut bars = bars.lock().unwrap_or_else(|e| e.into_inner());
                match event {
                    Progress::StageStarted { stage, .. } => {
                        let bar = multi.add(ProgressBar::new_spinner());
                        bar.set_style(
                            ProgressStyle::with_template("{spinner} {prefix:>10} {msg}")
                                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                        );
                        bar.set_prefix(stage.to_string());
                        bar.set_message("working…");
                        bar.enable_steady_tick(Duration::from_millis(120));
                        bars.insert(stage, bar);
                    }
                    Progress::StageProgress {
                        stage, done, total, ..
                    } => {
                        if let Some(bar) = bars.get(&stage) {
                            if bar.length() != Some(total) {
                                bar.set_length(total);
                                bar.set_style(
                                    ProgressStyle::with_template(
                                        "{spinner} {prefix:>10} [{bar:30}] {pos}/{len} frames {per_sec} eta {eta}",
                                    )
                                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                                    .progress_chars("=> "),
                                );
                            }
                            bar.set_position(done);
                        }
                    }
                    Progress::StageFinished {
                        stage,
                        cached,
                        backend,
                        seconds,
                        ..
                    } => {
                        if let Some(bar) = bars.get(&stage) {
                            bar.set_style(
                                ProgressStyle::with_template("  {prefix:>10} {msg}")
                                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                            );
                            bar.finish_with_message(describe_finish(cached, &backend, seconds));
                        }
                    }
                    Progress::Trial {
                        stage,
                        number,
                        state,
                        values,
                        best,
                    } => {
                        if let Some(bar) = bars.get(&stage) {
                            bar.set_message(describe_trial(number, &state, &values, best));
                        }
                    }
                    Progress::Retrying {
                        stage,
                        attempt,
                        error,
                    } => {
                        if let Some(bar) = bars.get(&stage) {
                            bar.set_message(format!("try {attempt} failed ({error}); retrying"));
                        }
                    }
                }
            }
        }
    }
}
