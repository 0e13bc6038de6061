//! What the front door, the metrics and the traces cost on the hot path: requests per second
//! on the rules model with no keys, with an API key checked, scoped and rate-limited (limits
//! high enough never to refuse, so every request runs the bucket and in-flight bookkeeping),
//! with metrics off, and with every call traced to an OTLP receiver in this process,
//! alternating in the same run against the real binary over REST.
//!
//!     cargo bench --bench front_door    # writes its section of BENCHMARKS.md
//!
//! Under `cargo test` this target only checks that it builds.

mod common;

use common::Killed;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use taskgate_gateway::auth::api_keys::digest_hex;

const SECTION: &str = "front-door";
const METRICS_SECTION: &str = "metrics-cost";
const KEY: &str = "bench-key-0123456789abcdef";
const CLIENTS: usize = 16;
const ROUND: Duration = Duration::from_secs(3);
const ROUNDS: usize = 8;

/// The binary serving `pii-rules`, with `extra` config on top.
fn start(name: &str, extra: serde_json::Value) -> (Killed, String) {
    let mut config = json!({"models_dir": "none", "log": {"level": "warn"},
        "grpc": {"enabled": false}, "max_concurrent_requests": 1024,
        "models": [{"id": "pii-rules", "module": "pii-rules"}]});
    config
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap());
    common::serve_taskgate(name, &config, &[])
}

/// Requests answered per second by `CLIENTS` keep-alive clients over `ROUND`, and each
/// request's latency.
async fn rate(base: &str, key: Option<&str>) -> (f64, Vec<Duration>) {
    let url = format!("{base}/api/v1/task/token-classification");
    let body = json!({"model_id": "pii-rules",
        "inputs": "Mail ana@example.com or call +1 415 555 0100"});
    let until = Instant::now() + ROUND;
    let clients = (0..CLIENTS).map(|_| {
        let (url, body) = (url.clone(), body.clone());
        let key = key.map(str::to_string);
        async move {
            let client = reqwest::Client::new();
            let mut latencies = Vec::new();
            while Instant::now() < until {
                let sent = Instant::now();
                let mut request = client.post(&url).json(&body);
                if let Some(key) = &key {
                    request = request.bearer_auth(key);
                }
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap();
                latencies.push(sent.elapsed());
            }
            latencies
        }
    });
    let latencies: Vec<Duration> = futures::future::join_all(clients)
        .await
        .into_iter()
        .flatten()
        .collect();
    (latencies.len() as f64 / ROUND.as_secs_f64(), latencies)
}

fn p99(mut latencies: Vec<Duration>) -> Duration {
    latencies.sort();
    latencies[latencies.len() * 99 / 100]
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// An OTLP/HTTP receiver that takes each export and answers success without decoding it, so
/// the traced gateway pays for its spans and the receiver for almost nothing; its count of
/// bytes received shows the spans did leave.
async fn receiver() -> (String, Arc<AtomicU64>) {
    let received = Arc::new(AtomicU64::new(0));
    let counted = received.clone();
    let router = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            counted.fetch_add(body.len() as u64, Ordering::Relaxed);
            async {
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, received)
}

async fn run() -> (String, String) {
    let (_open, open_base) = start("open", json!({}));
    let (_quiet, quiet_base) = start("quiet", json!({"metrics": {"enabled": false}}));
    let (collector, received) = receiver().await;
    let (_traced, traced_base) = start(
        "traced",
        json!({"tracing": {"enabled": true, "protocol": "http/protobuf",
            "endpoint": collector, "sampling_ratio": 1.0}}),
    );
    let keys = json!({"keys": [{"id": "bench", "sha256": digest_hex(KEY),
        "scopes": {"tasks": ["token-classification"], "models": ["pii-*"]},
        "limits": {"requests_per_second": 1.0e9, "burst": 1_000_000_000u64,
            "tokens_per_minute": 1_000_000_000_000u64, "max_concurrent": 1024}}]});
    let (_keyed, keyed_base) = start("keyed", json!({"auth": keys}));
    // Warm all four (connections, allocator) before measuring.
    rate(&open_base, None).await;
    rate(&keyed_base, Some(KEY)).await;
    rate(&quiet_base, None).await;
    rate(&traced_base, None).await;
    let (mut open, mut keyed, mut quiet) = (Vec::new(), Vec::new(), Vec::new());
    let (mut open_p99, mut quiet_p99) = (Vec::new(), Vec::new());
    let (mut traced, mut traced_p99) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let (rps, latencies) = rate(&traced_base, None).await;
        traced.push(rps);
        traced_p99.push(p99(latencies).as_secs_f64());
        let (rps, latencies) = rate(&open_base, None).await;
        open.push(rps);
        open_p99.push(p99(latencies).as_secs_f64());
        keyed.push(rate(&keyed_base, Some(KEY)).await.0);
        let (rps, latencies) = rate(&quiet_base, None).await;
        quiet.push(rps);
        quiet_p99.push(p99(latencies).as_secs_f64());
    }
    let (open, keyed, quiet) = (median(open), median(keyed), median(quiet));
    let (open_p99, quiet_p99) = (median(open_p99) * 1e3, median(quiet_p99) * 1e3);
    let (traced, traced_p99) = (median(traced), median(traced_p99) * 1e3);
    // The last batch leaves within the export interval.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let exported_mib = received.load(Ordering::Relaxed) as f64 / (1 << 20) as f64;
    assert!(exported_mib > 0.0, "the traced gateway exported nothing");
    let load = common::load_average();
    let metrics = format!(
        "## Metrics and traces: requests per second on the rules model, each on and off\n\n\
         `cargo bench --bench front_door`, the same run as the front door: the release binary \
         without keys, counting every call into `/metrics` (the default), with \
         `metrics.enabled: false`, and with metrics on and every call traced \
         (`tracing.sampling_ratio: 1.0`, OTLP/HTTP to a receiver in the bench process that \
         accepts without decoding; {exported_mib:.1} MiB of spans arrived); {CLIENTS} \
         keep-alive REST clients, {ROUNDS} alternating rounds of {} s, medians. Load average \
         {load}. Target: at most 5% fewer requests/s with metrics on.\n\n\
         | gateway | requests/s | vs metrics off | p99 |\n|---|---|---|---|\n\
         | metrics off | {quiet:.0} | 1.00 | {quiet_p99:.2} ms |\n\
         | metrics on | {open:.0} | {:.2} | {open_p99:.2} ms |\n\
         | metrics on, every call traced | {traced:.0} | {:.2} | {traced_p99:.2} ms |\n\n\
         Target {}: {:.1} µs more per request for the whole machine (clients included). \
         Tracing every call costs {:.1} µs more per request than metrics alone ({:.2}× their \
         rate): a server span and its children (validation, the rules model's CPU work) built, \
         encoded and exported. No target is set for it; sample a share of calls \
         (`tracing.sampling_ratio`) where that matters.\n\n",
        ROUND.as_secs(),
        open / quiet,
        traced / quiet,
        if open >= 0.95 * quiet {
            "met"
        } else {
            "not met"
        },
        1e6 / open - 1e6 / quiet,
        1e6 / traced - 1e6 / open,
        traced / open,
    );
    let door = format!(
        "## Front door: requests per second on the rules model, with and without keys\n\n\
         `cargo bench --bench front_door`: the release binary serving `pii-rules` twice, once \
         without keys and once behind a scoped API key with rate limits that never refuse \
         (every request is digested, matched in constant time, scoped, and counted against its \
         buckets); {CLIENTS} keep-alive REST clients in the same process, {ROUNDS} alternating \
         rounds of {} s each, medians. Load average {}.\n\n\
         | gateway | requests/s | vs no keys |\n|---|---|---|\n\
         | no keys | {open:.0} | 1.00 |\n\
         | API key, scopes and rate limits | {keyed:.0} | {:.2} |\n\n\
         At saturation that is {:.1} µs more per request for the whole machine (clients \
         included). The rules model answers in microseconds, so this is the door's cost at its \
         most visible; on a real model it is lost in the inference time.\n\n",
        ROUND.as_secs(),
        load,
        keyed / open,
        1e6 / keyed - 1e6 / open,
    );
    (door, metrics)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("benchmark not run: use `cargo bench --bench front_door`");
        return;
    }
    let runtime = common::client_runtime();
    let (door, metrics) = runtime.block_on(run());
    print!("{door}{metrics}");
    common::write_section(SECTION, &door);
    common::write_section(METRICS_SECTION, &metrics);
}
