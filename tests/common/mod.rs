//! Shared helpers for end-to-end tests: every server here listens on 127.0.0.1 port 0 and is
//! stopped when its handle drops.
#![allow(dead_code)]

pub mod checkpoints;
pub mod fakes;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use taskgate_gateway::GatewayBuilder;
use taskgate_gateway::serve::Server;
use taskgate_modules::{ModelRegistry, ModelSpec, ModuleCatalog};
use tokio::sync::oneshot;

/// The real `taskgate` binary, serving.
pub struct BinaryServer {
    child: Child,
    pub base: String,
}

impl BinaryServer {
    /// Runs `taskgate serve --port 0 <args>` with extra environment and waits for it to listen.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_taskgate"));
        command
            .arg("serve")
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("the taskgate binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (found, wait) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("taskgate listening on ") {
                    let _ = found.send(url.to_string());
                }
            }
        });
        match wait.recv_timeout(Duration::from_secs(30)) {
            Ok(base) => Self { child, base },
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

    /// `POST /api/v1/task/<task>` with a JSON body: status and JSON response.
    pub async fn call(&self, task: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let url = self.url(&format!("/api/v1/task/{task}"));
        let (status, _, body) = post_json(&url, &body).await;
        (status, body)
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
    let mut registry = ModelRegistry::new();
    let spec = ModelSpec::new("pii-rules", "pii-rules");
    let model = ModuleCatalog::standard().build(&spec).unwrap();
    registry.insert(model).unwrap();
    registry
}

pub fn client() -> reqwest::Client {
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
