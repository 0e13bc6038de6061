//! The front door over real sockets: API keys and scopes on every route and RPC, per-key rate
//! limits, admission before the body is read, refusing to face a network without keys,
//! connection timeouts and caps, TLS and mutual TLS with a reload, CORS, and inputs the door
//! refuses. One test binary for all of them
//! (each file would otherwise add its own link).

#[path = "../common/mod.rs"]
mod common;

mod admission;
mod auth_matrix;
mod connections;
mod limits;
mod tls;
mod training_bounds;

use serde_json::{Value, json};
use taskgate_gateway::auth::api_keys::digest_hex;

pub const ADMIN: &str = "admin-key-0123456789";
pub const APP: &str = "app-key-0123456789";
pub const BARE: &str = "bare-key-0123456789";

/// Three keys: `admin`; `app`, which may run token classification on `pii-*` models and read
/// its own jobs; and `bare`, which is known but may do nothing.
pub fn keys() -> Value {
    json!({"keys": [
        {"id": "admin", "sha256": digest_hex(ADMIN), "scopes": {"admin": true}},
        {"id": "app", "sha256": digest_hex(APP), "scopes": {
            "tasks": ["token-classification"], "models": ["pii-*"], "training": ["read"]}},
        {"id": "bare", "sha256": digest_hex(BARE), "scopes": {}},
    ]})
}

pub fn pii() -> Value {
    json!([{"id": "pii-rules", "module": "pii-rules"}])
}
