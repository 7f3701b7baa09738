//! Volumetric reconstruction from a learned field (a triplane model's decoder, run by the caller):
//! the density sampled on a grid over the field's cube (dense, or coarse-to-fine near the surface),
//! the surface extracted where it crosses the field's level, simplified, and its colours baked into
//! a texture atlas.
//!
//! Coarse-to-fine samples a grid four times coarser first and queries the fine grid only in and
//! next to the coarse cells the surface crosses, interpolating the coarse samples elsewhere (their
//! sign is right away from the surface). Parts thinner than about one coarse cell can be missed.
//!
//! The atlas gives every triangle its own half of a square cell, so no two triangles share texels
//! and any closed surface maps without overlaps; vertices are split per triangle for their texture
//! coordinates, so the file's mesh is closed by position (the welded mesh is what the record's
//! topology describes).

use image::RgbImage;

use crate::error::{EngineError, Result};
use crate::isosurface::{Inside, ScalarGrid, extract_isosurface};
use crate::mesh::TriMesh;
use crate::progress::CancelFlag;

/// Fine cells per coarse cell along each axis in coarse-to-fine sampling.
const COARSE_STEP: usize = 4;

/// A field over a cube: density and colour at points. Errors are the engine's (a failed model run
/// is [`EngineError::Reconstruction`]; a cancel is [`EngineError::Cancelled`]).
pub trait Field {
    /// Densities at `points`.
    fn densities(&self, points: &[[f32; 3]], cancel: &CancelFlag) -> Result<Vec<f32>>;
    /// sRGB colours (0..=1) at `points`.
    fn colours(&self, points: &[[f32; 3]], cancel: &CancelFlag) -> Result<Vec<[f32; 3]>>;
}

/// A learned volumetric model, run by the caller's inference runtime.
pub trait Reconstructor: Send + Sync + std::fmt::Debug {
    /// The model's name, for the generation record.
    fn name(&self) -> &str;
    /// Half the side of the cube centred on the origin that the field describes (+Y up, the
    /// pictured side facing +Z).
    fn radius(&self) -> f32;
    /// The density at the surface; the solid is where the density is above it.
    fn level(&self) -> f32;
    /// The field of the object in a square picture of it (transparent around it).
    fn encode<'a>(&'a self, image: &image::RgbaImage) -> Result<Box<dyn Field + 'a>>;
}

/// How to sample the density.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sampling {
    /// Cells along each axis of the cube (a multiple of 4, at least 8).
    pub grid: usize,
    /// Query the fine grid only near the surface.
    pub coarse_to_fine: bool,
}

/// An extracted surface and what it cost.
#[derive(Debug, Clone)]
pub struct Surface {
    /// The closed mesh, in the field's coordinates.
    pub mesh: TriMesh,
    /// Density queries made.
    pub queries: usize,
}

/// Samples `field` and extracts its surface; `progress` hears the share of queries done.
pub fn sample_surface(
    field: &dyn Field,
    radius: f32,
    level: f32,
    sampling: Sampling,
    cancel: &CancelFlag,
    progress: &mut dyn FnMut(f32),
) -> Result<Surface> {
    let grid = sampling.grid;
    if grid < COARSE_STEP * 2 || !grid.is_multiple_of(COARSE_STEP) {
        return Err(EngineError::InvalidOption {
            option: "grid",
            reason: format!("a volumetric model needs a multiple of {COARSE_STEP} of at least {}", COARSE_STEP * 2),
        });
    }
    let axis = grid + 1;
    let spacing = 2.0 * radius / grid as f32;
    let position = |i: usize| {
        let (x, y, z) = (i % axis, i / axis % axis, i / axis / axis);
        [-radius + x as f32 * spacing, -radius + y as f32 * spacing, -radius + z as f32 * spacing]
    };
    let mut values = vec![0.0f32; axis.pow(3)];
    let mut queries = 0;
    let wanted: Vec<usize> = if sampling.coarse_to_fine {
        let coarse_axis = grid / COARSE_STEP + 1;
        let coarse_points: Vec<[f32; 3]> = (0..coarse_axis.pow(3))
            .map(|i| {
                let (x, y, z) = (i % coarse_axis, i / coarse_axis % coarse_axis, i / coarse_axis / coarse_axis);
                position((z * COARSE_STEP * axis + y * COARSE_STEP) * axis + x * COARSE_STEP)
            })
            .collect();
        let coarse = field.densities(&coarse_points, cancel)?;
        queries += coarse.len();
        progress(0.2);
        fine_points_near_surface(&coarse, coarse_axis, axis, level, &mut values)
    } else {
        (0..values.len()).collect()
    };
    let first = if sampling.coarse_to_fine { 0.2 } else { 0.0 };
    for (batch, indices) in wanted.chunks(1 << 18).enumerate() {
        let points: Vec<[f32; 3]> = indices.iter().map(|&i| position(i)).collect();
        let densities = field.densities(&points, cancel)?;
        if densities.len() != points.len() {
            return Err(EngineError::Reconstruction {
                model: "field".to_owned(),
                reason: format!("{} densities for {} points", densities.len(), points.len()),
            });
        }
        for (&i, density) in indices.iter().zip(densities) {
            values[i] = density;
        }
        queries += points.len();
        let done = ((batch + 1) << 18).min(wanted.len());
        progress(first + (1.0 - first) * done as f32 / wanted.len().max(1) as f32);
    }
    let grid = ScalarGrid { dims: [axis; 3], values, origin: [-radius; 3], spacing: [spacing; 3] };
    let mesh = extract_isosurface(&grid, level, Inside::Above, cancel)?;
    Ok(Surface { mesh, queries })
}

/// Marks coarse cells the surface crosses (and their neighbours); fills `values` by trilinear
/// interpolation of the coarse samples away from them and returns the fine points to query.
fn fine_points_near_surface(
    coarse: &[f32],
    coarse_axis: usize,
    axis: usize,
    level: f32,
    values: &mut [f32],
) -> Vec<usize> {
    let cells = coarse_axis - 1;
    let at = |x: usize, y: usize, z: usize| coarse[(z * coarse_axis + y) * coarse_axis + x];
    let mut near = vec![false; cells.pow(3)];
    for z in 0..cells {
        for y in 0..cells {
            for x in 0..cells {
                let inside = (0..8).filter(|&c| at(x + (c & 1), y + (c >> 1 & 1), z + (c >> 2)) > level).count();
                if inside == 0 || inside == 8 {
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
    // A fine point on a cell face belongs to the cells either side.
    let owners = |v: usize| {
        let upper = (v / COARSE_STEP).min(cells - 1);
        let lower = if v.is_multiple_of(COARSE_STEP) && v > 0 { v / COARSE_STEP - 1 } else { upper };
        [lower, upper]
    };
    let mut wanted = Vec::new();
    for z in 0..axis {
        for y in 0..axis {
            for x in 0..axis {
                let index = (z * axis + y) * axis + x;
                let (ox, oy, oz) = (owners(x), owners(y), owners(z));
                if ox.iter().any(|&cx| oy.iter().any(|&cy| oz.iter().any(|&cz| near[(cz * cells + cy) * cells + cx]))) {
                    wanted.push(index);
                    continue;
                }
                let [(cx, fx), (cy, fy), (cz, fz)] = [x, y, z].map(|v| {
                    let cell = (v / COARSE_STEP).min(cells - 1);
                    (cell, v as f32 / COARSE_STEP as f32 - cell as f32)
                });
                let mut value = 0.0;
                for corner in 0..8 {
                    let (dx, dy, dz) = (corner & 1, corner >> 1 & 1, corner >> 2);
                    let weight = (if dx == 1 { fx } else { 1.0 - fx })
                        * (if dy == 1 { fy } else { 1.0 - fy })
                        * (if dz == 1 { fz } else { 1.0 - fz });
                    value += weight * at(cx + dx, cy + dy, cz + dz);
                }
                values[index] = value;
            }
        }
    }
    wanted
}

/// A mesh with one texture-atlas cell half per triangle and the field's colours baked in.
#[derive(Debug, Clone)]
pub struct Baked {
    /// The mesh with vertices split per triangle (closed by position).
    pub mesh: TriMesh,
    /// Per vertex of `mesh`: the welded mesh's smooth normal.
    pub normals: Vec<[f32; 3]>,
    /// Per vertex of `mesh`, in glTF convention (origin top left).
    pub uvs: Vec<[f32; 2]>,
    /// The atlas.
    pub texture: RgbImage,
}

/// Lays out one atlas cell half per triangle of `mesh` (in the field's coordinates) and fills each
/// with the field's colours at the points it covers.
pub fn bake_atlas(mesh: &TriMesh, field: &dyn Field, texture_px: u32, cancel: &CancelFlag) -> Result<Baked> {
    let side = texture_px as usize;
    let triangles = mesh.triangles.len();
    let per_row = (triangles.div_ceil(2) as f64).sqrt().ceil().max(1.0) as usize;
    let cell = side as f32 / per_row as f32;
    // Each cell holds two right triangles across its diagonal. A texel is painted for a triangle
    // when its centre lies within `reach` of the triangle, which covers every texel a bilinear
    // sample inside the triangle reads; triangles sit at least 2·reach apart, so no texel is
    // painted twice (smaller cells, on dense meshes with small textures, get less room).
    let reach = if cell >= 7.0 { 1.5f32 } else { (cell / 7.0 * 1.5).max(0.25) };
    let margin = reach;
    let leg = (cell - 2.0 * margin - 2.0 * reach * std::f32::consts::SQRT_2).max(0.5);
    let uv_of = |t: usize| -> [[f32; 2]; 3] {
        let (pair, second) = (t / 2, t % 2 == 1);
        let (x0, y0) = ((pair % per_row) as f32 * cell, (pair / per_row) as f32 * cell);
        if second {
            let (x, y) = (x0 + cell - margin, y0 + cell - margin);
            [[x, y], [x - leg, y], [x, y - leg]]
        } else {
            let (x, y) = (x0 + margin, y0 + margin);
            [[x, y], [x + leg, y], [x, y + leg]]
        }
    };
    let normals = mesh.smooth_normals();
    let mut texels: Vec<usize> = Vec::new();
    let mut points: Vec<[f32; 3]> = Vec::new();
    for (t, triangle) in mesh.triangles.iter().enumerate() {
        let [a, b, c] = uv_of(t);
        let positions = triangle.map(|vertex| mesh.positions[vertex as usize]);
        let denominator = (b[1] - c[1]) * (a[0] - c[0]) + (c[0] - b[0]) * (a[1] - c[1]);
        if denominator.abs() < 1e-9 {
            continue;
        }
        let min_x = (a[0].min(b[0]).min(c[0]) - reach).floor().max(0.0) as usize;
        let max_x = ((a[0].max(b[0]).max(c[0]) + reach).ceil() as usize).min(side);
        let min_y = (a[1].min(b[1]).min(c[1]) - reach).floor().max(0.0) as usize;
        let max_y = ((a[1].max(b[1]).max(c[1]) + reach).ceil() as usize).min(side);
        for y in min_y..max_y {
            for x in min_x..max_x {
                let p = [x as f32 + 0.5, y as f32 + 0.5];
                if distance_to_triangle(p, [a, b, c]) > reach {
                    continue;
                }
                // Barycentrics of the texel centre, clamped onto the triangle.
                let w0 = ((b[1] - c[1]) * (p[0] - c[0]) + (c[0] - b[0]) * (p[1] - c[1])) / denominator;
                let w1 = ((c[1] - a[1]) * (p[0] - c[0]) + (a[0] - c[0]) * (p[1] - c[1])) / denominator;
                let [w0, w1, w2] = [w0.max(0.0), w1.max(0.0), (1.0 - w0 - w1).max(0.0)];
                let sum = (w0 + w1 + w2).max(f32::MIN_POSITIVE);
                let point = [0, 1, 2]
                    .map(|axis| (w0 * positions[0][axis] + w1 * positions[1][axis] + w2 * positions[2][axis]) / sum);
                texels.push(y * side + x);
                points.push(point);
            }
        }
        if t % 4096 == 0 {
            cancel.check()?;
        }
    }
    let colours = field.colours(&points, cancel)?;
    if colours.len() != points.len() {
        return Err(EngineError::Reconstruction {
            model: "field".to_owned(),
            reason: format!("{} colours for {} points", colours.len(), points.len()),
        });
    }
    let mean = colours.iter().fold([0.0f32; 3], |sum, c| [sum[0] + c[0], sum[1] + c[1], sum[2] + c[2]]);
    let count = colours.len().max(1) as f32;
    let fill = mean.map(|channel| encode(channel / count));
    let mut texture = RgbImage::from_pixel(texture_px, texture_px, image::Rgb(fill));
    for (&texel, colour) in texels.iter().zip(&colours) {
        texture.put_pixel((texel % side) as u32, (texel / side) as u32, image::Rgb(colour.map(encode)));
    }
    let mut split = TriMesh::default();
    let mut split_normals = Vec::with_capacity(triangles * 3);
    let mut uvs = Vec::with_capacity(triangles * 3);
    for (t, triangle) in mesh.triangles.iter().enumerate() {
        let corners = uv_of(t);
        let base = split.positions.len() as u32;
        for (corner, &vertex) in corners.iter().zip(triangle) {
            split.positions.push(mesh.positions[vertex as usize]);
            split_normals.push(normals[vertex as usize]);
            uvs.push([corner[0] / side as f32, corner[1] / side as f32]);
        }
        split.triangles.push([base, base + 1, base + 2]);
    }
    Ok(Baked { mesh: split, normals: split_normals, uvs, texture })
}

/// Distance from `p` to the triangle (zero inside).
fn distance_to_triangle(p: [f32; 2], [a, b, c]: [[f32; 2]; 3]) -> f32 {
    let cross = |o: [f32; 2], u: [f32; 2], v: [f32; 2]| (u[0] - o[0]) * (v[1] - o[1]) - (u[1] - o[1]) * (v[0] - o[0]);
    let signs = [cross(a, b, p), cross(b, c, p), cross(c, a, p)];
    if signs.iter().all(|&sign| sign >= 0.0) || signs.iter().all(|&sign| sign <= 0.0) {
        return 0.0;
    }
    let segment = |u: [f32; 2], v: [f32; 2]| {
        let (dx, dy) = (v[0] - u[0], v[1] - u[1]);
        let length = (dx * dx + dy * dy).max(f32::MIN_POSITIVE);
        let t = (((p[0] - u[0]) * dx + (p[1] - u[1]) * dy) / length).clamp(0.0, 1.0);
        ((p[0] - u[0] - t * dx).powi(2) + (p[1] - u[1] - t * dy).powi(2)).sqrt()
    };
    segment(a, b).min(segment(b, c)).min(segment(c, a))
}

fn encode(value: f32) -> u8 {
    (value.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
}
