//! OpenTelemetry traces, received by an OTLP collector stand-in (the collector's own trace
//! service from the OpenTelemetry protobuf definitions, served with tonic; and its HTTP/protobuf
//! route): the server span of each call is a child of the caller's `traceparent`, with spans
//! for validation, CPU work, batched forward passes (linked to every request they computed),
//! the generation phases and remote calls, whose `traceparent` names taskgate's span.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use serde_json::{Value, json};

use crate::common::tei_fake::{FakeTei, Kind};
use crate::common::tgis_fake::RunningFake;
use crate::common::{self, BinaryServer};

/// What the collector received: every span, and the `service.name` of each export.
#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Span>>>,
    services: Arc<Mutex<Vec<String>>>,
}

impl Collector {
    fn receive(&self, request: ExportTraceServiceRequest) {
        for resource_spans in request.resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| text(kv.value.as_ref()?.value.as_ref()?));
            self.services
                .lock()
                .unwrap()
                .push(service.unwrap_or_default());
            for scope in resource_spans.scope_spans {
                self.spans.lock().unwrap().extend(scope.spans);
            }
        }
    }

    /// Waits until `done` holds of the spans received (exports come every 100 ms here).
    async fn wait_for(&self, what: &str, done: impl Fn(&[Span]) -> bool) -> Vec<Span> {
        for _ in 0..100 {
            let spans = self.spans.lock().unwrap().clone();
            if done(&spans) {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let spans = self.spans.lock().unwrap().clone();
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        panic!("no {what} within 10 s; received {names:?}");
    }

    async fn serve_grpc(&self) -> RunningFake {
        let router = tonic::service::Routes::new(TraceServiceServer::new(self.clone()))
            .prepare()
            .into_axum_router();
        RunningFake::serve(router, 0).await
    }

    async fn serve_http(&self) -> RunningFake {
        let collector = self.clone();
        let router = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: Bytes| {
                let collector = collector.clone();
                async move {
                    assert_eq!(headers["content-type"], "application/x-protobuf");
                    assert_eq!(headers["x-collector-key"], "k");
                    collector.receive(ExportTraceServiceRequest::decode(body).unwrap());
                    let answer = ExportTraceServiceResponse {
                        partial_success: None,
                    };
                    (
                        [("content-type", "application/x-protobuf")],
                        answer.encode_to_vec(),
                    )
                }
            }),
        );
        RunningFake::serve(router, 0).await
    }
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.receive(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn text(value: &AnyValue) -> Option<String> {
    match value {
        AnyValue::StringValue(s) => Some(s.clone()),
        AnyValue::IntValue(i) => Some(i.to_string()),
        AnyValue::BoolValue(b) => Some(b.to_string()),
        AnyValue::DoubleValue(d) => Some(d.to_string()),
        _ => None,
    }
}

/// A span's attribute as text.
fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| text(kv.value.as_ref()?.value.as_ref()?))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The server span of the call answered with request id `id`.
fn call_span<'a>(spans: &'a [Span], id: &str) -> Option<&'a Span> {
    spans
        .iter()
        .find(|s| attribute(s, "taskgate.request_id").as_deref() == Some(id))
}

fn children<'a>(spans: &'a [Span], parent: &Span) -> Vec<&'a Span> {
    spans
        .iter()
        .filter(|s| s.parent_span_id == parent.span_id && s.trace_id == parent.trace_id)
        .collect()
}

fn tracing_config(endpoint: &str, protocol: &str) -> Value {
    json!({"enabled": true, "endpoint": endpoint, "protocol": protocol,
        "service_name": "taskgate-under-test", "export_interval_ms": 100,
        "headers": {"x-collector-key": "k"}})
}

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

async fn post(
    server: &BinaryServer,
    task: &str,
    body: Value,
    traceparent: Option<&str>,
) -> (String, String) {
    let mut request = common::client()
        .post(server.url(&format!("/api/v1/task/{task}")))
        .json(&body);
    if let Some(traceparent) = traceparent {
        request = request
            .header("traceparent", traceparent)
            .header("tracestate", "vendor=abc");
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{task}");
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    (id, response.text().await.unwrap())
}

#[tokio::test]
async fn calls_are_traced_to_an_otlp_collector_over_grpc() {
    let Some(mut models) = common::every_task_models("traces") else {
        return;
    };
    let tei = FakeTei::new(Kind::Embedding);
    let tei_running = tei.start(0).await;
    models
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "remote-embed", "backend": {
        "kind": "tei", "endpoint": tei_running.url, "model_name": "fake/tei",
        "task": "embeddings", "retries": 0}}));
    let collector = Collector::default();
    let receiver = collector.serve_grpc().await;
    let server = common::serve_models(
        "traces-grpc",
        models,
        json!({"tracing": tracing_config(&receiver.url, "grpc")}),
    );
    let caller = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");

    // A REST call with the caller's traceparent: a child of it, in its trace.
    let (pii_id, _) = post(
        &server,
        "token-classification",
        json!({"model_id": "pii-rules", "inputs": "mail ana@example.com"}),
        Some(&caller),
    )
    .await;
    // Concurrent embeddings, so forward passes serve several calls.
    let embeds = (0..6).map(|i| {
        post(
            &server,
            "embedding",
            json!({"model_id": "all-minilm", "inputs": format!("sentence number {i}")}),
            None,
        )
    });
    let embed_ids: Vec<String> = futures::future::join_all(embeds)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let response = common::client()
        .post(server.url("/api/v1/task/server-streaming-text-generation"))
        .json(
            &json!({"model_id": "smollm2", "inputs": common::chatml("Say hi"),
            "parameters": {"max_new_tokens": 4, "min_new_tokens": 4}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let stream_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    response.text().await.unwrap();
    let (remote_id, _) = post(
        &server,
        "embedding",
        json!({"model_id": "remote-embed", "inputs": "to the remote"}),
        Some(&caller),
    )
    .await;
    let grpc_id = "traced-grpc-call";
    let mut request = tonic::Request::new(
        taskgate_gateway::grpc::pb::caikit::runtime::nlp::TokenClassificationTaskRequest {
            text: "mail ana@example.com".into(),
            threshold: None,
        },
    );
    let metadata = request.metadata_mut();
    metadata.insert("mm-model-id", "pii-rules".parse().unwrap());
    metadata.insert("x-request-id", grpc_id.parse().unwrap());
    metadata.insert("traceparent", caller.parse().unwrap());
    common::grpc::nlp(&server)
        .await
        .token_classification_task_predict(request)
        .await
        .unwrap();

    let all_ids: Vec<&str> = [&pii_id, &stream_id, &remote_id]
        .into_iter()
        .chain(&embed_ids)
        .map(String::as_str)
        .chain([grpc_id])
        .collect();
    let spans = collector
        .wait_for("server span of every call, with their children", |spans| {
            all_ids.iter().all(|id| call_span(spans, id).is_some())
                && spans.iter().any(|s| s.name == "decode")
                && spans.iter().any(|s| s.name == "remote call")
                && spans.iter().filter(|s| s.name == "batch forward").count() >= 1
        })
        .await;
    assert!(
        collector
            .services
            .lock()
            .unwrap()
            .iter()
            .all(|s| s == "taskgate-under-test")
    );

    // The caller's trace continues through taskgate, tracestate kept.
    let pii = call_span(&spans, &pii_id).unwrap();
    assert_eq!(hex(&pii.trace_id), CALLER_TRACE);
    assert_eq!(hex(&pii.parent_span_id), CALLER_SPAN);
    assert_eq!(pii.trace_state, "vendor=abc");
    assert_eq!(pii.kind, SpanKind::Server as i32);
    assert_eq!(pii.name, "token-classification");
    assert_eq!(
        attribute(pii, "gen_ai.request.model").as_deref(),
        Some("pii-rules")
    );
    assert_eq!(
        attribute(pii, "gen_ai.operation.name").as_deref(),
        Some("token-classification")
    );
    assert_eq!(
        attribute(pii, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert!(attribute(pii, "gen_ai.usage.input_tokens").is_some());
    let names: Vec<&str> = children(&spans, pii)
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert!(names.contains(&"validate"), "{names:?}");
    assert!(names.contains(&"detect"), "{names:?}");

    // The gRPC call too, with its status code.
    let grpc = call_span(&spans, grpc_id).unwrap();
    assert_eq!(hex(&grpc.parent_span_id), CALLER_SPAN);
    assert_eq!(attribute(grpc, "taskgate.wire").as_deref(), Some("grpc"));
    assert_eq!(
        attribute(grpc, "rpc.grpc.status_code").as_deref(),
        Some("0")
    );

    // Every embedding call is linked from the forward pass that computed it, after its queue
    // wait and tokenization; a call without traceparent starts its own trace.
    let forwards: Vec<&Span> = spans.iter().filter(|s| s.name == "batch forward").collect();
    for id in &embed_ids {
        let call = call_span(&spans, id).unwrap();
        assert_ne!(hex(&call.trace_id), CALLER_TRACE);
        assert!(call.parent_span_id.is_empty(), "a root span");
        let linked = forwards.iter().find(|f| {
            f.links
                .iter()
                .any(|l| l.span_id == call.span_id && l.trace_id == call.trace_id)
        });
        let forward = linked.unwrap_or_else(|| panic!("no forward pass links to call {id}"));
        assert_eq!(
            attribute(forward, "gen_ai.request.model").as_deref(),
            Some("all-minilm")
        );
        let sequences: usize = attribute(forward, "taskgate.batch.sequences")
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(sequences, forward.links.len());
        let names: Vec<&str> = children(&spans, call)
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        for child in ["validate", "tokenize", "queue wait"] {
            assert!(names.contains(&child), "{child} missing in {names:?}");
        }
    }

    // The streamed generation: its phases, and the tokens it reported.
    let stream = call_span(&spans, &stream_id).unwrap();
    let phases: Vec<&Span> = children(&spans, stream);
    let phase = |name: &str| {
        phases
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no {name} span under the stream"))
    };
    let (prefill, decode) = (phase("prefill"), phase("decode"));
    assert!(prefill.end_time_unix_nano <= decode.start_time_unix_nano);
    phase("queue wait");
    assert_eq!(
        attribute(stream, "gen_ai.usage.output_tokens").as_deref(),
        Some("4")
    );

    // The remote call is a client span under the call, and the remote saw its id.
    let remote = call_span(&spans, &remote_id).unwrap();
    let client = children(&spans, remote)
        .into_iter()
        .find(|s| s.name == "remote call")
        .expect("a remote call span under the call");
    assert_eq!(client.kind, SpanKind::Client as i32);
    let sent = tei.last("/embed").traceparent.unwrap();
    assert_eq!(
        sent,
        format!("00-{CALLER_TRACE}-{}-01", hex(&client.span_id))
    );
    drop(server);
    drop(receiver);
}

#[tokio::test]
async fn http_protobuf_exports_reach_the_collector_and_a_ratio_of_zero_samples_none() {
    let collector = Collector::default();
    let receiver = collector.serve_http().await;
    let endpoint = format!("{}/v1/traces", receiver.url);
    let server = common::serve_models(
        "traces-http",
        crate::pii(),
        json!({"tracing": tracing_config(&endpoint, "http/protobuf")}),
    );
    let (id, _) = post(
        &server,
        "token-classification",
        json!({"model_id": "pii-rules", "inputs": "mail ana@example.com"}),
        None,
    )
    .await;
    let spans = collector
        .wait_for("the call's span over HTTP", |spans| {
            call_span(spans, &id).is_some()
        })
        .await;
    assert_eq!(
        attribute(call_span(&spans, &id).unwrap(), "gen_ai.request.model").as_deref(),
        Some("pii-rules")
    );
    let metrics = crate::scrape_open(&server).await;
    assert!(
        metrics.contains("taskgate_trace_exports_total{outcome=\"ok\"}"),
        "{metrics}"
    );
    drop(server);

    // Sampling at 0: no new trace is recorded, while a caller's sampled trace still is.
    let collector = Collector::default();
    let receiver = collector.serve_grpc().await;
    let mut config = tracing_config(&receiver.url, "grpc");
    config["sampling_ratio"] = json!(0.0);
    let server = common::serve_models("traces-ratio", crate::pii(), json!({"tracing": config}));
    let body = json!({"model_id": "pii-rules", "inputs": "mail ana@example.com"});
    let (unsampled, _) = post(&server, "token-classification", body.clone(), None).await;
    let caller = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let (sampled, _) = post(&server, "token-classification", body, Some(&caller)).await;
    let spans = collector
        .wait_for("the caller-sampled call", |spans| {
            call_span(spans, &sampled).is_some()
        })
        .await;
    assert!(call_span(&spans, &unsampled).is_none());
    drop(server);
    drop(receiver);
}
