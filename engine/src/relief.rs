//! The built-in reconstructor: inflates the silhouette into a rounded, closed solid.
//!
//! Heights come from a Poisson problem on the mask (`-Δu = 1`, `u = 0` outside) whose square root
//! gives round cross-sections: a disc becomes a sphere exactly, since `u = (R² - r²) / 4` there.
//! The outline is traced with marching triangles on a fixed grid triangulation, so it lies between
//! pixels with sub-pixel accuracy. The front surface (`z = +h`) and back surface (`z = -h`) share the
//! outline's vertices (`h = 0`), which makes one closed 2-manifold: every region of the mask becomes a
//! closed shell and every hole in it a tunnel.
//!
//! A learned depth model can shape the front: its relative nearness, normalised over the object,
//! scales the front heights between half and one and a half times the inflation (the back keeps
//! the inflation). Heights still vanish on the outline, so the guarantees above hold unchanged.

use image::RgbaImage;

use crate::error::Result;
use crate::mesh::TriMesh;
use crate::progress::CancelFlag;
use crate::resample::resample;

/// A reconstruction in grid units: `x` to the right and `y` down across the cutout (which spans
/// `0..grid_px` on both axes), `z` towards the viewer.
#[derive(Debug, Clone)]
pub struct Relief {
    /// The closed mesh.
    pub mesh: TriMesh,
    /// Side of the grid the mesh was built on.
    pub grid_px: usize,
    /// The solid's half depth at each grid vertex (0 outside): the front's height above the middle.
    pub front_heights: Vec<f32>,
    /// The depth of the middle between front and back at each grid vertex, where it is not the
    /// picture's plane (a leaning ring's); empty where it is.
    pub middle: Vec<f32>,
}

impl Relief {
    /// Takes the front's height at each grid vertex, whose normals the light is fitted to, out of
    /// the relief (its half depths moved by its middle).
    pub fn take_front_surface(&mut self) -> Vec<f32> {
        let mut front = std::mem::take(&mut self.front_heights);
        for (height, middle) in front.iter_mut().zip(&self.middle) {
            *height += middle;
        }
        front
    }
}

/// A learned depth model (Depth-Anything / MiDaS style), run by the caller's inference runtime
/// (the engine runs none): relative inverse depth, larger nearer, in any units.
pub trait DepthEstimator: Send + Sync + std::fmt::Debug {
    /// The model's name, for the generation record.
    fn name(&self) -> &str;
    /// Nearness at each pixel of `image` (the square cutout) stretched to the map's size.
    fn estimate(&self, image: &RgbaImage) -> std::result::Result<DepthMap, String>;
}

/// Relative inverse depth per pixel, row by row.
#[derive(Debug, Clone, PartialEq)]
pub struct DepthMap {
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// `width × height` values, larger nearer.
    pub values: Vec<f32>,
}

/// How far depth moves the front: its scale runs from `1 - DEPTH_STRENGTH` (the farthest part of
/// the object) to `1 + DEPTH_STRENGTH` (the nearest) times the inflation.
const DEPTH_STRENGTH: f32 = 0.5;

/// Inflates the coverage of a square cutout (`side` x `side` values in `0..=1`) into a closed solid
/// built on a `grid_px` grid. `thickness` scales the depth. (A depth map shapes the front through
/// [`crate::shape::reconstruct`].)
pub fn inflate(
    coverage: &[f32],
    side: usize,
    grid_px: usize,
    thickness: f32,
    cancel: &CancelFlag,
    progress: &mut dyn FnMut(f32),
) -> Result<Relief> {
    let grid = resample(coverage, 1, (side, side), (grid_px, grid_px));
    inflate_grid(&grid, grid_px, thickness, None, cancel, progress)
}

/// [`inflate`] on coverage already on the `grid_px` grid, the front shaped by a depth map over the
/// same square (any size) when one is given.
pub(crate) fn inflate_grid(
    grid: &[f32],
    grid_px: usize,
    thickness: f32,
    depth: Option<&DepthMap>,
    cancel: &CancelFlag,
    progress: &mut dyn FnMut(f32),
) -> Result<Relief> {
    progress(0.1);
    let potential = solve_poisson(grid, grid_px, cancel)?;
    progress(0.8);
    let back: Vec<f32> =
        potential.iter().map(|&value| (thickness as f64 * 2.0 * value.max(0.0).sqrt()) as f32).collect();
    let front = match depth {
        Some(depth) => {
            let scale = front_scale(depth, grid, grid_px);
            back.iter().zip(&scale).map(|(height, scale)| height * scale).collect()
        }
        None => back.clone(),
    };
    let mesh = lift(grid, &front, &back, grid_px);
    progress(1.0);
    Ok(Relief { mesh, grid_px, front_heights: front, middle: Vec::new() })
}

/// The factor on the front height at each grid vertex: nearness stretched over the grid and
/// normalised over the inside between its 2nd and 98th percentiles (robust to a few wild values),
/// mapped to `1 ± DEPTH_STRENGTH`. A flat or unusable map leaves the inflation as it is.
fn front_scale(depth: &DepthMap, coverage: &[f32], grid_px: usize) -> Vec<f32> {
    let (width, height) = (depth.width as usize, depth.height as usize);
    if width == 0 || height == 0 || depth.values.len() != width * height {
        return vec![1.0; grid_px * grid_px];
    }
    let finite: Vec<f32> = depth.values.iter().map(|value| if value.is_finite() { *value } else { 0.0 }).collect();
    let nearness = resample(&finite, 1, (width, height), (grid_px, grid_px));
    let mut inside: Vec<f32> =
        nearness.iter().zip(coverage).filter(|(_, coverage)| is_inside(**coverage)).map(|(value, _)| *value).collect();
    if inside.len() < 4 {
        return vec![1.0; grid_px * grid_px];
    }
    inside.sort_by(f32::total_cmp);
    let at = |fraction: f32| inside[((inside.len() - 1) as f32 * fraction).round() as usize];
    let (low, high) = (at(0.02), at(0.98));
    if high - low <= f32::EPSILON * high.abs().max(1.0) {
        return vec![1.0; grid_px * grid_px];
    }
    nearness
        .iter()
        .map(|value| {
            let normalised = ((value - low) / (high - low)).clamp(0.0, 1.0);
            1.0 + DEPTH_STRENGTH * (2.0 * normalised - 1.0)
        })
        .collect()
}

/// Whether a grid vertex is inside the object. Coverage exactly at the threshold counts as outside so
/// the outline never passes through a vertex.
pub(crate) fn is_inside(coverage: f32) -> bool {
    coverage > 0.5 + 1.0e-4
}

/// Solves `-Δu = 1` on the inside vertices with `u = 0` outside, by conjugate gradients warm-started
/// from the same problem solved on a grid half the size (a cascade), which cuts iterations severalfold.
pub(crate) fn solve_poisson(coverage: &[f32], n: usize, cancel: &CancelFlag) -> Result<Vec<f64>> {
    let mut initial = vec![0.0f64; n * n];
    if n > 48 {
        let coarse_n = n.div_ceil(2);
        let coarse_coverage = resample(coverage, 1, (n, n), (coarse_n, coarse_n));
        let coarse = solve_poisson(&coarse_coverage, coarse_n, cancel)?;
        let scale = coarse_n as f64 / n as f64;
        for y in 0..n {
            for x in 0..n {
                if !is_inside(coverage[y * n + x]) {
                    continue;
                }
                let coarse_x = ((x as f64 + 0.5) * scale - 0.5).clamp(0.0, (coarse_n - 1) as f64);
                let coarse_y = ((y as f64 + 0.5) * scale - 0.5).clamp(0.0, (coarse_n - 1) as f64);
                let (x0, y0) = (coarse_x.floor() as usize, coarse_y.floor() as usize);
                let (x1, y1) = ((x0 + 1).min(coarse_n - 1), (y0 + 1).min(coarse_n - 1));
                let (fx, fy) = (coarse_x - x0 as f64, coarse_y - y0 as f64);
                let at = |cx: usize, cy: usize| coarse[cy * coarse_n + cx];
                let value = (at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx) * (1.0 - fy)
                    + (at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx) * fy;
                // u scales with the square of the grid spacing.
                initial[y * n + x] = value / (scale * scale);
            }
        }
    }

    // Unknowns are the inside vertices; neighbours outside (or off the grid) are the boundary.
    let mut unknown_of = vec![u32::MAX; n * n];
    let mut vertices = Vec::new();
    for (index, &value) in coverage.iter().enumerate() {
        if is_inside(value) {
            unknown_of[index] = vertices.len() as u32;
            vertices.push(index);
        }
    }
    let neighbours: Vec<[u32; 4]> = vertices
        .iter()
        .map(|&index| {
            let (x, y) = (index % n, index / n);
            let pick = |ok: bool, other: usize| if ok { unknown_of[other] } else { u32::MAX };
            [
                pick(x > 0, index.wrapping_sub(1)),
                pick(x + 1 < n, index + 1),
                pick(y > 0, index.wrapping_sub(n)),
                pick(y + 1 < n, index + n),
            ]
        })
        .collect();
    let apply = |input: &[f64], output: &mut [f64]| {
        for (row, around) in neighbours.iter().enumerate() {
            let mut sum = 4.0 * input[row];
            for &other in around {
                if other != u32::MAX {
                    sum -= input[other as usize];
                }
            }
            output[row] = sum;
        }
    };

    let count = vertices.len();
    let mut solution: Vec<f64> = vertices.iter().map(|&index| initial[index]).collect();
    let mut product = vec![0.0; count];
    apply(&solution, &mut product);
    let mut residual: Vec<f64> = product.iter().map(|value| 1.0 - value).collect();
    let mut direction = residual.clone();
    let mut residual_norm: f64 = residual.iter().map(|value| value * value).sum();
    // An RMS residual of 1e-3 leaves u (hundreds to thousands of grid units²) accurate far beyond
    // what its square root shows.
    let target = 1.0e-6 * count as f64;
    let max_iterations = 4 * n + 100;
    for iteration in 0..max_iterations {
        if residual_norm <= target {
            break;
        }
        if iteration % 16 == 0 {
            cancel.check()?;
        }
        apply(&direction, &mut product);
        let curvature: f64 = direction.iter().zip(&product).map(|(a, b)| a * b).sum();
        if curvature <= 0.0 {
            break;
        }
        let step = residual_norm / curvature;
        for ((value, residual_value), (direction_value, product_value)) in
            solution.iter_mut().zip(residual.iter_mut()).zip(direction.iter().zip(&product))
        {
            *value += step * direction_value;
            *residual_value -= step * product_value;
        }
        let next_norm: f64 = residual.iter().map(|value| value * value).sum();
        let beta = next_norm / residual_norm;
        residual_norm = next_norm;
        for (direction_value, residual_value) in direction.iter_mut().zip(&residual) {
            *direction_value = residual_value + beta * *direction_value;
        }
    }

    let mut potential = vec![0.0f64; n * n];
    for (row, &index) in vertices.iter().enumerate() {
        potential[index] = solution[row];
    }
    Ok(potential)
}

/// Builds the closed two-sided mesh with marching triangles over a one-cell frame of empty cells.
pub(crate) fn lift(coverage: &[f32], front_heights: &[f32], back_heights: &[f32], grid_px: usize) -> TriMesh {
    // Grid vertex (i, j) of the padded grid sits at the centre of cutout cell (i - 1, j - 1).
    let n = grid_px + 2;
    let value = |i: usize, j: usize| -> f32 {
        if i == 0 || j == 0 || i > grid_px || j > grid_px { 0.0 } else { coverage[(j - 1) * grid_px + (i - 1)] }
    };
    let height = |heights: &[f32], i: usize, j: usize| -> f32 { heights[(j - 1) * grid_px + (i - 1)].max(1.0e-3) };
    let position = |i: usize, j: usize| -> [f32; 2] { [i as f32 - 0.5, j as f32 - 0.5] };

    let mut builder = LiftBuilder {
        n,
        positions: Vec::new(),
        triangles: Vec::new(),
        front: vec![u32::MAX; n * n],
        back: vec![u32::MAX; n * n],
        crossing: vec![u32::MAX; n * n * 3],
    };
    let inside: Vec<bool> = (0..n * n).map(|index| is_inside(value(index % n, index / n))).collect();
    for j in 0..n {
        for i in 0..n {
            if inside[j * n + i] {
                let [x, y] = position(i, j);
                builder.front[j * n + i] = builder.push([x, y, height(front_heights, i, j)]);
                builder.back[j * n + i] = builder.push([x, y, -height(back_heights, i, j)]);
            }
        }
    }
    let crossing_point = |a: (usize, usize), b: (usize, usize)| -> [f32; 3] {
        let (value_a, value_b) = (value(a.0, a.1) - 0.5, value(b.0, b.1) - 0.5);
        // Keep the crossing off the grid vertices so no two outline vertices coincide.
        let t = (value_a / (value_a - value_b)).clamp(0.05, 0.95);
        let (pa, pb) = (position(a.0, a.1), position(b.0, b.1));
        [pa[0] + t * (pb[0] - pa[0]), pa[1] + t * (pb[1] - pa[1]), 0.0]
    };

    for j in 0..n - 1 {
        for i in 0..n - 1 {
            let corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
            if corners.iter().all(|&(x, y)| !inside[y * n + x]) {
                continue;
            }
            let [v00, v10, v11, v01] = corners;
            for triangle in [[v00, v01, v11], [v00, v11, v10]] {
                builder.clip(triangle, &inside, &crossing_point);
            }
        }
    }
    TriMesh { positions: builder.positions, triangles: builder.triangles }
}

struct LiftBuilder {
    n: usize,
    positions: Vec<[f32; 3]>,
    triangles: Vec<[u32; 3]>,
    front: Vec<u32>,
    back: Vec<u32>,
    /// Outline vertex on each grid edge, keyed by the edge's first vertex and its direction
    /// (0: +x, 1: +y, 2: the +x+y diagonal).
    crossing: Vec<u32>,
}

impl LiftBuilder {
    fn push(&mut self, position: [f32; 3]) -> u32 {
        self.positions.push(position);
        (self.positions.len() - 1) as u32
    }

    fn crossing_vertex(
        &mut self,
        a: (usize, usize),
        b: (usize, usize),
        point: &dyn Fn((usize, usize), (usize, usize)) -> [f32; 3],
    ) -> u32 {
        let (first, second) = if (a.1, a.0) < (b.1, b.0) { (a, b) } else { (b, a) };
        let direction = match (second.0 > first.0, second.1 > first.1) {
            (true, false) => 0,
            (false, true) => 1,
            _ => 2,
        };
        let key = (first.1 * self.n + first.0) * 3 + direction;
        if self.crossing[key] == u32::MAX {
            // Computed once from the edge's canonical ends, so both triangles sharing it agree exactly.
            let position = point(first, second);
            self.crossing[key] = self.push(position);
        }
        self.crossing[key]
    }

    /// Emits the inside part of one grid triangle (front-facing order) on both sides.
    fn clip(
        &mut self,
        triangle: [(usize, usize); 3],
        inside: &[bool],
        point: &dyn Fn((usize, usize), (usize, usize)) -> [f32; 3],
    ) {
        let n = self.n;
        let is_in = |(x, y): (usize, usize)| inside[y * n + x];
        let flags = triangle.map(is_in);
        let count = flags.iter().filter(|&&flag| flag).count();
        if count == 0 {
            return;
        }
        let index = |(x, y): (usize, usize)| y * n + x;
        if count == 3 {
            let [a, b, c] = triangle.map(index);
            self.triangles.push([self.front[a], self.front[b], self.front[c]]);
            self.triangles.push([self.back[c], self.back[b], self.back[a]]);
            return;
        }
        // Rotate (keeping orientation) so the lone vertex, inside or outside, comes first/last.
        let rotation = if count == 1 {
            flags.iter().position(|&flag| flag).unwrap_or(0)
        } else {
            (flags.iter().position(|&flag| !flag).unwrap_or(2) + 1) % 3
        };
        let [a, b, c] = [0, 1, 2].map(|offset| triangle[(rotation + offset) % 3]);
        if count == 1 {
            let ab = self.crossing_vertex(a, b, point);
            let ca = self.crossing_vertex(c, a, point);
            let ia = index(a);
            self.triangles.push([self.front[ia], ab, ca]);
            self.triangles.push([self.back[ia], ca, ab]);
        } else {
            let bc = self.crossing_vertex(b, c, point);
            let ca = self.crossing_vertex(c, a, point);
            let (ia, ib) = (index(a), index(b));
            self.triangles.push([self.front[ia], self.front[ib], bc]);
            self.triangles.push([self.front[ia], bc, ca]);
            self.triangles.push([self.back[ia], bc, self.back[ib]]);
            self.triangles.push([self.back[ia], ca, bc]);
        }
    }
}
