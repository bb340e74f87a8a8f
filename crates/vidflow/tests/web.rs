//! The web page, end to end, in a real headless Chromium (Debian's `chromium`, driven by
//! `chromedriver` from `chromium-driver`) against a real `vidflow serve` with an API key:
//! log in, submit the bundled sample page, follow it to done, play and seek the video with
//! its captions, make it again with another presenter (cache reuse shown), cancel a second
//! job, see a bad URL's error next to its field, list (by page title), filter and delete
//! jobs, see the status, follow a tuning study to its charts and best settings, and read the
//! job list in the dark scheme. One browser and one server for all of it (CI time).
//!
//! Without chromium the test is skipped with the reason printed, unless
//! `VIDFLOW_REQUIRE_BROWSER=1` (as `scripts/test` sets), where it fails.
//! With `VIDFLOW_SCREENSHOTS=1` it also writes the main views at desktop and phone width
//! to `docs/screenshots/`.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Service, sample_dir};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const KEY: &str = "web-test-key";

/// chromedriver on a free loopback port; killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// chromium and chromedriver, or why not.
fn browser() -> Result<(PathBuf, PathBuf), String> {
    let chromium = find_program(&["chromium", "chromium-browser"])
        .ok_or("chromium is not installed (scripts/install-deps installs it)")?;
    let driver = find_program(&["chromedriver"])
        .ok_or("chromedriver is not installed (Debian's chromium-driver; scripts/install-deps)")?;
    Ok((chromium, driver))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_driver(path: &Path) -> Driver {
    let port = free_port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "chromedriver did not listen on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Driver { child, port }
}

async fn connect(driver: &Driver, chromium: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,900",
                     "--autoplay-policy=no-user-gesture-required"],
        }),
    );
    ClientBuilder::rustls()
        .expect("rustls")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a chromium session")
}

/// Runs `script` (a function body, `return`ing a value; may return a promise) until it
/// gives something truthy, and returns that; fails after `secs` with `what` and the last
/// value.
async fn wait_js(c: &Client, script: &str, secs: u64, what: &str) -> Value {
    let start = Instant::now();
    let mut last = Value::Null;
    while start.elapsed() < Duration::from_secs(secs) {
        last = c.execute(script, vec![]).await.expect("script runs");
        let truthy = match &last {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::String(s) => !s.is_empty(),
            _ => true,
        };
        if truthy {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let page = c
        .execute("return document.querySelector('main').innerText", vec![])
        .await
        .unwrap_or_default();
    panic!("timed out after {secs} s waiting for {what}; last {last}; page: {page}");
}

async fn goto(c: &Client, base: &str, path: &str) {
    c.goto(&format!("{base}{path}")).await.expect("navigate");
    wait_js(
        c,
        "return document.body.dataset.ready === 'yes'",
        30,
        &format!("{path} to start"),
    )
    .await;
}

/// The job id in the page's URL (`/ui/jobs/ID`).
async fn job_id(c: &Client) -> String {
    let url = wait_js(
        c,
        "return location.pathname.startsWith('/ui/jobs/') ? location.pathname : ''",
        30,
        "the job page",
    )
    .await;
    url.as_str()
        .unwrap()
        .trim_start_matches("/ui/jobs/")
        .to_owned()
}

struct Shots {
    dir: Option<PathBuf>,
}

impl Shots {
    /// The view now at desktop and at phone width.
    async fn take(&self, c: &Client, name: &str) {
        let Some(dir) = &self.dir else { return };
        for (suffix, w, h) in [("desktop", 1280, 900), ("phone", 390, 844)] {
            c.set_window_size(w, h).await.unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            let png = c.screenshot().await.unwrap();
            std::fs::write(dir.join(format!("{name}-{suffix}.png")), png).unwrap();
        }
        c.set_window_size(1280, 900).await.unwrap();
    }
}

#[test]
fn the_page_makes_follows_plays_cancels_and_lists_videos_in_a_real_browser() {
    let (chromium, driver_path) = match browser() {
        Ok(found) => found,
        Err(why) if std::env::var("VIDFLOW_REQUIRE_BROWSER").as_deref() == Ok("1") => {
            panic!("VIDFLOW_REQUIRE_BROWSER=1 but {why}")
        }
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vidflow.toml");
    std::fs::write(
        &config,
        format!("[server]\napi_keys = [\"{KEY}\"]\nmax_concurrent_jobs = 1\n"),
    )
    .unwrap();
    let svc = Service::start_with(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
        &[],
    );
    let base = format!("http://127.0.0.1:{}", svc.port);
    let driver = start_driver(&driver_path);
    let shots = Shots {
        dir: (std::env::var("VIDFLOW_SCREENSHOTS").as_deref() == Ok("1")).then(|| {
            let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
            std::fs::create_dir_all(&d).unwrap();
            d
        }),
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = connect(&driver, &chromium).await;
        let result = run(&c, &base, &svc, &shots).await;
        dark_scheme(&c, &driver, base.as_str(), &shots).await;
        let _ = c.close().await;
        result
    });
}

async fn run(c: &Client, base: &str, svc: &Service, shots: &Shots) {
    // The page itself is open and strict: CSP on every page, nothing inline.
    let page = reqwest::get(format!("{base}/")).await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );

    log_in(c, base, shots).await;
    let first = make_the_sample(c, base, shots).await;
    play_and_seek(c, &first).await;
    make_again(c, &first).await;
    cancel_a_job(c, base).await;
    bad_url(c, base, shots).await;
    job_list(c, base, svc, &first, shots).await;
    status(c, base, shots).await;
    study(c, base, shots).await;
}

async fn log_in(c: &Client, base: &str, shots: &Shots) {
    c.goto(&format!("{base}/")).await.unwrap();
    wait_js(
        c,
        "return !document.querySelector('#login').hidden",
        30,
        "the login form",
    )
    .await;
    shots.take(c, "login").await;
    // A wrong key is refused next to the field.
    c.find(Locator::Id("login-key"))
        .await
        .unwrap()
        .send_keys("not-the-key")
        .await
        .unwrap();
    c.find(Locator::Css("#login-form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let refused = wait_js(
        c,
        "const p = document.querySelector('#login-error'); return p.hidden ? '' : p.textContent",
        30,
        "the wrong key to be refused",
    )
    .await;
    assert!(
        refused.as_str().unwrap().contains("not accepted"),
        "{refused}"
    );
    let key = c.find(Locator::Id("login-key")).await.unwrap();
    key.clear().await.unwrap();
    key.send_keys(KEY).await.unwrap();
    c.find(Locator::Css("#login-form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        c,
        "return document.querySelector('#login').hidden && document.body.dataset.ready === 'yes'",
        30,
        "the login to be accepted",
    )
    .await;
    // The key stays in this tab's sessionStorage and is never in a URL; the cookie that
    // the media elements use is HttpOnly, so the page cannot read it.
    let state = c
        .execute(
            "return [sessionStorage.getItem('vidflow-key'), document.cookie, location.href]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(state[0], KEY);
    assert_eq!(state[1], "", "the session cookie is HttpOnly");
    assert!(!state[2].as_str().unwrap().contains(KEY));
    // The presenters' previews load through the cookie (an <img> sends no header).
    wait_js(
        c,
        "const i = [...document.querySelectorAll('.avatar img')]; return i.length > 0 && i.every(x => x.complete && x.naturalWidth > 0)",
        60,
        "the presenters' previews",
    )
    .await;
}

async fn make_the_sample(c: &Client, base: &str, shots: &Shots) -> String {
    goto(c, base, "/").await;
    shots.take(c, "new-video").await;
    c.find(Locator::Css("input[name=source][value=html]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let file = sample_dir().join("index.html").canonicalize().unwrap();
    c.find(Locator::Id("html-file"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    wait_js(
        c,
        "return document.querySelector('#html').value.length > 1000",
        30,
        "the file to be read into the form",
    )
    .await;
    let max = c.find(Locator::Id("max-seconds")).await.unwrap();
    max.clear().await.unwrap();
    max.send_keys("8").await.unwrap();
    c.find(Locator::Id("fps"))
        .await
        .unwrap()
        .select_by_value("24")
        .await
        .unwrap();
    c.find(Locator::Id("submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let id = job_id(c).await;
    // Live progress: a stage is seen running before the job is done.
    wait_js(
        c,
        "return [...document.querySelectorAll('#stages td.st')].some(t => t.textContent !== 'waiting')",
        120,
        "a stage to start",
    )
    .await;
    wait_js(
        c,
        "return document.body.dataset.state === 'succeeded'",
        300,
        "the job to succeed",
    )
    .await;
    let rows = c
        .execute(
            "return [...document.querySelectorAll('#stages tbody tr')].map(r => [r.dataset.stage, r.querySelector('.st').textContent])",
            vec![],
        )
        .await
        .unwrap();
    let rows = rows.as_array().unwrap();
    for stage in [
        "fetch",
        "extract",
        "script",
        "speak",
        "storyboard",
        "render",
    ] {
        assert!(
            rows.iter().any(|r| r[0] == stage && r[1] == "done"),
            "{stage} is not shown done: {rows:?}"
        );
    }
    let frames = c
        .execute(
            "const b = document.querySelector('#frames'); return [b.value, b.max, document.querySelector('#frames-block').hidden]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(frames[2], false, "the frames bar was shown");
    assert!(frames[0].as_f64().unwrap() > 0.0, "{frames}");
    // The texts beside the video: the script and the page's text.
    wait_js(
        c,
        "return document.querySelectorAll('#script-text li').length > 0",
        60,
        "the script beside the video",
    )
    .await;
    let article = c
        .find(Locator::Id("article-text"))
        .await
        .unwrap()
        .prop("textContent")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(article.len() > 200, "{article}");
    c.execute("document.querySelector('#result').scrollIntoView()", vec![])
        .await
        .unwrap();
    shots.take(c, "job").await;
    id
}

async fn play_and_seek(c: &Client, id: &str) {
    let played = c
        .execute(
            r#"return (async () => {
                const v = document.querySelector('#video');
                v.muted = true;
                if (v.readyState < 1) await new Promise((ok, no) => { v.onloadedmetadata = ok; v.onerror = () => no(new Error('video error ' + (v.error && v.error.code))); });
                await v.play();
                await new Promise(ok => setTimeout(ok, 500));
                const target = v.duration * 0.75;
                const seeked = new Promise(ok => v.addEventListener('seeked', ok, { once: true }));
                v.currentTime = target;
                await seeked;
                const track = v.textTracks[0];
                track.mode = 'showing';
                const t = document.querySelector('#video track');
                for (let i = 0; i < 50 && t.readyState !== 2; i++) await new Promise(ok => setTimeout(ok, 100));
                return { duration: v.duration, target, now: v.currentTime, seekable: v.seekable.length ? v.seekable.end(0) : 0,
                         track: t.readyState, cues: track.cues ? track.cues.length : 0, src: v.currentSrc };
            })()"#,
            vec![],
        )
        .await
        .expect("the video plays");
    assert!(played["duration"].as_f64().unwrap() > 1.0, "{played}");
    assert!(
        (played["now"].as_f64().unwrap() - played["target"].as_f64().unwrap()).abs() < 1.0,
        "seeking moved the playhead: {played}"
    );
    assert!(played["seekable"].as_f64().unwrap() > 1.0, "{played}");
    assert_eq!(played["track"], 2, "the VTT track loaded: {played}");
    assert!(played["cues"].as_u64().unwrap() > 0, "{played}");
    assert!(!played["src"].as_str().unwrap().contains(KEY));
    assert!(
        played["src"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v1/jobs/{id}/video"))
    );
}

async fn make_again(c: &Client, first: &str) {
    let other = c
        .find(Locator::Id("again-avatar"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(!other.is_empty());
    c.find(Locator::Css("#again-form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        c,
        &format!("return location.pathname.startsWith('/ui/jobs/') && !location.pathname.endsWith('{first}')"),
        30,
        "the new job's page",
    )
    .await;
    wait_js(
        c,
        "return document.body.dataset.state === 'succeeded'",
        300,
        "the second make to succeed",
    )
    .await;
    // Everything before the presenter is drawn came from the cache, and the page says so.
    let cached = c
        .execute(
            "return [...document.querySelectorAll('#stages tbody tr')].filter(r => r.dataset.cached === 'yes').map(r => r.dataset.stage)",
            vec![],
        )
        .await
        .unwrap();
    // (A pasted page has nothing to fetch, so its fetch is made again: it is free.)
    for stage in ["extract", "script", "speak", "storyboard"] {
        assert!(
            cached.as_array().unwrap().iter().any(|s| s == stage),
            "{stage} was not reused: {cached}"
        );
    }
    let eta = c
        .find(Locator::Id("eta"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(eta.contains("from the cache"), "{eta}");
}

async fn cancel_a_job(c: &Client, base: &str) {
    goto(c, base, "/").await;
    c.find(Locator::Css("input[name=source][value=script]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let script = "A long talk\n\n".to_owned()
        + &"Every paragraph here is narrated at length, so that this job is still running when the test cancels it. ".repeat(6)
        + "\n\n"
        + &"A second paragraph keeps the narrator busy for a good while longer than the first. ".repeat(6);
    c.execute(
        "document.querySelector('#script').value = arguments[0]",
        vec![json!(script)],
    )
    .await
    .unwrap();
    // Its ~75 s of narration must fit the narration limit, or the API refuses it.
    c.execute(
        "document.querySelector('#max-seconds').value = '120'",
        vec![],
    )
    .await
    .unwrap();
    c.find(Locator::Id("submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let id = job_id(c).await;
    wait_js(
        c,
        "return !document.querySelector('#cancel').hidden",
        30,
        "the cancel button",
    )
    .await;
    c.find(Locator::Id("cancel"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        c,
        "return document.body.dataset.state === 'cancelled'",
        60,
        "the job to be cancelled",
    )
    .await;
    let hidden = c
        .execute("return document.querySelector('#cancel').hidden", vec![])
        .await
        .unwrap();
    assert_eq!(hidden, true, "no cancel button on a cancelled job ({id})");
}

async fn bad_url(c: &Client, base: &str, shots: &Shots) {
    goto(c, base, "/").await;
    c.find(Locator::Id("url"))
        .await
        .unwrap()
        .send_keys("ftp://example.org/article")
        .await
        .unwrap();
    c.find(Locator::Id("submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let message = wait_js(
        c,
        "const p = document.querySelector('[data-error-for=url]'); return p.hidden ? '' : p.textContent",
        30,
        "the URL's error next to it",
    )
    .await;
    assert!(message.as_str().unwrap().contains("http"), "{message}");
    let state = c
        .execute(
            "return [document.querySelector('#url').getAttribute('aria-invalid'), document.activeElement.id, location.pathname]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(state, json!(["true", "url", "/"]));
    shots.take(c, "bad-url").await;
}

async fn job_list(c: &Client, base: &str, svc: &Service, first: &str, shots: &Shots) {
    goto(c, base, "/ui/jobs").await;
    let rows = wait_js(
        c,
        "const r = [...document.querySelectorAll('#jobs tbody tr')]; return r.length >= 3 ? r.map(x => [x.dataset.job, x.querySelector('.state').textContent, x.querySelector('.title').textContent]) : null",
        30,
        "the jobs",
    )
    .await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    let first_row = rows
        .iter()
        .find(|r| r[0] == first)
        .expect("the first job is listed");
    assert_eq!(first_row[1], "succeeded");
    // Named by the page's title (from extraction), not by its source ("html").
    assert_eq!(
        first_row[2],
        "Simple Rules, Endless Shapes: A Short Guide to Fractals"
    );
    shots.take(c, "jobs").await;
    // Filter by state, then delete the cancelled job with its record.
    c.find(Locator::Id("state-filter"))
        .await
        .unwrap()
        .select_by_value("cancelled")
        .await
        .unwrap();
    let cancelled = wait_js(
        c,
        "const r = [...document.querySelectorAll('#jobs tbody tr')]; return r.length === 1 && r[0].querySelector('.state').textContent === 'cancelled' ? r[0].dataset.job : ''",
        30,
        "only the cancelled job",
    )
    .await;
    let cancelled = cancelled.as_str().unwrap().to_owned();
    c.find(Locator::Css(&format!("button[data-delete='{cancelled}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        c,
        "return document.querySelectorAll('#jobs tbody tr').length === 0 && !document.querySelector('#jobs-empty').hidden",
        30,
        "the deleted job to leave the list",
    )
    .await;
    let (status, body) = svc.request("GET", &format!("/v1/jobs/{cancelled}"), None);
    // Without the key the API answers 401 before looking: ask with it.
    assert_eq!(status, 401, "{body}");
    let gone = reqwest::Client::new()
        .get(format!("{base}/v1/jobs/{cancelled}"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404, "the deleted job is gone");
}

async fn status(c: &Client, base: &str, shots: &Shots) {
    goto(c, base, "/ui/status").await;
    let jobs = wait_js(
        c,
        "return document.querySelector('#status-jobs').innerText",
        30,
        "the status",
    )
    .await;
    assert!(jobs.as_str().unwrap().contains("queued"), "{jobs}");
    let cache = c
        .find(Locator::Id("status-cache"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(cache.contains("hit rate") && cache.contains("%"), "{cache}");
    shots.take(c, "status").await;
}

/// A small encode study through the API, then its page: both charts drawn by the server,
/// the best settings and the profile to use.
async fn study(c: &Client, base: &str, shots: &Shots) {
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{base}/v1/tune"))
        .bearer_auth(KEY)
        .json(&json!({
            "kind": "encode",
            "script": "Tuning\n\nA short video to tune the encoder on.\n\nIt has two segments.\n",
            "tune": {"trials": 3, "seconds": 0.5, "target_ssim": 0.95, "seed": 3}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let id = resp.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    goto(c, base, "/ui/studies").await;
    wait_js(
        c,
        &format!("return !!document.querySelector('#studies a[href=\"/ui/studies/{id}\"]')"),
        30,
        "the study in the list",
    )
    .await;
    c.find(Locator::Css(&format!(
        "#studies a[href='/ui/studies/{id}']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    // The page shows the study's state as it stands; reload until it has finished.
    let start = Instant::now();
    loop {
        let state = wait_js(
            c,
            "const s = document.querySelector('#study-state'); return s && s.textContent !== '…' ? s.textContent : ''",
            30,
            "the study's state",
        )
        .await;
        if state == "succeeded" {
            break;
        }
        assert!(
            ["queued", "running"].contains(&state.as_str().unwrap()),
            "the study ended {state}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the study did not finish in 300 s"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        c.refresh().await.unwrap();
    }
    let charts = wait_js(
        c,
        "const i = [...document.querySelectorAll('#chart-history, #chart-front')]; return i.length === 2 && i.every(x => x.complete && x.naturalWidth > 0) ? i.map(x => x.naturalWidth) : null",
        30,
        "both charts to load",
    )
    .await;
    assert_eq!(charts.as_array().unwrap().len(), 2, "{charts}");
    let best = wait_js(
        c,
        "const p = document.querySelector('#use-profile'); return p && !p.hidden ? [document.querySelector('#best').textContent, document.querySelector('#profile-id').textContent] : null",
        30,
        "the best settings and the profile to use",
    )
    .await;
    assert!(best[0].as_str().unwrap().contains('{'), "{best}");
    assert!(!best[1].as_str().unwrap().is_empty(), "{best}");
    shots.take(c, "study").await;
}

/// The reader's dark scheme, asked of the browser through chromedriver's DevTools
/// passthrough (the page follows `prefers-color-scheme`): the job list stays readable.
async fn dark_scheme(c: &Client, driver: &Driver, base: &str, shots: &Shots) {
    let session = c.session_id().await.unwrap().expect("a session");
    let resp = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{}/session/{session}/goog/cdp/execute",
            driver.port
        ))
        .json(&json!({
            "cmd": "Emulation.setEmulatedMedia",
            "params": {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
        }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    goto(c, base, "/ui/jobs").await;
    let colours = wait_js(
        c,
        "const b = getComputedStyle(document.body); return matchMedia('(prefers-color-scheme: dark)').matches ? [b.backgroundColor, b.color] : null",
        30,
        "the dark scheme",
    )
    .await;
    // Dark background, light text.
    let lightness = |css: &Value| -> f64 {
        let nums: Vec<f64> = css
            .as_str()
            .unwrap()
            .trim_start_matches(|ch: char| !ch.is_ascii_digit())
            .split(|ch: char| !(ch.is_ascii_digit() || ch == '.'))
            .filter(|s| !s.is_empty())
            .take(3)
            .map(|s| s.parse().unwrap())
            .collect();
        nums.iter().sum::<f64>() / 3.0
    };
    assert!(
        lightness(&colours[0]) < 80.0 && lightness(&colours[1]) > 170.0,
        "{colours}"
    );
    shots.take(c, "jobs-dark").await;
}
