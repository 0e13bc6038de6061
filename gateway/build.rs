//! Compiles the checked-in protos (`schemas/proto`) with a pure-Rust parser, so a fresh machine
//! builds with cargo alone, and keeps the encoded descriptor set for server reflection.

use std::path::PathBuf;

/// Every proto file that declares a service; their imports come along.
const SERVICE_PROTOS: [&str; 6] = [
    "caikit_runtime_Nlp.proto",
    "caikit_runtime_Nlp_training.proto",
    "caikit_runtime_info.proto",
    "caikit_runtime_models.proto",
    "caikit_runtime_training.proto",
    "mmesh_model_runtime.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest.join("../schemas/proto");
    println!("cargo:rerun-if-changed={}", proto_root.display());
    let descriptors = protox::compile(SERVICE_PROTOS, [&proto_root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("taskgate_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
