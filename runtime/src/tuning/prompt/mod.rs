//! Prompt tuning (soft prompts) for the Llama models served from GGUF files, reporting to a
//! [`super::TrainingObserver`] like every trainer.
//!
//! candle's autograd cannot be used on the serving model as is: quantized matmuls and the fused
//! norm, RoPE and softmax kernels record no backward pass (and the gradient through them is
//! dropped without an error), and a frozen weight used in a plain `matmul` still gets a
//! full-size gradient on every step. [`TrainableLlama`] is a dequantized, differentiable copy of
//! the forward pass whose projections ([`FrozenLinear`]) give input gradients only.

mod examples;
mod frozen_linear;
mod init;
mod prompt_tuning;
mod soft_prompt;
#[cfg(test)]
mod tests;
mod trainable_llama;

pub use examples::{INPUT_PLACEHOLDER, verbalize};
pub use frozen_linear::FrozenLinear;
pub use prompt_tuning::{
    PromptInit, PromptTuner, PromptTuningConfig, RecordSet, TrainingOutcome, TrainingRecord,
};
pub use soft_prompt::SoftPrompt;
pub use trainable_llama::TrainableLlama;
