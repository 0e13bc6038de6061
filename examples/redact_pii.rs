//! Redacts PII in a text through a running taskgate:
//!
//!     cargo run --example redact_pii -- "Mail ana@example.com or call +1 415 555 0100"
//!     echo "..." | cargo run --example redact_pii -- --url http://127.0.0.1:8080
//!
//! Spans come back as Unicode code-point offsets, so they index `text.chars()` directly.

use std::io::Read;

use serde_json::{Value, json};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).collect::<Vec<_>>();
    let mut url = "http://127.0.0.1:8080".to_string();
    if let Some(at) = args.iter().position(|a| a == "--url") {
        url = args.get(at + 1).cloned().ok_or("--url needs a value")?;
        args.drain(at..=at + 1);
    }
    let text = if args.is_empty() {
        let mut input = String::new();
        std::io::stdin().read_to_string(&mut input)?;
        input
    } else {
        args.join(" ")
    };

    let response = reqwest::Client::new()
        .post(format!("{url}/api/v1/task/token-classification"))
        .json(&json!({"model_id": "pii-rules", "inputs": text}))
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() {
        return Err(format!("taskgate answered {status}: {}", body["details"]).into());
    }

    let chars: Vec<char> = text.chars().collect();
    let mut redacted = String::new();
    let mut at = 0;
    for span in body["results"]
        .as_array()
        .ok_or("no results in the response")?
    {
        let start = span["start"].as_u64().ok_or("span without start")? as usize;
        let end = span["end"].as_u64().ok_or("span without end")? as usize;
        redacted.extend(&chars[at..start]);
        redacted.push_str(&format!("[{}]", span["entity"].as_str().unwrap_or("PII")));
        at = end;
    }
    redacted.extend(&chars[at..]);
    println!("{redacted}");
    Ok(())
}
