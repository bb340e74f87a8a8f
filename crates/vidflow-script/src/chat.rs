//! The chat backend: an OpenAI-compatible `/v1/chat/completions` endpoint writes the script.
//!
//! The model is asked for the script as JSON; its reply is checked field by field, and
//! anything wrong is an error that names the problem. It never falls back to the summary:
//! a user who asked for the model's script should hear that it failed.

use std::fmt;
use std::time::Duration;

use serde_json::{Value, json};
use vidflow_core::{Article, Script, Segment, VidflowError};

use crate::sentences::{count_words, split_sentences, trim_to_words};
use crate::spoken::{clean_for_display, clean_for_speech};
use crate::{KEY_SENTENCE_MAX_WORDS, ScriptOptions};

/// At most this much article text is sent (about 6,000 tokens), cut at a paragraph break.
pub const MAX_ARTICLE_CHARS: usize = 24_000;

/// Models count words loosely; a narration up to this much over the budget is accepted as
/// is, and a longer one loses its last sentences.
const BUDGET_TOLERANCE: f64 = 1.15;

const REPLY_PROBLEM: &str = "LLM reply is not valid script JSON";

/// Writes scripts with a chat model behind an OpenAI-compatible API (OpenAI, vLLM,
/// llama.cpp's server, Ollama, LM Studio, …).
///
/// ```no_run
/// # async fn demo(article: &vidflow_core::Article) -> Result<(), vidflow_core::VidflowError> {
/// use std::time::Duration;
/// use vidflow_script::{ChatBackend, ScriptOptions};
///
/// let llm = ChatBackend::new("http://127.0.0.1:11434", "llama3.2", None, Duration::from_secs(120))?;
/// let script = llm.write_script(article, &ScriptOptions::default()).await?;
/// println!("{}", script.narration());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ChatBackend {
    client: reqwest::Client,
    endpoint: String,
    model: String,
    api_key: Option<String>,
    timeout: Duration,
}

impl fmt::Debug for ChatBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The API key is a secret: say whether there is one, never what it is.
        f.debug_struct("ChatBackend")
            .field("endpoint", &self.endpoint)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl ChatBackend {
    /// A backend for the API at `base_url` (with or without a trailing `/v1`; a full
    /// `…/chat/completions` URL is used as is), using `model`, sending `api_key` as a bearer
    /// token when given, and giving up on a request after `timeout`.
    ///
    /// Errors: `BadInput` for a base URL that is not http(s), an empty model name or a zero
    /// timeout; `Internal` if the HTTP client cannot be built.
    pub fn new(
        base_url: &str,
        model: &str,
        api_key: Option<String>,
        timeout: Duration,
    ) -> Result<Self, VidflowError> {
        let base = base_url.trim().trim_end_matches('/');
        let parsed = reqwest::Url::parse(base).map_err(|e| {
            VidflowError::bad_input(format!(
                "LLM base URL \"{base_url}\" is not a valid URL: {e}"
            ))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(VidflowError::bad_input(format!(
                "LLM base URL \"{base_url}\" must start with http:// or https://"
            )));
        }
        let endpoint = if base.ends_with("/chat/completions") {
            base.to_string()
        } else if base.ends_with("/v1") {
            format!("{base}/chat/completions")
        } else {
            format!("{base}/v1/chat/completions")
        };
        let model = model.trim();
        if model.is_empty() {
            return Err(VidflowError::bad_input("LLM model name is empty"));
        }
        if timeout.is_zero() {
            return Err(VidflowError::bad_input(
                "LLM request timeout must be above zero",
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| {
                VidflowError::internal(format!("could not build the HTTP client for the LLM: {e}"))
            })?;
        Ok(Self {
            client,
            endpoint,
            model: model.to_string(),
            api_key: api_key.filter(|k| !k.trim().is_empty()),
            timeout,
        })
    }

    /// The full URL requests go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The model asked for.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// POST {base_url}/v1/chat/completions (accept base URLs with or without a trailing /v1).
    ///
    /// Sends the article (its text cut to [`MAX_ARTICLE_CHARS`] at a paragraph break), the
    /// word budget and the list of page images, asks for the script as JSON, and checks the
    /// reply. Narration is cleaned for speech; a narration more than 15% over the budget
    /// loses its last sentences until it fits.
    ///
    /// Errors:
    /// - `BadInput`: invalid options; an article without text; the endpoint rejected the API
    ///   key (401/403) or the request (other 4xx); the endpoint does not speak the chat
    ///   completions API.
    /// - `Transient`: timeout, connection failure, 429 or 5xx; a reply that is not valid
    ///   script JSON ("LLM reply is not valid script JSON: missing 'segments'"), since another
    ///   try of a model often succeeds.
    pub async fn write_script(
        &self,
        article: &Article,
        opts: &ScriptOptions,
    ) -> Result<Script, VidflowError> {
        opts.validate()?;
        let body = self.request_body(article, opts)?;
        let mut request = self.client.post(&self.endpoint).json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| self.transport_error(&e))?;
        if !status.is_success() {
            return Err(self.status_error(status, &text));
        }
        let content = self.reply_content(&text)?;
        let script = parse_script(&content, article)?;
        Ok(fit_budget(script, opts.word_budget()))
    }

    fn request_body(&self, article: &Article, opts: &ScriptOptions) -> Result<Value, VidflowError> {
        let article_text = article_for_prompt(article);
        if article_text.trim().is_empty() {
            return Err(VidflowError::bad_input(format!(
                "article \"{}\" has no text to write a script from",
                article.title.trim()
            )));
        }
        let budget = opts.word_budget();
        let language = match article.lang.as_deref() {
            Some(lang) if !lang.trim().is_empty() && !lang.starts_with("en") => {
                format!(" Write in the article's language ({lang}).")
            }
            _ => String::new(),
        };
        let system = format!(
            "You write narration scripts for short explainer videos made from web articles. \
             Reply with one JSON object and nothing else, in exactly this form:\n\
             {{\"title\": string, \"segments\": [{{\"narration\": string, \"heading\": string or null, \
             \"key_sentence\": string, \"image\": integer or null}}]}}\n\
             Rules:\n\
             - narration is plain spoken prose: no markdown, lists, URLs or footnote marks.\n\
             - All narrations together have at most {budget} words.\n\
             - Between {min} and {max} segments, following the article's order and sections; \
             the first segment introduces the title.\n\
             - heading: the article section the segment covers, or null.\n\
             - key_sentence: one short sentence (at most {key} words) to show on screen.\n\
             - image: the number of one listed article image that fits the segment, or null; \
             use each image at most once.\n\
             - Say only what the article says.{language}",
            min = opts.min_segments,
            max = opts.max_segments,
            key = KEY_SENTENCE_MAX_WORDS,
        );
        let mut user = format!("Title: {}\n", article.short_title());
        if let Some(byline) = article.byline.as_deref().filter(|b| !b.trim().is_empty()) {
            user.push_str(&format!("Byline: {}\n", byline.trim()));
        }
        user.push_str(&format!("Word budget: {budget} words\n"));
        if article.images.is_empty() {
            user.push_str("Images: none\n");
        } else {
            user.push_str("Images:\n");
            for (k, image) in article.images.iter().enumerate() {
                let alt = image.alt.as_deref().map(str::trim).unwrap_or("");
                let alt = if alt.is_empty() {
                    "(no description)"
                } else {
                    alt
                };
                user.push_str(&format!(
                    "{k}: {alt} (after paragraph {})\n",
                    image.near_paragraph
                ));
            }
        }
        user.push_str("\nArticle:\n");
        user.push_str(&article_text);
        Ok(json!({
            // Only the fields every OpenAI-compatible server accepts: some reject
            // `response_format`, and newer OpenAI models reject `max_tokens` and `temperature`.
            "model": self.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "stream": false,
        }))
    }

    fn transport_error(&self, e: &reqwest::Error) -> VidflowError {
        let mut why = String::new();
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
        while let Some(s) = source {
            why = s.to_string();
            source = s.source();
        }
        if e.is_timeout() {
            VidflowError::transient(format!(
                "LLM request to {} timed out after {:.1} s",
                self.endpoint,
                self.timeout.as_secs_f64()
            ))
        } else if e.is_connect() {
            VidflowError::transient(format!(
                "could not connect to the LLM endpoint {}: {why}",
                self.endpoint
            ))
        } else {
            let why = if why.is_empty() { e.to_string() } else { why };
            VidflowError::transient(format!("LLM request to {} failed: {why}", self.endpoint))
        }
    }

    fn status_error(&self, status: reqwest::StatusCode, body: &str) -> VidflowError {
        let detail = error_detail(body);
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!(": {detail}")
        };
        let code = status.as_u16();
        match code {
            401 | 403 => {
                let hint = if self.api_key.is_none() {
                    " (no API key was given)"
                } else {
                    ""
                };
                VidflowError::bad_input(format!(
                    "LLM endpoint rejected the API key{hint}: {} returned {status}{detail}",
                    self.endpoint
                ))
            }
            408 | 429 | 500..=599 => VidflowError::transient(format!(
                "LLM endpoint {} returned {status}{detail}",
                self.endpoint
            )),
            404 => VidflowError::bad_input(format!(
                "LLM endpoint {} returned {status}{detail} (check the base URL and the model \
                 name \"{}\")",
                self.endpoint, self.model
            )),
            _ => VidflowError::bad_input(format!(
                "LLM endpoint {} refused the request with {status}{detail}",
                self.endpoint
            )),
        }
    }

    /// `choices[0].message.content` of a chat completion.
    fn reply_content(&self, body: &str) -> Result<String, VidflowError> {
        let not_chat = |why: &str| {
            VidflowError::bad_input(format!(
                "LLM endpoint {} did not answer like an OpenAI-compatible chat completions API: \
                 {why}",
                self.endpoint
            ))
        };
        let value: Value = serde_json::from_str(body)
            .map_err(|_| not_chat(&format!("the body is not JSON ({})", excerpt(body, 120))))?;
        let choice = value
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
            .ok_or_else(|| not_chat("the reply has no 'choices'"))?;
        let finish = choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        match choice.pointer("/message/content").and_then(Value::as_str) {
            Some(content) if !content.trim().is_empty() => {
                if finish == "length" {
                    tracing::warn!(endpoint = %self.endpoint, "LLM reply was cut off at its token limit");
                }
                Ok(content.to_string())
            }
            _ => Err(VidflowError::transient(format!(
                "LLM reply from {} has no message content (finish_reason: {finish})",
                self.endpoint
            ))),
        }
    }
}

/// The article as the model reads it: headings marked, paragraphs numbered (so that image
/// positions mean something), cut at a paragraph break near [`MAX_ARTICLE_CHARS`].
fn article_for_prompt(article: &Article) -> String {
    let mut out = String::new();
    let blocks: Vec<(bool, String)> = if article.paragraphs.is_empty() {
        article
            .text
            .split("\n\n")
            .map(|t| (false, t.split_whitespace().collect::<Vec<_>>().join(" ")))
            .collect()
    } else {
        article
            .paragraphs
            .iter()
            .map(|p| {
                (
                    p.is_heading,
                    p.text.split_whitespace().collect::<Vec<_>>().join(" "),
                )
            })
            .collect()
    };
    for (i, (is_heading, text)) in blocks.iter().enumerate() {
        if text.is_empty() {
            continue;
        }
        let line = if *is_heading {
            format!("## {text}\n\n")
        } else {
            format!("[{i}] {text}\n\n")
        };
        if out.len() + line.len() > MAX_ARTICLE_CHARS {
            if out.is_empty() {
                // One huge paragraph: keep its start, cut at a character boundary.
                let mut cut = MAX_ARTICLE_CHARS;
                while !line.is_char_boundary(cut) {
                    cut -= 1;
                }
                out.push_str(&line[..cut]);
            }
            out.push_str("[… article truncated]");
            break;
        }
        out.push_str(&line);
    }
    out.trim_end().to_string()
}

/// The message of an OpenAI-style error body (`{"error": {"message": …}}`), or the start
/// of the body.
fn error_detail(body: &str) -> String {
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        let message = value
            .pointer("/error/message")
            .or_else(|| value.get("error"))
            .or_else(|| value.get("message"))
            .and_then(Value::as_str);
        if let Some(m) = message {
            return excerpt(m, 200);
        }
    }
    excerpt(body, 200)
}

fn excerpt(text: &str, max_chars: usize) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max_chars {
        collapsed
    } else {
        format!("{}…", collapsed.chars().take(max_chars).collect::<String>())
    }
}

fn reply_error(problem: impl fmt::Display) -> VidflowError {
    VidflowError::transient(format!("{REPLY_PROBLEM}: {problem}"))
}

/// The JSON object in a model's reply: code fences stripped, and any chatter around the
/// object ("Here is your script: {…}") ignored.
fn json_object_in(reply: &str) -> Result<Value, VidflowError> {
    let mut text = reply.trim();
    if let Some(rest) = text.strip_prefix("```") {
        // Drop the fence line (```json) and the closing fence.
        text = rest.split_once('\n').map_or("", |(_, body)| body);
        text = text.trim_end();
        text = text.strip_suffix("```").unwrap_or(text).trim();
    }
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return Ok(value);
    }
    match (text.find('{'), text.rfind('}')) {
        (Some(start), Some(end)) if start < end => serde_json::from_str(&text[start..=end])
            .map_err(|e| reply_error(format!("{e} in {}", excerpt(text, 120)))),
        _ => Err(reply_error(format!(
            "expected a JSON object, got \"{}\"",
            excerpt(text, 120)
        ))),
    }
}

/// Checks a model's reply against the script schema and builds the [`Script`].
fn parse_script(reply: &str, article: &Article) -> Result<Script, VidflowError> {
    let value = json_object_in(reply)?;
    let object = value
        .as_object()
        .ok_or_else(|| reply_error("the top level is not an object"))?;
    let title = match object.get("title") {
        None => return Err(reply_error("missing 'title'")),
        Some(Value::String(t)) => t.split_whitespace().collect::<Vec<_>>().join(" "),
        Some(Value::Null) => String::new(),
        Some(_) => return Err(reply_error("'title' is not a string")),
    };
    let title = if title.is_empty() {
        article.short_title()
    } else {
        title
    };
    let list = match object.get("segments") {
        None => return Err(reply_error("missing 'segments'")),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(reply_error("'segments' is not a list")),
    };
    if list.is_empty() {
        return Err(reply_error("'segments' is empty"));
    }
    let mut segments = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let n = i + 1;
        let seg = item
            .as_object()
            .ok_or_else(|| reply_error(format!("segment {n} is not an object")))?;
        let required_text = |field: &str| -> Result<String, VidflowError> {
            match seg.get(field) {
                None | Some(Value::Null) => {
                    Err(reply_error(format!("segment {n} is missing '{field}'")))
                }
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(reply_error(format!(
                    "segment {n} '{field}' is not a string"
                ))),
            }
        };
        let narration = clean_for_speech(&required_text("narration")?);
        if count_words(&narration) == 0 {
            return Err(reply_error(format!("segment {n} has an empty 'narration'")));
        }
        let key_sentence = clean_for_display(&required_text("key_sentence")?);
        if count_words(&key_sentence) == 0 {
            return Err(reply_error(format!(
                "segment {n} has an empty 'key_sentence'"
            )));
        }
        let heading = match seg.get("heading") {
            None | Some(Value::Null) => None,
            Some(Value::String(h)) => Some(clean_for_display(h)).filter(|h| !h.is_empty()),
            Some(_) => {
                return Err(reply_error(format!(
                    "segment {n} 'heading' is neither a string nor null"
                )));
            }
        };
        let image = match seg.get("image") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let count = article.images.len();
                let index = v.as_u64().ok_or_else(|| {
                    reply_error(format!(
                        "segment {n} 'image' is {v}, not an image number or null"
                    ))
                })?;
                if index as usize >= count {
                    return Err(reply_error(format!(
                        "segment {n} 'image' is {index}, out of range: the article has {count} image{}",
                        if count == 1 { "" } else { "s" }
                    )));
                }
                Some(index as usize)
            }
        };
        segments.push(Segment {
            narration,
            heading,
            key_sentence: trim_to_words(&key_sentence, KEY_SENTENCE_MAX_WORDS, "…"),
            image,
        });
    }
    Ok(Script { title, segments })
}

/// Drops the last sentences (and then segments) of a narration that runs more than
/// [`BUDGET_TOLERANCE`] over `budget` words, so the video keeps to the time asked for.
fn fit_budget(mut script: Script, budget: usize) -> Script {
    let allowed = (budget as f64 * BUDGET_TOLERANCE).floor() as usize;
    let total = count_words(&script.narration());
    if total <= allowed {
        return script;
    }
    tracing::warn!(
        words = total,
        allowed,
        "LLM narration is over the word budget; dropping its last sentences"
    );
    let mut used = 0;
    let mut kept = Vec::new();
    for mut segment in script.segments.drain(..) {
        let mut sentences = Vec::new();
        for sentence in split_sentences(&segment.narration) {
            let words = count_words(&sentence);
            if used + words > allowed {
                break;
            }
            used += words;
            sentences.push(sentence);
        }
        if sentences.is_empty() {
            if kept.is_empty() {
                // Even the first sentence is too long: keep its start.
                segment.narration = trim_to_words(&segment.narration, allowed, ".");
                kept.push(segment);
            }
            break;
        }
        let complete = sentences.join(" ") == segment.narration;
        segment.narration = sentences.join(" ");
        kept.push(segment);
        if !complete {
            break;
        }
    }
    script.segments = kept;
    script
}

#[cfg(test)]
mod tests {
    use super::*;
    use vidflow_core::{ArticleImage, ErrorKind, Paragraph};

    fn article(images: usize) -> Article {
        Article {
            title: "Tides".into(),
            paragraphs: vec![Paragraph {
                text: "The Moon pulls the sea.".into(),
                heading: None,
                is_heading: false,
            }],
            images: (0..images)
                .map(|k| ArticleImage {
                    url: format!("https://example.org/{k}.png"),
                    alt: None,
                    near_paragraph: 0,
                })
                .collect(),
            ..Article::default()
        }
    }

    #[test]
    fn base_urls_with_and_without_v1() {
        let t = Duration::from_secs(5);
        for (base, endpoint) in [
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/v1/chat/completions",
            ),
            (
                "http://127.0.0.1:8080/",
                "http://127.0.0.1:8080/v1/chat/completions",
            ),
            (
                "http://127.0.0.1:8080/v1",
                "http://127.0.0.1:8080/v1/chat/completions",
            ),
            (
                "https://api.example.com/v1/",
                "https://api.example.com/v1/chat/completions",
            ),
            (
                "http://h/openai/v1/chat/completions",
                "http://h/openai/v1/chat/completions",
            ),
        ] {
            let b = ChatBackend::new(base, "m", None, t).unwrap();
            assert_eq!(b.endpoint(), endpoint);
        }
        for bad in ["ftp://x", "not a url", ""] {
            let err = ChatBackend::new(bad, "m", None, t).unwrap_err();
            assert_eq!(err.kind, ErrorKind::BadInput, "{bad}");
        }
        assert!(ChatBackend::new("http://x", " ", None, t).is_err());
        assert!(ChatBackend::new("http://x", "m", None, Duration::ZERO).is_err());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let b = ChatBackend::new(
            "http://x",
            "m",
            Some("sk-secret".into()),
            Duration::from_secs(1),
        )
        .unwrap();
        let shown = format!("{b:?}");
        assert!(
            !shown.contains("sk-secret") && shown.contains("redacted"),
            "{shown}"
        );
    }

    #[test]
    fn fences_and_chatter_are_stripped() {
        let body = r#"{"title":"T","segments":[{"narration":"Hi there.","heading":null,"key_sentence":"Hi.","image":null}]}"#;
        for reply in [
            body.to_string(),
            format!("```json\n{body}\n```"),
            format!("```\n{body}\n```\n"),
            format!("Sure! Here it is:\n{body}\nEnjoy."),
        ] {
            let script = parse_script(&reply, &article(0)).unwrap();
            assert_eq!(script.segments[0].narration, "Hi there.");
        }
    }

    #[test]
    fn schema_problems_are_named() {
        let cases = [
            ("[1, 2]", "the top level is not an object"),
            (r#"{"segments": []}"#, "missing 'title'"),
            (r#"{"title": "T"}"#, "missing 'segments'"),
            (
                r#"{"title": "T", "segments": "no"}"#,
                "'segments' is not a list",
            ),
            (r#"{"title": "T", "segments": []}"#, "'segments' is empty"),
            (
                r#"{"title": "T", "segments": [{"key_sentence": "k"}]}"#,
                "segment 1 is missing 'narration'",
            ),
            (
                r#"{"title": "T", "segments": [{"narration": " [1] ", "key_sentence": "k"}]}"#,
                "segment 1 has an empty 'narration'",
            ),
            (
                r#"{"title": "T", "segments": [{"narration": "a", "key_sentence": 3}]}"#,
                "segment 1 'key_sentence' is not a string",
            ),
            (
                r#"{"title": "T", "segments": [{"narration": "a", "key_sentence": "k", "image": 2}]}"#,
                "segment 1 'image' is 2, out of range: the article has 2 images",
            ),
            (
                r#"{"title": "T", "segments": [{"narration": "a", "key_sentence": "k", "image": -1}]}"#,
                "segment 1 'image' is -1, not an image number or null",
            ),
            (
                "I cannot help with that.",
                "expected a JSON object, got \"I cannot help with that.\"",
            ),
        ];
        for (reply, problem) in cases {
            let err = parse_script(reply, &article(2)).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Transient, "{reply}");
            assert_eq!(
                err.message,
                format!("{REPLY_PROBLEM}: {problem}"),
                "{reply}"
            );
        }
    }

    #[test]
    fn over_budget_narration_loses_its_tail() {
        let seg = |text: &str| Segment {
            narration: text.into(),
            heading: None,
            key_sentence: "k".into(),
            image: None,
        };
        let script = Script {
            title: "T".into(),
            segments: vec![
                seg("One two three four. Five six seven eight."),
                seg("Nine ten eleven twelve."),
            ],
        };
        // Budget 8 allows 9 words: both sentences of the first segment, nothing more.
        let fitted = fit_budget(script.clone(), 8);
        assert_eq!(fitted.segments.len(), 1);
        assert_eq!(
            fitted.narration(),
            "One two three four. Five six seven eight."
        );
        // Within tolerance: untouched.
        assert_eq!(fit_budget(script.clone(), 11), script);
        // Not even the first sentence fits: its start is kept.
        assert_eq!(fit_budget(script, 2).narration(), "One two.");
    }

    #[test]
    fn long_articles_are_truncated_for_the_prompt() {
        let paragraph = "word ".repeat(200);
        let mut a = article(0);
        a.paragraphs = (0..100)
            .map(|_| Paragraph {
                text: paragraph.clone(),
                heading: None,
                is_heading: false,
            })
            .collect();
        let text = article_for_prompt(&a);
        assert!(text.len() <= MAX_ARTICLE_CHARS + 40, "{}", text.len());
        assert!(text.ends_with("[… article truncated]"));
        assert!(text.starts_with("[0] word word"));
    }
}
