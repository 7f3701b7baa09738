//! What the picture-in, one-plane-out models (segmentation, depth) share: loading the file checked
//! against its manifest's square input, and running one picture through it.

use std::sync::Mutex;

use image::RgbaImage;
use ort::session::Session;
use ort::value::Tensor;

use crate::manifest::{InputContract, Kind, Scale};
use crate::session::{self, ModelError, Placement};
use crate::store::Installed;

/// A loaded picture-to-plane model. Runs are serialised on its session (one picture at a time).
pub(crate) struct PlaneModel {
    pub(crate) name: String,
    contract: InputContract,
    input: String,
    output: String,
    pub(crate) placement: Placement,
    session: Mutex<Session>,
}

/// One output plane: `width × height` values, row by row.
pub(crate) struct Plane {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) values: Vec<f32>,
}

impl PlaneModel {
    /// Loads an installed model of `kind` with at most `threads` intra-op threads, on the GPU when
    /// `gpu` and a GPU provider registers; its input must be `[1, 3, size, size]`.
    pub(crate) fn load_on(model: &Installed, kind: Kind, threads: usize, gpu: bool) -> Result<PlaneModel, ModelError> {
        let manifest = &model.manifest;
        let (path, spec) =
            model.file("model").filter(|_| manifest.kind == kind).ok_or_else(|| ModelError::Mismatch {
                path: model.folder.clone(),
                difference: format!(
                    "{} is a {} model, not a {} model",
                    manifest.name,
                    manifest.kind.name(),
                    kind.name()
                ),
            })?;
        let output = match &manifest.output.tensor {
            Some(name) => spec.outputs.iter().find(|output| output.name == *name),
            None => spec.outputs.first(),
        };
        let (Some(input), Some(output)) = (spec.inputs.first(), output) else {
            return Err(ModelError::Mismatch {
                path,
                difference: "its manifest names no input or output tensor".to_owned(),
            });
        };
        let size = i64::from(manifest.input.size);
        // Dynamic sides (-1) take the contract's size.
        let square = matches!(input.shape.as_slice(), [1 | -1, 3, height, width]
            if [*height, *width].iter().all(|side| *side == size || *side == -1));
        if !square {
            return Err(ModelError::Mismatch {
                path,
                difference: format!("input {:?} must be [1, 3, {size}, {size}], not {:?}", input.name, input.shape),
            });
        }
        let (session, placement) = session::load_on(&path, spec, threads, gpu)?;
        Ok(PlaneModel {
            placement,
            name: manifest.name.clone(),
            contract: manifest.input.clone(),
            input: input.name.clone(),
            output: output.name.clone(),
            session: Mutex::new(session),
        })
    }

    /// Runs `image` through the model: its first output's last two axes as the plane.
    pub(crate) fn run(&self, image: &RgbaImage) -> Result<Plane, String> {
        let side = self.contract.size as usize;
        let input = Tensor::from_array(([1usize, 3, side, side], to_tensor(image, &self.contract)))
            .map_err(|error| error.to_string())?;
        let mut session = self.session.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let outputs = session
            .run(ort::inputs![self.input.as_str() => input])
            .map_err(|error| format!("inference failed: {error}"))?;
        let (shape, values) = outputs[self.output.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(|error| format!("its output {:?} is not f32: {error}", self.output))?;
        let dims: Vec<i64> = shape.iter().copied().collect();
        let (height, width) = match dims.as_slice() {
            [.., height, width] if *height > 0 && *width > 0 => (*height as u32, *width as u32),
            _ => return Err(format!("its output {:?} has shape {dims:?}, not [..., height, width]", self.output)),
        };
        let plane = (width * height) as usize;
        if values.len() < plane {
            return Err(format!("its output holds {} values for a {width}x{height} plane", values.len()));
        }
        Ok(Plane { width, height, values: values[..plane].to_vec() })
    }
}

/// The picture as the model's input: composited over the contract's grey, stretched to its square,
/// scaled (by 255 or by its brightest value) into its range, normalised with its mean and std,
/// channels first.
pub(crate) fn to_tensor(image: &RgbaImage, contract: &InputContract) -> Vec<f32> {
    let side = contract.size;
    let resized = threedgpt_engine::decode::resized(image, side, side);
    let plane = (side * side) as usize;
    let mut data = vec![0.0f32; 3 * plane];
    let order: [usize; 3] = if contract.channels.eq_ignore_ascii_case("bgr") { [2, 1, 0] } else { [0, 1, 2] };
    let [low, high] = contract.range;
    let composited = |pixel: &image::Rgba<u8>, channel: usize| {
        let alpha = f32::from(pixel[3]) / 255.0;
        f32::from(pixel[channel]) / 255.0 * alpha + contract.background * (1.0 - alpha)
    };
    let brightest = match contract.scale {
        Scale::Fixed => 1.0,
        Scale::Max => resized
            .pixels()
            .flat_map(|pixel| (0..3).map(move |channel| composited(pixel, channel)))
            .fold(0.0f32, f32::max)
            .max(1e-6),
    };
    for (index, pixel) in resized.pixels().enumerate() {
        for (channel, &source) in order.iter().enumerate() {
            let value = composited(pixel, source) / brightest;
            let scaled = low + value * (high - low);
            data[channel * plane + index] = (scaled - contract.mean[channel]) / contract.std[channel];
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_become_normalised_channels_first_tensors() {
        let contract = InputContract {
            size: 2,
            channels: "rgb".to_owned(),
            range: [0.0, 1.0],
            scale: Scale::Fixed,
            mean: [0.5, 0.5, 0.5],
            std: [0.5, 0.5, 0.5],
            background: 0.5,
            foreground_ratio: 0.85,
        };
        let image = RgbaImage::from_pixel(4, 4, image::Rgba([255, 0, 255, 255]));
        let tensor = to_tensor(&image, &contract);
        assert_eq!(tensor.len(), 12);
        assert!(tensor[..4].iter().all(|value| (value - 1.0).abs() < 1e-6), "red plane is +1");
        assert!(tensor[4..8].iter().all(|value| (value + 1.0).abs() < 1e-6), "green plane is -1");
        let clear = RgbaImage::from_pixel(4, 4, image::Rgba([255, 255, 255, 0]));
        assert!(to_tensor(&clear, &contract).iter().all(|value| value.abs() < 1e-6), "transparent is grey");
        let bgr = InputContract { channels: "bgr".to_owned(), ..contract.clone() };
        assert!(to_tensor(&image, &bgr)[4..8].iter().all(|value| (value + 1.0).abs() < 1e-6));
        // Divided by the brightest value: a dim picture fills the range as a bright one would.
        let dim = RgbaImage::from_pixel(4, 4, image::Rgba([128, 0, 128, 255]));
        let by_max = InputContract { scale: Scale::Max, ..contract };
        assert!(to_tensor(&dim, &by_max)[..4].iter().all(|value| (value - 1.0).abs() < 1e-6));
        assert!(to_tensor(&dim, &by_max)[4..8].iter().all(|value| (value + 1.0).abs() < 1e-6));
    }
}
