//! The `kserve-v2` backend's settings: the remote settings every backend shares, plus which
//! task the model serves, the protocol, and the tensors texts go in and numbers come out of. A
//! key that does not apply to the chosen task or protocol is refused rather than ignored.

use serde::Deserialize;
use taskgate_runtime::remote::kserve::{KserveModel, KserveProtocol};
use utoipa::ToSchema;

use crate::framework::settings::{Flat, SettingsError, struct_settings};
use crate::remote::settings::{RemoteSettings, RemoteTarget};
use crate::{ModelSpec, ModuleError};

/// `kserve-v2` settings: [`RemoteSettings`] and [`KserveOptions`] side by side.
pub type KserveSettings = Flat<RemoteSettings, KserveOptions>;

/// A text model on a KServe v2 server: its task, protocol and tensors, besides the remote
/// settings every backend shares.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KserveOptions {
    /// REST (`POST /v2/models/{name}/infer`, default) or gRPC
    /// (`inference.GRPCInferenceService/ModelInfer`).
    #[serde(default)]
    pub protocol: Option<KserveTransport>,
    /// Required: what the model's output means.
    #[serde(default)]
    #[schema(required = true)]
    pub task: Option<KserveTask>,
    /// `task: text-classification` only, required there: the class names, in the order of
    /// the output's columns.
    #[serde(default, deserialize_with = "labels")]
    #[schema(value_type = Option<Vec<String>>, example = json!(["negative", "neutral", "positive"]))]
    pub labels: Option<Vec<String>>,
    /// The BYTES input tensor the texts go in, as shape `[n]` (default `text`).
    #[serde(default, deserialize_with = "crate::framework::settings::non_empty")]
    #[schema(min_length = 1, example = "text")]
    pub input_name: Option<String>,
    /// The output to request by name, of shape `[n, d]` or `[n]` and a number datatype
    /// (default: the first output the server answers).
    #[serde(default, deserialize_with = "crate::framework::settings::non_empty")]
    #[schema(min_length = 1, example = "embedding")]
    pub output_name: Option<String>,
    /// `protocol: grpc` only: send the texts in `raw_input_contents` (the server then answers
    /// in `raw_output_contents`) instead of typed `contents` (default false).
    #[serde(default, deserialize_with = "crate::framework::settings::flag")]
    pub raw_contents: Option<bool>,
}

struct_settings!(KserveOptions);

const LABELS_EXPECTED: &str =
    "required for text-classification: the class names, in the order of the output's columns";

/// Labels are non-empty names; anything else is reported on `labels` itself.
fn labels<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let Some(items) = Option::<Vec<serde_json::Value>>::deserialize(d)? else {
        return Ok(None);
    };
    items
        .into_iter()
        .map(|item| match item {
            serde_json::Value::String(label) if !label.is_empty() => Ok(label),
            _ => Err(serde::de::Error::custom(LABELS_EXPECTED)),
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// How taskgate talks to a KServe v2 server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case", try_from = "String")]
#[schema(as = KserveProtocol)]
pub enum KserveTransport {
    Rest,
    Grpc,
}

impl TryFrom<String> for KserveTransport {
    type Error = &'static str;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        match name.as_str() {
            "rest" => Ok(Self::Rest),
            "grpc" => Ok(Self::Grpc),
            _ => Err("expected rest or grpc"),
        }
    }
}

/// What a `kserve-v2` model's output means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum KserveTask {
    /// The embedding tasks (embeddings, sentence similarity, rerank by cosine).
    Embeddings,
    /// `text-classification`, from per-class scores.
    TextClassification,
}

/// A `kserve-v2` model's settings with defaults applied and values checked.
pub struct KserveSetup {
    pub remote: RemoteTarget,
    pub model: KserveModel,
    pub task: KserveTask,
    /// Class names in the order of the output's columns (text-classification only).
    pub labels: Vec<String>,
}

impl KserveOptions {
    fn protocol(&self) -> Result<KserveProtocol, SettingsError> {
        match (
            self.protocol.unwrap_or(KserveTransport::Rest),
            self.raw_contents,
        ) {
            (KserveTransport::Rest, None) => Ok(KserveProtocol::Rest),
            (KserveTransport::Rest, Some(_)) => Err(SettingsError::new(
                "raw_contents",
                "applies only to protocol: grpc",
            )),
            (KserveTransport::Grpc, raw) => Ok(KserveProtocol::Grpc {
                raw_contents: raw.unwrap_or(false),
            }),
        }
    }

    fn labels(&self, task: KserveTask) -> Result<Vec<String>, SettingsError> {
        let error = |reason: &str| SettingsError::new("labels", reason);
        if task != KserveTask::TextClassification {
            return match self.labels {
                None => Ok(Vec::new()),
                Some(_) => Err(error("applies only to task: text-classification")),
            };
        }
        let labels = match &self.labels {
            Some(labels) if !labels.is_empty() => labels.clone(),
            _ => return Err(error(LABELS_EXPECTED)),
        };
        if let Some(twice) = labels
            .iter()
            .enumerate()
            .find_map(|(i, l)| labels[..i].contains(l).then_some(l))
        {
            return Err(error(&format!("'{twice}' is listed twice")));
        }
        Ok(labels)
    }
}

impl KserveSettings {
    pub fn setup(&self, spec: &ModelSpec) -> Result<KserveSetup, ModuleError> {
        let remote = self
            .common
            .target(spec, "http://host:8080 (REST) or http://host:8081 (gRPC)")?;
        let error = |e: SettingsError| spec.config_error(&e.key, e.reason);
        let options = &self.own;
        let task = options.task.ok_or_else(|| {
            spec.config_error("task", "required: embeddings or text-classification")
        })?;
        let model = KserveModel {
            name: remote.model_name.clone(),
            input_name: options.input_name.clone().unwrap_or_else(|| "text".into()),
            output_name: options.output_name.clone(),
            protocol: options.protocol().map_err(error)?,
        };
        Ok(KserveSetup {
            labels: options.labels(task).map_err(error)?,
            remote,
            model,
            task,
        })
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
