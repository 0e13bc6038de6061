//! The gRPC API: Caikit's `caikit.runtime.Nlp.NlpService` and `caikit.runtime.info.InfoService`
//! over the same models, validation and errors as REST, plus health and reflection.

pub mod call;
pub mod convert;
pub mod info_service;
pub mod management_service;
pub mod pb;
pub mod protos;
pub mod router;
pub mod task_service;
pub mod training_service;

pub use router::{DEFAULT_MAX_MESSAGE_BYTES, GrpcApi, Health, grpc_api};
