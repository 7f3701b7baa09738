//! Volumetric reconstruction from a learned field (a triplane model's decoder, run by the caller):
//! the density sampled on a grid over the field's cube (dense, or coarse-to-fine near the surface),
//! the surface extracted where it crosses the field's level, simplified, and its colours baked into
//! a texture atlas.
//!
//! Coarse-to-fine samples a grid four times coarser first and queries the fine grid only in the
//! coarse cells the surface crosses and in those it runs on into through a face. A part of
//! the surface that crosses no coarse cell (thinner than about one coarse cell) can be missed.
//!
//! The atlas gives every triangle its own half of a square cell, so no two triangles share texels
//! and any closed surface maps without overlaps; vertices are split per triangle for their texture
//! coordinates, so the file's mesh is closed by position (the welded mesh is what the record's
//! topology describes).

use image::RgbImage;

use crate::error::{EngineError, Result};
use crate::isosurface::{Blocks, Inside, ScalarGrid, extract_isosurface, extract_isosurface_in_blocks};
use crate::mesh::TriMesh;
use crate::progress::CancelFlag;

/// Fine cells per coarse cell along each axis in coarse-to-fine sampling.
const COARSE_STEP: usize = 4;

/// The most cells along each axis a density is sampled on. The samples are held densely
/// (`(grid + 1)³` floats, 540 MB at 512), so a finer grid is refused, not run out of memory on.
pub const MAX_SAMPLING_GRID: usize = 512;

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
    sample_densities(&|points, cancel| field.densities(points, cancel), radius, level, sampling, cancel, progress)
}

/// Densities at points of the cube, as [`Field::densities`] gives them.
pub(crate) type Densities<'a> = dyn Fn(&[[f32; 3]], &CancelFlag) -> Result<Vec<f32>> + 'a;

/// [`sample_surface`] for any density over the cube (the visual hull of several views is one).
pub(crate) fn sample_densities(
    densities: &Densities<'_>,
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
    if grid > MAX_SAMPLING_GRID {
        return Err(EngineError::InvalidOption {
            option: "grid",
            reason: format!(
                "a volume is sampled on at most {MAX_SAMPLING_GRID} cells across; {grid} would hold {:.0} GB of samples",
                ((grid + 1) as f64).powi(3) * 4.0 / 1e9
            ),
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
    let mut query = |indices: &[usize], values: &mut [f32]| -> Result<()> {
        for chunk in indices.chunks(1 << 18) {
            let points: Vec<[f32; 3]> = chunk.iter().map(|&i| position(i)).collect();
            let densities = densities(&points, cancel)?;
            if densities.len() != points.len() {
                return Err(EngineError::Reconstruction {
                    model: "field".to_owned(),
                    reason: format!("{} densities for {} points", densities.len(), points.len()),
                });
            }
            for (&i, density) in chunk.iter().zip(densities) {
                // Nothing is inside on the cube's faces, so the surface closes there, flat, where
                // a field runs past the cube (a model's object too big for it, a carve too wide).
                let (x, y, z) = (i % axis, i / axis % axis, i / axis / axis);
                let on_face = [x, y, z].iter().any(|&c| c == 0 || c == grid);
                values[i] = if on_face { density.min(level) } else { density };
            }
            queries += points.len();
        }
        Ok(())
    };
    let spacing_grid = |values| ScalarGrid { dims: [axis; 3], values, origin: [-radius; 3], spacing: [spacing; 3] };
    let mesh = if sampling.coarse_to_fine {
        let mut refinement = Refinement::new(grid / COARSE_STEP, level);
        let coarse = refinement.coarse_points();
        query(&coarse, &mut values)?;
        progress(0.2);
        let mut wave = refinement.crossing_cells(&values);
        let (mut done, mut reported) = (0, 0.2f32);
        while !wave.is_empty() {
            let wanted = refinement.points_of(&wave);
            // Most points come in the first wave; later ones grow it where the surface leaves it,
            // so the share is of the points known so far, and never reported lower than before.
            let mut left = wanted.len();
            for part in wanted.chunks(1 << 18) {
                query(part, &mut values)?;
                done += part.len();
                left -= part.len();
                reported = reported.max(0.2 + 0.75 * done as f32 / (done + left).max(1) as f32);
                progress(reported);
            }
            wave = refinement.grow(&wave, &values);
        }
        progress(1.0);
        // The surface lies in the refined cells only (a face it crosses into an unrefined cell
        // would have refined that one), and their samples are all exact.
        let cells = refinement.cells;
        let blocks = Blocks { side: COARSE_STEP, counts: [cells; 3], marked: &refinement.refined };
        extract_isosurface_in_blocks(&spacing_grid(values), level, Inside::Above, blocks, cancel)?
    } else {
        let all: Vec<usize> = (0..values.len()).collect();
        for (batch, part) in all.chunks(1 << 18).enumerate() {
            query(part, &mut values)?;
            progress(((batch + 1) << 18).min(all.len()) as f32 / all.len() as f32);
        }
        extract_isosurface(&spacing_grid(values), level, Inside::Above, cancel)?
    };
    Ok(Surface { mesh, queries })
}

/// Coarse-to-fine sampling: the fine grid is queried in the coarse cells the surface crosses, then
/// in every neighbour that the refined surface runs into through a shared face, until it is
/// enclosed. Only the refined cells are extracted; no other fine point is asked for or read.
struct Refinement {
    /// Coarse cells along each axis.
    cells: usize,
    /// Fine points along each axis.
    axis: usize,
    level: f32,
    refined: Vec<bool>,
    /// Fine points already asked for, one bit each.
    taken: Vec<u64>,
}

impl Refinement {
    fn new(cells: usize, level: f32) -> Self {
        let axis = cells * COARSE_STEP + 1;
        Self { cells, axis, level, refined: vec![false; cells.pow(3)], taken: vec![0; axis.pow(3).div_ceil(64)] }
    }

    fn fine(&self, [x, y, z]: [usize; 3]) -> usize {
        (z * self.axis + y) * self.axis + x
    }

    fn cell_index(&self, [x, y, z]: [usize; 3]) -> usize {
        (z * self.cells + y) * self.cells + x
    }

    /// The fine indices of the coarse grid's points.
    fn coarse_points(&self) -> Vec<usize> {
        let side = self.cells + 1;
        (0..side.pow(3))
            .map(|i| self.fine([i % side, i / side % side, i / side / side].map(|c| c * COARSE_STEP)))
            .collect()
    }

    /// With the coarse points in `values`: the cells whose corners lie on both sides of the level.
    fn crossing_cells(&self, values: &[f32]) -> Vec<[usize; 3]> {
        let cells = self.cells;
        let mut crossing = Vec::new();
        for z in 0..cells {
            for y in 0..cells {
                for x in 0..cells {
                    let inside = (0..8)
                        .filter(|&c| {
                            let corner = [x + (c & 1), y + (c >> 1 & 1), z + (c >> 2)].map(|v| v * COARSE_STEP);
                            values[self.fine(corner)] > self.level
                        })
                        .count();
                    if inside != 0 && inside != 8 {
                        crossing.push([x, y, z]);
                    }
                }
            }
        }
        crossing
    }

    /// Marks `wave` refined and returns its fine points (faces included) not asked for before.
    fn points_of(&mut self, wave: &[[usize; 3]]) -> Vec<usize> {
        let mut wanted = Vec::new();
        for &cell in wave {
            let index = self.cell_index(cell);
            self.refined[index] = true;
            let [xs, ys, zs] = cell.map(|c| COARSE_STEP * c..=COARSE_STEP * (c + 1));
            for z in zs {
                for y in ys.clone() {
                    for x in xs.clone() {
                        let point = self.fine([x, y, z]);
                        let (word, bit) = (point / 64, 1u64 << (point % 64));
                        if self.taken[word] & bit == 0 {
                            self.taken[word] |= bit;
                            wanted.push(point);
                        }
                    }
                }
            }
        }
        wanted
    }

    /// The unrefined neighbours of `wave` across a face whose fine points lie on both sides of the
    /// level: the surface runs on into them.
    fn grow(&self, wave: &[[usize; 3]], values: &[f32]) -> Vec<[usize; 3]> {
        let mut next = Vec::new();
        let mut queued = std::collections::HashSet::new();
        for &cell in wave {
            for axis in 0..3 {
                for upward in [false, true] {
                    let mut neighbour = cell;
                    if upward {
                        if cell[axis] + 1 == self.cells {
                            continue;
                        }
                        neighbour[axis] += 1;
                    } else {
                        if cell[axis] == 0 {
                            continue;
                        }
                        neighbour[axis] -= 1;
                    }
                    if self.refined[self.cell_index(neighbour)] || queued.contains(&neighbour) {
                        continue;
                    }
                    let fixed = COARSE_STEP * (cell[axis] + usize::from(upward));
                    let [a, b] = [(axis + 1) % 3, (axis + 2) % 3];
                    let (mut inside, mut outside) = (false, false);
                    for i in 0..=COARSE_STEP {
                        for j in 0..=COARSE_STEP {
                            let mut point = [0; 3];
                            point[axis] = fixed;
                            point[a] = COARSE_STEP * cell[a] + i;
                            point[b] = COARSE_STEP * cell[b] + j;
                            if values[self.fine(point)] > self.level {
                                inside = true;
                            } else {
                                outside = true;
                            }
                        }
                    }
                    if inside && outside {
                        queued.insert(neighbour);
                        next.push(neighbour);
                    }
                }
            }
        }
        next
    }
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
    // The field is asked for colours on a triangular lattice over each triangle, about one point
    // every two texels along a leg, and each texel interpolates the lattice linearly: far fewer
    // decoder queries than one per texel, and the decoder's colour varies slowly at that scale.
    let order = ((leg / 2.0).ceil() as usize).max(1);
    let lattice = Lattice::new(order);
    let mut points: Vec<[f32; 3]> = Vec::with_capacity(triangles * lattice.len());
    for triangle in &mesh.triangles {
        let positions = triangle.map(|vertex| mesh.positions[vertex as usize]);
        for (i, j) in lattice.points() {
            let [w1, w2] = [i, j].map(|step| step as f32 / order as f32);
            let w0 = 1.0 - w1 - w2;
            points.push(
                [0, 1, 2].map(|axis| w0 * positions[0][axis] + w1 * positions[1][axis] + w2 * positions[2][axis]),
            );
        }
    }
    cancel.check()?;
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
    // Clamped and scaled once, so a texel is its interpolated level cast to a byte (half up).
    let levels: Vec<[f32; 3]> = colours.iter().map(|colour| colour.map(|c| c.clamp(0.0, 1.0) * 255.0 + 0.5)).collect();
    // Cells are laid out in rows, so horizontal bands of the texture hold disjoint triangles and are
    // painted on threads of their own.
    let rows_of_cells = triangles.div_ceil(2).div_ceil(per_row).max(1);
    let bands = std::thread::available_parallelism().map_or(1, |cores| cores.get()).clamp(1, 4).min(rows_of_cells);
    // A texel belongs to the row of cells its centre lies in.
    let first_texel_row = |row_of_cells: usize| ((row_of_cells as f32 * cell - 0.5).ceil().max(0.0) as usize).min(side);
    let mut parts = Vec::with_capacity(bands);
    let mut rest: &mut [u8] = &mut texture;
    let mut start = 0;
    for band in 0..bands {
        let cell_rows = band * rows_of_cells / bands..(band + 1) * rows_of_cells / bands;
        let end = if band + 1 == bands { side } else { first_texel_row(cell_rows.end) };
        let (head, tail) = rest.split_at_mut((end - start) * side * 3);
        let triangles = (cell_rows.start * per_row * 2).min(triangles)..(cell_rows.end * per_row * 2).min(triangles);
        parts.push((triangles, start..end, head));
        rest = tail;
        start = end;
    }
    // Lattice steps per texel along a leg.
    let scale = order as f32 / leg;
    let paint = |triangles: std::ops::Range<usize>, rows: std::ops::Range<usize>, band: &mut [u8]| -> Result<()> {
        for t in triangles {
            let triangle_levels = &levels[t * lattice.len()..(t + 1) * lattice.len()];
            // Each triangle is right-angled at its first corner, its legs along the texture's axes
            // (towards +x and +y for the first of a cell, -x and -y for the second): in
            // coordinates along the legs it is `u, v >= 0, u + v <= leg`.
            let [corner, _, _] = uv_of(t);
            let sign = if t % 2 == 1 { -1.0 } else { 1.0 };
            let (low_y, high_y) = if sign > 0.0 { (corner[1], corner[1] + leg) } else { (corner[1] - leg, corner[1]) };
            let min_y = ((low_y - reach).floor().max(0.0) as usize).max(rows.start);
            let max_y = ((high_y + reach).ceil() as usize).min(rows.end);
            for y in min_y..max_y {
                let v = sign * (y as f32 + 0.5 - corner[1]);
                // Texels within reach of the triangle on this row have `u` in this span (it holds
                // the reach around both legs and the hypotenuse).
                let (u_low, u_high) = (-reach, leg - v + reach * std::f32::consts::SQRT_2);
                let (x_low, x_high) = if sign > 0.0 { (u_low, u_high) } else { (-u_high, -u_low) };
                let first = (corner[0] - 0.5 + x_low).ceil().max(0.0) as usize;
                let last = ((corner[0] - 0.5 + x_high).floor() + 1.0).max(0.0) as usize;
                let row = &mut band[(y - rows.start) * side * 3..(y - rows.start + 1) * side * 3];
                for x in first..last.min(side) {
                    let u = sign * (x as f32 + 0.5 - corner[0]);
                    // The closest point of the triangle to the texel centre.
                    let (closest_u, closest_v) = if u + v > leg {
                        let along = ((u - v + leg) / 2.0).clamp(0.0, leg);
                        (along, leg - along)
                    } else {
                        (u.clamp(0.0, leg), v.clamp(0.0, leg))
                    };
                    if (u - closest_u).powi(2) + (v - closest_v).powi(2) > reach * reach {
                        continue;
                    }
                    let level = lattice.interpolate(triangle_levels, closest_u * scale, closest_v * scale);
                    let pixel = &mut row[x * 3..x * 3 + 3];
                    pixel[0] = level[0] as u8;
                    pixel[1] = level[1] as u8;
                    pixel[2] = level[2] as u8;
                }
            }
            if t % 4096 == 0 {
                cancel.check()?;
            }
        }
        Ok(())
    };
    std::thread::scope(|scope| {
        let painters: Vec<_> =
            parts.into_iter().map(|(triangles, rows, band)| scope.spawn(|| paint(triangles, rows, band))).collect();
        painters
            .into_iter()
            .try_for_each(|painter| painter.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })?;
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

/// The points `(i, j)`, `i + j <= order`, of a triangle's lattice: barycentric weights `i / order`
/// for its second corner and `j / order` for its third.
struct Lattice {
    order: usize,
}

impl Lattice {
    fn new(order: usize) -> Self {
        Self { order }
    }

    fn len(&self) -> usize {
        (self.order + 1) * (self.order + 2) / 2
    }

    fn points(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (0..=self.order).flat_map(move |i| (0..=self.order - i).map(move |j| (i, j)))
    }

    fn index(&self, i: usize, j: usize) -> usize {
        // Row i holds order + 1 - i points.
        i * (self.order + 1) - (i * i - i) / 2 + j
    }

    /// The linear interpolation of `values` (one per lattice point) at lattice coordinates `u`, `v`
    /// (the second and third corners' weights times the order).
    #[inline]
    fn interpolate(&self, values: &[[f32; 3]], u: f32, v: f32) -> [f32; 3] {
        let order = self.order;
        let (u, v) = (u.max(0.0), v.max(0.0));
        // Truncation is the floor here: both are at least zero.
        let i = (u as usize).min(order - 1);
        let j = (v as usize).min(order - 1 - i);
        let (fu, fv) = (u - i as f32, v - j as f32);
        // Points (i, j) and (i, j + 1) sit at `row + j` and after; (i + 1, j) starts the next row.
        let row = self.index(i, 0) + j;
        let next_row = row + order + 1 - i;
        let ([a, b, c], [wa, wb, wc]) = if fu + fv <= 1.0 || i + j + 1 >= order {
            ([values[row], values[next_row], values[row + 1]], [1.0 - fu - fv, fu, fv])
        } else {
            ([values[next_row + 1], values[row + 1], values[next_row]], [fu + fv - 1.0, 1.0 - fu, 1.0 - fv])
        };
        [a[0] * wa + b[0] * wb + c[0] * wc, a[1] * wa + b[1] * wb + c[1] * wc, a[2] * wa + b[2] * wb + c[2] * wc]
    }
}

fn encode(value: f32) -> u8 {
    (value.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
}
