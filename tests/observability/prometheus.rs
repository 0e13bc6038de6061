//! A real Prometheus (the distribution's `prometheus`, on 127.0.0.1) scrapes taskgate every
//! second with the scraper's key while the test sends known traffic; its query API then shows
//! the counts, the labels and a latency quantile. `promtool check metrics` passes on the text.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{self, BinaryServer};
use crate::{SCRAPER, classify, classify_grpc, config, pii, scrape};

/// Where the distribution installs the binaries; `scripts/test` installs them.
fn tool(name: &str) -> Option<std::path::PathBuf> {
    let path = std::path::Path::new("/usr/bin").join(name);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{name} is not installed (scripts/test installs Debian's prometheus package)"
    );
    eprintln!(
        "skipped: {name} is not installed (scripts/test installs Debian's prometheus package)"
    );
    None
}

/// `text` as a URL query value.
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Prometheus, stopped when dropped.
struct Prometheus {
    child: Child,
    base: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    fn start(binary: &std::path::Path, target: &BinaryServer) -> Self {
        let dir = common::temp_dir("prometheus");
        let key_file = dir.join("key");
        std::fs::write(&key_file, SCRAPER).unwrap();
        let target = target.base.trim_start_matches("http://");
        let config = format!(
            "global: {{scrape_interval: 1s, scrape_timeout: 1s}}\n\
             scrape_configs:\n  - job_name: taskgate\n    \
             authorization: {{type: Bearer, credentials_file: {}}}\n    \
             static_configs: [{{targets: ['{target}']}}]\n",
            key_file.display()
        );
        let config_file = dir.join("prometheus.yml");
        std::fs::write(&config_file, config).unwrap();
        let port = common::free_port();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(response) = common::client()
                .get(format!("{}/-/ready", self.base))
                .send()
                .await
                && response.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("prometheus was not ready within 30 s");
    }

    /// The instant vector of `query`: each series' labels and value.
    async fn query(&self, query: &str) -> Vec<(Value, f64)> {
        let response: Value = common::client()
            .get(format!(
                "{}/api/v1/query?query={}",
                self.base,
                encoded(query)
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(response["status"], "success", "{query}: {response}");
        response["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|series| {
                let value = series["value"][1].as_str().unwrap().parse().unwrap();
                (series["metric"].clone(), value)
            })
            .collect()
    }

    /// Polls `query` until its single value satisfies `done`, or fails after 30 s.
    async fn wait_for(&self, query: &str, done: impl Fn(f64) -> bool) -> f64 {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = Vec::new();
        while Instant::now() < deadline {
            last = self.query(query).await;
            if let [(_, value)] = last.as_slice()
                && done(*value)
            {
                return *value;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("{query} never held; last: {last:?}");
    }
}

#[tokio::test]
async fn a_real_prometheus_scrapes_the_calls_it_was_sent() {
    let (Some(prometheus), Some(promtool)) = (tool("prometheus"), tool("promtool")) else {
        return;
    };
    let server = common::serve_models("prometheus-scrape", pii(), config());
    let prometheus = Prometheus::start(&prometheus, &server);
    prometheus.ready().await;
    for _ in 0..5 {
        assert_eq!(classify(&server, "pii-rules").await.status(), 200);
    }
    for _ in 0..2 {
        classify_grpc(&server, "pii-rules").await.unwrap();
    }
    assert_eq!(classify(&server, "missing").await.status(), 404);

    let ok = "taskgate_requests_total{job=\"taskgate\",model=\"pii-rules\",task=\"token-classification\",status=\"2xx\"}";
    prometheus
        .wait_for(&format!("sum({ok})"), |v| v == 7.0)
        .await;
    let by_wire = prometheus.query(&format!("sum by (wire) ({ok})")).await;
    let wires: Vec<(String, f64)> = by_wire
        .iter()
        .map(|(labels, v)| (labels["wire"].as_str().unwrap().to_string(), *v))
        .collect();
    assert!(wires.contains(&("rest".into(), 5.0)), "{wires:?}");
    assert!(wires.contains(&("grpc".into(), 2.0)), "{wires:?}");
    prometheus
        .wait_for(
            "sum(taskgate_requests_total{model=\"\",status=\"4xx\"})",
            |v| v == 1.0,
        )
        .await;
    // The median of the 7 answered calls: a rules model answers in well under a second.
    let median = prometheus
        .wait_for(
            "histogram_quantile(0.5, sum by (le) (taskgate_request_duration_seconds_bucket{model=\"pii-rules\"}))",
            |v| v.is_finite(),
        )
        .await;
    assert!(median > 0.0 && median < 1.0, "median {median}");
    prometheus
        .wait_for("up{job=\"taskgate\"}", |v| v == 1.0)
        .await;

    let text = scrape(&server).await;
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let checked = check.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}
