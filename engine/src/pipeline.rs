//! The generation pipeline: image bytes and options in, a textured asset out, with progress per
//! stage, cancellation, and a record of what was done.

use std::path::{Path, PathBuf};
use std::time::Instant;

use image::RgbImage;

use crate::asset::{Asset, GenerationRecord, RELIEF_MODEL, RecordedOptions, StageTimings, generator_name};
use crate::decode::{decode_dynamic, to_working_rgba};
use crate::error::{EngineError, Result};
use crate::export;
use crate::foreground::{Cutout, MaskSource, Segmenter, check_plane, extract_foreground_with};
use crate::mesh::TriMesh;
use crate::options::Format;
use crate::options::{Background, Options, Origin, Shape};
use crate::progress::{CancelFlag, ProgressSink, Stage};
use crate::refine::box_mean;
use crate::relief::DepthEstimator;
use crate::shape::{Built, Square, reconstruct};
use crate::texture::{ReliefShading, bake_relief_texture};
use crate::views::{Pictures, Side, View};
use crate::volume::{MAX_SAMPLING_GRID, Reconstructor, Sampling, bake_atlas, sample_surface};

/// The coarsest grid the relief falls back to when a finer one cannot be simplified soundly to the
/// face target.
const MIN_RETRY_GRID_PX: usize = 64;

/// The light is divided out of the texture only when its fit leaves at most this share of the
/// object's mean luminance unexplained (a busy texture or a flat-lit picture is left as it is).
pub(crate) const MAX_LIGHT_RESIDUAL: f32 = 0.35;

/// The smallest working resolution; larger pictures are shrunk to this (or the texture size, if
/// larger) right after decoding, which bounds memory and time for huge photos.
const WORKING_PX: u32 = 2048;

/// Learned models the caller runs for the engine (the engine itself runs none).
#[derive(Default, Clone, Copy)]
pub struct Models<'a> {
    /// Finds the object instead of the built-in background removal.
    pub segmenter: Option<&'a dyn Segmenter>,
    /// Shapes the built-in relief's front (unused with a `reconstructor`).
    pub depth: Option<&'a dyn DepthEstimator>,
    /// Builds the shape and its colours instead of the built-in relief.
    pub reconstructor: Option<&'a dyn Reconstructor>,
}

/// Runs decode, foreground, reconstruct, mesh and texture on one image.
pub fn generate(
    name: &str,
    bytes: &[u8],
    options: &Options,
    progress: &dyn ProgressSink,
    cancel: &CancelFlag,
) -> Result<Asset> {
    generate_with(name, bytes, options, Models::default(), progress, cancel)
}

/// [`generate`] with learned models helping.
pub fn generate_with(
    name: &str,
    bytes: &[u8],
    options: &Options,
    models: Models<'_>,
    progress: &dyn ProgressSink,
    cancel: &CancelFlag,
) -> Result<Asset> {
    options.validate()?;
    let mut timings = StageTimings::default();
    let span = tracing::info_span!("generate", source = name);
    let _entered = span.enter();

    let started = Instant::now();
    progress.report(Stage::Decode, 0.0);
    let decoded = decode_dynamic(bytes, name, &options.limits)?;
    let source_size_px = [decoded.width(), decoded.height()];
    let has_alpha = decoded.color().has_alpha();
    let image = to_working_rgba(decoded, WORKING_PX.max(options.texture_px));
    cancel.check()?;
    progress.report(Stage::Decode, 1.0);
    timings.decode = elapsed_ms(started);

    let started = Instant::now();
    progress.report(Stage::Foreground, 0.0);
    let cutout = extract_foreground_with(
        &image,
        has_alpha,
        &options.background,
        models.segmenter,
        &options.limits,
        options.foreground_ratio,
        cancel,
    )?;
    drop(image);
    progress.report(Stage::Foreground, 1.0);
    timings.foreground = elapsed_ms(started);
    let segmentation_model = (cutout.source == MaskSource::Segmentation)
        .then(|| models.segmenter.map(|segmenter| segmenter.name().to_owned()))
        .flatten();
    if let Some(reconstructor) = models.reconstructor {
        let shaped = volumetric(reconstructor, &cutout, options, &mut timings, progress, cancel)?;
        let record = GenerationRecord {
            generator: generator_name(),
            model: reconstructor.name().to_owned(),
            shape: String::new(),
            source: source_name(name),
            views: Vec::new(),
            up_in_picture: None,
            source_size_px,
            mask: cutout.source,
            segmentation_model,
            depth_model: None,
            options: recorded_options(options),
            vertices: shaped.mesh.positions.len(),
            faces: shaped.mesh.triangles.len(),
            genus: shaped.topology.genus(),
            watertight: shaped.topology.is_watertight_manifold(),
            size_m: shaped.size.map(tidy),
            timings_ms: timings,
        };
        tracing::info!(faces = record.faces, model = %record.model, "generated");
        return Ok(Asset {
            name: asset_name(name),
            mesh: shaped.mesh,
            normals: shaped.normals,
            uvs: shaped.uvs,
            texture: shaped.texture,
            warnings: [
                cutout.warnings.clone(),
                sampled_grid_warning(options, shaped.grid).into_iter().collect(),
                face_target_warnings(options, shaped.grid as u32, shaped.faces, shaped.unsimplified_faces),
            ]
            .concat(),
            record,
        });
    }

    let started = Instant::now();
    progress.report(Stage::Reconstruct, 0.0);
    let mut grid_px = options.grid_px as usize;
    let depth = match models.depth {
        Some(model) => {
            let failed = |reason: String| EngineError::Depth { model: model.name().to_owned(), reason };
            let map = model.estimate(&cutout.rgba).map_err(failed)?;
            check_plane(map.width, map.height, map.values.len(), "depth map").map_err(failed)?;
            cancel.check()?;
            Some(map)
        }
        None => None,
    };
    let (depth_start, depth_share) = if depth.is_some() { (0.3, 0.7) } else { (0.0, 1.0) };
    progress.report(Stage::Reconstruct, depth_start);
    let target_faces = options.target_faces as usize;
    let mut reconstruct_started = started;
    let luminance = luminance(&cutout.rgba);
    let (mut mesh, topology, relief_faces, built, (up, lens), front_heights) = loop {
        let square = Square { coverage: &cutout.coverage, luminance: &luminance, side: cutout.side() as usize };
        let reconstruction =
            reconstruct(square, grid_px, options.thickness, options.shape, depth.as_ref(), cancel, &mut |fraction| {
                progress.report(Stage::Reconstruct, depth_start + depth_share * fraction)
            })?;
        let (built, pose) = (reconstruction.built, (reconstruction.up, reconstruction.lens));
        let mut relief = reconstruction.relief;
        let front_heights = relief.take_front_surface();
        add_ms(&mut timings.reconstruct, reconstruct_started);
        cancel.check()?;
        let started = Instant::now();
        progress.report(Stage::Mesh, 0.0);
        let relief_faces = relief.mesh.triangles.len();
        let simplified =
            (relief_faces > target_faces).then(|| relief.mesh.simplified_to_unpinched(target_faces)).flatten();
        add_ms(&mut timings.mesh, started);
        match simplified {
            Some((mesh, topology)) => break (mesh, topology, relief_faces, built, pose, front_heights),
            // Collapsing a very dense relief to few faces in one pass can fold its thin rim onto
            // itself; a coarser grid gives the same shape, and the face count asked for.
            None if relief_faces > target_faces && grid_px / 2 >= MIN_RETRY_GRID_PX => {
                tracing::info!(grid_px, target_faces, "the mesh did not simplify soundly; trying a coarser grid");
                grid_px /= 2;
                reconstruct_started = Instant::now();
            }
            None => {
                // The pass at the target itself just failed (or was not needed): go on gentler.
                let started = Instant::now();
                let gentler = if relief_faces > target_faces { target_faces * 3 / 2 + 1 } else { target_faces };
                let (mesh, topology) = relief.mesh.simplified_with_topology(gentler);
                add_ms(&mut timings.mesh, started);
                break (mesh, topology, relief_faces, built, pose, front_heights);
            }
        }
    };
    let started = Instant::now();
    let mut warnings = cutout.warnings.clone();
    warnings.extend(lowered_grid_warning(options, grid_px));
    if mesh.triangles.is_empty() {
        return Err(EngineError::NoObject { reason: "the object is too thin to build a solid from".to_owned() });
    }
    if options.shape == Shape::Revolve && built == Built::Relief {
        warnings.push(
            "the silhouette has no mirror axis to revolve about (the axis would leave the object), so it was \
             built as relief"
                .to_owned(),
        );
    }
    cancel.check()?;
    // Texture coordinates are the front-view projection, taken before the mesh moves into place.
    let uvs: Vec<[f32; 2]> = mesh.positions.iter().map(|&[x, y, _]| [x / grid_px as f32, y / grid_px as f32]).collect();
    if let Some(lens) = lens {
        lens.unproject(&mut mesh);
    }
    if let Some(up) = up {
        stand_upright(&mut mesh, up);
    }
    let size = place(&mut mesh, options.size_m, options.origin);
    let normals = mesh.smooth_normals();
    progress.report(Stage::Mesh, 1.0);
    add_ms(&mut timings.mesh, started);

    let started = Instant::now();
    progress.report(Stage::Texture, 0.0);
    let front_normals = crate::light::normals(&front_heights, grid_px);
    let gain = delighting_gain(&cutout, &luminance, &front_normals, grid_px);
    let facing: Vec<f32> = front_normals.iter().map(|normal| normal[2]).collect();
    let shading = ReliefShading { grid_px, gain: gain.as_deref(), facing: Some(&facing) };
    let texture = bake_relief_texture(&cutout, options.texture_px, &shading);
    cancel.check()?;
    progress.report(Stage::Texture, 1.0);
    timings.texture = elapsed_ms(started);

    let record = GenerationRecord {
        generator: generator_name(),
        model: RELIEF_MODEL.to_owned(),
        shape: built.name().to_owned(),
        source: source_name(name),
        views: Vec::new(),
        up_in_picture: up.map(|[x, y, z]| [x, -y, z].map(|value| tidy(value + 0.0))),
        source_size_px,
        mask: cutout.source,
        segmentation_model,
        depth_model: models.depth.map(|model| model.name().to_owned()),
        options: recorded_options(options),
        vertices: mesh.positions.len(),
        faces: mesh.triangles.len(),
        genus: topology.genus(),
        watertight: topology.is_watertight_manifold(),
        size_m: size.map(tidy),
        timings_ms: timings,
    };
    tracing::info!(faces = record.faces, vertices = record.vertices, "generated");
    warnings.extend(face_target_warnings(options, grid_px as u32, mesh.triangles.len(), relief_faces));
    Ok(Asset { name: asset_name(name), mesh, normals, uvs, texture, record, warnings })
}

/// [`generate_with`] from several pictures of the object: `front` (its file name `name`) and `views`
/// from its other sides, which carve its shape and texture the sides they see (see
/// [`crate::views`]). With no other views this is [`generate_with`].
pub fn generate_views(
    name: &str,
    front: &[u8],
    views: &[View<'_>],
    options: &Options,
    models: Models<'_>,
    progress: &dyn ProgressSink,
    cancel: &CancelFlag,
) -> Result<Asset> {
    if views.is_empty() {
        return generate_with(name, front, options, models, progress, cancel);
    }
    options.validate()?;
    for (index, view) in views.iter().enumerate() {
        if views[..index].iter().any(|other| other.side == view.side) {
            return Err(EngineError::InvalidOption {
                option: "views",
                reason: format!("two {} pictures were given; give one picture per side", view.side.name()),
            });
        }
    }
    let started = Instant::now();
    progress.report(Stage::Decode, 0.0);
    let decoded = decode_dynamic(front, name, &options.limits)?;
    let source_size_px = [decoded.width(), decoded.height()];
    let mut pictures = vec![Picture::new(None, name, decoded, options)];
    for view in views {
        cancel.check()?;
        pictures.push(Picture::new(
            Some(view.side),
            view.name,
            decode_dynamic(view.bytes, view.name, &options.limits)?,
            options,
        ));
    }
    progress.report(Stage::Decode, 1.0);
    let decode_ms = elapsed_ms(started);
    let decoded = Decoded { name: name.to_owned(), source_size_px, pictures, decode_ms };
    generate_pictures(decoded, options, models, progress, cancel)
}

/// [`generate_views`] from a turnaround sheet: one picture holding the front, right, back and left
/// views side by side, in that order (two to four of them), split where the background between
/// them shows, or into equal squares when it cannot be told.
pub fn generate_sheet(
    name: &str,
    sheet: &[u8],
    options: &Options,
    models: Models<'_>,
    progress: &dyn ProgressSink,
    cancel: &CancelFlag,
) -> Result<Asset> {
    options.validate()?;
    let started = Instant::now();
    progress.report(Stage::Decode, 0.0);
    let decoded = decode_dynamic(sheet, name, &options.limits)?;
    let source_size_px = [decoded.width(), decoded.height()];
    let has_alpha = decoded.color().has_alpha();
    // Each panel gets the working resolution a single picture would.
    let image = to_working_rgba(decoded, WORKING_PX.max(options.texture_px).saturating_mul(4));
    let panels = crate::views::sheet_panels(&image)?;
    let sides = [None, Some(Side::Right), Some(Side::Back), Some(Side::Left)];
    let pictures = panels
        .iter()
        .zip(sides)
        .map(|(columns, side)| {
            let panel =
                image::imageops::crop_imm(&image, columns.start, 0, columns.end - columns.start, image.height())
                    .to_image();
            Picture {
                side,
                name: name.to_owned(),
                image: crate::decode::shrink_to(panel, WORKING_PX.max(options.texture_px)),
                has_alpha,
            }
        })
        .collect();
    drop(image);
    progress.report(Stage::Decode, 1.0);
    let decode_ms = elapsed_ms(started);
    let decoded = Decoded { name: name.to_owned(), source_size_px, pictures, decode_ms };
    generate_pictures(decoded, options, models, progress, cancel)
}

/// One decoded picture of several: the front (`side` none) or another side.
struct Picture {
    side: Option<Side>,
    name: String,
    image: image::RgbaImage,
    has_alpha: bool,
}

impl Picture {
    fn new(side: Option<Side>, name: &str, decoded: image::DynamicImage, options: &Options) -> Self {
        let has_alpha = decoded.color().has_alpha();
        Self {
            side,
            name: name.to_owned(),
            image: to_working_rgba(decoded, WORKING_PX.max(options.texture_px)),
            has_alpha,
        }
    }
}

/// Several pictures as decoded, the front first, with what the record says of them.
struct Decoded {
    /// The front's file name.
    name: String,
    /// The front's (or the sheet's) size, upright.
    source_size_px: [u32; 2],
    pictures: Vec<Picture>,
    decode_ms: f64,
}

/// Foreground, carving, meshing and texturing for several decoded pictures.
fn generate_pictures(
    decoded: Decoded,
    options: &Options,
    models: Models<'_>,
    progress: &dyn ProgressSink,
    cancel: &CancelFlag,
) -> Result<Asset> {
    let Decoded { name, source_size_px, pictures, decode_ms } = decoded;
    let name = name.as_str();
    if let Some(reconstructor) = models.reconstructor {
        return Err(EngineError::InvalidOption {
            option: "views",
            reason: format!(
                "the model {} builds from one picture; leave out the other views, or build with the built-in \
                 reconstructor ({RELIEF_MODEL})",
                reconstructor.name()
            ),
        });
    }
    let span = tracing::info_span!("generate", source = name, views = pictures.len());
    let _entered = span.enter();
    let mut timings = StageTimings { decode: decode_ms, ..StageTimings::default() };
    let started = Instant::now();
    progress.report(Stage::Foreground, 0.0);
    let count = pictures.len();
    let mut cutouts = Vec::with_capacity(count);
    let mut warnings = Vec::new();
    for (index, picture) in pictures.into_iter().enumerate() {
        let cutout = extract_foreground_with(
            &picture.image,
            picture.has_alpha,
            &options.background,
            models.segmenter,
            &options.limits,
            options.foreground_ratio,
            cancel,
        )
        .map_err(|error| match (picture.side, error) {
            (Some(side), EngineError::NoObject { reason }) => {
                EngineError::NoObject { reason: format!("in the {} picture ({}): {reason}", side.name(), picture.name) }
            }
            (_, error) => error,
        })?;
        let label = picture.side.map_or("front", Side::name);
        warnings.extend(cutout.warnings.iter().map(|warning| format!("{label} picture: {warning}")));
        cutouts.push((picture.side, cutout));
        progress.report(Stage::Foreground, (index + 1) as f32 / count as f32);
    }
    timings.foreground = elapsed_ms(started);
    let (front, others) =
        cutouts.split_first().ok_or_else(|| EngineError::NoObject { reason: "no picture was given".to_owned() })?;
    let front = &front.1;
    let others: Vec<(Side, &Cutout)> =
        others.iter().filter_map(|(side, cutout)| side.map(|side| (side, cutout))).collect();
    let segmentation_model = (front.source == MaskSource::Segmentation)
        .then(|| models.segmenter.map(|segmenter| segmenter.name().to_owned()))
        .flatten();
    if let Some(depth) = models.depth {
        warnings.push(format!(
            "the depth model {} was not used: with several pictures their silhouettes give the depth",
            depth.name()
        ));
    }

    let started = Instant::now();
    progress.report(Stage::Reconstruct, 0.0);
    let grid_px = options.grid_px as usize;
    let luminance = luminance(&front.rgba);
    let square = Square { coverage: &front.coverage, luminance: &luminance, side: front.side() as usize };
    let mut shaped = reconstruct(square, grid_px, options.thickness, options.shape, None, cancel, &mut |fraction| {
        progress.report(Stage::Reconstruct, 0.1 * fraction)
    })?;
    if shaped.built == Built::Legs {
        // The other pictures show where the legs stand; the single view only rounds what they
        // carve, as the inflated silhouette does.
        shaped = reconstruct(square, grid_px, options.thickness, Shape::Relief, None, cancel, &mut |fraction| {
            progress.report(Stage::Reconstruct, 0.1 + 0.1 * fraction)
        })?;
    }
    let pictures = Pictures::new(front, &others, options.texture_px as usize)?;
    let carved = crate::views::carve(
        &pictures,
        crate::views::SingleView {
            half: &shaped.relief.front_heights,
            middle: &shaped.relief.middle,
            built: shaped.built,
        },
        grid_px,
        options.target_faces as usize,
        cancel,
        &mut |fraction| progress.report(Stage::Reconstruct, 0.2 + 0.8 * fraction),
    )?;
    timings.reconstruct = elapsed_ms(started);
    if carved.mesh.triangles.is_empty() {
        return Err(EngineError::NoObject {
            reason: "the pictures' silhouettes share no solid: check that each view is named for where its camera was"
                .to_owned(),
        });
    }
    progress.report(Stage::Mesh, 1.0);
    let started = Instant::now();
    progress.report(Stage::Texture, 0.0);
    let cell = front.side() as f32 / grid_px as f32;
    let charted = crate::views::texture(&pictures, &carved.mesh, options.texture_px as usize, cell, cancel)?;
    progress.report(Stage::Texture, 1.0);
    timings.texture = elapsed_ms(started);

    let started = Instant::now();
    let mut welded = carved.mesh;
    let size = place(&mut welded, options.size_m, options.origin);
    let welded_normals = welded.smooth_normals();
    let mesh = TriMesh {
        positions: charted.welded_of.iter().map(|&vertex| welded.positions[vertex as usize]).collect(),
        triangles: charted.triangles,
    };
    let normals = charted.welded_of.iter().map(|&vertex| welded_normals[vertex as usize]).collect();
    add_ms(&mut timings.mesh, started);
    let record = GenerationRecord {
        generator: generator_name(),
        model: RELIEF_MODEL.to_owned(),
        shape: carved.built.to_owned(),
        source: source_name(name),
        views: pictures.names(),
        up_in_picture: None,
        source_size_px,
        mask: front.source,
        segmentation_model,
        depth_model: None,
        options: recorded_options(options),
        vertices: mesh.positions.len(),
        faces: mesh.triangles.len(),
        genus: carved.topology.genus(),
        watertight: carved.topology.is_watertight_manifold(),
        size_m: size.map(tidy),
        timings_ms: timings,
    };
    warnings.extend(if carved.depth_limited {
        sampled_grid_warning(options, carved.grid)
    } else {
        lowered_grid_warning(options, carved.grid)
    });
    warnings.extend(face_target_warnings(options, carved.grid as u32, mesh.triangles.len(), carved.unsimplified_faces));
    tracing::info!(faces = record.faces, views = record.views.len(), "generated");
    Ok(Asset { name: asset_name(name), mesh, normals, uvs: charted.uvs, texture: charted.texture, record, warnings })
}

/// Writes `asset` to `path` in `format` (see [`export::write_with`]), reporting the export stage;
/// returns every file written, the main file last.
pub fn export_asset(
    asset: &mut Asset,
    path: &Path,
    format: Format,
    options: &export::WriteOptions,
    progress: &dyn ProgressSink,
    cancel: &CancelFlag,
) -> Result<Vec<PathBuf>> {
    cancel.check()?;
    let started = Instant::now();
    progress.report(Stage::Export, 0.0);
    let written = export::write_with(asset, path, format, options)?;
    progress.report(Stage::Export, 1.0);
    asset.record.timings_ms.export = Some(elapsed_ms(started));
    Ok(written)
}

/// A single-precision value as the short decimal a person wrote (0.85, not 0.8500000238418579).
fn tidy(value: f32) -> f64 {
    value.to_string().parse().unwrap_or(f64::from(value))
}

/// Adds the milliseconds since `started` to `total`, kept to microseconds.
fn add_ms(total: &mut f64, started: Instant) {
    *total = ((*total + elapsed_ms(started)) * 1.0e3).round() / 1.0e3;
}

fn elapsed_ms(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1.0e6).round() / 1.0e3
}

/// The input's file name for the record, which every exported file carries: a user's folders
/// must not leak into shipped assets.
fn source_name(name: &str) -> String {
    let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
    if file.is_empty() { "image".to_owned() } else { file.to_owned() }
}

fn asset_name(source: &str) -> String {
    let stem = Path::new(source).file_stem().and_then(|stem| stem.to_str()).unwrap_or("asset");
    if stem.is_empty() { "asset".to_owned() } else { stem.to_owned() }
}

fn recorded_options(options: &Options) -> RecordedOptions {
    RecordedOptions {
        background: match options.background {
            Background::Auto => "auto",
            Background::Keep => "keep",
            Background::Builtin => "builtin",
            Background::Mask { .. } => "mask",
        }
        .to_owned(),
        foreground_ratio: tidy(options.foreground_ratio),
        target_faces: options.target_faces,
        texture_px: options.texture_px,
        shape: options.shape.name().to_owned(),
        thickness: tidy(options.thickness),
        origin: options.origin.name().to_owned(),
        size_m: tidy(options.size_m),
        grid_px: options.grid_px,
    }
}

/// A volumetric model's result, ready for the asset.
struct Shaped {
    mesh: TriMesh,
    normals: Vec<[f32; 3]>,
    uvs: Vec<[f32; 2]>,
    texture: RgbImage,
    /// Of the welded mesh (the file's mesh is split per triangle for the atlas).
    topology: crate::mesh::Topology,
    size: [f32; 3],
    /// Triangles of the welded mesh, and of the surface before it was simplified.
    faces: usize,
    unsimplified_faces: usize,
    /// The grid sampled: the options' grid, at most [`MAX_SAMPLING_GRID`].
    grid: usize,
}

/// Reconstruct, mesh and texture with a volumetric model: the cutout (its coverage as alpha) is
/// encoded, the density sampled coarse-to-fine on the options' grid, the surface simplified, its
/// colours baked into an atlas, and the mesh placed like the relief's.
fn volumetric(
    reconstructor: &dyn Reconstructor,
    cutout: &Cutout,
    options: &Options,
    timings: &mut StageTimings,
    progress: &dyn ProgressSink,
    cancel: &CancelFlag,
) -> Result<Shaped> {
    let started = Instant::now();
    progress.report(Stage::Reconstruct, 0.0);
    let mut picture = cutout.rgba.clone();
    for (pixel, coverage) in picture.pixels_mut().zip(&cutout.coverage) {
        pixel[3] = (f32::from(pixel[3]) * coverage.clamp(0.0, 1.0)).round() as u8;
    }
    let field = reconstructor.encode(&picture)?;
    cancel.check()?;
    let grid = (options.grid_px as usize).min(MAX_SAMPLING_GRID).next_multiple_of(4).max(8);
    let sampling = Sampling { grid, coarse_to_fine: true };
    let surface = sample_surface(
        field.as_ref(),
        reconstructor.radius(),
        reconstructor.level(),
        sampling,
        cancel,
        &mut |fraction| progress.report(Stage::Reconstruct, fraction),
    )?;
    timings.reconstruct = elapsed_ms(started);
    let started = Instant::now();
    progress.report(Stage::Mesh, 0.0);
    let (welded, topology) = surface.mesh.simplified_with_topology(options.target_faces as usize);
    if welded.triangles.is_empty() {
        return Err(EngineError::NoObject {
            reason: format!("the model {} found no surface for this picture", reconstructor.name()),
        });
    }
    cancel.check()?;
    progress.report(Stage::Mesh, 1.0);
    timings.mesh = elapsed_ms(started);
    let started = Instant::now();
    progress.report(Stage::Texture, 0.0);
    let baked = bake_atlas(&welded, field.as_ref(), options.texture_px, cancel)?;
    progress.report(Stage::Texture, 1.0);
    timings.texture = elapsed_ms(started);
    let mut mesh = baked.mesh;
    let (min, max) = welded.bounds();
    let mut anchor = [0, 1, 2].map(|axis| (min[axis] + max[axis]) / 2.0);
    if options.origin == Origin::Bottom {
        anchor[1] = min[1];
    }
    let extent = [0, 1, 2].map(|axis| max[axis] - min[axis]);
    let scale = options.size_m / extent.iter().copied().fold(0.0f32, f32::max).max(f32::MIN_POSITIVE);
    for position in &mut mesh.positions {
        *position = [0, 1, 2].map(|axis| (position[axis] - anchor[axis]) * scale);
    }
    Ok(Shaped {
        mesh,
        normals: baked.normals,
        uvs: baked.uvs,
        texture: baked.texture,
        topology,
        size: extent.map(|length| length * scale),
        faces: welded.triangles.len(),
        unsimplified_faces: surface.mesh.triangles.len(),
        grid,
    })
}

/// A sentence for the user when a volume was sampled on a coarser grid (`grid`) than the options'
/// because a finer one would not fit in memory.
fn sampled_grid_warning(options: &Options, grid: usize) -> Option<String> {
    (grid < options.grid_px as usize).then(|| {
        format!(
            "the reconstruction grid was lowered from {asked} to {grid} cells: a volume is sampled on at most \
             {MAX_SAMPLING_GRID} cells across its whole depth, to keep it within memory",
            asked = options.grid_px
        )
    })
}

/// A sentence for the user when the grid had to be lowered from the one asked for (to `grid_px`)
/// because the finer mesh could not be simplified soundly to the face target.
fn lowered_grid_warning(options: &Options, grid_px: usize) -> Option<String> {
    (grid_px != options.grid_px as usize).then(|| {
        format!(
            "the reconstruction grid was lowered from {asked} to {grid_px} cells: at {asked} cells the mesh could not \
             be simplified to {faces} faces without opening its surface",
            asked = options.grid_px,
            faces = options.target_faces
        )
    })
}

/// A sentence for the user when the mesh misses the face target by more than 1%: the target is a
/// promise, so falling short or going over is said, with why and what to do.
fn face_target_warnings(options: &Options, grid: u32, faces: usize, available: usize) -> Vec<String> {
    let target = options.target_faces as usize;
    if faces.abs_diff(target) as f64 <= target as f64 * 0.01 {
        return Vec::new();
    }
    vec![if faces < target && grid < options.grid_px {
        // The grid was lowered because the asked-for one could not be simplified soundly (said in
        // its own warning); raising it again would not help.
        format!("the mesh has {faces} faces, fewer than the {target} asked for, from the lowered grid of {grid} cells")
    } else if faces < target && available < target {
        let finest = threedgpt_options::GRID.int().max;
        if grid >= finest {
            format!(
                "the mesh has {faces} faces, fewer than the {target} asked for: the finest reconstruction grid \
                 ({grid} cells) gives no more for this picture"
            )
        } else {
            format!(
                "the mesh has {faces} faces, fewer than the {target} asked for: the reconstruction grid of {grid} \
                 cells gives no more for this picture; raise the grid (e.g. to {}) for more faces",
                grid.saturating_mul(2).min(finest)
            )
        }
    } else {
        format!(
            "the mesh has {faces} faces instead of the {target} asked for: simplifying it further would have \
             opened its surface; lower the grid (now {grid}) to get closer to the target"
        )
    }]
}

/// Turns a grid-space mesh (x right, y down, z to the viewer) so that `up`, a unit vector in that
/// frame, points up the picture: an object the camera looked down on stands on its base. The
/// smallest turn that does it (about `up × (0, -1, 0)`), so a level camera's picture turns about its
/// horizontal. Where it turns about does not matter: [`place`] moves the mesh next.
fn stand_upright(mesh: &mut TriMesh, up: [f32; 3]) {
    let axis = [f64::from(up[2]), 0.0, f64::from(-up[0])];
    let sin = (axis[0] * axis[0] + axis[2] * axis[2]).sqrt();
    let angle = sin.atan2(f64::from(-up[1]));
    if sin < 1.0e-9 {
        return;
    }
    let turn = crate::linear::rotation(&axis.map(|value| value / sin * angle));
    for position in &mut mesh.positions {
        *position = crate::linear::apply(&turn, &position.map(f64::from)).map(|value| value as f32);
    }
}

/// Moves a grid-space mesh (x right, y down, z to the viewer) into glTF space: +Y up, the front
/// facing +Z, longest side `size_m`, the origin at the centre of the base (the lowest point's
/// height, the bounding box's middle across) or of the bounding box. Returns the bounding box size.
fn place(mesh: &mut TriMesh, size_m: f32, origin: Origin) -> [f32; 3] {
    let (min, max) = mesh.bounds();
    let mut anchor = [0, 1, 2].map(|axis| (min[axis] + max[axis]) / 2.0);
    if origin == Origin::Bottom {
        // Grid y grows downwards: the base is the largest y.
        anchor[1] = max[1];
    }
    let extent = [0, 1, 2].map(|axis| max[axis] - min[axis]);
    let longest = extent.iter().copied().fold(0.0f32, f32::max).max(f32::MIN_POSITIVE);
    let scale = size_m / longest;
    for position in &mut mesh.positions {
        *position =
            [(position[0] - anchor[0]) * scale, (anchor[1] - position[1]) * scale, (position[2] - anchor[2]) * scale];
    }
    extent.map(|length| length * scale)
}

/// The cutout's luminance in linear light (Rec. 709 weights, `0..=1`), for the shape's flat test and
/// the light estimate.
fn luminance(rgba: &image::RgbaImage) -> Vec<f32> {
    use crate::foreground::srgb_to_linear;
    rgba.pixels()
        .map(|pixel| {
            0.2126 * srgb_to_linear(pixel[0]) + 0.7152 * srgb_to_linear(pixel[1]) + 0.0722 * srgb_to_linear(pixel[2])
        })
        .collect()
}

/// The factor per grid vertex that divides the picture's light out of the texture: the light fitted
/// to the front's normals a little inside the outline (where a height field's normals are sound);
/// none when the fit explains too little of the shading to trust.
fn delighting_gain(cutout: &Cutout, luminance: &[f32], normals: &[[f32; 3]], grid_px: usize) -> Option<Vec<f32>> {
    let side = cutout.side() as usize;
    if normals.len() != grid_px * grid_px || luminance.len() != side * side {
        return None;
    }
    let coverage = crate::resample::resample(&cutout.coverage, 1, (side, side), (grid_px, grid_px));
    let shading = crate::resample::resample(luminance, 1, (side, side), (grid_px, grid_px));
    let inside = crate::mask::Mask::from_fn(grid_px, grid_px, |x, y| coverage[y * grid_px + x] > 0.5);
    let trusted = inside.eroded((grid_px / 64).max(2));
    let light = crate::light::estimate(&shading, normals, &trusted.cells)?;
    tracing::debug!(?light, "estimated the light");
    if light.residual > MAX_LIGHT_RESIDUAL {
        return None;
    }
    // Shading is smooth; the height field's normals carry a little noise from row to row, which the
    // gain would print into the texture as streaks, so it is averaged over a few cells.
    let gain = light.gain(normals, &inside.cells);
    let weights: Vec<f32> = inside.cells.iter().map(|&inside| f32::from(u8::from(inside))).collect();
    let weighted: Vec<f32> = gain.iter().zip(&weights).map(|(gain, weight)| gain * weight).collect();
    let radius = (grid_px / 96).max(1);
    let (sum, total) =
        (box_mean(&weighted, (grid_px, grid_px), radius), box_mean(&weights, (grid_px, grid_px), radius));
    Some(
        (0..grid_px * grid_px)
            .map(|index| if inside.cells[index] { sum[index] / total[index].max(1.0e-6) } else { 1.0 })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_face_shortfall_suggests_a_finer_grid_only_where_there_is_one() {
        let options = Options::default().with_target_faces(5_000_000);
        let coarse = face_target_warnings(&options.clone().with_grid_px(512), 512, 300_000, 300_000);
        assert!(coarse[0].contains("raise the grid (e.g. to 1024)"), "{coarse:?}");
        let nearly = face_target_warnings(&options.clone().with_grid_px(1536), 1536, 3_000_000, 3_000_000);
        assert!(nearly[0].contains("raise the grid (e.g. to 2048)"), "{nearly:?}");
        // At the finest grid there is nothing to raise: the warning says it is the most there is.
        let finest = face_target_warnings(&options.with_grid_px(2048), 2048, 4_391_660, 4_391_660);
        assert!(finest[0].contains("the finest reconstruction grid (2048 cells) gives no more"), "{finest:?}");
        assert!(!finest[0].contains("raise the grid"), "{finest:?}");
    }
}
