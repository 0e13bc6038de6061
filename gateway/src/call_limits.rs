//! What one call may take before any model sees it: its body's size, value count and arrival
//! time, its default deadline, and a slot among the calls the whole gateway reads or runs at
//! once. Together they bound the memory of calls in flight at about
//! `max_in_flight_calls × (max_body_bytes + max_json_values × 64 B)`, whatever clients send.

use std::time::Duration;

use taskgate_modules::TaskError;
use taskgate_runtime::{Admission, Permit};

use crate::config::Config;
use crate::error::ApiError;

/// The limits, as the gateway builder takes them.
#[derive(Debug, Clone, PartialEq)]
pub struct CallLimits {
    pub max_body_bytes: usize,
    /// Values (object keys included) one JSON body may hold.
    pub max_json_values: usize,
    pub body_read_timeout: Duration,
    /// The deadline of calls that set none.
    pub call_timeout: Option<Duration>,
    /// Calls being read or run at once across all keys and models; beyond it 429.
    pub max_in_flight_calls: usize,
    /// Largest deploy body (`management.max_deploy_bytes`).
    pub max_deploy_bytes: usize,
}

/// Default request body limit (2 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

impl Default for CallLimits {
    fn default() -> Self {
        let server = crate::server_config::ServerLimits::default();
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_json_values: server.max_json_values,
            body_read_timeout: Duration::from_millis(server.body_read_timeout_ms),
            call_timeout: None,
            max_in_flight_calls: server.max_in_flight_calls,
            max_deploy_bytes: crate::config::ManagementConfig::default().max_deploy_bytes,
        }
    }
}

impl CallLimits {
    pub fn from_config(config: &Config) -> Self {
        let server = &config.server;
        Self {
            max_body_bytes: config.http.max_body_bytes,
            max_json_values: server.max_json_values,
            body_read_timeout: Duration::from_millis(server.body_read_timeout_ms),
            call_timeout: Some(Duration::from_secs(server.call_timeout_seconds)),
            max_in_flight_calls: server.max_in_flight_calls,
            max_deploy_bytes: config.management.max_deploy_bytes,
        }
    }
}

/// What the overload message of the gateway-wide slots names.
pub const GATEWAY: &str = "the gateway";

/// The gateway-wide call slots.
#[derive(Debug, Clone)]
pub struct CallSlots(Admission);

impl CallSlots {
    pub fn new(limit: usize) -> Self {
        Self(Admission::new(GATEWAY, limit))
    }

    /// Calls holding a slot now.
    pub fn in_flight(&self) -> usize {
        self.0.in_flight()
    }

    pub fn limit(&self) -> usize {
        self.0.limit()
    }

    /// A slot for one call, taken before its body is read; refused at once when all are taken.
    pub fn admit(&self) -> Result<Permit, ApiError> {
        Ok(self.0.try_admit().map_err(TaskError::from)?)
    }
}
