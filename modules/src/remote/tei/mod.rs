//! The `tei` module: a model on Hugging Face Text Embeddings Inference. TEI serves one model
//! of one kind, so the config names it (`task`): `embeddings` (the six embedding tasks through
//! `/embed`), `text-classification` (`/predict`) or `rerank` (cross-encoder scores from
//! `/rerank`); every kind also serves `tokenization` (`/tokenize`).

mod classify;
mod embed;
mod rerank;
mod settings;
mod tokenize;

use std::sync::Arc;

use taskgate_runtime::remote::tei::TeiClient;
use taskgate_schemas::ProducerId;

use crate::families::embeddings::serve_embedding_family;
use crate::families::rerank::serve_rerank_family;
use crate::framework::settings::positive;
use crate::framework::tasks::{TextClassification, Tokenization};
use crate::remote::settings::Routed;
use crate::{Model, ModelSpec, ModuleError, TaskError};
pub use settings::{TeiOptions, TeiSettings, TeiTask};

pub const MODULE_NAME: &str = "tei";

/// TEI's own default for the texts one request may carry.
const DEFAULT_MAX_CLIENT_BATCH_SIZE: usize = 32;

pub struct TeiFactory;

/// One TEI-served model, whatever its kind.
#[derive(Clone)]
struct Tei {
    clients: Routed<TeiClient>,
    max_client_batch_size: usize,
    /// `/embed` only: L2-normalize the vectors.
    normalize: bool,
}

fn producer() -> ProducerId {
    ProducerId::new(MODULE_NAME, env!("CARGO_PKG_VERSION"))
}

/// Caikit's `truncate_input_tokens` as TEI's `truncate`, which can only cut to the model's
/// limit: 0 or absent refuses over-long input, negative cuts to the limit, and a positive
/// count cannot be honoured, so it is refused rather than ignored.
fn truncate(value: Option<i64>) -> Result<bool, TaskError> {
    match value {
        None | Some(0) => Ok(false),
        Some(n) if n < 0 => Ok(true),
        Some(n) => Err(TaskError::invalid_field(
            "/parameters/truncate_input_tokens",
            format!(
                "TEI cannot keep {n} tokens: it can only truncate to the model's limit \
                 (send a negative value) or refuse over-long input (0)"
            ),
        )),
    }
}

/// Empty texts are refused here, where the field can be named.
fn check_texts<'a>(texts: impl IntoIterator<Item = (&'a String, String)>) -> Result<(), TaskError> {
    match texts.into_iter().find(|(text, _)| text.is_empty()) {
        Some((_, path)) => Err(TaskError::invalid_field(path, "the text must not be empty")),
        None => Ok(()),
    }
}

impl TeiFactory {
    pub fn build(spec: &ModelSpec, settings: &TeiSettings) -> Result<Model, ModuleError> {
        let target = settings.common.target(spec, "http://host:8080")?;
        let options = &settings.own;
        let task = options.task.ok_or_else(|| {
            spec.config_error(
                "task",
                "required: embeddings, text-classification or rerank (the kind of model TEI runs)",
            )
        })?;
        let normalize = match options.normalize {
            None => true,
            Some(b) if task == TeiTask::Embeddings => b,
            Some(_) => {
                return Err(spec.config_error("normalize", "a boolean, for task: embeddings only"));
            }
        };
        let max_client_batch_size = positive(
            "max_client_batch_size",
            options.max_client_batch_size,
            DEFAULT_MAX_CLIENT_BATCH_SIZE,
        )
        .map_err(|e| spec.config_error(&e.key, e.reason))?;
        let tei = Arc::new(Tei {
            clients: target.connect(spec, TeiClient::new)?,
            max_client_batch_size,
            normalize,
        });
        let builder = Model::builder(&spec.id, MODULE_NAME, "tei")
            .max_concurrent_requests(spec.max_concurrent_requests)
            .metadata("endpoint", target.endpoint.url.clone().into())
            .metadata("model_name", target.model_name.clone().into())
            .metadata("task", task.name().into())
            .metadata("max_client_batch_size", tei.max_client_batch_size.into())
            .live_metadata(tei.clients.circuit_metadata())
            .health_check(tei.clients.probe())
            .serve::<Tokenization>(tei.clone());
        let builder = match task {
            TeiTask::Embeddings => serve_embedding_family(builder, tei),
            TeiTask::TextClassification => builder.serve::<TextClassification>(tei),
            TeiTask::Rerank => serve_rerank_family(builder, tei),
        };
        Ok(builder.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caikit_truncation_maps_to_teis_flag_or_is_refused() {
        assert!(!truncate(None).unwrap());
        assert!(!truncate(Some(0)).unwrap());
        assert!(truncate(Some(-1)).unwrap());
        let error = truncate(Some(5)).unwrap_err().to_string();
        assert!(
            error.contains("/parameters/truncate_input_tokens"),
            "{error}"
        );
    }

    fn build(config: serde_json::Value) -> Result<Model, ModuleError> {
        crate::ModuleCatalog::standard().build(&ModelSpec::parse("m", MODULE_NAME, config)?)
    }

    #[test]
    fn the_task_is_required_and_each_kind_serves_its_tasks() {
        let endpoint = "http://127.0.0.1:9";
        let error = build(serde_json::json!({"endpoint": endpoint})).unwrap_err();
        assert!(error.to_string().contains("config.task"), "{error}");
        let error = build(serde_json::json!({"endpoint": endpoint, "task": "chat"})).unwrap_err();
        assert!(error.to_string().contains("config.task"), "{error}");
        let error = build(serde_json::json!({"endpoint": endpoint, "task": "rerank",
            "normalize": false}))
        .unwrap_err();
        assert!(error.to_string().contains("config.normalize"), "{error}");
        for (task, served) in [
            ("embeddings", "sentence-similarity"),
            ("text-classification", "text-classification"),
            ("rerank", "rerank-tasks"),
        ] {
            let model = build(serde_json::json!({"endpoint": endpoint, "task": task})).unwrap();
            let tasks = model.tasks();
            assert!(tasks.contains(&"tokenization"), "{task}: {tasks:?}");
            assert!(tasks.contains(&served), "{task}: {tasks:?}");
        }
        let classifier = build(serde_json::json!({"endpoint": endpoint,
            "task": "text-classification"}))
        .unwrap();
        assert!(!classifier.tasks().contains(&"embedding"));
    }
}
