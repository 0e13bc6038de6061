//! Standalone JSON Schemas (draft 2020-12) from the same utoipa derives that feed OpenAPI, so the
//! validator, the OpenAPI document and the wire types cannot disagree.

use serde_json::{Map, Value, json};
use utoipa::ToSchema;

const COMPONENTS_PREFIX: &str = "#/components/schemas/";
const DEFS_PREFIX: &str = "#/$defs/";

/// A self-contained schema for `T`: `{"$ref": "#/$defs/T", "$defs": {T and everything it uses}}`.
pub fn standalone<T: ToSchema>() -> Value {
    let mut collected = Vec::new();
    T::schemas(&mut collected);
    let mut defs = Map::new();
    defs.insert(T::name().into_owned(), to_value(T::schema()));
    for (name, schema) in collected {
        defs.insert(name, to_value(schema));
    }
    let mut defs = Value::Object(defs);
    rewrite_refs(&mut defs);
    bound_integer_formats(&mut defs);
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("{DEFS_PREFIX}{}", T::name()),
        "$defs": defs,
    })
}

/// The schema of a request `T`: [`standalone`], with every string bounded.
pub fn request<T: ToSchema>() -> Value {
    let mut schema = standalone::<T>();
    bound_string_lengths(&mut schema);
    schema
}

/// The most characters a string in a request may hold, where its schema sets no lower bound:
/// far more than any model's context, and still a bound when an operator raises the body size.
pub const MAX_STRING_CHARS: u64 = 1_048_576;

/// Writes `maxLength` ([`MAX_STRING_CHARS`]) on every string schema that has none.
pub fn bound_string_lengths(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let is_string = match map.get("type") {
                Some(Value::String(kind)) => kind == "string",
                Some(Value::Array(kinds)) => kinds.iter().any(|k| k == "string"),
                _ => false,
            };
            if is_string && !map.contains_key("enum") && !map.contains_key("const") {
                map.entry("maxLength").or_insert(MAX_STRING_CHARS.into());
            }
            map.values_mut().for_each(bound_string_lengths);
        }
        Value::Array(items) => items.iter_mut().for_each(bound_string_lengths),
        _ => {}
    }
}

fn to_value<S: serde::Serialize>(schema: S) -> Value {
    serde_json::to_value(schema).expect("utoipa schemas always serialize. This is a bug.")
}

/// Writes the range an integer `format` implies as `minimum`/`maximum` where none is given.
/// Validators of JSON Schema ignore `format`, while OpenAPI tools (schemathesis, generated
/// clients) read `int32` as a 32-bit range: without this a value one accepts the other refuses.
pub fn bound_integer_formats(value: &mut Value) {
    match value {
        Value::Object(map) => {
            match map.get("format").and_then(Value::as_str) {
                Some("int32") => {
                    map.entry("minimum").or_insert(i32::MIN.into());
                    map.entry("maximum").or_insert(i32::MAX.into());
                }
                // utoipa labels u64 `int64` with a minimum of 0; its values run past i64's.
                Some("int64") if map.get("minimum") == Some(&Value::from(0)) => {
                    map.insert("format".into(), "uint64".into());
                    map.entry("maximum").or_insert(u64::MAX.into());
                }
                Some("int64") => {
                    map.entry("minimum").or_insert(i64::MIN.into());
                    map.entry("maximum").or_insert(i64::MAX.into());
                }
                _ => {}
            }
            map.values_mut().for_each(bound_integer_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(bound_integer_formats),
        _ => {}
    }
}

/// Points OpenAPI component references at `$defs` so the document stands alone.
fn rewrite_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "$ref"
                    && let Value::String(target) = child
                    && let Some(name) = target.strip_prefix(COMPONENTS_PREFIX)
                {
                    *target = format!("{DEFS_PREFIX}{name}");
                } else {
                    rewrite_refs(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TextGenerationRequest;

    #[test]
    fn integer_formats_state_their_range() {
        let mut schema = json!({"properties": {
            "n": {"type": "integer", "format": "int32", "minimum": 1},
            "m": {"type": ["integer", "null"], "format": "int32"},
        }});
        bound_integer_formats(&mut schema);
        assert_eq!(schema["properties"]["n"]["minimum"], 1);
        assert_eq!(schema["properties"]["n"]["maximum"], i32::MAX);
        assert_eq!(schema["properties"]["m"]["minimum"], i32::MIN);
        let mut unsigned = json!({"type": "integer", "format": "int64", "minimum": 0});
        bound_integer_formats(&mut unsigned);
        assert_eq!(unsigned["format"], "uint64");
        assert_eq!(unsigned["maximum"], u64::MAX);
    }

    #[test]
    fn request_strings_are_bounded() {
        let schema = request::<TextGenerationRequest>();
        let defs = &schema["$defs"];
        assert_eq!(
            defs["TextGenerationRequest"]["properties"]["inputs"]["maxLength"],
            MAX_STRING_CHARS
        );
        assert_eq!(
            defs["TextGenerationRequest"]["properties"]["model_id"]["maxLength"],
            MAX_STRING_CHARS
        );
        let mut optional = json!({"type": ["string", "null"], "maxLength": 5});
        bound_string_lengths(&mut optional);
        assert_eq!(optional["maxLength"], 5);
        let mut choice = json!({"type": "string", "enum": ["a"]});
        bound_string_lengths(&mut choice);
        assert!(choice.get("maxLength").is_none());
    }

    #[test]
    fn references_resolve_inside_the_document() {
        let schema = standalone::<TextGenerationRequest>();
        let text = schema.to_string();
        assert!(!text.contains(COMPONENTS_PREFIX));
        let defs = schema["$defs"].as_object().unwrap();
        for name in [
            "TextGenerationRequest",
            "TextGenerationParameters",
            "DecodingMethod",
        ] {
            assert!(defs.contains_key(name), "missing {name} in {defs:?}");
        }
    }
}
