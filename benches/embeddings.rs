//! Embedding throughput (sentences/s) of all-MiniLM-L6-v2: in process at batch 1/8/32 and over
//! HTTP with 1 and 32 concurrent clients, beside PyTorch sentence-transformers and onnxruntime
//! measured in the same run (`scripts/bench-baselines` installs them into `.venv-bench`).
//!
//!     cargo bench --bench embeddings        # writes its section of BENCHMARKS.md
//!
//! Under `cargo test` this target only checks that it builds.

mod common;

use common::ROOT;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use taskgate_gateway::GatewayBuilder;
use taskgate_gateway::serve::Server;
use taskgate_modules::{ModelRegistry, ModelSpec, ModuleCatalog, ModuleSettings};
use taskgate_runtime::bert::{EmbeddingModel, Truncation};
use taskgate_runtime::{BatchForward, Sequence};

const MIN_SECONDS: f64 = 3.0;
const BATCHES: [usize; 3] = [1, 8, 32];
const SECTION: &str = "embeddings";

/// 32 short sentences (10–13 tokens with [CLS]/[SEP]), as in the reference measurements.
fn sentences() -> Vec<String> {
    let subjects = [
        "A man",
        "The woman",
        "A child",
        "My neighbour",
        "The old dog",
        "A student",
        "Our team",
        "The pilot",
    ];
    let actions = [
        "is playing a guitar",
        "reads a long book",
        "walks to the market",
        "cooks dinner tonight",
    ];
    subjects
        .iter()
        .flat_map(|s| actions.iter().map(move |a| format!("{s} {a} in the park.")))
        .collect()
}

/// Runs `step` (which handles `per_step` sentences) until `MIN_SECONDS` passed; sentences/s.
fn measure(per_step: usize, mut step: impl FnMut()) -> f64 {
    step();
    let start = Instant::now();
    let mut done = 0;
    while start.elapsed().as_secs_f64() < MIN_SECONDS || done < 3 * per_step {
        step();
        done += per_step;
    }
    done as f64 / start.elapsed().as_secs_f64()
}

fn in_process(dir: &Path) -> Vec<f64> {
    let mut model = EmbeddingModel::load(dir).expect("all-minilm loads");
    let texts = sentences();
    BATCHES
        .iter()
        .map(|&batch| {
            let chunk = &texts[..batch];
            measure(batch, || {
                let sequences: Vec<Sequence> = chunk
                    .iter()
                    .map(|t| {
                        Sequence::single(model.tokenizer.encode(t, Truncation::Reject).unwrap().ids)
                    })
                    .collect();
                let refs: Vec<&Sequence> = sequences.iter().collect();
                model.forward.forward(&refs).unwrap();
            })
        })
        .collect()
}

async fn over_http(dir: &Path, clients: usize) -> f64 {
    let mut spec = ModelSpec::new(
        "all-minilm",
        ModuleSettings::SentenceEmbeddings(Default::default()),
    );
    spec.path = Some(dir.to_path_buf());
    spec.max_concurrent_requests = 256;
    let registry = ModelRegistry::new();
    registry
        .insert(ModuleCatalog::standard().build(&spec).unwrap())
        .unwrap();
    let server = Server::bind("127.0.0.1:0", GatewayBuilder::new(registry).build())
        .await
        .unwrap();
    let url = format!(
        "http://{}/api/v1/task/embedding",
        server.local_addr().unwrap()
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    taskgate_runtime::remote::tls::install_crypto_provider();
    let client = reqwest::Client::new();
    let texts = sentences();
    let deadline = Instant::now() + Duration::from_secs_f64(MIN_SECONDS + 0.5);
    let start = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|c| {
            let (client, url, texts) = (client.clone(), url.clone(), texts.clone());
            tokio::spawn(async move {
                let mut done = 0usize;
                while Instant::now() < deadline {
                    let body = json!({"model_id": "all-minilm", "inputs": texts[(c + done) % texts.len()]});
                    let response = client.post(&url).json(&body).send().await.unwrap();
                    assert!(response.status().is_success(), "{}", response.status());
                    response.bytes().await.unwrap();
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for worker in workers {
        total += worker.await.unwrap();
    }
    let rate = total as f64 / start.elapsed().as_secs_f64();
    let _ = stop.send(());
    rate
}

/// PyTorch and onnxruntime numbers from the baseline script, when its venv exists.
fn baselines(dir: &Path, threads: usize) -> Option<Value> {
    let python = Path::new(ROOT).join(".venv-bench/bin/python");
    if !python.exists() {
        eprintln!("no .venv-bench: run scripts/bench-baselines to install PyTorch and onnxruntime");
        return None;
    }
    let out = Command::new(python)
        .arg(Path::new(ROOT).join("scripts/bench_baselines.py"))
        .arg(dir)
        .arg(threads.to_string())
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "baseline script failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// The 1-minute load average, so readers can judge how quiet the machine was.
fn cell(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| format!("{x:.1}"))
}

fn ratio(a: f64, b: Option<f64>) -> String {
    b.map_or("—".into(), |b| format!("{:.2}", a / b))
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("benchmark not run: use `cargo bench --bench embeddings`");
        return;
    }
    let load_before = common::load_average();
    let dir: PathBuf = Path::new(ROOT).join("models/all-minilm");
    assert!(
        dir.join("model.safetensors").exists(),
        "run scripts/fetch-models first"
    );
    let threads = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
    let candle = in_process(&dir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let http: Vec<f64> = [1, 32]
        .iter()
        .map(|&c| runtime.block_on(over_http(&dir, c)))
        .collect();
    let base = baselines(&dir, threads);
    let load_after = common::load_average();
    let get = |runtime: &str, batch: usize| {
        base.as_ref()
            .and_then(|b| b[runtime][batch.to_string()].as_f64())
    };

    let mut md = String::new();
    md.push_str("## all-MiniLM-L6-v2 embeddings (sentences/s, higher is better)\n\n");
    md.push_str(&format!(
        "`cargo bench --bench embeddings`: {threads} compute threads, 32 short sentences (10–13 tokens), each \
         cell ≥ {MIN_SECONDS} s after a warm-up; tokenization + forward + pooling. Baselines measured in the \
         same run by `scripts/bench_baselines.py` (PyTorch sentence-transformers; onnxruntime on an ONNX \
         export with numpy pooling). Load average before / after the run: {load_before} / {load_after} \
         (other work on the machine lowers every column alike; compare ratios).\n\n"
    ));
    md.push_str("| batch | taskgate (candle) | PyTorch | onnxruntime | taskgate / PyTorch | taskgate / onnxruntime |\n|---|---|---|---|---|---|\n");
    for (i, &batch) in BATCHES.iter().enumerate() {
        let (torch, ort) = (get("torch", batch), get("onnxruntime", batch));
        md.push_str(&format!(
            "| {batch} | {} | {} | {} | {} | {} |\n",
            cell(Some(candle[i])),
            cell(torch),
            cell(ort),
            ratio(candle[i], torch),
            ratio(candle[i], ort)
        ));
    }
    md.push_str("\nThrough HTTP (`POST /api/v1/task/embedding`, one sentence per request, dynamic batching):\n\n");
    md.push_str("| concurrent clients | sentences/s | vs in-process batch 1 |\n|---|---|---|\n");
    for (clients, rate) in [1, 32].iter().zip(&http) {
        md.push_str(&format!(
            "| {clients} | {rate:.1} | {:.2} |\n",
            rate / candle[0]
        ));
    }
    if base.is_none() {
        md.push_str("\nBaselines were not installed for this run (`scripts/bench-baselines`).\n");
    }
    common::write_section(SECTION, &md);
    print!("{md}");
}
