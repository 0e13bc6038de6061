//! The in-process modules: models computed in this process on candle (encoders, their heads,
//! Llama/GGUF generation) or by rules (PII).

pub mod encoder_settings;
pub mod pii;
pub mod pii_rules;
pub mod sentence_embeddings;
pub mod text_classifier;
pub mod text_generation;
pub mod token_classifier;
