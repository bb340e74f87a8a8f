//! `script`: what is said and shown — the user's own script, an OpenAI-compatible chat
//! model's, or an extractive summary fitted to the narration budget as spoken.

use std::sync::Arc;
use std::time::Duration;

use vidflow_core::{
    Article, Artifact, BoxFuture, Config, ContentKey, DataType, InputKeys, Inputs, MakeRequest,
    Port, Script, Stage, StageContext, StageOptions, VidflowError,
};
use vidflow_script::{ChatBackend, ScriptOptions};

const VERSION: u32 = 1;

/// Flite's pace on ordinary prose, words per second (measured with the slt voice).
pub const WORDS_PER_SECOND: f64 = 2.8;

/// Writes the script.
pub struct ScriptStage {
    chat: Option<ChatBackend>,
    base_url: String,
    model: String,
}

impl ScriptStage {
    /// The registry's factory: no options; the chat model comes from `llm.*`.
    pub fn build(
        options: StageOptions<'_>,
        config: &Config,
    ) -> Result<Arc<dyn Stage>, VidflowError> {
        options.none()?;
        let chat = match (&config.llm.base_url, &config.llm.model) {
            (Some(url), Some(model)) => Some(ChatBackend::new(
                url,
                model,
                config.llm.api_key.clone(),
                Duration::from_secs(config.timeouts.script),
            )?),
            (Some(_), None) => {
                return Err(VidflowError::bad_input(
                    "llm.base_url is set but llm.model is not: name the model to use",
                ));
            }
            _ => None,
        };
        Ok(Arc::new(ScriptStage {
            chat,
            base_url: config.llm.base_url.clone().unwrap_or_default(),
            model: config.llm.model.clone().unwrap_or_default(),
        }))
    }
}

impl Stage for ScriptStage {
    fn inputs(&self) -> &[Port] {
        const PORTS: [Port; 1] = [Port::optional(DataType::Article)];
        &PORTS
    }

    fn output(&self) -> DataType {
        DataType::Script
    }

    fn check(&self, request: &MakeRequest, connected: &[DataType]) -> Result<(), VidflowError> {
        if request.script_text.is_none() && !connected.contains(&DataType::Article) {
            return Err(VidflowError::bad_input(
                "this workflow narrates a script of your own: give one (--script FILE, or `script` in the API), or choose a workflow that reads a page",
            ));
        }
        if let Some(text) = &request.script_text {
            check_script_length(text, request.max_seconds)?;
        }
        Ok(())
    }

    /// With a chat backend the model is part of the key; the extractive summary is fitted
    /// to the voice's pace, so the voice is.
    fn key(&self, request: &MakeRequest, inputs: InputKeys<'_>) -> ContentKey {
        let mut key = ContentKey::builder("script", VERSION)
            .param_json("max_seconds", &request.max_seconds)
            .param_json("words_per_second", &WORDS_PER_SECOND);
        if let Some(k) = inputs.get(DataType::Article) {
            key = key.input(k);
        }
        match (&request.script_text, &self.chat) {
            (Some(text), _) => key.bytes("user_script", text.as_bytes()),
            (None, Some(_)) => key
                .param("backend", "chat")
                .param("base_url", &self.base_url)
                .param("model", &self.model),
            (None, None) => crate::speak::voice_key(
                key.param("backend", "extractive"),
                request,
                inputs.get(DataType::Article),
            ),
        }
        .build()
    }

    fn run<'a>(
        &'a self,
        ctx: &'a StageContext<'a>,
        inputs: &'a Inputs,
    ) -> BoxFuture<'a, Result<Artifact, VidflowError>> {
        Box::pin(async move {
            let req = ctx.request;
            let article = inputs.get::<Article>();
            let opts = ScriptOptions {
                max_seconds: req.max_seconds,
                words_per_second: WORDS_PER_SECOND,
                ..ScriptOptions::default()
            };
            let script = match (&req.script_text, &self.chat, article) {
                (Some(text), _, _) => {
                    check_script_length(text, req.max_seconds)?;
                    let title = article.map(|a| a.title.as_str()).filter(|t| !t.is_empty());
                    let mut s = vidflow_script::script_from_text(text, title)?;
                    if let Some(a) = article {
                        attach_images(&mut s, a);
                    }
                    s
                }
                (None, Some(chat), Some(article)) => chat.write_script(article, &opts).await?,
                (None, None, Some(article)) => {
                    let voice = crate::speak::choose_voice(&req.voice, Some(article))?;
                    fit_summary(article, &opts, voice).await?
                }
                (None, _, None) => {
                    return Err(VidflowError::bad_input(
                        "the script stage needs a page's text (an extract stage before it) or a script of your own",
                    ));
                }
            };
            Ok(Artifact::from(script))
        })
    }

    /// The extractive summary is fitted by speaking it, which with a neural voice on a busy
    /// machine can take as long as the speak stage: the longer of the two limits.
    fn timeout(&self, config: &Config) -> Duration {
        Duration::from_secs(config.timeouts.script.max(config.timeouts.speak))
    }

    fn weight(&self) -> f64 {
        6.0
    }

    /// The extractive summary is spoken to fit the budget; a user's script costs nothing.
    fn estimate_seconds(&self, request: &MakeRequest) -> f64 {
        if request.script_text.is_some() {
            0.01
        } else if vidflow_speech::resolve(&request.voice, None).is_ok_and(|c| c.is_neural()) {
            request.max_seconds / 7.0 + 0.2
        } else {
            request.max_seconds / 30.0 + 0.2
        }
    }
}

/// How far a user's script may run past `max_seconds` at the estimated pace before it is
/// refused: voices differ in pace, and a script is the user's to word.
const SCRIPT_SLACK: f64 = 1.2;

/// A user's script must fit the narration budget (`max_seconds`) like a summary does:
/// unchecked, 100k characters would make a 95-minute job. Judged by words at the
/// estimated pace (with [`SCRIPT_SLACK`]), before anything is spoken.
pub fn check_script_length(text: &str, max_seconds: f64) -> Result<(), VidflowError> {
    let words = text.split_whitespace().count();
    let allowed = (max_seconds * WORDS_PER_SECOND * SCRIPT_SLACK).floor() as usize;
    if words > allowed {
        return Err(VidflowError::bad_input(format!(
            "the script has {words} words, about {:.0} s spoken; the narration limit (max_seconds) is {max_seconds} s, about {allowed} words: shorten it or raise max_seconds",
            words as f64 / WORDS_PER_SECOND
        )));
    }
    Ok(())
}

/// Summarises to fit the time budget as spoken: the word budget is a guess at the voice's
/// pace (pauses and long words vary it), so the summary is spoken once and, when too long,
/// made again with the budget scaled by how far over it went. Flite speaks a minute of
/// audio in about two seconds, so this costs little and keeps videos within --max-seconds;
/// a neural voice is slower (a Piper voice ~0.15 s per second of audio per core), and is
/// spread over the cores.
async fn fit_summary(
    article: &Article,
    opts: &ScriptOptions,
    voice: vidflow_speech::VoiceChoice,
) -> Result<Script, VidflowError> {
    let mut opts = opts.clone();
    let mut script = vidflow_script::summarize(article, &opts)?;
    for _ in 0..4 {
        let spoken = script.clone();
        let choice = voice.clone();
        let seconds = tokio::task::spawn_blocking(move || {
            crate::speak::speak_script(&choice, &spoken, true).map(|s| s.duration())
        })
        .await
        .map_err(crate::join_error)??;
        if seconds <= opts.max_seconds {
            break;
        }
        opts.words_per_second *= opts.max_seconds / seconds * 0.97;
        let shorter = vidflow_script::summarize(article, &opts)?;
        if shorter == script {
            break;
        }
        script = shorter;
    }
    Ok(script)
}

/// A user's own script has no image choices: give its segments the page's images in order.
fn attach_images(script: &mut Script, article: &Article) {
    for (seg, i) in script
        .segments
        .iter_mut()
        .skip(1)
        .zip(0..article.images.len())
    {
        seg.image = Some(i);
    }
}

#[cfg(test)]
mod length_tests {
    use super::*;

    #[test]
    fn a_script_longer_than_the_narration_limit_is_refused() {
        let long = "word ".repeat(1000);
        let err = check_script_length(&long, 60.0).unwrap_err();
        assert!(err.message.contains("1000 words"), "{}", err.message);
        assert!(err.message.contains("max_seconds"), "{}", err.message);
        assert!(check_script_length(&long, 600.0).is_ok());
        assert!(check_script_length("A short script.", 4.0).is_ok());
    }
}
