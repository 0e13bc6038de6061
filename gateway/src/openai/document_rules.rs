//! What the OpenAI routes' request schemas cannot say through utoipa and the server checks in
//! code, stated in the OpenAPI document, so a client (or a fuzzer) that follows it sends only
//! what is accepted: parameters held to the one value the engines support, and the rules
//! between fields.

use serde_json::{Map, Value, json};

/// Only this value: what `n`, `best_of`, the penalties and alternative log-probabilities are
/// held to.
fn only(schema: &mut Map<String, Value>, field: &str, value: i64) {
    if let Some(Value::Object(property)) =
        schema.get_mut("properties").and_then(|p| p.get_mut(field))
    {
        property.insert("minimum".into(), value.into());
        property.insert("maximum".into(), value.into());
    }
}

fn add_rules(schema: &mut Map<String, Value>, rules: Vec<Value>) {
    let mut all = rules;
    if let Some(Value::Array(existing)) = schema.remove("allOf") {
        all.extend(existing);
    }
    schema.insert("allOf".into(), Value::Array(all));
}

/// `stream_options` only with `stream: true`.
fn stream_options_need_stream() -> Value {
    json!({
        "if": {"required": ["stream_options"],
            "properties": {"stream_options": {"type": "object"}}},
        "then": {"required": ["stream"], "properties": {"stream": {"const": true}}},
    })
}

pub fn finish(doc: &mut Value) {
    if let Some(Value::Object(chat)) =
        doc.pointer_mut("/components/schemas/CreateChatCompletionRequest")
    {
        only(chat, "n", 1);
        only(chat, "top_logprobs", 0);
        only(chat, "presence_penalty", 0);
        only(chat, "frequency_penalty", 0);
        let both = json!({"type": "integer"});
        add_rules(
            chat,
            vec![
                stream_options_need_stream(),
                json!({"not": {"required": ["max_tokens", "max_completion_tokens"],
                    "properties": {"max_tokens": both, "max_completion_tokens": both}}}),
            ],
        );
    }
    if let Some(Value::Object(completion)) =
        doc.pointer_mut("/components/schemas/CreateCompletionRequest")
    {
        for field in ["n", "best_of"] {
            only(completion, field, 1);
        }
        for field in ["logprobs", "presence_penalty", "frequency_penalty"] {
            only(completion, field, 0);
        }
        add_rules(
            completion,
            vec![
                stream_options_need_stream(),
                json!({
                    "if": {"required": ["stream"], "properties": {"stream": {"const": true}}},
                    "then": {"properties": {"prompt": {"type": "string"}}},
                }),
            ],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_parameters_and_field_rules_are_stated() {
        let mut doc = json!({"components": {"schemas": {"CreateChatCompletionRequest": {
            "properties": {"n": {"type": ["integer", "null"], "minimum": 1}}}}}});
        finish(&mut doc);
        let chat = &doc["components"]["schemas"]["CreateChatCompletionRequest"];
        assert_eq!(chat["properties"]["n"]["maximum"], 1);
        assert_eq!(chat["allOf"].as_array().unwrap().len(), 2);
        let validator = jsonschema::validator_for(chat).unwrap();
        assert!(validator.is_valid(&json!({"n": 1, "stream": true, "stream_options": {}})));
        assert!(!validator.is_valid(&json!({"n": 2})));
        assert!(!validator.is_valid(&json!({"stream_options": {}})));
        assert!(!validator.is_valid(&json!({"max_tokens": 5, "max_completion_tokens": 5})));
        assert!(validator.is_valid(&json!({"max_tokens": 5, "max_completion_tokens": null})));
    }
}
