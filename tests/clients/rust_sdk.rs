//! The Rust SDK's side of `sdks.rs`: the same calls through `taskgate_client`, answered in the
//! same JSON shape as the Python and TypeScript checks print.

use futures::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use taskgate_client::{Client, Error, ResponseValue, sse, types};

fn typed<T: DeserializeOwned>(task: &str, body: &Value) -> T {
    serde_json::from_value(body.clone())
        .unwrap_or_else(|e| panic!("{task}: the SDK's request type refuses {body}: {e}"))
}

fn answer<T: Serialize, E: std::fmt::Debug>(
    what: &str,
    result: Result<ResponseValue<T>, Error<E>>,
) -> Value {
    let value = result
        .unwrap_or_else(|e| panic!("{what}: {e:?}"))
        .into_inner();
    serde_json::to_value(value).unwrap()
}

async fn task(client: &Client, task: &str, body: &Value) -> Value {
    match task {
        "text-generation" => answer(
            task,
            client
                .text_generation_task_predict(&typed(task, body))
                .await,
        ),
        "text-classification" => answer(
            task,
            client
                .text_classification_task_predict(&typed(task, body))
                .await,
        ),
        "token-classification" => answer(
            task,
            client
                .token_classification_task_predict(&typed(task, body))
                .await,
        ),
        "embedding" => answer(
            task,
            client.embedding_task_predict(&typed(task, body)).await,
        ),
        "embedding-tasks" => answer(
            task,
            client.embedding_tasks_predict(&typed(task, body)).await,
        ),
        "sentence-similarity" => answer(
            task,
            client
                .sentence_similarity_task_predict(&typed(task, body))
                .await,
        ),
        "sentence-similarity-tasks" => answer(
            task,
            client
                .sentence_similarity_tasks_predict(&typed(task, body))
                .await,
        ),
        "rerank" => answer(task, client.rerank_task_predict(&typed(task, body)).await),
        "rerank-tasks" => answer(task, client.rerank_tasks_predict(&typed(task, body)).await),
        "tokenization" => answer(
            task,
            client.tokenization_task_predict(&typed(task, body)).await,
        ),
        other => panic!("no Rust SDK call for {other}"),
    }
}

fn refusal<T: std::fmt::Debug>(result: Result<T, Error<types::ErrorBody>>) -> Value {
    match result {
        Err(Error::ErrorResponse(refused)) => {
            let status = refused.status().as_u16();
            let body = refused.into_inner();
            json!({"status": status, "code": body.code, "details": body.details})
        }
        other => panic!("expected a typed refusal, got {other:?}"),
    }
}

fn sorted(mut names: Vec<String>) -> Value {
    names.sort();
    json!(names)
}

pub(crate) async fn calls(base: &str, calls: &Value) -> Value {
    let client = taskgate_client::connect(base).expect("a client");
    let mut tasks = Map::new();
    for (name, body) in calls.as_object().unwrap() {
        tasks.insert(name.clone(), task(&client, name, body).await);
    }

    let generation: types::TextGenerationRequest = typed("stream", &calls["text-generation"]);
    let events: Vec<Value> = sse::stream_text_generation(&client, &generation)
        .await
        .expect("the stream starts")
        .map(|event| serde_json::to_value(event.expect("an event")).unwrap())
        .collect()
        .await;

    let models = client.models(None).await.unwrap().into_inner();
    let states = client.model_states().await.unwrap().into_inner();
    let openai = client.list_models().await.unwrap().into_inner();
    let trainings = answer("trainings", client.trainings(None).await);

    let mut unknown: types::TextClassificationRequest =
        typed("unknown", &calls["text-classification"]);
    unknown.model_id = "no-such-model".into();
    let mut unknown_stream = generation.clone();
    unknown_stream.model_id = "no-such-model".into();
    let stream_refusal = sse::stream_text_generation(&client, &unknown_stream)
        .await
        .map(|_| ());

    json!({
        "tasks": tasks,
        "stream": events,
        "version": answer("version", client.version().await),
        "models": sorted(models.models.into_iter().map(|m| m.name).collect()),
        "model_states": sorted(states.models.into_iter().map(|m| m.name).collect()),
        "openai_models": sorted(openai.data.into_iter().map(|m| m.id).collect()),
        "trainings": trainings,
        "unknown_model": refusal(client.text_classification_task_predict(&unknown).await),
        "stream_refusal": refusal(stream_refusal),
    })
}
