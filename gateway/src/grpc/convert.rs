//! The one place where proto messages meet the `schemas/` data model.
//!
//! A request message becomes the REST envelope `{model_id, inputs, parameters}` of the same task,
//! so both wires share one validation path and one set of error texts. A task output becomes its
//! proto message field by field. `tests/contract_drift.rs` checks the proto descriptors against
//! the JSON Schemas, so a field added on one side only fails the build's tests.

use prost_types::value::Kind;
use serde_json::{Map, Value, json};
use taskgate_schemas as s;

use super::pb::caikit::runtime::nlp as rpc;
use super::pb::caikit_data_model::caikit_nlp as cn;
use super::pb::caikit_data_model::common;
use super::pb::caikit_data_model::common::runtime as info;
use super::pb::caikit_data_model::nlp;

/// How a request message's fields map onto the REST `inputs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputShape {
    /// One input: `inputs` is this field's value.
    Single(&'static str),
    /// Several inputs: `inputs` is an object of these fields.
    Object(&'static [&'static str]),
}

/// A request message of the task service.
pub trait ProtoRequest: prost::Message + Default + Send + 'static {
    const INPUTS: InputShape;
    /// The REST envelope of this request. Unset `optional` fields and empty repeated parameters
    /// are left out, so they take the same defaults as over REST.
    fn into_envelope(self, model_id: String) -> Value;
}

/// A parameter field: `None` when unset.
trait Param {
    fn param(self) -> Option<Value>;
}

impl Param for Option<i64> {
    fn param(self) -> Option<Value> {
        self.map(Value::from)
    }
}

impl Param for Option<u64> {
    fn param(self) -> Option<Value> {
        self.map(Value::from)
    }
}

impl Param for Option<f64> {
    fn param(self) -> Option<Value> {
        self.map(number)
    }
}

impl Param for Option<bool> {
    fn param(self) -> Option<Value> {
        self.map(Value::from)
    }
}

impl Param for Option<String> {
    fn param(self) -> Option<Value> {
        self.map(Value::from)
    }
}

impl Param for Vec<String> {
    fn param(self) -> Option<Value> {
        (!self.is_empty()).then(|| Value::from(self))
    }
}

impl Param for Option<cn::ExponentialDecayLengthPenalty> {
    fn param(self) -> Option<Value> {
        self.map(|p| json!({"start_index": p.start_index, "decay_factor": number(p.decay_factor)}))
    }
}

/// An input field: always present (an empty input is the module's to reject, as over REST).
trait Input {
    fn input(self) -> Value;
}

impl Input for String {
    fn input(self) -> Value {
        Value::String(self)
    }
}

impl Input for Vec<String> {
    fn input(self) -> Value {
        Value::from(self)
    }
}

impl Input for Vec<prost_types::Struct> {
    fn input(self) -> Value {
        Value::Array(
            self.into_iter()
                .map(|s| Value::Object(struct_to_json(s)))
                .collect(),
        )
    }
}

/// JSON has no NaN or infinity; such a value is passed on as a string so validation rejects it
/// by name instead of it silently becoming `null` (= unset).
fn number(value: f64) -> Value {
    serde_json::Number::from_f64(value)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(value.to_string()))
}

macro_rules! proto_request {
    ($message:ty, single $input:ident, [$($param:ident),* $(,)?]) => {
        impl ProtoRequest for $message {
            const INPUTS: InputShape = InputShape::Single(stringify!($input));
            fn into_envelope(self, model_id: String) -> Value {
                #[allow(unused_mut)]
                let mut parameters = Map::new();
                $(if let Some(value) = Param::param(self.$param) {
                    parameters.insert(stringify!($param).to_string(), value);
                })*
                json!({"model_id": model_id, "inputs": Input::input(self.$input),
                       "parameters": parameters})
            }
        }
    };
    ($message:ty, object [$($input:ident),+], [$($param:ident),* $(,)?]) => {
        impl ProtoRequest for $message {
            const INPUTS: InputShape = InputShape::Object(&[$(stringify!($input)),+]);
            fn into_envelope(self, model_id: String) -> Value {
                let mut inputs = Map::new();
                $(inputs.insert(stringify!($input).to_string(), Input::input(self.$input));)+
                let mut parameters = Map::new();
                $(if let Some(value) = Param::param(self.$param) {
                    parameters.insert(stringify!($param).to_string(), value);
                })*
                json!({"model_id": model_id, "inputs": inputs, "parameters": parameters})
            }
        }
    };
}

macro_rules! text_generation_request {
    ($message:ty) => {
        proto_request!($message, single text, [
            max_new_tokens, min_new_tokens, truncate_input_tokens, decoding_method, top_k, top_p,
            typical_p, temperature, repetition_penalty, max_time, exponential_decay_length_penalty,
            stop_sequences, seed, preserve_input_text, input_tokens, generated_tokens,
            token_logprobs, token_ranks, include_stop_sequence,
        ]);
    };
}

text_generation_request!(rpc::TextGenerationTaskRequest);
text_generation_request!(rpc::ServerStreamingTextGenerationTaskRequest);
proto_request!(rpc::TextClassificationTaskRequest, single text, [truncate_input_tokens]);
proto_request!(rpc::TokenClassificationTaskRequest, single text, [threshold]);
proto_request!(rpc::TokenizationTaskRequest, single text, []);
proto_request!(rpc::EmbeddingTaskRequest, single text, [truncate_input_tokens]);
proto_request!(rpc::EmbeddingTasksRequest, single texts, [truncate_input_tokens]);
proto_request!(rpc::SentenceSimilarityTaskRequest, object [source_sentence, sentences],
    [truncate_input_tokens]);
proto_request!(rpc::SentenceSimilarityTasksRequest, object [source_sentences, sentences],
    [truncate_input_tokens]);
proto_request!(rpc::RerankTaskRequest, object [documents, query],
    [top_n, truncate_input_tokens, return_documents, return_query, return_text]);
proto_request!(rpc::RerankTasksRequest, object [documents, queries],
    [top_n, truncate_input_tokens, return_documents, return_queries, return_text]);

/// A JSON object as a `google.protobuf.Struct`.
pub fn json_to_struct(map: s::JsonDict) -> prost_types::Struct {
    prost_types::Struct {
        fields: map
            .into_iter()
            .map(|(k, v)| (k, json_to_value(v)))
            .collect(),
    }
}

fn json_to_value(value: Value) -> prost_types::Value {
    let kind = match value {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(text) => Kind::StringValue(text),
        Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.into_iter().map(json_to_value).collect(),
        }),
        Value::Object(map) => Kind::StructValue(json_to_struct(map)),
    };
    prost_types::Value { kind: Some(kind) }
}

/// A `google.protobuf.Struct` as a JSON object. Struct numbers are all doubles; whole numbers
/// come back as integers, as Caikit does, so `{"id": 3}` round-trips.
pub fn struct_to_json(value: prost_types::Struct) -> s::JsonDict {
    value
        .fields
        .into_iter()
        .map(|(k, v)| (k, value_to_json(v)))
        .collect()
}

fn value_to_json(value: prost_types::Value) -> Value {
    match value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(b),
        Some(Kind::NumberValue(n)) if n.fract() == 0.0 && n.abs() < 9.0e15 => Value::from(n as i64),
        Some(Kind::NumberValue(n)) => number(n),
        Some(Kind::StringValue(text)) => Value::String(text),
        Some(Kind::ListValue(list)) => {
            Value::Array(list.values.into_iter().map(value_to_json).collect())
        }
        Some(Kind::StructValue(inner)) => Value::Object(struct_to_json(inner)),
    }
}

/// Counts are `u64` in the data model and `int64` on Caikit's wire; no real count reaches 2^63.
fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl From<s::ProducerId> for common::ProducerId {
    fn from(p: s::ProducerId) -> Self {
        Self {
            name: p.name,
            version: p.version,
        }
    }
}

impl From<s::FinishReason> for nlp::FinishReason {
    fn from(reason: s::FinishReason) -> Self {
        match reason {
            s::FinishReason::NotFinished => Self::NotFinished,
            s::FinishReason::MaxTokens => Self::MaxTokens,
            s::FinishReason::EosToken => Self::EosToken,
            s::FinishReason::Cancelled => Self::Cancelled,
            s::FinishReason::TimeLimit => Self::TimeLimit,
            s::FinishReason::StopSequence => Self::StopSequence,
            s::FinishReason::TokenLimit => Self::TokenLimit,
            s::FinishReason::Error => Self::Error,
        }
    }
}

impl From<s::GeneratedToken> for nlp::GeneratedToken {
    fn from(t: s::GeneratedToken) -> Self {
        Self {
            text: t.text,
            logprob: t.logprob.unwrap_or_default(),
            rank: t.rank.map(int).unwrap_or_default(),
        }
    }
}

fn tokens(list: Vec<s::GeneratedToken>) -> Vec<nlp::GeneratedToken> {
    list.into_iter().map(Into::into).collect()
}

impl From<s::GeneratedTextResult> for nlp::GeneratedTextResult {
    fn from(r: s::GeneratedTextResult) -> Self {
        Self {
            generated_text: r.generated_text,
            generated_tokens: int(r.generated_tokens),
            finish_reason: nlp::FinishReason::from(r.finish_reason) as i32,
            producer_id: r.producer_id.map(Into::into),
            input_token_count: int(r.input_token_count),
            seed: r.seed.unwrap_or_default(),
            tokens: tokens(r.tokens),
            input_tokens: tokens(r.input_tokens),
        }
    }
}

impl From<s::TokenStreamDetails> for nlp::TokenStreamDetails {
    fn from(d: s::TokenStreamDetails) -> Self {
        Self {
            finish_reason: nlp::FinishReason::from(d.finish_reason) as i32,
            generated_tokens: d.generated_tokens,
            seed: d.seed.unwrap_or_default(),
            input_token_count: int(d.input_token_count),
        }
    }
}

impl From<s::GeneratedTextStreamResult> for nlp::GeneratedTextStreamResult {
    fn from(r: s::GeneratedTextStreamResult) -> Self {
        Self {
            generated_text: r.generated_text,
            tokens: tokens(r.tokens),
            details: r.details.map(Into::into),
            producer_id: r.producer_id.map(Into::into),
            input_tokens: tokens(r.input_tokens),
        }
    }
}

impl From<s::ClassificationResults> for nlp::ClassificationResults {
    fn from(r: s::ClassificationResults) -> Self {
        Self {
            results: r
                .results
                .into_iter()
                .map(|c| nlp::ClassificationResult {
                    label: c.label,
                    score: c.score,
                })
                .collect(),
            producer_id: r.producer_id.map(Into::into),
        }
    }
}

impl From<s::TokenClassificationResults> for nlp::TokenClassificationResults {
    fn from(r: s::TokenClassificationResults) -> Self {
        Self {
            results: r
                .results
                .into_iter()
                .map(|t| nlp::TokenClassificationResult {
                    start: int(t.start),
                    end: int(t.end),
                    word: t.word,
                    entity: t.entity,
                    entity_group: t.entity_group.unwrap_or_default(),
                    score: t.score,
                    token_count: t.token_count.map(int).unwrap_or_default(),
                })
                .collect(),
            producer_id: r.producer_id.map(Into::into),
        }
    }
}

impl From<s::TokenizationResults> for nlp::TokenizationResults {
    fn from(r: s::TokenizationResults) -> Self {
        Self {
            results: r
                .results
                .into_iter()
                .map(|t| nlp::Token {
                    start: int(t.start),
                    end: int(t.end),
                    text: t.text,
                })
                .collect(),
            token_count: int(r.token_count),
        }
    }
}

impl From<s::Vector1D> for common::Vector1D {
    fn from(v: s::Vector1D) -> Self {
        Self {
            data: Some(common::vector1_d::Data::DataNpfloat32sequence(
                common::NpFloat32Sequence {
                    values: v.data.values,
                },
            )),
        }
    }
}

impl From<s::EmbeddingResult> for cn::EmbeddingResult {
    fn from(r: s::EmbeddingResult) -> Self {
        Self {
            result: Some(r.result.into()),
            producer_id: r.producer_id.map(Into::into),
            input_token_count: int(r.input_token_count),
        }
    }
}

impl From<s::EmbeddingResults> for cn::EmbeddingResults {
    fn from(r: s::EmbeddingResults) -> Self {
        Self {
            results: Some(common::ListOfVector1D {
                vectors: r.results.vectors.into_iter().map(Into::into).collect(),
            }),
            producer_id: r.producer_id.map(Into::into),
            input_token_count: int(r.input_token_count),
        }
    }
}

impl From<s::SentenceSimilarityScores> for cn::SentenceSimilarityScores {
    fn from(r: s::SentenceSimilarityScores) -> Self {
        Self {
            scores: r.scores.into_iter().map(f64::from).collect(),
        }
    }
}

impl From<s::SentenceSimilarityResult> for cn::SentenceSimilarityResult {
    fn from(r: s::SentenceSimilarityResult) -> Self {
        Self {
            result: Some(r.result.into()),
            producer_id: r.producer_id.map(Into::into),
            input_token_count: int(r.input_token_count),
        }
    }
}

impl From<s::SentenceSimilarityResults> for cn::SentenceSimilarityResults {
    fn from(r: s::SentenceSimilarityResults) -> Self {
        Self {
            results: r.results.into_iter().map(Into::into).collect(),
            producer_id: r.producer_id.map(Into::into),
            input_token_count: int(r.input_token_count),
        }
    }
}

impl From<s::RerankScores> for cn::RerankScores {
    fn from(r: s::RerankScores) -> Self {
        Self {
            query: r.query.unwrap_or_default(),
            scores: r
                .scores
                .into_iter()
                .map(|score| cn::RerankScore {
                    document: score.document.map(json_to_struct),
                    index: int(score.index),
                    score: score.score,
                    text: score.text.unwrap_or_default(),
                })
                .collect(),
        }
    }
}

impl From<s::RerankResult> for cn::RerankResult {
    fn from(r: s::RerankResult) -> Self {
        Self {
            result: Some(r.result.into()),
            producer_id: r.producer_id.map(Into::into),
            input_token_count: int(r.input_token_count),
        }
    }
}

impl From<s::RerankResults> for cn::RerankResults {
    fn from(r: s::RerankResults) -> Self {
        Self {
            results: r.results.into_iter().map(Into::into).collect(),
            producer_id: r.producer_id.map(Into::into),
            input_token_count: int(r.input_token_count),
        }
    }
}

impl From<s::RuntimeInfo> for info::RuntimeInfoResponse {
    fn from(r: s::RuntimeInfo) -> Self {
        Self {
            runtime_version: r.runtime_version,
            python_packages: Default::default(),
            api_version: r.api_version,
            tasks: r.tasks,
            config_reload: r.config_reload.map(|c| info::ConfigReload {
                applied: c.applied,
                refused: c.refused,
                last_error: c.last_error.unwrap_or_default(),
                last_attempt: c.last_attempt.unwrap_or_default(),
                needs_restart: c.needs_restart,
            }),
        }
    }
}

impl From<s::ModelInfo> for info::ModelInfo {
    fn from(m: s::ModelInfo) -> Self {
        Self {
            model_path: m.model_path.unwrap_or_default(),
            name: m.name,
            size: int(m.size),
            metadata: Some(json_to_struct(m.metadata)),
            module_id: m.module.clone(),
            module_metadata: Default::default(),
            loaded: m.loaded,
            module: m.module,
            tasks: m.tasks,
            backend: m.backend,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_request_becomes_the_rest_envelope() {
        let request = rpc::TextGenerationTaskRequest {
            text: "Hi".into(),
            max_new_tokens: Some(5),
            decoding_method: Some("SAMPLING".into()),
            top_p: Some(0.5),
            stop_sequences: vec!["\n".into()],
            exponential_decay_length_penalty: Some(cn::ExponentialDecayLengthPenalty {
                start_index: 2,
                decay_factor: 1.5,
            }),
            ..Default::default()
        };
        let envelope = request.into_envelope("m".into());
        assert_eq!(
            envelope,
            json!({"model_id": "m", "inputs": "Hi", "parameters": {
                "max_new_tokens": 5, "decoding_method": "SAMPLING", "top_p": 0.5,
                "stop_sequences": ["\n"],
                "exponential_decay_length_penalty": {"start_index": 2, "decay_factor": 1.5}}})
        );
        let typed: s::TextGenerationRequest = serde_json::from_value(envelope).unwrap();
        let penalty = typed.parameters.unwrap().exponential_decay_length_penalty;
        assert_eq!(penalty.unwrap().decay_factor, 1.5);
    }

    #[test]
    fn multi_input_requests_name_their_inputs() {
        let request = rpc::RerankTaskRequest {
            query: "q".into(),
            documents: vec![json_to_struct(
                json!({"text": "a", "id": 3}).as_object().unwrap().clone(),
            )],
            top_n: Some(1),
            ..Default::default()
        };
        assert_eq!(
            request.into_envelope("m".into()),
            json!({"model_id": "m", "inputs": {"query": "q", "documents": [{"text": "a", "id": 3}]},
                   "parameters": {"top_n": 1}})
        );
    }

    #[test]
    fn non_finite_numbers_are_not_mistaken_for_unset() {
        let request = rpc::TokenClassificationTaskRequest {
            text: "x".into(),
            threshold: Some(f64::NAN),
        };
        let envelope = request.into_envelope("m".into());
        assert_eq!(envelope["parameters"]["threshold"], "NaN");
    }

    #[test]
    fn vectors_use_the_float32_member() {
        let vector: common::Vector1D = s::Vector1D::from(vec![0.5, -1.0]).into();
        assert_eq!(
            vector.data,
            Some(common::vector1_d::Data::DataNpfloat32sequence(
                common::NpFloat32Sequence {
                    values: vec![0.5, -1.0]
                }
            ))
        );
    }
}
