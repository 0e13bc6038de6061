//! Shared helpers for end-to-end tests: every server here listens on 127.0.0.1 port 0 and is
//! stopped when its handle drops.
#![allow(dead_code)]

pub mod checkpoints;
pub mod fakes;
pub mod grpc;
pub mod kserve_tasks;
pub mod llama_server;
pub mod mlserver;
pub mod tei_fake;
pub mod tei_rules;
pub mod tgis_fake;
pub mod tls;
pub mod training;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use taskgate_gateway::GatewayBuilder;
use taskgate_gateway::serve::Server;
use taskgate_modules::{ModelRegistry, ModelSpec, ModuleCatalog, ModuleSettings};
use tokio::sync::oneshot;

/// The real `taskgate` binary, serving.
pub struct BinaryServer {
    child: Child,
    pub base: String,
    /// The gRPC endpoint (`http://127.0.0.1:<port>`), unless gRPC is disabled.
    pub grpc: Option<String>,
    /// `/metrics`'s own port (`http://127.0.0.1:<port>`), when configured.
    pub metrics: Option<String>,
}

impl BinaryServer {
    /// Runs `taskgate serve --port 0 <args>` with extra environment and waits for it to listen.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut all = vec!["--host", "127.0.0.1", "--port", "0", "--grpc-port", "0"];
        all.extend(args);
        Self::start_exact(&all, env)
    }

    /// Runs `taskgate serve <args>` (nothing added) and waits for it to listen.
    pub fn start_exact(args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_logging(args, env, Stdio::inherit())
    }

    /// [`Self::start_exact`], with the server's log (stderr) going to `log`.
    pub fn start_logging(args: &[&str], env: &[(&str, &str)], log: impl Into<Stdio>) -> Self {
        let mut command = taskgate_command("serve");
        command
            .arg("serve")
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log);
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("the taskgate binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (found, wait) = mpsc::channel();
        std::thread::spawn(move || {
            // The gRPC and metrics lines, when there are some, come before the HTTP line.
            let (mut grpc, mut metrics) = (None, None);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("taskgate gRPC listening on ") {
                    grpc = Some(format!("http://{addr}"));
                }
                if let Some(url) = line.strip_prefix("taskgate metrics listening on ") {
                    metrics = Some(url.to_string());
                }
                if let Some(url) = line.strip_prefix("taskgate listening on ") {
                    let _ = found.send((url.to_string(), grpc.take(), metrics.take()));
                }
            }
        });
        match wait.recv_timeout(Duration::from_secs(30)) {
            Ok((base, grpc, metrics)) => Self {
                child,
                base,
                grpc,
                metrics,
            },
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!("taskgate did not start listening within 30 s (exit: {status:?})");
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `POST /api/v1/task/<task>` with a JSON body: status and JSON response.
    pub async fn call(&self, task: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let url = self.url(&format!("/api/v1/task/{task}"));
        let (status, _, body) = post_json(&url, &body).await;
        (status, body)
    }

    /// Like [`Self::call`], for calls that must succeed: the answer.
    pub async fn call_ok(&self, task: &str, body: serde_json::Value) -> serde_json::Value {
        let (status, json) = self.call(task, body).await;
        assert_eq!(status, 200, "{task}: {json}");
        json
    }

    /// The events of one `server-streaming-text-generation` call, parsed; every line of the
    /// stream must be a `data:` line.
    pub async fn stream(&self, body: serde_json::Value) -> Vec<serde_json::Value> {
        let response = client()
            .post(self.url("/api/v1/task/server-streaming-text-generation"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        // Lines starting with ':' are SSE comments (keep-alive pings), not events.
        text.lines()
            .filter(|l| !l.is_empty() && !l.starts_with(':'))
            .map(|l| {
                let data = l
                    .strip_prefix("data: ")
                    .unwrap_or_else(|| panic!("not a data line: {l}\nin the stream:\n{text}"));
                serde_json::from_str(data).unwrap()
            })
            .collect()
    }

    /// `GET path` as JSON.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        client()
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The live metadata of the first served model (`/info/models`).
    pub async fn first_model_metadata(&self) -> serde_json::Value {
        self.get_json("/info/models").await["models"][0]["metadata"].clone()
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = self.child.wait().expect("taskgate exits");
        std::mem::forget(self);
        status
    }
}

impl Drop for BinaryServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A ChatML prompt with one user turn, ready for the assistant's answer.
pub fn chatml(user: &str) -> String {
    format!("<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n")
}

/// The real `taskgate` binary, to run in a fresh, empty working directory of its own: the
/// relative paths of its defaults (`models_dir: models`, `training.output_dir: training_output`)
/// then never reach the developer's files, so what a developer served or trained locally cannot
/// change a test's result.
pub fn taskgate_command(name: &str) -> Command {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut command = Command::new(env!("CARGO_BIN_EXE_taskgate"));
    command.current_dir(temp_dir(&format!("cwd-{name}-{run}")));
    command
}

/// A fresh, empty directory for one test's files.
/// A port free on 127.0.0.1 now, for a server that must be told its port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("taskgate-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary serving exactly `models` (config entries), plus `extra` top-level config.
pub fn serve_models(
    name: &str,
    models: serde_json::Value,
    extra: serde_json::Value,
) -> BinaryServer {
    let dir = temp_dir(name);
    let mut config = serde_json::json!({"models_dir": dir.join("none"), "models": models});
    config
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    let path = dir.join("taskgate.yaml");
    std::fs::write(&path, serde_json::to_string(&config).unwrap()).unwrap();
    BinaryServer::start(&["--config", path.to_str().unwrap()], &[])
}

/// Config entries for one model per task family: `pii-rules` (token classification),
/// `all-minilm` (embeddings, similarity, rerank, tokenization), `sentiment` (a random-weight
/// BERT classifier written here) and `smollm2` (generation, tokenization). `None`, with the
/// skip rule of [`minilm_dir`], when the fetched models are absent.
pub fn every_task_models(test: &str) -> Option<serde_json::Value> {
    let minilm = minilm_dir(test)?;
    let gguf = smollm2_gguf(test)?;
    let sentiment = temp_dir(&format!("{test}-sentiment"));
    checkpoints::write(
        &sentiment,
        &minilm.join("tokenizer.json"),
        "BertForSequenceClassification",
        &["negative", "neutral", "positive"],
        false,
    );
    Some(serde_json::json!([
        {"id": "pii-rules", "module": "pii-rules"},
        {"id": "all-minilm", "module": "sentence-embeddings", "config": {"path": minilm}},
        {"id": "sentiment", "module": "text-classifier", "config": {"path": sentiment}},
        {"id": "smollm2", "module": "text-generation", "config": {"path": gguf}},
    ]))
}

/// The gateway library served in-process over a real socket, for tests with fake modules.
pub struct InProcessServer {
    pub base: String,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl InProcessServer {
    pub async fn start(registry: ModelRegistry) -> Self {
        Self::start_with(GatewayBuilder::new(registry)).await
    }

    pub async fn start_with(builder: GatewayBuilder) -> Self {
        let server = Server::bind("127.0.0.1:0", builder.build())
            .await
            .expect("binds port 0");
        let addr = server.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        Self {
            base: format!("http://{addr}"),
            addr,
            stop: Some(stop),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for InProcessServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A registry with the default `pii-rules` model.
pub fn pii_registry() -> ModelRegistry {
    let registry = ModelRegistry::new();
    let spec = ModelSpec::new("pii-rules", ModuleSettings::PiiRules(Default::default()));
    let model = ModuleCatalog::standard().build(&spec).unwrap();
    registry.insert(model).unwrap();
    registry
}

pub fn client() -> reqwest::Client {
    taskgate_runtime::remote::tls::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// POSTs a JSON body; returns status, headers and the JSON response.
pub async fn post_json(
    url: &str,
    body: &serde_json::Value,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let response = client().post(url).json(body).send().await.unwrap();
    read(response).await
}

pub async fn read(
    response: reqwest::Response,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("response is not JSON ({e}): {text}"));
    (status, headers, json)
}

/// The fetched all-MiniLM-L6-v2 directory (`scripts/fetch-models`), or `None` with a printed
/// reason when it is absent locally. CI always fetches it, so there its absence fails the test.
/// all-MiniLM-L6-v2's f32 word-embedding table (30,522 × 384): it stays in the file, read row
/// by row, so a loaded model is charged its weights less this.
pub const MINILM_WORD_TABLE_BYTES: u64 = 30_522 * 384 * 4;

pub fn minilm_dir(test: &str) -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-minilm");
    if dir.join("model.safetensors").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run {test}: models/all-minilm is missing (scripts/fetch-models fetches it)"
    );
    eprintln!("SKIPPED {test}: models/all-minilm is absent (run scripts/fetch-models)");
    None
}

/// The fetched SmolLM2 GGUF (`scripts/fetch-models`), with the same skip rule as [`minilm_dir`].
pub fn smollm2_gguf(test: &str) -> Option<std::path::PathBuf> {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    if file.is_file() {
        return Some(file);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run {test}: models/smollm2 is missing (scripts/fetch-models fetches it)"
    );
    eprintln!("SKIPPED {test}: models/smollm2 is absent (run scripts/fetch-models)");
    None
}
