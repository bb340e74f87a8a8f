//! The chat backend against a fake OpenAI-compatible server on 127.0.0.1 (it stands in for
//! the user's remote LLM), started and stopped by each test.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use vidflow_core::{Article, ArticleImage, ErrorKind, Paragraph, VidflowError};
use vidflow_script::{ChatBackend, Script, ScriptOptions, count_words};

/// A request as the fake server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The canned answer: status line, content type, body, and a delay before answering.
#[derive(Clone)]
struct Answer {
    status: &'static str,
    content_type: &'static str,
    body: String,
    delay: Duration,
}

/// A one-answer HTTP/1.1 server; it is stopped when dropped.
struct FakeLlm {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeLlm {
    async fn start(answer: Answer) -> FakeLlm {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let answer = answer.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, answer, log).await;
                });
            }
        });
        FakeLlm { addr, seen, task }
    }

    fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve(
    mut stream: TcpStream,
    answer: Answer,
    log: Arc<Mutex<Vec<Seen>>>,
) -> std::io::Result<()> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let header_end = loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(pos) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while data.len() < header_end + length {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let body = serde_json::from_slice(&data[header_end..]).unwrap_or(Value::Null);
    log.lock().unwrap().push(Seen {
        method,
        path,
        headers,
        body,
    });
    tokio::time::sleep(answer.delay).await;
    let response = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        answer.status,
        answer.content_type,
        answer.body.len(),
        answer.body
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

fn ok_json(body: String) -> Answer {
    Answer {
        status: "200 OK",
        content_type: "application/json",
        body,
        delay: Duration::ZERO,
    }
}

/// An OpenAI chat completion whose message is `content`.
fn completion(content: &str) -> String {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1,
        "model": "test-model",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}
    })
    .to_string()
}

fn article() -> Article {
    let para = |text: &str, heading: Option<&str>| Paragraph {
        text: text.into(),
        heading: heading.map(Into::into),
        is_heading: false,
    };
    Article {
        title: "How tides work".into(),
        byline: Some("A. Writer".into()),
        site_name: None,
        published: None,
        lang: Some("en".into()),
        text: String::new(),
        paragraphs: vec![
            para("The Moon's gravity pulls the oceans into a bulge.", None),
            Paragraph {
                text: "Spring tides".into(),
                heading: None,
                is_heading: true,
            },
            para(
                "When the Sun and the Moon line up, tides are higher.",
                Some("Spring tides"),
            ),
        ],
        images: vec![
            ArticleImage {
                url: "https://example.org/moon.jpg".into(),
                alt: Some("The Moon over the sea".into()),
                near_paragraph: 0,
            },
            ArticleImage {
                url: "https://example.org/sun.jpg".into(),
                alt: None,
                near_paragraph: 2,
            },
        ],
    }
}

fn good_script_json() -> String {
    json!({
        "title": "How tides work",
        "segments": [
            {
                "narration": "How tides work. The Moon's gravity pulls the oceans into a bulge [1]; see https://example.org/tides.",
                "heading": null,
                "key_sentence": "The Moon pulls the oceans.",
                "image": 0
            },
            {
                "narration": "When the **Sun** and the Moon line up, tides are higher.",
                "heading": "Spring tides",
                "key_sentence": "Sun and Moon together make spring tides.",
                "image": 1
            }
        ]
    })
    .to_string()
}

fn expected_script() -> Script {
    Script {
        title: "How tides work".into(),
        segments: vec![
            vidflow_core::Segment {
                narration: "How tides work. The Moon's gravity pulls the oceans into a bulge; see."
                    .into(),
                heading: None,
                key_sentence: "The Moon pulls the oceans.".into(),
                image: Some(0),
            },
            vidflow_core::Segment {
                narration: "When the Sun and the Moon line up, tides are higher.".into(),
                heading: Some("Spring tides".into()),
                key_sentence: "Sun and Moon together make spring tides.".into(),
                image: Some(1),
            },
        ],
    }
}

fn backend(base: &str, key: Option<&str>) -> ChatBackend {
    ChatBackend::new(
        base,
        "test-model",
        key.map(String::from),
        Duration::from_secs(5),
    )
    .unwrap()
}

async fn script_error(answer: Answer) -> (VidflowError, String) {
    let server = FakeLlm::start(answer).await;
    let llm = backend(&server.base_url(), Some("sk-test"));
    let err = llm
        .write_script(&article(), &ScriptOptions::default())
        .await
        .unwrap_err();
    (err, llm.endpoint().to_string())
}

#[tokio::test]
async fn good_reply_becomes_a_clean_script_and_the_request_is_right() {
    let server = FakeLlm::start(ok_json(completion(&good_script_json()))).await;
    let llm = backend(&server.base_url(), Some("sk-test"));
    let script = llm
        .write_script(&article(), &ScriptOptions::default())
        .await
        .unwrap();
    assert_eq!(script, expected_script());

    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    let req = &seen[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(req.header("authorization"), Some("Bearer sk-test"));
    assert!(
        req.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(req.body["model"], "test-model");
    let messages = req.body["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "system");
    assert_eq!(messages[1]["role"], "user");
    let system = messages[0]["content"].as_str().unwrap();
    assert!(system.contains("\"segments\""), "{system}");
    assert!(system.contains("at most 156 words"), "{system}");
    let user = messages[1]["content"].as_str().unwrap();
    assert!(user.contains("Title: How tides work"), "{user}");
    assert!(user.contains("Word budget: 156 words"), "{user}");
    assert!(
        user.contains("0: The Moon over the sea (after paragraph 0)"),
        "{user}"
    );
    assert!(
        user.contains("1: (no description) (after paragraph 2)"),
        "{user}"
    );
    assert!(user.contains("## Spring tides"), "{user}");
    assert!(
        user.contains("[2] When the Sun and the Moon line up"),
        "{user}"
    );
}

#[tokio::test]
async fn base_url_with_v1_and_no_key() {
    let server = FakeLlm::start(ok_json(completion(&good_script_json()))).await;
    let llm = backend(&format!("{}/v1/", server.base_url()), None);
    let script = llm
        .write_script(&article(), &ScriptOptions::default())
        .await
        .unwrap();
    assert_eq!(script, expected_script());
    let seen = server.requests();
    assert_eq!(seen[0].path, "/v1/chat/completions");
    assert_eq!(seen[0].header("authorization"), None);
}

#[tokio::test]
async fn fenced_reply_is_accepted() {
    let fenced = format!("```json\n{}\n```", good_script_json());
    let server = FakeLlm::start(ok_json(completion(&fenced))).await;
    let script = backend(&server.base_url(), None)
        .write_script(&article(), &ScriptOptions::default())
        .await
        .unwrap();
    assert_eq!(script, expected_script());
}

#[tokio::test]
async fn junk_reply_is_a_named_transient_error() {
    let (err, _) = script_error(ok_json(completion(
        "I'm sorry, but I can't write scripts today.",
    )))
    .await;
    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(
        err.message,
        "LLM reply is not valid script JSON: expected a JSON object, got \"I'm sorry, but I can't write scripts today.\""
    );
}

#[tokio::test]
async fn broken_json_reply_is_named() {
    let (err, _) = script_error(ok_json(completion(r#"{"title": "T", "segments": [{"narr"#))).await;
    assert_eq!(err.kind, ErrorKind::Transient);
    assert!(
        err.message
            .starts_with("LLM reply is not valid script JSON:"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn wrong_schema_is_named() {
    let cases = [
        (json!({"title": "T", "scenes": []}), "missing 'segments'"),
        (
            json!({"title": "T", "segments": {"narration": "x"}}),
            "'segments' is not a list",
        ),
        (
            json!({"title": "T", "segments": [{"narration": "Fine.", "key_sentence": "Fine."}, {"text": "x"}]}),
            "segment 2 is missing 'narration'",
        ),
        (
            json!({"title": "T", "segments": [{"narration": "  ", "key_sentence": "k"}]}),
            "segment 1 has an empty 'narration'",
        ),
        (
            json!({"title": "T", "segments": [{"narration": "Hi.", "key_sentence": "Hi.", "image": 5}]}),
            "segment 1 'image' is 5, out of range: the article has 2 images",
        ),
        (
            json!({"title": "T", "segments": [{"narration": "Hi.", "key_sentence": "Hi.", "heading": 7}]}),
            "segment 1 'heading' is neither a string nor null",
        ),
    ];
    for (reply, problem) in cases {
        let (err, _) = script_error(ok_json(completion(&reply.to_string()))).await;
        assert_eq!(err.kind, ErrorKind::Transient, "{reply}");
        assert_eq!(
            err.message,
            format!("LLM reply is not valid script JSON: {problem}"),
            "{reply}"
        );
    }
}

#[tokio::test]
async fn non_json_body_means_not_a_chat_api() {
    let (err, endpoint) = script_error(Answer {
        status: "200 OK",
        content_type: "text/html",
        body: "<html><body>Welcome to my web UI</body></html>".into(),
        delay: Duration::ZERO,
    })
    .await;
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert_eq!(
        err.message,
        format!(
            "LLM endpoint {endpoint} did not answer like an OpenAI-compatible chat completions API: \
             the body is not JSON (<html><body>Welcome to my web UI</body></html>)"
        )
    );
}

#[tokio::test]
async fn server_error_is_transient() {
    let (err, endpoint) = script_error(Answer {
        status: "500 Internal Server Error",
        content_type: "application/json",
        body: json!({"error": {"message": "model crashed", "type": "server_error"}}).to_string(),
        delay: Duration::ZERO,
    })
    .await;
    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(
        err.message,
        format!("LLM endpoint {endpoint} returned 500 Internal Server Error: model crashed")
    );

    let (err, _) = script_error(Answer {
        status: "429 Too Many Requests",
        content_type: "text/plain",
        body: "slow down".into(),
        delay: Duration::ZERO,
    })
    .await;
    assert_eq!(err.kind, ErrorKind::Transient);
    assert!(
        err.message
            .ends_with("returned 429 Too Many Requests: slow down"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn rejected_key_is_bad_input() {
    for status in ["401 Unauthorized", "403 Forbidden"] {
        let (err, endpoint) = script_error(Answer {
            status,
            content_type: "application/json",
            body: json!({"error": {"message": "Incorrect API key provided"}}).to_string(),
            delay: Duration::ZERO,
        })
        .await;
        assert_eq!(err.kind, ErrorKind::BadInput);
        assert_eq!(
            err.message,
            format!(
                "LLM endpoint rejected the API key: {endpoint} returned {status}: Incorrect API key provided"
            )
        );
        assert_eq!(err.exit_code(), 2);
    }
}

#[tokio::test]
async fn unknown_model_is_bad_input() {
    let (err, endpoint) = script_error(Answer {
        status: "404 Not Found",
        content_type: "application/json",
        body: json!({"error": "model 'test-model' not found"}).to_string(),
        delay: Duration::ZERO,
    })
    .await;
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert_eq!(
        err.message,
        format!(
            "LLM endpoint {endpoint} returned 404 Not Found: model 'test-model' not found \
             (check the base URL and the model name \"test-model\")"
        )
    );
}

#[tokio::test]
async fn timeout_is_transient() {
    let server = FakeLlm::start(Answer {
        delay: Duration::from_secs(10),
        ..ok_json(completion(&good_script_json()))
    })
    .await;
    let llm = ChatBackend::new(
        &server.base_url(),
        "test-model",
        None,
        Duration::from_millis(300),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let err = llm
        .write_script(&article(), &ScriptOptions::default())
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(
        err.message,
        format!("LLM request to {} timed out after 0.3 s", llm.endpoint())
    );
}

#[tokio::test]
async fn refused_connection_is_transient() {
    // Bind a port and free it again, so that nothing listens there.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let llm = backend(&format!("http://{addr}"), None);
    let err = llm
        .write_script(&article(), &ScriptOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient);
    assert!(
        err.message.starts_with(&format!(
            "could not connect to the LLM endpoint http://{addr}/v1/chat/completions"
        )),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn empty_message_content_is_named() {
    let body = json!({"choices": [{"message": {"role": "assistant", "content": null}, "finish_reason": "content_filter"}]});
    let (err, endpoint) = script_error(ok_json(body.to_string())).await;
    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(
        err.message,
        format!("LLM reply from {endpoint} has no message content (finish_reason: content_filter)")
    );
}

#[tokio::test]
async fn over_long_reply_is_cut_to_the_budget() {
    let sentence = "The tide comes in and the tide goes out again every day. ";
    let reply = json!({
        "title": "Tides",
        "segments": [
            {"narration": sentence.repeat(5), "key_sentence": "Tides.", "image": null},
            {"narration": sentence.repeat(5), "key_sentence": "Tides.", "image": null},
        ]
    });
    let server = FakeLlm::start(ok_json(completion(&reply.to_string()))).await;
    let opts = ScriptOptions {
        max_seconds: 20.0,
        ..ScriptOptions::default()
    };
    let script = backend(&server.base_url(), None)
        .write_script(&article(), &opts)
        .await
        .unwrap();
    // 52 words of budget, 15% leeway: 59 words; whole 12-word sentences, so 4 of them.
    let words = count_words(&script.narration());
    assert_eq!(words, 48);
    assert_eq!(script.segments.len(), 1);
}

#[tokio::test]
async fn article_without_text_is_bad_input_and_sends_nothing() {
    let server = FakeLlm::start(ok_json(completion(&good_script_json()))).await;
    let empty = Article {
        title: "Blank".into(),
        ..Article::default()
    };
    let err = backend(&server.base_url(), None)
        .write_script(&empty, &ScriptOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadInput);
    assert_eq!(
        err.message,
        "article \"Blank\" has no text to write a script from"
    );
    assert!(server.requests().is_empty());
}
