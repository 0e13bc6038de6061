//! One entry of `models:`: a model's id, and either the in-process module serving it with that
//! module's typed settings (`module:` + `config:`) or the remote runtime serving it
//! (`backend:`, typed by its `kind`).

use serde::Deserialize;
use serde_json::Value;
use taskgate_modules::framework::settings_schema::config_by_module;
use taskgate_modules::{BackendSettings, LoadPolicy, ModelSpec, ModuleSettings};
use taskgate_schemas::FieldError;
use utoipa::openapi::{RefOr, schema::Schema};
use utoipa::{PartialSchema, ToSchema};

/// One model: its id, and how it is served.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "ModelEntry")]
pub struct ModelConfig {
    /// The `model_id` clients send.
    pub id: String,
    pub serving: Serving,
    /// Overrides the global `max_concurrent_requests` for this model.
    pub max_concurrent_requests: Option<usize>,
    /// Overrides the global `models_load` for this model.
    pub load: Option<LoadPolicy>,
    /// Never unloaded to make room in `models_memory_bytes`.
    pub pinned: bool,
    /// Renders chat messages for this model (overrides the template its files carry).
    pub chat_template: Option<String>,
}

/// What serves a model.
#[derive(Debug, Clone, PartialEq)]
pub enum Serving {
    /// An in-process module, with its settings.
    InProcess(ModuleSettings),
    /// A remote runtime.
    Remote(BackendSettings),
}

impl ModelConfig {
    /// The remote runtime serving it, for remote models.
    pub fn backend(&self) -> Option<&BackendSettings> {
        match &self.serving {
            Serving::Remote(backend) => Some(backend),
            Serving::InProcess(_) => None,
        }
    }

    /// The settings of the module that serves it (for a remote model, the module speaking its
    /// backend's protocol).
    pub fn settings(&self) -> ModuleSettings {
        match &self.serving {
            Serving::InProcess(settings) => settings.clone(),
            Serving::Remote(backend) => backend.clone().into_module(),
        }
    }
}

/// A model entry as written; `config:` is read as the settings of the module `module:` names.
/// Its schema is [`ModelConfig`]'s, plus `config:` typed by `module:`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ModelEntry {
    /// The `model_id` clients send.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", example = "pii-rules")]
    id: String,
    /// The in-process module implementing it (give this or `backend`).
    #[serde(default)]
    #[schema(min_length = 1, example = "pii-rules")]
    module: Option<String>,
    /// The module's settings; which keys it takes depends on `module`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    config: Option<Value>,
    /// A remote runtime serving it (give this or `module`).
    #[serde(default)]
    backend: Option<BackendSettings>,
    /// Overrides the global `max_concurrent_requests` for this model.
    #[serde(default)]
    #[schema(minimum = 1)]
    max_concurrent_requests: Option<usize>,
    /// When it loads: `eager` (at start-up) or `lazy` (on its first call); default:
    /// the global `models_load`.
    #[serde(default)]
    load: Option<LoadPolicy>,
    /// Never unloaded to make room in `models_memory_bytes`.
    #[serde(default)]
    pinned: bool,
    /// A Jinja chat template (Hugging Face's form: `messages`, `add_generation_prompt`) that
    /// renders `/v1/chat/completions` messages into this model's prompt. Needed for models
    /// whose files carry none (remote models); it overrides a GGUF file's own.
    #[serde(default)]
    #[schema(
        min_length = 1,
        example = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )]
    chat_template: Option<String>,
}

const NEITHER: &str = "give `module` (in process) or `backend` (remote)";
const BOTH: &str = "give either `module` or `backend`, not both";
const REMOTE_CONFIG: &str = "a remote model's settings go in `backend`, not `config`";

/// Why `module`, `backend` and `config` (each given or not) do not describe one model.
fn shape_error(module: bool, backend: bool, config: bool) -> Option<&'static str> {
    match (module, backend, config) {
        (true, false, _) | (false, true, false) => None,
        (true, true, _) => Some(BOTH),
        (false, false, _) => Some(NEITHER),
        (false, true, true) => Some(REMOTE_CONFIG),
    }
}

/// Every model entry of a schema-valid config document that names neither or both of
/// `module` and `backend`, all reported at once.
pub(crate) fn serving_errors(doc: &Value) -> Vec<FieldError> {
    let given = |model: &Value, key: &str| model.get(key).is_some_and(|v| !v.is_null());
    doc.get("models")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, model)| {
            let reason = shape_error(
                given(model, "module"),
                given(model, "backend"),
                given(model, "config"),
            )?;
            Some(FieldError::new(format!("/models/{i}"), reason))
        })
        .collect()
}

impl TryFrom<ModelEntry> for ModelConfig {
    type Error = String;

    fn try_from(entry: ModelEntry) -> Result<Self, String> {
        let shape = shape_error(
            entry.module.is_some(),
            entry.backend.is_some(),
            entry.config.is_some(),
        );
        if let Some(reason) = shape {
            return Err(reason.to_string());
        }
        let serving = match (entry.module, entry.backend) {
            (Some(module), _) => {
                let config = entry.config.unwrap_or(Value::Null);
                let spec =
                    ModelSpec::parse(&entry.id, &module, config).map_err(|e| e.to_string())?;
                Serving::InProcess(spec.settings)
            }
            (None, Some(backend)) => Serving::Remote(backend),
            (None, None) => return Err(NEITHER.to_string()),
        };
        Ok(Self {
            id: entry.id,
            serving,
            max_concurrent_requests: entry.max_concurrent_requests,
            load: entry.load,
            pinned: entry.pinned,
            chat_template: entry.chat_template,
        })
    }
}

impl PartialSchema for ModelConfig {
    fn schema() -> RefOr<Schema> {
        let RefOr::T(Schema::Object(mut object)) = ModelEntry::schema() else {
            unreachable!("a struct derives an object schema. This is a bug.");
        };
        object.description = Some("One model: its id, and either the in-process module that serves it (with the module's\nsettings) or the remote runtime that does.".into());
        object.extensions = Some(config_by_module().0);
        Schema::Object(object).into()
    }
}

impl ToSchema for ModelConfig {
    fn name() -> std::borrow::Cow<'static, str> {
        "ModelConfig".into()
    }

    fn schemas(out: &mut Vec<(String, RefOr<Schema>)>) {
        ModelEntry::schemas(out);
        out.extend(config_by_module().1);
    }
}
