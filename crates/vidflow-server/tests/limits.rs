//! Limits that protect a shared server: wrong-key guessing is throttled, health probes are
//! outside the rate limit, event streams are bounded, readiness is cached and shows no
//! paths.

mod common;

use common::*;

#[tokio::test]
async fn wrong_keys_are_throttled_even_without_a_rate_limit() {
    let svc = TestService::start(|c| {
        c.server.api_keys = vec!["right-key".into()];
        c.server.auth_failures_per_minute = 3;
    })
    .await;
    let get = |key: &'static str| {
        svc.client
            .get(svc.url("/v1/voices"))
            .header("x-api-key", key)
            .send()
    };
    for _ in 0..3 {
        assert_eq!(get("guess").await.unwrap().status(), 401);
    }
    let resp = get("guess").await.unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    assert_eq!(
        error_code(&resp.json().await.unwrap()),
        "too_many_auth_failures"
    );
    // Blocked whatever it sends now, the right key included, until its minute ends.
    assert_eq!(get("right-key").await.unwrap().status(), 429);
    svc.stop().await;
}

#[tokio::test]
async fn health_probes_do_not_count_against_the_rate_limit() {
    let svc = TestService::start(|c| {
        c.server.rate_limit_per_second = 1;
        c.server.rate_limit_burst = 2;
    })
    .await;
    for path in ["/health/live", "/health/ready"] {
        for i in 0..10 {
            let resp = svc.client.get(svc.url(path)).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{path} probe {i}");
        }
    }
    // The API itself is still limited.
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(
            svc.client
                .get(svc.url("/v1/voices"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert!(codes.contains(&429), "{codes:?}");
    svc.stop().await;
}

#[tokio::test]
async fn readiness_names_no_paths() {
    let svc = TestService::start(|_| {}).await;
    let data = svc.data_dir();
    let text = svc
        .client
        .get(svc.url("/health/ready"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains(data.to_str().unwrap()), "{text}");
    assert!(!text.contains(svc.dir.path().to_str().unwrap()), "{text}");
    svc.stop().await;
}

#[tokio::test]
async fn event_streams_are_bounded_per_client() {
    let svc = TestService::start(|c| {
        c.server.max_event_streams_per_client = 2;
        c.server.max_concurrent_jobs = 1;
    })
    .await;
    let id = svc
        .submit_ok(&serde_json::json!({"script": "A job to follow for a while."}))
        .await;
    let open = || {
        svc.client
            .get(svc.url(&format!("/v1/jobs/{id}/events")))
            .send()
    };
    // Two streams stay open (the job is still running or the stream holds its last event
    // until read); the third is refused with JSON.
    let a = open().await.unwrap();
    let b = open().await.unwrap();
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    let third = open().await.unwrap();
    assert_eq!(third.status(), 429);
    assert_eq!(error_code(&third.json().await.unwrap()), "too_many_streams");
    // Closing one gives its slot back.
    drop(a);
    let mut reopened = None;
    for _ in 0..100 {
        let resp = open().await.unwrap();
        if resp.status() == 200 {
            reopened = Some(resp);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(reopened.is_some(), "a closed stream's slot came back");
    drop(b);
    drop(reopened);
    svc.stop().await;
}

#[tokio::test]
async fn a_script_over_the_narration_limit_is_refused_and_dry_runs_say_so() {
    let svc = TestService::start(|c| c.video.max_seconds = 10.0).await;
    let long = "Every word here is one more word to speak. ".repeat(100);
    for dry_run in [false, true] {
        let resp = svc
            .submit(&serde_json::json!({"script": long, "dry_run": dry_run}))
            .await;
        assert_eq!(resp.status(), 422, "dry_run {dry_run}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert!(body.to_string().contains("max_seconds"), "{body}");
    }
    // Within the limit, the plan reports it.
    let resp = svc
        .submit(&serde_json::json!({"script": "Short.", "dry_run": true}))
        .await;
    assert_eq!(resp.status(), 200);
    let plan: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(plan["max_video_seconds"], 10.0);
    svc.stop().await;
}
