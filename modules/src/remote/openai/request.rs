//! Caikit text-generation parameters → an OpenAI completions request. What the server's API
//! cannot express is refused by name, never dropped; what taskgate can do itself (stop
//! sequences, time limits, keeping the input text) is done gateway-side so results match
//! in-process generation.

use serde_json::{Map, Value, json};
use taskgate_schemas::{DecodingMethod, FieldError, TextGenerationParameters};

use crate::TaskError;
use crate::local::text_generation::DEFAULT_MAX_NEW_TOKENS;

/// The server's extensions to the OpenAI parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Only what OpenAI defines.
    Plain,
    /// llama.cpp and llama-cpp-python.
    LlamaCpp,
    Vllm,
}

impl Dialect {
    fn describe(self) -> &'static str {
        match self {
            Self::Plain => "an OpenAI-compatible server without a `dialect`",
            Self::LlamaCpp => "the llama-cpp dialect",
            Self::Vllm => "the vllm dialect",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "openai",
            Self::LlamaCpp => "llama-cpp",
            Self::Vllm => "vllm",
        }
    }
}

/// The request body (without `stream`, prompt or messages) for `p`, or every parameter the
/// server cannot honour.
pub fn body(
    model_name: &str,
    p: &TextGenerationParameters,
    dialect: Dialect,
) -> Result<Map<String, Value>, TaskError> {
    let mut body = Map::new();
    let mut refused = Vec::new();
    let mut refuse = |name: &str, why: &str| {
        refused.push(FieldError::new(
            format!("/parameters/{name}"),
            format!("{name} is not supported by {}: {why}", dialect.describe()),
        ));
    };
    body.insert("model".into(), model_name.into());
    body.insert(
        "max_tokens".into(),
        p.max_new_tokens.unwrap_or(DEFAULT_MAX_NEW_TOKENS).into(),
    );
    let sampling = p.decoding_method == Some(DecodingMethod::Sampling);
    // Greedy is temperature 0 in every OpenAI-compatible server.
    let temperature = if sampling {
        p.temperature.unwrap_or(1.0)
    } else {
        0.0
    };
    body.insert("temperature".into(), json!(temperature));
    body.insert("top_p".into(), json!(p.top_p.unwrap_or(1.0)));
    if let Some(seed) = p.seed {
        body.insert("seed".into(), seed.into());
    }
    // taskgate's neutral defaults, sent explicitly: llama.cpp's own (top_k 40, min_p 0.05,
    // repeat_penalty 1.1) would change even greedy output.
    match dialect {
        Dialect::LlamaCpp => {
            body.insert("top_k".into(), p.top_k.unwrap_or(0).into());
            body.insert("min_p".into(), json!(0.0));
            body.insert(
                "repeat_penalty".into(),
                json!(p.repetition_penalty.unwrap_or(1.0)),
            );
            body.insert("min_tokens".into(), p.min_new_tokens.unwrap_or(0).into());
        }
        Dialect::Vllm => {
            // vLLM's top_k "disabled" is -1.
            body.insert(
                "top_k".into(),
                p.top_k.filter(|k| *k > 0).map_or(-1, i64::from).into(),
            );
            body.insert(
                "repetition_penalty".into(),
                json!(p.repetition_penalty.unwrap_or(1.0)),
            );
            body.insert("min_tokens".into(), p.min_new_tokens.unwrap_or(0).into());
            if let Some(n) = p.truncate_input_tokens.filter(|n| *n > 0) {
                body.insert("truncate_prompt_tokens".into(), n.into());
            }
        }
        Dialect::Plain => {
            if p.top_k.is_some_and(|k| k > 0) {
                refuse("top_k", "set `dialect` if the server accepts it");
            }
            if p.repetition_penalty.is_some() {
                refuse(
                    "repetition_penalty",
                    "set `dialect` if the server accepts it",
                );
            }
            if p.min_new_tokens.is_some_and(|n| n > 0) {
                refuse("min_new_tokens", "set `dialect` if the server accepts it");
            }
        }
    }
    if dialect != Dialect::Vllm && p.truncate_input_tokens.is_some_and(|n| n > 0) {
        refuse("truncate_input_tokens", "the API has no prompt truncation");
    }
    if p.typical_p.is_some() {
        refuse("typical_p", "the API has no typical sampling");
    }
    if p.exponential_decay_length_penalty.is_some() {
        refuse(
            "exponential_decay_length_penalty",
            "the API has no length penalty",
        );
    }
    for (name, asked) in [
        ("input_tokens", p.input_tokens),
        ("generated_tokens", p.generated_tokens),
        ("token_logprobs", p.token_logprobs),
        ("token_ranks", p.token_ranks),
    ] {
        if asked == Some(true) {
            refuse(name, "token details are not available from this backend");
        }
    }
    if refused.is_empty() {
        Ok(body)
    } else {
        Err(TaskError::invalid_fields(refused))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(json: Value) -> TextGenerationParameters {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn greedy_defaults_are_neutral_in_every_dialect() {
        let p = params(json!({}));
        let plain = body("m", &p, Dialect::Plain).unwrap();
        assert_eq!(
            Value::Object(plain),
            json!({"model": "m", "max_tokens": 20, "temperature": 0.0, "top_p": 1.0})
        );
        let llama = body("m", &p, Dialect::LlamaCpp).unwrap();
        assert_eq!(
            (&llama["top_k"], &llama["min_p"], &llama["repeat_penalty"]),
            (&json!(0), &json!(0.0), &json!(1.0))
        );
        assert_eq!(body("m", &p, Dialect::Vllm).unwrap()["top_k"], json!(-1));
    }

    #[test]
    fn sampling_parameters_map_to_each_dialects_names() {
        let p = params(
            json!({"decoding_method": "SAMPLING", "temperature": 0.5, "top_k": 7,
            "top_p": 0.9, "seed": 3, "repetition_penalty": 1.2, "min_new_tokens": 2,
            "max_new_tokens": 9, "truncate_input_tokens": 100}),
        );
        let vllm = body("m", &p, Dialect::Vllm).unwrap();
        assert_eq!(
            Value::Object(vllm),
            json!({"model": "m", "max_tokens": 9, "temperature": 0.5, "top_p": 0.9, "seed": 3,
                "top_k": 7, "repetition_penalty": 1.2, "min_tokens": 2,
                "truncate_prompt_tokens": 100})
        );
        let p =
            params(json!({"decoding_method": "SAMPLING", "top_k": 7, "repetition_penalty": 1.2}));
        let llama = body("m", &p, Dialect::LlamaCpp).unwrap();
        assert_eq!(
            (&llama["top_k"], &llama["repeat_penalty"]),
            (&json!(7), &json!(1.2))
        );
        assert_eq!(llama["temperature"], json!(1.0));
    }

    #[test]
    fn what_a_dialect_cannot_express_is_refused_by_name() {
        let p = params(
            json!({"decoding_method": "SAMPLING", "top_k": 7, "typical_p": 0.5,
            "repetition_penalty": 1.1, "min_new_tokens": 1, "truncate_input_tokens": 5,
            "exponential_decay_length_penalty": {"start_index": 1, "decay_factor": 1.1},
            "generated_tokens": true, "token_logprobs": false}),
        );
        let Err(TaskError::InvalidArgument { fields, .. }) = body("m", &p, Dialect::Plain) else {
            panic!("expected refusal");
        };
        let paths: Vec<_> = fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/parameters/top_k",
                "/parameters/repetition_penalty",
                "/parameters/min_new_tokens",
                "/parameters/truncate_input_tokens",
                "/parameters/typical_p",
                "/parameters/exponential_decay_length_penalty",
                "/parameters/generated_tokens"
            ]
        );
        let Err(TaskError::InvalidArgument { fields, .. }) = body("m", &p, Dialect::Vllm) else {
            panic!("expected refusal");
        };
        assert_eq!(fields.len(), 3, "{fields:?}");
    }
}
