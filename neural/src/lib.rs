//! Learned models for 3D GPT through ONNX Runtime: finding and loading the runtime
//! ([`runtime`]), model manifests ([`manifest`]) and the published ones ([`catalog`]), the model store ([`store`]) and loading a model
//! file checked against its manifest ([`session`]), and the backends that run models for the
//! engine ([`segmentation`], [`depth`], [`triplane`]).
//!
//! The runtime library is loaded at run time, never linked: without it every function here
//! returns an error that says how to install it, and the built-in reconstructor carries on.
#![deny(missing_docs)]

pub mod catalog;
pub mod depth;
pub mod manifest;
mod plane;
pub mod runtime;
pub mod segmentation;
pub mod session;
pub mod store;
pub mod triplane;

pub use manifest::{Kind, Manifest};
pub use runtime::{RuntimeError, RuntimeInfo};
pub use store::{Installed, ModelStore, StoreError};
