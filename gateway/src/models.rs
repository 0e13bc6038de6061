//! The models the configuration and the models directory describe, registered with their
//! lifecycle settings.

use std::collections::BTreeSet;
use std::path::Path;

use taskgate_modules::{ModelSpec, ModuleCatalog, ModuleError};
use taskgate_runtime::discover_models;

use crate::config::Config;

/// Builds every model the config describes (then drops them); returns their ids. A model
/// that fails to build fails the check, though a server would serve the others.
pub fn check_models(config: &Config) -> Result<Vec<String>, ModuleError> {
    let catalog = ModuleCatalog::standard();
    model_specs(config, &BTreeSet::new())?
        .iter()
        .map(|spec| catalog.build(spec).map(|model| model.id().to_string()))
        .collect()
}

/// What the config and the models directory say of each model, in that order.
pub fn model_specs(
    config: &Config,
    deployed: &BTreeSet<String>,
) -> Result<Vec<ModelSpec>, ModuleError> {
    let mut specs = Vec::new();
    for model in &config.models {
        let mut spec = ModelSpec::new(&model.id, model.settings());
        spec.max_concurrent_requests = model
            .max_concurrent_requests
            .unwrap_or(config.max_concurrent_requests);
        spec.load = model.load.unwrap_or(config.models_load);
        spec.pinned = model.pinned;
        spec.chat_template = model.chat_template.clone();
        specs.push(spec);
    }
    let discovery = discover_models(Path::new(&config.models_dir));
    for skipped in &discovery.skipped {
        tracing::warn!(path = %skipped.path.display(), reason = %skipped.reason, "not a model directory, skipped");
    }
    for found in discovery
        .models
        .into_iter()
        .filter(|found| !deployed.contains(&found.id))
    {
        // A manifest's `config:` is read into the same typed settings as a config file's.
        let mut spec = ModelSpec::parse(found.id, &found.manifest.module, found.manifest.config)?;
        spec.path = Some(found.path);
        spec.max_concurrent_requests = config.max_concurrent_requests;
        spec.load = config.models_load;
        specs.push(spec);
    }
    if let Some(twice) = specs
        .iter()
        .enumerate()
        .find(|(i, spec)| specs[..*i].iter().any(|s| s.id == spec.id))
    {
        return Err(ModuleError::DuplicateModel(twice.1.id.clone()));
    }
    Ok(specs)
}
