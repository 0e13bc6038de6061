//! Checks of the tasks a `kserve-v2` model serves against the MLServer models' own
//! definitions (tests/common/mlserver.rs), over taskgate's REST API, and of taskgate's gRPC
//! API against its REST answers.

use serde_json::{Value, json};
use taskgate_gateway::grpc::pb::caikit::runtime::nlp as rpc;

use super::BinaryServer;
use super::grpc::{assert_same, for_model, nlp, to_json};
use super::mlserver::{cosine, hash_embedding};

pub const LABELS: [&str; 3] = ["negative", "neutral", "positive"];
pub const TEXTS: [&str; 2] = ["first text", "zweiter Text, größer"];
const DOCS: [&str; 3] = [
    "Paris is in France.",
    "Bananas are yellow.",
    "KServe serves models",
];

pub fn assert_close(actual: &Value, expected: &[f64], what: &str) {
    let actual: Vec<f64> = actual
        .as_array()
        .unwrap_or_else(|| panic!("{what}: not a list: {actual}"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(actual.len(), expected.len(), "{what}: {actual:?}");
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() < 1e-5, "{what}: {actual:?} vs {expected:?}");
    }
}

/// The documents of `query` by descending cosine: (index, score).
fn ranked(query: &str, documents: &[&str]) -> Vec<(u64, f64)> {
    let q = hash_embedding(query);
    let mut scores: Vec<(u64, f64)> = documents
        .iter()
        .enumerate()
        .map(|(i, d)| (i as u64, cosine(&q, &hash_embedding(d))))
        .collect();
    scores.sort_by(|a, b| b.1.total_cmp(&a.1));
    scores
}

fn assert_ranked(scores: &Value, expected: &[(u64, f64)], what: &str) {
    let scores = scores.as_array().unwrap();
    assert_eq!(scores.len(), expected.len(), "{what}: {scores:?}");
    for (score, (index, value)) in scores.iter().zip(expected) {
        assert_eq!(score["index"], *index, "{what}: {scores:?}");
        assert!(
            (score["score"].as_f64().unwrap() - value).abs() < 1e-5,
            "{what}"
        );
    }
}

/// Every embedding task of `model` over REST, checked against the hash embedding, then over
/// gRPC, checked against REST.
pub async fn embedding_family(server: &BinaryServer, model: &str) {
    let call = |task: &'static str, body: Value| {
        let mut body = body;
        body["model_id"] = json!(model);
        async move { (task, body.clone(), server.call_ok(task, body).await) }
    };
    let mut rest = Vec::new();
    let (t, b, r) = call("embedding", json!({"inputs": TEXTS[1]})).await;
    assert_close(
        &r["result"]["data"]["values"],
        &hash_embedding(TEXTS[1]),
        model,
    );
    assert_eq!(r["producer_id"]["name"], "kserve-v2");
    rest.push((t, b, r));
    let (t, b, r) = call("embedding-tasks", json!({"inputs": TEXTS})).await;
    for (i, text) in TEXTS.iter().enumerate() {
        let vector = &r["results"]["vectors"][i]["data"]["values"];
        assert_close(vector, &hash_embedding(text), model);
    }
    rest.push((t, b, r));
    let similarity = |source: &str| {
        let s = hash_embedding(source);
        DOCS.map(|d| cosine(&s, &hash_embedding(d)))
    };
    let body = json!({"inputs": {"source_sentence": TEXTS[0], "sentences": DOCS}});
    let (t, b, r) = call("sentence-similarity", body).await;
    assert_close(&r["result"]["scores"], &similarity(TEXTS[0]), model);
    rest.push((t, b, r));
    let body = json!({"inputs": {"source_sentences": TEXTS, "sentences": DOCS}});
    let (t, b, r) = call("sentence-similarity-tasks", body).await;
    for (i, source) in TEXTS.iter().enumerate() {
        assert_close(&r["results"][i]["scores"], &similarity(source), model);
    }
    rest.push((t, b, r));
    let documents: Vec<Value> = DOCS
        .iter()
        .enumerate()
        .map(|(i, d)| json!({"text": d, "id": i}))
        .collect();
    let body = json!({"inputs": {"query": "models in France", "documents": documents},
        "parameters": {"top_n": 2}});
    let (t, b, r) = call("rerank", body).await;
    let expected = ranked("models in France", &DOCS);
    assert_ranked(&r["result"]["scores"], &expected[..2], model);
    rest.push((t, b, r));
    let body = json!({"inputs": {"queries": TEXTS, "documents": documents}});
    let (t, b, r) = call("rerank-tasks", body).await;
    for (i, query) in TEXTS.iter().enumerate() {
        assert_ranked(&r["results"][i]["scores"], &ranked(query, &DOCS), model);
    }
    rest.push((t, b, r));
    same_over_grpc(server, model, &rest).await;
}

/// The gRPC NlpService answers each REST call the same.
async fn same_over_grpc(server: &BinaryServer, model: &str, calls: &[(&str, Value, Value)]) {
    let mut client = nlp(server).await;
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let documents = |v: &Value| -> Vec<prost_types::Struct> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| {
                taskgate_gateway::grpc::convert::json_to_struct(d.as_object().unwrap().clone())
            })
            .collect()
    };
    // `$method` called for `model`, its answer as JSON of proto type `$message`.
    macro_rules! call {
        ($method:ident($request:expr) as $message:literal) => {
            to_json(
                &client
                    .$method(for_model(model, $request))
                    .await
                    .unwrap()
                    .into_inner(),
                $message,
            )
        };
    }
    for (task, body, rest) in calls {
        let inputs = &body["inputs"];
        let text = || inputs.as_str().unwrap().to_string();
        let grpc = match *task {
            "embedding" => call!(embedding_task_predict(rpc::EmbeddingTaskRequest {
                text: text(),
                truncate_input_tokens: None,
            }) as "caikit_data_model.caikit_nlp.EmbeddingResult"),
            "embedding-tasks" => call!(embedding_tasks_predict(rpc::EmbeddingTasksRequest {
                texts: strings(inputs),
                truncate_input_tokens: None,
            }) as "caikit_data_model.caikit_nlp.EmbeddingResults"),
            "sentence-similarity" => call!(sentence_similarity_task_predict(
                rpc::SentenceSimilarityTaskRequest {
                    source_sentence: inputs["source_sentence"].as_str().unwrap().into(),
                    sentences: strings(&inputs["sentences"]),
                    truncate_input_tokens: None,
                }
            ) as "caikit_data_model.caikit_nlp.SentenceSimilarityResult"),
            "sentence-similarity-tasks" => call!(sentence_similarity_tasks_predict(
                rpc::SentenceSimilarityTasksRequest {
                    source_sentences: strings(&inputs["source_sentences"]),
                    sentences: strings(&inputs["sentences"]),
                    truncate_input_tokens: None,
                }
            ) as "caikit_data_model.caikit_nlp.SentenceSimilarityResults"),
            "rerank" => call!(rerank_task_predict(rpc::RerankTaskRequest {
                query: inputs["query"].as_str().unwrap().into(),
                documents: documents(&inputs["documents"]),
                top_n: Some(2),
                ..Default::default()
            }) as "caikit_data_model.caikit_nlp.RerankResult"),
            "rerank-tasks" => call!(rerank_tasks_predict(rpc::RerankTasksRequest {
                queries: strings(&inputs["queries"]),
                documents: documents(&inputs["documents"]),
                ..Default::default()
            }) as "caikit_data_model.caikit_nlp.RerankResults"),
            "text-classification" => call!(text_classification_task_predict(
                rpc::TextClassificationTaskRequest {
                    text: text(),
                    truncate_input_tokens: None,
                }
            ) as "caikit_data_model.nlp.ClassificationResults"),
            other => panic!("no gRPC call for {other}"),
        };
        assert_same(rest, &grpc, &format!("{model} {task}"));
    }
}

/// Text classification on `model`: the labels with the scores `expected` gives, best first.
pub async fn classification(server: &BinaryServer, model: &str, expected: fn(&str) -> [f64; 3]) {
    let mut calls = Vec::new();
    for text in ["I love it, great!", "This is bad.", "nothing to see"] {
        let body = json!({"model_id": model, "inputs": text});
        let answer = server.call_ok("text-classification", body.clone()).await;
        let mut want: Vec<(&str, f64)> = LABELS.into_iter().zip(expected(text)).collect();
        want.sort_by(|a, b| b.1.total_cmp(&a.1));
        let results = answer["results"].as_array().unwrap();
        let got: Vec<&str> = results
            .iter()
            .map(|r| r["label"].as_str().unwrap())
            .collect();
        assert_eq!(
            got,
            want.iter().map(|w| w.0).collect::<Vec<_>>(),
            "{model}: {text}"
        );
        let scores: Vec<f64> = want.iter().map(|w| w.1).collect();
        let got_scores = json!(results.iter().map(|r| &r["score"]).collect::<Vec<_>>());
        assert_close(&got_scores, &scores, model);
        calls.push(("text-classification", body, answer));
    }
    same_over_grpc(server, model, &calls).await;
}
