//! `TextClassificationTaskClassifierTrain`: checks a classifier training request completely
//! (base model, every record, labels) before queuing it; the job embeds the records with the
//! base model and trains a head on them (with the encoder's last layers when asked), then
//! writes the tuned model.

use std::collections::BTreeSet;
use std::path::Path;

use rand::seq::SliceRandom;
use rand::{SeedableRng, rngs::StdRng};
use taskgate_runtime::bert::{EmbeddingModel, Truncation};
use taskgate_runtime::tuning::{
    ClassifierHead, EncodedTexts, Features, HeadExamples, HeadSettings, Trainable,
    TrainableEncoderTop, TrainingObserver, TuningError,
};
use taskgate_schemas::{
    ClassificationTrainRecord, ClassifierTrainRequest, DataStream, TrainingJob,
};

use super::MANIFEST;
use super::data_stream::read_train_and_validation;
use super::manager::TrainingManager;
use super::memory::TrainingShape;
use super::tuned_classifier::{self, ENCODER_LAYERS, HEAD, Manifest, TRAINER};
use crate::framework::tasks::EmbeddingTasks;
use crate::local::sentence_embeddings::TunableEncoder;
use crate::{Model, TaskError};

const DEFAULT_EPOCHS: u32 = 40;
const DEFAULT_LEARNING_RATE: f64 = 0.02;
/// Pretrained layers move at a small fraction of the new head's rate (the usual BERT
/// fine-tuning range is 1e-5 to 1e-4).
const DEFAULT_ENCODER_LEARNING_RATE: f64 = 5e-5;
const DEFAULT_BATCH_SIZE: u32 = 16;
const DEFAULT_SEED: u64 = 42;

/// Checks `request` and queues its job, owned by `owner` (the submitting key, if any).
pub async fn submit(
    manager: &TrainingManager,
    owner: Option<&str>,
    request: ClassifierTrainRequest,
    request_id: &str,
) -> Result<TrainingJob, TaskError> {
    let p = &request.parameters;
    let registry = manager.registry().clone();
    let base = registry.acquire(&p.base_model).await.map_err(|e| match e {
        TaskError::ModelNotFound(_) => TaskError::invalid_field(
            "/parameters/base_model",
            format!("no model '{}' is served here", p.base_model),
        ),
        other => other,
    })?;
    if base.unary::<EmbeddingTasks>().is_err() {
        return Err(TaskError::invalid_field(
            "/parameters/base_model",
            format!(
                "model '{}' does not embed text (it serves: {})",
                p.base_model,
                base.tasks().join(", ")
            ),
        ));
    }
    let (train, validation) = read_train_and_validation(
        &p.train_stream,
        p.val_stream.as_ref(),
        manager.data_limits(),
    )
    .await?;
    let multi_label = p.multi_label.unwrap_or(false);
    let labels = label_set(
        &train,
        multi_label,
        &p.train_stream.data_stream,
        "/parameters/train_stream",
    )?;
    if let (Some(validation), Some(stream)) = (&validation, &p.val_stream) {
        check_known_labels(
            validation,
            &labels,
            &stream.data_stream,
            "/parameters/val_stream",
        )?;
    }
    let settings = HeadSettings {
        num_epochs: p.num_epochs.unwrap_or(DEFAULT_EPOCHS) as usize,
        learning_rate: p.learning_rate.unwrap_or(DEFAULT_LEARNING_RATE),
        batch_size: p.batch_size.unwrap_or(DEFAULT_BATCH_SIZE) as usize,
        seed: p.seed.unwrap_or(DEFAULT_SEED),
        multi_label,
    };
    let (train, validation) = match validation {
        Some(validation) => (train, validation),
        None => hold_out(train, p.validation_split.unwrap_or(0.0), settings.seed),
    };
    let tune_layers = p.tune_encoder_layers.unwrap_or(0) as usize;
    let encoder_learning_rate = p
        .encoder_learning_rate
        .unwrap_or(DEFAULT_ENCODER_LEARNING_RATE);
    let encoder = (tune_layers > 0)
        .then(|| tunable_encoder(&base, &p.base_model, tune_layers))
        .transpose()?;
    if let Some(encoder) = &encoder {
        // Only the tuned layers keep activations for the backward pass.
        let shape = TrainingShape {
            layers: tune_layers,
            hidden: encoder.hidden,
            heads: encoder.heads,
            batch: settings.batch_size,
            sequence: encoder.max_tokens,
            // A copy of the encoder's weights, its gradients and the optimizer's two moments.
            weights_bytes: base.info().size.saturating_mul(4),
        };
        shape.check(
            manager.memory_budget(),
            &["batch_size", "tune_encoder_layers"],
        )?;
    }
    let encoder_dir = encoder.map(|e| e.dir.clone());
    let base_model = p.base_model.clone();
    let runtime = tokio::runtime::Handle::current();
    let request_id = request_id.to_string();
    let model_name = request.model_name.clone();
    let submitted = manager.submit(
        &request.model_name,
        TRAINER,
        owner,
        Box::new(move |observer: &mut dyn TrainingObserver, staged: &Path| {
            let examples = |records: &[ClassificationTrainRecord]| {
                let texts: Vec<String> = records.iter().map(|r| r.text.clone()).collect();
                // Long texts are cut to what the base model takes.
                let vectors = runtime
                    .block_on(tuned_classifier::embed(
                        &registry,
                        &base_model,
                        &texts,
                        Some(-1),
                        &request_id,
                    ))
                    .map_err(|e| {
                        TuningError::Failed(format!("embedding with '{base_model}': {e}"))
                    })?;
                let labels = label_indices(records, &labels);
                Ok::<_, TuningError>(HeadExamples { vectors, labels })
            };
            let head = match &encoder_dir {
                Some(dir) => {
                    let job = EncoderJob {
                        dir,
                        layers: tune_layers,
                        learning_rate: encoder_learning_rate,
                        settings: &settings,
                        labels: &labels,
                    };
                    job.train(&train, &validation, observer, staged)?
                }
                None => {
                    let train = examples(&train)?;
                    let validation = (!validation.is_empty())
                        .then(|| examples(&validation))
                        .transpose()?;
                    ClassifierHead::train(
                        &settings,
                        labels.len(),
                        &train,
                        validation.as_ref(),
                        observer,
                    )?
                }
            };
            head.save(&staged.join(HEAD))?;
            let manifest = Manifest {
                trainer: TRAINER.into(),
                base_model,
                labels,
                multi_label,
                tuned_encoder_layers: tune_layers,
                base_model_path: encoder_dir,
            };
            let bytes = serde_json::to_vec_pretty(&manifest)
                .map_err(|e| TuningError::Failed(e.to_string()))?;
            std::fs::write(staged.join(MANIFEST), bytes).map_err(|source| TuningError::Write {
                path: staged.join(MANIFEST),
                source,
            })
        }),
    )?;
    tracing::info!(training_id = %submitted.training_id, model = %model_name, "classifier training queued");
    Ok(submitted)
}

/// Each record's labels as indices into `labels`.
fn label_indices(records: &[ClassificationTrainRecord], labels: &[String]) -> Vec<Vec<usize>> {
    let index_of = |label: &String| labels.iter().position(|l| l == label).unwrap_or(0);
    records
        .iter()
        .map(|r| r.labels.iter().map(index_of).collect())
        .collect()
}

/// The directory of `base`, when its encoder's last `layers` layers can be fine-tuned here.
fn tunable_encoder(
    base: &Model,
    id: &str,
    layers: usize,
) -> Result<std::sync::Arc<TunableEncoder>, TaskError> {
    let field = "/parameters/tune_encoder_layers";
    let encoder = base.extension::<TunableEncoder>().ok_or_else(|| {
        TaskError::invalid_field(
            field,
            format!(
                "tuning encoder layers needs a sentence-embeddings model served in process; \
                 '{id}' is a '{}' model",
                base.module()
            ),
        )
    })?;
    if layers > encoder.layers {
        return Err(TaskError::invalid_field(
            field,
            format!("the encoder of '{id}' has {} layers", encoder.layers),
        ));
    }
    Ok(encoder)
}

/// Fine-tuning the base encoder's last layers with the head, on a copy of the encoder.
struct EncoderJob<'a> {
    dir: &'a Path,
    layers: usize,
    learning_rate: f64,
    settings: &'a HeadSettings,
    labels: &'a [String],
}

impl EncoderJob<'_> {
    /// Trains and writes the tuned layers into `staged`; returns the head.
    fn train(
        &self,
        train: &[ClassificationTrainRecord],
        validation: &[ClassificationTrainRecord],
        observer: &mut dyn TrainingObserver,
        staged: &Path,
    ) -> Result<ClassifierHead, TuningError> {
        let model = EmbeddingModel::load(self.dir)?;
        let encoder = model.forward.encoder();
        let top = TrainableEncoderTop::new(encoder, self.layers, model.pooling, model.normalize)?;
        // The frozen layers run once per text; only the tuned ones run per step.
        let encode = |records: &[ClassificationTrainRecord]| {
            let mut ids = Vec::with_capacity(records.len());
            for (i, record) in records.iter().enumerate() {
                let tokens = model
                    .tokenizer
                    .encode(&record.text, Truncation::ModelLimit)
                    .map_err(|e| TuningError::Invalid(format!("record {i}: {e}")))?;
                ids.push(tokens.sequence().ids);
            }
            Ok::<_, TuningError>(EncodedTexts {
                hidden: EncodedTexts::encode(encoder, top.first, &ids)?,
                labels: label_indices(records, self.labels),
                top: &top,
            })
        };
        let train = encode(train)?;
        let validation = (!validation.is_empty())
            .then(|| encode(validation))
            .transpose()?;
        let head = ClassifierHead::train_on(
            self.settings,
            self.labels.len(),
            &train,
            validation.as_ref().map(|v| v as &dyn Features),
            Some(Trainable {
                vars: top.vars(),
                learning_rate: self.learning_rate,
            }),
            observer,
        )?;
        top.save(&staged.join(ENCODER_LAYERS))?;
        Ok(head)
    }
}

/// JSON pointer of record `i`'s labels, for inline data; the file field otherwise.
fn record_path<R>(stream: &DataStream<R>, field: &str, i: usize) -> String {
    match stream {
        DataStream::Inline(_) => format!("{field}/data_stream/data/{i}/labels"),
        DataStream::File(_) => format!("{field}/data_stream/file/filename"),
    }
}

/// The sorted labels of the training records, refusing several labels on one record unless
/// multi-label, and fewer than two labels in all.
fn label_set(
    records: &[ClassificationTrainRecord],
    multi_label: bool,
    stream: &DataStream<ClassificationTrainRecord>,
    field: &str,
) -> Result<Vec<String>, TaskError> {
    let mut labels = BTreeSet::new();
    for (i, record) in records.iter().enumerate() {
        if !multi_label && record.labels.len() != 1 {
            return Err(TaskError::invalid_field(
                record_path(stream, field, i),
                format!(
                    "record {i} has {} labels; one each, or set multi_label",
                    record.labels.len()
                ),
            ));
        }
        labels.extend(record.labels.iter().cloned());
    }
    if !multi_label && labels.len() < 2 {
        return Err(TaskError::invalid_field(
            format!("{field}/data_stream"),
            format!(
                "the records use {} label(s); a classifier needs at least two",
                labels.len()
            ),
        ));
    }
    Ok(labels.into_iter().collect())
}

fn check_known_labels(
    records: &[ClassificationTrainRecord],
    labels: &[String],
    stream: &DataStream<ClassificationTrainRecord>,
    field: &str,
) -> Result<(), TaskError> {
    for (i, record) in records.iter().enumerate() {
        if let Some(unknown) = record.labels.iter().find(|l| !labels.contains(l)) {
            return Err(TaskError::invalid_field(
                record_path(stream, field, i),
                format!("record {i} has label '{unknown}', which no training record has"),
            ));
        }
    }
    Ok(())
}

/// Splits off `share` of the records (seeded) for validation.
fn hold_out(
    mut records: Vec<ClassificationTrainRecord>,
    share: f64,
    seed: u64,
) -> (
    Vec<ClassificationTrainRecord>,
    Vec<ClassificationTrainRecord>,
) {
    let held = (records.len() as f64 * share).round() as usize;
    if held == 0 || held >= records.len() {
        return (records, Vec::new());
    }
    records.shuffle(&mut StdRng::seed_from_u64(seed));
    let validation = records.split_off(records.len() - held);
    (records, validation)
}
