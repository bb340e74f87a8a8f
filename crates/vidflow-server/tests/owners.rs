//! Job ownership: each API key sees, follows, cancels and downloads only its own jobs; an
//! admin key sees all; dry-run plans tell non-admin keys nothing of the shared cache.

mod common;

use common::*;

/// A request as `key`.
fn with_key(
    svc: &TestService,
    method: reqwest::Method,
    path: &str,
    key: &str,
) -> reqwest::RequestBuilder {
    svc.client
        .request(method, svc.url(path))
        .header("authorization", format!("Bearer {key}"))
}

async fn status_of(req: reqwest::RequestBuilder) -> u16 {
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn keys_see_only_their_own_jobs_and_admins_see_all() {
    let svc = TestService::start(|c| {
        c.server.api_keys = vec!["alice-key".into(), "bob-key".into()];
        c.server.admin_keys = vec!["admin-key".into()];
        // Jobs stay queued: nothing renders while the routes are checked.
        c.server.max_concurrent_jobs = 1;
    })
    .await;
    let body = serde_json::json!({"script": "Alice owns this job.", "idempotency_key": "mine-1"});
    let resp = with_key(&svc, reqwest::Method::POST, "/v1/videos", "alice-key")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let v: serde_json::Value = resp.json().await.unwrap();
    let id = v["job_id"].as_str().unwrap().to_owned();
    let job_path = format!("/v1/jobs/{id}");
    let get = reqwest::Method::GET;

    // Alice and the admin see it; Bob gets the 404 a missing job gets, on every route.
    assert_eq!(
        status_of(with_key(&svc, get.clone(), &job_path, "alice-key")).await,
        200
    );
    assert_eq!(
        status_of(with_key(&svc, get.clone(), &job_path, "admin-key")).await,
        200
    );
    for path in [
        job_path.clone(),
        format!("{job_path}/events"),
        format!("{job_path}/video"),
        format!("{job_path}/subtitles.srt"),
        format!("{job_path}/subtitles.vtt"),
    ] {
        let resp = with_key(&svc, get.clone(), &path, "bob-key")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        assert_eq!(
            error_code(&resp.json().await.unwrap()),
            "not_found",
            "{path}"
        );
    }
    assert_eq!(
        status_of(with_key(
            &svc,
            reqwest::Method::DELETE,
            &job_path,
            "bob-key"
        ))
        .await,
        404,
        "Bob cannot cancel Alice's job"
    );

    // Lists: Alice's has the job, Bob's is empty, the admin's has it.
    let list = |key: &'static str| {
        let req = with_key(&svc, get.clone(), "/v1/jobs", key);
        async move {
            req.send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(list("alice-key").await["jobs"][0]["id"], id.as_str());
    assert!(list("bob-key").await["jobs"].as_array().unwrap().is_empty());
    assert_eq!(list("admin-key").await["jobs"][0]["id"], id.as_str());

    // Bob reusing Alice's idempotency key learns nothing of her job.
    let resp = with_key(&svc, reqwest::Method::POST, "/v1/videos", "bob-key")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    let err: serde_json::Value = resp.json().await.unwrap();
    assert!(!err.to_string().contains(&id), "{err}");

    // Alice may cancel her own job.
    let code = status_of(with_key(
        &svc,
        reqwest::Method::DELETE,
        &job_path,
        "alice-key",
    ))
    .await;
    assert!(code == 200 || code == 202 || code == 409, "{code}");
    svc.stop().await;
}

#[tokio::test]
async fn jobs_without_an_owner_are_for_admins_only() {
    // Made while auth was off (no owner), then the server restarts with keys.
    let keep = tempfile::tempdir().unwrap();
    let mut cfg = test_config(keep.path());
    let svc = TestService::start_with_config(cfg.clone()).await;
    let id = svc
        .submit_ok(&serde_json::json!({"script": "Made before keys.", "options": {"stop_after": "script"}}))
        .await;
    svc.wait_for(&id, "finished", |j| j["state"] == "succeeded")
        .await;
    svc.stop().await;
    cfg.server.api_keys = vec!["user-key".into()];
    cfg.server.admin_keys = vec!["admin-key".into()];
    let svc = TestService::start_with_config(cfg).await;
    let path = format!("/v1/jobs/{id}");
    assert_eq!(
        status_of(with_key(&svc, reqwest::Method::GET, &path, "user-key")).await,
        404
    );
    assert_eq!(
        status_of(with_key(&svc, reqwest::Method::GET, &path, "admin-key")).await,
        200
    );
    svc.stop().await;
}

#[tokio::test]
async fn dry_runs_tell_non_admin_keys_nothing_of_the_shared_cache() {
    let svc = TestService::start(|c| {
        c.server.api_keys = vec!["alice-key".into(), "bob-key".into()];
        c.server.admin_keys = vec!["admin-key".into()];
    })
    .await;
    let body =
        serde_json::json!({"script": "Cached by Alice.", "options": {"stop_after": "script"}});
    let resp = with_key(&svc, reqwest::Method::POST, "/v1/videos", "alice-key")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let id = resp.json::<serde_json::Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..600 {
        let job: serde_json::Value = with_key(
            &svc,
            reqwest::Method::GET,
            &format!("/v1/jobs/{id}"),
            "alice-key",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        if job["state"] == "succeeded" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut dry = body.clone();
    dry["dry_run"] = true.into();
    let plan = |key: &'static str| {
        let req = with_key(&svc, reqwest::Method::POST, "/v1/videos", key).json(&dry);
        async move {
            req.send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let admin = plan("admin-key").await;
    let script = |p: &serde_json::Value| {
        p["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["stage"] == "script")
            .cloned()
            .unwrap()
    };
    assert_eq!(script(&admin)["cached"], true, "{admin}");
    let bob = plan("bob-key").await;
    assert!(script(&bob)["cached"].is_null(), "{bob}");
    assert!(script(&bob)["backend"].is_null(), "{bob}");
    assert!(bob["estimated_seconds"].as_f64().unwrap() > 0.0, "{bob}");
    svc.stop().await;
}
