//! What the model lifecycle costs and saves, against the release binary: time to `/health`
//! with the default models lazy and eager, each default model's first answer when lazy (its
//! load) against its next one, the default config's peak resident memory once every default
//! model has answered, resident memory as a budget that holds one model at a time swaps them,
//! and requests/s through an alias against the model called directly.
//!
//!     cargo bench --bench lifecycle    # writes its section of BENCHMARKS.md
//!
//! Needs the fetched models (`scripts/fetch-models`). Under `cargo test` this target only
//! checks that it builds.

mod common;

use common::Killed;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const SECTION: &str = "lifecycle";
const STARTS: usize = 5;
const CLIENTS: usize = 16;
const ROUND: Duration = Duration::from_secs(3);
const ROUNDS: usize = 4;

struct Server {
    process: Killed,
    base: String,
    /// From spawning the process to its first 200 from `/health`.
    to_health: Duration,
}

impl Server {
    fn start(name: &str, config: Value) -> Self {
        let dir =
            std::env::temp_dir().join(format!("taskgate-bench-{name}-{}", std::process::id()));
        let mut full = json!({"log": {"level": "warn"}, "grpc": {"enabled": false},
            "max_concurrent_requests": 1024,
            "management": {"state_file": dir.join("deployments.json")}});
        full.as_object_mut()
            .unwrap()
            .extend(config.as_object().cloned().unwrap());
        let spawned = Instant::now();
        let (process, base) = common::serve_taskgate(name, &full, &[]);
        let address = base.trim_start_matches("http://").to_string();
        while !health_ok(&address) {
            std::thread::sleep(Duration::from_millis(1));
        }
        Self {
            to_health: spawned.elapsed(),
            process,
            base,
        }
    }

    /// `field` of `/proc/PID/status` (`VmRSS`, resident now; `VmHWM`, its peak) in MiB.
    fn memory_mib(&self, field: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.0.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }

    fn resident_mib(&self) -> f64 {
        self.memory_mib("VmRSS")
    }

    /// What `/metrics` says each loaded model is charged against the budget, in bytes.
    async fn charges(&self, client: &reqwest::Client) -> Vec<(String, f64)> {
        let text = client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter_map(|line| {
                let rest = line.strip_prefix("taskgate_model_memory_bytes{model=\"")?;
                let (model, value) = rest.split_once("\"} ")?;
                Some((model.to_string(), value.trim().parse().ok()?))
            })
            .collect()
    }
}

/// One plain `GET /health`, without a client library's set-up in the measured time.
fn health_ok(address: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(address) else {
        return false;
    };
    let request = format!("GET /health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// The default config: the fetched models and the trained classifier (`scripts/train-defaults`).
fn defaults(models_load: &str) -> Value {
    let root = Path::new(common::ROOT);
    json!({"models_dir": root.join("models"), "models_load": models_load,
        "training": {"output_dir": root.join("training_output")}})
}

/// One call of each default model's main task.
fn call_of(model: &str) -> (&'static str, Value) {
    match model {
        "pii-rules" => (
            "token-classification",
            json!({"model_id": model, "inputs": "Mail ana@example.com"}),
        ),
        "all-minilm" => (
            "embedding",
            json!({"model_id": model, "inputs": "a sentence to embed"}),
        ),
        "sentiment" => (
            "text-classification",
            json!({"model_id": model, "inputs": "Great value, friendly staff."}),
        ),
        _ => (
            "text-generation",
            json!({"model_id": model, "inputs": "Hello", "parameters": {"max_new_tokens": 1}}),
        ),
    }
}

async fn timed_call(client: &reqwest::Client, base: &str, model: &str) -> Duration {
    let (task, body) = call_of(model);
    let sent = Instant::now();
    let response = client
        .post(format!("{base}/api/v1/task/{task}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{model}");
    response.bytes().await.unwrap();
    sent.elapsed()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Requests answered per second over `ROUND` by `CLIENTS` keep-alive clients calling `model`.
async fn rate(base: &str, model: &str) -> f64 {
    let url = format!("{base}/api/v1/task/token-classification");
    let body = json!({"model_id": model, "inputs": "Mail ana@example.com or call +1 415 555 0100"});
    let until = Instant::now() + ROUND;
    let clients = (0..CLIENTS).map(|_| {
        let (url, body) = (url.clone(), body.clone());
        async move {
            let client = reqwest::Client::new();
            let mut answered = 0u64;
            while Instant::now() < until {
                let response = client.post(&url).json(&body).send().await.unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap();
                answered += 1;
            }
            answered
        }
    });
    let answered: u64 = futures::future::join_all(clients).await.into_iter().sum();
    answered as f64 / ROUND.as_secs_f64()
}

const MODELS: [&str; 3] = ["pii-rules", "all-minilm", "smollm2"];
const PEAK_TARGET_MB: f64 = 220.0;

/// The default config's peak RSS (VmHWM) once every default model answered, a 64-token
/// generation included, and what each model is charged.
async fn default_config_peak(client: &reqwest::Client) -> (f64, Vec<(String, f64)>, bool) {
    let server = Server::start("peak", defaults("eager"));
    let sentiment = Path::new(common::ROOT).join("training_output").exists();
    for model in MODELS.iter().chain(sentiment.then_some(&"sentiment")) {
        timed_call(client, &server.base, model).await;
    }
    let response = client
        .post(format!("{}/api/v1/task/text-generation", server.base))
        .json(
            &json!({"model_id": "smollm2", "inputs": "Write a short story about a robot.",
            "parameters": {"max_new_tokens": 64}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap();
    let charges = server.charges(client).await;
    (server.memory_mib("VmHWM") * 1.048576, charges, sentiment)
}

async fn run() -> String {
    let load_before = common::load_average();
    let client = reqwest::Client::new();
    let (mut lazy_health, mut eager_health) = (Vec::new(), Vec::new());
    let mut first: Vec<Vec<f64>> = vec![Vec::new(); MODELS.len()];
    let mut next: Vec<Vec<f64>> = vec![Vec::new(); MODELS.len()];
    for _ in 0..STARTS {
        let eager = Server::start("eager", defaults("eager"));
        eager_health.push(ms(eager.to_health));
        drop(eager);
        let lazy = Server::start("lazy", defaults("lazy"));
        lazy_health.push(ms(lazy.to_health));
        for (i, model) in MODELS.iter().enumerate() {
            first[i].push(ms(timed_call(&client, &lazy.base, model).await));
            next[i].push(ms(timed_call(&client, &lazy.base, model).await));
        }
    }

    let (peak_mb, charges, sentiment) = default_config_peak(&client).await;
    let charged = |model: &str| {
        charges
            .iter()
            .find(|(m, _)| m == model)
            .map_or(0.0, |(_, bytes)| *bytes)
    };
    let (minilm, smollm2) = (charged("all-minilm"), charged("smollm2"));
    assert!(
        minilm > 0.0 && smollm2 > 0.0,
        "charges from /metrics: {charges:?}"
    );
    // A budget that holds either model but not both.
    let budget_bytes = (minilm.max(smollm2) + minilm.min(smollm2) / 2.0) as u64;
    let budget = Server::start(
        "budget",
        json!({"models_dir": Path::new(common::ROOT).join("models"), "models_load": "lazy",
            "models_memory_bytes": budget_bytes}),
    );
    let mut resident = vec![("started, nothing loaded", budget.resident_mib())];
    for (model, what) in [
        ("all-minilm", "all-minilm loaded"),
        ("smollm2", "smollm2 loaded, all-minilm evicted"),
        ("all-minilm", "all-minilm loaded again, smollm2 evicted"),
    ] {
        timed_call(&client, &budget.base, model).await;
        // The evicted model's weights are freed on a blocking thread.
        tokio::time::sleep(Duration::from_millis(500)).await;
        resident.push((what, budget.resident_mib()));
    }
    drop(budget);

    let aliased = Server::start(
        "alias",
        json!({"models_dir": "none", "models": [{"id": "pii-rules", "module": "pii-rules"}],
            "aliases": [{"name": "rules", "targets": [{"model": "pii-rules"}]}]}),
    );
    let (mut direct, mut alias) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        direct.push(rate(&aliased.base, "pii-rules").await);
        alias.push(rate(&aliased.base, "rules").await);
    }
    drop(aliased);
    let load_after = common::load_average();

    let mut out = String::new();
    out += "## Model lifecycle: start-up, lazy loads, eviction and aliases\n\n";
    out += &format!(
        "`cargo bench --bench lifecycle`: the release binary with the default config and the \
         fetched models (pii-rules, all-minilm, smollm2), {STARTS} starts each, medians. Load \
         average {load_before} before, {load_after} after.\n\n"
    );
    let (lazy, eager) = (median(lazy_health), median(eager_health));
    out += "| start-up | spawn to first 200 from `/health` |\n|---|---|\n";
    out += &format!("| `models_load: eager` | {eager:.0} ms |\n");
    out += &format!("| `models_load: lazy` | {lazy:.0} ms |\n\n");
    out += &format!(
        "Target < 100 ms with lazy defaults: {} ({:.0}× sooner than eager).\n\n",
        if lazy < 100.0 { "met" } else { "not met" },
        eager / lazy
    );
    out += "| lazy model | first call (loads it) | next call |\n|---|---|---|\n";
    for (i, model) in MODELS.iter().enumerate() {
        out += &format!(
            "| {model} | {:.1} ms | {:.1} ms |\n",
            median(first[i].clone()),
            median(next[i].clone())
        );
    }
    out += &format!(
        "\nPeak resident memory (VmHWM) of the default config, eager, once pii-rules, \
         all-minilm, smollm2 (1 and 64 new tokens){} answered: {peak_mb:.0} MB. Target \
         ≤ {PEAK_TARGET_MB:.0} MB: {}. Charged per model (`taskgate_model_memory_bytes`): {}.\n",
        if sentiment {
            " and sentiment"
        } else {
            " (sentiment not trained: run scripts/train-defaults)"
        },
        if peak_mb <= PEAK_TARGET_MB {
            "met"
        } else {
            "not met"
        },
        charges
            .iter()
            .map(|(model, bytes)| format!("{model} {:.1} MB", bytes / 1e6))
            .collect::<Vec<_>>()
            .join(", ")
    );
    out += &format!(
        "\nResident memory with `models_memory_bytes: {budget_bytes}` (the larger charge and half \
         the smaller), which holds all-minilm (charged {:.1} MB) or smollm2 ({:.1} MB: its file; \
         token embeddings are looked up in its quantized rows) but not both, calling them in \
         turn:\n\n| after | RSS |\n|---|---|\n",
        minilm / 1e6,
        smollm2 / 1e6
    );
    for (what, mib) in &resident {
        out += &format!("| {what} | {mib:.0} MiB |\n");
    }
    let (direct, alias) = (median(direct), median(alias));
    out += &format!(
        "\nAn alias against the model directly (pii-rules, {CLIENTS} keep-alive REST clients, \
         {ROUNDS} alternating rounds of {} s, medians):\n\n| called | requests/s | vs direct |\n\
         |---|---|---|\n| pii-rules | {direct:.0} | 1.00 |\n| alias `rules` → pii-rules | \
         {alias:.0} | {:.2} |\n\n",
        ROUND.as_secs(),
        alias / direct
    );
    out
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("benchmark not run: use `cargo bench --bench lifecycle`");
        return;
    }
    if !Path::new(common::ROOT).join("models/smollm2").exists() {
        eprintln!("lifecycle bench: run scripts/fetch-models first");
        return;
    }
    let runtime = common::client_runtime();
    let body = runtime.block_on(run());
    print!("{body}");
    common::write_section(SECTION, &body);
}
