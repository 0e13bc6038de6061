//! What the front door costs on the hot path: requests per second on the rules model with no
//! keys, and with an API key checked, scoped and rate-limited (limits high enough never to
//! refuse, so every request runs the bucket and in-flight bookkeeping), alternating in the same
//! run against the real binary over REST.
//!
//!     cargo bench --bench front_door    # writes its section of BENCHMARKS.md
//!
//! Under `cargo test` this target only checks that it builds.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use taskgate_gateway::auth::api_keys::digest_hex;

const SECTION: &str = "front-door";
const KEY: &str = "bench-key-0123456789abcdef";
const CLIENTS: usize = 16;
const ROUND: Duration = Duration::from_secs(3);
const ROUNDS: usize = 8;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(name: &str, auth: serde_json::Value) -> (Killed, String) {
    let dir = std::env::temp_dir().join(format!("taskgate-bench-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = json!({"models_dir": dir.join("none"), "log": {"level": "warn"},
        "grpc": {"enabled": false}, "max_concurrent_requests": 1024,
        "models": [{"id": "pii-rules", "module": "pii-rules"}], "auth": auth});
    let path = dir.join("taskgate.yaml");
    std::fs::write(&path, config.to_string()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_taskgate"))
        .args(["serve", "--config", path.to_str().unwrap(), "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the taskgate binary starts");
    let stdout = child.stdout.take().unwrap();
    let base = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            line.strip_prefix("taskgate listening on ")
                .map(str::to_string)
        })
        .expect("taskgate prints its address");
    (Killed(child), base)
}

/// Requests answered per second by `CLIENTS` keep-alive clients over `ROUND`.
async fn rate(base: &str, key: Option<&str>) -> f64 {
    let url = format!("{base}/api/v1/task/token-classification");
    let body = json!({"model_id": "pii-rules",
        "inputs": "Mail ana@example.com or call +1 415 555 0100"});
    let until = Instant::now() + ROUND;
    let clients = (0..CLIENTS).map(|_| {
        let (url, body) = (url.clone(), body.clone());
        let key = key.map(str::to_string);
        async move {
            let client = reqwest::Client::new();
            let mut done = 0u64;
            while Instant::now() < until {
                let mut request = client.post(&url).json(&body);
                if let Some(key) = &key {
                    request = request.bearer_auth(key);
                }
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap();
                done += 1;
            }
            done
        }
    });
    let total: u64 = futures::future::join_all(clients).await.into_iter().sum();
    total as f64 / ROUND.as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn run() -> String {
    let (_open, open_base) = start("open", json!({}));
    let keys = json!({"keys": [{"id": "bench", "sha256": digest_hex(KEY),
        "scopes": {"tasks": ["token-classification"], "models": ["pii-*"]},
        "limits": {"requests_per_second": 1.0e9, "burst": 1_000_000_000u64,
            "tokens_per_minute": 1_000_000_000_000u64, "max_concurrent": 1024}}]});
    let (_keyed, keyed_base) = start("keyed", keys);
    // Warm both (connections, allocator) before measuring.
    rate(&open_base, None).await;
    rate(&keyed_base, Some(KEY)).await;
    let (mut open, mut keyed) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        open.push(rate(&open_base, None).await);
        keyed.push(rate(&keyed_base, Some(KEY)).await);
    }
    let (open, keyed) = (median(open), median(keyed));
    format!(
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
        common::load_average(),
        keyed / open,
        1e6 / keyed - 1e6 / open,
    )
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("benchmark not run: use `cargo bench --bench front_door`");
        return;
    }
    taskgate_runtime::remote::tls::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let body = runtime.block_on(run());
    print!("{body}");
    common::write_section(SECTION, &body);
}
