//! Isosurface extraction from a dense scalar grid, for the volumetric reconstructors: marching
//! cubes with a case table built from face-consistent loops, so the surface is watertight and
//! 2-manifold for any field.
//!
//! Classic marching-cubes tables leave holes where a cube face has its inside corners on one
//! diagonal (an ambiguous face), because the two cubes sharing that face may cut it differently.
//! Here every face is cut by a rule that reads that face's four corners only (on an ambiguous face
//! each inside corner is cut off on its own), so both cubes agree. The cuts on a cube's six faces
//! join into closed loops on its surface, and each loop becomes a disk of triangles: a fan, or a
//! fan around the loop's centre where a fan diagonal would join two vertices of one face (the
//! neighbouring cube could draw that diagonal too). Crossing vertices are keyed by grid edge and
//! shared between cubes. This makes about a third of the triangles of marching tetrahedra.

use crate::error::Result;
use crate::mesh::TriMesh;
use crate::progress::CancelFlag;

/// Samples of a scalar field on a regular grid, `x` varying fastest.
#[derive(Debug, Clone)]
pub struct ScalarGrid {
    /// Samples along x, y and z.
    pub dims: [usize; 3],
    /// `dims[0] * dims[1] * dims[2]` values.
    pub values: Vec<f32>,
    /// Position of sample (0, 0, 0).
    pub origin: [f32; 3],
    /// Distance between neighbouring samples along each axis.
    pub spacing: [f32; 3],
}

impl ScalarGrid {
    /// Samples `field` on a grid of `dims` points from `origin` with `spacing`.
    pub fn from_fn(dims: [usize; 3], origin: [f32; 3], spacing: [f32; 3], field: impl Fn([f32; 3]) -> f32) -> Self {
        let mut values = Vec::with_capacity(dims[0] * dims[1] * dims[2]);
        for z in 0..dims[2] {
            for y in 0..dims[1] {
                for x in 0..dims[0] {
                    values.push(field([
                        origin[0] + x as f32 * spacing[0],
                        origin[1] + y as f32 * spacing[1],
                        origin[2] + z as f32 * spacing[2],
                    ]));
                }
            }
        }
        Self { dims, values, origin, spacing }
    }
}

/// Which side of the level is the solid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inside {
    /// Values below the level are inside (signed distance fields).
    Below,
    /// Values above the level are inside (densities, occupancies).
    Above,
}

/// A cube corner's offset along x, y and z (bit 0 = +x, bit 1 = +y, bit 2 = +z).
fn corner_offset(corner: usize) -> [usize; 3] {
    [corner & 1, (corner >> 1) & 1, (corner >> 2) & 1]
}

/// The twelve cube edges as (lower corner, axis).
const EDGES: [(usize, usize); 12] =
    [(0, 0), (2, 0), (4, 0), (6, 0), (0, 1), (1, 1), (4, 1), (5, 1), (0, 2), (1, 2), (2, 2), (3, 2)];

/// How one cube configuration is triangulated.
#[derive(Debug, Default)]
struct Case {
    /// Triangles facing out of the solid; entries below 12 are edges, `12 + k` is centre `k`.
    triangles: Vec<[u8; 3]>,
    /// Edges of each loop whose centre is a vertex.
    centres: Vec<Vec<u8>>,
}

/// The cases of all 256 inside/outside configurations, built once.
fn cases() -> &'static [Case] {
    static CASES: std::sync::OnceLock<Vec<Case>> = std::sync::OnceLock::new();
    CASES.get_or_init(|| (0..256).map(|code| build_case(code as u8)).collect())
}

fn edge_index(lower: usize, axis: usize) -> usize {
    EDGES.iter().position(|&edge| edge == (lower, axis)).expect("every cube edge is listed")
}

/// The two faces (axis, side) an edge lies on.
fn edge_faces(edge: usize) -> [(usize, usize); 2] {
    let (corner, axis) = EDGES[edge];
    let offset = corner_offset(corner);
    let [a, b] = [(axis + 1) % 3, (axis + 2) % 3];
    [(a, offset[a]), (b, offset[b])]
}

fn build_case(code: u8) -> Case {
    let inside = |corner: usize| (code >> corner) & 1 == 1;
    let midpoint = |edge: usize| {
        let (corner, axis) = EDGES[edge];
        let mut point = corner_offset(corner).map(|offset| offset as f32);
        point[axis] += 0.5;
        point
    };
    // Each crossing edge's successor on its loop: loops run with the solid on their right, seen
    // from outside the cube, so two cubes run a shared face's cuts in opposite directions.
    let mut next = [usize::MAX; 12];
    for axis in 0..3 {
        for side in 0..2 {
            let [a, b] = [(axis + 1) % 3, (axis + 2) % 3];
            let corner = |u: usize, v: usize| (side << axis) | (u << a) | (v << b);
            let ring = [corner(0, 0), corner(1, 0), corner(1, 1), corner(0, 1)];
            // Face edge k joins ring[k] and ring[k + 1].
            let face_edges = [0, 1, 2, 3].map(|k| {
                let (p, q) = (ring[k], ring[(k + 1) % 4]);
                let lower = p.min(q);
                edge_index(lower, (p ^ q).trailing_zeros() as usize)
            });
            let crossing: Vec<usize> = (0..4).filter(|&k| inside(ring[k]) != inside(ring[(k + 1) % 4])).collect();
            let cuts: Vec<(usize, usize, usize)> = match crossing.len() {
                2 => {
                    let (p, q) = (crossing[0], crossing[1]);
                    let corner = if inside(ring[p]) { ring[p] } else { ring[(p + 1) % 4] };
                    vec![(face_edges[p], face_edges[q], corner)]
                }
                // An ambiguous face: cut off each inside corner on its own.
                4 => (0..4)
                    .filter(|&k| inside(ring[k]))
                    .map(|k| (face_edges[(k + 3) % 4], face_edges[k], ring[k]))
                    .collect(),
                _ => Vec::new(),
            };
            let normal = if side == 1 { 1.0 } else { -1.0 };
            for (p, q, corner) in cuts {
                let (from, to) = (midpoint(p), midpoint(q));
                let solid = corner_offset(corner).map(|offset| offset as f32);
                let f = [to[0] - from[0], to[1] - from[1], to[2] - from[2]];
                let w = [solid[0] - from[0], solid[1] - from[1], solid[2] - from[2]];
                let cross = [f[1] * w[2] - f[2] * w[1], f[2] * w[0] - f[0] * w[2], f[0] * w[1] - f[1] * w[0]];
                let (p, q) = if cross[axis] * normal < 0.0 { (p, q) } else { (q, p) };
                assert_eq!(next[p], usize::MAX, "case {code}: edge {p} leaves twice");
                next[p] = q;
            }
        }
    }
    let mut case = Case::default();
    let mut done = [false; 12];
    let shares_face = |p: usize, q: usize| edge_faces(p).iter().any(|face| edge_faces(q).contains(face));
    for start in 0..12 {
        if next[start] == usize::MAX || done[start] {
            continue;
        }
        let mut ring = vec![start];
        done[start] = true;
        let mut edge = next[start];
        while edge != start {
            assert!(edge != usize::MAX && !done[edge], "case {code}: loop through edge {start} does not close");
            done[edge] = true;
            ring.push(edge);
            edge = next[edge];
        }
        let n = ring.len();
        let fan_from = (0..n).find(|&r| (2..n - 1).all(|i| !shares_face(ring[r], ring[(r + i) % n])));
        match fan_from {
            Some(r) => {
                for i in 1..n - 1 {
                    case.triangles.push([ring[r], ring[(r + i) % n], ring[(r + i + 1) % n]].map(|e| e as u8));
                }
            }
            None => {
                let centre = (12 + case.centres.len()) as u8;
                for i in 0..n {
                    case.triangles.push([centre, ring[i] as u8, ring[(i + 1) % n] as u8]);
                }
                case.centres.push(ring.iter().map(|&e| e as u8).collect());
            }
        }
    }
    case
}

/// Extracts the surface where the field crosses `level`, with triangles facing out of the solid.
pub fn extract_isosurface(grid: &ScalarGrid, level: f32, inside: Inside, cancel: &CancelFlag) -> Result<TriMesh> {
    let [nx, ny, _] = grid.dims;
    let slice = nx * ny;
    // Comparisons with NaN are false, so NaN counts as outside, which keeps the surface closed
    // around whatever is finite.
    let inside_bits: Vec<u8> = grid.values.iter().map(|&value| u8::from(inside.holds(value, level))).collect();
    // Per row of samples: 0 all outside, 1 all inside, 2 mixed. A row of cells whose four bounding
    // sample rows agree and are not mixed holds no surface and is skipped whole.
    let row_states: Vec<u8> = inside_bits
        .chunks(nx.max(1))
        .map(|row| {
            let inside = row.iter().filter(|&&bit| bit == 1).count();
            if inside == 0 {
                0
            } else if inside == nx {
                1
            } else {
                2
            }
        })
        .collect();
    march(grid, level, cancel, |extractor, y, z| {
        let row_index = z * ny + y;
        let first = row_states[row_index];
        if first != 2
            && row_states[row_index + 1] == first
            && row_states[row_index + ny] == first
            && row_states[row_index + ny + 1] == first
        {
            return;
        }
        for x in 0..nx - 1 {
            let base = z * slice + y * nx + x;
            let code = (0..8).fold(0u8, |code, bits| code | inside_bits[corner(base, bits, nx, slice)] << bits);
            extractor.cube([x, y, z], code);
        }
    })
}

/// Blocks of cubes to extract in: `side` cubes along each axis per block, `counts` blocks along x, y
/// and z, `marked` one flag per block (x fastest).
#[derive(Debug, Clone, Copy)]
pub struct Blocks<'a> {
    /// Cubes along each axis of a block.
    pub side: usize,
    /// Blocks along x, y and z.
    pub counts: [usize; 3],
    /// Whether each block is extracted, x varying fastest.
    pub marked: &'a [bool],
}

/// [`extract_isosurface`] over the cubes of the marked blocks only: for a field sampled exactly only
/// there (coarse-to-fine), the samples elsewhere are never read. The caller guarantees the surface
/// does not leave the marked blocks, or the mesh is open there.
pub fn extract_isosurface_in_blocks(
    grid: &ScalarGrid,
    level: f32,
    inside: Inside,
    blocks: Blocks<'_>,
    cancel: &CancelFlag,
) -> Result<TriMesh> {
    let [nx, ny, _] = grid.dims;
    let slice = nx * ny;
    let [bx, by, bz] = blocks.counts;
    if blocks.marked.len() != bx * by * bz {
        return Ok(TriMesh::default());
    }
    let side = blocks.side.max(1);
    march(grid, level, cancel, |extractor, y, z| {
        let (block_y, block_z) = ((y / side).min(by.saturating_sub(1)), (z / side).min(bz.saturating_sub(1)));
        for block_x in (0..bx).filter(|&block_x| blocks.marked[(block_z * by + block_y) * bx + block_x]) {
            for x in block_x * side..((block_x + 1) * side).min(nx - 1) {
                let base = z * slice + y * nx + x;
                let code = (0..8).fold(0u8, |code, bits| {
                    code | u8::from(inside.holds(grid.values[corner(base, bits, nx, slice)], level)) << bits
                });
                extractor.cube([x, y, z], code);
            }
        }
    })
}

/// The sample index of corner `bits` (bit 0 = +x, bit 1 = +y, bit 2 = +z) of the cube at `base`.
fn corner(base: usize, bits: usize, nx: usize, slice: usize) -> usize {
    base + (bits & 1) + ((bits >> 1) & 1) * nx + ((bits >> 2) & 1) * slice
}

impl Inside {
    fn holds(self, value: f32, level: f32) -> bool {
        match self {
            Inside::Below => value < level,
            Inside::Above => value > level,
        }
    }
}

/// Walks the grid's cubes layer by layer, handing each row `(y, z)` to `row`, which emits its cubes
/// through the extractor; keeps the edge caches of two layers and checks `cancel`.
fn march(
    grid: &ScalarGrid,
    level: f32,
    cancel: &CancelFlag,
    mut row: impl FnMut(&mut Extractor<'_>, usize, usize),
) -> Result<TriMesh> {
    let [nx, ny, nz] = grid.dims;
    let mut mesh = TriMesh::default();
    if nx < 2 || ny < 2 || nz < 2 || grid.values.len() != nx * ny * nz {
        return Ok(mesh);
    }
    let slice = nx * ny;
    let mut extractor = Extractor {
        grid,
        level,
        cases: cases(),
        caches: [EdgeCache::new(slice), EdgeCache::new(slice)],
        mesh: &mut mesh,
    };
    for z in 0..nz - 1 {
        if z % 8 == 0 {
            cancel.check()?;
        }
        for y in 0..ny - 1 {
            row(&mut extractor, y, z);
        }
        // Move to the next layer: slice z + 1's cache becomes the current one.
        extractor.caches.swap(0, 1);
        extractor.caches[1].clear();
    }
    Ok(mesh)
}

/// Crossing vertex ids for the edges leaving one grid slice, cleared cheaply between layers.
struct EdgeCache {
    ids: Vec<u32>,
    touched: Vec<usize>,
}

impl EdgeCache {
    fn new(slice: usize) -> Self {
        Self { ids: vec![u32::MAX; slice * 3], touched: Vec::new() }
    }

    fn clear(&mut self) {
        for &index in &self.touched {
            self.ids[index] = u32::MAX;
        }
        self.touched.clear();
    }
}

struct Extractor<'a> {
    grid: &'a ScalarGrid,
    level: f32,
    cases: &'static [Case],
    /// Index 0: edges leaving slice `z` of the current layer; index 1: edges leaving slice `z + 1`.
    caches: [EdgeCache; 2],
    mesh: &'a mut TriMesh,
}

impl Extractor<'_> {
    /// Emits the triangles of the cube whose lowest corner is `cube`, its corners inside as `code`.
    fn cube(&mut self, cube: [usize; 3], code: u8) {
        if code == 0 || code == 0xff {
            return;
        }
        let case = &self.cases[code as usize];
        let mut ids = [u32::MAX; 12];
        let mut centres = [u32::MAX; 4];
        for (k, ring) in case.centres.iter().enumerate() {
            let mut sum = [0.0f32; 3];
            for &edge in ring {
                let id = self.edge_vertex(cube, edge as usize, &mut ids);
                let position = self.mesh.positions[id as usize];
                sum = [0, 1, 2].map(|axis| sum[axis] + position[axis]);
            }
            self.mesh.positions.push(sum.map(|total| total / ring.len() as f32));
            centres[k] = (self.mesh.positions.len() - 1) as u32;
        }
        for triangle in &case.triangles {
            let triangle = triangle.map(|vertex| {
                let vertex = vertex as usize;
                if vertex < 12 { self.edge_vertex(cube, vertex, &mut ids) } else { centres[vertex - 12] }
            });
            self.mesh.triangles.push(triangle);
        }
    }

    fn edge_vertex(&mut self, cube: [usize; 3], edge: usize, ids: &mut [u32; 12]) -> u32 {
        if ids[edge] == u32::MAX {
            let (corner, axis) = EDGES[edge];
            let offset = corner_offset(corner);
            ids[edge] = self.crossing([0, 1, 2].map(|k| cube[k] + offset[k]), axis, cube[2]);
        }
        ids[edge]
    }

    /// The shared vertex where the field crosses the level on the grid edge from `low` along `axis`.
    fn crossing(&mut self, low: [usize; 3], axis: usize, layer: usize) -> u32 {
        let [nx, ny, _] = self.grid.dims;
        let cache = &mut self.caches[low[2] - layer];
        let key = (low[1] * nx + low[0]) * 3 + axis;
        if cache.ids[key] != u32::MAX {
            return cache.ids[key];
        }
        let mut high = low;
        high[axis] += 1;
        let value = |point: [usize; 3]| {
            let value = self.grid.values[(point[2] * ny + point[1]) * nx + point[0]];
            if value.is_nan() { f32::MAX } else { value }
        };
        let (value_low, value_high) = (value(low), value(high));
        // Kept a little off the samples: a sample exactly at the level (common where a field is
        // clamped or built from binary masks) would otherwise put the crossings of all its edges on
        // one point, and the zero-area triangles between them would be dropped, opening the surface.
        let t = ((self.level - value_low) / (value_high - value_low)).clamp(0.01, 0.99);
        let t = if t.is_finite() { t } else { 0.5 };
        let position = [0, 1, 2].map(|k| {
            let step = if k == axis { t } else { 0.0 };
            self.grid.origin[k] + (low[k] as f32 + step) * self.grid.spacing[k]
        });
        self.mesh.positions.push(position);
        let id = (self.mesh.positions.len() - 1) as u32;
        cache.ids[key] = id;
        cache.touched.push(key);
        id
    }
}
