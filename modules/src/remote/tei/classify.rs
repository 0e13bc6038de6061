//! `text-classification` through `/predict`.

use taskgate_schemas::{ClassificationResult, ClassificationResults};

use super::{Tei, check_texts, producer, truncate};
use crate::framework::tasks::TextClassification;
use crate::{Predict, TaskFuture, TaskInput};

impl Predict<TextClassification> for Tei {
    fn predict(&self, input: TaskInput<TextClassification>) -> TaskFuture<ClassificationResults> {
        let this = self.clone();
        Box::pin(async move {
            let truncate = truncate(input.parameters.truncate_input_tokens.map(i64::from))?;
            check_texts([(&input.inputs, "/inputs".to_string())])?;
            let client = this.clients.pick(&input)?;
            let texts = std::slice::from_ref(&input.inputs);
            let answer = client.predict(texts, truncate, &input.forwarded()).await?;
            let mut results: Vec<ClassificationResult> = answer
                .value
                .into_iter()
                .flatten()
                .map(|p| ClassificationResult {
                    label: p.label,
                    score: f64::from(p.score),
                })
                .collect();
            // Best first, as the in-process classifier answers, whatever order TEI used.
            results.sort_by(|a, b| b.score.total_cmp(&a.score));
            Ok(ClassificationResults {
                results,
                producer_id: Some(producer()),
            })
        })
    }
}
