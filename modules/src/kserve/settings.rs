//! The `kserve-v2` module's config: the remote settings every backend shares, plus which task
//! the model serves, the protocol, and the tensors texts go in and numbers come out of. A key
//! that does not apply to the chosen task or protocol is refused rather than ignored.

use serde_json::Value;
use taskgate_runtime::remote::kserve::{KserveModel, KserveProtocol};

use crate::module_config::ModuleConfig;
use crate::remote_settings::{RemoteSettings, keys_with};
use crate::{ModelSpec, ModuleError};

const OWN_KEYS: [&str; 6] = [
    "protocol",
    "task",
    "labels",
    "input_name",
    "output_name",
    "raw_contents",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KserveTask {
    Embeddings,
    TextClassification,
}

pub struct KserveSettings {
    pub remote: RemoteSettings,
    pub model: KserveModel,
    pub task: KserveTask,
    /// Class names in the order of the output's columns (text-classification only).
    pub labels: Vec<String>,
}

fn optional_name(config: &ModuleConfig, key: &str) -> Result<Option<String>, ModuleError> {
    match config.get(key) {
        None => Ok(None),
        Some(Value::String(name)) if !name.is_empty() => Ok(Some(name.clone())),
        Some(_) => Err(config.error(key, "expected a non-empty string")),
    }
}

fn task(config: &ModuleConfig) -> Result<KserveTask, ModuleError> {
    const EXPECTED: &str = "required: embeddings or text-classification";
    match config.get("task").and_then(Value::as_str) {
        Some("embeddings") => Ok(KserveTask::Embeddings),
        Some("text-classification") => Ok(KserveTask::TextClassification),
        _ => Err(config.error("task", EXPECTED)),
    }
}

fn protocol(config: &ModuleConfig) -> Result<KserveProtocol, ModuleError> {
    let raw_contents = match config.get("raw_contents") {
        None => None,
        Some(Value::Bool(raw)) => Some(*raw),
        Some(_) => return Err(config.error("raw_contents", "expected true or false")),
    };
    match (config.get("protocol").map(Value::as_str), raw_contents) {
        (None | Some(Some("rest")), None) => Ok(KserveProtocol::Rest),
        (None | Some(Some("rest")), Some(_)) => {
            Err(config.error("raw_contents", "applies only to protocol: grpc"))
        }
        (Some(Some("grpc")), raw) => Ok(KserveProtocol::Grpc {
            raw_contents: raw.unwrap_or(false),
        }),
        _ => Err(config.error("protocol", "expected rest or grpc")),
    }
}

fn labels(config: &ModuleConfig, task: KserveTask) -> Result<Vec<String>, ModuleError> {
    let given = config.get("labels");
    if task != KserveTask::TextClassification {
        return match given {
            None => Ok(Vec::new()),
            Some(_) => Err(config.error("labels", "applies only to task: text-classification")),
        };
    }
    const EXPECTED: &str =
        "required for text-classification: the class names, in the order of the output's columns";
    let Some(Value::Array(items)) = given else {
        return Err(config.error("labels", EXPECTED));
    };
    let labels: Vec<String> = items
        .iter()
        .filter_map(|item| item.as_str().filter(|s| !s.is_empty()).map(String::from))
        .collect();
    if labels.is_empty() || labels.len() != items.len() {
        return Err(config.error("labels", EXPECTED));
    }
    if let Some(twice) = labels
        .iter()
        .enumerate()
        .find_map(|(i, l)| labels[..i].contains(l).then_some(l))
    {
        return Err(config.error("labels", format!("'{twice}' is listed twice")));
    }
    Ok(labels)
}

impl KserveSettings {
    pub fn parse(spec: &ModelSpec) -> Result<Self, ModuleError> {
        let config = ModuleConfig::parse(spec, &keys_with(&OWN_KEYS))?;
        let remote = RemoteSettings::parse(
            &config,
            spec,
            "http://host:8080 (REST) or http://host:8081 (gRPC)",
        )?;
        let task = task(&config)?;
        let model = KserveModel {
            name: remote.model_name.clone(),
            input_name: optional_name(&config, "input_name")?.unwrap_or_else(|| "text".into()),
            output_name: optional_name(&config, "output_name")?,
            protocol: protocol(&config)?,
        };
        Ok(Self {
            labels: labels(&config, task)?,
            remote,
            model,
            task,
        })
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
