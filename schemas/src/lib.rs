//! The stable task data model of taskgate.
//!
//! Every type here is part of the public contract: field names follow the Caikit wire format so
//! existing Caikit clients work unchanged, and the same types drive the REST routes, the OpenAPI
//! document and the JSON Schemas that validate requests. Nothing here knows about runtimes or HTTP.

pub mod classification;
pub mod common;
pub mod embeddings;
pub mod error;
pub mod generation;
pub mod info;
pub mod json_schema;
pub mod requests;
pub mod tokenization;
pub mod training;

pub use classification::*;
pub use common::*;
pub use embeddings::*;
pub use error::*;
pub use generation::*;
pub use info::*;
pub use requests::*;
pub use tokenization::*;
pub use training::*;
