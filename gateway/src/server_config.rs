//! How both servers treat connections: timeouts, the connection cap, the default call deadline,
//! TLS and CORS. Every limit has a default that is safe facing a network.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Connection and call limits shared by the HTTP and gRPC servers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ServerLimits {
    /// A request head (line and headers) must arrive within this, counted from a new
    /// connection or from the first byte of a later request.
    #[schema(minimum = 100, example = 10000)]
    pub header_read_timeout_ms: u64,
    /// A request body must arrive whole within this.
    #[schema(minimum = 100, example = 30000)]
    pub body_read_timeout_ms: u64,
    /// A TLS handshake must finish within this.
    #[schema(minimum = 100, example = 10000)]
    pub tls_handshake_timeout_ms: u64,
    /// HTTP/2 (gRPC) connections are pinged after this much silence, and closed when a ping
    /// goes unanswered for `http2_keepalive_timeout_ms`.
    #[schema(minimum = 1000, example = 30000)]
    pub http2_keepalive_interval_ms: u64,
    #[schema(minimum = 100, example = 10000)]
    pub http2_keepalive_timeout_ms: u64,
    /// Calls in flight on one HTTP/2 connection.
    #[schema(minimum = 1, example = 128)]
    pub http2_max_concurrent_streams: u32,
    /// Open connections per server; beyond it new ones are closed at once while existing
    /// ones keep working.
    #[schema(minimum = 1, example = 4096)]
    pub max_connections: usize,
    /// The deadline of a call that sets none (REST always; gRPC without `grpc-timeout`).
    #[schema(minimum = 1, example = 600)]
    pub call_timeout_seconds: u64,
    /// An HTTP/1.1 connection waiting for its next request, or an HTTP/2 connection with no
    /// call open, is closed after this. Longer than clients' pool idle times avoids a client
    /// sending on a connection the server is closing.
    #[schema(minimum = 100, example = 75000)]
    pub idle_timeout_ms: u64,
    /// Values (object keys included) one JSON body may hold; beyond it 413. A parsed value
    /// takes far more memory than its text, so this, not the body size, bounds a body's memory.
    /// Inline training records count too: send large training sets as files.
    #[schema(minimum = 16, example = 100000)]
    pub max_json_values: usize,
    /// Task calls and training submissions being read or run at once, across all keys and
    /// models; beyond it 429 before the body is read.
    #[schema(minimum = 1, example = 512)]
    pub max_in_flight_calls: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            tls_handshake_timeout_ms: 10_000,
            http2_keepalive_interval_ms: 30_000,
            http2_keepalive_timeout_ms: 10_000,
            http2_max_concurrent_streams: 128,
            max_connections: 4096,
            call_timeout_seconds: 600,
            idle_timeout_ms: 75_000,
            max_json_values: 100_000,
            max_in_flight_calls: 512,
        }
    }
}

/// TLS for one server. The files are read again on SIGHUP and when they change, so renewed
/// certificates take effect without a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, PEM, leaf first.
    #[schema(min_length = 1, example = "/etc/taskgate/tls/server.crt")]
    pub cert_file: String,
    /// The private key, PEM (PKCS#8, PKCS#1 or SEC1).
    #[schema(min_length = 1, example = "/etc/taskgate/tls/server.key")]
    pub key_file: String,
    /// CA certificates (PEM) that client certificates must chain to: mutual TLS.
    #[schema(min_length = 1, example = "/etc/taskgate/tls/clients-ca.crt")]
    pub client_ca_file: Option<String>,
    /// With `client_ca_file`: whether a client must present a certificate (`required`), or
    /// may authenticate with an API key instead (`optional`).
    #[serde(default)]
    pub client_auth: ClientAuth,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    #[default]
    Required,
    Optional,
}

/// Cross-origin calls from browser apps: only the listed origins, with preflights answered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CorsConfig {
    /// Exact origins (`https://app.example.com`); none means no cross-origin access.
    #[schema(example = json!(["https://app.example.com"]))]
    pub allowed_origins: Vec<String>,
    /// How long browsers may cache a preflight answer.
    #[schema(minimum = 0, example = 600)]
    pub max_age_seconds: u64,
}
