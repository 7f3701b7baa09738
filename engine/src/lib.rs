//! The 3D GPT engine: one picture in, a watertight, textured 3D asset out.
//!
//! Stages: [`decode`] → [`foreground`] → [`shape`] and [`relief`] (reconstruct) → [`mesh`] → [`texture`] →
//! [`export`]. [`generate`] runs them with progress and cancellation; [`export_asset`] writes the
//! result. The engine knows nothing of RPC, storage or accounts.
#![deny(missing_docs)]

mod asset;
mod cuboid;
pub mod decode;
mod error;
pub mod export;
pub mod foreground;
mod grabcut;
pub mod isosurface;
mod legs;
mod legs_above;
pub mod light;
mod linear;
pub mod mask;
mod maxflow;
pub mod mesh;
mod options;
mod overhead;
mod pipeline;
pub mod preview;
mod progress;
mod refine;
pub mod relief;
mod resample;
mod ring;
pub mod shape;
pub mod texture;
pub mod views;
pub mod volume;

pub use asset::{Asset, GenerationRecord, RELIEF_MODEL, generator_name};
pub use error::{EngineError, Result};
pub use foreground::{Segmenter, SoftMask};
pub use options::{Background, DecodeLimits, Format, Options, Origin, Shape};
pub use pipeline::{Models, export_asset, generate, generate_sheet, generate_views, generate_with};
pub use progress::{CancelFlag, NoProgress, ProgressSink, Stage};
pub use relief::{DepthEstimator, DepthMap};
pub use views::{Side, View};
pub use volume::{Field, Reconstructor};
