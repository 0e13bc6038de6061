//! What every remote backend's config has in common (where the runtime is, the name it knows
//! the model by, timeouts, retries, circuit breaker, allowed route overrides), read once, and
//! the per-call choice among the configured endpoints.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use taskgate_runtime::RuntimeError;
use taskgate_runtime::remote::resilience::RetryPolicy;
use taskgate_runtime::remote::tls::TlsFiles;
use taskgate_runtime::remote::{RemoteClient, RemoteEndpoint};

use crate::model::LiveMetadata;
use crate::module_config::ModuleConfig;
use crate::remote_health::Probe;
use crate::{ModelSpec, ModuleError, Task, TaskError, TaskInput};

/// The config keys [`RemoteSettings::parse`] reads.
pub const REMOTE_KEYS: [&str; 10] = [
    "endpoint",
    "model_name",
    "connect_timeout_ms",
    "request_timeout_ms",
    "stream_idle_timeout_ms",
    "retries",
    "circuit_failures",
    "circuit_cooldown_ms",
    "route_overrides",
    "tls",
];

/// `REMOTE_KEYS` followed by a module's own keys.
pub fn keys_with(own: &[&'static str]) -> Vec<&'static str> {
    REMOTE_KEYS.iter().chain(own).copied().collect()
}

pub struct RemoteSettings {
    pub endpoint: RemoteEndpoint,
    /// The name the runtime knows the model by (default: the model's id).
    pub model_name: String,
    /// Other endpoints a call may choose with `x-route-info`.
    pub routes: Vec<String>,
}

fn millis(config: &ModuleConfig, key: &str, default: usize) -> Result<Duration, ModuleError> {
    Ok(Duration::from_millis(config.positive(key, default)? as u64))
}

fn is_http_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// `tls: {ca_file, cert_file, key_file}`, the files read now.
fn tls_files(config: &ModuleConfig) -> Result<TlsFiles, ModuleError> {
    let Some(tls) = config.get("tls") else {
        return Ok(TlsFiles::default());
    };
    let serde_json::Value::Object(tls) = tls else {
        return Err(config.error("tls", "expected a map of ca_file, cert_file, key_file"));
    };
    let mut paths = [None, None, None];
    for (key, value) in tls {
        let slot = match key.as_str() {
            "ca_file" => 0,
            "cert_file" => 1,
            "key_file" => 2,
            _ => {
                return Err(config.error(
                    &format!("tls.{key}"),
                    "unknown key (expected one of: ca_file, cert_file, key_file)",
                ));
            }
        };
        let path = value
            .as_str()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| config.error(&format!("tls.{key}"), "expected a file path"))?;
        paths[slot] = Some(PathBuf::from(path));
    }
    let [ca, cert, key] = paths;
    TlsFiles::read(ca.as_deref(), cert.as_deref(), key.as_deref())
        .map_err(|(key, reason)| config.error(&format!("tls.{key}"), reason))
}

impl RemoteSettings {
    /// `example` shows the endpoint's form in the error when it is missing.
    pub fn parse(
        config: &ModuleConfig,
        spec: &ModelSpec,
        example: &str,
    ) -> Result<Self, ModuleError> {
        let url = match config.get("endpoint") {
            Some(serde_json::Value::String(url)) if is_http_url(url) => {
                url.trim_end_matches('/').to_string()
            }
            _ => {
                return Err(config.error(
                    "endpoint",
                    format!("required: the runtime's URL, e.g. {example}"),
                ));
            }
        };
        let model_name = match config.get("model_name") {
            None => spec.id.clone(),
            Some(serde_json::Value::String(name)) if !name.is_empty() => name.clone(),
            Some(_) => return Err(config.error("model_name", "expected a non-empty string")),
        };
        let routes = match config.get("route_overrides") {
            None => Vec::new(),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|item| match item.as_str() {
                    Some(u) if is_http_url(u) => Ok(u.trim_end_matches('/').to_string()),
                    _ => Err(config.error("route_overrides", "expected http(s) URLs")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(config.error("route_overrides", "expected a list of URLs")),
        };
        let endpoint = RemoteEndpoint {
            url,
            connect_timeout: millis(config, "connect_timeout_ms", 5_000)?,
            request_timeout: millis(config, "request_timeout_ms", 60_000)?,
            stream_idle_timeout: millis(config, "stream_idle_timeout_ms", 30_000)?,
            retry: RetryPolicy {
                retries: match config.non_negative("retries", 2)? {
                    n @ 0..=10 => n as u32,
                    _ => return Err(config.error("retries", "at most 10")),
                },
                ..RetryPolicy::default()
            },
            circuit_failures: config.positive("circuit_failures", 5)? as u32,
            circuit_cooldown: millis(config, "circuit_cooldown_ms", 10_000)?,
            tls: tls_files(config)?,
        };
        Ok(Self {
            endpoint,
            model_name,
            routes,
        })
    }

    /// One client for the endpoint and one per route override, made by `connect`.
    pub fn connect<C>(
        &self,
        spec: &ModelSpec,
        connect: impl Fn(RemoteEndpoint) -> Result<C, RuntimeError>,
    ) -> Result<Routed<C>, ModuleError> {
        let connect = |endpoint| {
            connect(endpoint)
                .map(Arc::new)
                .map_err(|e| spec.runtime_error(e))
        };
        let mut routes = BTreeMap::new();
        for route in &self.routes {
            let endpoint = RemoteEndpoint {
                url: route.clone(),
                ..self.endpoint.clone()
            };
            routes.insert(route.clone(), connect(endpoint)?);
        }
        Ok(Routed {
            main: connect(self.endpoint.clone())?,
            routes: Arc::new(routes),
            model_id: spec.id.clone(),
        })
    }
}

/// A model's clients: the configured endpoint's, and one per allowed route override, each
/// with its own connection and circuit.
pub struct Routed<C> {
    main: Arc<C>,
    routes: Arc<BTreeMap<String, Arc<C>>>,
    model_id: String,
}

impl<C> Clone for Routed<C> {
    fn clone(&self) -> Self {
        Self {
            main: self.main.clone(),
            routes: self.routes.clone(),
            model_id: self.model_id.clone(),
        }
    }
}

impl<C> Routed<C> {
    /// The configured endpoint's client.
    pub fn main(&self) -> &Arc<C> {
        &self.main
    }

    /// The client for the endpoint the call asked for with `x-route-info`, or the main one.
    /// Only configured endpoints: the header never makes taskgate call an address it was not
    /// configured with.
    pub fn pick<T: Task>(&self, input: &TaskInput<T>) -> Result<Arc<C>, TaskError> {
        self.pick_route(input.route_info.as_deref())
    }

    /// [`Routed::pick`] by the header's value.
    pub fn pick_route(&self, route_info: Option<&str>) -> Result<Arc<C>, TaskError> {
        let Some(route) = route_info else {
            return Ok(self.main.clone());
        };
        self.routes
            .get(route.trim_end_matches('/'))
            .cloned()
            .ok_or_else(|| {
                TaskError::invalid_field(
                    "x-route-info",
                    format!(
                        "'{route}' is not an endpoint model '{}' may be routed to",
                        self.model_id
                    ),
                )
            })
    }
}

impl<C: RemoteClient + Send + Sync + 'static> Routed<C> {
    /// The main endpoint's health check. While calls to it are in flight they are the check:
    /// a probe would compete with them for the model (llama-cpp-python even ends a running
    /// stream early whenever another request waits), and a failing call opens the circuit.
    pub fn probe(&self) -> Probe {
        let main = self.main.clone();
        Arc::new(move || {
            let main = main.clone();
            Box::pin(async move {
                if main.resilience().calls_in_flight() > 0 {
                    return Ok(());
                }
                main.probe().await.map_err(|e| e.to_string())
            })
        })
    }

    /// `/info/models` shows the main endpoint's circuit, live.
    pub fn circuit_metadata(&self) -> LiveMetadata {
        let main = self.main.clone();
        Arc::new(move |metadata| {
            let breaker = &main.resilience().breaker;
            metadata.insert("circuit".into(), breaker.state().name().into());
            metadata.insert(
                "consecutive_failures".into(),
                breaker.consecutive_failures().into(),
            );
        })
    }
}
