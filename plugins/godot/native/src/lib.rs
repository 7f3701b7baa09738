//! The 3D GPT Godot plugin's native library: the `ThreeDGpt` class over the SDK. The Godot layer
//! (`three_d_gpt`) is thin; what it does is plain Rust that `cargo test` reaches.

mod naming;
mod options;
mod progress;
mod three_d_gpt;
mod worker;

use godot::prelude::*;

struct ThreeDGptExtension;

#[gdextension]
unsafe impl ExtensionLibrary for ThreeDGptExtension {}
