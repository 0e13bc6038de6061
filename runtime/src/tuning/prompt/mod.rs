//! Prompt tuning (soft prompts) for the Llama models served from GGUF files. It has its own
//! observer and error types for now; the job manager drives the classifier head through
//! [`super::TrainingObserver`].
//!
//! candle's autograd cannot be used on the serving model as is: quantized matmuls and the fused
//! norm, RoPE and softmax kernels record no backward pass (and the gradient through them is
//! dropped without an error), and a frozen weight used in a plain `matmul` still gets a
//! full-size gradient on every step. [`TrainableLlama`] is a dequantized, differentiable copy of
//! the forward pass whose projections ([`FrozenLinear`]) give input gradients only.

mod error;
mod examples;
mod frozen_linear;
mod init;
mod prompt_tuning;
mod soft_prompt;
#[cfg(test)]
mod test_model;
#[cfg(test)]
mod tests;
mod trainable_llama;

pub use error::{RecordSet, TuningError};
pub use examples::INPUT_PLACEHOLDER;
pub use frozen_linear::FrozenLinear;
pub use prompt_tuning::{
    Control, EpochReport, PromptInit, PromptTuner, PromptTuningConfig, StepReport,
    TrainingObserver, TrainingOutcome, TrainingRecord,
};
pub use soft_prompt::SoftPrompt;
pub use trainable_llama::TrainableLlama;
