//! The API explorer at `/docs` renders in a real headless Chromium with no network beyond
//! loopback, from assets compiled into the binary.

mod common;

use std::path::PathBuf;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explorer_lists_every_task_operation() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the explorer test: install chromium (the test script does)"
        );
        eprintln!(
            "SKIPPED explorer_lists_every_task_operation: no chromium on PATH (apt-get install chromium)"
        );
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
