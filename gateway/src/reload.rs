//! Reloading the config while serving (SIGHUP, or a change of the file): the models of the
//! config and the models directory are added, changed and removed, and the aliases replaced,
//! without a restart and without dropping calls in flight (a changed or removed model finishes
//! its calls on the old instance). A new config that fails any check is refused whole and the
//! one in force keeps serving; the outcome is logged and shown in `/info/version`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use taskgate_modules::{LoadPolicy, ModelRegistry, ModelSpec, ModuleCatalog};
use taskgate_schemas::ConfigReload;

use crate::aliases::{AliasConfig, AliasTable, Aliases};
use crate::config::{Config, ConfigSources};
use crate::file_watch::{self, Trigger};
use crate::management::Management;
use crate::models::model_specs;

/// How often the config file is checked for a change (SIGHUP reloads at once).
const CHANGE_CHECK: Duration = Duration::from_secs(2);

/// How the reloads went, for `/info/version`.
#[derive(Debug, Clone, Default)]
pub struct ReloadReport {
    state: Arc<Mutex<Option<ConfigReload>>>,
}

impl ReloadReport {
    /// `None` until the first reload.
    pub fn snapshot(&self) -> Option<ConfigReload> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<ConfigReload>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn applied(&self, needs_restart: Vec<String>) {
        let mut state = self.lock();
        let report = state.get_or_insert_with(ConfigReload::default);
        report.applied += 1;
        report.last_error = None;
        report.last_attempt = Some(taskgate_modules::tuning::clock::now());
        report.needs_restart = needs_restart;
    }

    fn refused(&self, error: String) {
        let mut state = self.lock();
        let report = state.get_or_insert_with(ConfigReload::default);
        report.refused += 1;
        report.last_error = Some(error);
        report.last_attempt = Some(taskgate_modules::tuning::clock::now());
    }
}

/// What one reload changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    pub aliases: bool,
}

/// The models the config (and the models directory) put in the registry, and how to read
/// the config again. Deployed and trained models are not its own: it never touches them.
pub struct ConfigReloader {
    sources: ConfigSources,
    running: Config,
    specs: BTreeMap<String, ModelSpec>,
    registry: ModelRegistry,
    catalog: ModuleCatalog,
    management: Option<Arc<Management>>,
    aliases: AliasTable,
    report: ReloadReport,
}

impl ConfigReloader {
    /// `specs` are the models registered from `running`.
    pub fn new(
        sources: ConfigSources,
        running: Config,
        specs: Vec<ModelSpec>,
        registry: ModelRegistry,
        management: Option<Arc<Management>>,
        aliases: AliasTable,
        report: ReloadReport,
    ) -> Self {
        Self {
            sources,
            running,
            specs: specs.into_iter().map(|s| (s.id.clone(), s)).collect(),
            registry,
            catalog: ModuleCatalog::standard(),
            management,
            aliases,
            report,
        }
    }

    /// Reads the config again and applies it, or refuses it whole.
    pub async fn reload(&mut self, trigger: Trigger) -> Result<Changes, String> {
        let why = trigger.as_str();
        match self.apply().await {
            Ok((changes, needs_restart)) => {
                tracing::info!(
                    added = ?changes.added,
                    changed = ?changes.changed,
                    removed = ?changes.removed,
                    aliases_changed = changes.aliases,
                    "config reloaded after {why}"
                );
                if !needs_restart.is_empty() {
                    tracing::warn!(settings = ?needs_restart, "changed settings take effect at the next restart");
                }
                self.report.applied(needs_restart);
                Ok(changes)
            }
            Err(error) => {
                tracing::error!(%error, "config reload after {why} refused; the config in force keeps serving");
                self.report.refused(error.clone());
                Err(error)
            }
        }
    }

    async fn apply(&mut self) -> Result<(Changes, Vec<String>), String> {
        let config = Config::load(&self.sources).map_err(|e| e.to_string())?;
        // Deploys wait meanwhile, so none can take an id this reload gives a model.
        let deployments = match &self.management {
            Some(management) => Some(management.deployments().await),
            None => None,
        };
        let deployed = deployments
            .as_deref()
            .map(Management::stored_ids)
            .unwrap_or_default();
        let specs = model_specs(&config, &deployed).map_err(|e| e.to_string())?;
        let specs: BTreeMap<String, ModelSpec> =
            specs.into_iter().map(|s| (s.id.clone(), s)).collect();
        for id in specs.keys() {
            if !self.specs.contains_key(id) && self.registry.contains(id) {
                return Err(format!(
                    "model '{id}' is served already (deployed through the management API or \
                     trained); the config cannot add it"
                ));
            }
        }
        let served = |id: &str| {
            specs.contains_key(id) || (!self.specs.contains_key(id) && self.registry.contains(id))
        };
        check_alias_names(&config.aliases, served)?;

        let mut changes = Changes::default();
        for id in self.specs.keys() {
            if !specs.contains_key(id) {
                self.registry.remove(id);
                changes.removed.push(id.clone());
            }
        }
        let mut to_load = Vec::new();
        for (id, spec) in &specs {
            match self.specs.get(id) {
                Some(old) if old == spec => continue,
                Some(_) => changes.changed.push(id.clone()),
                None => changes.added.push(id.clone()),
            }
            self.registry.replace(id, spec.source(self.catalog));
            if spec.load == LoadPolicy::Eager {
                to_load.push(id.clone());
            }
        }
        changes.aliases = config.aliases != self.running.aliases;
        if changes.aliases {
            self.aliases.replace(Aliases::new(&config.aliases));
        }
        drop(deployments);
        let needs_restart = needs_restart(&self.running, &config);
        self.running = config;
        self.specs = specs;
        // Eager models load now; calls that come first wait for the same load.
        let registry = self.registry.clone();
        tokio::spawn(async move {
            let loads = to_load.iter().map(|id| registry.load(id));
            for (id, loaded) in to_load.iter().zip(futures::future::join_all(loads).await) {
                if let Err(error) = loaded {
                    tracing::error!(model = %id, %error, "a reloaded model failed to load; it is retried with backoff");
                }
            }
        });
        Ok((changes, needs_restart))
    }

    /// Reloads on SIGHUP and whenever the config file changes, until aborted.
    pub fn watch(self) -> tokio::task::JoinHandle<()> {
        let files = self.sources.file.iter().cloned().collect();
        let reloader = Arc::new(tokio::sync::Mutex::new(self));
        file_watch::on_change(files, CHANGE_CHECK, move |trigger| {
            let reloader = reloader.clone();
            async move {
                let _ = reloader.lock().await.reload(trigger).await;
            }
        })
    }
}

/// Aliases may not take a served model's id: a call of that id would be ambiguous.
pub fn check_alias_names(
    aliases: &[AliasConfig],
    served: impl Fn(&str) -> bool,
) -> Result<(), String> {
    let taken: Vec<&str> = aliases
        .iter()
        .map(|a| a.name.as_str())
        .filter(|name| served(name))
        .collect();
    if taken.is_empty() {
        return Ok(());
    }
    Err(format!(
        "aliases named like served models (found in the models directory, deployed or \
         trained): {}",
        taken.join(", ")
    ))
}

/// The top-level settings that changed and that only a restart applies (listeners, keys,
/// limits, logging, the memory budget); models and aliases apply at once.
fn needs_restart(old: &Config, new: &Config) -> Vec<String> {
    let differs = [
        ("http", old.http != new.http),
        ("grpc", old.grpc != new.grpc),
        ("auth", old.auth != new.auth),
        ("server", old.server != new.server),
        ("log", old.log != new.log),
        ("metrics", old.metrics != new.metrics),
        ("tracing", old.tracing != new.tracing),
        (
            "compute_threads",
            old.compute_threads != new.compute_threads,
        ),
        ("cpu_kernels", old.cpu_kernels != new.cpu_kernels),
        (
            "shutdown_grace_seconds",
            old.shutdown_grace_seconds != new.shutdown_grace_seconds,
        ),
        (
            "remote_health_check_ms",
            old.remote_health_check_ms != new.remote_health_check_ms,
        ),
        (
            "models_memory_bytes",
            old.models_memory_bytes != new.models_memory_bytes,
        ),
        ("training", old.training != new.training),
        ("management", old.management != new.management),
    ];
    differs
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(name, _)| name.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_settings_a_reload_cannot_apply_need_a_restart() {
        let old = Config::default();
        let mut new = old.clone();
        new.models.clear();
        new.max_concurrent_requests = 8;
        assert!(needs_restart(&old, &new).is_empty());
        new.http.port = 9999;
        new.models_memory_bytes = Some(1 << 30);
        assert_eq!(needs_restart(&old, &new), ["http", "models_memory_bytes"]);
    }

    #[test]
    fn an_alias_may_not_take_a_served_name() {
        let alias: AliasConfig = serde_json::from_value(serde_json::json!(
            {"name": "trained-1", "targets": [{"model": "pii-rules"}]}
        ))
        .unwrap();
        assert!(check_alias_names(std::slice::from_ref(&alias), |_| false).is_ok());
        let refused = check_alias_names(&[alias], |name| name == "trained-1").unwrap_err();
        assert!(refused.contains("trained-1"), "{refused}");
    }
}
