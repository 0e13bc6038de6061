//! `/metrics` counts what the test sent, by model, task, wire and status class; answers say
//! where their time went; only a key with the `metrics` scope may read it.

use crate::common;
use crate::{APP, classify, classify_grpc, config, pii, sample, scrape};

#[tokio::test]
async fn calls_are_counted_by_model_task_wire_and_status() {
    let server = common::serve_models("metrics-counts", pii(), config());
    for _ in 0..3 {
        let answer = classify(&server, "pii-rules").await;
        assert_eq!(answer.status(), 200);
        let timing = answer.headers()["server-timing"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            timing.starts_with("model;dur=")
                && timing.contains(", gateway;dur=")
                && timing.contains(", total;dur="),
            "{timing}"
        );
    }
    let grpc = classify_grpc(&server, "pii-rules").await.unwrap();
    let timing = grpc
        .metadata()
        .get("server-timing")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(timing.starts_with("model;dur="), "{timing}");
    assert_eq!(classify(&server, "no-such-model").await.status(), 404);
    assert_eq!(
        classify_grpc(&server, "no-such-model")
            .await
            .unwrap_err()
            .code(),
        tonic::Code::NotFound
    );
    let anonymous = common::client()
        .post(server.url("/api/v1/task/token-classification"))
        .json(&serde_json::json!({"model_id": "pii-rules", "inputs": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let text = scrape(&server).await;
    let ok = |wire: &str| {
        let series = format!(
            "taskgate_requests_total{{model=\"pii-rules\",task=\"token-classification\",wire=\"{wire}\",status=\"2xx\"}}"
        );
        sample(&text, &series)
    };
    assert_eq!(ok("rest"), Some(3.0), "{text}");
    assert_eq!(ok("grpc"), Some(1.0), "{text}");
    // An unknown model never becomes a label: its calls count under an empty model.
    assert!(!text.contains("no-such-model"), "{text}");
    let unknown = |wire: &str| {
        sample(
            &text,
            &format!(
                "taskgate_requests_total{{model=\"\",task=\"token-classification\",wire=\"{wire}\",status=\"4xx\"}}"
            ),
        )
    };
    assert_eq!(unknown("rest"), Some(2.0), "the 404 and the 401: {text}");
    assert_eq!(unknown("grpc"), Some(1.0), "{text}");
    assert_eq!(
        sample(
            &text,
            "taskgate_key_rejections_total{key=\"\",reason=\"unauthenticated\"}"
        ),
        Some(1.0)
    );
    let count = sample(
        &text,
        "taskgate_request_duration_seconds_count{model=\"pii-rules\",task=\"token-classification\",wire=\"rest\"}",
    );
    assert_eq!(count, Some(3.0));
    let inf = sample(
        &text,
        "taskgate_request_duration_seconds_bucket{model=\"pii-rules\",task=\"token-classification\",wire=\"rest\",le=\"+Inf\"}",
    );
    assert_eq!(inf, Some(3.0));
    assert_eq!(
        sample(
            &text,
            "taskgate_gateway_overhead_seconds_count{wire=\"rest\"}"
        ),
        Some(3.0)
    );
    assert!(sample(&text, "taskgate_input_tokens_total{model=\"pii-rules\"}").unwrap() > 0.0);
    assert_eq!(sample(&text, "taskgate_requests_in_flight"), Some(0.0));
    assert_eq!(
        sample(
            &text,
            "taskgate_model_requests_in_flight{model=\"pii-rules\"}"
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &text,
            "taskgate_model_requests_in_flight_limit{model=\"pii-rules\"}"
        ),
        Some(64.0)
    );
    assert_eq!(
        sample(&text, "taskgate_requests_in_flight_limit"),
        Some(512.0)
    );
    assert!(sample(&text, "process_resident_memory_bytes").unwrap() > 1e6);
    assert!(sample(&text, "process_open_fds").unwrap() > 3.0);

    // A key without the scope is refused, naming it.
    let refused = common::client()
        .get(server.url("/metrics"))
        .bearer_auth(APP)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["details"], "API key 'app' lacks the scope 'metrics'");
}

/// The metric families an expression names (`taskgate_…`, `process_…`), histogram series
/// (`_bucket`, `_sum`, `_count`) by their family.
fn families_in(expression: &str) -> Vec<String> {
    let mut found = Vec::new();
    for prefix in ["taskgate_", "process_"] {
        for (at, _) in expression.match_indices(prefix) {
            let name: String = expression[at..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(&name)
                .to_string();
            found.push(family);
        }
    }
    found
}

#[tokio::test]
async fn every_metric_the_dashboard_queries_is_served() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/grafana/taskgate.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut expressions: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|panel| panel["targets"].as_array().unwrap().clone())
        .map(|target| target["expr"].as_str().unwrap().to_string())
        .collect();
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        if let Some(query) = variable["query"].as_str() {
            expressions.push(query.to_string());
        }
    }
    let families: std::collections::BTreeSet<String> =
        expressions.iter().flat_map(|e| families_in(e)).collect();
    assert!(families.len() >= 12, "{families:?}");
    let server = common::serve_models("dashboard-metrics", pii(), config());
    let text = scrape(&server).await;
    for family in &families {
        let typed = format!("# TYPE {family} ");
        assert!(
            text.contains(&typed),
            "the dashboard queries {family}, which /metrics does not serve"
        );
    }
}
