//! SmolLM2 (Q4_1 GGUF) served in process by the real binary: text generation over HTTP, unary
//! and streamed, with every parameter family, checked against llama.cpp's greedy output. One
//! test binary: `parameters` (sampling, stops, limits, details, bad inputs) and `concurrency`
//! (concurrent streams, disconnects, the queue) share this file's server helpers.

#[path = "../common/mod.rs"]
mod common;

mod concurrency;
mod parameters;

use std::process::Stdio;

use common::BinaryServer;
use serde_json::{Value, json};

/// llama.cpp's greedy 64-token output for [`story_prompt`] on the same file.
const ORACLE: &str = "As the AI, AI-powered robot, \"Pixel,\" began its journey of learning to paint, \
    the world was abuzz with excitement. The AI's creators had envisioned a robot that could not \
    only create art but also inspire and educate others.\n\nPixel's creators had created a robot \
    that could learn";

/// The ChatML prompt SmolLM2's embedded template renders for one user message (with the
/// template's default system prompt).
fn chat(user: &str) -> String {
    format!(
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging \
         Face<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    )
}

fn story_prompt() -> String {
    chat("Write a short story about a robot who learns to paint.")
}

/// One generating server at a time: several would share two cores and each run slower than
/// the request timeout.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

struct Served {
    server: BinaryServer,
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl std::ops::Deref for Served {
    type Target = BinaryServer;
    fn deref(&self) -> &BinaryServer {
        &self.server
    }
}

/// Serves only smollm2, with `config` for its module.
fn serve(test: &str, config: Value) -> Option<Served> {
    serve_with(test, config, json!({}), None)
}

/// Like [`serve`], with `top` merged into the config's top level; with `log`, the binary's
/// info lines go there (otherwise its warnings to stderr).
fn serve_with(test: &str, config: Value, top: Value, log: Option<Stdio>) -> Option<Served> {
    let file = common::smollm2_gguf(test)?;
    // A failed test poisons the lock; the next test still runs on its own server.
    let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("taskgate-gen-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut module_config = json!({"path": file});
    module_config
        .as_object_mut()
        .unwrap()
        .extend(config.as_object().cloned().unwrap_or_default());
    let mut yaml = json!({
        "models_dir": dir.join("none"),
        "models": [{"id": "smollm2", "module": "text-generation", "config": module_config}],
    });
    yaml.as_object_mut()
        .unwrap()
        .extend(top.as_object().cloned().unwrap_or_default());
    let path = dir.join("taskgate.yaml");
    std::fs::write(&path, serde_json::to_string(&yaml).unwrap()).unwrap();
    let args = ["--config", path.to_str().unwrap()];
    let server = match log {
        Some(log) => BinaryServer::start_logging(&args, &[("RUST_LOG", "warn,taskgate=info")], log),
        None => BinaryServer::start(&args, &[]),
    };
    Some(Served {
        server,
        _turn: turn,
    })
}

fn request(inputs: &str, parameters: Value) -> Value {
    json!({"model_id": "smollm2", "inputs": inputs, "parameters": parameters})
}

fn concatenated(events: &[Value]) -> String {
    events
        .iter()
        .map(|e| e["generated_text"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn greedy_output_matches_llama_cpp_unary_and_streamed() {
    let Some(server) = serve(
        "greedy_output_matches_llama_cpp_unary_and_streamed",
        json!({}),
    ) else {
        return;
    };
    let body = request(&story_prompt(), json!({"max_new_tokens": 64}));
    let (status, result) = server.call("text-generation", body.clone()).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["generated_text"], ORACLE);
    assert_eq!(result["generated_tokens"], 64);
    assert_eq!(result["finish_reason"], "MAX_TOKENS");
    assert_eq!(result["input_token_count"], 42);
    assert!(result.get("seed").is_none(), "greedy reports no seed");
    assert_eq!(result["producer_id"]["name"], "text-generation");

    let events = server.stream(body).await;
    assert_eq!(events.len(), 66, "first + one per token + last");
    let first = &events[0];
    assert_eq!(first["generated_text"], "");
    assert_eq!(first["details"]["input_token_count"], 42);
    assert_eq!(first["details"]["finish_reason"], "NOT_FINISHED");
    assert!(events[1..65].iter().all(|e| e.get("details").is_none()));
    let last = &events[65];
    assert_eq!(last["details"]["finish_reason"], "MAX_TOKENS");
    assert_eq!(last["details"]["generated_tokens"], 64);
    assert_eq!(concatenated(&events), ORACLE);
}

/// The scalar kernels every x86-64 CPU runs (what `cpu_kernels: portable` forces, and what
/// a CPU without AVX2 gets) give llama.cpp's greedy tokens too, served by the real binary.
#[tokio::test]
async fn portable_kernels_give_llama_cpps_greedy_output() {
    let test = "portable_kernels_give_llama_cpps_greedy_output";
    let log_path = common::temp_dir(test).join("taskgate.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let top = json!({"cpu_kernels": "portable"});
    let Some(server) = serve_with(test, json!({}), top, Some(log.into())) else {
        return;
    };
    let body = request(&story_prompt(), json!({"max_new_tokens": 64}));
    let (status, result) = server.call("text-generation", body).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["generated_text"], ORACLE);
    let log = std::fs::read_to_string(&log_path).unwrap();
    let chosen = log
        .lines()
        .find(|l| l.contains("cpu kernels chosen"))
        .unwrap_or_else(|| panic!("no kernel choice logged:\n{log}"));
    assert!(
        chosen.contains("kernels=\"scalar\"") && chosen.contains("requested=Portable"),
        "{chosen}"
    );
}
