//! The `text-classifier` module: `BertForSequenceClassification` in process. It serves
//! `text-classification` (softmax, or sigmoid per label for multi-label models). A model with a
//! single output is a cross-encoder and also serves `rerank(-tasks)`, scoring each
//! (query, document) pair with the sigmoid of its logit.

use std::sync::Arc;

use serde_json::Value;
use taskgate_runtime::bert::{SequenceClassifier, TextTokenizer, Truncation};
use taskgate_runtime::{Batcher, Sequence, offload};
use taskgate_schemas::{ClassificationResult, ClassificationResults, ProducerId};

use crate::families::rerank::{PairCall, PairScorer, PairScores, serve_rerank_family};
use crate::framework::tasks::TextClassification;
use crate::local::encoder_settings::{EncoderSettings, sigmoid, softmax};
use crate::{Model, ModelSpec, ModuleError, Predict, TaskError, TaskFuture, TaskInput};

pub const MODULE_NAME: &str = "text-classifier";

pub struct TextClassifierFactory;

#[derive(Clone)]
struct TextClassifier {
    batcher: Batcher<Vec<f32>>,
    tokenizer: Arc<TextTokenizer>,
    labels: Arc<Vec<String>>,
    multi_label: bool,
    max_client_batch_size: usize,
}

fn producer() -> ProducerId {
    ProducerId::new(MODULE_NAME, env!("CARGO_PKG_VERSION"))
}

impl TextClassifierFactory {
    pub fn build(spec: &ModelSpec, settings: &EncoderSettings) -> Result<Model, ModuleError> {
        let settings = settings.setup(spec)?;
        let (forward, info) =
            SequenceClassifier::load(&settings.path).map_err(|e| spec.runtime_error(e))?;
        let batcher = Batcher::spawn(&spec.id, "classify", forward, settings.batching)
            .map_err(|e| spec.runtime_error(e))?;
        let cross_encoder = info.labels.len() == 1;
        let labels: Vec<Value> = info
            .labels
            .iter()
            .map(|l| Value::from(l.as_str()))
            .collect();
        let service = Arc::new(TextClassifier {
            batcher,
            tokenizer: Arc::new(info.tokenizer),
            labels: Arc::new(info.labels),
            multi_label: info.multi_label,
            max_client_batch_size: settings.max_client_batch_size,
        });
        let mut builder = Model::builder(&spec.id, MODULE_NAME, "candle")
            .max_concurrent_requests(spec.max_concurrent_requests)
            .path(settings.path)
            .size(info.weights_bytes)
            .metadata("labels", Value::Array(labels))
            .metadata("multi_label", Value::Bool(info.multi_label))
            .serve::<TextClassification>(service.clone());
        if cross_encoder {
            builder = serve_rerank_family(builder, service);
        }
        Ok(builder.build())
    }
}

impl TextClassifier {
    async fn logits(&self, sequences: Vec<Sequence>) -> Result<Vec<Vec<f32>>, TaskError> {
        Ok(self.batcher.run(sequences).await?)
    }
}

impl Predict<TextClassification> for TextClassifier {
    fn predict(&self, input: TaskInput<TextClassification>) -> TaskFuture<ClassificationResults> {
        let this = self.clone();
        Box::pin(async move {
            let truncation =
                Truncation::from_caikit(input.parameters.truncate_input_tokens.map(i64::from));
            let (tokenizer, text) = (this.tokenizer.clone(), input.inputs);
            let sequence = offload("tokenize", move || {
                let tokens = tokenizer
                    .encode(&text, truncation)
                    .map_err(|e| TaskError::invalid_field("/inputs", e.to_string()))?;
                Ok::<_, TaskError>(tokens.sequence())
            })
            .await??;
            let logits = this.logits(vec![sequence]).await?.remove(0);
            let scores = if this.multi_label || logits.len() == 1 {
                logits.iter().map(|l| sigmoid(*l)).collect()
            } else {
                softmax(&logits)
            };
            let mut results: Vec<ClassificationResult> = this
                .labels
                .iter()
                .zip(scores)
                .map(|(label, score)| ClassificationResult {
                    label: label.clone(),
                    score: score as f64,
                })
                .collect();
            results.sort_by(|a, b| b.score.total_cmp(&a.score));
            Ok(ClassificationResults {
                results,
                producer_id: Some(producer()),
            })
        })
    }
}

/// A model with a single output is a cross-encoder: the sigmoid of its logit scores a pair.
impl PairScorer for TextClassifier {
    fn producer(&self) -> ProducerId {
        producer()
    }

    fn max_client_batch_size(&self) -> usize {
        self.max_client_batch_size
    }

    fn score(&self, call: PairCall) -> TaskFuture<PairScores> {
        let this = self.clone();
        Box::pin(async move {
            let documents = call.documents.len();
            let tokenizer = this.tokenizer.clone();
            // Every query × document pair is tokenized: request-sized work for the CPU pool.
            let sequences = offload("tokenize", move || {
                let truncation = Truncation::from_caikit(call.truncate_input_tokens);
                let mut sequences = Vec::with_capacity(call.queries.len() * documents);
                for query in &call.queries {
                    for (text, path) in call.documents.iter().zip(&call.document_paths) {
                        let pair = tokenizer
                            .encode_pair(query, text, truncation)
                            .map_err(|e| TaskError::invalid_field(path, e.to_string()))?;
                        sequences.push(pair.sequence());
                    }
                }
                Ok::<_, TaskError>(sequences)
            })
            .await??;
            let token_count = sequences.iter().map(|s| s.len() as u64).sum();
            let logits = this.logits(sequences).await?;
            let scores = logits
                .chunks(documents)
                .map(|row| row.iter().map(|l| sigmoid(l[0])).collect())
                .collect();
            Ok(PairScores {
                scores,
                token_count,
            })
        })
    }
}
