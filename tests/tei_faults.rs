//! The `tei` module when TEI misbehaves: overloaded → 429, a failed model run (424) → 502, too
//! slow → 504, stopped → 503 naming it, and restarted on the same port → served again without
//! restarting taskgate; request ids and trace context reach TEI, and `/info/models` shows where
//! each model runs and its circuit.

mod common;

use common::tei_fake::{TeiSetup, serve_tei};
use common::tei_rules::{assert_close, floats, normalized};
use serde_json::json;

#[tokio::test]
async fn tei_failures_become_clear_errors_and_a_restarted_tei_serves_again() {
    let TeiSetup {
        embedder,
        mut running,
        server,
        ..
    } = serve_tei("faults").await;
    let embed = |text: &str| json!({"model_id": "embed", "inputs": text});

    let (status, error) = server.call("embedding", embed("OVERLOAD now")).await;
    assert_eq!(status, 429, "{error}");
    assert!(
        error["details"]
            .as_str()
            .unwrap()
            .contains("Model is overloaded"),
        "{error}"
    );
    let (status, error) = server
        .call("embedding", json!({"model_id": "misrouted", "inputs": "a"}))
        .await;
    assert_eq!(status, 502, "{error}");
    assert!(
        error["details"]
            .as_str()
            .unwrap()
            .contains("the model is a Reranker"),
        "{error}"
    );
    let (status, error) = server.call("embedding", embed("SLOW down")).await;
    assert_eq!(status, 504, "{error}");
    assert!(
        error["details"].as_str().unwrap().contains("1000 ms"),
        "{error}"
    );

    // The caller's request id and trace context reach TEI.
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let response = common::client()
        .post(server.url("/api/v1/task/embedding"))
        .header("x-request-id", "tei-req-1")
        .header("traceparent", traceparent)
        .json(&embed("traced"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let seen = embedder.last("/embed");
    assert_eq!(seen.request_id.as_deref(), Some("tei-req-1"));
    assert_eq!(seen.traceparent.as_deref(), Some(traceparent));

    let metadata = server.get_json("/info/models").await["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "classify")
        .unwrap()["metadata"]
        .clone();
    assert_eq!(metadata["task"], "text-classification");
    assert_eq!(metadata["model_name"], "fake/tei");
    assert_eq!(metadata["endpoint"], running[1].url);
    assert_eq!(metadata["circuit"], "closed");

    // TEI goes away: 503 naming it; back on the same port: served again, same taskgate.
    let fake = running.remove(0);
    let port = fake.port;
    fake.stop().await;
    let (status, error) = server.call("embedding", embed("a b")).await;
    assert_eq!(status, 503, "{error}");
    assert!(
        error["details"]
            .as_str()
            .unwrap()
            .contains(&format!("TEI at http://127.0.0.1:{port}")),
        "{error}"
    );
    let _again = embedder.start(port).await;
    let answer = server.call_ok("embedding", embed("a b")).await;
    assert_close(
        &floats(&answer["result"]["data"]["values"]),
        &normalized("a b"),
        "restarted",
    );
}
