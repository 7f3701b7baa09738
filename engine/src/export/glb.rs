//! glTF 2.0 documents and GLB containers, built with `gltf-json`'s typed structures.

use gltf_json as json;
use json::validation::Checked::Valid;
use json::validation::USize64;

use std::borrow::Cow;
use std::io::Write;

use crate::asset::Asset;
use crate::error::{EngineError, Result};

/// The asset as GLB bytes: a JSON chunk plus one binary chunk holding geometry and the PNG texture.
pub fn glb_bytes(asset: &Asset, reproducible: bool) -> Result<Vec<u8>> {
    // Room for the arrays, the texture and the JSON, so the buffer never grows by copying.
    let vertices = asset.mesh.positions.len();
    let estimate = vertices * 32 + asset.mesh.triangles.len() * 12 + asset.texture.as_raw().len() + (1 << 16);
    let mut out = Vec::with_capacity(estimate);
    write_glb(asset, reproducible, &mut out).map_err(|source| EngineError::Write { path: "memory".into(), source })?;
    Ok(out)
}

/// Streams the asset as GLB into `out`, copying each array once.
pub(crate) fn write_glb(asset: &Asset, reproducible: bool, out: &mut dyn Write) -> std::io::Result<()> {
    let png = super::texture_png(asset).map_err(std::io::Error::other)?;
    let (json, binary) = gltf_document(asset, reproducible, None, &png);
    let json_length = json.len().next_multiple_of(4);
    let bin_length = binary.length.next_multiple_of(4);
    let total = 12 + 8 + json_length + 8 + bin_length;
    let mut header = Vec::with_capacity(28 + json_length);
    header.extend_from_slice(b"glTF");
    header.extend_from_slice(&2u32.to_le_bytes());
    header.extend_from_slice(&(total as u32).to_le_bytes());
    header.extend_from_slice(&(json_length as u32).to_le_bytes());
    header.extend_from_slice(b"JSON");
    header.extend_from_slice(&json);
    header.resize(20 + json_length, b' ');
    header.extend_from_slice(&(bin_length as u32).to_le_bytes());
    header.extend_from_slice(b"BIN\0");
    out.write_all(&header)?;
    binary.write_to(out, bin_length)
}

/// The binary buffer of a glTF document as the pieces it is made of, each at a 4-byte aligned
/// offset, so it can be written out without first being copied into one block.
#[derive(Debug)]
pub struct BinaryBuffer<'a> {
    pieces: Vec<(usize, Cow<'a, [u8]>)>,
    /// Length in bytes, up to the end of the last piece.
    pub length: usize,
}

impl<'a> BinaryBuffer<'a> {
    fn push(&mut self, bytes: Cow<'a, [u8]>) -> usize {
        let offset = self.length.next_multiple_of(4);
        self.length = offset + bytes.len();
        self.pieces.push((offset, bytes));
        offset
    }

    /// Writes the buffer, zero-padded to `padded_length` bytes.
    pub fn write_to(&self, out: &mut dyn Write, padded_length: usize) -> std::io::Result<()> {
        let mut written = 0;
        for (offset, bytes) in &self.pieces {
            out.write_all(&[0u8; 4][..offset - written])?;
            out.write_all(bytes)?;
            written = offset + bytes.len();
        }
        out.write_all(&vec![0u8; padded_length.saturating_sub(written)])
    }
}

/// The asset's glTF JSON and binary buffer. With `side_files` = `(buffer uri, image uri)` the
/// document refers to external files (`.gltf`); without, the texture is embedded in the buffer and
/// the buffer has no URI (GLB).
pub fn gltf_document<'a>(
    asset: &'a Asset,
    reproducible: bool,
    side_files: Option<(&str, &str)>,
    png: &'a [u8],
) -> (Vec<u8>, BinaryBuffer<'a>) {
    let vertex_count = asset.mesh.positions.len();
    let mut bin = BinaryBuffer { pieces: Vec::new(), length: 0 };
    let mut root = json::Root::default();

    let push_view = |bin: &mut BinaryBuffer<'a>,
                     root: &mut json::Root,
                     bytes: Cow<'a, [u8]>,
                     target: Option<json::buffer::Target>| {
        let length = bytes.len();
        let offset = bin.push(bytes);
        root.push(json::buffer::View {
            buffer: json::Index::new(0),
            byte_length: USize64::from(length),
            byte_offset: Some(USize64::from(offset)),
            byte_stride: None,
            name: None,
            target: target.map(Valid),
            extensions: None,
            extras: None,
        })
    };

    let positions = little_endian_bytes(&asset.mesh.positions);
    let normals = little_endian_bytes(&asset.normals);
    let uvs = little_endian_bytes(&asset.uvs);
    let indices = little_endian_bytes(&asset.mesh.triangles);
    let (min, max) = asset.mesh.bounds();

    let position_view = push_view(&mut bin, &mut root, positions, Some(json::buffer::Target::ArrayBuffer));
    let normal_view = push_view(&mut bin, &mut root, normals, Some(json::buffer::Target::ArrayBuffer));
    let uv_view = push_view(&mut bin, &mut root, uvs, Some(json::buffer::Target::ArrayBuffer));
    let index_view = push_view(&mut bin, &mut root, indices, Some(json::buffer::Target::ElementArrayBuffer));

    let accessor =
        |view, count: usize, component: json::accessor::ComponentType, kind, bounds: Option<([f32; 3], [f32; 3])>| {
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
    let position_accessor =
        root.push(accessor(position_view, vertex_count, ComponentType::F32, Type::Vec3, Some((min, max))));
    let normal_accessor = root.push(accessor(normal_view, vertex_count, ComponentType::F32, Type::Vec3, None));
    let uv_accessor = root.push(accessor(uv_view, vertex_count, ComponentType::F32, Type::Vec2, None));
    let index_accessor =
        root.push(accessor(index_view, asset.mesh.triangles.len() * 3, ComponentType::U32, Type::Scalar, None));

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
            let view = push_view(&mut bin, &mut root, Cow::Borrowed(png), None);
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
    let image = root.push(image);
    let sampler = root.push(json::texture::Sampler {
        mag_filter: Some(Valid(json::texture::MagFilter::Linear)),
        min_filter: Some(Valid(json::texture::MinFilter::LinearMipmapLinear)),
        wrap_s: Valid(json::texture::WrappingMode::ClampToEdge),
        wrap_t: Valid(json::texture::WrappingMode::ClampToEdge),
        ..Default::default()
    });
    let texture =
        root.push(json::Texture { name: None, sampler: Some(sampler), source: image, extensions: None, extras: None });
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
    let node = root.push(json::Node { mesh: Some(mesh), name: Some(asset.name.clone()), ..Default::default() });
    let record = serde_json::value::to_raw_value(&asset.record.for_file(reproducible)).ok();
    let scene =
        root.push(json::Scene { extensions: None, extras: record, name: Some(asset.name.clone()), nodes: vec![node] });
    root.scene = Some(scene);
    root.push(json::Buffer {
        byte_length: USize64::from(bin.length.next_multiple_of(4)),
        name: None,
        uri: side_files.map(|(buffer_uri, _)| buffer_uri.to_owned()),
        extensions: None,
        extras: None,
    });
    root.asset = json::Asset { generator: Some(crate::asset::generator_name()), ..Default::default() };
    let text = json::serialize::to_vec(&root).unwrap_or_default();
    (text, bin)
}

/// The values' bytes in little-endian order, as glTF buffers hold them. On little-endian machines
/// (all supported targets) this is a plain view of the memory, with no per-value work.
fn little_endian_bytes<T: bytemuck::Pod>(values: &[T]) -> Cow<'_, [u8]> {
    if cfg!(target_endian = "little") {
        Cow::Borrowed(bytemuck::cast_slice(values))
    } else {
        // Every component type written (f32, u32) is four bytes wide.
        let bytes: &[u8] = bytemuck::cast_slice(values);
        Cow::Owned(bytes.chunks_exact(4).flat_map(|word| [word[3], word[2], word[1], word[0]]).collect())
    }
}
