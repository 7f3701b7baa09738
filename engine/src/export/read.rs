//! Reading back a GLB this engine wrote, so a stored asset can be exported again in any format.

use gltf_json as json;

use crate::asset::{Asset, GenerationRecord};
use crate::error::{EngineError, Result};
use crate::mesh::TriMesh;

/// The asset in a GLB written by [`super::glb_bytes`]: mesh, normals, UVs, texture and record.
pub fn asset_from_glb(bytes: &[u8]) -> Result<Asset> {
    let bad = |reason: &str| EngineError::UnreadableAsset { reason: reason.to_owned() };
    let word = |at: usize| -> Result<usize> {
        bytes
            .get(at..at + 4)
            .map(|slice| u32::from_le_bytes([slice[0], slice[1], slice[2], slice[3]]) as usize)
            .ok_or_else(|| bad("the file is truncated"))
    };
    if bytes.get(..4) != Some(b"glTF".as_slice()) || word(4)? != 2 {
        return Err(bad("not a glTF 2.0 binary file"));
    }
    let json_length = word(12)?;
    let json_bytes = bytes.get(20..20 + json_length).ok_or_else(|| bad("the JSON chunk is truncated"))?;
    let bin_start = 20 + json_length + 8;
    let bin_length = word(20 + json_length)?;
    let bin = bytes.get(bin_start..bin_start + bin_length).ok_or_else(|| bad("the binary chunk is truncated"))?;
    let root: json::Root =
        serde_json::from_slice(json_bytes).map_err(|error| bad(&format!("its JSON is invalid ({error})")))?;

    let view_bytes = |view: json::Index<json::buffer::View>| -> Result<&[u8]> {
        let view = root.buffer_views.get(view.value()).ok_or_else(|| bad("a buffer view is missing"))?;
        let start = view.byte_offset.map_or(0, |offset| offset.0 as usize);
        bin.get(start..start + view.byte_length.0 as usize).ok_or_else(|| bad("a buffer view lies outside the buffer"))
    };
    let accessor_floats = |index: json::Index<json::Accessor>| -> Result<Vec<f32>> {
        let accessor = root.accessors.get(index.value()).ok_or_else(|| bad("an accessor is missing"))?;
        let view = accessor.buffer_view.ok_or_else(|| bad("an accessor has no data"))?;
        Ok(view_bytes(view)?.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    };
    let primitive =
        root.meshes.first().and_then(|mesh| mesh.primitives.first()).ok_or_else(|| bad("it holds no mesh"))?;
    let attribute = |semantic: json::mesh::Semantic| {
        primitive
            .attributes
            .get(&json::validation::Checked::Valid(semantic))
            .copied()
            .ok_or_else(|| bad("a vertex attribute is missing"))
    };
    let positions: Vec<[f32; 3]> = accessor_floats(attribute(json::mesh::Semantic::Positions)?)?
        .chunks_exact(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    let normals: Vec<[f32; 3]> = accessor_floats(attribute(json::mesh::Semantic::Normals)?)?
        .chunks_exact(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    let uvs: Vec<[f32; 2]> = accessor_floats(attribute(json::mesh::Semantic::TexCoords(0))?)?
        .chunks_exact(2)
        .map(|c| [c[0], c[1]])
        .collect();
    let indices_accessor = primitive.indices.ok_or_else(|| bad("the mesh has no indices"))?;
    let indices_view = root
        .accessors
        .get(indices_accessor.value())
        .and_then(|accessor| accessor.buffer_view)
        .ok_or_else(|| bad("the indices have no data"))?;
    let triangles: Vec<[u32; 3]> = view_bytes(indices_view)?
        .chunks_exact(12)
        .map(|c| {
            let at = |offset: usize| u32::from_le_bytes([c[offset], c[offset + 1], c[offset + 2], c[offset + 3]]);
            [at(0), at(4), at(8)]
        })
        .collect();
    if normals.len() != positions.len()
        || uvs.len() != positions.len()
        || triangles.iter().flatten().any(|&index| index as usize >= positions.len())
    {
        return Err(bad("its vertex arrays do not match"));
    }
    let image_view =
        root.images.first().and_then(|image| image.buffer_view).ok_or_else(|| bad("it holds no embedded texture"))?;
    let texture = image::load_from_memory(view_bytes(image_view)?)
        .map_err(|error| bad(&format!("its texture cannot be decoded ({error})")))?
        .to_rgb8();
    let scene = root.scenes.first().ok_or_else(|| bad("it holds no scene"))?;
    let record: GenerationRecord = scene
        .extras
        .as_ref()
        .and_then(|extras| serde_json::from_str(extras.get()).ok())
        .ok_or_else(|| bad("it carries no 3D GPT generation record"))?;
    let name = scene.name.clone().unwrap_or_else(|| "asset".to_owned());
    Ok(Asset { name, mesh: TriMesh { positions, triangles }, normals, uvs, texture, record, warnings: Vec::new() })
}
