//! Classifiers trained here: a linear head over the sentence vectors of a base model served
//! by this gateway (in process or remote). The model directory holds `tuned_model.json` and
//! `head.safetensors`; the base model must be served under the same id when it loads.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;
use taskgate_runtime::tuning::ClassifierHead;
use taskgate_schemas::{ClassificationResults, EmbeddingParameters, ProducerId};

use super::{read_manifest, training_id_of};
use crate::tasks::{EmbeddingTasks, TextClassification};
use crate::{Model, ModelRegistry, ModuleError, Predict, TaskError, TaskFuture, TaskInput};

pub const TRAINER: &str = "classifier";
pub const MODULE_NAME: &str = "tuned-classifier";
pub const HEAD: &str = "head.safetensors";
/// Texts per call to the base model while embedding training data.
const EMBED_BATCH: usize = 16;

/// What a trained classifier directory says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub trainer: String,
    pub base_model: String,
    /// Column order of the head's outputs.
    pub labels: Vec<String>,
    pub multi_label: bool,
}

struct TunedClassifier {
    registry: ModelRegistry,
    manifest: Manifest,
    head: ClassifierHead,
}

fn producer() -> Option<ProducerId> {
    Some(ProducerId::new(MODULE_NAME, env!("CARGO_PKG_VERSION")))
}

/// The model `name` from the trained directory `dir`.
pub fn load(registry: &ModelRegistry, name: &str, dir: &Path) -> Result<Model, ModuleError> {
    let invalid = |reason: String| {
        ModuleError::Training(format!("model '{name}' in {}: {reason}", dir.display()))
    };
    let manifest: Manifest = read_manifest(dir).map_err(invalid)?;
    let head = ClassifierHead::load(&dir.join(HEAD), manifest.multi_label)
        .map_err(|e| invalid(e.to_string()))?;
    if head.label_count() != manifest.labels.len() {
        return Err(invalid(format!(
            "the head scores {} labels, the manifest names {}",
            head.label_count(),
            manifest.labels.len()
        )));
    }
    let model = Model::builder(name, MODULE_NAME, "in-process")
        .path(dir.to_path_buf())
        .metadata("base_model", json!(manifest.base_model))
        .metadata("labels", json!(manifest.labels))
        .metadata("multi_label", json!(manifest.multi_label))
        .metadata("training_id", training_id_of(dir));
    let classifier = TunedClassifier {
        registry: registry.clone(),
        manifest,
        head,
    };
    Ok(model
        .serve::<TextClassification>(Arc::new(classifier))
        .build())
}

/// Sentence vectors of `texts` from the served model `base_model`, in order.
pub async fn embed(
    registry: &ModelRegistry,
    base_model: &str,
    texts: &[String],
    truncate_input_tokens: Option<i64>,
    request_id: &str,
) -> Result<Vec<Vec<f32>>, TaskError> {
    let model = registry.get(base_model)?;
    let embedder = model.unary::<EmbeddingTasks>()?;
    let mut vectors = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(EMBED_BATCH) {
        let _permit = model.admit()?;
        let input = TaskInput::<EmbeddingTasks> {
            inputs: chunk.to_vec(),
            parameters: EmbeddingParameters {
                truncate_input_tokens,
            },
            request_id: request_id.to_string(),
            traceparent: None,
            route_info: None,
        };
        let answer = embedder.predict(input).await?;
        vectors.extend(answer.results.vectors.into_iter().map(|v| v.data.values));
    }
    Ok(vectors)
}

impl Predict<TextClassification> for TunedClassifier {
    fn predict(&self, input: TaskInput<TextClassification>) -> TaskFuture<ClassificationResults> {
        let registry = self.registry.clone();
        let base = self.manifest.base_model.clone();
        let head = self.head.clone();
        let labels = self.manifest.labels.clone();
        Box::pin(async move {
            let text = vec![input.inputs.clone()];
            let truncate = input.parameters.truncate_input_tokens.map(i64::from);
            let vectors = embed(&registry, &base, &text, truncate, &input.request_id)
                .await
                .map_err(|e| match e {
                    TaskError::ModelNotFound(_) => {
                        TaskError::Runtime(taskgate_runtime::RuntimeError::Unavailable(format!(
                            "the base model '{base}' of this classifier is not served"
                        )))
                    }
                    other => other,
                })?;
            let scores = head
                .probabilities(&vectors)
                .map_err(|e| {
                    TaskError::Runtime(taskgate_runtime::RuntimeError::Inference(e.to_string()))
                })?
                .remove(0);
            Ok(ClassificationResults::ranked(labels, scores, producer()))
        })
    }
}
