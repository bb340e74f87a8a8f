//! `speak`: the script spoken by the request's voice (Flite, linked in, or a neural voice
//! from the voice catalog), with word and phone timings for captions and the presenter's
//! mouth.
//!
//! The voice `auto` picks by the page's language (the article, when the workflow connects
//! it), so the key then includes the article's key and which neural voices are installed.

use std::collections::VecDeque;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use vidflow_core::{
    Article, Artifact, BoxFuture, Config, ContentKey, DataType, InputKeys, Inputs, MakeRequest,
    Port, Script, Speech, Stage, StageContext, StageOptions, VidflowError,
};
use vidflow_speech::VoiceChoice;

const VERSION: u32 = 1;

/// Silence between two segments of narration, seconds.
pub const SEGMENT_PAUSE: f64 = 0.45;

/// Speaks the script.
pub struct SpeakStage;

impl SpeakStage {
    /// The registry's factory: no options; the voice is the request's.
    pub fn build(
        options: StageOptions<'_>,
        _config: &Config,
    ) -> Result<Arc<dyn Stage>, VidflowError> {
        options.none()?;
        Ok(Arc::new(SpeakStage))
    }
}

impl Stage for SpeakStage {
    fn inputs(&self) -> &[Port] {
        const PORTS: [Port; 2] = [
            Port::required(DataType::Script),
            Port::optional(DataType::Article),
        ];
        &PORTS
    }

    fn output(&self) -> DataType {
        DataType::Speech
    }

    /// A named voice must be known and installed here; `auto` resolves once the page's
    /// language is known.
    fn check(&self, request: &MakeRequest, _connected: &[DataType]) -> Result<(), VidflowError> {
        voice_usable_here(&request.voice)
    }

    fn key(&self, request: &MakeRequest, inputs: InputKeys<'_>) -> ContentKey {
        let mut key = ContentKey::builder("speak", VERSION);
        if let Some(script) = inputs.get(DataType::Script) {
            key = key.input(script);
        }
        voice_key(key, request, inputs.get(DataType::Article))
            .param_json("pause", &SEGMENT_PAUSE)
            .build()
    }

    fn run<'a>(
        &'a self,
        ctx: &'a StageContext<'a>,
        inputs: &'a Inputs,
    ) -> BoxFuture<'a, Result<Artifact, VidflowError>> {
        Box::pin(async move {
            let script: Arc<Script> = inputs.need::<Script>()?.clone();
            let choice = choose_voice(&ctx.request.voice, inputs.get::<Article>().map(|a| &**a))?;
            let speech = tokio::task::spawn_blocking(move || speak_script(&choice, &script, false))
                .await
                .map_err(crate::join_error)??;
            Ok(Artifact::from(speech))
        })
    }

    fn timeout(&self, config: &Config) -> Duration {
        Duration::from_secs(config.timeouts.speak)
    }

    fn weight(&self) -> f64 {
        10.0
    }

    /// Flite speaks ~30 s of audio per second of CPU, a Piper voice ~7 on one core.
    fn estimate_seconds(&self, request: &MakeRequest) -> f64 {
        match vidflow_speech::resolve(&request.voice, None) {
            Ok(choice) if choice.is_neural() => request.max_seconds / 7.0,
            _ => request.max_seconds / 30.0,
        }
    }
}

/// Speech the script stage made while fitting a summary to the narration budget, kept for
/// the speak stage of the same process: a neural voice then speaks the script once, not
/// twice. Bounded, because a candidate that did not fit is never asked for.
static SPOKEN: LazyLock<Mutex<VecDeque<Spoken>>> = LazyLock::new(Default::default);

/// How many speeches [`SPOKEN`] holds (about 6 MB per minute of 24 kHz audio).
const SPOKEN_KEEP: usize = 4;

struct Spoken {
    voice: String,
    script: Script,
    speech: Speech,
}

/// `script` spoken by `choice` with [`SEGMENT_PAUSE`] between segments: taken from what the
/// script stage kept when it spoke the same script with the same voice, else spoken now (and,
/// with `keep`, kept for the speak stage when the voice is a neural one, which is slow).
pub(crate) fn speak_script(
    choice: &VoiceChoice,
    script: &Script,
    keep: bool,
) -> Result<Speech, VidflowError> {
    let voice_key = format!("{:?}", choice.key_params()?);
    {
        let mut kept = SPOKEN.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = kept
            .iter()
            .position(|k| k.voice == voice_key && k.script == *script)
        {
            let found = kept.remove(i).expect("a position in range");
            return Ok(if keep {
                let speech = found.speech.clone();
                kept.push_back(found);
                speech
            } else {
                found.speech
            });
        }
    }
    let voice = choice.load()?;
    let speech = vidflow_speech::speak_script_with(script, &voice, SEGMENT_PAUSE)?;
    if keep && choice.is_neural() {
        let mut kept = SPOKEN.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() == SPOKEN_KEEP {
            kept.pop_front();
        }
        kept.push_back(Spoken {
            voice: voice_key,
            script: script.clone(),
            speech: speech.clone(),
        });
    }
    Ok(speech)
}

/// Whether this process can speak with `voice`: `auto` always can (it falls back to Flite),
/// a named voice must be known and installed here. A worker asks this before it takes on a
/// task that speaks, so that a missing voice is refused at once, not found late.
pub fn voice_usable_here(voice: &str) -> Result<(), VidflowError> {
    if is_auto(voice) {
        return Ok(());
    }
    vidflow_speech::resolve(voice, None).map(|_| ())
}

/// The stage types that speak (the extractive script is fitted by speaking it).
pub const SPEAKING_STAGE_TYPES: [&str; 2] = ["speak", "script"];

fn is_auto(voice: &str) -> bool {
    voice.trim().eq_ignore_ascii_case(vidflow_speech::AUTO)
}

/// The voice for `requested` and the page `article` is from: logs why when `auto` fell back
/// to Flite.
pub(crate) fn choose_voice(
    requested: &str,
    article: Option<&Article>,
) -> Result<VoiceChoice, VidflowError> {
    let lang = article.and_then(|a| a.lang.as_deref());
    let choice = vidflow_speech::resolve(requested, lang)?;
    if let Some(why) = &choice.fallback {
        tracing::warn!("{why}");
    }
    Ok(choice)
}

/// Adds what identifies the voice's output to a key: for a named voice its engine, model
/// hash and settings; for `auto` also what it depends on (the page, through the article's
/// key, and which voices are installed), since it is resolved only when the stage runs.
pub(crate) fn voice_key(
    key: vidflow_core::ContentKeyBuilder,
    request: &MakeRequest,
    article: Option<&ContentKey>,
) -> vidflow_core::ContentKeyBuilder {
    if !is_auto(&request.voice) {
        return match vidflow_speech::resolve(&request.voice, None).and_then(|c| c.key_params()) {
            Ok(params) => params
                .into_iter()
                .fold(key, |key, (name, value)| key.param(name, &value)),
            // Refused by `check` before any key is used; the name alone keeps this total.
            Err(_) => key.param("voice", &request.voice),
        };
    }
    let mut key = key.param("voice", vidflow_speech::AUTO);
    if let Some(article) = article {
        key = key.input(article);
    }
    for entry in vidflow_speech::voices() {
        if entry.installed && entry.engine != "flite" {
            let params = vidflow_speech::resolve(&entry.id, None).and_then(|c| c.key_params());
            key = key.param("installed", format!("{}:{params:?}", entry.id));
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept_for(script: &Script) -> usize {
        SPOKEN
            .lock()
            .unwrap()
            .iter()
            .filter(|k| k.script == *script)
            .count()
    }

    /// The script stage's speech of a summary is what the speak stage gets for the same
    /// script and neural voice, and it is handed over once; Flite's is never kept.
    #[test]
    fn speech_spoken_while_fitting_is_handed_to_the_speak_stage_once() {
        let script = vidflow_script::script_from_text(
            "Kept speech\n\nThis sentence is spoken while the summary is fitted.",
            None,
        )
        .unwrap();
        let flite = vidflow_speech::resolve("slt", None).unwrap();
        speak_script(&flite, &script, true).unwrap();
        assert_eq!(kept_for(&script), 0, "Flite is fast: nothing kept");

        let neural = match vidflow_speech::resolve("joe", None) {
            Ok(choice) => choice,
            Err(e) => {
                assert!(
                    std::env::var_os("VIDFLOW_REQUIRE_VOICES").is_none(),
                    "VIDFLOW_REQUIRE_VOICES is set but joe is not installed: {e}"
                );
                eprintln!("skipped: {e}");
                return;
            }
        };
        let fitted = speak_script(&neural, &script, true).unwrap();
        assert_eq!(kept_for(&script), 1);
        let again = speak_script(&neural, &script, true).unwrap();
        assert_eq!(kept_for(&script), 1, "asked again while fitting: still one");
        assert_eq!(again, fitted);
        let spoken = speak_script(&neural, &script, false).unwrap();
        assert_eq!(spoken, fitted);
        assert_eq!(kept_for(&script), 0, "the speak stage takes it");
    }
}
