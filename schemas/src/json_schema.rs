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
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("{DEFS_PREFIX}{}", T::name()),
        "$defs": defs,
    })
}

fn to_value<S: serde::Serialize>(schema: S) -> Value {
    serde_json::to_value(schema).expect("utoipa schemas always serialize. This is a bug.")
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
