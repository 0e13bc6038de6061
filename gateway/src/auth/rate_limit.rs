//! Per-key limits: requests per second and tokens per minute as token buckets, and a cap on the
//! key's calls in flight. They live in this process's memory, so each replica counts on its own.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use utoipa::ToSchema;

use crate::error::ApiError;

/// One key's limits; each is off unless set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    /// Sustained calls per second.
    #[schema(minimum = 0.001, example = 10)]
    pub requests_per_second: Option<f64>,
    /// Calls allowed at once after a quiet spell (default: one second's worth, at least 1).
    #[schema(minimum = 1, example = 20)]
    pub burst: Option<u32>,
    /// Input plus generated tokens per minute; a call is admitted while any remain and its use
    /// is counted when it ends.
    #[schema(minimum = 1, example = 100000)]
    pub tokens_per_minute: Option<u64>,
    /// Calls of this key in flight at once.
    #[schema(minimum = 1, example = 8)]
    pub max_concurrent: Option<usize>,
}

/// A token bucket: `capacity` tokens, refilled at `per_second`. Its level may go below zero
/// when use is counted after the fact (tokens), which delays the next admission.
#[derive(Debug)]
struct Bucket {
    capacity: f64,
    per_second: f64,
    level: f64,
    updated: Instant,
}

impl Bucket {
    fn new(capacity: f64, per_second: f64) -> Self {
        Self {
            capacity,
            per_second,
            level: capacity,
            updated: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.level = (self.level + elapsed * self.per_second).min(self.capacity);
        self.updated = now;
    }

    /// How long until the level reaches `wanted`.
    fn wait_for(&self, wanted: f64) -> Duration {
        Duration::from_secs_f64(((wanted - self.level).max(0.0) / self.per_second).min(86_400.0))
    }

    fn status(&self) -> BucketStatus {
        BucketStatus {
            limit: self.capacity as u64,
            remaining: self.level.max(0.0) as u64,
            reset: self.wait_for(self.capacity),
        }
    }
}

/// A bucket as the `x-ratelimit-*` headers report it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketStatus {
    pub limit: u64,
    pub remaining: u64,
    /// Until the bucket is full again.
    pub reset: Duration,
}

/// The key's buckets after an admission or a refusal.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateStatus {
    pub requests: Option<BucketStatus>,
    pub tokens: Option<BucketStatus>,
}

impl RateStatus {
    /// The header convention OpenAI clients read: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        const REQUESTS: [HeaderName; 3] = [
            HeaderName::from_static("x-ratelimit-limit-requests"),
            HeaderName::from_static("x-ratelimit-remaining-requests"),
            HeaderName::from_static("x-ratelimit-reset-requests"),
        ];
        const TOKENS: [HeaderName; 3] = [
            HeaderName::from_static("x-ratelimit-limit-tokens"),
            HeaderName::from_static("x-ratelimit-remaining-tokens"),
            HeaderName::from_static("x-ratelimit-reset-tokens"),
        ];
        for (names, bucket) in [(REQUESTS, self.requests), (TOKENS, self.tokens)] {
            let Some(bucket) = bucket else { continue };
            let [limit, remaining, reset] = names;
            headers.insert(limit, HeaderValue::from(bucket.limit));
            headers.insert(remaining, HeaderValue::from(bucket.remaining));
            if let Ok(value) = HeaderValue::try_from(format_reset(bucket.reset)) {
                headers.insert(reset, value);
            }
        }
    }

    pub fn headers(&self) -> Vec<(String, String)> {
        let mut map = HeaderMap::new();
        self.write_headers(&mut map);
        map.iter()
            .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
            .collect()
    }
}

/// `250ms`, `1.5s`, `6m0s`: the format of OpenAI's reset headers.
fn format_reset(wait: Duration) -> String {
    let ms = wait.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        let text = format!("{:.3}", wait.as_secs_f64());
        format!("{}s", text.trim_end_matches('0').trim_end_matches('.'))
    } else {
        format!("{}m{}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// Why a call was refused by its key's limits.
#[derive(Debug, Clone, PartialEq)]
pub struct RateRefusal {
    pub key: String,
    /// `requests per second`, `tokens per minute` or `concurrent requests`.
    pub what: &'static str,
    pub limit: String,
    pub retry_after: Duration,
    pub status: RateStatus,
}

/// One key's limits in force.
#[derive(Debug)]
pub struct KeyLimiter {
    key: Arc<str>,
    requests: Option<Mutex<Bucket>>,
    tokens: Option<Mutex<Bucket>>,
    concurrency: Option<(Arc<Semaphore>, usize)>,
}

/// A call admitted under its key's limits; the in-flight slot is held until it drops.
#[derive(Debug)]
pub struct Admitted {
    _slot: Option<OwnedSemaphorePermit>,
    pub status: RateStatus,
}

fn lock(bucket: &Mutex<Bucket>) -> std::sync::MutexGuard<'_, Bucket> {
    // Every change to a bucket is a few assignments; a poisoned one is still whole.
    bucket.lock().unwrap_or_else(|e| e.into_inner())
}

impl KeyLimiter {
    /// `None` when no limit is set.
    pub fn new(key: Arc<str>, limits: &RateLimits) -> Option<Self> {
        let requests = limits.requests_per_second.map(|rate| {
            let burst = limits.burst.map(f64::from).unwrap_or(rate.ceil()).max(1.0);
            Mutex::new(Bucket::new(burst, rate))
        });
        let tokens = limits
            .tokens_per_minute
            .map(|per_minute| Mutex::new(Bucket::new(per_minute as f64, per_minute as f64 / 60.0)));
        let concurrency = limits
            .max_concurrent
            .map(|n| (Arc::new(Semaphore::new(n)), n));
        if requests.is_none() && tokens.is_none() && concurrency.is_none() {
            return None;
        }
        Some(Self {
            key,
            requests,
            tokens,
            concurrency,
        })
    }

    fn status(&self) -> RateStatus {
        RateStatus {
            requests: self.requests.as_ref().map(|b| lock(b).status()),
            tokens: self.tokens.as_ref().map(|b| lock(b).status()),
        }
    }

    fn refusal(&self, what: &'static str, limit: String, retry_after: Duration) -> ApiError {
        ApiError::RateLimited(Box::new(RateRefusal {
            key: self.key.to_string(),
            what,
            limit,
            retry_after,
            status: self.status(),
        }))
    }

    /// Takes one request token and an in-flight slot, or refuses with how long to wait. Nothing
    /// is taken from a bucket when the call is refused.
    pub fn admit(&self) -> Result<Admitted, ApiError> {
        let now = Instant::now();
        if let Some(tokens) = &self.tokens {
            let mut bucket = lock(tokens);
            bucket.refill(now);
            if bucket.level < 1.0 {
                let wait = bucket.wait_for(1.0);
                let limit = format!("{} per minute", bucket.capacity);
                drop(bucket);
                return Err(self.refusal("tokens per minute", limit, wait));
            }
        }
        let slot = match &self.concurrency {
            Some((slots, n)) => match slots.clone().try_acquire_owned() {
                Ok(slot) => Some(slot),
                Err(_) => {
                    return Err(self.refusal(
                        "concurrent requests",
                        n.to_string(),
                        Duration::from_secs(1),
                    ));
                }
            },
            None => None,
        };
        if let Some(requests) = &self.requests {
            let mut bucket = lock(requests);
            bucket.refill(now);
            if bucket.level < 1.0 {
                let wait = bucket.wait_for(1.0);
                let limit = format!("{} per second", bucket.per_second);
                drop(bucket);
                return Err(self.refusal("requests per second", limit, wait));
            }
            bucket.level -= 1.0;
        }
        Ok(Admitted {
            _slot: slot,
            status: self.status(),
        })
    }

    /// Counts the tokens a finished call used.
    pub fn charge_tokens(&self, used: u64) {
        if let Some(tokens) = &self.tokens {
            let mut bucket = lock(tokens);
            bucket.refill(Instant::now());
            // Bounded below so one huge call delays the key by at most a minute's worth.
            bucket.level = (bucket.level - used as f64).max(-bucket.capacity);
        }
    }

    pub fn current(&self) -> RateStatus {
        self.status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(limits: RateLimits) -> KeyLimiter {
        KeyLimiter::new("k".into(), &limits).unwrap()
    }

    #[test]
    fn no_limits_means_no_limiter() {
        assert!(KeyLimiter::new("k".into(), &RateLimits::default()).is_none());
    }

    #[test]
    fn requests_beyond_the_burst_are_refused_with_a_wait() {
        let limits = limiter(RateLimits {
            requests_per_second: Some(0.5),
            burst: Some(2),
            ..RateLimits::default()
        });
        let first = limits.admit().unwrap();
        assert_eq!(first.status.requests.unwrap().remaining, 1);
        limits.admit().unwrap();
        let ApiError::RateLimited(refusal) = limits.admit().unwrap_err() else {
            panic!("expected a rate limit");
        };
        assert_eq!(refusal.what, "requests per second");
        assert!(refusal.retry_after > Duration::from_millis(1500));
        assert!(refusal.retry_after <= Duration::from_secs(2));
        assert_eq!(refusal.status.requests.unwrap().remaining, 0);
    }

    #[test]
    fn the_in_flight_cap_frees_a_slot_when_a_call_ends() {
        let limits = limiter(RateLimits {
            max_concurrent: Some(1),
            ..RateLimits::default()
        });
        let held = limits.admit().unwrap();
        assert!(limits.admit().is_err());
        drop(held);
        assert!(limits.admit().is_ok());
    }

    #[test]
    fn used_tokens_hold_off_the_next_call() {
        let limits = limiter(RateLimits {
            tokens_per_minute: Some(600),
            ..RateLimits::default()
        });
        limits.admit().unwrap();
        limits.charge_tokens(5_000);
        let ApiError::RateLimited(refusal) = limits.admit().unwrap_err() else {
            panic!("expected a rate limit");
        };
        assert_eq!(refusal.what, "tokens per minute");
        // 600 below zero (the floor) plus one, at 10 tokens a second.
        assert!(refusal.retry_after > Duration::from_secs(60));
    }

    #[test]
    fn headers_follow_the_openai_names() {
        let status = RateStatus {
            requests: Some(BucketStatus {
                limit: 20,
                remaining: 19,
                reset: Duration::from_millis(100),
            }),
            tokens: Some(BucketStatus {
                limit: 1000,
                remaining: 10,
                reset: Duration::from_secs(90),
            }),
        };
        let mut headers = HeaderMap::new();
        status.write_headers(&mut headers);
        assert_eq!(headers["x-ratelimit-limit-requests"], "20");
        assert_eq!(headers["x-ratelimit-remaining-requests"], "19");
        assert_eq!(headers["x-ratelimit-reset-requests"], "100ms");
        assert_eq!(headers["x-ratelimit-remaining-tokens"], "10");
        assert_eq!(headers["x-ratelimit-reset-tokens"], "1m30s");
        assert_eq!(format_reset(Duration::from_millis(1500)), "1.5s");
    }
}
