//! gRPC test helpers: a channel to a served binary, calls naming their model, and gRPC answers
//! as JSON through the proto descriptors (not through the server's own conversion code) so they
//! can be compared with the REST answers.

use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use serde_json::{Map, Value};
use taskgate_gateway::grpc::pb;
use taskgate_gateway::grpc::pb::caikit::runtime::nlp::nlp_service_client::NlpServiceClient;
use tonic::transport::Channel;

use super::BinaryServer;

pub async fn channel(server: &BinaryServer) -> Channel {
    let endpoint = server.grpc.clone().expect("the server serves gRPC");
    Channel::from_shared(endpoint)
        .unwrap()
        .connect()
        .await
        .expect("connects to the gRPC port")
}

pub async fn nlp(server: &BinaryServer) -> NlpServiceClient<Channel> {
    NlpServiceClient::new(channel(server).await)
}

/// The gRPC status of a call that must fail.
pub fn failure<T: std::fmt::Debug>(
    result: Result<tonic::Response<T>, tonic::Status>,
) -> tonic::Status {
    result.expect_err("the call fails")
}

/// Reads a stream that must end in an error: how many messages came first, and the error.
pub async fn messages_then_error<T>(mut stream: tonic::Streaming<T>) -> (usize, tonic::Status) {
    let mut received = 0;
    loop {
        match stream.message().await {
            Ok(Some(_)) => received += 1,
            Ok(None) => panic!("the stream ended without an error"),
            Err(status) => return (received, status),
        }
    }
}

/// A hyper HTTP/2 connection as a tonic transport. Unlike tonic's `Channel` it keeps no timer
/// of its own for `grpc-timeout`, so a call past its deadline shows what the server answers.
pub type Uncapped = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    tonic::body::Body,
>;

pub fn uncapped() -> Uncapped {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http()
}

/// Calls `$method` over gRPC and `$task` over REST for `$model`, asserts that both answer the
/// same, and gives both answers for further checks.
#[allow(unused_macros)]
macro_rules! same_answer {
    ($server:expr, $client:expr, $model:expr, $method:ident($request:expr) as $message:literal,
     $task:literal $body:tt) => {{
        let grpc = $client
            .$method($crate::common::grpc::for_model($model, $request))
            .await
            .unwrap()
            .into_inner();
        let mut body = serde_json::json!($body);
        body["model_id"] = serde_json::json!($model);
        let rest = $server.call_ok($task, body).await;
        $crate::common::grpc::assert_same(
            &rest,
            &$crate::common::grpc::to_json(&grpc, $message),
            $task,
        );
        (rest, grpc)
    }};
}
#[allow(unused_imports)]
pub(crate) use same_answer;

/// A request for `model` (the `mm-model-id` metadata).
pub fn for_model<T>(model: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("mm-model-id", model.parse().unwrap());
    request
}

/// `message` (of proto type `full_name`) in the proto3 JSON mapping with the declared field
/// names, 64-bit integers as numbers and default values left out.
pub fn to_json<M: prost::Message>(message: &M, full_name: &str) -> Value {
    let pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).unwrap();
    let descriptor = pool
        .get_message_by_name(full_name)
        .unwrap_or_else(|| panic!("no message {full_name} in the descriptors"));
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice()).unwrap();
    let options = SerializeOptions::new()
        .use_proto_field_name(true)
        .stringify_64_bit_integers(false)
        .skip_default_fields(true);
    dynamic
        .serialize_with_options(serde_json::value::Serializer, &options)
        .unwrap()
}

/// What the two wires legitimately say differently, removed: proto3 cannot tell an unset
/// scalar from its default, so defaults (and the enum's zero, `NOT_FINISHED`) go on both sides;
/// a `Vector1D` names its oneof member where Caikit's JSON says `data`.
pub fn normalize(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, child) in map {
                let child = normalize(child);
                if is_default(&child) {
                    continue;
                }
                let key = match key.as_str() {
                    "data_npfloat32sequence"
                    | "data_npfloat64sequence"
                    | "data_pyfloatsequence" => "data".to_string(),
                    other => other.to_string(),
                };
                out.insert(key, child);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

fn is_default(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty() || s == "NOT_FINISHED",
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
    }
}

/// Equal after [`normalize`], numbers to float32 precision (embeddings are float32 on both
/// wires, but JSON prints them shortest-float32 and proto widens some to double).
pub fn assert_same(rest: &Value, grpc: &Value, what: &str) {
    let (rest, grpc) = (normalize(rest), normalize(grpc));
    if let Err(path) = same(&rest, &grpc, String::new()) {
        panic!("{what}: REST and gRPC differ at {path}\nREST: {rest}\ngRPC: {grpc}");
    }
}

fn same(a: &Value, b: &Value, path: String) -> Result<(), String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            let scale = x.abs().max(y.abs()).max(1e-30);
            if (x - y).abs() <= 1e-6 * scale.max(1.0) {
                Ok(())
            } else {
                Err(format!("{path} ({x} vs {y})"))
            }
        }
        (Value::Array(xs), Value::Array(ys)) if xs.len() == ys.len() => xs
            .iter()
            .zip(ys)
            .enumerate()
            .try_for_each(|(i, (x, y))| same(x, y, format!("{path}/{i}"))),
        (Value::Object(xs), Value::Object(ys)) => {
            let mut keys: Vec<&String> = xs.keys().chain(ys.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .try_for_each(|key| match (xs.get(key), ys.get(key)) {
                    (Some(x), Some(y)) => same(x, y, format!("{path}/{key}")),
                    _ => Err(format!("{path}/{key} (present on one side only)")),
                })
        }
        _ if a == b => Ok(()),
        _ => Err(path),
    }
}
