//! A segmentation model (ISNet / U²-Net / RMBG style: image → foreground probability) as the
//! engine's [`Segmenter`]: the picture is composited over the manifest's grey, stretched to the
//! model's square input, scaled and normalised as its contract says, and the probabilities go back
//! to the engine, which stretches them over the picture and cleans them like its own removal.

use image::RgbaImage;
use threedgpt_engine::{Segmenter, SoftMask};

use crate::manifest::Kind;
use crate::plane::PlaneModel;
use crate::session::{ModelError, Placement};
use crate::store::Installed;

/// A loaded segmentation model.
pub struct OnnxSegmenter {
    model: PlaneModel,
    /// The output is a logit, squashed through a sigmoid (manifest parameter `output_logits`).
    logits: bool,
}

impl std::fmt::Debug for OnnxSegmenter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("OnnxSegmenter").field("name", &self.model.name).finish_non_exhaustive()
    }
}

impl OnnxSegmenter {
    /// Loads an installed segmentation model on the CPU with at most `threads` intra-op threads,
    /// checked against its manifest.
    pub fn load(model: &Installed, threads: usize) -> Result<OnnxSegmenter, ModelError> {
        Self::load_on(model, threads, false)
    }

    /// [`OnnxSegmenter::load`], on the GPU when `gpu` and a GPU provider registers.
    pub fn load_on(model: &Installed, threads: usize, gpu: bool) -> Result<OnnxSegmenter, ModelError> {
        Ok(OnnxSegmenter {
            logits: model.manifest.parameters.get("output_logits").is_some_and(|value| *value != 0.0),
            model: PlaneModel::load_on(model, Kind::Segmentation, threads, gpu)?,
        })
    }

    /// Where it runs.
    pub fn placement(&self) -> &Placement {
        &self.model.placement
    }
}

impl Segmenter for OnnxSegmenter {
    fn name(&self) -> &str {
        &self.model.name
    }

    fn segment(&self, image: &RgbaImage) -> Result<SoftMask, String> {
        let plane = self.model.run(image)?;
        let squash = |value: f32| if self.logits { 1.0 / (1.0 + (-value).exp()) } else { value };
        Ok(SoftMask {
            width: plane.width,
            height: plane.height,
            values: plane.values.into_iter().map(squash).collect(),
        })
    }
}
