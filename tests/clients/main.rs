//! Clients nobody here wrote, against the real binary: Caikit's Python clients, a generic gRPC
//! reflection client, and the official OpenAI SDKs for Python and Node.js. One test binary for
//! all of them (each file would otherwise add its own link).
//!
//! The test command installs the Python clients into `.venv-compat`
//! (`tests/python/requirements.txt`) and the npm ones into `tests/node/node_modules`.

#[path = "../common/mod.rs"]
mod common;

mod caikit;
mod default_config;
mod examples;
mod openai_sdks;
mod openai_wire;
mod readme_snippets;
mod rust_sdk;
mod sdks;
mod typescript;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::BinaryServer;
use serde_json::Value;

/// The tests generate on two cores; one server at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `path` under the repository when it exists, or `None` with a printed reason locally (CI
/// must have it: the test command installs it).
fn installed(test: &str, path: &str) -> Option<PathBuf> {
    present(test, Path::new(ROOT).join(path), "scripts/test installs it")
}

/// `path` when it exists, or `None` with a printed reason locally; in CI a missing one fails
/// the test, saying `why` it should be there.
fn present(test: &str, path: PathBuf, why: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run {test}: {} is missing ({why})",
        path.display()
    );
    eprintln!("SKIPPED {test}: {} is absent ({why})", path.display());
    None
}

/// The command's standard output; it must exit 0.
fn stdout_of(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?} starts: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The venv's Python.
fn python(test: &str) -> Option<PathBuf> {
    installed(test, ".venv-compat/bin/python")
}

/// `program script args…` with `env` added, whose standard output is one JSON value.
fn run_json(program: &Path, script: &Path, args: &[&str], env: &[(&str, &str)]) -> Value {
    let stdout = stdout_of(
        Command::new(program)
            .arg(script)
            .args(args)
            .envs(env.iter().copied())
            .env("PYTHONDONTWRITEBYTECODE", "1"),
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{} printed no JSON ({e}): {stdout}", script.display()))
}

fn run_script(python: &Path, script: &str, args: &[&str]) -> Value {
    run_json(
        python,
        &Path::new(ROOT).join("tests/python").join(script),
        args,
        &[],
    )
}

fn grpc_address(server: &BinaryServer) -> String {
    let endpoint = server.grpc.clone().expect("gRPC is served");
    endpoint.trim_start_matches("http://").to_string()
}
