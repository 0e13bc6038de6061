//! llama-cpp-python's OpenAI-compatible server (a real server nobody here wrote) serving the
//! fetched SmolLM2 GGUF on 127.0.0.1, from the `.venv-llama` that `scripts/test` installs.
//! Killed when dropped; `kill` and `restart` (same port) drive the fault tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct LlamaServer {
    child: Option<Child>,
    pub url: String,
    port: u16,
    gguf: PathBuf,
    embedding: bool,
    log: PathBuf,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's Python, or `None` with a printed reason (a failure under CI, which installs it).
fn python(test: &str) -> Option<PathBuf> {
    let python = root().join(".venv-llama/bin/python");
    if python.is_file() {
        return Some(python);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run {test}: .venv-llama is missing (scripts/test installs it)"
    );
    eprintln!("SKIPPED {test}: .venv-llama is absent (scripts/test installs it)");
    None
}

impl LlamaServer {
    /// A started server (`embedding`: started for `/v1/embeddings`), or `None` when this
    /// machine lacks the venv or the model (see the skip rules).
    pub async fn start(test: &str, embedding: bool) -> Option<Self> {
        python(test)?;
        let gguf = super::smollm2_gguf(test)?;
        let port = super::free_port();
        let mut server = Self {
            child: None,
            url: format!("http://127.0.0.1:{port}"),
            port,
            gguf,
            embedding,
            log: super::temp_dir(&format!("llama-{test}-{embedding}")).join("server.log"),
        };
        server.restart().await;
        Some(server)
    }

    /// Starts the server (again) on its port and waits until it answers.
    pub async fn restart(&mut self) {
        self.kill();
        let log = std::fs::File::create(&self.log).unwrap();
        let child = Command::new(root().join(".venv-llama/bin/python"))
            .arg(root().join("tests/python/llama_server.py"))
            .args(["--model", self.gguf.to_str().unwrap()])
            .args(["--model_alias", "smollm2", "--host", "127.0.0.1"])
            .args(["--port", &self.port.to_string()])
            // One thread: stable speed on a 2-core machine shared with the gateway.
            .args([
                "--n_ctx",
                "2048",
                "--n_threads",
                "1",
                "--n_threads_batch",
                "1",
            ])
            .args(["--embedding", if self.embedding { "true" } else { "false" }])
            // As an operator behind a gateway would: by default a new request (another user's,
            // a health check) ends the running stream early.
            .args(["--interrupt_requests", "false"])
            .args(["--verbose", "false"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the llama-cpp-python server starts");
        self.child = Some(child);
        let started = Instant::now();
        let client = super::client();
        loop {
            let models = client.get(format!("{}/v1/models", self.url)).send().await;
            if models.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            let exited = self.child.as_mut().unwrap().try_wait().unwrap();
            if exited.is_some() || started.elapsed() > Duration::from_secs(60) {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!("llama-cpp-python server not ready ({exited:?}):\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Makes the server evaluate the next prompt from scratch. It keeps the previous request's
    /// KV cache and evaluates only the part of a new prompt after their common prefix, which
    /// changes llama.cpp's numerics slightly (a suffix batch is not the full batch), enough to
    /// flip near-tie greedy choices. A one-token request with another first token clears it.
    pub async fn forget_prompt(&self) {
        let answer = super::client()
            .post(format!("{}/v1/completions", self.url))
            .json(&serde_json::json!({"prompt": "Reset", "max_tokens": 1}))
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success());
    }

    /// Kills the server at once (SIGKILL): connections drop mid-answer.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        self.kill();
    }
}
