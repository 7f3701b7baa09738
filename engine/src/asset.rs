//! What a generation produces: the [`Asset`] (mesh, normals, UVs, texture) and its
//! [`GenerationRecord`]. The exporters and the preview read it; the pipeline makes it. It depends
//! on neither, so they do not depend on each other.

use image::RgbImage;

use crate::foreground::MaskSource;
use crate::mesh::TriMesh;

/// The name of the built-in reconstructor, as recorded and as clients choose it.
pub const RELIEF_MODEL: &str = threedgpt_options::RELIEF;

/// A generated asset, ready to export: a closed mesh in glTF conventions (metres, +Y up, the
/// pictured side facing +Z, the origin at the centre of its base or of its bounding box, as
/// [`Options::origin`](crate::Options) says) with UVs, normals and a texture.
#[derive(Debug, Clone)]
pub struct Asset {
    /// A name for the asset, from the input's file name.
    pub name: String,
    /// The mesh.
    pub mesh: TriMesh,
    /// One unit normal per vertex.
    pub normals: Vec<[f32; 3]>,
    /// One texture coordinate per vertex (glTF convention: origin at the texture's top left).
    pub uvs: Vec<[f32; 2]>,
    /// The base-colour texture.
    pub texture: RgbImage,
    /// What was done, for the file's extras and for callers.
    pub record: GenerationRecord,
    /// What the user should know about the result (e.g. the face target could not be met), for
    /// people. Not written into the files.
    pub warnings: Vec<String>,
}

/// What a generation did: written into every asset's extras and printed by `--json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct GenerationRecord {
    /// The program and version that made the asset.
    pub generator: String,
    /// The reconstructor used.
    pub model: String,
    /// The shape the built-in reconstructor made (`relief`, `revolve`, `parts`, `extrude`); empty
    /// for a learned reconstructor.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub shape: String,
    /// The input's file name, without its folder.
    pub source: String,
    /// The sides pictured (`front`, `right`, `back`, `left`, `top`) when more than the front was
    /// given; empty for one picture.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<String>,
    /// The world's up as the picture shows it (x right, y up, z towards the camera; a unit vector)
    /// when the shape shows that the camera looked down on the object (a box seen from above, a
    /// ring lying flat): the asset is turned to stand on its base, and the camera looked down by
    /// `atan2(z, y)`. Absent when the picture's up is the asset's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_in_picture: Option<[f64; 3]>,
    /// The input's size in pixels, upright.
    pub source_size_px: [u32; 2],
    /// Where the foreground mask came from.
    pub mask: MaskSource,
    /// The segmentation model that found the object, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segmentation_model: Option<String>,
    /// The depth model that shaped the front, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth_model: Option<String>,
    /// The options that shaped the result.
    pub options: RecordedOptions,
    /// Vertex count of the final mesh.
    pub vertices: usize,
    /// Triangle count of the final mesh.
    pub faces: usize,
    /// Number of handles (holes through the object).
    pub genus: i64,
    /// Whether the final mesh is closed and 2-manifold.
    pub watertight: bool,
    /// Size of the asset's bounding box in metres (x, y, z).
    pub size_m: [f64; 3],
    /// Milliseconds per stage (absent from reproducible files).
    #[serde(default)]
    pub timings_ms: StageTimings,
}

/// The options in a generation record.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RecordedOptions {
    /// `auto`, `keep` or `mask`.
    pub background: String,
    /// Share of the frame the object fills.
    pub foreground_ratio: f64,
    /// Target triangle count.
    pub target_faces: u32,
    /// Texture side in pixels.
    pub texture_px: u32,
    /// The shape asked for (`auto`, `relief`, `revolve`, `extrude`).
    #[serde(default)]
    pub shape: String,
    /// Depth scale.
    pub thickness: f64,
    /// Where the origin sits (`bottom`, `center`).
    #[serde(default)]
    pub origin: String,
    /// Longest side in metres.
    pub size_m: f64,
    /// Reconstruction grid side.
    pub grid_px: u32,
}

/// Milliseconds spent in each stage; `export` is filled in once the files are written.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[allow(missing_docs)]
pub struct StageTimings {
    pub decode: f64,
    pub foreground: f64,
    pub reconstruct: f64,
    pub mesh: f64,
    pub texture: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<f64>,
}

impl GenerationRecord {
    /// The record as written into files: without timings when `reproducible`, so equal inputs give
    /// equal bytes.
    pub fn for_file(&self, reproducible: bool) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            if reproducible {
                object.remove("timings_ms");
            } else if let Some(timings) = object.get_mut("timings_ms").and_then(|t| t.as_object_mut()) {
                timings.remove("export");
            }
        }
        value
    }
}

/// "3D GPT" and the engine's version, for `asset.generator`.
pub fn generator_name() -> String {
    format!("3D GPT {}", env!("CARGO_PKG_VERSION"))
}
