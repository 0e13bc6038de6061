//! The README's client snippets, run as written against the real binary serving the default
//! config's models; only the address changes to the test server's.

use crate::common;
use crate::openai_sdks::serve;
use crate::{ONE_AT_A_TIME, python};

const README: &str = include_str!("../../README.md");

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

#[tokio::test]
async fn the_readme_openai_python_snippet_runs_as_written() {
    let test = "the_readme_openai_python_snippet_runs_as_written";
    let Some(python) = python(test) else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(server) = serve(test) else {
        return;
    };
    let code = snippet("openai-python");
    assert!(code.contains("http://127.0.0.1:8080/v1"), "{code}");
    let code = code.replace("http://127.0.0.1:8080", &server.base);
    let file = common::temp_dir(test).join("snippet.py");
    std::fs::write(&file, code).unwrap();
    let output = std::process::Command::new(python)
        .arg(&file)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(!lines[0].trim().is_empty(), "no chat answer: {stdout}");
    assert_eq!(lines.last(), Some(&"2 vectors of 384"), "{stdout}");
}
