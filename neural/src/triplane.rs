//! Triplane models (the TripoSR contract): an encoder turns the picture into a triplane, a decoder
//! gives density and colour at points. The surface is where the density crosses the manifest's
//! threshold, sampled on a grid over the model's cube and extracted with the engine's isosurface.
//!
//! Dense sampling queries the decoder at every grid point; coarse-to-fine samples a grid four times
//! coarser first and queries the fine grid only in (and next to) coarse cells the surface crosses,
//! filling the rest by trilinear interpolation of the coarse samples, whose sign is right away from
//! the surface. Thin parts that fit between coarse samples can be missed; the dilation by one
//! coarse cell keeps that to features under about one coarse cell.

use std::sync::Mutex;

use image::RgbaImage;
use ort::session::Session;
use ort::value::Tensor;
use threedgpt_engine::isosurface::{Inside, ScalarGrid, extract_isosurface};
use threedgpt_engine::mesh::TriMesh;
use threedgpt_engine::{CancelFlag, EngineError};

use crate::manifest::{InputContract, Kind};
use crate::session::{self, ModelError};
use crate::store::Installed;

/// Fine cells per coarse cell along each axis in coarse-to-fine sampling.
const COARSE_STEP: usize = 4;

/// A loaded triplane model.
pub struct TriplaneModel {
    name: String,
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

/// How to sample the density.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sampling {
    /// Cells along each axis of the cube (a multiple of 4).
    pub grid: usize,
    /// Query the fine grid only near the surface.
    pub coarse_to_fine: bool,
}

/// A surface and what it cost.
#[derive(Debug, Clone)]
pub struct Surface {
    /// The closed mesh, in the model's coordinates.
    pub mesh: TriMesh,
    /// Decoder queries made.
    pub queries: usize,
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
        let encoder = session::load(&encoder_path, encoder_spec, threads)?;
        let decoder = session::load(&decoder_path, decoder_spec, threads)?;
        let parameter = |name: &str, default: f64| manifest.parameters.get(name).copied().unwrap_or(default);
        Ok(TriplaneModel {
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
    pub fn encode(&self, image: &RgbaImage) -> Result<Vec<f32>, String> {
        let side = self.contract.size as usize;
        let data = crate::segmentation::to_tensor(image, &self.contract);
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
        for chunk in points.chunks(self.chunk) {
            if cancel.is_cancelled() {
                return Err("cancelled".to_owned());
            }
            let planes = Tensor::from_array((self.planes_shape.clone(), planes.to_vec())).map_err(|e| e.to_string())?;
            let flat: Vec<f32> = chunk.iter().flatten().copied().collect();
            let points = Tensor::from_array(([chunk.len(), 3usize], flat)).map_err(|error| error.to_string())?;
            let outputs = decoder
                .run(ort::inputs![planes_name.as_str() => planes, points_name.as_str() => points])
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

    /// The surface of an encoded object.
    pub fn surface(
        &self,
        planes: &[f32],
        sampling: Sampling,
        cancel: &CancelFlag,
        progress: &mut dyn FnMut(f32),
    ) -> Result<Surface, String> {
        let grid = sampling.grid;
        if grid < COARSE_STEP * 2 || !grid.is_multiple_of(COARSE_STEP) {
            return Err(format!("the grid must be a multiple of {COARSE_STEP} of at least {}", COARSE_STEP * 2));
        }
        let points_per_axis = grid + 1;
        let spacing = 2.0 * self.radius / grid as f32;
        let origin = -self.radius;
        let position = |x: usize, y: usize, z: usize| {
            [origin + x as f32 * spacing, origin + y as f32 * spacing, origin + z as f32 * spacing]
        };
        let index = |x: usize, y: usize, z: usize| (z * points_per_axis + y) * points_per_axis + x;
        let mut values = vec![f32::NAN; points_per_axis.pow(3)];
        let mut wanted: Vec<usize> = Vec::new();
        if sampling.coarse_to_fine {
            let coarse_axis = grid / COARSE_STEP + 1;
            let coarse_points: Vec<[f32; 3]> = (0..coarse_axis.pow(3))
                .map(|i| {
                    let (x, y, z) = (i % coarse_axis, i / coarse_axis % coarse_axis, i / coarse_axis / coarse_axis);
                    position(x * COARSE_STEP, y * COARSE_STEP, z * COARSE_STEP)
                })
                .collect();
            let total = coarse_points.len();
            let (coarse, _) =
                self.query(planes, &coarse_points, cancel, &mut |done| progress(0.2 * done as f32 / total as f32))?;
            let coarse_at = |x: usize, y: usize, z: usize| coarse[(z * coarse_axis + y) * coarse_axis + x];
            let cells = coarse_axis - 1;
            let inside = |value: f32| value > self.threshold;
            let mut crossed = vec![false; cells.pow(3)];
            for z in 0..cells {
                for y in 0..cells {
                    for x in 0..cells {
                        let corners = (0..8).map(|c| coarse_at(x + (c & 1), y + (c >> 1 & 1), z + (c >> 2)));
                        let count = corners.filter(|value| inside(*value)).count();
                        crossed[(z * cells + y) * cells + x] = count != 0 && count != 8;
                    }
                }
            }
            let mut near = vec![false; cells.pow(3)];
            for z in 0..cells {
                for y in 0..cells {
                    for x in 0..cells {
                        if !crossed[(z * cells + y) * cells + x] {
                            continue;
                        }
                        for dz in z.saturating_sub(1)..=(z + 1).min(cells - 1) {
                            for dy in y.saturating_sub(1)..=(y + 1).min(cells - 1) {
                                for dx in x.saturating_sub(1)..=(x + 1).min(cells - 1) {
                                    near[(dz * cells + dy) * cells + dx] = true;
                                }
                            }
                        }
                    }
                }
            }
            // Fine points on a near cell (a point on a cell face belongs to the cells either side)
            // are queried; the rest interpolate the coarse samples.
            let owners = |v: usize| {
                let upper = (v / COARSE_STEP).min(cells - 1);
                let lower = if v.is_multiple_of(COARSE_STEP) && v > 0 { v / COARSE_STEP - 1 } else { upper };
                [lower, upper]
            };
            for z in 0..points_per_axis {
                for y in 0..points_per_axis {
                    for x in 0..points_per_axis {
                        let (ox, oy, oz) = (owners(x), owners(y), owners(z));
                        let on_near = ox
                            .iter()
                            .any(|&cx| oy.iter().any(|&cy| oz.iter().any(|&cz| near[(cz * cells + cy) * cells + cx])));
                        if on_near {
                            wanted.push(index(x, y, z));
                            continue;
                        }
                        let [(cx, fx), (cy, fy), (cz, fz)] = [x, y, z].map(|v| {
                            let cell = (v / COARSE_STEP).min(cells - 1);
                            (cell, v as f32 / COARSE_STEP as f32 - cell as f32)
                        });
                        let mut value = 0.0;
                        for corner in 0..8 {
                            let (dx, dy, dz) = (corner & 1, corner >> 1 & 1, corner >> 2);
                            let weight = if dx == 1 { fx } else { 1.0 - fx }
                                * if dy == 1 { fy } else { 1.0 - fy }
                                * if dz == 1 { fz } else { 1.0 - fz };
                            value += weight * coarse_at(cx + dx, cy + dy, cz + dz);
                        }
                        values[index(x, y, z)] = value;
                    }
                }
            }
            let queried = coarse_points.len();
            let surface = self.fill(planes, &mut values, &wanted, &position, points_per_axis, cancel, progress)?;
            let mesh = self.mesh(values, points_per_axis, origin, spacing, cancel)?;
            return Ok(Surface { mesh, queries: queried + surface });
        }
        wanted.extend(0..values.len());
        let queries = self.fill(planes, &mut values, &wanted, &position, points_per_axis, cancel, progress)?;
        let mesh = self.mesh(values, points_per_axis, origin, spacing, cancel)?;
        Ok(Surface { mesh, queries })
    }

    #[allow(clippy::too_many_arguments)]
    fn fill(
        &self,
        planes: &[f32],
        values: &mut [f32],
        wanted: &[usize],
        position: &dyn Fn(usize, usize, usize) -> [f32; 3],
        points_per_axis: usize,
        cancel: &CancelFlag,
        progress: &mut dyn FnMut(f32),
    ) -> Result<usize, String> {
        let points: Vec<[f32; 3]> = wanted
            .iter()
            .map(|&i| {
                position(
                    i % points_per_axis,
                    i / points_per_axis % points_per_axis,
                    i / points_per_axis / points_per_axis,
                )
            })
            .collect();
        let total = points.len().max(1);
        let (densities, _) =
            self.query(planes, &points, cancel, &mut |done| progress(0.2 + 0.8 * done as f32 / total as f32))?;
        for (&i, density) in wanted.iter().zip(densities) {
            values[i] = density;
        }
        Ok(points.len())
    }

    fn mesh(
        &self,
        values: Vec<f32>,
        points_per_axis: usize,
        origin: f32,
        spacing: f32,
        cancel: &CancelFlag,
    ) -> Result<TriMesh, String> {
        let grid = ScalarGrid { dims: [points_per_axis; 3], values, origin: [origin; 3], spacing: [spacing; 3] };
        extract_isosurface(&grid, self.threshold, Inside::Above, cancel).map_err(|error| match error {
            EngineError::Cancelled => "cancelled".to_owned(),
            other => other.to_string(),
        })
    }
}
