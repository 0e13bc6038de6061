//! The REST wire: task routes (an adapter over the call pipeline), health and info, the training
//! API, and what every route reads from a request (body, request id).

pub mod body;
pub mod bounded_json;
pub mod caller;
pub mod info;
pub mod management;
pub mod metrics;
pub mod request_id;
pub mod tasks;
pub mod training;
