//! What every remote backend's config has in common (where the runtime is, the name it knows
//! the model by, timeouts, retries, circuit breaker, allowed route overrides, TLS), declared
//! once and shared by every backend kind, and the per-call choice among the configured
//! endpoints.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use taskgate_runtime::RuntimeError;
use taskgate_runtime::remote::resilience::RetryPolicy;
use taskgate_runtime::remote::tls::TlsFiles;
use taskgate_runtime::remote::{RemoteClient, RemoteEndpoint};
use utoipa::ToSchema;

use crate::framework::model::LiveMetadata;
use crate::framework::settings::{SettingsError, positive, struct_settings};
use crate::remote::health::Probe;
use crate::{ModelSpec, ModuleError, Task, TaskError, TaskInput};

/// Where a remotely served model runs and how long to wait for it: the keys every backend
/// kind shares.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoteSettings {
    /// The runtime's URL.
    #[serde(default)]
    #[schema(
        required = true,
        pattern = "^https?://",
        example = "http://127.0.0.1:8033"
    )]
    pub endpoint: String,
    /// The name the runtime knows the model by (default: the model's `id`).
    #[serde(default, deserialize_with = "crate::framework::settings::non_empty")]
    #[schema(min_length = 1, example = "granite-3b")]
    pub model_name: Option<String>,
    /// Default 5000.
    #[serde(default)]
    #[schema(minimum = 1, example = 5000)]
    pub connect_timeout_ms: Option<u64>,
    /// Limit for a unary call, and for a stream to start (default 60000); beyond it → 504.
    #[serde(default)]
    #[schema(minimum = 1, example = 60000)]
    pub request_timeout_ms: Option<u64>,
    /// Longest silence between two streamed messages (default 30000); beyond it the stream
    /// ends with a 504 error event.
    #[serde(default)]
    #[schema(minimum = 1, example = 30000)]
    pub stream_idle_timeout_ms: Option<u64>,
    /// Retries of a call the remote never ran (unreachable or busy), with exponential backoff
    /// and jitter (default 2). A stream is never retried once it has started.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10, example = 2)]
    pub retries: Option<u64>,
    /// Failures in a row (unreachable, timed out, remote error) that open the circuit; while
    /// open, calls fail fast with 503 (default 5).
    #[serde(default)]
    #[schema(minimum = 1, example = 5)]
    pub circuit_failures: Option<u64>,
    /// How long an open circuit waits before letting one probe call through (default 10000).
    #[serde(default)]
    #[schema(minimum = 1, example = 10000)]
    pub circuit_cooldown_ms: Option<u64>,
    /// Other endpoints of the same model a call may choose with the `x-route-info` header (or
    /// gRPC metadata). Any other value is refused with 400, so the header cannot point taskgate
    /// at an arbitrary address.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>, example = json!(["http://10.0.0.8:8033"]))]
    pub route_overrides: Option<Vec<String>>,
    /// TLS to the runtime: a CA to trust instead of the system's, and a client certificate for
    /// mutual TLS. An `https://` endpoint uses TLS with the system's roots without it.
    #[serde(default)]
    pub tls: Option<TlsSettings>,
}

/// PEM files for TLS to a remote runtime, read at start-up.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// CA certificate(s) the runtime's certificate must chain to.
    #[serde(default, deserialize_with = "crate::framework::settings::non_empty")]
    #[schema(min_length = 1, example = "/etc/taskgate/remote-ca.pem")]
    pub ca_file: Option<String>,
    /// Client certificate chain for mutual TLS (with `key_file`).
    #[serde(default, deserialize_with = "crate::framework::settings::non_empty")]
    #[schema(min_length = 1, example = "/etc/taskgate/client.pem")]
    pub cert_file: Option<String>,
    /// The client certificate's private key (PKCS#8, PKCS#1 or SEC1 PEM).
    #[serde(default, deserialize_with = "crate::framework::settings::non_empty")]
    #[schema(min_length = 1, example = "/etc/taskgate/client.key")]
    pub key_file: Option<String>,
}

struct_settings!(RemoteSettings);

/// A remote model's endpoint, ready to connect to.
pub struct RemoteTarget {
    pub endpoint: RemoteEndpoint,
    /// The name the runtime knows the model by (default: the model's id).
    pub model_name: String,
    /// Other endpoints a call may choose with `x-route-info`.
    pub routes: Vec<String>,
}

fn millis(key: &str, value: Option<u64>, default: usize) -> Result<Duration, SettingsError> {
    Ok(Duration::from_millis(positive(key, value, default)? as u64))
}

fn http_url(url: &str) -> Option<String> {
    (url.starts_with("http://") || url.starts_with("https://"))
        .then(|| url.trim_end_matches('/').to_string())
}

impl TlsSettings {
    /// The files, read now.
    fn read(&self) -> Result<TlsFiles, SettingsError> {
        TlsFiles::read(
            self.ca_file.as_deref().map(Path::new),
            self.cert_file.as_deref().map(Path::new),
            self.key_file.as_deref().map(Path::new),
        )
        .map_err(|(key, reason)| SettingsError::new(format!("tls.{key}"), reason))
    }
}

impl RemoteSettings {
    /// The endpoint these settings describe, with their values checked and the TLS files read;
    /// `example` shows the endpoint's form in the error when it is not an http(s) URL.
    pub fn target(&self, spec: &ModelSpec, example: &str) -> Result<RemoteTarget, ModuleError> {
        self.check(spec, example)
            .map_err(|e| spec.config_error(&e.key, e.reason))
    }

    fn check(&self, spec: &ModelSpec, example: &str) -> Result<RemoteTarget, SettingsError> {
        let url = http_url(&self.endpoint).ok_or_else(|| {
            SettingsError::new(
                "endpoint",
                format!("required: the runtime's URL, e.g. {example}"),
            )
        })?;
        let routes = self
            .route_overrides
            .iter()
            .flatten()
            .map(|u| {
                http_url(u)
                    .ok_or_else(|| SettingsError::new("route_overrides", "expected http(s) URLs"))
            })
            .collect::<Result<_, _>>()?;
        let retries = match self.retries.unwrap_or(2) {
            n @ 0..=10 => n as u32,
            _ => return Err(SettingsError::new("retries", "at most 10")),
        };
        let endpoint = RemoteEndpoint {
            url,
            connect_timeout: millis("connect_timeout_ms", self.connect_timeout_ms, 5_000)?,
            request_timeout: millis("request_timeout_ms", self.request_timeout_ms, 60_000)?,
            stream_idle_timeout: millis(
                "stream_idle_timeout_ms",
                self.stream_idle_timeout_ms,
                30_000,
            )?,
            retry: RetryPolicy {
                retries,
                ..RetryPolicy::default()
            },
            circuit_failures: positive("circuit_failures", self.circuit_failures, 5)? as u32,
            circuit_cooldown: millis("circuit_cooldown_ms", self.circuit_cooldown_ms, 10_000)?,
            tls: match &self.tls {
                Some(tls) => tls.read()?,
                None => TlsFiles::default(),
            },
        };
        Ok(RemoteTarget {
            endpoint,
            model_name: self.model_name.clone().unwrap_or_else(|| spec.id.clone()),
            routes,
        })
    }
}

impl RemoteTarget {
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
