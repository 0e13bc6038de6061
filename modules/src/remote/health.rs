//! Active health checks of remote models: a cheap call to the remote (TGIS `ModelInfo`,
//! `GET /v1/models`, ...) that the gateway repeats on an interval. The last outcome shows in
//! `/info/models` and in gRPC health; it does not gate calls (the circuit breaker does that
//! from real traffic).

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use futures::future::BoxFuture;
use serde_json::{Map, Value};

/// One probe of a remote; `Err` says what failed.
pub type Probe = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

#[derive(Debug, Clone)]
struct Outcome {
    error: Option<String>,
    at: SystemTime,
}

pub struct RemoteHealth {
    probe: Probe,
    last: Mutex<Option<Outcome>>,
}

impl RemoteHealth {
    pub fn new(probe: Probe) -> Self {
        Self {
            probe,
            last: Mutex::new(None),
        }
    }

    /// Probes the remote now; true when it answered.
    pub async fn check(&self) -> bool {
        let error = (self.probe)().await.err();
        let healthy = error.is_none();
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(Outcome {
            error,
            at: SystemTime::now(),
        });
        healthy
    }

    /// `healthy` (null before the first check), the last error, and when it was checked.
    pub fn describe(&self, metadata: &mut Map<String, Value>) {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(last) = last else {
            metadata.insert("healthy".into(), Value::Null);
            return;
        };
        metadata.insert("healthy".into(), last.error.is_none().into());
        if let Some(error) = last.error {
            metadata.insert("health_error".into(), error.into());
        }
        let at = last
            .at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        metadata.insert("health_checked_at".into(), at.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[tokio::test]
    async fn the_last_outcome_is_reported() {
        let up = Arc::new(AtomicBool::new(true));
        let flag = up.clone();
        let health = RemoteHealth::new(Arc::new(move || {
            let up = flag.load(Ordering::SeqCst);
            Box::pin(async move { if up { Ok(()) } else { Err("refused".into()) } })
        }));
        let mut metadata = Map::new();
        health.describe(&mut metadata);
        assert_eq!(metadata["healthy"], Value::Null);
        assert!(health.check().await);
        health.describe(&mut metadata);
        assert_eq!(metadata["healthy"], true);
        up.store(false, Ordering::SeqCst);
        assert!(!health.check().await);
        health.describe(&mut metadata);
        assert_eq!(metadata["healthy"], false);
        assert_eq!(metadata["health_error"], "refused");
        assert!(metadata["health_checked_at"].as_u64().unwrap() > 0);
    }
}
