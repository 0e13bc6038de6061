//! Compiles the protos of the remote runtimes taskgate calls (pure-Rust parser, no `protoc`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(["fmaas_generation.proto", "kserve_v2.proto"], ["proto"])?;
    // The server side is generated too: the end-to-end tests run a TGIS stand-in from it.
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
