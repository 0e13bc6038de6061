use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use crate::kserve::KserveFactory;
use crate::model::DEFAULT_MAX_CONCURRENT_REQUESTS;
use crate::openai::OpenAiFactory;
use crate::pii_rules::PiiRulesFactory;
use crate::sentence_embeddings::SentenceEmbeddingsFactory;
use crate::tei::TeiFactory;
use crate::text_classifier::TextClassifierFactory;
use crate::text_generation::TextGenerationFactory;
use crate::tgis::TgisFactory;
use crate::token_classifier::TokenClassifierFactory;
use crate::{Model, ModuleError};

/// Everything the configuration says about one model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub id: String,
    pub module: String,
    /// Module-specific settings (a JSON object, or null for the defaults).
    pub config: Value,
    /// The model directory, when it came from one.
    pub path: Option<PathBuf>,
    pub max_concurrent_requests: usize,
}

impl ModelSpec {
    pub fn new(id: impl Into<String>, module: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            module: module.into(),
            config: Value::Null,
            path: None,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
        }
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
}

/// Builds models of one module from their spec.
pub trait ModuleFactory: Send + Sync {
    /// The name used in configs (`module: <name>`).
    fn name(&self) -> &'static str;
    fn build(&self, spec: &ModelSpec) -> Result<Model, ModuleError>;
}

/// The modules this build knows, by name.
#[derive(Clone, Default)]
pub struct ModuleCatalog {
    factories: BTreeMap<&'static str, Arc<dyn ModuleFactory>>,
}

impl ModuleCatalog {
    /// Every module shipped with taskgate.
    pub fn standard() -> Self {
        Self::default()
            .with(Arc::new(KserveFactory))
            .with(Arc::new(PiiRulesFactory))
            .with(Arc::new(SentenceEmbeddingsFactory))
            .with(Arc::new(TextClassifierFactory))
            .with(Arc::new(TextGenerationFactory))
            .with(Arc::new(TgisFactory))
            .with(Arc::new(OpenAiFactory))
            .with(Arc::new(TeiFactory))
            .with(Arc::new(TokenClassifierFactory))
    }

    pub fn with(mut self, factory: Arc<dyn ModuleFactory>) -> Self {
        self.factories.insert(factory.name(), factory);
        self
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.factories.keys().copied().collect()
    }

    pub fn build(&self, spec: &ModelSpec) -> Result<Model, ModuleError> {
        let factory =
            self.factories
                .get(spec.module.as_str())
                .ok_or_else(|| ModuleError::UnknownModule {
                    model: spec.id.clone(),
                    module: spec.module.clone(),
                    known: self.names().iter().map(|n| n.to_string()).collect(),
                })?;
        factory.build(spec)
    }
}
