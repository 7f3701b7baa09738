//! A depth model (Depth-Anything / MiDaS style: image → relative inverse depth) as the engine's
//! [`DepthEstimator`]: the square cutout goes in as its contract says, and the nearness map goes
//! back to the engine, which normalises it over the object and shapes the relief's front with it.

use image::RgbaImage;
use threedgpt_engine::{DepthEstimator, DepthMap};

use crate::manifest::Kind;
use crate::plane::PlaneModel;
use crate::session::{ModelError, Placement};
use crate::store::Installed;

/// A loaded depth model.
pub struct OnnxDepth {
    model: PlaneModel,
    /// The output is depth (larger farther), not inverse depth (manifest parameter `output_depth`).
    distance: bool,
}

impl std::fmt::Debug for OnnxDepth {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("OnnxDepth").field("name", &self.model.name).finish_non_exhaustive()
    }
}

impl OnnxDepth {
    /// Loads an installed depth model with at most `threads` intra-op threads, on the GPU when
    /// `gpu` and a GPU provider registers, checked against its manifest.
    pub fn load_on(model: &Installed, threads: usize, gpu: bool) -> Result<OnnxDepth, ModelError> {
        Ok(OnnxDepth {
            distance: model.manifest.parameters.get("output_depth").is_some_and(|value| *value != 0.0),
            model: PlaneModel::load_on(model, Kind::Depth, threads, gpu)?,
        })
    }

    /// Where it runs.
    pub fn placement(&self) -> &Placement {
        &self.model.placement
    }
}

impl DepthEstimator for OnnxDepth {
    fn name(&self) -> &str {
        &self.model.name
    }

    fn estimate(&self, image: &RgbaImage) -> Result<DepthMap, String> {
        let plane = self.model.run(image)?;
        // The engine reads nearness; a distance map is turned around (its scale does not matter).
        let values = if self.distance { plane.values.into_iter().map(|value| -value).collect() } else { plane.values };
        Ok(DepthMap { width: plane.width, height: plane.height, values })
    }
}
