//! The remote modules: models served by another runtime (OpenAI-compatible servers, IBM TGIS,
//! KServe v2, Hugging Face TEI), with the settings and health checks every backend shares.

pub mod health;
pub mod kserve;
pub mod openai;
pub mod settings;
pub mod tei;
pub mod tgis;
