//! Sequence and token classification heads, on small random-weight BERT checkpoints built here
//! with the real MiniLM tokenizer: numerics (batched == unbatched) in process, tasks over HTTP.

mod common;

use std::path::{Path, PathBuf};

use common::BinaryServer;
use common::checkpoints::{self, MAX_POSITIONS};
use serde_json::json;
use taskgate_runtime::BatchForward;
use taskgate_runtime::bert::{SequenceClassifier, TokenClassifier, Truncation};

const NER_LABELS: [&str; 5] = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];

/// Writes every test model into a fresh models directory.
fn models(test: &str) -> Option<PathBuf> {
    let minilm = common::minilm_dir(test)?;
    let tokenizer = minilm.join("tokenizer.json");
    let root = std::env::temp_dir().join(format!("taskgate-heads-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let seq = "BertForSequenceClassification";
    checkpoints::write(
        &root.join("sentiment"),
        &tokenizer,
        seq,
        &["negative", "neutral", "positive"],
        false,
    );
    checkpoints::write(
        &root.join("topics"),
        &tokenizer,
        seq,
        &["sports", "politics", "tech"],
        true,
    );
    checkpoints::write(&root.join("cross"), &tokenizer, seq, &["relevance"], false);
    let tok = "BertForTokenClassification";
    checkpoints::write(&root.join("ner"), &tokenizer, tok, &NER_LABELS, false);
    checkpoints::write(
        &root.join("ner-tokens"),
        &tokenizer,
        tok,
        &NER_LABELS,
        false,
    );
    std::fs::write(
        root.join("ner-tokens/taskgate.yaml"),
        "module: token-classifier\nconfig:\n  aggregation: none\n",
    )
    .unwrap();
    Some(root)
}

fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    let diff = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(
        diff < 1e-5,
        "{what}: batched and unbatched differ by {diff}"
    );
}

#[test]
fn batched_equals_unbatched_for_both_heads() {
    let Some(root) = models("batched_equals_unbatched_for_both_heads") else {
        return;
    };
    let (mut classifier, info) = SequenceClassifier::load(&root.join("sentiment")).unwrap();
    let short = info
        .tokenizer
        .encode("Great product, works well.", Truncation::Reject)
        .unwrap()
        .sequence();
    let long = info
        .tokenizer
        .encode("A much longer review that goes on and on about delivery, packaging, price and support.", Truncation::Reject)
        .unwrap()
        .sequence();
    let alone = classifier.forward(&[&short]).unwrap();
    let batched = classifier.forward(&[&long, &short]).unwrap();
    assert_close(&alone[0], &batched[1], "sequence classification");

    let (mut tagger, info) = TokenClassifier::load(&root.join("ner")).unwrap();
    let short = info
        .tokenizer
        .encode("Anna lives in Paris", Truncation::Reject)
        .unwrap()
        .sequence();
    let alone = tagger.forward(&[&short]).unwrap();
    let batched = tagger.forward(&[&short, &long]).unwrap();
    assert_eq!(
        alone[0].len(),
        short.len(),
        "one logit row per token, padding dropped"
    );
    for (row_alone, row_batched) in alone[0].iter().zip(&batched[0]) {
        assert_close(row_alone, row_batched, "token classification");
    }
    std::fs::remove_dir_all(root).unwrap();
}

fn serve(root: &Path) -> BinaryServer {
    BinaryServer::start(&["--models-dir", root.to_str().unwrap()], &[])
}

#[tokio::test]
async fn text_classification_over_http() {
    let Some(root) = models("text_classification_over_http") else {
        return;
    };
    let server = serve(&root);
    let (status, body) = server
        .call(
            "text-classification",
            json!({"model_id": "sentiment", "inputs": "I love it"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    let mut labels: Vec<&str> = results
        .iter()
        .map(|r| r["label"].as_str().unwrap())
        .collect();
    let scores: Vec<f64> = results
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "highest score first: {scores:?}"
    );
    assert!(
        (scores.iter().sum::<f64>() - 1.0).abs() < 1e-5,
        "softmax sums to 1: {scores:?}"
    );
    labels.sort();
    assert_eq!(labels, ["negative", "neutral", "positive"]);

    let (status, body) = server
        .call(
            "text-classification",
            json!({"model_id": "topics", "inputs": "Election results"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let scores: Vec<f64> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    assert_eq!(scores.len(), 3);
    assert!(
        scores.iter().all(|s| *s > 0.0 && *s < 1.0),
        "independent sigmoids: {scores:?}"
    );

    let long = "word ".repeat(200);
    let (status, body) = server
        .call(
            "text-classification",
            json!({"model_id": "sentiment", "inputs": long}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["details"]
            .as_str()
            .unwrap()
            .contains(&format!("limit of {MAX_POSITIONS}")),
        "{body}"
    );
    let (status, body) = server
        .call(
            "text-classification",
            json!({"model_id": "sentiment", "inputs": long,
        "parameters": {"truncate_input_tokens": 20}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let (_, _, info) = common::read(
        common::client()
            .get(server.url("/info/models?model_ids=sentiment"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(info["models"][0]["module"], "text-classifier");
    assert_eq!(info["models"][0]["tasks"], json!(["text-classification"]));
    std::fs::remove_dir_all(root).unwrap();
}

#[tokio::test]
async fn cross_encoder_reranks_pairs() {
    let Some(root) = models("cross_encoder_reranks_pairs") else {
        return;
    };
    let server = serve(&root);
    let docs = json!([{"text": "Paris is the capital of France."}, {"text": "Bananas are yellow."}, {"text": "It rains."}]);
    let (status, body) = server
        .call(
            "rerank",
            json!({"model_id": "cross",
        "inputs": {"query": "capital of France", "documents": docs}, "parameters": {"top_n": 2}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let scores = body["result"]["scores"].as_array().unwrap();
    assert_eq!(scores.len(), 2);
    let values: Vec<f64> = scores
        .iter()
        .map(|s| s["score"].as_f64().unwrap())
        .collect();
    assert!(
        values[0] >= values[1] && values.iter().all(|v| *v > 0.0 && *v < 1.0),
        "{values:?}"
    );
    let (status, body) = server
        .call(
            "rerank-tasks",
            json!({"model_id": "cross",
        "inputs": {"queries": ["a", "b"], "documents": docs}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"].as_array().unwrap().len(), 2);
    assert_eq!(body["results"][0]["scores"].as_array().unwrap().len(), 3);
    let (status, body) = server
        .call(
            "rerank",
            json!({"model_id": "sentiment",
        "inputs": {"query": "q", "documents": docs}}),
        )
        .await;
    assert_eq!(
        status, 400,
        "a three-label classifier is not a cross-encoder: {body}"
    );
    std::fs::remove_dir_all(root).unwrap();
}

#[tokio::test]
async fn token_classification_spans_index_the_input() {
    let Some(root) = models("token_classification_spans_index_the_input") else {
        return;
    };
    let server = serve(&root);
    let text = "Zoë Müller-Lüdenscheidt flew from Zürich to São Paulo 🛫 yesterday";
    let chars: Vec<char> = text.chars().collect();
    for (model, grouped) in [("ner", true), ("ner-tokens", false)] {
        let (status, body) = server
            .call(
                "token-classification",
                json!({"model_id": model, "inputs": text}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let spans = body["results"].as_array().unwrap();
        assert!(
            !spans.is_empty(),
            "random weights tag some tokens as entities: {body}"
        );
        for span in spans {
            let (start, end) = (
                span["start"].as_u64().unwrap() as usize,
                span["end"].as_u64().unwrap() as usize,
            );
            let slice: String = chars[start..end].iter().collect();
            assert_eq!(slice, span["word"].as_str().unwrap(), "{model}: {span}");
            let entity = span["entity"].as_str().unwrap();
            if grouped {
                assert!(["PER", "LOC"].contains(&entity), "{entity}");
                assert_eq!(span["entity_group"], entity);
            } else {
                assert!(NER_LABELS[1..].contains(&entity), "{entity}");
                assert!(span.get("entity_group").is_none());
            }
        }
        let (status, body) = server
            .call(
                "token-classification",
                json!({"model_id": model, "inputs": text,
            "parameters": {"threshold": 1.0}}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(
            body["results"].as_array().unwrap().is_empty(),
            "no random-weight span scores 1.0"
        );
    }
    std::fs::remove_dir_all(root).unwrap();
}
