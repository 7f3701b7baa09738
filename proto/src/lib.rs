//! The 3D GPT daemon's gRPC API (`threedgpt.v1`), generated from `threedgpt/v1/api.proto`. Only the
//! daemon (server) and the SDK (client) use this crate.
#![allow(missing_docs, unreachable_pub, clippy::doc_markdown)]

/// Version 1 of the API.
pub mod v1 {
    tonic::include_proto!("threedgpt.v1");
}

/// The API version string reported by `System.Info`.
pub const API_VERSION: &str = "v1";
