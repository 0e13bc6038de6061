//! The `tei` module against a TEI stand-in built from TEI's OpenAPI document, one per kind of
//! model TEI runs: every task each kind serves, over REST and gRPC, answers what the fake's
//! rules give (recomputed here); parameters reach TEI as its flags, and Caikit truncation TEI
//! cannot honour is refused by name, with TEI's own validation errors as 400. (Faults:
//! `tei_faults.rs`.)

mod common;

use common::grpc::{nlp, same_answer};
use common::tei_fake::{TeiSetup, serve_tei};
use common::tei_rules::{self as rules, assert_close, cosine, floats, normalized, tokens};
use serde_json::{Value, json};
use taskgate_gateway::grpc::pb::caikit::runtime::nlp as rpc;

fn structs(documents: &Value) -> Vec<prost_types::Struct> {
    let items = documents.as_array().unwrap().iter();
    items
        .map(|d| taskgate_gateway::grpc::convert::json_to_struct(d.as_object().unwrap().clone()))
        .collect()
}

const TEXT: &str = "Grüße aus Köln, café ☕ time";

#[tokio::test]
async fn every_task_answers_by_the_fakes_rules_over_rest_and_grpc() {
    let TeiSetup {
        server,
        running: _running,
        ..
    } = serve_tei("tasks").await;
    let mut client = nlp(&server).await;
    let (rest, _) = same_answer!(server, client, "embed",
        embedding_task_predict(rpc::EmbeddingTaskRequest { text: TEXT.into(),
            truncate_input_tokens: None }) as "caikit_data_model.caikit_nlp.EmbeddingResult",
        "embedding" {"inputs": TEXT});
    assert_close(
        &floats(&rest["result"]["data"]["values"]),
        &normalized(TEXT),
        "embedding",
    );
    assert_eq!(rest["input_token_count"], tokens(&[TEXT]));
    assert_eq!(rest["producer_id"]["name"], "tei");

    let texts = ["a dog runs", "ein Hund läuft"];
    let (rest, _) = same_answer!(server, client, "embed",
        embedding_tasks_predict(rpc::EmbeddingTasksRequest { texts: texts.map(String::from).to_vec(),
            truncate_input_tokens: None }) as "caikit_data_model.caikit_nlp.EmbeddingResults",
        "embedding-tasks" {"inputs": texts});
    for (i, text) in texts.iter().enumerate() {
        let got = floats(&rest["results"]["vectors"][i]["data"]["values"]);
        assert_close(&got, &normalized(text), text);
    }
    assert_eq!(rest["input_token_count"], tokens(&texts));

    let (source, sentences) = ("the cat sat", ["the cat sat down", "stocks fell sharply"]);
    let (rest, _) = same_answer!(server, client, "embed",
        sentence_similarity_task_predict(rpc::SentenceSimilarityTaskRequest {
            source_sentence: source.into(), sentences: sentences.map(String::from).to_vec(),
            truncate_input_tokens: None }) as "caikit_data_model.caikit_nlp.SentenceSimilarityResult",
        "sentence-similarity" {"inputs": {"source_sentence": source, "sentences": sentences}});
    let want: Vec<f32> = sentences
        .iter()
        .map(|s| cosine(&normalized(source), &normalized(s)))
        .collect();
    assert_close(&floats(&rest["result"]["scores"]), &want, "similarity");
    let (rest, _) = same_answer!(server, client, "embed",
        sentence_similarity_tasks_predict(rpc::SentenceSimilarityTasksRequest {
            source_sentences: vec![source.into(), TEXT.into()],
            sentences: sentences.map(String::from).to_vec(), truncate_input_tokens: None })
            as "caikit_data_model.caikit_nlp.SentenceSimilarityResults",
        "sentence-similarity-tasks" {"inputs": {"source_sentences": [source, TEXT],
            "sentences": sentences}});
    assert_close(
        &floats(&rest["results"][0]["scores"]),
        &want,
        "similarity-tasks",
    );

    let documents = json!([{"text": "cats sit on mats", "id": 1}, {"text": "the cat sat", "id": 2},
        {"text": "bonds rose"}]);
    let (rest, _) = same_answer!(server, client, "embed",
        rerank_task_predict(rpc::RerankTaskRequest { query: source.into(),
            documents: structs(&documents), ..Default::default() })
            as "caikit_data_model.caikit_nlp.RerankResult",
        "rerank" {"inputs": {"query": source, "documents": documents}});
    assert_eq!(rest["result"]["scores"][0]["document"], documents[1]);
    same_answer!(server, client, "embed",
        rerank_tasks_predict(rpc::RerankTasksRequest { queries: vec![source.into()],
            documents: structs(&documents), ..Default::default() })
            as "caikit_data_model.caikit_nlp.RerankResults",
        "rerank-tasks" {"inputs": {"queries": [source], "documents": documents}});

    // Cross-encoder scores from `/rerank`, best first, documents kept whole.
    let query = "where do cats sit";
    let (rest, _) = same_answer!(server, client, "rerank",
        rerank_task_predict(rpc::RerankTaskRequest { query: query.into(),
            documents: structs(&documents), top_n: Some(2), ..Default::default() })
            as "caikit_data_model.caikit_nlp.RerankResult",
        "rerank" {"inputs": {"query": query, "documents": documents}, "parameters": {"top_n": 2}});
    let mut want: Vec<(usize, f32)> = (0..3)
        .map(|i| {
            (
                i,
                rules::sigmoid(rules::rerank_logit(
                    query,
                    documents[i]["text"].as_str().unwrap(),
                )),
            )
        })
        .collect();
    want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let scores = rest["result"]["scores"].as_array().unwrap();
    assert_eq!(scores.len(), 2);
    for (score, (index, value)) in scores.iter().zip(&want) {
        assert_eq!(score["index"], *index as u64, "{rest}");
        assert!(
            (score["score"].as_f64().unwrap() as f32 - value).abs() < 1e-6,
            "{rest}"
        );
        assert_eq!(score["document"], documents[*index]);
    }
    assert_eq!(rest["result"]["query"], query);
    let texts: Vec<&str> = (0..3)
        .map(|i| documents[i]["text"].as_str().unwrap())
        .collect();
    let pair_tokens: usize = texts
        .iter()
        .map(|t| rules::words(query).len() + rules::words(t).len() + 3)
        .sum();
    assert_eq!(rest["input_token_count"], pair_tokens);
    let (rest, _) = same_answer!(server, client, "rerank",
        rerank_tasks_predict(rpc::RerankTasksRequest { queries: vec![query.into(), "bonds".into()],
            documents: structs(&documents), return_documents: Some(false), ..Default::default() })
            as "caikit_data_model.caikit_nlp.RerankResults",
        "rerank-tasks" {"inputs": {"queries": [query, "bonds"], "documents": documents},
            "parameters": {"return_documents": false}});
    assert_eq!(rest["results"][1]["scores"][0]["index"], 2, "{rest}");
    assert!(rest["results"][1]["scores"][0].get("document").is_none());

    // Classes by score, whatever order TEI used.
    let text = "I love this, great stuff, not bad";
    let (rest, _) = same_answer!(server, client, "classify",
        text_classification_task_predict(rpc::TextClassificationTaskRequest { text: text.into(),
            truncate_input_tokens: None }) as "caikit_data_model.nlp.ClassificationResults",
        "text-classification" {"inputs": text});
    let probabilities = rules::softmax(&rules::class_logits(text));
    let mut want: Vec<(&str, f32)> = rules::LABELS.into_iter().zip(probabilities).collect();
    want.sort_by(|a, b| b.1.total_cmp(&a.1));
    let results = rest["results"].as_array().unwrap();
    let got: Vec<&str> = results
        .iter()
        .map(|r| r["label"].as_str().unwrap())
        .collect();
    assert_eq!(got, want.iter().map(|w| w.0).collect::<Vec<_>>(), "{rest}");
    let scores: Vec<f32> = results
        .iter()
        .map(|r| r["score"].as_f64().unwrap() as f32)
        .collect();
    assert_close(
        &scores,
        &want.iter().map(|w| w.1).collect::<Vec<_>>(),
        "classes",
    );

    // Tokens in code points, special tokens counted but not listed; every kind tokenizes.
    for model in ["embed", "classify", "rerank"] {
        let (rest, _) = same_answer!(server, client, model,
            tokenization_task_predict(rpc::TokenizationTaskRequest { text: TEXT.into() })
                as "caikit_data_model.nlp.TokenizationResults",
            "tokenization" {"inputs": TEXT});
        let chars: Vec<char> = TEXT.chars().collect();
        let mut want = Vec::new();
        for (start, stop) in rules::word_spans(TEXT) {
            let (start, end) = (TEXT[..start].chars().count(), TEXT[..stop].chars().count());
            let text: String = chars[start..end].iter().collect();
            want.push(json!({"start": start, "end": end, "text": text}));
        }
        assert_eq!(rest["results"], json!(want), "{model}");
        assert_eq!(rest["token_count"], tokens(&[TEXT]), "{model}");
    }
}

/// `n` distinct words.
fn long_text(n: usize) -> String {
    (0..n)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn parameters_reach_tei_and_truncation_tei_cannot_do_is_refused_by_name() {
    let TeiSetup {
        embedder,
        classifier,
        reranker,
        server,
        running: _running,
    } = serve_tei("parameters").await;
    server
        .call_ok(
            "embedding-tasks",
            json!({"model_id": "embed", "inputs": ["a b"]}),
        )
        .await;
    assert_eq!(
        embedder.last("/embed").body,
        json!({"inputs": ["a b"], "normalize": true, "truncate": false})
    );
    let answer = server
        .call_ok(
            "embedding",
            json!({"model_id": "embed-wide", "inputs": "a b"}),
        )
        .await;
    assert_eq!(embedder.last("/embed").body["normalize"], false);
    let raw = rules::embedding(&["a", "b"]);
    assert_close(
        &floats(&answer["result"]["data"]["values"]),
        &raw,
        "unnormalized",
    );

    // Too long for the model: TEI's own message unless truncation to its limit was asked for.
    let long = long_text(rules::MAX_INPUT_LENGTH + 4);
    let (status, error) = server
        .call("embedding", json!({"model_id": "embed", "inputs": long}))
        .await;
    assert_eq!(status, 400, "{error}");
    let details = error["details"].as_str().unwrap();
    assert!(
        details.contains("must have less than 16 tokens. Given: 22"),
        "{details}"
    );
    assert!(details.contains("TEI at http://127.0.0.1:"), "{details}");
    let answer = server
        .call_ok(
            "embedding",
            json!({"model_id": "embed", "inputs": long,
        "parameters": {"truncate_input_tokens": -1}}),
        )
        .await;
    assert_eq!(embedder.last("/embed").body["truncate"], true);
    let kept = rules::kept(&rules::words(&long), 2, true).unwrap();
    let want = normalized(&kept.join(" "));
    assert_close(
        &floats(&answer["result"]["data"]["values"]),
        &want,
        "truncated",
    );
    assert_eq!(answer["input_token_count"], rules::MAX_INPUT_LENGTH);

    // A token count TEI cannot keep is refused before any call.
    let calls = embedder.count() + classifier.count() + reranker.count();
    for (task, model, inputs) in [
        ("embedding", "embed", json!("a b")),
        ("text-classification", "classify", json!("a b")),
        (
            "rerank",
            "rerank",
            json!({"query": "q", "documents": [{"text": "d"}]}),
        ),
    ] {
        let body = json!({"model_id": model, "inputs": inputs,
            "parameters": {"truncate_input_tokens": 3}});
        let (status, error) = server.call(task, body).await;
        assert_eq!(status, 400, "{task}: {error}");
        assert!(
            error
                .to_string()
                .contains("/parameters/truncate_input_tokens"),
            "{error}"
        );
    }
    // Lists over the configured batch size, and empty texts, are refused by field.
    let (status, error) = server
        .call(
            "embedding-tasks",
            json!({"model_id": "embed", "inputs": ["a", "b", "c", "d", "e"]}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        error
            .to_string()
            .contains("more than max_client_batch_size (4)"),
        "{error}"
    );
    assert!(error.to_string().contains("/inputs"), "{error}");
    let (status, error) = server
        .call(
            "rerank-tasks",
            json!({"model_id": "rerank",
        "inputs": {"queries": ["q", ""], "documents": [{"text": "d"}]}}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(error.to_string().contains("/inputs/queries/1"), "{error}");
    assert_eq!(
        embedder.count() + classifier.count() + reranker.count(),
        calls
    );
    // More than TEI takes in one call: its 413 comes back as 400 with its message.
    let many: Vec<String> = (0..rules::MAX_CLIENT_BATCH_SIZE + 1)
        .map(|i| format!("t{i}"))
        .collect();
    let (status, error) = server
        .call(
            "embedding-tasks",
            json!({"model_id": "embed-wide", "inputs": many}),
        )
        .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["details"]
            .as_str()
            .unwrap()
            .contains("maximum allowed batch size 32"),
        "{error}"
    );

    server
        .call_ok(
            "text-classification",
            json!({"model_id": "classify", "inputs": "good"}),
        )
        .await;
    assert_eq!(
        classifier.last("/predict").body,
        json!({"inputs": [["good"]], "raw_scores": false, "truncate": false})
    );
    server
        .call_ok(
            "rerank",
            json!({"model_id": "rerank", "inputs": {"query": "q",
        "documents": [{"text": "d"}]}, "parameters": {"truncate_input_tokens": -1}}),
        )
        .await;
    assert_eq!(
        reranker.last("/rerank").body,
        json!({"query": "q", "texts": ["d"], "raw_scores": false, "return_text": false,
            "truncate": true})
    );
    server
        .call_ok(
            "tokenization",
            json!({"model_id": "rerank", "inputs": "a b"}),
        )
        .await;
    assert_eq!(
        reranker.last("/tokenize").body,
        json!({"inputs": ["a b"], "add_special_tokens": true})
    );
}
