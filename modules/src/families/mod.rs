//! Task families: one trait per kind of model, one implementation of the tasks over it. A
//! source (in process or remote) implements the trait once and serves every task of the family
//! with the same validation, result shapes and stream rules.

pub mod embeddings;
pub mod generation;
pub mod ranking;
pub mod rerank;
pub mod tokenization;
