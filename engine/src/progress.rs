//! Progress reporting and cooperative cancellation shared by every stage.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{EngineError, Result};

/// The stages of a generation, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Reading and decoding the image file.
    Decode,
    /// Separating the object from the background, cropping and recentring.
    Foreground,
    /// Building the 3D shape.
    Reconstruct,
    /// Simplifying and cleaning the mesh.
    Mesh,
    /// Laying out UVs and baking the texture.
    Texture,
    /// Writing the output files.
    Export,
}

impl Stage {
    /// All stages in pipeline order.
    pub const ALL: [Stage; 6] =
        [Stage::Decode, Stage::Foreground, Stage::Reconstruct, Stage::Mesh, Stage::Texture, Stage::Export];

    /// The stage's name as shown to users and written into records.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Decode => "decode",
            Stage::Foreground => "foreground",
            Stage::Reconstruct => "reconstruct",
            Stage::Mesh => "mesh",
            Stage::Texture => "texture",
            Stage::Export => "export",
        }
    }
}

/// Receives progress while a generation runs. Called from the generating thread; keep it cheap.
pub trait ProgressSink: Send + Sync {
    /// `fraction` is the share of `stage` done, in `0.0..=1.0`.
    fn report(&self, stage: Stage, fraction: f32);
}

/// A sink that drops every report.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn report(&self, _stage: Stage, _fraction: f32) {}
}

impl<F: Fn(Stage, f32) + Send + Sync> ProgressSink for F {
    fn report(&self, stage: Stage, fraction: f32) {
        self(stage, fraction)
    }
}

/// A flag another thread sets to stop a generation. Long loops poll it, so a cancel takes effect
/// within milliseconds.
#[derive(Debug, Default, Clone)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the generation to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether a cancel was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Returns [`EngineError::Cancelled`] once a cancel was asked for.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() { Err(EngineError::Cancelled) } else { Ok(()) }
    }
}
