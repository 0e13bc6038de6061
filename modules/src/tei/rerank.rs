//! `rerank` and `rerank-tasks` with the cross-encoder scores of `/rerank`, one call per query.

use taskgate_runtime::remote::Forwarded;
use taskgate_runtime::remote::tei::TeiClient;
use taskgate_schemas::{RerankResult, RerankResults};

use super::{Tei, check_texts, producer, truncate};
use crate::rerank::{RerankOptions, document_texts, rank, rank_each};
use crate::tasks::{Rerank, RerankTasks};
use crate::{Predict, TaskError, TaskFuture, TaskInput};

/// The documents' texts, checked: at least one, within the batch limit, none empty.
fn documents(
    tei: &Tei,
    documents: &[taskgate_schemas::JsonDict],
) -> Result<Vec<String>, TaskError> {
    tei.check_list("/inputs/documents", documents.len())?;
    let texts = document_texts(documents)?;
    let paths = (0..texts.len()).map(|i| format!("/inputs/documents/{i}/text"));
    check_texts(texts.iter().zip(paths))?;
    Ok(texts)
}

/// Each query's scores for the texts, and the tokens TEI counted over all calls.
async fn scores(
    client: &TeiClient,
    queries: &[(&String, String)],
    texts: &[String],
    truncate: bool,
    forwarded: &Forwarded,
) -> Result<(Vec<Vec<f32>>, u64), TaskError> {
    check_texts(queries.iter().map(|(q, path)| (*q, path.clone())))?;
    let mut all = Vec::with_capacity(queries.len());
    let mut tokens = 0;
    for (query, _) in queries {
        let answer = client.rerank(query, texts, truncate, forwarded).await?;
        all.push(answer.value);
        tokens += answer.tokens;
    }
    Ok((all, tokens))
}

impl Predict<Rerank> for Tei {
    fn predict(&self, input: TaskInput<Rerank>) -> TaskFuture<RerankResult> {
        let this = self.clone();
        Box::pin(async move {
            let (inputs, p) = (&input.inputs, &input.parameters);
            let truncate = truncate(p.truncate_input_tokens)?;
            let texts = documents(&this, &inputs.documents)?;
            let client = this.clients.pick(&input)?;
            let query = [(&inputs.query, "/inputs/query".to_string())];
            let (scores, tokens) =
                scores(&client, &query, &texts, truncate, &input.forwarded()).await?;
            Ok(RerankResult {
                result: rank(
                    &inputs.query,
                    &inputs.documents,
                    &texts,
                    &scores[0],
                    RerankOptions::for_rerank(p),
                ),
                producer_id: Some(producer()),
                input_token_count: tokens,
            })
        })
    }
}

impl Predict<RerankTasks> for Tei {
    fn predict(&self, input: TaskInput<RerankTasks>) -> TaskFuture<RerankResults> {
        let this = self.clone();
        Box::pin(async move {
            let (inputs, p) = (&input.inputs, &input.parameters);
            let truncate = truncate(p.truncate_input_tokens)?;
            this.check_list("/inputs/queries", inputs.queries.len())?;
            let texts = documents(&this, &inputs.documents)?;
            let client = this.clients.pick(&input)?;
            let queries: Vec<(&String, String)> = inputs
                .queries
                .iter()
                .enumerate()
                .map(|(i, q)| (q, format!("/inputs/queries/{i}")))
                .collect();
            let (scores, tokens) =
                scores(&client, &queries, &texts, truncate, &input.forwarded()).await?;
            let options = RerankOptions::for_rerank_tasks(p);
            Ok(RerankResults {
                results: rank_each(&inputs.queries, &inputs.documents, &texts, &scores, options),
                producer_id: Some(producer()),
                input_token_count: tokens,
            })
        })
    }
}
