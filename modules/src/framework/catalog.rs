use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use taskgate_runtime::chat_template::ChatTemplate;

use crate::framework::chat::ChatFormat;
use crate::framework::lifecycle::{LoadPolicy, ModelSource};
use crate::framework::model::DEFAULT_MAX_CONCURRENT_REQUESTS;
use crate::framework::module_settings::ModuleSettings;
use crate::local::pii_rules::PiiRulesFactory;
use crate::local::sentence_embeddings::SentenceEmbeddingsFactory;
use crate::local::text_classifier::TextClassifierFactory;
use crate::local::text_generation::TextGenerationFactory;
use crate::local::token_classifier::TokenClassifierFactory;
use crate::remote::kserve::KserveFactory;
use crate::remote::openai::OpenAiFactory;
use crate::remote::tei::TeiFactory;
use crate::remote::tgis::TgisFactory;
use crate::{Model, ModuleError};

/// Everything the configuration says about one model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub id: String,
    /// The module serving it, with its typed settings.
    pub settings: ModuleSettings,
    /// The model directory, when it came from one.
    pub path: Option<PathBuf>,
    pub max_concurrent_requests: usize,
    /// When it loads.
    pub load: LoadPolicy,
    /// Never unloaded to make room in the memory budget.
    pub pinned: bool,
    /// A Jinja chat template that renders messages for this model (instead of the one its
    /// files carry, if any), for chat calls.
    pub chat_template: Option<String>,
}

impl ModelSpec {
    pub fn new(id: impl Into<String>, settings: ModuleSettings) -> Self {
        Self {
            id: id.into(),
            settings,
            path: None,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            load: LoadPolicy::default(),
            pinned: false,
            chat_template: None,
        }
    }

    /// How the registry builds this model with `catalog`, and what it knows before it does.
    pub fn source(&self, catalog: ModuleCatalog) -> ModelSource {
        let spec = self.clone();
        let files = self
            .settings
            .files()
            .map(Path::to_path_buf)
            .or_else(|| self.path.clone());
        ModelSource::new(self.module(), self.settings.backend(), move |_| {
            catalog.build(&spec)
        })
        .files(files)
        .policy(self.load)
        .pinned(self.pinned)
    }

    /// A model of `module` whose `config` (a map, or null for the defaults) is read as that
    /// module's settings: the way a model directory's manifest describes its model.
    pub fn parse(id: impl Into<String>, module: &str, config: Value) -> Result<Self, ModuleError> {
        let id = id.into();
        let settings = ModuleSettings::parse(module, config)
            .ok_or_else(|| ModuleError::UnknownModule {
                model: id.clone(),
                module: module.to_string(),
                known: ModuleSettings::NAMES
                    .iter()
                    .map(|n| n.to_string())
                    .collect(),
            })?
            .map_err(|e| ModuleError::InvalidConfig {
                model: id.clone(),
                key: format!("config.{}", e.key),
                reason: e.reason,
            })?;
        Ok(Self::new(id, settings))
    }

    pub fn module(&self) -> &'static str {
        self.settings.module()
    }

    /// The runtime could not load or start this model.
    pub fn runtime_error(&self, source: taskgate_runtime::RuntimeError) -> ModuleError {
        ModuleError::Runtime {
            model: self.id.clone(),
            source,
        }
    }

    /// An error about one key of this model's `config`.
    pub fn config_error(&self, key: &str, reason: impl Into<String>) -> ModuleError {
        ModuleError::InvalidConfig {
            model: self.id.clone(),
            key: format!("config.{key}"),
            reason: reason.into(),
        }
    }

    /// The model's files: `configured` (its `path:`) when given, else the directory the model
    /// was discovered in.
    pub fn model_path(&self, configured: Option<&Path>) -> Result<PathBuf, ModuleError> {
        match (configured, &self.path) {
            (Some(path), _) => Ok(path.to_path_buf()),
            (None, Some(found)) => Ok(found.clone()),
            (None, None) => Err(self.config_error("path", "required: the model path")),
        }
    }
}

/// Builds models with the modules this build ships, each from its own typed settings.
#[derive(Clone, Copy, Default)]
pub struct ModuleCatalog;

impl ModuleCatalog {
    /// Every module shipped with taskgate.
    pub fn standard() -> Self {
        Self
    }

    pub fn names(&self) -> &'static [&'static str] {
        ModuleSettings::NAMES
    }

    pub fn build(&self, spec: &ModelSpec) -> Result<Model, ModuleError> {
        let model = self.build_module(spec)?;
        let Some(source) = &spec.chat_template else {
            return Ok(model);
        };
        let template =
            ChatTemplate::new(source, "", "").map_err(|e| ModuleError::InvalidConfig {
                model: spec.id.clone(),
                key: "chat_template".into(),
                reason: e.to_string(),
            })?;
        Ok(model.with_extension(Arc::new(ChatFormat::new(template))))
    }

    fn build_module(&self, spec: &ModelSpec) -> Result<Model, ModuleError> {
        match &spec.settings {
            ModuleSettings::KserveV2(s) => KserveFactory::build(spec, s),
            ModuleSettings::Openai(s) => OpenAiFactory::build(spec, s),
            ModuleSettings::PiiRules(s) => PiiRulesFactory::build(spec, s),
            ModuleSettings::SentenceEmbeddings(s) => SentenceEmbeddingsFactory::build(spec, s),
            ModuleSettings::Tei(s) => TeiFactory::build(spec, s),
            ModuleSettings::TextClassifier(s) => TextClassifierFactory::build(spec, s),
            ModuleSettings::TextGeneration(s) => TextGenerationFactory::build(spec, s),
            ModuleSettings::Tgis(s) => TgisFactory::build(spec, s),
            ModuleSettings::TokenClassifier(s) => TokenClassifierFactory::build(spec, s),
        }
    }
}
