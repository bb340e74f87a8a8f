//! Real jobs through the HTTP API: a page becomes a video, followed over SSE and polled;
//! the video is served with Range support; cancel; idempotency; the queue bound.

mod common;

use std::time::Duration;

use common::*;
use futures_util::StreamExt;

/// One parsed Server-Sent Event.
#[derive(Debug)]
struct SseEvent {
    name: String,
    id: Option<u64>,
    data: serde_json::Value,
}

/// Reads an SSE response to its end.
async fn read_events(resp: reqwest::Response) -> Vec<SseEvent> {
    let mut body = resp.bytes_stream();
    let mut text = String::new();
    let mut events = Vec::new();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(120), body.next())
        .await
        .expect("events keep coming")
    {
        text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let (mut name, mut id, mut data) = (String::new(), None, String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            if !name.is_empty() {
                events.push(SseEvent {
                    name,
                    id,
                    data: serde_json::from_str(&data).unwrap(),
                });
            }
        }
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_becomes_a_video_followed_over_sse_and_served_with_ranges() {
    let svc = TestService::start(|_| {}).await;
    let body = serde_json::json!({
        "html": sample_html(),
        "avatar": "avatar_2",
        "options": {"max_seconds": 4, "preset": "ultrafast", "fps": 24},
    });
    let id = svc.submit_ok(&body).await;
    let events = svc
        .client
        .get(svc.url(&format!("/v1/jobs/{id}/events")))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    assert!(
        events.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let events = read_events(events).await;
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names.first(), Some(&"state"), "{names:?}");
    assert_eq!(names.last(), Some(&"done"), "{names:?}");
    // Ids rise by one from the snapshot on: nothing missed, nothing repeated.
    let ids: Vec<u64> = events.iter().filter_map(|e| e.id).collect();
    assert_eq!(ids.len(), events.len());
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
    // Every stage starts before it finishes, in pipeline order, and render reports progress.
    let finished: Vec<&str> = events
        .iter()
        .filter(|e| e.name == "stage_finished")
        .map(|e| e.data["stage"].as_str().unwrap())
        .collect();
    let order = [
        "fetch",
        "extract",
        "script",
        "speak",
        "storyboard",
        "render",
    ];
    assert!(
        finished.len() <= order.len() && order.ends_with(&finished),
        "{finished:?}"
    );
    assert_eq!(finished.last(), Some(&"render"));
    for stage in &finished {
        let started = names
            .iter()
            .zip(&events)
            .position(|(n, e)| *n == "stage_started" && e.data["stage"] == *stage);
        let ended = names
            .iter()
            .zip(&events)
            .position(|(n, e)| *n == "stage_finished" && e.data["stage"] == *stage);
        assert!(started < ended, "{stage}: {names:?}");
    }
    assert!(names.contains(&"progress"), "{names:?}");
    let percents: Vec<f64> = events
        .iter()
        .filter(|e| e.name == "progress")
        .map(|e| e.data["percent"].as_f64().unwrap())
        .collect();
    assert!(percents.windows(2).all(|w| w[0] <= w[1]), "{percents:?}");

    // Polling gives the same finished job, with timings, cache use and links.
    let job = svc
        .wait_for(&id, "success", |j| j["state"] == "succeeded")
        .await;
    assert_eq!(job, events.last().unwrap().data["job"]);
    assert_eq!(job["percent"], 100.0);
    assert_eq!(job["stages"].as_array().unwrap().len(), 6);
    assert!(job["stages"][0]["cached"].is_boolean());
    let result = &job["result"];
    assert_eq!(result["kind"], "video");
    assert_eq!(result["width"], 1280);
    assert_eq!(result["fps"], 24);
    assert!(result["duration"].as_f64().unwrap() > 1.0);

    // The video, whole and in ranges.
    let video_url = svc.url(job["links"]["video"].as_str().unwrap());
    let full = svc.client.get(&video_url).send().await.unwrap();
    assert_eq!(full.status(), 200);
    assert_eq!(full.headers()["content-type"], "video/mp4");
    assert_eq!(full.headers()["accept-ranges"], "bytes");
    let full = full.bytes().await.unwrap();
    assert_eq!(full.len() as u64, result["bytes"].as_u64().unwrap());
    assert_eq!(&full[4..8], b"ftyp");
    let part = svc
        .client
        .get(&video_url)
        .header("Range", "bytes=100-1123")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 100-1123/{}", full.len()).as_str()
    );
    assert_eq!(part.bytes().await.unwrap(), full.slice(100..1124));
    let tail = svc
        .client
        .get(&video_url)
        .header("Range", "bytes=-10")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), 206);
    assert_eq!(tail.bytes().await.unwrap(), full.slice(full.len() - 10..));
    let outside = svc
        .client
        .get(&video_url)
        .header("Range", format!("bytes={}-", full.len() + 10))
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), 416);
    // Not a byte range: ignored, the whole file.
    let other = svc
        .client
        .get(&video_url)
        .header("Range", "items=0-5")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);

    // Subtitles with their own types.
    let srt = svc
        .client
        .get(svc.url(&format!("/v1/jobs/{id}/subtitles.srt")))
        .send()
        .await
        .unwrap();
    assert_eq!(srt.status(), 200);
    assert!(
        srt.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/x-subrip")
    );
    assert!(srt.text().await.unwrap().contains(" --> "));
    let vtt = svc
        .client
        .get(svc.url(&format!("/v1/jobs/{id}/subtitles.vtt")))
        .send()
        .await
        .unwrap();
    assert!(
        vtt.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/vtt")
    );
    assert!(vtt.text().await.unwrap().starts_with("WEBVTT"));

    // A client that connects late gets the state and the end.
    let late = svc
        .client
        .get(svc.url(&format!("/v1/jobs/{id}/events")))
        .send()
        .await
        .unwrap();
    let late = read_events(late).await;
    let late_names: Vec<&str> = late.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(late_names, ["state", "done"]);

    // Listed, filtered by state.
    let (_, list) = svc.get_json("/v1/jobs?state=succeeded").await;
    assert_eq!(list["jobs"][0]["id"], id.as_str());
    let (_, list) = svc.get_json("/v1/jobs?state=queued").await;
    assert!(list["jobs"].as_array().unwrap().is_empty());

    // A dry run of the same request now finds every stage in the cache.
    let mut dry = body.clone();
    dry["dry_run"] = true.into();
    let plan = svc.submit(&dry).await;
    assert_eq!(plan.status(), 200);
    let plan: serde_json::Value = plan.json().await.unwrap();
    assert_eq!(plan["dry_run"], true);
    let stages = plan["stages"].as_array().unwrap();
    assert_eq!(stages.last().unwrap()["stage"], "render");
    assert_eq!(stages.last().unwrap()["cached"], true, "{plan}");

    // Metrics saw it all.
    let metrics = svc
        .client
        .get(svc.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "video_processing_requests_total{status=\"succeeded\"} 1",
        "video_processing_duration_seconds_count{stage=\"render\"} 1",
        "cache_misses_total{backend=\"disk\"}",
        "memory_usage_bytes",
        "cpu_usage_percent",
        "http_requests_total{method=\"POST\",route=\"/v1/videos\",status=\"202\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing:\n{metrics}");
    }
    let (_, status) = svc.get_json("/v1/status").await;
    assert_eq!(status["jobs"]["queued"], 0);
    // One cold job: look-ups happened (misses), so there is a rate, whatever it is.
    let rate = status["cache"]["hit_rate"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&rate), "{status}");
    assert!(status["disk"]["free_bytes"].as_u64().unwrap() > 0);
    svc.stop().await;
}

/// A page long enough to keep a job rendering for a while.
fn long_job() -> serde_json::Value {
    serde_json::json!({
        "html": sample_html(),
        "options": {"max_seconds": 40, "preset": "ultrafast", "size": "1920x1080"},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_queued_and_running_jobs_and_the_queue_bound() {
    let svc = TestService::start(|c| {
        c.server.max_concurrent_jobs = 1;
        c.server.max_queued_jobs = 1;
    })
    .await;
    let running = svc.submit_ok(&long_job()).await;
    svc.wait_for(&running, "rendering", |j| {
        j["state"] == "running" && j["stage"] == "render"
    })
    .await;
    let queued = svc
        .submit_ok(&serde_json::json!({"script": "Waiting.\n\nIn line."}))
        .await;

    // The queue holds one: the next is refused with Retry-After.
    let full = svc
        .submit(&serde_json::json!({"script": "One too many."}))
        .await;
    assert_eq!(full.status(), 429);
    let retry: u64 = full.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    let body: serde_json::Value = full.json().await.unwrap();
    assert_eq!(error_code(&body), "queue_full");

    // A queued job cancelled never starts.
    let resp = svc
        .client
        .delete(svc.url(&format!("/v1/jobs/{queued}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let job: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(job["state"], "cancelled");
    assert_eq!(job["attempts"], 0);
    assert!(job["started_at"].is_null());

    // A running job stops, and its files go.
    let resp = svc
        .client
        .delete(svc.url(&format!("/v1/jobs/{running}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "still stopping after the wait");
    let job: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(job["state"], "cancelled");
    assert!(job["result"].is_null());
    assert!(!svc.data_dir().join("jobs").join(&running).exists());
    // No stray temporary files beside the job folders either.
    let left: Vec<_> = std::fs::read_dir(svc.data_dir().join("jobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // Twice is a conflict; an unknown job is 404; its files are 409/404.
    let again = svc
        .client
        .delete(svc.url(&format!("/v1/jobs/{running}")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    assert_eq!(error_code(&again.json().await.unwrap()), "job_finished");
    let (status, body) = svc.get_json("/v1/jobs/nosuchjob").await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "not_found");
    let (status, body) = svc.get_json(&format!("/v1/jobs/{running}/video")).await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "no_video");
    let (_, status) = svc.get_json("/v1/status").await;
    assert_eq!(status["jobs"]["running"], 0);
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_makes_submission_idempotent() {
    let svc = TestService::start(|_| {}).await;
    let body = serde_json::json!({
        "script": "Idempotency\n\nThe same request twice makes one job.",
        "idempotency_key": "digest-2026-11-26",
        "options": {"stop_after": "script"},
    });
    let first = svc.submit(&body).await;
    assert_eq!(first.status(), 202);
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    let first: serde_json::Value = first.json().await.unwrap();
    assert_eq!(first["status_url"], location.as_str());
    let first_id = first["job_id"].as_str().unwrap().to_owned();
    // Same body (fields in another order): the same job, 200.
    let same = serde_json::json!({
        "options": {"stop_after": "script"},
        "idempotency_key": "digest-2026-11-26",
        "script": "Idempotency\n\nThe same request twice makes one job.",
    });
    let second = svc.submit(&same).await;
    assert_eq!(second.status(), 200);
    let second: serde_json::Value = second.json().await.unwrap();
    assert_eq!(second["job_id"], first_id.as_str());
    assert_eq!(second["existing"], true);
    // Different body: 409.
    let mut different = body.clone();
    different["options"]["stop_after"] = "speak".into();
    let third = svc.submit(&different).await;
    assert_eq!(third.status(), 409);
    assert_eq!(
        error_code(&third.json().await.unwrap()),
        "idempotency_conflict"
    );
    let job = svc
        .wait_for(&first_id, "success", |j| j["state"] == "succeeded")
        .await;
    assert_eq!(job["idempotency_key"], "digest-2026-11-26");
    assert_eq!(job["result"]["kind"], "stage");
    assert_eq!(job["result"]["stage"], "script");
    assert!(job["result"]["output"]["segments"].is_array());
    let (_, list) = svc.get_json("/v1/jobs").await;
    assert_eq!(list["jobs"].as_array().unwrap().len(), 1);
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_list_pages_with_a_cursor() {
    let svc = TestService::start(|_| {}).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            svc.submit_ok(&serde_json::json!({
                "script": format!("Page {i}\n\nText number {i}."),
                "options": {"stop_after": "script"},
            }))
            .await,
        );
    }
    let (_, first) = svc.get_json("/v1/jobs?limit=2").await;
    let got: Vec<&str> = first["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = svc
        .get_json(&format!("/v1/jobs?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(second["jobs"][0]["id"], ids[0].as_str());
    assert!(second["next_cursor"].is_null());
    let (status, body) = svc.get_json("/v1/jobs?limit=500").await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["fields"][0]["field"], "limit");
    let (status, body) = svc.get_json("/v1/jobs?cursor=abc").await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "bad_cursor");
    let (status, body) = svc.get_json("/v1/jobs?state=done").await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "bad_request");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_job_is_deleted_with_its_files_and_its_source_and_charts_are_served() {
    let svc = TestService::start(|_| {}).await;
    let body = serde_json::json!({"script": "Deleting.\n\nA short talk to delete.", "idempotency_key": "del-1",
        "options": {"max_seconds": 3, "fps": 24}});
    let id = svc.submit_ok(&body).await;
    svc.wait_for(&id, "success", |j| j["state"] == "succeeded")
        .await;
    let folder = svc.data_dir().join("jobs").join(&id);
    assert!(folder.join("video.mp4").is_file());

    // What the video was made from: the request (without its idempotency key) and script.
    let (status, source) = svc.get_json(&format!("/v1/jobs/{id}/source")).await;
    assert_eq!(status, 200, "{source}");
    assert_eq!(source["request"]["script"], body["script"]);
    assert!(source["request"].get("idempotency_key").is_none());
    let segments = source["script"]["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 2, "{source}");
    // A video is not a study: no chart.
    let (status, _) = svc
        .get_json(&format!("/v1/jobs/{id}/charts/front.svg"))
        .await;
    assert_eq!(status, 404);

    // Without purge a finished job cannot be cancelled; with it, it is gone with its files
    // and its idempotency key is free again.
    let del = |purge: bool| {
        let q = if purge { "?purge=true" } else { "" };
        svc.client
            .delete(svc.url(&format!("/v1/jobs/{id}{q}")))
            .send()
    };
    assert_eq!(del(false).await.unwrap().status(), 409);
    assert_eq!(del(true).await.unwrap().status(), 204);
    assert!(!folder.exists(), "the job's files are removed");
    let (status, _) = svc.get_json(&format!("/v1/jobs/{id}")).await;
    assert_eq!(status, 404);
    let (_, list) = svc.get_json("/v1/jobs").await;
    assert!(
        list["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["id"] != id.as_str())
    );
    assert_eq!(del(true).await.unwrap().status(), 404);
    let again = svc.submit_ok(&body).await;
    assert_ne!(again, id, "the idempotency key was released");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_finished_jobs_over_the_bound_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = test_config(dir.path());
    let svc = TestService::start_with_config(cfg.clone()).await;
    let id = svc
        .submit_ok(&serde_json::json!({
            "script": "Retention\n\nOld videos make room for new ones."
        }))
        .await;
    let job = svc
        .wait_for(&id, "the video", |j| j["state"] == "succeeded")
        .await;
    // The page names the job by its script's title.
    assert_eq!(job["title"], "Retention", "{job}");
    let files = cfg.server.resolved_data_dir().join("jobs").join(&id);
    assert!(files.join("video.mp4").is_file());
    svc.stop().await;

    // Restarted with room for one byte of job files: the sweep at start deletes the job.
    let mut small = cfg;
    small.server.retention_max_bytes = 1;
    let svc = TestService::start_with_config(small).await;
    let mut status = 0;
    // The record goes first, then the files: wait for both.
    for _ in 0..200 {
        status = svc.get_json(&format!("/v1/jobs/{id}")).await.0;
        if status == 404 && !files.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, 404, "the finished job was deleted");
    assert!(!files.exists(), "with its files");
    let metrics = svc
        .client
        .get(svc.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("vidflow_retention_deleted_jobs_total 1"),
        "{metrics}"
    );
    svc.stop().await;
}
