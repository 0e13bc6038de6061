// Cargo.toml: taskgate-client = { path = "openapi/sdk/rust" }, futures, tokio
use futures::StreamExt;
use taskgate_client::{sse, types};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("TASKGATE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let client = taskgate_client::connect(&url)?;
    let review = types::TextClassificationRequest {
        model_id: "sentiment".into(),
        inputs: "Great value, friendly staff.".into(),
        parameters: None,
    };
    let answer = client.text_classification_task_predict(&review).await?;
    println!("{}", answer.results[0].label);
    let joke = types::TextGenerationRequest {
        model_id: "smollm2".into(),
        inputs: "<|im_start|>user\nTell me a joke.<|im_end|>\n<|im_start|>assistant\n".into(),
        parameters: None,
    };
    let mut events = Box::pin(sse::stream_text_generation(&client, &joke).await?);
    while let Some(event) = events.next().await {
        print!("{}", event?.generated_text);
    }
    println!();
    Ok(())
}
