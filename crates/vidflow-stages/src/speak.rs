//! `speak`: the script spoken by the speech engine linked into the binary, with word and
//! phone timings for captions and the presenter's mouth.

use std::sync::Arc;
use std::time::Duration;

use vidflow_core::{
    Artifact, BoxFuture, Config, ContentKey, DataType, InputKeys, Inputs, MakeRequest, Port,
    Script, Stage, StageContext, StageOptions, VidflowError,
};

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
        const PORTS: [Port; 1] = [Port::required(DataType::Script)];
        &PORTS
    }

    fn output(&self) -> DataType {
        DataType::Speech
    }

    fn check(&self, request: &MakeRequest, _connected: &[DataType]) -> Result<(), VidflowError> {
        vidflow_speech::Voice::check(&request.voice)
    }

    fn key(&self, request: &MakeRequest, inputs: InputKeys<'_>) -> ContentKey {
        let mut key = ContentKey::builder("speak", VERSION);
        if let Some(script) = inputs.get(DataType::Script) {
            key = key.input(script);
        }
        key.param("voice", &request.voice)
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
            let voice = ctx.request.voice.clone();
            let speech = tokio::task::spawn_blocking(move || {
                let voice = vidflow_speech::Voice::load(&voice)?;
                vidflow_speech::speak_script(&script, &voice, SEGMENT_PAUSE)
            })
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

    /// Flite speaks ~30 s of audio per second of CPU.
    fn estimate_seconds(&self, request: &MakeRequest) -> f64 {
        request.max_seconds / 30.0
    }
}
