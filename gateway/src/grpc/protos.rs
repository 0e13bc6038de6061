//! The checked-in proto files, embedded so `taskgate protos DIR` hands users the contract
//! without a build (what Caikit's `dump_services` does).

use std::path::Path;

macro_rules! proto {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../../schemas/proto/", $name)),
        )
    };
}

/// Every file under `schemas/proto`, by name.
pub const PROTO_FILES: [(&str, &str); 11] = [
    proto!("caikit_data_model_common.proto"),
    proto!("caikit_data_model_common_runtime.proto"),
    proto!("caikit_data_model_nlp.proto"),
    proto!("caikit_data_model_caikit_nlp.proto"),
    proto!("caikit_data_model_runtime.proto"),
    proto!("caikit_runtime_Nlp.proto"),
    proto!("caikit_runtime_Nlp_training.proto"),
    proto!("caikit_runtime_info.proto"),
    proto!("caikit_runtime_models.proto"),
    proto!("caikit_runtime_training.proto"),
    proto!("mmesh_model_runtime.proto"),
];

/// Writes every proto file into `dir` (created if needed); returns how many.
pub fn write_all(dir: &Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in PROTO_FILES {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(PROTO_FILES.len())
}
