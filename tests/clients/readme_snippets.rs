//! The README's client snippets, run as written against the real binary serving the default
//! config; only the address changes to the test server's.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{self, BinaryServer};
use crate::{ONE_AT_A_TIME, ROOT, default_config, installed, python, stdout_of};

const README: &str = include_str!("../../README.md");
const ADDRESS: &str = "http://127.0.0.1:8080";

/// The code block after the `<!-- snippet: NAME ... -->` line.
fn snippet(name: &str) -> String {
    let marker = format!("<!-- snippet: {name} ");
    let start = README
        .find(&marker)
        .unwrap_or_else(|| panic!("the README has no snippet {name}"));
    let after = &README[start..];
    let open = after.find("```").expect("a code block follows the marker");
    let body = &after[open..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").expect("the code block ends")].to_string()
}

/// The snippet in a file, pointed at `server`.
fn written(test: &str, name: &str, file: &str, server: &BinaryServer) -> PathBuf {
    let code = snippet(name);
    assert!(code.contains(ADDRESS), "{code}");
    let path = common::temp_dir(test).join(file);
    std::fs::write(&path, code.replace(ADDRESS, &server.base)).unwrap();
    path
}

/// What the SDK snippets print: the review's label, then a streamed joke.
fn check_label_then_joke(stdout: &str) {
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("positive"), "{stdout}");
    let joke: String = lines.collect();
    assert!(joke.trim().len() > 10, "no joke: {stdout}");
}

#[tokio::test]
async fn the_readme_openai_python_snippet_runs_as_written() {
    let test = "the_readme_openai_python_snippet_runs_as_written";
    let Some(python) = python(test) else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(server) = default_config::serve(test) else {
        return;
    };
    let file = written(test, "openai-python", "snippet.py", &server);
    let stdout = stdout_of(Command::new(python).arg(&file));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(!lines[0].trim().is_empty(), "no chat answer: {stdout}");
    assert_eq!(lines.last(), Some(&"2 vectors of 384"), "{stdout}");
}

#[tokio::test]
async fn the_readme_python_sdk_snippet_runs_as_written() {
    let test = "the_readme_python_sdk_snippet_runs_as_written";
    let Some(python) = python(test) else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(server) = default_config::serve(test) else {
        return;
    };
    let file = written(test, "sdk-python", "snippet.py", &server);
    let stdout = stdout_of(
        Command::new(python)
            .arg(&file)
            .env("PYTHONPATH", Path::new(ROOT).join("openapi/sdk/python"))
            .env("PYTHONDONTWRITEBYTECODE", "1"),
    );
    check_label_then_joke(&stdout);
}

#[tokio::test]
async fn the_readme_typescript_sdk_snippet_runs_as_written() {
    let test = "the_readme_typescript_sdk_snippet_runs_as_written";
    let Some(tsc) = installed(test, "tests/node/node_modules/.bin/tsc") else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(server) = default_config::serve(test) else {
        return;
    };
    let file = written(test, "sdk-typescript", "snippet.ts", &server);
    let built = crate::typescript::compile(&tsc, test, std::slice::from_ref(&file));
    let stdout = stdout_of(Command::new("node").arg(built.js(&file)));
    check_label_then_joke(&stdout);
}

/// The Rust snippet is `examples/sdk_quickstart.rs`, which the test command builds (`cargo
/// build --examples`: a test build compiles examples as test harnesses); it reads the address
/// from `TASKGATE_URL`.
#[tokio::test]
async fn the_readme_rust_sdk_snippet_runs_as_written() {
    let test = "the_readme_rust_sdk_snippet_runs_as_written";
    let example = std::fs::read_to_string(Path::new(ROOT).join("examples/sdk_quickstart.rs"))
        .expect("examples/sdk_quickstart.rs");
    assert_eq!(
        snippet("sdk-rust"),
        example,
        "the README's Rust snippet is not examples/sdk_quickstart.rs"
    );
    let built = Path::new(env!("CARGO_BIN_EXE_taskgate"))
        .parent()
        .unwrap()
        .join("examples/sdk_quickstart");
    let Some(binary) = crate::present(
        test,
        built,
        "scripts/test builds it: cargo build --examples",
    ) else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(server) = default_config::serve(test) else {
        return;
    };
    let stdout = stdout_of(Command::new(binary).env("TASKGATE_URL", &server.base));
    check_label_then_joke(&stdout);
}
