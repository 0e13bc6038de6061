//! The example apps in `examples/`, run as their headers say against the default config served
//! as after the set-up command: ticket triage (Python SDK), semantic search (TypeScript SDK) and
//! an OpenAI-SDK program pointed at taskgate by its base URL alone.

use std::path::Path;
use std::process::Command;

use crate::{ONE_AT_A_TIME, ROOT, default_config, installed, python, stdout_of};

fn line<'a>(stdout: &'a str, prefix: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{stdout}"))
}

#[tokio::test]
async fn the_ticket_triage_app_classifies_redacts_and_streams_a_reply() {
    let test = "the_ticket_triage_app_classifies_redacts_and_streams_a_reply";
    let Some(python) = python(test) else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(server) = default_config::serve(test) else {
        return;
    };
    let triage = |ticket: Option<&str>| {
        let mut command = Command::new(&python);
        command
            .arg(Path::new(ROOT).join("examples/ticket_triage.py"))
            .args(["--url", &server.base])
            .args(ticket)
            .env("PYTHONPATH", Path::new(ROOT).join("openapi/sdk/python"))
            .env("PYTHONDONTWRITEBYTECODE", "1");
        stdout_of(&mut command)
    };

    let stdout = triage(None);
    let sentiment = line(&stdout, "sentiment: ");
    assert!(
        sentiment.starts_with("sentiment: negative (") && sentiment.ends_with("priority: high"),
        "{stdout}"
    );
    let redacted = line(&stdout, "redacted: ");
    assert!(
        redacted.contains("[EMAIL]") && redacted.contains("[PHONE]"),
        "{stdout}"
    );
    assert!(
        !redacted.contains("jane.doe") && !redacted.contains("555"),
        "{stdout}"
    );
    let reply = line(&stdout, "reply: ");
    assert!(reply.len() > "reply: ".len() + 10, "{stdout}");
    let streamed = line(&stdout, "(");
    let events: usize = streamed
        .trim_start_matches('(')
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(events > 1, "the reply came in one piece: {stdout}");

    let happy = triage(Some(
        "Thank you, the headphones arrived early and sound wonderful.",
    ));
    let sentiment = line(&happy, "sentiment: ");
    assert!(
        sentiment.starts_with("sentiment: positive (") && sentiment.ends_with("priority: normal"),
        "{happy}"
    );
    assert_eq!(
        line(&happy, "redacted: "),
        "redacted: Thank you, the headphones arrived early and sound wonderful.",
    );
}

#[tokio::test]
async fn the_semantic_search_app_answers_each_query_with_its_passage() {
    let test = "the_semantic_search_app_answers_each_query_with_its_passage";
    let Some(tsc) = installed(test, "tests/node/node_modules/.bin/tsc") else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(server) = default_config::serve(test) else {
        return;
    };
    let source = Path::new(ROOT).join("examples/semantic_search.ts");
    let built = crate::typescript::compile(&tsc, test, std::slice::from_ref(&source));
    let stdout = stdout_of(
        Command::new("node")
            .arg(built.js(&source))
            .args(["--url", &server.base]),
    );
    assert_eq!(
        line(&stdout, "indexed "),
        "indexed 8 passages of 384 dimensions"
    );
    for (query, passage) in [
        (
            "Which city is the French capital?",
            "Paris is the capital and largest city of France.",
        ),
        (
            "How do plants make their food?",
            "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
        ),
        (
            "Who created Python?",
            "The Python language was first released by Guido van Rossum in 1991.",
        ),
    ] {
        let answer = line(&stdout, query);
        assert!(
            answer.starts_with(&format!("{query} -> {passage} (")),
            "{stdout}"
        );
    }
}

#[tokio::test]
async fn an_openai_sdk_program_runs_unchanged_against_taskgate() {
    let test = "an_openai_sdk_program_runs_unchanged_against_taskgate";
    let Some(python) = python(test) else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(server) = default_config::serve(test) else {
        return;
    };
    let stdout = stdout_of(
        Command::new(&python)
            .arg(Path::new(ROOT).join("examples/openai_chat.py"))
            .env("OPENAI_BASE_URL", server.url("/v1"))
            .env("OPENAI_API_KEY", "unused")
            .env("PYTHONDONTWRITEBYTECODE", "1"),
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].contains("Paris"), "{stdout}");
    assert!(
        line(&stdout, "usage: ").ends_with("completion tokens"),
        "{stdout}"
    );
    let similarity = |needle: &str| -> f64 {
        let found = lines
            .iter()
            .find(|l| l.starts_with("similarity") && l.contains(needle))
            .unwrap_or_else(|| panic!("no similarity for {needle}: {stdout}"));
        found.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(
        similarity("instrument") > similarity("stock market") + 0.2,
        "{stdout}"
    );
}
