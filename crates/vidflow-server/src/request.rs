//! The body of `POST /v1/videos`: parsing (unknown fields rejected), validation (every
//! invalid field at once), and turning it into the pipeline's [`MakeRequest`].

use std::path::PathBuf;

use axum::body::Bytes;
use axum::http::StatusCode;
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use vidflow_core::config::{VideoDefaults, X264Tuning};
use vidflow_core::{MakeRequest, Source, StageName, VideoSize, VidflowError};

use crate::error::{ApiError, FieldError};

/// Longest `html` accepted (the whole body is capped at 1 MiB anyway).
const MAX_HTML: usize = 1024 * 1024;
/// Longest `script`.
const MAX_SCRIPT: usize = 100_000;
/// Frame rates a video may have.
const FPS: [u32; 4] = [24, 25, 30, 60];
use vidflow_core::request::NO_BASE_URL as NO_BASE;

/// A video to make: exactly one of `url`, `html` or `script`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://example.org/article",
    "avatar": "avatar_1",
    "workflow_id": "explainer",
    "idempotency_key": "weekly-digest-2026-11-26",
    "options": {"size": "1280x720", "fps": 30, "max_seconds": 60, "voice": "slt", "subtitles": true}
}))]
pub struct VideoRequest {
    /// Page to fetch, `http://` or `https://`. Private and loopback addresses are refused
    /// unless the server's own configuration allows them.
    #[garde(custom(web_url))]
    #[schema(
        max_length = 2048,
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[^\\s\\u0000-\\u001f\\u007f-\\u009f]+$",
        example = "https://example.org/article"
    )]
    pub url: Option<String>,
    /// The page itself (HTML).
    #[garde(inner(length(min = 1, max = MAX_HTML)))]
    #[schema(max_length = 1048576, min_length = 1)]
    pub html: Option<String>,
    /// URL that relative links and images in `html` resolve against (`http(s)://`); only
    /// used with `html`. Without it, relative images are skipped (the job's log says how
    /// many).
    #[garde(custom(web_url))]
    #[schema(
        max_length = 2048,
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[^\\s\\u0000-\\u001f\\u007f-\\u009f]+$"
    )]
    pub base_url: Option<String>,
    /// Your own script: one segment per paragraph; a short first line is the title.
    #[garde(inner(length(min = 1, max = MAX_SCRIPT)))]
    #[schema(max_length = 100000, min_length = 1)]
    pub script: Option<String>,
    /// Presenter: one of the built-in avatars (`GET /v1/avatars`); default from the server's
    /// configuration.
    #[garde(custom(builtin_avatar))]
    #[schema(schema_with = avatar_schema)]
    pub avatar: Option<String>,
    /// The workflow to run (`GET /v1/workflows`): by default `explainer` with a page and
    /// `own-script` with a script; `narrate` speaks a page's summary (no video); `slides`
    /// draws no presenter.
    #[garde(custom(valid_stage_id))]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[A-Za-z0-9_-]+$",
        example = "explainer"
    )]
    pub workflow_id: Option<String>,
    /// Idempotency key: the same key with the same body returns the first job; with a
    /// different body, 409.
    #[garde(custom(valid_idempotency_key))]
    #[schema(min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9._:-]+$")]
    pub idempotency_key: Option<String>,
    /// How the video is made; each option defaults to the server's configuration.
    #[serde(default)]
    #[garde(dive)]
    pub options: VideoOptions,
    /// Settings of a tuning workflow (`tune-encode`, `tune-encode-script`, `tune-render`);
    /// `POST /v1/tune` sets them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[garde(dive)]
    pub tune: Option<TuneOptions>,
    /// Validate and return the plan (stages, cache use, estimated time) without starting a job.
    #[serde(default)]
    #[garde(skip)]
    pub dry_run: bool,
}

/// How a search of `POST /v1/tune` runs; each setting has a default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct TuneOptions {
    /// Trials to run (default 40 for encode, 20 for render).
    #[garde(inner(range(min = 1, max = 200)))]
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(minimum = 1, maximum = 200, example = 40)]
    pub trials: Option<u32>,
    /// Encode: trials run at once (default 1).
    #[garde(inner(range(min = 1, max = 16)))]
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(minimum = 1, maximum = 16)]
    pub jobs: Option<u32>,
    /// Encode: the smallest file whose SSIM reaches this; without it, the Pareto front of
    /// size, SSIM and encode time.
    #[garde(inner(range(min = 0.5, max = 0.9999)))]
    #[schema(minimum = 0.5, maximum = 0.9999, example = 0.98)]
    pub target_ssim: Option<f64>,
    /// Encode: seconds of video in the sample (default 6).
    #[garde(inner(range(min = 0.5, max = 60.0)))]
    #[schema(minimum = 0.5, maximum = 60)]
    pub seconds: Option<f64>,
    /// Seed of the sampler (the same seed repeats a search).
    #[garde(skip)]
    pub seed: Option<u64>,
}

impl TuneOptions {
    /// The request parameters the tuning stages read (`tune_encode`, `tune_render`).
    fn params(&self) -> std::collections::BTreeMap<String, serde_json::Value> {
        let mut encode = serde_json::Map::new();
        let mut render = serde_json::Map::new();
        if let Some(t) = self.trials {
            encode.insert("trials".into(), t.into());
            render.insert("trials".into(), t.into());
        }
        if let Some(seed) = self.seed {
            encode.insert("seed".into(), seed.into());
            render.insert("seed".into(), seed.into());
        }
        if let Some(j) = self.jobs {
            encode.insert("jobs".into(), j.into());
        }
        if let Some(t) = self.target_ssim {
            encode.insert("target_ssim".into(), t.into());
        }
        if let Some(s) = self.seconds {
            encode.insert("seconds".into(), s.into());
        }
        [
            ("tune_encode".to_owned(), encode.into()),
            ("tune_render".to_owned(), render.into()),
        ]
        .into_iter()
        .collect()
    }
}

/// libx264 settings beyond preset and CRF; each left to the server's configuration when
/// unset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct X264Options {
    /// `-tune`: `film`, `animation`, `grain`, `stillimage`, `fastdecode`, `zerolatency`,
    /// `psnr` or `ssim`.
    #[garde(custom(x264_tune))]
    #[schema(example = "stillimage")]
    pub tune: Option<String>,
    /// The most frames between two keyframes, 1–1000.
    #[garde(inner(range(min = 1, max = 1000)))]
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(minimum = 1, maximum = 1000)]
    pub keyint: Option<u32>,
    /// Adaptive quantisation, 0–3.
    #[garde(inner(range(max = 3)))]
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(minimum = 0, maximum = 3)]
    pub aq_mode: Option<u8>,
}

fn x264_tune(value: &Option<String>, _: &()) -> garde::Result {
    match value {
        Some(t) if !vidflow_core::config::X264_TUNES.contains(&t.as_str()) => {
            Err(garde::Error::new(format!(
                "unknown x264 tune '{}': use one of {}",
                clip(t),
                vidflow_core::config::X264_TUNES.join(", ")
            )))
        }
        _ => Ok(()),
    }
}

/// How the video is made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct VideoOptions {
    /// Frame size.
    #[garde(skip)]
    pub size: Option<FrameSize>,
    /// Frames per second: 24, 25, 30 or 60.
    #[garde(custom(frame_rate))]
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(schema_with = fps_schema)]
    pub fps: Option<u32>,
    /// Narration budget in seconds (the video is as long as the narration).
    #[garde(inner(range(min = 1.0, max = 3600.0)))]
    #[schema(minimum = 1, maximum = 3600, example = 60)]
    pub max_seconds: Option<f64>,
    /// Voice (`GET /v1/voices`).
    #[garde(custom(known_voice))]
    #[schema(schema_with = voice_schema)]
    pub voice: Option<String>,
    /// x264 preset: faster presets make bigger files.
    #[garde(skip)]
    pub preset: Option<Preset>,
    /// x264 constant rate factor, 0–51 (lower is better and bigger).
    #[garde(inner(range(max = 51)))]
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(minimum = 0, maximum = 51, example = 23)]
    pub crf: Option<u8>,
    /// x264 settings beyond preset and CRF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[garde(dive)]
    pub x264: Option<X264Options>,
    /// The id of a finished encode search (`POST /v1/tune` with `"kind": "encode"`): its
    /// chosen preset, CRF and x264 settings, under the ones given here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[garde(custom(valid_stage_id))]
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_-]+$")]
    pub encode_profile: Option<String>,
    /// Burn subtitles into the frames (the .srt/.vtt files are written either way).
    #[garde(skip)]
    pub subtitles: Option<bool>,
    /// Stop after this stage of the workflow (`fetch`, `extract`, `script`, `speak`,
    /// `storyboard` in the explainer); the job's result is that stage's output as JSON.
    #[garde(custom(valid_stage_id))]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[A-Za-z0-9_-]+$",
        example = "script"
    )]
    pub stop_after: Option<String>,
}

/// Frame sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum FrameSize {
    /// Landscape HD.
    #[serde(rename = "1280x720")]
    Hd,
    /// Landscape full HD.
    #[serde(rename = "1920x1080")]
    FullHd,
    /// Portrait, for shorts.
    #[serde(rename = "1080x1920")]
    Portrait,
    /// Square.
    #[serde(rename = "1080x1080")]
    Square,
}

impl FrameSize {
    fn video_size(self) -> VideoSize {
        let (width, height) = match self {
            FrameSize::Hd => (1280, 720),
            FrameSize::FullHd => (1920, 1080),
            FrameSize::Portrait => (1080, 1920),
            FrameSize::Square => (1080, 1080),
        };
        VideoSize { width, height }
    }
}

/// x264 presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Preset {
    Ultrafast,
    Superfast,
    Veryfast,
    Faster,
    Fast,
    Medium,
    Slow,
    Slower,
    Veryslow,
}

impl Preset {
    fn as_str(self) -> &'static str {
        match self {
            Preset::Ultrafast => "ultrafast",
            Preset::Superfast => "superfast",
            Preset::Veryfast => "veryfast",
            Preset::Faster => "faster",
            Preset::Fast => "fast",
            Preset::Medium => "medium",
            Preset::Slow => "slow",
            Preset::Slower => "slower",
            Preset::Veryslow => "veryslow",
        }
    }
}

/// An optional whole number, also when written with a fraction of zero (`23.0`): JSON
/// (and JSON Schema's `integer`) does not tell the two apart.
fn whole_number<'de, D, T>(de: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    let Some(n) = Option::<serde_json::Number>::deserialize(de)? else {
        return Ok(None);
    };
    let whole = match (n.as_u64(), n.as_f64()) {
        (Some(u), _) => Some(u),
        (None, Some(f)) if f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64 => Some(f as u64),
        _ => None,
    };
    whole
        .and_then(|u| T::try_from(u).ok())
        .map(Some)
        .ok_or_else(|| {
            serde::de::Error::custom(format!("expected a whole number in range, got {n}"))
        })
}

fn web_url(value: &Option<String>, _: &()) -> garde::Result {
    let Some(url) = value else { return Ok(()) };
    if url.len() > 2048 {
        return Err(garde::Error::new("longer than 2048 characters"));
    }
    // Same rule as the schema's pattern: http(s)://, then something, with no white space
    // (as JSON Schema's ECMAScript `\s` counts it) and no control characters.
    let rest = ["http://", "https://"].iter().find_map(|scheme| {
        url.get(..scheme.len())
            .filter(|head| head.eq_ignore_ascii_case(scheme))
            .map(|_| &url[scheme.len()..])
    });
    match rest {
        // file:// and local paths would read the server's own files.
        None => Err(garde::Error::new("use an http:// or https:// URL")),
        Some(rest) if rest.is_empty() || url.chars().any(|c| c.is_control() || ecma_space(c)) => {
            Err(garde::Error::new("not a valid URL"))
        }
        Some(_) => Ok(()),
    }
}

/// White space as ECMAScript's `\s` (the schema pattern's dialect) has it: the line
/// terminators, BOM, and the Unicode space separators.
fn ecma_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

fn builtin_avatar(value: &Option<String>, _: &()) -> garde::Result {
    match value {
        Some(name) if !vidflow_avatar::Avatar::builtin_names().contains(&name.as_str()) => {
            Err(garde::Error::new(format!(
                "unknown avatar '{}': use one of {}",
                clip(name),
                vidflow_avatar::Avatar::builtin_names().join(", ")
            )))
        }
        _ => Ok(()),
    }
}

/// `auto` or a voice installed here (see `GET /v1/voices`); never a file path, which would
/// let a client read the server's files.
fn known_voice(value: &Option<String>, _: &()) -> garde::Result {
    let Some(name) = value else { return Ok(()) };
    let installed = || {
        installed_voices()
            .into_iter()
            .collect::<Vec<_>>()
            .join(", ")
    };
    if vidflow_speech::catalog::is_model_path(name) {
        return Err(garde::Error::new(format!(
            "voice '{}' is a file path; a request names an installed voice: auto, {}",
            clip(name),
            installed()
        )));
    }
    if name.trim().eq_ignore_ascii_case(vidflow_speech::AUTO) {
        return Ok(());
    }
    match vidflow_speech::resolve(name, None) {
        Ok(_) => Ok(()),
        Err(e)
            if vidflow_speech::voices()
                .iter()
                .any(|v| v.id == name.trim().to_ascii_lowercase()) =>
        {
            Err(garde::Error::new(format!(
                "voice '{}' is not installed on this server ({}); use one of auto, {}",
                clip(name),
                e.message,
                installed()
            )))
        }
        Err(_) => Err(garde::Error::new(format!(
            "unknown voice '{}': use one of auto, {}",
            clip(name),
            installed()
        ))),
    }
}

/// The ids of the voices installed here, best first.
fn installed_voices() -> Vec<String> {
    vidflow_speech::voices()
        .into_iter()
        .filter(|v| v.installed)
        .map(|v| v.id)
        .collect()
}

fn frame_rate(value: &Option<u32>, _: &()) -> garde::Result {
    match value {
        Some(fps) if !FPS.contains(fps) => Err(garde::Error::new(format!(
            "{fps} fps is not offered: use 24, 25, 30 or 60"
        ))),
        _ => Ok(()),
    }
}

fn valid_stage_id(value: &Option<String>, _: &()) -> garde::Result {
    let Some(id) = value else { return Ok(()) };
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(garde::Error::new(
            "use 1 to 64 characters from A-Z, a-z, 0-9, _ and -",
        ))
    }
}

fn valid_idempotency_key(value: &Option<String>, _: &()) -> garde::Result {
    let Some(id) = value else { return Ok(()) };
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'));
    if ok {
        Ok(())
    } else {
        Err(garde::Error::new(
            "use 1 to 128 characters from A-Z, a-z, 0-9 and . _ : -",
        ))
    }
}

/// A user's value shown in a message, cut short.
fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

fn enum_schema<T: Into<serde_json::Value>>(
    kind: Type,
    values: impl IntoIterator<Item = T>,
    example: T,
) -> RefOr<Schema> {
    let values: Vec<serde_json::Value> = values.into_iter().map(Into::into).collect();
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([kind, Type::Null]))
        .enum_values(Some(values.into_iter().chain([serde_json::Value::Null])))
        .examples([example.into()])
        .into()
}

fn fps_schema() -> RefOr<Schema> {
    enum_schema(Type::Integer, FPS, 30)
}

fn voice_schema() -> RefOr<Schema> {
    let mut ids = vec![vidflow_speech::AUTO.to_owned()];
    ids.extend(installed_voices());
    enum_schema(Type::String, ids.iter().map(String::as_str), "auto")
}

fn avatar_schema() -> RefOr<Schema> {
    enum_schema(
        Type::String,
        vidflow_avatar::Avatar::builtin_names().iter().copied(),
        "avatar_1",
    )
}

impl VideoRequest {
    /// Parses a JSON body: syntax errors are 400; unknown fields and wrong types are 422
    /// naming the field; then every rule is checked and all invalid fields are reported.
    pub fn from_json(body: &Bytes) -> Result<VideoRequest, ApiError> {
        let req: VideoRequest = parse_json(body)?;
        req.check()?;
        Ok(req)
    }

    /// Every rule, every invalid field.
    pub fn check(&self) -> Result<(), ApiError> {
        let mut fields: Vec<FieldError> = match self.validate() {
            Ok(()) => Vec::new(),
            Err(report) => report
                .iter()
                .map(|(path, err)| FieldError {
                    field: path.to_string(),
                    message: err.message().to_string(),
                })
                .collect(),
        };
        let given: Vec<&str> = [
            ("url", self.url.is_some()),
            ("html", self.html.is_some()),
            ("script", self.script.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        match given.as_slice() {
            [_] => {}
            [] => fields.push(FieldError {
                field: "url".into(),
                message: "give exactly one of url, html or script".into(),
            }),
            many => {
                for name in many {
                    fields.push(FieldError {
                        field: (*name).into(),
                        message: format!("give only one of {}", many.join(", ")),
                    });
                }
            }
        }
        if fields.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid_fields(fields))
        }
    }

    /// Hex hash of the request in canonical form (fields in declaration order, `dry_run`
    /// left out): equal requests hash equal however their JSON was laid out.
    pub fn canonical_hash(&self) -> String {
        let mut canonical = self.clone();
        canonical.dry_run = false;
        let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
        blake3::hash(&bytes).to_hex().to_string()
    }

    /// The pipeline request, options not given taken from `defaults`.
    pub fn to_make_request(
        &self,
        defaults: &VideoDefaults,
        output: PathBuf,
    ) -> Result<MakeRequest, VidflowError> {
        let source = match (&self.url, &self.html) {
            (Some(url), _) => Some(Source::Url(url.clone())),
            (None, Some(html)) => Some(Source::Html {
                html: html.clone(),
                base_url: self.base_url.clone().unwrap_or_else(|| NO_BASE.to_owned()),
            }),
            (None, None) => None,
        };
        let o = &self.options;
        let size = match o.size {
            Some(s) => s.video_size(),
            None => VideoSize::parse(&defaults.size)
                .map_err(|e| VidflowError::internal(format!("video.size: {e}")))?,
        };
        Ok(MakeRequest {
            source,
            script_text: self.script.clone(),
            workflow: self.workflow_id.clone(),
            avatar: self
                .avatar
                .clone()
                .unwrap_or_else(|| defaults.avatar.clone()),
            size,
            fps: o.fps.unwrap_or(defaults.fps),
            max_seconds: o.max_seconds.unwrap_or(defaults.max_seconds),
            voice: o.voice.clone().unwrap_or_else(|| defaults.voice.clone()),
            preset: o
                .preset
                .map_or_else(|| defaults.preset.clone(), |p| p.as_str().to_owned()),
            crf: o.crf.unwrap_or(defaults.crf),
            x264: match &o.x264 {
                None => defaults.x264.clone(),
                Some(x) => X264Tuning {
                    tune: x.tune.clone().or_else(|| defaults.x264.tune.clone()),
                    keyint: x.keyint.or(defaults.x264.keyint),
                    aq_mode: x.aq_mode.or(defaults.x264.aq_mode),
                },
            },
            subtitles: o.subtitles.unwrap_or(defaults.subtitles),
            stop_after: o.stop_after.as_deref().map(StageName::new),
            params: self
                .tune
                .as_ref()
                .map(TuneOptions::params)
                .unwrap_or_default(),
            output,
        })
    }
}

/// Parses a whole JSON body as `T`: one JSON value and nothing after it but white space
/// (trailing bytes would be a second request smuggled past whoever logs the first).
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(parse_error)?;
    de.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body has more after its JSON value: {e}"),
        )
    })?;
    Ok(value)
}

/// A body that does not parse: syntax errors are 400 (naming the field where the parser
/// had reached one: a number too large for any type, say), unknown fields and wrong types
/// 422 naming the field.
pub(crate) fn parse_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        let at_field = !(path.is_empty() || path == "." || path == "?");
        let message = if at_field {
            format!("the body is not valid JSON at {path}: {inner}")
        } else {
            format!("the body is not valid JSON: {inner}")
        };
        return ApiError {
            fields: if at_field {
                vec![serde_field_error(&path, &inner.to_string())]
            } else {
                Vec::new()
            },
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", message)
        };
    }
    ApiError::invalid_fields(vec![serde_field_error(&path, &inner.to_string())])
}

/// What the derive cannot say about [`VideoRequest`]: exactly one of `url`, `html` or
/// `script` is a string; `workflow_id` names one of `workflows` (with a page, one that
/// reads a page; with a script, one that does not); `stop_after` names a stage of the
/// workflow that runs. Merged into the generated schema so that clients (and fuzzers) see
/// the rules the server applies.
pub fn schema_rules(workflows: &[WorkflowRule]) -> serde_json::Value {
    let given = |name: &str| serde_json::json!({"required": [name], "properties": {name: {"type": "string"}}});
    let ids = |page: bool| -> Vec<&str> {
        workflows
            .iter()
            .filter(|w| w.reads_page == page)
            .map(|w| w.id.as_str())
            .collect()
    };
    let mut rules = vec![
        // With a page: a workflow that reads one; with a script: one that does not.
        serde_json::json!({
            "if": {"anyOf": [given("url"), given("html")]},
            "then": {"properties": {"workflow_id": {"enum": ids(true)}}}
        }),
        serde_json::json!({
            "if": given("script"),
            "then": {"properties": {"workflow_id": {"enum": ids(false)}}}
        }),
    ];
    // Which workflow runs decides the stages `stop_after` may name.
    for w in workflows {
        let selected = if w.default_for_page || w.default_for_script {
            let by_source = if w.default_for_page {
                serde_json::json!({"anyOf": [given("url"), given("html")]})
            } else {
                given("script")
            };
            serde_json::json!({"anyOf": [
                {"required": ["workflow_id"], "properties": {"workflow_id": {"const": w.id}}},
                {"allOf": [{"not": {"required": ["workflow_id"]}}, by_source]}
            ]})
        } else {
            serde_json::json!({"required": ["workflow_id"], "properties": {"workflow_id": {"const": w.id}}})
        };
        rules.push(serde_json::json!({
            "if": selected,
            "then": {"properties": {"options": {"properties": {"stop_after": {"enum": w.stages}}}}}
        }));
    }
    serde_json::json!({
        "oneOf": [given("url"), given("html"), given("script")],
        "allOf": rules
    })
}

/// What [`schema_rules`] needs to know of one workflow.
#[derive(Debug, Clone)]
pub struct WorkflowRule {
    /// Its id.
    pub id: String,
    /// Whether it reads a page (has a `fetch` stage) rather than a script.
    pub reads_page: bool,
    /// The workflow a page runs when none is named.
    pub default_for_page: bool,
    /// The workflow a script runs when none is named.
    pub default_for_script: bool,
    /// Its stages, in running order.
    pub stages: Vec<String>,
}

/// A serde error as a field error. The path names the field, unknown ones included.
fn serde_field_error(path: &str, message: &str) -> FieldError {
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned();
    let field = if path.is_empty() || path == "." {
        "body".to_owned()
    } else {
        path.to_owned()
    };
    FieldError { field, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<VideoRequest, ApiError> {
        VideoRequest::from_json(&Bytes::copy_from_slice(json.as_bytes()))
    }

    fn fields(err: &ApiError) -> Vec<&str> {
        err.fields.iter().map(|f| f.field.as_str()).collect()
    }

    #[test]
    fn several_invalid_fields_are_reported_together() {
        let err = parse(
            r#"{"url": "file:///etc/passwd", "options": {"fps": 29, "crf": 70, "max_seconds": 0, "voice": "bob"}}"#,
        )
        .unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        let mut got = fields(&err);
        got.sort();
        assert_eq!(
            got,
            [
                "options.crf",
                "options.fps",
                "options.max_seconds",
                "options.voice",
                "url"
            ]
        );
    }

    #[test]
    fn unknown_fields_and_wrong_types_name_the_field() {
        let err = parse(r#"{"html": "<p>x</p>", "options": {"colour": "red"}}"#).unwrap_err();
        assert_eq!(fields(&err), ["options.colour"]);
        let err = parse(r#"{"html": "<p>x</p>", "dryrun": true}"#).unwrap_err();
        assert_eq!(fields(&err), ["dryrun"]);
        let err = parse(r#"{"html": "<p>x</p>", "options": {"fps": "fast"}}"#).unwrap_err();
        assert_eq!(fields(&err), ["options.fps"]);
        let err = parse(r#"{"html": "<p>x</p>", "options": {"crf": 2.5}}"#).unwrap_err();
        assert_eq!(fields(&err), ["options.crf"]);
        let err = parse(r#"{"html": "<p>x</p>", "options": {"crf": 300}}"#).unwrap_err();
        assert_eq!(fields(&err), ["options.crf"]);
        let ok = parse(r#"{"html": "<p>x</p>", "options": {"crf": 20.0, "fps": 25}}"#).unwrap();
        assert_eq!((ok.options.crf, ok.options.fps), (Some(20), Some(25)));
        let err = parse(r#"{"html": "#).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn trailing_bytes_and_huge_numbers_are_refused_by_name() {
        let err = parse(r#"{"html": "<p>x</p>"} {"html": "<p>y</p>"}"#).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(
            err.message.contains("more after its JSON"),
            "{}",
            err.message
        );
        let err = parse(r#"{"html": "<p>x</p>"}garbage"#).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        // White space after the value is no garbage.
        parse("{\"html\": \"<p>x</p>\"}\n\t ").unwrap();
        // Too large for any number type: the parser names where it was.
        let err = parse(r#"{"html": "<p>x</p>", "options": {"crf": 1e999}}"#).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(fields(&err), ["options.crf"], "{}", err.message);
        // Too large for the field's type: a field error.
        let err = parse(r#"{"html": "<p>x</p>", "options": {"fps": 99999999999999999999999}}"#)
            .unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(fields(&err), ["options.fps"]);
        let err = parse(r#"{"html": "<p>x</p>", "options": {"max_seconds": 1e300}}"#).unwrap_err();
        assert_eq!(fields(&err), ["options.max_seconds"]);
    }

    #[test]
    fn urls_follow_the_schema_pattern() {
        // U+0085 is a control character (and white space to Rust, not to ECMAScript).
        let err = parse(r#"{"html": "<p>x</p>", "base_url": "https://a\u0085b"}"#).unwrap_err();
        assert_eq!(fields(&err), ["base_url"]);
        let err = parse(r#"{"url": "https://a b"}"#).unwrap_err();
        assert_eq!(fields(&err), ["url"]);
        assert!(parse(r#"{"url": "hTTpS://exämple.org/ü?q=1"}"#).is_ok());
    }

    #[test]
    fn exactly_one_source() {
        assert_eq!(fields(&parse("{}").unwrap_err()), ["url"]);
        let err = parse(r#"{"html": "<p>x</p>", "script": "Hi."}"#).unwrap_err();
        assert_eq!(fields(&err), ["html", "script"]);
        parse(r#"{"script": "Hello there."}"#).unwrap();
    }

    #[test]
    fn the_hash_ignores_layout_and_dry_run() {
        let a = parse(r#"{"html": "<p>x</p>", "options": {"fps": 25, "crf": 20}}"#).unwrap();
        let b =
            parse(r#"{"options": {"crf": 20, "fps": 25}, "dry_run": true, "html": "<p>x</p>"}"#)
                .unwrap();
        assert_eq!(a.canonical_hash(), b.canonical_hash());
        let c = parse(r#"{"html": "<p>x</p>", "options": {"fps": 30}}"#).unwrap();
        assert_ne!(a.canonical_hash(), c.canonical_hash());
    }

    #[test]
    fn defaults_fill_what_the_request_leaves_out() {
        let req = parse(
            r#"{"html": "<p>x</p>", "options": {"size": "1080x1920", "preset": "ultrafast"}}"#,
        )
        .unwrap();
        let make = req
            .to_make_request(&VideoDefaults::default(), "out/video.mp4".into())
            .unwrap();
        assert_eq!(
            make.size,
            VideoSize {
                width: 1080,
                height: 1920
            }
        );
        assert_eq!(make.preset, "ultrafast");
        assert_eq!(make.fps, 30);
        assert_eq!(
            make.source,
            Some(Source::Html {
                html: "<p>x</p>".into(),
                base_url: NO_BASE.into()
            })
        );
    }
}
