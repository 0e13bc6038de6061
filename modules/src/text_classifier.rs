//! The `text-classifier` module: `BertForSequenceClassification` in process. It serves
//! `text-classification` (softmax, or sigmoid per label for multi-label models). A model with a
//! single output is a cross-encoder and also serves `rerank(-tasks)`, scoring each
//! (query, document) pair with the sigmoid of its logit.

use std::sync::Arc;

use serde_json::Value;
use taskgate_runtime::bert::{SequenceClassifier, TextTokenizer, Truncation};
use taskgate_runtime::{Batcher, Sequence};
use taskgate_schemas::{
    ClassificationResult, ClassificationResults, ProducerId, RerankResult, RerankResults,
};

use crate::encoder_settings::{EncoderSettings, check_list, sigmoid, softmax};
use crate::rerank::{RerankOptions, document_texts, rank, rank_each};
use crate::tasks::{Rerank, RerankTasks, TextClassification};
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

fn producer() -> Option<ProducerId> {
    Some(ProducerId::new(MODULE_NAME, env!("CARGO_PKG_VERSION")))
}

impl TextClassifierFactory {
    pub fn build(spec: &ModelSpec, settings: &EncoderSettings) -> Result<Model, ModuleError> {
        let settings = settings.setup(spec)?;
        let (forward, info) =
            SequenceClassifier::load(&settings.path).map_err(|e| spec.runtime_error(e))?;
        let batcher = Batcher::spawn(&format!("classify-{}", spec.id), forward, settings.batching)
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
            builder = builder
                .serve::<Rerank>(service.clone())
                .serve::<RerankTasks>(service);
        }
        Ok(builder.build())
    }
}

impl TextClassifier {
    async fn logits(&self, sequences: Vec<Sequence>) -> Result<Vec<Vec<f32>>, TaskError> {
        Ok(self.batcher.run(sequences).await?)
    }

    /// Cross-encoder scores of `query` against each document text.
    async fn pair_scores(
        &self,
        queries: &[String],
        texts: &[String],
        truncate: Option<i64>,
    ) -> Result<(Vec<Vec<f32>>, u64), TaskError> {
        let truncation = Truncation::from_caikit(truncate);
        let mut sequences = Vec::with_capacity(queries.len() * texts.len());
        for query in queries {
            for (i, text) in texts.iter().enumerate() {
                let pair = self
                    .tokenizer
                    .encode_pair(query, text, truncation)
                    .map_err(|e| {
                        TaskError::invalid_field(
                            format!("/inputs/documents/{i}/text"),
                            e.to_string(),
                        )
                    })?;
                sequences.push(pair.sequence());
            }
        }
        let tokens = sequences.iter().map(|s| s.len() as u64).sum();
        let logits = self.logits(sequences).await?;
        let scores = logits
            .chunks(texts.len())
            .map(|row| row.iter().map(|l| sigmoid(l[0])).collect())
            .collect();
        Ok((scores, tokens))
    }
}

impl Predict<TextClassification> for TextClassifier {
    fn predict(&self, input: TaskInput<TextClassification>) -> TaskFuture<ClassificationResults> {
        let this = self.clone();
        Box::pin(async move {
            let truncation =
                Truncation::from_caikit(input.parameters.truncate_input_tokens.map(i64::from));
            let tokens = this
                .tokenizer
                .encode(&input.inputs, truncation)
                .map_err(|e| TaskError::invalid_field("/inputs", e.to_string()))?;
            let logits = this.logits(vec![tokens.sequence()]).await?.remove(0);
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
                producer_id: producer(),
            })
        })
    }
}

impl Predict<Rerank> for TextClassifier {
    fn predict(&self, input: TaskInput<Rerank>) -> TaskFuture<RerankResult> {
        let this = self.clone();
        Box::pin(async move {
            let (inputs, p) = (input.inputs, input.parameters);
            check_list(
                "/inputs/documents",
                inputs.documents.len(),
                this.max_client_batch_size,
            )?;
            let texts = document_texts(&inputs.documents)?;
            let (scores, tokens) = this
                .pair_scores(
                    std::slice::from_ref(&inputs.query),
                    &texts,
                    p.truncate_input_tokens,
                )
                .await?;
            let options = RerankOptions::for_rerank(&p);
            Ok(RerankResult {
                result: rank(
                    &inputs.query,
                    &inputs.documents,
                    &texts,
                    &scores[0],
                    options,
                ),
                producer_id: producer(),
                input_token_count: tokens,
            })
        })
    }
}

impl Predict<RerankTasks> for TextClassifier {
    fn predict(&self, input: TaskInput<RerankTasks>) -> TaskFuture<RerankResults> {
        let this = self.clone();
        Box::pin(async move {
            let (inputs, p) = (input.inputs, input.parameters);
            check_list(
                "/inputs/documents",
                inputs.documents.len(),
                this.max_client_batch_size,
            )?;
            check_list(
                "/inputs/queries",
                inputs.queries.len(),
                this.max_client_batch_size,
            )?;
            let texts = document_texts(&inputs.documents)?;
            let (scores, tokens) = this
                .pair_scores(&inputs.queries, &texts, p.truncate_input_tokens)
                .await?;
            let options = RerankOptions::for_rerank_tasks(&p);
            Ok(RerankResults {
                results: rank_each(&inputs.queries, &inputs.documents, &texts, &scores, options),
                producer_id: producer(),
                input_token_count: tokens,
            })
        })
    }
}
