//! A real Seldon MLServer (KServe v2 REST + gRPC) from `.venv-mlserver` (made by `scripts/test`
//! from `tests/python/mlserver-requirements.txt`), serving the text models of
//! `tests/python/mlserver_models` on 127.0.0.1 ports chosen here. Killed when dropped; it can be
//! stopped and started again on the same ports. The models' values are recomputed here from
//! their definitions, so tests compare against numbers taskgate never produced.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct MlServer {
    child: Option<Child>,
    dir: PathBuf,
    /// `http://127.0.0.1:<port>` of the REST and gRPC listeners.
    pub rest: String,
    pub grpc: String,
    /// How long the last start took until `/v2/health/ready` answered 200.
    pub started_in: Duration,
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

impl MlServer {
    /// Started and ready, or `None` with a printed reason when `.venv-mlserver` is absent
    /// outside CI (`CI` set: its absence fails the test).
    pub async fn start(test: &str) -> Option<Self> {
        let mlserver = repo().join(".venv-mlserver/bin/mlserver");
        if !mlserver.is_file() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run {test}: .venv-mlserver is missing (scripts/test creates it)"
            );
            eprintln!("SKIPPED {test}: .venv-mlserver is absent (run scripts/test to create it)");
            return None;
        }
        let dir = super::temp_dir(&format!("mlserver-{test}"));
        let models = repo().join("tests/python/mlserver_models");
        copy_dir(&models, &dir);
        let (http, grpc, metrics) = (super::free_port(), super::free_port(), super::free_port());
        let settings = serde_json::json!({"host": "127.0.0.1", "http_port": http,
            "grpc_port": grpc, "metrics_port": metrics, "parallel_workers": 0,
            "debug": false});
        std::fs::write(dir.join("settings.json"), settings.to_string()).unwrap();
        let mut server = Self {
            child: None,
            dir,
            rest: format!("http://127.0.0.1:{http}"),
            grpc: format!("http://127.0.0.1:{grpc}"),
            started_in: Duration::ZERO,
        };
        server.restart().await;
        Some(server)
    }

    /// Kills the server (as a crash would) and waits for it to be gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server on its ports (again) and waits until it is ready.
    pub async fn restart(&mut self) {
        self.stop();
        let log = std::fs::File::create(self.dir.join("mlserver.log")).unwrap();
        let started = Instant::now();
        let child = Command::new(repo().join(".venv-mlserver/bin/mlserver"))
            .args(["start", "."])
            .current_dir(&self.dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("mlserver starts");
        self.child = Some(child);
        let ready = format!("{}/v2/health/ready", self.rest);
        let client = super::client();
        while started.elapsed() < Duration::from_secs(60) {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("mlserver exited ({status}): {}", self.log());
            }
            if let Ok(response) = client.get(&ready).send().await
                && response.status() == 200
            {
                self.started_in = started.elapsed();
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("mlserver was not ready within 60 s: {}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("mlserver.log")).unwrap_or_default()
    }
}

impl Drop for MlServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() == "__pycache__" {
                continue;
            }
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `hash-embed`'s `embedding`: v[k] = 1 + Σ (i + 1) over UTF-8 bytes b_i with b_i % 8 == k,
/// L2-normalised (`text_runtime.hash_embedding`).
pub fn hash_embedding(text: &str) -> Vec<f64> {
    let mut v = [1.0f64; 8];
    for (i, b) in text.bytes().enumerate() {
        v[usize::from(b % 8)] += (i + 1) as f64;
    }
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    v.iter().map(|x| x / norm).collect()
}

/// `keyword-sentiment`'s `logits`: [negative, neutral, positive] (`text_runtime.keyword_logits`).
pub fn keyword_logits(text: &str) -> [f64; 3] {
    let count = |words: &[&str]| {
        text.to_lowercase()
            .split_whitespace()
            .filter(|w| words.contains(&w.trim_matches(|c| ".,!?".contains(c))))
            .count() as f64
    };
    [
        count(&["bad", "awful", "hate"]),
        0.5,
        count(&["good", "great", "love"]),
    ]
}

/// `keyword-sentiment`'s `probabilities`: the softmax of its logits.
pub fn keyword_probabilities(text: &str) -> [f64; 3] {
    let logits = keyword_logits(text);
    let top = logits.iter().copied().fold(f64::MIN, f64::max);
    let e = logits.map(|x| (x - top).exp());
    let sum: f64 = e.iter().sum();
    e.map(|x| x / sum)
}

pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b))
}
