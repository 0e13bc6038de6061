//! taskgate's typed Rust client: every task, the training and management routes and the
//! OpenAI-compatible ones as methods of [`Client`], named after the OpenAPI document's operation
//! ids, with its schemas in [`types`] and each route's documented errors as
//! [`Error::ErrorResponse`].
//!
//! The `generated` module is progenitor's output (scripts/gen-sdks, from `openapi/openapi.json`);
//! [`sse`] is written by hand, because progenitor hands an event stream over as raw bytes, and so
//! is [`connect`](connect()), the client to start from (no total timeout, TLS ready).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = taskgate_client::connect("http://127.0.0.1:8080")?;
//! let body = taskgate_client::types::TextClassificationRequest {
//!     model_id: "sentiment".into(),
//!     inputs: "I love it".into(),
//!     parameters: None,
//! };
//! let answer = client.text_classification_task_predict(&body).await?;
//! println!("{}", answer.results[0].label);
//! # Ok(())
//! # }
//! ```

mod connect;
#[allow(clippy::all, clippy::pedantic, unused_imports, dead_code)]
mod generated;
pub mod sse;

pub use connect::{CONNECT_TIMEOUT, connect, install_crypto_provider};
pub use generated::*;
