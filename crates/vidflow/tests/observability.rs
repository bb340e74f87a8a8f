//! The shipped observability files, proven with the real tools: promtool checks the scrape
//! config and the alert rules and runs their unit tests; Grafana's schema SDK checks the
//! dashboard; a real Prometheus scrapes a real `vidflow serve` and `vidflow worker` on a
//! real Redis through the shipped scrape config (targets rewritten to loopback), and every
//! PromQL expression of the dashboard and the rules runs against what it scraped.
//!
//! Without `promtool`/`prometheus` (Debian's `prometheus` package) or `python3` these tests
//! skip with a message, unless `VIDFLOW_REQUIRE_OBS_TOOLS` is set (CI), where they fail.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use vidflow_redis_test::{TestRedis, unique_prefix};

/// Set (to anything) where the tools must be present: a missing tool fails the test.
const REQUIRE_ENV: &str = "VIDFLOW_REQUIRE_OBS_TOOLS";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn deploy(path: &str) -> PathBuf {
    repo().join("deploy").join(path)
}

/// The program `name` on PATH; `None` (after saying why) when it is missing and the
/// environment does not require it.
fn tool(name: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os(REQUIRE_ENV).is_none(),
            "{name} is missing (install Debian's {package}; scripts/install-deps does) and {REQUIRE_ENV} is set"
        );
        eprintln!(
            "SKIPPED: {name} is not installed (Debian package {package}; scripts/install-deps installs it); set {REQUIRE_ENV} to make this a failure"
        );
    }
    found
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

#[test]
fn promtool_accepts_the_scrape_config_and_rules_and_their_unit_tests_pass() {
    let Some(promtool) = tool("promtool", "prometheus") else {
        return;
    };
    let dir = deploy("prometheus");
    let config = run_ok(Command::new(&promtool).current_dir(&dir).args([
        "check",
        "config",
        "prometheus.yml",
    ]));
    assert!(config.contains("SUCCESS"), "{config}");
    let rules =
        run_ok(
            Command::new(&promtool)
                .current_dir(&dir)
                .args(["check", "rules", "rules.yml"]),
        );
    assert!(rules.contains("SUCCESS: 8 rules found"), "{rules}");
    let tests =
        run_ok(
            Command::new(&promtool)
                .current_dir(&dir)
                .args(["test", "rules", "rules.test.yml"]),
        );
    assert!(tests.contains("SUCCESS"), "{tests}");
    // Every alert has a test that makes it fire and one that keeps it silent.
    let text = std::fs::read_to_string(dir.join("rules.test.yml")).unwrap();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut firing = BTreeSet::new();
    let mut silent = BTreeSet::new();
    for pair in lines.windows(2) {
        if let Some(alert) = pair[0].strip_prefix("alertname: ") {
            match pair[1] {
                "exp_alerts: []" => silent.insert(alert),
                "exp_alerts:" => firing.insert(alert),
                other => panic!("{alert}: unexpected {other}"),
            };
        }
    }
    for alert in alert_names() {
        assert!(
            firing.contains(alert.as_str()) && silent.contains(alert.as_str()),
            "{alert}: needs a test where it fires and one where it stays silent"
        );
    }
}

/// The alert names of rules.yml.
fn alert_names() -> Vec<String> {
    let text = std::fs::read_to_string(deploy("prometheus/rules.yml")).unwrap();
    let names: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .map(str::to_owned)
        .collect();
    assert_eq!(names.len(), 8, "{names:?}");
    names
}

/// Each rule's `expr`, read from rules.yml (block scalars and one-line values).
fn rule_exprs() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(deploy("prometheus/rules.yml")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut alert = String::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if let Some(a) = line.strip_prefix("- alert: ") {
            alert = a.to_owned();
        } else if let Some(rest) = line.strip_prefix("expr:") {
            let rest = rest.trim();
            if rest == "|" || rest == ">" {
                let indent = lines[i].len() - lines[i].trim_start().len();
                let mut expr = String::new();
                while i + 1 < lines.len() {
                    let next = lines[i + 1];
                    let next_indent = next.len() - next.trim_start().len();
                    if !next.trim().is_empty() && next_indent <= indent {
                        break;
                    }
                    expr.push_str(next.trim());
                    expr.push('\n');
                    i += 1;
                }
                out.push((alert.clone(), expr));
            } else {
                out.push((alert.clone(), rest.to_owned()));
            }
        }
        i += 1;
    }
    assert_eq!(out.len(), 8, "{out:?}");
    out
}

/// One query of the dashboard: its row, its panel and its PromQL.
struct PanelQuery {
    row: String,
    panel: String,
    expr: String,
}

fn dashboard() -> serde_json::Value {
    let text = std::fs::read_to_string(deploy("grafana/dashboards/vidflow.json")).unwrap();
    serde_json::from_str(&text).expect("the dashboard is JSON")
}

/// Every query of every panel, rows' nested panels included, with the row it sits under.
fn dashboard_queries(dash: &serde_json::Value) -> Vec<PanelQuery> {
    let mut out = Vec::new();
    let mut row = String::new();
    let visit = |p: &serde_json::Value, row: &str, out: &mut Vec<PanelQuery>| {
        for t in p["targets"].as_array().into_iter().flatten() {
            out.push(PanelQuery {
                row: row.to_owned(),
                panel: p["title"].as_str().unwrap_or_default().to_owned(),
                expr: t["expr"].as_str().expect("a PromQL target").to_owned(),
            });
        }
    };
    for p in dash["panels"].as_array().expect("panels") {
        if p["type"] == "row" {
            row = p["title"].as_str().unwrap_or_default().to_owned();
            for inner in p["panels"].as_array().into_iter().flatten() {
                visit(inner, &row, &mut out);
            }
        } else {
            visit(p, &row, &mut out);
        }
    }
    out
}

/// A panel expression as Grafana sends it with "All" selected.
fn substitute(expr: &str) -> String {
    expr.replace("$__rate_interval", "5m")
        .replace("$instance", ".*")
        .replace("$stage", ".*")
}

/// The metric names an expression reads (vidflow's families only).
fn metric_names(expr: &str) -> BTreeSet<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|t| {
            ["video_", "vidflow_", "cache_", "memory_", "cpu_", "http_"]
                .iter()
                .any(|p| t.starts_with(p))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_dashboard_passes_grafanas_schema() {
    let Some(_) = tool("python3", "python3-venv") else {
        return;
    };
    let out = run_ok(
        Command::new(repo().join("scripts/check-dashboard"))
            .arg("--require-vars=instance,stage")
            .arg(deploy("grafana/dashboards/vidflow.json")),
    );
    assert!(out.contains("OK against Grafana's schema"), "{out}");
    // And what the operator asked for is there: the variables are used, and every panel
    // reads the data source variable.
    let dash = dashboard();
    let queries = dashboard_queries(&dash);
    assert!(queries.len() >= 25, "{} queries", queries.len());
    assert!(queries.iter().any(|q| q.expr.contains("$stage")));
    assert!(queries.iter().any(|q| q.expr.contains("$instance")));
    for q in &queries {
        assert!(!q.expr.trim().is_empty(), "{}: empty query", q.panel);
    }
}

/// `GET path` on 127.0.0.1:`port`; the status and the body.
fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A `prometheus` process with its own storage folder, killed when dropped.
struct Prometheus {
    child: Child,
    port: u16,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Starts `binary` on a free loopback port with `config`; waits until it is ready.
    fn start(binary: &Path, config: &Path, storage: &Path) -> Prometheus {
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new(binary)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", storage.display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--log.level=warn")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start prometheus");
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(60) {
                if let Some(status) = child.try_wait().unwrap() {
                    // Most likely another process took the port first: try another.
                    eprintln!("prometheus exited ({status}); retrying on another port");
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok()
                    && http_get(port, "/-/ready").0 == 200
                {
                    return Prometheus { child, port };
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("prometheus did not start");
    }

    /// Runs an instant query; `Err` carries Prometheus's error (a parse error, say).
    fn query(&self, promql: &str) -> Result<Vec<serde_json::Value>, String> {
        let (status, body) = http_get(
            self.port,
            &format!("/api/v1/query?query={}", percent_encode(promql)),
        );
        let v: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{status} {body}: not JSON: {e}"));
        if v["status"] != "success" {
            return Err(format!("{status}: {} {}", v["errorType"], v["error"]));
        }
        Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
    }

    fn wait_for(&self, what: &str, promql: &str) {
        let start = Instant::now();
        loop {
            if self.query(promql).is_ok_and(|r| !r.is_empty()) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "timed out waiting for {what} ({promql})"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// A `vidflow worker` process, killed when dropped.
struct WorkerProc {
    child: Child,
    metrics_port: u16,
}

impl Drop for WorkerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The shipped scrape config with its targets on loopback, one worker, and a 1 s scrape
/// and evaluation interval; every rewrite must find what it replaces, so a changed
/// shipped file fails here rather than being tested half-rewritten.
fn loopback_config(server_port: u16, worker_port: u16) -> String {
    let shipped = std::fs::read_to_string(deploy("prometheus/prometheus.yml")).unwrap();
    let mut text = shipped.clone();
    for (from, to) in [
        ("scrape_interval: 15s", "scrape_interval: 1s".to_owned()),
        (
            "evaluation_interval: 15s",
            "evaluation_interval: 1s".to_owned(),
        ),
        ("\"server:8080\"", format!("\"127.0.0.1:{server_port}\"")),
        (", \"worker-2:9464\"", String::new()),
        ("\"worker-1:9464\"", format!("\"127.0.0.1:{worker_port}\"")),
    ] {
        assert!(text.contains(from), "prometheus.yml no longer has {from}");
        text = text.replace(from, &to);
    }
    assert!(text.contains("- rules.yml"), "the rules are not loaded");
    text
}

#[test]
fn prometheus_scrapes_serve_and_worker_and_every_dashboard_and_rule_query_runs() {
    let Some(prometheus) = tool("prometheus", "prometheus") else {
        return;
    };
    let redis = TestRedis::start().unwrap();
    let url = redis.url().to_owned();
    let prefix = unique_prefix("obs");
    let env: Vec<(&str, String)> = vec![
        ("VIDFLOW_QUEUE__PREFIX", format!("{prefix}q:")),
        ("VIDFLOW_CACHE__REDIS_PREFIX", format!("{prefix}c:")),
        ("VIDFLOW_QUEUE__CHUNK_SECONDS", "2".into()),
        ("VIDFLOW_VIDEO__PRESET", "ultrafast".into()),
    ];
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let pages = TestServer::start();
    let dir = tempfile::tempdir().unwrap();

    let mut child = vidflow()
        .args(["worker", "--redis", &url, "--metrics-addr", "127.0.0.1:0"])
        .args(["--allow-private-network", "--threads", "1", "--cache-dir"])
        .arg(dir.path().join("worker-cache"))
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vidflow worker");
    let metrics_port = read_port(&mut child, "metrics on http://127.0.0.1:");
    let worker = WorkerProc {
        child,
        metrics_port,
    };
    let server = Service::start_with(
        &dir.path().join("server"),
        &["--redis", url.as_str(), "--allow-private-network"],
        &envs,
    );

    // The worker's health checks.
    assert_eq!(http_get(worker.metrics_port, "/health/live").0, 200);
    let (ready, body) = http_get(worker.metrics_port, "/health/ready");
    assert_eq!(ready, 200, "{body}");
    assert!(body.contains("\"ready\""), "{body}");

    // From the first scrape, before any job: every metric a panel or a rule reads exists
    // in what the server or the worker exports.
    let (_, server_text) = server.request("GET", "/metrics", None);
    let (_, worker_text) = http_get(worker.metrics_port, "/metrics");
    let exported = format!("{server_text}\n{worker_text}");
    let dash = dashboard();
    let queries = dashboard_queries(&dash);
    let rules = rule_exprs();
    let mut names = BTreeSet::new();
    for expr in queries
        .iter()
        .map(|q| &q.expr)
        .chain(rules.iter().map(|r| &r.1))
    {
        names.extend(metric_names(expr));
    }
    assert!(names.len() >= 20, "{names:?}");
    for name in &names {
        // A tuning study's series are labelled with its job id: none exists before a
        // study runs (no alert reads them; their panels show "no data" until then).
        if name.starts_with("vidflow_tune_") {
            continue;
        }
        let present = exported.lines().any(|l| {
            l.strip_prefix(name.as_str())
                .is_some_and(|r| r.starts_with([' ', '{']))
        });
        assert!(present, "{name} is not exported at start-up");
    }
    for series in [
        r#"video_processing_requests_total{status="failed"} 0"#,
        r#"video_processing_requests_total{status="succeeded"} 0"#,
        r#"vidflow_stage_failures_total{kind="internal",stage="render"} 0"#,
        r#"vidflow_stage_runs_total{source="computed",stage="speak"} 0"#,
        r#"video_processing_duration_seconds_bucket{stage="render",le="1800"} 0"#,
    ] {
        assert!(server_text.contains(series), "server: {series} missing");
        assert!(worker_text.contains(series), "worker: {series} missing");
    }
    assert!(
        worker_text.contains(r#"vidflow_worker_tasks_total{kind="chunk",outcome="ok"} 0"#),
        "{worker_text}"
    );

    let config_dir = dir.path().join("prometheus");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("prometheus.yml"),
        loopback_config(server.port, worker.metrics_port),
    )
    .unwrap();
    std::fs::copy(deploy("prometheus/rules.yml"), config_dir.join("rules.yml")).unwrap();
    let prom = Prometheus::start(
        &prometheus,
        &config_dir.join("prometheus.yml"),
        &dir.path().join("tsdb"),
    );
    prom.wait_for(
        "both targets up",
        r#"count(up{job=~"vidflow-server|vidflow-worker"} == 1) == 2"#,
    );

    // One short job through the server and the worker.
    let id = server.submit(&serde_json::json!({
        "url": pages.url("/article.html"),
        "options": {"max_seconds": 3, "fps": 24},
    }));
    let job = server.wait_for(&id, "success", |j| j["state"] == "succeeded");
    assert_eq!(job["result"]["kind"], "video", "{job}");

    // A scrape after it: the job's outcome on the server, its render on the worker.
    prom.wait_for(
        "the finished job",
        r#"video_processing_requests_total{job="vidflow-server",status="succeeded"} > 0"#,
    );
    prom.wait_for(
        "the worker's render",
        r#"vidflow_render_frames_total{job="vidflow-worker"} > 0"#,
    );
    prom.wait_for(
        "the worker's stage runs",
        r#"vidflow_stage_runs_total{job="vidflow-worker",source="computed",stage="render"} > 0"#,
    );
    let fps = prom.query("vidflow_render_fps").unwrap();
    assert!(!fps.is_empty());

    // Every dashboard query parses; those about jobs, stages, render, queue, cache and
    // processes return data.
    let mut problems = Vec::new();
    let mut with_data = 0;
    for q in &queries {
        let promql = substitute(&q.expr);
        match prom.query(&promql) {
            Err(e) => problems.push(format!("{} / {}: {promql}: {e}", q.row, q.panel)),
            Ok(result) => {
                with_data += usize::from(!result.is_empty());
                let needs_data = !q.row.contains("Tuning");
                if needs_data && result.is_empty() {
                    problems.push(format!("{} / {}: no data for {promql}", q.row, q.panel));
                }
            }
        }
    }
    // The template variables' label_values(metric, label) find values.
    for var in dash["templating"]["list"].as_array().unwrap() {
        let Some(query) = var["query"]["query"].as_str() else {
            continue;
        };
        let inner = query
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'))
            .unwrap_or_else(|| panic!("variable {}: {query}", var["name"]));
        let (metric, label) = inner.split_once(',').unwrap();
        let promql = format!("group by ({}) ({})", label.trim(), metric.trim());
        match prom.query(&promql) {
            Ok(r) if !r.is_empty() => {}
            other => problems.push(format!("variable {}: {promql}: {other:?}", var["name"])),
        }
    }
    // Every rule's expression parses and runs.
    for (alert, expr) in &rules {
        if let Err(e) = prom.query(expr) {
            problems.push(format!("rule {alert}: {e}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!(
        "{} dashboard queries ran ({with_data} with data), {} rules ran, {} metric names checked at start-up",
        queries.len(),
        rules.len(),
        names.len()
    );

    // Prometheus loaded the rules and evaluates them without errors.
    let start = Instant::now();
    loop {
        let (_, body) = http_get(prom.port, "/api/v1/rules");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let rules: Vec<&serde_json::Value> = v["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().into_iter().flatten())
            .collect();
        let healthy = rules.iter().filter(|r| r["health"] == "ok").count();
        if rules.len() == 8 && healthy == 8 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "rules not all evaluated healthy: {body}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    drop(prom);
    drop(server);
    drop(worker);
    drop(redis);
}
