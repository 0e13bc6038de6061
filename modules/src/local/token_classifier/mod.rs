//! The `token-classifier` module: `BertForTokenClassification` in process, serving
//! `token-classification` with Hugging Face aggregation strategies (`config: {aggregation:
//! none|simple|first|average|max}`, default `simple`) and code-point offsets.

pub mod aggregation;

use std::sync::Arc;

use serde_json::Value;
use taskgate_runtime::bert::{TextTokenizer, TokenClassifier, Truncation};
use taskgate_runtime::{Batcher, offload};
use taskgate_schemas::{ProducerId, TokenClassificationResults};

use crate::framework::settings::{Flat, struct_settings};
use crate::framework::tasks::TokenClassification;
use crate::local::encoder_settings::{EncoderSettings, softmax};
use crate::{Model, ModelSpec, ModuleError, Predict, TaskError, TaskFuture, TaskInput};
use aggregation::{Aggregation, TokenScores, aggregate};

pub const MODULE_NAME: &str = "token-classifier";

pub struct TokenClassifierFactory;

/// `token-classifier` settings: [`EncoderSettings`] and [`TokenClassifierOptions`] side by side.
pub type TokenClassifierSettings = Flat<EncoderSettings, TokenClassifierOptions>;

/// A `BertForTokenClassification` model: how word pieces are grouped into entities, besides
/// the settings every in-process encoder shares.
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenClassifierOptions {
    /// How word pieces are grouped into entities (default `simple`).
    #[serde(default)]
    pub aggregation: Option<Aggregation>,
}

struct_settings!(TokenClassifierOptions);

#[derive(Clone)]
struct TokenClassifierService {
    batcher: Batcher<Vec<Vec<f32>>>,
    tokenizer: Arc<TextTokenizer>,
    labels: Arc<Vec<String>>,
    aggregation: Aggregation,
}

impl TokenClassifierFactory {
    pub fn build(
        spec: &ModelSpec,
        settings: &TokenClassifierSettings,
    ) -> Result<Model, ModuleError> {
        let aggregation = settings.own.aggregation.unwrap_or(Aggregation::Simple);
        let settings = settings.common.setup(spec)?;
        let (forward, info) =
            TokenClassifier::load(&settings.path).map_err(|e| spec.runtime_error(e))?;
        let batcher = Batcher::spawn(&spec.id, "tag", forward, settings.batching)
            .map_err(|e| spec.runtime_error(e))?;
        let labels: Vec<Value> = info
            .labels
            .iter()
            .map(|l| Value::from(l.as_str()))
            .collect();
        let service = Arc::new(TokenClassifierService {
            batcher,
            tokenizer: Arc::new(info.tokenizer),
            labels: Arc::new(info.labels),
            aggregation,
        });
        Ok(Model::builder(&spec.id, MODULE_NAME, "candle")
            .max_concurrent_requests(spec.max_concurrent_requests)
            .path(settings.path)
            .size(info.weights_bytes)
            .metadata("labels", Value::Array(labels))
            .metadata(
                "aggregation",
                Value::from(format!("{aggregation:?}").to_lowercase()),
            )
            .serve::<TokenClassification>(service)
            .build())
    }
}

impl Predict<TokenClassification> for TokenClassifierService {
    fn predict(
        &self,
        input: TaskInput<TokenClassification>,
    ) -> TaskFuture<TokenClassificationResults> {
        let this = self.clone();
        Box::pin(async move {
            let text = Arc::new(input.inputs);
            // Long texts are tagged up to the model limit rather than rejected: spans past it
            // are simply not found. Tokenizing them whole is CPU work, as is slicing the spans.
            let (tokenizer, whole) = (this.tokenizer.clone(), text.clone());
            let tokens = offload("tokenize", move || {
                tokenizer
                    .encode(&whole, Truncation::ModelLimit)
                    .map_err(|e| TaskError::invalid_field("/inputs", e.to_string()))
            })
            .await??;
            let logits = this.batcher.run(vec![tokens.sequence()]).await?.remove(0);
            let threshold = input.parameters.threshold.unwrap_or(0.0);
            let results = offload("aggregate", move || {
                let scored: Vec<TokenScores> = logits
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !tokens.special[*i])
                    .map(|(i, row)| TokenScores {
                        start: tokens.offsets[i].0,
                        end: tokens.offsets[i].1,
                        word: tokens.word_ids[i],
                        probs: softmax(row),
                    })
                    .collect();
                aggregate(&text, &scored, &this.labels, this.aggregation)
                    .into_iter()
                    .filter(|r| r.score >= threshold)
                    .collect()
            })
            .await?;
            Ok(TokenClassificationResults {
                results,
                producer_id: Some(ProducerId::new(MODULE_NAME, env!("CARGO_PKG_VERSION"))),
            })
        })
    }
}
