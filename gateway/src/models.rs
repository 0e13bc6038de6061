//! Builds the model registry from the configuration and the models directory.

use std::path::Path;

use taskgate_modules::{ModelRegistry, ModelSpec, ModuleCatalog, ModuleError};
use taskgate_runtime::discover_models;

use crate::config::Config;

/// Builds every model the config describes (then drops them); returns their ids.
pub fn check_models(config: &Config) -> Result<Vec<String>, ModuleError> {
    let registry = build_registry(config, &ModuleCatalog::standard())?;
    Ok(registry
        .models()
        .iter()
        .map(|m| m.id().to_string())
        .collect())
}

pub fn build_registry(
    config: &Config,
    catalog: &ModuleCatalog,
) -> Result<ModelRegistry, ModuleError> {
    let registry = ModelRegistry::new();
    for model in &config.models {
        // A remote backend is served by the module that speaks its protocol, with the backend
        // settings as that module's config.
        let (module, settings) = match (&model.module, &model.backend) {
            (_, Some(backend)) => {
                let mut settings = serde_json::to_value(backend)
                    .expect("backend settings serialize. This is a bug.");
                if let Some(map) = settings.as_object_mut() {
                    map.remove("kind");
                }
                (backend.kind.module().to_string(), settings)
            }
            (Some(module), None) => (module.clone(), model.config.clone().unwrap_or_default()),
            (None, None) => {
                return Err(ModuleError::InvalidConfig {
                    model: model.id.clone(),
                    key: "module".into(),
                    reason: "give `module` (in process) or `backend` (remote)".into(),
                });
            }
        };
        let spec = ModelSpec {
            id: model.id.clone(),
            module,
            config: settings,
            path: None,
            max_concurrent_requests: model
                .max_concurrent_requests
                .unwrap_or(config.max_concurrent_requests),
        };
        registry.insert(catalog.build(&spec)?)?;
    }
    let discovery = discover_models(Path::new(&config.models_dir));
    for skipped in &discovery.skipped {
        tracing::warn!(path = %skipped.path.display(), reason = %skipped.reason, "not a model directory, skipped");
    }
    for found in discovery.models {
        let spec = ModelSpec {
            id: found.id,
            module: found.manifest.module,
            config: found.manifest.config,
            path: Some(found.path),
            max_concurrent_requests: config.max_concurrent_requests,
        };
        registry.insert(catalog.build(&spec)?)?;
    }
    for model in registry.models() {
        tracing::info!(model = model.id(), tasks = ?model.tasks(), "model ready");
    }
    Ok(registry)
}
