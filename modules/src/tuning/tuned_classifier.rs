//! Classifiers trained here: a linear head over the sentence vectors of a base model served
//! by this gateway (in process or remote). The model directory holds `tuned_model.json` and
//! `head.safetensors`; the base model must be served under the same id when it loads. When the
//! top encoder layers were fine-tuned too (`encoder_layers.safetensors`), the model runs its own
//! copy of the base encoder (read from the base model's directory) with those layers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;
use taskgate_runtime::Batcher;
use taskgate_runtime::batching::BatchingConfig;
use taskgate_runtime::bert::EmbeddingModel;
use taskgate_runtime::tuning::ClassifierHead;
use taskgate_schemas::{ClassificationResults, EmbeddingParameters, ProducerId};

use super::{read_manifest, training_id_of};
use crate::families::embeddings::EmbeddingFamily;
use crate::framework::tasks::{EmbeddingTasks, TextClassification};
use crate::local::sentence_embeddings::SentenceEmbeddings;
use crate::{Model, ModelRegistry, ModuleError, Predict, TaskError, TaskFuture, TaskInput};

pub const TRAINER: &str = "classifier";
pub const MODULE_NAME: &str = "tuned-classifier";
pub const HEAD: &str = "head.safetensors";
pub const ENCODER_LAYERS: &str = "encoder_layers.safetensors";
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
    /// The base encoder's last layers tuned with the head (in `encoder_layers.safetensors`).
    #[serde(default)]
    pub tuned_encoder_layers: usize,
    /// The base model's directory, where the frozen encoder layers are read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_model_path: Option<PathBuf>,
}

/// Where the classifier's sentence vectors come from.
#[derive(Clone)]
enum Vectors {
    /// The served base model, looked up per call.
    Base(ModelRegistry),
    /// Its own encoder with the tuned top layers.
    Own(Arc<EmbeddingFamily<SentenceEmbeddings>>),
}

struct TunedClassifier {
    vectors: Vectors,
    manifest: Manifest,
    head: ClassifierHead,
}

/// The base encoder with the tuned layers of `dir`, batched like a served embedding model.
fn own_encoder(name: &str, dir: &Path, manifest: &Manifest) -> Result<SentenceEmbeddings, String> {
    let base = manifest
        .base_model_path
        .as_deref()
        .ok_or("the manifest names no base_model_path for the tuned encoder layers")?;
    let layers = dir.join(ENCODER_LAYERS);
    let loaded =
        EmbeddingModel::load_with_layers(base, Some((&layers, manifest.tuned_encoder_layers)))
            .map_err(|e| e.to_string())?;
    let batcher = Batcher::spawn(name, "embed", loaded.forward, BatchingConfig::default())
        .map_err(|e| e.to_string())?;
    Ok(SentenceEmbeddings::new(
        batcher,
        loaded.tokenizer,
        EMBED_BATCH,
    ))
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
    let vectors = if manifest.tuned_encoder_layers > 0 {
        let own = own_encoder(name, dir, &manifest).map_err(invalid)?;
        Vectors::Own(Arc::new(EmbeddingFamily(Arc::new(own))))
    } else {
        Vectors::Base(registry.clone())
    };
    let model = Model::builder(name, MODULE_NAME, "in-process")
        .path(dir.to_path_buf())
        .metadata("base_model", json!(manifest.base_model))
        .metadata("labels", json!(manifest.labels))
        .metadata("multi_label", json!(manifest.multi_label))
        .metadata("tuned_encoder_layers", json!(manifest.tuned_encoder_layers))
        .metadata("training_id", training_id_of(dir));
    let classifier = TunedClassifier {
        vectors,
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
    let model = registry.acquire(base_model).await?;
    let embedder = model.unary::<EmbeddingTasks>()?;
    embed_with(
        &*embedder,
        Some(&*model),
        texts,
        truncate_input_tokens,
        request_id,
    )
    .await
}

/// Sentence vectors of `texts` from `embedder`, a batch at a time, each batch admitted by
/// `model` when given.
async fn embed_with(
    embedder: &dyn Predict<EmbeddingTasks>,
    model: Option<&Model>,
    texts: &[String],
    truncate_input_tokens: Option<i64>,
    request_id: &str,
) -> Result<Vec<Vec<f32>>, TaskError> {
    let mut vectors = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(EMBED_BATCH) {
        let _permit = model.map(Model::admit).transpose()?;
        let input = TaskInput::<EmbeddingTasks> {
            inputs: chunk.to_vec(),
            parameters: EmbeddingParameters {
                truncate_input_tokens,
            },
            request_id: request_id.to_string(),
            trace: Default::default(),
            route_info: None,
        };
        let answer = embedder.predict(input).await?;
        vectors.extend(answer.results.vectors.into_iter().map(|v| v.data.values));
    }
    Ok(vectors)
}

impl Predict<TextClassification> for TunedClassifier {
    fn predict(&self, input: TaskInput<TextClassification>) -> TaskFuture<ClassificationResults> {
        let vectors = self.vectors.clone();
        let base = self.manifest.base_model.clone();
        let head = self.head.clone();
        let labels = self.manifest.labels.clone();
        Box::pin(async move {
            let text = vec![input.inputs.clone()];
            let truncate = input.parameters.truncate_input_tokens.map(i64::from);
            let id = &input.request_id;
            let vectors = match &vectors {
                Vectors::Base(registry) => embed(registry, &base, &text, truncate, id).await,
                Vectors::Own(own) => embed_with(&**own, None, &text, truncate, id).await,
            };
            let vectors = vectors.map_err(|e| match e {
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
