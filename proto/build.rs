//! Generates the gRPC code from `threedgpt/v1/api.proto` with a vendored `protoc`, so no system
//! package is needed (a `PROTOC` in the environment still wins).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = match std::env::var_os("PROTOC") {
        Some(path) => path.into(),
        None => protoc_bin_vendored::protoc_bin_path()?,
    };
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc);
    // Downloaded artifacts are sent as slices of one buffer, without a copy per chunk.
    config.bytes([".threedgpt.v1.DownloadChunk.data"]);
    println!("cargo:rerun-if-changed=threedgpt/v1/api.proto");
    tonic_prost_build::configure().compile_with_config(config, &["threedgpt/v1/api.proto"], &["."])?;
    Ok(())
}
