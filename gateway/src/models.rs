//! Builds the model registry from the configuration and the models directory.

use std::path::Path;

use taskgate_modules::{Model, ModelRegistry, ModelSpec, ModuleCatalog, ModuleError};
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
        let mut spec = ModelSpec::new(&model.id, model.settings());
        spec.max_concurrent_requests = model
            .max_concurrent_requests
            .unwrap_or(config.max_concurrent_requests);
        registry.insert(timed_build(catalog, &spec)?)?;
    }
    let discovery = discover_models(Path::new(&config.models_dir));
    for skipped in &discovery.skipped {
        tracing::warn!(path = %skipped.path.display(), reason = %skipped.reason, "not a model directory, skipped");
    }
    for found in discovery.models {
        // A manifest's `config:` is read into the same typed settings as a config file's.
        let mut spec = ModelSpec::parse(found.id, &found.manifest.module, found.manifest.config)?;
        spec.path = Some(found.path);
        spec.max_concurrent_requests = config.max_concurrent_requests;
        registry.insert(timed_build(catalog, &spec)?)?;
    }
    for model in registry.models() {
        tracing::info!(model = model.id(), tasks = ?model.tasks(), "model ready");
    }
    Ok(registry)
}

/// Builds one model, its load time a metric.
fn timed_build(catalog: &ModuleCatalog, spec: &ModelSpec) -> Result<Model, ModuleError> {
    let started = std::time::Instant::now();
    let model = catalog.build(spec)?;
    taskgate_runtime::metrics::engine()
        .model_load_seconds
        .set(&[&spec.id], started.elapsed().as_secs_f64());
    Ok(model)
}
