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
        // The rules model has no engine queue: its wait is none, not a guess.
        assert!(
            timing.starts_with("queue;dur=0.000, model;dur=")
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
    assert!(
        timing.starts_with("queue;dur=0.000, model;dur="),
        "{timing}"
    );
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

/// The engines' own metrics, from known traffic: the encoder's queue and batches, the
/// generation's sequences and time per token, remote calls by outcome, and load times.
#[tokio::test]
async fn engines_report_queues_batches_generation_and_remote_calls() {
    let Some(mut models) = common::every_task_models("engine-metrics") else {
        return;
    };
    let tei = common::tei_fake::FakeTei::new(common::tei_fake::Kind::Embedding);
    let running = tei.start(0).await;
    let closed = format!("http://127.0.0.1:{}", common::free_port());
    let remote = |id: &str, endpoint: &str| {
        serde_json::json!({"id": id, "backend": {"kind": "tei", "endpoint": endpoint,
            "model_name": "fake/tei", "task": "embeddings", "retries": 1,
            "request_timeout_ms": 1000}})
    };
    let list = models.as_array_mut().unwrap();
    list.push(remote("remote-embed", &running.url));
    list.push(remote("remote-down", &closed));
    let server = common::serve_models("engine-metrics", models, serde_json::json!({}));
    let embed = |model: &'static str, text: String| {
        let server = &server;
        async move {
            server
                .call(
                    "embedding",
                    serde_json::json!({"model_id": model, "inputs": text}),
                )
                .await
                .0
        }
    };
    let statuses =
        futures::future::join_all((0..4).map(|i| embed("all-minilm", format!("text {i}")))).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let events = server
        .stream(
            serde_json::json!({"model_id": "smollm2", "inputs": common::chatml("Hi"),
            "parameters": {"max_new_tokens": 3, "min_new_tokens": 3}}),
        )
        .await;
    assert!(events.len() >= 3);
    assert_eq!(embed("remote-embed", "far".into()).await, 200);
    assert_eq!(embed("remote-down", "gone".into()).await, 503);

    let text = crate::scrape_open(&server).await;
    let value =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    let minilm = "{model=\"all-minilm\"}";
    assert_eq!(value(&format!("taskgate_queue_depth{minilm}")), 0.0);
    let passes = value(&format!("taskgate_batch_size_count{minilm}"));
    assert!((1.0..=4.0).contains(&passes), "{passes} forward passes");
    assert_eq!(value(&format!("taskgate_batch_size_sum{minilm}")), 4.0);
    assert!(value(&format!("taskgate_batch_tokens_sum{minilm}")) >= 4.0 * 3.0);
    assert_eq!(
        value(&format!("taskgate_queue_wait_seconds_count{minilm}")),
        4.0
    );
    assert_eq!(
        value(&format!(
            "taskgate_batch_forward_duration_seconds_count{minilm}"
        )),
        passes
    );
    let smollm2 = "{model=\"smollm2\"}";
    assert_eq!(
        value(&format!(
            "taskgate_time_per_output_token_seconds_count{smollm2}"
        )),
        1.0
    );
    assert!(
        value(&format!(
            "taskgate_time_per_output_token_seconds_sum{smollm2}"
        )) > 0.0
    );
    for state in ["active", "queued"] {
        let series =
            format!("taskgate_generation_sequences{{model=\"smollm2\",state=\"{state}\"}}");
        assert_eq!(value(&series), 0.0);
    }
    assert!(value("taskgate_model_load_duration_seconds{model=\"all-minilm\"}") > 0.0);
    let up = format!("TEI at {}", running.url);
    assert_eq!(
        value(&format!(
            "taskgate_backend_request_duration_seconds_count{{backend=\"{up}\",outcome=\"ok\"}}"
        )),
        1.0
    );
    // The closed port: tried, retried once, both attempts unreachable.
    let down = format!("TEI at {closed}");
    assert_eq!(
        value(&format!(
            "taskgate_backend_errors_total{{backend=\"{down}\",kind=\"unreachable\"}}"
        )),
        2.0
    );
    assert_eq!(
        value(&format!(
            "taskgate_backend_retries_total{{backend=\"{down}\"}}"
        )),
        1.0
    );
    // An encoder's answer says how long it waited for the forward pass, apart from the rest.
    let answer = common::client()
        .post(server.url("/api/v1/task/embedding"))
        .json(&serde_json::json!({"model_id": "all-minilm", "inputs": "timed"}))
        .send()
        .await
        .unwrap();
    let timing = answer.headers()["server-timing"].to_str().unwrap();
    let parts: Vec<(&str, f64)> = timing
        .split(", ")
        .map(|part| {
            let (name, dur) = part.split_once(";dur=").unwrap();
            (name, dur.parse().unwrap())
        })
        .collect();
    let names: Vec<&str> = parts.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["queue", "model", "gateway", "total"], "{timing}");
    assert!(parts[0].1 > 0.0, "no queue wait in {timing}");
    let sum: f64 = parts[..3].iter().map(|(_, d)| d).sum();
    assert!((sum - parts[3].1).abs() < 0.01, "{timing}");
}

/// With `metrics.port`, `/metrics` is served there alone, behind the same keys, and no longer
/// on the API's port.
#[tokio::test]
async fn metrics_can_have_a_port_of_their_own() {
    let mut extra = config();
    extra["metrics"] = serde_json::json!({"port": 0});
    let server = common::serve_models("metrics-port", pii(), extra);
    assert_eq!(classify(&server, "pii-rules").await.status(), 200);
    let own = server.metrics.clone().expect("the metrics port is printed");
    assert_ne!(own, server.base);
    let get = |url: String, key: Option<&'static str>| async move {
        let mut request = common::client().get(url);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    let (status, text) = get(format!("{own}/metrics"), Some(crate::SCRAPER)).await;
    assert_eq!(status, 200);
    let series = "taskgate_requests_total{model=\"pii-rules\",task=\"token-classification\",wire=\"rest\",status=\"2xx\"}";
    assert_eq!(sample(&text, series), Some(1.0), "{text}");
    assert_eq!(get(format!("{own}/metrics"), None).await.0, 401);
    assert_eq!(get(format!("{own}/metrics"), Some(APP)).await.0, 403);
    assert_eq!(
        get(format!("{own}/health"), Some(crate::SCRAPER)).await.0,
        404
    );
    let (status, body) = get(server.url("/metrics"), Some(crate::SCRAPER)).await;
    assert_eq!(status, 404, "{body}");
}
