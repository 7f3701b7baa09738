//! A segmentation model (ISNet / U²-Net / RMBG style: image → foreground probability) as the
//! engine's [`Segmenter`]: the picture is composited over the manifest's grey, stretched to the
//! model's square input, scaled and normalised as its contract says, and the probabilities go back
//! to the engine, which stretches them over the picture and cleans them like its own removal.

use image::RgbaImage;
use threedgpt_engine::{Segmenter, SoftMask};

use crate::manifest::{Activation, Kind, Meaning, OutputContract, OutputNormalize};
use crate::plane::PlaneModel;
use crate::session::{ModelError, Placement};
use crate::store::Installed;

/// A loaded segmentation model.
pub struct OnnxSegmenter {
    model: PlaneModel,
    /// How its output becomes probabilities (the manifest's `[output]`).
    output: OutputContract,
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
            output: model.manifest.output.clone(),
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
        Ok(SoftMask {
            width: plane.width,
            height: plane.height,
            values: probabilities(plane.values, &self.output),
            refine: self.output.meaning == Meaning::Saliency,
        })
    }
}

/// A model's output values as probabilities in 0..=1, as its manifest's `[output]` says.
fn probabilities(mut values: Vec<f32>, output: &OutputContract) -> Vec<f32> {
    for value in &mut values {
        if !value.is_finite() {
            *value = 0.0;
        } else if output.activation == Activation::Sigmoid {
            *value = 1.0 / (1.0 + (-*value).exp());
        }
    }
    if output.normalize == OutputNormalize::MinMax {
        let (low, high) =
            values.iter().fold((f32::MAX, f32::MIN), |(low, high), &value| (low.min(value), high.max(value)));
        let span = high - low;
        if span > 1e-6 {
            values.iter_mut().for_each(|value| *value = (*value - low) / span);
        } else {
            // A flat map says nothing: no object.
            values.iter_mut().for_each(|value| *value = 0.0);
        }
    }
    values.iter_mut().for_each(|value| *value = value.clamp(0.0, 1.0));
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_become_probabilities_as_the_manifest_says() {
        let plain = OutputContract::default();
        assert_eq!(probabilities(vec![-1.0, 0.25, 2.0, f32::NAN], &plain), [0.0, 0.25, 1.0, 0.0]);
        let logits = OutputContract { activation: Activation::Sigmoid, ..OutputContract::default() };
        let squashed = probabilities(vec![0.0, 10.0, -10.0], &logits);
        assert!((squashed[0] - 0.5).abs() < 1e-6 && squashed[1] > 0.99 && squashed[2] < 0.01);
        let stretched = OutputContract { normalize: OutputNormalize::MinMax, ..OutputContract::default() };
        assert_eq!(probabilities(vec![0.25, 0.5, 0.75], &stretched), [0.0, 0.5, 1.0]);
        assert_eq!(probabilities(vec![0.3, 0.3], &stretched), [0.0, 0.0], "a flat map finds nothing");
    }
}
