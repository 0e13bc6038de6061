//! Loading the config: defaults, the file, environment overrides and flags, and the errors
//! that name the key.

use super::*;
use serde_json::json;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_serve_pii_rules_on_localhost() {
    let config = Config::load(&ConfigSources::default()).unwrap();
    assert_eq!(config, Config::default());
    assert_eq!(config.listen_address(), "127.0.0.1:8080");
    assert_eq!(config.grpc_listen_address(), "127.0.0.1:8085");
    assert_eq!(config.models[0].id, "pii-rules");
}

#[test]
fn env_overrides_are_typed_and_nested() {
    let sources = ConfigSources {
        env: env(&[
            ("TASKGATE_HTTP__PORT", "9000"),
            ("TASKGATE_LOG__FORMAT", "json"),
            ("TASKGATE_CONFIG", "ignored.yaml"),
            ("HOME", "/root"),
        ]),
        ..Default::default()
    };
    let config = Config::load(&sources).unwrap();
    assert_eq!(config.http.port, 9000);
    assert_eq!(config.log.format, LogFormat::Json);
}

#[test]
fn errors_name_the_key_and_reason() {
    let err = Config::from_value(json!({
        "http": {"port": 70000, "hots": "x"},
        "models": [{"id": "bad id!", "module": "pii-rules"}]
    }))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("http.port: 70000 is greater than the maximum of 65535"),
        "{err}"
    );
    assert!(err.contains("http.hots: unknown field 'hots'"), "{err}");
    assert!(err.contains("models[0].id:"), "{err}");
}

#[test]
fn a_model_names_a_module_or_a_backend() {
    let remote = Config::from_value(json!({"models": [{"id": "llm",
        "backend": {"kind": "tgis", "endpoint": "http://10.0.0.7:8033"}}]}))
    .unwrap();
    assert_eq!(
        remote.models[0].backend().unwrap().kind(),
        BackendKind::Tgis
    );
    let err = Config::from_value(json!({"models": [{"id": "a"},
        {"id": "b", "module": "pii-rules",
         "backend": {"kind": "tgis", "endpoint": "http://h:1"}}]}))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("models[0]: give `module` (in process) or `backend` (remote)"),
        "{err}"
    );
    assert!(
        err.contains("models[1]: give either `module` or `backend`, not both"),
        "{err}"
    );
    let err = Config::from_value(json!({"models": [{"id": "c",
        "backend": {"kind": "carrier-pigeon", "endpoint": "http://h:1"}}]}))
    .unwrap_err()
    .to_string();
    assert!(err.contains("models[0].backend.kind"), "{err}");
}

#[test]
fn each_backend_kind_takes_only_its_own_keys() {
    let err = Config::from_value(json!({"models": [{"id": "llm", "backend": {
        "kind": "openai", "endpoint": "http://h:8000", "max_client_batch_size": 8}}]}))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(
            "models[0].backend.max_client_batch_size: unknown field 'max_client_batch_size'"
        ),
        "{err}"
    );
    let tei = Config::from_value(json!({"models": [{"id": "emb", "backend": {
        "kind": "tei", "endpoint": "http://h:8080", "task": "embeddings",
        "max_client_batch_size": 8, "retries": 0}}]}))
    .unwrap();
    let Some(BackendSettings::Tei(settings)) = tei.models[0].backend() else {
        panic!("{:?} is not a tei backend", tei.models[0]);
    };
    assert_eq!(settings.own.max_client_batch_size, Some(8));
    assert_eq!(settings.common.retries, Some(0));
    let err = Config::from_value(json!({"models": [{"id": "emb", "backend": {
        "kind": "tei", "endpoint": "http://h:8080", "task": "embeddings", "retries": 11,
        "api": "chat"}}]}))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("models[0].backend.api: unknown field 'api'"),
        "{err}"
    );
    assert!(
        err.contains("models[0].backend.retries: 11 is greater than"),
        "{err}"
    );
}

#[test]
fn a_modules_config_takes_only_that_modules_keys() {
    let err = Config::from_value(json!({"models": [
        {"id": "pii", "module": "pii-rules", "config": {"entities": ["EMAIL"], "path": "x"}},
        {"id": "gen", "module": "text-generation", "config": {"max_sequences": 0}}]}))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("models[0].config.path: unknown field 'path'"),
        "{err}"
    );
    assert!(
        err.contains("models[1].config.max_sequences: 0 is less than the minimum of 1"),
        "{err}"
    );
    let config = Config::from_value(json!({"models": [{"id": "ner",
        "module": "token-classifier", "config": {"path": "m", "aggregation": "max"}}]}))
    .unwrap();
    let Serving::InProcess(ModuleSettings::TokenClassifier(settings)) = &config.models[0].serving
    else {
        panic!("{:?} is not a token classifier", config.models[0]);
    };
    assert_eq!(settings.common.path.as_deref(), Some(Path::new("m")));
    assert_eq!(
        settings.own.aggregation,
        Some(taskgate_modules::local::token_classifier::aggregation::Aggregation::Max)
    );
}

#[test]
fn the_schema_has_one_closed_sub_schema_per_backend_kind_and_module() {
    let schema = schema();
    let defs = schema["$defs"].as_object().unwrap();
    for name in [
        "OpenaiBackend",
        "TgisBackend",
        "KserveV2Backend",
        "TeiBackend",
    ] {
        assert_eq!(defs[name]["additionalProperties"], false, "{name}");
    }
    for module in ModuleSettings::NAMES {
        let camel: String = module
            .split('-')
            .map(|p| p[..1].to_uppercase() + &p[1..])
            .collect();
        let def = &defs[&format!("{camel}Config")];
        assert_eq!(def["additionalProperties"], false, "{module}: {def}");
    }
    assert!(defs["TgisBackend"]["properties"].get("endpoint").is_some());
    assert!(defs["TgisBackend"]["properties"].get("normalize").is_none());
}

#[test]
fn cli_overrides_win_over_env() {
    let sources = ConfigSources {
        env: env(&[("TASKGATE_HTTP__PORT", "9000")]),
        overrides: vec![("http.port".into(), json!(0))],
        ..Default::default()
    };
    assert_eq!(Config::load(&sources).unwrap().http.port, 0);
}

#[test]
fn the_model_mesh_spi_needs_a_private_listener_and_a_capacity() {
    let doc = json!({"model_mesh": {"enabled": true, "host": "0.0.0.0"}});
    let Err(ConfigError::Invalid(errors)) = Config::from_value(doc) else {
        panic!("an exposed SPI without a capacity is refused");
    };
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["/model_mesh/host", "/model_mesh/capacity_bytes"]);
    let doc = json!({"models_memory_bytes": 1024,
        "model_mesh": {"enabled": true, "unix_socket": "/tmp/mesh.sock", "host": "0.0.0.0"}});
    assert!(Config::from_value(doc).is_ok());
}
