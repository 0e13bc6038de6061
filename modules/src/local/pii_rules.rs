//! The `pii-rules` module: rules-based PII extraction for the token-classification task.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use taskgate_runtime::offload;
use taskgate_schemas::{ProducerId, TokenClassificationResult, TokenClassificationResults};

use crate::framework::settings::struct_settings;
use crate::framework::tasks::TokenClassification;
use crate::local::pii::{PiiDetector, PiiEntity};
use crate::{Model, ModelSpec, ModuleError, Predict, TaskFuture, TaskInput};

pub const MODULE_NAME: &str = "pii-rules";

/// `config:` of a `pii-rules` model.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PiiRulesSettings {
    /// The entity types to find (default: every type): EMAIL, PHONE, URL, IP_ADDRESS,
    /// CREDIT_CARD, IBAN.
    #[serde(default)]
    #[schema(min_items = 1, example = json!(["EMAIL", "CREDIT_CARD"]))]
    pub entities: Option<Vec<String>>,
}

struct_settings!(PiiRulesSettings);

pub struct PiiRulesFactory;

impl PiiRulesFactory {
    pub fn build(spec: &ModelSpec, settings: &PiiRulesSettings) -> Result<Model, ModuleError> {
        let detector = PiiDetector::new(entities(spec, settings)?);
        let entities: Vec<Value> = detector
            .entities()
            .iter()
            .map(|e| Value::from(e.name()))
            .collect();
        let module = Arc::new(PiiRules { detector });
        let mut builder = Model::builder(&spec.id, MODULE_NAME, "rules")
            .max_concurrent_requests(spec.max_concurrent_requests)
            .metadata("entities", Value::Array(entities))
            .serve::<TokenClassification>(module);
        if let Some(path) = &spec.path {
            builder = builder.path(path.clone());
        }
        Ok(builder.build())
    }
}

/// The configured entity types; absent means every type.
fn entities(spec: &ModelSpec, settings: &PiiRulesSettings) -> Result<Vec<PiiEntity>, ModuleError> {
    let Some(names) = &settings.entities else {
        return Ok(PiiEntity::ALL.to_vec());
    };
    if names.is_empty() {
        return Err(spec.config_error("entities", "must name at least one entity type"));
    }
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            name.parse()
                .map_err(|reason: String| spec.config_error(&format!("entities[{i}]"), reason))
        })
        .collect()
}

struct PiiRules {
    detector: PiiDetector,
}

impl Predict<TokenClassification> for PiiRules {
    fn predict(
        &self,
        input: TaskInput<TokenClassification>,
    ) -> TaskFuture<TokenClassificationResults> {
        let detector = self.detector.clone();
        let threshold = input.parameters.threshold.unwrap_or(0.0);
        Box::pin(async move {
            // Regex scanning of a multi-megabyte body is CPU work: keep it off the async threads.
            let spans = offload("detect", move || detector.detect(&input.inputs)).await?;
            let results = spans
                .into_iter()
                .map(|span| TokenClassificationResult {
                    start: span.start as u64,
                    end: span.end as u64,
                    word: span.word,
                    entity: span.entity.name().to_string(),
                    entity_group: Some(span.entity.name().to_string()),
                    score: 1.0,
                    token_count: None,
                })
                .filter(|r| r.score >= threshold)
                .collect();
            Ok(TokenClassificationResults {
                results,
                producer_id: Some(ProducerId::new(MODULE_NAME, env!("CARGO_PKG_VERSION"))),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn build(config: Value) -> Result<Model, ModuleError> {
        crate::ModuleCatalog::standard().build(&ModelSpec::parse("pii", MODULE_NAME, config)?)
    }

    #[test]
    fn config_errors_name_the_key() {
        let err = build(json!({"entities": ["EMAIL", "SSN"]})).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("model 'pii': config key 'config.entities[1]':"),
            "{text}"
        );
        assert!(text.contains("SSN"), "{text}");
        let err = build(json!({"entitys": []})).unwrap_err();
        assert!(
            err.to_string().contains("'config.entitys': unknown key"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn serves_token_classification_with_the_configured_entities() {
        let model = build(json!({"entities": ["PHONE"]})).unwrap();
        assert_eq!(model.tasks(), ["token-classification"]);
        let handler = model.unary::<TokenClassification>().unwrap();
        let out = handler
            .predict(TaskInput {
                inputs: "Mail ana@example.com or call +1 415 555 0100".into(),
                parameters: Default::default(),
                request_id: "t".into(),
                trace: Default::default(),
                route_info: None,
            })
            .await
            .unwrap();
        assert_eq!(out.results.len(), 1);
        assert_eq!(out.results[0].entity, "PHONE");
        assert_eq!((out.results[0].start, out.results[0].end), (29, 44));
    }
}
