use serde_json::json;

use super::*;

fn parse(config: serde_json::Value) -> Result<KserveSetup, String> {
    let spec = ModelSpec::parse("m", "kserve-v2", config).map_err(|e| e.to_string())?;
    let crate::ModuleSettings::KserveV2(settings) = &spec.settings else {
        return Err(format!("{:?} is not a kserve-v2 model", spec.settings));
    };
    settings.setup(&spec).map_err(|e| e.to_string())
}

#[test]
fn defaults_are_rest_text_input_and_first_output() {
    let settings = parse(json!({"endpoint": "http://h:8080", "task": "embeddings"})).unwrap();
    assert_eq!(settings.task, KserveTask::Embeddings);
    assert_eq!(
        settings.model,
        KserveModel {
            name: "m".into(),
            input_name: "text".into(),
            output_name: None,
            protocol: KserveProtocol::Rest,
        }
    );
    let settings = parse(
        json!({"endpoint": "http://h:8081", "task": "text-classification",
        "labels": ["no", "yes"], "protocol": "grpc", "raw_contents": true,
        "input_name": "texts", "output_name": "probs", "model_name": "clf"}),
    )
    .unwrap();
    assert_eq!(settings.labels, ["no", "yes"]);
    assert_eq!(
        settings.model,
        KserveModel {
            name: "clf".into(),
            input_name: "texts".into(),
            output_name: Some("probs".into()),
            protocol: KserveProtocol::Grpc { raw_contents: true },
        }
    );
}

#[test]
fn every_bad_setting_is_named() {
    let base = |extra: serde_json::Value| {
        let mut config = json!({"endpoint": "http://h:8080", "task": "embeddings"});
        config
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        parse(config).err().unwrap_or_default()
    };
    let cases = [
        (
            json!({"task": null}),
            "config.task': required: embeddings or text-classification",
        ),
        (json!({"task": "generation"}), "config.task'"),
        (
            json!({"protocol": "http"}),
            "config.protocol': expected rest or grpc",
        ),
        (
            json!({"raw_contents": true}),
            "config.raw_contents': applies only to protocol: grpc",
        ),
        (
            json!({"protocol": "grpc", "raw_contents": "yes"}),
            "config.raw_contents': expected true or false",
        ),
        (
            json!({"labels": ["a"]}),
            "config.labels': applies only to task: text-classification",
        ),
        (
            json!({"task": "text-classification"}),
            "config.labels': required for text-classification",
        ),
        (
            json!({"task": "text-classification", "labels": []}),
            "config.labels': required",
        ),
        (
            json!({"task": "text-classification", "labels": ["a", 3]}),
            "config.labels': required",
        ),
        (
            json!({"task": "text-classification", "labels": ["a", "a"]}),
            "config.labels': 'a' is listed twice",
        ),
        (
            json!({"input_name": ""}),
            "config.input_name': expected a non-empty string",
        ),
        (
            json!({"output_name": 7}),
            "config.output_name': expected a non-empty string",
        ),
        (json!({"api": "chat"}), "config.api': unknown key"),
    ];
    for (extra, expected) in cases {
        let error = base(extra.clone());
        assert!(error.contains(expected), "{extra}: {error}");
    }
}
