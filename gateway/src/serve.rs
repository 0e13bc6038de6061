//! Binding and serving: HTTP and gRPC in one process, stopped by one shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use taskgate_modules::remote::health::RemoteHealth;
use taskgate_modules::{ModelRegistry, ModuleCatalog};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::GatewayBuilder;
use crate::aliases::{AliasTable, Aliases};
use crate::auth::ApiKeys;
use crate::auth::api_keys::KeysError;
use crate::call_limits::CallLimits;
use crate::config::ConfigSources;
use crate::config::{Config, ConfigError};
use crate::grpc::Health;
use crate::listener::{self, ConnectionLimits, Listener};
use crate::management::{Defaults, DeploymentStore, Management};
use crate::model_mesh::ModelMeshRuntime;
use crate::models::model_specs;
use crate::reload::{ConfigReloader, ReloadReport, check_alias_names};
use crate::tls::{GRPC_ALPN, HTTP_ALPN, ReloadingTls, TlsError};
use std::collections::HashMap;
use taskgate_modules::tuning::{ModelLoader, TrainingManager, tuned_classifier, tuned_generation};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("binding {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Keys(#[from] KeysError),
    #[error("{which} TLS: {source}")]
    Tls {
        which: &'static str,
        source: TlsError,
    },
    #[error(
        "refusing to serve {hosts} without API keys: anyone who reaches the port could call every \
         model and manage training. Configure auth.keys, bind a loopback address, or set \
         auth.disabled: true to serve without keys on purpose"
    )]
    Insecure { hosts: String },
}

/// A bound, not yet running, server for one router.
pub struct Server {
    listener: Listener,
    router: Router,
    limits: ConnectionLimits,
    tls: Option<ReloadingTls>,
}

impl Server {
    /// Plain HTTP with the default connection limits.
    pub async fn bind(address: &str, router: Router) -> std::io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        Ok(Self {
            listener: listener.into(),
            router,
            limits: ConnectionLimits::default(),
            tls: None,
        })
    }

    /// Plain HTTP on a unix socket at `path` (a stale socket file left there is replaced).
    #[cfg(unix)]
    pub fn bind_unix(path: &std::path::Path, router: Router) -> std::io::Result<Self> {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(Self {
            listener: Listener::Unix(tokio::net::UnixListener::bind(path)?),
            router,
            limits: ConnectionLimits::default(),
            tls: None,
        })
    }

    pub fn with_limits(mut self, limits: ConnectionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Serves TLS with these certificates, reloaded on SIGHUP or when their files change.
    pub fn with_tls(mut self, tls: Option<ReloadingTls>) -> Self {
        self.tls = tls;
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests. HTTP/1.1 and HTTP/2
    /// (the latter is what gRPC speaks) are both accepted.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let watcher = self.tls.clone().map(ReloadingTls::watch);
        let served =
            listener::serve(self.listener, self.router, self.limits, self.tls, shutdown).await;
        if let Some(watcher) = watcher {
            watcher.abort();
        }
        served
    }
}

/// Everything the configuration describes, bound to its ports.
pub struct Servers {
    http: Server,
    grpc: Option<(Server, Health)>,
    /// `/metrics` on a port of its own, when configured.
    metrics: Option<Server>,
    /// The ModelMesh runtime SPI, when enabled.
    model_mesh: Option<Server>,
    grace: Duration,
    /// Every model: remote ones are health-checked every `health_interval`, and each one's
    /// state is reported to gRPC health.
    registry: ModelRegistry,
    health_interval: Duration,
    /// Stopped with the servers, so running jobs end CANCELED rather than interrupted.
    training: Option<TrainingManager>,
    /// Reads the config again on SIGHUP or a change of its file, when serving from one.
    reloads: Option<tokio::task::JoinHandle<()>>,
    model_mesh_socket: Option<String>,
}

impl Servers {
    /// Builds the models, then binds HTTP and (when enabled) gRPC.
    pub async fn bind(config: &Config) -> Result<Self, ServeError> {
        Self::bind_with(config, None).await
    }

    /// As [`Self::bind`], and reloads the models and aliases from `sources` (the ones `config`
    /// was read from) on SIGHUP or when the config file changes.
    pub async fn bind_reloading(
        config: &Config,
        sources: ConfigSources,
    ) -> Result<Self, ServeError> {
        Self::bind_with(config, Some(sources)).await
    }

    async fn bind_with(
        config: &Config,
        sources: Option<ConfigSources>,
    ) -> Result<Self, ServeError> {
        let exposed = config.exposed_hosts();
        if config.auth.keys.is_empty() && !config.auth.disabled && !exposed.is_empty() {
            return Err(ServeError::Insecure {
                hosts: exposed.join(", "),
            });
        }
        let keys = ApiKeys::new(&config.auth, std::path::Path::new("."))?;
        let bad_origins = crate::cors::invalid_origins(&config.http.cors);
        if !bad_origins.is_empty() {
            return Err(ConfigError::Invalid(vec![taskgate_schemas::FieldError::new(
                "/http/cors/allowed_origins",
                format!(
                    "origins must be scheme://host[:port] with no path: {}",
                    bad_origins.join(", ")
                ),
            )])
            .into());
        }
        let tls = |which, tls: &Option<crate::config::TlsConfig>, alpn| {
            tls.as_ref()
                .map(|tls| ReloadingTls::new(tls, alpn))
                .transpose()
                .map_err(|source| ServeError::Tls { which, source })
        };
        let http_tls = tls("HTTP", &config.http.tls, HTTP_ALPN)?;
        let grpc_tls = tls("gRPC", &config.grpc.tls, GRPC_ALPN)?;
        let state_file = std::path::Path::new(&config.management.state_file);
        let deployments = DeploymentStore::open(state_file).map_err(|reason| {
            ConfigError::Invalid(vec![taskgate_schemas::FieldError::new(
                "/management/state_file",
                format!("the deployments cannot be read: {reason}"),
            )])
        })?;
        let catalog = ModuleCatalog::standard();
        let specs = model_specs(config, &Management::stored_ids(&deployments))
            .map_err(ConfigError::from)?;
        let registry = ModelRegistry::with_memory_budget(config.models_memory_bytes);
        for spec in &specs {
            registry
                .register(&spec.id, spec.source(catalog))
                .map_err(ConfigError::from)?;
        }
        let management = Management::new(
            registry.clone(),
            deployments,
            config.models_dir.clone().into(),
            Defaults {
                max_concurrent_requests: config.max_concurrent_requests,
                load: config.models_load,
            },
        );
        let aliases = AliasTable::new(Aliases::new(&config.aliases));
        let management = Arc::new(management.with_aliases(aliases.clone()));
        let registry_for_health = registry.clone();
        let report = ReloadReport::default();
        let mut training = None;
        let mut builder = GatewayBuilder::new(registry.clone())
            .call_limits(CallLimits::from_config(config))
            .metrics(config.metrics.enabled)
            .metrics_on_own_port(config.metrics_listen_address().is_some())
            .cors(config.http.cors.clone())
            .management(management.clone())
            .aliases(aliases.clone())
            .config_reload(report.clone());
        if !config.auth.keys.is_empty() {
            builder = builder.authorizer(Arc::new(keys));
        }
        if config.training.enabled {
            let loaders = HashMap::from([
                (
                    tuned_classifier::TRAINER,
                    tuned_classifier::load as ModelLoader,
                ),
                (
                    tuned_generation::TRAINER,
                    tuned_generation::load as ModelLoader,
                ),
            ]);
            let manager = TrainingManager::start(
                config.training.settings(config.models_load),
                registry.clone(),
                loaders,
            )
            .map_err(ConfigError::from)?;
            training = Some(manager.clone());
            builder = builder.training(manager);
        }
        check_alias_names(&config.aliases, |name| registry.contains(name)).map_err(|reason| {
            ConfigError::Invalid(vec![taskgate_schemas::FieldError::new("/aliases", reason)])
        })?;
        let reloader = sources.map(|sources| {
            ConfigReloader::new(
                sources,
                config.clone(),
                specs,
                registry.clone(),
                Some(management),
                aliases.clone(),
                report,
            )
        });
        // Config, discovered and trained models alike: one that fails is left FAILED (and
        // retried with backoff) while the rest serve.
        registry.load_eager().await;
        let routers = builder.build_all(config.grpc.max_message_bytes).await;
        let (http_router, grpc) = (routers.http, routers.grpc);
        let limits = ConnectionLimits::from(&config.server);
        let metrics = match config.metrics_listen_address() {
            Some(address) => Some(
                bind(&address, routers.metrics)
                    .await?
                    .with_limits(limits.clone()),
            ),
            None => None,
        };
        let model_mesh =
            if config.model_mesh.enabled {
                let runtime = ModelMeshRuntime::new(
                    registry_for_health.clone(),
                    &config.model_mesh,
                    &config.models_dir,
                    config
                        .model_mesh
                        .capacity_bytes
                        .or(config.models_memory_bytes)
                        .unwrap_or_default(),
                    config.max_concurrent_requests,
                    aliases.clone(),
                );
                let router = tonic::service::Routes::new(runtime.into_service())
                    .prepare()
                    .into_axum_router();
                let server =
                    match &config.model_mesh.unix_socket {
                        #[cfg(unix)]
                        Some(path) => Server::bind_unix(std::path::Path::new(path), router)
                            .map_err(|source| ServeError::Bind {
                                address: format!("unix:{path}"),
                                source,
                            })?,
                        #[cfg(not(unix))]
                        Some(path) => {
                            return Err(ServeError::Bind {
                                address: format!("unix:{path}"),
                                source: std::io::Error::other("unix sockets need a unix system"),
                            });
                        }
                        None => bind(&config.model_mesh_listen_address(), router).await?,
                    };
                Some(server.with_limits(limits.clone()))
            } else {
                None
            };
        let http = bind(&config.listen_address(), http_router)
            .await?
            .with_limits(limits.clone())
            .with_tls(http_tls);
        let grpc = if config.grpc.enabled {
            let server = bind(&config.grpc_listen_address(), grpc.router)
                .await?
                .with_limits(limits)
                .with_tls(grpc_tls);
            Some((server, grpc.health))
        } else {
            None
        };
        Ok(Self {
            http,
            grpc,
            metrics,
            model_mesh,
            model_mesh_socket: config.model_mesh.unix_socket.clone(),
            grace: Duration::from_secs(config.shutdown_grace_seconds),
            registry: registry_for_health,
            health_interval: Duration::from_millis(config.remote_health_check_ms),
            training,
            // Started before the caller learns the ports, so a SIGHUP sent once they are
            // printed reloads rather than ends the process.
            reloads: reloader.map(ConfigReloader::watch),
        })
    }

    pub fn http_addr(&self) -> std::io::Result<SocketAddr> {
        self.http.local_addr()
    }

    pub fn grpc_addr(&self) -> Option<std::io::Result<SocketAddr>> {
        self.grpc.as_ref().map(|(server, _)| server.local_addr())
    }

    pub fn metrics_addr(&self) -> Option<std::io::Result<SocketAddr>> {
        self.metrics.as_ref().map(Server::local_addr)
    }

    /// Where the ModelMesh SPI listens, when enabled: a TCP address, or `unix:` and a path.
    pub fn model_mesh_endpoint(&self) -> Option<String> {
        let server = self.model_mesh.as_ref()?;
        Some(match (&self.model_mesh_socket, server.local_addr()) {
            (Some(path), _) => format!("unix:{path}"),
            (None, Ok(addr)) => addr.to_string(),
            (None, Err(e)) => format!("unknown ({e})"),
        })
    }

    /// Serves both until `shutdown` resolves, then lets in-flight calls finish for at most the
    /// grace period (a health `Watch` or an abandoned stream would otherwise hold the process
    /// forever). gRPC health turns NOT_SERVING at once, which open `Watch` streams see.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let (stop, stopped) = watch::channel(false);
        let stopped_for_grace = stopped.clone();
        let stopping_training = stopped.clone();
        let health = self.grpc.as_ref().map(|(_, health)| health.clone());
        if let Some(health) = &health {
            health.set(true).await;
        }
        let reloads = self.reloads;
        let checks = tokio::spawn(report_models(
            self.registry,
            self.health_interval,
            health.clone(),
        ));
        tokio::spawn(async move {
            shutdown.await;
            if let Some(health) = health {
                health.set(false).await;
            }
            let _ = stop.send(true);
        });
        let signal = |mut stopped: watch::Receiver<bool>| async move {
            // An error means the sender is gone, which also means stop.
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        let http = self.http.run(signal(stopped.clone()));
        // The servers beside HTTP, each when configured.
        let optional = |server: Option<Server>| {
            let served = server.map(|s| s.run(signal(stopped.clone())));
            async move {
                match served {
                    Some(served) => served.await,
                    None => Ok(()),
                }
            }
        };
        let metrics = optional(self.metrics);
        let model_mesh = optional(self.model_mesh);
        let grpc = optional(self.grpc.map(|(grpc, _)| grpc));
        let serving = async move { tokio::try_join!(http, grpc, metrics, model_mesh).map(|_| ()) };
        let grace = self.grace;
        let training = self.training;
        // Training stops at the signal too, within the same grace: a running job ends within
        // one step, CANCELED with the reason `shutdown`.
        let training_stopped = async move {
            signal(stopping_training).await;
            if let Some(training) = training {
                training.shut_down().await;
            }
        };
        let overdue = async move {
            signal(stopped_for_grace).await;
            tokio::time::sleep(grace).await;
        };
        let everything = async move {
            let (served, ()) = tokio::join!(serving, training_stopped);
            served
        };
        tokio::select! {
            served = everything => served?,
            () = overdue => tracing::warn!(
                grace_seconds = grace.as_secs(),
                "in-flight calls or training did not stop within the shutdown grace period; stopping anyway"
            ),
        }
        checks.abort();
        if let Some(reloads) = reloads {
            reloads.abort();
        }
        Ok(())
    }
}

/// Reports each model to gRPC health as `model/<id>`: serving while it can be called (not
/// FAILED or UNLOADING) and, for a remote model, while its runtime passes the health check
/// run every `interval`. Reports again whenever a model's state changes; changes of remote
/// health are logged.
async fn report_models(registry: ModelRegistry, interval: Duration, health: Option<Health>) {
    let mut changes = registry.changes();
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut remote_healthy: HashMap<String, bool> = HashMap::new();
    let mut reported: HashMap<String, bool> = HashMap::new();
    loop {
        let check_remotes = tokio::select! {
            _ = ticks.tick() => true,
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
                false
            }
        };
        if check_remotes {
            let remotes: Vec<(String, Arc<RemoteHealth>)> = registry
                .models()
                .iter()
                .filter_map(|m| Some((m.id().to_string(), m.health()?.clone())))
                .collect();
            let outcomes =
                futures::future::join_all(remotes.iter().map(|(_, remote)| remote.check())).await;
            for ((id, _), healthy) in remotes.iter().zip(outcomes) {
                if remote_healthy.get(id) != Some(&healthy) {
                    if healthy {
                        tracing::info!(model = %id, "remote runtime healthy");
                    } else {
                        tracing::warn!(model = %id, "remote runtime failed its health check");
                    }
                }
                remote_healthy.insert(id.clone(), healthy);
            }
        }
        let Some(health) = &health else {
            continue;
        };
        let ids = registry.ids();
        for id in &ids {
            let callable = registry.state(id).is_some_and(|s| s.callable());
            let serving = callable && remote_healthy.get(id).copied().unwrap_or(true);
            if reported.get(id) != Some(&serving) {
                health.set_model(id, serving).await;
                reported.insert(id.clone(), serving);
            }
        }
        let gone: Vec<String> = reported
            .keys()
            .filter(|id| !ids.contains(id))
            .cloned()
            .collect();
        for id in gone {
            health.clear_model(&id).await;
            reported.remove(&id);
            remote_healthy.remove(&id);
        }
    }
}

async fn bind(address: &str, router: Router) -> Result<Server, ServeError> {
    Server::bind(address, router)
        .await
        .map_err(|source| ServeError::Bind {
            address: address.to_string(),
            source,
        })
}
