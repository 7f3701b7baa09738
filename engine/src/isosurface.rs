//! Isosurface extraction from a dense scalar grid by marching tetrahedra, for the volumetric
//! reconstructors.
//!
//! Each cube is split into six tetrahedra around its main diagonal (the Kuhn triangulation), which
//! is the same in every cube, so neighbouring cubes agree on every shared face. Crossing vertices are
//! keyed by grid edge and shared, so the result is watertight and 2-manifold by construction for any
//! field — unlike marching cubes, no ambiguous cases exist.

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

/// The seven edge directions leaving a grid point towards higher coordinates; every tetrahedron
/// edge of the Kuhn triangulation is one of these from its lower end.
const DIRECTIONS: [[usize; 3]; 7] = [[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1]];

/// The six tetrahedra of a unit cube, as corner bit masks (bit 0 = +x, bit 1 = +y, bit 2 = +z).
const TETRAHEDRA: [[u8; 4]; 6] = [[0, 1, 3, 7], [0, 1, 5, 7], [0, 2, 3, 7], [0, 2, 6, 7], [0, 4, 5, 7], [0, 4, 6, 7]];

/// Extracts the surface where the field crosses `level`, with triangles facing out of the solid.
pub fn extract_isosurface(grid: &ScalarGrid, level: f32, inside: Inside, cancel: &CancelFlag) -> Result<TriMesh> {
    let [nx, ny, nz] = grid.dims;
    let mut mesh = TriMesh::default();
    if nx < 2 || ny < 2 || nz < 2 || grid.values.len() != nx * ny * nz {
        return Ok(mesh);
    }
    let is_inside = |value: f32| match inside {
        Inside::Below => value < level,
        Inside::Above => value > level,
    };
    let slice = nx * ny;
    // Comparisons with NaN are false, so NaN counts as outside, which keeps the surface closed
    // around whatever is finite.
    let inside_bits: Vec<u8> = grid.values.iter().map(|&value| u8::from(is_inside(value))).collect();
    // Per row of samples: 0 all outside, 1 all inside, 2 mixed. A row of cells whose four bounding
    // sample rows agree and are not mixed holds no surface and is skipped whole.
    let row_states: Vec<u8> = inside_bits
        .chunks_exact(nx)
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

    let mut extractor =
        Extractor { grid, level, caches: [EdgeCache::new(slice), EdgeCache::new(slice)], mesh: &mut mesh };
    for z in 0..nz - 1 {
        if z % 8 == 0 {
            cancel.check()?;
        }
        for y in 0..ny - 1 {
            let row_index = z * ny + y;
            let first = row_states[row_index];
            if first != 2
                && row_states[row_index + 1] == first
                && row_states[row_index + ny] == first
                && row_states[row_index + ny + 1] == first
            {
                continue;
            }
            let row = z * slice + y * nx;
            for x in 0..nx - 1 {
                let base = row + x;
                let corner =
                    |bits: usize| -> usize { base + (bits & 1) + ((bits >> 1) & 1) * nx + ((bits >> 2) & 1) * slice };
                let mut code = 0u8;
                for bits in 0..8 {
                    code |= inside_bits[corner(bits)] << bits;
                }
                if code == 0 || code == 0xff {
                    continue;
                }
                for tetrahedron in TETRAHEDRA {
                    let states = tetrahedron.map(|bits| inside_bits[corner(bits as usize)] == 1);
                    let count = states.iter().filter(|&&state| state).count();
                    if count == 0 || count == 4 {
                        continue;
                    }
                    let points = tetrahedron.map(|bits| {
                        let bits = bits as usize;
                        [x + (bits & 1), y + ((bits >> 1) & 1), z + ((bits >> 2) & 1)]
                    });
                    extractor.tetrahedron(points, states, z);
                }
            }
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
        Self { ids: vec![u32::MAX; slice * DIRECTIONS.len()], touched: Vec::new() }
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
    /// Index 0: edges leaving slice `z` of the current layer; index 1: edges leaving slice `z + 1`.
    caches: [EdgeCache; 2],
    mesh: &'a mut TriMesh,
}

impl Extractor<'_> {
    fn tetrahedron(&mut self, points: [[usize; 3]; 4], states: [bool; 4], layer: usize) {
        let (mut inside, mut outside) = ([0usize; 4], [0usize; 4]);
        let (mut inside_count, mut outside_count) = (0, 0);
        for (corner, &state) in states.iter().enumerate() {
            if state {
                inside[inside_count] = corner;
                inside_count += 1;
            } else {
                outside[outside_count] = corner;
                outside_count += 1;
            }
        }
        match inside_count {
            1 | 3 => {
                let (lone, others) = if inside_count == 1 { (inside[0], outside) } else { (outside[0], inside) };
                let ids = [0, 1, 2].map(|k| self.crossing(points[lone], points[others[k]], layer));
                let (from, to) = if states[lone] { (lone, others[0]) } else { (others[0], lone) };
                self.emit(ids, points[from], points[to]);
            }
            _ => {
                let (a, b, c, d) = (inside[0], inside[1], outside[0], outside[1]);
                let ac = self.crossing(points[a], points[c], layer);
                let ad = self.crossing(points[a], points[d], layer);
                let bd = self.crossing(points[b], points[d], layer);
                let bc = self.crossing(points[b], points[c], layer);
                self.emit([ac, ad, bd], points[a], points[c]);
                self.emit([ac, bd, bc], points[a], points[c]);
            }
        }
    }

    /// Adds a triangle, wound so its normal points along `from -> to` (inside to outside).
    fn emit(&mut self, ids: [u32; 3], from: [usize; 3], to: [usize; 3]) {
        let [p, q, r] = ids.map(|id| self.mesh.positions[id as usize]);
        let u = [q[0] - p[0], q[1] - p[1], q[2] - p[2]];
        let v = [r[0] - p[0], r[1] - p[1], r[2] - p[2]];
        let normal = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
        let direction = [0, 1, 2].map(|axis| (to[axis] as f32 - from[axis] as f32) * self.grid.spacing[axis]);
        let facing = normal[0] * direction[0] + normal[1] * direction[1] + normal[2] * direction[2];
        if facing >= 0.0 {
            self.mesh.triangles.push(ids);
        } else {
            self.mesh.triangles.push([ids[0], ids[2], ids[1]]);
        }
    }

    /// The shared vertex where the field crosses the level on the edge between two grid points.
    fn crossing(&mut self, a: [usize; 3], b: [usize; 3], layer: usize) -> u32 {
        let (low, high) = if (a[2], a[1], a[0]) < (b[2], b[1], b[0]) { (a, b) } else { (b, a) };
        let step = [high[0] - low[0], high[1] - low[1], high[2] - low[2]];
        // DIRECTIONS is ordered so the index follows from the step's bits.
        let direction = match (step[0], step[1], step[2]) {
            (1, 0, 0) => 0,
            (0, 1, 0) => 1,
            (1, 1, 0) => 2,
            (0, 0, 1) => 3,
            (1, 0, 1) => 4,
            (0, 1, 1) => 5,
            _ => 6,
        };
        let [nx, ny, _] = self.grid.dims;
        let cache = &mut self.caches[low[2] - layer];
        let key = (low[1] * nx + low[0]) * DIRECTIONS.len() + direction;
        if cache.ids[key] != u32::MAX {
            return cache.ids[key];
        }
        let value = |point: [usize; 3]| {
            let value = self.grid.values[(point[2] * ny + point[1]) * nx + point[0]];
            if value.is_nan() { f32::MAX } else { value }
        };
        let (value_low, value_high) = (value(low), value(high));
        let t = ((self.level - value_low) / (value_high - value_low)).clamp(0.0, 1.0);
        let t = if t.is_finite() { t } else { 0.5 };
        let position = [0, 1, 2]
            .map(|axis| self.grid.origin[axis] + (low[axis] as f32 + t * step[axis] as f32) * self.grid.spacing[axis]);
        self.mesh.positions.push(position);
        let id = (self.mesh.positions.len() - 1) as u32;
        cache.ids[key] = id;
        cache.touched.push(key);
        id
    }
}
