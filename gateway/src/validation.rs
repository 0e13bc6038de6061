//! Request validation against each task's JSON Schema, with JSON-pointer paths per field.

use std::collections::HashMap;

use jsonschema::JsonType;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde_json::Value;
use taskgate_schemas::FieldError;

/// Reports stop after this many fields; a garbage body should not produce a megabyte of errors.
const MAX_REPORTED_ERRORS: usize = 20;

/// Longest reason or field name reported; the schema library quotes the offending value, which
/// may be megabytes of the request.
const MAX_MESSAGE_CHARS: usize = 300;

/// `text`, cut to [`MAX_MESSAGE_CHARS`] characters with a note of how much was left out.
fn bounded(text: String) -> String {
    let chars = text.chars().count();
    if chars <= MAX_MESSAGE_CHARS {
        return text;
    }
    let kept: String = text.chars().take(MAX_MESSAGE_CHARS).collect();
    format!("{kept}… ({} more characters)", chars - MAX_MESSAGE_CHARS)
}

/// Writes integral numbers under `parameters` (`5.0`) as integers: JSON Schema's `integer` admits
/// them, so the typed request must too. Inputs are left as sent (documents are echoed back).
pub fn integral_parameters(envelope: &mut Value) {
    if let Some(parameters) = envelope.get_mut("parameters") {
        integral_numbers(parameters);
    }
}

/// Writes every integral number in `value` (`5.0`) as an integer.
pub fn integral_numbers(value: &mut Value) {
    match value {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9.0e15
            {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(map) => map.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

/// One compiled validator per task route name.
#[derive(Default)]
pub struct Validators {
    by_task: HashMap<&'static str, Validator>,
}

impl Validators {
    pub fn insert(&mut self, task: &'static str, schema: &Value) {
        let validator = jsonschema::validator_for(schema).unwrap_or_else(|e| {
            panic!("the schema of task {task} does not compile: {e}. This is a bug.")
        });
        self.by_task.insert(task, validator);
    }

    /// Every way `body` violates the task's schema (empty when valid).
    pub fn check(&self, task: &str, body: &Value) -> Vec<FieldError> {
        let validator = self
            .by_task
            .get(task)
            .unwrap_or_else(|| panic!("no validator for task {task}. This is a bug."));
        let mut fields = Vec::new();
        for error in validator.iter_errors(body) {
            describe(&error, &mut fields);
            for field in &mut fields {
                field.path = bounded(std::mem::take(&mut field.path));
                field.message = bounded(std::mem::take(&mut field.message));
            }
            if fields.len() >= MAX_REPORTED_ERRORS {
                fields.truncate(MAX_REPORTED_ERRORS);
                break;
            }
        }
        fields
    }
}

fn describe(error: &ValidationError<'_>, out: &mut Vec<FieldError>) {
    let path = error.instance_path().to_string();
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            for name in unexpected {
                out.push(FieldError::new(
                    format!("{path}/{}", escape_pointer(name)),
                    format!("unknown field '{name}'"),
                ));
            }
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            out.push(FieldError::new(
                format!("{path}/{}", escape_pointer(name)),
                "missing required field",
            ));
        }
        // Optional fields are `oneOf [T, null]`; report why the value is not a valid T. Of
        // several shapes (a text or a list of texts), the one of the value's own type says
        // what is wrong with it.
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            let wrong_type = |errors: &Vec<ValidationError<'_>>| {
                errors.iter().any(|e| {
                    matches!(e.kind(), ValidationErrorKind::Type { .. })
                        && e.instance_path() == error.instance_path()
                })
            };
            let branch = context
                .iter()
                .find(|errors| !wrong_type(errors))
                .or_else(|| {
                    context
                        .iter()
                        .find(|errors| !errors.iter().all(is_null_mismatch))
                });
            match branch {
                Some(errors) => errors.iter().for_each(|e| describe(e, out)),
                None => out.push(FieldError::new(path, error.to_string())),
            }
        }
        _ => out.push(FieldError::new(path, error.to_string())),
    }
}

/// The `null` branch of an optional field rejecting a non-null value. Only an error that expects
/// null and nothing else is one: a `["number", "null"]` mismatch says the value is not a number.
fn is_null_mismatch(error: &ValidationError<'_>) -> bool {
    matches!(
        error.kind(),
        ValidationErrorKind::Type {
            kind: TypeKind::Single(JsonType::Null)
        }
    )
}

fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use taskgate_schemas::TextGenerationRequest;

    fn validators() -> Validators {
        let mut v = Validators::default();
        v.insert(
            "text-generation",
            &taskgate_schemas::json_schema::request::<TextGenerationRequest>(),
        );
        v
    }

    #[test]
    fn integral_parameters_become_integers_and_inputs_stay() {
        let mut envelope =
            json!({"inputs": [{"n": 5.0}], "parameters": {"top_n": 5.0, "p": 0.5, "l": [2.0]}});
        integral_parameters(&mut envelope);
        assert_eq!(envelope["parameters"]["top_n"].as_u64(), Some(5));
        assert_eq!(envelope["parameters"]["p"], 0.5);
        assert_eq!(envelope["parameters"]["l"][0].as_u64(), Some(2));
        assert!(envelope["inputs"][0]["n"].is_f64());
    }

    #[test]
    fn a_value_of_several_shapes_is_judged_by_the_shape_of_its_type() {
        let mut v = Validators::default();
        v.insert(
            "shapes",
            &json!({"type": "object", "properties": {"stop": {"oneOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "items": {"type": "string", "minLength": 1}, "maxItems": 2},
                {"type": "null"}]}}}),
        );
        let errors = v.check("shapes", &json!({"stop": ["a", "b", "c"]}));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].path, "/stop");
        assert!(
            errors[0].message.contains("more than 2"),
            "{}",
            errors[0].message
        );
        let errors = v.check("shapes", &json!({"stop": [""]}));
        assert_eq!(errors[0].path, "/stop/0", "{errors:?}");
        let errors = v.check("shapes", &json!({"stop": 5}));
        assert!(!errors.is_empty());
    }

    #[test]
    fn reasons_do_not_echo_megabytes_of_input() {
        let huge = "x".repeat(1 << 20);
        let errors = validators().check(
            "text-generation",
            &json!({"model_id": "m", "inputs": "hi", "parameters": {"stop_sequences": huge, &huge: 1}}),
        );
        assert!(!errors.is_empty());
        for error in &errors {
            assert!(error.message.len() < 1000, "{}", error.message.len());
            assert!(error.path.len() < 1000, "{}", error.path.len());
        }
    }

    #[test]
    fn reports_bounds_unknown_and_missing_fields_with_paths() {
        let errors = validators().check(
            "text-generation",
            &json!({"model_id": "m", "parameters": {"top_p": 1.5, "topk": 3, "temperature": 0.01}}),
        );
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"/inputs"), "{errors:?}");
        assert!(paths.contains(&"/parameters/top_p"), "{errors:?}");
        assert!(paths.contains(&"/parameters/topk"), "{errors:?}");
        assert!(paths.contains(&"/parameters/temperature"), "{errors:?}");
        let top_p = errors
            .iter()
            .find(|e| e.path == "/parameters/top_p")
            .unwrap();
        assert_eq!(top_p.message, "1.5 is greater than the maximum of 1");
    }

    #[test]
    fn explains_bad_enum_values_inside_optional_fields() {
        let errors = validators().check(
            "text-generation",
            &json!({"model_id": "m", "inputs": "x", "parameters": {"decoding_method": "BEAM"}}),
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].path, "/parameters/decoding_method");
        assert!(errors[0].message.contains("GREEDY"), "{errors:?}");
    }

    #[test]
    fn wrong_types_inside_optional_parameters_name_the_field() {
        let errors = validators().check(
            "text-generation",
            &json!({"model_id": "m", "inputs": "x", "parameters": {"top_p": "NaN"}}),
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].path, "/parameters/top_p");
        assert!(errors[0].message.contains("number"), "{errors:?}");
    }

    #[test]
    fn valid_requests_pass() {
        let errors = validators().check(
            "text-generation",
            &json!({"model_id": "m", "inputs": "x", "parameters": {"top_p": 0.5, "decoding_method": "SAMPLING"}}),
        );
        assert!(errors.is_empty(), "{errors:?}");
    }
}
