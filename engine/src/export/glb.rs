//! glTF 2.0 documents and GLB containers, built with `gltf-json`'s typed structures.

use gltf_json as json;
use json::validation::Checked::Valid;
use json::validation::USize64;

use crate::error::Result;
use crate::pipeline::Asset;

/// The asset as a GLB file: JSON chunk plus one binary chunk holding geometry and the PNG texture.
pub fn glb_bytes(asset: &Asset, reproducible: bool) -> Result<Vec<u8>> {
    let png = super::texture_png(asset)?;
    let (json, bin) = gltf_document(asset, reproducible, None, &png)?;
    Ok(glb_container(&json, &bin))
}

/// The asset's glTF JSON and binary buffer. With `side_files` = `(buffer uri, image uri)` the
/// document refers to external files (`.gltf`); without, the texture is embedded in the buffer and
/// the buffer has no URI (GLB).
pub fn gltf_document(
    asset: &Asset,
    reproducible: bool,
    side_files: Option<(&str, &str)>,
    png: &[u8],
) -> Result<(Vec<u8>, Vec<u8>)> {
    let vertex_count = asset.mesh.positions.len();
    let mut bin = Vec::new();
    let mut root = json::Root::default();

    let push_view = |bin: &mut Vec<u8>,
                     root: &mut json::Root,
                     bytes: &[u8],
                     target: Option<json::buffer::Target>| {
        while !bin.len().is_multiple_of(4) {
            bin.push(0);
        }
        let offset = bin.len();
        bin.extend_from_slice(bytes);
        root.push(json::buffer::View {
            buffer: json::Index::new(0),
            byte_length: USize64::from(bytes.len()),
            byte_offset: Some(USize64::from(offset)),
            byte_stride: None,
            name: None,
            target: target.map(Valid),
            extensions: None,
            extras: None,
        })
    };

    let positions: Vec<u8> = asset
        .mesh
        .positions
        .iter()
        .flatten()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let normals: Vec<u8> = asset
        .normals
        .iter()
        .flatten()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let uvs: Vec<u8> = asset
        .uvs
        .iter()
        .flatten()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let indices: Vec<u8> = asset
        .mesh
        .triangles
        .iter()
        .flatten()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let (min, max) = asset.mesh.bounds();

    let position_view = push_view(
        &mut bin,
        &mut root,
        &positions,
        Some(json::buffer::Target::ArrayBuffer),
    );
    let normal_view = push_view(
        &mut bin,
        &mut root,
        &normals,
        Some(json::buffer::Target::ArrayBuffer),
    );
    let uv_view = push_view(
        &mut bin,
        &mut root,
        &uvs,
        Some(json::buffer::Target::ArrayBuffer),
    );
    let index_view = push_view(
        &mut bin,
        &mut root,
        &indices,
        Some(json::buffer::Target::ElementArrayBuffer),
    );

    let accessor = |view,
                    count: usize,
                    component: json::accessor::ComponentType,
                    kind,
                    bounds: Option<([f32; 3], [f32; 3])>| {
        json::Accessor {
            buffer_view: Some(view),
            byte_offset: None,
            count: USize64::from(count),
            component_type: Valid(json::accessor::GenericComponentType(component)),
            extensions: None,
            extras: None,
            type_: Valid(kind),
            min: bounds.map(|(min, _)| serde_json::json!(min)),
            max: bounds.map(|(_, max)| serde_json::json!(max)),
            name: None,
            normalized: false,
            sparse: None,
        }
    };
    use json::accessor::{ComponentType, Type};
    let position_accessor = root.push(accessor(
        position_view,
        vertex_count,
        ComponentType::F32,
        Type::Vec3,
        Some((min, max)),
    ));
    let normal_accessor = root.push(accessor(
        normal_view,
        vertex_count,
        ComponentType::F32,
        Type::Vec3,
        None,
    ));
    let uv_accessor = root.push(accessor(
        uv_view,
        vertex_count,
        ComponentType::F32,
        Type::Vec2,
        None,
    ));
    let index_accessor = root.push(accessor(
        index_view,
        asset.mesh.triangles.len() * 3,
        ComponentType::U32,
        Type::Scalar,
        None,
    ));

    let image = match side_files {
        Some((_, image_uri)) => json::Image {
            buffer_view: None,
            mime_type: None,
            name: Some(format!("{}_basecolor", asset.name)),
            uri: Some(image_uri.to_owned()),
            extensions: None,
            extras: None,
        },
        None => {
            let view = push_view(&mut bin, &mut root, png, None);
            json::Image {
                buffer_view: Some(view),
                mime_type: Some(json::image::MimeType("image/png".to_owned())),
                name: Some(format!("{}_basecolor", asset.name)),
                uri: None,
                extensions: None,
                extras: None,
            }
        }
    };
    while !bin.len().is_multiple_of(4) {
        bin.push(0);
    }
    let image = root.push(image);
    let sampler = root.push(json::texture::Sampler {
        mag_filter: Some(Valid(json::texture::MagFilter::Linear)),
        min_filter: Some(Valid(json::texture::MinFilter::LinearMipmapLinear)),
        wrap_s: Valid(json::texture::WrappingMode::ClampToEdge),
        wrap_t: Valid(json::texture::WrappingMode::ClampToEdge),
        ..Default::default()
    });
    let texture = root.push(json::Texture {
        name: None,
        sampler: Some(sampler),
        source: image,
        extensions: None,
        extras: None,
    });
    let material = root.push(json::Material {
        name: Some(format!("{}_material", asset.name)),
        pbr_metallic_roughness: json::material::PbrMetallicRoughness {
            base_color_texture: Some(json::texture::Info {
                index: texture,
                tex_coord: 0,
                extensions: None,
                extras: None,
            }),
            metallic_factor: json::material::StrengthFactor(0.0),
            roughness_factor: json::material::StrengthFactor(0.9),
            ..Default::default()
        },
        ..Default::default()
    });
    let mut attributes = std::collections::BTreeMap::new();
    attributes.insert(Valid(json::mesh::Semantic::Positions), position_accessor);
    attributes.insert(Valid(json::mesh::Semantic::Normals), normal_accessor);
    attributes.insert(Valid(json::mesh::Semantic::TexCoords(0)), uv_accessor);
    let mesh = root.push(json::Mesh {
        extensions: None,
        extras: None,
        name: Some(asset.name.clone()),
        primitives: vec![json::mesh::Primitive {
            attributes,
            extensions: None,
            extras: None,
            indices: Some(index_accessor),
            material: Some(material),
            mode: Valid(json::mesh::Mode::Triangles),
            targets: None,
        }],
        weights: None,
    });
    let node = root.push(json::Node {
        mesh: Some(mesh),
        name: Some(asset.name.clone()),
        ..Default::default()
    });
    let record = serde_json::value::to_raw_value(&asset.record.for_file(reproducible)).ok();
    let scene = root.push(json::Scene {
        extensions: None,
        extras: record,
        name: Some(asset.name.clone()),
        nodes: vec![node],
    });
    root.scene = Some(scene);
    root.push(json::Buffer {
        byte_length: USize64::from(bin.len()),
        name: None,
        uri: side_files.map(|(buffer_uri, _)| buffer_uri.to_owned()),
        extensions: None,
        extras: None,
    });
    root.asset = json::Asset {
        generator: Some(crate::pipeline::generator_name()),
        ..Default::default()
    };
    let text = json::serialize::to_vec(&root).unwrap_or_default();
    Ok((text, bin))
}

/// Packs a JSON chunk and a binary chunk into a GLB container (glTF 2.0 binary format).
fn glb_container(json_bytes: &[u8], bin: &[u8]) -> Vec<u8> {
    let json_length = json_bytes.len().next_multiple_of(4);
    let bin_length = bin.len().next_multiple_of(4);
    let total = 12 + 8 + json_length + if bin.is_empty() { 0 } else { 8 + bin_length };
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(json_length as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(json_bytes);
    out.resize(out.len() + json_length - json_bytes.len(), b' ');
    if !bin.is_empty() {
        out.extend_from_slice(&(bin_length as u32).to_le_bytes());
        out.extend_from_slice(b"BIN\0");
        out.extend_from_slice(bin);
        out.resize(out.len() + bin_length - bin.len(), 0);
    }
    out
}
