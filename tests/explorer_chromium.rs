//! The API explorer at `/docs` renders in a real headless Chromium with no network beyond
//! loopback, from assets compiled into the binary, and its "Try it out" runs calls.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::InProcessServer;
use taskgate_gateway::TaskRoutes;

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Renders `url` and returns the DOM after scripts ran.
fn render(browser: &PathBuf, url: &str) -> String {
    let profile = std::env::temp_dir().join(format!("taskgate-chromium-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--virtual-time-budget=20000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut dom = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut dom).ok();
        dom
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish rendering {url} within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::fs::remove_dir_all(&profile);
    reader.join().unwrap()
}

/// Chromium, or `None` with a printed reason locally (CI must have it).
fn chromium_for(test: &str) -> Option<PathBuf> {
    let browser = chromium();
    if browser.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run {test}: install chromium (the test script does)"
        );
        eprintln!("SKIPPED {test}: no chromium on PATH (apt-get install chromium)");
    }
    browser
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explorer_lists_every_task_operation() {
    let Some(browser) = chromium_for("explorer_lists_every_task_operation") else {
        return;
    };
    let registry = common::pii_registry();
    let server = InProcessServer::start(registry).await;
    let url = server.url("/docs/");
    let dom = tokio::task::spawn_blocking(move || render(&browser, &url))
        .await
        .unwrap();

    assert!(
        dom.contains("swagger-ui"),
        "Swagger UI did not load:\n{}",
        &dom[..dom.len().min(2000)]
    );
    assert!(
        dom.contains("taskgate"),
        "the document title is not rendered"
    );
    for name in TaskRoutes::standard().names() {
        let path = format!("/api/v1/task/{name}");
        assert!(
            dom.contains(&format!("data-path=\"{path}\"")),
            "the explorer does not list POST {path}"
        );
    }
    assert!(dom.contains("data-path=\"/info/models\""));
}

/// What the explorer page showed after "Try it out" → "Execute" on one operation.
fn try_it_out(browser: &Path, base: &str, tag: &str, operation: &str) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node/explorer_try_it_out.mjs");
    let output = Command::new("node")
        .arg(script)
        .args([base, browser.to_str().unwrap(), tag, operation])
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{operation}: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{operation}: {e}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_it_out_runs_the_documented_example_and_shows_the_answer() {
    let test = "try_it_out_runs_the_documented_example_and_shows_the_answer";
    let Some(browser) = chromium_for(test) else {
        return;
    };
    let driver =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node/node_modules/playwright-core");
    if !driver.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run {test}: tests/node is not installed (scripts/test installs it)"
        );
        eprintln!("SKIPPED {test}: tests/node is not installed (scripts/test installs it)");
        return;
    }
    let server = InProcessServer::start(common::pii_registry()).await;
    let base = server.url("");
    let shown = tokio::task::spawn_blocking(move || {
        let task = try_it_out(&browser, &base, "tasks", "TokenClassificationTaskPredict");
        let models = try_it_out(&browser, &base, "openai", "listModels");
        (task, models)
    })
    .await
    .unwrap();
    let (task, models) = shown;
    // The body the explorer filled in is the document's example, and it runs as it is.
    let example: serde_json::Value =
        serde_json::from_str(task["example"].as_str().unwrap()).unwrap();
    assert_eq!(example["model_id"], "pii-rules", "{task}");
    assert_eq!(task["status"], "200", "{task}");
    let answer: serde_json::Value = serde_json::from_str(task["answer"].as_str().unwrap()).unwrap();
    let entities: Vec<&str> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["entity"].as_str().unwrap())
        .collect();
    assert_eq!(entities, ["EMAIL", "PHONE"], "{answer}");
    assert_eq!(models["status"], "200", "{models}");
    let listed: serde_json::Value =
        serde_json::from_str(models["answer"].as_str().unwrap()).unwrap();
    assert_eq!(listed["data"][0]["id"], "pii-rules", "{listed}");
}
