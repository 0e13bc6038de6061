//! What the OpenAPI document states beyond what utoipa derives, written into its JSON: event
//! streams as sequences of events (OpenAPI's `itemSchema`), the range of every integer, the
//! shapes of the training listing, and the cross-field rules the server applies after the
//! schema, so a client (or a fuzzer) that follows the document sends only what is accepted.

use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

use taskgate_schemas::json_schema::{bound_integer_formats, bound_string_lengths};

const SCHEMAS: &str = "#/components/schemas/";

pub fn finish(doc: &mut Value) {
    bound_integer_formats(doc);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let framing = if path.starts_with("/v1/") {
                openai_event_item
            } else {
                event_item
            };
            for operation in item
                .as_object_mut()
                .into_iter()
                .flat_map(|m| m.values_mut())
            {
                event_streams_as_items(operation, framing);
            }
        }
    }
    training_routes(doc);
    sampling_rules(doc);
    single_label_rule(doc);
    request_strings(doc);
    crate::openai::document_rules::finish(doc);
}

/// A classifier trained without `multi_label: true` takes one label per record.
fn single_label_rule(doc: &mut Value) {
    let Some(Value::Object(parameters)) =
        doc.pointer_mut("/components/schemas/ClassifierTrainParameters")
    else {
        return;
    };
    // `properties` holds only where the value is an object, so a missing or null stream passes.
    let one_label = json!({"properties": {"data_stream": {"properties": {"data": {
        "items": {"properties": {"labels": {"maxItems": 1}}}}}}}});
    let rule = json!({
        "if": {"not": {"required": ["multi_label"],
            "properties": {"multi_label": {"const": true}}}},
        "then": {"properties": {"train_stream": one_label, "val_stream": one_label}},
    });
    let mut rules = vec![rule];
    if let Some(Value::Array(existing)) = parameters.remove("allOf") {
        rules.extend(existing);
    }
    parameters.insert("allOf".into(), Value::Array(rules));
}

/// Bounds the strings of everything a request sends (bodies and parameters), as the
/// validators do; answers are left as they are.
fn request_strings(doc: &mut Value) {
    let mut sent = Vec::new();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for operation in paths
            .values_mut()
            .filter_map(Value::as_object_mut)
            .flat_map(|item| item.values_mut())
        {
            for part in ["requestBody", "parameters"] {
                if let Some(part) = operation.get_mut(part) {
                    component_refs(part, &mut sent);
                    bound_string_lengths(part);
                }
            }
        }
    }
    let Some(components) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let mut seen = BTreeSet::new();
    while let Some(name) = sent.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(schema) = components.get_mut(&name) {
            component_refs(schema, &mut sent);
            bound_string_lengths(schema);
        }
    }
}

/// The component names `value` refers to.
fn component_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix(SCHEMAS))
            {
                out.push(name.to_string());
            }
            map.values().for_each(|v| component_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| component_refs(v, out)),
        _ => {}
    }
}

/// One SSE event whose `data` is the JSON of `event` (the default event type), or, after a
/// failure, an `error` event whose data is an `ErrorBody`.
fn event_item(event: Value) -> Value {
    let data = |schema: Value| json!({"type": "string", "contentMediaType": "application/json", "contentSchema": schema});
    json!({"oneOf": [
        {"type": "object", "required": ["data"],
            "properties": {"event": {"enum": ["message"]}, "data": data(event)}},
        {"type": "object", "required": ["event", "data"],
            "properties": {"event": {"const": "error"},
                "data": data(json!({"$ref": format!("{SCHEMAS}ErrorBody")}))}},
    ]})
}

/// One SSE event of an OpenAI route: `data:` with the JSON of `event`, or of an error after a
/// failure, or the `[DONE]` that ends every stream.
fn openai_event_item(event: Value) -> Value {
    let data = |schema: Value| json!({"type": "string", "contentMediaType": "application/json", "contentSchema": schema});
    json!({"oneOf": [
        {"type": "object", "required": ["data"], "properties": {"data": data(event)}},
        {"type": "object", "required": ["data"],
            "properties": {"data": data(json!({"$ref": format!("{SCHEMAS}OpenAiError")}))}},
        {"type": "object", "required": ["data"], "properties": {"data": {"const": "[DONE]"}}},
    ]})
}

fn event_streams_as_items(operation: &mut Value, framing: fn(Value) -> Value) {
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for response in responses.values_mut() {
        let Some(stream) = response.pointer_mut("/content/text~1event-stream") else {
            continue;
        };
        if let Some(Value::Object(stream)) = Some(stream)
            && let Some(schema) = stream.remove("schema")
        {
            stream.insert("itemSchema".into(), framing(schema));
        }
    }
}

/// `GET /management/trainings` answers one job's status with `training_id`, the list without;
/// a cancel or an event stream needs a non-empty `training_id` (422 otherwise).
fn training_routes(doc: &mut Value) {
    let listing =
        "/paths/~1management~1trainings/get/responses/200/content/application~1json/schema";
    if let Some(schema) = doc.pointer_mut(listing) {
        *schema = json!({"oneOf": [
            {"$ref": format!("{SCHEMAS}TrainingStatusResponse")},
            {"$ref": format!("{SCHEMAS}TrainingList")},
        ]});
    }
    for train in [
        "/paths/~1api~1v1~1TextClassificationTaskClassifierTrain/post/responses",
        "/paths/~1api~1v1~1TextGenerationTaskPeftPromptTuningTrain/post/responses",
    ] {
        if let Some(Value::Object(responses)) = doc.pointer_mut(train) {
            for (status, why) in [
                (
                    "408",
                    "The body did not arrive within the server's body read timeout",
                ),
                ("413", "The body is larger than `http.max_body_bytes`"),
                ("415", "The body is not `application/json`"),
            ] {
                responses.insert(
                    status.into(),
                    json!({"description": why, "content": {"application/json":
                        {"schema": {"$ref": format!("{SCHEMAS}ErrorBody")}}}}),
                );
            }
        }
    }
    for route in [
        "/paths/~1management~1trainings/delete",
        "/paths/~1management~1trainings~1events/get",
        "/paths/~1management~1trainings~1model/delete",
    ] {
        let Some(operation) = doc.pointer_mut(route) else {
            continue;
        };
        if let Some(Value::Array(parameters)) = operation.get_mut("parameters") {
            for parameter in parameters.iter_mut() {
                if parameter["name"] == "training_id"
                    && let Some(schema) = parameter.get_mut("schema").and_then(Value::as_object_mut)
                {
                    schema.insert("minLength".into(), 1.into());
                }
            }
        }
        if let Some(Value::Object(responses)) = operation.get_mut("responses") {
            responses.insert(
                "422".into(),
                json!({"description": "`training_id` is missing or empty",
                    "content": {"application/json": {"schema": {"$ref": format!("{SCHEMAS}ErrorBody")}}}}),
            );
        }
    }
}

/// Sampling parameters take effect only with `decoding_method: SAMPLING`; with greedy decoding
/// (the default) a non-neutral value is refused (400). Stop sequences must not be empty.
fn sampling_rules(doc: &mut Value) {
    let Some(Value::Object(parameters)) =
        doc.pointer_mut("/components/schemas/TextGenerationParameters")
    else {
        return;
    };
    let neutral = |value: Value| json!({"enum": [null, value]});
    let greedy_means_neutral = json!({
        "if": {"not": {"required": ["decoding_method"],
            "properties": {"decoding_method": {"const": "SAMPLING"}}}},
        "then": {"properties": {
            "temperature": neutral(json!(1.0)),
            "top_k": neutral(json!(0)),
            "top_p": neutral(json!(1.0)),
            "typical_p": neutral(json!(1.0)),
        }},
    });
    let mut rules = vec![greedy_means_neutral];
    if let Some(Value::Array(existing)) = parameters.remove("allOf") {
        rules.extend(existing);
    }
    parameters.insert("allOf".into(), Value::Array(rules));
    if let Some(items) = parameters
        .get_mut("properties")
        .and_then(|p| p.get_mut("stop_sequences"))
        .and_then(|s| find_items(s))
    {
        items.insert("minLength".into(), 1.into());
    }
}

/// The `items` schema of an array property, through an `oneOf [array, null]`.
fn find_items(schema: &mut Value) -> Option<&mut Map<String, Value>> {
    if schema.get("items").is_some() {
        return schema.get_mut("items").and_then(Value::as_object_mut);
    }
    schema
        .get_mut("oneOf")
        .and_then(Value::as_array_mut)?
        .iter_mut()
        .find(|branch| branch.get("items").is_some())
        .and_then(|branch| branch.get_mut("items"))
        .and_then(Value::as_object_mut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_streams_document_each_event() {
        let mut operation = json!({"responses": {"200": {"content": {"text/event-stream":
            {"schema": {"$ref": "#/components/schemas/X"}}}}}});
        event_streams_as_items(&mut operation, event_item);
        let stream = &operation["responses"]["200"]["content"]["text/event-stream"];
        assert!(stream.get("schema").is_none());
        let message = &stream["itemSchema"]["oneOf"][0]["properties"]["data"];
        assert_eq!(message["contentSchema"]["$ref"], "#/components/schemas/X");
    }

    #[test]
    fn strings_are_bounded_where_requests_send_them_only() {
        let mut doc = json!({
            "paths": {"/x": {"post": {
                "parameters": [{"name": "id", "in": "query", "schema": {"type": "string"}}],
                "requestBody": {"content": {"application/json":
                    {"schema": {"$ref": "#/components/schemas/Req"}}}},
                "responses": {"200": {"content": {"application/json":
                    {"schema": {"$ref": "#/components/schemas/Out"}}}}}}}},
            "components": {"schemas": {
                "Req": {"type": "object", "properties": {
                    "text": {"type": "string"}, "more": {"$ref": "#/components/schemas/Inner"}}},
                "Inner": {"type": "array", "items": {"type": "string"}},
                "Out": {"type": "object", "properties": {"text": {"type": "string"}}}}},
        });
        request_strings(&mut doc);
        let schemas = &doc["components"]["schemas"];
        let max = taskgate_schemas::json_schema::MAX_STRING_CHARS;
        assert_eq!(schemas["Req"]["properties"]["text"]["maxLength"], max);
        assert_eq!(schemas["Inner"]["items"]["maxLength"], max);
        assert!(
            schemas["Out"]["properties"]["text"]
                .get("maxLength")
                .is_none()
        );
        let parameter = &doc["paths"]["/x"]["post"]["parameters"][0]["schema"];
        assert_eq!(parameter["maxLength"], max);
    }
}
