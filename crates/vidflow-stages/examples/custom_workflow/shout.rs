//! A stage type of your own: the whole of it is this file and one `register` line.

use std::sync::Arc;

use vidflow_core::{
    Artifact, BoxFuture, Config, ContentKey, DataType, InputKeys, Inputs, MakeRequest, Port,
    Script, Stage, StageContext, StageOptions, VidflowError,
};

/// The new stage type: a script in capitals.
pub struct Shout;

impl Shout {
    /// The registry's factory (the stage type takes no options).
    pub fn build(
        options: StageOptions<'_>,
        _config: &Config,
    ) -> Result<Arc<dyn Stage>, VidflowError> {
        options.none()?;
        Ok(Arc::new(Shout))
    }
}

impl Stage for Shout {
    /// It takes a script...
    fn inputs(&self) -> &[Port] {
        const PORTS: [Port; 1] = [Port::required(DataType::Script)];
        &PORTS
    }

    /// ...and makes one.
    fn output(&self) -> DataType {
        DataType::Script
    }

    /// Its output depends on its input alone: the key chains the input's key.
    fn key(&self, _request: &MakeRequest, inputs: InputKeys<'_>) -> ContentKey {
        let mut key = ContentKey::builder("shout", 1);
        if let Some(script) = inputs.get(DataType::Script) {
            key = key.input(script);
        }
        key.build()
    }

    fn run<'a>(
        &'a self,
        _ctx: &'a StageContext<'a>,
        inputs: &'a Inputs,
    ) -> BoxFuture<'a, Result<Artifact, VidflowError>> {
        Box::pin(async move {
            let mut script: Script = inputs.need::<Script>()?.as_ref().clone();
            for segment in &mut script.segments {
                segment.narration = segment.narration.to_uppercase();
                segment.key_sentence = segment.key_sentence.to_uppercase();
            }
            Ok(Artifact::from(script))
        })
    }
}
