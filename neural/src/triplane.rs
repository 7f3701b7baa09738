//! Triplane models (the TripoSR contract) as the engine's [`Reconstructor`]: the encoder turns the
//! picture into a triplane, the decoder gives density and colour at points, in chunks. The engine
//! samples the density (coarse-to-fine), extracts the surface where it crosses the manifest's
//! threshold and bakes the colours.

use std::sync::Mutex;

use image::RgbaImage;
use ort::session::Session;
use ort::value::Tensor;
use threedgpt_engine::{CancelFlag, EngineError, Field, Reconstructor};

use crate::manifest::{InputContract, Kind};
use crate::session::{self, ModelError, Placement};
use crate::store::Installed;

/// A loaded triplane model.
pub struct TriplaneModel {
    name: String,
    placement: Placement,
    contract: InputContract,
    encoder: Mutex<Session>,
    decoder: Mutex<Session>,
    encoder_io: (String, String),
    /// The decoder's triplane input, points input, density and colour outputs.
    decoder_io: [String; 4],
    /// The triplane's shape without the batch axis, as the decoder takes it.
    planes_shape: Vec<usize>,
    /// Density at the surface.
    pub threshold: f32,
    /// Half the side of the cube the model describes.
    pub radius: f32,
    /// Points per decoder call.
    pub chunk: usize,
}

impl std::fmt::Debug for TriplaneModel {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("TriplaneModel").field("name", &self.name).finish_non_exhaustive()
    }
}

fn mismatch(model: &Installed, difference: String) -> ModelError {
    ModelError::Mismatch { path: model.folder.clone(), difference }
}

fn positive(values: &[i64]) -> Option<Vec<usize>> {
    values.iter().map(|&value| usize::try_from(value).ok().filter(|value| *value > 0)).collect()
}

impl TriplaneModel {
    /// Loads an installed triplane model's encoder and decoder on the CPU, checked against its
    /// manifest.
    pub fn load(model: &Installed, threads: usize) -> Result<TriplaneModel, ModelError> {
        Self::load_on(model, threads, false)
    }

    /// Where the decoder (which does most of the work) runs.
    pub fn placement(&self) -> &Placement {
        &self.placement
    }

    /// [`TriplaneModel::load`], on the GPU when `gpu` and a GPU provider registers.
    pub fn load_on(model: &Installed, threads: usize, gpu: bool) -> Result<TriplaneModel, ModelError> {
        let manifest = &model.manifest;
        if manifest.kind != Kind::Triplane {
            return Err(mismatch(
                model,
                format!("{} is a {} model, not a triplane model", manifest.name, manifest.kind.name()),
            ));
        }
        let (encoder_path, encoder_spec) = model.file("encoder").ok_or_else(|| mismatch(model, "no encoder".into()))?;
        let (decoder_path, decoder_spec) = model.file("decoder").ok_or_else(|| mismatch(model, "no decoder".into()))?;
        let names =
            |tensors: &[crate::manifest::TensorSpec]| tensors.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
        let (encoder_inputs, encoder_outputs) = (names(&encoder_spec.inputs), names(&encoder_spec.outputs));
        let (decoder_inputs, decoder_outputs) = (names(&decoder_spec.inputs), names(&decoder_spec.outputs));
        let [encoder_input, encoder_output] =
            [encoder_inputs.first(), encoder_outputs.first()].map(|name| name.cloned().unwrap_or_default());
        let find = |list: &[String], wanted: &str| list.iter().find(|name| name.as_str() == wanted).cloned();
        let decoder_io = [
            find(&decoder_inputs, "triplane"),
            find(&decoder_inputs, "points"),
            find(&decoder_outputs, "density"),
            find(&decoder_outputs, "color"),
        ];
        let [Some(planes), Some(points), Some(density), Some(color)] = decoder_io else {
            return Err(mismatch(model, "the decoder must take triplane and points and give density and color".into()));
        };
        let planes_spec = decoder_spec.inputs.iter().find(|tensor| tensor.name == planes).map(|tensor| &tensor.shape);
        let planes_shape = planes_spec
            .and_then(|shape| positive(shape))
            .ok_or_else(|| mismatch(model, "the decoder's triplane input needs a fixed shape".into()))?;
        let (encoder, _) = session::load_on(&encoder_path, encoder_spec, threads, gpu)?;
        let (decoder, placement) = session::load_on(&decoder_path, decoder_spec, threads, gpu)?;
        let parameter = |name: &str, default: f64| manifest.parameters.get(name).copied().unwrap_or(default);
        Ok(TriplaneModel {
            placement,
            name: manifest.name.clone(),
            contract: manifest.input.clone(),
            encoder: Mutex::new(encoder),
            decoder: Mutex::new(decoder),
            encoder_io: (encoder_input, encoder_output),
            decoder_io: [planes, points, density, color],
            planes_shape,
            threshold: parameter("density_threshold", 25.0) as f32,
            radius: parameter("radius", 0.87) as f32,
            chunk: parameter("chunk", 65536.0).max(1.0) as usize,
        })
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Encodes a square picture of the object (transparent around it) into a triplane.
    pub fn encode_planes(&self, image: &RgbaImage) -> Result<Vec<f32>, String> {
        let side = self.contract.size as usize;
        let data = crate::plane::to_tensor(image, &self.contract);
        let input = Tensor::from_array(([1usize, 3, side, side], data)).map_err(|error| error.to_string())?;
        let mut encoder = self.encoder.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let outputs = encoder
            .run(ort::inputs![self.encoder_io.0.as_str() => input])
            .map_err(|error| format!("the encoder failed: {error}"))?;
        let (_, planes) = outputs[self.encoder_io.1.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(|error| format!("the encoder's output is not f32: {error}"))?;
        let expected: usize = self.planes_shape.iter().product();
        if planes.len() != expected {
            return Err(format!("the encoder gave {} values, the decoder takes {expected}", planes.len()));
        }
        Ok(planes.to_vec())
    }

    /// Densities and colours at `points`, in chunks of `self.chunk`; `progress` hears points done.
    pub fn query(
        &self,
        planes: &[f32],
        points: &[[f32; 3]],
        cancel: &CancelFlag,
        progress: &mut dyn FnMut(usize),
    ) -> Result<(Vec<f32>, Vec<[f32; 3]>), String> {
        let [planes_name, points_name, density_name, color_name] = &self.decoder_io;
        let mut densities = Vec::with_capacity(points.len());
        let mut colours = Vec::with_capacity(points.len());
        let mut decoder = self.decoder.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // The triplane is the same for every chunk: one tensor, lent to each run.
        let planes = Tensor::from_array((self.planes_shape.clone(), planes.to_vec())).map_err(|e| e.to_string())?;
        for chunk in points.chunks(self.chunk) {
            if cancel.is_cancelled() {
                return Err("cancelled".to_owned());
            }
            let flat: Vec<f32> = chunk.iter().flatten().copied().collect();
            let points = Tensor::from_array(([chunk.len(), 3usize], flat)).map_err(|error| error.to_string())?;
            let outputs = decoder
                .run(ort::inputs![planes_name.as_str() => &planes, points_name.as_str() => points])
                .map_err(|error| format!("the decoder failed: {error}"))?;
            let (_, density) = outputs[density_name.as_str()].try_extract_tensor::<f32>().map_err(|e| e.to_string())?;
            let (_, colour) = outputs[color_name.as_str()].try_extract_tensor::<f32>().map_err(|e| e.to_string())?;
            if density.len() != chunk.len() || colour.len() != chunk.len() * 3 {
                return Err(format!("the decoder gave {} densities for {} points", density.len(), chunk.len()));
            }
            densities.extend_from_slice(density);
            colours.extend(colour.chunks_exact(3).map(|rgb| [rgb[0], rgb[1], rgb[2]]));
            progress(densities.len());
        }
        Ok((densities, colours))
    }
}

impl Reconstructor for TriplaneModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn radius(&self) -> f32 {
        self.radius
    }

    fn level(&self) -> f32 {
        self.threshold
    }

    fn encode<'a>(&'a self, image: &RgbaImage) -> Result<Box<dyn Field + 'a>, EngineError> {
        let planes = self.encode_planes(image).map_err(|reason| self.failure(reason))?;
        Ok(Box::new(TriplaneField { model: self, planes }))
    }
}

impl TriplaneModel {
    fn failure(&self, reason: String) -> EngineError {
        EngineError::Reconstruction { model: self.name.clone(), reason }
    }

    fn query_for_engine(
        &self,
        planes: &[f32],
        points: &[[f32; 3]],
        cancel: &CancelFlag,
    ) -> Result<(Vec<f32>, Vec<[f32; 3]>), EngineError> {
        self.query(planes, points, cancel, &mut |_| {})
            .map_err(|reason| if cancel.is_cancelled() { EngineError::Cancelled } else { self.failure(reason) })
    }
}

/// One encoded object: the decoder with its triplane.
struct TriplaneField<'a> {
    model: &'a TriplaneModel,
    planes: Vec<f32>,
}

impl Field for TriplaneField<'_> {
    fn densities(&self, points: &[[f32; 3]], cancel: &CancelFlag) -> Result<Vec<f32>, EngineError> {
        Ok(self.model.query_for_engine(&self.planes, points, cancel)?.0)
    }

    fn colours(&self, points: &[[f32; 3]], cancel: &CancelFlag) -> Result<Vec<[f32; 3]>, EngineError> {
        Ok(self.model.query_for_engine(&self.planes, points, cancel)?.1)
    }
}
